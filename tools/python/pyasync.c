// SPDX-License-Identifier: GPL-2.0
/* pyasync.c — asyncio tasks and their coroutine chains (see pyasync.h). */
#include <stdlib.h>
#include <string.h>

#include "python/pyasync.h"
#include "python/pynames.h"
#include "lib/util.h"

/* 3.11 frame states of a generator or coroutine (Include/internal/pycore_frame.h) */
#define FRAME_CREATED (-2)
#define FRAME_SUSPENDED (-1)
#define FRAME_EXECUTING 0

static const char *const task_states[] = { "pending", "cancelled", "finished" };

/* The line a coroutine's own frame is at. */
static int coro_line(struct py_reader *r, uint64_t frame, uint64_t code)
{
	uint8_t hdr[72];
	uint64_t prev_instr;

	if (py_read(r, frame, hdr, sizeof(hdr)))
		return 0;
	memcpy(&prev_instr, hdr + r->L->fr_prev_instr, 8);
	return py_code_line(r, code, prev_instr);
}

static void add_frame(struct wg_task *t, size_t *cap, const char *func, const char *file,
		      int line)
{
	GROW(t->chain, *cap, t->nchain + 1);
	t->chain[t->nchain].func = xstrdup(func);
	t->chain[t->nchain].file = xstrdup(file);
	t->chain[t->nchain].line = line;
	t->nchain++;
}

/*
 * asyncio's own waits are coroutine methods of its primitives (asyncio/locks.py, queues.py):
 * suspended in one, the task waits for that object, which the caller's frame names the way the
 * program does ("Event consumer_ready", "Queue q"): "awaits Future" says less. The type, or
 * NULL when qualname is no such method.
 */
static const char *primitive_of(const char *qualname, const char *file)
{
	static const char *const types[] = {
		"Event", "Lock", "Condition", "Semaphore", "BoundedSemaphore", "Barrier",
		"Queue", "PriorityQueue", "LifoQueue",
	};
	const char *dot = strchr(qualname, '.');

	if (!dot || !strstr(file, "asyncio/"))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((size_t)(dot - qualname) == strlen(types[i]) &&
		    !strncmp(qualname, types[i], strlen(types[i])))
			return types[i];
	return NULL;
}

/* "Event consumer_ready" in out: the primitive whose method frame is at frame (self its first
 * local), named from its caller's frame; out stays empty when it cannot be named. */
static void primitive_name(struct py_reader *r, const char *type, uint64_t frame,
			   uint64_t caller, uint64_t caller_code, char *out, size_t n)
{
	struct py_frame fr = { .addr = caller, .code = caller_code };
	struct py_namer nm = { r, 0, NULL, NULL };
	char name[128], local[128];

	if (!caller || !(nm.target = py_frame_self(r, frame)) || !py_name_object(&nm, &fr, name, sizeof(name), local,
						       sizeof(local)))
		return;
	snprintf(out, n, "%s %s", type, local[0] ? local : name);
}

/* Follow a coroutine and what it awaits, down to a future (or what cannot be followed). */
static void follow(struct py_reader *r, struct wg_task *t, uint64_t coro, int *running)
{
	const struct py_layout *L = r->L;
	size_t cap = 0;
	uint64_t caller = 0, caller_code = 0;	/* the coroutine frame that awaits this one */
	char primitive[160] = "";		/* what an asyncio primitive's method waits on */

	for (int depth = 0; coro && depth < PY_MAX_AWAIT; depth++) {
		const char *tn = py_type_name(r, coro);
		char name[96];
		uint64_t frame = coro + L->coro_frame, code, yf = 0;
		int8_t state;
		int32_t stacktop;
		int nlp, ss;

		if (!tn) {
			t->awaits = xstrdup("(unreadable)");
			return;
		}
		if (!strcmp(tn, "_asyncio.FutureIter") &&
		    !py_read_ptr(r, coro + L->futureiter_future, &yf) && py_ptr_ok(yf)) {
			coro = yf;	/* `await fut` iterates the future: say the future */
			tn = py_type_name(r, coro);
			if (!tn)
				tn = "?";
		}
		if (strcmp(tn, "coroutine")) {	/* a future, a task, a generator-based await */
			if (primitive[0]) {
				t->awaits = xstrdup(primitive);
			} else if (!strcmp(tn, "_asyncio.Task") &&
			    !py_read_ptr(r, coro + L->task_name, &yf) &&
			    !py_str(r, yf, name, sizeof(name))) {
				char buf[128];

				snprintf(buf, sizeof(buf), "Task %s", name);
				t->awaits = xstrdup(buf);
			} else {
				t->awaits = xstrdup(!strcmp(tn, "_asyncio.Future")    ? "Future" :
						    !strcmp(tn, "_GatheringFuture") ? "gather()" :
										      tn);
			}
			return;
		}
		if (py_read(r, coro + L->coro_frame_state, &state, 1) ||
		    py_read_ptr(r, frame + L->fr_code, &code) ||
		    py_code_sizes(r, code, &nlp, &ss)) {
			t->awaits = xstrdup("(unreadable)");
			return;
		}
		{
			const char *q = py_code_qualname(r, code), *f = py_code_file(r, code);
			const char *type = q && f ? primitive_of(q, f) : NULL;

			add_frame(t, &cap, q ? q : "?", f ? f : "?",
				  state == FRAME_CREATED ? 0 : coro_line(r, frame, code));
			if (type && !primitive[0])
				primitive_name(r, type, frame, caller, caller_code, primitive,
					       sizeof(primitive));
		}
		caller = frame;
		caller_code = code;
		if (state == FRAME_EXECUTING) {
			*running = 1;	/* on the loop's thread now: its stack says the rest */
			return;
		}
		if (state != FRAME_SUSPENDED)
			return;
		/* suspended in an await: the awaited object is on top of the value stack */
		if (py_read(r, frame + L->fr_stacktop, &stacktop, 4) || stacktop <= nlp ||
		    stacktop > nlp + ss ||
		    py_read_ptr(r, frame + L->fr_localsplus + 8 * (uint64_t)(stacktop - 1), &yf))
			return;
		coro = py_ptr_ok(yf) ? yf : 0;
	}
}

struct tasks_ctx {
	struct wg_process *proc;
	size_t cap;
};

static void read_task(struct py_reader *r, struct tasks_ctx *c, uint64_t task)
{
	const struct py_layout *L = r->L;
	struct wg_process *p = c->proc;
	struct wg_task *t;
	uint64_t name, coro;
	uint32_t state = 0;
	int running = 0;
	char buf[128];

	GROW(p->tasks, c->cap, p->ntasks + 1);
	t = &p->tasks[p->ntasks++];
	memset(t, 0, sizeof(*t));
	if (!py_read_ptr(r, task + L->task_name, &name) && !py_str(r, name, buf, sizeof(buf)))
		t->name = xstrdup(buf);
	else
		t->name = xstrdup("?");
	py_read(r, task + L->task_state, &state, 4);
	t->state = state < 3 ? task_states[state] : "?";
	if (state == 0 && !py_read_ptr(r, task + L->task_coro, &coro))
		follow(r, t, coro, &running);
	if (running)
		t->state = "running";
}

/* The tasks are the objects of the WeakSet's set of weak references. */
static int each_ref(struct py_reader *r, uint64_t set, struct tasks_ctx *c)
{
	const struct py_layout *L = r->L;
	uint64_t mask, table, ent[2 * 64];

	if (py_read_ptr(r, set + L->set_mask, &mask) ||
	    py_read_ptr(r, set + L->set_table, &table) || mask > (1u << 20) || !py_ptr_ok(table))
		return -1;
	for (uint64_t i = 0; i <= mask; i += 64) {
		uint64_t k = mask + 1 - i < 64 ? mask + 1 - i : 64;

		if (py_read(r, table + i * 16, ent, k * 16))
			return -1;
		for (uint64_t e = 0; e < k; e++) {
			const char *tn = py_ptr_ok(ent[2 * e]) ? py_type_name(r, ent[2 * e]) : NULL;
			uint64_t task;

			if (!tn || !strstr(tn, "weakref") ||
			    py_read_ptr(r, ent[2 * e] + L->weakref_object, &task) ||
			    !py_ptr_ok(task))
				continue;	/* empty, dummy, or a dead reference */
			tn = py_type_name(r, task);
			if (!tn || !strstr(tn, "Task"))
				continue;
			if (c->proc->ntasks >= PY_MAX_TASKS) {
				wg_set_str(&c->proc->tasks_note, "more tasks than listed");
				return 0;
			}
			read_task(r, c, task);
		}
	}
	return 0;
}

size_t py_read_tasks(struct py_reader *r, struct wg_process *proc)
{
	struct tasks_ctx c = { proc, 0 };
	uint64_t modules, mod, dict, all, data;

	if (py_read_ptr(r, r->interp + r->L->is_modules, &modules) || !py_ptr_ok(modules))
		return 0;
	mod = py_dict_get(r, modules, "asyncio.tasks");
	if (!mod || py_read_ptr(r, mod + r->L->mod_dict, &dict) || !dict)
		return 0;	/* asyncio never imported */
	all = py_dict_get(r, dict, "_all_tasks");
	data = all ? py_attr(r, all, "data") : 0;
	if (!data || each_ref(r, data, &c)) {
		wg_set_str(&proc->tasks_note, "asyncio's task set could not be read");
		return proc->ntasks;
	}
	return proc->ntasks;
}

/* len() of a list or deque: both keep it in ob_size; -1 unreadable. */
static int64_t var_len(struct py_reader *r, uint64_t obj)
{
	int64_t n;

	if (!py_ptr_ok(obj) || py_read(r, obj + r->L->var_size, &n, sizeof(n)) || n < 0)
		return -1;
	return n;
}

static int count_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	(void)r, (void)key, (void)value, (void)arg;
	return 0;
}

void py_read_loop(struct py_reader *r, struct wg_process *proc)
{
	memset(&proc->loop, 0, sizeof(proc->loop));
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct py_frame *fr = py_thread_frame(&r->threads[i], "BaseEventLoop._run_once",
							    "asyncio/base_events.py");
		uint64_t loop = fr ? py_frame_self(r, fr->addr) : 0, sel;

		if (!loop)
			continue;
		proc->loop.tid = r->threads[i].tid;
		proc->loop.ready = var_len(r, py_attr(r, loop, "_ready"));
		proc->loop.scheduled = var_len(r, py_attr(r, loop, "_scheduled"));
		/* a selector loop's registrations (selectors' _fd_to_key); a proactor or a
		 * third-party loop has none to read */
		sel = py_attr(r, loop, "_selector");
		proc->loop.fds = py_ptr_ok(sel) ? py_dict_each(r, py_attr(r, sel, "_fd_to_key"), 1024,
							       count_cb, NULL) : -1;
		return;
	}
}
