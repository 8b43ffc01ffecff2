#!/usr/bin/env bash
# Run unit-test binaries (tests/unit/unit.h) in sequence and add up their results.
#
#   scripts/run-unit-tests.sh .output/tests/test_units .output/tests/test_csv ...
#
# Each binary ends its output with one line "N passed, M failed"; this script shows the rest of
# its output as is, that line as "<binary>: N passed, M failed", and ends with exactly one line
#
#   unit: N passed, M failed
#
# A binary that crashes, hangs (UNIT_TIMEOUT seconds, default 120), exits nonzero or prints no
# result line counts as one more failure. Exit status: 0 if everything passed, 1 otherwise,
# 2 if no binary was given.
set -u

if [ "$#" -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

timeout_s=${UNIT_TIMEOUT:-120}
result_re='^([0-9]+) passed, ([0-9]+) failed$'
total_passed=0
total_failed=0
status=0

for bin in "$@"; do
	name=$(basename -- "$bin")
	if command -v timeout >/dev/null 2>&1; then
		output=$(timeout -- "$timeout_s" "$bin" 2>&1)
	else
		output=$("$bin" 2>&1)
	fi
	rc=$?

	result=
	while IFS= read -r line; do
		if [[ $line =~ $result_re ]]; then
			result=$line
		else
			printf '%s\n' "$line"
		fi
	done < <([ -n "$output" ] && printf '%s\n' "$output")

	if [[ $result =~ $result_re ]]; then
		passed=${BASH_REMATCH[1]}
		failed=${BASH_REMATCH[2]}
		echo "$name: $result"
		total_passed=$((total_passed + passed))
		total_failed=$((total_failed + failed))
		if [ "$failed" -ne 0 ]; then
			status=1
		fi
		if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
			echo "$name: exited with status $rc despite no failed test"
			total_failed=$((total_failed + 1))
			status=1
		fi
	else
		if [ "$rc" -eq 124 ]; then
			why="timed out after ${timeout_s}s"
		elif [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
			why="could not be run (status $rc)"
		elif [ "$rc" -gt 128 ]; then
			why="crashed (signal $((rc - 128)))"
		else
			why="exited with status $rc"
		fi
		echo "$name: no result line: $why"
		total_failed=$((total_failed + 1))
		status=1
	fi
done

echo "unit: $total_passed passed, $total_failed failed"
exit "$status"
