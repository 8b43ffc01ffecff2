"""Shared helpers for the integration tests: the real binary, the live kernel, no mocks."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MEMTRACE_BPF", os.path.join(ROOT, "memtrace-bpf"))
WORKLOADS = os.environ.get("MT_WORKLOADS", os.path.join(ROOT, ".output", "workloads"))
MIB = 1024 * 1024
# The kernel's RSS counters (6.2+) fold per-CPU deltas lazily: a reading may lag the true value
# by up to percpu_counter_batch pages per CPU (README, Limits).
PERCPU_LAG = os.cpu_count() * max(32, 2 * os.cpu_count()) * 4096

COLUMNS = [
    "unix_time", "elapsed_s", "pid", "ppid", "comm", "event", "rss_bytes", "anon_bytes",
    "file_bytes", "shmem_bytes", "peak_rss_bytes", "rss_delta_bytes", "faults", "pages_alloc",
    "detail",
]
TOOLS = os.environ.get("MT_TOOLS", os.path.join(ROOT, ".output", "tools"))
BPF_OBJECT = os.environ.get("MT_BPF_OBJECT", os.path.join(ROOT, ".output", "memtrace.bpf.o"))
INT_COLUMNS = COLUMNS[2:4] + COLUMNS[6:14]
CGROUP_FS = "/sys/fs/cgroup"


def bpf_program_names(obj=BPF_OBJECT):
    """The programs of the BPF object: its global functions in a section of their own (the
    global subprograms, which the verifier checks apart, sit in .text with the static ones)."""
    sections = {}
    out = subprocess.run(["readelf", "-SW", obj], capture_output=True, text=True,
                         check=True).stdout
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", out, re.M):
        sections[m.group(1)] = m.group(2)
    out = subprocess.run(["readelf", "-sW", obj], capture_output=True, text=True,
                         check=True).stdout
    names = [m.group(2) for m in re.finditer(
        r"^\s*\d+:\s+\S+\s+\d+\s+FUNC\s+GLOBAL\s+\S+\s+(\d+)\s+(\w+)$", out, re.M)
        if sections.get(m.group(1)) != ".text"]
    assert names, f"no BPF programs found in {obj}"
    return names


# names of our BPF programs as the kernel lists them (cut to 15 bytes), from the object itself
OUR_PROGS = {name[:15] for name in bpf_program_names()}


def pytest_configure(config):
    config.addinivalue_line("markers", "unprivileged: runs without root")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        sys.stderr.write("\n*** integration tests need root (BPF, cgroups): "
                         "they are SKIPPED; run: sudo make test ***\n")


# make integration-sanitize: MT_SANITIZE=1, the tracer an ASan+UBSan build whose reports go to
# files (log_path in ASAN_OPTIONS/UBSAN_OPTIONS), so that none is lost with a discarded stderr.
SANITIZE = os.environ.get("MT_SANITIZE") == "1"
SAN_LOG_DIR = next((os.path.dirname(opt[len("log_path="):])
                    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS")
                    for opt in os.environ.get(var, "").split(":") if opt.startswith("log_path=")),
                   None) if SANITIZE else None
assert not SANITIZE or SAN_LOG_DIR, "MT_SANITIZE=1 needs log_path=DIR/PREFIX in ASAN_OPTIONS"


def _sanitizer_reports():
    return {e.path: e.stat().st_size for e in os.scandir(SAN_LOG_DIR) if e.is_file()}


@pytest.fixture(autouse=True)
def check_sanitizer_reports():
    """With MT_SANITIZE=1: a test during which a sanitizer report (ASan, UBSan 'runtime error:',
    LeakSanitizer) appears fails, with the report. Autouse fixtures are set up in name order:
    this one first, so checked last, after no_program_left has waited for the tracers to end."""
    if not SANITIZE:
        yield
        return
    before = _sanitizer_reports()
    yield
    new = [p for p, size in _sanitizer_reports().items() if before.get(p) != size]
    if new:
        text = "".join(open(p, errors="replace").read() for p in sorted(new))
        pytest.fail(f"sanitizer report(s) {new}:\n{text}", pytrace=False)


@pytest.fixture(autouse=True)
def need_root(request):
    if os.geteuid() != 0 and not request.node.get_closest_marker("unprivileged"):
        pytest.skip("needs root to load BPF programs: run sudo make test")


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def bpf_objects_of(pid):
    """The BPF programs, maps and links a process holds, from its fdinfo (a link's fdinfo
    names its program too)."""
    objs = {"prog": set(), "map": set(), "link": set()}
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return objs
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in ("prog_id", "map_id", "link_id"):
                objs[key[:-3]].add(int(value))
    return objs


def _fd_prog_ids(pid):
    """Ids of the BPF programs a process holds (prog fds and link fds)."""
    return bpf_objects_of(pid)["prog"]


def remove_cgroup(path):
    """Kill what is left in a cgroup (processes of these tests only), then remove it."""
    for _ in range(300):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except FileNotFoundError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
    os.rmdir(path)


def _prog_holders():
    holders = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for prog in _fd_prog_ids(entry):
                holders.setdefault(prog, set()).add(int(entry))
    return holders


def leaked_programs():
    """Programs of ours still loaded that no live memtrace-bpf holds (other memtrace-bpf runs
    may go on concurrently on this machine: their programs are theirs, not leaks)."""
    progs = our_programs()
    if not progs:
        return []
    holders = _prog_holders()
    return [p for p in progs
            if not holders.get(p) or any(_comm(h) != "memtrace-bpf" for h in holders[p])]


@pytest.fixture(autouse=True)
def no_program_left():
    """After every test: no BPF program of ours stays loaded."""
    yield
    if os.geteuid() != 0:
        return
    assert wait_for(lambda: not leaked_programs(), timeout=8), \
        f"BPF programs of ours left loaded: {leaked_programs()}"


def _live_tracer_pids():
    return {int(e) for e in os.listdir("/proc") if e.isdigit() and _comm(e) == "memtrace-bpf"}


def _own_cgroup_trees():
    """The cgroup directories this test run lives in (v2, and v1 memory), where the tracers
    it starts make theirs: other sessions' cgroups elsewhere on the machine are not ours."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ")
            fstype, _, opts = post.split()[:3]
            if fstype == "cgroup2":
                mounts.setdefault("v2", (pre.split()[3], pre.split()[4]))
            elif fstype == "cgroup" and "memory" in opts.split(","):
                mounts.setdefault("memory", (pre.split()[3], pre.split()[4]))
    trees = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = "v2" if ctrls == "" else "memory" if "memory" in ctrls.split(",") else None
            if key in mounts:
                root, mnt = mounts[key]
                rel = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
                trees.append(os.path.normpath(os.path.join(mnt, rel)))
    return trees or [CGROUP_FS]


def leaked_cgroups():
    """cgroups memtrace-bpf made (memtrace-bpf-PID[-N]) that no live memtrace-bpf owns, and
    the tests' own (memtrace-test-PID) still there."""
    live = _live_tracer_pids()
    found = []
    for dirpath, dirnames, _ in (w for top in _own_cgroup_trees() for w in os.walk(top)):
        for d in dirnames:
            if d.startswith("memtrace-test-"):
                # ours, or of a test run that is gone (another may go on concurrently)
                owner = d.split("-")[2]
                if not owner.isdigit() or int(owner) == os.getpid() or \
                        not os.path.exists(f"/proc/{owner}"):
                    found.append(os.path.join(dirpath, d))
            elif d.startswith("memtrace-bpf-"):
                owner = d.split("-")[2]
                if not owner.isdigit() or int(owner) not in live:
                    found.append(os.path.join(dirpath, d))
    return found


@pytest.fixture(autouse=True)
def no_cgroup_left():
    """After every test: no cgroup of ours left behind."""
    yield
    if os.geteuid() != 0:
        return
    assert wait_for(lambda: not leaked_cgroups(), timeout=5), \
        f"cgroups left behind: {leaked_cgroups()}"


def memory_cgroup(pid="self"):
    """(version, hierarchy mount point, path) of a process's memory cgroup: v1 where the memory
    controller is on a v1 hierarchy (this CI machine), else v2 if it has the controller;
    None if neither."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            fstype, _, opts = right.split()[:3]
            mnt = left.split()[4]
            if fstype == "cgroup" and "memory" in opts.split(","):
                mounts[1] = mnt
            elif fstype == "cgroup2":
                mounts[2] = mnt
    paths = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrl.split(","):
                paths[1] = path
            elif ctrl == "":
                paths[2] = path
    if 1 in mounts and 1 in paths:
        return 1, mounts[1], paths[1]
    if 2 in mounts and 2 in paths:
        with open(os.path.join(mounts[2], "cgroup.controllers")) as f:
            if "memory" in f.read().split():
                return 2, mounts[2], paths[2]
    return None


def workload(name):
    return os.path.join(WORKLOADS, name)


def run(args, timeout=120, **kw):
    """Run memtrace-bpf with args; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout,
                          **kw)


def trace_pid(out, pid, *args, env=None):
    """Start memtrace-bpf -p PID -o OUT ARGS... (stdout and stderr piped; env: its environment,
    else ours) and wait until it is attached: its start row is out."""
    tracer = subprocess.Popen([BIN, "-p", str(pid), "-o", str(out)] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert wait_for(lambda: tracer.poll() is not None
                    or (out.exists() and len(out.read_text().splitlines()) > 1), timeout=20)
    assert tracer.poll() is None, tracer.communicate()
    return tracer


def release(workload_proc):
    """Let a workload started with --wait-stdin go on."""
    workload_proc.stdin.write("go\n")
    workload_proc.stdin.flush()


def fill_through_proc_mem(pid, addr, nbytes, may_die=False):
    """Write one byte per page of another process's mapping through /proc/PID/mem: the kernel
    changes that process's RSS from the writer's context (rss_stat with curr=0). With may_die,
    a process killed under it ends the writing quietly."""
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        try:
            for off in range(0, nbytes, 4096):
                mem.seek(addr + off)
                mem.write(b"x")
        except OSError:
            if not may_die:
                raise


def parse_csv(text):
    """Rows as dicts with integer columns converted; asserts the header and column count."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == COLUMNS, header
    rows = []
    for fields in reader:
        assert len(fields) == len(COLUMNS), fields
        row = dict(zip(COLUMNS, fields))
        for c in INT_COLUMNS:
            row[c] = int(row[c])
        row["unix_time"] = float(row["unix_time"])
        row["elapsed_s"] = float(row["elapsed_s"])
        rows.append(row)
    return rows


def read_csv(path):
    # process names are the kernel's bytes, not always UTF-8 (with -a: anyone's)
    with open(path, newline="", errors="surrogateescape") as f:
        return parse_csv(f.read())


def trace(tmp_path, args, timeout=120, **kw):
    """Run memtrace-bpf -o FILE args...; returns (CompletedProcess, rows)."""
    out = tmp_path / "trace.csv"
    proc = run(["-o", str(out)] + list(args), timeout=timeout, **kw)
    rows = read_csv(out) if out.exists() and out.stat().st_size else []
    return proc, rows


def rows_of(rows, pid):
    return [r for r in rows if r["pid"] == pid]


def details(row):
    return dict(kv.split("=", 1) for kv in row["detail"].split()) if row["detail"] else {}


def check_process_rows(rows):
    """Per process: exactly one start row first, at most one exit row last, time order."""
    pids = {r["pid"] for r in rows}
    for pid in pids:
        mine = rows_of(rows, pid)
        events = [r["event"] for r in mine]
        assert events[0] == "start", (pid, events)
        assert events.count("start") == 1, (pid, events)
        assert events.count("exit") <= 1, (pid, events)
        if "exit" in events:
            assert events[-1] == "exit", (pid, events)
        times = [r["elapsed_s"] for r in mine]
        assert times == sorted(times), (pid, times)
        for r in mine:
            assert r["rss_bytes"] == r["anon_bytes"] + r["file_bytes"] + r["shmem_bytes"]
            assert r["peak_rss_bytes"] >= r["rss_bytes"]


def our_programs():
    """Ids of the BPF programs of ours loaded right now (bpftool prog show)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [p["id"] for p in json.loads(out) if p.get("name") in OUR_PROGS]


def wait_for(predicate, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False
