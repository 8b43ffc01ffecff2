#!/usr/bin/env bash
# Install the Debian packages memtrace-bpf needs to build and test (or those named as
# arguments); quiet and quick when all are present. Run as root (make test and make demo
# call it).
set -euo pipefail

packages=(
	clang llvm make gcc pkg-config       # BPF and user-space compilers
	bpftool libbpf-dev libelf-dev zlib1g-dev
	libmicrohttpd-dev                    # the exporter's HTTP server (--prometheus)
	libdw-dev liblzma-dev libbz2-dev libzstd-dev # --stacks' unwinder and symbols (static)
	libiberty-dev                        # --stacks: C++ and Rust names demangled
	libc6-dbg coreutils                  # debug info the symbol tests read; sort (tests)
	python3 python3-pytest               # integration tests
	python3.11-dev                       # CPython 3.11 internal headers (--python offsets)
	python3-matplotlib                   # plots (scripts/memtrace-plot)
	python3-memory-profiler              # mprof, to check -F mprof output (tests)
	tmux                                 # the live view under a real terminal (tests)
	procps util-linux                    # ps, setpriv (tests)
	curl                                 # scrapes of the exporter (valgrind check)
	groff-base bash-completion           # man page and completion checks (tests)
	systemd                              # systemd-analyze verify of the unit (tests)
	libclang-rt-14-dev                   # libFuzzer and sanitizer runtimes (make fuzz)
	ansible-core                         # the fleet playbooks, run against localhost (tests)
	python3-prometheus-client prometheus # parse /metrics, promtool check config (tests)
)

# with arguments: those packages instead (make bench, make soak)
[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo make test)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Packages with a daemon (prometheus: a server on :9090) start it from their postinst:
# through deb-systemd-invoke where systemd runs, through invoke-rc.d where a sysvinit
# runlevel is known (in a container without either it stays down on its own). The tests want
# the tools, not a server left running on the machine, so a policy-rc.d that says 101
# ("do not run"), which both honour, stands while apt installs; one already in place (as
# Docker images ship) is the administrator's and is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# installed by memtrace-bpf scripts/install-deps.sh while it runs apt\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The postinst also enables prometheus at boot; a test machine should not grow a server at
# its next boot either: if this run installed it, its autostart is turned off again.
for p in "${missing[@]}"; do
	if [ "$p" = prometheus ]; then
		deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
		update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
done
