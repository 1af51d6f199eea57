// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * futex.bpf.c — every futex call of a traced thread: op, address, value, timeout or not,
 * return value and time asleep, one record at return.
 *
 * Only the exit tracepoints: the call's arguments are still in the thread's saved registers at
 * return, and the time it slept comes from the switch-out probe (futex_note_sleep in
 * common.bpf.h), so an entry probe, which ran on every futex call for a timestamp (140 ns a
 * call on the ping-pong), is not needed. A call that never slept gets duration 0; one that
 * slept gets the time from its first sleep to its return, flagged FUTEXF_SLEPT.
 *
 * Per-syscall tracepoints (syscalls/sys_exit_futex*) rather than raw_tp/sys_exit: the latter
 * runs on every syscall of every process (+40 ns each, docs/performance.md).
 */
#include "common.bpf.h"
#include "syscalls.h"

/* The call's arguments, from the registers saved at syscall entry (x86-64: di si dx r10 r8). */
static __always_inline void futex_args(struct ev_futex *e, __u32 sys, long nr)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 a0 = regs->di, a1 = regs->si;
	__u64 a2 = regs->dx, a3 = regs->r10;

	e->uaddr = a0;
	switch (sys) {
	case FUTEX_SYS_FUTEX:	/* futex(uaddr, op, val, timeout or val2, ...) */
		e->op = a1;
		e->val = a2;
		break;
	case FUTEX_SYS_WAIT:	/* futex_wait(uaddr, val, mask, flags, timeout, clockid) */
	case FUTEX_SYS_WAKE:	/* futex_wake(uaddr, mask, nr, flags) */
		e->op = a3;
		e->val = sys == FUTEX_SYS_WAIT ? a1 : a2;
		break;
	default:		/* futex_waitv(waiters, nr, flags, timeout, clockid): the first */
		e->uaddr = 0;
		bpf_probe_read_user(&e->uaddr, sizeof(e->uaddr), (void *)(a0 + 8));
		e->op = a2;
		e->val = a1;
	}
	if (futex_timed(nr, regs))
		e->flags |= FUTEXF_TIMEOUT;
}

static __always_inline int futex_exit(long ret, __u32 sys, long nr)
{
	__u64 id = bpf_get_current_pid_tgid(), slept = 0;
	__u32 tid = (__u32)id, slot = tid % FUTEX_SLOTS;
	struct futex_call *c;
	struct ev_futex *e;
	struct stage *st;
	int us;

	if (!tgid_traced(id >> 32))
		return 0;
	c = bpf_map_lookup_elem(&futex_inflight, &slot);
	if (c && c->ts && c->tid == tid) {
		slept = c->ts;
		c->ts = 0;
	}
	e = ev_reserve(&st, sizeof(*e), EV_FUTEX, tid);
	if (!e)
		return 0;
	e->ret = (__s32)ret;
	e->syscall = sys;
	e->flags = 0;
	e->dur = 0;
	if (slept) {
		e->dur = dur32(e->hdr.ts - slept, &us);
		e->flags = FUTEXF_SLEPT | (us ? FUTEXF_DUR_US : 0);
	}
	futex_args(e, sys, nr);
	ev_submit(st, e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int sys_exit_futex(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret, FUTEX_SYS_FUTEX, NR_FUTEX);
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int sys_exit_futex_wait(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret, FUTEX_SYS_WAIT, NR_FUTEX_WAIT);
}

SEC("tracepoint/syscalls/sys_exit_futex_wake")
int sys_exit_futex_wake(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret, FUTEX_SYS_WAKE, NR_FUTEX_WAKE);
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int sys_exit_futex_waitv(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret, FUTEX_SYS_WAITV, NR_FUTEX_WAITV);
}
