// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stage.bpf.c — the flush of this CPU's record stages (common.bpf.h) into the ring buffer.
 *
 * Never attached: user space runs it on each CPU at every poll (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU, tools/capture/source.c), so that the records of a CPU that went quiet
 * do not wait in its stage. It returns how many stages a probe was writing when it ran: those
 * keep their records until the next poll. It runs only where stage_pending says a probe has
 * staged something since.
 */
#include "common.bpf.h"

static __always_inline int flush_one(__u32 k)
{
	struct stage *st = stage_try(k);

	if (!st)
		return 1;	/* a probe is writing into it */
	stage_flush_claimed(st);
	stage_release(st);
	return 0;
}

SEC("raw_tp")
int stage_flush(void *ctx)
{
	struct stage_flag *f = stage_flag_here();
	int busy;

	if (f)
		f->pending = 0;
	busy = flush_one(0) + flush_one(1) + flush_one(2) + flush_one(3);
	if (f && busy)
		f->pending = 1;	/* the next poll tries again */
	return busy;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
