#!/usr/bin/python3
"""make soak: memtrace-bpf -a for a long while under stress-ng (memory churn and forks).

The tracer runs with its Prometheus exporter on (--prometheus on a free port of 127.0.0.1),
scraped every second for the whole run. Passes when, over the whole run:
  - the tracer's RSS stays flat: after a 30 s warm-up it grows by at most 1 MiB;
  - nothing is lost: the summary says "events lost: none" and the tracer exits 0;
  - no entry leaks: at the end the traced set holds about as many processes as run on the host;
  - nothing stays loaded: no program of ours once the tracer is gone;
  - every scrape answers: a 200 whose body parses (at least one series, every line a comment
    or a series), and its process_resident_memory_bytes agrees with the tracer's VmRSS read
    right after, within RSS_AGREE_MIB.
Not part of make test (it takes SOAK_SECONDS, 600 by default).
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scraper import Scraper  # noqa: E402  (the bench's scraper too)
SCRAPE_PERIOD_S = 1.0
RSS_AGREE_MIB = 4


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


class RssScraper(Scraper):
    """Each answer's process_resident_memory_bytes held against the tracer's VmRSS read right
    after, within RSS_AGREE_MIB."""

    def __init__(self, port, pid):
        super().__init__(port, SCRAPE_PERIOD_S)
        self.pid = pid
        self.max_rss_diff_mib = 0.0

    def check(self, body, series):
        rss = rss_kib(self.pid) / 1024
        m = re.search(r"^process_resident_memory_bytes ([0-9.e+]+)$", body, re.M)
        if not m:
            return "no process_resident_memory_bytes"
        scraped = float(m.group(1)) / (1 << 20)
        self.max_rss_diff_mib = max(self.max_rss_diff_mib, abs(scraped - rss))
        if abs(scraped - rss) > RSS_AGREE_MIB:
            return f"process_resident_memory_bytes {scraped:.1f} MiB, VmRSS {rss:.1f} MiB"
        return None


def user_processes():
    """Processes with an address space (not kernel threads), as -a counts them."""
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    flags = int(f.read().rsplit(")", 1)[1].split()[6])
                if not flags & 0x00200000:  # PF_KTHREAD
                    n += 1
            except (OSError, ValueError, IndexError):
                pass
    return n


def programs_of(pid):
    """Ids of the BPF programs process pid holds (its fds' fdinfo)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            pass
    return ids


def programs_left(ids):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                         text=True).stdout
    return sorted(p["id"] for p in json.loads(out or "[]") if p["id"] in ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--memtrace", default=os.path.join(ROOT, "memtrace-bpf"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (BPF); run: sudo make soak")
    warmup = min(30, a.seconds // 4)
    port = free_port()
    tracer = subprocess.Popen([a.memtrace, "-a", "-i", "1s", "-o", "/dev/null", "--prometheus",
                               f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    scraper = RssScraper(port, tracer.pid)
    scraper.start()
    time.sleep(2)
    ours = programs_of(tracer.pid)
    # memory churn (2 workers re-touching 256 MiB) and forks (2 workers forking and exiting)
    stress = subprocess.Popen(["stress-ng", "--vm", "2", "--vm-bytes", "256M", "--fork", "2",
                               "--timeout", f"{a.seconds}s", "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    t0 = time.monotonic()
    while stress.poll() is None:
        time.sleep(10)
        if tracer.poll() is not None:
            break
        samples.append((time.monotonic() - t0, rss_kib(tracer.pid)))
        size, series = scraper.scrapes[-1][1:] if scraper.scrapes else (0, 0)
        print(f"soak: {samples[-1][0]:6.0f} s: tracer RSS {samples[-1][1] / 1024:.1f} MiB, "
              f"{len(scraper.scrapes)} scrapes answered ({size} bytes, {series} series), "
              f"{len(scraper.errors)} failed", file=sys.stderr, flush=True)
    stress.wait()
    time.sleep(3)  # the last exits reach the tracer
    running = user_processes()
    scraper.stop()
    tracer.send_signal(signal.SIGINT)
    err = tracer.communicate(timeout=60)[1]
    failures = []
    if tracer.returncode != 0:
        failures.append(f"the tracer exited with {tracer.returncode}")
    if "events lost: none" not in err:
        failures.append("events were lost")
    after = [kib for t, kib in samples if t >= warmup]
    growth = (after[-1] - after[0]) / 1024 if len(after) > 1 else 0.0
    if growth > 1.0:
        failures.append(f"the tracer's RSS grew by {growth:.1f} MiB after the warm-up")
    m = re.search(r"([0-9]+) processes traced .*?\(([0-9]+) exited, ([0-9]+) still running\)",
                  err)
    if not m:
        failures.append("no summary of the traced set")
    else:
        traced, exited, still = map(int, m.groups())
        # processes come and go meanwhile: a leak would be thousands off, not a handful
        if abs(still - running) > 25:
            failures.append(f"{still} processes still traced at the end, {running} running")
    if not ours:
        failures.append("no BPF program of the tracer's was seen")
    # about one a second: a run of scrapes that never came would show as too few
    expected = (scraper.t_stop - scraper.t0) / SCRAPE_PERIOD_S
    if scraper.errors:
        failures.append(f"{len(scraper.errors)} scrapes failed, the first at "
                        f"{scraper.errors[0][0]:.0f} s: {scraper.errors[0][1]}")
    if len(scraper.scrapes) < 0.9 * expected - 10:
        failures.append(f"{len(scraper.scrapes)} scrapes answered in about {expected:.0f} s")
    # the kernel frees programs asynchronously once their last fd is closed
    deadline = time.monotonic() + 10
    while (left := programs_left(ours)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        failures.append(f"programs left loaded: {left}")
    print(err.strip(), file=sys.stderr)
    print(f"soak: {a.seconds} s, RSS {after[0] / 1024 if after else 0:.1f} -> "
          f"{after[-1] / 1024 if after else 0:.1f} MiB after the warm-up, "
          f"{m.group(1) if m else '?'} processes traced, {len(scraper.scrapes)} scrapes answered "
          f"(RSS scraped and read agree within {scraper.max_rss_diff_mib:.2f} MiB): "
          + ("passed" if not failures else "FAILED: " + "; ".join(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
