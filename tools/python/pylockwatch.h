/*
 * pylockwatch.h — `conlab deadlock --locks -- CMD` on a CPython program: its Python Locks as
 * the semaphore probes see them (bpf/locks.bpf.c, owner mode).
 *
 * A 3.11 threading.Lock is a POSIX semaphore: acquire() is a sem_trywait, then a sem_wait (or a
 * sem_clockwait with a timeout) while another thread holds it; release() is a sem_post. In
 * Debian's build (LTO) these calls are inlined into the interpreter's own code, so CPython's
 * exported PyThread_acquire_lock_timed and PyThread_release_lock miss the common,
 * uncontended path: the libc probes see every one. What this module makes of them:
 *
 *	owners	LOCK_OP_SEM_TAKEN / LOCK_OP_RELEASE from the interpreter's call sites: the thread
 *		holding each Lock now, including one taken with a bare acquire(), for the live
 *		wait-for cycle and for the doctor (pylocks.h, struct pylock_owners);
 *	edges	an edge into a semaphore taken by a trywait (LEF_TO_TRY) is kept when the trywait
 *		was the interpreter's (Lock.acquire() tries first, then waits: it can block) and
 *		dropped for a C program's sem_trywait (which cannot block);
 *	names	the Python names of the locks and threads of a potential deadlock, read from the
 *		process while it lives (the main module's globals, threading's thread names).
 *
 * Only the command's own process (its pid) is followed: another process's semaphores at the
 * same addresses (a forked child's copy) are not mixed in.
 */
#ifndef CONLAB_PYLOCKWATCH_H
#define CONLAB_PYLOCKWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"
#include "analysis/lockorder.h"
#include "python/pylocks.h"

struct proc_maps;

struct pylw_owner {
	uint64_t sem;
	pid_t tid;
};

struct pylw_name {
	uint64_t key;		/* a semaphore, or a tid */
	char *name;		/* NULL: looked for, not found */
	const char *type;	/* "Lock", "RLock" (locks only) */
};

struct pylw_tid {
	pid_t tid;
	int ours;		/* a thread of the command's process */
};

struct pylw {
	pid_t pid;		/* the command's process, 0 before its exec */
	uint64_t (*text)[2];	/* the interpreter's executable mappings */
	size_t ntext;
	uint64_t maps_ns;	/* when they were read */
	struct pylw_owner *own;
	size_t nown, cap_own;
	struct pylw_name *locks, *threads;
	size_t nlocks, cap_locks, nthreads, cap_threads;
	struct pylw_tid *tids;
	size_t ntids, cap_tids;
	size_t py_edges, named_edges;	/* Python edges seen; as many when names were looked up */
	struct pylock_owners owners;	/* for the doctor: pylw_owner() */
};

void pylw_init(struct pylw *w);
void pylw_free(struct pylw *w);
/* The command's process, at its exec. */
void pylw_start(struct pylw *w, pid_t pid);

/* Is pc in the interpreter's code (python3.N or libpython3.N.so) of the command? */
int pylw_interp_site(struct pylw *w, uint64_t pc);
/* An EV_LOCK record: owners follow LOCK_OP_SEM_TAKEN and LOCK_OP_RELEASE. Returns the
 * semaphore whose owner changed, 0 when none did. */
uint64_t pylw_lock_event(struct pylw *w, const struct ev_lock *e);
/* The thread holding the Lock whose semaphore is sem, 0 when not known. */
pid_t pylw_owner(const struct pylw *w, uint64_t sem);

/* An EV_LOCK_EDGE record into e: 1 to keep it (Python edges flagged LO_PY), 0 to drop it. */
int pylw_edge(struct pylw *w, const struct ev_lock_edge *r, struct lo_edge *e);
/* The same for a recorded one (`conlab report deadlock`), by the maps the trace saved of its
 * process (NULL: none, a C edge). */
int pylw_edge_recorded(const struct proc_maps *maps, const struct ev_lock_edge *r,
		       struct lo_edge *e);

/*
 * While the process lives: look up the Python names of the locks and threads of lo's Python
 * edges from index `from` on (the new ones: named when first seen, since a program may end
 * before its inversion is searched for) and of the edges of cycles cyc (lockorder_cycles() of
 * lo: named again, as a freed Lock's address is reused). Returns how many names were found.
 */
size_t pylw_name(struct pylw *w, const struct lockorder *lo, size_t from,
		 const struct lo_cycle *cyc, size_t ncyc);
/* Has a Python edge of lo from index `from` on a lock or thread not looked up yet? */
int pylw_unnamed(const struct pylw *w, const struct lockorder *lo, size_t from);
/* Names found, NULL when none. */
const char *pylw_lock_name(const struct pylw *w, uint64_t sem, const char **type);
const char *pylw_thread_name(const struct pylw *w, pid_t tid);
/* "lock_a (Lock)", or "a Lock (semaphore 0x55..)" when no name was found. */
void pylw_lock_label(const struct pylw *w, uint64_t sem, char *buf, size_t n);
/* "abba-1 (tid 812)", or "thread 812". */
void pylw_thread_label(const struct pylw *w, pid_t tid, char *buf, size_t n);

#endif
