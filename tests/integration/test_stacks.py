"""--stacks: the user stacks at sampled RSS growth, unwound (DWARF, or the frame pointers in
the kernel) and symbolized, checked against a workload whose stacks and sizes are known
(tests/workloads/stacks/), a Debian binary, CPython, and an OOM kill.

The workload (make workloads): main calls grow_exe (64 MiB in its own loop), lib_grow of
libstackgrow.so (128 MiB in the C library's memset), then f, which calls g (256 MiB in its
own loop). Its variants, each a directory with the executable and its library:
workloads/stackgrow (-g), stackgrow-nodebug/ (.symtab only), stackgrow-stripped/ (.dynsym
only), stackgrow-fp/ (frame pointers)."""
import collections
import os
import re
import shutil
import signal
import subprocess
import textwrap

import pytest

from conftest import MIB, check_process_rows, rows_of, run, trace, trace_pid, workload
from test_python import INTERPRETERS, SEED, interpreter

# what each function of the workload grows, in MiB, and the source file it is in
GROWN = {"grow_exe": (64, "stackgrow.c"), "lib_grow": (128, "stacklib.c"),
         "g": (256, "stackgrow.c")}
SUMMARY_HEADER = "Functions that grew memory most (sampled user stacks):"
OOM_HEADER = "its stack at the allocation that could not be served:"

Stack = collections.namedtuple("Stack", "comm frames bytes")  # frames: outermost first

# a native frame with line info: 'function (file.c:LINE)'; a Python frame is the same with the
# script's path: 'qualname (/path/to/file.py:LINE)' (or a frozen module's '<frozen ...>')
LINE_FRAME = re.compile(r"^(.*) \(([^()]*):(\d+|\?)\)$")
PY_FRAME = re.compile(r" \((?:/|<)[^()]*:(?:\d+|\?)\)$")


def parse_folded(text):
    """A --stacks folded file ('comm;outermost;...;innermost BYTES' a line, each stack once) as
    a list of Stack."""
    stacks, seen = [], set()
    for raw in text.splitlines():
        stack, sep, n = raw.rpartition(" ")
        assert sep and n.isdigit(), f"not a folded line: {raw!r}"
        assert stack not in seen, f"stack written twice: {raw!r}"
        seen.add(stack)
        comm, *frames = stack.split(";")
        assert comm and frames and all(frames), f"empty comm or frame: {raw!r}"
        stacks.append(Stack(comm, frames, int(n)))
    assert stacks, "empty folded file"
    return stacks


def read_folded(path):
    with open(path, errors="surrogateescape") as f:
        return parse_folded(f.read())


def name(frame):
    """The function of a frame: its text without ' (file:LINE)'."""
    m = LINE_FRAME.match(frame)
    return m.group(1) if m else frame


def names(stack):
    return [name(f) for f in stack.frames]


def with_function(stacks, fn):
    """The stacks with a frame of function fn."""
    return [s for s in stacks if fn in names(s)]


def total(stacks):
    return sum(s.bytes for s in stacks)


def self_bytes(stacks):
    """Bytes per innermost frame, largest first."""
    by = collections.Counter()
    for s in stacks:
        by[s.frames[-1]] += s.bytes
    return by.most_common()


def is_python(frame):
    return bool(PY_FRAME.search(frame))


def in_range(got, mib, low, high):
    return low * mib * MIB <= got <= high * mib * MIB


def summary_rows(stderr):
    """The rows of the summary's section of sampled stacks: the lines after its header up to a
    blank line, an unindented one, or the next section's (two spaces then a letter, or ending
    in ':')."""
    lines = stderr.splitlines()
    heads = [i for i, line in enumerate(lines) if line.strip() == SUMMARY_HEADER]
    assert len(heads) == 1, stderr
    rows = []
    for line in lines[heads[0] + 1:]:
        if line.split() == ["self", "total", "function"]:
            continue  # the columns' heading
        if not line.strip() or not line.startswith("  ") or line.endswith(":") or \
                re.match(r"  [A-Za-z\[]", line):
            break
        rows.append(line)
    assert rows, stderr
    return rows


def build_id_debug_file(path):
    """Whether the separate debug file of the ELF file at path is where elfutils looks for it by
    build ID (/usr/lib/debug/.build-id/xx/yyyy.debug, e.g. libc6-dbg's)."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return bool(m) and os.path.exists(
        f"/usr/lib/debug/.build-id/{m.group(1)[:2]}/{m.group(1)[2:]}.debug")


def libc_of(exe):
    out = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*libc\.so\.6 => (\S+)", out, re.M)
    assert m, out
    return os.path.realpath(m.group(1))


def memset_frame(frame, libc_named):
    """A frame of the C library's memset: named when libc's debug file is installed (the
    implementation its IFUNC picks is in no .dynsym), else libc.so.6+0x..."""
    return bool(re.search("memset|memmove", name(frame))) or \
        (not libc_named and frame.startswith("libc.so.6+0x"))


def symbols(path):
    """{name: (address, size)} of the functions in an ELF file's .symtab."""
    out = subprocess.run(["nm", "-S", path], capture_output=True, text=True, check=True).stdout
    return {m.group(3): (int(m.group(1), 16), int(m.group(2), 16))
            for m in re.finditer(r"^([0-9a-f]+) ([0-9a-f]+) [tT] (\S+)$", out, re.M)}


def check_workload_stacks(stacks, low, high, debug=True):
    """The three growths of stackgrow, each within [low, high] of its size, on their known
    call paths: main;grow_exe, main;lib_grow;memset, main;f;g. With debug, each frame of the
    workload carries its file:line."""
    libc_named = build_id_debug_file(libc_of(workload("stackgrow")))
    for fn, (mib, src) in GROWN.items():
        mine = with_function(stacks, fn)
        got = total(mine)
        assert in_range(got, mib, low, high), (fn, got / MIB, [s for s in stacks if s.bytes > MIB])
        for s in mine:
            assert s.comm == "stackgrow", s
            frame = s.frames[names(s).index(fn)]
            if debug:
                assert re.fullmatch(re.escape(fn) + r" \(" + re.escape(src) + r":\d+\)", frame), s
            else:
                assert frame == fn, s
    # main outer, g innermost, in that order on every stack of g; nearly all of g's bytes on
    # exactly main;f;g (f neither inlined nor a tail call)
    for s in with_function(stacks, "g"):
        n = names(s)
        assert "main" in n and "f" in n and n.index("main") < n.index("f") < n.index("g"), s
    assert total(s for s in stacks if names(s)[-3:] == ["main", "f", "g"]) >= low * 256 * MIB, \
        with_function(stacks, "g")
    assert total(s for s in stacks if names(s)[-2:] == ["main", "grow_exe"]) >= low * 64 * MIB, \
        with_function(stacks, "grow_exe")
    # lib_grow directly outer of the C library's memset, its innermost frame(s)
    in_memset = 0
    for s in with_function(stacks, "lib_grow"):
        n = names(s)
        i = n.index("lib_grow")
        inner = s.frames[i + 1:]
        if i > 0 and n[i - 1] == "main" and inner and \
                all(memset_frame(f, libc_named) for f in inner):
            in_memset += s.bytes
    assert in_memset >= low * 128 * MIB, with_function(stacks, "lib_grow")


# ---------------------------------------------------------------- the known workload

def test_every_16k_each_function_charged_its_bytes(tmp_path):
    """A stack every 16 KiB grown (on average): each function within -5 %..+10 % of what it
    grew, on its call path, with file:line; the CSV is as without --stacks."""
    folded = tmp_path / "stacks.folded"
    proc, rows = trace(tmp_path, ["--stacks", "--stack-every", "16K", "--folded", str(folded),
                                  "--", workload("stackgrow")])
    assert proc.returncode == 0, proc.stderr
    check_process_rows(rows)
    assert rows[0]["event"] == "start" and rows[-1]["event"] == "exit", rows
    assert max(r["peak_rss_bytes"] for r in rows_of(rows, rows[0]["pid"])) >= 0.95 * 448 * MIB
    check_workload_stacks(read_folded(folded), 0.95, 1.10)


def test_default_sampling_within_15_percent(tmp_path):
    """The default (a stack every 256 KiB on average, each weighted by what it stands for):
    the same three within 15 %, and the summary lists g among the functions that grew most."""
    folded = tmp_path / "stacks.folded"
    proc, rows = trace(tmp_path, ["--stacks", "--folded", str(folded), "--",
                                  workload("stackgrow")])
    assert proc.returncode == 0, proc.stderr
    check_process_rows(rows)
    check_workload_stacks(read_folded(folded), 0.85, 1.15)
    summary = summary_rows(proc.stderr)
    # a function counts whole there, whatever its lines: named with its source file
    assert any(r.split()[-2:] == ["g", "(stackgrow.c)"] for r in summary), summary


def test_process_that_exits_right_after_allocating(tmp_path):
    """_exit right after g's growth: its files are still symbolized (name and file:line)."""
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks", "--folded", str(folded), "--",
                               workload("stackgrow"), "--exit-now"])
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    on_g = [s for s in stacks if s.frames[-1].startswith("g (stackgrow.c:")]
    assert total(on_g) >= 0.85 * 256 * MIB, stacks
    assert all(names(s)[-3:] == ["main", "f", "g"] for s in on_g), on_g
    unsymbolized = [f for s in stacks for f in s.frames
                    if f.startswith(("stackgrow+0x", "libstackgrow.so+0x"))]
    assert not unsymbolized, unsymbolized


def test_symbols_without_debug_info(tmp_path):
    """strip --strip-debug: .symtab names every function, with no file:line."""
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks", "--stack-every", "16K", "--folded", str(folded),
                               "--", workload("stackgrow-nodebug/stackgrow")])
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    check_workload_stacks(stacks, 0.95, 1.10, debug=False)
    assert not [f for s in stacks for f in s.frames
                if "(stackgrow.c:" in f or "(stacklib.c:" in f], stacks
    assert total(s for s in stacks if "[unknown]" not in s.frames) >= 0.9 * total(stacks)


def test_stripped_executable_module_offsets(tmp_path):
    """strip --strip-all: the library's lib_grow is named from .dynsym; the executable's
    static functions are stackgrow+0xOFFSET, unwound through all the same (.eh_frame), each
    offset inside its function (the code is where it was before the strip); main is named by
    its caller."""
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks", "--stack-every", "16K", "--folded", str(folded),
                               "--", workload("stackgrow-stripped/stackgrow")])
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    exe = re.compile(r"stackgrow\+0x([0-9a-f]+)")
    everything = {name(f) for s in stacks for f in s.frames}
    assert not everything & {"g", "f", "grow_exe"}, everything
    # lib_grow, called from the executable's main: stripped, main is named by its caller in
    # glibc (__libc_start_call_main calls main and nothing else)
    lib = with_function(stacks, "lib_grow")
    assert in_range(total(lib), 128, 0.95, 1.10), lib
    for s in lib:
        i = s.frames.index("lib_grow")
        assert i > 1 and s.frames[i - 1] == "main", s
        assert s.frames[i - 2].startswith("__libc_start_call_main"), s
    # main;f;g: main then two frames of the executable innermost; g's bytes, at addresses
    # inside g and f of the unstripped build
    on_g = [s for s in stacks
            if len(s.frames) >= 3 and s.frames[-3] == "main"
            and all(exe.fullmatch(f) for f in s.frames[-2:])]
    assert in_range(total(on_g), 256, 0.95, 1.10), stacks
    syms = symbols(workload("stackgrow"))
    text = subprocess.run(["readelf", "-lW", workload("stackgrow")], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"LOAD\s+0x0*1000\s+0x0*1000\s+", text), \
        "the executable's code is not at file offset = address: fix this check"
    for s in on_g:
        for frame, fn in zip(s.frames[-2:], ("f", "g")):
            offset = int(exe.fullmatch(frame).group(1), 16)
            start, size = syms[fn]
            assert start <= offset <= start + size, (fn, hex(start), hex(size), s)
    # grow_exe's bytes: main then one frame of the executable
    on_exe = [s for s in stacks
              if len(s.frames) >= 2 and s.frames[-2] == "main" and exe.fullmatch(s.frames[-1])]
    assert in_range(total(on_exe), 64, 0.95, 1.10), stacks
    assert total(s for s in stacks if "[unknown]" not in s.frames) >= 0.9 * total(stacks)


def test_frame_pointer_walk(tmp_path):
    """--stacks=fp on the build with frame pointers: main;f;g and main;grow_exe walked in the
    kernel. (memset keeps none: lib_grow is not expected under it.)"""
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks=fp", "--folded", str(folded), "--",
                               workload("stackgrow-fp/stackgrow")])
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    for s in with_function(stacks, "g"):
        n = names(s)
        assert "main" in n and "f" in n and n.index("main") < n.index("f") < n.index("g"), s
    assert in_range(total(s for s in stacks if names(s)[-3:] == ["main", "f", "g"]), 256,
                    0.85, 1.15), stacks
    assert in_range(total(s for s in stacks if names(s)[-2:] == ["main", "grow_exe"]), 64,
                    0.85, 1.15), stacks
    assert all(re.fullmatch(r"g \(stackgrow\.c:\d+\)", s.frames[-1])
               for s in stacks if names(s)[-1] == "g"), stacks


# ---------------------------------------------------------------- other programs

def reaches_main(stack, exe):
    """A stack unwound as far as main: a frame named main, or (the program has no symbols: a
    stripped Debian binary without its -dbgsym) a frame of the program inner of the C
    library's __libc_start_main/__libc_start_call_main, which is main."""
    n = names(stack)
    if "main" in n:
        return True
    starts = [i for i, x in enumerate(n) if x.startswith("__libc_start")]
    return bool(starts) and any(f.startswith(exe + "+0x") for f in stack.frames[starts[0] + 1:])


def test_debian_binary(tmp_path):
    """sort(1) as Debian ships it (no .symtab): its lines of 1000 characters are read into its
    buffer by the C library's read (the largest part by far: its table of lines is small), the
    stacks unwound through sort's code by its .eh_frame down to main."""
    sort = shutil.which("sort") or "/usr/bin/sort"
    data = tmp_path / "lines.txt"
    with open(data, "w") as f:
        f.write(os.urandom(40 * MIB).hex("\n", 500) + "\n")  # 84 MB, 80k lines
    size = data.stat().st_size
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks", "--folded", str(folded), "--", sort, "--parallel=1",
                               "-S", "400M", "-o", "/dev/null", str(data)],
                    env=dict(os.environ, LC_ALL="C"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    assert total(stacks) >= 0.9 * size, (total(stacks), size)
    top, top_bytes = self_bytes(stacks)[0]
    assert "+0x" not in top and top != "[unknown]", self_bytes(stacks)[:5]
    assert top_bytes >= 0.8 * size, self_bytes(stacks)[:5]
    reached = total(s for s in stacks if reaches_main(s, os.path.basename(sort)))
    assert reached >= 0.9 * total(stacks), [s for s in stacks if s.bytes > MIB]
    assert name(top) in summary_rows(proc.stderr)[0], (top, proc.stderr)


def test_a_small_stack_copy_cuts_the_stacks_and_says_so(tmp_path):
    """--stack-size 512 on sort: its frames are larger than that, so the unwinding stops at the
    copy's end, short of main, and the summary says to copy more; 16K reaches main."""
    sort = shutil.which("sort") or "/usr/bin/sort"
    data = tmp_path / "lines.txt"
    with open(data, "w") as f:
        f.write(os.urandom(8 * MIB).hex("\n", 500) + "\n")
    reached = {}
    for size in ("512", "16K"):
        folded = tmp_path / f"{size}.folded"
        proc, _ = trace(tmp_path, ["--stacks", "--stack-size", size, "--folded", str(folded),
                                   "--", sort, "--parallel=1", "-S", "100M", "-o", "/dev/null",
                                   str(data)], env=dict(os.environ, LC_ALL="C"))
        assert proc.returncode == 0, proc.stderr
        assert f"{int(size.rstrip('K')) * (1024 if size.endswith('K') else 1)} bytes of stack " \
               "copied" in proc.stderr, proc.stderr
        stacks = read_folded(folded)
        reached[size] = total(s for s in stacks if reaches_main(s, "sort")) / total(stacks)
        cut = re.search(r"([0-9]+) stacks stopped at the end of the stack copy: a larger "
                        r"--stack-size reaches further", proc.stderr)
        if size == "512":
            assert cut and int(cut.group(1)) > 0, proc.stderr
    assert reached["512"] < 0.5 and reached["16K"] >= 0.9, reached


GROW_ON_GO = textwrap.dedent("""\
    import sys
    print("ready", flush=True)
    sys.stdin.readline()
    held = bytearray(b"x") * (96 * 1024 * 1024)
    print("done", flush=True)
    sys.stdin.readline()
""")


@pytest.mark.parametrize("maps", ["kernel", "proc"])
def test_a_running_process_is_unwound_from_its_proc_maps(tmp_path, maps):
    """-p on a process that mapped its files before tracing began: they are read from
    /proc/PID/maps at its first stack (the kernel's mmap records start with the trace). With
    MEMTRACE_BPF_MAPS=proc, as where the kernel gives no mmap records: the same, and a warning
    that says what is lost."""
    python = interpreter("/usr/bin/python3.11")
    script = tmp_path / "grow.py"
    script.write_text(GROW_ON_GO)
    env = dict(os.environ)
    if maps == "proc":
        env["MEMTRACE_BPF_MAPS"] = "proc"
    target = subprocess.Popen([python, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    folded = tmp_path / "stacks.folded"
    try:
        assert target.stdout.readline() == "ready\n"
        out = tmp_path / "trace.csv"
        tracer = trace_pid(out, target.pid, "--stacks", "--folded", str(folded), env=env)
        target.stdin.write("go\n")
        target.stdin.flush()
        assert target.stdout.readline() == "done\n"
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0, err
    finally:
        target.kill()
        target.wait()
    assert ("MEMTRACE_BPF_MAPS=proc" in err) == (maps == "proc"), err
    stacks = read_folded(folded)
    assert total(stacks) >= 0.9 * 96 * MIB, stacks
    # the bytearray's bytes: written by the C library's memset, called from the interpreter,
    # unwound through it (Debian's python3.11 tail-calls Py_BytesMain from main) to the start
    named = [s for s in stacks if "[unknown]" not in s.frames
             and any(n.startswith("__libc_start_call_main") for n in names(s))
             and "Py_BytesMain" in names(s)]
    assert total(named) >= 0.9 * total(stacks), stacks


@pytest.fixture(params=INTERPRETERS, ids=[label for label, _ in INTERPRETERS])
def any_python(request):
    """Each interpreter test_python.py runs: Debian's and pyenv's."""
    return interpreter(request.param[1])


def test_python_frames_replace_the_eval_loop(tmp_path, any_python):
    """--stacks with --python: the interpreter's _PyEval_EvalFrameDefault frames give way to the
    Python frames they run, native frames around them. The seed's 10**7 ints (28 bytes, each a
    32-byte block of CPython's allocator) are made by native code the list comprehension calls;
    the list's 80 MB of pointers are written by the eval loop itself (its innermost frame is
    then Python's: with it, about 20 % of the growth). Every interpreter: 3.11 marks the frame
    an eval call begins with, 3.12 and 3.13 push a shim frame under it (and run the
    comprehension inline, in <module>)."""
    script = tmp_path / "seed.py"
    script.write_text(SEED)
    folded = tmp_path / "stacks.folded"
    proc, _ = trace(tmp_path, ["--stacks", "--python", "--folded", str(folded), "--", any_python,
                               str(script), str(10**7)])
    assert proc.returncode == 0, proc.stderr
    stacks = read_folded(folded)
    seed = [s for s in stacks if any(f.endswith(f"{script}:2)") for f in s.frames)]
    # what the process grew before its interpreter was found (a few ms after exec: longer on a
    # slow build, when the comprehension may have begun) has no Python frames: the seed's line
    # is most of what has them, and most of its ~350 MiB is found
    with_python = [s for s in stacks if any(is_python(f) for f in s.frames)]
    assert total(seed) >= 0.9 * total(with_python), (total(seed), total(with_python))
    assert total(seed) >= 200 * MIB, total(seed)
    # the Python frames as the Python report writes them, <module> outermost
    assert any(f"<module> ({script}:2)" in s.frames for s in seed), seed[:5]
    # the ints (32 of every 40 bytes grown) under native frames; the list's pointers written
    # by the eval loop itself, under the Python line
    native_inner = [s for s in seed if not is_python(s.frames[-1])]
    assert total(native_inner) >= 0.65 * total(seed), (total(native_inner), total(seed))
    # no eval frame left: not between two Python frames anywhere, none at all on the seed's
    for s in stacks:
        py = [i for i, f in enumerate(s.frames) if is_python(f)]
        if py:
            between = [f for f in s.frames[py[0]:py[-1]] if "_PyEval_EvalFrameDefault" in f]
            assert not between, s
    assert not [s for s in seed if any("_PyEval_EvalFrameDefault" in f for f in s.frames)], seed


def test_oom_report_has_the_native_stack(tmp_path):
    """g grows past -m: the OOM report gives the stack at the allocation that failed,
    innermost first: g, then f, then main."""
    proc, rows = trace(tmp_path, ["-m", "100M", "--stacks", "--", workload("stackgrow"),
                                  "--mib", "0,0,400"], timeout=180)
    assert proc.returncode == 137, proc.stderr
    kills = [r for r in rows if r["event"] == "oom_kill"]
    assert len(kills) == 1 and kills[0]["comm"] == "stackgrow", rows
    lines = proc.stderr.splitlines()
    heads = [i for i, line in enumerate(lines) if OOM_HEADER in line]
    assert len(heads) == 1, proc.stderr
    # its frames: the lines after it, up to a blank one, one less indented, or another header
    indent = len(lines[heads[0]]) - len(lines[heads[0]].lstrip())
    frames = []
    for line in lines[heads[0] + 1:]:
        if line.split() == ["self", "total", "function"]:
            continue  # the columns' heading
        if not line.strip() or len(line) - len(line.lstrip()) < indent or line.endswith(":"):
            break
        frames.append(line)

    def at(fn):
        found = [i for i, line in enumerate(frames)
                 if re.search(r"(?<![\w.])" + fn + r" \(stackgrow\.c:\d+\)", line)]
        assert found, (fn, frames)
        return found[0]

    assert at("g") == 0 and at("g") < at("f") < at("main"), frames


# ---------------------------------------------------------------- the command line

@pytest.mark.parametrize("args,mention", [
    pytest.param(["--stacks=bogus"], "bogus", id="mode-bogus"),
    pytest.param(["--stacks", "--stack-size", "100"], "100", id="size-below-512"),
    pytest.param(["--stacks", "--stack-size", "70000"], "70000", id="size-above-65528"),
    pytest.param(["--stacks", "--stack-size", "1001"], "1001", id="size-not-multiple-of-8"),
    pytest.param(["--stack-size", "4K"], "--stack-size", id="size-without-stacks"),
    pytest.param(["--stacks=fp", "--stack-size", "8K"], "--stack-size", id="size-with-fp"),
    pytest.param(["--stacks", "--stack-every", "1K"], "1K", id="every-below-4K"),
    pytest.param(["--stacks", "--stack-every", "2G"], "2G", id="every-above-1G"),
    pytest.param(["--stack-every", "64K"], "--stack-every", id="every-without-stacks"),
    pytest.param(["--stacks", "--repeat", "2"], "--stacks reports one run", id="with-repeat"),
    pytest.param(["--stacks", "--find-min-limit"], "--stacks reports one run",
                 id="with-find-min-limit"),
])
def test_bad_stack_options_are_usage_errors(args, mention):
    proc = run(args + ["--", "/bin/true"], timeout=30)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memtrace-bpf: "), proc.stderr
    assert mention in lines[0], proc.stderr


def test_bad_maps_way_is_a_usage_error():
    proc = run(["--stacks", "--", "/bin/true"], env=dict(os.environ, MEMTRACE_BPF_MAPS="perf"),
               timeout=30)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines == ["memtrace-bpf: MEMTRACE_BPF_MAPS='perf': expected proc"], proc.stderr


def test_folded_stacks_that_cannot_be_written_fail_the_run(tmp_path):
    """The folded stacks cannot be written at the end: one error line, status 1, the rows
    complete."""
    proc, rows = trace(tmp_path, ["--stacks", "--folded", "/dev/full", "--",
                                  workload("stackgrow"), "--mib", "4,4,4"])
    assert proc.returncode == 1, proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("memtrace-bpf: ")
              and "writing to '/dev/full' failed" in l]
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    assert rows[-1]["event"] == "exit"


@pytest.mark.parametrize("args", [
    pytest.param(["--stacks=dwarf", "--stack-size", "512", "--stack-every", "4K"], id="low-ends"),
    pytest.param(["--stacks", "--stack-size", "65528", "--stack-every", "1G"], id="high-ends"),
    pytest.param(["--stacks=fp", "--stack-every", "4K"], id="fp"),
])
def test_stack_options_at_their_bounds_are_accepted(tmp_path, args):
    """The other side of the usage errors: the bounds themselves are accepted."""
    proc, rows = trace(tmp_path, args + ["--", "/bin/true"])
    assert proc.returncode == 0, proc.stderr
    assert rows and rows[0]["event"] == "start" and rows[-1]["event"] == "exit", rows
