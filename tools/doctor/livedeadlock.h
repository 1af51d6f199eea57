/*
 * livedeadlock.h — `conlab deadlock [options] -- CMD`: run a command under the recorder and
 * catch deadlocks as they happen (a wait-for cycle through glibc mutex owners, closed by a
 * thread going to sleep; or every thread blocked for --stall seconds), reported at once with
 * the hung-process doctor while the process is alive; and with --locks, the ones that could
 * happen (lock-order inversions from the lock uprobes, see lockorder.h).
 */
#ifndef CONLAB_LIVEDEADLOCK_H
#define CONLAB_LIVEDEADLOCK_H

/* argv as given to `conlab deadlock`; returns the exit status (0 none, 1 found, 2 error). */
int deadlock_live(int argc, char **argv);

#endif
