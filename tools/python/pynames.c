// SPDX-License-Identifier: GPL-2.0
/*
 * pynames.c — the expression that reaches an object from a frame (see pynames.h): a local, a
 * global, an attribute or item one step inside one, or an attribute of such an item.
 */
#include <stdio.h>
#include <string.h>

#include "python/pynames.h"
#include "python/pyread.h"

#define MAX_SEARCH 64		/* attributes or items looked at per object */
#define MAX_GLOBALS 1024

static int hit(const struct py_namer *nm, uint64_t value, uint64_t target)
{
	return nm->is_target ? nm->is_target(nm->ctx, value, target) : value == target;
}

/* A frame's locals, to name a subscript the way the code wrote it: shelves[dst], not
 * shelves['b'], when the local dst holds 'b'. */
struct frame_locals {
	const struct py_frame *fr;
	const uint64_t *slots;
	int n;
};

struct search {
	const struct py_namer *nm;
	uint64_t target;
	const char *prefix;
	char *out;
	size_t n;
	int found;
	int deeper;			/* items may be instances with the target as an attribute */
	const struct frame_locals *fl;	/* subscripts by local name where one holds the key */
};

/* The local of s->fl that holds the key (the object key, or the int idx when key is 0). */
static const char *local_holding(struct search *s, uint64_t key, long idx)
{
	struct py_reader *r = s->nm->r;
	char a[96], b[96];
	int64_t v;

	for (int i = 0; s->fl && i < s->fl->n; i++) {
		uint64_t x = s->fl->slots[i];

		if (!py_ptr_ok(x))
			continue;
		if ((key && x == key) ||
		    (!key && !py_long(r, x, &v) && v == idx) ||
		    (key && !py_str(r, x, a, sizeof(a)) && !py_str(r, key, b, sizeof(b)) &&
		     !strcmp(a, b)))
			return py_local_name(r, s->fl->fr->code, i);
	}
	return NULL;
}

/* "[dst]", "['b']" or "[1]" for an item's key (an object) or list index (key 0). */
static int subscript(struct search *s, uint64_t key, long idx, char *buf, size_t n)
{
	const char *local = local_holding(s, key, idx);
	char name[96];
	int64_t i;

	if (local)
		snprintf(buf, n, "[%s]", local);
	else if (!key)
		snprintf(buf, n, "[%ld]", idx);
	else if (!py_str(s->nm->r, key, name, sizeof(name)))
		snprintf(buf, n, "['%s']", name);
	else if (!py_long(s->nm->r, key, &i))
		snprintf(buf, n, "[%ld]", (long)i);
	else
		return -1;
	return 0;
}

static int attr_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	struct search *s = arg;
	char name[96];

	if (s->found || !hit(s->nm, value, s->target) || py_str(r, key, name, sizeof(name)))
		return s->found;
	snprintf(s->out, s->n, "%s.%s", s->prefix, name);
	return s->found = 1;
}

/* One item of a container: the target itself, or (one step more) an attribute of it. */
static int item(struct search *s, uint64_t value, uint64_t key, long idx)
{
	struct py_reader *r = s->nm->r;
	char sub[112], path[256];

	if (s->found || !py_ptr_ok(value) || subscript(s, key, idx, sub, sizeof(sub)))
		return s->found;
	if (hit(s->nm, value, s->target)) {
		snprintf(s->out, s->n, "%s%s", s->prefix, sub);
		return s->found = 1;
	}
	if (s->deeper && (py_type_flags(r, value) & PY_TPFLAGS_HEAPTYPE)) {
		struct search in = *s;

		snprintf(path, sizeof(path), "%s%s", s->prefix, sub);
		in.prefix = path;
		in.deeper = 0;
		py_attrs_each(r, value, MAX_SEARCH, attr_cb, &in);
		s->found = in.found;
	}
	return s->found;
}

static int dictval_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	(void)r;
	return item(arg, value, key, 0);
}

/*
 * Is target inside obj: an attribute, an item of a list, tuple or dict, or an attribute of
 * such an item (shelves['b'].guard)? fl: the frame whose locals name subscripts, or NULL.
 */
static int inside(const struct py_namer *nm, uint64_t obj, const char *name,
		  const struct frame_locals *fl, char *out, size_t n)
{
	struct py_reader *r = nm->r;
	struct search s = { nm, nm->target, name, out, n, 0, 1, fl };
	const char *tn = py_type_name(r, obj);
	uint64_t items[MAX_SEARCH], arr = 0;
	int64_t size = 0;

	if (!tn)
		return 0;
	if (!strcmp(tn, "list") || !strcmp(tn, "tuple")) {
		int list = tn[0] == 'l';

		if (py_read(r, obj + r->L->var_size, &size, 8) || size <= 0)
			return 0;
		if (size > MAX_SEARCH)
			size = MAX_SEARCH;
		if (list && (py_read_ptr(r, obj + r->L->list_items, &arr) || !py_ptr_ok(arr)))
			return 0;
		if (py_read(r, list ? arr : obj + r->L->tuple_items, items, (size_t)size * 8))
			return 0;
		for (int64_t i = 0; i < size && !item(&s, items[i], 0, (long)i); i++)
			;
		return s.found;
	}
	if (!strcmp(tn, "dict")) {
		py_dict_each(r, obj, MAX_SEARCH, dictval_cb, &s);
		return s.found;
	}
	if (py_type_flags(r, obj) & PY_TPFLAGS_HEAPTYPE)
		py_attrs_each(r, obj, MAX_SEARCH, attr_cb, &s);
	return s.found;
}

struct gsearch {
	const struct py_namer *nm;
	int deep;
	const struct frame_locals *fl;
	char *out;
	size_t n;
	int found;
};

static int global_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	struct gsearch *s = arg;
	char name[96];

	if (py_str(r, key, name, sizeof(name)) || name[0] == '_')
		return 0;	/* module dunders and private helpers are not how programs name */
	if (!s->deep && hit(s->nm, value, s->nm->target)) {
		snprintf(s->out, s->n, "%s", name);
		s->found = 1;
	} else if (s->deep && inside(s->nm, value, name, s->fl, s->out, s->n)) {
		s->found = 1;
	}
	return s->found;
}

/* Names in a globals dict, then one step inside each: 0 when found, -1. */
static int dict_search(const struct py_namer *nm, uint64_t dict, const struct frame_locals *fl,
		       char *out, size_t n)
{
	for (int deep = 0; deep < 2; deep++) {
		struct gsearch s = { nm, deep, fl, out, n, 0 };

		py_dict_each(nm->r, dict, MAX_GLOBALS, global_cb, &s);
		if (s.found)
			return 0;
	}
	return -1;
}

int py_name_in_dict(const struct py_namer *nm, uint64_t dict, char *out, size_t n)
{
	return dict_search(nm, dict, NULL, out, n);
}

int py_name_in(const struct py_namer *nm, const struct py_frame *fr, int where, char *out,
	       size_t n)
{
	struct py_reader *r = nm->r;
	uint64_t target = nm->target;
	uint64_t slots[PY_MAX_SLOTS], globals = 0;
	int nl = 0, ns = py_frame_slots(r, fr, slots, PY_MAX_SLOTS, &nl);
	struct frame_locals fl = { fr, slots, nl < ns ? nl : ns };
	const struct frame_locals *by = where & PY_BY_LOCALS ? &fl : NULL;

	for (int i = 0; i < fl.n; i++) {
		const char *tn = py_ptr_ok(slots[i]) ? py_type_name(r, slots[i]) : NULL;

		if (tn && !strcmp(tn, "cell"))	/* a variable a closure shares */
			py_read_ptr(r, slots[i] + r->L->cell_ref, &slots[i]);
	}
	for (int deep = 0; deep < 2 && (where & PY_IN_LOCALS); deep++)
		for (int i = 0; i < fl.n; i++) {
			const char *name = py_local_name(r, fr->code, i);

			if (!name || !py_ptr_ok(slots[i]))
				continue;
			if (!deep && slots[i] == target) {
				snprintf(out, n, "%s", name);
				return 1;
			}
			if (deep && inside(nm, slots[i], name, by, out, n))
				return 1;
		}
	if (!(where & PY_IN_GLOBALS) || py_read_ptr(r, fr->addr + r->L->fr_globals, &globals) ||
	    !py_ptr_ok(globals))
		return 0;
	return !dict_search(nm, globals, by, out, n);
}

int py_name_object(const struct py_namer *nm, const struct py_frame *fr, char *out, size_t n,
		   char *local, size_t nl)
{
	int g = py_name_in(nm, fr, PY_IN_GLOBALS, out, n);

	local[0] = 0;
	if (!py_name_in(nm, fr, PY_IN_LOCALS | PY_BY_LOCALS, local, nl) &&
	    !(g && py_name_in(nm, fr, PY_IN_GLOBALS | PY_BY_LOCALS, local, nl)))
		return g;
	if (!g)
		snprintf(out, n, "%s", local);
	if (!strcmp(out, local))
		local[0] = 0;
	return 1;
}
