"""make install / make uninstall into a staging DESTDIR: the binary, memtrace-plot, the man page,
the bash completion and the systemd unit, in place with the right modes, and each of them
working from there. Nothing here touches the real /usr or /usr/local: every install goes under
a tmp DESTDIR (or a tmp PREFIX)."""
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import COLUMNS, ROOT

pytestmark = pytest.mark.unprivileged

PREFIX = "/usr"
INSTALLED = {  # path under DESTDIR + PREFIX: mode
    "sbin/memtrace-bpf": 0o755,
    "bin/memtrace-plot": 0o755,
    "share/man/man8/memtrace-bpf.8": 0o644,
    "share/bash-completion/completions/memtrace-bpf": 0o644,
    "lib/systemd/system/memtrace-bpf.service": 0o644,
}
UNIT = "lib/systemd/system/memtrace-bpf.service"
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def make(*args):
    """make in the repository, without what a calling make (make test) passes down."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR", "PREFIX", "V")}
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT] + list(args),
                          capture_output=True, text=True, timeout=600, env=env)


def files_under(root):
    found = set()
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def staged_commands(target, destdir):
    """What make TARGET would run (make -n), backslash-newlines joined."""
    dry = make("-n", target, f"DESTDIR={destdir}", f"PREFIX={PREFIX}")
    assert dry.returncode == 0, dry.stderr
    return dry.stdout.replace("\\\n", " ")


def assert_only_under(commands, destdir):
    """Every absolute path an install or rm command names lies under DESTDIR."""
    lines = [line for line in commands.splitlines()
             if re.match(r"\s*(\S*/)?(install|rm)\s", line)]
    assert lines, commands
    for line in lines:
        for word in line.split():
            if word.startswith("/"):
                assert word.startswith(str(destdir) + "/"), (word, line)


def install_into(destdir):
    assert_only_under(staged_commands("install", destdir), destdir)
    proc = make("install", f"DESTDIR={destdir}", f"PREFIX={PREFIX}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return destdir / PREFIX.lstrip("/")


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """One make install DESTDIR=tmp PREFIX=/usr for the module; the installed prefix."""
    return install_into(tmp_path_factory.mktemp("destdir"))


def help_text(binary):
    proc = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def long_options(help_out):
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_out)))


def short_options(help_out):
    return sorted(set(re.findall(r"^\s+(-[a-zA-Z]),", help_out, re.M)))


def test_install_puts_the_five_files_in_place(staged):
    destdir = staged.parent
    assert files_under(destdir) == {os.path.join(PREFIX.lstrip("/"), p) for p in INSTALLED}
    for path, mode in INSTALLED.items():
        st = os.stat(staged / path)
        assert stat.S_ISREG(st.st_mode), path
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
    for source, path in (("memtrace-bpf", "sbin/memtrace-bpf"),
                         ("scripts/memtrace-plot", "bin/memtrace-plot"),
                         ("doc/memtrace-bpf.8", "share/man/man8/memtrace-bpf.8"),
                         ("scripts/completion/memtrace-bpf.bash",
                          "share/bash-completion/completions/memtrace-bpf")):
        with open(os.path.join(ROOT, source), "rb") as a, open(staged / path, "rb") as b:
            assert a.read() == b.read(), path
    # the unit: its template with the binary's installed path, and nothing else changed
    with open(os.path.join(ROOT, "scripts", "systemd", "memtrace-bpf.service.in")) as f:
        template = f.read()
    assert template.count("@SBINDIR@") == 1, template
    assert (staged / UNIT).read_text() == template.replace("@SBINDIR@", f"{PREFIX}/sbin")


def test_installed_binary_runs(staged):
    binary = staged / "sbin" / "memtrace-bpf"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=30)
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"memtrace-bpf \d+\.\d+\.\d+\n", version.stdout), version.stdout
    out = help_text(binary)
    assert out.startswith("Usage: memtrace-bpf"), out
    assert "Examples:" in out
    plot = subprocess.run([str(staged / "bin" / "memtrace-plot"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert plot.returncode == 0, plot.stderr
    assert "memtrace-plot" in plot.stdout


def render_man(page, *extra):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed (Debian: groff-base; sudo make test installs it)")
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-P-cbou"] + list(extra)
                          + [str(page)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LC_ALL="C.UTF-8"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", f"groff warnings:\n{proc.stderr}"
    text = re.sub(r".\x08", "", proc.stdout)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    # minus signs and hyphens as typed
    return text.replace("\u2212", "-").replace("\u2010", "-")


def test_man_page_renders_and_documents_every_option(staged):
    page = staged / "share" / "man" / "man8" / "memtrace-bpf.8"
    text = render_man(page)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "OUTPUT", "EXIT STATUS",
                    "ENVIRONMENT", "NOTES", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^{section}$", text, re.M), section
    help_out = help_text(staged / "sbin" / "memtrace-bpf")
    options = long_options(help_out)
    assert len(options) >= 19, options
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
    assert not missing, f"options in --help that the man page does not name: {missing}"
    for short in short_options(help_out):
        assert re.search(rf"^\s+{re.escape(short)}, --", text, re.M), short
    # the 15 CSV columns, each described under its name ("pid, ppid" share one)
    for column in COLUMNS:
        assert re.search(rf"^\s+(\w+, )*{column}\b", text, re.M), column
    # every example of --help, word for word
    flat = " ".join(text.split())
    examples = help_out.split("Examples:", 1)[1].split("\n\n", 1)[0]
    for line in examples.strip().splitlines():
        example = " ".join(re.sub(r"\s+\(.*\)$", "", line).split())
        assert example in flat, f"--help example missing from the man page: {example}"
    # the version in the footer is the binary's
    version = subprocess.run([str(staged / "sbin" / "memtrace-bpf"), "--version"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    assert version in flat, version
    if shutil.which("man"):
        proc = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                              text=True, timeout=60,
                              env=dict(os.environ, LC_ALL="C.UTF-8", MANPAGER="cat",
                                       PAGER="cat", MANWIDTH="80"))
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr
        assert "memtrace-bpf" in proc.stdout


def completion_line(words):
    """COMP_LINE as bash builds it: '=' split off long options is no word break in the line."""
    line = words[0]
    for prev, word in zip(words, words[1:]):
        line += word if word == "=" or prev == "=" else " " + word
    return line


def complete(staged, words, tmp_path, bash_completion=False):
    """Load the installed completion in bash -c, as bash-completion's loader would find it
    (bash_completion=True) or by sourcing it (False), and run it on WORDS (the last one is
    the word being completed). Returns COMPREPLY."""
    script = r'''
if [[ -n $WITH_BASH_COMPLETION ]]; then
    . "$WITH_BASH_COMPLETION"
    # the loader looks in $XDG_DATA_DIRS/bash-completion/completions/<command>
    if declare -F _comp_load >/dev/null; then
        _comp_load memtrace-bpf
    else
        __load_completion memtrace-bpf
    fi
else
    . "$COMPLETION"
fi
spec=$(complete -p memtrace-bpf) || exit 3
func=${spec#*-F }
func=${func%% *}
[[ $func == _memtrace_bpf ]] || { echo "completion function: $spec" >&2; exit 4; }
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_POINT=${#COMP_LINE}
"$func" memtrace-bpf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASH_", "COMP"))}
    env.update(
        COMPLETION=str(staged / "share" / "bash-completion" / "completions" / "memtrace-bpf"),
        WITH_BASH_COMPLETION=BASH_COMPLETION if bash_completion else "",
        XDG_DATA_DIRS=str(staged / "share"),
        BASH_COMPLETION_USER_DIR=str(tmp_path / "no-user-completions"),
        PATH=f"{staged / 'bin'}:{staged / 'sbin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        COMP_LINE=completion_line(words),
    )
    proc = subprocess.run(["bash", "-c", script, "bash"] + list(words), capture_output=True,
                          text=True, timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == 0, (words, proc.returncode, proc.stderr)
    return [line for line in proc.stdout.split("\n") if line]


def cgroup_mounts():
    """Mount points of the cgroup v2 hierarchy and of the v1 memory controller's."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, fs, opts = line.split()[:4]
            if fs == "cgroup2" or (fs == "cgroup" and "memory" in opts.split(",")):
                found.append(mnt.replace("\\040", " "))
    return found


@pytest.mark.parametrize("bash_completion", [False, True],
                         ids=["plain-bash", "with-bash-completion"])
def test_bash_completion(staged, tmp_path, bash_completion):
    if bash_completion and not os.path.exists(BASH_COMPLETION):
        pytest.skip("the bash-completion package is not installed (sudo make test installs it)")

    def comp(*words):
        return complete(staged, ["memtrace-bpf"] + list(words), tmp_path, bash_completion)

    formats = ["csv", "jsonl", "mprof"]
    assert sorted(comp("-F", "")) == formats
    assert sorted(comp("-q", "--format", "=", "")) == formats
    assert comp("--format", "=", "j") == ["jsonl"]
    assert comp("-Fm") == ["-Fmprof"]
    assert comp("--max") == ["--max-procs"]
    # every option --help lists, long and short
    help_out = help_text(staged / "sbin" / "memtrace-bpf")
    offered = comp("-")
    assert set(long_options(help_out)) <= set(offered), offered
    assert set(short_options(help_out)) <= set(offered), offered
    assert set(comp("--")) == set(long_options(help_out))
    # -p: running processes, also as the next one of a list
    pid = str(os.getpid())
    assert pid in comp("-p", "")
    assert pid in comp("--pid", pid[:-1])
    assert f"1,{pid}" in comp("-p", f"1,{pid[:-1]}")
    # --kill=SIGNAL
    assert "TERM" in comp("-L", "1G", "--kill", "=", "TE")
    assert "SIGUSR1" in comp("-L", "1G", "--kill", "=", "SIGUSR")
    # -u: users
    assert "root" in comp("-u", "roo")
    # -o: files
    (tmp_path / "out-run.csv").write_text("")
    assert comp("-o", str(tmp_path / "out-")) == [str(tmp_path / "out-run.csv")]
    # -i, -m: unit suffixes
    assert comp("-i", "2") == ["2ms", "2s", "2m", "2h"]
    assert comp("-m", "512") == ["512K", "512M", "512G", "512T"]
    # -G: the cgroup hierarchies (where this machine has one)
    mounts = cgroup_mounts()
    if mounts:
        assert {m + "/" for m in mounts} <= set(comp("-G", "")), mounts
        inside = comp("-G", mounts[0] + "/")
        subdirs = [d for d in os.listdir(mounts[0]) if os.path.isdir(os.path.join(mounts[0], d))]
        for d in subdirs:
            assert f"{mounts[0]}/{d}/" in inside, (d, inside)
    # COMMAND: after -- or as the first word that is not an option
    assert "memtrace-plot" in comp("--", "memtrace-plo")
    assert "memtrace-plot" in comp("-q", "-i", "1s", "memtrace-plo")
    # an option's argument is no COMMAND
    for opt in ("--max-procs", "--output", "--format", "--interval", "--duration",
                "--memory-limit", "--rss-limit", "--user", "-o", "-F", "-i", "-d", "-m", "-L",
                "-u", "--inter", "-qd"):
        assert "memtrace-plot" in comp(opt, "1", "memtrace-plo"), opt
    assert comp("--duration", "1", "--ev") == ["--every"]
    # after -p PID (or -a, -G) no COMMAND may follow: options only
    for target in (["-p", "1"], ["--pid", "1"], ["-qp1"], ["-a"], ["--cgroup", "/"]):
        assert comp(*target, "memtrace-plo") == [], target
        assert comp(*target, "--ev") == ["--every"], target


def test_uninstall_removes_what_install_put(tmp_path):
    destdir = tmp_path / "destdir"
    prefix = install_into(destdir)
    # something else of the same prefix stays
    other = prefix / "bin" / "other-tool"
    other.write_text("#!/bin/sh\n")
    assert (prefix / UNIT).is_file()
    assert_only_under(staged_commands("uninstall", destdir), destdir)
    proc = make("uninstall", f"DESTDIR={destdir}", f"PREFIX={PREFIX}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert files_under(destdir) == {os.path.relpath(other, destdir)}
    assert not (prefix / UNIT).exists()
    # and again: nothing left to remove is no error
    proc = make("uninstall", f"DESTDIR={destdir}", f"PREFIX={PREFIX}")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def unit_settings(path):
    """The unit file's KEY=VALUE settings per section, as lists (keys repeat)."""
    sections, current = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_unit_runs_the_installed_binary(staged):
    service = unit_settings(staged / UNIT)["Service"]
    exec_start = service["ExecStart"]
    assert len(exec_start) == 1, exec_start
    argv = exec_start[0].split()
    assert argv[0] == f"{PREFIX}/sbin/memtrace-bpf", argv
    # host-wide, the exporter on the address the environment gives, OOM kills to its log dir
    assert argv[1:6] == ["-a", "--prometheus", "${MEMTRACE_BPF_LISTEN}", "--oom-log",
                         "/var/log/memtrace-bpf/oom.jsonl"], argv
    assert argv[6:] == ["$MEMTRACE_BPF_OPTS"], argv
    assert service["Environment"] == ["MEMTRACE_BPF_LISTEN=127.0.0.1:9464"]
    assert service["EnvironmentFile"] == ["-/etc/default/memtrace-bpf"]
    assert service["LogsDirectory"] == ["memtrace-bpf"]
    # a syscall filter would take bpf(2) and perf_event_open(2) away from it
    assert "SystemCallFilter" not in service
    caps = set(service["CapabilityBoundingSet"][0].split())
    assert {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"} <= caps, caps


def systemd_analyze():
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("*** systemd-analyze is not installed (Debian: systemd; sudo make test "
                    "installs it): the unit is NOT verified ***")
    return tool


def verify(*args, manpath):
    """systemd-analyze verify, its man: check pointed at the installed man page. It needs no
    running systemd: it loads the units into a manager of its own."""
    proc = subprocess.run([systemd_analyze(), "verify"] + list(args), capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ, MANPATH=str(manpath), SYSTEMD_LOG_LEVEL="info"))
    return proc


def test_systemd_analyze_verify_accepts_the_staged_unit(staged):
    """Under --root=DESTDIR, by name: found where systemd looks for units, its ExecStart binary
    there, its man page (Documentation=) found. The staged root has none of systemd's own units
    (sysinit.target, which every service pulls in), so errors in them are not counted
    (--recursive-errors=no); the unit's own errors still are, as a broken copy shows."""
    destdir = staged.parent
    proc = verify(f"--root={destdir}", "--recursive-errors=no", "memtrace-bpf.service",
                  manpath=staged / "share" / "man")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr


def test_systemd_analyze_verify_catches_a_broken_unit(staged, tmp_path):
    """The check above is no rubber stamp: a unit with an unknown key, or whose binary is
    missing, fails it."""
    for breakage in ("key", "binary"):
        destdir = tmp_path / breakage
        shutil.copytree(staged.parent, destdir, symlinks=True)
        prefix = destdir / PREFIX.lstrip("/")
        if breakage == "key":
            unit = prefix / UNIT
            unit.write_text(unit.read_text().replace("PrivateTmp=", "PrivateTemp="))
        else:
            (prefix / "sbin" / "memtrace-bpf").unlink()
        proc = verify(f"--root={destdir}", "--recursive-errors=no", "memtrace-bpf.service",
                      manpath=prefix / "share" / "man")
        assert proc.returncode != 0, (breakage, proc.stderr)
        assert ("PrivateTemp" if breakage == "key" else "memtrace-bpf") in proc.stderr, \
            proc.stderr


def test_systemd_analyze_verify_against_the_hosts_units(tmp_path):
    """As on a host: installed under a real PREFIX (no DESTDIR), so that ExecStart's path
    exists, and verified with this machine's own units (the targets it orders itself against)."""
    prefix = tmp_path / "prefix"
    proc = make("install", f"PREFIX={prefix}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unit = prefix / UNIT
    assert unit_settings(unit)["Service"]["ExecStart"][0].split()[0] == \
        f"{prefix}/sbin/memtrace-bpf"
    proc = verify(str(unit), manpath=prefix / "share" / "man")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr
