// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sched.bpf.c — context switches and wakeups of traced threads.
 *
 * At switch-out of a thread that goes to sleep we record why: the tracepoint fires before the
 * switch, so bpf_task_pt_regs(prev) holds its syscall number and arguments and user memory
 * reads still see prev's address space. For a futex wait that gives the futex word and the
 * glibc mutex __owner at +8 (docs/design.md) — the holder — with no per-syscall probe.
 *
 * Each hook has a tp_btf program and a raw_tp twin over one static handler; user space loads
 * the tp_btf ones when the kernel has BTF-enabled tracepoints, else the raw_tp ones.
 */
#define CONLAB_DEFINE_MAPS
#include "common.bpf.h"
#include "syscalls.h"
#include "pywalk.bpf.h"

const volatile __u32 trace_all = 0;
const volatile __u32 self_tgid = 0;
const volatile __u32 want_stacks = 1;
const volatile __u32 futex_calls = 1;
const volatile __u32 stage_bytes = STAGE_BYTES;

#define SCAN_WORDS 32

/* Kernel task state bits (include/linux/sched.h); stable ABI of the tracepoint's prev_state. */
#define K_TASK_INTERRUPTIBLE 0x1
#define K_TASK_UNINTERRUPTIBLE 0x2
#define K_TASK_STOPPED 0x4
#define K_TASK_TRACED 0x8
#define K_EXIT_DEAD 0x10
#define K_EXIT_ZOMBIE 0x20
#define K_TASK_DEAD 0x80

static __always_inline __u8 simple_state(bool preempt, unsigned int st)
{
	if (preempt || st == 0)
		return TS_RUNNABLE;
	if (st & (K_TASK_DEAD | K_EXIT_DEAD | K_EXIT_ZOMBIE))
		return TS_DEAD;
	if (st & K_TASK_INTERRUPTIBLE)
		return TS_SLEEPING;
	if (st & K_TASK_UNINTERRUPTIBLE)
		return TS_DISK;
	if (st & (K_TASK_STOPPED | K_TASK_TRACED))
		return TS_STOPPED;
	return TS_OTHER;
}

/* Per-CPU scratch for the stack scan: 256 bytes is too much for the BPF stack with the rest. */
struct scan_buf {
	__u64 w[SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scan_buf);
} scan_scratch SEC(".maps");

/* Candidates checked at most: each costs a read of the program's code. */
#define RET_CHECKS 4

/*
 * Whether the 8 bytes before w (the program's code) end in a call, as a return address's do:
 * `e8 rel32`, or an `ff /2` (call through a register or memory: modrm's reg field 2) of 2 to 7
 * bytes. A pointer to a function's entry stored on the stack (a thread's start routine, a
 * callback) follows padding or a `ret`, not a call. Code that cannot be read here (a page not
 * yet mapped in: the read may not fault) is taken to be a call, as before this check: a
 * candidate passed over for it would make the next one, a frame further up, the site.
 */
static __always_inline int after_call(__u64 w)
{
	__u8 b[8];

	if (bpf_probe_read_user(b, sizeof(b), (void *)(w - 8)))
		return 1;
	if (b[3] == 0xe8)
		return 1;
	/* unrolled: constant indices satisfy the verifier */
	#pragma unroll
	for (int k = 2; k <= 7; k++)
		if (b[8 - k] == 0xff && ((b[9 - k] >> 3) & 7) == 2)
			return 1;
	return 0;
}

/*
 * glibc is built without frame pointers, so a frame-pointer unwind from inside a futex wait
 * skips the function that called pthread_mutex_lock (its return address sits in glibc's frame,
 * not in the rbp chain). Find it by scanning the top of the user stack for the first word that
 * points into the program's own text just after a call instruction (the first such word, if
 * none of the first few passes that check).
 */
static __always_inline __u64 find_ret_addr(__u32 tgid, __u64 sp)
{
	struct text_range *tr = bpf_map_lookup_elem(&text_ranges, &tgid);
	__u32 zero = 0;
	struct scan_buf *b;
	__u64 first = 0;
	int checks = 0;

	if (!tr || !sp)
		return 0;
	b = bpf_map_lookup_elem(&scan_scratch, &zero);
	if (!b)
		return 0;
	if (bpf_probe_read_user(b->w, sizeof(b->w), (void *)sp)) {
		count_lost(LOST_USER_READ, -1);
		return 0;
	}
	for (int i = 0; i < SCAN_WORDS; i++) {
		__u64 w = b->w[i];

		if (w < tr->lo || w >= tr->hi)
			continue;
		if (!first)
			first = w;
		if (after_call(w))
			return w;
		if (++checks >= RET_CHECKS)
			break;
	}
	return first;
}

/*
 * Walking the user stack is the dearest part of this probe, and a thread blocks again and
 * again at the same few places: remember the stack id by (process, user pc, return address
 * into the program, return address of the frame-pointer chain's first frame) and walk only
 * for a place not seen before. The cache is per CPU and direct-mapped: a slot chosen by a hash
 * of the key, taken over by the next place that hashes there. That is a few ns where a shared
 * LRU hash cost about 50, and a place evicted is only walked again.
 */
struct stack_key {
	__u64 ip;
	__u64 ret;
	__u64 fp1;
	__u32 tgid;
	__u32 pad;
};

struct stack_slot {
	struct stack_key k;
	__s32 id;
	__u32 used;
};

#define STACK_CACHE_SLOTS 1024	/* 40 KiB a CPU; a process blocks at a few dozen places */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STACK_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct stack_slot);
} stack_cache SEC(".maps");

static __always_inline __s32 user_stack_id(void *ctx, struct pt_regs *regs, __u32 tgid,
					   __u64 ret_addr)
{
	struct stack_key k = {};
	struct stack_slot *slot;
	__u64 bp = regs->bp, h;
	__u32 i;
	long id;

	k.tgid = tgid;
	k.ip = regs->ip;
	k.ret = ret_addr;
	if (bp)
		bpf_probe_read_user(&k.fp1, sizeof(k.fp1), (void *)(bp + 8));
	h = (k.ip ^ (k.ret * 0x9e3779b97f4a7c15ULL) ^ (k.fp1 * 0xc2b2ae3d27d4eb4fULL)) + tgid;
	i = (__u32)(h ^ (h >> 29)) % STACK_CACHE_SLOTS;
	slot = bpf_map_lookup_elem(&stack_cache, &i);
	if (slot && slot->used && slot->k.ip == k.ip && slot->k.ret == k.ret &&
	    slot->k.fp1 == k.fp1 && slot->k.tgid == k.tgid)
		return slot->id;
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (id < 0) {
		count_lost(LOST_STACK, -1);
		return (__s32)id;
	}
	if (slot) {
		slot->k = k;
		slot->id = (__s32)id;
		slot->used = 1;
	}
	return (__s32)id;
}

static __always_inline void fill_sleep_context(void *ctx, struct ev_switch_sleep *e, __u32 tgid)
{
	/* prev is still current here; the BTF pointer to current is trusted in both twins */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = regs->orig_ax;
	__u64 a0 = regs->di;
	__u32 words[3] = {};

	e->nr = (__s32)nr;
	e->arg0 = a0;
	e->arg1 = regs->si;
	e->arg2 = (__u32)regs->dx;
	e->word0 = 0;
	e->word4 = 0;
	e->word8 = 0;
	e->ret_addr = 0;
	e->stack_id = -1;
	/* not in a syscall (a page fault, an in-kernel wait), or a kernel thread (-a), whose
	 * user registers mean nothing */
	if (nr < 0 || (bpf_get_current_task_btf()->flags & 0x00200000 /* PF_KTHREAD */)) {
		e->nr = -1;
		return;
	}

	if (nr == NR_FUTEX_WAITV) {
		/* struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 reserved; }: the first */
		__u64 ua = 0;

		bpf_probe_read_user(&ua, sizeof(ua), (void *)(a0 + 8));
		e->arg0 = a0 = ua;
	}
	if (nr == NR_FUTEX || nr == NR_FUTEX_WAITV || nr == NR_FUTEX_WAIT) {
		if (futex_timed(nr, regs))
			e->sw.flags |= SWF_TIMED;
		if (futex_calls)
			futex_note_sleep(e->sw.hdr.tid, e->sw.hdr.ts);
		if (bpf_probe_read_user(words, sizeof(words), (void *)a0) == 0) {
			e->word0 = words[0];
			e->word4 = words[1];
			e->word8 = words[2];
		} else {
			count_lost(LOST_USER_READ, -1);
		}
	}
	e->ret_addr = find_ret_addr(tgid, regs->sp);
	if (want_stacks)
		e->stack_id = user_stack_id(ctx, regs, tgid, e->ret_addr);
}

/* Python stacks at a blocking switch-out (the walk: pywalk.bpf.h), at most PY_STACK_MAX frames.
 * A global function, verified once on its own: inlined, its walk is verified again for every
 * state of the switch probe that reaches it, past the verifier's budget. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_py_stack);
} py_scratch SEC(".maps");

__noinline int py_stack(__u32 tid, __u32 tgid, __u64 ts)
{
	const struct py_bpf_proc *pp = bpf_map_lookup_elem(&py_procs, &tgid);
	struct ev_py_stack *e;
	__u32 zero = 0, n, size;

	if (!pp)
		return 0;
	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!e)
		return 0;
	e->flags = 0;
	n = py_walk(pp, e->frames, PY_STACK_MAX, &e->flags);
	if (!n)
		return 0;
	e->hdr.ts = ts;
	e->hdr.tid = tid;
	e->hdr.type = EV_PY_STACK;
	e->pid = tgid;
	e->nframes = n;
	size = offsetof(struct ev_py_stack, frames) + n * sizeof(struct ev_py_frame);
	if (size > sizeof(*e))
		return 0;
	e->hdr.size = size;
	if (ev_output(e, size))
		count_lost(LOST_RINGBUF, EV_PY_STACK);
	return 0;
}

static __always_inline int handle_switch(void *ctx, const int btf, bool preempt,
					 struct task_struct *prev, struct task_struct *next,
					 unsigned int prev_state)
{
	__u32 prev_tid = TASK_FIELD(btf, prev, pid), next_tid = TASK_FIELD(btf, next, pid);
	__u32 prev_tgid = TASK_FIELD(btf, prev, tgid);
	int pt = prev_tid && tgid_traced(prev_tgid);
	int nt = next_tid && task_traced(btf, next);
	__u8 st;

	if (!pt && !nt)
		return 0;
	st = simple_state(preempt, prev_state);
	if (pt && (st == TS_SLEEPING || st == TS_DISK)) {
		struct ev_switch_sleep *e;
		struct stage *stg;
		int in_syscall;
		__u64 ts;

		e = ev_reserve(&stg, sizeof(*e), EV_SWITCH_SLEEP, prev_tid);
		if (!e)
			return 0;
		e->sw.next_tid = nt ? next_tid : 0;
		e->sw.cpu = bpf_get_smp_processor_id();
		e->sw.prev_state = st;
		e->sw.flags = SWF_PREV_TRACED | (nt ? SWF_NEXT_TRACED : 0);
		fill_sleep_context(ctx, e, prev_tgid);
		ts = e->sw.hdr.ts;
		in_syscall = e->nr >= 0;
		ev_submit(stg, e);
		if (py_nprocs && in_syscall)
			py_stack(prev_tid, prev_tgid, ts);
		return 0;
	}

	struct stage *stg;
	struct ev_switch *e = ev_reserve(&stg, sizeof(*e), EV_SWITCH, pt ? prev_tid : 0);

	if (e) {
		e->next_tid = nt ? next_tid : 0;
		e->cpu = bpf_get_smp_processor_id();
		e->prev_state = st;
		e->flags = (pt ? SWF_PREV_TRACED : 0) | (nt ? SWF_NEXT_TRACED : 0);
		ev_submit(stg, e);
	}
	if (pt && st == TS_DEAD && !trace_all && bit_test(&dying, prev_tgid) &&
	    BPF_CORE_READ(prev, signal, live.counter) == 0) {
		/* the last thread of a process is gone: forget the process */
		bit_set(&traced, prev_tgid, 0);
		bit_set(&dying, prev_tgid, 0);
	}
	return 0;
}

/*
 * Who woke whom. The waker is the task current at sched_waking, which runs in the waker's own
 * context. sched_wakeup often runs on the wakee's CPU instead, in whatever happens to be
 * current there (the idle task, handling the queued wakeup's IPI).
 *
 * The record is written at sched_waking when the wakee has left its CPU (p->on_cpu is 0): its
 * switch-out, the sleep this wakeup ends, is then recorded already. Otherwise the wakee may
 * still be on its way out: it has been dequeued but its sched_switch has not fired yet, and
 * try_to_wake_up waits for it to leave before it calls sched_wakeup. A record written at
 * sched_waking would then come before the sleep it ends; so sched_wakeup writes it, with the
 * waker carried over in a slot per wakee tid.
 */
struct waking {
	__u64 arg0;
	__u32 wakee;
	__u32 waker;
	__s32 nr;
	__u32 written;	/* the record was written at sched_waking */
};

#define WAKING_SLOTS 65536
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WAKING_SLOTS);
	__type(key, __u32);
	__type(value, struct waking);
} wakings SEC(".maps");

/* The current task as a waker: its tid, and its syscall when it is a user thread in one. */
static __always_inline void current_waker(struct waking *w)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;

	w->waker = cur->pid;
	w->nr = -1;
	w->arg0 = 0;
	/* kernel threads (and the idle task) have no user registers worth reading */
	if (w->waker && !(cur->flags & 0x00200000 /* PF_KTHREAD */)) {
		regs = (struct pt_regs *)bpf_task_pt_regs(cur);
		w->nr = regs->orig_ax;
		w->arg0 = regs->di;
	}
}

static __always_inline void write_wakeup(const int btf, struct task_struct *p, __u32 tid,
					 __u16 type, const struct waking *w)
{
	struct ev_wakeup *e;
	struct stage *st;

	e = ev_reserve(&st, sizeof(*e), type, tid);
	if (!e)
		return;
	e->waker_tid = w->waker;
	e->waker_nr = (__s16)w->nr;
	e->waker_arg0 = w->arg0;
	e->cpu = TASK_FIELD(btf, p, wake_cpu);
	ev_submit(st, e);
}

static __always_inline int handle_waking(const int btf, struct task_struct *p)
{
	__u32 tid, slot;
	struct waking *w;

	if (!task_traced(btf, p))
		return 0;
	tid = TASK_FIELD(btf, p, pid);
	slot = tid % WAKING_SLOTS;
	w = bpf_map_lookup_elem(&wakings, &slot);
	if (!w)
		return 0;
	current_waker(w);
	w->wakee = tid;
	w->written = TASK_FIELD(btf, p, on_cpu) == 0;
	if (w->written)
		write_wakeup(btf, p, tid, EV_WAKEUP, w);
	return 0;
}

static __always_inline int handle_wakeup(const int btf, struct task_struct *p, __u16 type)
{
	__u32 tid, slot;
	struct waking now, *w;

	if (!task_traced(btf, p))
		return 0;
	tid = TASK_FIELD(btf, p, pid);
	slot = tid % WAKING_SLOTS;
	w = bpf_map_lookup_elem(&wakings, &slot);
	if (w && w->wakee == tid && type == EV_WAKEUP) {
		w->wakee = 0;	/* taken: a later wakeup without its waking must not reuse it */
		if (w->written)
			return 0;
		now = *w;
	} else {
		current_waker(&now);	/* wake_up_new_task has no sched_waking */
	}
	write_wakeup(btf, p, tid, type, &now);
	return 0;
}

TP_TWINS(sched_waking, waking, handle_waking(btf, p), struct task_struct *p)

TP_TWINS(sched_switch, switch, handle_switch(ctx, btf, preempt, prev, next, prev_state),
	 bool preempt, struct task_struct *prev, struct task_struct *next,
	 unsigned int prev_state)

TP_TWINS(sched_wakeup, wakeup, handle_wakeup(btf, p, EV_WAKEUP), struct task_struct *p)

TP_TWINS(sched_wakeup_new, wakeup_new, handle_wakeup(btf, p, EV_WAKEUP_NEW), struct task_struct *p)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
