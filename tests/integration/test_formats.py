"""-F jsonl and -F mprof: the same time series as the CSV, one JSON object per line, and
memory_profiler's .dat that Debian's python3-mprof reads, peaks and plots. Real binary, live
kernel, the real mprof."""
import csv
import io
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import (BIN, COLUMNS, INT_COLUMNS, MIB, PERCPU_LAG, check_process_rows, details,
                      parse_csv, read_csv, rows_of, run, workload)

MPROF = shutil.which("python3-mprof") or "/usr/bin/python3-mprof"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLOAT_COLUMNS = ["unix_time", "elapsed_s"]
STR_COLUMNS = ["comm", "event", "detail"]
# what mprof writes (memory_profiler.py): "MEM {0:.6f} {1:.4f}", "CHLD {0} {1:.6f} {2:.4f}"
MEM_RE = re.compile(r"MEM (\d+\.\d{6}) (\d+\.\d{4})")
CHLD_RE = re.compile(r"CHLD (\d+) (\d+\.\d{6}) (\d+\.\d{4})")
# the seconds as the CSV prints them: 6 decimals, in the JSON text itself
JSON_TIMES_RE = re.compile(r'^\{"unix_time":\d+\.\d{6},"elapsed_s":\d+\.\d{6},"pid":')


def clean_env():
    """Without sudo's variables the command runs as the current user (root here)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}


def need_mprof():
    if not os.access(MPROF, os.X_OK):
        pytest.fail(f"{MPROF} is missing: apt-get install python3-memory-profiler "
                    "(scripts/install-deps.sh installs it)")


def children_of(stdout):
    """The pids forker prints: 'children <pidA> <pidB>'."""
    m = re.search(r"children (\d+) (\d+)", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def read_jsonl(path):
    """Every line parsed, strictly: the file must be UTF-8 and every line one JSON object."""
    text = path.read_bytes().decode("utf-8")  # raises on any byte that is not UTF-8
    assert text.endswith("\n"), text[-200:]
    lines = text[:-1].split("\n")
    objs = []
    for line in lines:
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        objs.append((line, obj))
    return objs


def check_types(line, obj):
    assert list(obj.keys()) == COLUMNS, line
    for c in INT_COLUMNS:
        assert type(obj[c]) is int, (c, line)
    for c in FLOAT_COLUMNS:
        assert type(obj[c]) is float, (c, line)
    for c in STR_COLUMNS:
        assert type(obj[c]) is str, (c, line)
    assert JSON_TIMES_RE.match(line), line


def as_csv_rows(objs):
    """The JSON objects written back as the CSV would hold them, through the CSV's own parser:
    the two formats carry the same columns and values."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for _, o in objs:
        w.writerow([f"{o[c]:.6f}" if c in FLOAT_COLUMNS else o[c] for c in COLUMNS])
    return parse_csv(buf.getvalue())


def trace_to(tmp_path, name, fmt, args, timeout=120):
    out = tmp_path / name
    proc = run(["-F", fmt, "-o", str(out)] + list(args), timeout=timeout, env=clean_env())
    return proc, out


def story(rows, pid):
    """A process's events without its samples (how many samples depends on timing)."""
    return [r["event"] for r in rows_of(rows, pid) if r["event"] != "sample"]


# ---------------------------------------------------------------- jsonl

def test_jsonl_same_rows_as_csv(tmp_path):
    cmd = ["-i", "100ms", "--", workload("forker"), "20", "30", "--hold", "400"]
    proc, out = trace_to(tmp_path, "run.jsonl", "jsonl", cmd)
    assert proc.returncode == 0, proc.stderr
    objs = read_jsonl(out)
    for line, obj in objs:
        check_types(line, obj)
    rows = as_csv_rows(objs)
    check_process_rows(rows)

    proc_csv, out_csv = trace_to(tmp_path, "run.csv", "csv", cmd)
    assert proc_csv.returncode == 0, proc_csv.stderr
    rows_csv = read_csv(out_csv)

    # the same processes, each telling the same story in both formats
    for got, stdout in ((rows, proc.stdout), (rows_csv, proc_csv.stdout)):
        a, b = children_of(stdout)
        forker = {r["pid"] for r in got} - {a, b}
        assert len(forker) == 1, {r["pid"] for r in got}
        forker = forker.pop()
        assert story(got, forker) == ["start", "exit"], story(got, forker)
        assert details(rows_of(got, forker)[-1]) == {"exit_code": "0"}
        for child, code, mib in ((a, 3, 20), (b, 4, 30)):
            assert story(got, child) == ["start", "exit"], story(got, child)
            last = rows_of(got, child)[-1]
            assert details(last) == {"exit_code": str(code)}
            assert last["ppid"] == forker
            assert last["comm"] == "forker"
            assert last["peak_rss_bytes"] >= mib * MIB - PERCPU_LAG
            assert last["anon_bytes"] >= mib * MIB - PERCPU_LAG
        # the columns mean the same: unix_time - elapsed_s is the start, for every row
        starts = {round(r["unix_time"] - r["elapsed_s"], 3) for r in got}
        assert max(starts) - min(starts) <= 0.002, starts


def test_jsonl_hostile_comm(tmp_path):
    # a quote, a backslash, a newline, a control byte and a byte that is not UTF-8
    name = b'q"\\\n\x01\xffz'
    args = [os.fsencode(a) for a in
            ["-F", "jsonl", "-o", str(tmp_path / "run.jsonl"), "--", workload("touch"), "10",
             "--hold", "300", "--name"]] + [name]
    proc = subprocess.run([os.fsencode(BIN)] + args, capture_output=True, timeout=60,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
    objs = read_jsonl(tmp_path / "run.jsonl")
    for line, obj in objs:
        check_types(line, obj)
        assert not re.search(r"[\x00-\x1f]", line), line  # escaped, never raw
    # the byte 0xff is not UTF-8: it comes as \u00ff, everything else as itself
    want = 'q"\\\n\x01\u00ffz'
    renamed = [obj for _, obj in objs if obj["comm"] == want]
    assert renamed, {obj["comm"] for _, obj in objs}
    assert renamed[-1]["event"] == "exit"
    assert renamed[-1]["peak_rss_bytes"] >= 10 * MIB
    raw = (tmp_path / "run.jsonl").read_text()
    assert r'"comm":"q\"\\\n\u0001\u00ffz"' in raw, raw


def test_jsonl_to_stdout_no_header(tmp_path):
    """-o -: no header line, the first line is already the command's start row."""
    proc = run(["-F", "jsonl", "--", workload("touch"), "5"], timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "piped.jsonl"
    out.write_text(proc.stdout)
    objs = read_jsonl(out)
    for line, obj in objs:
        check_types(line, obj)
    assert objs[0][1]["event"] == "start" and objs[0][1]["comm"] == "touch", objs[0][0]
    assert objs[-1][1]["event"] == "exit", objs[-1][0]
    check_process_rows(as_csv_rows(objs))


# ---------------------------------------------------------------- mprof

def read_dat(path):
    """(cmdline, [(mib, t)], {pid: [(mib, t)]}, lines) from a .dat, every line checked."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[-1] == "", "the file ends with a newline"
    lines = lines[:-1]
    assert lines[0].startswith("CMDLINE "), lines[0]
    mem, chld = [], {}
    for line in lines[1:]:
        m = MEM_RE.fullmatch(line)
        c = CHLD_RE.fullmatch(line)
        assert m or c, line
        if m:
            mem.append((float(m.group(1)), float(m.group(2))))
        else:
            chld.setdefault(int(c.group(1)), []).append((float(c.group(2)), float(c.group(3))))
    return lines[0][len("CMDLINE "):], mem, chld, lines


def mprof_peak(path):
    """What `mprof peak FILE` reports: the peak of MEM and of each child, in MiB."""
    proc = subprocess.run([MPROF, "peak", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=path.parent)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    m = re.search(r"^" + re.escape(str(path)) + r"\t(\d+\.\d{3}) MiB$", proc.stdout, re.M)
    assert m, proc.stdout
    children = {int(pid): float(mib) for pid, mib in
                re.findall(r"^  Child (\d+)\t+(\d+\.\d{3}) MiB$", proc.stdout, re.M)}
    return float(m.group(1)), children


def mprof_plot(path, png):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([MPROF, "plot", "-o", str(png), str(path)], capture_output=True,
                          text=True, timeout=180, cwd=path.parent, env=env)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE, data[:16]
    assert len(data) > 1024, len(data)


def near(a, b, rel=0.02):
    return abs(a - b) <= rel * b


def test_mprof_tree(tmp_path):
    """forker: two children touch 40 and 60 MiB and hold together; the root holds little."""
    need_mprof()
    cmd = ["-i", "100ms", "--", workload("forker"), "40", "60", "--hold", "1200"]
    proc, dat = trace_to(tmp_path, "run.dat", "mprof", cmd)
    assert proc.returncode == 0, proc.stderr
    a, b = children_of(proc.stdout)
    cmdline, mem, chld, lines = read_dat(dat)
    assert cmdline == f"{workload('forker')} 40 60 --hold 1200", cmdline
    assert len(mem) >= 5, lines  # 1.2 s of holding at 100 ms
    times = [t for _, t in mem]
    assert times == sorted(times), times
    # a CHLD line for each child (not for the root), at the times of MEM lines
    assert set(chld) == {a, b}, (chld.keys(), a, b)
    for pid in (a, b):
        assert {t for _, t in chld[pid]} <= set(times)
    # MEM is the tree as a whole: the root's own RSS on top of its children's
    for mib, t in mem:
        kids = sum(m for pid in chld for m, ct in chld[pid] if ct == t)
        assert kids <= mib + 1e-6, (t, kids, mib)

    # the same workload in CSV: while all three hold, the tree holds the sum of their peaks
    proc_csv, out_csv = trace_to(tmp_path, "run.csv", "csv", cmd)
    assert proc_csv.returncode == 0, proc_csv.stderr
    rows = read_csv(out_csv)
    a2, b2 = children_of(proc_csv.stdout)
    exits = {r["pid"]: r for r in rows if r["event"] == "exit"}
    csv_total = sum(r["peak_rss_bytes"] for r in exits.values()) / MIB
    assert len(exits) == 3, exits.keys()

    peak, child_peaks = mprof_peak(dat)
    assert near(peak, csv_total), (peak, csv_total)
    assert 100 <= peak <= 100 * 1.05, peak  # what it touched, plus a few MiB of code
    assert set(child_peaks) == {a, b}, child_peaks
    for pid, pid2, mib in ((a, a2, 40), (b, b2, 60)):
        assert near(child_peaks[pid], exits[pid2]["peak_rss_bytes"] / MIB), \
            (child_peaks[pid], exits[pid2])
        assert mib <= child_peaks[pid] <= mib * 1.02 + 1, child_peaks[pid]

    mprof_plot(dat, tmp_path / "out.png")


def test_mprof_cmdline_is_shell_quoted(tmp_path):
    """CMDLINE holds the command as a shell would need it to give the same words back."""
    argv = ["sh", "-c", "exit 0", "a b", "it's", "", "tab\there"]
    proc, dat = trace_to(tmp_path, "run.dat", "mprof", ["--"] + argv)
    assert proc.returncode == 0, proc.stderr
    first = dat.read_text().splitlines()[0]
    assert first.startswith("CMDLINE "), first
    words = subprocess.run(["bash", "-c", "printf '%s\\0' " + first[len("CMDLINE "):]],
                           capture_output=True, check=True).stdout.split(b"\0")[:-1]
    assert words == [a.encode() for a in argv], first


def test_mprof_single_process(tmp_path):
    """touch 100 MiB and hold: MEM only (the command is the root, no CHLD line)."""
    need_mprof()
    cmd = ["-i", "100ms", "--", workload("touch"), "100", "--hold", "800"]
    proc, dat = trace_to(tmp_path, "run.dat", "mprof", cmd)
    assert proc.returncode == 0, proc.stderr
    cmdline, mem, chld, lines = read_dat(dat)
    assert cmdline == f"{workload('touch')} 100 --hold 800"
    assert chld == {}, lines
    assert len(mem) >= 4, lines

    proc_csv, out_csv = trace_to(tmp_path, "run.csv", "csv", cmd)
    assert proc_csv.returncode == 0, proc_csv.stderr
    csv_peak = max(r["peak_rss_bytes"] for r in read_csv(out_csv)) / MIB

    peak, child_peaks = mprof_peak(dat)
    assert child_peaks == {}
    assert near(peak, csv_peak), (peak, csv_peak)
    assert 100 <= peak <= 102, peak
    mprof_plot(dat, tmp_path / "out.png")


def test_mprof_children_gone_within_one_interval(tmp_path):
    """Both children live and die between two samples (-i 10s, the run takes well under a
    second): their memory is in the exit rows, and the interval they exit in counts it, so
    mprof peak still sees the tree's 100 MiB rather than an empty profile."""
    need_mprof()
    cmd = ["-i", "10s", "--", workload("forker"), "40", "60", "--hold", "300"]
    proc, dat = trace_to(tmp_path, "run.dat", "mprof", cmd)
    assert proc.returncode == 0, proc.stderr
    a, b = children_of(proc.stdout)
    _, mem, chld, lines = read_dat(dat)
    assert len(mem) == 1, lines  # only the last interval's end
    assert set(chld) == {a, b}, lines
    peak, child_peaks = mprof_peak(dat)
    assert 100 <= peak <= 105, (peak, lines)
    assert 40 <= child_peaks[a] <= 41.5 and 60 <= child_peaks[b] <= 61.5, child_peaks
    mprof_plot(dat, tmp_path / "out.png")


def test_mprof_to_stdout(tmp_path):
    """-o - works as for the CSV; mprof reads what was written to the pipe."""
    need_mprof()
    proc = run(["-F", "mprof", "-i", "100ms", "--", workload("touch"), "30", "--hold", "400"],
               timeout=60, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    dat = tmp_path / "piped.dat"
    dat.write_text(proc.stdout)
    _, mem, _, lines = read_dat(dat)
    assert mem, lines
    peak, _ = mprof_peak(dat)
    assert 30 <= peak <= 32, peak
