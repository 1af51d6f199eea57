// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * io.bpf.c — the event-loop wait syscalls of traced threads: epoll_wait, epoll_pwait,
 * epoll_pwait2, poll, ppoll, select, pselect6 and io_uring_enter (when it waits for
 * completions). One EV_WAITCALL record at return: duration, return value, timeout.
 *
 * The scheduler probes see a loop thread only when it really sleeps: a wait that returns at
 * once, and so the edges of the busy stretches between waits, are invisible there. These
 * calls are what splits a loop's life into idle (inside the wait) and busy (between waits).
 *
 * Per-syscall tracepoints, never raw_tp/sys_enter (that taxes every syscall of the machine,
 * docs/design.md). The program names equal the tracepoint names: user space attaches only the
 * ones the running kernel has (source.c, choose_twins).
 */
#include "common.bpf.h"

#define IORING_ENTER_GETEVENTS 0x1
#define IORING_ENTER_EXT_ARG 0x8

/* the enter half of a wait call, by tid */
struct wait_call {
	__u64 ts;
	__u64 arg0;
	__s32 timeout_us;
	__u16 sys;
	__u16 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct wait_call);
} wait_inflight SEC(".maps");

#define TIMEOUT_NONE (-1)

static __always_inline __s32 clamp_us(__u64 us, __u16 *flags)
{
	if (us > 0x7fffffffULL) {
		*flags |= WAITF_TIMEOUT_CLAMPED;
		return 0x7fffffff;
	}
	return (__s32)us;
}

static __always_inline __s32 ms_timeout(long ms, __u16 *flags)
{
	if ((int)ms < 0)
		return TIMEOUT_NONE;
	return clamp_us((__u64)(int)ms * 1000, flags);
}

/* A struct timespec (or timeval when usec) in user memory; NULL = wait forever. */
static __always_inline __s32 ts_timeout(__u64 uptr, int usec, __u16 *flags)
{
	__s64 t[2] = {};

	if (!uptr)
		return TIMEOUT_NONE;
	if (bpf_probe_read_user(t, sizeof(t), (void *)uptr)) {
		count_lost(LOST_USER_READ, EV_WAITCALL);
		return TIMEOUT_NONE;
	}
	if (t[0] < 0 || t[1] < 0)
		return 0;
	return clamp_us((__u64)t[0] * 1000000 + (usec ? (__u64)t[1] : (__u64)t[1] / 1000), flags);
}

static __always_inline int wait_enter(__u64 arg0, __s32 timeout_us, __u16 sys, __u16 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct wait_call c = {};

	c.ts = bpf_ktime_get_ns();
	c.arg0 = arg0;
	c.timeout_us = timeout_us;
	c.sys = sys;
	c.flags = flags;
	if (bpf_map_update_elem(&wait_inflight, &tid, &c, BPF_ANY))
		count_lost(LOST_WAITMAP, EV_WAITCALL);
	return 0;
}

static __always_inline int traced_now(void)
{
	return tgid_traced(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline int wait_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct wait_call *c;

	/* every poll and epoll_wait of the machine returns through here: the bitmap test first,
	 * the hash lookup only for traced threads */
	if (!traced_now())
		return 0;
	c = bpf_map_lookup_elem(&wait_inflight, &tid);
	struct ev_waitcall *e;
	struct stage *st;
	__u64 dur;
	int us;

	if (!c)
		return 0;
	e = ev_reserve(&st, sizeof(*e), EV_WAITCALL, tid);
	if (e) {
		dur = e->hdr.ts - c->ts;
		e->arg0 = c->arg0;
		e->timeout_us = c->timeout_us;
		e->ret = (__s32)ret;
		e->sys = c->sys;
		e->flags = c->flags;
		e->dur = dur32(dur, &us);
		if (us)
			e->flags |= WAITF_DUR_US;
		ev_submit(st, e);
	}
	bpf_map_delete_elem(&wait_inflight, &tid);
	return 0;
}

/* epoll_wait(epfd, events, maxevents, timeout_ms) */
SEC("tracepoint/syscalls/sys_enter_epoll_wait")
int sys_enter_epoll_wait(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[0], ms_timeout(ctx->args[3], &fl), WAIT_SYS_EPOLL_WAIT, fl);
}

SEC("tracepoint/syscalls/sys_exit_epoll_wait")
int sys_exit_epoll_wait(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize) */
SEC("tracepoint/syscalls/sys_enter_epoll_pwait")
int sys_enter_epoll_pwait(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[0], ms_timeout(ctx->args[3], &fl), WAIT_SYS_EPOLL_PWAIT, fl);
}

SEC("tracepoint/syscalls/sys_exit_epoll_pwait")
int sys_exit_epoll_pwait(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* epoll_pwait2(epfd, events, maxevents, const struct timespec *timeout, sigmask, size) */
SEC("tracepoint/syscalls/sys_enter_epoll_pwait2")
int sys_enter_epoll_pwait2(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[0], ts_timeout(ctx->args[3], 0, &fl), WAIT_SYS_EPOLL_PWAIT2,
			  fl);
}

SEC("tracepoint/syscalls/sys_exit_epoll_pwait2")
int sys_exit_epoll_pwait2(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* poll(fds, nfds, timeout_ms) */
SEC("tracepoint/syscalls/sys_enter_poll")
int sys_enter_poll(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[1], ms_timeout(ctx->args[2], &fl), WAIT_SYS_POLL, fl);
}

SEC("tracepoint/syscalls/sys_exit_poll")
int sys_exit_poll(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* ppoll(fds, nfds, const struct timespec *tsp, sigmask, size) */
SEC("tracepoint/syscalls/sys_enter_ppoll")
int sys_enter_ppoll(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[1], ts_timeout(ctx->args[2], 0, &fl), WAIT_SYS_PPOLL, fl);
}

SEC("tracepoint/syscalls/sys_exit_ppoll")
int sys_exit_ppoll(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* select(n, in, out, ex, struct timeval *tvp) */
SEC("tracepoint/syscalls/sys_enter_select")
int sys_enter_select(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[0], ts_timeout(ctx->args[4], 1, &fl), WAIT_SYS_SELECT, fl);
}

SEC("tracepoint/syscalls/sys_exit_select")
int sys_exit_select(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* pselect6(n, in, out, ex, const struct timespec *tsp, sig) */
SEC("tracepoint/syscalls/sys_enter_pselect6")
int sys_enter_pselect6(struct trace_event_raw_sys_enter *ctx)
{
	__u16 fl = 0;

	if (!traced_now())
		return 0;
	return wait_enter(ctx->args[0], ts_timeout(ctx->args[4], 0, &fl), WAIT_SYS_PSELECT6, fl);
}

SEC("tracepoint/syscalls/sys_exit_pselect6")
int sys_exit_pselect6(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}

/* struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG): the timeout is a pointer in it */
struct uring_getevents_arg {
	__u64 sigmask;
	__u32 sigmask_sz;
	__u32 min_wait_usec;
	__u64 ts;
};

/* io_uring_enter(fd, to_submit, min_complete, flags, argp, argsz): a loop wait only when it
 * waits for completions; pure submissions are not recorded. */
SEC("tracepoint/syscalls/sys_enter_io_uring_enter")
int sys_enter_io_uring_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 min_complete = ctx->args[2], flags = ctx->args[3];
	struct uring_getevents_arg ga = {};
	__s32 timeout = TIMEOUT_NONE;
	__u16 fl = 0;

	if (!(flags & IORING_ENTER_GETEVENTS) || !min_complete || !traced_now())
		return 0;
	if ((flags & IORING_ENTER_EXT_ARG) && ctx->args[4] &&
	    !bpf_probe_read_user(&ga, sizeof(ga), (void *)ctx->args[4]))
		timeout = ts_timeout(ga.ts, 0, &fl);
	return wait_enter(ctx->args[0], timeout, WAIT_SYS_IO_URING_ENTER, fl);
}

SEC("tracepoint/syscalls/sys_exit_io_uring_enter")
int sys_exit_io_uring_enter(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(ctx->ret);
}
