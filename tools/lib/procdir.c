/* procdir.c — the numbered entries of /proc (see procdir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/procdir.h"
#include "lib/util.h"

/* Each numbered entry of dir: fn(ctx, id), or tfn(ctx, pid, id) when tfn is given. */
static int each_number(const char *dir, proc_id_fn fn, proc_tid_fn tfn, pid_t pid, void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t id;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;	/* ".", "..", "self", "sys", ... */
		id = (pid_t)atoi(de->d_name);
		if (id > 0 && (tfn ? tfn(ctx, pid, id) : fn(ctx, id)))
			break;
	}
	closedir(d);
	return 0;
}

int proc_each_pid(proc_id_fn fn, void *ctx)
{
	return each_number("/proc", fn, NULL, 0, ctx);
}

int proc_each_tid(pid_t pid, proc_tid_fn fn, void *ctx)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	return each_number(path, NULL, fn, pid, ctx);
}

int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *open_paren, *close_paren;
	int ppid, pgrp, session;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* the name is between the first '(' and the last ')': it may hold both */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %c %d %d %d %*d %*d %lu", &st->state, &ppid, &pgrp, &session,
		   &st->flags) != 5)
		return -1;
	n = (size_t)(close_paren - open_paren - 1);
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, n);
	st->comm[n] = 0;
	st->ppid = ppid;
	st->pgrp = pgrp;
	st->session = session;
	return 0;
}
