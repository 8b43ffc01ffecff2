#!/usr/bin/env bash
# The classic experiment: sum([i for i in range(N)]) against sum(i for i in range(N)), each
# under memtrace-bpf in a fresh cgroup with a hard memory limit. The list comprehension builds
# all N ints at once and, for a large N, gets OOM-killed; the generator runs in constant memory.
# Writes both CSV time series and one PNG with both curves, and prints a verdict. With -r N each
# is run N times (memtrace-bpf --repeat N) and drawn as its median with a min-max band.
set -euo pipefail

prog=list-vs-generator
usage() {
	cat <<EOF
usage: $0 [-n EXPR] [-m LIMIT] [-r N] [-o DIR] [-b BINARY]

Runs sum([i for i in range(N)]) and sum(i for i in range(N)) under
memtrace-bpf -m LIMIT, writes list-comprehension.csv, generator.csv and
list-vs-generator.png into DIR, and says which was OOM-killed, at what RSS, each
one's peak RSS and run time. Needs root (BPF, cgroups).

With -r N, each is run N times (memtrace-bpf --repeat N, the summaries in
list-comprehension.summary.json and generator.summary.json): the plot draws
each one's median RSS with a band from its minimum to its maximum, and the
verdict says how many runs of each were OOM-killed, its median peak RSS and its
median run time.

  -n EXPR     N, a Python integer expression           (default: 10**8)
  -m LIMIT    memory limit of each run (512M, 1G, ...)  (default: 512M)
  -r N        runs of each, N >= 1 (--repeat N)         (default: one, no --repeat)
  -o DIR      output directory                          (default: .output/experiment)
  -b BINARY   memtrace-bpf binary                       (default: ./memtrace-bpf)
  -h          this help

Relative DIR and BINARY given here are taken from the current directory; the
defaults are relative to the repository root. Exit status: 0 when both runs
happened and wrote their CSVs (and the plot was drawn), 1 otherwise, 2 on a
usage error.
EOF
}
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage_error() {
	echo "$prog: $*" >&2
	echo "run '$0 -h' for help" >&2
	exit 2
}
# relative paths given on the command line are the caller's, not the repository root's
from_caller() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}
show() { # print a command as it can be pasted into a shell
	printf '+'
	printf ' %q' "$@"
	printf '\n'
}

n='10**8'
limit=512M
outdir=.output/experiment
bin=./memtrace-bpf
repeat= # empty: a single run, without --repeat
while getopts ':n:m:r:o:b:h' opt; do
	case "$opt" in
	n) n=$OPTARG ;;
	m) limit=$OPTARG ;;
	r)
		[[ $OPTARG =~ ^[1-9][0-9]{0,5}$ ]] ||
			usage_error "-r $OPTARG: give a number of runs, 1 or more"
		repeat=$OPTARG
		;;
	o) outdir=$(from_caller "$OPTARG") ;;
	b) bin=$(from_caller "$OPTARG") ;;
	h)
		usage
		exit 0
		;;
	:) usage_error "option -$OPTARG needs a value" ;;
	*) usage_error "unknown option -$OPTARG" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage_error "unexpected argument: $1"
n_re='^[0-9][0-9_*+() -]*$'
[[ $n =~ $n_re ]] ||
	usage_error "-n $n: give an integer expression such as 10**8 or 5*10**7"
[ -n "$limit" ] || usage_error "-m needs a size such as 512M"

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	die "needs root to load BPF programs and create the memory cgroup: run sudo $0"
fi
show cd "$PWD"
python=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
[ -x "$python" ] || die "$python not found: apt-get install python3"
[ -x "$bin" ] || die "$bin: no memtrace-bpf binary there: run make, or give one with -b"
mkdir -p "$outdir" || die "cannot create $outdir"

names=("list comprehension" "generator")
files=(list-comprehension generator)
codes=("sum([i for i in range($n)])" "sum(i for i in range($n))")
statuses=()
csvs=()
summaries=() # with -r: memtrace-bpf --summary-json of each
ok=1
each=
[ -z "$repeat" ] || each=", $repeat runs of each"

echo "$prog: N=$n, memory limit $limit$each, output in $outdir"
for i in 0 1; do
	csv=$outdir/${files[$i]}.csv
	csvs+=("$csv")
	rm -f "$csv"
	cmd=("$bin" -m "$limit")
	if [ -n "$repeat" ]; then
		summaries+=("$outdir/${files[$i]}.summary.json")
		rm -f "${summaries[$i]}"
		cmd+=(--repeat "$repeat" --summary-json "${summaries[$i]}")
	fi
	cmd+=(-o "$csv" -- "$python" -c "${codes[$i]}")
	echo
	echo "$prog: ${names[$i]}:"
	show "${cmd[@]}"
	# the list comprehension is expected to be OOM-killed (status 137): not a reason to stop
	status=0
	"${cmd[@]}" || status=$?
	statuses+=("$status")
	if [ ! -s "$csv" ] || [ "$(wc -l <"$csv")" -lt 2 ]; then
		echo "$prog: ${names[$i]}: memtrace-bpf (status $status) wrote no time series to $csv" >&2
		ok=0
	fi
done

ran=$ok # both runs wrote a time series
png=$outdir/list-vs-generator.png
if [ "$ran" = 1 ]; then
	plot=("$python" scripts/memtrace-plot "${csvs[@]}" -o "$png"
		--label "${names[@]}" --limit "$limit"
		--title "sum() of range($n): list comprehension vs generator, memory limit $limit$each")
	echo
	show "${plot[@]}"
	if ! "${plot[@]}"; then
		echo "$prog: the plot could not be drawn (see above)" >&2
		ok=0
		png=
	fi
else
	png=
fi

# the verdict, from the CSVs (RFC 4180: parsed with Python's csv module, not with cut)
echo
echo "$prog: verdict (N=$n, memory limit $limit$each):"
for i in 0 1; do
	if [ -n "$repeat" ]; then
		# from the summary: the runs (not the warmups), each one's command
		"$python" - "${names[$i]}" "${statuses[$i]}" "${summaries[$i]}" <<'EOF' || ok=0
import json, statistics, sys

name, status, path = sys.argv[1], sys.argv[2], sys.argv[3]
MIB = 1024 * 1024
try:
    with open(path) as f:
        runs = [r for r in json.load(f)["runs"] if not r.get("warmup")]
    killed = sum(r["outcome"] == "oom_killed" for r in runs)
    peaks = [r["root"]["peak_rss_bytes"] for r in runs]
    times = [r["wall_s"] for r in runs]
    line = (f"{len(runs)} run{'' if len(runs) == 1 else 's'}, {killed} OOM-killed; "
            f"median peak RSS {statistics.median(peaks) / MIB:.1f} MiB; "
            f"median run time {statistics.median(times):.2f} s")
except (OSError, ValueError, LookupError, TypeError, AttributeError,
        statistics.StatisticsError) as e:
    sys.exit(f"  {name + ':':<19} no usable summary in {path} ({type(e).__name__}: {e}; "
             f"memtrace-bpf status {status})")
print(f"  {name + ':':<19} {line}")
EOF
		continue
	fi
	[ -s "${csvs[$i]}" ] || {
		printf '  %-19s no time series (memtrace-bpf status %s)\n' "${names[$i]}:" "${statuses[$i]}"
		continue
	}
	"$python" - "${names[$i]}" "${statuses[$i]}" "${csvs[$i]}" <<'EOF' || ok=0
import csv, sys

name, status, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MIB = 1024 * 1024
with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
if not rows or "peak_rss_bytes" not in rows[0]:
    sys.exit(f"  {name}: {path} is not a memtrace-bpf time series")
root = rows[0]["pid"]
peak = max(int(r["peak_rss_bytes"]) for r in rows)
ooms = [r for r in rows if r["event"] == "oom_kill"]
exit_row = next((r for r in rows if r["pid"] == root and r["event"] == "exit"), None)
start = next(float(r["elapsed_s"]) for r in rows if r["pid"] == root)
end = float((exit_row or rows[-1])["elapsed_s"])
if ooms:
    o = ooms[0]
    how = f"OOM-killed (status {status}) at RSS {int(o['rss_bytes']) / MIB:.1f} MiB"
elif status == 137:
    how = "killed by SIGKILL (status 137; no oom_kill row in its time series)"
elif status == 0:
    how = "finished (status 0)"
elif status > 128:
    how = f"killed by signal {status - 128} (status {status})"
else:
    how = f"failed (status {status})"
print(f"  {name + ':':<19} {how}; peak RSS {peak / MIB:.1f} MiB; "
      f"run time {end - start:.2f} s{'' if exit_row else ' (no exit row)'}")
EOF
done
if [ "$ran" = 1 ]; then
	killed=()
	for i in 0 1; do
		if [ "${statuses[$i]}" = 137 ] || grep -q ',oom_kill,' "${csvs[$i]}"; then
			killed+=("${names[$i]}")
		fi
	done
	inruns=
	[ -z "$repeat" ] || inruns=" (in at least one run)"
	case ${#killed[@]} in
	0) echo "  neither was killed: N=$n fits in $limit both ways (raise -n or lower -m)" ;;
	1) echo "  only the ${killed[0]} was killed under $limit$inruns" ;;
	2) echo "  both were killed under $limit$inruns" ;;
	esac
	echo "  time series: ${csvs[*]}"
	[ -z "$repeat" ] || echo "  summaries: ${summaries[*]}"
	[ -z "$png" ] || echo "  plot: $png"
else
	echo "  no verdict: memtrace-bpf did not write both time series (see its messages above)"
fi

[ "$ok" = 1 ] && exit 0
exit 1
