/* preload_shm.c — the region of --locks=preload, from conlab's side. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture/preload/conlab_preload.h"
#include "capture/preload_shm.h"
#include "capture/reorder.h"
#include "events.h"
#include "lib/util.h"

#define LIB_NAME "libconlab-preload.so"

/*
 * The interposer library: beside the conlab binary in a build tree (build/), in
 * PREFIX/lib/conlab/ once installed (PREFIX/bin/conlab). 0, or -1 with a message.
 */
static int find_lib(struct preload_shm *s)
{
	static const char *const where[] = {"%s/" LIB_NAME, "%s/../lib/conlab/" LIB_NAME};
	char exe[sizeof(s->lib) - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return fail("cannot find the conlab binary: %s", strerror(errno));
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(s->lib, sizeof(s->lib), where[i], exe);
		if (!access(s->lib, R_OK))
			return 0;
	}
	return fail("--locks=preload needs %s (make builds it, make install installs it): %s",
		    LIB_NAME, strerror(errno));
}

int preload_shm_create(struct preload_shm *s, uint32_t nevents)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (find_lib(s))
		return -1;
	s->size = sizeof(*s->r) + (size_t)nevents * sizeof(s->r->ev[0]);
	/* not close-on-exec: the command inherits it and the library maps it */
	s->fd = memfd_create("conlab-preload", 0);
	if (s->fd < 0)
		return fail("memfd_create: %s", strerror(errno));
	if (ftruncate(s->fd, (off_t)s->size))
		return fail("cannot size the shared region: %s", strerror(errno));
	s->r = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->r == MAP_FAILED) {
		s->r = NULL;
		return fail("cannot map the shared region: %s", strerror(errno));
	}
	s->r->magic = CPL_MAGIC;
	s->r->version = CPL_VERSION;
	s->r->nslots = CPL_SLOTS;
	s->r->nevents = nevents;
	s->r->size = s->size;
	return 0;
}

void preload_shm_env_set(struct preload_shm *s)
{
	const char *old = getenv("LD_PRELOAD");
	char fdbuf[16], *v;

	s->old_preload = old ? xstrdup(old) : NULL;
	v = xmalloc(strlen(s->lib) + (old ? strlen(old) : 0) + 2);
	sprintf(v, "%s%s%s", s->lib, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", v, 1);
	free(v);
	snprintf(fdbuf, sizeof(fdbuf), "%d", s->fd);
	setenv(CPL_ENV_FD, fdbuf, 1);
}

void preload_shm_env_unset(struct preload_shm *s)
{
	if (s->old_preload)
		setenv("LD_PRELOAD", s->old_preload, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv(CPL_ENV_FD);
}

_Static_assert(CPL_EDGE_HELD == LOCK_EDGE_HELD, "an edge's held locks fit struct ev_lock_edge");
_Static_assert(CPL_FROM_READ == LEF_FROM_READ && CPL_TO_READ == LEF_TO_READ &&
	       CPL_FROM_TRY == LEF_FROM_TRY && CPL_HELD_TRUNC == LEF_HELD_TRUNC &&
	       CPL_SEM == LEF_SEM && CPL_FROM_SEM == LEF_FROM_SEM, "edge flags are LEF_*");
_Static_assert(CPL_OP_ACQUIRE == LOCK_OP_ACQUIRE && CPL_OP_RELEASE == LOCK_OP_RELEASE &&
	       CPL_OP_TRY_FAIL == LOCK_OP_TRY_FAIL, "event ops are LOCK_OP_*");

/*
 * A queue read up to `head` entries claimed (head read after now): the time before which no
 * entry still unread is stamped. Reading stopped at an entry claimed but not written yet: it
 * was claimed after the previous read took its head, so it is stamped after that read's time;
 * if it was claimed before that too, the floor of then still holds.
 */
static uint64_t reader_floor(struct cpl_reader *q, uint64_t head, uint64_t now)
{
	uint64_t floor = UINT64_MAX;

	if (q->read < head)
		floor = q->read < q->seen_head ? q->floor : q->seen_t;
	q->floor = floor;
	q->seen_head = head;
	q->seen_t = now;
	return floor;
}

/*
 * The entry at q->read is claimed and not written. Its writer is between two instructions,
 * or was killed there: after a second it is taken for dead and the entry skipped, or the
 * records of every source would be held back for the rest of the recording.
 */
static int given_up(struct cpl_reader *q, uint64_t now)
{
	if (q->stuck_at != q->read + 1) {
		q->stuck_at = q->read + 1;
		q->stuck_since = now;
		return 0;
	}
	if (now - q->stuck_since < 1000000000ull)
		return 0;
	q->read++;
	q->skipped++;
	return 1;
}

static void *batch_room(struct preload_shm *s, size_t *len, size_t size)
{
	GROW_RAW(s->batch, s->cap, *len + size);
	memset(s->batch + *len, 0, size);
	*len += size;
	return s->batch + *len - size;
}

static void edge_rec(struct preload_shm *s, size_t *len, const struct cpl_edge *e)
{
	struct ev_lock_edge *x = batch_room(s, len, sizeof(*x));

	x->hdr = (struct ev_hdr){e->ts, e->tid, EV_LOCK_EDGE, sizeof(*x)};
	x->from = e->from;
	x->to = e->to;
	x->from_ret = e->from_ret;
	x->to_ret = e->to_ret;
	x->nheld = (uint8_t)(e->nheld < CPL_EDGE_HELD ? e->nheld : CPL_EDGE_HELD);
	memcpy(x->held, e->held, x->nheld * sizeof(x->held[0]));
	x->pid = e->pid;
	x->stack_id = -1;	/* the library takes no stacks */
	x->flags = (uint16_t)e->flags;
}

static void lock_rec(struct preload_shm *s, size_t *len, uint64_t ts, uint32_t tid,
		     uint64_t addr, uint64_t ret, uint32_t op, int rv)
{
	struct ev_lock *x = batch_room(s, len, sizeof(*x));

	x->hdr = (struct ev_hdr){ts, tid, EV_LOCK, sizeof(*x)};
	x->addr = addr;
	x->ret_addr = ret;
	x->op = op;
	x->ret = rv;
}

uint64_t preload_shm_read(struct preload_shm *s, uint64_t now, struct reorder *ro)
{
	struct cpl_region *r = s->r;
	uint64_t head, floor, f;
	size_t len = 0;
	uint32_t nov;

	if (!r)
		return UINT64_MAX;
	/* the edges, in the order their log entries were claimed */
	head = __atomic_load_n(&r->nlog, __ATOMIC_ACQUIRE);
	if (head > CPL_SLOTS)
		head = CPL_SLOTS;
	while (s->edges.read < head) {
		uint32_t k = __atomic_load_n(&r->log[s->edges.read], __ATOMIC_ACQUIRE);

		if (!k || k > CPL_SLOTS || !__atomic_load_n(&r->slot[k - 1].ready, __ATOMIC_ACQUIRE)) {
			if (given_up(&s->edges, now))
				continue;
			break;
		}
		edge_rec(s, &len, &r->slot[k - 1]);
		s->edges.read++;
	}
	floor = reader_floor(&s->edges, head, now);
	/* threads that held more locks than the library follows: once each, as the probes say it */
	nov = __atomic_load_n(&r->noverflow, __ATOMIC_ACQUIRE);
	for (; s->noverflow_read < nov && s->noverflow_read < CPL_OVERFLOW_TIDS; s->noverflow_read++) {
		uint32_t tid = __atomic_load_n(&r->overflow_tids[s->noverflow_read], __ATOMIC_RELAXED);

		if (!tid)
			break;	/* counted, not yet written: the next read */
		lock_rec(s, &len, now, tid, 0, 0, LOCK_OP_HELD_OVERFLOW, CPL_HELD);
	}
	/* the calls, in the order their slots were claimed */
	if (r->nevents) {
		head = __atomic_load_n(&r->ev_head, __ATOMIC_ACQUIRE);
		while (s->events.read < head) {
			const struct cpl_event *e = &r->ev[s->events.read & (r->nevents - 1)];

			if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != s->events.read + 1) {
				if (given_up(&s->events, now))
					continue;
				break;
			}
			lock_rec(s, &len, e->ts, e->tid, e->addr, e->ret, e->op, e->rv);
			/* room for the writers as it is made, not only at the end of a long read */
			if (!(++s->events.read & 4095))
				__atomic_store_n(&r->ev_tail, s->events.read, __ATOMIC_RELEASE);
		}
		/* the slots read are free for the writers again */
		__atomic_store_n(&r->ev_tail, s->events.read, __ATOMIC_RELEASE);
		f = reader_floor(&s->events, head, now);
		if (f < floor)
			floor = f;
	}
	if (len)
		reorder_add(ro, s->batch, len);
	return floor;
}

uint64_t preload_shm_lost_events(const struct preload_shm *s)
{
	return (s->r ? __atomic_load_n(&s->r->ev_lost, __ATOMIC_RELAXED) : 0) + s->events.skipped;
}

uint64_t preload_shm_lost_edges(const struct preload_shm *s)
{
	return (s->r ? __atomic_load_n(&s->r->dropped, __ATOMIC_RELAXED) : 0) + s->edges.skipped;
}

void preload_shm_wait(struct preload_shm *s, uint64_t ns)
{
	struct timespec t = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};

	if (!s->r || !s->r->nevents) {
		nanosleep(&t, NULL);
		return;
	}
	/* a writer that sets it between the store and the wait makes the wait return at once */
	__atomic_store_n(&s->r->ev_wake, 0, __ATOMIC_RELEASE);
	syscall(SYS_futex, &s->r->ev_wake, FUTEX_WAIT, 0, &t, NULL, 0);
}

void preload_shm_close(struct preload_shm *s)
{
	if (s->r)
		__atomic_store_n(&s->r->closed, 1, __ATOMIC_RELAXED);
}

int preload_shm_attached(const struct preload_shm *s)
{
	return s->r && __atomic_load_n(&s->r->attached, __ATOMIC_RELAXED) > 0;
}

void preload_shm_free(struct preload_shm *s)
{
	if (s->r)
		munmap(s->r, s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s->old_preload);
	free(s->batch);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* cmd's file: as given when it has a slash, else the first match on PATH. */
static int resolve_cmd(const char *cmd, char *path, size_t n)
{
	const char *p = getenv("PATH");

	if (strchr(cmd, '/')) {
		snprintf(path, n, "%s", cmd);
		return access(path, X_OK);
	}
	for (p = p ? p : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(path, n, "%.*s/%s", (int)len, len ? p : ".", cmd);
		if (!access(path, X_OK))
			return 0;
		p += len + (p[len] == ':');
	}
	return -1;
}

/* 1 when the ELF file at path has a program interpreter (PT_INTERP): dynamically linked. */
static int elf_dynamic(int fd)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr))
		return 0;
	for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * sizeof(ph)) != sizeof(ph))
			return 0;
		if (ph.p_type == PT_INTERP)
			return 1;
	}
	return 0;
}

int preload_reaches(const char *cmd, char *why, size_t n)
{
	char path[4096], head[256], interp[256];
	struct stat st;
	ssize_t got;
	int fd, ok = 0;

	for (int depth = 0; depth < 3; depth++) {
		if (resolve_cmd(cmd, path, sizeof(path)) || stat(path, &st)) {
			snprintf(why, n, "%s not found", cmd);
			return 0;
		}
		if (st.st_mode & (S_ISUID | S_ISGID)) {
			snprintf(why, n, "%s is set-id: the loader ignores LD_PRELOAD", path);
			return 0;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -1 : pread(fd, head, sizeof(head) - 1, 0);
		if (got >= 4 && !memcmp(head, ELFMAG, SELFMAG)) {
			ok = elf_dynamic(fd);
			close(fd);
			if (!ok)
				snprintf(why, n, "%s is statically linked", path);
			return ok;
		}
		if (fd >= 0)
			close(fd);
		if (got < 3 || head[0] != '#' || head[1] != '!')
			break;
		/* a script: its interpreter is what runs */
		head[got] = 0;
		char *s = head + 2 + strspn(head + 2, " \t");

		s[strcspn(s, " \t\n")] = 0;
		cmd = strcpy(interp, s);
	}
	snprintf(why, n, "%s: not an ELF program conlab can read", cmd);
	return 0;
}

int preload_python_cmd(const char *cmd)
{
	return !strncmp(strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd, "python", 6);
}

int preload_suits(const char *cmd, char *why, size_t n)
{
	/* CPython's Lock is a semaphore: its acquire() starts with a trywait, whose call site only
	 * the uprobes tell apart, and a timed acquire is a sem_clockwait the library does not wrap */
	if (preload_python_cmd(cmd)) {
		snprintf(why, n, "a Python command: they also see who holds each threading.Lock; "
			 "--locks=preload for no trap per lock call");
		return 0;
	}
	return preload_reaches(cmd, why, n);
}
