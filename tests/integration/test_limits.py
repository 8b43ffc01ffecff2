"""-L SIZE and --kill[=SIGNAL]: an RSS limit checked in the kernel at every RSS change."""
import signal
import subprocess

import pytest

from conftest import (BIN, MIB, check_process_rows, details, fill_through_proc_mem, read_csv,
                      release, trace, trace_pid, workload)
from test_cli import assert_error

LIMIT = 100 * MIB


def limit_rows(rows):
    return [r for r in rows if r["event"] == "limit"]


def test_kill_at_the_crossing_stops_a_toucher_within_a_few_mib(tmp_path):
    proc, rows = trace(tmp_path, ["-L", "100M", "--kill", "--", workload("touch"), "300"])
    assert proc.returncode == 137, proc.stderr
    check_process_rows(rows)
    limits = limit_rows(rows)
    assert len(limits) == 1, rows
    d = details(limits[0])
    assert d == {"limit_bytes": str(LIMIT), "action": "kill", "signal": "SIGKILL"}, d
    assert limits[0]["rss_bytes"] > LIMIT
    assert rows[-1]["event"] == "exit" and details(rows[-1])["signal"] == "SIGKILL"
    peak = max(r["peak_rss_bytes"] for r in rows)
    # killed in the kernel at the crossing: no polling interval's worth of overshoot
    assert LIMIT <= peak <= 112 * MIB, peak
    assert "crossed the RSS limit of 100 MiB" in proc.stderr and "sent SIGKILL" in proc.stderr


def test_limit_without_kill_warns_and_the_process_lives(tmp_path):
    proc, rows = trace(tmp_path, ["-L", "100M", "--", workload("touch"), "300"])
    assert proc.returncode == 0, proc.stderr
    check_process_rows(rows)
    limits = limit_rows(rows)
    assert len(limits) == 1, "one limit row per process, not one per RSS change above it"
    assert details(limits[0]) == {"limit_bytes": str(LIMIT), "action": "warn"}
    assert LIMIT < limits[0]["rss_bytes"] <= 112 * MIB
    assert details(rows[-1]) == {"exit_code": "0"}
    assert max(r["peak_rss_bytes"] for r in rows) >= 300 * MIB
    assert "warning: PID" in proc.stderr and "crossed the RSS limit" in proc.stderr


def test_kill_with_another_signal(tmp_path):
    proc, rows = trace(tmp_path, ["-L", "50M", "--kill=TERM", "--", workload("touch"), "200"])
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert details(limit_rows(rows)[0])["signal"] == "SIGTERM"
    assert details(rows[-1])["signal"] == "SIGTERM"


def test_limit_applies_to_each_child_on_its_own(tmp_path):
    """Two children: only the one that crosses gets a limit row and the signal."""
    touch = workload("touch")
    proc, rows = trace(tmp_path, ["-L", "100M", "--kill", "--", "/bin/sh", "-c",
                                  f"{touch} 30 --name small; {touch} 200 --name big; "
                                  "echo done"])
    assert proc.returncode == 0, proc.stderr
    check_process_rows(rows)
    limits = limit_rows(rows)
    assert [r["comm"] for r in limits] == ["big"], limits
    by_comm = {r["comm"]: r for r in rows if r["event"] == "exit"}
    assert details(by_comm["small"]) == {"exit_code": "0"}
    assert details(by_comm["big"])["signal"] == "SIGKILL"


def test_limit_on_a_running_pid(tmp_path):
    victim = subprocess.Popen([workload("touch"), "200", "--wait-stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        pid = int(victim.stdout.readline().split()[1])
        out = tmp_path / "t.csv"
        tracer = trace_pid(out, pid, "-L", "64M", "--kill")
        release(victim)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, stderr
        rows = read_csv(out)
        assert len(limit_rows(rows)) == 1
        assert 64 * MIB <= max(r["peak_rss_bytes"] for r in rows) <= 76 * MIB
    finally:
        for p in (tracer, victim):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def test_crossing_outside_the_process_is_killed_from_user_space(tmp_path):
    """Another process fills the traced one's memory through /proc/PID/mem: the crossing is
    seen in the writer's context, where bpf_send_signal() would hit the writer. The kernel
    side leaves the signal to user space, which sends it to the right process."""
    idle = subprocess.Popen([workload("idle"), "64"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        _, pid, addr = idle.stdout.readline().split()
        pid, addr = int(pid), int(addr, 16)
        out = tmp_path / "t.csv"
        tracer = trace_pid(out, pid, "-L", "32M", "--kill")
        fill_through_proc_mem(pid, addr, 64 * MIB, may_die=True)  # killed under it: the point
        assert idle.wait(timeout=30) == -signal.SIGKILL
        _, stderr = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, stderr
        limits = limit_rows(read_csv(out))
        assert len(limits) == 1
        assert details(limits[0]).get("sent_from") == "user", limits[0]
        assert "from user space" in stderr
    finally:
        for p in (tracer, idle):
            if p and p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.parametrize("args,mention", [
    (["-L", "0", "-p", "1"], "RSS limit"),
    (["-L", "lots", "-p", "1"], "RSS limit"),
    (["-L", "-5M", "-p", "1"], "RSS limit"),
    (["--kill", "-p", "1"], "--kill"),
    (["-L", "1G", "--kill=BOGUS", "-p", "1"], "BOGUS"),
    (["-L", "1G", "--kill=0", "-p", "1"], "--kill"),
])
def test_bad_rss_limits_are_usage_errors(args, mention):
    proc = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=30)
    assert_error(proc, 2, mention)
