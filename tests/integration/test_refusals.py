"""A kernel that refuses one BPF program costs only that program's feature (SPEC: Guarantees).

Every optional program is refused in turn, at load and at attach, on every machine: through
MEMTRACE_BPF_REFUSE, which the loader meets as it meets the kernel's own refusals (at load the
kernel itself refuses the program: it is sent with a flag no kernel defines, EINVAL). Where the
kernel refuses a program on its own (this machine's kernel refuses every BPF map iterator with
EPERM), that real refusal is tested too, and where the kernel runs a BPF LSM, a real security
policy refuses programs with EPERM (tests/tools/bpf-deny). For each: the run succeeds, what
remains is right, the message names the refusal. Real binary, live kernel."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (BIN, MIB, TOOLS, details, read_csv, release, remove_cgroup, rows_of,
                      run, trace, wait_for, workload)
from test_host import check_processes, make_cgroup, own_cgroup_dir

ESSENTIAL = ["on_rss_stat", "on_fork", "on_exec", "on_exit"]
# loaded only when an option asks for it, and then essential (test_exact.py refuses it)
ON_REQUEST = {"tp_rss_exact": "--exact"}
# every optional program, what -v says takes its place, and whether the user is warned
OPTIONAL = {
    "on_fault": ("the faults column stays 0", True),
    "tp_fault": (None, False),  # the twin: loaded only in on_fault's place
    "on_page_alloc": ("the pages_alloc column stays 0", True),
    "tp_page_alloc": (None, False),
    "on_rename": ("process names follow exec only", True),
    "on_mark_victim": ("OOM kills are seen only as SIGKILL exits", True),
    "on_mark_victim_pid": ("OOM kills are seen only as SIGKILL exits", True),
    "on_cgroup_attach": ("processes moved into the cgroup after tracing starts are not traced",
                         True),
    "seed_procs": ("found in /proc instead", False),
    "read_procs": ("batch lookups", False),
}
# the one shape of oom/mark_victim this kernel has: refusing both refuses whichever it is
OOM_PROGS = "on_mark_victim,on_mark_victim_pid"
BPF_DENY = os.path.join(TOOLS, "bpf-deny")


def refusing(spec, **extra):
    env = dict(os.environ, MEMTRACE_BPF_REFUSE=spec)
    env.update(extra)
    return env


def warnings(stderr):
    return [l for l in stderr.splitlines() if l.startswith("memtrace-bpf: warning:")]


def refusal_lines(stderr, prog):
    return [l for l in stderr.splitlines()
            if f"the kernel refused the BPF program {prog} " in l]


@pytest.fixture(scope="module")
def kernel_refusals():
    """The programs this kernel refuses on its own, with -v's line for each."""
    proc = run(["-v", "-o", "/dev/null", "--", "true"], timeout=60, env=refusing(""))
    assert proc.returncode == 0, proc.stderr
    found = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"memtrace-bpf: debug: the kernel refused the BPF program (\w+) ", line)
        if m:
            found[m.group(1)] = line
    return found


def test_every_program_is_classified():
    """The object's programs are exactly the table's (a new program must say whether it is
    essential and what replaces it): an unclassified one is an internal error at start."""
    from conftest import bpf_program_names
    assert sorted(bpf_program_names()) == sorted(ESSENTIAL + list(OPTIONAL) + list(ON_REQUEST))


@pytest.mark.parametrize("prog", ESSENTIAL)
@pytest.mark.parametrize("where", ["load", "attach"])
def test_essential_refused_is_one_error_line(tmp_path, prog, where):
    out = tmp_path / "t.csv"
    proc = run(["-o", str(out), "--", workload("touch"), "5"], timeout=60,
               env=refusing(f"{prog}@{where}"))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"memtrace-bpf: the kernel refused to {where} the BPF program "
                               f"{prog} ("), lines[0]
    assert "which memtrace-bpf cannot work without" in lines[0], lines[0]
    # at load the kernel's own answer (EINVAL: an undefined flag); at attach the loader's EPERM
    if where == "load":
        assert "Invalid argument" in lines[0] and "lacks the hook" in lines[0], lines[0]
    else:
        assert "Operation not permitted" in lines[0] and "security policy" in lines[0], lines[0]


@pytest.mark.parametrize("prog", sorted(set(OPTIONAL) - {"on_cgroup_attach", "seed_procs"}))
@pytest.mark.parametrize("where", ["load", "attach"])
def test_optional_refused_costs_only_its_feature(tmp_path, kernel_refusals, prog, where):
    """Refused at load or at attach, in the mode that loads it: the run succeeds with rows,
    exit row and peak; -v names the program, the errno and the fallback; a warning says what
    is lost when the user can see it, nothing otherwise. (The -a and -G programs: below.)"""
    without, visible = OPTIONAL[prog]
    out = tmp_path / "t.csv"
    proc = run(["-v", "-o", str(out), "--", workload("touch"), "24", "--hold", "150"],
               timeout=60, env=refusing(f"{prog}@{where}"))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    exits = [r for r in rows if r["event"] == "exit" and r["comm"] == "touch"]
    assert len(exits) == 1 and exits[0]["peak_rss_bytes"] >= 24 * MIB, rows
    mine = refusal_lines(proc.stderr, prog)
    if prog in ("tp_fault", "tp_page_alloc", "on_mark_victim_pid") and not mine:
        # loaded only where the tp_btf program's hook is absent, or on a kernel with the other
        # shape of mark_victim: not loaded here, so no refusal met, nothing lost
        assert not [w for w in warnings(proc.stderr) if prog in w], proc.stderr
        return
    debug = [l for l in mine if l.startswith("memtrace-bpf: debug:")]
    assert len(debug) == 1, proc.stderr
    if where == "attach" and prog in kernel_refusals:
        # the kernel refused it at load already (as this machine's does the map iterator)
        assert debug[0] == kernel_refusals[prog], debug[0]
        return
    assert f" at {where}: " in debug[0], debug[0]
    errno_text = "Invalid argument" if where == "load" else "Operation not permitted"
    assert errno_text in debug[0], debug[0]
    twin = {"on_fault": "tp/exceptions/page_fault_user", "on_page_alloc": "tp/kmem/mm_page_alloc"}
    if prog in twin and f"using {twin[prog]} instead" in debug[0]:
        return  # tracefs is mounted: the classic twin took its place (test_twin_takes_over)
    assert without in debug[0], debug[0]
    warned = [w for w in warnings(proc.stderr) if prog in w]
    if visible:
        assert len(warned) == 1, proc.stderr
        assert without in warned[0] and errno_text in warned[0], warned[0]
    else:
        assert not warned, proc.stderr


def test_quiet_keeps_refusal_warnings_off_stderr(tmp_path):
    """-q: nothing on stderr but errors, so a lost optional feature is not warned of (an
    essential one still is: test_essential_refused_is_one_error_line)."""
    proc, rows = trace(tmp_path, ["-q", "--", workload("touch"), "8"], timeout=60,
                       env=refusing("on_rename,on_fault"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert rows and rows[-1]["event"] == "exit"


def test_refused_faults_and_pages_columns_stay_zero(tmp_path):
    """Without page_fault_user and mm_page_alloc (and their classic twins) the columns are 0;
    RSS and the peak are as exact as ever."""
    out = tmp_path / "t.csv"
    proc = run(["-o", str(out), "--", workload("touch"), "64"], timeout=60,
               env=refusing("on_fault,tp_fault,on_page_alloc,tp_page_alloc"))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    assert rows and all(r["faults"] == 0 and r["pages_alloc"] == 0 for r in rows), rows
    exit_row = [r for r in rows if r["event"] == "exit"][-1]
    assert exit_row["peak_rss_bytes"] >= 64 * MIB and exit_row["anon_bytes"] >= 63 * MIB
    warned = warnings(proc.stderr)
    assert any("faults column stays 0" in w for w in warned), proc.stderr
    assert any("pages_alloc column stays 0" in w for w in warned), proc.stderr


@pytest.fixture
def tracefs():
    """tracefs mounted (classic tracepoints need it), left as found."""
    root = "/sys/kernel/tracing"
    mounted = False
    if not os.path.exists(os.path.join(root, "events")):
        subprocess.run(["mount", "-t", "tracefs", "nodev", root], check=True)
        mounted = True
    yield root
    if mounted:
        for _ in range(50):
            if subprocess.run(["umount", root], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)


@pytest.mark.parametrize("prog,twin,column", [
    ("on_fault", "tp/exceptions/page_fault_user", "faults"),
    ("on_page_alloc", "tp/kmem/mm_page_alloc", "pages_alloc"),
])
def test_twin_takes_over(tmp_path, tracefs, prog, twin, column):
    """The tp_btf program refused: its classic twin (a perf tracepoint, through tracefs) counts
    the same column, and the user loses nothing visible."""
    out = tmp_path / "t.csv"
    proc = run(["-v", "-o", str(out), "--", workload("touch"), "32"], timeout=60,
               env=refusing(prog))
    assert proc.returncode == 0, proc.stderr
    mine = refusal_lines(proc.stderr, prog)
    assert len(mine) == 1 and f"using {twin} instead" in mine[0], proc.stderr
    assert not [w for w in warnings(proc.stderr) if prog in w], proc.stderr
    exit_row = [r for r in read_csv(out) if r["event"] == "exit"][-1]
    # 32 MiB touched a page at a time: 8192 faults and pages at least
    assert exit_row[column] >= 8192, exit_row


def test_rename_refused_names_follow_exec(tmp_path):
    """Without task_rename, a prctl(PR_SET_NAME) rename is not seen: the rows keep the name
    from exec; the warning says so."""
    proc, rows = trace(tmp_path, ["--", workload("touch"), "8", "--name", "renamed",
                                  "--hold", "300"], timeout=60, env=refusing("on_rename"))
    assert proc.returncode == 0, proc.stderr
    assert rows and {r["comm"] for r in rows} == {"touch"}, {r["comm"] for r in rows}
    assert any("names follow exec only" in w for w in warnings(proc.stderr)), proc.stderr


def test_rename_followed_when_not_refused(tmp_path):
    """The other side of the test above: the rename is in the rows."""
    proc, rows = trace(tmp_path, ["--", workload("touch"), "8", "--name", "renamed",
                                  "--hold", "300"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert rows[-1]["comm"] == "renamed", rows[-1]


@pytest.mark.parametrize("where", ["load", "attach"])
def test_oom_refused_kill_is_a_sigkill_exit(tmp_path, where):
    """Without mark_victim an OOM-killed process still gets its exit row, signal=SIGKILL,
    and the status is 137; no oom_kill row, no forensic report; the warning says so."""
    spec = ",".join(f"{p}@{where}" for p in OOM_PROGS.split(","))
    proc, rows = trace(tmp_path, ["-m", "64M", "--", workload("touch"), "200"], timeout=120,
                       env=refusing(spec))
    assert proc.returncode == 137, proc.stderr
    assert not [r for r in rows if r["event"] == "oom_kill"], rows
    exits = [r for r in rows if r["event"] == "exit"]
    assert len(exits) == 1 and details(exits[0]) == {"signal": "SIGKILL"}, exits
    assert exits[0]["peak_rss_bytes"] >= 50 * MIB, exits
    assert "OOM kill at" not in proc.stderr, proc.stderr
    assert any("OOM kills are seen only as SIGKILL exits" in w
               for w in warnings(proc.stderr)), proc.stderr
    assert "killed by SIGKILL (status 137)" in proc.stderr, proc.stderr


@pytest.mark.parametrize("where", ["load", "attach"])
def test_seed_refused_processes_come_from_proc(tmp_path, where):
    """-a without the task iterator: a process that runs before tracing starts is found in
    /proc and traced (its rows, its exit row); -v says so, no warning."""
    sleeper = subprocess.Popen([workload("touch"), "16", "--wait-stdin", "--exit", "6"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        out = tmp_path / "a.csv"
        tracer = subprocess.Popen([BIN, "-a", "-v", "-i", "50ms", "-o", str(out)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=refusing(f"seed_procs@{where}"))
        assert wait_for(lambda: tracer.poll() is not None or
                        (out.exists() and str(sleeper.pid) in out.read_text()), timeout=30)
        release(sleeper)
        assert sleeper.wait(timeout=30) == 6
        time.sleep(0.3)
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=60)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    assert tracer.returncode == 0, err
    mine = rows_of(read_csv(out), sleeper.pid)
    assert mine and mine[0]["event"] == "start" and mine[-1]["event"] == "exit", mine
    assert details(mine[-1])["exit_code"] == "6"
    assert mine[-1]["peak_rss_bytes"] >= 16 * MIB
    mine = refusal_lines(err, "seed_procs")
    assert len(mine) == 1 and "found in /proc instead" in mine[0], err
    assert f" at {where}: " in mine[0], mine
    assert not warnings(err), err


@pytest.mark.parametrize("where", ["load", "attach"])
def test_cgroup_attach_refused(tmp_path, where):
    """-G without cgroup_attach_task: a process moved into the cgroup after tracing starts
    is not traced (the warning says so); one inside from the start is."""
    path, rel = make_cgroup(1 if own_cgroup_dir(1) else 2, "att")
    moved = inside = None
    try:
        inside = subprocess.Popen(["/bin/sh", "-c", f'echo $$ > {path}/cgroup.procs; exec "$@"',
                                   "sh", workload("touch"), "12", "--wait-stdin"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert wait_for(lambda: str(inside.pid) in open(f"{path}/cgroup.procs").read())
        out = tmp_path / "g.csv"
        tracer = subprocess.Popen([BIN, "-G", path, "-i", "50ms", "-v", "-o", str(out)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=refusing(f"on_cgroup_attach@{where}"))
        assert wait_for(lambda: tracer.poll() is not None or
                        (out.exists() and str(inside.pid) in out.read_text()), timeout=30)
        moved = subprocess.Popen([workload("touch"), "14", "--wait-stdin"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(moved.pid))
        time.sleep(0.3)
        for p in (inside, moved):
            release(p)
            p.wait(timeout=30)
        time.sleep(0.2)
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0, err
        rows = read_csv(out)
        check_processes(rows)
        assert rows_of(rows, inside.pid)[-1]["event"] == "exit"
        assert not rows_of(rows, moved.pid), rows_of(rows, moved.pid)
        warned = [w for w in warnings(err) if "on_cgroup_attach" in w]
        assert len(warned) == 1, err
        assert "moved into the cgroup after tracing starts are not traced" in warned[0], err
        assert [l for l in refusal_lines(err, "on_cgroup_attach") if f" at {where}: " in l], err
    finally:
        for p in (inside, moved):
            if p and p.poll() is None:
                p.kill()
        remove_cgroup(path)


def test_several_refusals_at_once(tmp_path):
    """Four programs refused in one run: one more load each, one warning per visible
    feature, and a run as exact as ever for what remains."""
    proc, rows = trace(tmp_path, ["-v", "--", workload("touch"), "40"], timeout=60,
                       env=refusing("on_fault,on_page_alloc@attach,on_rename,read_procs"))
    assert proc.returncode == 0, proc.stderr
    loads = re.search(r"\((\d+) loads: the kernel refused a program\)", proc.stderr)
    assert loads and int(loads.group(1)) >= 3, proc.stderr
    warned = warnings(proc.stderr)
    assert len([w for w in warned if "the kernel refused the BPF program" in w]) == 3, warned
    exit_row = [r for r in rows if r["event"] == "exit"][-1]
    assert exit_row["peak_rss_bytes"] >= 40 * MIB


def test_happy_path_loads_once_or_names_the_kernels_refusal(tmp_path):
    """Nothing refused on purpose: one load when the kernel accepts everything; where it
    refuses a program on its own (this machine's kernel refuses every map iterator), -v names
    it with the kernel's errno and the run goes on with the fallback."""
    proc, rows = trace(tmp_path, ["-v", "--", workload("touch"), "8"], timeout=60,
                       env=refusing(""))
    assert proc.returncode == 0, proc.stderr
    refused = [l for l in proc.stderr.splitlines()
               if l.startswith("memtrace-bpf: debug: the kernel refused the BPF program")]
    if refused:
        loads = re.search(r"\((\d+) loads: the kernel refused a program\)", proc.stderr)
        assert loads and int(loads.group(1)) == len(refused) + 1, proc.stderr
        for line in refused:
            assert re.search(r" at (load|attach): [A-Z][a-z]", line), line
    else:
        assert "(1 load)" in proc.stderr, proc.stderr
    assert rows and rows[-1]["event"] == "exit"


def test_refuse_variable_names_an_unknown_program(tmp_path):
    proc = run(["-o", str(tmp_path / "t.csv"), "--", "true"], timeout=30,
               env=refusing("on_fault,no_such_program"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "no BPF program named 'no_such_program'" in lines[0], lines
    assert not (tmp_path / "t.csv").exists() or not (tmp_path / "t.csv").read_text()


def test_refuse_variable_is_a_usage_error_before_the_privilege_check():
    """A bad value is status 2 for anyone: it is checked before whether BPF can be loaded."""
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           BIN, "--", "true"], capture_output=True, text=True, timeout=30,
                          env=refusing("on_fault@never"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memtrace-bpf: "), lines
    assert "on_fault@never" in lines[0] and "@load or @attach" in lines[0], lines


# ---- a real security policy: the kernel's own EPERM, through its BPF LSM ----

def bpf_deny(args, memtrace_args, **kw):
    proc = subprocess.run([BPF_DENY] + list(args) + ["--", BIN] + list(memtrace_args),
                          capture_output=True, text=True, **kw)
    if proc.returncode == 77:
        pytest.skip("this kernel takes no BPF LSM policy: "
                    + proc.stderr.strip().splitlines()[-1])
    return proc


def test_policy_refuses_essential_program(tmp_path):
    proc = bpf_deny(["on_rss_stat"], ["-o", str(tmp_path / "t.csv"), "--", "true"],
                    timeout=60)
    assert proc.returncode == 1, proc.stderr
    line = [l for l in proc.stderr.splitlines() if l.startswith("memtrace-bpf:")]
    assert len(line) == 1 and "refused to load the BPF program on_rss_stat" in line[0], line
    assert "Operation not permitted" in line[0] and "security policy" in line[0], line


@pytest.mark.parametrize("where", ["load", "attach"])
def test_policy_refuses_oom_program(tmp_path, where):
    out = tmp_path / "t.csv"
    proc = bpf_deny((["--attach"] if where == "attach" else []) + [OOM_PROGS],
                    ["-m", "64M", "-o", str(out), "--", workload("touch"), "200"], timeout=120)
    assert proc.returncode == 137, proc.stderr
    exits = [r for r in read_csv(out) if r["event"] == "exit"]
    assert exits and details(exits[-1]) == {"signal": "SIGKILL"}, exits
    warned = [w for w in warnings(proc.stderr) if "on_mark_victim" in w]
    assert len(warned) == 1 and "Operation not permitted" in warned[0], proc.stderr
