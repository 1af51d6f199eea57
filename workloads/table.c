// SPDX-License-Identifier: GPL-2.0
/*
 * table - lab 6: lock granularity.
 *
 * --threads workers "table-i" update random buckets of a shared table (seeded). With
 * --locks global every update holds table_lock; with --locks striped bucket b is guarded
 * by stripe_lock[b % 64], so two updates collide only when they hit the same stripe.
 * Each update holds its lock for --hold-ns of work and does --think-ns of work outside it.
 * Waits are measured by the program: a failed trylock followed by a timed lock.
 */
#include <pthread.h>
#include "wl.h"

#define NBUCKETS 1024
#define NSTRIPES 64

static const char usage[] =
	"Usage: table [--locks global|striped] [--threads N] [--ops N] [--hold-ns N]\n"
	"             [--think-ns N] [--seed N]\n"
	"\n"
	"Lab 6: a shared table behind one global lock (table_lock) or 64 stripe locks\n"
	"(stripe_lock[0..63]).\n"
	"\n"
	"  --locks L    global (default) or striped\n"
	"  --threads N  worker threads (default 2)\n"
	"  --ops N      updates per thread (default 100000)\n"
	"  --hold-ns N  work inside the lock per update (default 500)\n"
	"  --think-ns N work outside the lock per update (default 500)\n"
	"  --seed N     bucket choice seed (default 1)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: locks= threads= ops= acquisitions= lock_waits= wait_ns_total= max_wait_ns=\n"
	"  hottest= sum= expected_sum= elapsed_ns=\n";

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t stripe_lock[NSTRIPES];
long table[NBUCKETS];

struct worker {
	int id, tid;
	long waits;
	long stripe_waits[NSTRIPES];
	uint64_t wait_ns, max_wait_ns, rng;
	pthread_t thread;
};

static struct {
	int striped;
	long threads, ops, hold_ns, think_ns;
	uint64_t seed;
	pthread_barrier_t start;
} ctx = { .threads = 2, .ops = 100000, .hold_ns = 500, .think_ns = 500, .seed = 1 };

static WL_NOINLINE void lock_counted(pthread_mutex_t *m, struct worker *w, int stripe)
{
	if (pthread_mutex_trylock(m)) {
		uint64_t t0 = wl_now_ns(), d;

		pthread_mutex_lock(m);
		d = wl_now_ns() - t0;
		w->wait_ns += d;
		if (d > w->max_wait_ns)
			w->max_wait_ns = d;
		w->waits++;
		w->stripe_waits[stripe]++;
	}
}

static WL_NOINLINE void update_bucket(struct worker *w, int b)
{
	pthread_mutex_t *m = ctx.striped ? &stripe_lock[b % NSTRIPES] : &table_lock;

	lock_counted(m, w, b % NSTRIPES);
	table[b]++;
	if (ctx.hold_ns)
		wl_spin_ns(ctx.hold_ns);
	pthread_mutex_unlock(m);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	wl_name("table-%d", w->id);
	w->tid = wl_tid();
	pthread_barrier_wait(&ctx.start);
	for (long i = 0; i < ctx.ops; i++) {
		update_bucket(w, wl_rand(&w->rng) % NBUCKETS);
		if (ctx.think_ns)
			wl_spin_ns(ctx.think_ns);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const lockings[] = { "global", "striped", NULL };
	static const struct option opts[] = {
		{ "locks", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'o' },
		{ "hold-ns", required_argument, NULL, 'H' },
		{ "think-ns", required_argument, NULL, 'T' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct worker *w;
	long waits = 0, sum = 0, stripe_waits[NSTRIPES] = { 0 };
	uint64_t start, wait_ns = 0, max_wait = 0;
	int c, hottest = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': ctx.striped = wl_choice(optarg, "locks", lockings); break;
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'o': ctx.ops = wl_num(optarg, "ops"); break;
		case 'H': ctx.hold_ns = wl_num(optarg, "hold-ns"); break;
		case 'T': ctx.think_ns = wl_num(optarg, "think-ns"); break;
		case 's': ctx.seed = wl_num(optarg, "seed"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	wl_name("table-main");
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&stripe_lock[i], NULL);
	pthread_barrier_init(&ctx.start, NULL, ctx.threads);
	w = calloc(ctx.threads, sizeof(*w));
	if (!w)
		wl_die("allocate");
	start = wl_now_ns();
	for (long i = 0; i < ctx.threads; i++) {
		w[i].id = i;
		w[i].rng = ctx.seed * 7919 + i + 1;
		wl_check(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), "create worker");
	}
	for (long i = 0; i < ctx.threads; i++) {
		pthread_join(w[i].thread, NULL);
		waits += w[i].waits;
		wait_ns += w[i].wait_ns;
		if (w[i].max_wait_ns > max_wait)
			max_wait = w[i].max_wait_ns;
		for (int s = 0; s < NSTRIPES; s++)
			stripe_waits[s] += w[i].stripe_waits[s];
	}
	for (int b = 0; b < NBUCKETS; b++)
		sum += table[b];
	for (int s = 1; s < NSTRIPES; s++)
		if (stripe_waits[s] > stripe_waits[hottest])
			hottest = s;
	printf("locks=%s threads=%ld ops=%ld acquisitions=%ld lock_waits=%ld wait_ns_total=%llu "
	       "max_wait_ns=%llu ", lockings[ctx.striped], ctx.threads, ctx.ops,
	       ctx.threads * ctx.ops, waits, (unsigned long long)wait_ns,
	       (unsigned long long)max_wait);
	if (ctx.striped)
		printf("hottest=stripe_lock[%d] ", hottest);
	else
		printf("hottest=table_lock ");
	printf("sum=%ld expected_sum=%ld elapsed_ns=%llu\n", sum, ctx.threads * ctx.ops,
	       (unsigned long long)(wl_now_ns() - start));
	free(w);
	return 0;
}
