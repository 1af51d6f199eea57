/* test_conns.c — messages between traced processes from synthetic events: which wakeups are
 * messages (a write in another process), per connection the count, the reader's wait and busy
 * time, the answers (the reader's next message back), and a relay's split of a request's time
 * (in the relay, in the worker). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "model/conns.h"
#include "model/model.h"

#define PA 100	/* process of A and C */
#define PB 200	/* process of B */
#define A 101
#define C 102
#define B 201
#define FD_A 3	/* A's end of the connection */
#define FD_B 4	/* B's end */

static void task(struct model *m, uint64_t ts, uint32_t tid, uint32_t pid, const char *comm)
{
	struct ev_meta_task t = {{ts, tid, EV_META_TASK, sizeof(t)}, pid, 1, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

static void run(struct model *m, uint64_t ts, uint32_t tid, int cpu)
{
	struct ev_switch s = {{ts, 0, EV_SWITCH, sizeof(s)}, tid, cpu, TS_RUNNABLE, 0};

	model_event(m, &s.hdr);
}

/* tid blocks in read(fd) */
static void block_read(struct model *m, uint64_t ts, uint32_t tid, int fd)
{
	struct ev_switch_sleep s = {};

	s.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(s)};
	s.sw.prev_state = TS_SLEEPING;
	s.nr = SYS_read;
	s.arg0 = fd;
	s.stack_id = -1;
	model_event(m, &s.sw.hdr);
}

static void wake(struct model *m, uint64_t ts, uint32_t wakee, uint32_t waker, int nr, int fd)
{
	struct ev_wakeup w = {{ts, wakee, EV_WAKEUP, sizeof(w)}, fd, waker, nr, 0};

	model_event(m, &w.hdr);
}

static const struct conn *find(const struct conns *cs, uint32_t writer, uint32_t reader)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].writer_pid == writer && cs->v[i].reader_pid == reader)
			return &cs->v[i];
	return NULL;
}

/*
 * B writes to A twice, A to B once (a request and its answer, then another request); C, a
 * thread of A's own process, also writes to A once: not a message between processes; a futex
 * wakeup across processes is not one either.
 */
static void test_messages(void **state)
{
	struct model m;
	struct conns cs;
	const struct conn *ba, *ab;

	(void)state;
	model_init(&m);
	task(&m, 0, A, PA, "client");
	task(&m, 0, C, PA, "helper");
	task(&m, 0, B, PB, "server");
	run(&m, 10, A, 0);
	run(&m, 10, B, 1);
	block_read(&m, 20, A, FD_A);
	wake(&m, 30, A, B, SYS_write, FD_B);		/* B -> A, A waited 10 */
	run(&m, 35, A, 0);
	block_read(&m, 40, B, FD_B);
	wake(&m, 50, B, A, SYS_sendto, FD_A);		/* A -> B: answers B's message at 30 */
	run(&m, 55, B, 1);
	block_read(&m, 60, A, FD_A);			/* A busy 30 after its message */
	wake(&m, 70, A, B, SYS_writev, FD_B);		/* B -> A: answers A's at 50 */
	run(&m, 75, A, 0);
	block_read(&m, 90, A, FD_A);			/* busy 20 */
	wake(&m, 95, A, C, SYS_write, 9);		/* same process: no message */
	run(&m, 96, A, 0);
	block_read(&m, 97, A, FD_A);
	wake(&m, 98, A, B, SYS_futex, 0x1000);		/* not a write: no message */
	run(&m, 99, A, 0);
	model_finish(&m, 100);

	conns_build(&m, &cs);
	assert_int_equal(cs.n, 2);
	ba = find(&cs, PB, PA);
	ab = find(&cs, PA, PB);
	assert_non_null(ba);
	assert_non_null(ab);
	assert_int_equal(ba->fd, FD_B);
	assert_int_equal(ba->messages, 2);
	assert_int_equal(ba->reader_wait_ns, 10 + 10);
	assert_int_equal(ba->reader_busy_ns, 30 + 20);
	assert_int_equal(ba->answered, 1);		/* the one at 70 has no answer */
	assert_int_equal(ba->answer_ns, 50 - 30);
	assert_string_equal(ba->reader_thread, "client");
	assert_int_equal(ab->fd, FD_A);
	assert_int_equal(ab->messages, 1);
	assert_int_equal(ab->reader_wait_ns, 50 - 40);
	assert_int_equal(ab->answered, 1);
	assert_int_equal(ab->answer_ns, 70 - 50);
	conns_free(&cs);
	model_free(&m);
}

#define PP 300	/* producer */
#define PR 400	/* relay (a broker) */
#define PW 500	/* worker */
#define TP 301
#define TR 401
#define TW 501

/* writer's message wakes reader, blocked in read: the reader runs at once */
static void msg(struct model *m, uint64_t ts, uint32_t reader, uint32_t writer, int cpu)
{
	wake(m, ts, reader, writer, SYS_write, 3);
	run(m, ts, reader, cpu);
}

/*
 * producer -> relay -> worker -> relay -> producer. The producer first gets a direct answer
 * from the relay (a handshake: not passed on), then sends two requests that queue in the
 * relay; the relay passes them on at 50 and 80, the worker answers each after 20, the relay
 * returns each answer to the producer 2 later.
 */
static void test_relay_split(void **state)
{
	struct model m;
	struct conns cs;
	const struct conn *rw, *rp, *pr, *wr;

	(void)state;
	model_init(&m);
	task(&m, 0, TP, PP, "producer");
	task(&m, 0, TR, PR, "relay");
	task(&m, 0, TW, PW, "worker");
	run(&m, 1, TP, 0);
	run(&m, 1, TR, 1);
	run(&m, 1, TW, 2);
	block_read(&m, 2, TR, 3);
	block_read(&m, 3, TP, 3);
	block_read(&m, 4, TW, 3);
	msg(&m, 5, TR, TP, 1);		/* handshake */
	msg(&m, 6, TP, TR, 0);		/* its direct answer */
	block_read(&m, 8, TR, 3);
	msg(&m, 10, TR, TP, 1);		/* request 1 */
	block_read(&m, 11, TR, 3);
	msg(&m, 12, TR, TP, 1);		/* request 2 */
	block_read(&m, 13, TR, 3);
	block_read(&m, 40, TP, 3);
	wake(&m, 45, TR, 0, -1, 0);	/* the relay's timer */
	run(&m, 45, TR, 1);
	msg(&m, 50, TW, TR, 2);		/* request 1 to the worker: 40 in the relay */
	block_read(&m, 55, TR, 3);
	msg(&m, 70, TR, TW, 1);		/* its answer: 20 in the worker */
	block_read(&m, 71, TW, 3);
	msg(&m, 72, TP, TR, 0);		/* back to the producer */
	msg(&m, 80, TW, TR, 2);		/* request 2 to the worker: 68 in the relay */
	block_read(&m, 81, TR, 3);
	block_read(&m, 90, TP, 3);
	msg(&m, 100, TR, TW, 1);	/* its answer: 20 in the worker */
	msg(&m, 102, TP, TR, 0);
	model_finish(&m, 200);

	conns_build(&m, &cs);
	assert_int_equal(cs.n, 4);
	rw = find(&cs, PR, PW);
	rp = find(&cs, PR, PP);
	pr = find(&cs, PP, PR);
	wr = find(&cs, PW, PR);
	assert_non_null(rw);
	assert_non_null(rp);
	assert_non_null(pr);
	assert_non_null(wr);
	assert_int_equal(pr->messages, 3);
	assert_int_equal(rw->messages, 2);
	assert_int_equal(rw->relayed, 2);
	assert_int_equal(rw->in_relay_ns, (50 - 10) + (80 - 12));
	assert_int_equal(rw->relayed_answered, 2);
	assert_int_equal(rw->in_reader_ns, 20 + 20);
	/* the answers passed back: the handshake's answer at 6 is not one */
	assert_int_equal(rp->messages, 3);
	assert_int_equal(rp->relayed, 2);
	assert_int_equal(rp->in_relay_ns, 2 + 2);
	assert_int_equal(rp->relayed_answered, 0);
	/* producer and worker pass nothing on */
	assert_int_equal(pr->relayed, 0);
	assert_int_equal(wr->relayed, 0);
	assert_int_equal(wr->answered, 1);	/* the answer at 70 by the request at 80 */
	conns_free(&cs);
	model_free(&m);
}

static void task_of(struct model *m, uint32_t tid, uint32_t pid, uint32_t ppid, const char *comm)
{
	struct ev_meta_task t = {{0, tid, EV_META_TASK, sizeof(t)}, pid, ppid, ""};

	strncpy(t.comm, comm, sizeof(t.comm) - 1);
	model_event(m, &t.hdr);
}

/*
 * What a delivery to a worker may not be paired with: a message from before the worker's
 * process started (a broker's start-up traffic), nor one from the worker's own child (a pool
 * process's result on its way elsewhere). S's request at 50 is the one delivered at 70.
 */
static void test_relay_skips(void **state)
{
	struct ev_fork f = {{30, 901, EV_FORK, sizeof(f)}, 701, 700, 900, 0, "worker"};
	struct model m;
	struct conns cs;
	const struct conn *rw;

	(void)state;
	model_init(&m);
	task_of(&m, 601, 600, 1, "sender");
	task_of(&m, 701, 700, 1, "relay");
	task_of(&m, 801, 800, 900, "pool");	/* the worker's child */
	run(&m, 1, 601, 0);
	run(&m, 1, 701, 1);
	run(&m, 1, 801, 3);
	block_read(&m, 2, 701, 3);
	msg(&m, 5, 701, 601, 1);	/* before the worker exists */
	block_read(&m, 6, 701, 3);
	model_event(&m, &f.hdr);
	run(&m, 30, 901, 2);
	block_read(&m, 31, 901, 3);
	msg(&m, 40, 701, 801, 1);	/* the worker's child */
	block_read(&m, 41, 701, 3);
	msg(&m, 50, 701, 601, 1);	/* the request */
	block_read(&m, 51, 701, 3);
	wake(&m, 60, 701, 0, -1, 0);
	run(&m, 60, 701, 1);
	msg(&m, 70, 901, 701, 2);	/* the delivery */
	block_read(&m, 71, 701, 3);
	msg(&m, 90, 701, 901, 1);	/* the worker's answer */
	model_finish(&m, 100);

	conns_build(&m, &cs);
	rw = find(&cs, 700, 900);
	assert_non_null(rw);
	assert_int_equal(rw->relayed, 1);
	assert_int_equal(rw->in_relay_ns, 70 - 50);
	assert_int_equal(rw->relayed_answered, 1);
	assert_int_equal(rw->in_reader_ns, 90 - 70);
	conns_free(&cs);
	model_free(&m);
}

static void test_write_syscalls(void **state)
{
	(void)state;
	assert_true(conn_write_syscall(SYS_write));
	assert_true(conn_write_syscall(SYS_sendmsg));
	assert_true(conn_write_syscall(SYS_sendmmsg));
	assert_false(conn_write_syscall(SYS_read));
	assert_false(conn_write_syscall(SYS_futex));
	assert_false(conn_write_syscall(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_relay_split),
		cmocka_unit_test(test_relay_skips),
		cmocka_unit_test(test_write_syscalls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
