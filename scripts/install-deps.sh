#!/usr/bin/env bash
# Install the Debian packages memtrace-bpf needs to build and test (or those named as
# arguments); quiet and quick when all are present. Run as root (make test and make demo
# call it).
set -euo pipefail

packages=(
	clang llvm make gcc pkg-config       # BPF and user-space compilers
	bpftool libbpf-dev libelf-dev zlib1g-dev
	python3 python3-pytest               # integration tests
	python3.11-dev                       # CPython 3.11 internal headers (--python offsets)
	python3-matplotlib                   # plots (scripts/memtrace-plot)
	python3-memory-profiler              # mprof, to check -F mprof output (tests)
	tmux                                 # the live view under a real terminal (tests)
	procps util-linux                    # ps, setpriv (tests)
	curl                                 # scrapes of the exporter (valgrind check)
	groff-base bash-completion           # man page and completion checks (tests)
	libclang-rt-14-dev                   # libFuzzer and sanitizer runtimes (make fuzz)
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
