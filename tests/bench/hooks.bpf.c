// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hooks.bpf.c — the scheduler tracepoints conlab's probes hook, each with a program that does
 * nothing: what attaching there costs before a probe does any work, the floor under any
 * recording mode (tests/bench/record.sh, loaded by hooks.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch)
{
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(empty_waking)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(empty_wakeup)
{
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(empty_wakeup_new)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
