// SPDX-License-Identifier: GPL-2.0
/*
 * race - lab 1: a race condition on a shared counter.
 *
 * Thread "inc" adds 1 to counter --iters times, thread "dec" subtracts 1 as often: the
 * right answer is 0.
 *   unlocked - counter++ / counter-- on a plain (volatile) global: load, add, store.
 *   call     - read counter, call a function, write the new value back: the window between
 *              read and write is wide, so most runs lose updates.
 *   locked   - every update under counter_lock: always 0, and the threads wait for it.
 */
#include <pthread.h>
#include "wl.h"

static const char usage[] =
	"Usage: race [--variant unlocked|call|locked] [--iters N]\n"
	"\n"
	"Lab 1: two threads (inc, dec) update one counter; the right result is 0.\n"
	"\n"
	"  --variant V  unlocked (default), call (read, call, write), locked (counter_lock)\n"
	"  --iters N    updates per thread (default 5000000; 500000 when locked)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: variant= iters= result= expected=0 lost_updates_min= lock_waits=\n"
	"  wait_ns_total= inc_tid= dec_tid= elapsed_ns=\n";

enum variant { UNLOCKED, CALL, LOCKED };

volatile long counter;
pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

struct side {
	const char *name;
	long delta;
	int tid;
	long lock_waits;
	uint64_t wait_ns;
	pthread_t thread;
};

static struct {
	enum variant variant;
	long iters;
	pthread_barrier_t start;
} ctx = { .iters = -1 };

/* The call between the read and the write: a real function the compiler must not drop. */
static WL_NOINLINE long adjust(long v, long delta)
{
	__asm__ volatile("" : "+r"(v));
	return v + delta;
}

static WL_NOINLINE void update_unlocked(long delta)
{
	counter += delta;
}

static WL_NOINLINE void update_call(long delta)
{
	long v = counter;

	counter = adjust(v, delta);
}

static WL_NOINLINE void update_locked(struct side *s)
{
	if (pthread_mutex_trylock(&counter_lock)) {
		uint64_t t0 = wl_now_ns();

		pthread_mutex_lock(&counter_lock);
		s->wait_ns += wl_now_ns() - t0;
		s->lock_waits++;
	}
	counter += s->delta;
	pthread_mutex_unlock(&counter_lock);
}

static void *side_main(void *arg)
{
	struct side *s = arg;

	wl_name("%s", s->name);
	s->tid = wl_tid();
	pthread_barrier_wait(&ctx.start);
	for (long i = 0; i < ctx.iters; i++) {
		switch (ctx.variant) {
		case UNLOCKED: update_unlocked(s->delta); break;
		case CALL: update_call(s->delta); break;
		case LOCKED: update_locked(s); break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const variants[] = { "unlocked", "call", "locked", NULL };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "iters", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct side inc = { .name = "inc", .delta = 1 }, dec = { .name = "dec", .delta = -1 };
	uint64_t start;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.variant = wl_choice(optarg, "variant", variants); break;
		case 'i': ctx.iters = wl_num(optarg, "iters"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.iters < 0)
		ctx.iters = ctx.variant == LOCKED ? 500000 : 5000000;
	wl_name("race-main");
	pthread_barrier_init(&ctx.start, NULL, 2);
	start = wl_now_ns();
	wl_check(pthread_create(&inc.thread, NULL, side_main, &inc), "create inc");
	wl_check(pthread_create(&dec.thread, NULL, side_main, &dec), "create dec");
	pthread_join(inc.thread, NULL);
	pthread_join(dec.thread, NULL);
	printf("variant=%s iters=%ld result=%ld expected=0 lost_updates_min=%ld lock_waits=%ld "
	       "wait_ns_total=%llu inc_tid=%d dec_tid=%d elapsed_ns=%llu\n",
	       variants[ctx.variant], ctx.iters, counter, labs(counter),
	       inc.lock_waits + dec.lock_waits, (unsigned long long)(inc.wait_ns + dec.wait_ns),
	       inc.tid, dec.tid, (unsigned long long)(wl_now_ns() - start));
	return 0;
}
