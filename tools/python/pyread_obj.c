// SPDX-License-Identifier: GPL-2.0
/*
 * pyread_obj.c — CPython objects read from another process: str, int, types, dicts and
 * instance attributes (3.11 layouts, see pyread_layout.c).
 *
 * Nothing read is trusted: sizes are capped before they size a read, pointers are checked
 * before they are followed, and a failed read is an answer ("not known"), not an error that
 * stops the whole walk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyread.h"
#include "python/pyread_int.h"
#include "lib/util.h"

void py_partial(struct py_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->partial)
		return;
	r->partial = 1;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

int py_read(struct py_reader *r, uint64_t addr, void *buf, size_t len)
{
	if (r->nreads >= r->max_reads) {
		py_partial(r, "stopped after %zu memory reads", r->nreads);
		return -1;
	}
	r->nreads++;
	if (!addr || addr + len < addr)
		return -1;
	return r->read(r->ctx, addr, buf, len) == (ssize_t)len ? 0 : -1;
}

int py_read_ptr(struct py_reader *r, uint64_t addr, uint64_t *out)
{
	*out = 0;
	return py_read(r, addr, out, sizeof(*out));
}

int py_ptr_ok(uint64_t p)
{
	/* x86-64 user space, and objects are 8-byte aligned by pymalloc and malloc */
	return p >= 4096 && p < 0x800000000000ull && !(p & 7);
}

/* UCS-1/2/4 to UTF-8, n includes the NUL. */
static void ucs_to_utf8(const uint8_t *src, size_t len, int kind, char *buf, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint32_t c = kind == 1 ? src[i] : kind == 2 ? ((const uint16_t *)src)[i] :
			     ((const uint32_t *)src)[i];
		char tmp[4];
		size_t k;

		if (c < 0x80) {
			tmp[0] = (char)c;
			k = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xc0 | c >> 6);
			tmp[1] = (char)(0x80 | (c & 0x3f));
			k = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xe0 | c >> 12);
			tmp[1] = (char)(0x80 | (c >> 6 & 0x3f));
			tmp[2] = (char)(0x80 | (c & 0x3f));
			k = 3;
		} else {
			tmp[0] = (char)(0xf0 | (c >> 18 & 7));
			tmp[1] = (char)(0x80 | (c >> 12 & 0x3f));
			tmp[2] = (char)(0x80 | (c >> 6 & 0x3f));
			tmp[3] = (char)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (o + k + 1 > n)
			break;
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = 0;
}

int py_str(struct py_reader *r, uint64_t obj, char *buf, size_t n)
{
	const struct py_layout *L = r->L;
	uint8_t raw[1024], head[128];
	size_t got = 4096 - (obj & 4095);
	uint64_t len;
	uint32_t state;
	int kind;

	if (!n)
		return -1;
	buf[0] = 0;
	/* the header and, for a short name, its text in one read (never past the page the
	 * object starts on, which is mapped if the object is) */
	if (got > sizeof(head))
		got = sizeof(head);
	if (got < L->str_ascii_data)
		got = L->str_ascii_data;	/* the header itself is part of the object */
	if (!py_ptr_ok(obj))
		return -1;
	if (py_read(r, obj, head, got) &&
	    (got == L->str_ascii_data || py_read(r, obj, head, got = L->str_ascii_data)))
		return -1;
	memcpy(&len, head + L->var_size, 8);
	memcpy(&state, head + L->str_state, 4);
	kind = state >> 2 & 7;
	/* compact (bit 5) and ready (bit 7): every str made at run time in 3.11 */
	if (!(state & 0x20) || !(state & 0x80) || (kind != 1 && kind != 2 && kind != 4) ||
	    len > 1u << 20)
		return -1;
	if (state & 0x40) {	/* ASCII: one byte a character, right after the header */
		size_t k = len < n - 1 ? len : n - 1;

		if (L->str_ascii_data + k <= got)
			memcpy(buf, head + L->str_ascii_data, k);
		else if (py_read(r, obj + L->str_ascii_data, buf, k))
			return -1;
		buf[k] = 0;
		return 0;
	}
	if (len * kind > sizeof(raw))
		len = sizeof(raw) / kind;
	if (py_read(r, obj + L->str_compact_data, raw, len * kind))
		return -1;
	ucs_to_utf8(raw, len, kind, buf, n);
	return 0;
}

struct py_type {
	uint64_t addr;
	uint64_t flags;
	int64_t dictoffset;
	uint64_t cached_keys;
	char name[48];
	int ok;
};

static const struct py_type *type_info(struct py_reader *r, uint64_t type)
{
	const struct py_layout *L = r->L;
	struct py_type *t;
	uint64_t name;

	for (size_t i = 0; i < r->ntypes; i++)
		if (r->types[i].addr == type)
			return r->types[i].ok ? &r->types[i] : NULL;
	if (r->ntypes >= 4096)
		return NULL;	/* garbage would otherwise grow this without end */
	GROW(r->types, r->cap_types, r->ntypes + 1);
	t = &r->types[r->ntypes++];
	memset(t, 0, sizeof(*t));
	t->addr = type;
	if (!py_ptr_ok(type) || py_read_ptr(r, type + L->tp_name, &name) || !name ||
	    py_read(r, type + L->tp_flags, &t->flags, 8) ||
	    py_read(r, type + L->tp_dictoffset, &t->dictoffset, 8))
		return NULL;
	/* tp_name may sit at the end of a page: read what fits in it */
	{
		size_t want = sizeof(t->name) - 1, room = 4096 - (name & 4095);

		if (py_read(r, name, t->name, want < room ? want : room))
			return NULL;
		t->name[sizeof(t->name) - 1] = 0;
		for (char *c = t->name; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				return NULL;
		if (!t->name[0])
			return NULL;
	}
	if (t->flags & L->tpflags_managed_dict)
		py_read_ptr(r, type + L->ht_cached_keys, &t->cached_keys);
	t->ok = 1;
	return t;
}

uint64_t py_type_of(struct py_reader *r, uint64_t obj)
{
	/* an object keeps its type while we look: remember the last ones asked about */
	size_t slot = (size_t)((obj >> 4) * 0x9e3779b97f4a7c15ull >> 54) % PY_OBJ_CACHE;
	uint64_t type;

	if (!py_ptr_ok(obj))
		return 0;
	if (r->obj_cache[slot][0] == obj)
		return r->obj_cache[slot][1];
	if (py_read_ptr(r, obj + r->L->ob_type, &type) || !py_ptr_ok(type))
		return 0;
	r->obj_cache[slot][0] = obj;
	r->obj_cache[slot][1] = type;
	return type;
}

const char *py_type_name(struct py_reader *r, uint64_t obj)
{
	const struct py_type *t = type_info(r, py_type_of(r, obj));

	return t ? t->name : NULL;
}

uint64_t py_type_flags(struct py_reader *r, uint64_t obj)
{
	const struct py_type *t = type_info(r, py_type_of(r, obj));

	return t ? t->flags : 0;
}

int py_long(struct py_reader *r, uint64_t obj, int64_t *out)
{
	const char *tn = py_type_name(r, obj);
	int64_t size;
	uint32_t d[3] = { 0 };
	uint64_t v = 0;
	int64_t nd;

	if (!tn || (strcmp(tn, "int") && strcmp(tn, "bool")) ||
	    py_read(r, obj + r->L->var_size, &size, 8))
		return -1;
	nd = size < 0 ? -size : size;
	if (nd > 3 || (nd && py_read(r, obj + r->L->long_digits, d, (size_t)nd * 4)))
		return -1;
	for (int64_t i = nd - 1; i >= 0; i--)	/* 30-bit digits, least significant first */
		v = v << 30 | (d[i] & 0x3fffffff);
	*out = size < 0 ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* The entries of a dict keys object; values from a split table when values is not 0. */
static int keys_each(struct py_reader *r, uint64_t keys, uint64_t values, size_t max,
		     py_dict_fn fn, void *arg)
{
	const struct py_layout *L = r->L;
	uint8_t hdr[40];
	uint64_t buf[3 * 64], vals[64];
	int64_t nentries;
	size_t esz, seen = 0;
	uint64_t entries;
	int kind;

	if (!py_ptr_ok(keys) || py_read(r, keys, hdr, sizeof(hdr)))
		return -1;
	kind = hdr[L->dk_kind];
	memcpy(&nentries, hdr + L->dk_nentries, 8);
	if (hdr[L->dk_log2_index_bytes] > 40 || kind > 2 || nentries < 0 || nentries > 1 << 24)
		return -1;
	esz = kind == 0 ? 24 : 16;	/* general entries keep the hash */
	entries = keys + L->dk_indices + (1ull << hdr[L->dk_log2_index_bytes]);
	for (int64_t i = 0; i < nentries && seen < max; i += 64) {
		size_t k = (size_t)(nentries - i < 64 ? nentries - i : 64);

		if (py_read(r, entries + (uint64_t)i * esz, buf, k * esz) ||
		    (values && py_read(r, values + (uint64_t)i * 8, vals, k * 8)))
			return -1;
		for (size_t e = 0; e < k && seen < max; e++) {
			const uint64_t *ent = (const uint64_t *)((const uint8_t *)buf + e * esz);
			uint64_t key = kind == 0 ? ent[1] : ent[0];
			uint64_t val = values ? vals[e] : kind == 0 ? ent[2] : ent[1];

			if (!key || !val)
				continue;	/* a deleted entry */
			seen++;
			if (fn(r, key, val, arg))
				return (int)seen;
		}
	}
	return (int)seen;
}

int py_dict_each(struct py_reader *r, uint64_t dict, size_t max, py_dict_fn fn, void *arg)
{
	uint64_t keys, values;

	if (!py_ptr_ok(dict) || py_read_ptr(r, dict + r->L->dict_keys, &keys) ||
	    py_read_ptr(r, dict + r->L->dict_values, &values))
		return -1;
	return keys_each(r, keys, values, max, fn, arg);
}

struct get_arg {
	const char *key;
	uint64_t value;
};

static int get_cb(struct py_reader *r, uint64_t key, uint64_t value, void *arg)
{
	struct get_arg *g = arg;
	char name[128];

	if (py_str(r, key, name, sizeof(name)) || strcmp(name, g->key))
		return 0;
	g->value = value;
	return 1;
}

uint64_t py_dict_get(struct py_reader *r, uint64_t dict, const char *key)
{
	struct get_arg g = { key, 0 };

	py_dict_each(r, dict, 1u << 16, get_cb, &g);
	return g.value;
}

int py_attrs_each(struct py_reader *r, uint64_t obj, size_t max, py_dict_fn fn, void *arg)
{
	const struct py_layout *L = r->L;
	const struct py_type *t = type_info(r, py_type_of(r, obj));
	uint64_t dict = 0, values = 0;

	if (!t)
		return -1;
	if (t->flags & L->tpflags_managed_dict) {
		/* 3.11: a dict pointer before the object, or (while no __dict__ was asked for)
		 * a values array whose keys are shared by the class */
		if (py_read_ptr(r, obj + L->managed_dict, &dict))
			return -1;
		if (dict)
			return py_dict_each(r, dict, max, fn, arg);
		if (py_read_ptr(r, obj + L->managed_values, &values) || !values)
			return -1;
		return keys_each(r, t->cached_keys, values, max, fn, arg);
	}
	if (t->dictoffset <= 0 || t->dictoffset > 1 << 16 ||
	    py_read_ptr(r, obj + (uint64_t)t->dictoffset, &dict) || !dict)
		return -1;
	return py_dict_each(r, dict, max, fn, arg);
}

uint64_t py_attr(struct py_reader *r, uint64_t obj, const char *name)
{
	struct get_arg g = { name, 0 };

	py_attrs_each(r, obj, 256, get_cb, &g);
	return g.value;
}

void py_types_free(struct py_reader *r)
{
	free(r->types);
	r->types = NULL;
	r->ntypes = r->cap_types = 0;
}
