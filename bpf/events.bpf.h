/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What leaves the kernel one record at a time: the rare events (fork, exec, exit, OOM kill,
 * limit crossed) through a ring buffer, and a per-CPU count of every record or entry that
 * could not be made, so that user space reports what was lost.
 */
#ifndef EVENTS_BPF_H
#define EVENTS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &what);

	if (n)
		*n += 1;
}

/*
 * Records are few (fork, exec, exit) and user space drains the ring at every interval, so
 * they do not wake it (a wake-up costs ~16 us against ~0.8 us) unless the ring is half full
 * or the record is one a person waits for (a limit crossed).
 */
static __always_inline __u64 wakeup_flags(bool urgent)
{
	if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > ringbuf_bytes / 2)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline bool emit_event(__u32 type, __u32 pid, const struct proc_stats *s,
				       __u32 signal, __u32 ev_flags, bool urgent)
{
	struct mt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(MT_DROP_RINGBUF);
		return false;
	}
	e->type = type;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->signal = signal;
	e->ev_flags = ev_flags;
	__builtin_memcpy(&e->stats, s, sizeof(*s));
	bpf_ringbuf_submit(e, wakeup_flags(urgent));
	return true;
}

static __always_inline bool emit(__u32 type, __u32 pid, const struct proc_stats *s)
{
	return emit_event(type, pid, s, 0, 0, false);
}

#endif /* EVENTS_BPF_H */
