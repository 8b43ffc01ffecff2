"""OOM kills and -m: real memory cgroups, real OOM kills by the kernel, real oom/mark_victim."""
import os
import signal
import subprocess
import time

import pytest

from conftest import (BIN, MIB, check_process_rows, details, memory_cgroup, read_csv, release,
                      rows_of, trace_pid, wait_for, workload)

PY = "/usr/bin/python3"
LIST_COMP = "sum([i for i in range(10**8)])"
GENERATOR = "sum(i for i in range(10**8))"


def run_tracer(tmp_path, args, timeout=180):
    """Popen (to know the tracer's pid: its cgroup is named after it); returns
    (returncode, stdout, stderr, rows, tracer pid)."""
    out = tmp_path / "trace.csv"
    proc = subprocess.Popen([BIN, "-o", str(out)] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=timeout)
    rows = read_csv(out) if out.exists() and out.stat().st_size else []
    return proc.returncode, stdout, stderr, rows, proc.pid


def oom_rows(rows):
    return [r for r in rows if r["event"] == "oom_kill"]


def test_list_comprehension_is_oom_killed_under_memory_limit(tmp_path):
    status, _, stderr, rows, tracer = run_tracer(
        tmp_path, ["-m", "256M", "--", PY, "-c", LIST_COMP])
    assert status == 137, stderr
    check_process_rows(rows)
    kills = oom_rows(rows)
    assert len(kills) == 1, [(r["event"], r["detail"]) for r in rows if r["event"] != "sample"]
    kill = kills[0]
    assert kill["comm"].startswith("python3")
    d = details(kill)
    assert d["constraint"] == "memcg", d
    assert d["memcg"].endswith(f"/memtrace-bpf-{tracer}"), d
    # the list comprehension's own allocation hit the limit: it is its own trigger
    assert int(d["trigger_pid"]) == kill["pid"], d
    assert d["trigger_comm"] == "python3", d
    assert -1000 <= int(d["oom_score_adj"]) <= 1000
    assert int(d["total_vm_bytes"]) >= kill["rss_bytes"]
    assert int(d["memcg_limit_bytes"]) == 256 * MIB
    # the split at the kill: nearly all anon, charged to the limited cgroup
    assert 200 * MIB <= kill["anon_bytes"] <= 257 * MIB
    mine = rows_of(rows, kill["pid"])
    assert [r["event"] for r in mine][-2:] == ["oom_kill", "exit"]
    assert details(mine[-1])["signal"] == "SIGKILL"
    peak = max(r["peak_rss_bytes"] for r in mine)
    # RSS counts python's file pages too, which are charged to whichever cgroup first read
    # them (SPEC: "RSS can differ from it by file pages charged elsewhere")
    assert 200 * MIB <= peak <= 257 * MIB + mine[-1]["file_bytes"], peak
    assert "OOM kill" in stderr
    assert "constraint  memcg" in stderr and f"memtrace-bpf-{tracer}" in stderr
    assert "RSS before" in stderr
    # the summary names the end
    assert "OOM-killed" in stderr


def test_generator_runs_flat_under_the_same_limit(tmp_path):
    status, _, stderr, rows, _ = run_tracer(tmp_path, ["-m", "256M", "--", PY, "-c", GENERATOR])
    assert status == 0, stderr
    check_process_rows(rows)
    assert not oom_rows(rows)
    assert rows[-1]["event"] == "exit" and details(rows[-1])["exit_code"] == "0"
    assert max(r["peak_rss_bytes"] for r in rows) < 64 * MIB
    assert "OOM kill at" not in stderr
    assert "memory limit 256 MiB" in stderr


def test_command_is_in_the_limited_cgroup_and_the_tracer_is_not(tmp_path):
    where = tmp_path / "cgroup.txt"
    out = tmp_path / "t.csv"
    tracer = subprocess.Popen(
        [BIN, "-q", "-o", str(out), "-m", "64M", "--", "/bin/sh", "-c",
         f"cat /proc/self/cgroup > {where}; sleep 2"])
    try:
        assert wait_for(lambda: where.exists() and where.stat().st_size, timeout=20)
        info = memory_cgroup(tracer.pid)
        assert info, "no memory controller"
        version, mount, tracer_path = info
        assert "memtrace-bpf-" not in tracer_path
        child_lines = where.read_text().splitlines()
        if version == 1:
            child_path = [l.split(":", 2)[2] for l in child_lines
                          if "memory" in l.split(":")[1].split(",")][0]
            limit_file = "memory.limit_in_bytes"
        else:
            child_path = [l.split(":", 2)[2] for l in child_lines if l.startswith("0::")][0]
            limit_file = "memory.max"
        assert child_path.endswith(f"/memtrace-bpf-{tracer.pid}"), child_path
        with open(os.path.join(mount, child_path.lstrip("/"), limit_file)) as f:
            assert int(f.read()) == 64 * MIB
        assert tracer.wait(timeout=30) == 0
        assert not os.path.exists(os.path.join(mount, child_path.lstrip("/")))
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()


def test_memory_limit_with_failed_exec_leaves_no_cgroup(tmp_path):
    status, _, stderr, _, _ = run_tracer(tmp_path, ["-m", "64M", "--", "/nonexistent/cmd"])
    assert status == 127
    assert "memtrace-bpf: cannot run" in stderr
    # no_cgroup_left (conftest) checks the rest


def test_sigint_mid_run_removes_the_cgroup(tmp_path):
    out = tmp_path / "t.csv"
    tracer = subprocess.Popen(
        [BIN, "-o", str(out), "-m", "128M", "--", workload("touch"), "50", "--hold", "20000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: any(e.startswith(f"memtrace-bpf-{tracer.pid}")
                                    for e in cgroup_entries()), timeout=20)
        time.sleep(0.5)
        tracer.send_signal(signal.SIGINT)  # forwarded to the command, which dies of it
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 128 + signal.SIGINT, stderr
        assert not any(e.startswith(f"memtrace-bpf-{tracer.pid}") for e in cgroup_entries())
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()


def test_second_sigint_moves_a_stubborn_command_out_and_removes_the_cgroup(tmp_path):
    """The command ignores SIGINT; a second SIGINT stops the tracer at once (130). The cgroup
    still goes: what is left in it is moved back out first, and the tracer says so."""
    out = tmp_path / "t.csv"
    tracer = subprocess.Popen(
        [BIN, "-o", str(out), "-m", "128M", "--", "/bin/sh", "-c",
         "trap '' INT; echo $$ > " + str(tmp_path / "pid") + "; sleep 30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = None
    try:
        assert wait_for(lambda: (tmp_path / "pid").exists()
                        and (tmp_path / "pid").read_text().strip(), timeout=20)
        child = int((tmp_path / "pid").read_text())
        tracer.send_signal(signal.SIGINT)
        time.sleep(0.3)
        tracer.send_signal(signal.SIGINT)
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 130, stderr
        assert "moved" in stderr, stderr
        assert os.path.exists(f"/proc/{child}")  # still alive, just no longer limited
        info = memory_cgroup(child)
        assert info and "memtrace-bpf-" not in info[2]
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        if child:
            kill_tree(child)


def kill_tree(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for p in [pid] + kids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def cgroup_entries():
    info = memory_cgroup()
    if not info:
        return []
    _, mount, path = info
    return os.listdir(os.path.join(mount, path.lstrip("/")))


@pytest.fixture
def foreign_memcg():
    """A memory cgroup memtrace-bpf did not create, limited to 64 MiB; removed afterwards."""
    info = memory_cgroup()
    if not info:
        pytest.skip("no memory cgroup controller usable on this machine")
    version, mount, own = info
    parent = os.path.join(mount, own.lstrip("/"))
    if version == 2:
        parent = os.path.dirname(parent)
        with open(os.path.join(parent, "cgroup.subtree_control")) as f:
            if "memory" not in f.read().split():
                pytest.skip(f"cgroup v2: memory not delegated in {parent}")
    path = os.path.join(parent, f"memtrace-test-{os.getpid()}")
    os.mkdir(path)
    try:
        limit = "memory.limit_in_bytes" if version == 1 else "memory.max"
        with open(os.path.join(path, limit), "w") as f:
            f.write(str(64 * MIB))
        if version == 1 and os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
            with open(os.path.join(path, "memory.memsw.limit_in_bytes"), "w") as f:
                f.write(str(64 * MIB))
        if version == 2 and os.path.exists(os.path.join(path, "memory.swap.max")):
            with open(os.path.join(path, "memory.swap.max"), "w") as f:
                f.write("0")
        yield path, "/" + os.path.relpath(path, mount)
    finally:
        for _ in range(200):
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.01)


def test_oom_kill_in_a_foreign_memcg_of_a_traced_pid(tmp_path, foreign_memcg):
    path, rel = foreign_memcg
    victim = subprocess.Popen([workload("touch"), "200", "--wait-stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        pid = int(victim.stdout.readline().split()[1])
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        out = tmp_path / "t.csv"
        tracer = trace_pid(out, pid)
        release(victim)
        assert victim.wait(timeout=60) == -signal.SIGKILL
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, stderr
        rows = read_csv(out)
        check_process_rows(rows)
        kills = oom_rows(rows)
        assert len(kills) == 1, rows
        d = details(kills[0])
        assert kills[0]["pid"] == pid
        assert d["constraint"] == "memcg" and d["memcg"] == rel, (d, rel)
        assert int(d["trigger_pid"]) == pid and d["trigger_comm"] == "touch"
        assert 32 * MIB <= kills[0]["anon_bytes"] <= 65 * MIB
        assert rows[-1]["event"] == "exit" and details(rows[-1])["signal"] == "SIGKILL"
        assert "OOM kill" in stderr and rel in stderr
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        if victim.poll() is None:
            victim.kill()
        victim.wait()


def test_quiet_keeps_the_oom_row_but_prints_no_report(tmp_path):
    status, _, stderr, rows, _ = run_tracer(
        tmp_path, ["-q", "-m", "128M", "--", workload("touch"), "400"])
    assert status == 137
    assert len(oom_rows(rows)) == 1
    assert stderr == ""


def test_oom_of_a_child_is_flagged_and_the_parent_lives(tmp_path):
    """The shell survives its child's OOM kill: one oom_kill row, for the child only."""
    touch = workload("touch")
    status, _, stderr, rows, _ = run_tracer(
        tmp_path, ["-m", "128M", "--", "/bin/sh", "-c", f"{touch} 400; echo child=$?"])
    assert status == 0, stderr
    kills = oom_rows(rows)
    assert len(kills) == 1 and kills[0]["comm"] == "touch"
    check_process_rows(rows)
    assert "OOM kills in its tree: 1" in stderr


@pytest.mark.parametrize("args", [
    ["-m", "0", "--", "true"],
    ["-m", "lots", "--", "true"],
    ["-m", "512K", "--", "true"],
    ["-m", "1G", "-p", "1"],
])
def test_bad_memory_limits_are_usage_errors(args):
    proc = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith("memtrace-bpf: ") and "-m" in proc.stderr or \
        "memory limit" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def rss_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_untraced_victim_of_a_traced_trigger_is_told(tmp_path, foreign_memcg):
    """A traced process's allocation makes the kernel kill another, untraced process of the
    same memcg (the one the OOM killer prefers): no row (it is not traced), but a warning
    naming both, and a count in the summary. The traced process lives on."""
    path, rel = foreign_memcg
    procs = []
    tracer = None
    try:
        for _ in range(2):
            p = subprocess.Popen([workload("touch"), "40", "--wait-stdin", "--hold", "30000"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            procs.append(p)
            pid = int(p.stdout.readline().split()[1])
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        bystander, trigger = procs
        with open(f"/proc/{bystander.pid}/oom_score_adj", "w") as f:
            f.write("1000")  # the OOM killer's first choice
        release(bystander)
        assert wait_for(lambda: rss_of(bystander.pid) >= 40 * MIB, timeout=20)
        out = tmp_path / "t.csv"
        tracer = trace_pid(out, trigger.pid)
        release(trigger)
        assert bystander.wait(timeout=30) == -signal.SIGKILL
        assert wait_for(lambda: rss_of(trigger.pid) >= 40 * MIB, timeout=20)
        tracer.send_signal(signal.SIGINT)
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, stderr
        rows = read_csv(out)
        assert not oom_rows(rows)
        assert {r["pid"] for r in rows} == {trigger.pid}
        assert (f"OOM kill of untraced process {bystander.pid} (touch" in stderr
                and f"triggered by traced process {trigger.pid} (touch)" in stderr), stderr
        assert rel in stderr
        assert "untraced processes OOM-killed by an OOM a traced one triggered: 1" in stderr
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def test_memory_limit_without_a_memory_controller_is_one_clear_error():
    """In a mount namespace where no cgroup hierarchy is mounted, -m cannot work: status 1,
    one line saying so, and the command never runs."""
    script = ('for m in $(awk \'$9 ~ /^cgroup/ {print $5}\' /proc/self/mountinfo | sort -r); '
              'do umount -l "$m"; done; exec "$0" -m 64M -- /bin/sh -c "echo ran"')
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script,
                           BIN], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memtrace-bpf: "), proc.stderr
    assert "memory controller" in lines[0]
    assert "ran" not in proc.stdout


def test_list_vs_generator_experiment(tmp_path):
    """scripts/list-vs-generator.sh (what make demo runs), small: the list is killed, the
    generator is not, both CSVs and the PNG are written."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([os.path.join(root, "scripts", "list-vs-generator.sh"), "-n", "10**7",
                           "-m", "128M", "-o", str(tmp_path), "-b", BIN],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "only the list comprehension was killed under 128M" in proc.stdout, proc.stdout
    lc = read_csv(tmp_path / "list-comprehension.csv")
    gen = read_csv(tmp_path / "generator.csv")
    assert len(oom_rows(lc)) == 1 and not oom_rows(gen)
    png = (tmp_path / "list-vs-generator.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
