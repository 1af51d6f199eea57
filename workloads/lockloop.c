// SPDX-License-Identifier: GPL-2.0
/*
 * lockloop - a contention benchmark: two threads, each iteration W units of register-only
 * work, then lock shared_lock, increment, unlock. --nested takes outer_lock around it.
 * --cold-every N takes cold_lock instead every Nth iteration (a hot and a cold lock);
 * --hold-sleep-us U sleeps with shared_lock held (a holder that blocks while holding).
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: lockloop [--work W] [--iters N] [--nested] [--threads N] [--cold-every N]\n"
	"                [--hold-sleep-us U]\n"
	"\n"
	"Threads lockloop-0.. each do W units of register-only work, then lock shared_lock,\n"
	"increment counter, unlock; N times.\n"
	"\n"
	"  --work W     work units between lock sections (default 100)\n"
	"  --iters N    iterations per thread (default 100000)\n"
	"  --nested     take outer_lock, then shared_lock (a consistent order)\n"
	"  --threads N  threads (default 2)\n"
	"  --cold-every N   every Nth iteration lock cold_lock instead of shared_lock\n"
	"  --hold-sleep-us U  sleep U us (nanosleep) while holding shared_lock\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: threads= work= iters= nested= counter= expected= lock_waits= wait_ns_total=\n"
	"  elapsed_ns= ns_per_iter= cold_lock_waits= cold_wait_ns=\n"
	"  (lock_waits and wait_ns_total count shared_lock and outer_lock, not cold_lock)\n";

pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t outer_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t cold_lock = PTHREAD_MUTEX_INITIALIZER;
long counter;

struct looper {
	int id, tid;
	long lock_waits, cold_waits;
	uint64_t wait_ns, cold_wait_ns;
	pthread_t thread;
};

static struct {
	long work, iters, threads, cold_every, hold_sleep_us;
	int nested;
	pthread_barrier_t start;
} ctx = { .work = 100, .iters = 100000, .threads = 2 };

static WL_NOINLINE uint64_t do_work(uint64_t x, long units)
{
	for (long i = 0; i < units; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static WL_NOINLINE void lock_timed(pthread_mutex_t *m, long *waits, uint64_t *wait_ns)
{
	if (pthread_mutex_trylock(m)) {
		uint64_t t0 = wl_now_ns();

		pthread_mutex_lock(m);
		*wait_ns += wl_now_ns() - t0;
		(*waits)++;
	}
}

static WL_NOINLINE void cold_critical(struct looper *l)
{
	lock_timed(&cold_lock, &l->cold_waits, &l->cold_wait_ns);
	counter++;
	pthread_mutex_unlock(&cold_lock);
}

static WL_NOINLINE void critical(struct looper *l)
{
	if (ctx.nested)
		lock_timed(&outer_lock, &l->lock_waits, &l->wait_ns);
	lock_timed(&shared_lock, &l->lock_waits, &l->wait_ns);
	counter++;
	if (ctx.hold_sleep_us)
		wl_sleep_us(ctx.hold_sleep_us);
	pthread_mutex_unlock(&shared_lock);
	if (ctx.nested)
		pthread_mutex_unlock(&outer_lock);
}

static void *looper_main(void *arg)
{
	struct looper *l = arg;
	uint64_t x = (uint64_t)l->id + 1;

	wl_name("lockloop-%d", l->id);
	l->tid = wl_tid();
	pthread_barrier_wait(&ctx.start);
	for (long i = 0; i < ctx.iters; i++) {
		x = do_work(x, ctx.work);
		if (ctx.cold_every && i % ctx.cold_every == ctx.cold_every - 1)
			cold_critical(l);
		else
			critical(l);
	}
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "work", required_argument, NULL, 'w' },
		{ "iters", required_argument, NULL, 'i' },
		{ "nested", no_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "cold-every", required_argument, NULL, 'c' },
		{ "hold-sleep-us", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct looper *l;
	long waits = 0, cold_waits = 0;
	uint64_t start, elapsed, wait_ns = 0, cold_wait_ns = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': ctx.work = wl_num(optarg, "work"); break;
		case 'i': ctx.iters = wl_num(optarg, "iters"); break;
		case 'n': ctx.nested = 1; break;
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'c': ctx.cold_every = wl_num(optarg, "cold-every"); break;
		case 's': ctx.hold_sleep_us = wl_num(optarg, "hold-sleep-us"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	wl_name("lockloop");
	l = calloc(ctx.threads, sizeof(*l));
	if (!l)
		wl_die("allocate threads");
	pthread_barrier_init(&ctx.start, NULL, ctx.threads);
	start = wl_now_ns();
	for (long i = 0; i < ctx.threads; i++) {
		l[i].id = i;
		wl_check(pthread_create(&l[i].thread, NULL, looper_main, &l[i]), "create thread");
	}
	for (long i = 0; i < ctx.threads; i++) {
		pthread_join(l[i].thread, NULL);
		waits += l[i].lock_waits;
		wait_ns += l[i].wait_ns;
		cold_waits += l[i].cold_waits;
		cold_wait_ns += l[i].cold_wait_ns;
	}
	elapsed = wl_now_ns() - start;
	printf("threads=%ld work=%ld iters=%ld nested=%d counter=%ld expected=%ld lock_waits=%ld "
	       "wait_ns_total=%llu elapsed_ns=%llu ns_per_iter=%llu cold_lock_waits=%ld "
	       "cold_wait_ns=%llu\n", ctx.threads, ctx.work,
	       ctx.iters, ctx.nested, counter, ctx.threads * ctx.iters, waits,
	       (unsigned long long)wait_ns, (unsigned long long)elapsed,
	       (unsigned long long)(ctx.iters ? elapsed / ctx.iters : 0), cold_waits,
	       (unsigned long long)cold_wait_ns);
	free(l);
	return 0;
}
