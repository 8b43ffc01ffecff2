"""A scraper of memtrace-bpf's /metrics for make bench and make soak: GET
http://127.0.0.1:PORT/metrics every period seconds, a new connection each time, from the first
moment the port answers until stop(). Every answer must be a 200 whose body parses as the
text format (at least one series line, every line a comment or a series); what goes wrong is
kept in errors as (seconds into the run, what), and the runs go on: the caller judges.
A subclass checks more of each answer in check()."""
import http.client
import re
import socket
import threading
import time

SERIES_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+$')


class Scraper(threading.Thread):
    def __init__(self, port, period=1.0, ready_timeout=30):
        super().__init__(daemon=True)
        self.port, self.period, self.ready_timeout = port, period, ready_timeout
        self.halt = threading.Event()
        self.scrapes = []  # (latency s, bytes, series) of every good answer
        self.errors = []   # (seconds into the run, what)
        self.last = ""
        self.t0 = time.monotonic()
        self.t_stop = None

    def stop(self, timeout=30):
        self.halt.set()
        self.join(timeout=timeout)
        self.t_stop = time.monotonic()

    def check(self, body, series):
        """More of an answer to check; returns what is wrong with it, or None."""
        return None

    def scrape(self):
        t = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", "/metrics")
            resp = c.getresponse()
            body = resp.read().decode(errors="replace")
        finally:
            c.close()
        latency = time.perf_counter() - t
        if resp.status != 200:
            return f"/metrics answered {resp.status} {resp.reason}"
        series = [x for x in body.splitlines() if x and not x.startswith("#")]
        bad = [x for x in series if not SERIES_RE.match(x)]
        if not series or bad:
            return f"/metrics: {len(series)} series, unparsed: {bad[:3]}"
        wrong = self.check(body, series)
        if wrong:
            return wrong
        self.scrapes.append((latency, len(body), len(series)))
        self.last = body
        return None

    def fail(self, what):
        self.errors.append((time.monotonic() - self.t0, what))

    def run(self):
        deadline = time.monotonic() + self.ready_timeout
        while not self.halt.is_set():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    return self.fail(f"nothing listens on port {self.port}")
                self.halt.wait(0.05)
        due = time.monotonic()
        while not self.halt.is_set():
            try:
                wrong = self.scrape()
            except Exception as e:  # kept, and the scrapes go on
                wrong = f"{type(e).__name__}: {e}"
            if wrong:
                self.fail(wrong)
            due += self.period
            self.halt.wait(max(0.0, due - time.monotonic()))
