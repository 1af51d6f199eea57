// SPDX-License-Identifier: GPL-2.0
/*
 * pyread_walk.c — from _PyRuntime to every thread's Python frames, with names and lines.
 *
 * A frame's line is not stored: 3.11 keeps the last instruction run (prev_instr) and a compact
 * location table per code object (co_linetable, Objects/locations.md in CPython), and
 * traceback.py computes the line from both, as done here.
 */
#include <stdlib.h>
#include <string.h>

#include "python/pyread.h"
#include "python/pyread_int.h"
#include "lib/util.h"

int py_reader_init(struct py_reader *r, py_read_fn read, void *ctx, unsigned version,
		   uint64_t runtime)
{
	memset(r, 0, sizeof(*r));
	r->read = read;
	r->ctx = ctx;
	r->runtime = runtime;
	r->hexversion = version << 16;
	r->max_reads = PY_MAX_READS;
	r->L = py_layout_find(version);
	if (!r->L) {
		snprintf(r->why, sizeof(r->why),
			 "CPython %u.%u: layout not known, native frames only", version >> 8,
			 version & 0xff);
		return -1;
	}
	return 0;
}

static void free_threads(struct py_reader *r)
{
	for (size_t i = 0; i < r->nthreads; i++) {
		free(r->threads[i].name);
		free(r->threads[i].frames);
	}
	free(r->threads);
	r->threads = NULL;
	r->nthreads = 0;
}

void py_reader_free(struct py_reader *r)
{
	free_threads(r);
	py_codes_free(r);
	py_types_free(r);
}

/* ---- the location table --------------------------------------------------------------- */

static unsigned varint(const uint8_t *t, size_t n, size_t *i)
{
	unsigned v = 0, shift = 0;
	uint8_t b;

	do {
		if (*i >= n || shift > 28)
			return v;
		b = t[(*i)++];
		v |= (unsigned)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

static int svarint(const uint8_t *t, size_t n, size_t *i)
{
	unsigned u = varint(t, n, i);

	return u & 1 ? -(int)(u >> 1) : (int)(u >> 1);
}

int py_linetable_line(const uint8_t *tab, size_t n, int firstlineno, int lasti)
{
	int line = firstlineno, end = 0;
	size_t i = 0;

	if (lasti < 0)
		return firstlineno;
	/* entries: a first byte 1cccclll (code c, length l+1 code units), then data bytes */
	while (i < n) {
		uint8_t b = tab[i++];
		int code = b >> 3 & 15, delta = 0;

		if (!(b & 0x80))
			return 0;	/* not the start of an entry: not a location table */
		if (code == 14 || code == 13)
			delta = svarint(tab, n, &i);
		else if (code >= 10 && code <= 12)
			delta = code - 10;
		line += delta;
		end += (b & 7) + 1;
		if (lasti < end)
			return code == 15 ? 0 : line;	/* 15: no location for these units */
		while (i < n && !(tab[i] & 0x80))
			i++;	/* the columns and end line: not needed */
	}
	return 0;
}

/* An exception-table number: 6-bit groups, most significant first, bit 6 = more follow. */
static unsigned bvarint(const uint8_t *t, size_t n, size_t *i)
{
	unsigned v = 0;
	uint8_t b;

	do {
		if (*i >= n || v >> 26)
			return v;
		b = t[(*i)++];
		v = v << 6 | (b & 63);
	} while (b & 64);
	return v;
}

struct exc_entry {
	int start, end, target, depth, lasti;
};

/* Entry at *i (its first byte has bit 7 set); 0, or -1 at the end or on a malformed table. */
static int exc_next(const uint8_t *t, size_t n, size_t *i, struct exc_entry *e)
{
	unsigned dl;

	if (*i >= n || !(t[*i] & 0x80))
		return -1;
	e->start = (int)bvarint(t, n, i);
	e->end = e->start + (int)bvarint(t, n, i);
	e->target = (int)bvarint(t, n, i);
	dl = bvarint(t, n, i);
	e->depth = (int)(dl >> 1);
	e->lasti = dl & 1;
	return 0;
}

int py_exctable_with_start(const uint8_t *tab, size_t n, int lasti, int slot)
{
	/* A with block's body is covered by entries that keep the stack down to its __exit__
	 * (depth slot + 1) and push lasti; an inner block splits it into pieces that share
	 * one handler. The piece that began last at or before lasti is the block's; its
	 * earliest piece begins right after BEFORE_WITH. */
	struct exc_entry e;
	int target = -1, best = -1, first = -1;
	size_t i = 0;

	while (!exc_next(tab, n, &i, &e))
		if (e.depth == slot + 1 && e.lasti && e.start <= lasti && e.start > best) {
			best = e.start;
			target = e.target;
		}
	for (i = 0; target >= 0 && !exc_next(tab, n, &i, &e);)
		if (e.target == target && e.depth == slot + 1 && (first < 0 || e.start < first))
			first = e.start;
	return first;
}

/* ---- code objects ------------------------------------------------------------------------- */

static size_t code_slot(const struct py_reader *r, uint64_t code)
{
	return (size_t)((code >> 4) * 0x9e3779b97f4a7c15ull) & (r->cap_codes - 1);
}

static void code_insert(struct py_reader *r, struct py_code *c)
{
	size_t s;

	if ((r->ncodes + 1) * 2 > r->cap_codes) {
		struct py_code **old = r->codes;
		size_t oldcap = r->cap_codes;

		r->cap_codes = oldcap ? oldcap * 2 : 256;
		r->codes = xcalloc(r->cap_codes, sizeof(*r->codes));
		r->ncodes = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				code_insert(r, old[i]);
		free(old);
	}
	for (s = code_slot(r, c->addr); r->codes[s]; s = (s + 1) & (r->cap_codes - 1))
		;
	r->codes[s] = c;
	r->ncodes++;
}

static char *read_str_dup(struct py_reader *r, uint64_t obj)
{
	char buf[512];

	return xstrdup(py_str(r, obj, buf, sizeof(buf)) ? "?" : buf);
}

/* A bytes object's contents (malloc'd, *n bytes), NULL when unreadable. */
static uint8_t *read_bytes(struct py_reader *r, uint64_t obj, size_t *n)
{
	uint8_t *b;
	int64_t len;

	*n = 0;
	/* its size, then the bytes, at 32 */
	if (!py_ptr_ok(obj) || py_read(r, obj + r->L->var_size, &len, 8) || len <= 0 ||
	    len > 1 << 20)
		return NULL;
	b = xmalloc((size_t)len);
	if (py_read(r, obj + 32, b, (size_t)len)) {
		free(b);
		return NULL;
	}
	*n = (size_t)len;
	return b;
}

static struct py_code *code_read(struct py_reader *r, uint64_t code)
{
	const struct py_layout *L = r->L;
	struct py_code *c;
	uint8_t hdr[192];
	uint64_t qual, file, tab;
	const char *tn = py_type_name(r, code);

	if (!tn || strcmp(tn, "code") || py_read(r, code, hdr, L->co_code))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->addr = code;
	memcpy(&c->stacksize, hdr + L->co_stacksize, 4);
	memcpy(&c->firstlineno, hdr + L->co_firstlineno, 4);
	memcpy(&c->nlocalsplus, hdr + L->co_nlocalsplus, 4);
	memcpy(&c->firsttraceable, hdr + L->co_firsttraceable, 4);
	memcpy(&c->localsplusnames, hdr + L->co_localsplusnames, 8);
	memcpy(&qual, hdr + L->co_qualname, 8);
	memcpy(&file, hdr + L->co_filename, 8);
	memcpy(&tab, hdr + L->co_linetable, 8);
	if (c->nlocalsplus < 0 || c->nlocalsplus > 1 << 16)
		c->nlocalsplus = 0;
	if (c->stacksize < 0 || c->stacksize > 1 << 16)
		c->stacksize = 0;
	c->qualname = read_str_dup(r, qual);
	c->file = read_str_dup(r, file);
	c->linetable = read_bytes(r, tab, &c->nlinetable);
	return c;
}

const struct py_code *py_code_get(struct py_reader *r, uint64_t code)
{
	struct py_code *c;

	if (!py_ptr_ok(code))
		return NULL;
	if (r->cap_codes)
		for (size_t s = code_slot(r, code); r->codes[s]; s = (s + 1) & (r->cap_codes - 1))
			if (r->codes[s]->addr == code)
				return r->codes[s];
	c = code_read(r, code);
	if (c)
		code_insert(r, c);
	return c;
}

void py_codes_free(struct py_reader *r)
{
	for (size_t i = 0; i < r->cap_codes; i++) {
		struct py_code *c = r->codes[i];

		if (!c)
			continue;
		free(c->qualname);
		free(c->file);
		free(c->linetable);
		free(c->exctable);
		for (int k = 0; c->locals && k < c->nlocalsplus; k++)
			free(c->locals[k]);
		free(c->locals);
		free(c);
	}
	free(r->codes);
	r->codes = NULL;
	r->ncodes = r->cap_codes = 0;
}

const char *py_local_name(struct py_reader *r, uint64_t code, int i)
{
	struct py_code *c = (struct py_code *)py_code_get(r, code);

	if (!c || i < 0 || i >= c->nlocalsplus)
		return NULL;
	if (!c->nlocals_read) {
		uint64_t *items = xcalloc((size_t)c->nlocalsplus, 8);
		int64_t size = 0;

		c->nlocals_read = 1;
		c->locals = xcalloc((size_t)c->nlocalsplus, sizeof(*c->locals));
		if (!py_read(r, c->localsplusnames + r->L->var_size, &size, 8) &&
		    size == c->nlocalsplus &&
		    !py_read(r, c->localsplusnames + r->L->tuple_items, items,
			     (size_t)c->nlocalsplus * 8))
			for (int k = 0; k < c->nlocalsplus; k++) {
				char buf[128];

				if (!py_str(r, items[k], buf, sizeof(buf)))
					c->locals[k] = xstrdup(buf);
			}
		free(items);
	}
	return c->locals[i];
}

int py_code_sizes(struct py_reader *r, uint64_t code, int *nlocalsplus, int *stacksize)
{
	const struct py_code *c = py_code_get(r, code);

	if (!c)
		return -1;
	*nlocalsplus = c->nlocalsplus;
	*stacksize = c->stacksize;
	return 0;
}

int py_frame_slots(struct py_reader *r, const struct py_frame *fr, uint64_t *slots, int max,
		   int *nlocals)
{
	int nlp, ss, n;

	*nlocals = 0;
	if (py_code_sizes(r, fr->code, &nlp, &ss))
		return 0;
	n = nlp + ss < max ? nlp + ss : max;
	*nlocals = nlp < n ? nlp : n;
	if (n <= 0 || py_read(r, fr->addr + r->L->fr_localsplus, slots, (size_t)n * 8))
		return 0;
	return n;
}

int py_code_line(struct py_reader *r, uint64_t code, uint64_t prev_instr)
{
	const struct py_code *c = py_code_get(r, code);
	int lasti = (int)(((int64_t)prev_instr - (int64_t)(code + r->L->co_code)) / 2);

	if (!c || !c->linetable)
		return 0;
	return py_linetable_line(c->linetable, c->nlinetable, c->firstlineno, lasti);
}

#define OP_BEFORE_WITH 53	/* 3.11's opcode (no specialised forms) */

int py_with_line(struct py_reader *r, const struct py_frame *fr, int slot)
{
	struct py_code *c = (struct py_code *)py_code_get(r, fr->code);
	uint64_t tab;
	uint8_t op;
	int start;

	if (!c || !c->linetable)
		return 0;
	if (!c->exctable_read) {
		c->exctable_read = 1;
		if (!py_read_ptr(r, c->addr + r->L->co_exceptiontable, &tab))
			c->exctable = read_bytes(r, tab, &c->nexctable);
	}
	start = c->exctable ? py_exctable_with_start(c->exctable, c->nexctable, fr->lasti, slot)
			    : -1;
	if (start < 1 || py_read(r, c->addr + r->L->co_code + (uint64_t)(start - 1) * 2, &op, 1) ||
	    op != OP_BEFORE_WITH)
		return 0;
	return py_linetable_line(c->linetable, c->nlinetable, c->firstlineno, start - 1);
}

const char *py_code_qualname(struct py_reader *r, uint64_t code)
{
	const struct py_code *c = py_code_get(r, code);

	return c ? c->qualname : NULL;
}

const char *py_code_file(struct py_reader *r, uint64_t code)
{
	const struct py_code *c = py_code_get(r, code);

	return c ? c->file : NULL;
}

/* ---- threads and frames ------------------------------------------------------------------- */

static void walk_frames(struct py_reader *r, struct py_thread *t)
{
	const struct py_layout *L = r->L;
	uint64_t cframe, f;
	size_t cap = 0, depth;

	if (py_read_ptr(r, t->tstate + L->ts_cframe, &cframe) || !py_ptr_ok(cframe) ||
	    py_read_ptr(r, cframe + L->cf_current_frame, &f)) {
		t->truncated = 1;
		py_partial(r, "thread %d: its frame could not be read", (int)t->tid);
		return;
	}
	for (depth = 0; f; depth++) {
		uint8_t hdr[72];
		uint64_t code, prev, prev_instr;
		const struct py_code *c;
		struct py_frame *fr;
		int lasti;

		if (depth >= PY_MAX_FRAMES || !py_ptr_ok(f) || py_read(r, f, hdr, sizeof(hdr))) {
			t->truncated = 1;
			py_partial(r, "thread %d: frame chain cut at depth %zu", (int)t->tid,
				   depth);
			return;
		}
		memcpy(&code, hdr + L->fr_code, 8);
		memcpy(&prev, hdr + L->fr_previous, 8);
		memcpy(&prev_instr, hdr + L->fr_prev_instr, 8);
		for (size_t k = 0; k < t->nframes; k++)
			if (t->frames[k].addr == f) {	/* a loop: memory changed under us */
				t->truncated = 1;
				py_partial(r, "thread %d: frame chain loops", (int)t->tid);
				return;
			}
		c = py_code_get(r, code);
		if (!c) {
			t->truncated = 1;
			py_partial(r, "thread %d: frame %zu has no code object", (int)t->tid,
				   depth);
			return;
		}
		/* a frame being set up (not owned by a generator, before its first traceable
		 * instruction) is not shown, as CPython's own tracebacks skip it */
		if (hdr[L->fr_owner] != 1 &&
		    prev_instr < code + L->co_code + (uint64_t)c->firsttraceable * 2) {
			f = prev;
			continue;
		}
		GROW(t->frames, cap, t->nframes + 1);
		fr = &t->frames[t->nframes++];
		memset(fr, 0, sizeof(*fr));
		fr->addr = f;
		fr->code = code;
		fr->qualname = c->qualname;
		fr->file = c->file;
		fr->top = depth == 0;
		fr->entry = hdr[L->fr_is_entry] != 0;
		lasti = (int)(((int64_t)prev_instr - (int64_t)(code + L->co_code)) / 2);
		fr->lasti = lasti;
		fr->line = c->linetable ? py_linetable_line(c->linetable, c->nlinetable,
							   c->firstlineno, lasti) : 0;
		f = prev;
	}
}

int py_read_threads(struct py_reader *r)
{
	const struct py_layout *L = r->L;
	size_t cap = 0;
	uint64_t ts;

	free_threads(r);
	if (py_read_ptr(r, r->runtime + L->rt_interp_head, &r->interp) || !py_ptr_ok(r->interp) ||
	    py_read_ptr(r, r->interp + L->is_threads_head, &ts)) {
		snprintf(r->why, sizeof(r->why), "the interpreter state could not be read");
		return -1;
	}
	while (ts) {
		struct py_thread *t;
		uint64_t tid = 0;

		if (r->nthreads >= PY_MAX_THREADS || !py_ptr_ok(ts)) {
			py_partial(r, "thread list cut after %zu threads", r->nthreads);
			break;
		}
		for (size_t k = 0; k < r->nthreads; k++)
			if (r->threads[k].tstate == ts) {
				py_partial(r, "thread list loops");
				return 0;
			}
		GROW(r->threads, cap, r->nthreads + 1);
		t = &r->threads[r->nthreads];
		memset(t, 0, sizeof(*t));
		t->tstate = ts;
		if (py_read_ptr(r, ts + L->ts_thread_id, &t->pthread) ||
		    py_read_ptr(r, ts + L->ts_native_tid, &tid)) {
			py_partial(r, "a thread state could not be read");
			break;
		}
		t->tid = (pid_t)tid;
		r->nthreads++;
		if (!r->no_frames)
			walk_frames(r, t);
		if (py_read_ptr(r, ts + L->ts_next, &ts)) {
			py_partial(r, "thread list cut after %zu threads", r->nthreads);
			break;
		}
	}
	return 0;
}

struct py_thread *py_thread_by_tid(struct py_reader *r, pid_t tid)
{
	for (size_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].tid == tid)
			return &r->threads[i];
	return NULL;
}

uint64_t py_frame_self(struct py_reader *r, uint64_t frame)
{
	uint64_t self = 0;

	return py_read_ptr(r, frame + r->L->fr_localsplus, &self) || !py_ptr_ok(self) ? 0 : self;
}

const struct py_frame *py_thread_frame(const struct py_thread *pt, const char *qualname,
				       const char *file_end)
{
	size_t fl = strlen(file_end);

	for (size_t k = 0; k < pt->nframes; k++) {
		const struct py_frame *fr = &pt->frames[k];
		size_t l = strlen(fr->file);

		if (!strcmp(fr->qualname, qualname) && l >= fl && !strcmp(fr->file + l - fl, file_end))
			return fr;
	}
	return NULL;
}

struct py_thread *py_thread_by_pthread(struct py_reader *r, uint64_t pthread)
{
	for (size_t i = 0; i < r->nthreads; i++)
		if (pthread && r->threads[i].pthread == pthread)
			return &r->threads[i];
	return NULL;
}

/* ---- thread names ------------------------------------------------------------------------- */

static int name_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	int *named = arg;
	struct py_thread *t;
	int64_t ident;
	char name[128];
	uint64_t s;

	/* threading._active maps get_ident() (the pthread_t) to the Thread object */
	if (py_long(r, key, &ident) || !(t = py_thread_by_pthread(r, (uint64_t)ident)))
		return 0;
	t->thread_obj = value;
	s = py_attr(r, value, "_name");
	if (s && !py_str(r, s, name, sizeof(name)) && name[0]) {
		free(t->name);
		t->name = xstrdup(name);
		(*named)++;
	}
	return 0;
}

/* The threading module's globals, 0 when the program never imported it. Looked for in
 * sys.modules once a reader (a few hundred reads): a module keeps its globals for good. */
static uint64_t threading_dict(struct py_reader *r)
{
	uint64_t modules, mod, dict;

	if (r->threading)
		return r->threading;
	if (py_read_ptr(r, r->interp + r->L->is_modules, &modules) || !py_ptr_ok(modules))
		return 0;
	mod = py_dict_get(r, modules, "threading");
	if (!mod || py_read_ptr(r, mod + r->L->mod_dict, &dict) || !py_ptr_ok(dict))
		return 0;
	return r->threading = dict;
}

/*
 * The names from _active kept only for the threads still listed after it was read: between
 * the read of the thread states and that of _active, a thread may end and the next one start
 * with its pthread_t (glibc gives a new thread the stack, and so the pthread_t, of one that
 * ended), and _active then has the new Thread under the ended thread's ident. A thread state
 * still listed with the same ident and tid was alive the whole time: the ident was its own.
 */
static int keep_listed(struct py_reader *r, int named)
{
	const struct py_layout *L = r->L;
	uint8_t *listed = xcalloc(r->nthreads + 1, 1);
	uint64_t ts = 0, pthread, tid;

	py_read_ptr(r, r->interp + L->is_threads_head, &ts);
	for (size_t k = 0; ts && k < PY_MAX_THREADS; k++) {
		struct py_thread *t = k < r->nthreads && r->threads[k].tstate == ts ?
				      &r->threads[k] : NULL;	/* the same order, mostly */

		for (size_t i = 0; !t && i < r->nthreads; i++)
			if (r->threads[i].tstate == ts)
				t = &r->threads[i];
		if (!py_ptr_ok(ts) || py_read_ptr(r, ts + L->ts_thread_id, &pthread) ||
		    py_read_ptr(r, ts + L->ts_native_tid, &tid))
			break;
		if (t && t->pthread == pthread && t->tid == (pid_t)tid)
			listed[t - r->threads] = 1;
		if (py_read_ptr(r, ts + L->ts_next, &ts))
			break;
	}
	for (size_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].name && !listed[i]) {
			free(r->threads[i].name);
			r->threads[i].name = NULL;
			r->threads[i].thread_obj = 0;
			named--;
		}
	free(listed);
	return named;
}

int py_read_thread_names(struct py_reader *r)
{
	uint64_t dict = threading_dict(r), active;
	int named = 0;

	if (!dict)
		return 0;	/* threading never imported: no names to find */
	active = py_dict_get(r, dict, "_active");
	if (active)
		py_dict_each(r, active, PY_MAX_THREADS, name_cb, &named);
	return named ? keep_listed(r, named) : 0;
}

/* ---- names of threads that have ended: threading._dangling ------------------------------- */

/* What one Thread says of itself: its kernel tid and its name. */
struct thread_attrs {
	int64_t native_id;	/* 0: not set yet (None before its thread ran) or not an int */
	char name[128];
	int seen;		/* attributes found of the two */
};

static int thread_attr_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	struct thread_attrs *a = arg;
	char k[16];

	if (py_str(r, key, k, sizeof(k)))
		return 0;
	if (!strcmp(k, "_native_id")) {
		if (py_long(r, value, &a->native_id) || a->native_id <= 0 ||
		    a->native_id > INT32_MAX)
			a->native_id = 0;
		a->seen++;
	} else if (!strcmp(k, "_name")) {
		if (py_str(r, value, a->name, sizeof(a->name)))
			a->name[0] = 0;
		a->seen++;
	}
	return a->seen == 2;	/* both found: the rest of its attributes are not read */
}

/* The Thread a weak reference of the set points to, 0 when dead or not a reference. */
static uint64_t weakref_target(struct py_reader *r, uint64_t ref)
{
	const char *tn = py_ptr_ok(ref) ? py_type_name(r, ref) : NULL;
	uint64_t obj;

	/* an empty slot (0), the set's dummy (a deleted entry, of its own type), a dead
	 * reference (wr_object is None) or a referent that is no class instance: skipped */
	if (!tn || strcmp(tn, "weakref.ReferenceType") ||
	    py_read_ptr(r, ref + r->L->weakref_object, &obj) || !py_ptr_ok(obj) ||
	    !(py_type_flags(r, obj) & PY_TPFLAGS_HEAPTYPE))
		return 0;
	return obj;
}

/* One Thread of the set: names[i] for the tid it ran as, if that is asked for. A tid that
 * two Threads with different names claim is not named (amb[i]): which one is not known. */
static int dangling_one(struct py_reader *r, uint64_t thread, const pid_t *tids, size_t n,
			char **names, uint8_t *amb)
{
	struct thread_attrs a = {0};

	py_attrs_each(r, thread, 64, thread_attr_cb, &a);
	if (!a.native_id || !a.name[0])
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (tids[i] != (pid_t)a.native_id || amb[i])
			continue;
		if (!names[i]) {
			names[i] = xstrdup(a.name);
			return 1;
		}
		if (strcmp(names[i], a.name)) {
			amb[i] = 1;
			free(names[i]);
			names[i] = NULL;
			return -1;
		}
		return 0;
	}
	return 0;
}

int py_read_dangling_names(struct py_reader *r, const pid_t *tids, size_t n, char **names)
{
	const struct py_layout *L = r->L;
	uint64_t dict, ws, set, mask, table, ent[2 * 64];
	const char *tn;
	size_t threads = 0;
	uint8_t *amb;
	int named = 0;

	if (!n || !(dict = threading_dict(r)) || !(ws = py_dict_get(r, dict, "_dangling")))
		return 0;
	/* a WeakSet keeps its weak references in a set, its attribute `data` */
	set = py_attr(r, ws, "data");
	tn = set ? py_type_name(r, set) : NULL;
	if (!tn || strcmp(tn, "set") || py_read_ptr(r, set + L->set_mask, &mask) ||
	    py_read_ptr(r, set + L->set_table, &table) || mask >= PY_MAX_SET ||
	    ((mask + 1) & mask) || !py_ptr_ok(table))
		return 0;
	amb = xcalloc(n, 1);
	for (uint64_t i = 0; i <= mask && threads < PY_MAX_DANGLING; i += 64) {
		uint64_t k = mask + 1 - i < 64 ? mask + 1 - i : 64;

		if (py_read(r, table + i * 16, ent, k * 16))
			break;
		for (uint64_t e = 0; e < k && threads < PY_MAX_DANGLING; e++) {
			uint64_t thread = weakref_target(r, ent[2 * e]);	/* (key, hash) */

			if (thread) {
				threads++;
				named += dangling_one(r, thread, tids, n, names, amb);
			}
		}
	}
	free(amb);
	/* a walk the read budget cut short may have missed a second Thread of a tid: no names */
	if (r->nreads >= r->max_reads) {
		for (size_t i = 0; i < n; i++) {
			free(names[i]);
			names[i] = NULL;
		}
		named = 0;
	}
	return named;
}
