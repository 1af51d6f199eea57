// SPDX-License-Identifier: GPL-2.0
/*
 * green - lab 17: green threads (user-level context switching with ucontext).
 *
 * One kernel thread, named "green", runs a tiny scheduler and --greens green threads
 * (ucontext + their own stacks). A green thread "sleeps" by telling the scheduler when to
 * wake it and switching back (swapcontext): no kernel thread ever blocks for it. When no
 * green thread is runnable, the scheduler waits in epoll_wait with the next wake-up as its
 * timeout, the way gevent's hub does. One extra green thread (--hog-ms) computes without
 * yielding: every other green thread, and the scheduler, stall for that long.
 */
#include <sys/epoll.h>
#include <ucontext.h>
#include "wl.h"

#define MAX_GREENS 64
#define STACK_SIZE (64 * 1024)

static const char usage[] =
	"Usage: green [--greens N] [--sleeps N] [--sleep-ms N] [--hog-ms N]\n"
	"\n"
	"Lab 17: green threads on one kernel thread (green); sleeps become waits of the\n"
	"scheduler's epoll_wait; a CPU-bound green thread stalls the others.\n"
	"\n"
	"  --greens N    sleeping green threads (default 4, at most 63)\n"
	"  --sleeps N    sleeps per green thread (default 10)\n"
	"  --sleep-ms N  length of one sleep (default 10)\n"
	"  --hog-ms N    a green thread that computes N ms without yielding (default 100;\n"
	"                0 = none)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line: greens= switches= loop_waits= tids_used= tid= max_loop_gap_ns=\n"
	"  max_oversleep_ns= hog_ms= elapsed_ns=\n";

struct green {
	ucontext_t uc;
	int id, done, tid;
	uint64_t wake_at;
	void (*fn)(struct green *);
	char *stack;
};

static struct {
	long greens, sleeps, sleep_ms, hog_ms;
	int n;
	struct green g[MAX_GREENS];
	struct green *current;
	ucontext_t sched_uc;
	long switches, loop_waits;
	uint64_t max_oversleep_ns, max_loop_gap_ns;
} ctx = { .greens = 4, .sleeps = 10, .sleep_ms = 10, .hog_ms = 100 };

/* Give the CPU back to the scheduler until @ms have passed. */
static WL_NOINLINE void green_sleep(long ms)
{
	struct green *g = ctx.current;
	uint64_t due = wl_now_ns() + (uint64_t)ms * 1000000ull, late;

	g->wake_at = due;
	swapcontext(&g->uc, &ctx.sched_uc);
	late = wl_now_ns() - due;
	if (late > ctx.max_oversleep_ns)
		ctx.max_oversleep_ns = late;
}

static WL_NOINLINE void sleeper(struct green *g)
{
	(void)g;
	for (long i = 0; i < ctx.sleeps; i++) {
		wl_spin_ns(100000);	/* a little work */
		green_sleep(ctx.sleep_ms);
	}
}

static WL_NOINLINE void hog(struct green *g)
{
	(void)g;
	green_sleep(ctx.sleep_ms * 2);	/* let the sleepers get going first */
	wl_spin_ns((uint64_t)ctx.hog_ms * 1000000ull);	/* never yields meanwhile */
}

static void trampoline(int idx)
{
	struct green *g = &ctx.g[idx];

	g->tid = wl_tid();
	g->fn(g);
	g->done = 1;
	/* uc_link returns to the scheduler */
}

static void spawn(void (*fn)(struct green *))
{
	struct green *g = &ctx.g[ctx.n];

	g->id = ctx.n;
	g->fn = fn;
	g->stack = malloc(STACK_SIZE);
	if (!g->stack)
		wl_die("allocate a stack");
	getcontext(&g->uc);
	g->uc.uc_stack.ss_sp = g->stack;
	g->uc.uc_stack.ss_size = STACK_SIZE;
	g->uc.uc_link = &ctx.sched_uc;
	makecontext(&g->uc, (void (*)(void))trampoline, 1, ctx.n);
	ctx.n++;
}

static WL_NOINLINE void run_scheduler(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev;

	if (ep < 0)
		wl_die("create epoll");
	for (;;) {
		uint64_t now = wl_now_ns(), next = UINT64_MAX;
		int alive = 0, ran = 0;

		for (int i = 0; i < ctx.n; i++) {
			struct green *g = &ctx.g[i];
			uint64_t t0;

			if (g->done)
				continue;
			alive++;
			if (g->wake_at > now) {
				if (g->wake_at < next)
					next = g->wake_at;
				continue;
			}
			ctx.current = g;
			ctx.switches++;
			t0 = wl_now_ns();
			swapcontext(&ctx.sched_uc, &g->uc);
			/* the scheduler is back: how long did that green thread keep it? */
			if (wl_now_ns() - t0 > ctx.max_loop_gap_ns)
				ctx.max_loop_gap_ns = wl_now_ns() - t0;
			ran = 1;
			now = wl_now_ns();
		}
		if (!alive)
			break;
		if (ran || next == UINT64_MAX)
			continue;
		/* nothing runnable: wait for the next timer, as an event loop would */
		ctx.loop_waits++;
		epoll_wait(ep, &ev, 1, (int)((next - now + 999999) / 1000000));
	}
	close(ep);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "greens", required_argument, NULL, 'g' },
		{ "sleeps", required_argument, NULL, 's' },
		{ "sleep-ms", required_argument, NULL, 'm' },
		{ "hog-ms", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t start;
	int c, tids = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g': ctx.greens = wl_num(optarg, "greens"); break;
		case 's': ctx.sleeps = wl_num(optarg, "sleeps"); break;
		case 'm': ctx.sleep_ms = wl_num(optarg, "sleep-ms"); break;
		case 'H': ctx.hog_ms = wl_num(optarg, "hog-ms"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.greens > MAX_GREENS - 1)
		ctx.greens = MAX_GREENS - 1;
	wl_name("green");
	start = wl_now_ns();
	for (long i = 0; i < ctx.greens; i++)
		spawn(sleeper);
	if (ctx.hog_ms)
		spawn(hog);
	run_scheduler();

	/* distinct kernel thread ids seen by the green threads (and the scheduler) */
	int seen[MAX_GREENS + 1], nseen = 0;

	seen[nseen++] = wl_tid();
	for (int i = 0; i < ctx.n; i++) {
		int dup = 0;

		for (int j = 0; j < nseen; j++)
			dup |= seen[j] == ctx.g[i].tid;
		if (!dup)
			seen[nseen++] = ctx.g[i].tid;
		free(ctx.g[i].stack);
	}
	tids = nseen;
	printf("greens=%d switches=%ld loop_waits=%ld tids_used=%d tid=%d max_loop_gap_ns=%llu "
	       "max_oversleep_ns=%llu hog_ms=%ld elapsed_ns=%llu\n", ctx.n, ctx.switches,
	       ctx.loop_waits, tids, wl_tid(), (unsigned long long)ctx.max_loop_gap_ns,
	       (unsigned long long)ctx.max_oversleep_ns, ctx.hog_ms,
	       (unsigned long long)(wl_now_ns() - start));
	return 0;
}
