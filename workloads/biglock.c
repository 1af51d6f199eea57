// SPDX-License-Identifier: GPL-2.0
/*
 * biglock - lab 2, the C twin of the GIL: one big lock around all work.
 *
 * --mode gil: N threads "worker-i" run CPU work only while holding big_lock, a boolean
 * under big_mutex with a condvar, handed over the way CPython 3.11 does it: a waiter sleeps
 * in a timed wait of --interval-us; when the wait times out it raises drop_request, and the
 * holder drops the lock at its next check and waits until another thread has taken it.
 * --mode free: the same work with no lock. Both print their CPU and wall time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "wl.h"

static const char usage[] =
	"Usage: biglock [--mode gil|free] [--threads N] [--ms N] [--interval-us N]\n"
	"\n"
	"Lab 2: N CPU-bound threads (worker-0..) under one big lock handed over like CPython's\n"
	"GIL (timed waits of the switch interval), or with no lock at all.\n"
	"\n"
	"  --mode M         gil (default) or free\n"
	"  --threads N      worker threads (default 4)\n"
	"  --ms N           CPU work per thread (default 100)\n"
	"  --interval-us N  switch interval (default 5000, CPython's default)\n"
	"  -h, --help       this text\n"
	"\n"
	"Last line: mode= threads= interval_us= cpu_ns_total= wall_ns= switches= timeouts=\n"
	"  wait_ns_total= tids=T,..\n";

pthread_mutex_t big_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t big_cond;	/* waiters for big_lock (timed) */
pthread_cond_t switch_cond;	/* a dropper waits here until someone else took it */
int big_lock;			/* 1 = held */
int big_holder;			/* tid of the holder */
long switch_number;
_Atomic int drop_request;

struct worker {
	int id, tid;
	long timeouts;
	uint64_t wait_ns, cpu_ns;
	pthread_t thread;
};

static struct {
	int gil;
	long threads, ms, interval_us;
	_Atomic long switches, timeouts;
} ctx = { .gil = 1, .threads = 4, .ms = 100, .interval_us = 5000 };

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static WL_NOINLINE void take_big_lock(struct worker *w)
{
	uint64_t t0 = wl_now_ns();

	pthread_mutex_lock(&big_mutex);
	while (big_lock) {
		long seen = switch_number;
		struct timespec dl;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += (ctx.interval_us % 1000000) * 1000;
		dl.tv_sec += ctx.interval_us / 1000000 + dl.tv_nsec / 1000000000;
		dl.tv_nsec %= 1000000000;
		if (pthread_cond_timedwait(&big_cond, &big_mutex, &dl) == ETIMEDOUT) {
			w->timeouts++;
			/* nobody switched during a whole interval: ask the holder to drop */
			if (big_lock && switch_number == seen)
				atomic_store(&drop_request, 1);
		}
	}
	big_lock = 1;
	big_holder = w->tid;
	switch_number++;
	atomic_fetch_add(&ctx.switches, 1);
	pthread_cond_signal(&switch_cond);
	pthread_mutex_unlock(&big_mutex);
	w->wait_ns += wl_now_ns() - t0;
}

static WL_NOINLINE void drop_big_lock(struct worker *w)
{
	pthread_mutex_lock(&big_mutex);
	big_lock = 0;
	pthread_cond_signal(&big_cond);
	if (atomic_exchange(&drop_request, 0)) {
		/* forced switch: wait until another thread has taken the lock */
		while (big_holder == w->tid && ctx.threads > 1)
			pthread_cond_wait(&switch_cond, &big_mutex);
	}
	pthread_mutex_unlock(&big_mutex);
}

static WL_NOINLINE uint64_t work_unit(uint64_t x)
{
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t need = (uint64_t)ctx.ms * 1000000ull, x = 1;

	wl_name("worker-%d", w->id);
	w->tid = wl_tid();
	if (ctx.gil)
		take_big_lock(w);
	while (thread_cpu_ns() < need) {
		x = work_unit(x);
		if (ctx.gil && atomic_load(&drop_request)) {
			drop_big_lock(w);
			take_big_lock(w);
		}
	}
	if (ctx.gil) {
		atomic_store(&drop_request, 0);
		pthread_mutex_lock(&big_mutex);
		big_lock = 0;
		big_holder = 0;
		pthread_cond_signal(&big_cond);
		pthread_mutex_unlock(&big_mutex);
	}
	w->cpu_ns = thread_cpu_ns();
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "free", "gil", NULL };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "ms", required_argument, NULL, 'M' },
		{ "interval-us", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_condattr_t ca;
	struct worker *w;
	uint64_t start, cpu = 0, wait = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ctx.gil = wl_choice(optarg, "mode", modes); break;
		case 't': ctx.threads = wl_num(optarg, "threads"); break;
		case 'M': ctx.ms = wl_num(optarg, "ms"); break;
		case 'i': ctx.interval_us = wl_num(optarg, "interval-us"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.threads < 1)
		ctx.threads = 1;
	if (ctx.interval_us < 1)
		ctx.interval_us = 1;
	wl_name("biglock");
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&big_cond, &ca);
	pthread_cond_init(&switch_cond, NULL);
	w = calloc(ctx.threads, sizeof(*w));
	if (!w)
		wl_die("allocate workers");
	start = wl_now_ns();
	for (long i = 0; i < ctx.threads; i++) {
		w[i].id = i;
		wl_check(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), "create worker");
	}
	for (long i = 0; i < ctx.threads; i++) {
		pthread_join(w[i].thread, NULL);
		cpu += w[i].cpu_ns;
		wait += w[i].wait_ns;
		atomic_fetch_add(&ctx.timeouts, w[i].timeouts);
	}
	printf("mode=%s threads=%ld interval_us=%ld cpu_ns_total=%llu wall_ns=%llu switches=%ld "
	       "timeouts=%ld wait_ns_total=%llu tids=", modes[ctx.gil], ctx.threads,
	       ctx.interval_us, (unsigned long long)cpu,
	       (unsigned long long)(wl_now_ns() - start), atomic_load(&ctx.switches),
	       atomic_load(&ctx.timeouts), (unsigned long long)wait);
	for (long i = 0; i < ctx.threads; i++)
		printf("%d%s", w[i].tid, i + 1 < ctx.threads ? "," : "");
	printf("\n");
	free(w);
	return 0;
}
