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
/* Each thread of pid (/proc/PID/task). 0, or -errno (ESRCH-like: the process is gone). */
int proc_each_tid(pid_t pid, proc_id_fn fn, void *ctx);

#endif
