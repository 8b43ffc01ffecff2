"""--prometheus and --oom-log: a real Prometheus server (Debian's) scraping the exporter, real OOM
kills under -m, promtool and prometheus_client reading the exposition, idle and slow clients
against the tracer's single-threaded loop, bad addresses, and the journal's one-line OOM report.
Real binary, live kernel, real servers on loopback only; no mocks."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import (BIN, MIB, check_process_rows, details, memory_cgroup, read_csv,
                      remove_cgroup, rows_of,
                      run, wait_for, workload)

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover - scripts/install-deps.sh installs it
    text_string_to_metric_families = None

PY = "/usr/bin/python3"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SERVING = re.compile(r"^memtrace-bpf: serving metrics on http://(\S+)/metrics$", re.M)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# no test here may be told it writes to the journal unless it sets this itself
ENV = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
OOM_LINE = "<4>memtrace-bpf: warning: OOM kill: "

needs_client = pytest.mark.skipif(text_string_to_metric_families is None,
                                  reason="needs python3-prometheus-client "
                                         "(scripts/install-deps.sh python3-prometheus-client)")
needs_prometheus = pytest.mark.skipif(not PROMETHEUS or not PROMTOOL,
                                      reason="needs Debian's prometheus (scripts/install-deps.sh "
                                             "prometheus)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """memtrace-bpf --prometheus ADDR ARGS..., stdout and stderr to files of tmp_path, started
    and waited for until it says where it serves. journal: None, or the JOURNAL_STREAM to give
    it ("match": the DEV:INODE of the very file its stderr is)."""

    def __init__(self, tmp_path, args, name="tracer", addr="127.0.0.1:0", stdin=None,
                 journal=None):
        self.err_path = tmp_path / f"{name}.stderr"
        self.out_path = tmp_path / f"{name}.stdout"
        env = dict(ENV)
        with open(self.err_path, "w") as err, open(self.out_path, "w") as out:
            if journal == "match":
                st = os.fstat(err.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            elif journal is not None:
                env["JOURNAL_STREAM"] = journal
            self.proc = subprocess.Popen([BIN, "--prometheus", addr] + [str(a) for a in args],
                                         stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=env)
        found = []

        def serving():
            m = SERVING.search(self.stderr())
            if m:
                found.append(m.group(1))
            return found or self.proc.poll() is not None
        assert wait_for(serving, timeout=20), self.stderr()
        assert found, f"exit {self.proc.returncode}: {self.stderr()}"
        self.addr = found[0]
        self.host, _, port = self.addr.rpartition(":")
        self.host = self.host.strip("[]")
        self.port = int(port)

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def request(self, method="GET", path="/metrics", timeout=5):
        """(status, headers, body) of one HTTP/1.1 request."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read().decode()
        finally:
            conn.close()

    def metrics(self, timeout=5):
        status, headers, body = self.request(timeout=timeout)
        assert status == 200, (status, body)
        assert headers["Content-Type"] == CONTENT_TYPE
        return body

    def scanned_metrics(self):
        """/metrics once the loop has scanned the traced set at least once."""
        body = []

        def scanned():
            body[:] = [self.metrics()]
            return value(body[0], "memtrace_last_scan_timestamp_seconds") > 0
        assert wait_for(scanned, timeout=20, step=0.1), body
        return body[0]

    def interrupt(self, timeout=30):
        """Ctrl-C: a clean end (exit 0 in -p and -a modes)."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def exporters():
    """Start exporters with start(tmp_path, args, ...); whatever still runs is stopped after."""
    started = []

    def start(*args, **kw):
        e = Exporter(*args, **kw)
        started.append(e)
        return e
    yield start
    for e in started:
        if e.proc.stdin:
            e.proc.stdin.close()
        e.kill()


@pytest.fixture
def idle_process():
    """A steady process to trace with -p: workloads/idle maps 1 MiB, says ready, waits for EOF
    on its stdin."""
    proc = subprocess.Popen([workload("idle"), "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().startswith("ready ")
    yield proc
    proc.stdin.close()
    proc.wait(timeout=10)


def samples(text, name):
    """[(labels, value)] of the samples called NAME in an exposition (prometheus_client's own
    parser where there is one, else the simple form memtrace-bpf writes)."""
    if text_string_to_metric_families:
        return [(s.labels, s.value) for f in text_string_to_metric_families(text)
                for s in f.samples if s.name == name]
    out = []
    for m in re.finditer(r"^(\w+)(?:\{(.*)\})? (\S+)$", text, re.M):
        if m.group(1) == name:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((labels, float(m.group(3))))
    return out


def value(text, name, **labels):
    """The one sample NAME{LABELS...} (a subset of its labels) of an exposition."""
    found = [v for l, v in samples(text, name) if all(l.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def own_memcg():
    info = memory_cgroup()
    if not info:
        pytest.skip("no memory cgroup controller usable on this machine")
    return info[2]


# ---- 1. a real Prometheus server scraping the exporter --------------------------------------


class Prometheus:
    """Debian's prometheus, its own config and TSDB in tmp_path, on a free loopback port,
    scraping TARGET every second as job JOB."""

    def __init__(self, tmp_path, target, job):
        self.dir = tmp_path / "prometheus"
        self.dir.mkdir()
        config = self.dir / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            f"  - job_name: {job}\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n")
        checked = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True,
                                 text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self.log = self.dir / "prometheus.log"
        for _ in range(5):  # another process may take the free port before it binds it
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            with open(self.log, "w") as log:
                self.proc = subprocess.Popen(
                    [PROMETHEUS, f"--config.file={config}",
                     f"--storage.tsdb.path={self.dir / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{self.port}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            if wait_for(lambda: self.proc.poll() is not None or self.ready(), timeout=30,
                        step=0.1) and self.proc.poll() is None:
                return
            self.stop()
        pytest.fail(f"prometheus did not start: {self.log.read_text()[-3000:]}")

    def ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                answer = json.load(r)
        except urllib.error.HTTPError as e:  # a bad query: Prometheus says why
            pytest.fail(f"{url}: {e.code} {e.read().decode(errors='replace')}")
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("query", **params)

    def vector(self, expr, at=None):
        """An instant query's answer as [(labels, value)]."""
        data = self.query(expr, at)
        assert data["resultType"] == "vector", data
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def query_range(self, expr, start, end, step=1):
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=str(step))
        assert data["resultType"] == "matrix", data
        return data["result"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def prometheus_server():
    servers = []

    def start(*args):
        servers.append(Prometheus(*args))
        return servers[-1]
    yield start
    for s in servers:
        s.stop()


# grows by 256 KiB (written, so resident) every 0.1 s, up to 100 MiB (40 s), until its stdin
# closes
GROWER = """
import select, sys
chunks = []
while len(chunks) < 400 and not select.select([sys.stdin], [], [], 0.1)[0]:
    chunks.append(b"x" * (256 * 1024))
sys.stdin.read()
"""
JOB = "memtrace"
# every counter of the exposition, and the histogram's cumulative series
COUNTERS = (f'{{job="{JOB}",__name__=~".+_total|memtrace_process_peak_rss_bytes_'
            f'(bucket|count|sum)"}}')


def csv_value_near(rows, t, slack):
    """RSS values the CSV allows for a scrape at Unix time t: the latest row at or before t,
    and any row within +-slack of it."""
    before = [r for r in rows if r["unix_time"] <= t]
    ok = {r["rss_bytes"] for r in rows if abs(r["unix_time"] - t) <= slack}
    if before:
        ok.add(before[-1]["rss_bytes"])
    return ok


@needs_prometheus
@needs_client
def test_prometheus_server_scrapes_the_exporter(tmp_path, exporters, prometheus_server):
    interval = 0.1
    csv_path = tmp_path / "trace.csv"
    tracer = exporters(tmp_path, ["-i", "100ms", "-o", csv_path, "--", PY, "-c", GROWER],
                       stdin=subprocess.PIPE)
    prom = prometheus_server(tmp_path, tracer.addr, JOB)
    began = time.time()
    anon = f'memtrace_root_rss_bytes{{job="{JOB}",type="anon"}}'
    # a few scrapes with the grower growing in between
    assert wait_for(lambda: any(v >= 5 for _, v in prom.vector(f"count_over_time({anon}[5m])")),
                    timeout=30, step=0.25), prom.log.read_text()[-2000:]

    # while it runs: the target is up, and our series are there
    assert prom.vector(f'up{{job="{JOB}"}}') == [({"__name__": "up", "instance": tracer.addr,
                                                    "job": JOB}, 1.0)]
    targets = prom.api("targets", state="active")["activeTargets"]
    assert [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets] == \
        [(f"http://{tracer.addr}/metrics", "up", "")]
    (info, one), = prom.vector(f'memtrace_build_info{{job="{JOB}"}}')
    assert one == 1 and info["version"] and info["kernel"] == os.uname().release
    roots = prom.vector(f'memtrace_root_rss_bytes{{job="{JOB}"}}')
    assert {l["type"] for l, _ in roots} == {"anon", "file", "shmem"}
    assert {(l["pid"], l["comm"]) for l, _ in roots} == {(roots[0][0]["pid"], "python3")}
    pid = int(roots[0][0]["pid"])
    memcg = memory_cgroup(pid)
    assert memcg, "no memory cgroup controller"
    cgroups = prom.vector(f'memtrace_cgroup_rss_bytes{{job="{JOB}",cgroup="{memcg[2]}"}}')
    assert {l["type"] for l, _ in cgroups} == {"anon", "file", "shmem"}
    assert sum(v for _, v in cgroups) > 8 * MIB
    assert prom.vector(f'memtrace_cgroup_processes{{job="{JOB}",cgroup="{memcg[2]}"}}')[0][1] == 1

    tracer.proc.stdin.close()  # the grower stops and exits, the tracer with it
    assert tracer.proc.wait(timeout=30) == 0, tracer.stderr()
    ended = time.time()

    # the root's RSS as Prometheus stored it (the raw samples, with their scrape timestamps)
    # against the CSV rows of that pid: the same value within one scrape interval
    rows = read_csv(csv_path)
    check_process_rows(rows)
    mine = rows_of(rows, pid)
    assert mine and mine[0]["ppid"] == tracer.pid and mine[0]["comm"] == "python3"
    raw = prom.query(f'memtrace_root_rss_bytes{{job="{JOB}",pid="{pid}"}}[5m]', at=ended)
    assert raw["resultType"] == "matrix" and len(raw["result"]) == 3, raw
    by_time = {}
    for series in raw["result"]:
        for t, v in series["values"]:
            by_time[t] = by_time.get(t, 0) + int(v)
    assert len(by_time) >= 5, by_time
    assert len(set(by_time.values())) >= 3, f"RSS did not change between scrapes: {by_time}"
    exact = 0
    for t, rss in sorted(by_time.items()):
        allowed = csv_value_near(mine, t, 1 + interval)
        assert rss in allowed, (t, rss, sorted(allowed))
        before = [r for r in mine if r["unix_time"] <= t]
        # a scrape that comes while a scan runs is answered after it, from it: when
        # Prometheus's scrape offset falls within a scan's time of the tracer's ticks (a
        # matter of the run's phase, more likely on a slow build), every scrape does
        during = [r for r in mine if t < r["unix_time"] <= t + 0.25]
        exact += (bool(before) and before[-1]["rss_bytes"] == rss) or \
            (bool(during) and during[0]["rss_bytes"] == rss)
    # every scrape is the very value of the scan before it was answered
    assert exact >= len(by_time) // 2, (exact, sorted(by_time.items()))

    # the cgroup's sum is the root's own RSS at every scrape (the only process there)
    raw = prom.query(f'memtrace_cgroup_rss_bytes{{job="{JOB}",cgroup="{memcg[2]}"}}[5m]',
                     at=ended)
    cg_by_time = {}
    for series in raw["result"]:
        for t, v in series["values"]:
            cg_by_time[t] = cg_by_time.get(t, 0) + int(v)
    assert cg_by_time == by_time

    # counters never go back: resets() over the run, and every value of every series in order
    series = prom.query_range(COUNTERS, began - 5, ended, step=1)
    names = sorted({s["metric"]["__name__"] for s in series})
    # (one name at a time: resets() drops the name, and two families share label sets)
    resets = [(name, l, v) for name in names
              for l, v in prom.vector(f'resets({name}{{job="{JOB}"}}[5m])', at=ended)]
    assert len(resets) >= 20, resets
    assert [r for r in resets if r[2] != 0] == []
    assert {s["metric"]["__name__"] for s in series} >= {
        "memtrace_processes_started_total", "memtrace_events_lost_total",
        "memtrace_root_page_faults_total", "memtrace_cgroup_page_faults_total",
        "memtrace_cgroup_pages_allocated_total", "process_cpu_seconds_total",
        "memtrace_process_peak_rss_bytes_count"}
    for s in series:
        values = [float(v) for _, v in s["values"]]
        assert values == sorted(values), s
    faults = next(s for s in series if s["metric"]["__name__"] == "memtrace_root_page_faults_total")
    assert float(faults["values"][-1][1]) > float(faults["values"][0][1]), faults


# ---- 2. an OOM kill under -m, in /metrics, in --oom-log and in the CSV ------------------------

VICTIM = "oomvictim"


def oom_shell(hold):
    """A shell whose child grows past 64 MiB under its own name; with hold, the shell then
    waits for its stdin to close (so that the tracer stays to be scraped)."""
    grow = f"{workload('touch')} 200 --name {VICTIM}"
    return ["/bin/sh", "-c", f"{grow}; read x; exit 0" if hold else grow]


def histogram(text, name):
    """{le: count}, sum, count of a histogram in an exposition."""
    buckets = {l["le"]: v for l, v in samples(text, f"{name}_bucket")}
    return buckets, value(text, f"{name}_sum"), value(text, f"{name}_count")


def test_oom_kill_counted_by_cgroup_constraint_and_victim(tmp_path, exporters):
    version, _, parent = memory_cgroup() or pytest.skip("no memory cgroup controller usable")
    csv_path, log = tmp_path / "trace.csv", tmp_path / "oom.jsonl"
    log.write_text('{"schema":"an earlier line"}\n')  # appended to, never truncated
    tracer = exporters(tmp_path, ["-i", "50ms", "-m", "64M", "--oom-log", log, "-o", csv_path,
                                  "--"] + oom_shell(hold=True), stdin=subprocess.PIPE)
    cgroup = os.path.join(parent, f"memtrace-bpf-{tracer.pid}")
    text = []

    def killed_and_gone():
        text[:] = [tracer.metrics()]
        return samples(text[0], "memtrace_oom_kills_total") and \
            value(text[0], "memtrace_process_peak_rss_bytes_count") >= 1
    assert wait_for(killed_and_gone, timeout=30, step=0.1), (text, tracer.stderr())
    text = text[0]
    assert samples(text, "memtrace_oom_kills_total") == [
        ({"cgroup": cgroup, "constraint": "memcg", "victim": VICTIM}, 1.0)]
    # the shell (the root) lives on in the limited cgroup, its child's kill counted in its tree
    assert value(text, "memtrace_root_oom_kills_total", comm="sh") == 1
    assert value(text, "memtrace_root_running", comm="sh") == 1
    assert value(text, "memtrace_cgroup_processes", cgroup=cgroup) == 1
    assert value(text, "memtrace_processes_exited_total") == 1
    buckets, peak_sum, peak_count = histogram(text, "memtrace_process_peak_rss_bytes")

    tracer.proc.stdin.close()
    assert tracer.proc.wait(timeout=30) == 0, tracer.stderr()
    rows = read_csv(csv_path)
    check_process_rows(rows)
    kills = [r for r in rows if r["event"] == "oom_kill"]
    assert len(kills) == 1, [r for r in rows if r["event"] != "sample"]
    kill = kills[0]
    d = details(kill)
    assert (kill["comm"], d["constraint"], d["memcg"]) == (VICTIM, "memcg", cgroup), d
    assert int(d["memcg_limit_bytes"]) == 64 * MIB
    # the exited victim in the histogram: its exact peak, in the buckets from its own up
    exit_row = rows_of(rows, kill["pid"])[-1]
    assert exit_row["event"] == "exit" and details(exit_row)["signal"] == "SIGKILL"
    assert (peak_count, peak_sum) == (1, exit_row["peak_rss_bytes"])
    assert {le: v for le, v in buckets.items()} == {
        le: float(le == "+Inf" or exit_row["peak_rss_bytes"] <= float(le)) for le in buckets}

    earlier, line = log.read_text().splitlines()
    assert earlier == '{"schema":"an earlier line"}'
    report = json.loads(line)
    assert report["schema"] == "memtrace-bpf/oom/1"
    assert (report["victim"]["pid"], report["victim"]["comm"]) == (kill["pid"], VICTIM)
    assert report["victim"]["traced"] is True
    assert (report["constraint"], report["memcg"]) == ("memcg", cgroup)
    assert (report["cgroup_version"], report["memcg_limit_bytes"]) == (version, 64 * MIB)
    assert abs(report["unix_time"] - kill["unix_time"]) < 1
    assert report["victim"]["rss_bytes"] == kill["rss_bytes"]
    # not the journal: the usual report of several lines
    err = tracer.stderr()
    assert "OOM kill at" in err and "RSS before" in err and OOM_LINE not in err


# ---- 6. the journal's one-line OOM report ---------------------------------------------------


@pytest.mark.parametrize("journal", ["match", "other", None])
def test_oom_report_is_one_line_when_stderr_is_the_journal(tmp_path, exporters, journal):
    """JOURNAL_STREAM naming the very file that is stderr: one line with the journal's
    priority prefix. Naming another file (inherited from a parent, say) or unset: the report a
    person reads."""
    parent = own_memcg()
    one_line = journal == "match"
    if journal == "other":
        st = os.stat("/dev/null")
        journal = f"{st.st_dev}:{st.st_ino}"
    csv_path = tmp_path / "trace.csv"
    tracer = exporters(tmp_path, ["-i", "50ms", "-m", "64M", "-o", csv_path, "--"] +
                       oom_shell(hold=False), journal=journal)
    assert tracer.proc.wait(timeout=30) == 128 + signal.SIGKILL, tracer.stderr()
    kill, = [r for r in read_csv(csv_path) if r["event"] == "oom_kill"]
    err = tracer.stderr()
    lines = [l for l in err.splitlines() if re.search(r"OOM kill\b", l)]
    if one_line:
        assert len(lines) == 1 and lines[0].startswith(OOM_LINE), err
        fields = lines[0][len(OOM_LINE):]
        assert "  " not in fields and fields == fields.strip(), fields
        kv = dict(f.split("=", 1) for f in fields.split(" "))
        assert kv["pid"] == str(kill["pid"]) and kv["comm"] == VICTIM, kv
        assert kv["constraint"] == "memcg", kv
        assert kv["memcg"] == os.path.join(parent, f"memtrace-bpf-{tracer.pid}"), kv
        assert kv["memcg"] == details(kill)["memcg"]
        assert kv["traced"] == "yes" and int(kv["rss_bytes"]) == kill["rss_bytes"], kv
        # none of the person's report around it
        assert "RSS before" not in err and "victim  " not in err and "constraint  " not in err
    else:
        assert OOM_LINE not in err and not re.search(r"^<\d>", err, re.M), err
        assert "memtrace-bpf: OOM kill at" in err and "RSS before" in err, err
        assert f"victim      {VICTIM} pid {kill['pid']}" in err, err


# ---- 3. promtool and prometheus_client read every family as declared --------------------------

# the families of every mode; COMMAND and -p add the memtrace_root_* ones
FAMILIES = {
    "memtrace_build_info": "gauge",
    "memtrace_traced_processes": "gauge",
    "memtrace_traced_processes_limit": "gauge",
    "memtrace_processes_started_total": "counter",
    "memtrace_processes_exited_total": "counter",
    "memtrace_last_scan_timestamp_seconds": "gauge",
    "memtrace_events_lost_total": "counter",
    "memtrace_processes_vanished_total": "counter",
    "memtrace_bpf_stats_enabled": "gauge",
    "memtrace_bpf_program_runs_total": "counter",
    "memtrace_bpf_program_run_seconds_total": "counter",
    "memtrace_cgroup_processes": "gauge",
    "memtrace_cgroup_rss_bytes": "gauge",
    "memtrace_cgroup_page_faults_total": "counter",
    "memtrace_cgroup_pages_allocated_total": "counter",
    "memtrace_cgroup_rss_limit_crossings_total": "counter",
    "memtrace_oom_kills_total": "counter",
    "memtrace_process_peak_rss_bytes": "histogram",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}
ROOT_FAMILIES = {
    "memtrace_root_rss_bytes": "gauge",
    "memtrace_root_peak_rss_bytes": "gauge",
    "memtrace_root_page_faults_total": "counter",
    "memtrace_root_pages_allocated_total": "counter",
    "memtrace_root_descendants_total": "counter",
    "memtrace_root_oom_kills_total": "counter",
    "memtrace_root_running": "gauge",
}


def check_exposition(text):
    """promtool check metrics says nothing and exits 0; prometheus_client parses every family,
    each of the type declared; every sample line belongs to one; histograms add up."""
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", ""), lint
    declared = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert set(re.findall(r"^# HELP (\S+) \S", text, re.M)) == set(declared)
    families = list(text_string_to_metric_families(text))
    # (the parser names a counter's family without its _total)
    assert {f.name: f.type for f in families} == {
        n[:-len("_total")] if t == "counter" else n: t for n, t in declared.items()}
    sample_lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    assert sum(len(f.samples) for f in families) == len(sample_lines)
    for f in families:
        assert all(s.value >= 0 for s in f.samples), f
        if f.type == "histogram":
            buckets = [s.value for s in f.samples if s.name == f.name + "_bucket"]
            les = [float(s.labels["le"]) for s in f.samples if s.name == f.name + "_bucket"]
            count, = [s.value for s in f.samples if s.name == f.name + "_count"]
            assert les == sorted(les) and les[-1] == float("inf"), les
            assert buckets == sorted(buckets) and buckets[-1] == count, f.samples
    return declared


@needs_prometheus
@needs_client
@pytest.mark.parametrize("mode", ["all", "command"])
def test_exposition_passes_promtool_and_prometheus_client(tmp_path, exporters, mode):
    if mode == "all":
        tracer = exporters(tmp_path, ["-a", "-i", "100ms"])
    else:
        # a root that outlives a child: the histogram has an observation
        tracer = exporters(tmp_path, ["-i", "100ms", "-o", tmp_path / "t.csv", "--", "/bin/sh",
                                      "-c", f"{workload('touch')} 4; read x; exit 0"],
                           stdin=subprocess.PIPE)
    text = []

    def ready():
        text[:] = [tracer.scanned_metrics()]
        return mode == "all" or value(text[0], "memtrace_process_peak_rss_bytes_count") == 1
    assert wait_for(ready, timeout=20, step=0.1), text
    declared = check_exposition(text[0])
    expected = dict(FAMILIES, **(ROOT_FAMILIES if mode == "command" else {}))
    assert declared == expected
    if mode == "all":
        assert value(text[0], "memtrace_traced_processes") > 1
        assert not re.search(r"^memtrace_root_", text[0], re.M)
        assert tracer.interrupt() == 0, tracer.stderr()
    else:
        assert value(text[0], "memtrace_root_descendants_total", comm="sh") == 1
        tracer.proc.stdin.close()
        assert tracer.proc.wait(timeout=30) == 0, tracer.stderr()


# ---- 4. idle and slow clients against the single-threaded loop --------------------------------

IDLE_CLIENTS = 200


def vmrss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


def closed_by_peer(sock, timeout):
    """True once the other end closed the connection (EOF or reset) within timeout."""
    sock.settimeout(max(timeout, 0.001))
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def sample_times(path, pid):
    return [r["unix_time"] for r in rows_of(read_csv(path), pid) if r["event"] == "sample"]


def test_idle_and_slow_clients_delay_neither_rows_nor_scrapes(tmp_path, exporters, idle_process):
    duration, interval = 14, 0.1
    args = ["-p", idle_process.pid, "--every", "-i", "100ms", "-d", f"{duration}s"]
    # the same trace at the same time without clients: what this machine does meanwhile
    base = exporters(tmp_path, args + ["-o", tmp_path / "base.csv"], name="base")
    tracer = exporters(tmp_path, args + ["-o", tmp_path / "loaded.csv"], name="loaded")
    text = tracer.scanned_metrics()
    fds = value(text, "process_open_fds")
    rss, exported_rss = vmrss(tracer.pid), value(text, "process_resident_memory_bytes")

    idle = [socket.create_connection((tracer.host, tracer.port), timeout=5)
            for _ in range(IDLE_CLIENTS)]
    opened = time.monotonic()
    slow = socket.create_connection((tracer.host, tracer.port), timeout=5)
    stop = threading.Event()
    sent = []

    def dribble():  # one byte a second of a request that would take 40 s
        for byte in b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n":
            slow.send(bytes([byte]))
            sent.append(time.monotonic())
            if stop.wait(1.0):
                return
    slowloris = threading.Thread(target=dribble, daemon=True)
    slowloris.start()
    try:
        # all of them accepted (an open fd each in the tracer), and a scrape still answers
        text = []

        def accepted():
            text[:] = [tracer.metrics(timeout=5)]
            return value(text[0], "process_open_fds") >= fds + IDLE_CLIENTS + 1
        assert wait_for(accepted, timeout=10, step=0.2), text
        status, _, body = tracer.request(timeout=5)
        assert status == 200 and "memtrace_root_rss_bytes" in body
        assert vmrss(tracer.pid) - rss < 8 * MIB, (rss, vmrss(tracer.pid))
        assert value(body, "process_resident_memory_bytes") - exported_rss < 8 * MIB
        # none closed early
        assert not any(closed_by_peer(s, 0.001) for s in idle)
        assert time.monotonic() - opened < 9, "too slow to tell the idle timeout apart"

        # idle for 10 s: closed by the server; the slow one, never idle that long, is not
        assert all(closed_by_peer(s, opened + 13 - time.monotonic()) for s in idle)
        assert time.monotonic() - opened >= 9.5
        assert len(sent) >= 9 and not closed_by_peer(slow, 0.001)
        status, _, _ = tracer.request(timeout=5)
        assert status == 200
    finally:
        stop.set()
        slowloris.join(timeout=5)
        for s in idle + [slow]:
            s.close()
    assert tracer.proc.wait(timeout=30) == 0, tracer.stderr()
    assert base.proc.wait(timeout=30) == 0, base.stderr()

    pid = idle_process.pid
    loaded, alone = sample_times(tmp_path / "loaded.csv", pid), sample_times(tmp_path / "base.csv",
                                                                             pid)
    expected = duration / interval
    assert len(loaded) >= 0.8 * expected, (len(loaded), expected)
    assert len(loaded) >= 0.8 * len(alone), (len(loaded), len(alone))
    # a loop held by a client a second at a time would leave gaps of a second, over and over:
    # no more long gaps than the run beside it had
    long_gaps = lambda ts: sum(b - a > 0.5 for a, b in zip(ts, ts[1:]))  # noqa: E731
    assert long_gaps(loaded) <= long_gaps(alone) + 2, (long_gaps(loaded), long_gaps(alone))


# ---- 5. addresses, refusals, modes, HTTP methods ------------------------------------------------


@pytest.mark.parametrize("addr", ["9464", "1.2.3:80", "[::1", "host.example:80", ":70000",
                                  "127.0.0.1:70000", "[::1]:65536", "127.0.0.1:", "[zz]:80"])
def test_bad_address_is_a_usage_error(addr):
    r = run(["--prometheus", addr, "-a", "-d", "1s"], env=ENV, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"memtrace-bpf: invalid --prometheus address '{addr}': "), r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("target", [["-a", "-d", "1s"],
                                    ["-m", "64M", "--", "/bin/sh", "-c", "echo ran > {marker}"]])
def test_port_in_use_is_an_error_before_anything_runs(tmp_path, target):
    marker = tmp_path / "ran"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(["--prometheus", f"127.0.0.1:{port}", "-o", tmp_path / "t.csv"] +
                [str(a).format(marker=marker) for a in target], env=ENV, timeout=30)
    assert r.returncode == 1, r.stderr
    assert f"memtrace-bpf: cannot serve metrics on 127.0.0.1:{port}: Address already in use" \
        in r.stderr
    assert not marker.exists(), "the command ran"
    assert not SERVING.search(r.stderr)
    # no_program_left and no_cgroup_left (conftest): nothing stays loaded, no cgroup stays


def test_oom_log_in_a_missing_directory_is_an_error(tmp_path):
    r = run(["--prometheus", "127.0.0.1:0", "--oom-log", "/nonexistent-dir/x", "-a", "-d", "1s"],
            env=ENV, timeout=30)
    assert r.returncode == 1, r.stderr
    assert "memtrace-bpf: cannot write to '/nonexistent-dir/x': No such file or directory" \
        in r.stderr
    assert not SERVING.search(r.stderr)


@pytest.mark.parametrize("addr,host", [("localhost:0", "127.0.0.1"), ("[::1]:0", "[::1]")])
def test_pid_mode_without_output_serves_and_writes_no_series(tmp_path, exporters, idle_process,
                                                             addr, host):
    if host == "[::1]" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    pid = idle_process.pid
    try:
        tracer = exporters(tmp_path, ["-p", pid, "-i", "100ms"], addr=addr)
    except AssertionError as e:
        if "Cannot assign requested address" in str(e) or "not supported" in str(e):
            pytest.skip(f"no {host} here: {e}")
        raise
    assert tracer.addr.startswith(f"{host}:") and tracer.port > 0, tracer.addr
    text = tracer.scanned_metrics()
    rss = {l["type"]: v for l, v in samples(text, "memtrace_root_rss_bytes")
           if l["pid"] == str(pid) and l["comm"] == "idle"}
    assert set(rss) == {"anon", "file", "shmem"} and sum(rss.values()) > 0, text
    assert value(text, "memtrace_root_running", pid=str(pid)) == 1
    assert value(text, "memtrace_traced_processes") == 1
    assert tracer.interrupt() == 0, tracer.stderr()
    assert tracer.stdout() == ""
    assert "no time series written (--prometheus without -o)" in tracer.stderr()


def test_all_mode_serves_no_root_series_and_only_get_and_head(tmp_path, exporters):
    tracer = exporters(tmp_path, ["-a", "-i", "100ms"])
    text = tracer.scanned_metrics()
    assert "memtrace_root_" not in text
    assert value(text, "memtrace_traced_processes") > 1
    # this test's own process is traced where it runs
    assert value(text, "memtrace_cgroup_processes", cgroup=own_memcg()) >= 1

    status, headers, body = tracer.request("HEAD")
    assert (status, body, headers["Content-Type"]) == (200, "", CONTENT_TYPE)
    assert int(headers["Content-Length"]) > 1000
    status, headers, body = tracer.request("POST")
    assert (status, headers["Allow"]) == (405, "GET, HEAD"), (status, headers, body)
    status, _, body = tracer.request("PUT")
    assert status == 405
    status, _, body = tracer.request("GET", "/other")
    assert status == 404 and "/metrics" in body
    status, headers, body = tracer.request("GET", "/")
    assert status == 200 and 'href="/metrics"' in body
    # and still serving after all of that
    assert value(tracer.metrics(), "memtrace_build_info") == 1

    assert tracer.interrupt() == 0, tracer.stderr()
    assert tracer.stdout() == ""
    assert "no time series written (--prometheus without -o)" in tracer.stderr()


# ---- 7. where each process's cgroup label comes from -----------------------------------------


def wait_in_cgroup(pid, rel):
    def moved():
        with open(f"/proc/{pid}/cgroup") as f:
            return any(line.rstrip("\n").split(":", 2)[2] == rel for line in f
                       if "memory" in line.split(":")[1].split(",") or line.startswith("0::"))
    assert wait_for(moved, timeout=10), rel


def test_cgroup_labels_from_seed_exec_fork_and_proc(tmp_path, exporters, idle_process):
    """The cgroup label of a process running before -a starts (the BPF seeding iterator reads
    its memcg), of one that moves itself into another cgroup and execs while traced (exec
    reads it again) and of its child (fork copies it), each named from the cgroup's id; and
    of a -p root, an entry user space made, named from /proc/PID/cgroup."""
    info = memory_cgroup()
    if not info:
        pytest.skip("no memory cgroup controller usable on this machine")
    _, mount, own = info
    dirs = {}
    for part in ("seed", "exec"):
        path = os.path.join(mount, own.lstrip("/"), f"memtrace-test-{os.getpid()}-{part}")
        os.mkdir(path)
        dirs[part] = (path, "/" + os.path.relpath(path, mount))
    procs = []
    try:
        seeded = subprocess.Popen(["/bin/sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec sleep 60',
                                   "sh", dirs["seed"][0]])
        procs.append(seeded)
        wait_in_cgroup(seeded.pid, dirs["seed"][1])
        tracer = exporters(tmp_path, ["-a", "-i", "100ms"])
        tracer.scanned_metrics()
        moved = subprocess.Popen(["/bin/sh", "-c",
                                  'echo $$ > "$1/cgroup.procs"; exec /bin/sh -c "sleep 60 & wait"',
                                  "sh", dirs["exec"][0]])
        procs.append(moved)
        counts = {}

        def labelled():
            text = tracer.metrics()
            for part, (_, rel) in dirs.items():
                found = [v for l, v in samples(text, "memtrace_cgroup_processes")
                         if l.get("cgroup") == rel]
                counts[part] = found[0] if found else None
            return counts == {"seed": 1, "exec": 2}
        assert wait_for(labelled, timeout=15, step=0.2), counts
        text = tracer.metrics()
        assert value(text, "memtrace_cgroup_rss_bytes", cgroup=dirs["seed"][1], type="file") > 0
        tracer.interrupt()

        # -p: the root's entry is made by user space (no id): named from /proc
        proc_rel = None
        with open(f"/proc/{idle_process.pid}/cgroup") as f:
            for line in f:
                _, ctrl, path = line.rstrip("\n").split(":", 2)
                if "memory" in ctrl.split(","):
                    proc_rel = path
        proc_rel = proc_rel or own
        ptracer = exporters(tmp_path, ["-p", idle_process.pid, "-i", "100ms"], name="pid")
        text = ptracer.scanned_metrics()
        assert value(text, "memtrace_cgroup_processes", cgroup=proc_rel) == 1, text
        assert "(unknown)" not in text
        ptracer.interrupt()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for path, _ in dirs.values():
            remove_cgroup(path)
