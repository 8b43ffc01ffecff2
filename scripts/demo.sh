#!/usr/bin/env bash
# The main job in one command (sudo make demo): the list-comprehension experiment. The same
# sum over range(10**8) as a list comprehension and as a generator, each run under a 512 MiB
# memory limit and traced: the list is OOM-killed (flagged, with who, why and how big), the
# generator runs flat. Writes both CSV time series and one PNG with both curves.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root to load BPF programs and create a cgroup: run sudo make demo" >&2
	exit 1
fi
exec scripts/list-vs-generator.sh -o .output/demo "$@"
