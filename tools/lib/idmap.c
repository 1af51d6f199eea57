/* idmap.c — open addressing with linear probing; grows at 50% load. */
#include <stdlib.h>

#include "lib/idmap.h"
#include "lib/util.h"

static size_t slot(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return key & (cap - 1);
}

int64_t idmap_get(const struct idmap *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i])
			return -1;
		if (m->keys[i] == key)
			return m->vals[i] - 1;
	}
}

static void rehash(struct idmap *m, size_t ncap)
{
	struct idmap o = *m;

	m->keys = xcalloc(ncap, sizeof(*m->keys));
	m->vals = xcalloc(ncap, sizeof(*m->vals));
	m->cap = ncap;
	m->n = 0;
	for (size_t i = 0; i < o.cap; i++)
		if (o.vals[i])
			idmap_put(m, o.keys[i], o.vals[i] - 1);
	free(o.keys);
	free(o.vals);
}

void idmap_put(struct idmap *m, uint64_t key, uint32_t idx)
{
	if ((m->n + 1) * 2 > m->cap)
		rehash(m, m->cap ? m->cap * 2 : 64);
	for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i]) {
			m->keys[i] = key;
			m->vals[i] = idx + 1;
			m->n++;
			return;
		}
		if (m->keys[i] == key) {
			m->vals[i] = idx + 1;
			return;
		}
	}
}

void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

uint64_t idmap_str_key(uint64_t h, const char *s)
{
	if (!h)
		h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}
