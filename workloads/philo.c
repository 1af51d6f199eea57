// SPDX-License-Identifier: GPL-2.0
/*
 * philo - lab 9: the dining philosophers.
 *
 * Five threads philo-0..philo-4 share five mutexes fork_m[0..4]; philo-i uses fork_m[i]
 * (left) and fork_m[(i+1)%5] (right).
 *   naive   - left then right. With the forcing step (default) every philosopher takes its
 *             left fork, all meet at a barrier, then reach right: a 5-cycle, forever.
 *   ordered - lower-numbered fork first (a global order): no cycle can form.
 *   waiter  - a counting semaphore of 4 seats in front of the forks: at most 4 reach,
 *             so one of them always gets both forks.
 */
#include <pthread.h>
#include <semaphore.h>
#include "wl.h"

#define NPHILO 5

static const char usage[] =
	"Usage: philo [--variant naive|ordered|waiter] [--meals N | --ms N] [--eat-us N]\n"
	"             [--think-us N] [--seed N] [--no-force]\n"
	"\n"
	"Lab 9: five philosophers (threads philo-0..philo-4), five forks (fork_m[0..4]).\n"
	"--variant naive HANGS ON PURPOSE (a 5-cycle on the first meal); kill it.\n"
	"\n"
	"  --variant V   naive (default), ordered, or waiter (semaphore of 4)\n"
	"  --meals N     meals per philosopher (default 20)\n"
	"  --ms N        instead of --meals: eat for N ms and count the meals\n"
	"  --eat-us N    time spent eating, forks held (default 200)\n"
	"  --think-us N  time spent thinking, random in [0, N] (default 200)\n"
	"  --seed N      seed for the think times (default 1)\n"
	"  --no-force    naive without the forcing barrier: may finish, may hang (then no\n"
	"                ground-truth line is printed)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line (naive, forced): hang=philo pid= cycle=philo-0,...,philo-4 tids=T0,..,T4\n"
	"  holds=fork_m[0],...,fork_m[4] waits=fork_m[1],...,fork_m[0]   (before the hang)\n"
	"Last line (otherwise): hang=none variant= meals=M0,..,M4 total_meals= min_meals=\n"
	"  max_meals= max_wait_ns=W0,..,W4 wait_ns_total= tids=T0,..,T4 elapsed_ns=\n";

enum variant { NAIVE, ORDERED, WAITER };

pthread_mutex_t fork_m[NPHILO];
sem_t waiter_sem;

struct philo {
	int id;
	int tid;
	long meals;
	uint64_t wait_ns_total, max_wait_ns;
	uint64_t rng;
	pthread_t thread;
};

static struct {
	enum variant variant;
	long meals, ms, eat_us, think_us;
	uint64_t seed;
	int force;
	uint64_t deadline;
	pthread_barrier_t holding;	/* naive + force: 5 philosophers + main */
	struct philo philo[NPHILO];
} ctx = { .meals = 20, .eat_us = 200, .think_us = 200, .seed = 1, .force = 1 };

static WL_NOINLINE void take_fork(int f)
{
	pthread_mutex_lock(&fork_m[f]);
}

static WL_NOINLINE void put_fork(int f)
{
	pthread_mutex_unlock(&fork_m[f]);
}

static WL_NOINLINE void think(struct philo *p)
{
	if (ctx.think_us)
		wl_sleep_us(wl_rand(&p->rng) % (uint64_t)(ctx.think_us + 1));
}

static WL_NOINLINE void eat(struct philo *p)
{
	p->meals++;
	if (ctx.eat_us)
		wl_sleep_us(ctx.eat_us);
}

static int more_meals(struct philo *p)
{
	if (ctx.ms)
		return wl_now_ns() < ctx.deadline;
	return p->meals < ctx.meals;
}

static void *philo_main(void *arg)
{
	struct philo *p = arg;
	int left = p->id, right = (p->id + 1) % NPHILO;
	int first = left, second = right;
	int forced = ctx.variant == NAIVE && ctx.force;

	wl_name("philo-%d", p->id);
	p->tid = wl_tid();
	if (ctx.variant == ORDERED && right < left) {
		first = right;
		second = left;
	}
	while (more_meals(p)) {
		uint64_t t0;

		think(p);
		t0 = wl_now_ns();
		if (ctx.variant == WAITER)
			sem_wait(&waiter_sem);
		take_fork(first);
		if (forced) {
			/* everyone holds the left fork before anyone reaches right */
			pthread_barrier_wait(&ctx.holding);
			forced = 0;
		}
		take_fork(second);
		uint64_t w = wl_now_ns() - t0;

		p->wait_ns_total += w;
		if (w > p->max_wait_ns)
			p->max_wait_ns = w;
		eat(p);
		put_fork(second);
		put_fork(first);
		if (ctx.variant == WAITER)
			sem_post(&waiter_sem);
	}
	return NULL;
}

static void print_list(const char *key, const char *fmt, long (*get)(int))
{
	printf(" %s=", key);
	for (int i = 0; i < NPHILO; i++) {
		printf(fmt, get(i));
		if (i + 1 < NPHILO)
			putchar(',');
	}
}

static long get_tid(int i) { return ctx.philo[i].tid; }
static long get_meals(int i) { return ctx.philo[i].meals; }
static long get_max_wait(int i) { return (long)ctx.philo[i].max_wait_ns; }

int main(int argc, char **argv)
{
	static const char *const variants[] = { "naive", "ordered", "waiter", NULL };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "meals", required_argument, NULL, 'm' },
		{ "ms", required_argument, NULL, 'M' },
		{ "eat-us", required_argument, NULL, 'e' },
		{ "think-us", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "no-force", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t start, wait_total = 0;
	long total = 0, minm = LONG_MAX, maxm = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.variant = wl_choice(optarg, "variant", variants); break;
		case 'm': ctx.meals = wl_num(optarg, "meals"); break;
		case 'M': ctx.ms = wl_num(optarg, "ms"); break;
		case 'e': ctx.eat_us = wl_num(optarg, "eat-us"); break;
		case 't': ctx.think_us = wl_num(optarg, "think-us"); break;
		case 's': ctx.seed = wl_num(optarg, "seed"); break;
		case 'n': ctx.force = 0; break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("philo-main");

	for (int i = 0; i < NPHILO; i++)
		pthread_mutex_init(&fork_m[i], NULL);
	sem_init(&waiter_sem, 0, NPHILO - 1);
	int forced = ctx.variant == NAIVE && ctx.force;

	if (forced)
		pthread_barrier_init(&ctx.holding, NULL, NPHILO + 1);
	start = wl_now_ns();
	ctx.deadline = start + (uint64_t)ctx.ms * 1000000ull;
	for (int i = 0; i < NPHILO; i++) {
		struct philo *p = &ctx.philo[i];

		p->id = i;
		p->rng = ctx.seed * 1000003ull + (uint64_t)i + 1;
		wl_check(pthread_create(&p->thread, NULL, philo_main, p), "create philosopher");
	}
	if (forced) {
		pthread_barrier_wait(&ctx.holding);
		for (int i = 0; i < NPHILO; i++)
			printf("philo-%d (tid %d) holds fork_m[%d] and will wait for fork_m[%d]\n",
			       i, ctx.philo[i].tid, i, (i + 1) % NPHILO);
		printf("hang=philo pid=%d cycle=philo-0,philo-1,philo-2,philo-3,philo-4",
		       getpid());
		print_list("tids", "%ld", get_tid);
		printf(" holds=fork_m[0],fork_m[1],fork_m[2],fork_m[3],fork_m[4]"
		       " waits=fork_m[1],fork_m[2],fork_m[3],fork_m[4],fork_m[0]\n");
		fflush(stdout);
	}
	for (int i = 0; i < NPHILO; i++)
		pthread_join(ctx.philo[i].thread, NULL);

	for (int i = 0; i < NPHILO; i++) {
		struct philo *p = &ctx.philo[i];

		total += p->meals;
		wait_total += p->wait_ns_total;
		if (p->meals < minm)
			minm = p->meals;
		if (p->meals > maxm)
			maxm = p->meals;
	}
	printf("hang=none variant=%s", variants[ctx.variant]);
	print_list("meals", "%ld", get_meals);
	printf(" total_meals=%ld min_meals=%ld max_meals=%ld", total, minm, maxm);
	print_list("max_wait_ns", "%ld", get_max_wait);
	printf(" wait_ns_total=%llu", (unsigned long long)wait_total);
	print_list("tids", "%ld", get_tid);
	printf(" elapsed_ns=%llu\n", (unsigned long long)(wl_now_ns() - start));
	return 0;
}
