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

#include <sys/types.h>

struct py_reader;
struct waitgraph;

/* Resolve the waits of pid's threads in g with the Python threads read in r: object names,
 * types, kinds and owners are rewritten where the Python objects say more. */
void pylocks_resolve(struct py_reader *r, struct waitgraph *g, pid_t pid);

/* The file is part of the standard library (threading.py, queue.py, multiprocessing/). */
int pylocks_stdlib_file(const char *file);

#endif
