/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The map iterator that reads the traced set out every interval. It is the object's first
 * program, on purpose: libbpf loads programs in the object's order, and a kernel that refuses
 * it (this one refuses every iter/bpf_map_elem program with EPERM) then fails the load before
 * the verifier has spent time on the others, so the load without it, which follows, is the
 * only one that pays for them.
 */
#ifndef MAP_READER_BPF_H
#define MAP_READER_BPF_H

/*
 * The iterators' contexts, declared here without CO-RE: their layout is fixed by the iterator
 * ABI, and each CO-RE-relocated type costs libbpf a search of the kernel's whole BTF (~126k
 * types, about 0.7 ms) at start-up.
 */
struct mt_iter_meta {
	struct seq_file *seq;
};

struct mt_iter_map_elem {
	struct mt_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
};

/*
 * User space reads the traced set through this iterator every interval: only the entries that
 * changed since their last report cross into user space (an idle process costs one compare,
 * not a copy). gen is read before the copy, so a change made during the copy bumps it again
 * and the entry is reported once more next time; seen_gen moves only when the record went
 * out (a record that did not fit is retried in the next read).
 */
SEC("iter/bpf_map_elem")
int read_procs(struct mt_iter_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct proc_stats *s = ctx->value;
	__u32 *key = ctx->key;
	struct mt_proc_record rec;
	__u32 gen;

	if (!key || !s)
		return 0;
	gen = s->gen;
	if (report_all || gen != s->seen_gen) {
		rec.pid = *key;
		rec.pad = 0;
		__builtin_memcpy(&rec.stats, s, sizeof(rec.stats));
		/* a record that did not fit: this entry is shown again in the next read */
		if (bpf_seq_write(seq, &rec, sizeof(rec)))
			return 0;
		s->seen_gen = gen;
	}
	entries_seen++;
	return 0;
}

#endif /* MAP_READER_BPF_H */
