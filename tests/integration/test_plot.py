"""scripts/memtrace-plot: draws memtrace-bpf CSVs as PNG, and folded stacks (--flame) as a
flame graph in PNG or SVG; refuses what is not one."""
import importlib.machinery
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys

import pytest

from conftest import BIN, ROOT, trace, workload

PLOT = os.path.join(ROOT, "scripts", "memtrace-plot")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 900, 500  # what memtrace-plot draws: 9 x 5 inches at 100 dpi

HEADER = ("unix_time,elapsed_s,pid,ppid,comm,event,rss_bytes,anon_bytes,file_bytes,"
          "shmem_bytes,peak_rss_bytes,rss_delta_bytes,faults,pages_alloc,detail")
OOM_DETAIL = ("constraint=memcg memcg=/x/memtrace-bpf-1 trigger_pid=5 trigger_comm=python3 "
              "oom_score_adj=0 total_vm_bytes=300000000")
# a shell (pid 4) and its child (pid 5) whose name has a comma and quotes (RFC 4180 quoted),
# growing until the OOM killer takes it; its peak between two samples is in peak_rss_bytes
HAND_CSV = f'''{HEADER}
1795253000.000000,0.000000,4,1,sh,start,0,0,0,0,0,0,0,0,
1795253000.001000,0.001000,5,4,"py,""3""",start,0,0,0,0,0,0,0,0,
1795253000.100000,0.100000,4,1,sh,sample,2097152,1048576,1048576,0,2097152,2097152,10,10,
1795253000.100000,0.100000,5,4,"py,""3""",sample,104857600,103809024,1048576,0,104857600,104857600,25600,25600,
1795253000.200000,0.200000,5,4,"py,""3""",sample,209715200,208666624,1048576,0,230686720,104857600,51200,51200,
1795253000.250000,0.250000,5,4,"py,""3""",oom_kill,268435456,267386880,1048576,0,268435456,58720256,65536,65536,{OOM_DETAIL}
1795253000.260000,0.260000,5,4,"py,""3""",exit,0,0,0,0,268435456,-268435456,65536,65536,signal=SIGKILL
1795253000.300000,0.300000,4,1,sh,exit,2097152,1048576,1048576,0,2097152,0,12,12,exit_code=137
'''
# one process whose 64 MiB spike came and went between two samples
SPIKE_CSV = f"""{HEADER}
1795253100.000000,0.000000,7,1,spike,start,0,0,0,0,0,0,0,0,
1795253100.100000,0.100000,7,1,spike,sample,1048576,0,1048576,0,67108864,1048576,16384,16384,
1795253100.200000,0.200000,7,1,spike,exit,1048576,0,1048576,0,67108864,0,16384,16384,exit_code=0
"""


def plot(*args):
    """Run memtrace-plot under this interpreter (Debian's /usr/bin/python3, with matplotlib)."""
    return subprocess.run([sys.executable, PLOT] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def png_size(path):
    """(width, height) from the IHDR chunk of a PNG; asserts the signature and the chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, data[:16]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, (length, kind)
    return struct.unpack(">II", data[16:24])


def check_png(path):
    assert path.exists(), path
    assert path.stat().st_size > 1000, path.stat().st_size
    return png_size(path)


@pytest.mark.unprivileged
def test_hand_written_csv_with_oom_kill(tmp_path):
    csv = tmp_path / "run.csv"
    csv.write_text(HAND_CSV)
    png = tmp_path / "run.png"
    proc = plot(csv, "-o", png, "--title", "hand-written", "--limit", "256M")
    assert proc.returncode == 0, proc.stderr
    assert check_png(png) == (WIDTH, HEIGHT)
    # the same CSV one curve per process; a limit as a byte count
    png2 = tmp_path / "per-process.png"
    proc = plot(csv, "-o", png2, "--per-process", "--limit", str(256 * 1024 * 1024))
    assert proc.returncode == 0, proc.stderr
    assert check_png(png2) == (WIDTH, HEIGHT)


def test_real_csv_from_the_tracer(tmp_path):
    proc, rows = trace(tmp_path, ["--", workload("touch"), "64", "--hold", "300"])
    assert proc.returncode == 0, proc.stderr
    assert rows and rows[-1]["event"] == "exit", rows
    png = tmp_path / "touch.png"
    out = plot(tmp_path / "trace.csv", "-o", png)
    assert out.returncode == 0, out.stderr
    assert check_png(png) == (WIDTH, HEIGHT)


@pytest.mark.unprivileged
def test_two_csvs_labels_per_process(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HAND_CSV)
    b.write_text(SPIKE_CSV)
    png = tmp_path / "both.png"
    proc = plot(a, b, "-o", png, "--label", "list comprehension", "--label", "generator",
                "--per-process")
    assert proc.returncode == 0, proc.stderr
    assert check_png(png) == (WIDTH, HEIGHT)
    # several labels after one --label, the default (tree) mode
    png2 = tmp_path / "tree.png"
    proc = plot(a, b, "-o", png2, "--label", "one", "two", "--tree", "--limit", "1G")
    assert proc.returncode == 0, proc.stderr
    assert check_png(png2) == (WIDTH, HEIGHT)


@pytest.mark.unprivileged
def test_bad_inputs(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(SPIKE_CSV)
    png = tmp_path / "out.png"

    proc = plot()
    assert proc.returncode == 2, proc
    assert "memtrace-plot" in proc.stderr

    proc = plot(tmp_path / "missing.csv", "-o", png)
    assert proc.returncode == 2, proc
    assert "memtrace-plot:" in proc.stderr and "missing.csv" in proc.stderr, proc.stderr

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("time,rss\n0.1,1000\n")
    proc = plot(wrong, "-o", png)
    assert proc.returncode == 2, proc
    assert "memtrace-plot:" in proc.stderr and "not a memtrace-bpf CSV" in proc.stderr

    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER + "\n")
    proc = plot(header_only, "-o", png)
    assert proc.returncode == 2, proc
    assert "memtrace-plot:" in proc.stderr

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = plot(empty, "-o", png)
    assert proc.returncode == 2, proc
    assert "memtrace-plot:" in proc.stderr

    proc = plot(good)  # no -o
    assert proc.returncode == 2, proc
    assert "-o" in proc.stderr

    proc = plot(good, "-o", png, "--limit", "lots")
    assert proc.returncode == 2, proc

    proc = plot(good, "-o", png, "--label", "a", "b")  # more labels than CSVs
    assert proc.returncode == 2, proc

    assert not png.exists()


# folded stacks as --python writes them: frames root first, then the bytes. The two read_csv
# lines are the same stack (merged); the long frame gets a tenth of the width, too little
# for its whole name.
LONG_FRAME = "a_function_with_a_name_far_too_long_for_its_box (lib/deep/module.py:1234)"
FOLDED = f"""<module> (app.py:1);main (app.py:40);load (app.py:12);read_csv (pandas/io.py:880) 52428800
<module> (app.py:1);main (app.py:40);load (app.py:12) 1048576
<module> (app.py:1);main (app.py:40);build (app.py:20);<listcomp> (app.py:21) 20971520
<module> (app.py:1);main (app.py:40);{LONG_FRAME} 8388608
<module> (app.py:1);main (app.py:40);tiny (app.py:3) 100
<module> (app.py:1);main (app.py:40);load (app.py:12);read_csv (pandas/io.py:880) 1048576

"""
FOLDED_TOTAL_MIB = (52428800 + 1048576 + 20971520 + 8388608 + 100 + 1048576) / (1024 * 1024)


@pytest.mark.unprivileged
def test_flame_png_and_svg(tmp_path):
    folded = tmp_path / "stacks.folded"
    folded.write_text(FOLDED)
    png = tmp_path / "flame.png"
    proc = plot("--flame", folded, "-o", png, "--title", "python lines")
    assert proc.returncode == 0, proc.stderr
    width, height = check_png(png)
    # five frames and the root, one row each, plus the title
    assert width == WIDTH and 100 < height < 300, (width, height)

    svg = tmp_path / "flame.svg"
    proc = plot("--flame", folded, "-o", svg)
    assert proc.returncode == 0, proc.stderr
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text, text[:200]
    for name in ("&lt;module&gt; (app.py:1)", "main (app.py:40)", "load (app.py:12)",
                 "read_csv (pandas/io.py:880)", "build (app.py:20)",
                 "&lt;listcomp&gt; (app.py:21)"):
        assert f">{name}<" in text, name
    # cut at the end of what fits, and marked so
    assert LONG_FRAME not in text
    assert re.search(r">a_function[a-z_]*\.\.<", text), "no label cut with .."
    # the total of every stack, in MiB, in the title (the file's name by default)
    assert f"total {FOLDED_TOTAL_MIB:.1f} MiB" in text and "stacks.folded" in text


@pytest.mark.unprivileged
def test_flame_bad_inputs(tmp_path):
    good = tmp_path / "good.folded"
    good.write_text(FOLDED)
    png = tmp_path / "out.png"

    def refused(*args):
        proc = plot(*args)
        assert proc.returncode == 2, proc
        assert "memtrace-plot:" in proc.stderr, proc.stderr
        return proc.stderr

    err = refused("--flame", tmp_path / "missing.folded", "-o", png)
    assert "missing.folded" in err and len(err.splitlines()) == 1, err

    empty = tmp_path / "empty.folded"
    empty.write_text("")
    err = refused("--flame", empty, "-o", png)
    assert len(err.splitlines()) == 1, err
    blank = tmp_path / "blank.folded"
    blank.write_text("\n\n")
    refused("--flame", blank, "-o", png)

    for bad, why in (("main (a.py:1) lots", "byte count"), ("main (a.py:1)", "byte count"),
                     ("a;;b 10", "empty frame"), ("main (a.py:1) -5", "byte count")):
        malformed = tmp_path / "malformed.folded"
        malformed.write_text(FOLDED.splitlines()[0] + "\n" + FOLDED.splitlines()[1] + "\n"
                             + bad + "\n")
        err = refused("--flame", malformed, "-o", png)
        assert f"malformed.folded:3:" in err and why in err, (bad, err)
        assert len(err.splitlines()) == 1, err

    # --flame draws folded stacks, not CSVs, nor with CSV options
    csv = tmp_path / "run.csv"
    csv.write_text(SPIKE_CSV)
    refused("--flame", good, csv, "-o", png)
    refused(csv, "--flame", good, "-o", png)
    refused("--flame", good, "-o", png, "--limit", "1G")
    refused("--flame", good, "-o", png, "--per-process")
    refused("--flame", good)  # no -o
    assert not png.exists()

    # a place that cannot be written: 1
    proc = plot("--flame", good, "-o", tmp_path / "no-such-dir" / "out.svg")
    assert proc.returncode == 1, proc
    assert "memtrace-plot: cannot write" in proc.stderr, proc.stderr


# --- repeated runs (memtrace-bpf --repeat N): a last "run" column, elapsed_s from each run's
# start

def with_run_column(text, run_of_line):
    """A hand-written CSV given the run column: run_of_line(index of the row) on each row."""
    lines = text.strip("\n").split("\n")
    return "\n".join([lines[0] + ",run"] + [f"{line},{run_of_line(k)}"
                                              for k, line in enumerate(lines[1:])]) + "\n"


def grower_rows(pid, steps, mib_per_step, end, oom=False):
    """One process growing mib_per_step MiB each 0.1 s for `steps` samples, then its exit
    (after an oom_kill row when oom) at `end` s."""
    m = 1024 * 1024
    rows = [f"1795253200.000000,0.000000,{pid},1,python3,start,0,0,0,0,0,0,0,0,"]
    rss = 0
    for k in range(1, steps + 1):
        rss = k * mib_per_step * m
        rows.append(f"1795253200.{k:06d},{k / 10:.6f},{pid},1,python3,sample,{rss},{rss},0,0,"
                    f"{rss + m},0,0,0,")
    if oom:
        rows.append(f"1795253201.000000,{end - 0.01:.6f},{pid},1,python3,oom_kill,{rss},{rss},"
                    f"0,0,{rss + 2 * m},0,0,0,constraint=memcg")
    rows.append(f"1795253201.000000,{end:.6f},{pid},1,python3,exit,0,0,0,0,{rss + 2 * m},"
                f"0,0,0,exit_code=0")
    return rows


def runs_csv(specs):
    """A CSV of several runs: specs [(steps, MiB per step, end, oom)], run 1 first."""
    lines = [HEADER + ",run"]
    for run, (steps, per_step, end, oom) in enumerate(specs, start=1):
        lines += [f"{row},{run}" for row in grower_rows(100 + run, steps, per_step, end, oom)]
    return "\n".join(lines) + "\n"


# three runs of the same length, the middle one OOM-killed
THREE_RUNS = runs_csv([(5, 40, 0.6, False), (5, 48, 0.6, True), (5, 36, 0.6, False)])
# runs that end at 0.35 s, 0.75 s and 1.25 s
UNEQUAL_RUNS = runs_csv([(3, 10, 0.35, False), (7, 20, 0.75, True), (12, 5, 1.25, False)])


def load_plot_module():
    """memtrace-plot as a module (it has no .py suffix), for its band computation."""
    loader = importlib.machinery.SourceFileLoader("memtrace_plot", PLOT)
    spec = importlib.util.spec_from_loader("memtrace_plot", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.unprivileged
def test_repeated_runs_median_and_band(tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text(THREE_RUNS)
    png = tmp_path / "runs.png"
    proc = plot(csv, "-o", png, "--limit", "256M")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert check_png(png) == (WIDTH, HEIGHT)

    # a band is drawn: not the picture of one run alone
    one = tmp_path / "run2.png"
    proc = plot(csv, "-o", one, "--limit", "256M", "--run", "2")
    assert proc.returncode == 0, proc.stderr
    assert check_png(one) == (WIDTH, HEIGHT)
    assert one.read_bytes() != png.read_bytes()

    # --per-process draws one run: it needs --run with several
    proc = plot(csv, "-o", tmp_path / "pp.png", "--per-process")
    assert proc.returncode == 2, proc
    assert "3 runs" in proc.stderr and "--run K" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not (tmp_path / "pp.png").exists()
    proc = plot(csv, "-o", tmp_path / "pp.png", "--per-process", "--run", "3")
    assert proc.returncode == 0, proc.stderr
    assert check_png(tmp_path / "pp.png") == (WIDTH, HEIGHT)
    proc = plot(csv, "-o", tmp_path / "none.png", "--run", "4")
    assert proc.returncode == 2, proc
    assert "no run 4" in proc.stderr and "runs: 1, 2, 3" in proc.stderr, proc.stderr
    for bad in ("0", "x"):
        proc = plot(csv, "-o", tmp_path / "none.png", "--run", bad)
        assert proc.returncode == 2, proc
    assert not (tmp_path / "none.png").exists()

    # a run column holding one run draws as the same CSV without it, to the byte
    plain, single = tmp_path / "plain.csv", tmp_path / "single.csv"
    plain.write_text(HAND_CSV)
    single.write_text(with_run_column(HAND_CSV, lambda k: 1))
    png_plain, png_single = tmp_path / "plain.png", tmp_path / "single.png"
    for src, out in ((plain, png_plain), (single, png_single)):
        proc = plot(src, "-o", out, "--label", "same")
        assert proc.returncode == 0, proc.stderr
    assert png_single.read_bytes() == png_plain.read_bytes()

    # a run column whose value is not a run number
    bad = tmp_path / "bad.csv"
    bad.write_text(with_run_column(HAND_CSV, lambda k: "x" if k == 2 else 1))
    proc = plot(bad, "-o", tmp_path / "bad.png")
    assert proc.returncode == 2, proc
    assert "bad.csv:4: malformed row" in proc.stderr, proc.stderr


@pytest.mark.unprivileged
def test_repeated_runs_of_different_lengths(tmp_path):
    # list against generator, each CSV its median and band, one of them with unequal runs
    a, b = tmp_path / "list.csv", tmp_path / "gen.csv"
    a.write_text(UNEQUAL_RUNS)
    b.write_text(THREE_RUNS)
    png = tmp_path / "both.png"
    proc = plot(a, b, "-o", png, "--label", "list comprehension", "generator")
    assert proc.returncode == 0, proc.stderr
    assert check_png(png) == (WIDTH, HEIGHT)

    # the band itself: at each time, over the runs still alive then
    mp = load_plot_module()
    m = 1024 * 1024
    curves = []
    for run in mp.Trace(str(a), "list").load().runs():
        times, totals, _at_row = run.tree_curve()
        curves.append((times, totals))
    grid, med, low, high = mp.band(curves)
    at = {round(t, 6): (med[k], low[k], high[k]) for k, t in enumerate(grid)}
    assert at[0.0] == (0, 0, 0)
    # 0.3 s: run 1 has 30 MiB, run 2 60 MiB, run 3 15 MiB
    assert at[0.3] == (30 * m, 15 * m, 60 * m)
    # 0.35 s, run 1's end: its drop to 0 is not counted, runs 2 and 3 have 60 and 15 MiB
    assert at[0.35] == (37.5 * m, 15 * m, 60 * m)
    # 0.5 s: runs 2 and 3 have 100 and 25 MiB
    assert at[0.5] == (62.5 * m, 25 * m, 100 * m)
    # 1.0 s: run 3 alone, 50 MiB
    assert at[1.0] == (50 * m, 50 * m, 50 * m)
    # the end of the last run: its drop to 0 after its exit
    assert grid[-1] == pytest.approx(1.25) and at[1.25] == (0, 0, 0)
    assert grid == sorted(grid) and len(grid) == len(set(grid))
    assert all(lo <= md <= hi for md, lo, hi in zip(med, low, high))


# the JSON that memtrace-bpf --find-min-limit --summary-json FILE writes (its find_min_limit)
def summary(**find_min_limit):
    trials = [
        {"trial": 1, "limit_bytes": None, "outcome": "ok", "exit_status": 0, "wall_s": 1.5,
         "peak_rss_bytes": 386 * 1024 * 1024},
        {"trial": 2, "limit_bytes": 193 * 1024 * 1024, "outcome": "oom_killed",
         "exit_status": 137, "wall_s": 0.6, "peak_rss_bytes": 193 * 1024 * 1024},
        {"trial": 3, "limit_bytes": 290 * 1024 * 1024, "outcome": "oom_killed",
         "exit_status": 137, "wall_s": 0.9, "peak_rss_bytes": 290 * 1024 * 1024},
        {"trial": 4, "limit_bytes": 338 * 1024 * 1024, "outcome": "timeout",
         "exit_status": None, "wall_s": 3.0, "peak_rss_bytes": 338 * 1024 * 1024},
        {"trial": 5, "limit_bytes": 362 * 1024 * 1024, "outcome": "failed",
         "exit_status": 1, "wall_s": 1.1, "peak_rss_bytes": None},
        {"trial": 6, "limit_bytes": 387 * 1024 * 1024, "outcome": "ok", "exit_status": 0,
         "wall_s": 2.2, "peak_rss_bytes": 386 * 1024 * 1024},
    ]
    fml = {"resolution_bytes": 1024 * 1024, "lower_bound_bytes": 0,
           "upper_bound_bytes": 400 * 1024 * 1024, "min_ok_limit_bytes": 387 * 1024 * 1024,
           "max_failed_limit_bytes": 362 * 1024 * 1024, "trial_timeout_s": 3.0,
           "trials": trials}
    fml.update(find_min_limit)
    return {"schema": "memtrace-bpf/summary/1",
            "command": "python3 -c 'sum([i for i in range(10**7)])'", "target": "command",
            "runs": [{"run": 1, "warmup": False, "wall_s": 1.5, "root": {"pid": 9, "wall_s": 1.5}}],
            "find_min_limit": fml}


@pytest.mark.unprivileged
def test_trials_png(tmp_path):
    js = tmp_path / "summary.json"
    js.write_text(json.dumps(summary()))
    png = tmp_path / "trials.png"
    proc = plot("--trials", js, "-o", png)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert check_png(png) == (WIDTH, HEIGHT)

    # no limit passed; the baseline without a run time: a warning, still drawn
    s = summary(min_ok_limit_bytes=None, max_failed_limit_bytes=387 * 1024 * 1024)
    s["find_min_limit"]["trials"][0]["wall_s"] = None
    s["find_min_limit"]["trials"][-1]["outcome"] = "oom_killed"
    js2 = tmp_path / "none-passed.json"
    js2.write_text(json.dumps(s))
    png2 = tmp_path / "none-passed.png"
    proc = plot("--trials", js2, "-o", png2, "--title", "nothing fits")
    assert proc.returncode == 0, proc.stderr
    assert "warning: trial(s) 1 have no run time" in proc.stderr, proc.stderr
    assert check_png(png2) == (WIDTH, HEIGHT)
    assert png2.read_bytes() != png.read_bytes()

    # --trials draws one summary, with no CSV options
    for extra in ((tmp_path / "x.csv",), ("--per-process",), ("--limit", "1G"),
                  ("--label", "a"), ("--run", "1"), ("--flame", js)):
        proc = plot("--trials", js, "-o", tmp_path / "no.png", *extra)
        assert proc.returncode == 2, (extra, proc)
    assert not (tmp_path / "no.png").exists()


@pytest.mark.unprivileged
def test_trials_without_find_min_limit(tmp_path):
    png = tmp_path / "out.png"
    for name, content in (("null.json", dict(summary(), find_min_limit=None)),
                          ("absent.json", {k: v for k, v in summary().items()
                                           if k != "find_min_limit"})):
        js = tmp_path / name
        js.write_text(json.dumps(content))
        proc = plot("--trials", js, "-o", png)
        assert proc.returncode == 2, proc
        assert proc.stderr == (f"memtrace-plot: {js}: no find_min_limit in it (written by "
                               "memtrace-bpf --find-min-limit --summary-json FILE)\n")
    assert not png.exists()


@pytest.mark.unprivileged
def test_trials_malformed(tmp_path):
    png = tmp_path / "out.png"

    def refused(content, *expected):
        js = tmp_path / "bad.json"
        js.write_text(content if isinstance(content, str) else json.dumps(content))
        proc = plot("--trials", js, "-o", png)
        assert proc.returncode == 2, proc
        assert proc.stderr.startswith(f"memtrace-plot: {js}: "), proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        for text in expected:
            assert text in proc.stderr, (text, proc.stderr)

    def trial(k, **change):
        s = summary()
        t = s["find_min_limit"]["trials"][k]
        for key, value in change.items():
            if value is KeyError:
                del t[key]
            else:
                t[key] = value
        return s

    refused(trial(2, outcome="exploded"), "trials[2].outcome is 'exploded'",
            "ok, oom_killed, timeout, failed")
    refused(trial(1, limit_bytes="200M"), "trials[1].limit_bytes is '200M'")
    refused(trial(1, limit_bytes=KeyError), "trials[1]: no 'limit_bytes' key")
    refused(trial(3, wall_s="slow"), "trials[3].wall_s is 'slow'")
    refused(trial(0, trial=True), "trials[0].trial is True")
    s = summary()
    s["find_min_limit"]["trials"][4] = "trial 5"
    refused(s, "trials[4] is 'trial 5', expected an object")
    refused(summary(trials=[]), "trials is empty")
    refused(summary(min_ok_limit_bytes=-1), "min_ok_limit_bytes is -1")
    refused(dict(summary(), schema="other/1"), "not a memtrace-bpf summary")
    refused("[1, 2]", "not a memtrace-bpf summary")
    refused('{"find_min_limit": ', "not JSON")
    assert not png.exists()

    proc = plot("--trials", tmp_path / "missing.json", "-o", png)
    assert proc.returncode == 2, proc
    assert "missing.json" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


# --- scripts/list-vs-generator.sh -r N, with a stand-in for memtrace-bpf: it logs its
# arguments and writes what --repeat N --summary-json FILE write, the list always OOM-killed
EXPERIMENT = os.path.join(ROOT, "scripts", "list-vs-generator.sh")
FAKE_TRACER = r'''#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "args.log"), "a") as f:
    f.write(json.dumps(args) + "\n")
opts, code = args[:args.index("--")], args[-1]
opt = lambda name: opts[opts.index(name) + 1] if name in opts else None
listing = "[i for" in code
repeat = int(opt("--repeat") or 0)
m = 1024 * 1024
header = ("unix_time,elapsed_s,pid,ppid,comm,event,rss_bytes,anon_bytes,file_bytes,"
          "shmem_bytes,peak_rss_bytes,rss_delta_bytes,faults,pages_alloc,detail")
lines = [header + (",run" if repeat else "")]
runs = []
for run in range(1, max(repeat, 1) + 1):
    rss = (100 * run if listing else 8) * m
    wall = 0.5 * run if listing else 1.0
    rows = [f"0,0.000000,{run},1,python3,start,0,0,0,0,0,0,0,0,",
            f"0,{wall / 2:.6f},{run},1,python3,sample,{rss},{rss},0,0,{rss},{rss},0,0,"]
    if listing:
        rows.append(f"0,{wall:.6f},{run},1,python3,oom_kill,{rss},{rss},0,0,{rss},0,0,0,"
                    "constraint=memcg")
    rows.append(f"0,{wall:.6f},{run},1,python3,exit,0,0,0,0,{rss},{-rss},0,0,")
    lines += [row + (f",{run}" if repeat else "") for row in rows]
    runs.append({"run": run, "warmup": False, "wall_s": wall,
                 "outcome": "oom_killed" if listing else "ok",
                 "root": {"pid": run, "wall_s": wall, "peak_rss_bytes": rss,
                          "exit_code": None if listing else 0, "oom_killed": listing}})
with open(opt("-o"), "w") as f:
    f.write("\n".join(lines) + "\n")
if opt("--summary-json") and not os.environ.get("FAKE_NO_SUMMARY"):
    with open(opt("--summary-json"), "w") as f:
        json.dump({"schema": "memtrace-bpf/summary/1", "target": "command",
                   "runs": [{"run": 0, "warmup": True, "wall_s": 9.0, "outcome": "ok",
                             "root": {"pid": 99, "wall_s": 9.0, "peak_rss_bytes": 1,
                                      "oom_killed": False}}] + runs,
                   "find_min_limit": None}, f)
sys.exit(137 if listing else 0)
'''


def experiment(tmp_path, *args, env=None):
    fake = tmp_path / "fake-memtrace-bpf"
    fake.write_text(FAKE_TRACER)
    fake.chmod(0o755)
    (tmp_path / "args.log").unlink(missing_ok=True)
    proc = subprocess.run([EXPERIMENT, "-n", "10", "-b", str(fake), "-o", str(tmp_path / "out"),
                           *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))
    calls = [json.loads(line) for line in (tmp_path / "args.log").read_text().splitlines()]
    return proc, calls


@pytest.mark.unprivileged
def test_experiment_repeat_usage(tmp_path):
    for bad in ("0", "x", "-3", "1.5", ""):
        proc = subprocess.run([EXPERIMENT, "-r", bad, "-o", str(tmp_path)], capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 2, (bad, proc)
        assert f"-r {bad}: give a number of runs" in proc.stderr, proc.stderr
    proc = subprocess.run([EXPERIMENT, "-h"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc
    assert "[-r N]" in proc.stdout and "--repeat N" in proc.stdout, proc.stdout


def test_experiment_repeat_verdict(tmp_path):
    """Needs root only because the script does (it checks before it runs the tracer)."""
    out = tmp_path / "out"
    proc, calls = experiment(tmp_path, "-r", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [c[:c.index("--")] for c in calls] == [
        ["-m", "512M", "--repeat", "3", "--summary-json", str(out / f"{name}.summary.json"),
         "-o", str(out / f"{name}.csv")] for name in ("list-comprehension", "generator")]
    # the medians of 100, 200, 300 MiB and 0.5, 1.0, 1.5 s; the warmup left out
    assert ("  list comprehension: 3 runs, 3 OOM-killed; median peak RSS 200.0 MiB; "
            "median run time 1.00 s\n") in proc.stdout, proc.stdout
    assert ("  generator:          3 runs, 0 OOM-killed; median peak RSS 8.0 MiB; "
            "median run time 1.00 s\n") in proc.stdout, proc.stdout
    assert "only the list comprehension was killed under 512M (in at least one run)" \
        in proc.stdout, proc.stdout
    assert check_png(out / "list-vs-generator.png") == (WIDTH, HEIGHT)

    # a summary not written: said in the verdict, status 1
    proc, calls = experiment(tmp_path, "-r", "2", env={"FAKE_NO_SUMMARY": "1"})
    assert proc.returncode == 1, proc
    assert "list comprehension: no usable summary in" in proc.stderr, proc.stderr

    # without -r: no --repeat, and the verdict from the CSVs as before
    proc, calls = experiment(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all("--repeat" not in c and "--summary-json" not in c for c in calls), calls
    assert "list comprehension: OOM-killed (status 137) at RSS 100.0 MiB" in proc.stdout
    assert "only the list comprehension was killed under 512M\n" in proc.stdout, proc.stdout


def test_real_repeated_runs_and_trials_from_the_tracer(tmp_path):
    """The tracer's own --repeat CSV as a band, its --find-min-limit summary as trials."""
    out, js = tmp_path / "runs.csv", tmp_path / "runs.json"
    proc = subprocess.run([BIN, "--repeat", "3", "-o", str(out), "--", workload("touch"), "40",
                           "--hold", "200"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "band.png"
    p = plot(out, "-o", png)
    assert p.returncode == 0, p.stderr
    assert check_png(png) == (WIDTH, HEIGHT)
    proc = subprocess.run([BIN, "--find-min-limit", "-o", str(tmp_path / "t.csv"),
                           "--summary-json", str(js), "--", workload("touch"), "40"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "trials.png"
    p = plot("--trials", js, "-o", png)
    assert p.returncode == 0, p.stderr
    assert check_png(png) == (WIDTH, HEIGHT)
