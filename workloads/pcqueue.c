// SPDX-License-Identifier: GPL-2.0
/*
 * pcqueue - lab 10: a bounded producer/consumer queue and two classic condvar bugs.
 *
 * One "producer" puts --items numbers into a ring of --size slots; "consumer-i" threads
 * take them. Everything is under pcq_lock.
 *   ok       - two condvars (not_full, not_empty), waits in while loops.
 *   if       - the same with `if` instead of `while`: a woken consumer does not re-check, and
 *              takes from an empty queue when another consumer got there first (bad_gets).
 *   onecond  - one condvar (one_cond) for both conditions, with pthread_cond_signal: a
 *              consumer can wake the other consumer instead of the producer, and then
 *              everyone sleeps: a stall.
 * The broken variants need at least two consumers. A watchdog reports a stall when no item
 * moves for --stall-ms and prints the ground truth; then it exits 0, or with --stay it leaves
 * the stall in place (the process hangs) for a hang diagnosis.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "wl.h"

static const char usage[] =
	"Usage: pcqueue [--variant ok|if|onecond] [--size N] [--items N] [--consumers N]\n"
	"               [--produce-us N] [--consume-us N] [--stall-ms N] [--stay]\n"
	"\n"
	"Lab 10: producer -> bounded queue -> consumers. The broken variants (if, onecond) can\n"
	"stall; the watchdog then prints the ground truth and ends the run (with --stay the\n"
	"process HANGS ON PURPOSE, stalled).\n"
	"\n"
	"  --variant V     ok (default), if, onecond\n"
	"  --size N        queue slots (default 1)\n"
	"  --items N       items produced (default 2000)\n"
	"  --consumers N   consumer threads (default 1 for ok, 2 for if and onecond)\n"
	"  --produce-us N  work per item in the producer (default 0)\n"
	"  --consume-us N  work per item in each consumer (default 0)\n"
	"  --stall-ms N    no progress for N ms = stall (default 1000; 0 = no watchdog)\n"
	"  --stay          after reporting a stall, stay stalled instead of exiting\n"
	"  -h, --help      this text\n"
	"\n"
	"Last line: variant= size= consumers= items= produced= consumed= bad_gets= stalled=0|1\n"
	"  (consumed counts real items; bad_gets counts takes from an empty queue)\n"
	"  producer_waits= consumer_waits= full_ns= empty_ns= signals= producer_tid=\n"
	"  consumer_tids=T,..\n";

enum variant { OK, IF, ONECOND };

pthread_mutex_t pcq_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
pthread_cond_t one_cond = PTHREAD_COND_INITIALIZER;

static struct {
	enum variant variant;
	long size, items, consumers, produce_us, consume_us, stall_ms;
	int stay;
	long *buf;
	long fill, use, count;		/* count goes negative when `if` takes from empty */
	long produced, consumed, bad_gets, signals, ends_seen;
	long producer_waits, consumer_waits;
	uint64_t full_ns, empty_ns;
	_Atomic long progress;
	_Atomic int done;
	int producer_tid, *consumer_tids;
} ctx = { .size = 1, .items = 2000, .consumers = -1, .stall_ms = 1000 };

#define END_MARK (-1L)

static pthread_cond_t *space_cond(void)
{
	return ctx.variant == ONECOND ? &one_cond : &not_full;
}

static pthread_cond_t *item_cond(void)
{
	return ctx.variant == ONECOND ? &one_cond : &not_empty;
}

static WL_NOINLINE void put(long v)
{
	uint64_t t0;

	pthread_mutex_lock(&pcq_lock);
	t0 = wl_now_ns();
	if (ctx.variant == IF) {
		if (ctx.count >= ctx.size) {
			ctx.producer_waits++;
			pthread_cond_wait(space_cond(), &pcq_lock);
		}
	} else {
		while (ctx.count >= ctx.size) {
			ctx.producer_waits++;
			pthread_cond_wait(space_cond(), &pcq_lock);
		}
	}
	ctx.full_ns += wl_now_ns() - t0;
	ctx.buf[ctx.fill] = v;
	ctx.fill = (ctx.fill + 1) % ctx.size;
	ctx.count++;
	if (v != END_MARK)
		ctx.produced++;
	ctx.signals++;
	pthread_cond_signal(item_cond());
	pthread_mutex_unlock(&pcq_lock);
	atomic_fetch_add(&ctx.progress, 1);
}

static WL_NOINLINE long get(void)
{
	uint64_t t0;
	long v;

	pthread_mutex_lock(&pcq_lock);
	t0 = wl_now_ns();
	if (ctx.variant == IF) {
		if (ctx.count <= 0) {
			ctx.consumer_waits++;
			pthread_cond_wait(item_cond(), &pcq_lock);
		}
	} else {
		while (ctx.count <= 0) {
			ctx.consumer_waits++;
			pthread_cond_wait(item_cond(), &pcq_lock);
		}
	}
	ctx.empty_ns += wl_now_ns() - t0;
	int bad = ctx.count <= 0;	/* the `if` bug: this slot holds a stale value */

	v = ctx.buf[ctx.use];
	ctx.use = (ctx.use + 1) % ctx.size;
	ctx.count--;
	if (bad)
		ctx.bad_gets++;
	else if (v == END_MARK)
		ctx.ends_seen++;
	else
		ctx.consumed++;
	ctx.signals++;
	pthread_cond_signal(space_cond());
	pthread_mutex_unlock(&pcq_lock);
	atomic_fetch_add(&ctx.progress, 1);
	return v;
}

static void *producer_main(void *arg)
{
	(void)arg;
	wl_name("producer");
	ctx.producer_tid = wl_tid();
	for (long i = 0; i < ctx.items; i++) {
		if (ctx.produce_us)
			wl_spin_ns(ctx.produce_us * 1000);
		put(i);
	}
	for (long i = 0; i < ctx.consumers; i++)
		put(END_MARK);
	return NULL;
}

static void *consumer_main(void *arg)
{
	long id = (long)arg;

	wl_name("consumer-%ld", id);
	ctx.consumer_tids[id] = wl_tid();
	while (get() != END_MARK)
		if (ctx.consume_us)
			wl_spin_ns(ctx.consume_us * 1000);
	return NULL;
}

static void *joiner_main(void *arg)
{
	pthread_t *t = arg;

	for (long i = 0; i <= ctx.consumers; i++)
		pthread_join(t[i], NULL);
	atomic_store(&ctx.done, 1);
	return NULL;
}

static void print_truth(int stalled)
{
	if (stalled)
		pthread_mutex_lock(&pcq_lock);
	printf("variant=%s size=%ld consumers=%ld items=%ld produced=%ld consumed=%ld "
	       "bad_gets=%ld stalled=%d producer_waits=%ld consumer_waits=%ld full_ns=%llu "
	       "empty_ns=%llu signals=%ld producer_tid=%d consumer_tids=",
	       (const char *[]){ "ok", "if", "onecond" }[ctx.variant], ctx.size, ctx.consumers,
	       ctx.items, ctx.produced, ctx.consumed, ctx.bad_gets, stalled, ctx.producer_waits,
	       ctx.consumer_waits, (unsigned long long)ctx.full_ns,
	       (unsigned long long)ctx.empty_ns, ctx.signals, ctx.producer_tid);
	for (long i = 0; i < ctx.consumers; i++)
		printf("%d%s", ctx.consumer_tids[i], i + 1 < ctx.consumers ? "," : "");
	printf("\n");
	fflush(stdout);
	if (stalled)
		pthread_mutex_unlock(&pcq_lock);
}

int main(int argc, char **argv)
{
	static const char *const variants[] = { "ok", "if", "onecond", NULL };
	static const struct option opts[] = {
		{ "variant", required_argument, NULL, 'v' },
		{ "size", required_argument, NULL, 's' },
		{ "items", required_argument, NULL, 'n' },
		{ "consumers", required_argument, NULL, 'c' },
		{ "produce-us", required_argument, NULL, 'p' },
		{ "consume-us", required_argument, NULL, 'u' },
		{ "stall-ms", required_argument, NULL, 'S' },
		{ "stay", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t *t, joiner;
	long last = -1;
	uint64_t last_change;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': ctx.variant = wl_choice(optarg, "variant", variants); break;
		case 's': ctx.size = wl_num(optarg, "size"); break;
		case 'n': ctx.items = wl_num(optarg, "items"); break;
		case 'c': ctx.consumers = wl_num(optarg, "consumers"); break;
		case 'p': ctx.produce_us = wl_num(optarg, "produce-us"); break;
		case 'u': ctx.consume_us = wl_num(optarg, "consume-us"); break;
		case 'S': ctx.stall_ms = wl_num(optarg, "stall-ms"); break;
		case 'y': ctx.stay = 1; break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	if (ctx.consumers < 0)
		ctx.consumers = ctx.variant == OK ? 1 : 2;
	if (ctx.consumers < 1)
		ctx.consumers = 1;
	if (ctx.size < 1)
		ctx.size = 1;
	wl_name("pcqueue");
	ctx.buf = calloc(ctx.size, sizeof(*ctx.buf));
	ctx.consumer_tids = calloc(ctx.consumers, sizeof(int));
	t = calloc(ctx.consumers + 1, sizeof(*t));
	if (!ctx.buf || !ctx.consumer_tids || !t)
		wl_die("allocate");
	for (long i = 0; i < ctx.consumers; i++)
		wl_check(pthread_create(&t[i + 1], NULL, consumer_main, (void *)i),
			 "create consumer");
	wl_check(pthread_create(&t[0], NULL, producer_main, NULL), "create producer");
	wl_check(pthread_create(&joiner, NULL, joiner_main, t), "create joiner");

	/* the watchdog: main polls the progress counter every 10 ms */
	last_change = wl_now_ns();
	while (!atomic_load(&ctx.done)) {
		long p = atomic_load(&ctx.progress);

		if (p != last) {
			last = p;
			last_change = wl_now_ns();
		} else if (ctx.stall_ms &&
			   wl_now_ns() - last_change > (uint64_t)ctx.stall_ms * 1000000ull) {
			print_truth(1);
			if (ctx.stay) {
				pthread_join(joiner, NULL);	/* forever */
				return 0;
			}
			_exit(0);	/* the stalled threads cannot be joined */
		}
		wl_sleep_ms(10);
	}
	pthread_join(joiner, NULL);
	print_truth(0);
	return 0;
}
