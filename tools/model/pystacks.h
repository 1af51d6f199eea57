/*
 * pystacks.h — Python stacks in the model: the EV_PY_STACK of a blocking switch-out becomes the
 * wait's stack, the native frames the kernel saw and then the Python frames (innermost first):
 * the interpreter's C frames inside the wait, then the Python code that made it. Every report
 * that shows a wait's caller (contention callers, io's blocking call, the deadlock report) names
 * the Python function and line without knowing Python.
 *
 * A Python frame is given a made-up pc, PYPC_TAG | its index in the model's frame table, that
 * no machine code can have (non-canonical on x86-64); procsyms teaches each process's
 * symbolizer what those pcs are (function, file, line, module "python"). The merged stacks get
 * ids from PY_STACK_ID_BASE, above any id of the kernel's stack map.
 */
#ifndef CONLAB_PYSTACKS_H
#define CONLAB_PYSTACKS_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define PYPC_TAG 0x7e00000000000000ull
#define PY_STACK_ID_BASE 0x40000000

struct model;
struct symbolizer;

struct m_pyframe {
	uint32_t pid;
	uint64_t code, prev_instr;
	char *qualname, *file;	/* NULL: not resolved (the process was gone) */
	int line;
};

/* Where a thread took the two locks of a lock-order edge (EV_LOCK_PY), innermost first. */
struct m_lock_sites {
	const struct m_pyframe *from[LOCK_PY_FRAMES], *to[LOCK_PY_FRAMES];
	uint32_t nfrom, nto;
};

/* EV_PY_STACK: the thread's current wait, begun at h->ts, gets the merged stack. */
void model_py_stack(struct model *m, const struct ev_hdr *h);
/*
 * What a wait on a Python Lock (a sem_t) waits for when its innermost Python frame is threading's
 * own waiting code, fixed by the standard library: Condition.wait sleeps on a fresh waiter Lock
 * until notify() releases it (WK_CONDVAR; Event, Semaphore, Barrier and queue.Queue wait there
 * too), Thread._wait_for_tstate_lock on the joined thread's tstate Lock, which the thread
 * releases as it ends (WK_JOIN); a ThreadPoolExecutor's or ThreadPool's worker (or a Pool's
 * handler thread) sleeps in a queue.SimpleQueue's get() on the queue's Lock until something is
 * put (WK_CONDVAR). 0 for any other frame. The model gives such a wait that kind with m_wait.py
 * set.
 */
int py_wait_kind_of_frame(const char *qualname, const char *file);
/* The file is part of the standard library (threading.py, queue.py, multiprocessing/): under
 * a lib/python3.x directory, not in site- or dist-packages. */
int py_stdlib_file(const char *file);
/* Where a threading wait with this (merged) stack is made: the made-up pc (PYPC_TAG | frame) of
 * the first frame from the waiting one down that is not a method of threading's Condition or
 * Thread (Queue.get, Event.wait, the program's own line, an executor's worker), 0 when the stack
 * has none or it was not named. */
uint64_t model_py_wait_site(const struct model *m, int32_t stack_id);
/* EV_META_PY_FRAME */
void model_py_frame(struct model *m, const struct ev_hdr *h);
/* EV_META_SYNC_NAME: a Python Lock's name at its futex address. */
void model_py_sync_name(struct model *m, const struct ev_hdr *h);
/* The name and type of pid's sync object at futex address addr, NULL when none was read. */
const char *model_sync_name(const struct model *m, uint32_t pid, uint64_t addr, const char **type);
/* EV_LOCK_PY */
void model_lock_py(struct model *m, const struct ev_hdr *h);
/* The Python frames of thread tid's edge from -> to (the first record of it): 0, or -1 when
 * none was recorded (not a Python thread, or no Python stacks in the recording). */
int model_lock_sites(const struct model *m, uint32_t tid, uint64_t from, uint64_t to,
		     struct m_lock_sites *out);
/* Build the merged stacks (the native ones are known by now). */
void model_py_finish(struct model *m);
/* Teach pid's symbolizer the pcs of its Python frames. */
void model_py_symbols(const struct model *m, uint32_t pid, struct symbolizer *s);
/* The Python frame of a made-up pc, NULL for a real one. */
const struct m_pyframe *model_py_pc(const struct model *m, uint64_t pc);
/* "Barrier._wait (threading.py:725)" after prefix: the line of a made-up pc, as the reports
 * name a Python wait site; 0, or -1 (buf untouched) when pc is no named Python frame's. */
int model_py_site_name(const struct model *m, uint64_t pc, const char *prefix, char *buf,
		       size_t n);
void model_py_free(struct model *m);

#endif
