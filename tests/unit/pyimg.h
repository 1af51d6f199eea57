/*
 * pyimg.h — a memory image for the CPython reader's unit tests: objects and interpreter
 * structures laid out with the 3.11 layout in a buffer, read through img_read as the reader
 * reads a process. on_read, when set, is called before each read (memory that changes while
 * the reader walks it).
 */
#ifndef CONLAB_TEST_PYIMG_H
#define CONLAB_TEST_PYIMG_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "python/pyread.h"

struct img {
	uint8_t *buf;
	uint64_t base;
	size_t size, used;
	const struct py_layout *L;
	uint64_t t_type, t_str, t_bytes, t_code, t_int, t_dict, t_module, t_lock, t_meth;
	void (*on_read)(struct img *m, uint64_t addr);
	void *arg;	/* on_read's */
};

static inline ssize_t img_read(void *ctx, uint64_t addr, void *out, size_t len)
{
	struct img *m = ctx;

	if (m->on_read)
		m->on_read(m, addr);
	if (addr < m->base || addr + len > m->base + m->used)
		return -1;
	memcpy(out, m->buf + (addr - m->base), len);
	return (ssize_t)len;
}

static inline uint64_t alloc(struct img *m, size_t n)
{
	uint64_t a = m->base + m->used;

	m->used += (n + 15) & ~(size_t)15;
	assert_true(m->used <= m->size);
	return a;
}

static inline void put(struct img *m, uint64_t addr, const void *v, size_t n)
{
	memcpy(m->buf + (addr - m->base), v, n);
}

static inline void p64(struct img *m, uint64_t addr, uint64_t v) { put(m, addr, &v, 8); }
static inline void p32(struct img *m, uint64_t addr, uint32_t v) { put(m, addr, &v, 4); }

static inline uint64_t cstr(struct img *m, const char *s)
{
	uint64_t a = alloc(m, strlen(s) + 1);

	put(m, a, s, strlen(s) + 1);
	return a;
}

static inline uint64_t mktype(struct img *m, const char *name, uint64_t flags)
{
	uint64_t t = alloc(m, 0x400);

	p64(m, t + m->L->ob_type, m->t_type);
	p64(m, t + m->L->tp_name, cstr(m, name));
	p64(m, t + m->L->tp_flags, flags);
	return t;
}

static inline uint64_t mkstr(struct img *m, const char *s)
{
	uint64_t o = alloc(m, 48 + strlen(s) + 1);

	p64(m, o + 8, m->t_str);
	p64(m, o + 16, strlen(s));
	p32(m, o + 32, 1 << 2 | 0x20 | 0x40 | 0x80);	/* kind 1, compact, ascii, ready */
	put(m, o + 48, s, strlen(s) + 1);
	return o;
}

static inline uint64_t mkint(struct img *m, uint64_t v)
{
	uint64_t o = alloc(m, 40);
	uint32_t d[3] = { (uint32_t)(v & 0x3fffffff), (uint32_t)(v >> 30 & 0x3fffffff),
			  (uint32_t)(v >> 60) };
	int64_t n = d[2] ? 3 : d[1] ? 2 : d[0] ? 1 : 0;

	p64(m, o + 8, m->t_int);
	p64(m, o + 16, (uint64_t)n);
	put(m, o + 24, d, sizeof(d));
	return o;
}

/* A dict with str keys (or int keys when ikeys): unicode kind unless ikeys (general). */
static inline uint64_t mkdict(struct img *m, int n, const uint64_t *keys, const uint64_t *vals,
		       int general)
{
	uint64_t d = alloc(m, 48), k = alloc(m, 40 + 8 + (size_t)n * 24);
	uint8_t hdr[40] = { 0 };
	int64_t ne = n;

	hdr[9] = 3;	/* 8 bytes of indices */
	hdr[10] = general ? 0 : 1;
	memcpy(hdr + 24, &ne, 8);
	put(m, k, hdr, sizeof(hdr));
	for (int i = 0; i < n; i++) {
		uint64_t e = k + 32 + 8 + (uint64_t)i * (general ? 24 : 16);

		if (general) {
			p64(m, e + 8, keys[i]);
			p64(m, e + 16, vals[i]);
		} else {
			p64(m, e, keys[i]);
			p64(m, e + 8, vals[i]);
		}
	}
	p64(m, d + 8, m->t_dict);
	p64(m, d + 32, k);
	return d;
}

/* An instance of a class with a managed dict holding one attribute. */
static inline uint64_t mkinst(struct img *m, uint64_t type, const char *attr, uint64_t val)
{
	uint64_t o = alloc(m, 64) + 32, key = mkstr(m, attr);

	p64(m, o + 8, type);
	p64(m, o + m->L->managed_dict, mkdict(m, 1, &key, &val, 0));
	return o;
}

static inline uint64_t mkcode(struct img *m, const char *qual, const char *file, int first,
		       const uint8_t *tab, size_t ntab, int nlocals, const char *const *names,
		       int stacksize)
{
	const struct py_layout *L = m->L;
	uint64_t c = alloc(m, L->co_code + 64), t = alloc(m, 32 + ntab), nm;

	p64(m, t + 8, m->t_bytes);
	p64(m, t + 16, ntab);
	put(m, t + 32, tab, ntab);
	nm = alloc(m, 24 + 8 * (size_t)(nlocals ? nlocals : 1));
	p64(m, nm + 16, (uint64_t)nlocals);
	for (int i = 0; i < nlocals; i++)
		p64(m, nm + 24 + 8 * (uint64_t)i, mkstr(m, names[i]));
	p64(m, c + 8, m->t_code);
	p32(m, c + L->co_stacksize, (uint32_t)stacksize);
	p32(m, c + L->co_firstlineno, (uint32_t)first);
	p32(m, c + L->co_nlocalsplus, (uint32_t)nlocals);
	p64(m, c + L->co_localsplusnames, nm);
	p64(m, c + L->co_filename, mkstr(m, file));
	p64(m, c + L->co_qualname, mkstr(m, qual));
	p64(m, c + L->co_linetable, t);
	p32(m, c + L->co_firsttraceable, 0);
	return c;
}

/* A frame at instruction index lasti with its slots (locals then stack). */
static inline uint64_t mkframe(struct img *m, uint64_t code, uint64_t prev, int lasti,
			const uint64_t *slots, int nslots, int stacktop)
{
	const struct py_layout *L = m->L;
	uint64_t f = alloc(m, L->fr_localsplus + 8 * (size_t)(nslots + 8));

	p64(m, f + L->fr_code, code);
	p64(m, f + L->fr_previous, prev);
	p64(m, f + L->fr_prev_instr, code + L->co_code + 2 * (uint64_t)lasti);
	p32(m, f + L->fr_stacktop, (uint32_t)stacktop);
	for (int i = 0; i < nslots; i++)
		p64(m, f + L->fr_localsplus + 8 * (uint64_t)i, slots[i]);
	return f;
}

static inline uint64_t mkthread(struct img *m, uint64_t next, uint64_t frame, uint64_t pthread, pid_t tid)
{
	const struct py_layout *L = m->L;
	uint64_t ts = alloc(m, 256), cf = alloc(m, 32);

	p64(m, cf + L->cf_current_frame, frame);
	p64(m, ts + L->ts_next, next);
	p64(m, ts + L->ts_cframe, cf);
	p64(m, ts + L->ts_thread_id, pthread);
	p64(m, ts + L->ts_native_tid, (uint64_t)tid);
	return ts;
}

static inline uint64_t mkruntime(struct img *m, uint64_t threads, uint64_t modules)
{
	uint64_t rt = alloc(m, 64), in = alloc(m, 0x400);

	p64(m, rt + m->L->rt_interp_head, in);
	p64(m, in + m->L->is_threads_head, threads);
	p64(m, in + m->L->is_modules, modules);
	return rt;
}

static inline struct img *img_new(void)
{
	struct img *m = calloc(1, sizeof(*m));

	m->size = 1 << 20;
	m->buf = calloc(1, m->size);
	m->base = 0x10000000;
	m->L = py_layout_find(0x030b);
	assert_non_null(m->L);
	m->t_type = alloc(m, 0x400);
	p64(m, m->t_type + m->L->ob_type, m->t_type);
	p64(m, m->t_type + m->L->tp_name, cstr(m, "type"));
	m->t_str = mktype(m, "str", 0);
	m->t_bytes = mktype(m, "bytes", 0);
	m->t_code = mktype(m, "code", 0);
	m->t_int = mktype(m, "int", 0);
	m->t_dict = mktype(m, "dict", 0);
	m->t_module = mktype(m, "module", 0);
	m->t_lock = mktype(m, "_thread.lock", 0);
	m->t_meth = mktype(m, "builtin_function_or_method", 0);
	return m;
}

static inline int teardown(void **state)
{
	struct img *m = *state;

	if (m) {
		free(m->buf);
		free(m);
	}
	return 0;
}

static inline uint64_t mkobj(struct img *m, uint64_t type, size_t size)
{
	uint64_t o = alloc(m, size);

	p64(m, o + 8, type);
	return o;
}

static inline void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

#endif
