// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "report.h"
#include "units.h"

static void describe_end(const struct mt_root *r, char *buf, size_t len)
{
	if (!r->exited) {
		snprintf(buf, len, "still running when tracing stopped");
	} else if (WIFSIGNALED(r->exit_status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(r->exit_status));

		snprintf(buf, len, "killed by SIG%s (status %d)", abbrev ? abbrev : "?",
			 128 + WTERMSIG(r->exit_status));
	} else {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(r->exit_status));
	}
}

/* CPU time of a process still running, from /proc (clock ticks). */
static void cpu_from_proc(struct mt_root *r)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", r->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		/* after "pid (comm)": state is field 3; utime 14, stime 15 */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) == 2) {
			long hz = sysconf(_SC_CLK_TCK);

			r->utime_ns = utime * (1000000000ULL / (unsigned long long)hz);
			r->stime_ns = stime * (1000000000ULL / (unsigned long long)hz);
			r->cpu_known = true;
		}
	}
	fclose(f);
}

void report_summary(const struct mt_sampler *s, const struct mt_writer *w,
		    const struct mt_report_totals *totals, uint64_t now_mono_ns)
{
	char a[32], b[32], c[32], d[32], end[96];

	if (mt_quiet)
		return;
	for (size_t i = 0; i < s->nroots; i++) {
		struct mt_root r = s->roots[i];
		const struct proc_stats *st = &r.stats;
		uint64_t until = r.exited && r.end_mono_ns ? r.end_mono_ns : now_mono_ns;
		uint64_t from = r.start_mono_ns ? r.start_mono_ns : until;

		if (!r.exited && !r.cpu_known)
			cpu_from_proc(&r);
		describe_end(&r, end, sizeof(end));
		mt_info("memtrace-bpf: %s (pid %u, %.16s): %s", r.label, r.pid, r.comm, end);
		if (r.cpu_known)
			mt_info("  elapsed %s, user %s, sys %s",
				mt_format_duration(until - from, a, sizeof(a)),
				mt_format_duration(r.utime_ns, b, sizeof(b)),
				mt_format_duration(r.stime_ns, c, sizeof(c)));
		else
			mt_info("  elapsed %s", mt_format_duration(until - from, a, sizeof(a)));
		mt_info("  peak RSS %s (anon %s, file %s, shmem %s); RSS at end %s",
			mt_format_size(st->peak_rss_bytes, a, sizeof(a)),
			mt_format_size(st->peak_anon_bytes, b, sizeof(b)),
			mt_format_size(st->peak_file_bytes, c, sizeof(c)),
			mt_format_size(st->peak_shmem_bytes, d, sizeof(d)),
			mt_format_size(st->file_bytes + st->anon_bytes + st->shmem_bytes, end,
				       sizeof(end)));
		mt_info("  page faults %llu, pages allocated %llu (%s)",
			(unsigned long long)st->faults, (unsigned long long)st->pages_alloc,
			mt_format_size(st->pages_alloc * (uint64_t)sysconf(_SC_PAGESIZE), a,
				       sizeof(a)));
		if (r.descendants)
			mt_info("  descendants traced: %u; largest peak %s (pid %u, %.16s)",
				r.descendants, mt_format_size(r.top_child_peak, a, sizeof(a)),
				r.top_child_pid, r.top_child_comm);
	}

	uint64_t lost = totals->drops[MT_DROP_RINGBUF] + totals->drops[MT_DROP_MAP_FULL] +
			totals->unexplained_exits;
	mt_info("  %llu rows written to %s; events lost: %s", (unsigned long long)w->rows,
		w->path, lost ? "" : "none");
	if (totals->drops[MT_DROP_RINGBUF])
		mt_info("    %llu fork/exec/exit records did not fit in the ring buffer (their rows "
			"came from the map, later)",
			(unsigned long long)totals->drops[MT_DROP_RINGBUF]);
	if (totals->drops[MT_DROP_MAP_FULL])
		mt_info("    %llu new processes were not traced: the process map was full",
			(unsigned long long)totals->drops[MT_DROP_MAP_FULL]);
	if (totals->unexplained_exits)
		mt_info("    %llu processes vanished without an exit record",
			(unsigned long long)totals->unexplained_exits);
	if (totals->stop_reason)
		mt_info("  tracing stopped early: %s", totals->stop_reason);
}
