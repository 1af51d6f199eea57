/*
 * pylocks.h — the Python objects a CPython process's threads wait on: which object, named by
 * the expression that reaches it from the waiting frame ("dst.lock"), its Python type, and its
 * holder where a snapshot can know it exactly:
 *
 *	RLock		its owner field (a pthread_t: the holder's thread state)
 *	Lock in `with`	the bound __exit__ of the lock on the holder's frame value stack
 *	Thread.join()	the joined Thread's _tstate_lock is the lock waited on
 *
 * A Lock taken with a bare acquire() leaves no trace of its holder in memory: it is said so.
 * 3.11 (Debian's build) makes a threading.Lock a POSIX semaphore, so the futex a waiter
 * sleeps on is the lock object's lock_lock pointer: that is how a wait maps to its object.
 */
#ifndef CONLAB_PYLOCKS_H
#define CONLAB_PYLOCKS_H

#include <stdint.h>
#include <sys/types.h>

struct py_reader;
struct waitgraph;

/*
 * Owners known from outside memory: `conlab deadlock --locks -- CMD` sees every acquire and
 * release of a Lock (its semaphore) and knows the thread holding one taken with a bare
 * acquire(). owner() returns that tid for the semaphore sem of pid, 0 when not known.
 */
struct pylock_owners {
	pid_t (*owner)(void *ctx, pid_t pid, uint64_t sem);
	void *ctx;
};

/* Resolve the waits of pid's threads in g with the Python threads read in r: object names,
 * types, kinds and owners are rewritten where the Python objects say more. owners may be
 * NULL. */
void pylocks_resolve(struct py_reader *r, struct waitgraph *g, pid_t pid,
		     const struct pylock_owners *owners);

/* The name the main module reaches the Lock or RLock whose semaphore is sem by ("lock_a",
 * "alice.lock": a global or one step inside one), and its type ("Lock"); a multiprocessing
 * lock by its own name ("lock", not "lock._semlock"), type "multiprocessing". 0, or -1 when
 * none reaches it. For locks no thread waits on (a potential deadlock's), while the process
 * lives. */
int pylocks_name_sem(struct py_reader *r, uint64_t sem, char *out, size_t n, const char **type);

/* A multiprocessing lock this process holds: its copy of the _multiprocessing.SemLock whose
 * semaphore is sem (at this process's address of it), reached from a global of the main
 * module or a frame's local, says it was acquired here (*count times, not released) and by
 * which thread (last_tid). That thread's tid and the program's name for the lock, or 0. */
pid_t pylocks_semlock_holder(struct py_reader *r, uint64_t sem, char *name, size_t n,
			     int *count);

#endif
