"""The command line: every bad input with its exact status and message, --help/--version, and a
behavioural test for every option of this release. Real binary, live kernel, no mocks."""
import csv
import io
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import (BIN, COLUMNS, MIB, check_process_rows, details, parse_csv, read_csv,
                      rows_of, run, trace, wait_for, workload)

PREFIX = "memtrace-bpf: "
NOBODY = 65534


# ---------------------------------------------------------------- helpers

def clean_env(**extra):
    """The environment without sudo's variables (unless given), so -u defaults are known."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env.update(extra)
    return env


def assert_error(proc, status, *mentions):
    """Exactly `status`, and exactly one stderr line, starting 'memtrace-bpf: '."""
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(PREFIX), proc.stderr
    assert len(lines[0]) > len(PREFIX) + 10, proc.stderr
    for m in mentions:
        assert m in lines[0], (m, lines[0])
    return lines[0]


def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 300, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    pytest.fail("no free pid")


def kill_quietly(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass


def start_sleep(secs=30):
    return subprocess.Popen(["sleep", str(secs)])


def root_pid(rows, comm):
    """The pid of the first process with that comm in the rows."""
    pids = [r["pid"] for r in rows if r["comm"] == comm]
    assert pids, (comm, {r["comm"] for r in rows})
    return pids[0]


# ---------------------------------------------------------------- usage errors (status 2)

USAGE_ERRORS = [
    pytest.param([], ["nothing to trace"], id="no-target"),
    pytest.param(["-p", "1", "--", "true"], [], id="pid-and-command"),
    pytest.param(["-p", "0"], ["'0'"], id="pid-0"),
    pytest.param(["-p", "abc"], ["abc"], id="pid-abc"),
    pytest.param(["-p", "1,"], ["1,"], id="pid-trailing-comma"),
    pytest.param(["-p", "-5"], ["-5"], id="pid-negative"),
    pytest.param(["-i", "0", "-p", "1"], ["'0'"], id="interval-0"),
    pytest.param(["-i", "abc", "-p", "1"], ["abc"], id="interval-abc"),
    pytest.param(["-i", "5us", "-p", "1"], ["5us"], id="interval-5us"),
    pytest.param(["-i", "0.5ms", "-p", "1"], ["0.5ms"], id="interval-0.5ms"),
    pytest.param(["-d", "0", "-p", "1"], ["'0'"], id="duration-0"),
    pytest.param(["-d", "-1", "-p", "1"], ["-1"], id="duration-negative"),
    pytest.param(["-d", "x", "-p", "1"], ["'x'"], id="duration-x"),
    pytest.param(["-o", "", "-p", "1"], ["-o"], id="output-empty"),
    pytest.param(["-Z", "-p", "1"], ["-Z"], id="unknown-short"),
    pytest.param(["--bogus", "-p", "1"], ["--bogus"], id="unknown-long"),
    pytest.param(["-q", "-v", "-p", "1"], ["-q", "-v"], id="quiet-and-verbose"),
    pytest.param(["-u", "nobody", "-p", "1"], ["-u"], id="user-without-command"),
    pytest.param(["-u", "no_such_user_xyz", "--", "true"], ["no_such_user_xyz"],
                 id="unknown-user"),
    pytest.param(["-a", "-p", "1"], ["exactly one target"], id="all-and-pid"),
    pytest.param(["-a", "--", "true"], ["exactly one target"], id="all-and-command"),
    pytest.param(["-a", "-a"], ["exactly one target"], id="all-twice"),
    pytest.param(["-a", "-G", "/"], ["exactly one target"], id="all-and-cgroup"),
    pytest.param(["-G", "/", "-p", "1"], ["exactly one target"], id="cgroup-and-pid"),
    pytest.param(["-G", "/", "-G", "/x"], ["exactly one target"], id="cgroup-twice"),
    pytest.param(["-G", ""], ["-G"], id="cgroup-empty"),
    pytest.param(["-m", "1G", "-a"], ["-m"], id="memory-limit-with-all"),
    pytest.param(["-F", "xml", "-p", "1"], ["xml", "csv, jsonl or mprof"], id="format-unknown"),
    pytest.param(["-F", "", "-p", "1"], ["csv, jsonl or mprof"], id="format-empty"),
    pytest.param(["--max-procs", "0", "-a"], ["'0'"], id="max-procs-0"),
    pytest.param(["--max-procs", "15", "-a"], ["'15'"], id="max-procs-too-few"),
    pytest.param(["--max-procs", "4194305", "-a"], ["4194305"], id="max-procs-too-many"),
    pytest.param(["--max-procs", "1k", "-a"], ["1k"], id="max-procs-suffix"),
    pytest.param(["--max-procs", "-3", "-a"], ["-3"], id="max-procs-negative"),
    pytest.param(["-q", "--live", "-a"], ["-q", "--live"], id="quiet-and-live"),
]


@pytest.mark.parametrize("args,mentions", USAGE_ERRORS)
def test_usage_error(args, mentions):
    proc = run(args, timeout=30, env=clean_env())
    assert_error(proc, 2, *mentions)
    assert proc.stdout == "", "a usage error writes nothing on stdout"


@pytest.mark.parametrize("args,option", [
    pytest.param(["-p"], "-p", id="short-last"),
    pytest.param(["-p", "1", "-i"], "-i", id="interval-last"),
    pytest.param(["-p", "1", "-d"], "-d", id="duration-last"),
    pytest.param(["--pid"], "--pid", id="long-last"),
])
def test_missing_option_argument(args, option):
    """Status 2, and the message names the option that lacks its argument."""
    proc = run(args, timeout=30)
    line = assert_error(proc, 2)
    assert proc.stdout == ""
    # the long option may be named by its short form
    names = {option, {"--pid": "-p"}.get(option, option)}
    assert any(re.search(r"(?<![\w-])" + re.escape(n) + r"\b", line) for n in names), \
        f"{args}: message does not name the option {option}: {line!r}"


# ---------------------------------------------------------------- runtime errors (status 1)

def test_pid_that_does_not_exist():
    pid = free_pid()
    proc = run(["-p", str(pid)], timeout=30)
    assert_error(proc, 1, str(pid))


def test_pid_that_is_a_thread():
    code = ("import threading, time\n"
            "t = threading.Thread(target=time.sleep, args=(30,), daemon=True)\n"
            "t.start()\n"
            "print('ok', flush=True)\n"
            "time.sleep(30)\n")
    py = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert py.stdout.readline().strip() == "ok"
        tids = [int(t) for t in os.listdir(f"/proc/{py.pid}/task") if int(t) != py.pid]
        assert tids, "the python thread is missing"
        tid = tids[0]
        proc = run(["-p", str(tid)], timeout=30)
        line = assert_error(proc, 1, str(tid))
        assert "thread" in line, line
        assert py.poll() is None, "the traced program must be left alone"
    finally:
        kill_quietly(py)


def _zombie():
    """(parent, zombie pid): a child that exited and that its parent never reaps."""
    parent = subprocess.Popen(["sh", "-c", "sleep 0.05 & exec sleep 60"])

    def zombie_child():
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] == "Z" and int(fields[1]) == parent.pid:
                return int(entry)
        return None

    assert wait_for(lambda: zombie_child() is not None, timeout=10), "no zombie"
    return parent, zombie_child()


def test_pid_that_is_a_zombie():
    """A zombie has exited: it has no memory, and its exit (already past) will never be seen
    again. Refused at once, not traced forever."""
    parent, zombie = _zombie()
    try:
        proc = run(["-p", str(zombie), "-o", "/dev/null"], timeout=30)
        line = assert_error(proc, 1, str(zombie), "zombie")
        assert f"parent (PID {parent.pid})" in line, line
    finally:
        kill_quietly(parent)


def test_pid_that_is_a_kernel_thread():
    """A kernel thread (kthreadd, pid 2) has no user memory: refused, not traced with zeros."""
    with open("/proc/2/stat") as f:
        flags = int(f.read().rsplit(")", 1)[1].split()[6])
    if not flags & 0x00200000:
        pytest.skip("pid 2 is not a kernel thread here (a PID namespace?)")
    proc = run(["-p", "2", "-o", "/dev/null"], timeout=30)
    assert_error(proc, 1, "PID 2", "kernel thread")


def test_pid_list_with_a_zombie_is_refused_before_anything_is_written(tmp_path):
    parent, zombie = _zombie()
    sleeper = start_sleep(30)
    try:
        out = tmp_path / "t.csv"
        proc = run(["-p", f"{sleeper.pid},{zombie}", "-o", str(out)], timeout=30)
        assert_error(proc, 1, str(zombie), "zombie")
        assert not out.exists() or out.read_text() == ""
        assert sleeper.poll() is None
    finally:
        kill_quietly(parent)
        kill_quietly(sleeper)


@pytest.mark.parametrize("where", ["proc", "under-a-file"])
def test_unwritable_output(tmp_path, where):
    sleeper = start_sleep()
    try:
        if where == "proc":
            path = "/proc/nonexistent/x.csv"
        else:
            (tmp_path / "plainfile").write_text("x")
            path = str(tmp_path / "plainfile" / "x.csv")
        proc = run(["-o", path, "-p", str(sleeper.pid)], timeout=30)
        assert_error(proc, 1, path)
        assert proc.stdout == "", "nothing traced: no CSV on stdout instead"
        assert not os.path.exists(path)
        assert sleeper.poll() is None
    finally:
        kill_quietly(sleeper)


def test_not_root():
    proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           BIN, "-p", "1"], capture_output=True, text=True, timeout=30)
    line = assert_error(proc, 1)
    assert "root" in line and "CAP_BPF" in line, line
    assert proc.stdout == ""


def test_command_not_found():
    proc = run(["--", "/nonexistent/cmd"], timeout=30, env=clean_env())
    assert proc.returncode == 127, (proc.returncode, proc.stderr)
    ours = [l for l in proc.stderr.splitlines() if l.startswith(PREFIX)]
    assert len(ours) == 1, proc.stderr
    assert "/nonexistent/cmd" in ours[0], ours


def test_command_not_executable(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho should-not-run\n")
    script.chmod(0o644)
    proc = run(["-o", str(tmp_path / "t.csv"), "--", str(script)], timeout=30, env=clean_env())
    assert proc.returncode == 126, (proc.returncode, proc.stderr)
    assert "should-not-run" not in proc.stdout
    ours = [l for l in proc.stderr.splitlines() if l.startswith(PREFIX)]
    assert len(ours) == 1, proc.stderr
    assert str(script) in ours[0], ours


# ---------------------------------------------------------------- --help, --version

RELEASE_OPTIONS = ["-p", "--pid", "--no-children", "-i", "--interval", "-d", "--duration",
                   "-o", "--output", "--every", "--exact", "-u", "--user", "-q", "--quiet", "-v",
                   "--verbose", "-h", "--help", "-V", "--version"]


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(flag):
    proc = run([flag], timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Usage" in proc.stdout or "usage" in proc.stdout
    missing = [o for o in RELEASE_OPTIONS if not re.search(r"(?<![\w-])" + re.escape(o) + r"\b",
                                                           proc.stdout)]
    assert not missing, f"--help does not mention {missing}"


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    proc = run([flag], timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"memtrace-bpf \d+\.\d+(\.\d+)?\S*\n", proc.stdout), proc.stdout
    assert proc.stderr == ""


# ---------------------------------------------------------------- behaviour of every option

def _sample_times(rows, pid):
    return [r["elapsed_s"] for r in rows_of(rows, pid) if r["event"] == "sample"]


def test_interval(tmp_path):
    """-i 250ms spaces the sample rows of a steadily growing process ~0.25 s apart; the default
    100ms gives more rows, closer together."""
    cmd = ["--", workload("grow"), "10", "100", "15"]
    slow_dir, fast_dir = tmp_path / "slow", tmp_path / "fast"
    slow_dir.mkdir()
    fast_dir.mkdir()
    slow, slow_rows = trace(slow_dir, ["-i", "250ms"] + cmd, timeout=60, env=clean_env())
    fast, fast_rows = trace(fast_dir, cmd, timeout=60, env=clean_env())
    assert slow.returncode == 0 and fast.returncode == 0, (slow.stderr, fast.stderr)
    check_process_rows(slow_rows)
    check_process_rows(fast_rows)

    slow_t = _sample_times(slow_rows, root_pid(slow_rows, "grow"))
    fast_t = _sample_times(fast_rows, root_pid(fast_rows, "grow"))
    assert len(slow_t) >= 3, slow_t
    gaps = [b - a for a, b in zip(slow_t, slow_t[1:])]
    assert min(gaps) >= 0.2, f"-i 250ms: sample rows {gaps} s apart"
    assert len(fast_t) > len(slow_t), (len(fast_t), len(slow_t))
    fast_gaps = [b - a for a, b in zip(fast_t, fast_t[1:])]
    assert min(fast_gaps) < 0.2, fast_gaps


def test_duration_on_pid(tmp_path):
    sleeper = start_sleep(30)
    try:
        t0 = time.monotonic()
        proc, rows = trace(tmp_path, ["-d", "1s", "-p", str(sleeper.pid)], timeout=30)
        took = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        assert took < 15, f"-d 1s took {took:.1f} s"
        assert sleeper.poll() is None, "the traced process must be left running"
        mine = rows_of(rows, sleeper.pid)
        assert mine and mine[0]["event"] == "start", mine
        assert mine[-1]["event"] == "sample", mine
        assert mine[-1]["elapsed_s"] >= 0.9, mine[-1]
        check_process_rows(rows)
    finally:
        kill_quietly(sleeper)


def _summary_cpu(stderr):
    m = re.search(r"elapsed ([0-9.]+) s, user ([0-9.]+) s, sys ([0-9.]+) s( \(CPU time while "
                  r"traced\))?", stderr)
    assert m, stderr
    return float(m.group(1)), float(m.group(2)) + float(m.group(3)), bool(m.group(4))


@pytest.mark.parametrize("ending", ["still-running", "killed"])
def test_pid_summary_cpu_is_the_traced_windows(tmp_path, ending):
    """-p: the summary's user and sys are the CPU the process used while traced, as its
    elapsed time is (not its lifetime's), and it says so. A process that burned 2 s of CPU
    before tracing, traced for 1 s, used at most about 1 s of one CPU while traced."""
    burner = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        time.sleep(2.0)
        out = tmp_path / "t.csv"
        if ending == "still-running":
            proc = run(["-p", str(burner.pid), "-d", "1s", "-o", str(out)], timeout=30)
        else:
            tracer = subprocess.Popen([BIN, "-p", str(burner.pid), "-o", str(out)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert wait_for(lambda: out.exists() and len(out.read_text().splitlines()) > 1,
                            timeout=20)
            time.sleep(1.0)
            burner.kill()
            _, err = tracer.communicate(timeout=30)
            proc = subprocess.CompletedProcess(tracer.args, tracer.returncode, "", err)
        assert proc.returncode == 0, proc.stderr
        elapsed, cpu, said = _summary_cpu(proc.stderr)
        assert said, proc.stderr
        assert 0.8 <= elapsed <= 5, proc.stderr
        # one thread cannot use more CPU than wall time (plus a clock tick of rounding)
        assert cpu <= elapsed + 0.05, proc.stderr
        if ending == "killed":
            assert "killed by SIGKILL" in proc.stderr, proc.stderr
    finally:
        kill_quietly(burner)


def test_command_summary_cpu_is_the_whole_run(tmp_path):
    """COMMAND mode: the command's whole life is the traced window; nothing is said."""
    proc, _ = trace(tmp_path, ["--", "sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1));"
                               " done"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    elapsed, cpu, said = _summary_cpu(proc.stderr)
    assert not said and cpu > 0.05, proc.stderr


def test_output_dash_is_stdout():
    proc = run(["-o", "-", "--", workload("touch"), "5"], timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    rows = parse_csv(proc.stdout)
    check_process_rows(rows)
    touch = root_pid(rows, "touch")
    assert [r["event"] for r in rows_of(rows, touch)][-1] == "exit"


def test_default_output_is_stdout():
    proc = run(["--", workload("touch"), "5"], timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    rows = parse_csv(proc.stdout)
    assert any(r["comm"] == "touch" for r in rows)


def test_format_csv_accepted(tmp_path):
    proc, rows = trace(tmp_path, ["-F", "csv", "--", workload("touch"), "5"], timeout=60,
                       env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert any(r["comm"] == "touch" for r in rows)


def test_every(tmp_path):
    sleeper = start_sleep(30)
    try:
        every_dir, plain_dir = tmp_path / "every", tmp_path / "plain"
        every_dir.mkdir()
        plain_dir.mkdir()
        args = ["-d", "1s", "-i", "100ms", "-p", str(sleeper.pid)]
        proc, rows = trace(every_dir, ["--every"] + args, timeout=30)
        assert proc.returncode == 0, proc.stderr
        samples = [r for r in rows_of(rows, sleeper.pid) if r["event"] == "sample"]
        assert len(samples) >= 5, [r["event"] for r in rows_of(rows, sleeper.pid)]
        assert all(r["rss_delta_bytes"] == 0 for r in samples), "a sleeping process changed?"

        proc, rows = trace(plain_dir, args, timeout=30)
        assert proc.returncode == 0, proc.stderr
        events = [r["event"] for r in rows_of(rows, sleeper.pid)]
        assert events == ["start", "sample"], \
            f"without --every a sleeping process gets its start row and the last one: {events}"
    finally:
        kill_quietly(sleeper)


def test_quiet(tmp_path):
    proc, rows = trace(tmp_path, ["-q", "--", workload("touch"), "5"], timeout=60,
                       env=clean_env())
    assert proc.returncode == 0
    assert proc.stderr == "", proc.stderr
    assert any(r["comm"] == "touch" for r in rows), "-q keeps the time series"
    # and without -q the same run has a summary on stderr
    proc, _ = trace(tmp_path, ["--", workload("touch"), "5"], timeout=60, env=clean_env())
    assert proc.returncode == 0
    assert "peak RSS" in proc.stderr, proc.stderr


def test_verbose(tmp_path):
    proc, rows = trace(tmp_path, ["-v", "--", workload("touch"), "5"], timeout=60,
                       env=clean_env())
    assert proc.returncode == 0, proc.stderr
    debug = [l for l in proc.stderr.splitlines() if "debug:" in l]
    assert debug, proc.stderr
    assert all(l.startswith(PREFIX) for l in debug), debug
    assert any("tp_btf" in l for l in debug), debug
    assert any("rss_stat" in l for l in debug), debug
    # start-up phases, and at the end what our programs cost (bpf_stats): the touch of
    # 5 MiB is 1,280 faults at least, each seen by the fault program
    assert any(re.search(r"start-up: .* loaded \(CO-RE, verifier\) in [0-9.]+ ms", l)
               for l in debug), debug
    assert any(re.search(r"attached [0-9.]+ ms after launch", l) for l in debug), debug
    cost = {m.group(1): (int(m.group(2)), float(m.group(3))) for m in
            (re.search(r"BPF cost: (\w+): ([0-9]+) runs, ([0-9]+) ns per run", l) for l in debug)
            if m}
    assert {"on_rss_stat", "on_fault", "on_page_alloc", "on_exec", "on_exit"} <= set(cost), cost
    assert cost["on_fault"][0] >= 5 * 256, cost
    assert all(0 < ns < 1_000_000 for _, ns in cost.values()), cost
    assert any(re.search(r"BPF cost in all: [0-9.]+ ms of CPU over [0-9.]+ s traced", l)
               for l in debug), debug
    # not there without -v
    proc, _ = trace(tmp_path, ["--", workload("touch"), "5"], timeout=60, env=clean_env())
    assert "debug:" not in proc.stderr and "BPF cost" not in proc.stderr


def _forker_children(stdout):
    m = re.search(r"children (\d+) (\d+)", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def test_no_children(tmp_path):
    cmd = ["--", workload("forker"), "10", "20"]
    with_dir, without_dir = tmp_path / "follow", tmp_path / "nofollow"
    with_dir.mkdir()
    without_dir.mkdir()

    proc, rows = trace(with_dir, cmd, timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    a, b = _forker_children(proc.stdout)
    check_process_rows(rows)
    for child, code in ((a, 3), (b, 4)):
        mine = rows_of(rows, child)
        assert mine, f"child {child} not followed by default"
        assert mine[-1]["event"] == "exit" and details(mine[-1]) == {"exit_code": str(code)}

    proc, rows = trace(without_dir, ["--no-children"] + cmd, timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    a, b = _forker_children(proc.stdout)
    assert rows_of(rows, a) == [] and rows_of(rows, b) == [], \
        {r["pid"] for r in rows}
    forker = root_pid(rows, "forker")
    assert [r["event"] for r in rows_of(rows, forker)][-1] == "exit"


def _ids(proc):
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, (proc.stdout, proc.stderr)
    return int(lines[0]), [int(g) for g in lines[1].split()]


def test_user_option(tmp_path):
    proc = run(["-o", str(tmp_path / "t.csv"), "-u", "nobody", "--", "sh", "-c", "id -u; id -G"],
               timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    uid, groups = _ids(proc)
    assert uid == NOBODY
    assert 0 not in groups, groups
    rows = read_csv(tmp_path / "t.csv")
    assert any(r["comm"] == "sh" for r in rows)


def test_user_by_number(tmp_path):
    proc = run(["-o", str(tmp_path / "t.csv"), "-u", str(NOBODY), "--", "id", "-u"],
               timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(NOBODY)


def test_sudo_user_is_the_default(tmp_path):
    env = clean_env(SUDO_UID=str(NOBODY), SUDO_GID=str(NOBODY), SUDO_USER="nobody")
    proc = run(["-o", str(tmp_path / "t.csv"), "--", "sh", "-c", "id -u; id -G"], timeout=60,
               env=env)
    assert proc.returncode == 0, proc.stderr
    uid, groups = _ids(proc)
    assert uid == NOBODY, "through sudo, the command runs as the invoking user"
    assert 0 not in groups, f"the command keeps root's group: {groups}"


def test_user_root_overrides_sudo(tmp_path):
    env = clean_env(SUDO_UID=str(NOBODY), SUDO_GID=str(NOBODY), SUDO_USER="nobody")
    proc = run(["-o", str(tmp_path / "t.csv"), "-u", "root", "--", "id", "-u"], timeout=60,
               env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_without_sudo_runs_as_current_user(tmp_path):
    proc = run(["-o", str(tmp_path / "t.csv"), "--", "id", "-u"], timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(os.geteuid())


# ---------------------------------------------------------------- untrusted names, RFC 4180

HOSTILE = "\x1b[2J\x1b[31mEVIL\n"  # clear the screen, go red, break the line (14 bytes)
HOSTILE_SHOWN = "\\x1b[2J\\x1b[31mEVIL\\x0a"


def _only_clean_lines(stderr):
    """No control byte anywhere, and every line one of ours (a raw newline in a name would
    start a line of its own)."""
    assert not [c for c in stderr if ord(c) < 0x20 and c != "\n"], repr(stderr)
    for line in stderr.splitlines():
        assert line.startswith(PREFIX) or line.startswith("  "), repr(line)


@pytest.mark.parametrize("scenario", ["command", "oom", "limit", "all"])
def test_hostile_names_never_reach_the_terminal_raw(tmp_path, scenario):
    """A process named to clear and recolour the terminal (prctl) reaches stderr escaped: in
    the COMMAND summary (its name and its argv), the OOM report, a limit warning, and the -a
    summary's largest peaks."""
    out = tmp_path / "t.csv"
    if scenario == "all":
        victim = subprocess.Popen([workload("touch"), "300", "--name", HOSTILE, "--hold",
                                   "4000"])
        try:
            proc = run(["-a", "-d", "2s", "-i", "200ms", "-o", str(out)], timeout=60)
        finally:
            victim.kill()
            victim.wait()
    else:
        extra = {"command": [], "oom": ["-m", "64M"], "limit": ["-L", "8M"]}[scenario]
        mib = "200" if scenario == "oom" else "16"
        proc = run(["-o", str(out)] + extra + ["--", workload("touch"), mib, "--name", HOSTILE,
                                               "--hold", "100", "--exit", "0"], timeout=60,
                   env=clean_env())
    assert proc.returncode in (0, 137), proc.stderr
    assert HOSTILE_SHOWN in proc.stderr, proc.stderr
    _only_clean_lines(proc.stderr)
    if scenario == "oom":
        assert "OOM kill at" in proc.stderr and f"victim      {HOSTILE_SHOWN}" in proc.stderr


def _shell_words(line):
    """The words bash reads from a command line."""
    out = subprocess.run(["bash", "-c", "printf '%s\\0' " + line], capture_output=True,
                         check=True).stdout
    return out.split(b"\0")[:-1]


ARGV_TO_QUOTE = ["sh", "-c", "exit 0", "a b", "it's", "$HOME;*", "", "tab\there", "bell\x07",
                 "caf\u00e9"]


def test_summary_command_line_pastes_back(tmp_path):
    """The summary's command line is shell-quoted: pasted into a shell it gives the same words
    (spaces, quotes, an empty word, a control byte, UTF-8)."""
    proc, _ = trace(tmp_path, ["--"] + ARGV_TO_QUOTE, timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    m = re.match(r"memtrace-bpf: (.*) \(pid \d+, sh\): exited with status 0$", first)
    assert m, first
    assert _shell_words(m.group(1)) == [a.encode() for a in ARGV_TO_QUOTE], m.group(1)
    _only_clean_lines(proc.stderr)


def test_pid_summary_command_line_pastes_back(tmp_path):
    """-p: the command line read from /proc is quoted the same way."""
    argv = [sys.executable, "-c", "import time; time.sleep(30)", "x y", "it's"]
    target = subprocess.Popen(argv)
    try:
        assert wait_for(lambda: b"it's" in open(f"/proc/{target.pid}/cmdline", "rb").read())
        proc = run(["-p", str(target.pid), "-d", "300ms", "-o", str(tmp_path / "t.csv")],
                   timeout=30)
        assert proc.returncode == 0, proc.stderr
        m = re.match(r"memtrace-bpf: (.*) \(pid \d+, [^)]*\): still running",
                     proc.stderr.splitlines()[0])
        assert m, proc.stderr
        assert _shell_words(m.group(1)) == [a.encode() for a in argv], m.group(1)
    finally:
        kill_quietly(target)
