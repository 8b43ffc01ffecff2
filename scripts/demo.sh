#!/usr/bin/env bash
# The main job in one command (sudo make demo): trace the seed workload, a Python list
# comprehension, write its CSV time series and print the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root to load BPF programs: run sudo make demo" >&2
	exit 1
fi
python=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
out=.output/demo/list-comprehension.csv
mkdir -p "$(dirname "$out")"
code='sum([i for i in range(10**7)])'

echo "demo: sudo ./memtrace-bpf -o $out -- $python -c '$code'"
./memtrace-bpf -o "$out" -- "$python" -c "$code"
echo
echo "demo: the time series ($(($(wc -l <"$out") - 1)) rows) in $out; its first and last rows:"
head -n 4 "$out"
echo "..."
tail -n 2 "$out"
