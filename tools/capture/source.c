/* source.c — open -> configure -> load -> attach the BPF object; drain its ring buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conlab.skel.h"
#include "pystack.h"
#include "stage.h"
#include "capture/gilprobe.h"
#include "capture/source.h"
#include "capture/uprobes.h"
#include "capture/recorder.h"
#include "capture/preload_shm.h"
#include "capture/reorder.h"
#include "lib/util.h"

#define STOP_CONSUME (-ECANCELED)	/* on_sample: this drain has read enough */

struct bpf_source {
	struct conlab_bpf *skel;
	struct ring_buffer *rb;		/* `events`, the small ring */
	struct ring_buffer *rb_spill;	/* `spill`, for what `events` had no room for */
	struct reorder ro;		/* the CPUs' batches, put back in time order */
	uint64_t cut;			/* every record stamped before it has been released */
	uint64_t consume_until;		/* this drain stops at a batch stamped past it */
	int flush_fd;			/* stage_flush, run on each CPU at every drain */
	volatile const struct stage_flag *pending;	/* stage_pending, mapped: per CPU */
	size_t pending_len;
	source_cb cb;
	void *ctx;
	int ncpus;
	int use_btf;
	int locks;
	struct up_plan *plan;		/* --locks: where the lock uprobes go */
	struct preload_shm *shm;	/* --locks=preload: the library's region, read at each drain */
	struct bpf_link **links;
	size_t nlinks;
	int gil;
	int futex_calls, no_loop_waits;
	char **gil_paths;		/* interpreter files looked at for the GIL uprobes */
	size_t ngil_paths;
	int stats_fd;			/* CONLAB_BPF_STATS: the kernel times every program */
	int locks_checked;		/* the lock probes' cost measured and said */
	int verbose;
};

/* libbpf's messages are kept quiet unless asked for, but the last ones are kept so that a
 * failed load can say why. */
static char last_libbpf_msg[512];
static int libbpf_verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (libbpf_verbose)
		return vfprintf(stderr, fmt, ap);
	vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, ap);
	return 0;
}

/* Classic tracepoints (the syscalls group) are attached through tracefs, which may not be mounted. */
static int ensure_tracefs(void)
{
	struct stat st;

	if (!stat("/sys/kernel/tracing/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
		return fail("tracefs is not mounted and mounting it failed: %s "
			    "(mount -t tracefs tracefs /sys/kernel/tracing)", strerror(errno));
	return 0;
}

static int tracepoint_exists(const char *cat, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "/sys/kernel/tracing/events/%s/%s", cat, name);
	if (!access(p, F_OK))
		return 1;
	snprintf(p, sizeof(p), "/sys/kernel/debug/tracing/events/%s/%s", cat, name);
	return !access(p, F_OK);
}

/* A ring-buffer sample is a batch of one CPU's records (bpf/common.bpf.h). */
static int on_sample(void *ctx, void *data, size_t size)
{
	struct bpf_source *s = ctx;
	uint64_t newest = reorder_add(&s->ro, data, size);

	/* A batch stamped past the drain's start was reserved after it, and so was every batch
	 * behind it in the ring: stop there, or a storm keeps one drain going for ever. */
	return newest >= s->consume_until ? STOP_CONSUME : 0;
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 4096;

	while (p < v && p < (1ull << 31))
		p <<= 1;
	return p;
}

/* The rings (bpf/common.bpf.h): `spill` as big as asked, `events` at most 1 MiB, and a stage
 * handed on at a quarter of `events`, so that a tiny ring still takes batches. */
static void set_ring_sizes(struct bpf_source *s, uint64_t bytes)
{
	uint64_t spill = pow2_at_least(bytes), events = spill < (1u << 20) ? spill : 1u << 20;

	bpf_map__set_max_entries(s->skel->maps.events, events);
	bpf_map__set_max_entries(s->skel->maps.spill, spill);
	s->skel->rodata->stage_bytes = events / 4 < STAGE_BYTES ? events / 4 : STAGE_BYTES;
}

static void choose_twins(struct bpf_source *s)
{
	struct bpf_program *prog;

	/* tp_btf needs kernel BTF; the raw_tp twins work without it. */
	/* CONLAB_RAW_TP=1 forces the raw_tp twins (the tests run them on BTF kernels too) */
	s->use_btf = !access("/sys/kernel/btf/vmlinux", R_OK) &&
		     !(getenv("CONLAB_RAW_TP") && !strcmp(getenv("CONLAB_RAW_TP"), "1"));
	bpf_object__for_each_program(prog, s->skel->obj) {
		const char *n = bpf_program__name(prog);

		if (!strncmp(n, "tp_", 3))
			bpf_program__set_autoload(prog, s->use_btf);
		else if (!strncmp(n, "raw_", 4))
			bpf_program__set_autoload(prog, !s->use_btf);
		else if (!strncmp(n, "lk_", 3))
			bpf_program__set_autoload(prog, s->locks);	/* --locks only */
		else if (!strncmp(n, "gil_", 4))
			bpf_program__set_autoload(prog, s->gil);	/* --gil only */
		else if (!strncmp(n, "sys_", 4)) {
			/* the futex2 syscalls are newer than futex: attach what the kernel has;
			 * --futex-calls adds a family, --no-loop-waits leaves one out (what each costs is
			 * measured in tests/bench/record.sh and io.sh) */
			int loopwait = strstr(n, "poll") || strstr(n, "select") ||
				       strstr(n, "io_uring");
			int futex = strstr(n, "futex") != NULL;

			bpf_program__set_autoload(prog, tracepoint_exists("syscalls", n) &&
						  !(loopwait && s->no_loop_waits) &&
						  !(futex && !s->futex_calls));
		}
	}
}

static const char *perm_hint(int err)
{
	if (err == -EPERM || err == -EACCES)
		return " (run as root, or with CAP_BPF and CAP_PERFMON)";
	return "";
}

/* --locks: choose the probe spots in libc now, the BPF programs need their stack offsets. */
static int plan_locks(struct bpf_source *s)
{
	char libc[256];

	if (uprobes_find_libc(0, libc, sizeof(libc)))
		return -1;
	s->plan = xcalloc(1, sizeof(*s->plan));
	if (uprobes_plan(s->plan, libc))
		return -1;
	for (int k = 0; k < LKP_NPROBES; k++) {
		const struct up_site *st = uprobes_first(s->plan, k);

		s->skel->rodata->sp_off[k] = st ? st->sp_off : 0;
	}
	s->skel->rodata->lock_events = !!(s->locks & REC_LOCKS_EVENTS);
	s->skel->rodata->owner_events = !!(s->locks & REC_LOCKS_OWNERS);
	/* owner mode: whether a sem_wait ended with the semaphore is its return value; its first
	 * spot is its entry (push %rbx on glibc 2.36), where a uretprobe can go too */
	if (s->locks & REC_LOCKS_OWNERS) {
		const struct up_site *st = uprobes_first(s->plan, LKP_SEM_WAIT);

		s->plan->funcs[LKP_SEM_WAIT].retprobe = st && st->sp_off == 0;
	}
	return 0;
}

/* Above this a lock/unlock pair's probes are worth a word: the cost once measured at emulated
 * spots on a VM, and 75x an uncontended pair. */
#define LOCK_PAIR_BUDGET_NS 1500

/*
 * Where the mutex probes sit and what they cost here, measured before the target runs: an
 * instruction the kernel cannot emulate is single-stepped (~20 µs a hit on a VM), and even an
 * emulated one is a breakpoint trap, whose price is the machine's (0.5 µs on one VM, 5 µs on
 * a paravirtualised guest whose every kernel entry costs a microsecond). Said in one line when
 * a pair costs more than the budget, so nobody reads a slowed program's timings unwarned.
 */
static void check_lock_cost(struct bpf_source *s)
{
	struct up_cost c;
	const struct up_site *l = &c.site[LKP_MUTEX_LOCK], *u = &c.site[LKP_MUTEX_UNLOCK];

	if (uprobes_calibrate(s->plan, s->skel->progs.lk_mutex_lock, s->skel->progs.lk_mutex_unlock,
			      (const uint32_t *)s->skel->rodata->sp_off, &c))
		return;
	if (c.emulated && c.pair_ns <= LOCK_PAIR_BUDGET_NS && !s->verbose)
		return;
	fprintf(stderr, "conlab: --locks: %.1f µs added to each mutex lock/unlock pair here "
		"(pthread_mutex_lock+%#x %s, pthread_mutex_unlock+%#x %s: %s)%s\n",
		c.pair_ns / 1000, l->rel, l->insn, u->rel, u->insn,
		c.emulated ? "emulated, a breakpoint trap each" :
			     "the kernel cannot emulate it and single-steps it, the dearest trap",
		c.pair_ns > LOCK_PAIR_BUDGET_NS ?
			"; --locks=preload sees the calls of a command conlab starts with no "
			"trap" : "");
}

int source_attach_locks(struct bpf_source *s, uint32_t pid)
{
	struct bpf_program *progs[LKP_NPROBES] = {
		[LKP_MUTEX_LOCK] = s->skel->progs.lk_mutex_lock,
		[LKP_MUTEX_UNLOCK] = s->skel->progs.lk_mutex_unlock,
		[LKP_MUTEX_TRYLOCK] = s->skel->progs.lk_mutex_trylock,
		[LKP_RW_RDLOCK] = s->skel->progs.lk_rw_rdlock,
		[LKP_RW_WRLOCK] = s->skel->progs.lk_rw_wrlock,
		[LKP_RW_TRYRDLOCK] = s->skel->progs.lk_rw_tryrdlock,
		[LKP_RW_TRYWRLOCK] = s->skel->progs.lk_rw_trywrlock,
		[LKP_RW_UNLOCK] = s->skel->progs.lk_rw_unlock,
		[LKP_SEM_WAIT] = s->skel->progs.lk_sem_wait,
		[LKP_SEM_TRYWAIT] = s->skel->progs.lk_sem_trywait,
		[LKP_SEM_POST] = s->skel->progs.lk_sem_post,
		[LKP_MUTEX_DESTROY] = s->skel->progs.lk_mutex_destroy,
		[LKP_SEM_CLOCKWAIT] = s->skel->progs.lk_sem_clockwait,
		[LKP_SEM_TIMEDWAIT] = s->skel->progs.lk_sem_timedwait,
		[LKP_SEM_DESTROY] = s->skel->progs.lk_sem_destroy,
	};

	if (!s->locks)
		return 0;
	if (!s->locks_checked) {
		s->locks_checked = 1;
		check_lock_cost(s);
	}
	return uprobes_attach(s->plan, progs, s->skel->progs.lk_try_ret,
			      (const uint32_t *)s->skel->rodata->sp_off, pid, &s->links, &s->nlinks);
}

static int attach_gil_one(struct bpf_source *s, struct bpf_program *prog, const char *path,
			  uint64_t off, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
	struct bpf_link *l;

	/* every process that maps the file (pid -1): pool workers are seen too, and the BPF
	 * side keeps only traced processes */
	l = bpf_program__attach_uprobe_opts(prog, -1, path, off, &uo);
	if (!l)
		return -errno;
	s->links = xrealloc(s->links, (s->nlinks + 1) * sizeof(*s->links));
	s->links[s->nlinks++] = l;
	return 0;
}

int source_attach_gil(struct bpf_source *s, const char *path)
{
	struct gil_syms g;
	int err;

	if (!s->gil)
		return 0;
	for (size_t i = 0; i < s->ngil_paths; i++)
		if (!strcmp(s->gil_paths[i], path))
			return 0;
	s->gil_paths = xrealloc(s->gil_paths, (s->ngil_paths + 1) * sizeof(*s->gil_paths));
	s->gil_paths[s->ngil_paths++] = xstrdup(path);
	if (gilprobe_find(path, &g) <= 0)
		return 0;	/* stripped: the gil report infers from futex waits */
	err = attach_gil_one(s, s->skel->progs.gil_take, path, g.take_off, 0);
	if (!err)
		err = attach_gil_one(s, s->skel->progs.gil_take_ret, path, g.take_off, 1);
	if (!err)
		err = attach_gil_one(s, s->skel->progs.gil_drop, path, g.drop_off, 0);
	if (err) {
		errmsg("cannot attach the GIL uprobes to %s: %s; the gil report infers from futex "
		       "waits", path, strerror(-err));
		return -1;
	}
	if (libbpf_verbose)
		fprintf(stderr, "conlab: GIL uprobes on %s: take_gil+%#llx (%s, %s), drop_gil+%#llx "
			"(%s, %s)\n", path, (unsigned long long)g.take_off, g.take_insn,
			g.take_emulated ? "emulated" : "single-stepped",
			(unsigned long long)g.drop_off, g.drop_insn,
			g.drop_emulated ? "emulated" : "single-stepped");
	return 1;
}

struct bpf_source *source_open(const struct source_opts *o, source_cb cb, void *ctx)
{
	struct bpf_source *s = xcalloc(1, sizeof(*s));
	int err;

	libbpf_verbose = o->verbose;
	libbpf_set_print(print_fn);
	s->verbose = o->verbose;
	s->cb = cb;
	s->ctx = ctx;
	s->stats_fd = -1;
	/* for the benchmarks: run time per program, while this fd is open (no sysctl needed) */
	if (getenv("CONLAB_BPF_STATS") && (s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
		errmsg("CONLAB_BPF_STATS: cannot enable BPF run-time stats: %s", strerror(errno));
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		s->ncpus = 1;
	if (ensure_tracefs())
		goto fail;

	s->skel = conlab_bpf__open();
	if (!s->skel) {
		errmsg("failed to open BPF object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->trace_all = !!o->trace_all;
	s->skel->rodata->self_tgid = getpid();
	s->skel->rodata->want_stacks = !!o->want_stacks;
	set_ring_sizes(s, o->buffer_bytes ? o->buffer_bytes : 16u << 20);
	s->locks = o->locks;
	s->gil = o->gil;
	s->futex_calls = o->futex_calls;
	/* the switch-out probe notes futex sleeps only for the futex exit probes */
	s->skel->rodata->futex_calls = o->futex_calls;
	s->no_loop_waits = o->no_loop_waits;
	choose_twins(s);
	if (s->locks && plan_locks(s))
		goto fail;

	err = conlab_bpf__load(s->skel);
	if (err) {
		if (access("/sys/kernel/btf/vmlinux", R_OK))
			errmsg("failed to load BPF programs: the kernel has no BTF "
			       "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)");
		else
			errmsg("failed to load BPF programs: %s%s%s%s", strerror(-err),
			       perm_hint(err), last_libbpf_msg[0] ? "; libbpf: " : "",
			       strtok(last_libbpf_msg, "\n") ? last_libbpf_msg : "");
		goto fail;
	}
	err = conlab_bpf__attach(s->skel);
	if (err) {
		errmsg("failed to attach BPF programs: %s%s", strerror(-err), perm_hint(err));
		goto fail;
	}
	s->flush_fd = bpf_program__fd(s->skel->progs.stage_flush);
	s->pending_len = STAGE_MAX_CPUS * sizeof(struct stage_flag);
	s->pending = mmap(NULL, s->pending_len, PROT_READ, MAP_SHARED,
			  bpf_map__fd(s->skel->maps.stage_pending), 0);
	if (s->pending == MAP_FAILED) {
		s->pending = NULL;
		errmsg("failed to map the BPF stage flags: %s", strerror(errno));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_sample, s, NULL);
	s->rb_spill = ring_buffer__new(bpf_map__fd(s->skel->maps.spill), on_sample, s, NULL);
	if (!s->rb || !s->rb_spill) {
		errmsg("failed to create ring buffer: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	source_close(s);
	return NULL;
}

int source_trace_pid(struct bpf_source *s, uint32_t tgid)
{
	/* the kernel side keeps a bitmap indexed by tgid (common.bpf.h) */
	uint32_t k = tgid / 64;
	uint64_t w = 0;
	int fd = bpf_map__fd(s->skel->maps.traced);

	if (k >= bpf_map__max_entries(s->skel->maps.traced))
		return fail("failed to trace pid %u: beyond pid_max", tgid);
	if (bpf_map_lookup_elem(fd, &k, &w) == 0) {
		w |= 1ull << (tgid % 64);
		if (bpf_map_update_elem(fd, &k, &w, BPF_ANY) == 0)
			return 0;
	}
	return fail("failed to trace pid %u: %s", tgid, strerror(errno));
}

int source_set_text(struct bpf_source *s, uint32_t tgid, uint64_t lo, uint64_t hi)
{
	uint64_t v[2] = {lo, hi};

	return bpf_map_update_elem(bpf_map__fd(s->skel->maps.text_ranges), &tgid, v, BPF_ANY);
}

int source_set_python(struct bpf_source *s, uint32_t tgid, const struct py_bpf_proc *p)
{
	int fd = bpf_map__fd(s->skel->maps.py_procs);

	if (!p) {
		if (bpf_map_delete_elem(fd, &tgid) == 0 && s->skel->bss->py_nprocs > 0)
			s->skel->bss->py_nprocs--;
		return 0;
	}
	if (bpf_map_update_elem(fd, &tgid, p, BPF_NOEXIST)) {
		if (errno == EEXIST)
			return bpf_map_update_elem(fd, &tgid, p, BPF_ANY);
		return -1;
	}
	s->skel->bss->py_nprocs++;
	return 0;
}

/* Run stage_flush on every CPU that staged records since its last flush; how many stages a
 * probe was writing, or -1. */
static int flush_stages(struct bpf_source *s)
{
	int busy = 0;

	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

		if (cpu < STAGE_MAX_CPUS && !s->pending[cpu].pending)
			continue;
		if (bpf_prog_test_run_opts(s->flush_fd, &o)) {
			if (errno == ENXIO)	/* offline: it stages nothing */
				continue;
			return -1;
		}
		busy += (int)o.retval;
	}
	return busy;
}

/*
 * Records stamped before the flush began are then all in the ring buffer, unless a probe was
 * writing into a stage as the flush ran on its CPU: that stage keeps its records until the
 * next drain, and the cut stays where it was.
 */
static int drain(struct bpf_source *s, int all)
{
	uint64_t start = now_mono_ns(), until, floor;
	int busy = flush_stages(s), err;

	for (int i = 0; all && busy > 0 && i < 10; i++) {
		struct timespec ts = {0, 1000000};

		nanosleep(&ts, NULL);
		busy = flush_stages(s);
	}
	if (busy < 0)
		return -1;
	/* each ring on its own: libbpf stops at the first ring whose callback says stop */
	s->consume_until = all ? UINT64_MAX : now_mono_ns();
	err = ring_buffer__consume(s->rb_spill);
	if (err >= 0 || err == STOP_CONSUME)
		err = ring_buffer__consume(s->rb);
	if (err < 0 && err != STOP_CONSUME)
		return -1;
	until = busy ? s->cut : start;
	/* the library's records too; one it is still writing holds the cut back like a stage */
	if (s->shm && (floor = preload_shm_read(s->shm, start, &s->ro)) < until)
		until = floor;
	if (until > s->cut)
		s->cut = until;
	return (int)reorder_release(&s->ro, all ? UINT64_MAX : s->cut, s->cb, s->ctx);
}

int source_drain(struct bpf_source *s)
{
	return drain(s, 0);
}

int source_drain_all(struct bpf_source *s)
{
	return drain(s, 1);
}

void source_set_preload(struct bpf_source *s, struct preload_shm *shm)
{
	s->shm = shm;
}

int source_lost(struct bpf_source *s, struct ev_meta_lost *out, int max_cpus)
{
	int n = s->ncpus < max_cpus ? s->ncpus : max_cpus;
	size_t vsz = sizeof(__u64) * (LOST_NKINDS + 16);
	uint8_t *vals = xcalloc(s->ncpus, vsz);
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.lost), &zero, vals)) {
		free(vals);
		return -1;
	}
	for (int c = 0; c < n; c++) {
		memset(&out[c], 0, sizeof(out[c]));
		out[c].hdr.type = EV_META_LOST;
		out[c].hdr.size = sizeof(out[c]);
		out[c].hdr.tid = c;
		out[c].hdr.ts = now_mono_ns();
		memcpy(out[c].count, vals + c * vsz, sizeof(out[c].count));
		memcpy(out[c].by_type, vals + c * vsz + sizeof(out[c].count), sizeof(out[c].by_type));
	}
	free(vals);
	/* the library's losses are no CPU's: counted on the first, as a lost EV_LOCK is */
	if (s->shm && n > 0) {
		uint64_t ev = preload_shm_lost_events(s->shm);

		out[0].count[LOST_RINGBUF] += ev;
		out[0].by_type[EV_LOCK] += ev;
		out[0].count[LOST_LOCKMAP] += preload_shm_lost_edges(s->shm);
	}
	return n;
}

int source_stack(struct bpf_source *s, int32_t id, uint64_t *ips, int max)
{
	uint64_t buf[CLAB_STACK_DEPTH] = {};
	int n = 0;

	if (id < 0 || bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stacks), &id, buf))
		return -1;
	while (n < CLAB_STACK_DEPTH && n < max && buf[n]) {
		ips[n] = buf[n];
		n++;
	}
	return n;
}

const char *source_flavor(const struct bpf_source *s)
{
	return s->use_btf ? "tp_btf" : "raw_tp";
}

/* CONLAB_BPF_STATS: one line per program that ran: runs, ns per run, total ms. Read before
 * the links go, so a benchmark sees what each probe cost in the run it timed. */
static void print_stats(struct bpf_source *s)
{
	struct bpf_program *p;

	if (s->stats_fd < 0 || !s->skel)
		return;
	bpf_object__for_each_program(p, s->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.run_cnt)
			continue;
		fprintf(stderr, "conlab: bpf %-22s %9llu runs %7.0f ns/run %9.2f ms\n",
			bpf_program__name(p), (unsigned long long)info.run_cnt,
			(double)info.run_time_ns / info.run_cnt, info.run_time_ns / 1e6);
	}
	close(s->stats_fd);
	s->stats_fd = -1;
}

void source_close(struct bpf_source *s)
{
	if (!s)
		return;
	print_stats(s);
	if (s->verbose && (s->ro.late || s->ro.malformed))
		fprintf(stderr, "conlab: %llu records came after later ones, %llu batches did not "
			"split into records\n", (unsigned long long)s->ro.late,
			(unsigned long long)s->ro.malformed);
	ring_buffer__free(s->rb);
	ring_buffer__free(s->rb_spill);
	if (s->pending)
		munmap((void *)s->pending, s->pending_len);
	reorder_free(&s->ro);
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	for (size_t i = 0; i < s->ngil_paths; i++)
		free(s->gil_paths[i]);
	free(s->gil_paths);
	free(s->plan);
	conlab_bpf__destroy(s->skel);
	free(s);
}
