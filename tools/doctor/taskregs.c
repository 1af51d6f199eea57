// SPDX-License-Identifier: GPL-2.0
/*
 * taskregs.c — user registers of a process's threads without ptrace: a BPF task iterator
 * restricted to one process (bpf_iter_link_info.task.pid, kernel 6.1+; older kernels walk
 * every task and the program keeps the target's), or /proc when BPF is not available.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor/taskregs.h"
#include "taskregs_rec.h"
#include "taskregs.skel.h"
#include "taskregs_fixed.skel.h"
#include "taskregs_btf.h"
#include "lib/procdir.h"
#include "lib/util.h"

/* libbpf's messages would be noise here: when the loader fails we say why in one line */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The running kernel's GNU build-id, in hex, from the ELF notes of /sys/kernel/notes. */
static int kernel_build_id(char *hex, size_t n)
{
	uint8_t d[4096];
	ssize_t len;
	size_t i = 0;
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	len = read(fd, d, sizeof(d));
	close(fd);
	while (len > 0 && i + 12 <= (size_t)len) {
		uint32_t nsz, dsz, type;
		size_t off;

		memcpy(&nsz, d + i, 4);
		memcpy(&dsz, d + i + 4, 4);
		memcpy(&type, d + i + 8, 4);
		off = i + 12 + ((nsz + 3) & ~3u);
		if (off + dsz > (size_t)len)
			break;
		if (nsz == 4 && !memcmp(d + i + 12, "GNU", 4) && type == 3 && dsz * 2 < n) {
			for (uint32_t k = 0; k < dsz; k++)
				snprintf(hex + 2 * k, 3, "%02x", d[off + k]);
			return 0;
		}
		i = off + ((dsz + 3) & ~3u);
	}
	return -1;
}

/* Is the running kernel the one we were built on? Same vmlinux, same BTF and layouts. */
static int same_kernel(void)
{
	char id[128];

	/* the facts are build-time constants: compare them as values, not as conditions (clang
	 * rejects a constant operand of && under -Werror) */
	if (TASKREGS_ITER_BTF_ID == 0 || TASKREGS_KERNEL_BUILD_ID[0] == 0)
		return 0;
	return !kernel_build_id(id, sizeof(id)) && !strcmp(id, TASKREGS_KERNEL_BUILD_ID);
}

/* The fixed build: its instructions need no relocation, one bpf(BPF_PROG_LOAD) loads them. */
static int load_fixed(struct taskregs *r)
{
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_ITER,
		    .attach_btf_id = TASKREGS_ITER_BTF_ID);
	struct taskregs_fixed_bpf *f = taskregs_fixed_bpf__open();
	const struct bpf_program *p;

	if (!f)
		return -errno;
	p = f->progs.taskregs;
	r->prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "taskregs", "Dual BSD/GPL",
				   bpf_program__insns(p), bpf_program__insn_cnt(p), &po);
	taskregs_fixed_bpf__destroy(f);
	if (r->prog_fd < 0)
		return r->prog_fd;
	r->fixed = 1;
	return 0;
}

static int load_core(struct taskregs *r)
{
	int err;

	r->skel = taskregs_bpf__open();
	if (!r->skel) {
		err = -errno;
		snprintf(r->why, sizeof(r->why), "cannot open the BPF register reader: %s",
			 strerror(-err));
		return err;
	}
	err = taskregs_bpf__load(r->skel);
	if (err) {
		snprintf(r->why, sizeof(r->why), "cannot load the BPF register reader: %s",
			 strerror(-err));
		taskregs_bpf__destroy(r->skel);
		r->skel = NULL;
		return err;
	}
	r->prog_fd = bpf_program__fd(r->skel->progs.taskregs);
	return 0;
}

void taskregs_open(struct taskregs *r)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	uint64_t t0 = now_mono_ns();

	memset(r, 0, sizeof(*r));
	r->source = TREGS_PROC;
	r->prog_fd = -1;
	r->link_fd = -1;
	if (getenv("CONLAB_REGS") && !strcmp(getenv("CONLAB_REGS"), "proc")) {
		snprintf(r->why, sizeof(r->why), "CONLAB_REGS=proc");
		goto out;
	}
	/* libbpf parses the kernel's whole 5 MB BTF for CO-RE and to find the iterator's
	 * attach point (60-400 ms measured on a loaded machine): skip both when the kernel is
	 * the one we were built on */
	if ((same_kernel() && !load_fixed(r)) || !load_core(r))
		r->source = TREGS_BPF;
out:
	libbpf_set_print(old);
	r->load_ns = now_mono_ns() - t0;
	r->ns = r->load_ns;
}

void taskregs_close(struct taskregs *r)
{
	if (r->link_fd >= 0)
		close(r->link_fd);
	if (r->skel)
		taskregs_bpf__destroy(r->skel);
	else if (r->prog_fd >= 0)
		close(r->prog_fd);
	memset(r, 0, sizeof(*r));
	r->prog_fd = r->link_fd = -1;
}

const char *taskregs_source_name(const struct taskregs *r)
{
	return r->source == TREGS_BPF ? "bpf" : "proc";
}

static char state_letter(uint32_t state, uint32_t exit_state)
{
	/* TASK_* bits of include/linux/sched.h */
	if (exit_state)
		return 'Z';
	if (!state)
		return 'R';
	if (state & 0x4)
		return 'T';	/* __TASK_STOPPED */
	if (state & 0x8)
		return 't';	/* __TASK_TRACED */
	if (state & 0x2)
		return 'D';	/* TASK_UNINTERRUPTIBLE (also TASK_IDLE) */
	return 'S';
}

static int attach_pid(struct taskregs *r, pid_t pid)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	union bpf_iter_link_info li;
	int fd;

	memset(&li, 0, sizeof(li));
	li.task.pid = (__u32)pid;
	opts.iter_info = &li;
	opts.iter_info_len = sizeof(li);
	fd = bpf_link_create(r->prog_fd, 0, BPF_TRACE_ITER, &opts);
	if (fd >= 0 || r->fixed)
		return fd;
	/* a kernel without per-process task iterators: every task, filtered by the program */
	return bpf_link_create(r->prog_fd, 0, BPF_TRACE_ITER, NULL);
}

static int read_bpf(struct taskregs *r, pid_t pid, struct task_regs **out, size_t *n)
{
	struct taskregs_rec rec;
	size_t cap = 0, got = 0;
	int fd, err = 0;

	if (r->link_pid != pid || r->link_fd < 0) {
		if (r->link_fd >= 0)
			close(r->link_fd);
		r->link_pid = pid;
		r->link_fd = attach_pid(r, pid);
		if (r->link_fd < 0)
			return r->link_fd;
	}
	if (r->skel)
		r->skel->bss->target_tgid = (__u32)pid;
	fd = bpf_iter_create(r->link_fd);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k = read(fd, (char *)&rec + got, sizeof(rec) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err = -errno;
			break;
		}
		if (!k)
			break;
		got += (size_t)k;
		if (got < sizeof(rec))
			continue;
		got = 0;
		GROW(*out, cap, *n + 1);
		struct task_regs *t = &(*out)[(*n)++];

		memset(t, 0, sizeof(*t));
		t->tid = (pid_t)rec.tid;
		t->state = state_letter(rec.state, rec.exit_state);
		t->on_cpu = (int)rec.on_cpu;
		t->switches = rec.nvcsw + rec.nivcsw;
		t->nr = (long)rec.orig_ax;
		memcpy(t->regs, rec.regs, sizeof(t->regs));
		t->regs_ok = TREGS_ALL;
	}
	close(fd);
	return err;
}

/* ---- /proc -------------------------------------------------------------------------------- */

/* The fields of /proc/.../syscall into v[], how many in *n; "running": state 'R'. */
static int proc_syscall(pid_t pid, pid_t tid, struct task_regs *t, unsigned long long *v, int *n)
{
	char path[96], buf[512];

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (!strncmp(buf, "running", 7)) {
		t->state = 'R';
		return 0;
	}
	*n = sscanf(buf, "%lld %llx %llx %llx %llx %llx %llx %llx %llx", (long long *)&v[0], &v[1],
		    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]);
	return 0;
}

/* State letter and voluntary + involuntary context switches of one thread. */
static int read_status(pid_t pid, pid_t tid, char *state, uint64_t *switches)
{
	char path[96], buf[2048], *p;
	unsigned long long vol = 0, invol = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "\nState:");
	*state = p ? p[8] == '\t' || p[8] == ' ' ? p[9] : p[8] : '?';
	p = strstr(buf, "\nvoluntary_ctxt_switches:");
	if (p)
		vol = strtoull(p + 25, NULL, 10);
	p = strstr(buf, "\nnonvoluntary_ctxt_switches:");
	if (p)
		invol = strtoull(p + 28, NULL, 10);
	*switches = vol + invol;
	return 0;
}

/*
 * /proc/.../syscall is read while the thread is off its CPU (the kernel waits for that), and
 * between two readings of its switch count: equal counts, and no switch happened while the
 * registers were read, so they and the count belong together. Otherwise it is moving ('R').
 */
static int proc_thread(pid_t pid, pid_t tid, struct task_regs *t)
{
	char state2;
	unsigned long long v[9];
	uint64_t sw2;
	int n;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (read_status(pid, tid, &t->state, &t->switches))
		return -1;
	t->nr = -1;
	if (proc_syscall(pid, tid, t, v, &n) < 0)
		return -1;
	if (read_status(pid, tid, &state2, &sw2))
		return -1;
	if (sw2 != t->switches || state2 != t->state)
		t->state = 'R';
	if (t->state == 'R')
		return 0;
	if (n == 9) {
		t->nr = (long)(long long)v[0];
		t->regs[TREGS_SP] = v[7];
		t->regs[TREGS_PC] = v[8];
	} else if (n == 3) {
		/* "-1 sp pc": asleep outside a syscall; the fields are then the sp and pc */
		t->regs[TREGS_SP] = v[1];
		t->regs[TREGS_PC] = v[2];
	} else {
		return 0;
	}
	t->regs_ok = 1u << TREGS_SP | 1u << TREGS_PC;
	return 0;
}

struct regs_walk {
	struct task_regs **out;
	size_t *n, cap;
};

static int read_one(void *ctx, pid_t pid, pid_t tid)
{
	struct regs_walk *w = ctx;

	GROW(*w->out, w->cap, *w->n + 1);
	if (!proc_thread(pid, tid, &(*w->out)[*w->n]))
		(*w->n)++;
	return 0;
}

/* The fallback without BPF: each thread's stack and instruction pointers from /proc. */
static int read_proc(pid_t pid, struct task_regs **out, size_t *n)
{
	struct regs_walk w = {out, n, 0};

	return proc_each_tid(pid, read_one, &w);
}

int taskregs_read(struct taskregs *r, pid_t pid, struct task_regs **out, size_t *n)
{
	uint64_t t0 = now_mono_ns();
	int err;

	*out = NULL;
	*n = 0;
	err = r->source == TREGS_BPF ? read_bpf(r, pid, out, n) : read_proc(pid, out, n);
	if (err && r->source == TREGS_BPF && !*n) {
		/* the iterator cannot be made for this process: /proc from now on */
		snprintf(r->why, sizeof(r->why), "the BPF register reader failed: %s",
			 strerror(-err));
		r->source = TREGS_PROC;
		err = read_proc(pid, out, n);
	}
	r->ns += now_mono_ns() - t0;
	r->reads++;
	return err;
}

int taskregs_asleep(const struct task_regs *t)
{
	return t->state != 'R' && t->state != 'Z' && t->state != 'X' && t->state != '?';
}

/*
 * The counts are read before anything else of a reading. Equal counts, and b asleep and off
 * its CPU: the thread did not leave a CPU between the two readings, and it is off one at the
 * end, so it never ran in between and its registers and stack did not move. (A thread seen on
 * its CPU while going to sleep may not have counted that switch yet: it proves nothing.)
 */
int taskregs_same_wait(const struct task_regs *a, const struct task_regs *b)
{
	return a->tid == b->tid && taskregs_asleep(a) && taskregs_asleep(b) && !b->on_cpu &&
	       a->switches == b->switches && a->state == b->state && a->nr == b->nr &&
	       a->regs[TREGS_SP] == b->regs[TREGS_SP] && a->regs[TREGS_PC] == b->regs[TREGS_PC];
}
