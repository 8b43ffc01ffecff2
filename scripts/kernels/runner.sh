#!/bin/sh
# The kernel-matrix checks, in POSIX sh with busybox tools: run inside the QEMU guest (as its
# init's child) and on the host alike (scripts/kernels/test-kernels.sh). One line per check,
# "RESULT <name> PASS|FAIL <detail>", "INFO <what> <value>" for the host side to judge, then
# "RUNNER DONE <passed> <failed>".
#   runner.sh BINDIR WORKDIR   (BINDIR holds memtrace-bpf and the workloads)
BIN=$1
W=$2
MT=$BIN/memtrace-bpf
MIB=1048576
pass=0
fail=0
mkdir -p "$W" || exit 1

result() { # name ok detail
	if [ "$2" = 1 ]; then pass=$((pass + 1)); s=PASS; else fail=$((fail + 1)); s=FAIL; fi
	echo "RESULT $1 $s $3"
}

# field N of the exit row of the (only) process named COMM in a CSV
exit_field() { # csv comm n
	awk -F, -v c="$2" -v n="$3" '$5 == c && $6 == "exit" { v = $n } END { print v + 0 }' "$1"
}

echo "RUNNER kernel $(uname -r)"

# the exact peak of a process that touches 100 MiB, its faults, its exit code
"$MT" -q -o "$W/touch.csv" -- "$BIN/touch" 100 >/dev/null 2>"$W/touch.err"
st=$?
peak=$(exit_field "$W/touch.csv" touch 11)
anon=$(exit_field "$W/touch.csv" touch 8)
faults=$(exit_field "$W/touch.csv" touch 13)
ok=0
[ $st -eq 0 ] && [ "$peak" -ge $((100 * MIB)) ] && [ "$peak" -lt $((110 * MIB)) ] &&
	[ "$anon" -ge $((100 * MIB)) ] && [ "$faults" -ge 25600 ] && ok=1
result touch-peak $ok "status=$st peak=$peak anon=$anon faults=$faults $(cat "$W/touch.err")"

# a 256 MiB spike held 20 ms, sampled every second: the peak is still exact
"$MT" -q -i 1s -o "$W/spike.csv" -- "$BIN/spike" 256 20 100 >/dev/null 2>"$W/spike.err"
st=$?
peak=$(exit_field "$W/spike.csv" spike 11)
end=$(exit_field "$W/spike.csv" spike 7)
ok=0
[ $st -eq 0 ] && [ "$peak" -ge $((256 * MIB)) ] && [ "$end" -lt $((64 * MIB)) ] && ok=1
result spike $ok "status=$st peak=$peak end=$end"

# children: two forked children, their own rows, exit codes 3 and 4
"$MT" -q -o "$W/fork.csv" -- "$BIN/forker" 8 16 >/dev/null 2>"$W/fork.err"
st=$?
codes=$(awk -F, '$5 == "forker" && $6 == "exit" { print $15 }' "$W/fork.csv" | sort | tr '\n' ' ')
peaks=$(awk -F, '$5 == "forker" && $6 == "exit" && $11 >= 8 * 1048576 { n++ } END { print n + 0 }' \
	"$W/fork.csv")
ok=0
[ $st -eq 0 ] && [ "$codes" = "exit_code=0 exit_code=3 exit_code=4 " ] && [ "$peaks" -ge 2 ] && ok=1
result children $ok "status=$st exits=[$codes] children_with_peak=$peaks"

# exit codes: the command's own, 128+N for a signal, 127 for no such command
"$MT" -q -o /dev/null -- /bin/sh -c 'exit 7' 2>/dev/null
a=$?
"$MT" -q -o /dev/null -- /bin/sh -c 'kill -TERM $$' 2>/dev/null
b=$?
"$MT" -q -o /dev/null -- /nonexistent/command 2>/dev/null
c=$?
ok=0
[ $a -eq 7 ] && [ $b -eq 143 ] && [ $c -eq 127 ] && ok=1
result exit-codes $ok "exit7=$a sigterm=$b missing=$c"

# an OOM kill in a fresh memcg (-m): status 137, an oom_kill row, the constraint memcg
"$MT" -m 64M -o "$W/oom.csv" -- "$BIN/touch" 200 >/dev/null 2>"$W/oom.err"
st=$?
kills=$(awk -F, '$6 == "oom_kill"' "$W/oom.csv" | wc -l)
ok=0
[ $st -eq 137 ] && [ "$kills" -eq 1 ] && grep -q "constraint memcg" "$W/oom.err" && ok=1
result oom-memcg $ok "status=$st oom_kill_rows=$kills $(grep -o 'cgroup v[12]' "$W/oom.err" | head -1)"

# SIGINT (from a process: forwarded to the command): status 130, the command's exit row,
# no tracer left, no cgroup of ours left
"$MT" -q -m 256M -o "$W/int.csv" -- "$BIN/touch" 10 --hold 30000 >/dev/null 2>"$W/int.err" &
tracer=$!
sleep 2
kill -INT $tracer
wait $tracer
st=$?
sig=$(awk -F, '$5 == "touch" && $6 == "exit" { print $15 }' "$W/int.csv")
sleep 1
left=0
for d in /proc/[0-9]*; do
	[ "$(cat "$d/comm" 2>/dev/null)" = memtrace-bpf ] && left=$((left + 1))
done
cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "memtrace-bpf-$tracer*" 2>/dev/null | wc -l)
ok=0
[ $st -eq 130 ] && [ "$sig" = "signal=SIGINT" ] && [ $left -eq 0 ] && [ "$cg" -eq 0 ] && ok=1
result sigint $ok "status=$st row=$sig tracers_left=$left cgroups_left=$cg"

# a program the kernel refuses costs only its feature: without mark_victim (refused on purpose
# through MEMTRACE_BPF_REFUSE: the kernel itself refuses it, EINVAL) an OOM kill is an exit row
# with signal=SIGKILL, status 137, no oom_kill row, and one warning names the refusal
MEMTRACE_BPF_REFUSE=on_mark_victim,on_mark_victim_pid "$MT" -m 64M -o "$W/refused.csv" -- \
	"$BIN/touch" 200 >/dev/null 2>"$W/refused.err"
st=$?
sig=$(awk -F, '$5 == "touch" && $6 == "exit" { print $15 }' "$W/refused.csv")
kills=$(awk -F, '$6 == "oom_kill"' "$W/refused.csv" | wc -l)
warned=$(grep -c "warning: the kernel refused the BPF program on_mark_victim" "$W/refused.err")
ok=0
[ $st -eq 137 ] && [ "$sig" = "signal=SIGKILL" ] && [ "$kills" -eq 0 ] && [ "$warned" -eq 1 ] && ok=1
result oom-refused $ok "status=$st row=$sig oom_kill_rows=$kills warnings=$warned"

# what this kernel refuses on its own: the run goes on, -v names each refusal
"$MT" -v -o /dev/null -- /bin/true 2>"$W/own.err"
st=$?
ok=0
[ $st -eq 0 ] && ok=1
result own-refusals $ok "status=$st refused=[$(grep -o 'refused the BPF program [a-z_]* ([^)]*) at [a-z]*: [A-Za-z ]*' "$W/own.err" | sed 's/.*program //' | tr '\n' ';')]"

# a real security policy (a BPF LSM program, tests/tools/bpf-deny) refusing with EPERM: an
# essential program stops the run with one line naming the policy; an optional one at attach
# costs its feature only. Skipped where the kernel takes no BPF LSM policy.
if [ -x "$BIN/bpf-deny" ]; then
	"$BIN/bpf-deny" on_rss_stat -- "$MT" -o /dev/null -- /bin/true 2>"$W/deny.err"
	st=$?
	if [ $st -eq 77 ]; then
		echo "INFO lsm-policy skipped: $(tail -1 "$W/deny.err")"
	else
		ok=0
		grep -q "refused to load the BPF program on_rss_stat.*Operation not permitted.*security policy" \
			"$W/deny.err" && [ $st -eq 1 ] && ok=1
		result lsm-essential $ok "status=$st $(grep '^memtrace-bpf' "$W/deny.err" | head -1)"
		"$BIN/bpf-deny" --attach on_rename -- "$MT" -o "$W/deny.csv" -- "$BIN/touch" 8 \
			--name renamed >/dev/null 2>"$W/deny2.err"
		st=$?
		names=$(awk -F, 'NR > 1 { print $5 }' "$W/deny.csv" | sort -u | tr '\n' ' ')
		ok=0
		[ $st -eq 0 ] && [ "$names" = "touch " ] &&
			grep -q "refused the BPF program on_rename.*Operation not permitted" "$W/deny2.err" && ok=1
		result lsm-optional-attach $ok "status=$st names=[$names] $(grep 'warning' "$W/deny2.err" | head -1) $(grep 'bpf-deny' "$W/deny2.err")"
	fi
fi

# what the summary says of this kernel's RSS precision (the host side knows what to expect)
if "$MT" -o /dev/null -- "$BIN/touch" 5 2>&1 | grep -q "precision: this kernel"; then
	echo "INFO precision-note present"
else
	echo "INFO precision-note absent"
fi

# --repeat under -m: a cgroup per run (on this guest's cgroup v2), each removed
"$MT" -q --repeat 2 -m 64M -o "$W/rep.csv" --summary-json "$W/rep.json" -- /bin/sh -c \
	"grep -c memtrace-bpf- /proc/self/cgroup; exec $BIN/touch 16" >"$W/rep.out" 2>"$W/rep.err"
st=$?
runs=$(awk -F, 'NR > 1 { print $16 }' "$W/rep.csv" | sort -u | tr '\n' ' ')
inside=$(grep -c '^1$' "$W/rep.out")
cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'memtrace-bpf-*' 2>/dev/null | wc -l)
peaks=$(grep -o '"cgroup_peak_bytes":[0-9]*' "$W/rep.json" | wc -l)
ok=0
[ $st -eq 0 ] && [ "$runs" = "1 2 " ] && [ "$inside" -eq 2 ] && [ "$cg" -eq 0 ] && [ "$peaks" -eq 2 ] && ok=1
result repeat-cgroups $ok "status=$st runs=[$runs] in_cgroup=$inside cgroups_left=$cg cgroup_peaks=$peaks $(head -1 "$W/rep.err")"

# --find-min-limit: the bisection over fresh v2 cgroups, and a timed-out trial killed with its cgroup
"$MT" -q --find-min-limit -o "$W/fml.csv" --summary-json "$W/fml.json" -- "$BIN/touch" 50 \
	>/dev/null 2>"$W/fml.err"
st=$?
answer=$(grep -o '"min_ok_limit_bytes":[0-9]*' "$W/fml.json" | cut -d: -f2)
ok=0
[ $st -eq 0 ] && [ "${answer:-0}" -ge $((50 * MIB)) ] && [ "${answer:-0}" -le $((56 * MIB)) ] && ok=1
result find-min-limit $ok "status=$st answer=$answer $(head -1 "$W/fml.err")"
"$MT" -q --find-min-limit --trial-timeout 300ms -o /dev/null --summary-json "$W/fmt.json" -- \
	"$BIN/touch" 8 --hold 1500 >/dev/null 2>"$W/fmt.err"
st=$?
timeouts=$(grep -o '"outcome":"timeout"' "$W/fmt.json" | wc -l)
cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'memtrace-bpf-*' 2>/dev/null | wc -l)
left=$(pgrep -x touch | wc -l)
ok=0
[ $st -eq 1 ] && [ "$timeouts" -ge 5 ] && [ "$cg" -eq 0 ] && [ "$left" -eq 0 ] && ok=1
result trial-timeout $ok "status=$st timeouts=$timeouts cgroups_left=$cg touch_left=$left"

# --exact before 6.2: the record is not exact there either, so it is refused
"$MT" --exact -o /dev/null -- /bin/true 2>"$W/exact.err"
st=$?
case "$(uname -r)" in
[0-5].* | 6.[01].* | 6.[01]-*) want=1 ;;
*) want=0 ;;
esac
ok=0
[ $st -eq $want ] && ok=1
result exact $ok "status=$st want=$want $(head -1 "$W/exact.err")"

# --prometheus: scraped while a command runs under -m, then is OOM-killed: the -m cgroup's
# series (its id named through the hierarchy the memory controller is on: v2 in the guest, v1
# on this host) and the OOM counter with that cgroup, the constraint and the victim
ip link set lo up 2>/dev/null
"$MT" -q --prometheus 127.0.0.1:9464 -m 32M --oom-log "$W/exp.jsonl" -o /dev/null -- /bin/sh -c \
	"$BIN/touch 8 --hold 4000; $BIN/touch 64; sleep 3" >/dev/null 2>"$W/exp.err" &
mt=$!
procs='' kills=''
for _ in $(seq 40); do
	sleep 0.5
	busybox wget -q -O "$W/exp.prom" http://127.0.0.1:9464/metrics 2>/dev/null || continue
	[ -n "$procs" ] || procs=$(grep '^memtrace_cgroup_processes{cgroup=".*/memtrace-bpf-[0-9]*"} [1-9]' "$W/exp.prom")
	kills=$(grep '^memtrace_oom_kills_total{cgroup=".*/memtrace-bpf-[0-9]*",constraint="memcg",victim="touch"} 1$' "$W/exp.prom")
	[ -n "$kills" ] && break
done
wait $mt
st=$?
logged=$(grep -c '"schema":"memtrace-bpf/oom/1"' "$W/exp.jsonl" 2>/dev/null)
ok=0
[ $st -eq 0 ] && [ -n "$procs" ] && [ -n "$kills" ] && [ "${logged:-0}" -eq 1 ] && ok=1
result exporter $ok "status=$st cgroup_series=[$procs] oom_series=[$kills] oom_log_lines=$logged $(head -1 "$W/exp.err")"

# --stacks: a C program built without frame pointers grows 16, 32 and 64 MiB in three functions;
# from the registers and the stack copied at its faults, g's bytes are unwound through f and main
"$MT" -q --stacks --stack-every 16K --folded "$W/st.folded" -o /dev/null -- "$BIN/stackgrow" \
	--mib 16,32,64 >/dev/null 2>"$W/st.err"
st=$?
on_g=$(awk '/;main \(stackgrow\.c:[0-9]+\);f \(stackgrow\.c:[0-9]+\);g \(stackgrow\.c:[0-9]+\) [0-9]+$/ { b += $NF } END { print b + 0 }' "$W/st.folded" 2>/dev/null)
lib=$(awk '/;lib_grow \(stacklib\.c:[0-9]+\)/ { b += $NF } END { print b + 0 }' "$W/st.folded" 2>/dev/null)
ok=0
[ $st -eq 0 ] && [ "$on_g" -ge $((60 * MIB)) ] && [ "$on_g" -le $((70 * MIB)) ] &&
	[ "$lib" -ge $((30 * MIB)) ] && [ "$lib" -le $((35 * MIB)) ] && ok=1
result stacks $ok "status=$st main_f_g=$on_g lib_grow=$lib $(head -1 "$W/st.err")"

echo "RUNNER DONE $pass $fail"
