// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c — the doctor's eyes: /proc and process_vm_readv, no stop.
 *
 * /proc/PID/task/TID/syscall shows the number and arguments of the syscall a sleeping thread
 * is in (the kernel waits until the task is off the CPU before reading its registers), which
 * is all it takes to know what it waits for; the futex word's neighbourhood then says which
 * glibc object it belongs to and who owns it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "syscalls.h"
#include "lib/procdir.h"
#include "lib/procmem.h"
#include "model/futexkind.h"
#include "doctor/snapshot.h"
#include "doctor/sockpeer.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

#define PF_KTHREAD 0x00200000
#define MAX_PROCS 256

#define FUTEX_CMD(op) ((op) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

#define MEM_BEFORE FK_BEFORE	/* bytes read before the futex word */

_Static_assert(sizeof(((struct snap_thread *)0)->mem) == FK_WORDS * 4,
	       "the doctor reads the window the futex classifier takes");

struct pidpair {
	pid_t pid, ppid;
};

struct builder {
	struct snapshot *s;
	struct pidpair *all;	/* every process on the system: pid, ppid */
	size_t nall, cap_all;
	struct idmap peers;	/* Unix socket inode -> its peer's, read at the first socket wait */
	int peers_read;
};

/* Read the futex word and its neighbours, one page at a time so a page boundary next to the
 * word does not lose it. */
static void read_neighbourhood(pid_t pid, struct snap_thread *t)
{
	uint64_t start = t->args[0] - MEM_BEFORE, end = start + sizeof(t->mem);
	uint8_t *dst = (uint8_t *)t->mem;

	t->mem_ok = 0;
	if (t->args[0] < MEM_BEFORE || t->args[0] & 3)
		return;
	while (start < end) {
		uint64_t page_end = (start | 4095) + 1, n = (page_end < end ? page_end : end) - start;
		size_t first = (size_t)(start - (t->args[0] - MEM_BEFORE)) / 4;

		if (procmem_read(pid, start, dst + first * 4, n) == (ssize_t)n)
			for (size_t i = first; i < first + n / 4; i++)
				t->mem_ok |= 1u << i;
		start += n;
	}
}

/* ---- /proc readers ------------------------------------------------------------------------ */

/* Fields of /proc/.../stat after the comm: state, ppid and flags. */
static int read_stat(const char *path, char *state, pid_t *ppid, unsigned long *flags,
		     char *comm, size_t commlen)
{
	char buf[1024], *open, *close;
	int pp = 0;

	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return -1;
	if (comm) {
		size_t n = (size_t)(close - open - 1);

		if (n >= commlen)
			n = commlen - 1;
		memcpy(comm, open + 1, n);
		comm[n] = 0;
	}
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(close + 2, "%c %d %*d %*d %*d %*d %lu", state, &pp, flags) != 3)
		return -1;
	if (ppid)
		*ppid = pp;
	return 0;
}

static int read_syscall(pid_t pid, pid_t tid, struct snap_thread *t)
{
	char path[96], buf[512];
	unsigned long long v[9];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return -errno;
	if (!strncmp(buf, "running", 7)) {
		t->nr = SNAP_NR_RUNNING;
		return 0;
	}
	n = sscanf(buf, "%lld %llx %llx %llx %llx %llx %llx %llx %llx", (long long *)&v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]);
	if (n == 9) {
		t->nr = (long)(long long)v[0];
		for (int i = 0; i < 6; i++)
			t->args[i] = v[i + 1];
		t->sp = v[7];
		t->pc = v[8];
	} else if (n >= 1) {
		t->nr = SNAP_NR_NONE;	/* "-1 sp pc": not in a syscall */
	} else {
		t->nr = SNAP_NR_NONE;
	}
	return 0;
}

static pid_t tgid_of(pid_t tid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "\nTgid:");
	return p ? (pid_t)atoi(p + 6) : 0;
}

static int note_parent(void *ctx, pid_t pid)
{
	struct builder *b = ctx;
	char path[64], state, comm[32];
	unsigned long flags;
	pid_t ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_stat(path, &state, &ppid, &flags, comm, sizeof(comm)))
		return 0;
	GROW(b->all, b->cap_all, b->nall + 1);
	b->all[b->nall++] = (struct pidpair){ pid, ppid };
	return 0;
}

/* Every process's parent: the descendants of the target come from it. */
static void scan_all(struct builder *b)
{
	proc_each_pid(note_parent, b);
}

/* ---- threads ------------------------------------------------------------------------------ */

static enum wg_state state_of(char c)
{
	switch (c) {
	case 'R': return WG_RUNNING;
	case 'S': return WG_BLOCKED;
	case 'D': return WG_DISK;
	case 'T': case 't': return WG_STOPPED;
	case 'Z': case 'X': return WG_ZOMBIE;
	}
	return WG_UNKNOWN;
}

static void read_thread(struct snapshot *s, pid_t pid, pid_t tid)
{
	char path[96], comm[32] = "", state = '?';
	unsigned long flags = 0;
	struct snap_thread *t;
	int ti;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_stat(path, &state, NULL, &flags, comm, sizeof(comm)))
		return;		/* gone meanwhile */
	ti = wg_add_thread(&s->g, tid, pid, comm, state_of(state));
	GROW(s->st, s->cap_st, s->g.nthreads);
	t = &s->st[ti];
	memset(t, 0, sizeof(*t));
	t->state = state;
	t->nr = SNAP_NR_NONE;
	if (state != 'Z' && state != 'X')
		read_syscall(pid, tid, t);
	/* only a thread outside a syscall is described by where it sleeps: one file less a
	 * thread for the others (a third of the /proc reads of 1,000 blocked threads) */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	if (t->nr >= 0 || read_small_file(path, t->wchan, sizeof(t->wchan)) < 0 ||
	    !strcmp(t->wchan, "0"))
		t->wchan[0] = 0;
	if (t->nr == NR_FUTEX && state != 'R')
		read_neighbourhood(pid, t);
}

static int read_one(void *s, pid_t pid, pid_t tid)
{
	read_thread(s, pid, tid);
	return 0;
}

static int read_process(struct builder *b, pid_t pid)
{
	struct snapshot *s = b->s;
	char path[64], comm[32], exe[4096] = "", state;
	unsigned long flags;
	pid_t ppid;
	ssize_t n;
	int pi;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_stat(path, &state, &ppid, &flags, comm, sizeof(comm)))
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	pi = wg_add_process(&s->g, pid, ppid, comm, exe[0] ? exe : NULL);
	GROW(s->sp, s->cap_sp, s->g.nprocs);
	memset(&s->sp[pi], 0, sizeof(s->sp[pi]));
	s->sp[pi].maps_ok = !procmaps_read(&s->sp[pi].maps, pid, 0);

	return proc_each_tid(pid, read_one, s);
}

/* ---- classification ----------------------------------------------------------------------- */

static int thread_of_pid(const struct snapshot *s, pid_t pid, pid_t tid)
{
	int t = wg_find_thread(&s->g, tid);

	return t >= 0 && s->g.threads[t].pid == pid ? t : -1;
}

static struct wg_object *set_wait(struct snapshot *s, int ti, enum wg_obj_kind kind,
				  uint64_t addr, int timed)
{
	struct wg_thread *t = &s->g.threads[ti];
	int o = wg_object(&s->g, t->pid, kind, addr);

	t->obj = o;
	t->state = timed ? WG_TIMED : WG_BLOCKED;
	return &s->g.objects[o];
}

static void describe(struct snapshot *s, int ti, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void describe(struct snapshot *s, int ti, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wg_set_str(&s->g.threads[ti].wait_desc, buf);
}

struct snap_thread_ref {
	struct snapshot *s;
	int ti;
};

/* Is tid a thread of the waiter's process (what a pthread_join would wait for)? */
static int joinable(const void *ctx, uint32_t tid)
{
	const struct snap_thread_ref *r = ctx;

	return thread_of_pid(r->s, r->s->g.threads[r->ti].pid, (pid_t)tid) >= 0;
}

static void describe_futex(struct snapshot *s, int ti, enum futex_kind_id kind)
{
	const struct snap_thread *t = &s->st[ti];
	uint64_t uaddr = t->args[0];
	int op = (int)t->args[1], cmd = FUTEX_CMD(op);
	uint32_t val = (uint32_t)t->args[2], word = t->mem_ok & (1u << (MEM_BEFORE / 4)) ?
						 t->mem[MEM_BEFORE / 4] : 0;

	if (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_TRYLOCK_PI)
		describe(s, ti, "futex(%#" PRIx64 ", LOCK_PI) word %#x", uaddr, word);
	else if (cmd == FUTEX_WAIT_REQUEUE_PI)
		describe(s, ti, "futex(%#" PRIx64 ", WAIT_REQUEUE_PI)", uaddr);
	else if (kind == FK_NOT_WAIT)
		describe(s, ti, "futex(%#" PRIx64 ", op %d)", uaddr, op);
	else
		describe(s, ti, "futex(%#" PRIx64 ", %s%s, %u)%s", uaddr,
			 cmd == FUTEX_WAIT ? "WAIT" : "WAIT_BITSET", op & 128 ? "_PRIVATE" : "",
			 val, t->args[3] ? " with a timeout" : "");
}

/* What a futex wait is on, by the classifier all readers of futex waits share, given the
 * words read around it and, after the stack was read, the kind its caller expects. */
static void classify_futex(struct snapshot *s, int ti, enum futex_kind_id expect)
{
	static const enum wg_obj_kind wg[FK_NKINDS] = {
		[FK_NONE] = WG_FUTEX,	  [FK_FUTEX] = WG_FUTEX,     [FK_MUTEX] = WG_MUTEX,
		[FK_LOCK] = WG_FUTEX,	  [FK_RWLOCK] = WG_RWLOCK,   [FK_CONDVAR] = WG_CONDVAR,
		[FK_SEMAPHORE] = WG_SEMAPHORE, [FK_BARRIER] = WG_BARRIER, [FK_JOIN] = WG_JOIN,
		[FK_NOT_WAIT] = WG_FUTEX,
	};
	struct wg_thread *th = &s->g.threads[ti];
	struct snap_thread *t = &s->st[ti];
	struct snap_thread_ref ref = { s, ti };
	struct futex_wait w;
	struct futex_kind k;
	struct wg_object *o;

	futex_wait_init(&w, t->args[0], (uint32_t)t->args[1], (uint32_t)t->args[2],
			(uint32_t)th->tid);
	w.lo = -FK_BEFORE;
	w.hi = FK_AFTER;
	memcpy(w.words, t->mem, sizeof(w.words));
	w.ok = t->mem_ok;
	w.expect = expect;
	w.is_thread = joinable;
	w.ctx = &ref;
	futex_classify(&w, &k);
	describe_futex(s, ti, k.kind);
	if (k.kind == FK_NOT_WAIT) {
		th->state = WG_UNKNOWN;
		return;
	}
	o = set_wait(s, ti, wg[k.kind], k.obj, t->args[3] != 0);
	o->owner = (pid_t)k.owner;
	o->value = k.value;
	o->shared = k.shared;
}

static int fd_link(pid_t pid, int fd, char *buf, size_t n)
{
	char path[64];
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	r = readlink(path, buf, n - 1);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return 0;
}

static uint64_t pipe_ino(const char *link)
{
	unsigned long long ino;

	return sscanf(link, "pipe:[%llu]", &ino) == 1 ? ino : 0;
}

static uint64_t socket_ino(const char *link)
{
	unsigned long long ino;

	return sscanf(link, "socket:[%llu]", &ino) == 1 ? ino : 0;
}

/* The inode of the peer of Unix socket ino, 0 when it has none (or is not a Unix socket). */
static uint64_t unix_peer(struct builder *b, uint64_t ino)
{
	int64_t peer;

	if (!b->peers_read) {
		b->peers_read = 1;
		unix_peers(&b->peers);
	}
	peer = ino ? idmap_get(&b->peers, ino) : -1;
	return peer > 0 ? (uint64_t)peer : 0;
}

static void classify_fd(struct builder *b, int ti, int write)
{
	struct snapshot *s = b->s;
	struct wg_thread *th = &s->g.threads[ti];
	struct snap_thread *t = &s->st[ti];
	int fd = (int)t->args[0];
	char link[256];
	uint64_t ino, sock;
	struct wg_object *o;

	if (fd_link(th->pid, fd, link, sizeof(link))) {
		th->state = WG_UNKNOWN;
		describe(s, ti, "%s(fd %d)", write ? "write" : "read", fd);
		return;
	}
	describe(s, ti, "%s(fd %d: %s)", write ? "write" : "read", fd, link);
	ino = pipe_ino(link);
	sock = ino ? 0 : socket_ino(link);
	if (sock && unix_peer(b, sock)) {
		/* a connected Unix socket (a socketpair, a multiprocessing.Pipe): whoever holds
		 * its peer ends the wait */
		o = set_wait(s, ti, WG_SOCKET, sock, 0);
		o->value = write;
		return;
	}
	if (!ino) {
		/* network sockets, terminals, devices: the other side is outside our view */
		th->state = WG_EXTERNAL;
		return;
	}
	o = set_wait(s, ti, WG_PIPE, ino, 0);
	o->value = write;	/* 1: blocked writing (needs a reader), 0: reading */
}

static void classify_child(struct builder *b, int ti, int idtype_all, pid_t who)
{
	struct snapshot *s = b->s;
	struct wg_thread *th = &s->g.threads[ti];
	struct wg_object *o = set_wait(s, ti, WG_CHILD, (uint64_t)(int64_t)who, 0);

	if (!idtype_all && who > 0) {
		wg_add_peer(o, who);
		return;
	}
	/* -1, a process group or P_ALL: any child of this process may end the wait */
	for (size_t i = 0; i < b->nall; i++)
		if (b->all[i].ppid == th->pid)
			wg_add_peer(o, b->all[i].pid);
}

/* A wait we cannot tell apart: in the disk state, at least that. */
static enum wg_state unclassified(const struct snap_thread *t)
{
	return t->state == 'D' ? WG_DISK : WG_UNKNOWN;
}

/* wait4(pid, status, options, rusage), waitid(idtype, id, ...): who may end it. */
static void classify_wait(struct builder *b, int ti)
{
	struct snapshot *s = b->s;
	struct snap_thread *t = &s->st[ti];

	if (t->nr == NR_WAIT4) {
		classify_child(b, ti, 0, (pid_t)(int32_t)t->args[0]);
		describe(s, ti, "wait4(%d)", (int)(int32_t)t->args[0]);
	} else {		/* waitid: P_PID = 1 */
		classify_child(b, ti, t->args[0] != 1, (pid_t)(int32_t)t->args[1]);
		describe(s, ti, "waitid(%d, %d)", (int)t->args[0], (int)(int32_t)t->args[1]);
	}
}

/* A poll-like wait ends by itself when it has a timeout: where each call keeps it. */
static enum wg_state poll_state(const struct snap_thread *t)
{
	int64_t a2 = (int64_t)t->args[2], a3 = (int64_t)t->args[3];

	switch (t->nr) {
	case NR_POLL:		/* poll(fds, n, timeout ms) */
		return (int32_t)a2 >= 0 ? WG_TIMED : WG_EXTERNAL;
	case NR_EPOLL_WAIT:	/* epoll_wait, epoll_pwait(epfd, events, max, timeout ms) */
	case NR_EPOLL_PWAIT:
		return (int32_t)a3 >= 0 ? WG_TIMED : WG_EXTERNAL;
	case NR_SELECT:		/* select, pselect6: timeout pointer */
	case NR_PSELECT6:
		return t->args[4] ? WG_TIMED : WG_EXTERNAL;
	case NR_PPOLL:		/* ppoll, epoll_pwait2: timeout pointer */
		return t->args[2] ? WG_TIMED : WG_EXTERNAL;
	case NR_EPOLL_PWAIT2:
		return t->args[3] ? WG_TIMED : WG_EXTERNAL;
	default:		/* io_uring_enter, io_getevents: events from outside */
		return WG_EXTERNAL;
	}
}

static void classify(struct builder *b, int ti)
{
	struct snapshot *s = b->s;
	struct wg_thread *th = &s->g.threads[ti];
	struct snap_thread *t = &s->st[ti];
	const char *name = t->nr >= 0 ? syscall_name(t->nr) : NULL;

	if (th->state == WG_ZOMBIE || th->state == WG_STOPPED)
		return;
	if (t->nr == SNAP_NR_RUNNING || t->state == 'R') {
		th->state = WG_RUNNING;
		return;
	}
	if (t->nr < 0) {
		th->state = t->state == 'D' ? WG_DISK : WG_UNKNOWN;
		describe(s, ti, "not in a syscall%s%s", t->wchan[0] ? ", in " : "", t->wchan);
		return;
	}
	if (name)
		describe(s, ti, "%s", name);
	else
		describe(s, ti, "syscall %ld", t->nr);
	th->state = WG_UNKNOWN;
	/* the kinds of wait come from the syscall table; the arguments, call by call, here */
	switch (syscall_wait(t->nr)) {
	case SW_FUTEX:
		if (t->nr == NR_FUTEX)
			classify_futex(s, ti, FK_NONE);
		else	/* futex_wait, futex_waitv: another argument layout, no glibc user */
			th->state = unclassified(t);
		break;
	case SW_READ:
	case SW_WRITE:
		/* splice and tee may block on either of their two fds */
		if (t->nr == NR_SPLICE || t->nr == NR_TEE)
			th->state = unclassified(t);
		else
			classify_fd(b, ti, syscall_wait(t->nr) == SW_WRITE);
		break;
	case SW_CHILD:
		classify_wait(b, ti);
		break;
	case SW_SLEEP:
		th->state = WG_TIMED;
		break;
	case SW_POLL:
		th->state = poll_state(t);
		break;
	case SW_SIGNAL:		/* a signal from anyone ends it; rt_sigtimedwait's timeout too */
		th->state = t->nr == NR_RT_SIGTIMEDWAIT && t->args[2] ? WG_TIMED : WG_EXTERNAL;
		break;
	case SW_ACCEPT:		/* accept, connect: the other side is outside our view */
		th->state = WG_EXTERNAL;
		break;
	default:
		th->state = unclassified(t);
		break;
	}
}

/* The inode whose holders end the wait on o: a pipe's own, a Unix socket's peer; 0 for others. */
static uint64_t held_ino(struct builder *b, const struct wg_object *o)
{
	if (o->kind == WG_PIPE)
		return o->addr;
	if (o->kind == WG_SOCKET)
		return unix_peer(b, o->addr);
	return 0;
}

/* A process holds the inode ino at fd: the pipe waits get their ends, the socket waits on its
 * peer a peer process. */
static void note_holder(struct builder *b, pid_t pid, int fd, uint64_t ino, int is_pipe)
{
	struct snapshot *s = b->s;
	char info[512], ipath[96], *fl;

	if (is_pipe) {
		snprintf(ipath, sizeof(ipath), "/proc/%d/fdinfo/%d", (int)pid, fd);
		if (read_small_file(ipath, info, sizeof(info)) <= 0)
			return;
		fl = strstr(info, "flags:");
		GROW(s->pipes, s->cap_pipes, s->npipes + 1);
		s->pipes[s->npipes++] = (struct pipe_end){
			.pid = pid, .ino = ino, .fd = fd,
			.write = fl && (strtoul(fl + 6, NULL, 8) & 3) == 1,
		};
		return;
	}
	for (size_t i = 0; i < s->g.nobjects; i++) {
		struct wg_object *o = &s->g.objects[i];

		if (o->kind != WG_SOCKET || held_ino(b, o) != ino)
			continue;
		wg_add_peer(o, pid);
		if (wg_find_process(&s->g, pid) < 0)
			o->peers_external = 1;
	}
}

/* Every process holding an end of a pipe, or the peer of a Unix socket, some thread waits on:
 * the peers of each such wait. */
static void resolve_ends(struct builder *b)
{
	struct snapshot *s = b->s;
	uint64_t *inos = NULL;
	size_t nino = 0;

	for (size_t i = 0; i < s->g.nobjects; i++) {
		uint64_t ino = held_ino(b, &s->g.objects[i]);

		if (!ino)
			continue;
		inos = xrealloc(inos, (nino + 1) * sizeof(*inos));
		inos[nino++] = ino;
	}
	if (!nino)
		return;
	/* who else holds them: every process on the system, not just the snapshot */
	for (size_t p = 0; p < b->nall; p++) {
		char path[64], link[64];
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/fd", (int)b->all[p].pid);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name), is_pipe;
			uint64_t ino;

			if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
			    fd_link(b->all[p].pid, fd, link, sizeof(link)))
				continue;
			ino = pipe_ino(link);
			is_pipe = ino != 0;
			if (!ino)
				ino = socket_ino(link);
			for (size_t k = 0; ino && k < nino; k++)
				if (inos[k] == ino) {
					note_holder(b, b->all[p].pid, fd, ino, is_pipe);
					break;
				}
		}
		closedir(d);
	}
	for (size_t i = 0; i < s->g.nobjects; i++) {
		struct wg_object *o = &s->g.objects[i];

		if (o->kind != WG_PIPE)
			continue;
		for (size_t k = 0; k < s->npipes; k++) {
			const struct pipe_end *e = &s->pipes[k];

			/* a blocked writer needs a reader, a blocked reader a writer */
			if (e->ino != o->addr || e->write == (int)o->value)
				continue;
			wg_add_peer(o, e->pid);
			if (wg_find_process(&s->g, e->pid) < 0)
				o->peers_external = 1;
		}
	}
	free(inos);
}

/* Owners that are not threads of the lock's process: where do they live, if anywhere? */
static void resolve_owners(struct snapshot *s)
{
	for (size_t i = 0; i < s->g.nobjects; i++) {
		struct wg_object *o = &s->g.objects[i];
		pid_t tgid;

		if (!wg_kind_has_owner(o->kind) || !o->owner || thread_of_pid(s, o->pid, o->owner) >= 0)
			continue;
		tgid = tgid_of(o->owner);
		if (tgid && tgid != o->pid)
			o->owner_elsewhere = tgid;
	}
}

static int check_target(struct snapshot *s, pid_t pid)
{
	char path[64], state, comm[32];
	unsigned long flags;
	pid_t ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_stat(path, &state, &ppid, &flags, comm, sizeof(comm))) {
		snprintf(s->err, sizeof(s->err), "no process with pid %d", (int)pid);
		return -ESRCH;
	}
	if (flags & PF_KTHREAD) {
		snprintf(s->err, sizeof(s->err),
			 "pid %d (%s) is a kernel thread: conlab deadlock diagnoses user processes",
			 (int)pid, comm);
		return -EINVAL;
	}
	if (state == 'Z' || state == 'X') {
		snprintf(s->err, sizeof(s->err),
			 "pid %d (%s) is a zombie: it has exited and waits for its parent (pid %d) to "
			 "reap it; diagnose the parent instead", (int)pid, comm, (int)ppid);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)pid);
	{
		char buf[256];

		if (read_small_file(path, buf, sizeof(buf)) < 0 && (errno == EACCES || errno == EPERM)) {
			snprintf(s->err, sizeof(s->err),
				 "not permitted to inspect pid %d (%s): run as root, or as its owner "
				 "with ptrace allowed", (int)pid, comm);
			return -EPERM;
		}
	}
	return 0;
}

int snapshot_take(struct snapshot *s, pid_t pid, unsigned flags)
{
	struct builder b = { .s = s };
	uint64_t t0 = now_mono_ns();
	int err;

	memset(s, 0, sizeof(*s));
	waitgraph_init(&s->g);
	s->root = pid;
	err = check_target(s, pid);
	if (err)
		return err;
	scan_all(&b);
	err = read_process(&b, pid);
	if (err || !s->g.nthreads) {
		snprintf(s->err, sizeof(s->err), "pid %d exited during the snapshot", (int)pid);
		free(b.all);
		return -ESRCH;
	}
	if (flags & SNAP_CHILDREN) {
		/* descendants, breadth first: g.procs grows while we walk it */
		for (size_t p = 0; p < s->g.nprocs && s->g.nprocs < MAX_PROCS; p++)
			for (size_t i = 0; i < b.nall && s->g.nprocs < MAX_PROCS; i++)
				if (b.all[i].ppid == s->g.procs[p].pid && b.all[i].pid != pid)
					read_process(&b, b.all[i].pid);
	}
	for (size_t i = 0; i < s->g.nthreads; i++)
		classify(&b, (int)i);
	resolve_ends(&b);
	resolve_owners(s);
	free(b.all);
	idmap_free(&b.peers);
	s->proc_ns = now_mono_ns() - t0;
	return 0;
}

static enum futex_kind_id hint_from_stack(const char *const *funcs, size_t n)
{
	static const struct { const char *prefix; enum futex_kind_id h; } t[] = {
		{ "pthread_cond_", FK_CONDVAR },	{ "__pthread_cond_", FK_CONDVAR },
		{ "sem_", FK_SEMAPHORE },		{ "__new_sem_", FK_SEMAPHORE },
		{ "do_futex_wait", FK_SEMAPHORE },	{ "pthread_rwlock_", FK_RWLOCK },
		{ "__pthread_rwlock_", FK_RWLOCK },	{ "pthread_barrier_wait", FK_BARRIER },
		{ "pthread_join", FK_JOIN },		{ "__pthread_clockjoin", FK_JOIN },
		{ "pthread_clockjoin", FK_JOIN },	{ "pthread_timedjoin", FK_JOIN },
		{ "pthread_mutex_", FK_MUTEX },		{ "__pthread_mutex_", FK_MUTEX },
		{ "___pthread_mutex_", FK_MUTEX },	{ "__lll_lock_wait", FK_MUTEX },
		{ "PyThread_acquire_lock", FK_SEMAPHORE },
	};

	/* the first pthread entry point from the top decides */
	for (size_t i = 0; i < n && i < 12; i++) {
		if (!funcs[i])
			continue;
		for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			if (!strncmp(funcs[i], t[k].prefix, strlen(t[k].prefix)))
				return t[k].h;
	}
	return FK_NONE;
}

void snapshot_refine(struct snapshot *s, int ti, const char *const *funcs, size_t n)
{
	struct snap_thread *t = &s->st[ti];
	struct wg_thread *th = &s->g.threads[ti];
	enum futex_kind_id h;

	if (t->nr != NR_FUTEX || (th->state != WG_BLOCKED && th->state != WG_TIMED))
		return;
	h = hint_from_stack(funcs, n);
	if (h == FK_NONE)
		return;
	classify_futex(s, ti, h);
}

/* The part of a wait that must not change while a thread is really stuck. */
static int same_wait(const struct snap_thread *a, const struct snap_thread *b)
{
	if (a->nr != b->nr)
		return 0;
	if (a->nr < 0)
		return 1;
	/* a write loop that made progress is back in write() on the same fd with new args */
	return a->args[0] == b->args[0];
}

/* 1 when thread i's wait is no longer the one seen at first, -1 when it exited. */
static int wait_moved(struct snapshot *s, size_t i)
{
	struct wg_thread *th = &s->g.threads[i];
	struct snap_thread now = { 0 };
	char path[96], comm[32], state;
	unsigned long flags;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)th->pid, (int)th->tid);
	if (read_stat(path, &state, NULL, &flags, comm, sizeof(comm)) || state == 'Z')
		return -1;
	now.nr = SNAP_NR_NONE;
	read_syscall(th->pid, th->tid, &now);
	if (state == 'R' || !same_wait(&s->st[i], &now))
		return 1;
	if (th->obj >= 0) {
		struct wg_object *o = &s->g.objects[th->obj];
		uint32_t owner = 0;

		if (o->kind == WG_MUTEX && o->owner && s->st[i].nr == NR_FUTEX &&
		    FUTEX_CMD((int)s->st[i].args[1]) == FUTEX_WAIT &&
		    procmem_read(th->pid, s->st[i].args[0] + FK_MUTEX_OWNER, &owner, 4) == 4 &&
		    (pid_t)owner != o->owner)
			return 1;
	}
	return 0;
}

size_t snapshot_recheck(struct snapshot *s)
{
	size_t changed = 0;

	for (size_t i = 0; i < s->g.nthreads; i++) {
		struct wg_thread *th = &s->g.threads[i];
		int moved = 0;

		if (th->state != WG_BLOCKED)
			continue;
		/* a thread stopped by --stop-running, or woken by chance, is briefly running while
		 * it re-enters its call: only a wait that stays different counts as progress */
		for (int attempt = 0; attempt < 4; attempt++) {
			moved = wait_moved(s, i);
			if (moved <= 0)
				break;
			usleep(2000u << attempt);
		}
		if (moved < 0) {
			th->state = WG_ZOMBIE;
			describe(s, (int)i, "exited during the snapshot");
			changed++;
		} else if (moved) {
			th->state = WG_RUNNING;
			describe(s, (int)i, "its wait changed during the snapshot: making progress");
			changed++;
		}
	}
	s->changed = changed;
	return changed;
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->g.nprocs; i++)
		procmaps_free(&s->sp[i].maps);
	waitgraph_free(&s->g);
	free(s->st);
	free(s->sp);
	free(s->pipes);
	memset(s, 0, sizeof(*s));
}
