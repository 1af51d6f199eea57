/* uprobes.c — find glibc's lock functions and choose emulated probe spots by decoding them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capture/uprobes.h"
#include "capture/x86insn.h"
#include "symbols/elfsyms.h"
#include "lib/util.h"

static const struct {
	const char *name;
	enum lk_probe probe;
	int retprobe;
} lock_funcs[LKP_NPROBES] = {
	{"pthread_mutex_lock", LKP_MUTEX_LOCK, 0},
	{"pthread_mutex_unlock", LKP_MUTEX_UNLOCK, 0},
	{"pthread_mutex_trylock", LKP_MUTEX_TRYLOCK, 1},
	{"pthread_rwlock_rdlock", LKP_RW_RDLOCK, 0},
	{"pthread_rwlock_wrlock", LKP_RW_WRLOCK, 0},
	{"pthread_rwlock_tryrdlock", LKP_RW_TRYRDLOCK, 1},
	{"pthread_rwlock_trywrlock", LKP_RW_TRYWRLOCK, 1},
	{"pthread_rwlock_unlock", LKP_RW_UNLOCK, 0},
	{"sem_wait", LKP_SEM_WAIT, 0},
	{"sem_trywait", LKP_SEM_TRYWAIT, 1},
	{"sem_post", LKP_SEM_POST, 0},
	{"pthread_mutex_destroy", LKP_MUTEX_DESTROY, 0},
	{"sem_clockwait", LKP_SEM_CLOCKWAIT, 1},
	{"sem_timedwait", LKP_SEM_TIMEDWAIT, 1},
	{"sem_destroy", LKP_SEM_DESTROY, 0},
};

#define MAX_INSNS 64

int uprobes_sites(const uint8_t *code, size_t n, int need_sp0, struct up_site *sites, int max)
{
	struct insn ins[MAX_INSNS];
	size_t pos[MAX_INSNS];
	int sp[MAX_INSNS], ok[MAX_INSNS];
	int nins = 0, linear = 1, rdi_ok = 1, sp_known = 1, cur_sp = 0, ns = 0;
	size_t p = 0;

	if (max <= 0)
		return 0;
	while (p < n && nins < MAX_INSNS) {
		struct insn *in = &ins[nins];

		if (!insn_decode(code, n, p, in))
			break;
		pos[nins] = p;
		sp[nins] = cur_sp;
		ok[nins] = linear && rdi_ok && sp_known && !in->prefixed &&
			   in->kind != IK_OTHER && in->kind != IK_RET && in->kind != IK_STOP &&
			   !(in->kind == IK_CALL && in->target < 0) && (!need_sp0 || cur_sp == 0);
		if (in->writes_rdi || in->kind == IK_CALL)
			rdi_ok = 0;	/* the callee may clobber %rdi */
		if (in->sp_unknown)
			sp_known = 0;
		cur_sp += in->sp_delta;
		if (in->kind == IK_JMP || in->kind == IK_RET || in->kind == IK_STOP)
			linear = 0;
		p += in->len;
		nins++;
	}
	for (int i = 0; i < nins && ns < max - 1; i++) {
		int loop = 0;

		if (!ok[i])
			continue;
		/* a branch at or after this spot that comes back to it: a retry loop */
		for (int j = i; j < nins; j++)
			if ((ins[j].kind == IK_JCC || ins[j].kind == IK_JMP) && ins[j].target >= 0 &&
			    ins[j].target <= (int64_t)pos[i])
				loop = 1;
		if (loop)
			continue;
		sites[ns].rel = pos[i];
		sites[ns].sp_off = sp[i];
		sites[ns].emulated = 1;
		snprintf(sites[ns].insn, sizeof(sites[ns].insn), "%s", ins[i].mn);
		ns++;
	}
	int have_entry = 0;

	for (int i = 0; i < ns; i++)
		have_entry |= sites[i].rel == 0;
	if (!have_entry) {
		sites[ns].rel = 0;
		sites[ns].sp_off = 0;
		sites[ns].emulated = 0;
		snprintf(sites[ns].insn, sizeof(sites[ns].insn), "%s", nins ? ins[0].mn : "?");
		ns++;
	}
	return ns;
}

/* ---- libc --------------------------------------------------------------------------------- */

int uprobes_find_libc(pid_t pid, char *path, size_t n)
{
	char mp[64], line[4096];
	FILE *f;
	int found = 0;

	if (pid)
		snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	else
		snprintf(mp, sizeof(mp), "/proc/self/maps");
	f = fopen(mp, "r");
	if (!f)
		return fail("cannot read %s: %s", mp, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s = strchr(line, '/');
		char *base;

		if (!s)
			continue;
		s[strcspn(s, "\n")] = 0;
		base = strrchr(s, '/') + 1;
		if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5)) {
			snprintf(path, n, "%s", s);
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found)
		return fail("no libc mapped in %s: lock uprobes need a dynamically linked glibc", mp);
	return 0;
}

/* One of glibc's dynamic symbols: a lock function we probe gets its probe spots. */
struct plan_walk {
	struct up_plan *plan;
	const struct elf_file *f;
};

static int plan_sym(void *ctx, const char *name, const GElf_Sym *s, int hidden)
{
	struct plan_walk *w = ctx;

	/* the default version only: sem_wait@@GLIBC_2.34, not an old compat one */
	if (GELF_ST_TYPE(s->st_info) != STT_FUNC || hidden)
		return 0;
	for (int k = 0; k < LKP_NPROBES; k++) {
		struct up_func *fn = &w->plan->funcs[k];
		uint8_t code[160];
		ssize_t got;

		if (fn->found || strcmp(name, fn->name))
			continue;
		if (elf_vaddr_to_off(w->f->e, s->st_value, &fn->file_off))
			continue;
		got = pread(w->f->fd, code, s->st_size && s->st_size < sizeof(code) ? s->st_size :
			    sizeof(code), fn->file_off);
		if (got <= 0)
			continue;
		fn->nsites = uprobes_sites(code, got, fn->retprobe, fn->sites, UP_MAX_SITES);
		fn->found = 1;
	}
	return 0;
}

int uprobes_plan(struct up_plan *plan, const char *libc)
{
	struct elf_file f;
	struct plan_walk w = {plan, &f};
	int rc;

	memset(plan, 0, sizeof(*plan));
	snprintf(plan->libc, sizeof(plan->libc), "%s", libc);
	for (int i = 0; i < LKP_NPROBES; i++) {
		plan->funcs[lock_funcs[i].probe].name = lock_funcs[i].name;
		plan->funcs[lock_funcs[i].probe].probe = lock_funcs[i].probe;
		plan->funcs[lock_funcs[i].probe].retprobe = lock_funcs[i].retprobe;
	}
	if (elf_file_open(&f, libc))
		return fail("cannot read %s as an ELF file", libc);
	rc = elf_each_sym(&f, SHT_DYNSYM, plan_sym, &w);
	elf_file_close(&f);
	if (rc < 0)
		return fail("%s has no dynamic symbols", libc);
	if (!plan->funcs[LKP_MUTEX_LOCK].found || !plan->funcs[LKP_MUTEX_UNLOCK].found)
		return fail("%s has no pthread_mutex_lock/unlock: not glibc?", libc);
	return 0;
}

const struct up_site *uprobes_first(const struct up_plan *plan, enum lk_probe p)
{
	const struct up_func *f = &plan->funcs[p];

	return f->found && f->nsites ? &f->sites[0] : NULL;
}

static struct bpf_link *attach_one(struct bpf_program *prog, const struct up_plan *plan,
				   uint64_t off, pid_t pid, int ret, int *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid ? pid : -1, plan->libc,
							      off, &o);

	*err = l ? 0 : -errno;
	return l;
}

static void add_link(struct bpf_link ***links, size_t *nlinks, struct bpf_link *l)
{
	*links = xrealloc(*links, (*nlinks + 1) * sizeof(**links));
	(*links)[(*nlinks)++] = l;
}

int uprobes_attach(const struct up_plan *plan, struct bpf_program *const *progs,
		   struct bpf_program *ret_prog, const uint32_t *sp_off, pid_t pid,
		   struct bpf_link ***links, size_t *nlinks)
{
	for (int k = 0; k < LKP_NPROBES; k++) {
		const struct up_func *f = &plan->funcs[k];
		int done = 0, err = 0;

		if (!f->found || !progs[k])
			continue;
		for (int i = 0; i < f->nsites && !done; i++) {
			const struct up_site *st = &f->sites[i];
			uint64_t off = f->file_off + st->rel;
			struct bpf_link *l, *r = NULL;

			if (st->sp_off != sp_off[k])
				continue;
			l = attach_one(progs[k], plan, off, pid, 0, &err);
			if (l && f->retprobe) {
				r = attach_one(ret_prog, plan, off, pid, 1, &err);
				if (!r) {
					bpf_link__destroy(l);
					l = NULL;
				}
			}
			if (!l) {
				if (err == -EINVAL && i + 1 < f->nsites)
					fprintf(stderr, "conlab: another tracer holds a uprobe at %s+%#x "
						"(EINVAL); probing %s+%#x instead\n", f->name, st->rel,
						f->name, f->sites[i + 1].rel);
				continue;
			}
			add_link(links, nlinks, l);
			if (r)
				add_link(links, nlinks, r);
			done = 1;
		}
		if (!done) {
			if (k == LKP_MUTEX_LOCK || k == LKP_MUTEX_UNLOCK)
				return fail("cannot attach a uprobe to %s in %s: %s", f->name, plan->libc,
					    strerror(-err));
			fprintf(stderr, "conlab: %s not probed (%s): its locks are not seen\n", f->name,
				strerror(-err));
		}
	}
	return 0;
}

/* ---- what the probes cost here ------------------------------------------------------------ */

static uint64_t thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* Thread CPU ns per lock/unlock pair of a private mutex, over n pairs. */
static double pair_ns(int n)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	uint64_t t0 = thread_ns();

	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&m);
		__asm__ volatile("" ::: "memory");
		pthread_mutex_unlock(&m);
	}
	return (double)(thread_ns() - t0) / n;
}

#define CAL_PAIRS 200

int uprobes_calibrate(const struct up_plan *plan, struct bpf_program *lock_prog,
		      struct bpf_program *unlock_prog, const uint32_t *sp_off, struct up_cost *c)
{
	struct bpf_program *progs[LKP_NPROBES] = {
		[LKP_MUTEX_LOCK] = lock_prog,
		[LKP_MUTEX_UNLOCK] = unlock_prog,
	};
	struct bpf_link **links = NULL;
	size_t nlinks = 0;
	double base, traced;

	memset(c, 0, sizeof(*c));
	for (int k = LKP_MUTEX_LOCK; k <= LKP_MUTEX_UNLOCK; k++) {
		const struct up_func *f = &plan->funcs[k];

		for (int i = 0; i < f->nsites; i++)
			if (f->sites[i].sp_off == sp_off[k]) {
				c->site[k] = f->sites[i];
				break;
			}
	}
	c->emulated = c->site[LKP_MUTEX_LOCK].emulated && c->site[LKP_MUTEX_UNLOCK].emulated;
	pair_ns(CAL_PAIRS);	/* warm up: resolve the symbols, fault the pages in */
	base = pair_ns(CAL_PAIRS);
	/* the same programs at the same spots for this process: conlab is never traced, so they
	 * return at their first test and what is timed is the kernel's way into them */
	if (uprobes_attach(plan, progs, NULL, sp_off, getpid(), &links, &nlinks))
		return -1;
	pair_ns(1);
	traced = pair_ns(CAL_PAIRS);
	for (size_t i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	free(links);
	c->pair_ns = traced > base ? traced - base : 0;
	return 0;
}
