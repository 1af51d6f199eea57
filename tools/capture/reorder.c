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
		GROW_RAW(ro->recs, ro->cap_recs, ro->n + 1);
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

static int before(const struct reorder_rec *x, const struct reorder_rec *y)
{
	return x->ts < y->ts || (x->ts == y->ts && x->seq < y->seq);
}

static void merge(const struct reorder_rec *src, size_t lo, size_t mid, size_t hi,
		  struct reorder_rec *dst)
{
	size_t i = lo, j = mid, k = lo;

	while (i < mid && j < hi)
		dst[k++] = before(&src[j], &src[i]) ? src[j++] : src[i++];
	while (i < mid)
		dst[k++] = src[i++];
	while (j < hi)
		dst[k++] = src[j++];
}

/*
 * In time order. Every batch comes sorted (a stage's records are written one after the other,
 * each stamped as it is claimed) and what was held is sorted already, so the records are a
 * few sorted runs: merge them pairwise, n log(runs) rather than n log n.
 */
static void sort_held(struct reorder *ro)
{
	size_t n = ro->n, nr = 0;
	struct reorder_rec *src = ro->recs, *dst, *t;

	if (n < 2)
		return;
	GROW_RAW(ro->runs, ro->cap_runs, n + 1);
	ro->runs[nr++] = 0;
	for (size_t i = 1; i < n; i++)
		if (before(&ro->recs[i], &ro->recs[i - 1]))
			ro->runs[nr++] = i;
	if (nr == 1)
		return;
	GROW_RAW(ro->tmp, ro->cap_tmp, n);
	dst = ro->tmp;
	ro->runs[nr] = n;
	while (nr > 1) {
		size_t w = 0;

		for (size_t r = 0; r < nr; r += 2) {
			size_t lo = ro->runs[r], mid = ro->runs[r + 1];

			if (r + 1 == nr)	/* the odd one out: copied as it is */
				memcpy(dst + lo, src + lo, (mid - lo) * sizeof(*src));
			else
				merge(src, lo, mid, ro->runs[r + 2], dst);
			ro->runs[w++] = lo;
		}
		ro->runs[w] = n;
		nr = w;
		t = src;
		src = dst;
		dst = t;
	}
	if (src != ro->recs) {	/* the sorted half becomes recs */
		size_t c = ro->cap_recs;

		ro->tmp = ro->recs;
		ro->recs = src;
		ro->cap_recs = ro->cap_tmp;
		ro->cap_tmp = c;
	}
}

size_t reorder_release(struct reorder *ro, uint64_t cut, reorder_cb cb, void *ctx)
{
	size_t k = 0, kept = 0, len = 0;

	sort_held(ro);
	while (k < ro->n && ro->recs[k].ts < cut) {
		const struct reorder_rec *r = &ro->recs[k++];

		if (r->ts < ro->last_cut)
			ro->late++;
		cb(ctx, (const void *)(ro->buf + r->off), r->size);
	}
	/* what stays: moved into the spare buffer, which becomes buf, in time order */
	GROW_RAW(ro->spare, ro->cap_spare, ro->len);
	for (size_t i = k; i < ro->n; i++) {
		struct reorder_rec *r = &ro->recs[i];

		memcpy(ro->spare + len, ro->buf + r->off, r->size);
		r->off = len;
		len += r->size;
		ro->recs[kept++] = *r;
	}
	uint8_t *b = ro->buf;
	size_t c = ro->cap;

	ro->buf = ro->spare;
	ro->cap = ro->cap_spare;
	ro->spare = b;
	ro->cap_spare = c;
	ro->n = kept;
	ro->len = len;
	if (cut > ro->last_cut && cut != UINT64_MAX)
		ro->last_cut = cut;
	return k;
}

void reorder_free(struct reorder *ro)
{
	free(ro->buf);
	free(ro->spare);
	free(ro->recs);
	free(ro->tmp);
	free(ro->runs);
	memset(ro, 0, sizeof(*ro));
}
