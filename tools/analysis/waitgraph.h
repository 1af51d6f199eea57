/*
 * waitgraph.h — the wait-for graph of a set of processes and what is stuck in it.
 *
 * Pure data and analysis: no /proc, no ptrace, no BPF. A source (the hung-process snapshot,
 * or live BPF events) fills threads, objects and processes; waitgraph_analyze() decides which
 * threads can never wake up and why:
 *
 *	cycle          threads of one process each wait for a lock another one holds
 *	cross-process  a cycle that passes through processes (wait4 on a child, a full pipe)
 *	orphaned-owner a lock whose owner thread does not exist (exited, or left behind by fork)
 *	no-owner       condvar / semaphore / futex waits that no live thread could end
 *
 * A thread is live when it runs, sleeps with a timeout, waits for the outside world, or waits
 * on something a live thread (or process) could release. Everything else blocked is stuck.
 */
#ifndef CONLAB_WAITGRAPH_H
#define CONLAB_WAITGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum wg_state {
	WG_RUNNING,		/* on a CPU or runnable */
	WG_BLOCKED,		/* in a wait with no timeout */
	WG_TIMED,		/* in a wait or sleep that ends by itself */
	WG_EXTERNAL,		/* waiting for input from outside (socket, terminal, epoll) */
	WG_STOPPED,		/* job-control or ptrace stop: resumes when continued */
	WG_DISK,		/* uninterruptible kernel wait (I/O) */
	WG_ZOMBIE,		/* exited thread, not yet reaped */
	WG_UNKNOWN,		/* blocked somewhere we cannot classify */
	WG_NSTATES
};

enum wg_obj_kind {
	WG_MUTEX,
	WG_RWLOCK,
	WG_CONDVAR,
	WG_SEMAPHORE,
	WG_BARRIER,
	WG_JOIN,		/* pthread_join: the owner is the thread being joined */
	WG_FUTEX,		/* a futex word we could not attribute */
	WG_PIPE,		/* peers: processes holding the other end */
	WG_SOCKET,		/* a connected Unix socket; peers: processes holding its peer */
	WG_CHILD,		/* wait4/waitid; peers: the children waited for */
	WG_NKINDS
};

struct wg_frame {
	uint64_t pc;
	uint64_t off;		/* from the start of func */
	char *func;		/* NULL: unknown */
	char *file;		/* full path or NULL */
	char *module;		/* basename of the ELF file or NULL */
	int line;		/* 0: unknown */
	int in_main;		/* in the program itself, not in a library */
};

/* A frame of the language the program is written in (Python), innermost first. */
struct wg_langframe {
	char *func;		/* qualified name: "Account.transfer" */
	char *file;
	int line;		/* 0: unknown */
	int entry;		/* the first Python frame run by its native eval-loop frame */
};

struct wg_thread {
	pid_t tid, pid;
	char comm[16];
	enum wg_state state;
	int obj;		/* index in objects of what it waits on, -1 for none */
	char *wait_desc;	/* the raw wait as the source saw it: "futex(0x..., WAIT_PRIVATE, 2)" */
	struct wg_frame *stack;
	size_t nstack;
	char *stack_err;	/* why there is no stack, or NULL */
	uint64_t stop_ns;	/* how long the source stopped it to take the stack */
	char *name;		/* the program's own name for it (threading's), NULL: comm */
	struct wg_langframe *lang;	/* Python frames, innermost first */
	size_t nlang;
	int lang_wait;		/* index in lang of the frame that made the wait, -1 */

	/* filled by waitgraph_analyze() */
	int stuck;
	int finding;		/* index of the finding it belongs to, -1 */
};

struct wg_object {
	uint64_t addr;		/* futex word or object start; inode for pipes, sockets; pid for
				 * children */
	pid_t pid;		/* address space the address belongs to */
	enum wg_obj_kind kind;
	pid_t owner;		/* holder tid (mutex, rwlock writer), joined tid; 0: none/unknown */
	pid_t *peers;		/* wg_kind_has_peers: the processes that could end the wait */
	size_t npeers;
	int peers_external;	/* someone outside the snapshot could end it too */
	int shared;		/* process-shared: threads of every process may wake it */
	int64_t value;		/* semaphore count, futex word; -1 unknown */
	char *name;		/* "fork_m[3]", "<heap 0x55...>", "pipe:[1234]" */
	char *note;		/* extra words: "in the parent: owner tid 812 is log-holder" */
	pid_t owner_elsewhere;	/* pid of another process where the owner tid lives, 0 */
	char *type;		/* the language's type ("Lock", "Queue"), NULL: a C object */
	char *expr;		/* the waiting frame's own expression for it when not name */
	char *held_as;		/* the holder's own name for it ("src.lock") */
	char *held_at;		/* where the holder took it: "bank.py:14 in transfer" */
	int held_probe;		/* the owner was seen taking it by the lock probes (--locks) */
};

/* An asyncio task and the chain of coroutines it is suspended in. */
struct wg_task {
	char *name;		/* "Task-1", or the name it was given */
	const char *state;	/* "pending", "cancelled", "finished", "running" */
	char *awaits;		/* what the innermost coroutine awaits: "Future", NULL */
	struct wg_langframe *chain;	/* the task's coroutine first, then what it awaits */
	size_t nchain;
};

struct wg_process {
	pid_t pid, ppid;
	char comm[16];
	char *exe;
	char *runtime;		/* "CPython 3.11.2" when its threads were read as Python */
	struct wg_task *tasks;	/* its asyncio tasks */
	size_t ntasks;
	char *tasks_note;	/* what could not be read of them, NULL */
	/* its asyncio event loop, read from the thread running it (tid 0: none found): what
	 * could wake it, callbacks ready to run, timers scheduled, file descriptors watched (its
	 * own wakeup socket among them); -1 unreadable. stalled, by waitgraph_analyze(): nothing
	 * can wake it and a task is pending, which then waits for ever */
	/* asyncio's selector loops always watch one descriptor of their own: the socket that
	 * call_soon_threadsafe() and signal handlers write to wake them */
#define WG_LOOP_OWN_FDS 1
	struct wg_loop {
		pid_t tid;
		int64_t ready, scheduled, fds;
		int stalled;
	} loop;
};

enum wg_finding_kind {
	WG_F_CYCLE,
	WG_F_CROSS_PROCESS,
	WG_F_ORPHANED_OWNER,
	WG_F_NO_OWNER,
};

struct wg_finding {
	enum wg_finding_kind kind;
	int *threads;		/* indices in cycle order: threads[i] waits on objects[i] */
	size_t nthreads;
	int *objects;		/* distinct objects; for cycles objects[i] belongs to threads[i] */
	size_t nobjects;
	int *behind;		/* other stuck threads whose waits lead here */
	size_t nbehind;
	pid_t *pids;		/* processes the finding spans, in order */
	size_t npids;
};

struct waitgraph {
	struct wg_thread *threads;
	size_t nthreads, cap_threads;
	struct wg_object *objects;
	size_t nobjects, cap_objects;
	struct wg_process *procs;
	size_t nprocs, cap_procs;

	/* filled by waitgraph_analyze() */
	struct wg_finding *findings;
	size_t nfindings, cap_findings;
	size_t nstuck;
};

void waitgraph_init(struct waitgraph *g);
void waitgraph_free(struct waitgraph *g);

/* Adders copy strings; they return the new element's index. */
int wg_add_process(struct waitgraph *g, pid_t pid, pid_t ppid, const char *comm, const char *exe);
int wg_add_thread(struct waitgraph *g, pid_t tid, pid_t pid, const char *comm, enum wg_state st);
/* The object (pid, kind, addr), created on first use: waiters of one lock share it. */
int wg_object(struct waitgraph *g, pid_t pid, enum wg_obj_kind kind, uint64_t addr);
void wg_add_peer(struct wg_object *o, pid_t pid);
void wg_set_str(char **dst, const char *s);
/* Thread index by tid, -1 when absent. */
int wg_find_thread(const struct waitgraph *g, pid_t tid);
int wg_find_process(const struct waitgraph *g, pid_t pid);

/* Decide liveness, the findings and which asyncio loops are stalled. Idempotent; returns the
 * number of findings. */
size_t waitgraph_analyze(struct waitgraph *g);

const char *wg_state_name(enum wg_state s);
const char *wg_kind_name(enum wg_obj_kind k);
const char *wg_finding_name(enum wg_finding_kind k);
/* Kinds with a single owner thread whose release ends the wait. */
int wg_kind_has_owner(enum wg_obj_kind k);
/* Kinds any thread of their peer processes may end (pipes, sockets, children). */
int wg_kind_has_peers(enum wg_obj_kind k);

#endif
