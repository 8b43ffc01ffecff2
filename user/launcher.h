/* SPDX-License-Identifier: GPL-2.0 */
/*
 * COMMAND mode: the child is forked early and waits on a pipe until it is in the traced set;
 * then it drops to the invoking user's identity and execs, so tracing starts at its first
 * instruction and it never runs as root by accident.
 */
#ifndef MT_LAUNCHER_H
#define MT_LAUNCHER_H

#include <stdbool.h>
#include <sys/types.h>

struct mt_launcher {
	pid_t pid;
	int go_fd;   /* write end: one byte releases the child */
	int exec_fd; /* read end: closed on a successful exec, else carries errno */
	uid_t uid;
	gid_t gid;
	bool change_identity;
	char user_name[64];
};

/*
 * Work out who the command runs as (-u USER; else SUDO_UID/SUDO_GID when run through sudo;
 * else the current user) and fork the waiting child. On failure prints one error line and
 * returns -2 for a bad -u (a usage error) or -1 otherwise.
 */
int launcher_spawn(struct mt_launcher *l, char **argv, const char *user);
/*
 * Let the child exec. Returns 0 once the exec succeeded, or the errno of the failed
 * exec or identity change (the child then exits 127/126 on its own).
 */
int launcher_release(struct mt_launcher *l);
/* The tracer could not start: the child exits without running anything and is reaped. */
void launcher_abort(struct mt_launcher *l);

#endif
