/* target.c — start the traced command, as the invoking user; check PIDs. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/sandbox.h"
#include "capture/target.h"
#include "lib/util.h"

static int env_id(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	n = strtol(v, &end, 10);
	return *end || n < 0 || n > 0x7fffffff ? -1 : (int)n;
}

void invoking_user(int *uid, int *gid)
{
	*uid = env_id("SUDO_UID");
	*gid = env_id("SUDO_GID");
	if (*uid < 0 || *gid < 0 || geteuid() != 0)
		*uid = *gid = -1;
}

/* In the child: drop to the invoking user before exec, so that `sudo conlab record -- make`
 * never runs make as root by accident. */
static int drop_privileges(int uid, int gid)
{
	if (uid < 0)
		return 0;
	if (setgroups(0, NULL) && errno != EPERM)
		return -1;
	if (setgid(gid) || setuid(uid))
		return -1;
	if (setuid(0) == 0)	/* must not be able to regain root */
		return -1;
	return 0;
}

int target_spawn(struct target_cmd *t, char **argv, const char *sandbox)
{
	struct sandbox sb;
	char err[256];
	int go[2], er[2];
	pid_t pid;

	memset(t, 0, sizeof(*t));
	invoking_user(&t->uid, &t->gid);
	if (sandbox && sandbox_spec_parse(&sb, sandbox, err, sizeof(err)))
		return fail("%s", err);
	if (pipe2(go, O_CLOEXEC) || pipe2(er, O_CLOEXEC))
		return fail("failed to create pipes: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail("failed to fork: %s", strerror(errno));
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(er[0]);
		/* die with conlab if it dies before releasing us */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		prctl(PR_SET_PDEATHSIG, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (sandbox ? sandbox_enter(&sb) : drop_privileges(t->uid, t->gid)) {
			e = errno ? errno : EPERM;
			if (write(er[1], &e, sizeof(e)) < 0)
				_exit(126);
			_exit(126);
		}
		/* stop at the exec so the program's maps can be read before it runs: a short
		 * program may be gone before the first poll. Without ptrace, say so and go on. */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
			e = -1;
			if (write(er[1], &e, sizeof(e)) < 0)
				_exit(126);
		}
		execvp(argv[0], argv);
		e = errno;
		if (write(er[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(e == ENOENT ? 127 : 126);
	}
	close(go[0]);
	close(er[1]);
	t->pid = pid;
	t->go_fd = go[1];
	t->err_fd = er[0];
	return 0;
}

int target_release(struct target_cmd *t, const char *argv0)
{
	int e = 0;
	ssize_t r;

	if (write(t->go_fd, "g", 1) != 1)
		return fail("failed to start %s: %s", argv0, strerror(errno)), ECHILD;
	close(t->go_fd);
	t->go_fd = -1;
	t->exec_stop = 1;
	for (;;) {
		do
			r = read(t->err_fd, &e, sizeof(e));
		while (r < 0 && errno == EINTR);
		if (r != sizeof(e) || e != -1)
			break;
		t->exec_stop = 0;	/* PTRACE_TRACEME refused: no stop at the exec */
		e = 0;
	}
	close(t->err_fd);
	t->err_fd = -1;
	if (r == sizeof(e) && e) {
		t->exec_stop = 0;
		if (e == ENOENT)
			errmsg("%s: command not found", argv0);
		else
			errmsg("cannot run %s: %s", argv0, strerror(e));
		return e;
	}
	return 0;
}

int target_exec_stopped(struct target_cmd *t, int *status)
{
	int st;

	if (!t->exec_stop)
		return 0;
	t->exec_stop = 0;
	while (waitpid(t->pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return 0;
	if (!WIFSTOPPED(st)) {
		*status = st;	/* gone already: the caller must not wait for it again */
		return -1;
	}
	return 1;
}

void target_exec_continue(struct target_cmd *t)
{
	ptrace(PTRACE_DETACH, t->pid, NULL, NULL);
}

int pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}
