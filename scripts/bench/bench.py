#!/usr/bin/python3
"""make bench: what memtrace-bpf costs, measured against the floor and its peers.

Every contender runs the same workloads, interleaved round by round (the machine is noisy:
neighbours come and go, so a contender measured in one block would carry the noise of its
block), with the starting contender rotated each round. Each workload times its own work,
after a start line on stdin, so tracer start-up is not in its time. Reported: medians, and
the median of the per-round ratios against the untraced run of the same round.

Contenders:
  untraced      the workload alone
  floor         empty BPF programs on exactly memtrace-bpf's hooks (scripts/bench/floor.c):
                what the kernel charges for calling a program at all; no tracer on these
                hooks can cost less
  memtrace -p   memtrace-bpf -p PID (the workload only)
  memtrace -a   memtrace-bpf -a (every process on the host)
  bpftrace      the same per-process counting written in bpftrace (scripts/bench/counting.bt)
  mprof         memory_profiler's mprof run at 0.1 s

Then what --python, --exact and --stacks add to tracing alone, start-up, the tracer's own RSS
and CPU with many processes, what the Prometheus exporter adds to them (scraped every second,
against the same run without it), the 1 GiB spike catch rate, and the BPF cost per program
(bpf_stats, from memtrace-bpf -v and the floor).
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from scraper import Scraper  # noqa: E402  (the soak's scraper too)
PY = "/usr/bin/python3"
GiB = 1 << 30
REPEAT_RUNS = 10  # start-up: --repeat's runs of `true` under one load
# the exporter's cost: 1,000 processes of HERD_KIB KiB, half of it given back and taken again
# every HERD_PERIOD_MS; the tracer at -i 100ms for EXPORTER_SECONDS a run, scraped every second
EXPORTER_PROCS = 1000
HERD_KIB, HERD_PERIOD_MS = 128, 1000
EXPORTER_SECONDS = 20
SCRAPE_PERIOD_S = 1.0

PY_WORKLOAD = (
    "import sys, time\n"
    "sys.stdin.readline()\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "sum([i for i in range({n})])\n"
    "print('%.6f %.6f' % (time.perf_counter() - t, time.process_time() - c))\n"
)


# --python's cost: the same work as a function memory_profiler's @profile can decorate (run
# under python3 -m memory_profiler it is defined; elsewhere the decorator does nothing)
PY_LINES_WORKLOAD = (
    "import sys, time\n"
    "try:\n"
    "    profile\n"
    "except NameError:\n"
    "    profile = lambda f: f\n"
    "@profile\n"
    "def work(n):\n"
    "{body}"
    "sys.stdin.readline()\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "work({n})\n"
    "print('%.6f %.6f' % (time.perf_counter() - t, time.process_time() - c))\n"
)
PY_SEED_BODY = "    return sum([i for i in range(n)])\n"
PY_HEAVY_BODY = (
    "    d = {}\n"
    "    for i in range(n):\n"
    "        s = str(i)\n"
    "        d[s] = [i] * 4\n"
    "        t = (s, i)\n"
    "    return len(d)\n"
)
TIMES_RE = re.compile(r"^[0-9.]+ [0-9.]+$")
# --stacks' cost: memtrace-bpf's defaults (--stack-size, --stack-every), said in the report
# unless its -v run's summary says otherwise; the C workload's growth (stackgrow --mib)
STACK_SIZE_DEFAULT, STACK_EVERY_DEFAULT = 8 << 10, 256 << 10
STACKGROW_MIB = (64, 128, 256)
STACKS_HEADER_RE = re.compile(r"Native stacks \(--stacks=(\w+): ([0-9]+) bytes of stack copied, "
                              r"one sample per ([0-9.]+ ?[KMGT]?i?B) grown on average\)")
STACKS_SAMPLES_RE = re.compile(r"([0-9]+) samples standing for ([0-9.]+ ?[KMGT]?i?B) grown")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def free_port():
    """A TCP port free on 127.0.0.1 now (for a tracer run with -q, which does not say the port
    it picked)."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def proc_cpu_s(pid):
    """utime + stime of process pid so far, in seconds (/proc/PID/stat: clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_runtime_s(pid):
    """Process pid's time on a CPU so far, in seconds, to the nanosecond: its threads' in
    /proc/PID/task/*/schedstat (utime + stime, in clock ticks, where that is missing)."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        return proc_cpu_s(pid)


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def read_until(stream, pattern, timeout, what):
    """Read lines from stream until one matches pattern; returns the match."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        line = line.decode(errors="replace")
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise RuntimeError(f"{what}: no line matching {pattern!r}; got: {''.join(seen)[-2000:]}")


class Bench:
    def __init__(self, a):
        self.a = a
        self.memtrace = a.memtrace
        self.floor = os.path.join(a.bench_dir, "floor")
        self.faultloop = os.path.join(a.bench_dir, "faultloop")
        self.stamp = os.path.join(a.bench_dir, "stamp")
        self.timed = os.path.join(a.bench_dir, "timed")
        self.bpftrace = shutil.which("bpftrace")
        self.mprof = shutil.which("mprof") or shutil.which("python3-mprof")
        self.mounted_tracefs = False
        self.results = {"notes": []}

    # ---- contenders -------------------------------------------------------------------

    def start_tracer(self, contender, pid):
        """Start contender's tracer (if any) around workload pid; returns a stop function."""
        if contender in ("untraced", "mprof", "memory_profiler @profile"):
            return lambda: None
        if contender == "floor":
            p = subprocess.Popen([self.floor], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            read_until(p.stdout, r"^attached", 30, "floor")

            def stop():
                p.stdin.close()
                p.wait(timeout=30)
            return stop
        if contender.startswith("memtrace"):
            # not -v: that turns on bpf_stats, which costs a few ns per run. Ready when the
            # first row is out (after attaching, and for -a after the running processes are
            # in the traced set); the rest of the series is drained and dropped.
            args = [self.memtrace, "-o", "-"]
            args += ["-a"] if contender == "memtrace -a" else ["-p", str(pid)]
            if contender.endswith("--python"):
                args.append("--python")
            if contender.endswith("--exact"):
                args.append("--exact")
            if contender.endswith(("--stacks", "--stacks=fp")):
                args.append(contender.split()[-1])
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            read_until(p.stdout, r"^[0-9]", 30, contender)
            drain = threading.Thread(target=p.stdout.read)
            drain.start()

            def stop():
                if contender == "memtrace -a":
                    p.send_signal(signal.SIGINT)
                drain.join()
                err = p.stderr.read().decode(errors="replace")
                if p.wait(timeout=30) != 0:
                    raise RuntimeError(f"{contender} exited with {p.returncode}: {err}")
                if "events lost: none" not in err:
                    raise RuntimeError(f"{contender} lost events: {err}")
            return stop
        if contender == "bpftrace":
            p = subprocess.Popen([self.bpftrace, os.path.join(ROOT, "scripts/bench/counting.bt")],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            read_until(p.stdout, r"^ready", 120, "bpftrace")

            def stop():
                p.send_signal(signal.SIGINT)
                p.stdout.read()
                p.wait(timeout=60)
            return stop
        raise ValueError(contender)

    def run_once(self, contender, cmd):
        """The workload's own (elapsed, CPU) times in seconds under contender."""
        tmp = None
        if contender == "mprof":
            tmp = tempfile.NamedTemporaryFile(suffix=".dat", delete=False)
            tmp.close()
            cmd = [self.mprof, "run", "--interval", "0.1", "--include-children", "-o", tmp.name,
                   *cmd]
        if contender == "memory_profiler @profile":
            cmd = [cmd[0], "-m", "memory_profiler", *cmd[1:]]
        w = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            stop = self.start_tracer(contender, w.pid)
        except Exception:
            w.kill()
            w.wait()
            raise
        try:
            w.stdin.write(b"go\n")
            w.stdin.flush()
            w.stdin.close()
            out = w.stdout.read().decode()
            if w.wait(timeout=600) != 0:
                raise RuntimeError(f"workload {cmd} under {contender} exited {w.returncode}")
        finally:
            stop()
            if tmp:
                os.unlink(tmp.name)
        # memory_profiler prints its line report after the workload's own line
        wall, cpu = [line for line in out.splitlines() if TIMES_RE.match(line)][-1].split()
        return float(wall), float(cpu)

    def contenders(self):
        cs = ["untraced", "floor", "memtrace -p", "memtrace -a"]
        if self.bpftrace:
            cs.append("bpftrace")
        if self.mprof:
            cs.append("mprof")
        return cs

    def workloads(self):
        """The two workloads every run-time table measures, by their names in the report."""
        a = self.a
        return {
            f"page faults ({a.fault_mib} MiB x {a.fault_rounds}, 4 KiB pages)":
                [self.faultloop, str(a.fault_mib), str(a.fault_rounds)],
            f"Python sum([i for i in range(10**{a.py_exp})])":
                [PY, "-c", PY_WORKLOAD.format(n=10 ** a.py_exp)],
        }

    def overhead(self):
        a = self.a
        workloads = self.workloads()
        cs = self.contenders()
        self.results["overhead"] = {wname: self.interleaved(wname, cmd, cs, a.rounds)
                                    for wname, cmd in workloads.items()}

    def interleaved(self, wname, cmd, cs, rounds):
        """cmd under every contender, round by round, the first contender rotated each round;
        {"cpu": {contender: [s...]}, "wall": {...}}."""
        wall = {c: [] for c in cs}
        cpu = {c: [] for c in cs}
        self.run_once("untraced", cmd)  # warm-up: caches, page tables, CPU frequency
        for r in range(rounds):
            for c in cs[r % len(cs):] + cs[:r % len(cs)]:
                w, u = self.run_once(c, cmd)
                wall[c].append(w)
                cpu[c].append(u)
            log(f"{wname}: round {r + 1}/{rounds}: " +
                ", ".join(f"{c} {cpu[c][-1]:.3f}s cpu/{wall[c][-1]:.3f}s" for c in cs))
        return {"cpu": cpu, "wall": wall}

    def python_cost(self):
        """--python against tracing without it, memory_profiler's @profile beside them."""
        a = self.a
        tmpdir = tempfile.mkdtemp(prefix="memtrace-bench-")
        workloads = {}
        for name, body, n in ((f"sum([i for i in range(10**{a.py_exp})])", PY_SEED_BODY,
                               10 ** a.py_exp),
                              ("a line-heavy loop (5 lines x 100,000, small objects)",
                               PY_HEAVY_BODY, 100000)):
            path = os.path.join(tmpdir, f"w{len(workloads)}.py")
            with open(path, "w") as f:
                f.write(PY_LINES_WORKLOAD.format(body=body, n=n))
            workloads[name] = [PY, path]
        cs = ["untraced", "memtrace -p", "memtrace -p --python"]
        if subprocess.run([PY, "-c", "import memory_profiler"],
                          capture_output=True).returncode == 0:
            cs.append("memory_profiler @profile")
        else:
            self.results["notes"].append("memory_profiler is not installed (BENCH_INSTALL=1): "
                                         "its @profile is not in the --python table")
        rounds = max(2, min(a.rounds, 5))
        res = {}
        try:
            for wname, cmd in workloads.items():
                # @profile traces every line event, the comprehension's 10**7 included: over a
                # minute a run, so it is timed on the line-heavy loop only
                wcs = [c for c in cs if c != "memory_profiler @profile" or "line-heavy" in wname]
                res[wname] = self.interleaved(f"--python, {wname}", cmd, wcs, rounds)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        self.results["python"] = res

    def exact_cost(self):
        """--exact against the default (folded counters) and untraced, on the fault loop and
        the Python seed; and what its two rss_stat programs cost per run (bpf_stats). The
        kernel's own summing for the classic record is not in bpf_stats: only in the run
        times."""
        a = self.a
        workloads = self.workloads()
        cs = ["untraced", "memtrace -p", "memtrace -p --exact"]
        rounds = max(2, min(a.rounds, 7))
        res = {wname: self.interleaved(f"--exact, {wname}", cmd, cs, rounds)
               for wname, cmd in workloads.items()}
        progs = {}
        for exact in (False, True):
            found, _ = self.bpf_cost_run(workloads[next(iter(workloads))],
                                         ["--exact"] if exact else [])
            progs["exact" if exact else "default"] = {
                k: v for k, v in found.items() if k in ("on_rss_stat", "tp_rss_exact")}
        self.results["exact"] = {"runs": res, "bpf_cost": progs}

    def bpf_cost_run(self, cmd, extra):
        """One -v run of memtrace-bpf -p on workload cmd with options extra: what the kernel
        timed of each program ({name: {"runs", "ns"}}) and memtrace-bpf's stderr."""
        w = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        t = subprocess.Popen([self.memtrace, "-v", "-p", str(w.pid), "-o", "/dev/null"] + extra,
                             stderr=subprocess.PIPE)
        read_until(t.stderr, r"after launch", 30, "memtrace-bpf")
        w.stdin.write(b"go\n")
        w.stdin.close()
        w.stdout.read()
        w.wait()
        err = t.stderr.read().decode(errors="replace")
        if t.wait(timeout=60) != 0:
            raise RuntimeError(f"memtrace-bpf -v {' '.join(extra)} exited {t.returncode}: "
                               f"{err[-2000:]}")
        found = {m.group(1): {"runs": int(m.group(2)), "ns": float(m.group(3))}
                 for m in re.finditer(r"BPF cost: (\S+): ([0-9]+) runs, ([0-9.]+) ns", err)}
        return found, err

    def stacks_cost(self):
        """--stacks (dwarf, the default, and fp) against tracing without it and untraced, at
        memtrace-bpf's default stack copy and sampling period, on the fault loop and on a C
        program of known call stacks (stackgrow, which does not time itself: run by `timed`,
        which waits for the start line, and traced as its child); and, from -v runs on the
        fault loop, what on_rss_stat costs per run with --stacks and without (it takes the
        samples), and how many samples were taken."""
        a = self.a
        fname = next(iter(self.workloads()))
        stackgrow = os.path.join(a.workloads, "stackgrow")
        mib = ",".join(str(m) for m in STACKGROW_MIB)
        workloads = {
            fname: [self.faultloop, str(a.fault_mib), str(a.fault_rounds)],
            f"C call stacks (stackgrow --mib {mib}: {sum(STACKGROW_MIB)} MiB grown)":
                [self.timed, stackgrow, "--mib", mib],
        }
        cs = ["untraced", "memtrace -p", "memtrace -p --stacks", "memtrace -p --stacks=fp"]
        rounds = max(2, min(a.rounds, 7))
        res = {wname: self.interleaved(f"--stacks, {wname}", cmd, cs, rounds)
               for wname, cmd in workloads.items()}
        progs, samples, header = {}, None, None
        for stacks in (False, True):
            found, err = self.bpf_cost_run(workloads[fname], ["--stacks"] if stacks else [])
            progs["--stacks" if stacks else "without"] = {
                k: v for k, v in found.items() if k == "on_rss_stat"}
            if stacks:
                m = STACKS_SAMPLES_RE.search(err)
                if not m:
                    raise RuntimeError(f"memtrace-bpf -v --stacks: no samples line in: "
                                       f"{err[-2000:]}")
                samples = {"samples": int(m.group(1)), "grown": m.group(2)}
                m = STACKS_HEADER_RE.search(err)
                if m:
                    header = {"mode": m.group(1), "stack_size": int(m.group(2)),
                              "every": m.group(3)}
        self.results["stacks"] = {"runs": res, "bpf_cost": progs, "samples": samples,
                                  "header": header}
        log("--stacks: on_rss_stat " + ", ".join(
            f"{who} {v['on_rss_stat']['ns']:.0f} ns x {v['on_rss_stat']['runs']:,}"
            for who, v in progs.items() if "on_rss_stat" in v) +
            f"; {samples['samples']:,} samples for {samples['grown']} grown")

    # ---- start-up ---------------------------------------------------------------------

    def startup(self, n=11):
        """Launch to attached, memtrace-bpf's and the floor's both seen from outside the same
        way (from before the fork to its line saying it is attached), interleaved, the first
        of the two alternating; memtrace-bpf's own figure (-v, from its main) beside them."""
        attach, attach_self, to_command, whole, floor_attach, loads = [], [], [], [], [], []

        def memtrace_run():
            t0 = time.monotonic_ns()
            p = subprocess.Popen([self.memtrace, "-v", "-o", "/dev/null", "--", self.stamp],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            head = b""
            while True:
                line = p.stderr.readline()
                head += line
                m = re.search(rb"attached ([0-9.]+) ms after launch", line)
                if m or not line:
                    break
            if not m:
                raise RuntimeError(f"memtrace-bpf -v: no 'attached' line in: {head[-2000:]}")
            attach.append((time.monotonic_ns() - t0) / 1e6)
            attach_self.append(float(m.group(1)))
            out, err = p.communicate(timeout=60)
            err = head + err
            if p.returncode != 0:
                raise RuntimeError(f"memtrace-bpf -- stamp exited {p.returncode}: {err}")
            # launch to the traced command's first instruction
            to_command.append((int(out.split()[-1]) - t0) / 1e6)
            # more than one load: the kernel refused a program (the object is loaded again)
            m = re.search(rb"\(([0-9]+) loads?[:)]", err)
            loads.append(int(m.group(1)) if m else 1)

        def floor_run():
            t0 = time.monotonic_ns()
            f = subprocess.Popen([self.floor], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            read_until(f.stdout, r"^attached", 30, "floor")
            floor_attach.append((time.monotonic_ns() - t0) / 1e6)
            f.stdin.close()
            f.wait()

        def timed(args):
            t0 = time.monotonic_ns()
            subprocess.run([self.memtrace, "-q", "-o", "/dev/null"] + args, check=True)
            return (time.monotonic_ns() - t0) / 1e6

        # --repeat pays the start-up once: RUNS runs of `true` in one call against one alone
        repeated = []
        for i in range(n):
            for run in ((memtrace_run, floor_run) if i % 2 == 0 else (floor_run, memtrace_run)):
                run()
            whole.append(timed(["--", "/bin/true"]))
            repeated.append(timed(["--repeat", str(REPEAT_RUNS), "--", "/bin/true"]))
        self.results["startup"] = {"attach_ms": attach, "attach_self_ms": attach_self,
                                   "launch_to_command_ms": to_command, "true_run_ms": whole,
                                   "repeat_true_run_ms": repeated,
                                   "floor_attach_ms": floor_attach, "loads": loads}
        log(f"start-up: attached {median(attach):.1f} ms after launch (the floor "
            f"{median(floor_attach):.1f} ms), command starts {median(to_command):.1f} ms after "
            f"launch, '-- true' {median(whole):.1f} ms")

    # ---- footprint --------------------------------------------------------------------

    def footprint(self, nprocs, seconds, runs):
        """The tracer's RSS and CPU with nprocs idle processes, at -a -i 100ms: its max RSS
        over the run (the start-up peak included: reading the kernel's BTF), its RSS at the
        end, its CPU over the whole run and in the steady state (after the first 2 s)."""
        swarm = subprocess.Popen([os.path.join(self.a.workloads, "swarm"), str(nprocs)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        res = {"max_rss_mib": [], "end_rss_mib": [], "cpu_pct": [], "steady_cpu_pct": []}
        cpu_s, rss_mib = proc_cpu_s, proc_rss_mib
        try:
            read_until(swarm.stdout, r"^ready", 300, "swarm")
            for _ in range(runs):
                t0 = time.monotonic()
                p = subprocess.Popen([self.memtrace, "-a", "-i", "100ms", "-d", f"{seconds + 2}s",
                                      "-q", "-o", "/dev/null"])
                time.sleep(2)
                c0, s0 = cpu_s(p.pid), time.monotonic()
                time.sleep(seconds - 0.3)
                c1, s1 = cpu_s(p.pid), time.monotonic()
                end_rss = rss_mib(p.pid)
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                wall = time.monotonic() - t0
                if p.returncode != 0:
                    raise RuntimeError(f"memtrace-bpf -a exited {p.returncode}")
                res["max_rss_mib"].append(ru.ru_maxrss / 1024)
                res["end_rss_mib"].append(end_rss)
                res["cpu_pct"].append(100 * (ru.ru_utime + ru.ru_stime) / wall)
                res["steady_cpu_pct"].append(100 * (c1 - c0) / (s1 - s0))
        finally:
            swarm.stdin.close()
            swarm.wait(timeout=300)
        log(f"{nprocs} processes: max RSS {median(res['max_rss_mib']):.1f} MiB, at the end "
            f"{median(res['end_rss_mib']):.1f} MiB, CPU {median(res['cpu_pct']):.2f} % "
            f"(steady {median(res['steady_cpu_pct']):.2f} %)")
        return res

    # ---- the exporter -----------------------------------------------------------------

    def exporter_runs(self, sides, seconds):
        """`-a -q -i 100ms -d SECONDS -o /dev/null` runs started together, one for each of
        sides (True: with --prometheus on a free port of 127.0.0.1 and a scraper at it every
        second; False: without), in that order; for each, the tracer's own CPU (the whole run
        from wait4; the steady state, from 2 s to just before the end, from /proc), its RSS at
        the end and at most, and its scrapes."""
        base = [self.memtrace, "-a", "-q", "-i", "100ms", "-d", f"{seconds}s", "-o", "/dev/null"]
        runs = []
        try:
            for with_exporter in sides:
                port = free_port() if with_exporter else None
                args = base + (["--prometheus", f"127.0.0.1:{port}"] if with_exporter else [])
                err = tempfile.TemporaryFile()
                run = {"args": args, "err": err, "t0": time.monotonic(),
                       "p": subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=err),
                       "scraper": Scraper(port, SCRAPE_PERIOD_S) if with_exporter else None}
                runs.append(run)
                if run["scraper"]:
                    run["scraper"].start()
            def alive():
                for r in runs:
                    if r["p"].poll() is not None:
                        r["err"].seek(0)
                        raise RuntimeError(f"{' '.join(r['args'])} exited {r['p'].returncode} "
                                           f"before its end: "
                                           f"{r['err'].read().decode(errors='replace')}")
            t0 = runs[0]["t0"]
            time.sleep(max(0.0, t0 + 2 - time.monotonic()))
            alive()
            c0 = [proc_runtime_s(r["p"].pid) for r in runs]
            s0 = time.monotonic()
            time.sleep(max(0.0, t0 + seconds - 0.3 - time.monotonic()))
            alive()
            c1 = [proc_runtime_s(r["p"].pid) for r in runs]
            s1 = time.monotonic()
            for r in runs:
                try:
                    r["end_rss_mib"] = proc_rss_mib(r["p"].pid)
                except (OSError, StopIteration):  # gone, or a zombie (no VmRSS line)
                    alive()
                    raise
            for r in runs:
                if r["scraper"]:
                    r["scraper"].stop()
            for r in runs:
                _, status, r["ru"] = os.wait4(r["p"].pid, 0)
                r["p"].returncode = os.waitstatus_to_exitcode(status)
                r["wall"] = time.monotonic() - r["t0"]
        finally:
            for r in runs:
                if r["scraper"]:
                    r["scraper"].halt.set()
                if r["p"].returncode is None:
                    r["p"].kill()
                    r["p"].wait()
                r["err"].seek(0)
                r["text"] = r["err"].read().decode(errors="replace")
                r["err"].close()
        out = []
        for i, r in enumerate(runs):
            if r["p"].returncode != 0:
                raise RuntimeError(f"{' '.join(r['args'])} exited {r['p'].returncode}: "
                                   f"{r['text']}")
            ru = r["ru"]
            res = {"cpu_pct": 100 * (ru.ru_utime + ru.ru_stime) / r["wall"],
                   "steady_cpu_pct": 100 * (c1[i] - c0[i]) / (s1 - s0), "wall_s": r["wall"],
                   "end_rss_mib": r["end_rss_mib"], "max_rss_mib": ru.ru_maxrss / 1024}
            sc = r["scraper"]
            if sc:
                if sc.errors or not sc.scrapes:
                    raise RuntimeError(f"scraping {' '.join(r['args'])}: {len(sc.scrapes)} "
                                       f"scrapes, errors: {sc.errors[:5]}")
                res["scrapes"] = sc.scrapes
                last = sc.last
                m = re.search(r"^process_resident_memory_bytes ([0-9.e+]+)$", last, re.M)
                res["scraped_rss_mib"] = float(m.group(1)) / (1 << 20) if m else None
                res["families"] = len(re.findall(r"^# TYPE ", last, re.M))
            out.append(res)
        return out

    def exporter_cost(self, nprocs, seconds, rounds):
        """The exporter's cost: the same -a run with it (scraped every second) and without,
        beside nprocs processes whose RSS keeps changing (herd); both write their CSV to
        /dev/null, so the two differ by the exporter alone. Each round takes them in turn
        (one alone, then the other; the first alternating), then side by side (both at once:
        the same neighbours' activity, which -a traces too, for both)."""
        herd = subprocess.Popen([os.path.join(self.a.bench_dir, "herd"), str(nprocs),
                                 str(HERD_KIB), str(HERD_PERIOD_MS)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        res = {"procs": nprocs, "seconds": seconds, "herd_kib": HERD_KIB,
               "herd_period_ms": HERD_PERIOD_MS,
               "in_turn": {"with": [], "without": []}, "side_by_side": {"with": [], "without": []}}
        try:
            read_until(herd.stdout, r"^ready", 300, "herd")
            for r in range(rounds):
                order = (False, True) if r % 2 == 0 else (True, False)
                for side in order:
                    run, = self.exporter_runs([side], seconds)
                    res["in_turn"]["with" if side else "without"].append(run)
                both = self.exporter_runs(list(order), seconds)
                for side, run in zip(order, both):
                    res["side_by_side"]["with" if side else "without"].append(run)
                msg = []
                for how in ("in_turn", "side_by_side"):
                    w, wo = res[how]["with"][-1], res[how]["without"][-1]
                    msg.append(f"{how.replace('_', ' ')}: CPU {w['cpu_pct']:.2f} % with, "
                               f"{wo['cpu_pct']:.2f} % without, steady {w['steady_cpu_pct']:.2f}"
                               f" / {wo['steady_cpu_pct']:.2f} %, RSS {w['end_rss_mib']:.1f} / "
                               f"{wo['end_rss_mib']:.1f} MiB")
                sc = res["in_turn"]["with"][-1]["scrapes"]
                log(f"exporter: round {r + 1}/{rounds}: " + "; ".join(msg) +
                    f"; {len(sc)} scrapes, {median([x[1] for x in sc]):.0f} bytes, "
                    f"{median([x[0] for x in sc]) * 1000:.1f} ms")
        finally:
            herd.stdin.close()
            herd.wait(timeout=300)
        self.results["exporter"] = res

    # ---- the spike --------------------------------------------------------------------

    SPIKE_RE = re.compile(r"^spike ([0-9]+) ([0-9]+) rise_us=([0-9]+) hold_us=([0-9]+) "
                          r"fall_us=([0-9]+) huge_kib=([0-9]+) fill=(\w+) threads=([0-9]+)",
                          re.M)

    def spike_args(self):
        """The spike's command line: 1 GiB made resident as fast as the kernel can, whatever a
        fault costs: transparent huge pages (one fault a 2 MiB page) filled by
        MADV_POPULATE_WRITE (no user fault a page), split over the CPUs; held 20 ms."""
        threads = max(1, min(os.cpu_count() or 1, 4))
        return [os.path.join(self.a.workloads, "spike"), "--huge", "--populate", "--threads",
                str(threads), "1024", "20", "100"]

    def spike_line(self, out, who):
        m = self.SPIKE_RE.search(out)
        if not m:
            raise RuntimeError(f"spike under {who}: no spike line in: {out[-2000:]}")
        size, vmhwm_kib, rise, hold, fall, huge_kib = (int(m.group(i)) for i in range(1, 7))
        return {"bytes": size, "vmhwm": vmhwm_kib * 1024, "rise_ms": rise / 1000,
                "hold_ms": hold / 1000, "fall_ms": fall / 1000, "huge_bytes": huge_kib * 1024,
                "fill": m.group(7), "threads": int(m.group(8))}

    def spike(self, runs):
        """The 1 GiB spike at -i 1s, memtrace-bpf and mprof interleaved run by run; caught: the
        peak seen within 1 % of the workload's own high-water mark (VmHWM), read right after."""
        cmd = self.spike_args()
        try:
            with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
                thp = f.read().strip()
        except OSError:
            thp = "absent"
        # warm-up: the first huge pages after boot or a big free cost much more (compaction)
        subprocess.run(cmd[:-1] + ["0"], check=True, stdout=subprocess.DEVNULL)
        res = {"cmd": cmd[1:], "thp": thp,
               "memtrace": {"caught": 0, "runs": runs, "peaks": [], "spikes": []}}
        if self.mprof:
            res["mprof"] = {"caught": 0, "runs": runs, "peaks": [], "spikes": []}

        def record(who, peak, sp):
            r = res[who]
            r["peaks"].append(peak)
            r["spikes"].append(sp)
            r["caught"] += peak >= sp["bytes"] and abs(peak - sp["vmhwm"]) <= 0.01 * sp["vmhwm"]

        rng = random.Random(15)
        with tempfile.TemporaryDirectory() as d:
            for _ in range(runs):
                # the spike at a random phase of a 100 ms sampler's period: with a fixed delay
                # mprof's samples, which start with the process, land in it at the same phase
                # every run (in the hold, as it happens here, with a 50 ms delay)
                delay = ["--delay", str(rng.randrange(50, 250))]
                out = os.path.join(d, "spike.csv")
                p = subprocess.run([self.memtrace, "-i", "1s", "-q", "-o", out, "--", cmd[0],
                                    *delay, *cmd[1:]], check=True, stdout=subprocess.PIPE)
                with open(out) as f:
                    rows = [line.split(",") for line in f.read().splitlines()[1:]]
                record("memtrace", max(int(r[10]) for r in rows if r[5] == "exit"),
                       self.spike_line(p.stdout.decode(), "memtrace-bpf"))
                if self.mprof:
                    dat = os.path.join(d, "spike.dat")
                    p = subprocess.run([self.mprof, "run", "--interval", "0.1", "-o", dat,
                                        cmd[0], *delay, *cmd[1:]],
                                       check=True, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
                    with open(dat) as f:
                        mib = [float(line.split()[1]) for line in f if line.startswith("MEM ")]
                    record("mprof", int(max(mib) * (1 << 20)) if mib else 0,
                           self.spike_line(p.stdout.decode(), "mprof"))
        self.results["spike"] = res
        sps = res["memtrace"]["spikes"]
        log(f"spike: rise {median([s['rise_ms'] for s in sps]):.0f} ms, held "
            f"{median([s['hold_ms'] for s in sps]):.0f} ms; memtrace-bpf caught "
            f"{res['memtrace']['caught']}/{runs}" +
            (f", mprof {res['mprof']['caught']}/{runs}" if "mprof" in res else ""))

    # ---- BPF cost per program ---------------------------------------------------------

    def bpf_cost(self):
        """ns per run of each program on the fault loop: memtrace-bpf -p -v, -a -v (its runs are
        every process's on the host, all traced) and the floor."""
        cmd = [self.faultloop, str(self.a.fault_mib), str(self.a.fault_rounds)]
        cost = {}
        for who in ("memtrace", "memtrace -a", "floor"):
            w = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if who.startswith("memtrace"):
                target = ["-a"] if who == "memtrace -a" else ["-p", str(w.pid)]
                t = subprocess.Popen([self.memtrace, "-v", *target, "-o", "/dev/null"],
                                     stderr=subprocess.PIPE)
                read_until(t.stderr, r"after launch", 30, "memtrace-bpf")
            else:
                t = subprocess.Popen([self.floor, "--stats"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                read_until(t.stdout, r"^attached", 30, "floor")
            w.stdin.write(b"go\n")
            w.stdin.close()
            w.stdout.read()
            w.wait()
            if who == "floor":
                t.stdin.close()
            elif who == "memtrace -a":
                t.send_signal(signal.SIGINT)
            err = t.stderr.read().decode(errors="replace")
            t.wait(timeout=60)
            progs = {}
            for m in re.finditer(r"BPF cost: (\S+): ([0-9]+) runs, ([0-9.]+) ns", err):
                progs[m.group(1)] = {"runs": int(m.group(2)), "ns": float(m.group(3))}
            cost[who] = progs
        self.results["bpf_cost"] = cost

    # ---- setup and report -------------------------------------------------------------

    def setup(self):
        if not os.path.isdir("/sys/kernel/tracing/events") and self.bpftrace:
            # bpftrace's tracepoint probes read their formats from tracefs
            r = subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"],
                               capture_output=True)
            if r.returncode == 0:
                self.mounted_tracefs = True
            else:
                self.results["notes"].append("bpftrace left out: tracefs cannot be mounted")
                self.bpftrace = None
        if not self.bpftrace:
            self.results["notes"].append(
                "bpftrace not installed: `make bench BENCH_INSTALL=1` installs it from Debian")
        if not self.mprof:
            self.results["notes"].append(
                "mprof not installed: `make bench BENCH_INSTALL=1` installs "
                "python3-memory-profiler from Debian")

    def teardown(self):
        if self.mounted_tracefs:
            subprocess.run(["umount", "/sys/kernel/tracing"])


def fmt_ratio(x):
    return f"{x:.3f}×"


# A table of runs against untraced and against tracing alone (memtrace -p), paired by round.
PAIRED_HEADER = ["| workload | contender | CPU time (median) | vs untraced (paired) | "
                 "vs memtrace -p (paired) | elapsed (median) |",
                 "| --- | --- | --- | --- | --- | --- |"]


def paired_rows(wname, both):
    """One workload's rows of a PAIRED_HEADER table: medians, and the medians of the per-round
    ratios."""
    cpu, wall = both["cpu"], both["wall"]
    rows = []
    for c, ts in cpu.items():
        vs_u = median([t / u for t, u in zip(ts, cpu["untraced"])])
        vs_p = median([t / u for t, u in zip(ts, cpu["memtrace -p"])])
        rows.append(f"| {wname} | {c} | {median(ts):.3f} s | {fmt_ratio(vs_u)} | "
                    f"{fmt_ratio(vs_p)} | {median(wall[c]):.3f} s |")
    return rows


def exact_lines(ex):
    """The --exact table: medians, and paired ratios to untraced and to the default run."""
    lines = ["## --exact: RSS exact to the page, against the folded counters", "",
             *PAIRED_HEADER]
    for wname, both in ex["runs"].items():
        lines += paired_rows(wname, both)
    lines.append("")
    cost = ex.get("bpf_cost", {})
    if cost:
        lines += ["Per run on the fault loop (bpf_stats; the kernel's summing over the CPUs for "
                  "the classic record comes before the program and is only in the run times):",
                  ""]
        for who, progs in cost.items():
            lines.append(f"- {who}: " + ", ".join(f"{k} {v['ns']:.0f} ns x {v['runs']:,}"
                                                    for k, v in progs.items()))
        lines.append("")
    return lines


def stacks_lines(st):
    """The --stacks table: medians, paired ratios to untraced and to tracing without it; the
    -v runs' on_rss_stat and samples; and the budget rows (the default, dwarf, against tracing
    alone)."""
    h = st.get("header") or {}
    size = h.get("stack_size", STACK_SIZE_DEFAULT)
    every = h.get("every", f"{STACK_EVERY_DEFAULT >> 10} KiB")
    lines = ["## --stacks: sampled user stacks, against tracing without them", "",
             f"`--stacks` at memtrace-bpf's defaults: {size // 1024} KiB of user stack copied "
             f"per sample (`--stack-size`), one sample per {every} of RSS grown on average "
             "(`--stack-every`); dwarf (the default) copies the registers and the stack into "
             "the ring buffer and unwinds them in user space, fp walks the frame pointers in "
             "the kernel (neither workload is built with them here: the walk stops where the "
             "chain does). stackgrow is run by `timed`, which waits for the start line and "
             "times its child (RUSAGE_CHILDREN); the tracer, attached to `timed`, traces the "
             "child too.", "",
             *PAIRED_HEADER]
    budgets = []
    for wname, both in st["runs"].items():
        cpu = both["cpu"]
        lines += paired_rows(wname, both)
        ratio = median([t / u for t, u in zip(cpu["memtrace -p --stacks"], cpu["memtrace -p"])])
        budgets.append((f"--stacks / without, {wname}", "≤ 1.15×", fmt_ratio(ratio),
                        ratio <= 1.15))
    lines.append("")
    cost = st.get("bpf_cost", {})
    if cost:
        lines += ["On the fault loop, from one run of `memtrace-bpf -v -p PID` without "
                  "`--stacks` and one with (bpf_stats; the samples are taken in on_rss_stat):",
                  ""]
        for who, progs in cost.items():
            lines.append(f"- {who}: " + (", ".join(f"{k} {v['ns']:.0f} ns x {v['runs']:,}"
                                                     for k, v in progs.items()) or "—"))
        s = st.get("samples")
        if s:
            lines.append(f"- samples (its summary): {s['samples']:,} standing for {s['grown']} "
                         "grown")
        lines.append("")
    return lines, budgets


def exporter_lines(ex):
    """The exporter's table: the tracer's own CPU and RSS with it and without, in turn and
    side by side, round by round, the paired differences' medians, and the scrapes; and the
    budget rows."""
    how_names = {"in_turn": "in turn", "side_by_side": "side by side"}
    n = len(ex["in_turn"]["with"])
    lines = [f"## The Prometheus exporter's cost (`-a -i 100ms`, {ex['procs']:,} processes, "
             f"/metrics scraped every {SCRAPE_PERIOD_S:g} s)", "",
             f"`memtrace-bpf -a -q -i 100ms -d {ex['seconds']}s -o /dev/null`, without the "
             "exporter and with `--prometheus 127.0.0.1:PORT`: both write their CSV to "
             "/dev/null, so the two runs differ by the exporter alone. Beside them, "
             f"{ex['procs']:,} processes (`herd`) each keep {ex['herd_kib']} KiB resident and "
             f"give back, then take again, half of it every {ex['herd_period_ms']} ms, so that "
             "every scan has changes to fold in. The run with the exporter is scraped every "
             "second from the moment its port answers (a new connection each time); the run "
             f"without has nothing to scrape. {n} rounds; each takes the two *in turn* (one "
             "alone, then the other, the first alternating), then *side by side* (both at "
             "once: -a traces the neighbours too, and on a shared machine what they do swings "
             "the tracer's CPU from run to run by more than the exporter costs; side by side "
             "both see the same). CPU is the tracer's own (user + system), in % of one core: "
             "the whole run from wait4 over its wall time (start-up included: the exporter's "
             "dlopen and bind), the steady state from 2 s to just before the end "
             "(/proc/PID/schedstat). RSS: VmRSS just before the end, and the maximum "
             "(ru_maxrss, the start-up peak included).", "",
             "| round | runs | CPU without | CPU with | with − without | steady without | "
             "steady with | with − without | RSS at the end without | with | with − without "
             "| scrapes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    d = {}
    for how, label in how_names.items():
        w, wo = ex[how]["with"], ex[how]["without"]
        cpu_d = [a["cpu_pct"] - b["cpu_pct"] for a, b in zip(w, wo)]
        steady_d = [a["steady_cpu_pct"] - b["steady_cpu_pct"] for a, b in zip(w, wo)]
        rss_d = [a["end_rss_mib"] - b["end_rss_mib"] for a, b in zip(w, wo)]
        d[how] = (cpu_d, steady_d, rss_d)
        for i, (a, b) in enumerate(zip(w, wo)):
            lines.append(f"| {i + 1} | {label} | {b['cpu_pct']:.2f} % | {a['cpu_pct']:.2f} % | "
                         f"{cpu_d[i]:+.2f} | {b['steady_cpu_pct']:.2f} % | "
                         f"{a['steady_cpu_pct']:.2f} % | {steady_d[i]:+.2f} | "
                         f"{b['end_rss_mib']:.1f} MiB | {a['end_rss_mib']:.1f} MiB | "
                         f"{rss_d[i]:+.1f} MiB | {len(a['scrapes'])} |")
        lines.append(f"| **median** | {label} | {median([b['cpu_pct'] for b in wo]):.2f} % | "
                     f"{median([a['cpu_pct'] for a in w]):.2f} % | **{median(cpu_d):+.2f}** | "
                     f"{median([b['steady_cpu_pct'] for b in wo]):.2f} % | "
                     f"{median([a['steady_cpu_pct'] for a in w]):.2f} % | "
                     f"**{median(steady_d):+.2f}** | "
                     f"{median([b['end_rss_mib'] for b in wo]):.1f} MiB | "
                     f"{median([a['end_rss_mib'] for a in w]):.1f} MiB | "
                     f"**{median(rss_d):+.1f} MiB** | {sum(len(a['scrapes']) for a in w)} |")
    lines.append("")
    summary = []
    for how, label in how_names.items():
        cpu_d, steady_d, _ = d[how]
        lo, hi = quartiles(cpu_d)
        slo, shi = quartiles(steady_d)
        summary.append(f"{label}, whole run {median(cpu_d):+.2f} (middle half {lo:+.2f} to "
                       f"{hi:+.2f}), steady state {median(steady_d):+.2f} (middle half "
                       f"{slo:+.2f} to {shi:+.2f})")
    w, wo = ex["in_turn"]["with"], ex["in_turn"]["without"]
    max_d = [a["max_rss_mib"] - b["max_rss_mib"] for a, b in zip(w, wo)]
    scraped = [a["scraped_rss_mib"] for a in w if a.get("scraped_rss_mib") is not None]
    lines += [f"Medians of the {n} paired differences (with − without, in points of % of a "
              f"core): {'; '.join(summary)}. RSS at the end "
              f"{median(d['in_turn'][2]):+.1f} MiB (in turn), maximum RSS "
              f"{median([a['max_rss_mib'] for a in w]):.1f} against "
              f"{median([b['max_rss_mib'] for b in wo]):.1f} MiB ({median(max_d):+.1f} MiB)."
              + (f" The exporter's own process_resident_memory_bytes, last scrape: "
                 f"{median(scraped):.1f} MiB (median over the runs in turn)." if scraped
                 else ""), ""]
    runs_with = ex["in_turn"]["with"] + ex["side_by_side"]["with"]
    scrapes = [x for a in runs_with for x in a["scrapes"]]
    lat = [x[0] * 1000 for x in scrapes]
    size = [x[1] for x in scrapes]
    series = [x[2] for x in scrapes]
    # the port is bound before the tracer's first scan of every process: the first scrape of a
    # run may wait for that scan
    first = [a["scrapes"][0][0] * 1000 for a in runs_with]
    later = [x[0] * 1000 for a in runs_with for x in a["scrapes"][1:]] or [float("nan")]
    lines += ["| scrapes (all 200, all parsed) | size (median, min–max) | series (median, "
              "min–max) | families | latency (median) | latency (max, first of a run left "
              "out) | first of a run (median) |",
              "| --- | --- | --- | --- | --- | --- | --- |",
              f"| {len(scrapes)} | {median(size):,.0f} bytes ({min(size):,}–{max(size):,}) | "
              f"{median(series):.0f} ({min(series)}–{max(series)}) | "
              f"{median([a['families'] for a in runs_with]):.0f} | {median(lat):.2f} ms | "
              f"{max(later):.2f} ms | {median(first):.2f} ms |", "",
              "Latency: from the request to the body's last byte, connecting included, on a "
              "loaded machine (the scraper shares it with the tracers). The port is bound "
              "before the tracer's first scan of every process, so the first scrape of a run "
              "may wait for that scan.", ""]
    budgets = []
    for how, (cpu_d, steady_d, _) in d.items():
        w, wo = ex[how]["with"], ex[how]["without"]
        v = median(cpu_d)
        budgets.append((f"exporter on, -a with {ex['procs']:,} processes, scraped every second: "
                        f"own CPU against the same run without it, {how_names[how]} (median "
                        "of paired differences, whole run)", "≤ +0.5 % of a core",
                        f"{v:+.2f} % ({median([a['cpu_pct'] for a in w]):.2f} % against "
                        f"{median([b['cpu_pct'] for b in wo]):.2f} %; steady state "
                        f"{median(steady_d):+.2f} %)", v <= 0.5))
    return lines, budgets


def budget_lines(budgets):
    lines = ["| figure | budget | measured | held |", "| --- | --- | --- | --- |"]
    for fig, budget, val, ok in budgets:
        lines.append(f"| {fig} | {budget} | {val} | {'yes' if ok else '**no**'} |")
    return lines + [""]


def quartiles(xs):
    """The lower and upper quartiles of xs (the middle half of the runs lies between)."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (float("nan"), float("nan"))
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def report(b):
    r = b.results
    a = b.a
    lines = []
    add = lines.append
    add(f"# memtrace-bpf benchmark, {r['date']}")
    add("")
    add(f"Machine: {r['machine']}. Kernel {r['kernel']}. {a.rounds} interleaved rounds per "
        "workload; medians, and the median of per-round ratios to the untraced run of the "
        "same round.")
    add("")
    add("Run time is the workload's own CPU time (user + system, where the faults and the "
        "tracers' programs run), timed by the workload around its work; elapsed time is shown "
        "beside it. On a shared 2-CPU machine elapsed time swings by tens of percent from run "
        "to run with the neighbours' load, CPU time far less; the budgets are checked on CPU "
        "time, both are kept in the JSON.")
    add("")
    budgets = []
    for wname, both in r["overhead"].items():
        cpu, wall = both["cpu"], both["wall"]
        base, wbase = cpu["untraced"], wall["untraced"]
        add(f"## {wname}")
        add("")
        add("| contender | CPU time (median) | vs untraced (paired) | added (paired) | added: "
            "middle half of the rounds | elapsed (median) | vs untraced (paired) |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for c, ts in cpu.items():
            ratio = median([t / u for t, u in zip(ts, base)])
            wratio = median([t / u for t, u in zip(wall[c], wbase)])
            diffs = [t - u for t, u in zip(ts, base)]
            lo, hi = quartiles(diffs)
            add(f"| {c} | {median(ts):.3f} s | {fmt_ratio(ratio)} | "
                f"{'—' if c == 'untraced' else f'{median(diffs) * 1000:+.0f} ms'} | "
                f"{'—' if c == 'untraced' else f'{lo * 1000:+.0f} to {hi * 1000:+.0f} ms'} | "
                f"{median(wall[c]):.3f} s | {fmt_ratio(wratio)} |")
        add("")
        if "memtrace -p" in cpu and "memtrace -a" in cpu:
            # -p and -a run the same programs on the workload's events (-a's rss_stat does
            # more for the other processes, not for the workload): a gap between them is the
            # spread of the runs unless it stands out of it
            pa = [p - q for p, q in zip(cpu["memtrace -p"], cpu["memtrace -a"])]
            lo, hi = quartiles(pa)
            slower = sum(d > 0 for d in pa)
            verdict = ("within the spread of the runs (noise)" if lo <= 0 <= hi else
                       "outside the middle half of the rounds")
            add(f"`-p` against `-a`, round by round: {median(pa) * 1000:+.0f} ms median, "
                f"middle half {lo * 1000:+.0f} to {hi * 1000:+.0f} ms, `-p` the slower in "
                f"{slower} of {len(pa)} rounds: {verdict}.")
            add("")
        for mode in ("memtrace -p", "memtrace -a"):
            vs_floor = median([t / f for t, f in zip(cpu[mode], cpu["floor"])])
            budgets.append((f"{wname}: {mode} / floor", "≤ 1.05×", fmt_ratio(vs_floor),
                            vs_floor <= 1.05))
            if "bpftrace" in cpu:
                added = median([t - u for t, u in zip(cpu[mode], base)])
                bt_added = median([t - u for t, u in zip(cpu["bpftrace"], base)])
                share = added / bt_added if bt_added > 0 else float("inf")
                budgets.append((f"{wname}: {mode} added / bpftrace added", "≤ 0.5",
                                f"{share:.2f} ({added * 1000:+.0f} ms vs "
                                f"{bt_added * 1000:+.0f} ms)", share <= 0.5))
    if r.get("python"):
        add("## --python: Python lines charged, against tracing without it")
        add("")
        lines.extend(PAIRED_HEADER)
        for wname, both in r["python"].items():
            cpu = both["cpu"]
            lines.extend(paired_rows(wname, both))
            ratio = median([t / u for t, u in zip(cpu["memtrace -p --python"],
                                                  cpu["memtrace -p"])])
            budgets.append((f"--python / without, {wname}", "≤ 1.15×", fmt_ratio(ratio),
                            ratio <= 1.15))
        add("")
    if r.get("exact"):
        lines.extend(exact_lines(r["exact"]))
    if r.get("stacks"):
        st_lines, st_budgets = stacks_lines(r["stacks"])
        lines.extend(st_lines)
        budgets.extend(st_budgets)
    s = r["startup"]
    add("## Start-up")
    add("")
    add("| figure | median | min |")
    add("| --- | --- | --- |")
    for key, label in (("attach_ms", "memtrace-bpf: launch to attached (seen from outside, "
                                      "as the floor's)"),
                       ("floor_attach_ms", "floor: launch to attached (the same hooks, empty "
                                           "programs)"),
                       ("attach_self_ms", "memtrace-bpf: its main() to attached (its -v)"),
                       ("launch_to_command_ms",
                        "memtrace-bpf: launch to the traced command's first instruction"),
                       ("true_run_ms", "memtrace-bpf -- true, whole run"),
                       ("repeat_true_run_ms", f"memtrace-bpf --repeat {REPEAT_RUNS} -- true, "
                                              "whole run (one BPF load for all)")):
        if key in s:
            add(f"| {label} | {median(s[key]):.1f} ms | {min(s[key]):.1f} ms |")
    if s.get("loads"):
        add(f"| memtrace-bpf: loads of the BPF object per start (more than 1: the kernel "
            f"refused a program, see -v) | {median(s['loads']):.0f} | {min(s['loads'])} |")
    add("")
    # each launch against the floor's launched beside it (a JSON without attach_ms is older:
    # its memtrace-bpf figure was the -v one)
    mine = s.get("attach_ms", s["attach_self_ms"])
    startup_ratio = median([m / f for m, f in zip(mine, s["floor_attach_ms"])])
    add(f"Launch to attached is timed the same way for both, from before the fork to the line "
        f"saying so, one beside the other; the ratio is the median of the {len(mine)} paired "
        f"ratios: {startup_ratio:.2f}× (memtrace-bpf runs with -v, which prints that line).")
    add("")
    budgets.append(("start-up: launch to attached / the floor's own (paired)", "≤ 1.25×",
                    f"{startup_ratio:.2f}× ({median(mine):.1f} ms against "
                    f"{median(s['floor_attach_ms']):.1f} ms)", startup_ratio <= 1.25))
    budgets.append(("start-up: a whole `-- true` run", "≤ 300 ms",
                    f"{median(s['true_run_ms']):.1f} ms", median(s["true_run_ms"]) <= 300))
    add("## The tracer's own footprint (`-a -i 100ms`, idle processes)")
    add("")
    add("| processes | own max RSS (start-up peak incl.) | own RSS at the end | own CPU, "
        "whole run | own CPU, steady state |")
    add("| --- | --- | --- | --- | --- |")
    for n, f in sorted(r["footprint"].items(), key=lambda kv: int(kv[0])):
        add(f"| {int(n):,} | {median(f['max_rss_mib']):.1f} MiB | "
            f"{median(f['end_rss_mib']):.1f} MiB | {median(f['cpu_pct']):.2f} % | "
            f"{median(f['steady_cpu_pct']):.2f} % |")
    add("")
    add("CPU is a share of one core: the whole run includes start-up (loading the programs, "
        "reading every process once); the steady state is after the first 2 s.")
    add("")
    fp = r["footprint"]
    if "10000" in fp:
        v = median(fp["10000"]["max_rss_mib"])
        budgets.append(("own RSS at 10,000 processes (max over the run)", "≤ 16 MiB",
                        f"{v:.1f} MiB", v <= 16))
    if "1000" in fp:
        v = median(fp["1000"]["steady_cpu_pct"])
        budgets.append(("own CPU at -a -i 100ms, 1,000 processes (steady state)", "≤ 2 %",
                        f"{v:.2f} %", v <= 2))
    if r.get("exporter"):
        ex_lines, ex_budgets = exporter_lines(r["exporter"])
        lines.extend(ex_lines)
        budgets.extend(ex_budgets)
    sp = r["spike"]
    m = sp["memtrace"]
    sps = m["spikes"]
    rise, hold, fall = (median([s[k] for s in sps]) for k in ("rise_ms", "hold_ms", "fall_ms"))
    huge = median([s["huge_bytes"] / s["bytes"] for s in sps])
    fills = sorted({s["fill"] for s in sps})
    lasted = rise + hold + fall
    add("## A 1 GiB spike at -i 1s")
    add("")
    add(f"`spike {' '.join(sp['cmd'])}`, after a random 50–250 ms (`--delay`, the same for "
        "both tracers in a round): 1 GiB made resident, held, unmapped. Transparent "
        f"huge pages here: `{sp['thp']}`; {huge * 100:.0f} % of the spike came as huge pages "
        f"(median), filled by {' and '.join(fills)} in {sps[0]['threads']} threads. The "
        "workload times itself: rise from its first page filled to every page resident, hold "
        "from then to its munmap, fall the munmap. Caught: the peak seen is within 1 % of the "
        "workload's own high-water mark (VmHWM, read right after the spike).")
    if huge < 0.99:
        add("")
        add("Huge pages were not (all) given here: the rest of the spike was 4 KiB pages, one "
            "kernel fill each (no user fault), which makes the rise longer.")
    add("")
    add("| tracer | caught | peaks seen | VmHWM | rise (median, min–max) | held (median) | "
        "fall (median) |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for who, label in (("memtrace", "memtrace-bpf -i 1s"), ("mprof", "mprof --interval 0.1")):
        if who not in sp:
            continue
        t = sp[who]
        rs = [s["rise_ms"] for s in t["spikes"]]
        add(f"| {label} | {t['caught']}/{t['runs']} | {min(t['peaks']) / GiB:.3f}–"
            f"{max(t['peaks']) / GiB:.3f} GiB | "
            f"{median([s['vmhwm'] for s in t['spikes']]) / GiB:.3f} GiB | "
            f"{median(rs):.0f} ms ({min(rs):.0f}–{max(rs):.0f}) | "
            f"{median([s['hold_ms'] for s in t['spikes']]):.1f} ms | "
            f"{median([s['fall_ms'] for s in t['spikes']]):.1f} ms |")
    add("")
    # SPEC's figure is a spike that lasts 20 ms: say so only when this one was that short
    if lasted <= 25:
        fig = "1 GiB / 20 ms spike caught at -i 1s"
    else:
        fig = (f"1 GiB spike caught at -i 1s (rose in {rise:.0f} ms, held {hold:.0f} ms, "
               f"{lasted:.0f} ms in all: not SPEC's 20 ms)")
    budgets.append((fig, "10 of 10, within 1 %", f"{m['caught']} of {m['runs']}",
                    m["caught"] == m["runs"] >= 10))
    cost = r.get("bpf_cost")
    if cost:
        add("## BPF cost per program on the page-fault loop (bpf_stats)")
        add("")
        add("| program | runs | memtrace-bpf -p ns/run | memtrace-bpf -a ns/run | floor ns/run |")
        add("| --- | --- | --- | --- | --- |")
        floor = {k.replace("floor_", ""): v for k, v in cost.get("floor", {}).items()}
        pair = {"on_rss_stat": "rss_stat", "on_fault": "fault", "on_page_alloc": "page_alloc",
                "on_fork": "fork", "on_exec": "exec", "on_exit": "exit"}
        all_mode = cost.get("memtrace -a", {})
        for name, v in cost.get("memtrace", {}).items():
            fl = floor.get(pair.get(name, ""), {})
            am = all_mode.get(name, {})
            am_ns = f"{am['ns']:.0f}" if am else "—"
            fl_ns = f"{fl['ns']:.0f}" if fl else "—"
            add(f"| {name} | {v['runs']:,} | {v['ns']:.0f} | {am_ns} | {fl_ns} |")
        add("")
        add("With `-a` every process on the host is traced, so its programs do the whole work "
            "for every event on the host, the neighbours' included; with `-p` the others' "
            "events leave early.")
        add("")
    if cost and cost.get("memtrace") and cost.get("floor"):
        # noise-free: what memtrace-bpf's programs add per fault over the floor's, from the
        # kernel's own timing of every run (both sides timed, so the timing's own cost cancels)
        hot = {"on_rss_stat": "floor_rss_stat", "on_fault": "floor_fault",
               "on_page_alloc": "floor_page_alloc"}
        mt, fl = cost["memtrace"], cost["floor"]
        if all(k in mt and v in fl for k, v in hot.items()):
            faults = mt["on_fault"]["runs"]
            delta = sum(mt[k]["runs"] * mt[k]["ns"] - fl[v]["runs"] * fl[v]["ns"]
                        for k, v in hot.items()) / faults
            floor_ns = sum(fl[v]["runs"] * fl[v]["ns"] for v in hot.values()) / faults
            fname = next(w for w in r["overhead"] if w.startswith("page faults"))
            per_fault = median(r["overhead"][fname]["cpu"]["untraced"]) / faults * 1e9
            est = (per_fault + floor_ns + delta) / (per_fault + floor_ns)
            add(f"Per fault, memtrace-bpf's three hot programs take {delta:.0f} ns more than the "
                f"floor's (which take {floor_ns:.0f} ns, timing included), on an untraced fault "
                f"of {per_fault:.0f} ns: an estimated {est:.3f}× the floor's run time, free of "
                "the run-to-run noise above.")
            add("")
            budgets.append(("page faults: memtrace-bpf / floor, from bpf_stats", "≤ 1.05×",
                            f"{est:.3f}× (+{delta:.0f} ns per fault)", est <= 1.05))
    add("## Budgets (../shared/SPEC.md)")
    add("")
    lines.extend(budget_lines(budgets))
    for n in r["notes"]:
        add(f"- {n}")
    return "\n".join(lines) + "\n", budgets


def exporter_rounds(a):
    """With and without the exporter: 7 rounds (2 with --quick), fewer if --rounds says so."""
    return max(2, min(a.rounds, 7))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memtrace", default=os.path.join(ROOT, "memtrace-bpf"))
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, ".output", "bench"))
    ap.add_argument("--workloads", default=os.path.join(ROOT, ".output", "workloads"))
    ap.add_argument("--results", default=os.path.join(ROOT, "results"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--fault-mib", type=int, default=256)
    ap.add_argument("--fault-rounds", type=int, default=2)
    ap.add_argument("--py-exp", type=int, default=7)
    ap.add_argument("--spike-runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and processes (a check)")
    ap.add_argument("--exact-only", action="store_true",
                    help="only --exact's cost against the default, printed, nothing kept")
    ap.add_argument("--stacks-only", action="store_true",
                    help="only --stacks' cost against tracing without it, printed, nothing kept")
    ap.add_argument("--exporter-only", action="store_true",
                    help="only the Prometheus exporter's cost (-a, 1,000 processes, scraped "
                    "every second) against the same run without it, printed, nothing kept")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF); run: sudo make bench")
    if a.quick:
        a.rounds, a.fault_mib, a.spike_runs = 2, 128, 2
    b = Bench(a)
    r = b.results
    r["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    r["kernel"] = platform.release()
    r["machine"] = f"{os.cpu_count()} CPUs, {platform.machine()}"
    if a.exact_only:
        b.exact_cost()
        sys.stdout.write("\n".join(exact_lines(r["exact"])) + "\n")
        return
    if a.stacks_only:
        b.stacks_cost()
        st_lines, budgets = stacks_lines(r["stacks"])
        sys.stdout.write("\n".join(st_lines + budget_lines(budgets)) + "\n")
        missed = [fig for fig, _, _, ok in budgets if not ok]
        log(f"budgets held: {len(budgets) - len(missed)} of {len(budgets)}" +
            (f"; missed: {'; '.join(missed)}" if missed else ""))
        return
    if a.exporter_only:
        b.exporter_cost(EXPORTER_PROCS, EXPORTER_SECONDS, exporter_rounds(a))
        ex_lines, budgets = exporter_lines(r["exporter"])
        sys.stdout.write("\n".join(ex_lines + budget_lines(budgets)) + "\n")
        missed = [fig for fig, _, _, ok in budgets if not ok]
        log(f"budgets held: {len(budgets) - len(missed)} of {len(budgets)}" +
            (f"; missed: {'; '.join(missed)}" if missed else ""))
        return
    b.setup()
    try:
        b.overhead()
        b.python_cost()
        b.exact_cost()
        b.stacks_cost()
        b.startup(3 if a.quick else 11)
        r["footprint"] = {}
        for n, secs in ((1000, 10), (10000, 5)):
            if a.quick:
                n, secs = n // 10, 3
            r["footprint"][str(n)] = b.footprint(n, secs, 1 if a.quick else 3)
        b.exporter_cost(EXPORTER_PROCS, EXPORTER_SECONDS, exporter_rounds(a))
        b.spike(a.spike_runs)
        b.bpf_cost()
    finally:
        b.teardown()
    text, budgets = report(b)
    os.makedirs(a.results, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    md = os.path.join(a.results, f"bench-{stamp}.md")
    with open(md, "w") as f:
        f.write(text)
    with open(os.path.join(a.results, f"bench-{stamp}.json"), "w") as f:
        json.dump(r, f, indent=1)
    sys.stdout.write(text)
    missed = [fig for fig, _, _, ok in budgets if not ok]
    log(f"written {md}; budgets held: {len(budgets) - len(missed)} of {len(budgets)}" +
        (f"; missed: {'; '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()
