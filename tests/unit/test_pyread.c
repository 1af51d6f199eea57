// SPDX-License-Identifier: GPL-2.0
/*
 * test_pyread.c — the CPython reader on synthetic memory images: a fake interpreter built
 * with the 3.11 layout in a buffer, read through the injected read callback. Checks the
 * location table, the thread and frame walk, thread names, Python locks and their holders,
 * and that loops, bad pointers, an unknown version and garbage give bounded, partial answers.
 */
#include "pyimg.h"

#include "python/pyasync.h"
#include "python/pylocks.h"
#include "analysis/waitgraph.h"

/* ---- the location table ------------------------------------------------------------------ */

static const uint8_t table[] = {
	0xe9, 0x02,		/* code 13, 2 units, line +1 */
	0xd2, 0x01, 0x05,	/* code 10, 3 units, same line, two column bytes */
	0xf0, 0x03, 0x00, 0x00, 0x00,	/* code 14, 1 unit, line -1, three varints */
	0xf8,			/* code 15, 1 unit: no location */
	0x80, 0x04,		/* code 0 (short form), 1 unit, same line */
	0xe0, 0x01, 0x02,	/* code 12, 1 unit, line +2 */
	0xe8, 0x48, 0x03,	/* code 13, 1 unit, line +100 (a two-byte varint) */
};

static void test_linetable(void **state)
{
	static const int want[] = { 11, 11, 11, 11, 11, 10, 0, 10, 12, 112, 0 };

	(void)state;
	for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++)
		assert_int_equal(py_linetable_line(table, sizeof(table), 10, i), want[i]);
	assert_int_equal(py_linetable_line(table, sizeof(table), 10, -1), 10);
	/* not an entry start: no line rather than a wrong one */
	assert_int_equal(py_linetable_line((const uint8_t *)"\x01\x02", 2, 10, 0), 0);
	/* cut in the middle of a varint */
	assert_int_equal(py_linetable_line((const uint8_t *)"\xe8\x48", 2, 10, 0), 10 + 8 / 2);
}

/* ---- a whole interpreter ---------------------------------------------------------------- */

/* Two threads: teller-1 in transfer <- teller (plus an incomplete frame on top, skipped);
 * MainThread in <module>. Names through threading._active. */
static uint64_t build_two_threads(struct img *m)
{
	static const char *const names[] = { "src", "dst" };
	uint64_t tr = mkcode(m, "transfer", "/srv/bank.py", 10, table, sizeof(table), 2, names, 4);
	uint64_t te = mkcode(m, "teller", "/srv/bank.py", 20, table, sizeof(table), 0, NULL, 2);
	uint64_t mo = mkcode(m, "<module>", "/srv/bank.py", 1, table, sizeof(table), 0, NULL, 2);
	uint64_t inc = mkcode(m, "setup", "/srv/bank.py", 50, table, sizeof(table), 0, NULL, 1);
	uint64_t f_te = mkframe(m, te, 0, 8, NULL, 0, 0);
	uint64_t f_tr = mkframe(m, tr, f_te, 5, NULL, 0, 2);
	uint64_t f_inc = mkframe(m, inc, f_tr, -1, NULL, 0, 0);
	uint64_t f_mo = mkframe(m, mo, 0, 0, NULL, 0, 0);
	uint64_t t2 = mkthread(m, 0, f_mo, 0x7f0000001000, 100);
	uint64_t t1 = mkthread(m, t2, f_inc, 0x7f0000002000, 101);
	uint64_t thread_cls = mktype(m, "Thread", PY_TPFLAGS_HEAPTYPE | m->L->tpflags_managed_dict);
	uint64_t th1 = mkinst(m, thread_cls, "_name", mkstr(m, "teller-1"));
	uint64_t th2 = mkinst(m, thread_cls, "_name", mkstr(m, "MainThread"));
	uint64_t ak[2] = { mkint(m, 0x7f0000002000), mkint(m, 0x7f0000001000) };
	uint64_t av[2] = { th1, th2 };
	uint64_t active = mkdict(m, 2, ak, av, 1), k_active = mkstr(m, "_active");
	uint64_t tdict = mkdict(m, 1, &k_active, &active, 0), mod = alloc(m, 32);
	uint64_t k_mod[2] = { mkstr(m, "sys"), mkstr(m, "threading") }, v_mod[2] = { 0, mod };

	v_mod[0] = alloc(m, 32);
	p64(m, mod + 8, m->t_module);
	p64(m, mod + m->L->mod_dict, tdict);
	return mkruntime(m, t1, mkdict(m, 2, k_mod, v_mod, 0));
}

/* The exception table CPython 3.11 compiles for
 *	def f(a, b):
 *	    with a:		# BEFORE_WITH at unit 2
 *	        x = 1
 *	        with b:		# BEFORE_WITH at unit 7
 *	            y = 2
 * (dis: 6 to 14 -> 92 [1] lasti, 16 to 20 -> 46 [2] lasti, 22 to 44 -> 92 [1] lasti, then the
 * handlers' own entries at depths 3 and 4): which `with` keeps its __exit__ in which slot. */
static void test_exctable(void **state)
{
	static const uint8_t t[] = {
		0x83, 0x05, 0x2e, 0x03, 0x88, 0x03, 0x17, 0x05, 0x8b, 0x0c, 0x2e, 0x03,
		0x97, 0x04, 0x1b, 0x09, 0x9b, 0x03, 0x2e, 0x03, 0x9e, 0x01, 0x1b, 0x09,
		0x9f, 0x03, 0x2e, 0x03, 0xae, 0x04, 0x32, 0x07, 0xb5, 0x01, 0x32, 0x07,
	};

	(void)state;
	/* at the inner BEFORE_WITH (unit 7): slot 0 is the outer with, begun at unit 3 */
	assert_int_equal(py_exctable_with_start(t, sizeof(t), 7, 0), 3);
	/* inside the inner block (unit 9): slot 1 is the inner with, slot 0 still the outer */
	assert_int_equal(py_exctable_with_start(t, sizeof(t), 9, 1), 8);
	assert_int_equal(py_exctable_with_start(t, sizeof(t), 9, 0), 3);
	/* before any with, or a slot no with keeps: none */
	assert_int_equal(py_exctable_with_start(t, sizeof(t), 1, 0), -1);
	assert_int_equal(py_exctable_with_start(t, sizeof(t), 9, 2), -1);
	/* garbage: not the start of an entry, a cut table */
	assert_int_equal(py_exctable_with_start((const uint8_t *)"\x03\x05", 2, 7, 0), -1);
	assert_int_equal(py_exctable_with_start(t, 2, 7, 0), -1);
}

static void test_walk(void **state)
{
	struct img *m = img_new();
	struct py_reader r;
	struct py_thread *t;

	*state = m;
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, build_two_threads(m)), 0);
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(r.partial, 0);
	assert_int_equal(r.nthreads, 2);
	t = py_thread_by_tid(&r, 101);
	assert_non_null(t);
	assert_int_equal(t->nframes, 2);	/* the incomplete frame is not shown */
	assert_string_equal(t->frames[0].qualname, "transfer");
	assert_string_equal(t->frames[0].file, "/srv/bank.py");
	assert_int_equal(t->frames[0].line, 10 + 0);	/* lasti 5: line delta -1 from 11 */
	assert_string_equal(t->frames[1].qualname, "teller");
	assert_int_equal(t->frames[1].line, 22);		/* lasti 8: 20 + 1 - 1 + 2 */
	assert_int_equal(t->frames[0].top, 0);		/* the skipped one was the top */
	assert_int_equal(py_read_thread_names(&r), 2);
	assert_string_equal(t->name, "teller-1");
	assert_string_equal(py_thread_by_tid(&r, 100)->name, "MainThread");
	assert_string_equal(py_thread_by_tid(&r, 100)->frames[0].qualname, "<module>");
	assert_string_equal(py_local_name(&r, t->frames[0].code, 1), "dst");
	assert_null(py_local_name(&r, t->frames[0].code, 2));
	py_reader_free(&r);
}

/* Memory that changes under the reader: a frame that is its own caller, a thread list that
 * loops, a pointer into nothing. Each walk ends, and says it is partial. */
static void test_bad_memory(void **state)
{
	struct img *m = img_new();
	uint64_t code = mkcode(m, "spin", "/x.py", 1, table, sizeof(table), 0, NULL, 1);
	uint64_t f = mkframe(m, code, 0, 0, NULL, 0, 0);
	uint64_t ts = mkthread(m, 0, f, 1, 7), rt = mkruntime(m, ts, 0);
	struct py_reader r;

	*state = m;
	p64(m, f + m->L->fr_previous, f);		/* frame loop */
	p64(m, ts + m->L->ts_next, ts);			/* thread loop */
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, rt), 0);
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(r.nthreads, 1);
	assert_int_equal(r.threads[0].nframes, 1);
	assert_int_equal(r.threads[0].truncated, 1);
	assert_int_equal(r.partial, 1);
	assert_non_null(strstr(r.why, "loops"));

	p64(m, f + m->L->fr_previous, 0xdead0000);	/* into nothing */
	p64(m, ts + m->L->ts_next, 0);
	r.partial = 0;
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(r.threads[0].nframes, 1);
	assert_int_equal(r.partial, 1);
	assert_non_null(strstr(r.why, "cut"));
	assert_int_equal(py_read_thread_names(&r), 0);	/* no modules dict: no names */
	py_reader_free(&r);

	/* the interpreter itself unreadable: an error, not an empty answer */
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, 0x20), 0);
	assert_int_equal(py_read_threads(&r), -1);
	py_reader_free(&r);

	/* a read budget: a huge walk stops */
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, rt), 0);
	r.max_reads = 3;
	py_read_threads(&r);
	assert_int_equal(r.partial, 1);
	assert_non_null(strstr(r.why, "memory reads"));
	py_reader_free(&r);
}

static void test_unknown_version(void **state)
{
	struct py_reader r;

	(void)state;
	assert_int_equal(py_reader_init(&r, img_read, NULL, 0x030c, 0x1000), -1);
	assert_string_equal(r.why, "CPython 3.12: layout not known, native frames only");
	py_reader_free(&r);
	assert_null(py_layout_find(0x030a));
	assert_non_null(py_layout_find(0x030b));
}

/* Random bytes as memory, from every starting point: answers or errors, never a crash. */
static void test_garbage(void **state)
{
	struct img *m = img_new();
	uint64_t seed = 42;

	*state = m;
	m->used = m->size;
	for (size_t i = 0; i < m->size; i += 8) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* half of the words point back into the image, to be followed */
		uint64_t v = seed >> 11 & 1 ? m->base + (seed >> 20) % m->size : seed;

		memcpy(m->buf + i, &v, 8);
	}
	for (int k = 0; k < 200; k++) {
		struct py_reader r;

		py_reader_init(&r, img_read, m, 0x030b, m->base + (uint64_t)k * 4096 + 8 * k);
		r.max_reads = 20000;
		if (!py_read_threads(&r)) {
			pid_t tids[2] = { (pid_t)k, 7 };
			char *names[2] = { 0 };

			py_read_thread_names(&r);
			py_read_dangling_names(&r, tids, 2, names);
			free_names(names, 2);
		}
		assert_true(r.nthreads <= PY_MAX_THREADS);
		for (size_t i = 0; i < r.nthreads; i++)
			assert_true(r.threads[i].nframes <= PY_MAX_FRAMES);
		py_reader_free(&r);
	}
}

/* ---- locks ------------------------------------------------------------------------------ */

static uint64_t mklock(struct img *m, uint64_t sem, int locked)
{
	uint64_t l = alloc(m, 40);

	p64(m, l + 8, m->t_lock);
	p64(m, l + m->L->lock_sem, sem);
	m->buf[l + m->L->lock_locked - m->base] = (uint8_t)locked;
	return l;
}

static uint64_t mkexit(struct img *m, uint64_t lock)
{
	uint64_t b = alloc(m, 48), def = alloc(m, 32);

	p64(m, def, cstr(m, "__exit__"));
	p64(m, b + 8, m->t_meth);
	p64(m, b + m->L->cfunc_ml, def);
	p64(m, b + m->L->cfunc_self, lock);
	return b;
}

/* Two tellers, each `with src.lock: with dst.lock:` with the accounts swapped: each frame has
 * the locals src, dst, then the __exit__ of the held lock and of the one being taken. */
static void test_with_abba(void **state)
{
	static const char *const names[] = { "src", "dst" };
	struct img *m = img_new();
	uint64_t sem_a = 0x5000, sem_b = 0x6000;
	uint64_t lock_a = mklock(m, sem_a, 1), lock_b = mklock(m, sem_b, 1);
	uint64_t acct = mktype(m, "Account", PY_TPFLAGS_HEAPTYPE | m->L->tpflags_managed_dict);
	uint64_t alice = mkinst(m, acct, "lock", lock_a), bob = mkinst(m, acct, "lock", lock_b);
	uint64_t code = mkcode(m, "transfer", "/srv/bank.py", 10, table, sizeof(table), 2, names,
			       4);
	uint64_t lock_c = mklock(m, 0x7000, 1);
	uint64_t s1[] = { alice, bob, mkexit(m, lock_a), mkexit(m, lock_b), mkexit(m, lock_c) };
	uint64_t s2[] = { bob, alice, mkexit(m, lock_b), mkexit(m, lock_a) };
	/* s1's last slot is stale (above the real depth of the executing frame): not a hold */
	uint64_t f1 = mkframe(m, code, 0, 5, s1, 5, -1), f2 = mkframe(m, code, 0, 5, s2, 4, -1);
	uint64_t t2 = mkthread(m, 0, f2, 0x2000, 202), t1 = mkthread(m, t2, f1, 0x1000, 201);
	uint64_t rt = mkruntime(m, t1, 0);
	struct waitgraph g;
	struct py_reader r;
	int o1, o2, o3;

	*state = m;
	waitgraph_init(&g);
	wg_add_process(&g, 200, 1, "python3", NULL);
	wg_add_thread(&g, 201, 200, "python3", WG_BLOCKED);
	wg_add_thread(&g, 202, 200, "python3", WG_BLOCKED);
	wg_add_thread(&g, 203, 200, "python3", WG_BLOCKED);
	o3 = wg_object(&g, 200, WG_SEMAPHORE, 0x7000);
	o1 = wg_object(&g, 200, WG_SEMAPHORE, sem_b);
	o2 = wg_object(&g, 200, WG_SEMAPHORE, sem_a);
	g.threads[0].obj = o1;
	g.threads[1].obj = o2;
	g.threads[2].obj = o3;	/* not a Python thread: no frames to resolve it with */
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, rt), 0);
	assert_int_equal(py_read_threads(&r), 0);
	pylocks_resolve(&r, &g, 200, NULL);
	assert_int_equal(g.objects[o1].kind, WG_MUTEX);
	assert_int_equal(g.objects[o1].owner, 202);
	assert_int_equal(g.objects[o2].owner, 201);
	assert_int_equal(g.objects[o3].kind, WG_SEMAPHORE);	/* the stale slot held nothing */
	assert_int_equal(g.objects[o3].owner, 0);
	assert_string_equal(g.objects[o1].type, "Lock");
	assert_string_equal(g.objects[o1].name, "dst.lock");
	assert_string_equal(g.objects[o1].held_as, "src.lock");
	assert_non_null(strstr(g.objects[o1].held_at, "transfer (bank.py:"));
	assert_int_equal(waitgraph_analyze(&g), 2);	/* the cycle, and 203 alone */
	assert_int_equal(g.findings[0].kind, WG_F_CYCLE);
	assert_int_equal(g.findings[0].nthreads, 2);
	py_reader_free(&r);
	waitgraph_free(&g);
}

/* A bare acquire(): the lock is a local, locked, with no __exit__ anywhere: no holder. */
static void test_bare_acquire(void **state)
{
	static const char *const names[] = { "first", "second" };
	struct img *m = img_new();
	uint64_t lock_a = mklock(m, 0x5000, 1), lock_b = mklock(m, 0x6000, 1);
	uint64_t code = mkcode(m, "path", "/srv/abba.py", 10, table, sizeof(table), 2, names, 4);
	uint64_t s1[] = { lock_a, lock_b, lock_b };
	uint64_t f1 = mkframe(m, code, 0, 5, s1, 3, -1);
	uint64_t rt = mkruntime(m, mkthread(m, 0, f1, 0x1000, 301), 0);
	struct waitgraph g;
	struct py_reader r;
	int o;

	*state = m;
	waitgraph_init(&g);
	wg_add_process(&g, 300, 1, "python3", NULL);
	wg_add_thread(&g, 301, 300, "python3", WG_BLOCKED);
	o = wg_object(&g, 300, WG_SEMAPHORE, 0x6000);
	g.threads[0].obj = o;
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b, rt), 0);
	assert_int_equal(py_read_threads(&r), 0);
	pylocks_resolve(&r, &g, 300, NULL);
	assert_int_equal(g.objects[o].owner, 0);
	assert_string_equal(g.objects[o].name, "second");
	assert_non_null(strstr(g.objects[o].note, "bare acquire()"));
	assert_non_null(strstr(g.objects[o].note, "--locks"));
	py_reader_free(&r);
	waitgraph_free(&g);
}

/* ---- asyncio ------------------------------------------------------------------------------ */

/* asyncio.tasks._all_tasks: a WeakSet whose data is a set of weak references to tasks */
static void test_tasks(void **state)
{
	static const char *const names[] = { "ready" };
	struct img *m = img_new();
	const struct py_layout *L = m->L;
	uint64_t t_task = mktype(m, "_asyncio.Task", 0), t_coro = mktype(m, "coroutine", 0);
	uint64_t t_ref = mktype(m, "weakref.ReferenceType", 0), t_none = mktype(m, "NoneType", 0);
	uint64_t t_it = mktype(m, "_asyncio.FutureIter", 0);
	uint64_t t_fut = mktype(m, "_asyncio.Future", 0);
	uint64_t t_ws = mktype(m, "WeakSet", PY_TPFLAGS_HEAPTYPE | L->tpflags_managed_dict);
	uint64_t code = mkcode(m, "consume", "/srv/aio.py", 10, table, sizeof(table), 1, names, 2);
	uint64_t coro = mkobj(m, t_coro, L->coro_frame + L->fr_localsplus + 3 * 8);
	uint64_t frame = coro + L->coro_frame, it = mkobj(m, t_it, 24), fut = mkobj(m, t_fut, 64);
	uint64_t live = mkobj(m, t_task, 176), done = mkobj(m, t_task, 176);
	uint64_t none = mkobj(m, t_none, 16), refs[3], set = mkobj(m, mktype(m, "set", 0), 200);
	uint64_t table8 = alloc(m, 8 * 16), ws, k_all, k_mod, tdict, mod = alloc(m, 32);
	struct wg_process proc = { 0 };
	struct py_reader r;

	*state = m;
	m->buf[coro + L->coro_frame_state - m->base] = (uint8_t)-1;	/* suspended */
	p64(m, frame + L->fr_code, code);
	p64(m, frame + L->fr_prev_instr, code + L->co_code + 2 * 5);	/* line 10 */
	p32(m, frame + L->fr_stacktop, 2);	/* one local, then the awaited iterator */
	p64(m, frame + L->fr_localsplus + 8, it);
	p64(m, it + L->futureiter_future, fut);
	p64(m, live + L->task_name, mkstr(m, "consumer"));
	p64(m, live + L->task_coro, coro);
	p64(m, done + L->task_name, mkstr(m, "Task-2"));
	p32(m, done + L->task_state, 2);
	refs[0] = mkobj(m, t_ref, 64);
	refs[1] = mkobj(m, t_ref, 64);
	refs[2] = mkobj(m, t_ref, 64);
	p64(m, refs[0] + L->weakref_object, live);
	p64(m, refs[1] + L->weakref_object, done);
	p64(m, refs[2] + L->weakref_object, none);	/* a dead reference */
	p64(m, table8 + 1 * 16, refs[0]);
	p64(m, table8 + 4 * 16, refs[1]);
	p64(m, table8 + 6 * 16, refs[2]);
	p64(m, set + L->set_mask, 7);
	p64(m, set + L->set_table, table8);
	ws = mkinst(m, t_ws, "data", set);
	k_all = mkstr(m, "_all_tasks");
	tdict = mkdict(m, 1, &k_all, &ws, 0);
	p64(m, mod + 8, m->t_module);
	p64(m, mod + L->mod_dict, tdict);
	k_mod = mkstr(m, "asyncio.tasks");
	assert_int_equal(py_reader_init(&r, img_read, m, 0x030b,
					mkruntime(m, 0, mkdict(m, 1, &k_mod, &mod, 0))), 0);
	assert_int_equal(py_read_threads(&r), 0);
	assert_int_equal(py_read_tasks(&r, &proc), 2);
	assert_null(proc.tasks_note);
	assert_string_equal(proc.tasks[0].name, "consumer");
	assert_string_equal(proc.tasks[0].state, "pending");
	assert_string_equal(proc.tasks[0].awaits, "Future");
	assert_int_equal(proc.tasks[0].nchain, 1);
	assert_string_equal(proc.tasks[0].chain[0].func, "consume");
	assert_int_equal(proc.tasks[0].chain[0].line, 10);
	assert_string_equal(proc.tasks[1].name, "Task-2");
	assert_string_equal(proc.tasks[1].state, "finished");
	assert_int_equal(proc.tasks[1].nchain, 0);

	/* a coroutine that awaits itself (memory changed under us): the chain stops */
	p64(m, frame + L->fr_localsplus + 8, coro);
	{
		struct waitgraph g;

		waitgraph_init(&g);
		wg_add_process(&g, 1, 0, "python3", NULL);
		assert_int_equal(py_read_tasks(&r, &g.procs[0]), 2);
		assert_int_equal(g.procs[0].tasks[0].nchain, PY_MAX_AWAIT);
		waitgraph_free(&g);
	}
	for (size_t i = 0; i < proc.ntasks; i++) {
		free(proc.tasks[i].name);
		free(proc.tasks[i].awaits);
		for (size_t k = 0; k < proc.tasks[i].nchain; k++) {
			free(proc.tasks[i].chain[k].func);
			free(proc.tasks[i].chain[k].file);
		}
		free(proc.tasks[i].chain);
	}
	free(proc.tasks);
	py_reader_free(&r);
}

/* The GIL's futex words by part, on 3.11's layout (0x188: measured on 3.11.2 and 3.11.7). */
static void test_gil_part(void **state)
{
	const struct py_layout *L = py_layout_find(0x030b);
	const uint64_t rt = 0x7f0000001000;

	(void)state;
	assert_non_null(L);
	assert_null(py_gil_part(L, rt, rt + 0x187));		/* before the GIL's condvar */
	assert_string_equal(py_gil_part(L, rt, rt + 0x198), "GIL");	/* its __g_refs */
	assert_string_equal(py_gil_part(L, rt, rt + 0x1b0), "GIL");	/* __g_signals[0] */
	assert_string_equal(py_gil_part(L, rt, rt + 0x1b4), "GIL");	/* __g_signals[1] */
	assert_string_equal(py_gil_part(L, rt, rt + 0x1b8), "GIL mutex");
	assert_string_equal(py_gil_part(L, rt, rt + 0x208), "GIL switch");
	assert_string_equal(py_gil_part(L, rt, rt + 0x20c), "GIL switch");
	assert_string_equal(py_gil_part(L, rt, rt + 0x210), "GIL switch mutex");
	assert_null(py_gil_part(L, rt, rt + 0x238));		/* past the switch mutex */
	assert_null(py_gil_part(L, 0, 0x1b0));			/* no runtime known */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linetable),
		cmocka_unit_test(test_exctable),
		cmocka_unit_test_teardown(test_walk, teardown),
		cmocka_unit_test_teardown(test_bad_memory, teardown),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test_teardown(test_garbage, teardown),
		cmocka_unit_test_teardown(test_with_abba, teardown),
		cmocka_unit_test_teardown(test_bare_acquire, teardown),
		cmocka_unit_test_teardown(test_tasks, teardown),
		cmocka_unit_test(test_gil_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
