// valgrind-bpf.so — LD_PRELOADed into memtrace-bpf under valgrind (scripts/valgrind-check.sh).
//
// Valgrind 3.19 runs every bpf(2) command but models only some of what the kernel writes back
// into our memory; bytes it does not know were written stay "uninitialised" for memcheck, and
// every later use of them is reported deep in our own code (each sample read from the process
// map). Suppressing those reports would hide real uninitialised reads in the same code, so
// this wraps libc's syscall() (libbpf, linked in statically, calls bpf(2) through it) and,
// after the kernel has answered, tells memcheck exactly which bytes bpf(2) documents as
// written, for what valgrind leaves out:
//   BPF_BTF_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID ("unhandled eBPF command 23/31"): attr->next_id
//   BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH (24/25): attr->batch.count, then
//     count keys and values and the out_batch cursor (a u32 for hash maps, a key otherwise)
//   BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH (26/27): attr->batch.count
//   BPF_MAP_LOOKUP_ELEM, BPF_MAP_LOOKUP_AND_DELETE_ELEM on a per-CPU map: valgrind marks
//     value_size bytes, the kernel writes round_up(value_size, 8) per possible CPU
//   BPF_OBJ_GET_INFO_BY_FD on a BTF object: valgrind marks the info struct, not the name and
//     BTF data buffers it points to, which the kernel fills
//   BPF_PROG_LOAD with a log buffer (libbpf's helper probes read it): the verifier's log,
//     a string up to its NUL
// The other commands valgrind does not know that are used (LINK_CREATE, ITER_CREATE,
// PROG_BIND_MAP) write nothing back to memory. Without valgrind the requests are no-ops.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

typedef long (*syscall_fn)(long, ...);

static long real_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	static syscall_fn real;

	if (!real)
		real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
	return real(nr, a1, a2, a3, a4, a5, a6);
}

static int map_info(int fd, struct bpf_map_info *info)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	memset(info, 0, sizeof(*info));
	attr.info.bpf_fd = (__u32)fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = (__u64)(unsigned long)info;
	return (int)real_syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, (long)&attr, sizeof(attr), 0, 0,
				 0);
}

/* The kernel's num_possible_cpus(): CPUs in /sys/devices/system/cpu/possible ("0-3,8-11"). */
static size_t possible_cpus(void)
{
	static size_t n;
	char buf[256], *p = buf;
	FILE *f;

	if (n)
		return n;
	f = fopen("/sys/devices/system/cpu/possible", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	while (*p >= '0' && *p <= '9') {
		unsigned long a = strtoul(p, &p, 10), b = a;

		if (*p == '-')
			b = strtoul(p + 1, &p, 10);
		n += b - a + 1;
		if (*p == ',')
			p++;
	}
	return n ? n : (n = 1);
}

/* Bytes of one value as the kernel copies it to user space. */
static size_t value_bytes(const struct bpf_map_info *info)
{
	switch (info->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return ((info->value_size + 7) & ~(size_t)7) * possible_cpus();
	default:
		return info->value_size;
	}
}

static void elem_defined(union bpf_attr *attr)
{
	struct bpf_map_info info;

	if (attr->value && !map_info((int)attr->map_fd, &info))
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)attr->value, value_bytes(&info));
}

static void btf_info_defined(union bpf_attr *attr)
{
	char path[64], link[64];
	struct bpf_btf_info *info = (struct bpf_btf_info *)(unsigned long)attr->info.info;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%u", attr->info.bpf_fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = 0;
	if (strcmp(link, "anon_inode:btf") || !info ||
	    attr->info.info_len < offsetof(struct bpf_btf_info, kernel_btf))
		return;
	/* name: its length now in name_len, the string and its NUL copied */
	if (info->name)
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)info->name, info->name_len + 1);
	/* btf: btf_size is now the BTF's size, copied whole when the buffer held it */
	if (info->btf)
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)info->btf, info->btf_size);
}

static void batch_defined(long cmd, union bpf_attr *attr)
{
	struct bpf_map_info info;
	size_t vsize, cursor;

	VALGRIND_MAKE_MEM_DEFINED(&attr->batch.count, sizeof(attr->batch.count));
	if (cmd != BPF_MAP_LOOKUP_BATCH && cmd != BPF_MAP_LOOKUP_AND_DELETE_BATCH)
		return;
	if (map_info((int)attr->batch.map_fd, &info))
		return;
	vsize = value_bytes(&info);
	switch (info.type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		cursor = sizeof(__u32); /* the kernel's bucket index */
		break;
	default:
		cursor = info.key_size;
	}
	if (attr->batch.out_batch)
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)attr->batch.out_batch, cursor);
	if (attr->batch.keys)
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)attr->batch.keys,
					  (size_t)attr->batch.count * info.key_size);
	if (attr->batch.values)
		VALGRIND_MAKE_MEM_DEFINED((void *)(unsigned long)attr->batch.values,
					  (size_t)attr->batch.count * vsize);
}

long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	long ret = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	int saved = errno;

	if (nr == SYS_bpf && a[1]) {
		union bpf_attr *attr = (union bpf_attr *)a[1];

		switch (a[0]) {
		case BPF_MAP_LOOKUP_ELEM:
		case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
			if (ret == 0)
				elem_defined(attr);
			break;
		case BPF_OBJ_GET_INFO_BY_FD:
			if (ret == 0)
				btf_info_defined(attr);
			break;
		case BPF_PROG_LOAD:
			if (attr->log_buf && attr->log_size) {
				char *log = (char *)(unsigned long)attr->log_buf;

				for (__u32 i = 0; i < attr->log_size; i++) {
					VALGRIND_MAKE_MEM_DEFINED(log + i, 1);
					if (!log[i])
						break;
				}
			}
			break;
		case BPF_BTF_GET_NEXT_ID:
		case BPF_LINK_GET_NEXT_ID:
			if (ret == 0)
				VALGRIND_MAKE_MEM_DEFINED(&attr->next_id, sizeof(attr->next_id));
			break;
		case BPF_MAP_LOOKUP_BATCH:
		case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		case BPF_MAP_UPDATE_BATCH:
		case BPF_MAP_DELETE_BATCH:
			/* ENOENT: the last, possibly partial, batch; the kernel wrote count too */
			if (ret == 0 || saved == ENOENT || saved == ENOSPC)
				batch_defined(a[0], attr);
			break;
		}
	}
	errno = saved;
	return ret;
}
