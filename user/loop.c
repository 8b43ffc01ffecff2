// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include "exporter.h"
#include "log.h"
#include "loop.h"
#include "maptrack.h"
#include "notify.h"
#include "targets.h"

static volatile sig_atomic_t pending[NSIG];
static volatile sig_atomic_t pending_from_user[NSIG];
static volatile sig_atomic_t sigint_count;
static bool interrupted;

static const int held_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_HELD (sizeof(held_signals) / sizeof(held_signals[0]))

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	pending[sig] = 1;
	/* a terminal's Ctrl-C already reached the command (same process group): forward only
	 * what a process sent to us (kill, sudo relaying) */
	if (info->si_code <= 0)
		pending_from_user[sig] = 1;
	if (sig == SIGINT)
		sigint_count++;
}

void loop_catch_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	for (size_t i = 0; i < NR_HELD; i++)
		sigaddset(&block, held_signals[i]);
	sigprocmask(SIG_BLOCK, &block, NULL);
	for (size_t i = 0; i < NR_HELD; i++)
		sigaction(held_signals[i], &sa, NULL);
}

/* -p, -a, -G stop cleanly; COMMAND mode forwards to the command, and a second Ctrl-C stops at
 * once. Returns true if tracing must stop now. */
static bool handle_signals(struct mt_session *s, int *status)
{
	bool stop = false;

	for (size_t i = 0; i < NR_HELD; i++) {
		int sig = held_signals[i];

		if (!pending[sig])
			continue;
		pending[sig] = 0;
		interrupted = true;
		if (s->cfg.target != MT_TARGET_COMMAND || s->child.reaped) {
			stop = true;
			s->stop_reason = NULL;
			continue;
		}
		if (sig == SIGINT && sigint_count >= 2) {
			stop = true;
			*status = 128 + SIGINT;
			s->stop_reason = "a second SIGINT";
			continue;
		}
		if (pending_from_user[sig]) {
			pending_from_user[sig] = 0;
			targets_forward_signal(s, sig);
		}
	}
	return stop;
}

/* With -v, losses are told as they happen (the summary always has the totals). */
static void report_new_drops(struct mt_session *s)
{
	static const char *const what[MT_DROP_NR] = {
		[MT_DROP_RINGBUF] = "fork/exec/exit records did not fit in the ring buffer",
		[MT_DROP_MAP_FULL] = "new processes not traced: the process map is full",
		[MT_DROP_PY_SAMPLE] = "--python stacks did not fit in the ring buffer",
		[MT_DROP_PY_CODE] = "--python code objects did not fit in the ring buffer",
		[MT_DROP_STACK] = "--stacks samples did not fit in the ring buffer",
	};
	uint64_t now[MT_DROP_NR];

	if (!mt_verbose)
		return;
	bpfobj_drops(&s->bpf, now);
	for (int i = 0; i < MT_DROP_NR; i++) {
		if (now[i] > s->drops_seen[i])
			mt_debug("%llu more %s", (unsigned long long)(now[i] - s->drops_seen[i]),
				 what[i]);
		s->drops_seen[i] = now[i];
	}
}

/* The sampler is handed each map record; an entry whose process exited leaves the set. */
static void scan_record(void *ctx, uint32_t pid, const struct proc_stats *st)
{
	struct mt_session *s = ctx;

	if (sampler_scan_proc(&s->sampler, pid, st) && bpfobj_remove(&s->bpf, pid))
		mt_debug("cannot remove pid %u from the traced set", pid);
}

/* COMMAND: what a sampler polling at this tick would have read of the command's RSS. */
static void imitate_samplers(struct mt_session *s, uint64_t now)
{
	const struct mt_root *root = s->sampler.sum.nroots ? &s->sampler.sum.roots[0] : NULL;

	if (s->cfg.target != MT_TARGET_COMMAND || !root || root->exited ||
	    (root->stats.flags & MT_PROC_PRE_EXEC))
		return;
	crosscheck_tick(&s->xcheck, s->cfg.interval_ns, now - s->start_mono_ns,
			mt_rss_bytes(&root->stats));
}

/* A tick: the records, then the traced set, into rows, written out. */
static int finish_tick(struct mt_session *s, uint64_t now, bool final)
{
	int err = bpfobj_drain(&s->bpf);

	if (err < 0)
		mt_debug("ring buffer: %s", strerror(-err));
	/* --stacks: every record naming a process that left has been handled by now */
	if (s->maptrack) {
		maptrack_drain(s->maptrack);
		maptrack_forget_gone(s->maptrack);
	}
	/* a frame of the live view needs every process, not only those that changed */
	bool all = sampler_scan_begin(&s->sampler, now, final, notify_frame_due(s, now));
	err = bpfobj_for_each(&s->bpf, scan_record, s, all);
	sampler_scan_end(&s->sampler, s->bpf.entries);
	if (!final)
		imitate_samplers(s, now);
	if (err)
		mt_warn("reading the traced processes failed: %s", strerror(-err));
	report_new_drops(s);
	err = writer_flush(&s->writer);
	notify_tick(s, now, final); /* after the flush: the frame counts the rows written */
	return err;
}

/* The time series cannot be written: tracing is over, and one error line says it all. */
static int output_failed(struct mt_session *s, int err)
{
	bool stopped = targets_stop_command(s);

	mt_err("writing to %s failed: %s%s", s->writer.path, strerror(-err),
	       stopped ? "; the command was stopped" : "");
	return 1;
}

bool loop_interrupted(void)
{
	sigset_t waiting;

	if (interrupted)
		return true;
	/* held between two runs: it waits, blocked, for the next run's loop */
	if (sigpending(&waiting))
		return false;
	for (size_t i = 0; i < NR_HELD; i++)
		if (sigismember(&waiting, held_signals[i]))
			return true;
	return false;
}

int loop_run(struct mt_session *s)
{
	uint64_t interval = s->cfg.interval_ns, next_tick = s->start_mono_ns + interval;
	uint64_t deadline = s->cfg.duration_ns ? s->start_mono_ns + s->cfg.duration_ns : 0;
	sigset_t unblocked;
	int status = 0;
	bool stop = false;

	sigprocmask(SIG_SETMASK, NULL, &unblocked);
	for (size_t i = 0; i < NR_HELD; i++)
		sigdelset(&unblocked, held_signals[i]);

	while (!stop) {
		struct epoll_event evs[4];
		uint64_t now = mt_clock_ns(CLOCK_MONOTONIC), wake = next_tick;
		bool records = false, http = false;
		int timeout_ms, n;

		if (deadline && deadline < wake)
			wake = deadline;
		if (s->kill_at_ns && !s->timed_out && s->kill_at_ns < wake)
			wake = s->kill_at_ns;
		if (s->pyattach && pyattach_next_retry(s->pyattach) &&
		    pyattach_next_retry(s->pyattach) < wake)
			wake = pyattach_next_retry(s->pyattach);
		timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		n = epoll_pwait(s->epoll_fd, evs, 4, timeout_ms, &unblocked);
		for (int i = 0; i < n; i++) {
			records |= evs[i].data.u32 == MT_WAKE_RECORDS;
			http |= evs[i].data.u32 == MT_WAKE_HTTP;
		}
		now = mt_clock_ns(CLOCK_MONOTONIC);

		stop = handle_signals(s, &status);
		if (s->kill_at_ns && now >= s->kill_at_ns)
			targets_time_out(s);
		targets_reap(s);
		if (s->cfg.target == MT_TARGET_COMMAND && s->child.reaped)
			stop = true;
		if (deadline && now >= deadline) {
			stop = true;
			s->stop_reason = s->cfg.target == MT_TARGET_COMMAND && !s->child.reaped
						 ? "the -d duration ended; the command goes on "
						   "untraced"
						 : NULL;
		}
		if (stop)
			break;
		/*
		 * The kernel wakes us only when the ring buffer is half full (or for a record a
		 * person waits for): drain it now rather than at the tick, or a fork storm
		 * between two ticks would overflow it.
		 */
		if (records && now < next_tick)
			bpfobj_drain(&s->bpf);
		if (s->pyattach)
			pyattach_retry(s->pyattach, now);
		if (now >= next_tick) {
			int err = finish_tick(s, now, false);

			if (err)
				return err == -EPIPE ? 0 : output_failed(s, err);
			while (next_tick <= now)
				next_tick += interval;
			/* at every tick too: connections idle too long are closed then */
			http = true;
		}
		/* after the scan: a scrape reads the newest sums */
		if (http)
			exporter_serve(s);
		if (targets_ended(s))
			break;
	}

	int err = finish_tick(s, mt_clock_ns(CLOCK_MONOTONIC), true);
	if (err && err != -EPIPE)
		return output_failed(s, err);
	return status;
}
