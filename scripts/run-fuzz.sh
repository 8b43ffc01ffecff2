#!/usr/bin/env bash
# Run built libFuzzer targets (make fuzz builds them), each for SECONDS, and add up the results.
#
#   scripts/run-fuzz.sh SECONDS FUZZER...
#   scripts/run-fuzz.sh 15 .output/fuzz/fuzz_cli .output/fuzz/fuzz_units
#
# Builds nothing. For each FUZZER, in the directory D that holds it (.output/fuzz):
#   D/corpus-NAME/    the corpus it grows (kept between runs); tests/fuzz/corpus/NAME/ is read
#                     as seeds too when it exists, and never written
#   D/crashes-NAME/   crash, leak, timeout and OOM inputs (-artifact_prefix)
#   D/NAME.log        its whole output
# Up to FUZZ_JOBS fuzzers (default: the number of CPUs) run at once, one CPU each. A single
# input that runs longer than FUZZ_TIMEOUT seconds (default 10) counts as a crash.
#
# One line per fuzzer, then exactly one line
#   fuzz: N targets, R runs, C crashes
# and, for each one that failed, the end of its log. Exit status: 0 if no fuzzer failed, 1
# otherwise, 2 on a usage error.
set -u

if [ "$#" -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: $0 SECONDS FUZZER..." >&2
	exit 2
fi
seconds=$1
shift
seeds_root=$(cd -- "$(dirname -- "$0")/.." && pwd)/tests/fuzz/corpus
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
per_input=${FUZZ_TIMEOUT:-10}

for bin in "$@"; do
	if [ ! -x "$bin" ]; then
		echo "run-fuzz: $bin: not an executable (make fuzz builds the fuzzers)" >&2
		exit 2
	fi
done

# run_one BIN: the fuzzer, its exit status in D/NAME.status
run_one() {
	local bin=$1 dir name corpus seeds status
	dir=$(dirname -- "$bin")
	name=$(basename -- "$bin")
	corpus=$dir/corpus-$name
	seeds=$seeds_root/$name
	mkdir -p -- "$corpus" "$dir/crashes-$name"
	local args=(-max_total_time="$seconds" -timeout="$per_input" -print_final_stats=1
		-artifact_prefix="$dir/crashes-$name/" "$corpus")
	[ -d "$seeds" ] && args+=("$seeds")
	# the outer limit only catches a fuzzer that stops honouring -max_total_time
	timeout --kill-after=10 $((seconds + 120)) "$bin" "${args[@]}" >"$dir/$name.log" 2>&1
	status=$?
	echo "$status" >"$dir/$name.status"
}

pids=()
for bin in "$@"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	rm -f -- "$(dirname -- "$bin")/$(basename -- "$bin").status"
	run_one "$bin" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid"
done

targets=0 runs=0 crashes=0 failed=()
for bin in "$@"; do
	dir=$(dirname -- "$bin")
	name=$(basename -- "$bin")
	log=$dir/$name.log
	status=$(cat -- "$dir/$name.status" 2>/dev/null || echo 255)
	rm -f -- "$dir/$name.status"
	n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	[ -n "$n" ] || n=$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	[ -n "$n" ] || n=0
	corpus_n=$(find "$dir/corpus-$name" -type f | wc -l)
	targets=$((targets + 1))
	runs=$((runs + n))
	if [ "$status" -eq 0 ]; then
		echo "$name: $n runs, corpus $corpus_n inputs, ok"
	else
		crashes=$((crashes + 1))
		failed+=("$name")
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "$name: $n runs, FAILED (exit $status)${artifact:+, input in $artifact}; log $log"
	fi
done
for name in "${failed[@]}"; do
	for bin in "$@"; do
		[ "$(basename -- "$bin")" = "$name" ] || continue
		echo "==== $name: end of $(dirname -- "$bin")/$name.log"
		tail -n 40 -- "$(dirname -- "$bin")/$name.log"
	done
done
echo "fuzz: $targets targets, $runs runs, $crashes crashes"
[ "$crashes" -eq 0 ]
