// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * futex.bpf.c — every futex call of a traced thread: op, address, value, timeout or not,
 * return value and duration, one record at return.
 *
 * Per-syscall tracepoints (syscalls/sys_{enter,exit}_futex*) rather than raw_tp/sys_enter:
 * the latter runs on every syscall of every process (+40 ns each, docs/design.md).
 */
#include "common.bpf.h"

static __always_inline int futex_enter(__u64 uaddr, __u32 op, __u32 val, int has_timeout,
				       __u32 sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, slot = tid % FUTEX_SLOTS;
	struct futex_call *c;

	if (!tgid_traced(id >> 32))
		return 0;
	c = bpf_map_lookup_elem(&futex_inflight, &slot);
	if (!c)
		return 0;
	if (c->ts && c->tid != tid)
		count_lost(LOST_FUTEXMAP, EV_FUTEX);	/* another thread's call is in this slot */
	c->ts = bpf_ktime_get_ns();
	c->uaddr = uaddr;
	c->tid = tid;
	c->op = op;
	c->val = val;
	c->flags = has_timeout ? FUTEXF_TIMEOUT : 0;
	c->sys = sys;
	return 0;
}

static __always_inline int futex_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), slot = tid % FUTEX_SLOTS;
	struct futex_call *c = bpf_map_lookup_elem(&futex_inflight, &slot);
	struct ev_futex *e;
	__u64 dur;
	int us;

	if (!c || !c->ts || c->tid != tid)
		return 0;
	e = ev_reserve(sizeof(*e), EV_FUTEX, tid);
	if (e) {
		dur = e->hdr.ts - c->ts;
		e->uaddr = c->uaddr;
		e->op = c->op;
		e->val = c->val;
		e->ret = (__s32)ret;
		e->flags = c->flags;
		e->syscall = c->sys;
		e->dur = dur32(dur, &us);
		if (us)
			e->flags |= FUTEXF_DUR_US;
		ev_submit(e);
	}
	c->ts = 0;
	return 0;
}

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13

SEC("tracepoint/syscalls/sys_enter_futex")
int sys_enter_futex(struct trace_event_raw_sys_enter *ctx)
{
	__u32 op = ctx->args[1], cmd = op & FUTEX_CMD_MASK;
	/* args[3] is a timeout pointer only for the waiting commands; for others it is val2 */
	int timed = (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI ||
		     cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_REQUEUE_PI) && ctx->args[3];

	return futex_enter(ctx->args[0], op, ctx->args[2], timed, FUTEX_SYS_FUTEX);
}

SEC("tracepoint/syscalls/sys_exit_futex")
int sys_exit_futex(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret);
}

/* futex2: futex_wait(uaddr, val, mask, flags, timeout, clockid) */
SEC("tracepoint/syscalls/sys_enter_futex_wait")
int sys_enter_futex_wait(struct trace_event_raw_sys_enter *ctx)
{
	return futex_enter(ctx->args[0], ctx->args[3], ctx->args[1], ctx->args[4] != 0,
			   FUTEX_SYS_WAIT);
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int sys_exit_futex_wait(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret);
}

/* futex_wake(uaddr, mask, nr, flags) */
SEC("tracepoint/syscalls/sys_enter_futex_wake")
int sys_enter_futex_wake(struct trace_event_raw_sys_enter *ctx)
{
	return futex_enter(ctx->args[0], ctx->args[3], ctx->args[2], 0, FUTEX_SYS_WAKE);
}

SEC("tracepoint/syscalls/sys_exit_futex_wake")
int sys_exit_futex_wake(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret);
}

/* futex_waitv(waiters, nr_futexes, flags, timeout, clockid): the first waiter's address */
SEC("tracepoint/syscalls/sys_enter_futex_waitv")
int sys_enter_futex_waitv(struct trace_event_raw_sys_enter *ctx)
{
	__u64 uaddr = 0;

	bpf_probe_read_user(&uaddr, sizeof(uaddr), (void *)(ctx->args[0] + 8));
	return futex_enter(uaddr, ctx->args[2], ctx->args[1], ctx->args[3] != 0,
			   FUTEX_SYS_WAITV);
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int sys_exit_futex_waitv(struct trace_event_raw_sys_exit *ctx)
{
	return futex_exit(ctx->ret);
}
