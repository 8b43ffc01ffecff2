// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "launcher.h"
#include "log.h"

/* -u NAME or -u UID; returns 0 and fills uid/gid/name, or -1 */
static int resolve_user(const char *spec, struct mt_launcher *l)
{
	struct passwd *pw = getpwnam(spec);
	char *end;

	if (!pw) {
		errno = 0;
		unsigned long uid = strtoul(spec, &end, 10);
		if (*spec && !*end && !errno && uid < UINT_MAX)
			pw = getpwuid((uid_t)uid);
		if (!pw) {
			if (*spec && !*end && !errno && uid < UINT_MAX) {
				/* a uid with no passwd entry: its own group, no supplementary ones */
				l->uid = (uid_t)uid;
				l->gid = (gid_t)uid;
				l->user_name[0] = '\0';
				return 0;
			}
			return -1;
		}
	}
	l->uid = pw->pw_uid;
	l->gid = pw->pw_gid;
	snprintf(l->user_name, sizeof(l->user_name), "%s", pw->pw_name);
	return 0;
}

static int parse_id(const char *text, unsigned long *id)
{
	char *end;

	errno = 0;
	*id = strtoul(text, &end, 10);
	return (!*text || *end || errno || *id >= UINT_MAX) ? -1 : 0;
}

static int choose_identity(struct mt_launcher *l, const char *user)
{
	const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");
	unsigned long uid, gid;

	if (user) {
		if (resolve_user(user, l)) {
			mt_err("no such user '%s' for -u (see --help)", user);
			return -2;
		}
		l->change_identity = true;
		return 0;
	}
	if (geteuid() != 0 || !sudo_uid)
		return 0; /* run as whoever we are */
	if (parse_id(sudo_uid, &uid) || parse_id(sudo_gid ? sudo_gid : "", &gid)) {
		mt_err("SUDO_UID/SUDO_GID are not numbers ('%s'/'%s'): give -u USER to say who "
		       "runs the command",
		       sudo_uid, sudo_gid ? sudo_gid : "");
		return -1;
	}
	l->uid = (uid_t)uid;
	l->gid = (gid_t)gid;
	l->change_identity = true;
	struct passwd *pw = getpwuid(l->uid);
	snprintf(l->user_name, sizeof(l->user_name), "%s", pw ? pw->pw_name : "");
	return 0;
}

static void child_fail(int fd, int err, int status)
{
	ssize_t n = write(fd, &err, sizeof(err));

	(void)n;
	_exit(status);
}

/* The child: wait for the go byte, become the user, exec. Never returns. */
static void child_main(struct mt_launcher *l, int go_rd, int exec_wr, char **argv)
{
	sigset_t none;
	char go;

	/* the command starts with default signal handling, whatever the tracer set up */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);

	if (read(go_rd, &go, 1) != 1)
		_exit(127); /* the tracer gave up before tracing started */
	close(go_rd);

	if (l->change_identity) {
		int err = 0;

		if (l->user_name[0])
			err = initgroups(l->user_name, l->gid);
		else
			err = setgroups(0, NULL);
		if (err || setgid(l->gid) || setuid(l->uid))
			child_fail(exec_wr, errno ? errno : EPERM, 126);
		/* refuse to go on if root could be regained */
		if (l->uid != 0 && (setuid(0) == 0 || geteuid() == 0))
			child_fail(exec_wr, EPERM, 126);
	}
	execvp(argv[0], argv);
	child_fail(exec_wr, errno, errno == ENOENT ? 127 : 126);
}

int launcher_spawn(struct mt_launcher *l, char **argv, const char *user)
{
	int go[2], exec_pipe[2];

	memset(l, 0, sizeof(*l));
	l->go_fd = l->exec_fd = -1;
	int err = choose_identity(l, user);

	if (err)
		return err;
	if (pipe2(go, O_CLOEXEC) || pipe2(exec_pipe, O_CLOEXEC)) {
		mt_err("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	l->pid = fork();
	if (l->pid < 0) {
		mt_err("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (l->pid == 0) {
		close(go[1]);
		close(exec_pipe[0]);
		child_main(l, go[0], exec_pipe[1], argv);
	}
	close(go[0]);
	close(exec_pipe[1]);
	l->go_fd = go[1];
	l->exec_fd = exec_pipe[0];
	return 0;
}

int launcher_release(struct mt_launcher *l)
{
	char go = 1;
	int err = 0;
	ssize_t n;

	n = write(l->go_fd, &go, 1);
	close(l->go_fd);
	l->go_fd = -1;
	if (n != 1)
		return errno ? errno : EPIPE;
	do
		n = read(l->exec_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(l->exec_fd);
	l->exec_fd = -1;
	return n == (ssize_t)sizeof(err) ? err : 0;
}

void launcher_abort(struct mt_launcher *l)
{
	if (l->go_fd >= 0)
		close(l->go_fd);
	if (l->exec_fd >= 0)
		close(l->exec_fd);
	l->go_fd = l->exec_fd = -1;
	if (l->pid > 0)
		while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
			;
	l->pid = 0;
}
