"""Hardening: a full disk, a read-only or vanished output directory, a symlink or a file planted
in a shared sticky directory, the file mode under umask 0, the identity of a command launched
through sudo, and SIGKILL of the tracer in every mode. Real binary, live kernel, real mounts,
users and cgroups; no mocks.

Every process these tests start runs in a session of its own (start_new_session), so whatever
it leaves behind is found by its session id and killed by pid: nothing is killed by name."""
import contextlib
import csv
import grp
import io
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import (BIN, COLUMNS, INT_COLUMNS, bpf_objects_of, leaked_programs, memory_cgroup,
                      parse_csv, remove_cgroup, rows_of, wait_for, workload)

PREFIX = "memtrace-bpf: "
ENOSPC_TEXT = os.strerror(28)  # "No space left on device"


# ---------------------------------------------------------------- helpers

def clean_env(**extra):
    """The environment without sudo's variables (unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env.update(extra)
    return env


def one_error_line(stderr, *mentions):
    """stderr is exactly one line, starting 'memtrace-bpf: ' and naming every mention."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    assert lines[0].startswith(PREFIX), lines
    for m in mentions:
        assert m in lines[0], (m, lines[0])
    return lines[0]


@contextlib.contextmanager
def tmpfs(path, size="64k", ro=False):
    """A tmpfs of `size` mounted at path (created), unmounted (lazily if busy) at the end."""
    os.makedirs(path, exist_ok=True)
    opts = f"size={size},mode=0755" + (",ro" if ro else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "memtrace-test", str(path)], check=True)
    try:
        yield path
    finally:
        unmount(path)


def unmount(path):
    if subprocess.run(["mountpoint", "-q", str(path)]).returncode != 0:
        return
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True)


def session_members(sid):
    """Live (not zombie) processes of session sid."""
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after the comm: state ppid pgrp session
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(e))
    return found


def kill_session(sid):
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Tracer:
    """memtrace-bpf ARGS in a session of its own, stdout and stderr to files (a command left
    running must not hold a pipe of ours open)."""

    def __init__(self, tmp_path, args, env=None, name="tracer"):
        self.out_path = tmp_path / f"{name}.stdout"
        self.err_path = tmp_path / f"{name}.stderr"
        with open(self.out_path, "w") as o, open(self.err_path, "w") as e:
            self.proc = subprocess.Popen([BIN] + list(args), stdout=o, stderr=e,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=env if env is not None else clean_env())
        self.pid = self.proc.pid

    def wait(self, timeout=60):
        self.proc.wait(timeout=timeout)
        return self.proc.returncode

    @property
    def stdout(self):
        return self.out_path.read_text()

    @property
    def stderr(self):
        return self.err_path.read_text()

    def cleanup(self):
        """Kill the tracer (if still running) and everything left in its session."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        kill_session(self.pid)


def bpf_loaded(kind):
    """Ids of every BPF program/map/link loaded now (bpftool KIND show)."""
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                         check=True).stdout
    return {o["id"] for o in json.loads(out or "[]")}


def wait_holding_bpf(tracer, timeout=30):
    """Until the tracer holds its programs, maps and links; returns them."""
    objs = {}

    def held():
        nonlocal objs
        objs = bpf_objects_of(tracer.pid)
        return tracer.proc.poll() is not None or all(objs.values())
    assert wait_for(held, timeout=timeout), objs
    assert tracer.proc.poll() is None, (tracer.proc.returncode, tracer.stderr)
    return objs


def assert_bpf_gone(objs, timeout=8):
    """None of these programs, maps or links is loaded any more (ids are not reused soon), and
    no program of ours is left that no live memtrace-bpf holds."""
    assert objs["prog"] and objs["map"] and objs["link"], objs

    def left():
        return {kind: ids & bpf_loaded(kind) for kind, ids in objs.items()
                if ids & bpf_loaded(kind)}
    assert wait_for(lambda: not left(), timeout=timeout, step=0.2), \
        f"still loaded after the tracer is gone: {left()}"
    assert wait_for(lambda: not leaked_programs(), timeout=timeout), leaked_programs()


def file_lines(path):
    try:
        with open(path, newline="") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for_text(tracer, path, needle, timeout=30):
    """Until the output holds needle (the tracer is attached and writing)."""
    assert wait_for(lambda: tracer.proc.poll() is not None or needle in file_lines(path),
                    timeout=timeout), file_lines(path)[-500:]
    assert tracer.proc.poll() is None, (tracer.proc.returncode, tracer.stderr)


def csv_records(text):
    """Records of a complete CSV file (RFC 4180, quoted newlines allowed): the text ends with a
    newline, no quoted field is left open, every record has the 15 columns and parses."""
    assert text.endswith("\n"), f"last line incomplete: {text[-200:]!r}"
    records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert records and records[0] == COLUMNS, records[:1]
    bad = [r for r in records if len(r) != len(COLUMNS)]
    assert not bad, bad[:3]
    rows = parse_csv(text)  # every integer column is an integer
    assert all(r["event"] in ("start", "sample", "exit", "oom_kill", "limit") for r in rows)
    return rows


def jsonl_rows(text):
    """Rows of a complete JSON-lines file: every line ends with a newline and is one object
    with the 15 keys in order, integers as integers."""
    assert text.endswith("\n"), f"last line incomplete: {text[-200:]!r}"
    rows = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert list(obj) == COLUMNS, line
        for c in INT_COLUMNS:
            assert isinstance(obj[c], int), (c, line)
        rows.append(obj)
    assert rows
    return rows


def summary_rows_written(stderr):
    counts = {int(n) for n in re.findall(r"(\d+) rows written to ", stderr)}
    assert len(counts) == 1, stderr
    return counts.pop()


def own_memory_cgroup_dir():
    found = memory_cgroup()
    if not found:
        pytest.skip("no memory cgroup controller (v1 or v2) on this machine")
    version, mount, path = found
    return version, os.path.join(mount, path.lstrip("/"))


# ---------------------------------------------------------------- 1. a full disk (ENOSPC)

@pytest.mark.parametrize("fmt,limit", [("csv", []), ("jsonl", []), ("csv", ["-m", "64M"])],
                         ids=["csv", "jsonl", "csv-m64M"])
def test_full_disk_command(tmp_path, fmt, limit):
    """-o on a 64 KiB tmpfs that the run fills: one error line naming the file and ENOSPC,
    status 1, only complete lines in the file, every BPF object gone, and the command does not
    outlive the failed tracer. SPEC gives COMMAND mode the command's status and 1 to a failed
    trace; a status 1 while the command goes on would hand the caller an orphan nobody waits
    for (a script's next step runs beside it), untraced -- and with -m moved out of its
    limited cgroup, so no longer limited either. perf record, which SPEC names as the model,
    does not leave its workload behind when recording fails."""
    mnt = tmp_path / "full"
    with tmpfs(mnt, "64k"):
        out = mnt / f"trace.{fmt}"
        tracer = Tracer(tmp_path, ["-q", "--every", "-i", "10ms", "-F", fmt, "-o", str(out)] +
                        limit + ["--", workload("touch"), "1", "--hold", "30000"])
        try:
            wait_for_text(tracer, out, "touch")
            objs = wait_holding_bpf(tracer)
            command = [p for p in session_members(tracer.pid) if p != tracer.pid]
            assert len(command) == 1, command
            status = tracer.wait(timeout=90)
            text = file_lines(out)

            assert status == 1, (status, tracer.stderr)
            assert wait_for(lambda: not alive(command[0]), timeout=10), \
                f"the command (pid {command[0]}) is left running after memtrace-bpf failed " \
                f"with status {status}"
            one_error_line(tracer.stderr, str(out), ENOSPC_TEXT)
            rows = csv_records(text) if fmt == "csv" else jsonl_rows(text)
            assert len(rows) > 100, "the run did not fill the disk with rows first"
            assert all(r["pid"] == command[0] for r in rows), {r["pid"] for r in rows}
            # the disk is full: no further whole row would have fitted
            assert os.path.getsize(out) > 64 * 1024 - 4096, os.path.getsize(out)
            assert_bpf_gone(objs)
        finally:
            tracer.cleanup()


# most of a row's bytes follow the name's first newline: a cut at a newline instead of at a
# record's end leaves a quoted field open
HOSTILE_NAMES = ["\na", "\n\n\n\n\n\n\n\n", '\nq"\n,z\n', '\nx,"y"']


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_full_disk_hostile_names(tmp_path, fmt):
    """Processes whose names hold newlines, quotes and commas, traced until a small tmpfs is
    full: the file is cut back to whole records (a CSV record may span lines: a newline inside
    a quoted name is not a record's end), and the summary's row count is what the file holds.
    Fills of four sizes, so the cut falls at different places in a record."""
    touch = workload("touch")
    # held 15 s: far longer than a fill takes, short if the tracer waits for its command
    script = "".join(f'"$0" 1 --name "${i + 1}" --hold 15000 & '
                     for i in range(len(HOSTILE_NAMES)))
    for fill, size in enumerate(["12k", "16k", "20k", "24k"]):
        mnt = tmp_path / f"full{fill}"
        with tmpfs(mnt, size):
            out = mnt / f"trace.{fmt}"
            tracer = Tracer(tmp_path, ["--every", "-i", "10ms", "-F", fmt, "-o", str(out),
                                       "--", "sh", "-c", script + "wait", touch] + HOSTILE_NAMES,
                            name=f"t{fill}")
            try:
                status = tracer.wait(timeout=90)
            finally:
                tracer.cleanup()
            text = file_lines(out)
            stderr = tracer.stderr
            assert status == 1, (status, stderr)
            errors = [l for l in stderr.splitlines() if ENOSPC_TEXT in l]
            assert len(errors) == 1 and errors[0].startswith(PREFIX), stderr
            assert str(out) in errors[0], errors
            rows = csv_records(text) if fmt == "csv" else jsonl_rows(text)
            assert len(rows) > 10, text
            comms = {r["comm"] for r in rows}
            assert comms <= set(HOSTILE_NAMES) | {"sh", "touch"}, comms
            assert comms & set(HOSTILE_NAMES), comms
            assert summary_rows_written(stderr) == len(rows), \
                f"the summary counts rows that are not in the file ({len(rows)} are)"
            assert os.path.getsize(out) > int(size[:-1]) * 1024 - 1024, "the disk is not full"


def test_pid_with_newline_in_its_name(tmp_path):
    """-p takes a process whose name holds a newline (/proc/PID/stat then spans two lines):
    it is traced under its name, not refused as 'no process'."""
    name = "evil\nname"
    target = subprocess.Popen([workload("touch"), "1", "--name", name, "--hold", "60000"],
                              stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(lambda: open(f"/proc/{target.pid}/comm").read() == name + "\n")
        out = tmp_path / "trace.csv"
        proc = subprocess.run([BIN, "-q", "-d", "500ms", "-o", str(out), "-p", str(target.pid)],
                              capture_output=True, text=True, timeout=60, env=clean_env())
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        mine = rows_of(csv_records(out.read_text()), target.pid)
        assert mine and mine[0]["event"] == "start", mine
        assert {r["comm"] for r in mine} == {name}, mine
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()


# ---------------------------------------------------------------- 2. read-only, vanished

@contextlib.contextmanager
def read_only_dir(tmp_path, kind):
    if kind == "ro-tmpfs":
        with tmpfs(tmp_path / "ro", "64k", ro=True) as d:
            yield d
        return
    src, dst = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    dst.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(dst)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(dst)], check=True)
        yield dst
    finally:
        unmount(dst)
    assert not os.listdir(src), "something was written through the read-only bind mount"


@pytest.mark.parametrize("kind", ["ro-tmpfs", "ro-bind"])
@pytest.mark.parametrize("target", ["command", "all"])
def test_read_only_output_dir(tmp_path, kind, target):
    """The error comes at start, before anything is loaded or run: one line naming the file
    and EROFS, status 1, no file; the command never ran; with -v nothing was loaded."""
    marker = tmp_path / "ran"
    with read_only_dir(tmp_path, kind) as d:
        out = d / "trace.csv"
        targ = ["--", "sh", "-c", f"touch {marker}"] if target == "command" else ["-a"]
        for verbose in ([], ["-v"]):
            proc = subprocess.run([BIN, "-o", str(out)] + verbose + targ, capture_output=True,
                                  text=True, timeout=60, env=clean_env())
            assert proc.returncode == 1, (proc.returncode, proc.stderr)
            errors = [l for l in proc.stderr.splitlines() if str(out) in l]
            assert len(errors) == 1 and errors[0].startswith(PREFIX), proc.stderr
            assert os.strerror(30) in errors[0], errors  # "Read-only file system"
            if not verbose:
                one_error_line(proc.stderr)
            else:
                loading = [l for l in proc.stderr.splitlines() if l != errors[0]
                           and re.search(r"attach|libbpf|tp_btf|loaded|map", l)]
                assert not loading, f"it got as far as loading BPF: {loading}"
            assert proc.stdout == ""
            assert not out.exists()
            assert not marker.exists(), "the command ran although nothing could be written"


@pytest.mark.parametrize("how", ["umount-lazy", "rmdir"])
def test_output_dir_vanishes(tmp_path, how):
    """The output directory disappears while tracing: its tmpfs is lazily unmounted, or the
    file is unlinked and its directory removed. The open file stays valid, so the run goes on
    and stops cleanly on SIGINT (status 0, nothing on stderr with -q) with complete lines, all
    written (read through an fd kept on the file) -- or, if the product chose to notice, exactly
    one error line and status 1. Either way nothing is left loaded."""
    mnt = tmp_path / "mnt"
    target = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        with tmpfs(mnt, "4m"):
            (mnt / "sub").mkdir()
            out = mnt / "sub" / "trace.csv"
            tracer = Tracer(tmp_path, ["-q", "--every", "-i", "20ms", "-o", str(out),
                                       "-p", str(target.pid)])
            keep = None
            try:
                wait_for_text(tracer, out, ",sample,")
                objs = wait_holding_bpf(tracer)
                fd = [f for f in os.listdir(f"/proc/{tracer.pid}/fd")
                      if os.readlink(f"/proc/{tracer.pid}/fd/{f}") == str(out)]
                assert len(fd) == 1, fd
                keep = os.open(f"/proc/{tracer.pid}/fd/{fd[0]}", os.O_RDONLY)
                if how == "umount-lazy":
                    subprocess.run(["umount", "-l", str(mnt)], check=True)
                else:
                    os.unlink(out)
                    os.rmdir(mnt / "sub")
                assert not out.exists()
                vanished = time.time()
                time.sleep(1)
                tracer.proc.send_signal(signal.SIGINT)
                status = tracer.wait(timeout=30)
                with os.fdopen(os.dup(keep), newline="") as f:
                    f.seek(0)
                    text = f.read()
            finally:
                if keep is not None:
                    os.close(keep)
                tracer.cleanup()
        assert status in (0, 1), (status, tracer.stderr)
        if status == 0:
            assert tracer.stderr == "", tracer.stderr
            rows = csv_records(text)
            mine = rows_of(rows, target.pid)
            assert mine[0]["event"] == "start"
            # it went on writing after the directory was gone, and that reached the file
            assert max(r["unix_time"] for r in mine) > vanished, mine[-3:]
        else:
            one_error_line(tracer.stderr, str(out))
            csv_records(text)
        assert_bpf_gone(objs)
        assert target.poll() is None, "a -p target must be left alone"
    finally:
        target.kill()
        target.wait()


# ---------------------------------------------------------------- 3. shared sticky directories

@pytest.fixture
def sticky_dir(tmp_path):
    """A world-writable sticky directory, like /tmp, owned by root."""
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o1777)
    return d


def snapshot(path):
    st = os.lstat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_ino


@pytest.mark.parametrize("link_owner", ["root", "nobody"])
@pytest.mark.parametrize("pointee", ["root-file", "dangling"])
def test_symlink_in_sticky_dir_not_followed(tmp_path, sticky_dir, link_owner, pointee):
    """A symlink planted at the output path in a sticky world-writable directory is not written
    through (whether it points at root's file or at a file it would create), even with the
    kernel's fs.protected_symlinks off; one error line, status 1, the command never runs."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    victim = private / "shadow-like"
    if pointee == "root-file":
        victim.write_bytes(b"root:precious:19000:0:99999:7:::\n")
        victim.chmod(0o600)
        before = snapshot(victim)
    link = sticky_dir / "trace.csv"
    link.symlink_to(victim)
    if link_owner == "nobody":
        os.lchown(link, 65534, 65534)
    marker = tmp_path / "ran"
    proc = subprocess.run([BIN, "-o", str(link), "--", "sh", "-c", f"touch {marker}"],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    one_error_line(proc.stderr, str(link))
    if pointee == "root-file":
        assert snapshot(victim) == before, "the symlink's target was written"
    else:
        assert not victim.exists(), "a file was created through the symlink"
    assert os.path.islink(link)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["regular", "fifo"])
def test_file_planted_by_another_user_in_sticky_dir(tmp_path, sticky_dir, kind):
    """A file (or FIFO) another user planted at the output path in a sticky world-writable
    directory is not written into (the kernel's fs.protected_regular/protected_fifos rule,
    whether the sysctl is on or not): otherwise that user reads the trace of the host, or makes
    root's open hang on a FIFO. One error line, status 1, promptly."""
    path = sticky_dir / "trace.csv"
    if kind == "regular":
        path.write_bytes(b"planted\n")
    else:
        os.mkfifo(path)
    os.chown(path, 65534, 65534)
    path.chmod(0o666)
    before = os.lstat(path)
    try:
        proc = subprocess.run([BIN, "-o", str(path), "-d", "1s", "-a"], capture_output=True,
                              text=True, timeout=15, env=clean_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"memtrace-bpf hangs opening a {kind} planted in a shared directory")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    one_error_line(proc.stderr, str(path))
    after = os.lstat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_uid) == \
        (before.st_size, before.st_mtime_ns, before.st_uid)
    if kind == "regular":
        assert path.read_bytes() == b"planted\n"


# ---------------------------------------------------------------- a FIFO without a reader

def _readline_within(stream, seconds):
    """The next line of a pipe, or None if none comes within seconds."""
    import select
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else None


@pytest.mark.parametrize("where", ["plain-dir", "sticky-dir"])
def test_fifo_without_reader_says_what_it_waits_for(tmp_path, sticky_dir, where):
    """-o onto a FIFO that nobody reads: one line says what memtrace-bpf waits for, at once;
    nothing is launched or loaded until a reader comes; then the run is whole."""
    fifo = (tmp_path if where == "plain-dir" else sticky_dir) / "series.csv"
    os.mkfifo(fifo)
    marker = tmp_path / "ran"
    tracer = subprocess.Popen([BIN, "-o", str(fifo), "--", "touch", str(marker)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True, env=clean_env())
    try:
        line = _readline_within(tracer.stderr, 10)
        assert line is not None, "memtrace-bpf waits on the FIFO without a word"
        assert line.startswith(PREFIX) and "waiting for a process to open the FIFO" in line, line
        assert str(fifo) in line, line
        time.sleep(0.3)
        assert tracer.poll() is None and not marker.exists(), "it went on without a reader"
        assert not bpf_objects_of(tracer.pid)["prog"], "BPF loaded before the reader came"
        with open(fifo) as f:
            text = f.read()
        assert tracer.wait(timeout=60) == 0, tracer.stderr.read()
        assert marker.exists()
        assert text.splitlines()[0] == ",".join(COLUMNS), text
        assert [r["event"] for r in csv_records(text)][-1] == "exit", text
    finally:
        if tracer.poll() is None:
            tracer.kill()
        tracer.communicate()


def test_fifo_wait_with_quiet_says_nothing(tmp_path):
    """-q: nothing on stderr but errors; the wait is the user's own choice of output."""
    fifo = tmp_path / "series.csv"
    os.mkfifo(fifo)
    tracer = subprocess.Popen([BIN, "-q", "-o", str(fifo), "--", "true"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True, env=clean_env())
    try:
        time.sleep(0.5)
        assert tracer.poll() is None, "it went on without a reader"
        with open(fifo) as f:
            text = f.read()
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0 and err == "", err
        assert text.splitlines()[0] == ",".join(COLUMNS), text
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.communicate()


def test_fifo_wait_ends_with_ctrl_c(tmp_path):
    """Waiting for a reader, SIGINT ends memtrace-bpf at once: nothing was started."""
    fifo = tmp_path / "series.csv"
    os.mkfifo(fifo)
    # SIGINT as a shell leaves it: a suite run in the background by a non-interactive shell
    # inherits it ignored (with SIGQUIT), and so would the tracer
    tracer = subprocess.Popen([BIN, "-o", str(fifo), "-a"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert _readline_within(tracer.stderr, 10) is not None
        tracer.send_signal(signal.SIGINT)
        assert tracer.wait(timeout=10) == -signal.SIGINT
    finally:
        if tracer.poll() is None:
            tracer.kill()
        tracer.communicate()


def test_write_error_behaviour_is_documented():
    """A write error other than a closed output stops a COMMAND (SIGTERM, then SIGKILL) with
    status 1; a closed output lets it go on. Said where users look: README and man page."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md")).read()
    man = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou",
                          os.path.join(root, "doc", "memtrace-bpf.8")], capture_output=True,
                         text=True, check=True).stdout
    man = " ".join(man.replace("\u2010\n", "").split())
    for text in (" ".join(readme.split()), man):
        assert re.search(r"write error other than a closed output .{0,160}stops", text), text[:200]
        assert "SIGTERM" in text and "SIGKILL" in text
    assert re.search(r"closed output \(\| ?head\) lets the command go on", man), man


def test_own_file_in_sticky_dir_is_replaced(sticky_dir):
    """The rule above does not refuse root's own file there: a second run replaces it."""
    path = sticky_dir / "trace.csv"
    for run_no in range(2):
        proc = subprocess.run([BIN, "-o", str(path), "--", "true"], capture_output=True,
                              text=True, timeout=60, env=clean_env())
        assert proc.returncode == 0, (run_no, proc.stderr)
        rows = csv_records(path.read_text())
        assert [r["event"] for r in rows if r["comm"] == "true"][-1] == "exit"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "mprof"])
def test_new_file_mode_under_umask_0(tmp_path, fmt):
    """A freshly created output file is 0644 or stricter even when the caller's umask is 0
    (never group/world writable, never executable)."""
    out = tmp_path / f"new.{fmt}"
    proc = subprocess.run([BIN, "-F", fmt, "-o", str(out), "--", "true"], capture_output=True,
                          text=True, timeout=60, env=clean_env(),
                          preexec_fn=lambda: os.umask(0))
    assert proc.returncode == 0, proc.stderr
    mode = stat.S_IMODE(os.stat(out).st_mode)
    assert mode & ~0o644 == 0, f"created with mode {mode:04o} under umask 0"
    assert os.stat(out).st_uid == 0
    assert out.stat().st_size > 0


# ---------------------------------------------------------------- 4. sudo: never root

@pytest.fixture
def created_user():
    """A fresh system user with no home, in a supplementary group of its own; both deleted
    afterwards."""
    tag = secrets.token_hex(3)
    user, group = f"memtrace-test-{tag}", f"mt-test-sg-{tag}"
    subprocess.run(["groupadd", "--system", group], check=True)
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin",
                        "-G", group, user], check=True)
        try:
            pw = pwd.getpwnam(user)
            yield {"name": user, "uid": pw.pw_uid, "gid": pw.pw_gid,
                   "supp": grp.getgrnam(group).gr_gid}
        finally:
            subprocess.run(["userdel", user], check=True)
    finally:
        if subprocess.run(["getent", "group", group], capture_output=True).returncode == 0:
            subprocess.run(["groupdel", group], check=True)


IDENTITY_SCRIPT = ("id -u; id -g; id -G; "
                   "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):' /proc/self/status; "
                   "touch \"$1/made-by-command\"")


def identity_of(stdout):
    lines = stdout.splitlines()
    assert len(lines) >= 3, stdout
    status = {}
    for line in lines[3:]:
        key, _, value = line.partition(":")
        status[key] = value.split()
    return int(lines[0]), int(lines[1]), {int(g) for g in lines[2].split()}, status


@pytest.fixture
def user_dir():
    """make(uid, gid): a directory only that user may write, reachable by it (not under
    pytest's 0700 tmp_path); removed afterwards."""
    made = []

    def make(uid, gid):
        top = tempfile.mkdtemp(prefix="memtrace-test-")
        os.chmod(top, 0o755)
        made.append(top)
        w = os.path.join(top, "w")
        os.mkdir(w, 0o700)
        os.chown(w, uid, gid)
        return w
    yield make
    for top in made:
        shutil.rmtree(top, ignore_errors=True)


def run_identity(tmp_path, w, env, args=()):
    """Run the identity script under memtrace-bpf; it creates a file in w."""
    out = tmp_path / "trace.csv"
    proc = subprocess.run([BIN, "-o", str(out)] + list(args) +
                          ["--", "sh", "-c", IDENTITY_SCRIPT, "sh", w],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, (proc.returncode, proc.stderr, proc.stdout)
    rows = csv_records(out.read_text())
    assert any(r["comm"] == "sh" for r in rows), "the command was not traced"
    return identity_of(proc.stdout)


def assert_unprivileged(uid, gid, status):
    # real, effective, saved and filesystem ids: none left at root
    assert status["Uid"] == [str(uid)] * 4, status["Uid"]
    assert status["Gid"] == [str(gid)] * 4, status["Gid"]
    for cap in ("CapPrm", "CapEff", "CapAmb"):
        assert int(status[cap][0], 16) == 0, (cap, status[cap])


def test_sudo_user_created_with_supplementary_group(tmp_path, created_user, user_dir):
    """Through sudo (SUDO_UID/SUDO_GID/SUDO_USER), the command runs as that user with exactly
    its groups (initgroups: its supplementary group in, root's group 0 out), no capabilities,
    no saved root id, and what it creates is the user's."""
    u = created_user
    w = user_dir(u["uid"], u["gid"])
    env = clean_env(SUDO_UID=str(u["uid"]), SUDO_GID=str(u["gid"]), SUDO_USER=u["name"])
    uid, gid, groups, status = run_identity(tmp_path, w, env)
    assert uid == u["uid"] and gid == u["gid"], (uid, gid, u)
    assert groups == {u["gid"], u["supp"]}, f"groups {groups}, expected {u}"
    assert 0 not in groups
    assert sorted(int(g) for g in status["Groups"]) == sorted({u["gid"], u["supp"]})
    assert_unprivileged(u["uid"], u["gid"], status)
    made = os.stat(os.path.join(w, "made-by-command"))
    assert (made.st_uid, made.st_gid) == (u["uid"], u["gid"])


def test_user_option_created_user(tmp_path, created_user, user_dir):
    """-u NAME without sudo: the same identity, its supplementary group included."""
    u = created_user
    w = user_dir(u["uid"], u["gid"])
    uid, gid, groups, status = run_identity(tmp_path, w, clean_env(), ["-u", u["name"]])
    assert (uid, gid) == (u["uid"], u["gid"])
    assert groups == {u["gid"], u["supp"]}, groups
    assert_unprivileged(u["uid"], u["gid"], status)


def test_sudo_uid_without_passwd_entry(tmp_path, user_dir):
    """SUDO_UID/SUDO_GID naming ids with no passwd entry: still that uid and gid, no
    supplementary group at all (root's groups dropped), no capabilities."""
    taken = {p.pw_uid for p in pwd.getpwall()}
    uid = next(u for u in range(47000, 48000) if u not in taken)
    w = user_dir(uid, uid)
    env = clean_env(SUDO_UID=str(uid), SUDO_GID=str(uid), SUDO_USER="ghost")
    got_uid, got_gid, groups, status = run_identity(tmp_path, w, env)
    assert (got_uid, got_gid) == (uid, uid)
    assert groups == {uid}, groups
    assert status["Groups"] == [], status["Groups"]
    assert_unprivileged(uid, uid, status)


# ---------------------------------------------------------------- 5. SIGKILL of the tracer

def sigkill_and_check(tracer, objs):
    os.kill(tracer.pid, signal.SIGKILL)
    assert tracer.wait(timeout=10) == -signal.SIGKILL
    assert_bpf_gone(objs)


def test_sigkill_command_mode(tmp_path):
    out = tmp_path / "trace.csv"
    tracer = Tracer(tmp_path, ["-o", str(out), "--", "sleep", "30"])
    try:
        wait_for_text(tracer, out, ",sleep,")
        sigkill_and_check(tracer, wait_holding_bpf(tracer))
    finally:
        tracer.cleanup()


def test_sigkill_pid_mode(tmp_path):
    target = subprocess.Popen(["sleep", "60"], start_new_session=True)
    out = tmp_path / "trace.csv"
    tracer = Tracer(tmp_path, ["-o", str(out), "-p", str(target.pid)])
    try:
        wait_for_text(tracer, out, ",sleep,")
        sigkill_and_check(tracer, wait_holding_bpf(tracer))
        assert target.poll() is None, "the -p target must survive its tracer's death"
    finally:
        tracer.cleanup()
        target.kill()
        target.wait()


def test_sigkill_all_mode(tmp_path):
    out = tmp_path / "trace.csv"
    tracer = Tracer(tmp_path, ["-a", "-o", str(out)])
    try:
        wait_for_text(tracer, out, ",start,")
        sigkill_and_check(tracer, wait_holding_bpf(tracer))
    finally:
        tracer.cleanup()


def test_sigkill_cgroup_mode(tmp_path):
    version, own = own_memory_cgroup_dir()
    path = os.path.join(own, f"memtrace-test-{os.getpid()}-kill")
    os.mkdir(path)
    inside = None
    tracer = None
    try:
        inside = subprocess.Popen(["/bin/sh", "-c", f'echo $$ > {path}/cgroup.procs; '
                                   'exec sleep 60'], start_new_session=True)
        assert wait_for(lambda: str(inside.pid) in open(f"{path}/cgroup.procs").read())
        out = tmp_path / "trace.csv"
        tracer = Tracer(tmp_path, ["-G", path, "-o", str(out)])
        wait_for_text(tracer, out, ",sleep,")
        sigkill_and_check(tracer, wait_holding_bpf(tracer))
        assert os.path.isdir(path), "the traced cgroup is not the tracer's to remove"
        assert inside.poll() is None
    finally:
        if tracer is not None:
            tracer.cleanup()
        if inside is not None:
            inside.kill()
            inside.wait()
        remove_cgroup(path)


def test_sigkill_memory_limit_mode(tmp_path):
    """-m: after SIGKILL of the tracer every BPF object is gone, and once the command has ended
    (it runs on, untraced, under its limit) the cgroup -m made does not stay behind."""
    version, _ = own_memory_cgroup_dir()
    out = tmp_path / "trace.csv"
    tracer = Tracer(tmp_path, ["-m", "64M", "-o", str(out), "--", "sleep", "4"])
    cg_dir = None
    try:
        wait_for_text(tracer, out, ",sleep,")
        objs = wait_holding_bpf(tracer)
        command = [p for p in session_members(tracer.pid) if p != tracer.pid]
        assert len(command) == 1, command
        _, mount, rel = memory_cgroup(command[0])
        cg_dir = os.path.join(mount, rel.lstrip("/"))
        assert os.path.basename(cg_dir).startswith(f"memtrace-bpf-{tracer.pid}"), cg_dir

        sigkill_and_check(tracer, objs)
        assert wait_for(lambda: not alive(command[0]), timeout=30), "sleep 4 did not end"
        assert wait_for(lambda: not os.path.exists(cg_dir), timeout=5), \
            f"cgroup {cg_dir} is left behind after SIGKILL of the tracer and the end of the " \
            f"command"
    finally:
        tracer.cleanup()
        if cg_dir:
            remove_cgroup(cg_dir)
