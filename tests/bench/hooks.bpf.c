// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hooks.bpf.c — the scheduler tracepoints conlab's probes hook, each with a program that does
 * nothing: what attaching there costs before a probe does any work, the floor under any
 * recording mode (tests/bench/record.sh, loaded by hooks.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* A program on tracepoint tp that returns at once. */
#define EMPTY(tp)				\
	SEC("tp_btf/" #tp)			\
	int BPF_PROG(empty_##tp)		\
	{					\
		return 0;			\
	}

EMPTY(sched_switch)
EMPTY(sched_waking)
EMPTY(sched_wakeup)
EMPTY(sched_wakeup_new)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
