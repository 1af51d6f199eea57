/*
 * pyasync.h — a CPython process's asyncio tasks, read from its memory: each task's name,
 * state, and the chain of coroutines it is suspended in down to what the innermost awaits.
 *
 * The tasks are asyncio.tasks._all_tasks (a WeakSet the C _asyncio module registers every
 * Task in); a suspended coroutine's frame is inside the coroutine object, and what it awaits
 * is the top of that frame's value stack (as CPython's own cr_await finds it).
 */
#ifndef CONLAB_PYASYNC_H
#define CONLAB_PYASYNC_H

#include "python/pyread.h"
#include "analysis/waitgraph.h"

#define PY_MAX_TASKS 1024
#define PY_MAX_AWAIT 32

/* Fill proc->tasks; returns the number read, 0 when asyncio is not in use. A part that
 * could not be read is said in proc->tasks_note. */
size_t py_read_tasks(struct py_reader *r, struct wg_process *proc);
/* Fill proc->loop from the thread running an asyncio event loop (BaseEventLoop._run_once on
 * its stack); tid 0 when no thread does. */
void py_read_loop(struct py_reader *r, struct wg_process *proc);

#endif
