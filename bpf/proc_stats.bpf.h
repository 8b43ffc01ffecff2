/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-process entries: a process is traced while it has one (procs, keyed by tgid), every
 * hook that learns something about it writes that into its entry in place, and user space
 * reads the entries through the map iterator (iterators.bpf.h). RSS goes in whole, never as a
 * delta, with its peak.
 */
#ifndef PROC_STATS_BPF_H
#define PROC_STATS_BPF_H

/*
 * bpf_map_update_elem() returns -errno; vmlinux.h comes from BTF, which has no macros, so the
 * errno values compared against are spelled out here, once.
 */
#define MT_EEXIST 17

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768); /* resized by the loader */
	__type(key, __u32);	    /* tgid */
	__type(value, struct proc_stats);
} procs SEC(".maps");

/* All three RSS counters at once, and the peak with its split. */
static __always_inline void set_rss(struct proc_stats *s, __u64 file, __u64 anon, __u64 shmem)
{
	__u64 rss = file + anon + shmem;

	s->gen++;
	s->file_bytes = file;
	s->anon_bytes = anon;
	s->shmem_bytes = shmem;
	if (rss > s->peak_rss_bytes) {
		s->peak_rss_bytes = rss;
		s->peak_file_bytes = file;
		s->peak_anon_bytes = anon;
		s->peak_shmem_bytes = shmem;
	}
}

/*
 * All three counters re-read, not a delta, so a missed event cannot skew later values. The
 * cold paths (fork, exec, exit, OOM, seeding): mm read with BPF_CORE_READ (see
 * mm_counter_pages_read); rss_stat reads its trusted mm directly (rss_changed).
 */
static __always_inline void account_rss_read(struct proc_stats *s, struct mm_struct *mm)
{
	set_rss(s, (__u64)mm_counter_pages_read(mm, MT_MM_FILEPAGES) << page_shift,
		(__u64)mm_counter_pages_read(mm, MT_MM_ANONPAGES) << page_shift,
		(__u64)mm_counter_pages_read(mm, MT_MM_SHMEMPAGES) << page_shift);
}

#endif /* PROC_STATS_BPF_H */
