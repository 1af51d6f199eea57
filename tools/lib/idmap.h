/* idmap.h — an open-addressing hash from a 64-bit key to a 32-bit index (tids, addresses). */
#ifndef CONLAB_IDMAP_H
#define CONLAB_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t *keys;
	uint32_t *vals;		/* index + 1; 0 = empty slot */
	size_t cap, n;
};

/* index or -1 */
int64_t idmap_get(const struct idmap *m, uint64_t key);
void idmap_put(struct idmap *m, uint64_t key, uint32_t idx);
void idmap_free(struct idmap *m);
/* FNV-1a of s, continued from h (0 starts a new hash): strings as keys. */
uint64_t idmap_str_key(uint64_t h, const char *s);

#endif
