/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * taskregs_rec.h — one record per thread from the doctor's task iterator (bpf/taskregs.bpf.c):
 * the user registers the kernel saved when the thread entered it, and what says whether the
 * thread has run since (its context-switch counts). Fixed-width fields, largest first.
 */
#ifndef CONLAB_TASKREGS_REC_H
#define CONLAB_TASKREGS_REC_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* x86-64 DWARF register numbers: rax rdx rcx rbx rsi rdi rbp rsp r8-r15, 16 = return address */
#define TASKREGS_NREGS 17

struct taskregs_rec {
	__u64 regs[TASKREGS_NREGS];	/* DWARF order; regs[16] is the user pc */
	__u64 orig_ax;			/* syscall number, or -1 outside a syscall */
	__u64 nvcsw, nivcsw;		/* voluntary and involuntary context switches */
	__u32 tid, tgid;
	__u32 state;			/* task->__state: 0 runnable, else why it sleeps */
	__u32 on_cpu;
	__u32 exit_state;
	__u32 pad;
};

#endif
