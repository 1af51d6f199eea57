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
#include "stage.h"
#include "syscalls.h"

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
		const int btf = 1;						\
		(void)btf;							\
		return call;							\
	}									\
	SEC("raw_tp/" #tp)							\
	int BPF_PROG(raw_##name, __VA_ARGS__)					\
	{									\
		const int btf = 0;						\
		(void)btf;							\
		return call;							\
	}

/*
 * A field of a task the tracepoint handed over. In the tp_btf twin (`btf` 1, the constant
 * TP_TWINS gives each twin) the verifier trusts the pointer, and the field is a plain load; in
 * the raw_tp twin it is a bpf_probe_read_kernel, a helper call. The other branch compiles
 * away. The scheduler probes read a few such fields on every switch and wakeup.
 */
#define TASK_FIELD(btf, t, field) ((btf) ? (t)->field : BPF_CORE_READ(t, field))

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
extern const volatile __u32 stage_bytes;	/* a stage goes to the ring at this fill */

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

/*
 * Two ring buffers. `events` is small, so that the lines a probe writes were written a lap
 * ago and are still in the cache: a 16 MiB ring costs the ping-pong about a third more BPF
 * time than a 1 MiB one, all of it in cache misses (docs/performance.md). `spill` is large
 * and takes a batch only when `events` is full, so a burst the recorder cannot drain at once
 * is held rather than lost. Both are sized by user space (--buffer).
 */
CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} spill SEC(".maps");

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lost_counters);
} lost SEC(".maps");

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

/* Whether task t is followed; btf as TASK_FIELD's (0 reads the field with a helper, as any
 * pointer allows). */
static __always_inline int task_traced(const int btf, struct task_struct *t)
{
	return tgid_traced(TASK_FIELD(btf, t, tgid));
}

/* The futex call (nr: NR_FUTEX, NR_FUTEX_WAIT or NR_FUTEX_WAITV) whose arguments are in regs
 * waits with a timeout: futex(uaddr, op, val, timeout, ...) for the waiting commands,
 * futex_wait(uaddr, val, mask, flags, timeout, clockid), futex_waitv(waiters, nr, flags,
 * timeout, clockid). Read by the switch-out probe, so a wait is known to be timed without the
 * call's exit record. */
static __always_inline int futex_timed(long nr, const struct pt_regs *regs)
{
	__u32 cmd;

	if (nr == NR_FUTEX_WAIT)
		return regs->r8 != 0;
	if (nr == NR_FUTEX_WAITV)
		return regs->r10 != 0;
	if (nr != NR_FUTEX)
		return 0;
	cmd = regs->si & FUTEX_CMD_MASK;
	return (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI ||
		cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_REQUEUE_PI) && regs->r10;
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

/*
 * Records are staged per CPU and reach the ring buffer a batch at a time: a ring-buffer
 * reservation costs about 150 ns on these VMs, more than the rest of a switch record, and a
 * 4 KiB copy once per fifty-odd records much less (docs/performance.md). A probe that runs
 * while another one on its CPU is writing (an interrupt's wakeup inside a syscall's probe)
 * takes the next free stage. User space runs stage_flush on every CPU at each poll and puts
 * the batches of all CPUs back in time order (tools/capture/reorder.c). Sizes: bpf/stage.h.
 */
struct stage {
	__u32 busy;		/* a probe (or the flush) has it */
	__u32 len;		/* bytes of whole records in buf, at most stage_bytes */
	__u16 ntype[16];	/* records in buf by type: what a full ring buffer loses */
	__u8 buf[STAGE_BYTES + STAGE_MAXREC];
};

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAGE_NEST);
	__type(key, __u32);
	__type(value, struct stage);
} stages SEC(".maps");

/*
 * Which CPUs have staged records since their last flush: one cache line per CPU, mapped by user
 * space, which runs the flush only where there is something to flush (an IPI to an idle CPU
 * every poll would wake it for nothing). Set once the stage is claimed, before the record's
 * time is taken. Before the claim would not do: a flush between the test and the claim
 * would clear the flag and leave the record to come unseen, on a CPU user space then skips.
 * After the claim, a flush that comes before the record is whole finds its stage busy and
 * sets the flag again.
 */
CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAGE_MAX_CPUS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct stage_flag);
} stage_pending SEC(".maps");

static __always_inline struct stage_flag *stage_flag_here(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&stage_pending, &cpu);
}

/* Stage k of this CPU if it is free, now ours. */
static __always_inline struct stage *stage_try(__u32 k)
{
	struct stage *st = bpf_map_lookup_elem(&stages, &k);

	if (st && __sync_val_compare_and_swap(&st->busy, 0, 1) == 0)
		return st;
	return NULL;
}

/* The first free stage of this CPU (of STAGE_NEST), now ours; NULL when all are taken.
 * Written out, not a loop: the compiler folds that loop into one the verifier takes for an
 * infinite one. */
static __always_inline struct stage *stage_claim(void)
{
	struct stage_flag *f;
	struct stage *st = stage_try(0);

	if (!st)
		st = stage_try(1);
	if (!st)
		st = stage_try(2);
	if (!st)
		st = stage_try(3);
	/* read first: the line is written once per flush; the locked write is visible to user
	 * space before the record's time is taken */
	if (st && (f = stage_flag_here()) && !f->pending)
		__sync_fetch_and_or(&f->pending, 1);
	return st;
}

static __always_inline void stage_release(struct stage *st)
{
	asm volatile("" ::: "memory");	/* the record is whole before the stage is free */
	*(volatile __u32 *)&st->busy = 0;
}

/* Hand a claimed stage's records to a ring buffer; when both are full they are counted lost. */
static __always_inline void stage_flush_claimed(struct stage *st)
{
	__u32 len = st->len, zero = 0;
	struct lost_counters *c;

	if (len > STAGE_BYTES)
		len = STAGE_BYTES;
	if (len && bpf_ringbuf_output(&events, st->buf, len, BPF_RB_NO_WAKEUP) &&
	    bpf_ringbuf_output(&spill, st->buf, len, BPF_RB_NO_WAKEUP) &&
	    (c = bpf_map_lookup_elem(&lost, &zero))) {
		for (int i = 0; i < 16; i++) {
			c->count[LOST_RINGBUF] += st->ntype[i];
			c->by_type[i] += st->ntype[i];
		}
	}
	st->len = 0;
	__builtin_memset(st->ntype, 0, sizeof(st->ntype));
}

/* Room for a record of size bytes at the end of a claimed stage (its batch goes to the ring
 * first when it would not fit); NULL for a size no stage takes, the stage then released. */
static __always_inline void *stage_room(struct stage *st, __u32 size)
{
	if (size > STAGE_MAXREC || size < sizeof(struct ev_hdr)) {
		stage_release(st);
		return NULL;
	}
	if (st->len + size > stage_bytes)
		stage_flush_claimed(st);
	return st->buf + (st->len & (STAGE_BYTES - 1));
}

/* The record at the stage's end is whole: it joins the batch, and the stage is free. */
static __always_inline void stage_commit(struct stage *st, const struct ev_hdr *h)
{
	st->len += h->size;
	st->ntype[h->type & 15]++;
	stage_release(st);
}

/* Reserve a record in a stage of this CPU and fill its header; ev_submit(*stp, rec) ends it. */
static __always_inline void *ev_reserve(struct stage **stp, __u32 size, __u16 type, __u32 tid)
{
	struct stage *st = stage_claim();
	struct ev_hdr *h;

	*stp = st;
	if (!st) {
		count_lost(LOST_RINGBUF, type);
		return NULL;
	}
	h = stage_room(st, size);
	if (!h)
		return NULL;
	h->ts = bpf_ktime_get_ns();
	h->tid = tid;
	h->type = type;
	h->size = size;
	return h;
}

/* The record is whole: it joins the stage's batch (its size as its header says). */
static __always_inline void ev_submit(struct stage *st, void *rec)
{
	stage_commit(st, rec);
}

/* A record made elsewhere (a per-CPU scratch), copied into a stage whole. */
static __always_inline int ev_output(const void *rec, __u32 size)
{
	struct stage *st = stage_claim();
	void *dst;

	if (!st || !(dst = stage_room(st, size)))
		return -1;
	bpf_probe_read_kernel(dst, size, rec);
	stage_commit(st, dst);
	return 0;
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

#endif /* CONLAB_COMMON_BPF_H */
