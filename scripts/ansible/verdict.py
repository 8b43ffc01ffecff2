#!/usr/bin/python3
"""The verdict of the fleet experiment (experiment.yml): one line per host and workload, from the
--summary-json file memtrace-bpf wrote there, e.g.

    hostA list: OOM-killed under 128 MiB at 131.2 MiB peak RSS, after 1.17 s (exit 137)
    hostB generator: completed under 128 MiB, peak RSS 8.8 MiB, in 0.81 s (exit 0)

then a total. Prints the lines and writes them to RESULTS_DIR/verdict.txt. Exit status 1 when
a run left no usable summary (or there was none), else 0. Python's standard library only: it
runs on the controller with whatever python3 is there."""
import argparse
import json
import os
import sys

SCHEMA = "memtrace-bpf/summary/1"
MIB = 1024 * 1024


def size(n):
    """Bytes in MiB (GiB from 1 GiB), one decimal."""
    return f"{n / (1024 * MIB):.1f} GiB" if n >= 1024 * MIB else f"{n / MIB:.1f} MiB"


def limit(n):
    """A limit as it was set: 128 MiB, 2 GiB (else as size())."""
    for unit, scale in (("GiB", 1024 * MIB), ("MiB", MIB)):
        if n % scale == 0:
            return f"{n // scale} {unit}"
    return size(n)


def last_line(path):
    """The last non-empty line of a log, to say why a run left no summary."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return None
    return lines[-1] if lines else None


def describe(summary):
    """(outcome, text) of the one run the summary holds."""
    if summary.get("schema") != SCHEMA:
        raise ValueError(f"schema {summary.get('schema')!r}, not {SCHEMA}")
    runs = [r for r in summary["runs"] if not r["warmup"]]
    if len(runs) != 1:
        raise ValueError(f"{len(runs)} runs, expected one")
    run = runs[0]
    root = run["root"] or {}
    status = run["exit_status"]
    under = f"under {limit(run['limit_bytes'])}" if run["limit_bytes"] else "without a limit"
    peak = root.get("peak_rss_bytes")
    wall = run["wall_s"]
    outcome = run["outcome"]
    if outcome == "oom_killed":
        text = f"OOM-killed {under} at {size(peak)} peak RSS, after {wall:.2f} s"
    elif outcome == "ok":
        text = f"completed {under}, peak RSS {size(peak)}, in {wall:.2f} s"
    elif root.get("signal"):
        text = f"{outcome}: killed by {root['signal']} {under}, peak RSS {size(peak)}"
    else:
        text = f"{outcome} {under}" + (f", peak RSS {size(peak)}" if peak is not None else "")
    # a descendant killed while the root lived on (not the seed workloads' case)
    if outcome != "oom_killed" and summary.get("oom_kills"):
        text += f"; {summary['oom_kills']} OOM kill(s) in its tree"
    return outcome, f"{text} (exit {status})", status


def runs_of(results_dir, specs):
    """(host, workload, status Ansible saw or None) for each HOST/WORKLOAD[=STATUS]; without
    any, every HOST/WORKLOAD.json under RESULTS_DIR."""
    if not specs:
        found = []
        for host in sorted(os.listdir(results_dir)):
            hostdir = os.path.join(results_dir, host)
            if os.path.isdir(hostdir):
                found += [(host, name[:-len(".json")], None)
                          for name in sorted(os.listdir(hostdir)) if name.endswith(".json")]
        return found
    runs = []
    for spec in specs:
        name, _, status = spec.partition("=")
        host, sep, workload = name.rpartition("/")
        if not sep or not host or not workload or (status and not status.isdigit()):
            raise ValueError(f"{spec!r}: give HOST/WORKLOAD or HOST/WORKLOAD=STATUS")
        runs.append((host, workload, int(status) if status else None))
    return runs


def main():
    parser = argparse.ArgumentParser(
        description="Say, per host and workload, how the fleet experiment's run ended, from "
                    "RESULTS_DIR/HOST/WORKLOAD.json; write the lines to RESULTS_DIR/verdict.txt.")
    parser.add_argument("results_dir", metavar="RESULTS_DIR")
    parser.add_argument("runs", metavar="HOST/WORKLOAD[=STATUS]", nargs="*",
                        help="the runs to judge, with the exit status the playbook saw "
                             "(default: every HOST/WORKLOAD.json found)")
    args = parser.parse_args()
    if not os.path.isdir(args.results_dir):
        parser.error(f"{args.results_dir}: no such directory")
    try:
        runs = runs_of(args.results_dir, args.runs)
    except ValueError as e:
        parser.error(str(e))

    lines, killed, completed, missing = [], [], [], []
    for host, workload, seen in runs:
        base = os.path.join(args.results_dir, host, workload)
        name = f"{host} {workload}"
        try:
            with open(base + ".json") as f:
                outcome, text, status = describe(json.load(f))
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as e:
            why = last_line(base + ".log")
            text = ("no summary" if isinstance(e, FileNotFoundError)
                    else f"no usable summary ({type(e).__name__}: {e})")
            if seen is not None:
                text += f"; memtrace-bpf exited {seen}"
            if why:
                text += f"; its log ends: {why}"
            lines.append(f"{name}: {text}")
            missing.append(name)
            continue
        if seen is not None and seen != status:
            text += f" [the playbook saw exit {seen}]"
        lines.append(f"{name}: {text}")
        (killed if outcome == "oom_killed" else completed if outcome == "ok" else []).append(name)

    total = len(lines)
    summary = (f"{total} run{'s' if total != 1 else ''}: {len(killed)} OOM-killed"
               + (f" ({', '.join(killed)})" if killed else "")
               + f", {len(completed)} completed")
    others = total - len(killed) - len(completed) - len(missing)
    if others:
        summary += f", {others} ended otherwise"
    if missing:
        summary += f", {len(missing)} without a summary ({', '.join(missing)})"
    lines.append(summary)

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    os.makedirs(args.results_dir, exist_ok=True)
    tmp = os.path.join(args.results_dir, ".verdict.txt.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(args.results_dir, "verdict.txt"))
    # a run without a summary, or none at all, is a failed experiment
    return 1 if missing or not total else 0


if __name__ == "__main__":
    sys.exit(main())
