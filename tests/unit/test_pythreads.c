// SPDX-License-Identifier: GPL-2.0
/*
 * test_pythreads.c — Python thread names read from a synthetic memory image (pyimg.h):
 * threading._active read while a thread ends and the next one starts with its pthread_t, and
 * threading._dangling (the Thread objects of threads that ended) with a subclass, a dead
 * reference, the set's dummy, garbage entries, a tid two Threads claim, and every read budget.
 */
#include "pyimg.h"

/* A runtime whose interpreter lists the thread states from threads and whose threading
 * module has one global, key = value. */
static uint64_t mkthreading(struct img *m, uint64_t threads, const char *key, uint64_t value)
{
	uint64_t k = mkstr(m, key), k_mod = mkstr(m, "threading"), mod = alloc(m, 32);

	p64(m, mod + 8, m->t_module);
	p64(m, mod + m->L->mod_dict, mkdict(m, 1, &k, &value, 0));
	return mkruntime(m, threads, mkdict(m, 1, &k_mod, &mod, 0));
}

/* A Thread (an instance of cls) with its _name and _native_id (the int, or any object). */
static uint64_t mkthreadobj(struct img *m, uint64_t cls, const char *name, uint64_t native_id)
{
	uint64_t o = alloc(m, 64) + 32;
	uint64_t k[2] = { mkstr(m, "_name"), mkstr(m, "_native_id") };
	uint64_t v[2] = { mkstr(m, name), native_id };

	p64(m, o + 8, cls);
	p64(m, o + m->L->managed_dict, mkdict(m, 2, k, v, 0));
	return o;
}

/* threading with _dangling, a WeakSet whose data is a set of 16 slots, slot i holding ents[i]. */
static uint64_t mkdangling(struct img *m, const uint64_t *ents, int n, uint64_t *set_out)
{
	const struct py_layout *L = m->L;
	uint64_t ws_cls = mktype(m, "WeakSet", PY_TPFLAGS_HEAPTYPE | L->tpflags_managed_dict);
	uint64_t set = alloc(m, 200), table = alloc(m, 16 * 16), ws;

	p64(m, set + 8, mktype(m, "set", 0));
	p64(m, set + L->set_mask, 15);
	p64(m, set + L->set_table, table);
	for (int i = 0; i < n; i++)
		p64(m, table + 16 * (uint64_t)i, ents[i]);
	ws = mkinst(m, ws_cls, "data", set);
	*set_out = set;
	return mkthreading(m, mkthread(m, 0, 0, 0x1000, 500), "_dangling", ws);
}

static uint64_t mkref(struct img *m, uint64_t t_ref, uint64_t target)
{
	uint64_t ref = mkobj(m, t_ref, 64);

	p64(m, ref + m->L->weakref_object, target);
	return ref;
}

static void test_dangling(void **state)
{
	struct img *m = img_new();
	const struct py_layout *L = m->L;
	uint64_t flags = PY_TPFLAGS_HEAPTYPE | L->tpflags_managed_dict;
	uint64_t t_thread = mktype(m, "Thread", flags), t_worker = mktype(m, "Worker", flags);
	uint64_t t_ref = mktype(m, "weakref.ReferenceType", 0);
	uint64_t none = mkobj(m, mktype(m, "NoneType", 0), 16), set, rt;
	uint64_t dummy = mkobj(m, mktype(m, "<dummy key> type", 0), 16);	/* a removed entry */
	pid_t tids[] = { 501, 502, 503, 504, 505, 506 };
	char *names[6] = { 0 };
	struct py_reader r;
	uint64_t ents[16];
	int outcomes = 0;

	*state = m;
	ents[0] = mkref(m, t_ref, mkthreadobj(m, t_thread, "brief-0", mkint(m, 501)));
	ents[1] = mkref(m, t_ref, none);				/* its Thread was freed */
	ents[2] = dummy;
	ents[3] = mkref(m, t_ref, mkthreadobj(m, t_worker, "worker-2", mkint(m, 502)));
	ents[4] = mkref(m, t_ref, mkthreadobj(m, t_thread, "unstarted", none));	/* None yet */
	ents[5] = 0x10000003;						/* unaligned */
	ents[6] = mkstr(m, "not a weakref");
	ents[7] = mkref(m, t_ref, 0x7fff00000000);			/* into nothing */
	ents[8] = mkref(m, t_ref, mkthreadobj(m, t_thread, "garbled", mkstr(m, "505")));
	/* two Threads that say they ran as 503 (a tid used again): which is not known */
	ents[9] = mkref(m, t_ref, mkthreadobj(m, t_thread, "old-503", mkint(m, 503)));
	ents[10] = mkref(m, t_ref, mkthreadobj(m, t_thread, "new-503", mkint(m, 503)));
	ents[11] = mkref(m, t_ref, mkthreadobj(m, t_thread, "", mkint(m, 506)));	/* no name */
	ents[12] = mkref(m, mktype(m, "weakref.KeyedRef", 0),		/* not WeakSet's kind */
			 mkthreadobj(m, t_thread, "keyed", mkint(m, 504)));
	ents[13] = ents[14] = ents[15] = 0;
	rt = mkdangling(m, ents, 16, &set);
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, rt), 0);
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(py_read_dangling_names(&r, tids, 6, names), 2);
	assert_string_equal(names[0], "brief-0");
	assert_string_equal(names[1], "worker-2");	/* a subclass of Thread */
	for (int i = 2; i < 6; i++)
		assert_null(names[i]);
	free_names(names, 6);
	/* nothing asked, or a tid no Thread ran as */
	assert_int_equal(py_read_dangling_names(&r, tids, 0, names), 0);
	assert_int_equal(py_read_dangling_names(&r, tids + 3, 1, names) || names[0], 0);

	/* every read budget, down to one read: the whole answer or none (a walk cut short may
	 * have missed the second Thread of 503) */
	for (size_t budget = r.nreads; budget > 0; budget--) {
		int n;

		r.nreads = 0;
		r.max_reads = budget;
		n = py_read_dangling_names(&r, tids, 6, names);
		outcomes |= n ? 1 : 2;
		if (n) {
			assert_int_equal(n, 2);
			assert_string_equal(names[0], "brief-0");
			assert_string_equal(names[1], "worker-2");
		}
		for (int i = n ? 2 : 0; i < 6; i++)
			assert_null(names[i]);
		free_names(names, 6);
	}
	assert_int_equal(outcomes, 3);	/* budgets that sufficed, and budgets that did not */
	r.max_reads = PY_MAX_READS;
	/* a table size that is no power of two, or past the bound, and a table pointer into
	 * nothing: no walk */
	p64(m, set + L->set_mask, 14);
	assert_int_equal(py_read_dangling_names(&r, tids, 6, names), 0);
	p64(m, set + L->set_mask, (uint64_t)PY_MAX_SET * 2 - 1);
	assert_int_equal(py_read_dangling_names(&r, tids, 6, names), 0);
	p64(m, set + L->set_mask, 15);
	p64(m, set + L->set_table, 0x7fff00000000);
	assert_int_equal(py_read_dangling_names(&r, tids, 6, names), 0);
	/* data that is not a set */
	p64(m, set + 8, m->t_dict);
	assert_int_equal(py_read_dangling_names(&r, tids, 6, names), 0);
	for (int i = 0; i < 6; i++)
		assert_null(names[i]);
	py_reader_free(&r);
}


/* ---- threading._active while threads come and go ------------------------------------------- */

/* Between the reader's walk of the thread states and its read of _active, thread 101 ends and
 * thread 102 starts with 101's pthread_t (glibc reuses the stack of a thread that ended): 102's
 * Thread is in _active under that ident. 102's thread state is a new one, or 101's memory. */
struct race {
	uint64_t trigger;	/* _active's first read: when it happens */
	uint64_t main_ts, old_ts, new_ts, slot, new_thread;
	int reuse;
};

static void race_on_read(struct img *m, uint64_t addr)
{
	struct race *c = m->arg;

	if (addr != c->trigger)
		return;
	m->on_read = NULL;
	p64(m, c->slot, c->new_thread);		/* _active[ident] = 102's Thread */
	if (c->reuse)
		p64(m, c->old_ts + m->L->ts_native_tid, 102);
	else
		p64(m, c->main_ts + m->L->ts_next, c->new_ts);
}

static void active_race(void **state, int reuse)
{
	struct img *m = img_new();
	const struct py_layout *L = m->L;
	uint64_t cls = mktype(m, "Thread", PY_TPFLAGS_HEAPTYPE | L->tpflags_managed_dict);
	uint64_t keys[2] = { mkint(m, 0x1000), mkint(m, 0x2000) }, vals[2], active, dk;
	struct race c = { .reuse = reuse };
	struct py_reader r;

	*state = m;
	vals[0] = mkthreadobj(m, cls, "MainThread", mkint(m, 100));
	vals[1] = mkthreadobj(m, cls, "brief-2", mkint(m, 101));
	c.new_thread = mkthreadobj(m, cls, "brief-3", mkint(m, 102));
	active = mkdict(m, 2, keys, vals, 1);
	memcpy(&dk, m->buf + (active + L->dict_keys - m->base), 8);
	c.trigger = active + L->dict_keys;
	c.slot = dk + 32 + 8 + 24 + 16;	/* the second entry's value (general entries) */
	c.new_ts = mkthread(m, 0, 0, 0x2000, 102);
	c.old_ts = mkthread(m, 0, 0, 0x2000, 101);
	c.main_ts = mkthread(m, c.old_ts, 0, 0x1000, 100);
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b,
					mkthreading(m, c.main_ts, "_active", active)), 0);
	r.no_frames = 1;
	/* nothing changes: both named */
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(py_read_thread_names(&r), 2);
	assert_string_equal(py_thread_by_tid(&r, 101)->name, "brief-2");
	/* the change while the reader reads: 101 is not named 102's name */
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(r.nthreads, 2);
	m->arg = &c;
	m->on_read = race_on_read;
	assert_int_equal(py_read_thread_names(&r), 1);
	assert_null(m->on_read);	/* the change happened */
	assert_string_equal(py_thread_by_tid(&r, 100)->name, "MainThread");
	assert_null(py_thread_by_tid(&r, 101)->name);
	assert_int_equal(py_thread_by_tid(&r, 101)->thread_obj, 0);
	py_reader_free(&r);
}

static void test_active_race_new_state(void **state) { active_race(state, 0); }
static void test_active_race_same_memory(void **state) { active_race(state, 1); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_dangling, teardown),
		cmocka_unit_test_teardown(test_active_race_new_state, teardown),
		cmocka_unit_test_teardown(test_active_race_same_memory, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
