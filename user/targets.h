/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What is traced, from start to end, for each of the four targets: -p PIDs, -a the whole host,
 * -G a cgroup, a COMMAND launched here (with -m, in a cgroup of its own). Each is put in the
 * traced set, watched for its end, and accounted for in the summary.
 */
#ifndef MT_TARGETS_H
#define MT_TARGETS_H

#include <stdbool.h>
#include <stdint.h>
#include "session.h"

/* Before anything is loaded: -G's cgroup resolved, -a's and -G's label. 0 or -1 (said). */
int targets_resolve(struct mt_session *s);
/*
 * COMMAND: fork the command (held before exec) and, with a limit (s->run_limit_bytes), put it in
 * a cgroup of its own. The first run's is forked before libbpf and the kernel's BTF are loaded,
 * so its pre-exec copy of this process stays small. Returns 0 or the exit status (1, 2 for a bad
 * -u), said.
 */
int targets_spawn(struct mt_session *s);
/* Tracing is on: put the target in the traced set (COMMAND: let it exec). 0 or the exit status. */
int targets_start(struct mt_session *s, uint64_t now_ns);
/* Whether the target has ended (sets s->stop_reason when that is worth saying). */
bool targets_ended(struct mt_session *s);
/* COMMAND: reap the command if it has exited (never blocks). */
void targets_reap(struct mt_session *s);
/* COMMAND: pass a signal a process sent us on to the command. */
void targets_forward_signal(struct mt_session *s, int sig);
/* COMMAND: stop the command still running (SIGTERM, SIGKILL after 2 s). Whether it had to. */
bool targets_stop_command(struct mt_session *s);
/* COMMAND: the run's time is up (--trial-timeout): kill the command and its cgroup. */
void targets_time_out(struct mt_session *s);
/*
 * Send sig to pid if it is still the process that started at start_ns (the kernel could not
 * send it from where the limit was crossed).
 */
void targets_signal(uint32_t pid, uint64_t start_ns, int sig);
/* Tracing is over: the roots' CPU time and the command's status into the summary. Returns the
 * exit status given the loop's. */
int targets_finish(struct mt_session *s, int status);
/* Undo what was set up: a command never let go, -m's cgroup (read for the summary first). Safe
 * to call again. */
void targets_release(struct mt_session *s);
/* COMMAND: the run is over and released; everything of it forgotten for the next one. */
void targets_next_run(struct mt_session *s);

#endif
