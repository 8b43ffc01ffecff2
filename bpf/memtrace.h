/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by the BPF programs (bpf/memtrace.bpf.c and its headers) and the loader (user/).
 * Fixed-width types only: both sides must agree on every byte.
 */
#ifndef MEMTRACE_H
#define MEMTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MT_COMM_LEN 16
/* task_struct.flags (and /proc/PID/stat's flags field): a kernel thread (include/linux/sched.h) */
#define MT_PF_KTHREAD 0x00200000

/* proc_stats.flags */
enum {
	/*
	 * Entry made by the launcher for a COMMAND that has not exec'd yet: its mm is still a
	 * copy of the tracer's own, so nothing is accounted until its first exec.
	 */
	MT_PROC_PRE_EXEC = 1u << 0,
	/* The process exited but its exit record could not be queued: user space emits the
	 * exit row from this entry and deletes it. */
	MT_PROC_EXITED = 1u << 1,
	/* Its RSS crossed the -L limit (once per program image: exec clears it). */
	MT_PROC_LIMIT_HIT = 1u << 2,
};

/*
 * One traced process (thread group). Map key: tgid. A reused pid is told apart by
 * start_ns (the group leader's start_boottime), which user space uses with the pid as
 * the process identity.
 */
struct proc_stats {
	/* bumped at every change of what a row shows; seen_gen: the value at the entry's last
	 * report to user space (the map iterator reports only entries whose gen moved on).
	 * First: next to the hash element's header, which the map walk reads anyway. */
	__u32 gen;
	__u32 seen_gen;
	/* next: rss_stat reads flags at every RSS change, in the same cache line as gen */
	__u32 flags;
	__u32 ppid;
	__u64 start_ns;
	__u64 file_bytes;
	__u64 anon_bytes;
	__u64 shmem_bytes;
	/* exact peak of file + anon + shmem, and the split at that moment */
	__u64 peak_rss_bytes;
	__u64 peak_file_bytes;
	__u64 peak_anon_bytes;
	__u64 peak_shmem_bytes;
	__u64 faults;
	__u64 pages_alloc;
	/* filled in at exit */
	__u64 exit_ns;
	__u64 utime_ns;
	__u64 stime_ns;
	/* wait(2) status: exit code << 8, or the terminating signal */
	__s32 exit_status;
	/* the kernel's own high-water mark of the mm (hiwater_rss, pages), read at exit: the
	 * summary's cross-check of the traced peak */
	__u32 hiwater_pages;
	/* the cgroup its memory is charged to (kernfs id), read at fork, exec and when seeded;
	 * 0 for an entry user space made (a -p root): user space asks /proc then */
	__u64 memcg_id;
	char comm[MT_COMM_LEN];
};

/* RSS as every row and report counts it: the three counters the kernel keeps for an mm. */
static inline __u64 mt_rss_bytes(const struct proc_stats *st)
{
	return st->file_bytes + st->anon_bytes + st->shmem_bytes;
}

/* What the map iterator writes per reported entry. */
struct mt_proc_record {
	__u32 pid;
	__u32 pad;
	struct proc_stats stats;
};

enum mt_event_type {
	MT_EV_FORK = 1,
	MT_EV_EXEC = 2,
	MT_EV_EXIT = 3,
	MT_EV_OOM = 4,	 /* struct mt_oom_event */
	MT_EV_LIMIT = 5, /* the process's RSS crossed the -L limit */
	MT_EV_PY_SAMPLE = 6, /* struct mt_py_sample */
	MT_EV_PY_CODE = 7,   /* struct mt_py_code */
	MT_EV_STACK = 8,     /* struct mt_stack_sample */
};

/* mt_event.ev_flags */
enum {
	/* MT_EV_LIMIT: the signal could not be sent from the kernel (the crossing was not in
	 * the process's own context): user space sends it */
	MT_EVF_SIGNAL_DEFERRED = 1u << 0,
	/* MT_EV_LIMIT: bpf_send_signal failed */
	MT_EVF_SIGNAL_FAILED = 1u << 1,
};

/* Ring-buffer record: only for rare events, never per fault. */
struct mt_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 signal;	/* MT_EV_LIMIT: the signal sent (0: none) */
	__u32 ev_flags; /* MT_EVF_* */
	struct proc_stats stats;
};

#define MT_OOM_STACK_DEPTH 32
/* the memcg path is gathered leaf first, one NUL-terminated name per level */
#define MT_CGPATH_LEN 512
#define MT_CGPATH_MAX_DEPTH 16
/* CPUs swept for pending counts at exit (more are left to be added when next seen) */
#define MT_MAX_CPUS 4096

/* mt_oom_info.flags */
enum {
	MT_OOM_TRACED = 1u << 0,	 /* the victim is in the traced set (stats are ours) */
	MT_OOM_VICTIM_TASK = 1u << 1,	 /* the tracepoint gave the victim's task: fields below read from it */
	MT_OOM_MEMCG_TRUNCATED = 1u << 2, /* the memcg path did not fit */
	MT_OOM_MEMCG_V1 = 1u << 3,	 /* the memory controller is on a v1 hierarchy */
};

/*
 * oom/mark_victim: one record per victim thread marked (user space keeps one per process).
 * It runs in the allocating task's context: that task is the trigger.
 */
struct mt_oom_info {
	__u32 victim_tid;
	__u32 trigger_pid; /* tgid */
	__u32 trigger_tid;
	__u32 uid;
	__u32 flags; /* MT_OOM_* */
	__s32 oom_score_adj;
	__u64 total_vm_bytes;
	__u64 pgtables_bytes;
	/* the nearest memcg (the victim's own or an ancestor) with a limit; the path in memcg_path */
	__u64 limit_memcg_usage_bytes;
	__u64 limit_memcg_max_bytes;
	__u32 memcg_levels; /* names in memcg_path */
	__u32 nr_stack;	    /* kernel return addresses in stack */
	__u64 stack[MT_OOM_STACK_DEPTH];
	char trigger_comm[MT_COMM_LEN];
	char memcg_path[MT_CGPATH_LEN * 2];
};

struct mt_oom_event {
	struct mt_event head; /* type MT_EV_OOM, pid: the victim's tgid; stats: the victim at the kill */
	struct mt_oom_info oom;
};

/*
 * --python: the CPython frames behind an RSS change, read in the kernel at the change.
 *
 * Where one CPython build keeps what the frame walk reads: byte offsets, MT_PY_NONE where the
 * build has no such field. User space fills one per interpreter version (user/pyoffsets.c:
 * from the CPython headers at build time for 3.11 and 3.12, from the interpreter's own
 * _Py_DebugOffsets for 3.13+) and bpf/python.bpf.h reads them.
 */
#define MT_PY_NONE 0xffffffffu
#define MT_PY_SLOTS 8 /* interpreter builds known at once (py_offsets entries) */

struct mt_py_offsets {
	__u32 version; /* major << 8 | minor: 0x030b for 3.11 */
	/* _PyRuntimeState */
	__u32 runtime_tss;	   /* autoTSSkey: Py_tss_t { int _is_initialized; pthread_key_t _key; } */
	__u32 runtime_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	__u32 interp_threads_head; /* threads.head */
	/* PyThreadState */
	__u32 ts_next;
	__u32 ts_native_thread_id; /* unsigned long: its kernel tid */
	__u32 ts_cframe;	   /* 3.11, 3.12: the _PyCFrame pointer; MT_PY_NONE from 3.13 */
	__u32 cframe_current_frame; /* in _PyCFrame */
	__u32 ts_current_frame;	   /* 3.13+: the frame pointer in the thread state; MT_PY_NONE before */
	/* _PyInterpreterFrame */
	__u32 frame_previous;
	__u32 frame_code;  /* f_code (3.11, 3.12), f_executable (3.13) */
	__u32 frame_instr; /* prev_instr (3.11, 3.12: the last instruction begun), instr_ptr (3.13) */
	__u32 frame_owner; /* char */
	__u32 owner_cstack; /* owner value of the C-stack shim frames, skipped; MT_PY_NONE in 3.11 */
	__u32 frame_is_entry; /* 3.11: bool is_entry (the first frame of an eval call); MT_PY_NONE
			       * after, where the shim frame below marks it */
	/* PyCodeObject */
	__u32 code_filename;
	__u32 code_qualname;
	__u32 code_firstlineno; /* int */
	__u32 code_linetable;	/* a bytes object (the location table of 3.11+) */
	__u32 code_adaptive;	/* co_code_adaptive: the first code unit */
	/* PyObject, PyVarObject */
	__u32 object_type; /* ob_type */
	__u32 var_size;	   /* ob_size */
	/* PyBytesObject */
	__u32 bytes_sval;
	/* PyASCIIObject, PyCompactUnicodeObject */
	__u32 unicode_length;
	__u32 unicode_state;	    /* the 32-bit word of the state bit field */
	__u32 unicode_kind_shift;   /* state: kind = (state >> shift) & 7 */
	__u32 unicode_compact_bit;  /* state: compact = state >> bit & 1 */
	__u32 unicode_ascii_bit;    /* state: ascii = state >> bit & 1 */
	__u32 unicode_ascii_size;   /* sizeof(PyASCIIObject): where compact ASCII text starts */
	__u32 unicode_compact_size; /* sizeof(PyCompactUnicodeObject): where other compact text starts */
};

/* One traced process that runs CPython (py_procs, keyed by tgid). */
struct mt_py_proc {
	__u64 runtime;	 /* address of _PyRuntime in the process */
	__u64 code_type; /* address of PyCode_Type: a frame's code object must have it as its type */
	/*
	 * glibc: where pthread_getspecific's first block of key data lies from the thread pointer
	 * (struct pthread's specific_1stblock). MT_PY_NONE: the thread's state is found by its
	 * kernel tid in the interpreter's list of threads instead.
	 */
	__u32 tss_offset;
	__u32 slot; /* its struct mt_py_offsets in py_offsets */
};

#define MT_PY_DEPTH 48	   /* frames kept, innermost first */
#define MT_PY_NAME_LEN 128 /* bytes of a function's qualified name kept */
#define MT_PY_FILE_LEN 256 /* bytes of a file name kept (the end when longer) */
#define MT_PY_LINETABLE_LEN 4096 /* bytes of a location table kept */

struct mt_py_frame {
	__u64 code;  /* the code object's address */
	__u32 ident; /* which code object was at that address (mt_py_code.ident) */
	__s32 lasti; /* index of the instruction in code units; -1 unknown */
};

/* mt_py_sample.flags */
enum {
	MT_PYF_NO_THREAD = 1u << 0, /* no thread state for this thread (not initialised, a C thread) */
	MT_PYF_BAD_CODE = 1u << 1,  /* a frame's code object was not a PyCode: offsets do not fit */
	MT_PYF_TRUNCATED = 1u << 2, /* more than MT_PY_DEPTH frames: the outermost are missing */
	MT_PYF_OOM = 1u << 3,	    /* the stack of an OOM kill's trigger, no RSS change */
	MT_PYF_READ_FAILED = 1u << 4, /* a read of the process's memory failed (paged out) */
};

/* MT_EV_PY_SAMPLE: an RSS change made by a Python thread, and its stack. */
struct mt_py_sample {
	__u32 type;
	__u32 pid;
	__u64 ts_ns;
	__u32 tid;
	__u32 flags; /* MT_PYF_* */
	/* the change in bytes, by counter */
	__s64 delta_file;
	__s64 delta_anon;
	__s64 delta_shmem;
	__u64 rss_bytes; /* RSS after the change */
	__u32 depth;	 /* frames[0..depth): innermost first */
	/* --stacks: the seq of the native stack taken at the same change (0: none) */
	__u32 stack_seq;
	/*
	 * bit i: frames[i] is the first frame its call of the eval loop ran (an entry frame):
	 * the frames from the one before the last such bit down to this one are what one C
	 * frame of _PyEval_EvalFrameDefault runs
	 */
	__u64 entries;
	struct mt_py_frame frames[MT_PY_DEPTH];
};

/* mt_py_code.flags */
enum {
	MT_PYC_LINETABLE_TRUNCATED = 1u << 0,
	MT_PYC_FILE_TRUNCATED = 1u << 1, /* filename holds the end of the name */
};

/* MT_EV_PY_CODE: a code object seen for the first time (at its address), captured while it exists. */
struct mt_py_code {
	__u32 type;
	__u32 pid;
	__u64 code;
	__u32 ident;
	__s32 firstlineno;
	__u32 flags; /* MT_PYC_* */
	/* unicode kind of each string (1: latin-1 or ASCII, 2: UCS-2, 4: UCS-4) and bytes kept */
	__u16 file_kind, name_kind;
	__u32 file_len, name_len, linetable_len;
	char file[MT_PY_FILE_LEN];
	char name[MT_PY_NAME_LEN];
	__u8 linetable[MT_PY_LINETABLE_LEN];
};

/*
 * --stacks: the user stack of the thread behind a sampled RSS growth. In the DWARF mode its
 * registers and a copy of the top of its stack, unwound in user space with the binaries' own
 * unwind tables; in the frame-pointer mode the return addresses the kernel walked.
 */
#define MT_STACK_MAX_BYTES 65536 /* the copy's ceiling: --stack-size is below it */
#define MT_STACK_FP_DEPTH 127	 /* return addresses of the frame-pointer walk */
#define MT_STACK_NREGS 17	 /* x86-64 DWARF registers 0-16: rax..r15, rip */

/* mt_stack_sample.flags */
enum {
	MT_STKF_OOM = 1u << 0,	       /* the stack of an OOM kill's trigger; no growth */
	MT_STKF_FP = 1u << 1,	       /* data holds data_len / 8 return addresses, no stack copy */
	MT_STKF_COPY_SHORT = 1u << 2,  /* the copy stopped short of the size asked (stack end) */
	MT_STKF_COPY_FAILED = 1u << 3, /* no byte of the stack could be read */
	MT_STKF_PYTHON = 1u << 4,      /* a Python sample with the same seq follows */
};

/*
 * MT_EV_STACK. Sent with only its used part of data (offsetof(data) + data_len bytes). The
 * bytes it stands for: weight_bytes (sampling by bytes grown, see bpf/stacks.bpf.h).
 */
struct mt_stack_sample {
	__u32 type;
	__u32 pid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 tid;
	__u32 flags; /* MT_STKF_* */
	__u64 weight_bytes;
	__u64 rss_bytes; /* RSS after the change */
	__u32 seq;	 /* pairs it with its Python sample (mt_py_sample.stack_seq) */
	__u32 data_len;
	/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
	__u64 regs[MT_STACK_NREGS];
	char comm[MT_COMM_LEN];
	/* the stack from regs[7] (rsp) up, or __u64 return addresses innermost first (FP) */
	__u8 data[MT_STACK_MAX_BYTES];
};

/* Who is traced (rodata target_mode). */
enum mt_target_mode {
	MT_MODE_PIDS = 0,   /* processes user space adds (-p, COMMAND) and their children */
	MT_MODE_ALL = 1,    /* -a: every user-space process */
	MT_MODE_CGROUP = 2, /* -G: the processes of a cgroup and its descendants */
};

/* Per-CPU loss counters, indexed by these. */
enum mt_drop {
	MT_DROP_RINGBUF = 0, /* a fork/exec/exit record did not fit in the ring buffer */
	MT_DROP_MAP_FULL,    /* a new process could not be added: it is not traced */
	MT_DROP_PY_SAMPLE,   /* --python: an RSS change's stack did not fit in the ring buffer */
	MT_DROP_PY_CODE,     /* --python: a code object's names did not fit in the ring buffer */
	MT_DROP_STACK,	     /* --stacks: a sampled stack did not fit in the ring buffer */
	MT_DROP_NR,
};

#endif /* MEMTRACE_H */
