"""--python: RSS changes charged to the Python lines that made them, read from real CPython
interpreters in the kernel, checked against the standard library's tracemalloc."""
import glob
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BIN, MIB, ROOT, read_csv, rows_of, run, trace, trace_pid, wait_for

PYENV = os.environ.get("PYENV_ROOT", "/root/.pyenv")


def _pyenv(minor):
    found = sorted(glob.glob(f"{PYENV}/versions/3.{minor}.*/bin/python3.{minor}"))
    return found[-1] if found else None


# (label, path): Debian's interpreter (linked into the binary) and pyenv's shared-libpython builds
INTERPRETERS = [
    ("debian-3.11", "/usr/bin/python3.11"),
    ("pyenv-3.11", _pyenv(11)),
    ("pyenv-3.12", _pyenv(12)),
    ("pyenv-3.13", _pyenv(13)),
]


def interpreter(path):
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"SKIP: interpreter {path or '(not installed)'} is missing on this machine")
    return path


@pytest.fixture(params=INTERPRETERS, ids=[label for label, _ in INTERPRETERS])
def python(request):
    return interpreter(request.param[1])


LINE_RE = re.compile(r"^\s*(\d+)\s+([\d.]+) MiB\s+(-?[\d.]+) MiB\s+(\d+)\s+([\d.]+) MiB\s+"
                     r"([\d.]+) MiB   (.*)$")


def parse_lines(text):
    """The line report as {(file, line): dict}, per process merged (one process in these tests)."""
    result, file = {}, None
    for raw in text.splitlines():
        if raw.startswith("Filename: "):
            file = raw[len("Filename: "):]
            continue
        m = LINE_RE.match(raw)
        if m and file:
            result[(file, int(m.group(1)))] = {
                "mem": float(m.group(2)) * MIB, "inc": float(m.group(3)) * MIB,
                "n": int(m.group(4)), "grown": float(m.group(5)) * MIB,
                "released": float(m.group(6)) * MIB, "text": m.group(7),
            }
    return result


def line_no(source, marker):
    for i, text in enumerate(source.splitlines(), 1):
        if marker in text:
            return i
    raise AssertionError(marker)


def parse_folded(text):
    stacks = {}
    for raw in text.splitlines():
        stack, _, n = raw.rpartition(" ")
        stacks[stack] = stacks.get(stack, 0) + int(n)
    return stacks


# A script whose known lines allocate known amounts; with REF=1 it measures each line with
# tracemalloc (the reference) and prints "marker bytes".
KNOWN = textwrap.dedent("""\
    import os, sys, tracemalloc
    REF = os.environ.get("REF") == "1"
    if REF:
        tracemalloc.start()
    def measure(marker):
        if REF:
            size = tracemalloc.get_traced_memory()[0]
            print(marker, size - measure.last, flush=True)
            measure.last = size
    measure.last = 0
    def grow():
        measure("start")
        a = [0] * (25 * 1000 * 1000)  # LIST
        measure("LIST")
        b = bytearray(b"x") * (100 * 1024 * 1024)  # BYTEARRAY
        measure("BYTEARRAY")
        del a  # DEL
        measure("DEL")
        return b
    def main():
        return grow()  # CALL
    keep = main()  # MAIN
""")


def reference(python, script):
    """tracemalloc's bytes per marked line of the script, in a run of its own."""
    out = subprocess.run([python, str(script)], env=dict(os.environ, REF="1"),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return {m: int(n) for m, n in (line.split() for line in out.splitlines())}


def test_known_lines_against_tracemalloc(tmp_path, python):
    script = tmp_path / "known.py"
    script.write_text(KNOWN)
    ref = reference(python, script)
    lines, folded = tmp_path / "lines.txt", tmp_path / "stacks.folded"
    proc, rows = trace(tmp_path, ["--lines", str(lines), "--folded", str(folded), "--", python,
                                  str(script)])
    assert proc.returncode == 0, proc.stderr
    report = parse_lines(lines.read_text())
    path = str(script)
    at = {m: report.get((path, line_no(KNOWN, "# " + m)), {}) for m in
          ("LIST", "BYTEARRAY", "DEL", "CALL", "MAIN")}
    # >= 95 % of each growth on its own line, within a few MiB above the reference
    assert ref["LIST"] >= 190 * 1000 * 1000
    assert 0.95 * ref["LIST"] <= at["LIST"].get("grown", 0) <= ref["LIST"] + 8 * MIB, at
    assert 0.95 * ref["BYTEARRAY"] <= at["BYTEARRAY"].get("grown", 0) <= ref["BYTEARRAY"] + 8 * MIB
    # the del's release on the del line (tracemalloc: a negative change of the same size)
    assert ref["DEL"] < -190 * 1000 * 1000
    assert at["DEL"].get("released", 0) >= 0.95 * -ref["DEL"], at["DEL"]
    assert at["DEL"]["inc"] < -0.95 * -ref["DEL"] + 8 * MIB
    # the calls on the way are charged what ran under them (memory_profiler's Increment)
    assert at["CALL"]["grown"] >= at["LIST"]["grown"] + at["BYTEARRAY"]["grown"] - 4 * MIB
    assert at["MAIN"]["grown"] >= at["CALL"]["grown"] - 4 * MIB
    # Mem usage: the highest RSS while the line ran, at least the list itself
    assert at["LIST"]["mem"] >= ref["LIST"]
    assert "# LIST" in at["LIST"]["text"]
    # the folded stack shows the call path, root first
    stacks = parse_folded(folded.read_text())
    list_stack = [s for s in stacks if s.endswith(f"grow ({path}:{line_no(KNOWN, '# LIST')})")]
    assert list_stack, list(stacks)[:5]
    frames = list_stack[0].split(";")
    assert frames[0] == f"<module> ({path}:{line_no(KNOWN, '# MAIN')})", frames
    assert frames[1] == f"main ({path}:{line_no(KNOWN, '# CALL')})", frames
    assert stacks[list_stack[0]] >= 0.95 * ref["LIST"]
    # the summary names the line that grew most, and the line at the peak
    assert f"{path}:{line_no(KNOWN, '# LIST')}  grow" in proc.stderr, proc.stderr
    assert "reached its peak RSS" in proc.stderr
    # the time series is the same as without --python
    assert [r["event"] for r in rows][0] == "start" and rows[-1]["event"] == "exit"


SEED = "import sys\nprint(sum([i for i in range(int(sys.argv[1]))]))  # SEED\n"


def test_seed_list_comprehension_and_its_oom(tmp_path):
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "seed.py"
    script.write_text(SEED)
    lines = tmp_path / "lines.txt"
    proc, _ = trace(tmp_path, ["--lines", str(lines), "--", python, str(script), str(10**7)])
    assert proc.returncode == 0, proc.stderr
    report = parse_lines(lines.read_text())
    seed = report[(str(script), 2)]
    # 10**7 ints (28 bytes each, in arenas) and the list's 80 MB of pointers: ~350 MiB
    assert seed["grown"] >= 300 * MIB, seed
    # and that line is where the growth is: nothing else in the script comes close
    assert all(v["grown"] < 0.05 * seed["grown"] for k, v in report.items() if k[1] != 2)

    # under -m the OOM report names the comprehension's line
    proc, rows = trace(tmp_path, ["-m", "200M", "--python", "--", python, str(script),
                                  str(10**8)])
    assert any(r["event"] == "oom_kill" for r in rows), proc.stderr
    # the victim was the trigger: its stack at the allocation that could not be served
    assert "its Python stack at the allocation that could not be served:\n" \
           f"    {script}:2 in " in proc.stderr, proc.stderr
    assert "the Python lines that grew it most" in proc.stderr


THREADS = textwrap.dedent("""\
    import os, threading
    zero = os.open("/dev/zero", os.O_RDONLY)
    out = []
    def reader():
        out.append(os.read(zero, 150 * 1024 * 1024))  # READ
    t = threading.Thread(target=reader)
    t.start()
    spins = 0
    while t.is_alive():
        spins += 1  # SPIN
    t.join()
    c = bytearray(b"y") * (60 * 1024 * 1024)  # MAIN
""")


@pytest.mark.parametrize("way", ["both", "tss", "list"])
def test_two_threads_each_charged_its_own(tmp_path, python, way):
    """The reader thread grows its buffer in read(2), without the GIL, while the main thread
    holds the GIL spinning: the growth is the reader's, not the GIL holder's. Each way to a
    thread's own state alone too: glibc's thread-specific data (3.11, 3.12: the interpreter's
    key; 3.13 does not publish where its key is) and the interpreter's list of threads."""
    if way == "tss" and "3.13" in python:
        pytest.skip("SKIP: 3.13's debug offsets do not say where its thread-specific key is: "
                    "its threads are found in the list")
    script = tmp_path / "threads.py"
    script.write_text(THREADS)
    lines = tmp_path / "lines.txt"
    env = dict(os.environ)
    if way != "both":
        env["MEMTRACE_BPF_PY_THREAD"] = way
    proc, _ = trace(tmp_path, ["--lines", str(lines), "--", python, str(script)], env=env)
    assert proc.returncode == 0, proc.stderr
    report = parse_lines(lines.read_text())
    read = report.get((str(script), line_no(THREADS, "# READ")), {})
    spin = report.get((str(script), line_no(THREADS, "# SPIN")), {"grown": 0})
    main = report.get((str(script), line_no(THREADS, "# MAIN")), {})
    assert read.get("grown", 0) >= 0.95 * 150 * MIB, (read, spin)
    assert spin["grown"] < 8 * MIB, spin
    assert main.get("grown", 0) >= 0.95 * 60 * MIB, main


ATTACH = textwrap.dedent("""\
    import sys, time
    print("ready", flush=True)
    sys.stdin.readline()
    d = bytearray(b"z") * (120 * 1024 * 1024)  # LATE
    print("done", flush=True)
    time.sleep(60)
""")


def test_attach_to_a_running_script(tmp_path, python):
    script = tmp_path / "attach.py"
    script.write_text(ATTACH)
    target = subprocess.Popen([python, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline() == "ready\n"
        out, lines = tmp_path / "trace.csv", tmp_path / "lines.txt"
        tracer = trace_pid(out, target.pid, "--lines", str(lines))
        target.stdin.write("go\n")
        target.stdin.flush()
        assert target.stdout.readline() == "done\n"
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0, err
    finally:
        target.kill()
        target.wait()
    late = parse_lines(lines.read_text()).get((str(script), line_no(ATTACH, "# LATE")), {})
    assert late.get("grown", 0) >= 0.95 * 120 * MIB, late


EXITS = textwrap.dedent("""\
    import os
    def alloc():
        return bytearray(b"e") * (80 * 1024 * 1024)  # ALLOC
    x = alloc()
    os._exit(0)
""")


def test_process_that_exits_right_after_allocating(tmp_path, python):
    script = tmp_path / "exits.py"
    script.write_text(EXITS)
    lines, folded = tmp_path / "lines.txt", tmp_path / "f.folded"
    proc, _ = trace(tmp_path, ["--lines", str(lines), "--folded", str(folded), "--", python,
                               str(script)])
    assert proc.returncode == 0, proc.stderr
    alloc = parse_lines(lines.read_text()).get((str(script), line_no(EXITS, "# ALLOC")), {})
    assert alloc.get("grown", 0) >= 0.95 * 80 * MIB, alloc
    assert f"alloc ({script}:{line_no(EXITS, '# ALLOC')})" in folded.read_text()


def test_non_python_process_one_warning_rows_unchanged(tmp_path):
    lines = tmp_path / "lines.txt"
    proc, rows = trace(tmp_path, ["-i", "1s", "--lines", str(lines), "--", "/bin/sleep", "0.2"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("--python") == 1, proc.stderr
    assert "no traced process ran CPython" in proc.stderr
    assert [r["event"] for r in rows] == ["start", "exit"]
    plain, plain_rows = trace(tmp_path, ["-i", "1s", "--", "/bin/sleep", "0.2"])
    assert [r["event"] for r in plain_rows] == [r["event"] for r in rows]
    assert "Filename:" not in lines.read_text()


def test_unknown_interpreter_one_warning(tmp_path):
    python = interpreter(_pyenv(10))
    proc, rows = trace(tmp_path, ["--python", "--", python, "-c", "x = b'a' * (50 << 20)"])
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if "--python" in l]
    assert len(warnings) == 1 and "3.10" in warnings[0], proc.stderr
    assert "not reported" in warnings[0]
    assert rows[-1]["event"] == "exit" and rows[-1]["peak_rss_bytes"] >= 50 * MIB


REUSE = textwrap.dedent("""\
    import gc
    keep, ids = [], []
    for i in range(6):
        src = "\\n" * (10 * i) + f"def f{i}():\\n    return bytearray(b'q') * ({20 + i} << 20)\\n"
        ns = {}
        exec(compile(src, f"gen{i}.py", "exec"), ns)
        ids.append(id(ns[f"f{i}"].__code__))
        keep.append(ns[f"f{i}"]())  # CALL
        del ns
        gc.collect()
    print(len(set(ids)), len(ids))
""")


def test_code_objects_reused_at_one_address(tmp_path, python):
    """Six functions compiled, run and freed in turn: their code objects come back at the
    same few addresses, and each allocation stays on its own function's line."""
    script = tmp_path / "reuse.py"
    script.write_text(REUSE)
    folded = tmp_path / "f.folded"
    proc, _ = trace(tmp_path, ["-q", "--folded", str(folded), "--", python, str(script)])
    assert proc.returncode == 0, proc.stderr
    distinct, total = map(int, proc.stdout.split())
    assert distinct < total, "no code object was reused at an address: nothing was tested"
    stacks = parse_folded(folded.read_text())
    for i in range(6):
        frame = f"f{i} (gen{i}.py:{10 * i + 2})"
        got = sum(n for s, n in stacks.items() if s.endswith(frame))
        assert got >= 0.95 * ((20 + i) << 20), (frame, got, stacks)


def test_bad_thread_way_is_a_usage_error():
    proc = run(["--python", "--", "/bin/true"], env=dict(os.environ, MEMTRACE_BPF_PY_THREAD="gil"))
    assert proc.returncode == 2, proc.stderr
    assert "MEMTRACE_BPF_PY_THREAD='gil': expected tss or list" in proc.stderr


def test_offsets_that_do_not_fit_one_warning(tmp_path, python):
    """The BPF side checks every frame's code object is a PyCode: offsets that do not describe
    the interpreter (read a word off here) stop the walk, one warning names the process, its
    reading stops, and its rows go on."""
    script = tmp_path / "known.py"
    script.write_text(KNOWN)
    lines = tmp_path / "lines.txt"
    proc, rows = trace(tmp_path, ["--lines", str(lines), "--", python, str(script)],
                       env=dict(os.environ, MEMTRACE_BPF_PY_OFFSETS="wrong"))
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if "warning: --python" in l]
    assert len(warnings) == 1, proc.stderr
    assert "frames do not match the offsets" in warnings[0] and "not reported" in warnings[0]
    assert f"Filename: {script}" not in lines.read_text()
    assert rows[-1]["event"] == "exit" and rows[-1]["peak_rss_bytes"] >= 290 * MIB


def test_bad_offsets_way_is_a_usage_error():
    proc = run(["--python", "--", "/bin/true"], env=dict(os.environ, MEMTRACE_BPF_PY_OFFSETS="x"))
    assert proc.returncode == 2, proc.stderr
    assert "MEMTRACE_BPF_PY_OFFSETS='x': expected wrong" in proc.stderr


def test_quiet_keeps_the_python_summary_off_stderr(tmp_path):
    """-q: nothing on stderr but errors, --python's summary and warnings included; the report
    files are still written."""
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "exits.py"
    script.write_text(EXITS)
    lines = tmp_path / "lines.txt"
    proc, _ = trace(tmp_path, ["-q", "--lines", str(lines), "--", python, str(script)])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert f"Filename: {script}" in lines.read_text()
    proc, _ = trace(tmp_path, ["-q", "--python", "--", "/bin/true"])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("option", ["--lines", "--folded"])
def test_report_that_cannot_be_written_fails_the_run(tmp_path, option):
    """A report file that cannot be written at the end: one error line, status 1."""
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "exits.py"
    script.write_text(EXITS)
    proc, rows = trace(tmp_path, [option, "/dev/full", "--", python, str(script)])
    assert proc.returncode == 1, proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("memtrace-bpf: ")
              and "writing to '/dev/full' failed" in l]
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    assert rows[-1]["event"] == "exit"


def test_flame_graph_from_folded(tmp_path):
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "known.py"
    script.write_text(KNOWN)
    folded, png = tmp_path / "s.folded", tmp_path / "flame.png"
    proc, _ = trace(tmp_path, ["--folded", str(folded), "--", python, str(script)])
    assert proc.returncode == 0, proc.stderr
    plot = subprocess.run([os.path.join(ROOT, "scripts", "memtrace-plot"), "--flame",
                           str(folded), "-o", str(png)], capture_output=True, text=True,
                          timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,status,message", [
    (["--lines", ""], 2, "--lines needs a file name"),
    (["--folded", ""], 2, "--folded needs a file name"),
    (["--lines", "/nonexistent-dir/lines.txt"], 1, "cannot write to '/nonexistent-dir/lines.txt'"),
    (["--folded", "/nonexistent-dir/f.folded"], 1, "cannot write to '/nonexistent-dir/f.folded'"),
])
def test_bad_report_paths(args, status, message):
    proc = run(args + ["--", "/bin/true"])
    assert proc.returncode == status, proc.stderr
    assert message in proc.stderr


CGROUP_SCRIPT = textwrap.dedent("""\
    import sys
    print("ready", flush=True)
    sys.stdin.readline()
    if sys.argv[1] == "early":
        e = bytearray(b"1") * (70 * 1024 * 1024)  # EARLY
    else:
        l = bytearray(b"2") * (90 * 1024 * 1024)  # LATE
""")


@pytest.mark.parametrize("target", ["-G", "-a"])
def test_whole_cgroup_and_whole_host(tmp_path, target):
    """-G and -a: a Python process running before tracing began (found by the scan of the
    running processes) and one started after (found at its exec) both get their lines."""
    from test_host import in_cgroup, make_cgroup, start_tracer, stop_tracer
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "cg.py"
    script.write_text(CGROUP_SCRIPT)
    path, _ = make_cgroup(1 if os.path.exists("/sys/fs/cgroup/memory") else 2, "py")
    procs = []
    try:
        early = in_cgroup(path, python, str(script), "early")
        procs.append(early)
        assert early.stdout.readline() == "ready\n"
        out, lines = tmp_path / "t.csv", tmp_path / "lines.txt"
        tracer = start_tracer(out, *([target, path] if target == "-G" else [target]),
                              "--lines", str(lines), "-i", "50ms")
        late = in_cgroup(path, python, str(script), "late")
        procs.append(late)
        assert late.stdout.readline() == "ready\n"
        for p in (early, late):
            p.stdin.write("go\n")
            p.stdin.flush()
            assert p.wait(timeout=60) == 0
        stop_tracer(tracer)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        from conftest import remove_cgroup
        remove_cgroup(path)
    report = parse_lines(lines.read_text())
    early_line = report.get((str(script), line_no(CGROUP_SCRIPT, "# EARLY")), {})
    late_line = report.get((str(script), line_no(CGROUP_SCRIPT, "# LATE")), {})
    assert early_line.get("grown", 0) >= 0.95 * 70 * MIB, early_line
    assert late_line.get("grown", 0) >= 0.95 * 90 * MIB, late_line
