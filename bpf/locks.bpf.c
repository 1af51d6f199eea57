// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * locks.bpf.c — lock uprobes (--locks): each thread's held locks, and lock-order edges.
 *
 * User space (tools/capture/uprobes.c) attaches these programs to glibc's lock functions at offsets it
 * chose by decoding their first instructions: an instruction the kernel emulates (push, jmp,
 * jcc) costs one breakpoint trap per hit, one it must single-step a second, dearer trap
 * (0.5 and 20 µs on one VM; 5 and 20 µs on a paravirtualised one, docs/performance.md; what
 * they cost where conlab runs is measured at start, source.c). At every chosen offset
 * %rdi still holds the lock and the return address is at [%rsp + sp_off], so the programs read
 * both directly.
 *
 * A blocking acquisition adds an edge "held -> taken" for every lock the thread holds, sent
 * once per (from, to, thread, set of other held locks): the other held locks are the gate-lock
 * candidates user space needs to suppress guarded inversions, so a pair taken once under a
 * gate and later without one is sent twice. A trylock adds no edge (it cannot block) but the
 * lock it took is held. Locks are keyed by address plus a generation bumped by
 * pthread_mutex_destroy, so a reused address is a new lock.
 *
 * Programs are named lk_* and loaded only with --locks (source.c).
 */
#include "common.bpf.h"
#include "locks.h"
#include "pywalk.bpf.h"

/* Set by user space before load. */
const volatile __u32 lock_events = 0;	/* also send one EV_LOCK per acquire / release */
/* Semaphore owners (`conlab deadlock --locks`): an EV_LOCK LOCK_OP_SEM_TAKEN when a wait or
 * trywait succeeds and a LOCK_OP_RELEASE at each post, so user space knows which thread holds
 * a binary semaphore (a CPython 3.11 threading.Lock is one); and edges into the semaphores a
 * trywait or timed wait took, flagged LEF_TO_TRY, which user space keeps only where a blocking
 * acquire is made of a trywait first (CPython's Lock.acquire()). */
const volatile __u32 owner_events = 0;
/* Where the return address is relative to %rsp at each probe: user space fills these from
 * the decoded prologue (0 at a function's entry and before any push). */
const volatile __u32 sp_off[LKP_NPROBES] = {};

#define HELD_SLOTS 16

struct held_slot {
	__u64 addr;
	__u64 ret;
	__u32 gen;
	__u16 flags;		/* LEF_FROM_READ, LEF_FROM_TRY, LEF_FROM_SEM */
	__u16 depth;		/* re-entries of a recursive mutex or a read lock */
};

struct held_set {
	__u32 n;		/* slots used, compact from 0 */
	__u32 overflow;		/* locks held beyond the slots */
	__u32 overflow_sent;
	__u32 pad;
	struct held_slot s[HELD_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct held_set);
} lk_held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct held_set);
} lk_zero SEC(".maps");

struct edge_key {
	__u64 from, to;
	__u64 gates;		/* xor of the other held locks */
	__u32 from_gen, to_gen;
	__u32 tid;
	__u16 flags;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct edge_key);
	__type(value, __u8);
} lk_edges SEC(".maps");

/* lock address -> generation; only looked up once a destroy has been seen */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} lk_gen SEC(".maps");

/* semaphore -> the thread that took it: a sem_post from another thread releases it there */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} lk_sem_owner SEC(".maps");

struct try_call {
	__u64 addr;
	__u64 ret;
	__u16 flags;
	__u16 wait;		/* a sem_wait: already held since its entry, only the outcome is new */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct try_call);
} lk_try SEC(".maps");

__u32 lk_destroys = 0;

/*
 * Python lines. A semaphore acquisition by a thread of a CPython process (py_procs: a
 * threading.Lock) walks its Python stack, LOCK_PY_FRAMES deep (pywalk.bpf.h), and keeps it
 * by (thread, semaphore) while the lock may be held: where it was taken, for the edges out of
 * it. An edge out of a Python thread is followed by an EV_LOCK_PY with both walks. Another
 * process's acquisitions pay the lookup in py_procs, and none when no CPython process was found.
 */
struct py_site {
	__u16 n;
	__u16 flags;		/* PYSF_* */
	__u32 pad;
	struct ev_py_frame f[LOCK_PY_FRAMES];
};

struct py_site_key {
	__u64 addr;
	__u32 tid;
	__u32 pad;
};

/* least recently used out: a site is only needed while its lock is held */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct py_site_key);
	__type(value, struct py_site);
} lk_py_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_site);
} lk_py_here SEC(".maps");

/* The current thread's Python frames, if it is a thread of a CPython process with a Python
 * state; NULL otherwise. Per-CPU: valid till the probe returns. */
static __always_inline struct py_site *py_site_here(__u32 pid)
{
	const struct py_bpf_proc *pp = py_proc_of(pid);
	struct py_site *s;
	__u32 zero = 0;

	if (!pp)
		return NULL;
	s = bpf_map_lookup_elem(&lk_py_here, &zero);
	if (!s)
		return NULL;
	s->flags = 0;
	s->n = py_walk(pp, s->f, LOCK_PY_FRAMES, &s->flags);
	return s->n ? s : NULL;
}

/* The EV_LOCK_PY of an edge from -> to that thread tid just sent: from's kept site, to's here. */
static __noinline void send_edge_py(__u32 tid, __u32 pid, __u64 from, __u64 to,
				    const struct py_site *here)
{
	struct py_site_key k = {.addr = from, .tid = tid};
	const struct py_site *was;
	struct ev_lock_py *e;
	struct stage *st;

	if (!here)
		return;
	e = ev_reserve(&st, sizeof(*e), EV_LOCK_PY, tid);
	if (!e)
		return;
	__builtin_memset(e->frames, 0, sizeof(e->frames));
	e->from = from;
	e->to = to;
	e->pid = pid;
	e->flags = here->flags;
	e->nto = here->n;
	__builtin_memcpy(&e->frames[LOCK_PY_FRAMES], here->f, sizeof(here->f));
	was = bpf_map_lookup_elem(&lk_py_sites, &k);
	e->nfrom = was ? was->n : 0;
	if (was) {
		e->flags |= was->flags;
		__builtin_memcpy(e->frames, was->f, sizeof(was->f));
	}
	ev_submit(st, e);
}

static __always_inline __u64 read_ret(struct pt_regs *ctx, int probe)
{
	__u64 ret = 0;
	__u32 off = 0;

	if (probe >= 0 && probe < LKP_NPROBES)
		off = sp_off[probe];
	bpf_probe_read_user(&ret, sizeof(ret), (void *)(PT_REGS_SP(ctx) + off));
	return ret;
}

static __always_inline __u32 lock_gen(__u64 addr)
{
	__u32 *g;

	if (!lk_destroys)
		return 0;
	g = bpf_map_lookup_elem(&lk_gen, &addr);
	return g ? *g : 0;
}

static __always_inline struct held_set *held_of(__u32 tid, int create)
{
	struct held_set *h = bpf_map_lookup_elem(&lk_held, &tid);
	__u32 zero = 0;

	if (h || !create)
		return h;
	h = bpf_map_lookup_elem(&lk_zero, &zero);
	if (!h)
		return NULL;
	bpf_map_update_elem(&lk_held, &tid, h, BPF_NOEXIST);
	h = bpf_map_lookup_elem(&lk_held, &tid);
	if (!h)
		count_lost(LOST_LOCKMAP, EV_LOCK_EDGE);
	return h;
}

static __always_inline void send_lock_event(__u32 tid, __u64 addr, __u64 ret, __u32 op, int rv)
{
	struct ev_lock *e;
	struct stage *st;

	e = ev_reserve(&st, sizeof(*e), EV_LOCK, tid);
	if (!e)
		return;
	e->addr = addr;
	e->ret_addr = ret;
	e->op = op;
	e->ret = rv;
	ev_submit(st, e);
}

static __always_inline void send_edge(struct pt_regs *ctx, struct held_set *h, int i, __u32 tid,
				      __u32 pid, __u64 addr, __u32 gen, __u64 ret, __u16 flags,
				      __s32 *stack_id, const struct py_site *py)
{
	struct ev_lock_edge *e;
	struct stage *st;
	int k, n = 0;

	if (*stack_id == -1000)
		*stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (*stack_id < 0)
		count_lost(LOST_STACK, EV_LOCK_EDGE);
	e = ev_reserve(&st, sizeof(*e), EV_LOCK_EDGE, tid);
	if (!e)
		return;
	e->from = h->s[i].addr;
	e->from_ret = h->s[i].ret;
	e->from_gen = h->s[i].gen;
	e->to = addr;
	e->to_ret = ret;
	e->to_gen = gen;
	e->pid = pid;
	e->stack_id = *stack_id;
	e->flags = flags | h->s[i].flags;
	/* unrolled: constant indices satisfy the verifier */
	#pragma unroll
	for (k = 0; k < HELD_SLOTS; k++) {
		if (k >= h->n)
			break;
		if (k == i)
			continue;
		if (n >= LOCK_EDGE_HELD) {
			e->flags |= LEF_HELD_TRUNC;
			break;
		}
		e->held[n++] = h->s[k].addr;
	}
	e->nheld = n;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	ev_submit(st, e);
	send_edge_py(tid, pid, h->s[i].addr, addr, py);
}

/* flags: LEF_TO_READ, LEF_FROM_TRY (a trylock: no edges), LEF_SEM */
static __always_inline int on_acquire(struct pt_regs *ctx, __u64 addr, __u64 ret, __u16 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	const struct py_site *py = NULL;
	struct held_set *h;
	__u64 gates = 0;
	__s32 stack_id = -1000;
	__u32 gen, ni;
	int i;

	h = held_of(tid, 1);
	if (!h)
		return 0;
	gen = lock_gen(addr);
	/* unrolled: constant indices satisfy the verifier */
	#pragma unroll
	for (i = 0; i < HELD_SLOTS; i++) {
		if (i >= h->n)
			break;
		if (h->s[i].addr == addr && h->s[i].gen == gen) {
			/* re-entry by the holder: a recursive mutex or a second read lock, not an
			 * edge (a non-recursive relock is a self-deadlock the live graph sees) */
			h->s[i].depth++;
			goto out;
		}
		gates ^= h->s[i].addr;
	}
	if (flags & LEF_SEM)
		py = py_site_here(pid);
	/* a trylock cannot block, so it makes no edge, but for a semaphore in owner mode user
	 * space decides by the call site (a CPython Lock.acquire() starts with a trywait) */
	if (!(flags & LEF_FROM_TRY) || (owner_events && (flags & LEF_SEM))) {
		__u16 ef = (flags & (LEF_TO_READ | LEF_SEM)) | (flags & LEF_FROM_TRY ? LEF_TO_TRY : 0);

		/* unrolled: constant indices satisfy the verifier */
		#pragma unroll
		for (i = 0; i < HELD_SLOTS; i++) {
			struct edge_key k = {};
			__u8 one = 1;

			if (i >= h->n)
				break;
			k.from = h->s[i].addr;
			k.from_gen = h->s[i].gen;
			k.to = addr;
			k.to_gen = gen;
			k.tid = tid;
			k.gates = gates ^ k.from;
			k.flags = ef | (h->s[i].flags & LEF_FROM_READ);
			if (bpf_map_lookup_elem(&lk_edges, &k))
				continue;
			/* a full dedup map sends the edge again rather than drop it */
			if (bpf_map_update_elem(&lk_edges, &k, &one, BPF_NOEXIST))
				count_lost(LOST_LOCKMAP, EV_LOCK_EDGE);
			send_edge(ctx, h, i, tid, pid, addr, gen, ret, ef, &stack_id, py);
		}
	}
	if (h->n < HELD_SLOTS) {
		ni = h->n;
		barrier_var(ni);	/* the mask after the barrier is for the verifier */
		i = ni & (HELD_SLOTS - 1);
		h->s[i].addr = addr;
		h->s[i].ret = ret;
		h->s[i].gen = gen;
		h->s[i].flags = (flags & LEF_TO_READ ? LEF_FROM_READ : 0) |
				(flags & LEF_FROM_TRY) | (flags & LEF_SEM ? LEF_FROM_SEM : 0);
		h->s[i].depth = 0;
		h->n = ni + 1;
	} else {
		h->overflow++;
		if (!h->overflow_sent) {
			h->overflow_sent = 1;
			send_lock_event(tid, addr, ret, LOCK_OP_HELD_OVERFLOW, HELD_SLOTS);
		}
	}
	if (flags & LEF_SEM)
		bpf_map_update_elem(&lk_sem_owner, &addr, &tid, BPF_ANY);
	if (py) {
		struct py_site_key k = {.addr = addr, .tid = tid};

		bpf_map_update_elem(&lk_py_sites, &k, py, BPF_ANY);
	}
out:
	if (lock_events)
		send_lock_event(tid, addr, ret, LOCK_OP_ACQUIRE, 0);
	return 0;
}

/* Remove addr from h; 1 when it was held there. */
static __always_inline int drop_held(struct held_set *h, __u64 addr)
{
	__u32 i, last;

	/* unrolled: constant indices satisfy the verifier */
	#pragma unroll
	for (i = 0; i < HELD_SLOTS; i++) {
		if (i >= h->n)
			break;
		if (h->s[i].addr != addr)
			continue;
		if (h->s[i].depth) {
			h->s[i].depth--;
			return 1;
		}
		/* found at i < n, so n >= 1: the mask only convinces the verifier */
		/* found at i < n, so n >= 1; the mask after the barrier is for the verifier */
		last = h->n - 1;
		barrier_var(last);
		last &= HELD_SLOTS - 1;
		if (last != i)
			h->s[i] = h->s[last];
		h->n = last;
		return 1;
	}
	return 0;
}

static __always_inline int on_release(struct pt_regs *ctx, int probe, int sem)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 addr = PT_REGS_PARM1(ctx);
	__u32 tid = (__u32)id;
	struct held_set *h;
	int dropped = 0;

	if (!tgid_traced(id >> 32))
		return 0;
	h = held_of(tid, 0);
	if (h) {
		dropped = drop_held(h, addr);
		if (!dropped && h->overflow)
			h->overflow--;
	}
	if (sem) {
		__u32 *owner = bpf_map_lookup_elem(&lk_sem_owner, &addr);

		/* a semaphore posted by another thread: release it where it was taken */
		if (!dropped && owner && *owner != tid) {
			__u32 o = *owner;
			struct held_set *oh = held_of(o, 0);

			if (oh)
				drop_held(oh, addr);
		}
		bpf_map_delete_elem(&lk_sem_owner, &addr);
	}
	if (lock_events || (sem && owner_events))
		send_lock_event(tid, addr, read_ret(ctx, probe), LOCK_OP_RELEASE, 0);
	return 0;
}

static __always_inline int acquire_probe(struct pt_regs *ctx, int probe, __u16 flags)
{
	if (!tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	return on_acquire(ctx, PT_REGS_PARM1(ctx), read_ret(ctx, probe), flags);
}

static __always_inline int try_enter(struct pt_regs *ctx, int probe, __u16 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct try_call c = {};
	__u32 tid = (__u32)id;

	if (!tgid_traced(id >> 32))
		return 0;
	c.addr = PT_REGS_PARM1(ctx);
	c.ret = read_ret(ctx, probe);
	c.flags = flags;
	if (bpf_map_update_elem(&lk_try, &tid, &c, BPF_ANY))
		count_lost(LOST_LOCKMAP, EV_LOCK);
	return 0;
}

static __always_inline int try_exit(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct try_call *c = bpf_map_lookup_elem(&lk_try, &tid);
	struct try_call cc;
	int rv = (int)PT_REGS_RC(ctx);

	if (!c)
		return 0;
	cc = *c;
	bpf_map_delete_elem(&lk_try, &tid);
	if (cc.wait) {
		/* a sem_wait returning: held since its entry; EINTR means it was not taken */
		struct held_set *h = held_of(tid, 0);

		if (rv == 0)
			send_lock_event(tid, cc.addr, cc.ret, LOCK_OP_SEM_TAKEN, 0);
		else if (h)
			drop_held(h, cc.addr);
		return 0;
	}
	if (rv == 0) {
		on_acquire(ctx, cc.addr, cc.ret, cc.flags | LEF_FROM_TRY);
		if (owner_events && (cc.flags & LEF_SEM))
			send_lock_event(tid, cc.addr, cc.ret, LOCK_OP_SEM_TAKEN, 0);
		return 0;
	}
	if (lock_events)
		send_lock_event(tid, cc.addr, cc.ret, LOCK_OP_TRY_FAIL, rv);
	return 0;
}

PROBE_CALL("uprobe", lk_mutex_lock, acquire_probe(ctx, LKP_MUTEX_LOCK, 0))
PROBE_CALL("uprobe", lk_mutex_unlock, on_release(ctx, LKP_MUTEX_UNLOCK, 0))
PROBE_CALL("uprobe", lk_mutex_trylock, try_enter(ctx, LKP_MUTEX_TRYLOCK, 0))
PROBE_CALL("uretprobe", lk_try_ret, try_exit(ctx))
PROBE_CALL("uprobe", lk_rw_rdlock, acquire_probe(ctx, LKP_RW_RDLOCK, LEF_TO_READ))
PROBE_CALL("uprobe", lk_rw_wrlock, acquire_probe(ctx, LKP_RW_WRLOCK, 0))
PROBE_CALL("uprobe", lk_rw_tryrdlock, try_enter(ctx, LKP_RW_TRYRDLOCK, LEF_TO_READ))
PROBE_CALL("uprobe", lk_rw_trywrlock, try_enter(ctx, LKP_RW_TRYWRLOCK, 0))
PROBE_CALL("uprobe", lk_rw_unlock, on_release(ctx, LKP_RW_UNLOCK, 0))

SEC("uprobe")
int lk_sem_wait(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct try_call c = {};

	acquire_probe(ctx, LKP_SEM_WAIT, LEF_SEM);
	/* owner mode: its uretprobe (lk_try_ret) says whether it was taken, and when */
	if (!owner_events || !tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	c.addr = PT_REGS_PARM1(ctx);
	c.ret = read_ret(ctx, LKP_SEM_WAIT);
	c.flags = LEF_SEM;
	c.wait = 1;
	if (bpf_map_update_elem(&lk_try, &tid, &c, BPF_ANY))
		count_lost(LOST_LOCKMAP, EV_LOCK);
	return 0;
}

/* Timed waits (CPython's acquire(timeout=...) is a sem_clockwait): a wait that can end without
 * the lock, so like a trylock it makes no edge of its own; what it took is held. */
PROBE_CALL("uprobe", lk_sem_clockwait, try_enter(ctx, LKP_SEM_CLOCKWAIT, LEF_SEM))
PROBE_CALL("uprobe", lk_sem_timedwait, try_enter(ctx, LKP_SEM_TIMEDWAIT, LEF_SEM))
PROBE_CALL("uprobe", lk_sem_trywait, try_enter(ctx, LKP_SEM_TRYWAIT, LEF_SEM))
PROBE_CALL("uprobe", lk_sem_post, on_release(ctx, LKP_SEM_POST, 1))

/* A lock at addr is gone: the next one there is a new lock. */
static __always_inline void bump_gen(__u64 addr)
{
	__u32 one = 1, *g;

	g = bpf_map_lookup_elem(&lk_gen, &addr);
	if (g)
		__sync_fetch_and_add(g, 1);
	else if (bpf_map_update_elem(&lk_gen, &addr, &one, BPF_NOEXIST))
		count_lost(LOST_LOCKMAP, EV_LOCK);
	lk_destroys = 1;
}

SEC("uprobe")
int lk_mutex_destroy(struct pt_regs *ctx)
{
	if (!tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	bump_gen(PT_REGS_PARM1(ctx));
	return 0;
}

/* A semaphore destroyed while taken is held by nobody any more: CPython frees a Condition's
 * waiter lock locked (taken, posted by notify(), taken again by the wait), which otherwise
 * stayed in its thread's held set for good, an edge source for every later lock. */
SEC("uprobe")
int lk_sem_destroy(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 addr = PT_REGS_PARM1(ctx);
	__u32 *owner;
	int k;

	if (!tgid_traced(id >> 32))
		return 0;
	owner = bpf_map_lookup_elem(&lk_sem_owner, &addr);
	if (owner) {
		/* owner mode: user space forgets its owner too */
		if (owner_events)
			send_lock_event((__u32)id, addr, read_ret(ctx, LKP_SEM_DESTROY),
					LOCK_OP_RELEASE, 0);
		struct held_set *oh = held_of(*owner, 0);

		/* unrolled: its re-entries too (a waiter lock is taken twice) */
		#pragma unroll
		for (k = 0; k < 3 && oh; k++)
			if (!drop_held(oh, addr))
				break;
		bpf_map_delete_elem(&lk_sem_owner, &addr);
	}
	bump_gen(addr);
	return 0;
}

/* A thread's held set dies with it (tids are reused). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(lk_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);

	if (!task_traced(0, p))
		return 0;
	bpf_map_delete_elem(&lk_held, &tid);
	return 0;
}
