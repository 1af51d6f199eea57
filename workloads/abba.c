// SPDX-License-Identifier: GPL-2.0
/*
 * abba - lab 7: a real deadlock.
 *
 * Thread "abba-1" takes lock_a then lock_b; thread "abba-2" takes lock_b then lock_a. Both
 * take their first lock, meet at a barrier (the forcing delay made certain), then sleep
 * --delay-ms and reach for the second lock: each waits for the lock the other holds, forever.
 * The ground-truth line is printed and flushed before the threads block.
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: abba [--delay-ms N] [--no-hang | --ordered] [--iters N]\n"
	"\n"
	"Lab 7: two threads take lock_a and lock_b in opposite orders (ABBA).\n"
	"By default it HANGS ON PURPOSE: both threads block forever; kill it (Ctrl-C).\n"
	"\n"
	"  --delay-ms N  forcing delay between the first and the second lock (default 50)\n"
	"  --no-hang     same two lock orders, but run one path after the other: never hangs\n"
	"  --ordered     the fix: both threads take lock_a, then lock_b, at the same time;\n"
	"                one global order, no cycle possible\n"
	"  --iters N     with --no-hang or --ordered, iterations per thread (default 1000)\n"
	"  -h, --help    this text\n"
	"\n"
	"Last line of stdout (hang): hang=abba pid= holder_a= holder_b= waiter_a= waiter_b=\n"
	"  cycle=abba-1,abba-2 site_a= site_b=   (printed and flushed before the hang)\n"
	"Last line (--no-hang, --ordered): hang=none path1= path2= tid1= tid2=\n"
	"  iters= acquisitions=\n";

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	const char *name;
	pthread_mutex_t *first, *second;
	int tid;
	int first_line;		/* source line where the first lock is taken */
	long acquisitions;
};

static struct {
	long delay_ms;
	long iters;
	int no_hang;
	int ordered;
	pthread_barrier_t holding;	/* both workers hold their first lock, main prints */
} ctx = { .delay_ms = 50, .iters = 1000 };

static WL_NOINLINE void take_first(struct worker *w)
{
	w->first_line = __LINE__ + 1;
	pthread_mutex_lock(w->first);
}

static WL_NOINLINE void take_second(struct worker *w)
{
	pthread_mutex_lock(w->second);
}

static WL_NOINLINE void release_both(struct worker *w)
{
	pthread_mutex_unlock(w->second);
	pthread_mutex_unlock(w->first);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	wl_name("%s", w->name);
	w->tid = wl_tid();
	if (ctx.no_hang || ctx.ordered) {
		for (long i = 0; i < ctx.iters; i++) {
			take_first(w);
			take_second(w);
			w->acquisitions += 2;
			release_both(w);
		}
		return NULL;
	}
	take_first(w);
	pthread_barrier_wait(&ctx.holding);
	wl_sleep_ms(ctx.delay_ms);
	take_second(w);		/* never returns: the other thread holds it */
	release_both(w);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "no-hang", no_argument, NULL, 'n' },
		{ "ordered", no_argument, NULL, 'o' },
		{ "iters", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct worker w1 = { .name = "abba-1", .first = &lock_a, .second = &lock_b };
	struct worker w2 = { .name = "abba-2", .first = &lock_b, .second = &lock_a };
	pthread_t t1, t2;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ctx.delay_ms = wl_num(optarg, "delay-ms"); break;
		case 'n': ctx.no_hang = 1; break;
		case 'o': ctx.ordered = 1; break;
		case 'i': ctx.iters = wl_num(optarg, "iters"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("abba-main");

	if (ctx.ordered) {
		/* The fix: one order for everyone, both threads at once. */
		w2.first = &lock_a;
		w2.second = &lock_b;
		wl_check(pthread_create(&t1, NULL, worker_main, &w1), "create abba-1");
		wl_check(pthread_create(&t2, NULL, worker_main, &w2), "create abba-2");
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		printf("hang=none path1=lock_a,lock_b path2=lock_a,lock_b tid1=%d tid2=%d "
		       "iters=%ld acquisitions=%ld\n", w1.tid, w2.tid, ctx.iters,
		       w1.acquisitions + w2.acquisitions);
		return 0;
	}
	if (ctx.no_hang) {
		/* Both orders exist in the program, but never at the same time. */
		wl_check(pthread_create(&t1, NULL, worker_main, &w1), "create abba-1");
		pthread_join(t1, NULL);
		wl_check(pthread_create(&t2, NULL, worker_main, &w2), "create abba-2");
		pthread_join(t2, NULL);
		printf("hang=none path1=lock_a,lock_b path2=lock_b,lock_a tid1=%d tid2=%d "
		       "iters=%ld acquisitions=%ld\n", w1.tid, w2.tid, ctx.iters,
		       w1.acquisitions + w2.acquisitions);
		return 0;
	}

	pthread_barrier_init(&ctx.holding, NULL, 3);
	wl_check(pthread_create(&t1, NULL, worker_main, &w1), "create abba-1");
	wl_check(pthread_create(&t2, NULL, worker_main, &w2), "create abba-2");
	pthread_barrier_wait(&ctx.holding);
	printf("abba-1 (tid %d) holds lock_a and will wait for lock_b\n", w1.tid);
	printf("abba-2 (tid %d) holds lock_b and will wait for lock_a\n", w2.tid);
	printf("hang=abba pid=%d holder_a=%d holder_b=%d waiter_a=%d waiter_b=%d "
	       "cycle=abba-1,abba-2 site_a=abba.c:%d site_b=abba.c:%d delay_ms=%ld\n",
	       getpid(), w1.tid, w2.tid, w2.tid, w1.tid, w1.first_line, w2.first_line,
	       ctx.delay_ms);
	fflush(stdout);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	return 0;
}
