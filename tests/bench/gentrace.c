/*
 * gentrace.c — write a valid trace of N events for the read-back benchmark (readback.sh):
 * two pairs of threads of one process ping-pong over a futex each, one pair on each of two
 * CPUs, with a preemption now and then. Per round of a pair: two switch-outs to sleep on the
 * futex, two wakeups, four futex returns (8 records), the mix of a ping-pong recorded with
 * --futex-calls (a default recording has the first four only).
 *
 * The CPUs' records reach the file interleaved in blocks, as the ring buffer hands them over,
 * so the file is not in time order and the reader's merge has work to do.
 *
 *   gentrace OUT EVENTS    prints the records written and the nanoseconds they span
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "trace/trace.h"

#define NCPU 2
#define BLOCK 256	/* records of one CPU written together */
#define PID 4000

struct cpu_buf {
	uint8_t *p;
	size_t len, n;
};

static void put(struct cpu_buf *b, const void *rec, size_t size)
{
	memcpy(b->p + b->len, rec, size);
	b->len += size;
	b->n++;
}

static void sleep_on(struct cpu_buf *b, uint64_t ts, uint32_t tid, uint32_t next, int cpu,
		     uint64_t uaddr)
{
	struct ev_switch_sleep e = {0};

	e.sw.hdr = (struct ev_hdr){ts, tid, EV_SWITCH_SLEEP, sizeof(e)};
	e.sw.next_tid = next;
	e.sw.cpu = cpu;
	e.sw.prev_state = TS_SLEEPING;
	e.sw.flags = SWF_PREV_TRACED | SWF_NEXT_TRACED;
	e.arg0 = uaddr;
	e.arg1 = 128;	/* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
	e.nr = NR_FUTEX;
	e.ret_addr = 0x401000;
	e.stack_id = -1;
	put(b, &e, sizeof(e));
}

static void wake(struct cpu_buf *b, uint64_t ts, uint32_t wakee, uint32_t waker, int cpu,
		 uint64_t uaddr)
{
	struct ev_wakeup e = {{ts, wakee, EV_WAKEUP, sizeof(e)}, uaddr, waker, NR_FUTEX, cpu};

	put(b, &e, sizeof(e));
}

static void futex_ret(struct cpu_buf *b, uint64_t ts, uint32_t tid, uint64_t uaddr, int wait,
		      uint32_t dur)
{
	struct ev_futex e = {{ts, tid, EV_FUTEX, sizeof(e)}, uaddr, wait ? 128 : 129, 1, 0,
			     wait ? dur : 0, wait ? FUTEXF_SLEPT : 0, FUTEX_SYS_FUTEX};

	put(b, &e, sizeof(e));
}

static void preempt(struct cpu_buf *b, uint64_t ts, uint32_t tid, int cpu)
{
	struct ev_switch e = {{ts, tid, EV_SWITCH, sizeof(e)}, tid, cpu, TS_RUNNABLE,
			      SWF_PREV_TRACED | SWF_NEXT_TRACED};

	put(b, &e, sizeof(e));
}

/* One round of pair k (threads a, b) on its CPU from *ts: 8 records, a preemption every 64th. */
static void round_of(struct cpu_buf *c, int cpu, uint32_t a, uint32_t b, uint64_t uaddr,
		     uint64_t *ts, uint64_t r)
{
	uint64_t t = *ts;

	sleep_on(c, t, a, b, cpu, uaddr);
	wake(c, t + 900, a, b, cpu, uaddr);
	futex_ret(c, t + 1000, b, uaddr, 0, 0);
	sleep_on(c, t + 1500, b, a, cpu, uaddr + 4);
	futex_ret(c, t + 1700, a, uaddr, 1, 1700);
	wake(c, t + 2400, b, a, cpu, uaddr + 4);
	futex_ret(c, t + 2500, a, uaddr + 4, 0, 0);
	if (r % 64 == 63)
		preempt(c, t + 2900, a, cpu);
	else
		futex_ret(c, t + 2900, a, uaddr + 8, 0, 0);
	*ts = t + 3000 + (r % 7) * 10;
}

static void meta(struct trace_writer *w, uint64_t t0, int pairs)
{
	struct ev_meta_clock ck = {{t0, 0, EV_META_CLOCK, sizeof(ck)}, t0, 1700000000000000000ull};

	trace_write(w, &ck, sizeof(ck));
	for (int i = 0; i < 2 * pairs; i++) {
		struct ev_meta_task t = {{t0, PID + 1 + i, EV_META_TASK, sizeof(t)}, PID, 1, ""};

		snprintf(t.comm, sizeof(t.comm), "pp%d", i);
		trace_write(w, &t, sizeof(t));
	}
}

int main(int argc, char **argv)
{
	struct cpu_buf c[NCPU];
	struct trace_writer w;
	uint64_t events, written = 0, r = 0, t0 = 1000000000ull, ts[NCPU];
	int pairs = NCPU;

	if (argc != 3) {
		fprintf(stderr, "usage: gentrace OUT EVENTS\n");
		return 2;
	}
	events = strtoull(argv[2], NULL, 10);
	if (trace_writer_open(&w, argv[1], -1, -1))
		return 2;
	meta(&w, t0, pairs);
	for (int k = 0; k < NCPU; k++) {
		c[k].p = malloc(BLOCK * 2 * sizeof(struct ev_switch_sleep));
		ts[k] = t0 + 1000 + k * 333;
	}
	while (written < events) {
		for (int k = 0; k < NCPU; k++) {
			c[k].len = c[k].n = 0;
			while (c[k].n < BLOCK) {
				uint32_t a = PID + 1 + 2 * k, b = a + 1;

				round_of(&c[k], k, a, b, 0x7f0000001000ull + 64 * k, &ts[k], r);
				r++;
			}
		}
		for (int k = 0; k < NCPU; k++) {
			for (size_t off = 0; off < c[k].len;) {
				const struct ev_hdr *h = (const void *)(c[k].p + off);

				trace_write(&w, h, h->size);
				off += h->size;
			}
			written += c[k].n;
		}
	}
	struct ev_meta_status st = {{ts[0] > ts[1] ? ts[0] : ts[1], 0, EV_META_STATUS,
				     sizeof(st)}, 0, STOP_COMMAND_EXIT, written};

	trace_write(&w, &st, sizeof(st));
	if (trace_writer_close(&w))
		return 1;
	/* records and the span of their times, in ns */
	printf("%llu %llu\n", (unsigned long long)(written + 2 * pairs + 2),
	       (unsigned long long)(st.hdr.ts - t0));
	return 0;
}
