"""The fleet playbooks (scripts/ansible/) run by ansible-playbook against an inventory of two
"hosts" on this machine (ansible_connection=local), each with a directory of its own: the seed
experiment for real (the list comprehension OOM-killed on one host, the generator completing on
the other, the CSVs, summaries and logs fetched, one PNG, the verdict), the exporter in check
mode (nothing changed on the host, the Prometheus targets written on the controller) and, where
systemd runs this machine, for real. Ansible keeps everything it writes under tmp_path."""
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.request

import pytest

from conftest import BIN, MIB, ROOT, SANITIZE, read_csv, details, wait_for

ANSIBLE_DIR = os.path.join(ROOT, "scripts", "ansible")
PLAYBOOK_TIMEOUT = 300
# what exporter.yml writes on a host, and the directories it (or the service) may create
EXPORTER_FILES = ("/usr/local/sbin/memtrace-bpf", "/etc/default/memtrace-bpf",
                  "/usr/local/lib/systemd/system/memtrace-bpf.service")
EXPORTER_DIRS = ("/usr/local/lib/systemd/system", "/var/log/memtrace-bpf")


def ansible_playbook():
    if SANITIZE:
        # what the playbooks run is the plain build's business: under ASan the same runs would
        # add half a minute and no memory check the other tests do not make
        pytest.skip("the fleet playbooks are tested against the normal build, not under "
                    "make integration-sanitize")
    tool = shutil.which("ansible-playbook")
    if not tool:
        pytest.skip("*** ansible-playbook is not installed (Debian: ansible-core; sudo make test "
                    "installs it): the fleet playbooks are NOT tested ***")
    return tool


def ansible_env(tmp_path):
    """Ansible kept to tmp_path: no ~/.ansible, no ansible.cfg of the machine or the caller,
    no ANSIBLE_* of the caller's environment."""
    home = tmp_path / "ansible-home"
    for d in ("home", "local-tmp", "remote-tmp"):
        (home / d).mkdir(parents=True, exist_ok=True)
    config = home / "ansible.cfg"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_HOME=str(home / "home"),
               ANSIBLE_LOCAL_TEMP=str(home / "local-tmp"),
               ANSIBLE_REMOTE_TEMP=str(home / "remote-tmp"), ANSIBLE_NOCOLOR="1")
    return env


def write_inventory(tmp_path, hosts, **group_vars):
    """An inventory of local "hosts": {name: {var: value}}, the group's vars after them."""
    lines = ["[fleet]"]
    for name, hostvars in hosts.items():
        lines.append(" ".join([name] + [f"{k}={v}" for k, v in hostvars.items()]))
    lines += ["", "[fleet:vars]", "ansible_connection=local",
              "ansible_python_interpreter=/usr/bin/python3"]
    lines += [f"{k}={v}" for k, v in group_vars.items()]
    path = tmp_path / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_playbook(tmp_path, inventory, playbook, *args):
    home_ansible = os.path.expanduser("~/.ansible")
    had_home_ansible = os.path.exists(home_ansible)
    env = ansible_env(tmp_path)
    proc = subprocess.run([ansible_playbook(), "-i", str(inventory),
                           os.path.join(ANSIBLE_DIR, playbook)] + list(args),
                          capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, f"{playbook} failed:\n{proc.stdout}\n{proc.stderr}"
    # hermetic: nothing in the home directory, and Ansible's temporary files cleaned up
    assert os.path.exists(home_ansible) == had_home_ansible, "ansible wrote ~/.ansible"
    for d in ("local-tmp", "remote-tmp"):
        left = os.listdir(tmp_path / "ansible-home" / d)
        assert left == [], f"ansible left {left} in its {d}"
    return proc


def recap(output):
    """PLAY RECAP counters per host."""
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def files_under(root):
    return {os.path.relpath(os.path.join(d, f), root)
            for d, _, names in os.walk(root) for f in names}


def png_size(path):
    """(width, height) of a PNG, from its signature and IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", head[:8]
    assert head[12:16] == b"IHDR", head[12:16]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def pixels_of_color(path, rgb, tol=0.02):
    """How many pixels of the image have this colour (matplotlib's curve colours)."""
    image = pytest.importorskip("matplotlib.image").imread(str(path))
    diff = abs(image[:, :, :3] - [c / 255 for c in rgb]).max(axis=2)
    return int((diff < tol).sum())


def file_state(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    with open(path, "rb") as f:
        return st.st_mode, st.st_mtime_ns, f.read()


@pytest.mark.unprivileged
def test_example_inventory_and_syntax(tmp_path):
    """The example inventory has its two hosts and their workloads; both playbooks parse."""
    inventory = os.path.join(ANSIBLE_DIR, "inventory.example.ini")
    env = ansible_env(tmp_path)
    listed = subprocess.run([os.path.join(os.path.dirname(ansible_playbook()),
                                          "ansible-inventory"), "-i", inventory, "--list"],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert {h: v["workload"] for h, v in hostvars.items()} == \
        {"hostA": "list", "hostB": "generator"}
    for playbook in ("experiment.yml", "exporter.yml"):
        proc = subprocess.run([ansible_playbook(), "-i", inventory, "--syntax-check",
                               os.path.join(ANSIBLE_DIR, playbook)], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_experiment_on_two_hosts(tmp_path):
    hosts_dir = tmp_path / "hosts"
    results = tmp_path / "results"
    inventory = write_inventory(
        tmp_path,
        {"hostA": {"workload": "list", "memtrace_dir": hosts_dir / "hostA"},
         "hostB": {"workload": "generator", "memtrace_dir": hosts_dir / "hostB"}},
        workload_exponent=7, memory_limit="128M", memtrace_binary=BIN, results_dir=results)
    proc = run_playbook(tmp_path, inventory, "experiment.yml")
    counts = recap(proc.stdout)
    assert set(counts) == {"hostA", "hostB"}, proc.stdout
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts

    # on the controller: each host's three files, the PNG, the verdict; nothing else
    assert files_under(results) == {
        "hostA/list.csv", "hostA/list.json", "hostA/list.log",
        "hostB/generator.csv", "hostB/generator.json", "hostB/generator.log",
        "experiment.png", "verdict.txt"}

    # the time series: memtrace-bpf's header, python3 traced from its start to its end
    runs = {"hostA": "list", "hostB": "generator"}
    rows = {h: read_csv(results / h / f"{w}.csv") for h, w in runs.items()}
    for host, host_rows in rows.items():
        py = [r for r in host_rows if r["comm"] == "python3"]
        assert py and py[0]["event"] == "start", (host, host_rows[:3])
        assert [r["event"] for r in py].count("exit") == 1, host
    killed = [r for r in rows["hostA"] if r["event"] == "oom_kill"]
    assert len(killed) == 1 and killed[0]["comm"] == "python3", killed
    assert details(killed[0])["constraint"] == "memcg", killed[0]
    assert not [r for r in rows["hostB"] if r["event"] == "oom_kill"]
    exit_b = next(r for r in rows["hostB"] if r["comm"] == "python3" and r["event"] == "exit")
    assert details(exit_b) == {"exit_code": "0"}, exit_b

    # the summaries: what the verdict reads
    summary = {h: json.loads((results / h / f"{w}.json").read_text()) for h, w in runs.items()}
    assert summary["hostA"]["exit_status"] == 137
    assert summary["hostA"]["runs"][0]["outcome"] == "oom_killed"
    assert summary["hostA"]["oom_kills"] == 1
    assert summary["hostB"]["exit_status"] == 0
    assert summary["hostB"]["runs"][0]["outcome"] == "ok"
    assert summary["hostB"]["oom_kills"] == 0
    for s in summary.values():
        assert s["runs"][0]["limit_bytes"] == 128 * MIB
    # the human OOM report is in the log of the run that was killed
    assert "OOM kill at" in (results / "hostA" / "list.log").read_text()
    assert "OOM kill at" not in (results / "hostB" / "generator.log").read_text()

    # the verdict: in the play's output and in verdict.txt, one line per host and a total
    verdict = (results / "verdict.txt").read_text().splitlines()
    peak_a = summary["hostA"]["runs"][0]["root"]["peak_rss_bytes"] / MIB
    peak_b = summary["hostB"]["runs"][0]["root"]["peak_rss_bytes"] / MIB
    assert re.fullmatch(rf"hostA list: OOM-killed under 128 MiB at {peak_a:.1f} MiB peak RSS, "
                        r"after \d+\.\d\d s \(exit 137\)", verdict[0]), verdict
    assert re.fullmatch(rf"hostB generator: completed under 128 MiB, peak RSS {peak_b:.1f} MiB, "
                        r"in \d+\.\d\d s \(exit 0\)", verdict[1]), verdict
    assert verdict[2:] == ["2 runs: 1 OOM-killed (hostA list), 1 completed"], verdict
    assert peak_a > 128 - 8 and peak_b < 64, (peak_a, peak_b)
    for line in verdict:
        assert line in proc.stdout, line

    # one PNG with both curves (matplotlib's first two colours, in the hosts' order)
    png = results / "experiment.png"
    width, height = png_size(png)
    assert width >= 400 and height >= 300, (width, height)
    assert png.stat().st_size > 10_000
    assert pixels_of_color(png, (0x1f, 0x77, 0xb4)) > 100
    assert pixels_of_color(png, (0xff, 0x7f, 0x0e)) > 100

    # on each host: the binary and the last run's outputs, nothing else
    for host, workload in runs.items():
        assert files_under(hosts_dir / host) == {
            "memtrace-bpf", f"runs/{workload}.csv", f"runs/{workload}.json",
            f"runs/{workload}.log"}, host
        binary = hosts_dir / host / "memtrace-bpf"
        assert os.stat(binary).st_mode & 0o777 == 0o755
        with open(BIN, "rb") as a, open(binary, "rb") as b:
            assert a.read() == b.read(), host
        for ext in ("csv", "json", "log"):
            fetched = results / host / f"{workload}.{ext}"
            assert fetched.read_bytes() == (hosts_dir / host / "runs" / f"{workload}.{ext}")\
                .read_bytes(), fetched


def exporter_inventory(tmp_path, listen=None):
    hostvars = {"exporter_listen": listen} if listen else {}
    return write_inventory(tmp_path, {"hostA": dict(hostvars), "hostB": dict(hostvars)},
                           memtrace_binary=BIN, results_dir=tmp_path / "results")


def check_prometheus_files(results, targets):
    with open(results / "memtrace-bpf-targets.json") as f:
        assert json.load(f) == [{"targets": targets, "labels": {"job": "memtrace-bpf"}}]
    scrape = results / "prometheus-memtrace.yml"
    text = scrape.read_text()
    assert "file_sd_configs" in text and str(results / "memtrace-bpf-targets.json") in text
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load(text)
    assert config["scrape_configs"][0]["job_name"] == "memtrace-bpf"
    assert config["scrape_configs"][0]["file_sd_configs"] == \
        [{"files": [str(results / "memtrace-bpf-targets.json")]}]
    promtool = shutil.which("promtool")
    if promtool:
        # it reads the targets file too, and checks each target
        proc = subprocess.run([promtool, "check", "config", str(scrape)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_exporter_check_mode(tmp_path):
    """--check: every task passes, nothing on the host changes, the controller's Prometheus
    files are written (they describe the inventory)."""
    before = {p: file_state(p) for p in EXPORTER_FILES}
    proc = run_playbook(tmp_path, exporter_inventory(tmp_path), "exporter.yml", "--check")
    counts = recap(proc.stdout)
    assert set(counts) == {"hostA", "hostB"}, proc.stdout
    assert all(c["failed"] == 0 for c in counts.values()), counts
    assert {p: file_state(p) for p in EXPORTER_FILES} == before
    check_prometheus_files(tmp_path / "results", ["hostA:9464", "hostB:9464"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def systemctl(*args):
    return subprocess.run(["systemctl"] + list(args), capture_output=True, text=True,
                          timeout=60)


def test_exporter_for_real(tmp_path):
    """Where systemd runs the machine: the service installed, enabled, running, /metrics
    served on the address given, a second run changes nothing; all removed afterwards."""
    with open("/proc/1/comm") as f:
        init = f.read().strip()
    if init != "systemd":
        pytest.skip(f"*** systemd is not PID 1 here (PID 1 is {init}): exporter.yml's real run "
                    "(install, enable, start, /metrics) is NOT tested ***")
    taken = [p for p in EXPORTER_FILES if os.path.exists(p)]
    if taken or systemctl("cat", "memtrace-bpf.service").returncode == 0:
        pytest.skip(f"*** memtrace-bpf is installed on this machine ({taken}): exporter.yml's "
                    "real run would replace it and is NOT tested ***")
    new_dirs = [d for d in EXPORTER_DIRS if not os.path.exists(d)]
    port = free_port()
    inventory = write_inventory(tmp_path, {"hostA": {"exporter_listen": f"127.0.0.1:{port}"}},
                                memtrace_binary=BIN, results_dir=tmp_path / "results")
    try:
        run_playbook(tmp_path, inventory, "exporter.yml")
        assert systemctl("is-enabled", "memtrace-bpf.service").stdout.strip() == "enabled"

        def metrics():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return None
        assert wait_for(lambda: metrics() is not None, timeout=20), \
            systemctl("status", "memtrace-bpf.service").stdout
        assert systemctl("is-active", "memtrace-bpf.service").stdout.strip() == "active"
        parser = pytest.importorskip("prometheus_client.parser")
        families = list(parser.text_string_to_metric_families(metrics()))
        assert any(f.name.startswith("memtrace") for f in families), [f.name for f in families]
        assert os.path.isdir("/var/log/memtrace-bpf")
        check_prometheus_files(tmp_path / "results", ["hostA:" + str(port)])
        # idempotent: nothing to change the second time
        again = run_playbook(tmp_path, inventory, "exporter.yml")
        assert recap(again.stdout)["hostA"]["changed"] == 0, again.stdout
    finally:
        systemctl("disable", "--now", "memtrace-bpf.service")
        for path in EXPORTER_FILES:
            if os.path.exists(path):
                os.unlink(path)
        systemctl("daemon-reload")
        for d in new_dirs:
            shutil.rmtree(d, ignore_errors=True)
