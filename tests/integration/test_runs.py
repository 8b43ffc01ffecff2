"""Many runs of one COMMAND under one BPF load: --repeat and --warmup (a run column, statistics
across runs), --find-min-limit (the least memory limit, by bisection over fresh cgroups), the
cross-checks of the peak, and --summary-json."""
import csv
import io
import json
import os
import re
import signal
import statistics
import subprocess
import time

import pytest

from conftest import (BIN, COLUMNS, INT_COLUMNS, MIB, memory_cgroup, parse_csv, run, wait_for,
                      workload)
from test_cli import assert_error

RUN_COLUMNS = COLUMNS + ["run"]


def parse_runs_csv(text):
    """Rows of a --repeat CSV: the single-run columns, then 'run'; a single run's have none."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if header == COLUMNS:
        return parse_csv(text)
    assert header == RUN_COLUMNS, header
    rows = []
    for fields in reader:
        assert len(fields) == len(RUN_COLUMNS), fields
        row = dict(zip(RUN_COLUMNS, fields))
        for c in INT_COLUMNS + ["run"]:
            row[c] = int(row[c])
        row["elapsed_s"] = float(row["elapsed_s"])
        row["unix_time"] = float(row["unix_time"])
        rows.append(row)
    return rows


def runs_of(tmp_path, args, timeout=300, **kw):
    """memtrace-bpf -o CSV --summary-json JSON ARGS: (process, rows, summary)."""
    out, js = tmp_path / "runs.csv", tmp_path / "summary.json"
    proc = run(["-o", str(out), "--summary-json", str(js)] + list(args), timeout=timeout, **kw)
    rows = parse_runs_csv(out.read_text()) if out.exists() and out.stat().st_size else []
    summary = json.loads(js.read_text()) if js.exists() and js.stat().st_size else None
    return proc, rows, summary


# The documented schema (README, "--summary-json"): every key and the types it may take.
NUM = (int, float)
OPT_INT = (int, type(None))
OPT_STR = (str, type(None))
ROOT_KEYS = {
    "pid": int, "comm": str, "command": str, "exited": bool, "exit_code": OPT_INT,
    "signal": OPT_STR, "oom_killed": bool, "oom_constraint": OPT_STR, "oom_kills_in_tree": int,
    "wall_s": NUM, "user_s": NUM + (type(None),), "sys_s": NUM + (type(None),),
    "peak_rss_bytes": int, "peak_anon_bytes": int, "peak_file_bytes": int,
    "peak_shmem_bytes": int, "rss_at_end_bytes": int, "faults": int, "pages_alloc": int,
    "descendants": int,
}
CROSS_KEYS = {
    "hiwater_rss_bytes": OPT_INT, "ru_maxrss_bytes": OPT_INT, "cgroup_peak_bytes": OPT_INT,
    "cgroup_peak_source": OPT_STR, "sampler_0_1s_peak_bytes": OPT_INT,
    "sampler_1s_peak_bytes": OPT_INT,
}
RUN_KEYS = {
    "run": int, "warmup": bool, "started": bool, "limit_bytes": OPT_INT, "outcome": OPT_STR,
    "exit_status": int, "timed_out": bool, "wall_s": NUM, "rows": int,
    "cgroup_oom_kills": OPT_INT, "root": dict, "cross_checks": dict,
}
STAT_KEYS = {"n": int, "median": NUM, "min": NUM, "max": NUM, "mean": NUM, "stdev": NUM}
METRICS = ["wall_s", "user_s", "sys_s", "peak_rss_bytes", "peak_anon_bytes", "peak_file_bytes",
           "peak_shmem_bytes", "faults", "pages_alloc"]
SEARCH_KEYS = {
    "found": bool, "min_ok_limit_bytes": OPT_INT, "max_failed_limit_bytes": OPT_INT,
    "resolution_bytes": int, "lower_bound_bytes": int, "trial_timeout_s": NUM, "trials": list,
}
TRIAL_KEYS = {
    "trial": int, "limit_bytes": OPT_INT, "outcome": OPT_STR, "exit_status": int, "wall_s": NUM,
    "peak_rss_bytes": int, "cgroup_peak_bytes": OPT_INT,
}
TOP_KEYS = {
    "schema": str, "version": str, "target": str, "command": str, "interval_s": NUM,
    "exit_status": int, "stop_reason": OPT_STR, "output": str, "rows": int,
    "runs": (list, type(None)), "statistics": (dict, type(None)),
    "find_min_limit": (dict, type(None)), "roots": list, "trace": (dict, type(None)),
    "oom_kills": int, "untraced_oom_kills": int, "losses": dict,
}
LOSS_KEYS = {"ringbuf_records": int, "map_full": int, "python_stacks": int,
             "python_code_objects": int, "native_stacks": int, "exits_unexplained": int}


def check_keys(obj, keys, where):
    assert set(obj) == set(keys), (where, sorted(set(obj) ^ set(keys)))
    for k, types in keys.items():
        ok = isinstance(obj[k], types) and not (isinstance(obj[k], bool) and bool not in
                                                 (types if isinstance(types, tuple) else (types,)))
        assert ok, (where, k, obj[k])


def validate(summary):
    """The document against the documented schema: keys, and the type of every value."""
    check_keys(summary, TOP_KEYS, "top")
    assert summary["schema"] == "memtrace-bpf/summary/1"
    check_keys(summary["losses"], LOSS_KEYS, "losses")
    for r in summary["roots"]:
        check_keys(r, ROOT_KEYS, "roots[]")
    for i, r in enumerate(summary["runs"] or []):
        check_keys(r, RUN_KEYS, f"runs[{i}]")
        check_keys(r["root"], ROOT_KEYS, f"runs[{i}].root")
        check_keys(r["cross_checks"], CROSS_KEYS, f"runs[{i}].cross_checks")
    if summary["statistics"] is not None:
        assert set(summary["statistics"]) <= set(METRICS), summary["statistics"].keys()
        for k, v in summary["statistics"].items():
            check_keys(v, STAT_KEYS, f"statistics.{k}")
    if summary["find_min_limit"] is not None:
        check_keys(summary["find_min_limit"], SEARCH_KEYS, "find_min_limit")
        for t in summary["find_min_limit"]["trials"]:
            check_keys(t, TRIAL_KEYS, "trials[]")


def counted(summary):
    return [r for r in summary["runs"] if not r["warmup"]]


def test_repeat_three_runs_in_one_table(tmp_path):
    proc, rows, summary = runs_of(tmp_path, ["--repeat", "3", "--", workload("touch"), "100"])
    assert proc.returncode == 0, proc.stderr
    validate(summary)
    assert sorted({r["run"] for r in rows}) == [1, 2, 3]
    runs = summary["runs"]
    assert [r["run"] for r in runs] == [1, 2, 3] and not any(r["warmup"] for r in runs)
    pids = [r["root"]["pid"] for r in runs]
    assert len(set(pids)) == 3, pids
    for run_no, pid in zip([1, 2, 3], pids):
        mine = [r for r in rows if r["pid"] == pid]
        # the run number is right on every row: each process's rows carry its run's
        assert {r["run"] for r in mine} == {run_no}, mine
        assert mine[0]["event"] == "start" and mine[-1]["event"] == "exit", mine
        # each run on its own time base
        assert mine[0]["elapsed_s"] < 0.5, mine[0]
        assert [r for r in rows if r["run"] == run_no] == mine
        assert summary["runs"][run_no - 1]["rows"] == len(mine)
    # the statistics are those of the rows
    peaks = [max(r["peak_rss_bytes"] for r in rows if r["run"] == n) for n in (1, 2, 3)]
    assert all(p >= 100 * MIB for p in peaks), peaks
    st = summary["statistics"]["peak_rss_bytes"]
    assert st["n"] == 3
    assert st["median"] == statistics.median(peaks)
    assert st["min"] == min(peaks) and st["max"] == max(peaks)
    assert abs(st["stdev"] - statistics.stdev(peaks)) < 1, (st, peaks)
    faults = [r["root"]["faults"] for r in runs]
    assert faults == [[r for r in rows if r["run"] == n][-1]["faults"] for n in (1, 2, 3)]
    assert summary["statistics"]["faults"]["median"] == statistics.median(faults)
    walls = [r["wall_s"] for r in runs]
    assert abs(summary["statistics"]["wall_s"]["median"] - statistics.median(walls)) < 1e-5
    assert [r["exit_status"] for r in runs] == [0, 0, 0]
    # stderr: the table and the statistics
    assert "memtrace-bpf: 3 runs of " in proc.stderr, proc.stderr
    assert re.search(r"over 3 runs\s+median\s+min\s+max\s+stdev", proc.stderr), proc.stderr
    assert re.search(r"^\s+peak RSS\s+\d", proc.stderr, re.M), proc.stderr


def test_single_run_keeps_the_single_run_table(tmp_path):
    out = tmp_path / "one.csv"
    proc = run(["-o", str(out), "--", workload("touch"), "10"])
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)


def test_warmup_runs_are_traced_not_written_nor_counted(tmp_path):
    proc, rows, summary = runs_of(tmp_path, ["--warmup", "1", "--repeat", "2", "--",
                                             workload("touch"), "20"])
    assert proc.returncode == 0, proc.stderr
    validate(summary)
    runs = summary["runs"]
    assert [(r["run"], r["warmup"]) for r in runs] == [(0, True), (1, False), (2, False)]
    assert runs[0]["started"] and runs[0]["rows"] == 0
    assert runs[0]["root"]["peak_rss_bytes"] >= 20 * MIB, "a warm-up run is traced"
    assert sorted({r["run"] for r in rows}) == [1, 2]
    assert runs[0]["root"]["pid"] not in {r["pid"] for r in rows}
    assert summary["statistics"]["wall_s"]["n"] == 2
    assert "after 1 warm-up run" in proc.stderr, proc.stderr


def test_repeat_with_a_limit_makes_a_cgroup_per_run(tmp_path):
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    script = f"cat /proc/self/cgroup; exec {workload('touch')} 30"
    proc, rows, summary = runs_of(tmp_path, ["-v", "--repeat", "2", "-m", "200M", "--",
                                             "/bin/sh", "-c", script])
    assert proc.returncode == 0, proc.stderr
    validate(summary)
    # each run was in a cgroup of ours, created for it and removed after it
    ours = [line for line in proc.stdout.splitlines() if "/memtrace-bpf-" in line]
    assert len(ours) == 2, proc.stdout
    assert proc.stderr.count("memtrace-bpf: debug: cgroup v") == 2, proc.stderr
    assert len(re.findall(r"debug: cgroup \S+ removed", proc.stderr)) == 2, proc.stderr
    for r in summary["runs"]:
        assert r["limit_bytes"] == 200 * MIB
        assert r["cross_checks"]["cgroup_peak_bytes"] >= 30 * MIB
        assert r["cgroup_oom_kills"] == 0


def sigint_in_run_2(args, out, js):
    """memtrace-bpf ARGS on a 20 MiB toucher held 1.5 s; SIGINT once run 2 has a row.
    Returns (the finished process, its stderr)."""
    tracer = subprocess.Popen([BIN] + args + ["-o", str(out), "--summary-json", str(js), "--",
                                              workload("touch"), "20", "--hold", "1500"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: out.exists() and re.search(r",2\n", out.read_text()),
                        timeout=30), "run 2 never started"
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=30)
    finally:
        if tracer.poll() is None:
            tracer.kill()
    return tracer, err


def test_sigint_during_the_second_run_stops_with_two_runs_told(tmp_path):
    out, js = tmp_path / "runs.csv", tmp_path / "summary.json"
    tracer, err = sigint_in_run_2(["--repeat", "3"], out, js)
    # forwarded to the command, which died of it: its status, as COMMAND mode returns it
    assert tracer.returncode == 128 + signal.SIGINT, err
    rows = parse_runs_csv(out.read_text())
    assert sorted({r["run"] for r in rows}) == [1, 2]
    last = [r for r in rows if r["run"] == 2][-1]
    assert last["event"] == "exit" and last["detail"] == "signal=SIGINT", last
    summary = json.loads(js.read_text())
    validate(summary)
    assert [r["exit_status"] for r in summary["runs"]] == [0, 128 + signal.SIGINT]
    assert [r["outcome"] for r in summary["runs"]] == ["ok", "interrupted"]
    assert summary["exit_status"] == 128 + signal.SIGINT
    assert "memtrace-bpf: 2 runs of " in err, err


def test_repeat_as_jsonl_carries_the_run(tmp_path):
    out = tmp_path / "runs.jsonl"
    proc = run(["--repeat", "2", "-F", "jsonl", "-o", str(out), "--", workload("touch"), "5"])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["run"] for line in lines} == {1, 2}
    assert list(lines[0])[-1] == "run"


def test_repeat_status_is_the_first_failing_runs(tmp_path):
    script = f"{workload('touch')} 1 --exit 3"
    proc, rows, summary = runs_of(tmp_path, ["--repeat", "2", "--", "/bin/sh", "-c", script])
    assert proc.returncode == 3, proc.stderr
    assert [r["exit_status"] for r in summary["runs"]] == [3, 3]
    assert [r["outcome"] for r in summary["runs"]] == ["failed", "failed"]


@pytest.mark.parametrize("args", [["--repeat", "2", "-p", "1"], ["--repeat", "2", "-a"],
                                  ["--warmup", "1", "-G", "/sys/fs/cgroup"],
                                  ["--find-min-limit", "-p", "1"],
                                  ["--repeat", "0", "true"], ["--repeat", "2", "-d", "1s", "true"],
                                  ["--find-min-limit", "-m", "1G", "true"],
                                  ["--repeat", "2", "-F", "mprof", "true"],
                                  ["--resolution", "1M", "true"],
                                  ["--summary-json", "-", "true"]])
def test_runs_usage_errors(args):
    assert_error(run(args), 2)


def test_repeat_of_a_missing_command_stops_at_the_first(tmp_path):
    proc, rows, summary = runs_of(tmp_path, ["--repeat", "3", "--", "/nonexistent/cmd"])
    assert proc.returncode == 127, proc.stderr
    assert "cannot run '/nonexistent/cmd'" in proc.stderr
    assert len(summary["runs"]) == 1 and not summary["runs"][0]["started"]
    assert summary["runs"][0]["outcome"] is None and summary["exit_status"] == 127


def test_summary_json_unwritable_stops_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    proc = run(["--summary-json", str(tmp_path / "no" / "such" / "dir.json"), "--",
                "/bin/touch", str(marker)])
    assert_error(proc, 1, "cannot write to")
    assert not marker.exists()


def test_summary_json_agrees_with_stderr_and_cross_checks(tmp_path):
    """A 300 MiB toucher under -m: the kernel's high-water mark and the cgroup's peak within 1 %
    of the traced peak; ru_maxrss reported with its caveat."""
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    proc, rows, summary = runs_of(tmp_path, ["-m", "600M", "--", workload("touch"), "300",
                                             "--hold", "1200"])
    assert proc.returncode == 0, proc.stderr
    validate(summary)
    assert summary["exit_status"] == 0 and summary["statistics"]["wall_s"]["n"] == 1
    (r,) = summary["runs"]
    root, x = r["root"], r["cross_checks"]
    peak = root["peak_rss_bytes"]
    assert peak >= 300 * MIB
    assert abs(x["hiwater_rss_bytes"] - peak) <= peak / 100, (x, peak)
    assert abs(x["cgroup_peak_bytes"] - peak) <= peak / 100, (x, peak)
    assert x["cgroup_peak_source"] in ("memory.peak", "memory.max_usage_in_bytes")
    assert x["ru_maxrss_bytes"] >= 300 * MIB
    # held 1.2 s at its peak: both samplers saw it
    assert x["sampler_0_1s_peak_bytes"] >= 299 * MIB, x
    assert x["sampler_1s_peak_bytes"] >= 299 * MIB, x
    # the stderr summary says the same
    m = re.search(r"page faults (\d+), pages allocated (\d+)", proc.stderr)
    assert m and int(m.group(1)) == root["faults"] and int(m.group(2)) == root["pages_alloc"]
    assert f"pid {root['pid']}, touch): exited with status 0" in proc.stderr, proc.stderr
    assert "cross-checks of the peak RSS" in proc.stderr
    assert "wait4's ru_maxrss" in proc.stderr and "forked as, before exec" in proc.stderr
    assert "the kernel's high-water mark (VmHWM at exit)" in proc.stderr
    assert "a sampler every 0.1 s would have seen" in proc.stderr
    assert summary["rows"] == len(rows) if rows else True


def test_a_sampler_misses_a_short_peak_the_trace_does_not(tmp_path):
    """-i 1s: a 0.1 s sampler cannot be imitated (null); the 1 s one misses a 200 ms peak."""
    proc, rows, summary = runs_of(tmp_path, ["-i", "1s", "--repeat", "1", "--",
                                             workload("touch"), "100", "--hold", "200"])
    assert proc.returncode == 0, proc.stderr
    x = summary["runs"][0]["cross_checks"]
    assert x["sampler_0_1s_peak_bytes"] is None
    assert x["sampler_1s_peak_bytes"] < 100 * MIB
    assert summary["runs"][0]["root"]["peak_rss_bytes"] >= 100 * MIB


def test_summary_json_of_pids_and_host(tmp_path):
    sleeper = subprocess.Popen([workload("touch"), "8", "--hold", "1500"])
    try:
        time.sleep(0.3)
        js = tmp_path / "p.json"
        proc = run(["-p", str(sleeper.pid), "-o", str(tmp_path / "p.csv"), "--summary-json",
                    str(js)], timeout=60)
        assert proc.returncode == 0, proc.stderr
    finally:
        sleeper.wait(timeout=30)
    summary = json.loads(js.read_text())
    validate(summary)
    assert summary["target"] == "pids" and summary["runs"] is None
    assert [r["pid"] for r in summary["roots"]] == [sleeper.pid]
    assert summary["roots"][0]["exit_code"] == 0
    assert 0.5 < summary["roots"][0]["wall_s"] < 1.6, summary["roots"][0]
    # a root still running when tracing stops: its wall time so far, as stderr says it
    sleeper = subprocess.Popen([workload("touch"), "8", "--hold", "3000"])
    try:
        js = tmp_path / "d.json"
        proc = run(["-p", str(sleeper.pid), "-d", "700ms", "-o", str(tmp_path / "d.csv"),
                    "--summary-json", str(js)], timeout=60)
        assert proc.returncode == 0, proc.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    (root,) = json.loads(js.read_text())["roots"]
    assert not root["exited"] and root["exit_code"] is None and root["signal"] is None, root
    assert 0.6 <= root["wall_s"] < 2.0, root
    js = tmp_path / "a.json"
    proc = run(["-a", "-d", "500ms", "-o", str(tmp_path / "a.csv"), "--summary-json", "-"],
               timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    validate(summary)
    assert summary["target"] == "all" and summary["trace"]["label"] == "the whole host"
    assert summary["trace"]["processes"] > 5


def test_find_min_limit_of_a_100_mib_toucher(tmp_path):
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    proc, rows, summary = runs_of(tmp_path, ["--find-min-limit", "--", workload("touch"),
                                             "100"], timeout=600)
    assert proc.returncode == 0, proc.stderr
    validate(summary)
    search = summary["find_min_limit"]
    assert search["found"]
    answer = search["min_ok_limit_bytes"]
    assert 100 * MIB <= answer <= 106 * MIB, search
    assert search["max_failed_limit_bytes"] < answer
    assert answer - search["max_failed_limit_bytes"] <= search["resolution_bytes"]
    trials = search["trials"]
    assert trials[0]["limit_bytes"] is None and trials[0]["outcome"] == "ok"
    assert {t["outcome"] for t in trials[1:]} == {"ok", "oom_killed"}
    for t in trials[1:]:
        # every limit below the answer was too little, every one at or above it enough
        assert (t["outcome"] == "ok") == (t["limit_bytes"] >= answer), t
        assert (t["exit_status"] == 137) == (t["outcome"] == "oom_killed"), t
    assert sorted({r["run"] for r in rows}) == [t["trial"] for t in trials]
    assert f"completes: {answer / MIB:.3g}" in proc.stderr or str(answer) in proc.stderr
    assert "OOM kill at" not in proc.stderr, "trials are OOM-killed on purpose: no forensics"


def test_find_min_limit_of_the_generator_is_small(tmp_path):
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    proc, rows, summary = runs_of(tmp_path, ["--find-min-limit", "--", "/usr/bin/python3", "-c",
                                             "sum(i for i in range(10**7))"], timeout=600)
    assert proc.returncode == 0, proc.stderr
    search = summary["find_min_limit"]
    assert search["found"] and search["min_ok_limit_bytes"] <= 32 * MIB, search


def test_find_min_limit_of_a_command_failing_on_its_own(tmp_path):
    proc, rows, summary = runs_of(tmp_path, ["--find-min-limit", "--", workload("touch"), "5",
                                             "--exit", "3"])
    assert proc.returncode == 3, proc.stderr
    assert "does not complete even without a memory limit (status 3)" in proc.stderr
    assert len(summary["find_min_limit"]["trials"]) == 1
    assert summary["find_min_limit"]["trials"][0]["outcome"] == "failed"
    assert not summary["find_min_limit"]["found"]


def test_find_min_limit_trial_timeout_kills_and_counts_as_too_little(tmp_path):
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    proc, rows, summary = runs_of(tmp_path, ["--find-min-limit", "--trial-timeout", "500ms",
                                             "--", workload("touch"), "10", "--hold", "1500"])
    assert proc.returncode == 1, proc.stderr
    assert "did not complete under any limit tried" in proc.stderr
    trials = summary["find_min_limit"]["trials"]
    assert trials[0]["outcome"] == "ok" and trials[0]["wall_s"] >= 1.5
    assert [t["outcome"] for t in trials[1:]] == ["timeout"] * (len(trials) - 1)
    assert len(trials) == 1 + 5, trials
    for t in trials[1:]:
        assert t["exit_status"] == 128 + signal.SIGKILL and t["wall_s"] < 1.4, t
    # each limit a quarter above the last
    limits = [t["limit_bytes"] for t in trials[1:]]
    assert all(b > a for a, b in zip(limits, limits[1:])), limits


def test_sigint_during_a_trial_stops_the_search(tmp_path):
    if memory_cgroup() is None:
        pytest.skip("SKIPPED LOUDLY: no memory cgroup controller on this machine")
    out, js = tmp_path / "trials.csv", tmp_path / "summary.json"
    tracer, err = sigint_in_run_2(["--find-min-limit"], out, js)
    assert tracer.returncode == 128 + signal.SIGINT, err
    summary = json.loads(js.read_text())
    trials = summary["find_min_limit"]["trials"]
    assert len(trials) == 2 and trials[1]["exit_status"] == 128 + signal.SIGINT, trials
    assert trials[1]["outcome"] == "interrupted", trials
    assert not summary["find_min_limit"]["found"]
    # an interrupted trial is not taken for a command failing on its own
    assert "reason of its own" not in err and "no least memory limit found" in err, err


def test_a_process_outliving_its_run_is_let_go_before_the_next(tmp_path):
    script = f"{workload('touch')} 4 --hold 1500 --name straggler & exit 0"
    proc, rows, summary = runs_of(tmp_path, ["-v", "--repeat", "2", "--", "/bin/sh", "-c",
                                             script])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("1 processes of the last run still running: no longer traced") == 1
    roots = {r["root"]["pid"] for r in summary["runs"]}
    for n in (1, 2):
        # the run's own straggler: in its run's rows only, its last row a sample, no exit
        others = {r["pid"] for r in rows if r["run"] == n} - roots
        assert len(others) == 1, rows
        mine = [r for r in rows if r["pid"] in others]
        assert {r["run"] for r in mine} == {n} and mine[-1]["event"] == "sample", mine
