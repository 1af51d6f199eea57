// SPDX-License-Identifier: GPL-2.0
/*
 * barrier - lab 13: barriers over rounds.
 *
 * --threads threads "phase-i" run --rounds rounds; each round is some work, then the barrier.
 *   ok     - pthread_barrier_t round_barrier: the last thread to arrive wakes the others.
 *   broken - a hand-made barrier that works once but is reused (the Little Book's
 *            non-solution): count under barrier_mutex, the last arrival opens the turnstile
 *            semaphore, each passer lets the next through, and nobody closes it again. From
 *            round 2 on threads run through without waiting for the others.
 * The program checks itself: arrived[r] counts arrivals at round r; a thread that leaves
 * the barrier of round r while arrived[r] < threads went through early.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include "wl.h"

#define MAX_ROUNDS 100000

static const char usage[] =
	"Usage: barrier [--variant ok|broken] [--threads N] [--rounds N] [--work-us N] [--seed N]\n"
	"\n"
	"Lab 13: N threads (phase-0..) meet at a barrier after every round.\n"
	"\n"
	"  --variant V  ok (default; pthread_barrier_t) or broken (a one-shot barrier reused)\n"
	"  --threads N  threads (default 4)\n"
	"  --rounds N   rounds (default 20, at most 100000)\n"
	"  --work-us N  work per round, random in [0, N] (default 1000)\n"
	"  --seed N     seed for the work times (default 1)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: variant= threads= rounds= passes= early= first_early_round= barrier_waits=\n"
	"  wait_ns_total= elapsed_ns=\n";

pthread_barrier_t round_barrier;
pthread_mutex_t barrier_mutex = PTHREAD_MUTEX_INITIALIZER;
sem_t turnstile;
int barrier_count;
_Atomic int arrived[MAX_ROUNDS];

static struct {
	int broken;
	long threads, rounds, work_us;
	uint64_t seed;
	_Atomic long passes, early, first_early_round;
	_Atomic uint64_t wait_ns;
} ctx = { .threads = 4, .rounds = 20, .work_us = 1000, .seed = 1, .first_early_round = -1 };

static WL_NOINLINE void broken_barrier_wait(void)
{
	pthread_mutex_lock(&barrier_mutex);
	barrier_count++;
	if (barrier_count == ctx.threads)
		sem_post(&turnstile);		/* opens it, and nothing ever closes it */
	pthread_mutex_unlock(&barrier_mutex);
	sem_wait(&turnstile);
	sem_post(&turnstile);
}

static WL_NOINLINE void barrier_wait(void)
{
	uint64_t t0 = wl_now_ns();

	if (ctx.broken)
		broken_barrier_wait();
	else
		pthread_barrier_wait(&round_barrier);
	atomic_fetch_add(&ctx.wait_ns, wl_now_ns() - t0);
}

static void *phase_main(void *arg)
{
	long id = (long)arg;
	uint64_t rng = ctx.seed * 31337 + id + 1;

	wl_name("phase-%ld", id);
	for (long r = 0; r < ctx.rounds; r++) {
		if (ctx.work_us)
			wl_sleep_us(wl_rand(&rng) % (uint64_t)(ctx.work_us + 1));
		atomic_fetch_add(&arrived[r], 1);
		barrier_wait();
		if (atomic_load(&arrived[r]) < ctx.threads) {
			long none = -1;

			atomic_fetch_add(&ctx.early, 1);
			atomic_compare_exchange_strong(&ctx.first_early_round, &none, r + 1);
		}
		atomic_fetch_add(&ctx.passes, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const variants[] = { "ok", "broken", NULL };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "threads", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "work-us", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t *t;
	uint64_t start;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.broken = wl_choice(optarg, "variant", variants); break;
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'r': ctx.rounds = wl_num(optarg, "rounds"); break;
		case 'w': ctx.work_us = wl_num(optarg, "work-us"); break;
		case 's': ctx.seed = wl_num(optarg, "seed"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	if (ctx.rounds > MAX_ROUNDS)
		ctx.rounds = MAX_ROUNDS;
	wl_name("barrier");
	pthread_barrier_init(&round_barrier, NULL, ctx.threads);
	sem_init(&turnstile, 0, 0);
	t = calloc(ctx.threads, sizeof(*t));
	if (!t)
		wl_die("allocate");
	start = wl_now_ns();
	for (long i = 0; i < ctx.threads; i++)
		wl_check(pthread_create(&t[i], NULL, phase_main, (void *)i), "create thread");
	for (long i = 0; i < ctx.threads; i++)
		pthread_join(t[i], NULL);
	printf("variant=%s threads=%ld rounds=%ld passes=%ld early=%ld first_early_round=%ld "
	       "barrier_waits=%ld wait_ns_total=%llu elapsed_ns=%llu\n", variants[ctx.broken],
	       ctx.threads, ctx.rounds, atomic_load(&ctx.passes), atomic_load(&ctx.early),
	       atomic_load(&ctx.first_early_round), ctx.threads * ctx.rounds,
	       (unsigned long long)atomic_load(&ctx.wait_ns),
	       (unsigned long long)(wl_now_ns() - start));
	free(t);
	return 0;
}
