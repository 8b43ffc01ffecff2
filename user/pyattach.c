// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "procfs.h"
#include "pyattach.h"
#include "pyfind.h"
#include "pyoffsets.h"

/* How long a process that needs libpython is looked at again, and how often. */
#define RETRY_FOR_NS 2000000000ull
#define RETRY_EVERY_NS 1000000ull
/* Processes warned about and still alive: one warning each (a pid leaves at its exit). */
#define MAX_WARNED 4096

struct waiting {
	uint32_t pid;
	uint64_t until_ns;
};

struct mt_pyattach {
	struct mt_bpfobj *bpf;
	struct mt_pyprof *prof;
	uint32_t tss_offset; /* MT_PY_NONE: glibc's layout unknown, threads found by their tid */
	bool wrong_offsets;
	struct mt_py_offsets slots[MT_PY_SLOTS];
	unsigned nslots;
	struct waiting *waiting;
	size_t nwaiting, capwaiting;
	uint64_t next_retry_ns;
	uint32_t warned[MAX_WARNED];
	unsigned nwarned;
	unsigned warnings; /* all told */
};

struct mt_pyattach *pyattach_new(struct mt_bpfobj *bpf, struct mt_pyprof *prof, bool no_tss,
				 bool wrong_offsets)
{
	struct mt_pyattach *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return NULL;
	a->bpf = bpf;
	a->prof = prof;
	a->wrong_offsets = wrong_offsets;
	err = no_tss ? -EPERM : py_glibc_tss_offset(&a->tss_offset);
	if (err) {
		a->tss_offset = MT_PY_NONE;
		mt_debug("--python: glibc's thread-specific data not found (%s): each thread's "
			 "state is found by its tid in the interpreter's list",
			 strerror(-err));
	} else {
		mt_debug("--python: glibc keeps thread-specific data %u bytes from the thread "
			 "pointer",
			 a->tss_offset);
	}
	return a;
}

void pyattach_free(struct mt_pyattach *a)
{
	if (!a)
		return;
	free(a->waiting);
	free(a);
}

static bool was_warned(const struct mt_pyattach *a, uint32_t pid)
{
	for (unsigned i = 0; i < a->nwarned; i++)
		if (a->warned[i] == pid)
			return true;
	return false;
}

static void warn_once(struct mt_pyattach *a, uint32_t pid, const char *comm, const char *why)
{
	if (was_warned(a, pid))
		return;
	if (a->nwarned < MAX_WARNED)
		a->warned[a->nwarned++] = pid;
	a->warnings++;
	mt_warn("--python: pid %u (%s): %s; its Python lines are not reported", pid, comm, why);
}

unsigned pyattach_warned(const struct mt_pyattach *a)
{
	return a->warnings;
}

/* The slot of these offsets in the BPF side's table, added if new; -1 when it is full. */
static int slot_of(struct mt_pyattach *a, const struct mt_py_offsets *o)
{
	for (unsigned i = 0; i < a->nslots; i++)
		if (!memcmp(&a->slots[i], o, sizeof(*o)))
			return (int)i;
	if (a->nslots == MT_PY_SLOTS || bpfobj_py_offsets(a->bpf, a->nslots, o))
		return -1;
	a->slots[a->nslots] = *o;
	return (int)a->nslots++;
}

static void forget_waiting(struct mt_pyattach *a, uint32_t pid)
{
	for (size_t i = 0; i < a->nwaiting; i++) {
		if (a->waiting[i].pid == pid) {
			a->waiting[i] = a->waiting[--a->nwaiting];
			return;
		}
	}
}

static void wait_for(struct mt_pyattach *a, uint32_t pid, uint64_t now_ns)
{
	for (size_t i = 0; i < a->nwaiting; i++)
		if (a->waiting[i].pid == pid)
			return;
	if (a->nwaiting == a->capwaiting) {
		size_t cap = a->capwaiting ? a->capwaiting * 2 : 16;
		struct waiting *w = realloc(a->waiting, cap * sizeof(*w));

		if (!w)
			return; /* it is looked at again at its next exec only */
		a->waiting = w;
		a->capwaiting = cap;
	}
	a->waiting[a->nwaiting++] = (struct waiting){ pid, now_ns + RETRY_FOR_NS };
}

static int open_dir(uint32_t pid, const char *which)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, which);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Its name, and its RSS now (0 when gone). */
static uint64_t process_name(uint32_t pid, char *comm, size_t len)
{
	struct proc_stats st;

	if (procfs_read_process((int)pid, &st, NULL, 0, NULL) == 0) {
		snprintf(comm, len, "%.*s", MT_COMM_LEN, st.comm);
		return mt_rss_bytes(&st);
	}
	snprintf(comm, len, "?");
	return 0;
}

void pyattach_check(struct mt_pyattach *a, uint32_t pid, uint64_t now_ns)
{
	struct py_found found;
	struct mt_py_offsets o;
	char why[256] = "", comm[MT_COMM_LEN], version[16];
	int r, slot;
	uint64_t rss;

	r = pyfind_process((pid_t)pid, &found, why, sizeof(why));
	if (r == -EAGAIN) {
		wait_for(a, pid, now_ns);
		return;
	}
	forget_waiting(a, pid);
	if (r == 0)
		return;
	rss = process_name(pid, comm, sizeof(comm));
	if (r < 0) {
		warn_once(a, pid, comm, why[0] ? why : "its interpreter cannot be read");
		return;
	}
	snprintf(version, sizeof(version), "%u.%u.%u", found.major, found.minor, found.micro);
	r = found.minor >= 13
		    ? py_offsets_from_debug(found.runtime_image, found.runtime_image_len, &o, why,
					    sizeof(why))
		    : py_offsets_built(found.major, found.minor, &o);
	if (r) {
		char msg[320];

		if (!why[0])
			snprintf(why, sizeof(why), "this build of memtrace-bpf has no offsets for "
						   "CPython %u.%u (built without its headers)",
				 found.major, found.minor);
		snprintf(msg, sizeof(msg), "CPython %s: %s", version, why);
		warn_once(a, pid, comm, msg);
		return;
	}
	if (a->wrong_offsets)
		o.frame_code += 8;
	slot = slot_of(a, &o);
	if (slot < 0) {
		warn_once(a, pid, comm, "too many different interpreter builds at once");
		return;
	}
	struct mt_py_proc proc = {
		.runtime = found.runtime_addr,
		.code_type = found.code_type_addr,
		/* the layout measured here holds for a process on the same libc only */
		.tss_offset = found.same_libc ? a->tss_offset : MT_PY_NONE,
		.slot = (uint32_t)slot,
	};
	r = bpfobj_py_add(a->bpf, pid, &proc);
	if (r) {
		mt_debug("--python: pid %u: cannot add it: %s", pid, strerror(-r));
		return;
	}
	pyprof_process(a->prof, pid, comm, version, open_dir(pid, "root"), open_dir(pid, "cwd"));
	pyprof_found_at(a->prof, pid, rss);
	mt_debug("--python: pid %u (%s) runs CPython %s (%s): _PyRuntime at 0x%llx", pid, comm,
		 version, found.path, (unsigned long long)found.runtime_addr);
}

void pyattach_forked(struct mt_pyattach *a, uint32_t pid, uint32_t parent)
{
	if (!bpfobj_py_has(a->bpf, pid))
		return;
	pyprof_forked(a->prof, pid, parent, open_dir(pid, "root"), open_dir(pid, "cwd"));
}

void pyattach_exited(struct mt_pyattach *a, uint32_t pid)
{
	forget_waiting(a, pid);
	bpfobj_py_remove(a->bpf, pid);
	/* a process that reuses the pid is told about on its own */
	for (unsigned i = 0; i < a->nwarned; i++) {
		if (a->warned[i] == pid) {
			a->warned[i] = a->warned[--a->nwarned];
			break;
		}
	}
}

void pyattach_sampled(struct mt_pyattach *a, const struct mt_py_sample *e)
{
	char comm[MT_COMM_LEN];

	if (!(e->flags & MT_PYF_BAD_CODE) || was_warned(a, e->pid))
		return;
	/* reading on would charge garbage: the offsets do not describe this interpreter */
	bpfobj_py_remove(a->bpf, e->pid);
	process_name(e->pid, comm, sizeof(comm));
	warn_once(a, e->pid, comm,
		  "its frames do not match the offsets for its CPython version (a frame's code "
		  "object is not a code object)");
}

uint64_t pyattach_next_retry(const struct mt_pyattach *a)
{
	return a->nwaiting ? a->next_retry_ns : 0;
}

void pyattach_retry(struct mt_pyattach *a, uint64_t now_ns)
{
	if (!a->nwaiting || now_ns < a->next_retry_ns)
		return;
	for (size_t i = a->nwaiting; i-- > 0;) {
		struct waiting w = a->waiting[i];

		if (now_ns >= w.until_ns) {
			a->waiting[i] = a->waiting[--a->nwaiting];
			continue;
		}
		pyattach_check(a, w.pid, now_ns);
	}
	a->next_retry_ns = now_ns + RETRY_EVERY_NS;
}
