/* model.c — the per-thread state machine, process tree and history (see model.h). */
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "model/futexkind.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "model/pystacks.h"
#include "trace/trace.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->exit_status = -1;
}

void model_free(struct model *m)
{
	if (m->keep.fold && m->keep.fold->release)
		m->keep.fold->release(m->keep.fold->ctx);
	for (size_t i = 0; i < m->nthreads; i++)
		free(m->threads[i].iv);
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i].cmdline);
		free(m->procs[i].exe);
		procmaps_free(&m->procs[i].maps);
	}
	model_py_free(m);
	for (size_t i = 0; i < m->nstacks; i++)
		free(m->stacks[i].ips);
	free(m->threads);
	free(m->procs);
	free(m->wakeups);
	free(m->futexes);
	free(m->stacks);
	free(m->losses);
	free(m->lost_cpu);
	free(m->lost_cpu_ts);
	idmap_free(&m->tid_index);
	idmap_free(&m->pid_index);
	idmap_free(&m->stack_index);
	idmap_free(&m->cv_words);
	idmap_free(&m->late_futex);
	fdtable_free(&m->fdt);
	free(m->rec.lock);
	free(m->rec.lock_edge);
	free(m->rec.waitcall);
	free(m->rec.gil);
	free(m->own_stream);
	for (size_t i = 0; i < m->kept.n; i++)
		free(m->kept.block[i]);
	free(m->kept.block);
	memset(m, 0, sizeof(*m));
}

struct m_thread *model_thread(const struct model *m, uint32_t tid)
{
	int64_t i = idmap_get(&m->tid_index, tid);

	return i < 0 ? NULL : &m->threads[i];
}

struct m_process *model_process(const struct model *m, uint32_t pid)
{
	int64_t i = idmap_get(&m->pid_index, pid);

	return i < 0 ? NULL : &m->procs[i];
}

uint32_t model_process_root(const struct model *m, uint32_t pid)
{
	const struct m_process *p;

	/* bounded: a ppid cycle (pid reuse) must not loop */
	for (int hops = 0; hops < 64 && (p = model_process(m, pid)) && p->ppid &&
			   p->ppid != pid && model_process(m, p->ppid); hops++)
		pid = p->ppid;
	return pid;
}

int model_is_python(const struct model *m, uint32_t pid)
{
	const struct m_process *p = model_process(m, pid);
	const char *s;

	if (!p)
		return 0;
	s = p->exe ? strrchr(p->exe, '/') : NULL;
	s = s ? s + 1 : p->exe ? p->exe : p->comm;
	return !strncmp(s, "python", 6) || !strncmp(p->comm, "python", 6);
}

const struct m_stack *model_stack(const struct model *m, int32_t id)
{
	int64_t i = id < 0 ? -1 : idmap_get(&m->stack_index, (uint32_t)id);

	return i < 0 ? NULL : &m->stacks[i];
}

const char *model_comm(const struct model *m, uint32_t tid, const char *tid0)
{
	const struct m_thread *t = tid ? model_thread(m, tid) : NULL;

	if (!tid)
		return tid0;
	return t && t->comm[0] ? t->comm : "?";
}

struct m_process *model_new_process(struct model *m, uint32_t pid, uint64_t ts)
{
	struct m_process *p;

	GROW(m->procs, m->cap_procs, m->nprocs + 1);
	p = &m->procs[m->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->born = ts;
	p->exit_code = -1;
	p->maps.pid = pid;
	idmap_put(&m->pid_index, pid, m->nprocs);
	m->nprocs++;
	return p;
}

static struct m_process *get_process(struct model *m, uint32_t pid, uint64_t ts)
{
	struct m_process *p = model_process(m, pid);

	/* a pid seen again after its process died is a new process (pid reuse) */
	if (p && !p->exited)
		return p;
	return model_new_process(m, pid, ts);
}

static struct m_thread *new_thread(struct model *m, uint32_t tid, uint64_t ts)
{
	struct m_thread *t;

	GROW(m->threads, m->cap_threads, m->nthreads + 1);
	t = &m->threads[m->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->born = ts;
	t->since = ts;
	t->state = TH_UNKNOWN;
	t->wakeup = -1;
	t->wait.stack_id = -1;
	t->wait.nr = -1;
	t->flags = IV_INFERRED;
	idmap_put(&m->tid_index, tid, m->nthreads);
	m->nthreads++;
	return t;
}

/* The thread with this tid; a tid seen again after its thread exited is a new thread. */
struct m_thread *model_get_thread(struct model *m, uint32_t tid, uint64_t ts)
{
	struct m_thread *t = model_thread(m, tid);

	if (t && !(t->state == TH_EXITED))
		return t;
	return new_thread(m, tid, ts);
}

/* Close the current interval at ts and enter a new state. */
static void set_state(struct model *m, struct m_thread *t, int state, uint64_t ts)
{
	if (ts < t->since)
		ts = t->since;	/* equal-time events from two CPUs: never a negative interval */
	if (ts > t->since || t->state == TH_BLOCKED) {
		struct m_interval v = {0}, *iv;

		v.start = t->since;
		v.end = ts;
		v.state = t->state;
		v.flags = t->flags;
		v.cpu = t->cpu;
		v.wakeup = -1;
		if (t->state == TH_BLOCKED) {
			v.w = t->wait;
			v.waker = state == TH_RUNNABLE || state == TH_RUNNING ? t->waker : 0;
			v.wakeup = state == TH_RUNNABLE || state == TH_RUNNING ? t->wakeup : -1;
		}
		t->time_in[v.state] += v.end - v.start;
		if (v.state == TH_BLOCKED)
			t->blocked_in[wait_kind_class(v.w.kind)] += v.end - v.start;
		if (m->keep.fold)
			m->keep.fold->interval(m->keep.fold->ctx, m, t, &v);
		iv = model_history_slot(m, t, &v);
		if (iv)
			*iv = v;
	}
	t->state = state;
	t->since = ts;
	t->flags = 0;
	if (state != TH_BLOCKED) {
		t->waker = 0;
		t->wakeup = -1;
	}
}

int wait_kind_of_syscall(int32_t nr)
{
	static const uint8_t kind[SW_NKINDS] = {
		[SW_OTHER] = WK_OTHER,	[SW_FUTEX] = WK_FUTEX,	[SW_SLEEP] = WK_SLEEP,
		[SW_READ] = WK_READ,	[SW_WRITE] = WK_WRITE,	[SW_POLL] = WK_POLL,
		[SW_ACCEPT] = WK_ACCEPT, [SW_CHILD] = WK_CHILD,	[SW_SIGNAL] = WK_SIGNAL,
	};

	return kind[syscall_wait(nr)];
}

static int is_thread_of(const struct model *m, uint32_t tid, uint32_t pid)
{
	const struct m_thread *t = model_thread(m, tid);

	return t && t->pid == pid && t->state != TH_EXITED;
}

static uint64_t cv_key(uint32_t pid, uint64_t addr)
{
	return addr * 31 + pid;
}

/*
 * One wait can look like a semaphore and be a condvar (the second signal word of a
 * pthread_cond_t sits at +4 and may be non-zero). A word ever waited on with no waiter counted
 * at +4 is no sem_t, and neither is the word next to such a condvar word: relabel those waits.
 */
static int really_condvar(const struct model *m, uint32_t pid, uint64_t addr)
{
	return idmap_get(&m->cv_words, cv_key(pid, addr)) >= 0 ||
	       idmap_get(&m->cv_words, cv_key(pid, addr + 4)) >= 0 ||
	       idmap_get(&m->cv_words, cv_key(pid, addr - 4)) >= 0;
}

int model_wait_is_condvar(const struct model *m, uint32_t pid, uint64_t addr)
{
	return m->cv_words.n && really_condvar(m, pid, addr);
}

struct waiter {
	const struct model *m;
	uint32_t pid;
};

/* Is tid a live thread of the waiter's process (a pthread_join target)? */
static int thread_of_waiter(const void *ctx, uint32_t tid)
{
	const struct waiter *w = ctx;

	return is_thread_of(w->m, tid, w->pid);
}

/* What a futex wait is: the glibc object from the words the probe read (model/futexkind.c). */
static void classify_futex(struct model *m, const struct m_thread *t,
			   const struct ev_switch_sleep *e, struct m_wait *w)
{
	static const uint8_t wk[FK_NKINDS] = {
		[FK_NONE] = WK_FUTEX,	 [FK_FUTEX] = WK_FUTEX,	    [FK_MUTEX] = WK_MUTEX,
		[FK_LOCK] = WK_LOCK,	 [FK_RWLOCK] = WK_RWLOCK,   [FK_CONDVAR] = WK_CONDVAR,
		[FK_SEMAPHORE] = WK_SEMAPHORE, [FK_BARRIER] = WK_FUTEX, [FK_JOIN] = WK_JOIN,
		[FK_NOT_WAIT] = WK_FUTEX,
	};
	struct waiter ctx = {m, t->pid};
	struct futex_wait fw;
	struct futex_kind k;

	w->kind = WK_FUTEX;
	w->fval = e->word0;
	if (e->nr != NR_FUTEX)
		return;	/* futex2 calls: no glibc user yet */
	futex_wait_of_switch(&fw, e);
	fw.is_thread = thread_of_waiter;
	fw.ctx = &ctx;
	futex_classify(&fw, &k);
	w->kind = wk[k.kind];
	w->holder = k.owner;
	/* glibc's sem_wait waits on CLOCK_REALTIME at value 0; its waiter count at +4 and
	 * `private` at +8 say a sem_t whose value 1 came between its check and the switch */
	w->sem_posted = k.kind == FK_CONDVAR && (fw.op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET &&
			(fw.op & FUTEX_CLOCK_REALTIME) && !fw.val && !(fw.uaddr & 7) &&
			e->word0 == 1 && e->word4 >= 1 && e->word4 < (1u << 20) &&
			e->word8 == ((fw.op & FUTEX_PRIVATE_FLAG) ^ FUTEX_PRIVATE_FLAG);
	/* a semaphore's waiter count includes its waiter: none at +4 means not a sem_t */
	if (k.kind == FK_CONDVAR && (fw.op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET && !e->word4)
		idmap_put(&m->cv_words, cv_key(t->pid, e->arg0), 1);
}

/* Why a thread that went to sleep waits: its syscall, and for a futex the glibc object. */
static struct m_wait wait_of_switch(struct model *m, const struct m_thread *t,
				    const struct ev_hdr *h)
{
	const struct ev_switch_sleep *e = (const void *)h;
	struct m_wait w = {.nr = -1, .stack_id = -1, .kind = WK_OTHER};

	if (h->type != EV_SWITCH_SLEEP)
		return w;	/* no context recorded: an in-kernel wait */
	/* no x86-64 syscall number needs more (an x32 one, bit 30 set, reads as none) */
	w.nr = e->nr >= -1 && e->nr <= INT16_MAX ? e->nr : -1;
	w.obj = e->arg0;
	w.ret_addr = e->ret_addr;
	w.stack_id = e->stack_id;
	w.kind = wait_kind_of_syscall(e->nr);
	if (w.kind == WK_FUTEX) {
		w.shared = e->nr == NR_FUTEX && !(e->arg1 & FUTEX_PRIVATE_FLAG);
		w.timed = !!(e->sw.flags & SWF_TIMED);
		classify_futex(m, t, e, &w);
	}
	else if (w.kind == WK_CHILD)
		w.obj = (uint64_t)(int64_t)(int32_t)e->arg0;
	return w;
}

static void on_switch(struct model *m, const struct ev_hdr *h)
{
	const struct ev_switch *s = (const void *)h;
	struct m_thread *prev = NULL, *next = NULL;

	if (h->tid) {
		prev = model_get_thread(m, h->tid, h->ts);
		if (prev->state != TH_RUNNING && prev->state != TH_UNKNOWN)
			m->anomalies[AN_SWITCH_OUT_NOT_RUNNING]++;
		if (prev->state == TH_UNKNOWN && prev->niv == 0)
			prev->cpu = s->cpu;	/* we learn it was running until now */
		prev->switches++;
		switch (s->prev_state) {
		case TS_RUNNABLE:
			prev->preemptions++;
			set_state(m, prev, TH_RUNNABLE, h->ts);
			break;
		case TS_DEAD:
			set_state(m, prev, TH_EXITED, h->ts);
			prev->exited = 1;
			if (!prev->died)
				prev->died = h->ts;
			break;
		case TS_SLEEPING:
		case TS_DISK: {
			struct m_wait w = wait_of_switch(m, prev, h);

			set_state(m, prev, TH_BLOCKED, h->ts);
			prev->wait = w;
			break;
		}
		default:
			set_state(m, prev, TH_BLOCKED, h->ts);
			memset(&prev->wait, 0, sizeof(prev->wait));
			prev->wait.kind = WK_OTHER;
			prev->wait.nr = -1;
			prev->wait.stack_id = -1;
			break;
		}
	}
	if (s->next_tid) {
		next = model_get_thread(m, s->next_tid, h->ts);
		if (next->state == TH_BLOCKED)
			m->anomalies[AN_SWITCH_IN_BLOCKED]++;
		else if (next->state == TH_RUNNING && next != prev)
			m->anomalies[AN_SWITCH_IN_RUNNING]++;
		set_state(m, next, TH_RUNNING, h->ts);
		next->cpu = s->cpu;
	}
}

static int timed_out_wakeup(const struct m_thread *t, const struct ev_wakeup *e);

/*
 * The probe's waker is the task current at sched_waking: the waker when a thread wakes another,
 * but in an interrupt (a timer's expiry, a disk's completion) whatever task the interrupt found
 * on that CPU. A thread wakes another only from a system call (a futex wake, a write, a kill)
 * or on its way out (after its exit record). So a task in no system call (waker_nr -1:
 * interrupted in user space or in an exception, or a kernel thread) woke nobody, and a sleep or
 * a wait for a signal ends by its timer unless a thread signalled it (kill, tgkill, an exiting
 * child's SIGCHLD); so does a timed futex wait whose waker was in a call that cannot end it
 * (timed_out_wakeup: the interrupt found a task, of any process, in some other system call).
 * Such a wakeup is the kernel's (docs/design.md).
 */
static int woken_by_kernel(const struct model *m, const struct m_thread *t,
			   const struct ev_wakeup *e)
{
	const struct m_thread *w;

	if (!e->waker_tid || e->hdr.type != EV_WAKEUP)
		return 0;
	if (e->waker_nr < 0) {
		w = model_thread(m, e->waker_tid);
		return !(w && w->died);
	}
	if (t->state != TH_BLOCKED)
		return 0;
	if (t->wait.kind == WK_SLEEP || t->wait.kind == WK_SIGNAL)
		return !syscall_signals(e->waker_nr);
	return timed_out_wakeup(t, e);
}

/*
 * A timed futex wait ended by its timer: no thread woke it. A thread ends one from a futex
 * call on its word (a wake, an unlock), with a signal, or by exiting (a join's word cleared);
 * a timer's wakeup is the kernel's (woken_by_kernel), or an interrupt's in some other call of
 * the thread it found on its CPU. What the wait's futex call returned, when recorded, says it
 * exactly (on_futex); this is for a trace without the calls (the default). A word woken through
 * another one (a requeue, FUTEX_WAKE_OP, which glibc 2.36 does not use) reads as timed out.
 */
static int timed_out_wakeup(const struct m_thread *t, const struct ev_wakeup *e)
{
	long nr = e->waker_nr;

	if (!t->wait.timed || e->hdr.type != EV_WAKEUP)
		return 0;
	if (!e->waker_tid)
		return 1;
	if (nr == NR_FUTEX || nr == NR_FUTEX_WAKE)
		return e->waker_arg0 != t->wait.obj;
	return !syscall_signals(nr);
}

static void on_wakeup(struct model *m, const struct ev_hdr *h)
{
	const struct ev_wakeup *e = (const void *)h;
	struct m_thread *t = model_get_thread(m, h->tid, h->ts);
	struct m_wakeup *wk, skip;
	struct ev_wakeup kernel;
	int64_t at;

	if (woken_by_kernel(m, t, e)) {
		kernel = *e;
		kernel.waker_tid = 0;
		kernel.waker_nr = -1;
		kernel.waker_arg0 = 0;
		e = &kernel;
	}
	at = model_wakeup_slot(m, t, e);

	if (at == (int64_t)m->nwakeups) {
		GROW_RAW(m->wakeups, m->cap_wakeups, m->nwakeups + 1);
		m->nwakeups++;
	}
	wk = at >= 0 ? &m->wakeups[at] : &skip;
	wk->ts = h->ts;
	wk->waker = e->waker_tid;
	wk->wakee = h->tid;
	wk->waker_nr = e->waker_nr;
	wk->obj = e->waker_arg0;
	wk->cpu = e->cpu;
	wk->is_new = h->type == EV_WAKEUP_NEW;
	t->wakeups_received++;
	/* A wakeup of a thread that is still on its CPU (it set itself to sleep and was woken
	 * before switching out) changes nothing we can see. */
	/* An unknown thread stays unknown: it may have been running when woken. */
	if (t->state == TH_BLOCKED) {
		/* a Python join's tstate Lock is released by the joined thread as it ends (a
		 * waker from elsewhere ended the wait otherwise: a kill) */
		if (t->wait.py && t->wait.kind == WK_JOIN && !t->wait.holder &&
		    e->waker_tid != t->tid && model_thread(m, e->waker_tid) &&
		    model_thread(m, e->waker_tid)->pid == t->pid)
			t->wait.holder = e->waker_tid;
		t->waker = e->waker_tid;
		t->wakeup = (int32_t)at;
		t->wait.timed_out = timed_out_wakeup(t, e);
		set_state(m, t, TH_RUNNABLE, h->ts);
	}
}

static void on_fork(struct model *m, const struct ev_hdr *h)
{
	const struct ev_fork *f = (const void *)h;
	struct m_process *parent = model_process(m, f->parent_pid);
	struct m_thread *t = model_get_thread(m, h->tid, h->ts);

	t->pid = f->child_pid;
	t->flags = 0;	/* born here: nothing before is unknown */
	memcpy(t->comm, f->comm, CLAB_COMM_LEN);
	t->comm[CLAB_COMM_LEN - 1] = 0;
	if (!parent) {
		parent = model_new_process(m, f->parent_pid, h->ts);
		memcpy(parent->comm, f->comm, CLAB_COMM_LEN);
	}
	if (f->flags & FORKF_THREAD) {
		parent->threads_created++;
		return;
	}
	parent->forks++;
	struct m_process *c = get_process(m, f->child_pid, h->ts);

	parent = model_process(m, f->parent_pid);	/* get_process may have moved the array */
	c->ppid = f->parent_pid;
	c->forked = 1;
	memcpy(c->comm, f->comm, CLAB_COMM_LEN);
	c->comm[CLAB_COMM_LEN - 1] = 0;
	t->is_leader = 1;
	/* a forked child starts with its parent's mappings */
	if (parent) {
		struct proc_maps copy = {.pid = c->pid};

		for (size_t i = 0; i < parent->maps.n; i++)
			procmaps_add(&copy, &parent->maps.v[i]);
		procmaps_free(&c->maps);
		c->maps = copy;
	}
}

static void on_exec(struct model *m, const struct ev_hdr *h)
{
	const struct ev_exec *e = (const void *)h;
	struct m_process *p = model_process(m, e->pid);
	struct m_thread *t;
	char fn[sizeof(e->filename) + 1];

	if (!p)
		p = model_new_process(m, e->pid, h->ts);
	p->execs++;
	memcpy(fn, e->filename, sizeof(e->filename));
	fn[sizeof(e->filename)] = 0;
	free(p->exe);
	p->exe = xstrdup(fn);
	memcpy(p->comm, e->comm, CLAB_COMM_LEN);
	p->comm[CLAB_COMM_LEN - 1] = 0;
	t = model_get_thread(m, h->tid, h->ts);
	t->pid = e->pid;
	t->is_leader = 1;
	t->renamed = 0;	/* exec's own rename came just before: the program has not named it */
	memcpy(t->comm, p->comm, CLAB_COMM_LEN);
}

static void on_exit_ev(struct model *m, const struct ev_hdr *h)
{
	const struct ev_exit *e = (const void *)h;
	struct m_thread *t = model_get_thread(m, h->tid, h->ts);

	if (!t->pid)
		t->pid = e->pid;
	t->died = h->ts;
	t->exit_code = e->exit_code;
	t->died_in_futex = (e->flags & EXITF_IN_SYSCALL) && syscall_wait(e->nr) == SW_FUTEX;
	if (e->flags & EXITF_GROUP_DEAD) {
		struct m_process *p = model_process(m, e->pid);

		if (!p)
			p = model_new_process(m, e->pid, h->ts);
		p->exited = 1;
		p->died = h->ts;
		p->exit_code = e->exit_code;
	}
}

static void on_futex(struct model *m, const struct ev_hdr *h)
{
	const struct ev_futex *e = (const void *)h;
	struct m_thread *t = model_get_thread(m, h->tid, h->ts);
	uint64_t dur = e->flags & FUTEXF_DUR_US ? (uint64_t)e->dur * 1000 : e->dur;
	struct m_futex *f;

	m->futex_calls++;
	if (!m->keep.no_futex_calls && model_keep_futex_call(m, t, h->ts)) {
		GROW_RAW(m->futexes, m->cap_futexes, m->nfutexes + 1);
		f = &m->futexes[m->nfutexes++];
		f->ts = h->ts;
		f->uaddr = e->uaddr;
		f->dur = dur;
		f->tid = h->tid;
		f->op = e->op;
		f->val = e->val;
		f->ret = e->ret;
		f->flags = e->flags;
	}
	switch (e->syscall == FUTEX_SYS_FUTEX ? e->op & FUTEX_CMD_MASK : 0xff) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		t->futex_waits++;
		break;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI:
		t->futex_wakes++;
		break;
	default:
		if (e->syscall == FUTEX_SYS_WAIT || e->syscall == FUTEX_SYS_WAITV)
			t->futex_waits++;
		else if (e->syscall == FUTEX_SYS_WAKE)
			t->futex_wakes++;
	}

	/* The call's end tells whether the wait it contained was timed and timed out: mark the
	 * blocked intervals on this address inside the call. */
	uint64_t from = h->ts > dur ? h->ts - dur : 0;

	for (size_t i = t->niv; i-- > 0;) {
		struct m_interval *iv = &t->iv[i];

		if (iv->end < from)
			break;
		if (iv->state == TH_BLOCKED && iv->w.obj == e->uaddr) {
			iv->w.timed = !!(e->flags & FUTEXF_TIMEOUT);
			iv->w.timed_out = e->ret == -110;	/* ETIMEDOUT */
		}
	}
	if (t->state == TH_BLOCKED && t->wait.obj == e->uaddr) {
		t->wait.timed = !!(e->flags & FUTEXF_TIMEOUT);
		t->wait.timed_out = e->ret == -110;
	}
	if (m->keep.fold) {
		struct m_futex call = {.ts = h->ts, .uaddr = e->uaddr, .dur = dur, .tid = h->tid,
				       .op = e->op, .val = e->val, .ret = e->ret, .flags = e->flags};

		m->keep.fold->futex_return(m->keep.fold->ctx, m, t, from, e->uaddr,
					   !!(e->flags & FUTEXF_TIMEOUT), e->ret == -110, &call);
	}
}

/* KEEP(m, field, h): a copy of h (model_keep.c) in rec.field when it is whole; one line per kept record type */
#define KEEP(m, f, h)                                                                     \
	do {                                                                                  \
		if ((h)->size >= sizeof(**(m)->rec.f)) {                                      \
			GROW_RAW((m)->rec.f, (m)->rec.cap_##f, (m)->rec.n##f + 1);            \
			(m)->rec.f[(m)->rec.n##f++] = model_keep_copy(m, h);                        \
		}                                                                             \
	} while (0)

void model_event(struct model *m, const struct ev_hdr *h)
{
	if (h->type < EV_META_TASK || h->type == EV_META_CLOCK) {
		if (!m->t_first || h->ts < m->t_first)
			m->t_first = h->ts;
		if (h->ts > m->t_last)
			m->t_last = h->ts;
	}
	m->events += h->type < EV_META_TASK;
	if (m->keep.stream_types)
		model_keep_stream(m, h);
	if (m->keep.fold && m->keep.fold->record)
		m->keep.fold->record(m->keep.fold->ctx, m, h);
	switch (h->type) {
	case EV_SWITCH:
	case EV_SWITCH_SLEEP:
		on_switch(m, h);
		break;
	case EV_WAKEUP:
	case EV_WAKEUP_NEW:
		on_wakeup(m, h);
		break;
	case EV_FORK:
		on_fork(m, h);
		break;
	case EV_EXEC:
		on_exec(m, h);
		break;
	case EV_EXIT:
		on_exit_ev(m, h);
		break;
	case EV_RENAME: {
		struct m_thread *t = model_get_thread(m, h->tid, h->ts);

		memcpy(t->comm, ((const struct ev_rename *)h)->comm, CLAB_COMM_LEN);
		t->comm[CLAB_COMM_LEN - 1] = 0;
		t->renamed = 1;	/* over a runtime's name (EV_META_THREAD_NAME), whatever the order */
		break;
	}
	case EV_FUTEX:
		on_futex(m, h);
		break;
	case EV_LOCK_PY:
		model_lock_py(m, h);
		break;
	case EV_PY_STACK:
		model_py_stack(m, h);
		break;
	case EV_LOCK:
		KEEP(m, lock, h);
		break;
	case EV_LOCK_EDGE:
		KEEP(m, lock_edge, h);
		break;
	case EV_WAITCALL:
		KEEP(m, waitcall, h);
		break;
	case EV_GIL:
		KEEP(m, gil, h);
		break;
	default:
		model_meta_event(m, h);	/* what the recorder says besides the probes */
		break;
	}
}

int model_uncertain(const struct model *m, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < m->nlosses; i++)
		if (m->losses[i].from <= to && from <= m->losses[i].to)
			return 1;
	return 0;
}

void model_finish(struct model *m, uint64_t end_ts)
{
	if (m->finished)
		return;
	m->finished = 1;
	fdtable_finish(&m->fdt);
	model_py_finish(m);
	if (!end_ts)
		end_ts = m->t_last;
	for (size_t i = 0; i < m->nthreads; i++) {
		struct m_thread *t = &m->threads[i];
		int st = t->state;

		/* an exit seen without the final switch-out (events lost, or the recording ended
		 * in between): the thread ran until its exit, not until the end; if it was switched
		 * in again after its exit record (still tearing down), until that switch */
		if (st != TH_EXITED && t->died) {
			set_state(m, t, TH_EXITED, t->died > t->since ? t->died : t->since);
			t->exited = 1;
			st = TH_EXITED;
		}
		if (st != TH_EXITED && (end_ts > t->since || st == TH_BLOCKED))
			set_state(m, t, st, end_ts);	/* close, and stay in the same state */
		t->state = st;
		if (t->wait.kind == WK_SEMAPHORE && m->cv_words.n &&
		    really_condvar(m, t->pid, t->wait.obj))
			t->wait.kind = WK_CONDVAR;
		for (size_t k = 0; k < t->niv; k++) {
			struct m_interval *iv = &t->iv[k];
			uint64_t d = iv->end - iv->start;

			if (iv->w.kind == WK_SEMAPHORE && m->cv_words.n &&
			    really_condvar(m, t->pid, iv->w.obj))
				iv->w.kind = WK_CONDVAR;

			if (m->nlosses && model_uncertain(m, iv->start, iv->end))
				iv->flags |= IV_UNCERTAIN;
			if (iv->flags & IV_UNCERTAIN)
				t->uncertain_ns += d;
		}
	}
}

uint64_t model_lost_total(const struct model *m)
{
	return m->lost[LOST_RINGBUF] + m->lost[LOST_TASKMAP] + m->lost[LOST_FUTEXMAP];
}

void model_set_stream(struct model *m, const struct ev_hdr *const *rec, size_t n)
{
	m->stream = rec;
	m->nstream = n;
}

int model_from_trace(struct model *m, const struct trace *t)
{
	model_init(m);
	for (size_t i = 0; i < t->nrec; i++)
		model_event(m, t->rec[i]);
	model_finish(m, 0);
	model_set_stream(m, (const struct ev_hdr *const *)t->rec, t->nrec);
	return 0;
}


const char *th_state_name(int s)
{
	static const char *n[] = {"unknown", "running", "runnable", "blocked", "exited"};

	return s >= 0 && s < TH_NSTATES ? n[s] : "?";
}

const char *wait_kind_name(int k)
{
	static const char *n[] = {"none", "mutex", "lock", "rwlock", "condvar", "semaphore",
				  "join", "futex", "sleep", "read", "write", "poll", "accept",
				  "child", "signal", "other"};

	return k >= 0 && k < WK_NKINDS ? n[k] : "?";
}

int wait_kind_class(int k)
{
	switch (k) {
	case WK_MUTEX: case WK_LOCK: case WK_RWLOCK: case WK_CONDVAR: case WK_SEMAPHORE:
	case WK_JOIN: case WK_FUTEX:
		return BC_FUTEX;
	case WK_SLEEP:
		return BC_SLEEP;
	case WK_READ: case WK_WRITE: case WK_POLL: case WK_ACCEPT:
		return BC_IO;
	case WK_CHILD:
		return BC_CHILD;
	default:
		return BC_OTHER;
	}
}

const char *block_class_name(int c)
{
	static const char *n[] = {"futex", "sleep", "io", "child", "other"};

	return c >= 0 && c < BC_NCLASSES ? n[c] : "?";
}

const char *anomaly_name(int a)
{
	static const char *n[] = {"switch-out of a thread not running",
				  "switch-in of a blocked thread with no wakeup seen",
				  "switch-in of a thread already running", "event after exit"};

	return a >= 0 && a < AN_NKINDS ? n[a] : "?";
}
