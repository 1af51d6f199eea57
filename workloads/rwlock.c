// SPDX-License-Identifier: GPL-2.0
/*
 * rwlock - lab 12: readers-writers and starvation, with the Little Book of Semaphores'
 * three hand-made locks (semaphores have no owner; the names are globals):
 *   reader   - lightswitch: the first reader in takes room_empty, the last one out gives it
 *              back; while readers overlap, the writer never gets in.
 *   nostarve - the same plus a turnstile the writer holds while it waits: new readers queue
 *              behind it, so the writer's wait is bounded.
 *   writer   - writer preference: the first writer takes no_readers and keeps new readers
 *              out until the last writer leaves.
 * --readers threads "reader-i" read (sleep --read-us) back to back; one "writer" writes
 * every --write-gap-ms; both until --ms elapse.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include "wl.h"

static const char usage[] =
	"Usage: rwlock [--policy reader|nostarve|writer] [--readers N] [--ms N] [--read-us N]\n"
	"              [--write-us N] [--write-gap-ms N]\n"
	"\n"
	"Lab 12: overlapping readers and one writer under three readers-writer locks.\n"
	"\n"
	"  --policy P        reader (default; starves the writer), nostarve, writer\n"
	"  --readers N       reader threads (default 4)\n"
	"  --ms N            run time (default 300)\n"
	"  --read-us N       time inside per read (default 2000)\n"
	"  --write-us N      time inside per write (default 200)\n"
	"  --write-gap-ms N  writer's pause between writes (default 5)\n"
	"  -h, --help        this text\n"
	"\n"
	"Last line: policy= readers= ms= reads= writes= writer_max_wait_ns= writer_wait_ns_total=\n"
	"  reader_max_wait_ns= reader_wait_ns_total= writer_tid= elapsed_ns=\n";

enum policy { READER, NOSTARVE, WRITER };

sem_t room_empty;			/* reader, nostarve */
sem_t turnstile;			/* nostarve */
sem_t no_readers, no_writers;		/* writer preference */
pthread_mutex_t read_switch_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t write_switch_lock = PTHREAD_MUTEX_INITIALIZER;
int readers_in, writers_in;

static struct {
	enum policy policy;
	long readers, ms, read_us, write_us, write_gap_ms;
	uint64_t deadline;
	_Atomic long reads, writes;
	_Atomic uint64_t reader_wait_ns, reader_max_wait_ns;
	uint64_t writer_wait_ns, writer_max_wait_ns;
	int writer_tid;
} ctx = { .readers = 4, .ms = 300, .read_us = 2000, .write_us = 200, .write_gap_ms = 5 };

static void switch_lock(pthread_mutex_t *m, int *n, sem_t *s)
{
	pthread_mutex_lock(m);
	if (++*n == 1)
		sem_wait(s);
	pthread_mutex_unlock(m);
}

static void switch_unlock(pthread_mutex_t *m, int *n, sem_t *s)
{
	pthread_mutex_lock(m);
	if (--*n == 0)
		sem_post(s);
	pthread_mutex_unlock(m);
}

static WL_NOINLINE void read_lock(void)
{
	switch (ctx.policy) {
	case NOSTARVE:
		sem_wait(&turnstile);
		sem_post(&turnstile);
		/* fall through */
	case READER:
		switch_lock(&read_switch_lock, &readers_in, &room_empty);
		break;
	case WRITER:
		sem_wait(&no_readers);
		switch_lock(&read_switch_lock, &readers_in, &no_writers);
		sem_post(&no_readers);
		break;
	}
}

static WL_NOINLINE void read_unlock(void)
{
	switch_unlock(&read_switch_lock, &readers_in,
		      ctx.policy == WRITER ? &no_writers : &room_empty);
}

static WL_NOINLINE void write_lock(void)
{
	switch (ctx.policy) {
	case READER:
		sem_wait(&room_empty);
		break;
	case NOSTARVE:
		sem_wait(&turnstile);
		sem_wait(&room_empty);
		break;
	case WRITER:
		switch_lock(&write_switch_lock, &writers_in, &no_readers);
		sem_wait(&no_writers);
		break;
	}
}

static WL_NOINLINE void write_unlock(void)
{
	switch (ctx.policy) {
	case READER:
		sem_post(&room_empty);
		break;
	case NOSTARVE:
		sem_post(&turnstile);
		sem_post(&room_empty);
		break;
	case WRITER:
		sem_post(&no_writers);
		switch_unlock(&write_switch_lock, &writers_in, &no_readers);
		break;
	}
}

static void *reader_main(void *arg)
{
	wl_name("reader-%ld", (long)arg);
	while (wl_now_ns() < ctx.deadline) {
		uint64_t t0 = wl_now_ns(), d, m;

		read_lock();
		d = wl_now_ns() - t0;
		atomic_fetch_add(&ctx.reader_wait_ns, d);
		m = atomic_load(&ctx.reader_max_wait_ns);
		while (d > m && !atomic_compare_exchange_weak(&ctx.reader_max_wait_ns, &m, d))
			;
		wl_sleep_us(ctx.read_us);
		atomic_fetch_add(&ctx.reads, 1);
		read_unlock();
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	(void)arg;
	wl_name("writer");
	ctx.writer_tid = wl_tid();
	while (wl_now_ns() < ctx.deadline) {
		uint64_t t0 = wl_now_ns(), d;

		write_lock();
		d = wl_now_ns() - t0;
		ctx.writer_wait_ns += d;
		if (d > ctx.writer_max_wait_ns)
			ctx.writer_max_wait_ns = d;
		wl_sleep_us(ctx.write_us);
		atomic_fetch_add(&ctx.writes, 1);
		write_unlock();
		wl_sleep_ms(ctx.write_gap_ms);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const policies[] = { "reader", "nostarve", "writer", NULL };
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "readers", required_argument, NULL, 'r' },
		{ "ms", required_argument, NULL, 'm' },
		{ "read-us", required_argument, NULL, 'R' },
		{ "write-us", required_argument, NULL, 'W' },
		{ "write-gap-ms", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pthread_t *t, w;
	uint64_t start;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': ctx.policy = wl_choice(optarg, "policy", policies); break;
		case 'r': ctx.readers = wl_num(optarg, "readers"); break;
		case 'm': ctx.ms = wl_num(optarg, "ms"); break;
		case 'R': ctx.read_us = wl_num(optarg, "read-us"); break;
		case 'W': ctx.write_us = wl_num(optarg, "write-us"); break;
		case 'g': ctx.write_gap_ms = wl_num(optarg, "write-gap-ms"); break;
		case 'h': wl_usage(usage, 0); break;
		default: wl_usage(usage, 2);
		}
	}
	wl_name("rwlock");
	sem_init(&room_empty, 0, 1);
	sem_init(&turnstile, 0, 1);
	sem_init(&no_readers, 0, 1);
	sem_init(&no_writers, 0, 1);
	t = calloc(ctx.readers ? ctx.readers : 1, sizeof(*t));
	if (!t)
		wl_die("allocate");
	start = wl_now_ns();
	ctx.deadline = start + (uint64_t)ctx.ms * 1000000ull;
	for (long i = 0; i < ctx.readers; i++)
		wl_check(pthread_create(&t[i], NULL, reader_main, (void *)i), "create reader");
	wl_sleep_ms(1);		/* readers are in first: the writer arrives at a busy room */
	wl_check(pthread_create(&w, NULL, writer_main, NULL), "create writer");
	for (long i = 0; i < ctx.readers; i++)
		pthread_join(t[i], NULL);
	pthread_join(w, NULL);
	printf("policy=%s readers=%ld ms=%ld reads=%ld writes=%ld writer_max_wait_ns=%llu "
	       "writer_wait_ns_total=%llu reader_max_wait_ns=%llu reader_wait_ns_total=%llu "
	       "writer_tid=%d elapsed_ns=%llu\n", policies[ctx.policy], ctx.readers, ctx.ms,
	       atomic_load(&ctx.reads), atomic_load(&ctx.writes),
	       (unsigned long long)ctx.writer_max_wait_ns,
	       (unsigned long long)ctx.writer_wait_ns,
	       (unsigned long long)atomic_load(&ctx.reader_max_wait_ns),
	       (unsigned long long)atomic_load(&ctx.reader_wait_ns), ctx.writer_tid,
	       (unsigned long long)(wl_now_ns() - start));
	free(t);
	return 0;
}
