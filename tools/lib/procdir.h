/*
 * procdir.h — the numbered entries of /proc: every process on the system, every thread of one
 * process. One walk for the recorder (-a, and a process's threads at attach), the doctor's
 * snapshot and register reader, and the lab runner's sweeps.
 */
#ifndef CONLAB_PROCDIR_H
#define CONLAB_PROCDIR_H

#include <sys/types.h>

/* Called with each id; a non-zero return stops the walk. */
typedef int (*proc_id_fn)(void *ctx, pid_t id);

/* Each process on the system. 0, or -errno when /proc cannot be read. */
int proc_each_pid(proc_id_fn fn, void *ctx);
/* Called with each thread of a process and the process; a non-zero return stops the walk. */
typedef int (*proc_tid_fn)(void *ctx, pid_t pid, pid_t tid);
/* Each thread of pid (/proc/PID/task). 0, or -errno (ESRCH-like: the process is gone). */
int proc_each_tid(pid_t pid, proc_tid_fn fn, void *ctx);

/* What /proc/PID/stat says of a process (fields 3 to 6 and 9, and the name). */
struct proc_stat {
	char state;		/* R, S, D, Z, T, ... */
	pid_t ppid, pgrp, session;
	unsigned long flags;	/* PF_*: PF_KTHREAD for a kernel thread */
	char comm[32];
};

/* 0, or -1 when the process is gone (or its stat cannot be read). */
int proc_read_stat(pid_t pid, struct proc_stat *st);

#endif
