/* procdir.c — the numbered entries of /proc (see procdir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/procdir.h"

static int each_number(const char *dir, proc_id_fn fn, void *ctx)
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
		if (id > 0 && fn(ctx, id))
			break;
	}
	closedir(d);
	return 0;
}

int proc_each_pid(proc_id_fn fn, void *ctx)
{
	return each_number("/proc", fn, ctx);
}

int proc_each_tid(pid_t pid, proc_id_fn fn, void *ctx)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	return each_number(path, fn, ctx);
}
