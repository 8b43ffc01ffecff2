"""scripts/memtrace-plot: draws memtrace-bpf CSVs as PNG, and folded stacks (--flame) as a
flame graph in PNG or SVG; refuses what is not one."""
import os
import re
import struct
import subprocess
import sys

import pytest

from conftest import ROOT, trace, workload

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
