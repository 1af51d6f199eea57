/* recorder.c — the recording loop (see recorder.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "capture/gilprobe.h"
#include "capture/fdscan.h"
#include "lib/idmap.h"
#include "symbols/procmaps.h"
#include "capture/preload/conlab_preload.h"
#include "capture/preload_shm.h"
#include "capture/recorder.h"
#include "capture/source.h"
#include "capture/target.h"
#include "trace/trace.h"
#include "lib/procdir.h"
#include "lib/util.h"

#define POLL_NS 5000000ull		/* drain every 5 ms: no wakeup per record */
#define MAPS_EVERY_NS 100000000ull	/* re-read traced processes' maps this often */
#define MAX_CPUS 1024
#define MAPS_BUF (1 << 20)
/* --locks=preload: the library's event ring, 320 KiB. On lockloop --work 0 here a ring of
 * 8,192 calls took the recorder 84 ns a record and the loop 0.6 µs an iteration; 262,144 (out
 * of the cache) 380 ns and 2.5 µs (docs/performance.md). */
#define PRELOAD_RING_MAX 8192u

/* A traced process whose memory map we keep in the trace. */
struct rproc {
	pid_t pid;
	uint32_t maps_crc;	/* of /proc/PID/maps, to notice new mappings */
	int fast_polls;		/* right after exec/fork: re-read at every poll for a while */
	int gone;
};

/* Build-ids by file path: an interpreter maps new libraries all the time, and each change of
 * the maps would otherwise open every mapped ELF file again. */
struct buildid {
	uint8_t id[20];
	uint32_t len;
};

struct recorder {
	const struct record_opts *o;
	struct idmap bid_index;		/* hash of a path -> bids[] */
	struct buildid *bids;
	size_t nbids, cap_bids;
	struct record_result *res;
	struct trace_writer w;
	struct bpf_source *src;
	struct rproc *procs;
	size_t nprocs, cap_procs;
	int32_t *stack_ids;		/* seen in records, not yet written */
	size_t nstacks, cap_stacks;
	uint8_t *stack_done;		/* bitmap over stack ids already written */
	size_t stack_done_bytes;
	uint64_t lost_total;
	int live_procs;
	int stop;			/* a hook asked to stop: REC_HOOK_* */
	char *maps_buf;			/* MAPS_BUF bytes: /proc/PID/maps of a big process */
	struct ev_meta_lost *lost;	/* MAX_CPUS */
	uint64_t *lost_prev;		/* MAX_CPUS * LOST_NKINDS: last written counters */
	uint64_t lost_read_ts;		/* when the read that gave lost_prev began */
	int write_error_said;		/* the failed write was reported already */
	int cmd_reaped;			/* the command ended before its exec stop: status below */
	int cmd_status;
	struct fdscan *fds;		/* what each traced process's fds are (EV_META_FD) */
	double cpu0_ms;			/* own CPU time when the target started */
	const struct record_lang *lang;	/* o->lang, and its state */
	void *lang_st;
	struct preload_shm shm;		/* --locks through the library: its region */
	int preload;
};

/* Set from the signal handler: the only global, since handlers take no context. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static struct rproc *find_proc(struct recorder *r, pid_t pid)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].pid == pid)
			return &r->procs[i];
	return NULL;
}

static struct rproc *add_proc(struct recorder *r, pid_t pid)
{
	struct rproc *p = find_proc(r, pid);

	if (p) {
		if (p->gone)
			r->live_procs++;
		p->gone = 0;
		return p;
	}
	GROW(r->procs, r->cap_procs, r->nprocs + 1);
	p = &r->procs[r->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fast_polls = 20;
	r->live_procs++;
	return p;
}

/* A traced process has ended: its exit record came, or it is gone from /proc before that
 * record (which the end of the recording still drains). The one place live_procs drops. */
static void proc_gone(struct recorder *r, struct rproc *p)
{
	if (p->gone)
		return;
	p->gone = 1;
	r->live_procs--;
	fdscan_forget(r->fds, p->pid);
}

static void write_cmdline(struct recorder *r, pid_t pid)
{
	char path[64], buf[4096];
	struct ev_meta_cmdline c = {};
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small_file(path, buf, sizeof(buf));
	if (n <= 0)
		return;
	c.hdr.ts = now_mono_ns();
	c.hdr.tid = pid;
	c.hdr.type = EV_META_CMDLINE;
	trace_write2(&r->w, &c, sizeof(c), buf, n);
}

static void write_task(struct recorder *r, pid_t pid, pid_t tid)
{
	char path[96], buf[512], *p;
	struct ev_meta_task t = {};
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return;
	p = strchr(buf, '(');
	char *q = strrchr(buf, ')');

	if (!p || !q)
		return;
	memcpy(t.comm, p + 1, q - p - 1 < CLAB_COMM_LEN - 1 ? q - p - 1 : CLAB_COMM_LEN - 1);
	sscanf(q + 2, "%*c %d", &ppid);
	t.hdr.ts = now_mono_ns();
	t.hdr.tid = tid;
	t.hdr.type = EV_META_TASK;
	t.hdr.size = sizeof(t);
	t.pid = pid;
	t.ppid = ppid;
	trace_write(&r->w, &t, sizeof(t));
}

/* The threads that exist already when we attach to a running process. */
static int write_one(void *r, pid_t pid, pid_t tid)
{
	write_task(r, pid, tid);
	return 0;
}

static void write_threads(struct recorder *r, pid_t pid)
{
	proc_each_tid(pid, write_one, r);
}

static void fill_build_id(struct recorder *r, struct map_entry *e)
{
	uint64_t h = idmap_str_key(0, e->path);
	int64_t at = idmap_get(&r->bid_index, h);

	if (at < 0) {
		GROW(r->bids, r->cap_bids, r->nbids + 1);
		at = r->nbids++;
		r->bids[at].len = elf_build_id(e->path, r->bids[at].id, sizeof(r->bids[at].id));
		idmap_put(&r->bid_index, h, at);
	}
	memcpy(e->build_id, r->bids[at].id, sizeof(e->build_id));
	e->build_id_len = r->bids[at].len;
}

/* Re-read a process's maps when they changed; write them and tell BPF the program's text. */
static void refresh_maps(struct recorder *r, struct rproc *p)
{
	char path[64], exe[PATH_MAX];
	struct proc_maps m = {};
	char *buf = r->maps_buf;
	uint64_t lo, hi;
	ssize_t n;
	uint32_t crc;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	n = read_small_file(path, buf, MAPS_BUF);
	if (n <= 0) {
		if (!pid_alive(p->pid))
			proc_gone(r, p);
		return;
	}
	crc = crc32(0, (const uint8_t *)buf, n);
	if (crc == p->maps_crc)
		return;
	p->maps_crc = crc;
	if (procmaps_read(&m, p->pid, 0))
		return;
	for (size_t i = 0; i < m.n; i++)
		if (m.v[i].path[0] == '/')
			fill_build_id(r, &m.v[i]);
	if (r->lang)
		r->lang->maps(r->lang_st, p->pid, &m);

	struct ev_meta_maps_reset rs = {{now_mono_ns(), p->pid, EV_META_MAPS_RESET, sizeof(rs)}};

	trace_write(&r->w, &rs, sizeof(rs));
	for (size_t i = 0; i < m.n; i++) {
		const struct map_entry *e = &m.v[i];
		struct ev_meta_maps mm = {};
		char v[16];

		/* --gil: a CPython interpreter or libpython mapped: its GIL uprobes, once a file */
		if (r->o->gil && (e->prot & 4) && gil_python_version(e->path, v, sizeof(v)))
			source_attach_gil(r->src, e->path);

		if (e->path[0] != '/')	/* file-backed only: that is what symbols come from */
			continue;
		mm.hdr.ts = rs.hdr.ts;
		mm.hdr.tid = p->pid;
		mm.hdr.type = EV_META_MAPS;
		mm.start = e->start;
		mm.end = e->end;
		mm.pgoff = e->pgoff;
		mm.prot = e->prot;
		memcpy(mm.build_id, e->build_id, sizeof(mm.build_id));
		mm.build_id_len = e->build_id_len;
		trace_write2(&r->w, &mm, sizeof(mm), e->path, strlen(e->path) + 1);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		if (!procmaps_exe_text(&m, exe, &lo, &hi))
			source_set_text(r->src, p->pid, lo, hi);
	}
	procmaps_free(&m);
}

static void emit_fd(void *ctx, struct ev_meta_fd *rec, const char *desc)
{
	struct recorder *r = ctx;

	trace_write2(&r->w, rec, sizeof(*rec), desc, strlen(desc) + 1);
}

/* The maps and, on the same schedule, the fds (only the new or changed ones are written). */
static void refresh_proc(struct recorder *r, struct rproc *p)
{
	refresh_maps(r, p);
	if (!p->gone)
		fdscan_process(r->fds, p->pid, emit_fd, r);
}

static void note_stack(struct recorder *r, int32_t id)
{
	if (id < 0)
		return;
	if ((size_t)id / 8 >= r->stack_done_bytes) {
		size_t nb = ((size_t)id / 8 + 1) * 2;

		r->stack_done = xrealloc(r->stack_done, nb);
		memset(r->stack_done + r->stack_done_bytes, 0, nb - r->stack_done_bytes);
		r->stack_done_bytes = nb;
	}
	if (r->stack_done[id / 8] & (1 << (id % 8)))
		return;
	r->stack_done[id / 8] |= 1 << (id % 8);
	GROW(r->stack_ids, r->cap_stacks, r->nstacks + 1);
	r->stack_ids[r->nstacks++] = id;
}

/* Stacks are written by id once; the kernel map keeps them for the whole recording. */
static void write_stacks(struct recorder *r)
{
	struct {
		struct ev_meta_stack s;
		uint64_t ips[32];
	} rec;

	for (size_t i = 0; i < r->nstacks; i++) {
		int n = source_stack(r->src, r->stack_ids[i], rec.ips, 32);

		if (n < 0)
			continue;
		memset(&rec.s, 0, sizeof(rec.s));
		rec.s.hdr.ts = now_mono_ns();
		rec.s.hdr.tid = r->stack_ids[i];
		rec.s.hdr.type = EV_META_STACK;
		rec.s.hdr.size = sizeof(rec.s) + n * 8;
		rec.s.nframes = n;
		trace_write(&r->w, &rec, rec.s.hdr.size);
	}
	r->nstacks = 0;
}

/* Loss counters are read at every poll and written only when they grew, so that a report can
 * place each loss within a few milliseconds (the window it marks uncertain). A loss counted
 * now happened after the previous read began: the counters of that read go first, stamped
 * with its start, so the window of each CPU runs from there to now and not from its last
 * growth, which may be seconds earlier. */
static void write_lost(struct recorder *r)
{
	struct ev_meta_lost *l = r->lost;
	uint64_t before = now_mono_ns();
	int n = source_lost(r->src, l, MAX_CPUS);
	uint64_t total = 0;

	for (int c = 0; c < n; c++) {
		struct ev_meta_lost prev = l[c];
		int grew = 0;

		memset(prev.by_type, 0, sizeof(prev.by_type));
		prev.hdr.ts = r->lost_read_ts;
		for (int k = 0; k < LOST_NKINDS; k++) {
			grew |= l[c].count[k] != r->lost_prev[c * LOST_NKINDS + k];
			prev.count[k] = r->lost_prev[c * LOST_NKINDS + k];
			r->lost_prev[c * LOST_NKINDS + k] = l[c].count[k];
			if (k == LOST_RINGBUF || k == LOST_TASKMAP || k == LOST_FUTEXMAP)
				total += l[c].count[k];
		}
		if (grew) {
			trace_write(&r->w, &prev, sizeof(prev));
			trace_write(&r->w, &l[c], sizeof(l[c]));
		}
	}
	if (n > 0)
		r->lost_read_ts = before;
	r->lost_total = total;
}

static int on_record(void *ctx, const struct ev_hdr *h, size_t size)
{
	struct recorder *r = ctx;
	struct rproc *p;

	if (size < sizeof(*h) || h->size != size)
		return 0;
	trace_write(&r->w, h, size);
	r->res->events++;
	switch (h->type) {
	case EV_FORK: {
		const struct ev_fork *f = (const void *)h;

		if (!(f->flags & FORKF_THREAD) && !r->o->all)
			add_proc(r, f->child_pid);
		if ((f->flags & FORKF_THREAD) && r->lang)
			r->lang->thread(r->lang_st, f->child_pid, h->tid);
		break;
	}
	case EV_EXEC:
		if (!r->o->all && (p = add_proc(r, ((const struct ev_exec *)h)->pid))) {
			p->maps_crc = 0;
			p->fast_polls = 20;
			write_cmdline(r, p->pid);
		}
		if (r->lang)
			r->lang->forget(r->lang_st, ((const struct ev_exec *)h)->pid);
		break;
	case EV_EXIT:
		if (r->lang)	/* a thread the runtime has not named yet: named from its object */
			r->lang->event(r->lang_st, h, &r->w);
		if (((const struct ev_exit *)h)->flags & EXITF_GROUP_DEAD) {
			p = find_proc(r, ((const struct ev_exit *)h)->pid);
			if (p)
				proc_gone(r, p);
			if (r->lang)
				r->lang->forget(r->lang_st, ((const struct ev_exit *)h)->pid);
		}
		break;
	case EV_SWITCH_SLEEP:
		note_stack(r, ((const struct ev_switch_sleep *)h)->stack_id);
		if (r->lang)	/* what it sleeps on may be a runtime's lock (a Python Lock) */
			r->lang->event(r->lang_st, h, &r->w);
		break;
	case EV_PY_STACK:
	case EV_LOCK_PY:
		if (r->lang)
			r->lang->event(r->lang_st, h, &r->w);
		break;
	}
	if (r->o->on_event) {
		int s = r->o->on_event(r->o->hook_ctx, h);

		if (s > r->stop)
			r->stop = s;
	}
	return 0;
}

static void status_line(struct recorder *r, uint64_t t0, int final)
{
	double s = (now_mono_ns() - t0) / 1e9;

	if (final) {
		fprintf(stderr, "%sconlab: recorded %llu events in %.1f s into %s (%.1f MB, %.0f bytes/event), "
			"%llu lost\n", r->o->status && isatty(2) ? "\r\033[K" : "",
			(unsigned long long)r->res->events, s, r->o->output, r->w.bytes / 1e6,
			r->res->events ? (double)r->w.bytes / r->res->events : 0.0,
			(unsigned long long)r->lost_total);
		return;
	}
	if (!r->o->status || !isatty(2))
		return;
	fprintf(stderr, "\r\033[K[conlab] %.1f s  %llu events  %.0f/s  %llu lost", s,
		(unsigned long long)r->res->events, s > 0 ? r->res->events / s : 0.0,
		(unsigned long long)r->lost_total);
}

/* CONLAB_BPF_STATS: the recorder's own CPU time per event (drain, metadata, compression,
 * writing), for the drain benchmark: one CPU's worth of it is the rate it could keep up with. */
static double cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
	       ru.ru_stime.tv_usec / 1e3;
}

static void recorder_cpu(const struct recorder *r)
{
	double ms = cpu_ms() - r->cpu0_ms;

	fprintf(stderr, "conlab: recorder CPU %.1f ms after the start, %.0f ns/event\n", ms,
		r->res->events ? ms * 1e6 / r->res->events : 0.0);
}

/* -a: name every thread that exists now; later ones come with their fork records. */
static int write_process(void *ctx, pid_t pid)
{
	if (pid != getpid())
		write_threads(ctx, pid);
	return 0;
}

static void write_all_tasks(struct recorder *r)
{
	proc_each_pid(write_process, r);
}

static int start_targets(struct recorder *r, struct target_cmd *tc)
{
	const struct record_opts *o = r->o;

	if (o->all)
		write_all_tasks(r);

	for (int i = 0; i < o->npids; i++) {
		if (!pid_alive(o->pids[i]))
			return fail("no such process: %d", (int)o->pids[i]);
		if (source_trace_pid(r->src, o->pids[i]) || source_attach_locks(r->src, o->pids[i]))
			return -1;
		write_threads(r, o->pids[i]);
		write_cmdline(r, o->pids[i]);
		refresh_proc(r, add_proc(r, o->pids[i]));
	}
	if (o->cmd) {
		struct ev_meta_task t = {};
		const char *base = strrchr(o->cmd[0], '/');
		int e;

		if (r->preload)
			preload_shm_env_set(&r->shm);
		e = target_spawn(tc, o->cmd, o->sandbox);
		if (r->preload)
			preload_shm_env_unset(&r->shm);
		if (e)
			return -1;
		r->res->cmd_pid = tc->pid;
		if (source_trace_pid(r->src, tc->pid) || source_attach_locks(r->src, tc->pid)) {
			kill(tc->pid, SIGKILL);
			return -1;
		}
		t.hdr.ts = now_mono_ns();
		t.hdr.tid = tc->pid;
		t.hdr.type = EV_META_TASK;
		t.hdr.size = sizeof(t);
		t.pid = tc->pid;
		t.ppid = getpid();
		snprintf(t.comm, sizeof(t.comm), "%s", base ? base + 1 : o->cmd[0]);
		trace_write(&r->w, &t, sizeof(t));
		add_proc(r, tc->pid);
		e = target_release(tc, o->cmd[0]);
		if (e) {
			int st;

			waitpid(tc->pid, &st, 0);
			r->res->exit_status = (e == ENOENT ? 127 : 126) << 8;
			return -1;
		}
		/* the program and its loader are mapped and nothing ran: its maps now, so that a
		 * program gone before the first poll can still be symbolized */
		e = target_exec_stopped(tc, &r->cmd_status);
		if (e > 0) {
			struct rproc *p = find_proc(r, tc->pid);

			if (p)
				refresh_proc(r, p);
			target_exec_continue(tc);
		}
		r->cmd_reaped = e < 0;
	}
	return 0;
}

/* The state of the polling loop. */
struct poll_state {
	struct target_cmd *tc;
	uint64_t t0, last_maps, last_status, deadline;
	int cmd_done;
};

/* The processes' maps, fds and the stacks: at every poll for a new process, else every
 * MAPS_EVERY_NS. */
static void refresh_procs(struct recorder *r, struct poll_state *ps, uint64_t now)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rproc *p = &r->procs[i];

		if (p->gone)
			continue;
		if (p->fast_polls > 0 || now - ps->last_maps >= MAPS_EVERY_NS) {
			if (p->fast_polls > 0)
				p->fast_polls--;
			refresh_proc(r, p);
		}
	}
	if (now - ps->last_maps >= MAPS_EVERY_NS) {
		ps->last_maps = now;
		write_stacks(r);
		trace_flush(&r->w);
	}
}

/* Has the started command ended (reaped by the exit record's handler, or now)? */
static int cmd_exited(struct recorder *r, struct poll_state *ps)
{
	int st;

	if (!r->o->cmd || ps->cmd_done)
		return 0;
	if (r->cmd_reaped)
		st = r->cmd_status;
	else if (waitpid(ps->tc->pid, &st, WNOHANG) != ps->tc->pid)
		return 0;
	ps->cmd_done = 1;
	r->res->exit_status = st;
	return 1;
}

/* One poll: drain, let the runtime and the hooks look, refresh, write. The reason to stop,
 * or 0 to go on. */
static int poll_once(struct recorder *r, struct poll_state *ps)
{
	const struct record_opts *o = r->o;
	uint64_t now;

	preload_shm_wait(&r->shm, POLL_NS);	/* (a plain sleep without the library) */
	if (source_drain(r->src) < 0) {
		errmsg("failed to read the ring buffer");
		return STOP_ERROR;
	}
	now = now_mono_ns();
	/* before a hook may kill the target: what is read now is its last chance */
	if (r->lang)
		r->lang->tick(r->lang_st, now, &r->w);
	if (r->stop)
		return STOP_DEADLOCK;
	if (o->on_tick && (r->stop = o->on_tick(o->hook_ctx, now)))
		return STOP_DEADLOCK;
	refresh_procs(r, ps, now);
	write_lost(r);
	if (now - ps->last_status >= 1000000000ull) {
		ps->last_status = now;
		status_line(r, ps->t0, 0);
	}
	if (r->w.error) {
		errmsg("failed to write %s: %s; the file is readable up to this point",
		       o->output, strerror(r->w.error));
		r->write_error_said = 1;
		return STOP_ERROR;
	}
	if (stop_signal)
		return STOP_SIGNAL;
	if (ps->deadline && now >= ps->deadline)
		return STOP_DURATION;
	if (cmd_exited(r, ps))
		return STOP_COMMAND_EXIT;
	if (!o->cmd && !o->all && r->live_procs <= 0)
		return STOP_TARGET_GONE;
	return 0;
}

/*
 * A hook that killed the target: its threads die a few ms after the kill. Record the deaths
 * (and reap our command), so that the trace ends with the program, not with threads the kill
 * woke and left runnable. Bounded: a second at most.
 */
static void await_killed(struct recorder *r, struct poll_state *ps)
{
	uint64_t until = now_mono_ns() + 1000000000ull;

	while (now_mono_ns() < until) {
		struct timespec ts = {0, POLL_NS};
		int st;

		nanosleep(&ts, NULL);
		source_drain(r->src);
		if (r->o->cmd && !ps->cmd_done && waitpid(ps->tc->pid, &st, WNOHANG) == ps->tc->pid) {
			ps->cmd_done = 1;
			r->res->exit_status = st;
		}
		if (r->o->cmd ? ps->cmd_done : r->live_procs <= 0)
			break;
	}
}

/* The end record, then the file closed: ret, or -1 when the file could not be written. */
static int finish_trace(struct recorder *r, int ret)
{
	struct record_result *res = r->res;
	struct ev_meta_status st = {{now_mono_ns(), 0, EV_META_STATUS, sizeof(st)}};

	st.exit_status = res->exit_status;
	st.reason = res->reason;
	st.events = res->events;
	trace_write(&r->w, &st, sizeof(st));
	res->lost = r->lost_total;
	res->bytes = r->w.bytes;
	if (trace_writer_close(&r->w) && ret == 0) {
		if (!r->write_error_said)
			errmsg("failed to write %s: %s", r->o->output,
			       strerror(r->w.error ? r->w.error : errno));
		ret = -1;
	}
	res->bytes = r->w.bytes;
	if (ret == 0)
		status_line(r, now_mono_ns() - (uint64_t)(res->seconds * 1e9), 1);
	if (ret == 0 && getenv("CONLAB_BPF_STATS"))
		recorder_cpu(r);
	return ret;
}

/*
 * --locks: through the library (1) or the uprobes (0), said in one line unless --quiet; -1
 * when --locks=preload cannot be. The library reaches only a command conlab starts and whose
 * environment it sets (a sandbox makes its own).
 */
static int choose_preload(const struct record_opts *o)
{
	char why[512];

	if (!o->locks || o->locks_via == REC_VIA_UPROBES)
		return 0;
	if (!o->cmd || o->npids || o->all || o->sandbox) {
		if (o->locks_via == REC_VIA_PRELOAD)
			return fail("--locks=preload needs a command conlab starts (-- CMD), without "
				    "-p, -a or a sandbox; --locks=uprobes for those");
		return 0;
	}
	if (o->locks_via == REC_VIA_PRELOAD)
		return 1;
	if (!preload_suits(o->cmd[0], why, sizeof(why))) {
		if (o->status)
			fprintf(stderr, "conlab: --locks: uprobes (%s)\n", why);
		return 0;
	}
	if (o->status)
		fprintf(stderr, "conlab: --locks: through libconlab-preload.so in the command (no "
			"trap per lock call; --locks=uprobes for the probes)\n");
	return 1;
}

/* The library's event ring: small enough to stay in the cache (its writers wake the recorder
 * when it is half full), and no larger than --buffer. */
static uint32_t preload_ring_slots(const struct record_opts *o)
{
	uint64_t want = o->buffer / sizeof(struct cpl_event), n = 4096;

	if (!(o->locks & REC_LOCKS_EVENTS))
		return 0;
	while (n * 2 <= want && n < PRELOAD_RING_MAX)
		n *= 2;
	return (uint32_t)n;
}

/* What the library could not do, said once the command is done. */
static void preload_warnings(const struct recorder *r)
{
	uint64_t dropped = preload_shm_lost_edges(&r->shm);

	if (!preload_shm_attached(&r->shm))
		errmsg("--locks: the preload library was not loaded by the command (a static or "
		       "set-user-ID program, or one that clears LD_PRELOAD?): no lock records; "
		       "--locks=uprobes sees it");
	else if (dropped)
		errmsg("--locks: %llu lock-order edges not kept: the preload table (%u slots) was "
		       "full", (unsigned long long)dropped, CPL_SLOTS);
}

int record_run(const struct record_opts *o, struct record_result *res)
{
	/* The lock holds' matching reads the futex calls (contention_locks.c); the lock probes
	 * cost far more than their tracepoint anyway. */
	struct source_opts so = {o->all, o->buffer, o->stacks, o->verbose, o->locks, o->gil,
				 o->futex_calls || o->locks, o->no_loop_waits};
	struct target_cmd tc = {.pid = 0};
	struct recorder r = {.o = o, .res = res};
	struct sigaction sa = {.sa_handler = on_signal};
	struct poll_state ps = {.tc = &tc};
	int uid, gid, ret = -1, reason;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	stop_signal = 0;
	invoking_user(&uid, &gid);
	r.maps_buf = xmalloc(MAPS_BUF);
	r.lost = xcalloc(MAX_CPUS, sizeof(*r.lost));
	r.lost_prev = xcalloc(MAX_CPUS * LOST_NKINDS, sizeof(*r.lost_prev));
	r.fds = fdscan_new();
	r.w.fd = -1;	/* nothing to finish if we stop before it is open */
	r.shm.fd = -1;
	r.preload = choose_preload(o);
	if (r.preload < 0 || (r.preload && preload_shm_create(&r.shm, preload_ring_slots(o))))
		goto out;
	if (r.preload)
		so.locks = 0;	/* no uprobes: the library records the same */
	if (trace_writer_open(&r.w, o->output, uid, gid))
		goto out;
	r.lost_read_ts = now_mono_ns();	/* the counters start at zero with the BPF object */
	r.src = source_open(&so, on_record, &r);
	if (!r.src)
		goto out;
	if (r.preload)
		source_set_preload(r.src, &r.shm);
	if (o->lang) {
		r.lang = o->lang;
		/* CONLAB_PY_STACKS=0: Python stacks off, for the benchmark of their cost */
		const char *pys = getenv("CONLAB_PY_STACKS");

		r.lang_st = o->lang->open(o->stacks && !(pys && !strcmp(pys, "0")) ? r.src : NULL);
	}

	struct ev_meta_clock ck = {{0, 0, EV_META_CLOCK, sizeof(ck)}, 0, 0};

	ck.mono_ns = ck.hdr.ts = now_mono_ns();
	ck.real_ns = now_real_ns();
	trace_write(&r.w, &ck, sizeof(ck));

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (start_targets(&r, &tc))
		goto out;
	ps.t0 = now_mono_ns();
	r.cpu0_ms = cpu_ms();	/* loading and attaching are not draining */
	if (o->duration > 0)
		ps.deadline = ps.t0 + (uint64_t)(o->duration * 1e9);

	while (!(reason = poll_once(&r, &ps)))
		;
	res->reason = reason;
	if (r.stop == REC_HOOK_KILLED)
		await_killed(&r, &ps);
	/* what the kernel still holds */
	source_drain_all(r.src);
	if (r.stop && res->reason != STOP_DEADLOCK)
		res->reason = STOP_DEADLOCK;
	write_stacks(&r);
	write_lost(&r);
	if (r.preload) {
		preload_shm_close(&r.shm);
		preload_warnings(&r);
	}
	res->seconds = (now_mono_ns() - ps.t0) / 1e9;
	ret = 0;
out:
	if (r.lang)
		r.lang->close(r.lang_st, r.w.fd >= 0 ? &r.w : NULL);
	if (r.w.fd >= 0)
		ret = finish_trace(&r, ret);
	source_close(r.src);
	/* a command still running when we stop for a signal or the duration: leave it be,
	 * as perf does, unless it is still held before exec */
	if (tc.pid > 0 && tc.go_fd > 0) {
		kill(tc.pid, SIGKILL);
		waitpid(tc.pid, NULL, 0);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	free(r.procs);
	free(r.bids);
	idmap_free(&r.bid_index);
	free(r.stack_ids);
	free(r.stack_done);
	free(r.maps_buf);
	free(r.lost);
	free(r.lost_prev);
	fdscan_free(r.fds);
	preload_shm_free(&r.shm);
	return ret;
}

int record_exit_code(const struct record_result *res)
{
	if (res->exit_status < 0)
		return 0;
	if (WIFEXITED(res->exit_status))
		return WEXITSTATUS(res->exit_status);
	if (WIFSIGNALED(res->exit_status))
		return 128 + WTERMSIG(res->exit_status);
	return 1;
}
