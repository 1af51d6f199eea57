/*
 * stackwalk.h — the user stack of every thread of a live process, with CFI (libdwfl), without
 * stopping or interrupting a thread that is asleep in the kernel.
 *
 * A sleeping thread's user registers are those saved at its entry into the kernel
 * (taskregs.h); its stack is read with process_vm_readv and unwound from them (unwind.h).
 * Then the registers are read again: a thread whose context-switch count, state, syscall,
 * stack or instruction pointer changed ran meanwhile, and its stack is read anew (a few times
 * at most) or it is reported as live, never with a stack half from one wait and half from
 * another. Running threads are reported as running, with no stack, unless the caller asks to
 * stop them (PTRACE_SEIZE + PTRACE_INTERRUPT, one at a time, detached at once); SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT are held while such a thread is stopped.
 */
#ifndef CONLAB_STACKWALK_H
#define CONLAB_STACKWALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "doctor/taskregs.h"

#define STACKWALK_MAX_FRAMES 64
#define STACKWALK_ROUNDS 4	/* readings of a thread that keeps moving before it counts as live */

enum stackwalk_status {
	SW_ASLEEP,	/* read while asleep in the kernel, unchanged before and after */
	SW_STOPPED,	/* running, stopped to be read (stop_running) */
	SW_RUNNING,	/* running (or runnable): not read */
	SW_MOVED,	/* ran while it was being read, every time: live, not read */
	SW_GONE,	/* exited meanwhile */
};

struct stackwalk_thread {
	pid_t tid;
	enum stackwalk_status status;
	const struct task_regs *regs;	/* the reading the stack belongs to; NULL: none */
	const uint64_t *pcs;
	const uint8_t *retaddr;		/* 1: pcs[i] is a return address (look up pc - 1) */
	size_t n;
	uint64_t stop_ns;		/* SW_STOPPED: how long it was stopped */
	const char *err;		/* why there is no stack (n may still be > 0) */
};

typedef void (*stackwalk_cb)(const struct stackwalk_thread *t, void *arg);

struct stackwalk_opts {
	size_t max_frames;
	int stop_running;		/* stop running threads to take their stacks */
	struct taskregs *regs;		/* the register reader (taskregs_open) */
};

struct stackwalk_stats {
	size_t threads;		/* threads reported */
	size_t failed;		/* threads read with no stack */
	size_t asleep, running, moved, stopped;
	size_t rereads;		/* threads read again because they moved */
	uint64_t total_ns;	/* the whole walk */
	uint64_t regs_ns;	/* reading registers */
	uint64_t mem_ns;	/* reading stack memory */
	uint64_t unwind_ns;	/* unwinding, memory reads excluded */
	uint64_t stop_max_ns;	/* the longest single-thread stop window (stop_running) */
	uint64_t stop_sum_ns;
	int interrupted;	/* a termination signal arrived while stopping threads */
};

/* Walk every thread of pid. 0, or -errno when the process cannot be read at all (the message
 * is in errbuf). */
int stackwalk_pid(pid_t pid, const struct stackwalk_opts *o, stackwalk_cb cb, void *arg,
		  struct stackwalk_stats *st, char *errbuf, size_t errlen);

#endif
