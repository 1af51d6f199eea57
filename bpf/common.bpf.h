/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * common.bpf.h — what every conlab BPF program shares: the target filter, the ring buffer,
 * the loss counters. The maps are defined once, in sched.bpf.c (CONLAB_DEFINE_MAPS), and are
 * extern everywhere else so that `bpftool gen object` links one set of maps.
 */
#ifndef CONLAB_COMMON_BPF_H
#define CONLAB_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"

#ifdef CONLAB_DEFINE_MAPS
#define CONLAB_MAP
#else
#define CONLAB_MAP extern
#endif

/*
 * One handler attached as a tracepoint twice: tp_btf/TP (tp_NAME) where the kernel has BTF,
 * raw_tp/TP (raw_NAME) where it has not; user space loads one of each pair (source.c).
 * The arguments after the call are BPF_PROG's.
 */
#define TP_TWINS(tp, name, call, ...)						\
	SEC("tp_btf/" #tp)							\
	int BPF_PROG(tp_##name, __VA_ARGS__)					\
	{									\
		return call;							\
	}									\
	SEC("raw_tp/" #tp)							\
	int BPF_PROG(raw_##name, __VA_ARGS__)					\
	{									\
		return call;							\
	}

/* A uprobe or uretprobe program whose body is one call taking its registers (ctx). */
#define PROBE_CALL(sec, name, call)						\
	SEC(sec)								\
	int name(struct pt_regs *ctx)						\
	{									\
		return call;							\
	}

/* Set by user space before load. */
extern const volatile __u32 trace_all;	/* -a: every process but conlab itself */
extern const volatile __u32 self_tgid;	/* conlab's own process, never traced */
extern const volatile __u32 want_stacks;	/* capture user stacks at sleep */
extern const volatile __u32 futex_calls;	/* the futex exit probes are on (EV_FUTEX) */

struct lost_counters {
	__u64 count[LOST_NKINDS];
	__u64 by_type[16];
};

/*
 * The processes we follow, as bitmaps indexed by tgid (pid_max is at most 2^22): one array
 * lookup and a bit test, the cheapest filter for probes that fire on every context switch and
 * futex call of the machine. `traced`: followed; `dying`: its last thread has exited and only
 * that thread's final switch-out is still to come. Children are added here at fork.
 */
#define TRACED_WORDS ((1u << 22) / 64)
CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRACED_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} traced SEC(".maps");

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRACED_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} dying SEC(".maps");

/* Main executable text of each traced process (user space fills it from /proc/PID/maps):
 * lets the sleep probe find the return address into the program past glibc's frames. */
struct text_range {
	__u64 lo;
	__u64 hi;
};

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct text_range);
} text_ranges SEC(".maps");

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);	/* resized by user space (--buffer) */
} events SEC(".maps");

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lost_counters);
} lost SEC(".maps");

#define CLAB_STACK_DEPTH 32
CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, CLAB_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/*
 * Futex calls that blocked: the moment each one went to sleep, in a slot chosen by the tid,
 * written by the switch-out probe and taken by the futex exit probe (futex.bpf.c), which
 * needs no entry probe so: the call's arguments are still in its saved registers at return,
 * and a call that never slept lasted well under a microsecond. Two threads whose tids share a
 * slot asleep in futex calls at once: the second one wins and the first call's record has no
 * duration, counted as LOST_FUTEXMAP.
 */
struct futex_call {
	__u64 ts;		/* when the call first slept, 0 = free */
	__u32 tid;
	__u32 pad;
};

#define FUTEX_SLOTS 65536
CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FUTEX_SLOTS);
	__type(key, __u32);
	__type(value, struct futex_call);
} futex_inflight SEC(".maps");

static __always_inline void count_lost(int kind, int type)
{
	__u32 zero = 0;
	struct lost_counters *c = bpf_map_lookup_elem(&lost, &zero);

	if (!c)
		return;
	if (kind >= 0 && kind < LOST_NKINDS)
		c->count[kind]++;
	if (type >= 0 && type < 16)
		c->by_type[type]++;
}

static __always_inline int bit_test(void *map, __u32 tgid)
{
	__u32 k = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(map, &k);

	return w && ((*w >> (tgid % 64)) & 1);
}

/* Set or clear tgid's bit; -1 when the tgid is beyond the bitmap. */
static __always_inline int bit_set(void *map, __u32 tgid, int on)
{
	__u32 k = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(map, &k);

	if (!w)
		return -1;
	if (on)
		__sync_fetch_and_or(w, 1ULL << (tgid % 64));
	else
		__sync_fetch_and_and(w, ~(1ULL << (tgid % 64)));
	return 0;
}

static __always_inline int tgid_traced(__u32 tgid)
{
	if (tgid == 0)
		return 0;
	if (trace_all)
		return tgid != self_tgid;
	return bit_test(&traced, tgid);
}

static __always_inline int task_traced(struct task_struct *t)
{
	return tgid_traced(BPF_CORE_READ(t, tgid));
}

/* A traced thread goes to sleep inside a futex call at ts: keep the first sleep of the call
 * for its EV_FUTEX record (the exit probe frees the slot). */
static __always_inline void futex_note_sleep(__u32 tid, __u64 ts)
{
	__u32 slot = tid % FUTEX_SLOTS;
	struct futex_call *c = bpf_map_lookup_elem(&futex_inflight, &slot);

	if (!c || (c->ts && c->tid == tid))
		return;
	if (c->ts)
		count_lost(LOST_FUTEXMAP, EV_FUTEX);	/* another thread's call is in this slot */
	c->ts = ts;
	c->tid = tid;
}

/* Reserve a record and fill its header; counts the loss when the ring buffer is full. */
static __always_inline void *ev_reserve(__u32 size, __u16 type, __u32 tid)
{
	struct ev_hdr *h = bpf_ringbuf_reserve(&events, size, 0);

	if (!h) {
		count_lost(LOST_RINGBUF, type);
		return NULL;
	}
	h->ts = bpf_ktime_get_ns();
	h->tid = tid;
	h->type = type;
	h->size = size;
	return h;
}

/* A call's duration in 32 bits: ns, or µs when it took more than 4.29 s (*in_us set). */
static __always_inline __u32 dur32(__u64 dur, int *in_us)
{
	*in_us = dur > 0xffffffffULL;
	if (*in_us) {
		dur /= 1000;
		if (dur > 0xffffffffULL)
			dur = 0xffffffffULL;
	}
	return (__u32)dur;
}

/* No wakeup per record: user space polls every few ms (a wakeup costs µs on these VMs). */
static __always_inline void ev_submit(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

#endif /* CONLAB_COMMON_BPF_H */
