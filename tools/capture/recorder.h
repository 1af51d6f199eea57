/*
 * recorder.h — run a recording: start or find the target, drain the BPF source into a trace
 * file with the metadata a report needs (tasks, memory maps, stacks, losses), stop cleanly.
 * `conlab record` is this and nothing else; the one-shot commands (contention, timeline,
 * deadlock -- CMD) record through it and then report, or watch the events as they come.
 */
#ifndef CONLAB_RECORDER_H
#define CONLAB_RECORDER_H

#include <stdint.h>
#include <sys/types.h>

#include "events.h"

struct bpf_source;
struct proc_maps;
struct trace_writer;

/*
 * A language runtime read from the traced processes' memory while they run (python/pyrecord.h
 * for CPython): the recorder knows no language, it only says when a process's maps changed,
 * when a thread appeared, when a process is gone, hands it the records its probes made
 * (EV_PY_STACK) and the sleeps (EV_SWITCH_SLEEP: what a thread waits on), and lets it write its metadata records at every poll. Each call is cheap for a
 * process that is not the runtime's.
 */
struct record_lang {
	void *(*open)(struct bpf_source *src);	/* src NULL: no stacks (--no-stacks) */
	void (*maps)(void *st, pid_t pid, const struct proc_maps *m);
	void (*thread)(void *st, pid_t pid, pid_t tid);
	void (*tick)(void *st, uint64_t now_ns, struct trace_writer *w);
	void (*event)(void *st, const struct ev_hdr *h, struct trace_writer *w);
	void (*forget)(void *st, pid_t pid);	/* exited, or exec'd (maps() follows) */
	void (*close)(void *st, struct trace_writer *w);	/* last reads, then free */
};

struct record_opts {
	const char *output;	/* trace file to write */
	double duration;	/* seconds, 0 = until the target ends or a signal */
	pid_t *pids;		/* -p */
	int npids;
	int all;		/* -a */
	char **cmd;		/* -- CMD ARGS */
	uint64_t buffer;	/* ring buffer bytes */
	int stacks;
	int status;		/* live status line on stderr */
	int verbose;
	int locks;		/* REC_LOCKS_* bits: what is recorded of glibc's lock calls */
	int locks_via;		/* REC_VIA_*: how */
	int gil;		/* GIL uprobes on the CPython interpreters traced processes map */
	int futex_calls;	/* EV_FUTEX records (also with locks, whose analysis reads them):
				 * a syscall tracepoint on every futex call */
	int no_loop_waits;	/* no EV_WAITCALL records */
	const char *sandbox;	/* the command runs in this sandbox (sandbox.h spec), or NULL */
	const struct record_lang *lang;	/* runtimes to read (Python thread names), or NULL */
	/* Live hooks (may be NULL): every record as it is drained, and every poll tick.
	 * A non-zero return stops the recording (STOP_DEADLOCK); REC_HOOK_KILLED says the hook
	 * killed the target, whose deaths are then recorded before the recording ends. */
	int (*on_event)(void *ctx, const struct ev_hdr *rec);
	int (*on_tick)(void *ctx, uint64_t now_ns);
	void *hook_ctx;
};

#define REC_HOOK_STOP 1
#define REC_HOOK_KILLED 2

#define REC_LOCKS_ORDER 0x1	/* held locks and lock-order edges (EV_LOCK_EDGE) */
#define REC_LOCKS_EVENTS 0x2	/* also one EV_LOCK record per acquire / release */
#define REC_LOCKS_OWNERS 0x4	/* semaphore owners: EV_LOCK when taken and posted (bpf/locks.bpf.c) */

#define REC_VIA_AUTO 0		/* the library where it reaches the command (preload_suits), else the uprobes */
#define REC_VIA_UPROBES 1	/* lock uprobes on the target's glibc (bpf/locks.bpf.c) */
#define REC_VIA_PRELOAD 2	/* libconlab-preload.so in a command conlab starts (preload_shm.h) */

struct record_result {
	int exit_status;	/* the command's wait status, -1 when no command or unknown */
	pid_t cmd_pid;
	uint32_t reason;	/* enum stop_reason */
	uint64_t events;	/* BPF records */
	uint64_t lost;		/* records lost in the kernel (all kinds) */
	uint64_t bytes;
	double seconds;
};

/* 0 when the recording ran (whatever the command did), -1 with a message when it could not
 * start; exec failures return -1 with res->exit_status = 127 << 8. */
int record_run(const struct record_opts *o, struct record_result *res);
/* Exit code for conlab after recording a command: the command's own. */
int record_exit_code(const struct record_result *res);

#endif
