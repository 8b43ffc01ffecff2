#!/usr/bin/env bash
# make test-kernels: the same memtrace-bpf binary checked on the host's kernel and on Debian
# 12's stock 6.1 kernel, booted with QEMU (software emulation: -accel tcg) from an initramfs
# that holds busybox, memtrace-bpf with the libraries it links, the test workloads and
# scripts/kernels/runner.sh. The guest's results come back over the serial console.
#   test-kernels.sh OUTDIR BINARY WORKLOADS [TOOLS]   (as root; OUTDIR caches the kernel package)
# TOOLS holds bpf-deny (a BPF LSM policy that refuses named programs); the guest boots with the
# BPF LSM on (lsm=...,bpf) so that a real security policy can refuse programs there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1 bin=$2 workloads=$3 tools=${4:-}
extra=()
[ -n "$tools" ] && [ -x "$tools/bpf-deny" ] && extra=("$tools/bpf-deny")
runner=$root/scripts/kernels/runner.sh
mkdir -p "$out"
out=$(cd "$out" && pwd)
failed=0

summary() { # name log [precision-note expected: present|absent]
	local done note
	grep '^RESULT ' "$2" | sed "s/^/$1: /"
	note=$(grep -a '^INFO precision-note' "$2" | awk '{print $3}')
	if [ -n "${3:-}" ] && [ "$note" != "$3" ]; then
		echo "$1: FAIL the summary's precision note is ${note:-missing}, expected $3"
		failed=1
	fi
	done=$(grep -a '^RUNNER DONE' "$2" | tr -d '\r' | tail -1)
	if [ -z "$done" ]; then
		echo "$1: the runner did not finish (log: $2)"
		failed=1
	elif [ "$(echo "$done" | awk '{print $4}')" != 0 ]; then
		failed=1
	fi
	echo "$1: ${done:-no result}"
}

# --- the host's kernel
stage=$out/host-bin
rm -rf "$stage" "$out/host-work" && mkdir -p "$stage"
cp "$bin" "$workloads/touch" "$workloads/spike" "$workloads/forker" "$workloads/stackgrow" \
	"$workloads/libstackgrow.so" "${extra[@]}" "$stage/"
echo "test-kernels: host kernel $(uname -r)"
sh "$runner" "$stage" "$out/host-work" | tee "$out/host.log"
# RSS in per-thread batches (the precision note) before 6.2, exact after: 6.1 and the host
case $(uname -r) in 5.* | 6.[01].*) host_note=present ;; *) host_note=absent ;; esac
summary "host $(uname -r)" "$out/host.log" $host_note

# --- Debian 12's 6.1 kernel, the newest the archive has
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
[ -n "$pkg" ] || { echo "test-kernels: no linux-image-6.1.0-*-amd64 in the package archive" >&2; exit 1; }
deb=$(ls "$out/$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	(cd "$out" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	deb=$(ls "$out/$pkg"_*.deb | head -1)
fi
rm -rf "$out/kernel" && mkdir -p "$out/kernel" && dpkg-deb -x "$deb" "$out/kernel"
vmlinuz=$(ls "$out"/kernel/boot/vmlinuz-* | head -1)

# the initramfs: busybox (every applet), the binaries and their shared libraries, the runner
ir=$out/initramfs
rm -rf "$ir" && mkdir -p "$ir"/{bin,proc,sys,dev,tmp,work}
# ours first: busybox's applets (touch among them) must not take their names
cp "$bin" "$workloads/touch" "$workloads/spike" "$workloads/forker" "$workloads/stackgrow" \
	"$workloads/libstackgrow.so" "${extra[@]}" /bin/busybox "$ir/bin/"
cp "$runner" "$ir/bin/runner.sh"
for a in $("$ir/bin/busybox" --list); do [ -e "$ir/bin/$a" ] || ln -s busybox "$ir/bin/$a"; done
# libmicrohttpd is opened by --prometheus (dlopen): ldd of the binary does not name it
mhd=$(/sbin/ldconfig -p | awk '$1 == "libmicrohttpd.so.12" && $NF ~ /^\// {print $NF; exit}')
[ -n "$mhd" ] || { echo "test-kernels: no libmicrohttpd.so.12 (apt-get install libmicrohttpd12)" >&2; exit 1; }
for lib in $mhd $(ldd "$bin" "$workloads/touch" "$workloads/stackgrow" "${extra[@]}" "$mhd" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
	mkdir -p "$ir$(dirname "$lib")"
	cp -L "$lib" "$ir$lib"
done
cat >"$ir/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 none /sys/fs/cgroup && echo +memory >/sys/fs/cgroup/cgroup.subtree_control
/bin/runner.sh /bin /tmp/work 2>&1
poweroff -f
INIT
chmod +x "$ir/init"
(cd "$ir" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out/initramfs.gz"

echo "test-kernels: booting $pkg under qemu-system-x86_64 -accel tcg"
timeout 900 qemu-system-x86_64 -accel tcg -m 1536 -smp 2 -nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$out/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 lsm=lockdown,capability,yama,bpf" </dev/null >"$out/guest.raw" 2>&1 || true
tr -d '\r' <"$out/guest.raw" | grep -a -E '^(RUNNER|RESULT|INFO|memtrace-bpf)' >"$out/guest.log" || true
summary "guest $pkg" "$out/guest.log" present
[ $failed -eq 0 ] && echo "test-kernels: passed" || { echo "test-kernels: FAILED (logs in $out)"; exit 1; }
