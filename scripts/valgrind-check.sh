#!/usr/bin/env bash
# Short real tracing runs of memtrace-bpf under valgrind's memcheck (make valgrind; as root).
# Fails on any memcheck error or definite leak, and on a run that does not end as it should.
# Known false positives are suppressed in tests/valgrind.supp (each says why); what the bpf(2)
# commands valgrind 3.19 does not model write back is marked defined by tests/valgrind-bpf.c,
# LD_PRELOADed, rather than suppressed. Logs stay in $MT_VALGRIND_OUT (.output/valgrind).
#   MEMTRACE_BPF   the binary to check (default ./memtrace-bpf)
#   MT_WORKLOADS   the test workloads (default .output/workloads)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MEMTRACE_BPF:-$root/memtrace-bpf}
workloads=${MT_WORKLOADS:-$root/.output/workloads}
out=${MT_VALGRIND_OUT:-$root/.output/valgrind}
preload=$out/valgrind-bpf.so

die() { echo "valgrind-check: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is not installed (scripts/install-deps.sh valgrind)"
[ -x "$bin" ] || die "no binary $bin (make)"
[ -x "$workloads/grow" ] && [ -x "$workloads/forker" ] || die "no workloads in $workloads (make workloads)"
rm -rf "$out" && mkdir -p "$out" || die "cannot make $out"
"${CC:-cc}" -O2 -g -Wall -Wextra -Werror -fPIC -shared "$root/tests/valgrind-bpf.c" -ldl \
	-o "$preload" || die "cannot build $preload"

runs=0 errors=0 failed=0

# vg_run NAME WANT_STATUS CHECK ARG...: memtrace-bpf ARG... under memcheck, its CSV in
# $out/NAME.csv; CHECK is a shell condition on it (and on $out/NAME.stderr) once it ended.
vg_run() {
	local name=$1 want=$2 check=$3 status n
	shift 3
	runs=$((runs + 1))
	# --log-file per pid: the command's child is valgrind's until it execs (then runs natively)
	LD_PRELOAD=$preload valgrind --leak-check=full --error-exitcode=99 \
		--errors-for-leak-kinds=definite --suppressions="$root/tests/valgrind.supp" \
		--track-origins=yes --num-callers=30 --log-file="$out/$name.%p.log" \
		"$bin" -o "$out/$name.csv" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
	status=$?
	n=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$out/$name".*.log |
		awk '{ s += $1 } END { print s + 0 }')
	errors=$((errors + n))
	if [ "$n" -gt 0 ]; then
		echo "valgrind: $name: $n errors (memtrace-bpf $*):" >&2
		grep -v -e 'WARNING: unhandled' -e '^--' "$out/$name".*.log >&2
	fi
	if [ "$status" -ne "$want" ] || ! (cd "$out" && eval "$check"); then
		failed=$((failed + 1))
		echo "valgrind: $name: exit status $status (want $want), check '$check'" \
			"(memtrace-bpf $*); its stderr:" >&2
		cat "$out/$name.stderr" >&2
	else
		echo "valgrind: $name: ok, $n errors, $(($(wc -l <"$out/$name.csv") - 1)) rows" \
			"(memtrace-bpf $*)"
	fi
}

# a shell that runs grow (memory grown in 10 steps) and forker (two forked children that touch
# memory and exit 3 and 4): an exit row for each of the five processes
vg_run command 0 '[ "$(grep -c ",exit," command.csv)" -ge 4 ]' \
	-i 50ms -- /bin/sh -c '"$1" 4 20 10 & "$2" 16 24 --hold 200; wait' sh \
	"$workloads/grow" "$workloads/forker"
# the whole host for a second: process map read by batch lookups (sparse map)
vg_run host 0 '[ "$(wc -l <host.csv)" -gt 1 ]' -a -d 1s
# the same through the BPF map iterator (a map an eighth full or more; -v says which), or
# through batch lookups where the kernel refuses map iterators (-v names the refusal)
vg_run host-iter 0 'grep -q -e "through the map iterator" \
	-e "refused the BPF program read_procs" host-iter.stderr' -a -d 1s -v --max-procs 64
# programs refused at load and at attach: the object is loaded again without them
MEMTRACE_BPF_REFUSE=on_rename,on_page_alloc@attach vg_run refused 0 \
	'[ "$(grep -c "warning: the kernel refused the BPF program" refused.stderr)" -eq 2 ]' \
	-- "$workloads/grow" 4 20 4
# --python: stacks and code objects from a real interpreter, the line report and folded stacks
# many runs: the sampler set up again per run, the run log, a cgroup per run, the JSON summary;
# and the bisection's trials
vg_run repeat 0 '[ "$(cut -d, -f16 repeat.csv | sort -u | tr "\n" " ")" = "1 2 run " ] &&
	grep -q "\"statistics\"" repeat.json' \
	--warmup 1 --repeat 2 -m 64M --summary-json "$out/repeat.json" -- "$workloads/grow" 4 20 4
vg_run trials 0 'grep -q "\"found\":true" trials.json' \
	--find-min-limit --summary-json "$out/trials.json" -- "$workloads/grow" 16 20 4
vg_run python 0 'grep -q "^<module> (<string>:4);grow (<string>:3) " python.folded &&
	grep -q "^Filename: <string>" python.lines' \
	--lines "$out/python.lines" --folded "$out/python.folded" -- /usr/bin/python3 -c \
	"$(printf 'import sys\ndef grow():\n    return bytearray(b"x") * (40 << 20)\nx = grow()\n')"

# the exporter: libmicrohttpd's server in the loop, scraped while a child is OOM-killed under -m
# (the metrics' OOM series, the --oom-log JSON line); the scraper keeps the last good answer and
# goes on until the run ends (valgrind takes long to start)vg_run stacks 0 'grep -q ";f (stackgrow.c:[0-9]*);g (stackgrow.c:[0-9]*) " stacks.folded' \
	--stacks --stack-every 64K --folded "$out/stacks.folded" -- "$workloads/stackgrow" --mib 8,8,16
vg_run stacks-python 0 'grep -q "<module> (<string>:4);grow (<string>:3);" stacks-python.folded' \
	--stacks --python --folded "$out/stacks-python.folded" -- /usr/bin/python3 -c \
	"$(printf 'import sys\ndef grow():\n    return bytearray(b"x") * (40 << 20)\nx = grow()\n')"

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(for _ in $(seq 2400); do
	curl -sf "http://127.0.0.1:$port/metrics" >"$out/exporter.scrape.tmp" &&
		mv "$out/exporter.scrape.tmp" "$out/exporter.scrape"
	sleep 0.25
done) &
scraper=$!
vg_run exporter 0 'grep -q "\"schema\":\"memtrace-bpf/oom/1\"" exporter.oom.jsonl &&
	grep -q "^memtrace_oom_kills_total{.*constraint=\"memcg\",victim=\"grow\"} 1$" exporter.scrape' \
	--prometheus "127.0.0.1:$port" --oom-log "$out/exporter.oom.jsonl" -m 32M -- /bin/sh -c \
	'"$1" 8 20 8; sleep 8' sh "$workloads/grow"
kill "$scraper" 2>/dev/null
wait "$scraper" 2>/dev/null

# what valgrind could not model, for the record (warnings, not errors: see tests/valgrind-bpf.c)
grep -ho 'WARNING: unhandled .*' "$out"/*.log | sort | uniq -c | sed 's/^ */valgrind: note: /'
echo "valgrind: $runs runs, $errors errors"
[ "$errors" -eq 0 ] && [ "$failed" -eq 0 ]
