"""The live view: on its own when stderr is a terminal (here a real one: a tmux pane, read back
with capture-pane), redrawn in place, coloured unless NO_COLOR, erased before any other message
and before the summary; frame after frame with --live when stderr is a file; none with -q, with
a COMMAND, or when the time series itself goes to the terminal. The time series is unchanged.
Real binary, live kernel, real terminal; no mocks."""
import itertools
import os
import re
import shlex
import signal
import subprocess

import pytest

from conftest import BIN, _comm, check_process_rows, read_csv, rows_of, wait_for, workload

ESC = "\x1b"
# the frame's first line: "memtrace-bpf  1.234 s  1 live, 0 exited  RSS 12.3 MiB"
TITLE = re.compile(r"^memtrace-bpf  \d+\.\d+ s  \d+ live", re.M)
# a growth in the delta column, red: tmux re-encodes attributes, but red stays SGR 31
RED_GROWTH = re.compile(r"\x1b\[31m\s*\+\d")
DONE = "memtrace-live-test-exit="
_sessions = itertools.count()

pytestmark = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v tmux"],
                                               capture_output=True).returncode != 0,
                                reason="needs tmux (scripts/install-deps.sh installs it)")


def pane_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUDO_") and k not in ("TMUX", "TMUX_PANE", "NO_COLOR")}
    env.setdefault("TERM", "xterm-256color")
    return env


class Pane:
    """memtrace-bpf ARGS in a fresh 120x40 tmux pane of a server of our own (its own socket):
    stderr is that terminal. When it exits, the pane says DONE<status> and stays."""

    def __init__(self):
        self.sock = f"mt-live-{os.getpid()}-{next(_sessions)}"
        self.socket_path = None
        self.shell = None
        self.tracer = None

    def start(self, args, env=""):
        command = (f"{env} {shlex.quote(BIN)} {' '.join(shlex.quote(str(a)) for a in args)}; "
                   f"echo {DONE}$?; exec sleep 3600")
        self.tmux("new-session", "-d", "-s", "live", "-x", "120", "-y", "40", command)
        shell, self.socket_path = self.tmux("display-message", "-p", "-t", "live",
                                            "#{pane_pid} #{socket_path}").split(maxsplit=1)
        self.shell = int(shell)
        self.socket_path = self.socket_path.strip()

        def started():
            kids = _children(self.shell)
            self.tracer = next((k for k in kids if _comm(k) == "memtrace-bpf"), None)
            return self.tracer is not None or DONE in self.capture()
        assert wait_for(started, timeout=20), self.capture()

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, check=True, env=pane_env(),
                              timeout=30).stdout

    def capture(self, escapes=False, history=False):
        """The pane's text (with its colours as escape sequences; with what scrolled off)."""
        return self.tmux("capture-pane", "-p", "-t", "live", *(["-e"] if escapes else []),
                         *(["-S", "-"] if history else []))

    def stop(self):
        """SIGINT, as a person would; returns the exit status the pane then shows."""
        os.kill(self.tracer, signal.SIGINT)
        assert wait_for(lambda: DONE in self.capture(), timeout=20), self.capture()
        return int(re.search(re.escape(DONE) + r"(\d+)", self.capture()).group(1))

    def running(self):
        """Our tracer is still running (its pid not reused: still the pane shell's child)."""
        return self.tracer in _children(self.shell) and _comm(self.tracer) == "memtrace-bpf"

    def close(self):
        if self.tracer and self.running():
            try:
                os.kill(self.tracer, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_for(lambda: not self.running(), timeout=10)
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True,
                       env=pane_env(), timeout=30)
        if self.socket_path:
            try:
                os.unlink(self.socket_path)  # tmux leaves it behind
            except OSError:
                pass


def _children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


@pytest.fixture
def pane():
    """pane(args, env=""): a Pane, closed after the test."""
    panes = []

    def make(args, env=""):
        p = Pane()
        panes.append(p)  # closed even if it does not start
        p.start(args, env)
        return p
    yield make
    for p in panes:
        p.close()


@pytest.fixture
def grower():
    """A process that grows by 1 MiB every 100 ms (for at most 150 s)."""
    proc = subprocess.Popen([workload("grow"), "1", "100", "1500"], stdout=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline().split()
    assert first[:1] == ["ready"] and int(first[1]) == proc.pid, first
    yield proc
    proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()


def row_re(pid, comm):
    return re.compile(rf"^\s*{pid} {comm}\s", re.M)


def check_series(out, pid):
    """The time series is what it always is: its header, the process's rows, no escapes."""
    text = out.read_text()
    assert ESC not in text
    rows = read_csv(out)
    check_process_rows(rows)
    mine = rows_of(rows, pid)
    assert len(mine) >= 3 and mine[0]["event"] == "start", mine
    assert any(r["rss_delta_bytes"] > 0 for r in mine), mine


def test_view_on_a_terminal(tmp_path, pane, grower):
    out = tmp_path / "trace.csv"
    p = pane(["-p", grower.pid, "-o", out, "-i", "100ms"], env="env -u NO_COLOR")

    def growth_shown():
        return (row_re(grower.pid, "grow").search(p.capture())
                and RED_GROWTH.search(p.capture(escapes=True)))
    assert wait_for(growth_shown, timeout=20), p.capture(escapes=True)
    text = p.capture()
    assert TITLE.match(text), text
    assert re.search(r"\d+ rows to ", text) and "OOM kills 0" in text, text
    assert re.search(r"PID COMM +RSS +(Δ|DELTA) +PEAK", text), text
    assert all(len(line) < 120 for line in text.splitlines()), text

    # redrawn in place: after more frames, one frame on the screen and none in the history
    def later():
        m = re.search(r"^memtrace-bpf  (\d+\.\d+) s", p.capture(), re.M)
        return m and float(m.group(1)) >= 1.5
    assert wait_for(later, timeout=20), p.capture()
    everything = p.capture(history=True)
    assert len(TITLE.findall(everything)) == 1, everything

    assert p.stop() == 0
    everything = p.capture(history=True)
    # the frame erased before the summary: the summary from the top, no trace of a frame
    lines = [l for l in everything.splitlines() if l.strip()]
    assert lines[0].startswith("memtrace-bpf: "), everything
    assert "peak RSS" in everything and "rows written to" in everything, everything
    assert not TITLE.search(everything) and "PID COMM" not in everything, everything
    assert not re.search(r"\d+ rows to ", everything), everything
    check_series(out, grower.pid)


def test_no_color(tmp_path, pane, grower):
    out = tmp_path / "trace.csv"
    p = pane(["-p", grower.pid, "-o", out, "-i", "100ms"], env="env NO_COLOR=1")
    growth = re.compile(rf"^\s*{grower.pid} grow .* \+\d", re.M)
    assert wait_for(lambda: growth.search(p.capture()), timeout=20), p.capture()
    assert ESC not in p.capture(escapes=True, history=True), p.capture(escapes=True)
    assert p.stop() == 0
    assert ESC not in p.capture(escapes=True, history=True)
    check_series(out, grower.pid)


def test_message_drawn_above_the_frame(tmp_path, pane, grower):
    """A warning (here -L's) erases the frame; the next frame comes below it, and tells the
    crossing among its events."""
    out = tmp_path / "trace.csv"
    p = pane(["-p", grower.pid, "-o", out, "-i", "100ms", "-L", "8M"])
    event = re.compile(rf"^  \d+\.\ds limit: grow \(pid {grower.pid}\) crossed 8\.00 MiB", re.M)
    assert wait_for(lambda: event.search(p.capture()), timeout=30), p.capture()
    everything = p.capture(history=True)
    warning = f"memtrace-bpf: warning: PID {grower.pid} (grow) crossed the RSS limit"
    assert everything.count(warning) == 1, everything
    assert len(TITLE.findall(everything)) == 1, everything
    assert everything.index(warning) < TITLE.search(everything).start(), everything
    assert re.search(r"limit crossings 1", everything), everything
    assert p.stop() == 0
    everything = p.capture(history=True)
    assert everything.count(warning) == 1 and not TITLE.search(everything), everything


def test_live_flag_with_stderr_to_a_file(tmp_path, grower):
    out, err_path = tmp_path / "trace.csv", tmp_path / "stderr"
    with open(err_path, "w") as err:
        tracer = subprocess.Popen([BIN, "--live", "-p", str(grower.pid), "-o", str(out),
                                   "-i", "100ms"], stdout=subprocess.DEVNULL, stderr=err,
                                  env=pane_env())
    try:
        def frames():
            text = err_path.read_text()
            return len(TITLE.findall(text)) >= 3 and row_re(grower.pid, "grow").search(text)
        assert wait_for(lambda: tracer.poll() is not None or frames(), timeout=20), \
            err_path.read_text()
        assert tracer.poll() is None, err_path.read_text()
        tracer.send_signal(signal.SIGINT)
        assert tracer.wait(timeout=20) == 0
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()
    text = err_path.read_text()
    assert ESC not in text and "\r" not in text, repr(text[:500])
    # whole frames, a blank line after each, then the summary
    assert text.startswith("memtrace-bpf  "), text[:500]
    assert len(re.findall(r"\n\nmemtrace-bpf  \d", text)) >= 2, text[:1000]
    last = list(TITLE.finditer(text))[-1].start()
    assert "peak RSS" in text[last:] and "rows written to" in text[last:], text[last:]
    check_series(out, grower.pid)


def test_quiet_no_view(tmp_path, pane, grower):
    out = tmp_path / "trace.csv"
    p = pane(["-q", "--every", "-p", grower.pid, "-o", out, "-i", "100ms"])
    # several intervals written (--every: a row each)
    assert wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 10,
                    timeout=20)
    assert p.capture().strip() == "", p.capture()
    assert p.stop() == 0
    assert [l for l in p.capture(history=True).splitlines() if l.strip()] == [f"{DONE}0"]
    check_series(out, grower.pid)


def test_no_view_when_the_series_goes_to_the_terminal(pane, grower):
    p = pane(["-p", grower.pid, "-i", "100ms"])
    rows = re.compile(rf"^\d+\.\d+,\d+\.\d+,{grower.pid},", re.M)
    assert wait_for(lambda: len(rows.findall(p.capture(history=True))) >= 5, timeout=20), \
        p.capture()
    assert not TITLE.search(p.capture(history=True)), p.capture()
    assert p.stop() == 0
    assert not TITLE.search(p.capture(history=True))


def test_no_view_with_a_command(tmp_path, pane):
    """The command's own output shares the terminal: no view to tear."""
    out = tmp_path / "trace.csv"
    p = pane(["-o", out, "-i", "100ms", "--", workload("grow"), "1", "100", "10"])
    assert wait_for(lambda: DONE in p.capture(), timeout=30), p.capture()
    everything = p.capture(history=True)
    assert f"{DONE}0" in everything and "rows written to" in everything, everything
    assert not TITLE.search(everything), everything
    assert re.search(r"^ready \d+$", everything, re.M), everything
