/*
 * unwind.h — a thread's user stack from registers read elsewhere (tools/doctor/taskregs.h, or
 * PTRACE_GETREGS of a stopped thread): libdwfl with caller-supplied thread callbacks
 * (dwfl_attach_state), .eh_frame/.debug_frame CFI, and the process's memory read with
 * process_vm_readv, a page at a time, kept for the walk of one thread.
 */
#ifndef CONLAB_UNWIND_H
#define CONLAB_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "doctor/taskregs.h"

struct unwinder;

struct unwind_stats {
	uint64_t mem_ns;	/* in process_vm_readv */
	uint64_t unwind_ns;	/* walking, memory reads excluded */
	size_t mem_pages;	/* pages read */
};

/* An unwinder for pid's threads: NULL with a one-line reason in err. */
struct unwinder *unwinder_new(pid_t pid, char *err, size_t errlen);
void unwinder_free(struct unwinder *u);

/* Walk t from its registers: frames into pcs[] (retaddr[i]: 1 when pcs[i] is a return
 * address), at most max. Returns the number of frames; *err is set (static or libdwfl's
 * text) when there is none. */
size_t unwinder_walk(struct unwinder *u, const struct task_regs *t, uint64_t *pcs,
		     uint8_t *retaddr, size_t max, const char **err);

const struct unwind_stats *unwinder_stats(const struct unwinder *u);

#endif
