// SPDX-License-Identifier: GPL-2.0
/*
 * pyrecord.c — Python thread names for a recording (see pyrecord.h).
 *
 * When to read. A Thread is in threading._active, under its name, before its start() returns
 * (_bootstrap_inner registers it, then sets the _started event start() waits for), and 3.11
 * never puts the name in comm, so the name can only be read from memory while the process
 * lives. The recorder says when a thread appears (its EV_FORK, drained within a poll, 5 ms);
 * the process is then read at every poll until that thread has a name (or for PENDING_NS: a
 * thread started by _thread or by C code never gets one; the main thread is pending from when
 * the interpreter is found, till the program imports threading), so a thread is named at the first
 * poll after it registered, before a deadlock it takes part in can be acted on (the recorder
 * reads before its hooks run). Every READ_EVERY_NS after that, for renames (`t.name = `) and
 * the threads of a process found already running. A read is only thread states and one dict:
 * tens of process_vm_readv calls, a few tens of µs of the recorder's time, none of the
 * target's (nothing is stopped). The last read is at the end of the recording, for the
 * processes still alive.
 *
 * Threads that end first. A thread that exits while still pending (it started and ended
 * between two polls, or before its Thread was in _active at a poll) has left _active; its
 * EV_EXIT moves it to the ended list, and the next read looks for it once in
 * threading._dangling, the WeakSet of every Thread object the program still references
 * (py_read_dangling_names: its _native_id is the tid, its _name the name). The name record
 * then comes after the thread's exit, and the model gives it to the thread that ended. A
 * Thread the program no longer references when that read comes (not kept, or the program
 * ended within a poll) is gone from _dangling: its thread keeps its comm. That read is about
 * 16 process_vm_readv calls per Thread the program holds, so it is made only for threads that
 * ended unnamed, once per poll at most.
 *
 * Only what changed is written, so a recording holds one record per thread and name.
 *
 * Python stacks. Once a process's interpreter has a thread, the switch probe is told where a
 * thread's state is (bpf/pystack.h): the slot of CPython's autoTSSkey in glibc's struct
 * pthread, found by looking for a known thread state at each of the first 32 keys' slots
 * (fs_base + 0x310 + key * 16 + 8 on glibc 2.36 x86-64; a process where no slot holds it gets
 * no Python stacks, and says so with -v). Each EV_PY_STACK's frames are resolved here while the
 * process lives, once per (code, instruction) and process, into EV_META_PY_FRAME records; so
 * are the frames of the lock probes' EV_LOCK_PY (where a Lock of a lock-order edge was taken),
 * whose two Locks are named as a Lock slept on is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/source.h"
#include "lib/idmap.h"
#include "lib/procmem.h"
#include "lib/syscall_table.h"
#include "lib/util.h"
#include "python/pyfind.h"
#include "python/pylocks.h"
#include "python/pyread.h"
#include "python/pyrecord.h"
#include "trace/trace.h"
#include "pystack.h"

#define READ_EVERY_NS 100000000ull	/* 100 ms: renames, threads found running */
#define PENDING_NS 2000000000ull	/* a new thread not named after 2 s never will be */
#define SETUP_NS 5000000000ull		/* an interpreter with no thread after 5 s: stop looking */
#define NAME_READS 50000		/* read budget of one pass (a pass takes tens) */
#define FRAME_READS 20000		/* read budget of one stack's new frames */
#define TSS_BASE 0x310			/* glibc 2.36 x86-64: struct pthread.specific_1stblock */
#define TSS_KEYS 32			/* PTHREAD_KEY_2NDLEVEL_SIZE: keys in that first block */

struct pyrec_proc {
	pid_t pid;
	unsigned version;
	uint64_t runtime;
	int unreadable;		/* the version's layout is not known: never read again */
	pid_t *pending;		/* new threads not named yet: read at every poll */
	size_t npending, cap_pending;
	pid_t *ended;		/* pending ones that exited: looked for once in _dangling */
	size_t nended, cap_ended;
	uint64_t pending_until;	/* then give up on them */
	uint64_t next_ns;	/* the next periodic read */
	struct pyrec_names names;
	int stacks;		/* 1: the probe walks its stacks, -1: cannot, 0: not yet */
	uint64_t setup_until;	/* till then, read at every poll until stacks is set */
	int reader_ok;
	struct py_reader rd;	/* kept: its code cache serves every stack of the process */
	struct idmap frames;	/* prev_instr -> low bits of its code: EV_META_PY_FRAME written */
	struct idmap tried;	/* futex addresses looked up for a Lock's name: see want_name */
	uint64_t t0;		/* when the process was found */
	uint64_t *unnamed;	/* slept on, not looked up yet: at the next poll */
	uint64_t *later;	/* to look up again: see want_name */
	size_t nlater, cap_later;
	size_t nunnamed, cap_unnamed, ntried;
};

struct pyrec {
	struct pyrec_proc *v;
	size_t n, cap;
	struct bpf_source *src;	/* NULL: no Python stacks */
	struct idmap tid_pid;	/* the CPython processes' threads: tid -> pid */
};

int pyrec_names_update(struct pyrec_names *ns, pid_t tid, const char *name)
{
	struct pyrec_name *e = NULL;

	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].tid == tid) {
			e = &ns->v[i];
			break;
		}
	if (e && !strncmp(e->name, name, sizeof(e->name) - 1))
		return 0;
	if (!e) {
		GROW(ns->v, ns->cap, ns->n + 1);
		e = &ns->v[ns->n++];
		e->tid = tid;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 1;
}

void pyrec_names_free(struct pyrec_names *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static struct pyrec_proc *find(struct pyrec *st, pid_t pid)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->v[i].pid == pid)
			return &st->v[i];
	return NULL;
}

static ssize_t read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

static void write_name(struct trace_writer *w, pid_t pid, pid_t tid, const char *name)
{
	struct ev_meta_thread_name rec = {};

	rec.hdr.ts = now_mono_ns();
	rec.hdr.tid = (uint32_t)tid;
	rec.hdr.type = EV_META_THREAD_NAME;
	rec.pid = (uint32_t)pid;
	rec.runtime = TNR_PYTHON;
	trace_write2(w, &rec, sizeof(rec), name, strlen(name) + 1);
}

/* The offset from a thread's fs_base (its pthread_self, the thread state's thread_id) to the
 * TSD slot that holds its PyThreadState: the same for every thread that has one. 0: not found. */
static uint64_t tss_offset(const struct py_reader *r, pid_t pid)
{
	uint64_t off = 0;

	for (size_t i = 0; i < r->nthreads; i++) {
		const struct py_thread *t = &r->threads[i];
		uint64_t slot[TSS_KEYS * 2];

		if (!t->pthread || !t->tstate ||
		    procmem_read(pid, t->pthread + TSS_BASE, slot, sizeof(slot)) != sizeof(slot))
			continue;
		if (off) {
			uint64_t v = slot[(off - TSS_BASE) / 8];

			if (v && v != t->tstate)
				return 0;	/* another thread's slot holds something else */
			continue;
		}
		for (int k = 0; k < TSS_KEYS; k++)
			if (slot[k * 2 + 1] == t->tstate) {
				off = TSS_BASE + k * 16 + 8;
				break;
			}
	}
	return off;
}

/* Tell the probe how to walk this process's Python stacks (once its interpreter has threads). */
static void setup_stacks(struct pyrec *st, struct pyrec_proc *p, const struct py_reader *r)
{
	const struct py_layout *L = r->L;
	struct py_bpf_proc bp = {0};

	if (!st->src || p->stacks || !r->nthreads)
		return;
	/* not found yet: the interpreter makes its first thread state a moment before it
	 * creates the key and sets it; looked for again at the next poll (till setup_until) */
	bp.tss_off = tss_offset(r, p->pid);
	if (!bp.tss_off)
		return;
	bp.ts_cframe = L->ts_cframe;
	bp.cf_current_frame = L->cf_current_frame;
	bp.fr_code = L->fr_code;
	bp.fr_previous = L->fr_previous;
	bp.fr_prev_instr = L->fr_prev_instr;
	if (bp.fr_code + 8 > PY_FRAME_WINDOW ||
	    bp.fr_previous + 8 > PY_FRAME_WINDOW || bp.fr_prev_instr + 8 > PY_FRAME_WINDOW ||
	    source_set_python(st->src, p->pid, &bp)) {
		p->stacks = -1;
		return;
	}
	p->stacks = 1;
}

/* The threads that ended before a read found them in _active: named from the Thread objects
 * the program still holds (threading._dangling). Looked for once: an ended thread's object
 * that is not there now never will be. */
static void name_ended(struct pyrec_proc *p, struct py_reader *r, struct trace_writer *w)
{
	char **names = xcalloc(p->nended, sizeof(*names));

	py_read_dangling_names(r, p->ended, p->nended, names);
	for (size_t i = 0; i < p->nended; i++) {
		if (names[i] && pyrec_names_update(&p->names, p->ended[i], names[i]))
			write_name(w, p->pid, p->ended[i], names[i]);
		free(names[i]);
	}
	free(names);
	if (!r->partial)	/* else again at the next read, till the pending ones expire */
		p->nended = 0;
}

/* One pass over a process's thread states and threading._active (and _dangling for the threads
 * that ended unnamed); the changed names written. */
static void read_names(struct pyrec *st, struct pyrec_proc *p, struct trace_writer *w)
{
	struct py_reader r;
	pid_t pid = p->pid;

	if (py_reader_init(&r, read_pid, &pid, p->version, p->runtime)) {
		p->unreadable = 1;
		py_reader_free(&r);
		return;
	}
	r.no_frames = 1;
	r.max_reads = NAME_READS;
	if (!py_read_threads(&r))
		setup_stacks(st, p, &r);
	if (r.nthreads && py_read_thread_names(&r) > 0)
		for (size_t i = 0; i < r.nthreads; i++) {
			const struct py_thread *t = &r.threads[i];

			if (t->tid > 0)
				idmap_put(&st->tid_pid, (uint64_t)t->tid, pid);
			if (t->tid <= 0 || !t->name)
				continue;
			if (pyrec_names_update(&p->names, t->tid, t->name))
				write_name(w, pid, t->tid, t->name);
			for (size_t k = 0; k < p->npending; k++)
				if (p->pending[k] == t->tid)
					p->pending[k--] = p->pending[--p->npending];
		}
	if (p->nended && r.interp)
		name_ended(p, &r, w);
	py_reader_free(&r);
}

/* A thread that exits while pending: its name can only come from its Thread object now. */
static void thread_ended(struct pyrec *st, const struct ev_exit *e)
{
	struct pyrec_proc *p = find(st, (pid_t)e->pid);

	for (size_t k = 0; p && k < p->npending; k++)
		if (p->pending[k] == (pid_t)e->hdr.tid) {
			p->pending[k] = p->pending[--p->npending];
			GROW(p->ended, p->cap_ended, p->nended + 1);
			p->ended[p->nended++] = (pid_t)e->hdr.tid;
			return;
		}
}

/* Stamped 1 ns before ts, the record that first uses the frame: a reader in time order knows a
 * frame's name before the wait whose stack has it (the model says from its innermost frame what
 * a wait on a Lock waits for: model/pystacks.h), not only a poll later. */
static void write_frame(struct trace_writer *w, uint64_t ts, pid_t pid, uint64_t code,
			uint64_t prev_instr, int line, const char *qualname, const char *file)
{
	struct ev_meta_py_frame rec = {};
	char tail[1024];
	int n = snprintf(tail, sizeof(tail), "%s%c%s", qualname, 0, file);

	if (n < 0 || (size_t)n >= sizeof(tail))
		n = sizeof(tail) - 1;
	tail[n] = 0;
	rec.hdr.ts = ts ? ts - 1 : 0;
	rec.hdr.tid = (uint32_t)pid;
	rec.hdr.type = EV_META_PY_FRAME;
	rec.code = code;
	rec.prev_instr = prev_instr;
	rec.line = line;
	trace_write2(w, &rec, sizeof(rec), tail, (size_t)n + 1);
}

/*
 * Lock names. A thread of a CPython process that sleeps in a futex wait may wait for a
 * threading.Lock or RLock: its futex is the lock's semaphore. Each such address is looked up
 * once, at the next poll (the lock is still there: the thread is waiting for it), as the doctor
 * names a lock (pylocks_name_sem: a global of the main module, or one step inside one), and
 * an EV_META_SYNC_NAME is written for what is found, so the reports name "acct.lock" and not
 * the interpreter's C function. A lookup that found no name is tried again when the address is
 * slept on or taken again SYNC_RETRY_MS later: CPython frees a Lock's semaphore with the Lock
 * and malloc hands the memory to the next one, so a later Lock (the program's own, taken after
 * the imports' locks came and went) often sits where a nameless one was. At most SYNC_TRIES
 * addresses a process (a Condition's waits each sleep on a new lock that no global reaches)
 * and SYNC_PER_POLL a poll. A word of the GIL is named by its part of it (py_gil_part).
 */
#define SYNC_TRIES 4096
#define SYNC_PER_POLL 16
#define SYNC_RETRY_MS 50

/* p->tried: 0 named or queued; else the ms (since p->t0, plus 1) of a lookup that failed,
 * with SYNC_AGAIN set once the address is used again: it is in p->later, looked up again when
 * SYNC_RETRY_MS have passed (its next use may well be its last). */
#define SYNC_AGAIN 0x80000000u
static uint32_t tried_ms(const struct pyrec_proc *p)
{
	return (uint32_t)((now_mono_ns() - p->t0) / 1000000) + 1;
}

/* addr is to be named at the next poll, unless it was named, or looked up for nothing lately. */
static void want_name(struct pyrec_proc *p, uint64_t addr)
{
	int64_t at = idmap_get(&p->tried, addr);

	if (at == 0 || (at > 0 && ((uint32_t)at & SYNC_AGAIN)))
		return;
	if (at > 0 && tried_ms(p) < (uint32_t)at + SYNC_RETRY_MS) {
		idmap_put(&p->tried, addr, (uint32_t)at | SYNC_AGAIN);
		GROW(p->later, p->cap_later, p->nlater + 1);
		p->later[p->nlater++] = addr;
		return;
	}
	if (at < 0 && p->ntried >= SYNC_TRIES)
		return;
	p->ntried += at < 0;
	idmap_put(&p->tried, addr, 0);
	GROW(p->unnamed, p->cap_unnamed, p->nunnamed + 1);
	p->unnamed[p->nunnamed++] = addr;
}

static void sync_slept(struct pyrec *st, const struct ev_hdr *h)
{
	const struct ev_switch_sleep *e = (const void *)h;
	int64_t pid = idmap_get(&st->tid_pid, h->tid);
	struct pyrec_proc *p = pid >= 0 ? find(st, (pid_t)pid) : NULL;

	if (p && p->reader_ok && syscall_wait(e->nr) == SW_FUTEX)
		want_name(p, e->arg0);
}

static void write_sync_name(struct trace_writer *w, pid_t pid, uint64_t addr, const char *type,
			    const char *name)
{
	struct ev_meta_sync_name rec = {};

	rec.hdr.ts = now_mono_ns();
	rec.hdr.tid = (uint32_t)pid;
	rec.hdr.type = EV_META_SYNC_NAME;
	rec.addr = addr;
	snprintf(rec.type, sizeof(rec.type), "%s", type ? type : "");
	trace_write2(w, &rec, sizeof(rec), name, strlen(name) + 1);
}

/* The addresses used again after a lookup that failed: queued once SYNC_RETRY_MS passed. */
static void retry_syncs(struct pyrec_proc *p)
{
	uint32_t ms = tried_ms(p);

	for (size_t i = 0; i < p->nlater; i++) {
		int64_t at = idmap_get(&p->tried, p->later[i]);

		if (at > 0 && ms < ((uint32_t)at & ~SYNC_AGAIN) + SYNC_RETRY_MS)
			continue;
		idmap_put(&p->tried, p->later[i], 0);
		GROW(p->unnamed, p->cap_unnamed, p->nunnamed + 1);
		p->unnamed[p->nunnamed++] = p->later[i];
		p->later[i--] = p->later[--p->nlater];
	}
}

/* The addresses slept on since the last poll: the Locks among them named. */
static void name_syncs(struct pyrec_proc *p, struct trace_writer *w)
{
	size_t n = p->nunnamed < SYNC_PER_POLL ? p->nunnamed : SYNC_PER_POLL;
	char name[192];
	const char *type;

	p->rd.nreads = 0;
	p->rd.max_reads = NAME_READS;
	if (!p->rd.interp &&
	    py_read_ptr(&p->rd, p->rd.runtime + p->rd.L->rt_interp_head, &p->rd.interp))
		return;
	for (size_t i = 0; i < n; i++) {
		const char *gil = py_gil_part(p->rd.L, p->rd.runtime, p->unnamed[i]);
		char *tl;

		/* the interpreter's own: by what it is, not by the address of _PyRuntime's word */
		if (gil) {
			write_sync_name(w, p->pid, p->unnamed[i], "GIL", gil);
			continue;
		}
		if (pylocks_name_sem(&p->rd, p->unnamed[i], name, sizeof(name), &type)) {
			idmap_put(&p->tried, p->unnamed[i], tried_ms(p));
			continue;
		}
		/* a Thread's _tstate_lock is what join() waits on: say the join */
		tl = strstr(name, "._tstate_lock");
		if (tl && !tl[13] && tl > name) {
			char join[sizeof(name) + 8];

			*tl = 0;
			snprintf(join, sizeof(join), "join(%s)", name);
			write_sync_name(w, p->pid, p->unnamed[i], "Thread", join);
			continue;
		}
		write_sync_name(w, p->pid, p->unnamed[i], type, name);
	}
	p->nunnamed -= n;
	memmove(p->unnamed, p->unnamed + n, p->nunnamed * sizeof(*p->unnamed));
}

/* Frames from a probe: those not seen before are named now, while they live. */
static void name_frames(struct pyrec_proc *p, uint64_t ts, const struct ev_py_frame *fr,
			size_t n, struct trace_writer *w)
{
	p->rd.nreads = 0;
	p->rd.max_reads = FRAME_READS;
	for (size_t i = 0; i < n; i++) {
		uint64_t code = fr[i].code, pi = fr[i].prev_instr;
		int64_t had = idmap_get(&p->frames, pi);
		const char *q, *f;

		if (had >= 0 && (uint32_t)had == (uint32_t)code)
			continue;
		idmap_put(&p->frames, pi, (uint32_t)code);
		q = py_code_qualname(&p->rd, code);
		f = py_code_file(&p->rd, code);
		write_frame(w, ts, p->pid, code, pi, q ? py_code_line(&p->rd, code, pi) : 0,
			    q ? q : "?", f ? f : "?");
	}
}

/* The frames of a lock-order edge's two acquisitions (EV_LOCK_PY), and its two Locks named
 * (a semaphore's address is its futex word's, as a sleeper's). */
static void lock_frames(struct pyrec *st, const struct ev_lock_py *e, struct trace_writer *w)
{
	struct pyrec_proc *p = find(st, (pid_t)e->pid);

	if (!p || !p->reader_ok)
		return;
	want_name(p, e->from);
	want_name(p, e->to);
	name_frames(p, e->hdr.ts, e->frames, e->nfrom < LOCK_PY_FRAMES ? e->nfrom : LOCK_PY_FRAMES,
		    w);
	name_frames(p, e->hdr.ts, e->frames + LOCK_PY_FRAMES,
		    e->nto < LOCK_PY_FRAMES ? e->nto : LOCK_PY_FRAMES, w);
}

static void pr_event(void *vst, const struct ev_hdr *h, struct trace_writer *w)
{
	const struct ev_py_stack *e = (const void *)h;
	struct pyrec_proc *p;
	size_t n;

	if (h->type == EV_SWITCH_SLEEP)
		sync_slept(vst, h);
	if (h->type == EV_EXIT && h->size >= sizeof(struct ev_exit))
		thread_ended(vst, (const void *)h);
	if (h->type == EV_LOCK_PY && h->size >= sizeof(struct ev_lock_py))
		lock_frames(vst, (const void *)h, w);
	if (h->type != EV_PY_STACK || h->size < offsetof(struct ev_py_stack, frames))
		return;
	p = find(vst, (pid_t)e->pid);
	if (!p || !p->reader_ok)
		return;
	n = (h->size - offsetof(struct ev_py_stack, frames)) / sizeof(e->frames[0]);
	if (e->nframes < n)
		n = e->nframes;
	name_frames(p, h->ts, e->frames, n, w);
}

static void *pr_open(struct bpf_source *src)
{
	struct pyrec *st = xcalloc(1, sizeof(struct pyrec));

	st->src = src;
	return st;
}

static void pr_thread(void *vst, pid_t pid, pid_t tid);

/* Maps changed: a process not known as CPython yet is looked for the interpreter (only files
 * named python3.N or libpython3.N are opened, so another program costs a scan of its maps). */
static void pr_maps(void *vst, pid_t pid, const struct proc_maps *m)
{
	struct pyrec *st = vst;
	struct pyrec_proc *p;
	struct py_found f;

	if (find(st, pid) || py_find(pid, m, &f) <= 0)
		return;
	GROW(st->v, st->cap, st->n + 1);
	for (size_t i = 0; i < st->n; i++)
		st->v[i].rd.ctx = &st->v[i].pid;	/* the array may have moved */
	p = &st->v[st->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->version = f.version;
	p->runtime = f.runtime;
	p->reader_ok = !py_reader_init(&p->rd, read_pid, &p->pid, f.version, f.runtime);
	/* once a process, as the doctor says it: its threads keep their comm and C stacks */
	if (!p->reader_ok)
		fprintf(stderr, "conlab: pid %d: %s\n", (int)pid, p->rd.why);
	p->t0 = now_mono_ns();
	p->setup_until = p->t0 + SETUP_NS;
	/* the main thread is named once the program imports threading: pending like a new one */
	pr_thread(st, pid, pid);
}

static void pr_thread(void *vst, pid_t pid, pid_t tid)
{
	struct pyrec *st = vst;
	struct pyrec_proc *p = find(st, pid);

	if (!p)
		return;
	idmap_put(&st->tid_pid, (uint64_t)tid, pid);
	GROW(p->pending, p->cap_pending, p->npending + 1);
	p->pending[p->npending++] = tid;
	p->pending_until = now_mono_ns() + PENDING_NS;
}

static void pr_tick(void *vst, uint64_t now, struct trace_writer *w)
{
	struct pyrec *st = vst;

	for (size_t i = 0; i < st->n; i++) {
		struct pyrec_proc *p = &st->v[i];

		if ((p->npending || p->nended) && now >= p->pending_until)
			p->npending = p->nended = 0;
		if (p->unreadable)
			continue;
		if (p->nlater)
			retry_syncs(p);
		if (p->nunnamed && p->reader_ok)
			name_syncs(p, w);
		/* right after exec the interpreter has no thread yet; the stacks of its first
		 * blocking calls need the probe set up as soon as it has one */
		if (!p->npending && !p->nended && now < p->next_ns &&
		    !(st->src && !p->stacks && now < p->setup_until))
			continue;
		p->next_ns = now + READ_EVERY_NS;
		read_names(st, p, w);
	}
}

static void proc_free(struct pyrec *st, struct pyrec_proc *p)
{
	if (p->stacks > 0 && st->src)
		source_set_python(st->src, (uint32_t)p->pid, NULL);
	pyrec_names_free(&p->names);
	free(p->pending);
	free(p->ended);
	py_reader_free(&p->rd);
	idmap_free(&p->frames);
	idmap_free(&p->tried);
	free(p->unnamed);
	free(p->later);
}

static void pr_forget(void *vst, pid_t pid)
{
	struct pyrec *st = vst;
	struct pyrec_proc *p = find(st, pid);

	if (!p)
		return;
	proc_free(st, p);
	*p = st->v[--st->n];
	/* the reader reads through &p->pid: the moved entry's must follow it */
	if (p < st->v + st->n)
		p->rd.ctx = &p->pid;
}

static void pr_close(void *vst, struct trace_writer *w)
{
	struct pyrec *st = vst;

	for (size_t i = 0; i < st->n; i++) {
		if (w && !st->v[i].unreadable)
			read_names(st, &st->v[i], w);
		proc_free(st, &st->v[i]);
	}
	free(st->v);
	idmap_free(&st->tid_pid);
	free(st);
}

const struct record_lang pyrecord_lang = {
	.open = pr_open,
	.maps = pr_maps,
	.thread = pr_thread,
	.tick = pr_tick,
	.event = pr_event,
	.forget = pr_forget,
	.close = pr_close,
};
