/* test_preload_shm.c — reading the preload library's region (capture/preload_shm.c): its edges
 * and lock calls become trace records in time order, and a slot still being written holds
 * the cut back to the read before it was claimed. The writers are played here by hand, in
 * the order preload.c writes: claim, stamp, fill, publish. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "capture/preload/conlab_preload.h"
#include "capture/preload_shm.h"
#include "capture/reorder.h"

#define NEV 8

struct seen {
	struct ev_lock lk[32];
	int nlk;
	struct ev_lock_edge ed[8];
	int ned;
};

static int collect(void *ctx, const struct ev_hdr *h, size_t size)
{
	struct seen *s = ctx;

	if (h->type == EV_LOCK && size == sizeof(struct ev_lock))
		memcpy(&s->lk[s->nlk++], h, size);
	else if (h->type == EV_LOCK_EDGE && size == sizeof(struct ev_lock_edge))
		memcpy(&s->ed[s->ned++], h, size);
	else
		fail_msg("unexpected record type %u size %zu", h->type, size);
	return 0;
}

static void region(struct preload_shm *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->size = sizeof(*s->r) + NEV * sizeof(s->r->ev[0]);
	s->r = calloc(1, s->size);
	s->r->magic = CPL_MAGIC;
	s->r->version = CPL_VERSION;
	s->r->nslots = CPL_SLOTS;
	s->r->nevents = NEV;
	s->r->size = s->size;
}

static void done(struct preload_shm *s)
{
	free(s->r);
	s->r = NULL;	/* not mapped: preload_shm_free must not munmap it */
	preload_shm_free(s);
}

/* A writer's claim: the ring's next index (no room check: the tests stay within NEV). */
static struct cpl_event *claim(struct cpl_region *r, uint64_t *idx)
{
	*idx = r->ev_head++;
	return &r->ev[*idx & (NEV - 1)];
}

static void publish(struct cpl_event *e, uint64_t idx, uint64_t ts, uint32_t tid, uint16_t op)
{
	e->ts = ts;
	e->addr = 0x1000;
	e->ret = 0x400000 + ts;
	e->tid = tid;
	e->op = op;
	__atomic_store_n(&e->seq, idx + 1, __ATOMIC_RELEASE);
}

/* Published calls become EV_LOCK records with every field, in time order though claimed in
 * another; nothing is being written, so nothing holds the cut back. */
static void test_calls_become_records(void **state)
{
	struct preload_shm s;
	struct reorder ro = {0};
	struct seen got = {0};
	uint64_t i0, i1;
	struct cpl_event *e0, *e1;

	(void)state;
	region(&s);
	e0 = claim(s.r, &i0);
	e1 = claim(s.r, &i1);
	publish(e1, i1, 150, 8, CPL_OP_RELEASE);	/* stamped first, claimed second */
	publish(e0, i0, 160, 7, CPL_OP_ACQUIRE);
	assert_int_equal(preload_shm_read(&s, 200, &ro), UINT64_MAX);
	assert_int_equal(s.r->ev_tail, 2);	/* read: free for the writers */
	reorder_release(&ro, 200, collect, &got);
	assert_int_equal(got.nlk, 2);
	assert_int_equal(got.lk[0].hdr.ts, 150);
	assert_int_equal(got.lk[0].hdr.tid, 8);
	assert_int_equal(got.lk[0].op, LOCK_OP_RELEASE);
	assert_int_equal(got.lk[1].hdr.ts, 160);
	assert_int_equal(got.lk[1].addr, 0x1000);
	assert_int_equal(got.lk[1].ret_addr, 0x400000 + 160);
	assert_int_equal(got.lk[1].op, LOCK_OP_ACQUIRE);
	reorder_free(&ro);
	done(&s);
}

/*
 * A slot claimed but not published: reading stops there, and the floor is the time of the
 * read before its claim, however many reads it stays unwritten; once written, it and what
 * came after it are read, and nothing holds the cut.
 */
static void test_unwritten_slot_holds_the_cut(void **state)
{
	struct preload_shm s;
	struct reorder ro = {0};
	struct seen got = {0};
	uint64_t i0, i1;
	struct cpl_event *e0, *e1;

	(void)state;
	region(&s);
	assert_int_equal(preload_shm_read(&s, 1000, &ro), UINT64_MAX);	/* empty */
	e0 = claim(s.r, &i0);		/* claimed after the read at 1000 */
	e1 = claim(s.r, &i1);
	publish(e1, i1, 1300, 2, CPL_OP_ACQUIRE);
	assert_int_equal(preload_shm_read(&s, 2000, &ro), 1000);
	assert_int_equal(s.r->ev_tail, 0);
	assert_int_equal(preload_shm_read(&s, 3000, &ro), 1000);	/* still: its claim is older */
	publish(e0, i0, 1200, 1, CPL_OP_ACQUIRE);
	assert_int_equal(preload_shm_read(&s, 4000, &ro), UINT64_MAX);
	reorder_release(&ro, 4000, collect, &got);
	assert_int_equal(got.nlk, 2);
	assert_int_equal(got.lk[0].hdr.ts, 1200);
	assert_int_equal(got.lk[1].hdr.ts, 1300);
	reorder_free(&ro);
	done(&s);
}

/* A slot never written (its writer killed between claim and publish) is skipped after a
 * second and counted lost: it does not hold back the recording for good. */
static void test_dead_writer_skipped(void **state)
{
	struct preload_shm s;
	struct reorder ro = {0};
	struct seen got = {0};
	uint64_t i0, i1;
	struct cpl_event *e1;

	(void)state;
	region(&s);
	claim(s.r, &i0);
	e1 = claim(s.r, &i1);
	publish(e1, i1, 50, 3, CPL_OP_RELEASE);
	assert_int_equal(preload_shm_read(&s, 100, &ro), 0);
	assert_int_equal(preload_shm_read(&s, 100 + 900000000ull, &ro), 0);
	assert_int_equal(preload_shm_lost_events(&s), 0);
	assert_int_equal(preload_shm_read(&s, 100 + 1100000000ull, &ro), UINT64_MAX);
	assert_int_equal(preload_shm_lost_events(&s), 1);
	reorder_release(&ro, UINT64_MAX, collect, &got);
	assert_int_equal(got.nlk, 1);
	assert_int_equal(got.lk[0].hdr.tid, 3);
	reorder_free(&ro);
	done(&s);
}

/* Edges come in the order of their log, as EV_LOCK_EDGE records with the held locks and no
 * stack; a log entry claimed but not written holds the cut like a call's slot. Threads whose
 * held locks overflowed are said once each. */
static void test_edges_and_overflow(void **state)
{
	struct preload_shm s;
	struct reorder ro = {0};
	struct seen got = {0};
	struct cpl_edge *e = NULL;

	(void)state;
	region(&s);
	assert_int_equal(preload_shm_read(&s, 10, &ro), UINT64_MAX);
	s.r->nlog = 1;			/* claimed, not yet written */
	assert_int_equal(preload_shm_read(&s, 20, &ro), 10);
	e = &s.r->slot[77];
	e->key = 0x1234;
	e->ts = 15;
	e->tid = 9;
	e->pid = 8;
	e->from = 0xa0;
	e->to = 0xb0;
	e->from_ret = 0x401000;
	e->to_ret = 0x402000;
	e->flags = CPL_TO_READ;
	e->nheld = 1;
	e->held[0] = 0xc0;
	e->ready = 1;
	s.r->log[0] = 78;
	s.r->overflow_tids[0] = 9;
	s.r->noverflow = 1;
	assert_int_equal(preload_shm_read(&s, 30, &ro), UINT64_MAX);
	assert_int_equal(preload_shm_read(&s, 40, &ro), UINT64_MAX);	/* nothing twice */
	reorder_release(&ro, UINT64_MAX, collect, &got);
	assert_int_equal(got.ned, 1);
	assert_int_equal(got.ed[0].hdr.ts, 15);
	assert_int_equal(got.ed[0].hdr.tid, 9);
	assert_int_equal(got.ed[0].pid, 8);
	assert_int_equal(got.ed[0].from, 0xa0);
	assert_int_equal(got.ed[0].to, 0xb0);
	assert_int_equal(got.ed[0].to_ret, 0x402000);
	assert_int_equal(got.ed[0].flags, LEF_TO_READ);
	assert_int_equal(got.ed[0].nheld, 1);
	assert_int_equal(got.ed[0].held[0], 0xc0);
	assert_int_equal(got.ed[0].stack_id, -1);
	assert_int_equal(got.nlk, 1);
	assert_int_equal(got.lk[0].hdr.tid, 9);
	assert_int_equal(got.lk[0].op, LOCK_OP_HELD_OVERFLOW);
	reorder_free(&ro);
	done(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_become_records),
		cmocka_unit_test(test_unwritten_slot_holds_the_cut),
		cmocka_unit_test(test_dead_writer_skipped),
		cmocka_unit_test(test_edges_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
