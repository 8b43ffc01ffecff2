"""-a (the whole host) and -G (a cgroup, v2 or v1 memory): who is traced, at start and later,
a fork storm counted row by row, PID reuse, a full map, OOM kills of processes not traced
before, and -G's errors. Real binary, live kernel, real cgroups."""
import collections
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (BIN, MIB, details, read_csv, release, remove_cgroup,
                      rows_of, run, wait_for, workload)


_tracers = []


@pytest.fixture(autouse=True)
def no_tracer_left():
    """A test that fails half-way must not leave its -a tracer running."""
    yield
    while _tracers:
        tracer = _tracers.pop()
        if tracer.poll() is None:
            tracer.kill()
            tracer.communicate()


def start_tracer(out, *args, stderr=subprocess.PIPE, env=None):
    """memtrace-bpf ARGS -o OUT, returned once its header and first rows are out."""
    tracer = subprocess.Popen([BIN, "-o", str(out)] + list(args), stdout=subprocess.PIPE,
                              stderr=stderr, text=True, env=env)
    _tracers.append(tracer)
    assert wait_for(lambda: tracer.poll() is not None
                    or (out.exists() and len(out.read_text().splitlines()) > 1), timeout=30)
    assert tracer.poll() is None, tracer.communicate()
    return tracer


def stop_tracer(tracer, timeout=60):
    tracer.send_signal(signal.SIGINT)
    _, err = tracer.communicate(timeout=timeout)
    assert tracer.returncode == 0, err
    return err


def processes(rows):
    """Rows split per process: (pid, index) -> rows; a reused pid starts a new process at its
    next start row."""
    procs = {}
    count = collections.Counter()
    for r in rows:
        pid = r["pid"]
        if r["event"] == "start":
            count[pid] += 1
        procs.setdefault((pid, count[pid]), []).append(r)
    return procs


def check_processes(rows):
    """Per process: one start row first, at most one exit row, last; time order."""
    for key, mine in processes(rows).items():
        events = [r["event"] for r in mine]
        assert events[0] == "start", (key, events)
        assert events.count("start") == 1 and events.count("exit") <= 1, (key, events)
        if "exit" in events:
            assert events[-1] == "exit", (key, events)
        times = [r["elapsed_s"] for r in mine]
        assert times == sorted(times), (key, times)


def map_ids_of(pid):
    """Ids of the BPF maps a process holds, by name."""
    maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                                     text=True, check=True).stdout)
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("map_id:"):
                        held.add(int(line.split()[1]))
        except OSError:
            pass
    return {m["name"]: m["id"] for m in maps if m["id"] in held}


def procs_map_keys(tracer_pid):
    """The tgids in the tracer's process map, read with bpftool."""
    map_id = map_ids_of(tracer_pid)["procs"]
    out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                         capture_output=True, text=True, check=True).stdout
    return [int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little")
            for e in json.loads(out)]


# ---------------------------------------------------------------------------------- -a

def test_all_sees_processes_it_did_not_start(tmp_path):
    """One process running before tracing (seeded), one started by someone else after (added
    at fork), PID 1: all traced, with their own peaks and exits."""
    before = subprocess.Popen([workload("touch"), "24", "--wait-stdin", "--exit", "5"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = tmp_path / "host.csv"
    tracer = start_tracer(out, "-a", "-i", "50ms")
    release(before)
    assert before.wait(timeout=30) == 5
    after = subprocess.run([workload("touch"), "40", "--exit", "6"], capture_output=True,
                           timeout=30)
    assert after.returncode == 6
    err = stop_tracer(tracer)
    rows = read_csv(out)
    check_processes(rows)
    pids = {r["pid"] for r in rows}
    assert 1 in pids, "PID 1 runs on every host: -a must trace it"
    mine = rows_of(rows, before.pid)
    assert mine and mine[0]["event"] == "start" and mine[-1]["event"] == "exit", mine
    assert details(mine[-1])["exit_code"] == "5"
    assert mine[-1]["peak_rss_bytes"] >= 24 * MIB
    exits = [r for r in rows if r["event"] == "exit" and details(r).get("exit_code") == "6"
             and r["peak_rss_bytes"] >= 40 * MIB]
    assert exits, "the process started after attach was not traced to its exit"
    assert "the whole host:" in err and "processes traced" in err, err
    assert "events lost: none" in err, err


def test_all_every_live_process_at_every_interval(tmp_path):
    """--every with -a: a sleeping process (no change at all) still gets a row per interval."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        proc = run(["-a", "--every", "-i", "100ms", "-d", "1s", "-o", str(tmp_path / "t.csv")],
                   timeout=60)
        assert proc.returncode == 0, proc.stderr
        mine = rows_of(read_csv(tmp_path / "t.csv"), sleeper.pid)
        assert [r["event"] for r in mine].count("sample") >= 7, [r["event"] for r in mine]
        plain = run(["-a", "-i", "100ms", "-d", "1s", "-o", str(tmp_path / "p.csv")],
                    timeout=60)
        assert plain.returncode == 0, plain.stderr
        events = [r["event"] for r in rows_of(read_csv(tmp_path / "p.csv"), sleeper.pid)]
        assert events.count("sample") <= 2, events
    finally:
        sleeper.kill()
        sleeper.wait()


def test_fork_storm(tmp_path):
    """20,000 short-lived processes under -a: exactly one start and one exit row each, with
    the right exit code; nothing lost; the process map holds no dead process afterwards."""
    out = tmp_path / "storm.csv"
    tracer = start_tracer(out, "-a")
    baseline = procs_map_keys(tracer.pid)
    assert baseline, "the process map is empty under -a"
    storm = subprocess.run([workload("storm"), "20000"], capture_output=True, text=True,
                           timeout=300)
    assert storm.returncode == 0, storm.stderr
    # every entry left in the map is a live process: one seen dead must be gone a moment
    # later (processes of the machine come and go while the map is read)
    def dead_entries():
        return {k for k in procs_map_keys(tracer.pid) if not os.path.exists(f"/proc/{k}")}
    suspects = dead_entries()
    time.sleep(1)
    assert not (suspects & dead_entries()), "entries of dead processes stay in the map"
    err = stop_tracer(tracer)
    rows = read_csv(out)
    check_processes(rows)
    # the storm's parent: the process whose children are the storm
    by_ppid = collections.Counter(r["ppid"] for r in rows if r["event"] == "start")
    parent, nkids = by_ppid.most_common(1)[0]
    assert nkids == 20000, (parent, nkids)
    kids = [r for r in rows if r["ppid"] == parent]
    starts = [r for r in kids if r["event"] == "start"]
    exits = [r for r in kids if r["event"] == "exit"]
    assert len(starts) == 20000 and len(exits) == 20000, (len(starts), len(exits))
    codes = collections.Counter(details(r)["exit_code"] for r in exits)
    assert codes == collections.Counter(str(i % 100) for i in range(20000)), codes
    per_process = processes(kids)
    assert len(per_process) == 20000
    assert all([r["event"] for r in rs] in (["start", "exit"], ["start", "sample", "exit"])
               for rs in per_process.values())
    reused = sum(1 for (_, n) in per_process if n > 1)
    assert "events lost: none" in err, err
    print(f"storm: {storm.stdout.strip()}; pids reused within the trace: {reused}")


def test_all_pid_reuse_is_a_new_process(tmp_path):
    """Under -a a pid handed to a new process (ns_last_pid) gives a second start row."""
    touch = workload("touch")
    script = f"""
{touch} 5 --exit 1 & a=$!; wait $a
for try in $(seq 50); do
    echo $((a - 1)) > /proc/sys/kernel/ns_last_pid
    {touch} 9 --exit 2 & b=$!; wait $b
    [ "$b" = "$a" ] && break
done
echo "reused $a $b"
"""
    out = tmp_path / "reuse.csv"
    tracer = start_tracer(out, "-a")
    proc = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True,
                          timeout=60)
    stop_tracer(tracer)
    _, a, b = proc.stdout.split()
    assert a == b, "the kernel did not reuse the pid in 50 tries"
    mine = [r for r in rows_of(read_csv(out), int(a))
            if r["event"] != "start" or r["comm"] in ("touch", "bash")]
    events = [(r["event"], details(r).get("exit_code")) for r in mine]
    # every process that had this pid: start ... exit; the two touches among them
    ends = [code for e, code in events if e == "exit"]
    assert ends.count("1") == 1 and ends.count("2") == 1, events
    assert [e for e, _ in events].count("start") == len(ends), events
    second = [r for r in mine if r["event"] == "exit" and details(r)["exit_code"] == "2"]
    assert second[0]["peak_rss_bytes"] >= 9 * MIB


def test_full_map_is_counted_and_reported(tmp_path):
    """--max-procs 16 with 40 more processes than that running: the ones that did not fit are
    counted in the summary (never silently dropped), the status stays 0, the rows stay
    consistent; and ones started later that do not fit are counted too."""
    swarm = subprocess.Popen([workload("swarm"), "40"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert swarm.stdout.readline().split() == ["ready", "40"]
        tracer = subprocess.Popen([BIN, "-a", "--max-procs", "16", "-d", "2s", "-v", "-o",
                                   str(tmp_path / "t.csv")], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        later = subprocess.run([workload("storm"), "50"], capture_output=True, timeout=60)
        assert later.returncode == 0
        _, err = tracer.communicate(timeout=60)
    finally:
        swarm.stdin.close()
        swarm.wait(timeout=30)
    assert tracer.returncode == 0, err
    rows = read_csv(tmp_path / "t.csv")
    check_processes(rows)
    m = re.search(r"(\d+) new processes were not traced: the process map was full", err)
    assert m and int(m.group(1)) >= 40 - 16, err
    assert "of 16 entries" in err and "maps: procs 16 entries" in err, err


def test_all_oom_kill_of_a_process_not_traced_before(tmp_path, small_memcg):
    """-a --no-children traces only what ran at start; a process started later and OOM-killed
    in a memcg still gets its oom_kill row, report and exit row."""
    path, rel = small_memcg
    out = tmp_path / "oom.csv"
    tracer = start_tracer(out, "-a", "--no-children")
    victim = subprocess.Popen(["/bin/sh", "-c", f"echo $$ > {path}/cgroup.procs; "
                               f"exec {workload('touch')} 200"])
    assert victim.wait(timeout=60) == -signal.SIGKILL
    time.sleep(0.3)
    err = stop_tracer(tracer)
    mine = rows_of(read_csv(out), victim.pid)
    events = [r["event"] for r in mine]
    assert events == ["start", "oom_kill", "exit"], events
    d = details(mine[1])
    assert d["constraint"] == "memcg" and d["memcg"] == rel, d
    assert details(mine[2])["signal"] == "SIGKILL"
    assert "OOM kill" in err and str(victim.pid) in err, err


# ---------------------------------------------------------------------------------- -G

def own_cgroup_dir(version):
    """Our own cgroup directory in the v1 memory hierarchy (1) or the v2 one (2); None."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            fstype, _, opts = right.split()[:3]
            if fstype == "cgroup" and "memory" in opts.split(","):
                mounts[1] = left.split()[4]
            elif fstype == "cgroup2":
                mounts[2] = left.split()[4]
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            if version == 1 and "memory" in ctrl.split(",") and 1 in mounts:
                return mounts[1], path
            if version == 2 and ctrl == "" and 2 in mounts:
                return mounts[2], path
    return None


def make_cgroup(version, suffix):
    found = own_cgroup_dir(version)
    if not found:
        pytest.skip(f"no cgroup v{version} hierarchy to test -G on")
    mount, own = found
    parent = os.path.join(mount, own.lstrip("/"))
    path = os.path.join(parent, f"memtrace-test-{os.getpid()}-{suffix}")
    os.mkdir(path)
    return path, "/" + os.path.relpath(path, mount)


@pytest.fixture
def small_memcg():
    """A v1 (or v2) memory cgroup limited to 64 MiB, for OOM kills; removed afterwards."""
    version = 1 if own_cgroup_dir(1) else 2
    path, rel = make_cgroup(version, "oom")
    try:
        limit = "memory.limit_in_bytes" if version == 1 else "memory.max"
        if not os.path.exists(os.path.join(path, limit)):
            pytest.skip("no memory controller on this cgroup")
        with open(os.path.join(path, limit), "w") as f:
            f.write(str(64 * MIB))
        sw = "memory.memsw.limit_in_bytes" if version == 1 else "memory.swap.max"
        if os.path.exists(os.path.join(path, sw)):
            with open(os.path.join(path, sw), "w") as f:
                f.write(str(64 * MIB) if version == 1 else "0")
        yield path, rel
    finally:
        remove_cgroup(path)


def in_cgroup(path, *argv):
    """Start argv inside the cgroup (it moves itself in before exec)."""
    return subprocess.Popen(["/bin/sh", "-c", f'echo $$ > {path}/cgroup.procs; exec "$@"',
                             "sh"] + list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


@pytest.mark.parametrize("version", [1, 2], ids=["v1-memory", "v2"])
@pytest.mark.parametrize("spelling", ["directory", "cgroup-path"])
def test_cgroup_inside_not_outside(tmp_path, version, spelling):
    """-G: a process placed inside before tracing, its child, and a process moved in during
    tracing are traced; a process outside is not."""
    path, rel = make_cgroup(version, "g")
    try:
        inside = in_cgroup(path, workload("touch"), "12", "--wait-stdin", "--exit", "3")
        outside = subprocess.Popen([workload("touch"), "13", "--wait-stdin"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert wait_for(lambda: str(inside.pid) in open(f"{path}/cgroup.procs").read())
        out = tmp_path / "g.csv"
        tracer = start_tracer(out, "-G", path if spelling == "directory" else rel,
                              "-i", "50ms")
        moved = subprocess.Popen([workload("touch"), "14", "--wait-stdin", "--exit", "4"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(moved.pid))
        child = in_cgroup(path, workload("touch"), "15", "--exit", "5")
        assert child.wait(timeout=30) == 5
        for p in (inside, outside, moved):
            release(p)
            p.wait(timeout=30)
        err = stop_tracer(tracer)
        rows = read_csv(out)
        check_processes(rows)
        pids = {r["pid"] for r in rows}
        assert outside.pid not in pids
        for p, code, mib in ((inside, "3", 12), (moved, "4", 14), (child, "5", 15)):
            mine = rows_of(rows, p.pid)
            assert mine and mine[-1]["event"] == "exit", (p.args, mine)
            assert details(mine[-1])["exit_code"] == code
            assert mine[-1]["peak_rss_bytes"] >= mib * MIB
        assert f"cgroup v{version} {rel}:" in err, err
    finally:
        remove_cgroup(path)


def test_cgroup_removed_stops_tracing(tmp_path):
    path, rel = make_cgroup(1 if own_cgroup_dir(1) else 2, "rm")
    try:
        out = tmp_path / "rm.csv"
        tracer = subprocess.Popen([BIN, "-G", path, "-o", str(out)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: out.exists() and out.read_text(), timeout=20)
        time.sleep(0.3)
        os.rmdir(path)
        _, err = tracer.communicate(timeout=20)
        assert tracer.returncode == 0, err
        assert "the cgroup was removed" in err, err
    finally:
        remove_cgroup(path)


@pytest.mark.parametrize("arg,mention", [
    pytest.param("/no/such/cgroup", "no cgroup '/no/such/cgroup'", id="missing"),
    pytest.param("/tmp", "no cgroup '/tmp'", id="not-a-cgroup"),
    pytest.param("/sys/fs/cgroup/cpu", "without the memory controller", id="v1-not-memory"),
])
def test_cgroup_errors(arg, mention):
    if arg == "/sys/fs/cgroup/cpu" and not os.path.exists("/sys/fs/cgroup/cpu/cgroup.procs"):
        pytest.skip("no v1 cpu hierarchy on this machine")
    proc = run(["-G", arg], timeout=30)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memtrace-bpf: "), proc.stderr
    assert mention in lines[0], lines[0]


def test_all_in_a_pid_namespace_warns(tmp_path):
    """Run inside a PID namespace, -a says that it saw only that namespace's processes at
    start, and the rows carry host pids (the namespace's own 1 is not one of them)."""
    out = tmp_path / "ns.csv"
    proc = subprocess.run(["unshare", "-p", "-f", "--mount-proc", BIN, "-a", "-d", "300ms",
                           "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "runs in a PID namespace" in proc.stderr, proc.stderr
    rows = read_csv(out)
    tracer_rows = [r for r in rows if r["comm"] == "memtrace-bpf"]
    assert tracer_rows and all(r["pid"] > 1 for r in tracer_rows), tracer_rows


@pytest.mark.parametrize("refuse_iterator", [False, True], ids=["kernels-choice", "refused"])
def test_dense_map_reads_only_changed_processes(tmp_path, refuse_iterator):
    """With the map an eighth full or more, each interval passes only the processes that
    changed (the BPF map iterator): 100 idle processes get their start row and their last
    row only, a growing one gets a row at every step and its exact peak, one that exits
    its exit row. Where the kernel refuses the map iterator (this machine's kernel does, with
    EPERM), or it is refused on purpose, batch lookups read every entry and the rows are the
    same."""
    swarm = subprocess.Popen([workload("swarm"), "100"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert swarm.stdout.readline().split() == ["ready", "100"]
        out = tmp_path / "dense.csv"
        env = dict(os.environ, MEMTRACE_BPF_REFUSE="read_procs" if refuse_iterator else "")
        tracer = start_tracer(out, "-a", "--max-procs", "256", "-i", "50ms", "-v", env=env)
        grow = subprocess.run([workload("grow"), "8", "100", "10", "--hold", "300"],
                              capture_output=True, timeout=60)
        assert grow.returncode == 0
        err = stop_tracer(tracer)
    finally:
        swarm.stdin.close()
        swarm.wait(timeout=30)
    refused = [l for l in err.splitlines()
               if "the kernel refused the BPF program read_procs" in l]
    if refuse_iterator:
        assert len(refused) == 1 and "at load: Invalid argument" in refused[0], err
    if refused:
        assert "batch lookups" in refused[0], refused
        assert "through the map iterator" not in err, err
    else:
        assert "reading only the changed ones through the map iterator" in err, err
    rows = read_csv(out)
    check_processes(rows)
    idle = [rows_of(rows, pid) for pid in {r["pid"] for r in rows if r["ppid"] == swarm.pid}]
    assert len(idle) == 100
    for mine in idle:
        # the start row, the last row at the end (nothing changed in between)
        assert [r["event"] for r in mine] in (["start", "sample"], ["start"]), mine
    grown = [r for r in rows if r["event"] == "exit" and r["comm"] == "grow"]
    assert len(grown) == 1 and grown[0]["peak_rss_bytes"] >= 80 * MIB, grown
    samples = [r for r in rows_of(rows, grown[0]["pid"]) if r["event"] == "sample"]
    assert len(samples) >= 8, samples
