// SPDX-License-Identifier: GPL-2.0
/*
 * barber - lab 14: the sleeping barber.
 *
 * Thread "barber" sleeps on customers_sem until a customer arrives. Main creates customer
 * threads "cust-i" at seeded random intervals (uniform in [0, 2 * --arrival-us]); a customer
 * who finds all --chairs taken leaves at once (a balk), without ever blocking. Otherwise it
 * sits down, wakes the barber, waits on barber_sem for the chair and on cut_done for the
 * end of its haircut (--cut-us).
 */
#include <pthread.h>
#include <semaphore.h>
#include "wl.h"

static const char usage[] =
	"Usage: barber [--chairs N] [--customers N] [--arrival-us N] [--cut-us N] [--seed N]\n"
	"\n"
	"Lab 14: one barber, N waiting chairs, customers arriving at random; full shop = balk.\n"
	"\n"
	"  --chairs N      waiting-room chairs (default 3)\n"
	"  --customers N   customers (default 40)\n"
	"  --arrival-us N  mean time between arrivals (default 3000)\n"
	"  --cut-us N      haircut time (default 2500)\n"
	"  --seed N        arrival seed (default 1)\n"
	"  -h, --help      this text\n"
	"\n"
	"Last line: chairs= customers= served= balks= balkers=T,..|none barber_tid=\n"
	"  barber_idle_ns= barber_lifetime_ns= idle_pct_x100= max_customer_wait_ns= seed=\n";

pthread_mutex_t shop_lock = PTHREAD_MUTEX_INITIALIZER;
sem_t customers_sem, barber_sem, cut_done;
int waiting;

struct customer {
	int id, tid, balked;
	uint64_t wait_ns;
	pthread_t thread;
};

static struct {
	long chairs, customers, arrival_us, cut_us;
	uint64_t seed;
	long served, balks;
	int closing, barber_tid;
	uint64_t idle_ns, lifetime_ns;
} ctx = { .chairs = 3, .customers = 40, .arrival_us = 3000, .cut_us = 2500, .seed = 1 };

static WL_NOINLINE void cut_hair(void)
{
	wl_sleep_us(ctx.cut_us);
}

static void *barber_main(void *arg)
{
	uint64_t start = wl_now_ns();

	(void)arg;
	wl_name("barber");
	ctx.barber_tid = wl_tid();
	for (;;) {
		uint64_t t0 = wl_now_ns();

		sem_wait(&customers_sem);	/* asleep in the barber's chair */
		ctx.idle_ns += wl_now_ns() - t0;
		pthread_mutex_lock(&shop_lock);
		if (!waiting && ctx.closing) {
			pthread_mutex_unlock(&shop_lock);
			break;
		}
		waiting--;
		pthread_mutex_unlock(&shop_lock);
		sem_post(&barber_sem);
		cut_hair();
		ctx.served++;
		sem_post(&cut_done);
	}
	ctx.lifetime_ns = wl_now_ns() - start;
	return NULL;
}

static void *customer_main(void *arg)
{
	struct customer *c = arg;
	uint64_t t0;

	wl_name("cust-%d", c->id);
	c->tid = wl_tid();
	pthread_mutex_lock(&shop_lock);
	if (waiting >= ctx.chairs) {
		c->balked = 1;		/* full: leave without waiting */
		ctx.balks++;
		pthread_mutex_unlock(&shop_lock);
		return NULL;
	}
	waiting++;
	pthread_mutex_unlock(&shop_lock);
	t0 = wl_now_ns();
	sem_post(&customers_sem);
	sem_wait(&barber_sem);
	c->wait_ns = wl_now_ns() - t0;
	sem_wait(&cut_done);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chairs", required_argument, NULL, 'c' },
		{ "customers", required_argument, NULL, 'n' },
		{ "arrival-us", required_argument, NULL, 'a' },
		{ "cut-us", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct customer *cu;
	pthread_t b;
	uint64_t rng, max_wait = 0;
	int c, first = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ctx.chairs = wl_num(optarg, "chairs"); break;
		case 'n': ctx.customers = wl_num(optarg, "customers"); break;
		case 'a': ctx.arrival_us = wl_num(optarg, "arrival-us"); break;
		case 'u': ctx.cut_us = wl_num(optarg, "cut-us"); break;
		case 's': ctx.seed = wl_num(optarg, "seed"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("barbershop");
	rng = ctx.seed * 2654435761u + 1;
	sem_init(&customers_sem, 0, 0);
	sem_init(&barber_sem, 0, 0);
	sem_init(&cut_done, 0, 0);
	cu = calloc(ctx.customers ? ctx.customers : 1, sizeof(*cu));
	if (!cu)
		wl_die("allocate");
	wl_check(pthread_create(&b, NULL, barber_main, NULL), "create barber");
	for (long i = 0; i < ctx.customers; i++) {
		wl_sleep_us(wl_rand(&rng) % (uint64_t)(2 * ctx.arrival_us + 1));
		cu[i].id = i;
		wl_check(pthread_create(&cu[i].thread, NULL, customer_main, &cu[i]),
			 "create customer");
	}
	for (long i = 0; i < ctx.customers; i++) {
		pthread_join(cu[i].thread, NULL);
		if (cu[i].wait_ns > max_wait)
			max_wait = cu[i].wait_ns;
	}
	pthread_mutex_lock(&shop_lock);
	ctx.closing = 1;
	pthread_mutex_unlock(&shop_lock);
	sem_post(&customers_sem);
	pthread_join(b, NULL);

	printf("chairs=%ld customers=%ld served=%ld balks=%ld balkers=", ctx.chairs,
	       ctx.customers, ctx.served, ctx.balks);
	for (long i = 0; i < ctx.customers; i++) {
		if (!cu[i].balked)
			continue;
		printf("%s%d", first ? "" : ",", cu[i].tid);
		first = 0;
	}
	printf("%s barber_tid=%d barber_idle_ns=%llu barber_lifetime_ns=%llu idle_pct_x100=%llu "
	       "max_customer_wait_ns=%llu seed=%llu\n", first ? "none" : "", ctx.barber_tid,
	       (unsigned long long)ctx.idle_ns, (unsigned long long)ctx.lifetime_ns,
	       (unsigned long long)(ctx.lifetime_ns ? ctx.idle_ns * 10000 / ctx.lifetime_ns : 0),
	       (unsigned long long)max_wait, (unsigned long long)ctx.seed);
	free(cu);
	return 0;
}
