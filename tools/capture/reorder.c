/* reorder.c — the records of all CPUs back in time order (reorder.h). */
#include <stdlib.h>
#include <string.h>

#include "capture/reorder.h"
#include "lib/util.h"

uint64_t reorder_add(struct reorder *ro, const void *batch, size_t size)
{
	const uint8_t *p = batch;
	uint64_t newest = 0;
	size_t off = 0;

	GROW_RAW(ro->buf, ro->cap, ro->len + size);
	while (off + sizeof(struct ev_hdr) <= size) {
		struct ev_hdr h;
		struct reorder_rec *r;

		memcpy(&h, p + off, sizeof(h));
		if (h.size < sizeof(h) || h.size > size - off)
			break;
		memcpy(ro->buf + ro->len, p + off, h.size);
		GROW(ro->recs, ro->cap_recs, ro->n + 1);
		r = &ro->recs[ro->n++];
		r->ts = h.ts;
		r->seq = ro->seq++;
		r->off = ro->len;
		r->size = h.size;
		ro->len += h.size;
		off += h.size;
		if (h.ts > newest)
			newest = h.ts;
	}
	if (off != size)
		ro->malformed++;
	return newest;
}

static int by_time(const void *a, const void *b)
{
	const struct reorder_rec *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t reorder_release(struct reorder *ro, uint64_t cut, reorder_cb cb, void *ctx)
{
	size_t k = 0, kept = 0, len = 0;

	qsort(ro->recs, ro->n, sizeof(*ro->recs), by_time);
	while (k < ro->n && ro->recs[k].ts < cut) {
		const struct reorder_rec *r = &ro->recs[k++];

		if (r->ts < ro->last_cut)
			ro->late++;
		cb(ctx, (const void *)(ro->buf + r->off), r->size);
	}
	/* what stays: moved to the front, in time order (so the bytes' order is theirs too) */
	uint8_t *rest = k < ro->n ? xmalloc(ro->len) : NULL;

	for (size_t i = k; i < ro->n; i++) {
		struct reorder_rec *r = &ro->recs[i];

		memcpy(rest + len, ro->buf + r->off, r->size);
		r->off = len;
		len += r->size;
		ro->recs[kept++] = *r;
	}
	if (rest) {
		memcpy(ro->buf, rest, len);
		free(rest);
	}
	ro->n = kept;
	ro->len = len;
	if (cut > ro->last_cut && cut != UINT64_MAX)
		ro->last_cut = cut;
	return k;
}

void reorder_free(struct reorder *ro)
{
	free(ro->buf);
	free(ro->recs);
	memset(ro, 0, sizeof(*ro));
}
