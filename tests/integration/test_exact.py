"""--exact: RSS and peaks exact to the page, from the classic kmem/rss_stat record.

The reference is a walk of the process's own page tables (/proc/self/smaps_rollup's
"Anonymous:", read by the workload itself right before it exits). Only anon is compared: for
file pages the kernel's counters and the walk differ by definition (README, --exact).
"""
import json
import os
import re
import subprocess

import pytest

from conftest import (BIN, MIB, PERCPU_LAG, bpf_objects_of, check_process_rows, leaked_programs,
                      read_csv, release, rows_of, run, trace, trace_pid, wait_for, workload)

RUNS = 10


def walked(stdout):
    """The workload's own readings of its page tables, in bytes: (at its peak, at its end)."""
    m = re.search(r"anon_peak_kib=(\d+) anon_end_kib=(\d+)", stdout)
    assert m, stdout
    return int(m.group(1)) * 1024, int(m.group(2)) * 1024


def exit_row(rows):
    exits = [r for r in rows if r["event"] == "exit"]
    assert len(exits) == 1, rows
    return exits[0]


def traced_walk(tmp_path, args, *workload_args):
    proc, rows = trace(tmp_path, args + ["--", workload("anonwalk")] + list(workload_args))
    assert proc.returncode == 0, proc.stderr
    check_process_rows(rows)
    return walked(proc.stdout), exit_row(rows)


def peak_anon(row):
    """anon at the peak, where the file and shmem pages did not change after it (anonwalk
    faults no page in or out after its last reading but the ones it unmaps)."""
    return row["peak_rss_bytes"] - row["file_bytes"] - row["shmem_bytes"]


@pytest.mark.parametrize("attempt", range(RUNS))
def test_anon_equals_the_page_walk_to_the_page(tmp_path, attempt):
    (peak_walk, end_walk), row = traced_walk(tmp_path, ["--exact"], "300")
    assert peak_walk == end_walk >= 300 * MIB
    # no PERCPU_LAG allowance: equal, to the byte
    assert row["anon_bytes"] == end_walk, (row["anon_bytes"] - end_walk) // 1024
    # nothing was unmapped: the exit is the peak, with the same anon
    assert row["peak_rss_bytes"] == row["rss_bytes"]
    assert peak_anon(row) == peak_walk


@pytest.mark.parametrize("attempt", range(3))
def test_peak_exact_after_a_free(tmp_path, attempt):
    """300 MiB touched, then 200 MiB unmapped: the peak keeps the anon of the moment before."""
    (peak_walk, end_walk), row = traced_walk(tmp_path, ["--exact"], "300", "200")
    assert peak_walk - end_walk == 200 * MIB
    assert row["anon_bytes"] == end_walk
    assert peak_anon(row) == peak_walk
    assert row["peak_rss_bytes"] - row["rss_bytes"] == 200 * MIB


def test_default_reads_the_folded_counter(tmp_path, capsys):
    """Without --exact the exit row holds the folded counter: within the per-CPU lag of the walk,
    not necessarily equal to it (how far, printed)."""
    (_, end_walk), row = traced_walk(tmp_path, [], "300")
    with capsys.disabled():
        print(f"\n  default: exit anon {row['anon_bytes'] // 1024} KiB, page walk "
              f"{end_walk // 1024} KiB: {(row['anon_bytes'] - end_walk) // 1024:+d} KiB")
    assert abs(row["anon_bytes"] - end_walk) <= PERCPU_LAG


def program_names(ids):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p.get("name") for p in json.loads(out) if p["id"] in ids}


def test_with_pid_and_nothing_left_loaded(tmp_path):
    touch = subprocess.Popen([workload("touch"), "100", "--wait-stdin", "--hold", "100"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(touch.stdout.readline().split()[1])
        out = tmp_path / "trace.csv"
        tracer = trace_pid(out, pid, "--exact")
        # the classic record's program runs beside the tp_btf one while it traces
        held = program_names(bpf_objects_of(tracer.pid)["prog"])
        assert {"tp_rss_exact", "on_rss_stat"} <= held, held
        release(touch)
        assert touch.wait(timeout=60) == 0
        _, err = tracer.communicate(timeout=60)
        assert tracer.returncode == 0, err
    finally:
        touch.kill()
        touch.wait()
    row = exit_row(rows_of(read_csv(out), pid))
    # every touched page is in it: no allowance for a lagging counter
    assert row["anon_bytes"] >= 100 * MIB
    assert wait_for(lambda: not leaked_programs(), timeout=8), leaked_programs()


def test_help_and_verbose_say_it():
    proc = run(["--help"], timeout=30)
    assert proc.returncode == 0
    assert re.search(r"^\s+--exact\s", proc.stdout, re.M), proc.stdout
    proc = run(["--exact", "-v", "-o", "/dev/null", "--", "true"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "rss_stat record" in proc.stderr and "tracefs" in proc.stderr, proc.stderr
    # without it, the classic record is not used at all
    proc = run(["-v", "-o", "/dev/null", "--", "true"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "tp/kmem/rss_stat" not in proc.stderr and "rss_stat record" not in proc.stderr


def test_refused_exact_program_is_an_error():
    env = dict(os.environ, MEMTRACE_BPF_REFUSE="tp_rss_exact@attach")
    proc = run(["--exact", "-o", "/dev/null", "--", "true"], timeout=60, env=env)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memtrace-bpf: "), lines
    assert "tp_rss_exact" in lines[0] and "--exact" in lines[0], lines
    # not asked for, its refusal costs nothing and says nothing
    proc = run(["-o", "/dev/null", "--", "true"], timeout=60, env=env)
    assert proc.returncode == 0 and proc.stderr.count("tp_rss_exact") == 0, proc.stderr


# In a mount namespace of its own (unshare -m), so that tracefs can be mounted or unmounted
# for the test without touching what other programs on the host see. COMMAND runs while
# tracing is attached: it shows the mounts at that moment.
NS_SCRIPT = r"""
set -e
while umount /sys/kernel/tracing 2>/dev/null; do :; done
if [ "$1" = mounted ]; then mount -t tracefs nodev /sys/kernel/tracing; fi
echo "before: $(grep -c ' tracefs ' /proc/self/mounts || true)"
"$0" --exact -v -o /dev/null -- sh -c 'echo "during: $(grep -c " tracefs " /proc/self/mounts || true)"'
echo "after: $(grep -c ' tracefs ' /proc/self/mounts || true)"
echo "at /sys/kernel/tracing: $(grep -c ' /sys/kernel/tracing tracefs ' /proc/self/mounts || true)"
"""


def in_own_mount_ns(state):
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", NS_SCRIPT,
                           BIN, state], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    counts = dict(re.findall(r"^([a-z/ ]+): (\d+)$", proc.stdout, re.M))
    return {k: int(v) for k, v in counts.items()}, proc.stderr


def test_tracefs_unmounted_stays_unmounted():
    counts, err = in_own_mount_ns("unmounted")
    assert counts["at /sys/kernel/tracing"] == 0, counts
    # not even for a moment: the private instance is attached nowhere
    assert counts["before"] == counts["during"] == counts["after"], counts
    assert "private tracefs instance" in err, err


def test_tracefs_mounted_stays_mounted():
    counts, err = in_own_mount_ns("mounted")
    assert counts["at /sys/kernel/tracing"] == 1, counts
    assert counts["before"] == counts["during"] == counts["after"], counts
    assert "tracefs mounted at /sys/kernel/tracing" in err, err
