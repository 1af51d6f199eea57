// SPDX-License-Identifier: GPL-2.0
/*
 * sempool - lab 11: a counting semaphore as a pool of k permits.
 *
 * --workers threads "worker-i" each enter the region --rounds times: sem_wait(&pool_sem),
 * count themselves inside, sleep --hold-ms, leave, sem_post. The program tracks the number
 * inside with an atomic counter and prints the maximum it saw.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include "wl.h"

static const char usage[] =
	"Usage: sempool [--permits K] [--workers N] [--rounds N] [--hold-ms N]\n"
	"\n"
	"Lab 11: N workers share K permits of pool_sem; at most K are inside at once.\n"
	"\n"
	"  --permits K  permits (default 3)\n"
	"  --workers N  worker threads (default 8)\n"
	"  --rounds N   entries per worker (default 5)\n"
	"  --hold-ms N  time inside per entry (default 10)\n"
	"  -h, --help   this text\n"
	"\n"
	"Last line: permits= workers= rounds= entries= max_inside= waits= wait_ns_total=\n"
	"  max_wait_ns= elapsed_ns=\n";

sem_t pool_sem;
_Atomic int inside;

static struct {
	long permits, workers, rounds, hold_ms;
	_Atomic int max_inside;
	_Atomic long entries, waits;
	_Atomic uint64_t wait_ns, max_wait_ns;
} ctx = { .permits = 3, .workers = 8, .rounds = 5, .hold_ms = 10 };

static WL_NOINLINE void enter_pool(void)
{
	if (sem_trywait(&pool_sem)) {
		uint64_t t0 = wl_now_ns(), d, m;

		while (sem_wait(&pool_sem) && errno == EINTR)
			;
		d = wl_now_ns() - t0;
		atomic_fetch_add(&ctx.waits, 1);
		atomic_fetch_add(&ctx.wait_ns, d);
		m = atomic_load(&ctx.max_wait_ns);
		while (d > m && !atomic_compare_exchange_weak(&ctx.max_wait_ns, &m, d))
			;
	}
	int now = atomic_fetch_add(&inside, 1) + 1;
	int max = atomic_load(&ctx.max_inside);

	while (now > max && !atomic_compare_exchange_weak(&ctx.max_inside, &max, now))
		;
	atomic_fetch_add(&ctx.entries, 1);
}

static WL_NOINLINE void leave_pool(void)
{
	atomic_fetch_sub(&inside, 1);
	sem_post(&pool_sem);
}

static void *worker_main(void *arg)
{
	wl_name("worker-%ld", (long)arg);
	for (long r = 0; r < ctx.rounds; r++) {
		enter_pool();
		wl_sleep_ms(ctx.hold_ms);
		leave_pool();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "permits", required_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t *t;
	uint64_t start;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': ctx.permits = wl_num(optarg, "permits"); break;
		case 'w': ctx.workers = wl_num(optarg, "workers"); break;
		case 'r': ctx.rounds = wl_num(optarg, "rounds"); break;
		case 'H': ctx.hold_ms = wl_num(optarg, "hold-ms"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.permits < 1)
		ctx.permits = 1;
	wl_name("sempool");
	sem_init(&pool_sem, 0, ctx.permits);
	t = calloc(ctx.workers ? ctx.workers : 1, sizeof(*t));
	if (!t)
		wl_die("allocate");
	start = wl_now_ns();
	for (long i = 0; i < ctx.workers; i++)
		wl_check(pthread_create(&t[i], NULL, worker_main, (void *)i), "create worker");
	for (long i = 0; i < ctx.workers; i++)
		pthread_join(t[i], NULL);
	printf("permits=%ld workers=%ld rounds=%ld entries=%ld max_inside=%d waits=%ld "
	       "wait_ns_total=%llu max_wait_ns=%llu elapsed_ns=%llu\n", ctx.permits, ctx.workers,
	       ctx.rounds, atomic_load(&ctx.entries), atomic_load(&ctx.max_inside),
	       atomic_load(&ctx.waits), (unsigned long long)atomic_load(&ctx.wait_ns),
	       (unsigned long long)atomic_load(&ctx.max_wait_ns),
	       (unsigned long long)(wl_now_ns() - start));
	free(t);
	return 0;
}
