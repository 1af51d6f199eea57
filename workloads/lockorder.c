// SPDX-License-Identifier: GPL-2.0
/*
 * lockorder - lab 8: a potential deadlock (lock-order inversion) in a run that finishes.
 *
 * Thread "path-1" runs path_one(), thread "path-2" runs path_two(), --iters times each.
 *   inverted - path one takes lock_a then lock_b, path two lock_b then lock_a; the threads
 *              run one after the other (joined), so the run never hangs, yet the orders are
 *              inverted and an unlucky schedule would deadlock.
 *   global   - both paths take lock_a then lock_b (a global order), concurrently.
 *   gated    - inverted orders, but both paths first take gate_lock: the inversion cannot
 *              deadlock (a detector should filter it), concurrently.
 *   trylock  - path two takes lock_b, then only trylocks lock_a and backs off (releases
 *              lock_b) when it is busy, concurrently.
 *   rwread   - rw_a and rw_b rwlocks taken for reading in opposite orders: read-read never
 *              blocks, concurrently.
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: lockorder [--variant inverted|global|gated|trylock|rwread] [--iters N]\n"
	"\n"
	"Lab 8: two code paths (threads path-1, path-2) take two locks; never hangs.\n"
	"\n"
	"  --variant V  inverted (default; the paths run one after the other), global, gated,\n"
	"               trylock, rwread (these run the paths concurrently)\n"
	"  --iters N    iterations per path (default 1000)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: variant= path1= path2= concurrent= gate= iters= acquisitions= backoffs=\n"
	"  tid1= tid2= inversion=0|1 deadlock_possible=0|1\n";

enum variant { INVERTED, GLOBAL, GATED, TRYLOCK, RWREAD };

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
long shared_value;

struct path {
	const char *name;
	int id, tid;
	long acquisitions, backoffs;
	pthread_t thread;
};

static struct {
	enum variant variant;
	long iters;
} ctx = { .iters = 1000 };

static WL_NOINLINE void path_one(struct path *p)
{
	if (ctx.variant == RWREAD) {
		pthread_rwlock_rdlock(&rw_a);
		pthread_rwlock_rdlock(&rw_b);
		p->acquisitions += 2;
		pthread_rwlock_unlock(&rw_b);
		pthread_rwlock_unlock(&rw_a);
		return;
	}
	if (ctx.variant == GATED)
		pthread_mutex_lock(&gate_lock);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	shared_value++;
	p->acquisitions += 2;
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	if (ctx.variant == GATED)
		pthread_mutex_unlock(&gate_lock);
}

static WL_NOINLINE void path_two(struct path *p)
{
	switch (ctx.variant) {
	case RWREAD:
		pthread_rwlock_rdlock(&rw_b);
		pthread_rwlock_rdlock(&rw_a);
		p->acquisitions += 2;
		pthread_rwlock_unlock(&rw_a);
		pthread_rwlock_unlock(&rw_b);
		return;
	case GLOBAL:
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(&lock_b);
		break;
	case TRYLOCK:
		for (;;) {
			pthread_mutex_lock(&lock_b);
			if (!pthread_mutex_trylock(&lock_a))
				break;
			pthread_mutex_unlock(&lock_b);	/* back off, let path one finish */
			p->backoffs++;
			sched_yield();
		}
		break;
	case GATED:
		pthread_mutex_lock(&gate_lock);
		/* fall through */
	case INVERTED:
		pthread_mutex_lock(&lock_b);
		pthread_mutex_lock(&lock_a);
		break;
	}
	shared_value--;
	p->acquisitions += 2;
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	if (ctx.variant == GATED)
		pthread_mutex_unlock(&gate_lock);
}

static void *path_main(void *arg)
{
	struct path *p = arg;

	wl_name("%s", p->name);
	p->tid = wl_tid();
	for (long i = 0; i < ctx.iters; i++) {
		if (p->id == 1)
			path_one(p);
		else
			path_two(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const variants[] = { "inverted", "global", "gated", "trylock",
						"rwread", NULL };
	static const char *const orders2[] = { "lock_b,lock_a", "lock_a,lock_b",
					       "lock_b,lock_a", "lock_b,lock_a(try)",
					       "rw_b,rw_a" };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "iters", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct path p1 = { .name = "path-1", .id = 1 }, p2 = { .name = "path-2", .id = 2 };
	int c, concurrent;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.variant = wl_choice(optarg, "variant", variants); break;
		case 'i': ctx.iters = wl_num(optarg, "iters"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("lockorder");
	concurrent = ctx.variant != INVERTED;
	wl_check(pthread_create(&p1.thread, NULL, path_main, &p1), "create path-1");
	if (!concurrent)
		pthread_join(p1.thread, NULL);
	wl_check(pthread_create(&p2.thread, NULL, path_main, &p2), "create path-2");
	if (concurrent)
		pthread_join(p1.thread, NULL);
	pthread_join(p2.thread, NULL);
	/*
	 * inversion: blocking acquisitions in both orders exist (gated or not);
	 * deadlock_possible: an inversion that no gate lock serializes.
	 */
	printf("variant=%s path1=%s path2=%s concurrent=%d gate=%s iters=%ld acquisitions=%ld "
	       "backoffs=%ld tid1=%d tid2=%d inversion=%d deadlock_possible=%d\n",
	       variants[ctx.variant],
	       ctx.variant == RWREAD ? "rw_a,rw_b" : "lock_a,lock_b", orders2[ctx.variant],
	       concurrent, ctx.variant == GATED ? "gate_lock" : "none", ctx.iters,
	       p1.acquisitions + p2.acquisitions, p2.backoffs, p1.tid, p2.tid,
	       ctx.variant == INVERTED || ctx.variant == GATED, ctx.variant == INVERTED);
	return 0;
}
