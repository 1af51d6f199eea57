/* trace_read.c — read a trace in time order, chunk by chunk, in bounded memory (trace.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "trace/trace.h"
#include "lib/util.h"

/* Bytes of the payload and its padding: CLCZ payloads are padded to a multiple of 8. */
static uint64_t chunk_span(const struct chunk_header *ch)
{
	return ch->magic == TRACE_ZCHUNK_MAGIC ? ((uint64_t)ch->len + 7) & ~(uint64_t)7 : ch->len;
}

/* n bytes at off into buf; 0 when they were all there */
static int read_at(struct trace_reader *r, uint64_t off, void *buf, size_t n)
{
	size_t got = 0;

	if (off > r->size || n > r->size - off)
		return -1;
	if (r->mem) {
		memcpy(buf, r->mem + off, n);
		return 0;
	}
	while (got < n) {
		ssize_t k = pread(r->fd, (uint8_t *)buf + got, n - got, off + got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += k;
	}
	return 0;
}

/*
 * Validate the records of one chunk's payload p[0..len) and hand each valid one to take; the
 * others are counted in s when s is not NULL. Records must keep the writers' 8-byte alignment
 * in memory: p is placed at the alignment the payload has in the file.
 */
static void chunk_records(const uint8_t *p, uint32_t len, struct trace_stats *s,
			  void (*take)(void *, const struct ev_hdr *), void *ctx)
{
	struct trace_stats none;
	uint32_t off = 0;

	if (!s)
		s = &none;
	while (off + sizeof(struct ev_hdr) <= len) {
		struct ev_hdr h;
		size_t min;

		memcpy(&h, p + off, sizeof(h));
		if (h.size < sizeof(struct ev_hdr) || h.size > len - off) {
			s->bad_records++;
			return;	/* the rest of the chunk cannot be framed */
		}
		min = ev_min_size(h.type);
		if (!min)
			s->unknown_records++;
		else if (h.size < min)
			s->bad_records++;
		else if (((uintptr_t)(p + off)) % 8)
			s->bad_records++;	/* writers keep 8-byte alignment */
		else if (h.ts >> 62)
			s->bad_records++;	/* CLOCK_MONOTONIC of over 146 years: a forged time
						 * that would turn negative in time arithmetic */
		else
			take(ctx, (const struct ev_hdr *)(p + off));
		off += h.size;
	}
	if (off != len)
		s->bad_records++;
}

/*
 * The records of a chunk as they are in memory: a CLCZ payload (exactly one zstd frame)
 * decompressed into a buffer of its own, a CLCK one read at its file alignment. *start is where
 * the records begin in the returned buffer. NULL when the chunk cannot be read or its frame is
 * not one this writer could have made.
 */
static uint8_t *chunk_bytes(struct trace_reader *r, const struct trace_chunk_ix *c, int in_io,
			    size_t *start, size_t *raw_len)
{
	unsigned long long raw;
	uint8_t *buf;
	size_t fsz, n, pad = c->off % 8;

	if (c->magic == TRACE_CHUNK_MAGIC) {
		buf = xmalloc(c->len + pad + 1);
		if (in_io)
			memcpy(buf + pad, r->io, c->len);
		else if (read_at(r, c->off, buf + pad, c->len)) {
			free(buf);
			return NULL;
		}
		*start = pad;
		*raw_len = c->len;
		return buf;
	}
	GROW(r->io, r->cap_io, (size_t)c->len + 1);
	if (!in_io && read_at(r, c->off, r->io, c->len))
		return NULL;
	raw = ZSTD_getFrameContentSize(r->io, c->len);
	fsz = ZSTD_findFrameCompressedSize(r->io, c->len);
	/* The content size is in the frame header and bounded before anything is allocated: by
	 * what a writer flushes at, and by a ratio 10x what recordings show (at most 11:1), so
	 * that a small hostile file cannot inflate to gigabytes. */
	if (raw == ZSTD_CONTENTSIZE_UNKNOWN || raw == ZSTD_CONTENTSIZE_ERROR ||
	    raw > TRACE_CHUNK_MAX || raw > (unsigned long long)c->len * TRACE_ZCHUNK_RATIO ||
	    ZSTD_isError(fsz) || fsz != c->len)
		return NULL;
	buf = xmalloc(raw ? raw : 1);
	n = ZSTD_decompress(buf, raw, r->io, fsz);
	if (ZSTD_isError(n) || n != raw) {
		free(buf);
		return NULL;
	}
	*start = 0;
	*raw_len = raw;
	return buf;
}

struct span {
	uint64_t first, last;
	size_t n;
	struct trace_reader *r;
};

static void span_take(void *ctx, const struct ev_hdr *h)
{
	struct span *s = ctx;
	struct trace_reader *r = s->r;

	if (!s->n || h->ts < s->first)
		s->first = h->ts;
	if (!s->n || h->ts > s->last)
		s->last = h->ts;
	s->n++;
	if (h->type < 64)
		r->types |= 1ull << h->type;
	if (h->type == EV_META_STATUS)
		r->stats.ended = 1;
	if (h->type < EV_META_TASK || h->type == EV_META_CLOCK) {
		/* the model, fed in time order, keeps a first time of 0 only until the next */
		if (h->ts && (!r->time_first || h->ts < r->time_first))
			r->time_first = h->ts;
		if (h->ts > r->time_last)
			r->time_last = h->ts;
	}
}

/* First pass over one chunk whose header is ch at off: count it, note its records' span. */
static void index_chunk(struct trace_reader *r, const struct chunk_header *ch, uint64_t off,
			size_t *cap)
{
	struct trace_chunk_ix c = {off + sizeof(*ch), 0, 0, ch->magic, ch->len, 0};
	struct span sp = {.r = r};
	size_t start, raw;
	uint8_t *buf;

	GROW(r->io, r->cap_io, (size_t)ch->len + 1);
	if (read_at(r, c.off, r->io, ch->len) || crc32(0, r->io, ch->len) != ch->crc ||
	    !(buf = chunk_bytes(r, &c, 1, &start, &raw))) {
		r->stats.bad_chunks++;
		r->stats.dropped_bytes += sizeof(*ch) + chunk_span(ch);
		return;
	}
	r->stats.chunks++;
	chunk_records(buf + start, raw, &r->stats, span_take, &sp);
	free(buf);
	r->stats.records += sp.n;
	if (!sp.n)
		return;
	c.first_ts = sp.first;
	c.last_ts = sp.last;
	c.seq = r->nix;
	GROW(r->ix, *cap, r->nix + 1);
	r->ix[r->nix++] = c;
}

static int cmp_ix(const void *a, const void *b)
{
	const struct trace_chunk_ix *x = a, *y = b;

	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The first pass: frame every chunk as the writer did, stop where framing is lost. */
static void index_chunks(struct trace_reader *r, uint64_t off)
{
	size_t cap = 0;

	while (off < r->size) {
		struct chunk_header ch;

		if (r->size - off < sizeof(ch) || read_at(r, off, &ch, sizeof(ch))) {
			r->stats.truncated = 1;
			r->stats.dropped_bytes += r->size - off;
			break;
		}
		if ((ch.magic != TRACE_CHUNK_MAGIC && ch.magic != TRACE_ZCHUNK_MAGIC) ||
		    ch.len > (64u << 20)) {
			r->stats.bad_chunks++;
			r->stats.dropped_bytes += r->size - off;
			break;
		}
		if (chunk_span(&ch) > r->size - off - sizeof(ch)) {
			r->stats.truncated = 1;
			r->stats.dropped_bytes += r->size - off;
			break;
		}
		index_chunk(r, &ch, off, &cap);
		off += sizeof(ch) + chunk_span(&ch);
	}
	if (r->nix)
		qsort(r->ix, r->nix, sizeof(*r->ix), cmp_ix);
}

static int open_common(struct trace_reader *r, const char *name)
{
	struct trace_file_header h;

	if (r->size == 0)
		return fail("%s: empty file, not a conlab trace", name);
	if (r->size < sizeof(h) || read_at(r, 0, &h, sizeof(h)) || memcmp(h.magic, TRACE_MAGIC, 8))
		return fail("%s: not a conlab trace (bad magic)", name);
	if (h.version > CLAB_WIRE_VERSION)
		return fail("%s: trace format version %u is newer than this conlab (%u): upgrade conlab",
			    name, h.version, CLAB_WIRE_VERSION);
	if (h.version < 1 || h.header_size < sizeof(h) || h.header_size > r->size)
		return fail("%s: corrupt trace header", name);
	r->version = h.version;
	r->created_real_ns = h.created_real_ns;
	index_chunks(r, h.header_size);
	return 0;
}

int trace_open_mem(struct trace_reader *r, const void *data, size_t size, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->mem = data;
	r->size = size;
	if (open_common(r, name)) {
		trace_close(r);
		return -1;
	}
	return 0;
}

int trace_open(struct trace_reader *r, const char *path)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		trace_close(r);
		return fail("cannot read %s: not a regular file", path);
	}
	r->size = st.st_size;
	if (open_common(r, path)) {
		trace_close(r);
		return -1;
	}
	return 0;
}

/* ---- the merge ---- */

/* Records of one chunk with their place in it: a chunk sorts by (time, place). */
struct rec_pos {
	const struct ev_hdr *rec;
	size_t pos;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec_pos *x = a, *y = b;

	if (x->rec->ts != y->rec->ts)
		return x->rec->ts < y->rec->ts ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

struct collect {
	struct rec_pos *v;
	size_t n, cap;
};

static void collect_take(void *ctx, const struct ev_hdr *h)
{
	struct collect *c = ctx;

	GROW(c->v, c->cap, c->n + 1);
	c->v[c->n] = (struct rec_pos){h, c->n};
	c->n++;
}

/* A cursor over chunk c's records sorted by time; n = 0 when it cannot be read again. */
static struct trace_cursor open_chunk(struct trace_reader *r, const struct trace_chunk_ix *c)
{
	struct trace_cursor cur = {.seq = c->seq};
	struct collect col = {0};
	size_t start, raw;

	cur.buf = chunk_bytes(r, c, 0, &start, &raw);
	if (!cur.buf)
		return cur;
	chunk_records(cur.buf + start, raw, NULL, collect_take, &col);
	qsort(col.v, col.n, sizeof(*col.v), cmp_rec);
	cur.rec = xmalloc((col.n + 1) * sizeof(*cur.rec));
	for (size_t i = 0; i < col.n; i++)
		cur.rec[i] = col.v[i].rec;
	cur.n = col.n;
	free(col.v);
	return cur;
}

static int cur_less(const struct trace_cursor *a, const struct trace_cursor *b)
{
	uint64_t x = a->rec[a->i]->ts, y = b->rec[b->i]->ts;

	return x != y ? x < y : a->seq < b->seq;
}

static void swap_cur(struct trace_cursor *a, struct trace_cursor *b)
{
	struct trace_cursor t = *a;

	*a = *b;
	*b = t;
}

static void sift_down(struct trace_reader *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, k = i;

		if (l < r->nheap && cur_less(&r->heap[l], &r->heap[k]))
			k = l;
		if (l + 1 < r->nheap && cur_less(&r->heap[l + 1], &r->heap[k]))
			k = l + 1;
		if (k == i)
			return;
		swap_cur(&r->heap[i], &r->heap[k]);
		i = k;
	}
}

static void heap_push(struct trace_reader *r, struct trace_cursor c)
{
	size_t i = r->nheap++;

	GROW(r->heap, r->cap_heap, r->nheap);
	r->heap[i] = c;
	while (i && cur_less(&r->heap[i], &r->heap[(i - 1) / 2])) {
		swap_cur(&r->heap[i], &r->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	if (r->nheap > r->open_max)
		r->open_max = r->nheap;
}

static void free_cursor(struct trace_cursor *c)
{
	free(c->buf);
	free(c->rec);
	memset(c, 0, sizeof(*c));
}

/* Step past the record handed out last; a finished chunk is freed on the next call. */
static void step(struct trace_reader *r)
{
	struct trace_cursor *top = &r->heap[0];

	free_cursor(&r->done);
	if (++top->i < top->n) {
		sift_down(r, 0);
		return;
	}
	r->done = *top;
	r->heap[0] = r->heap[--r->nheap];
	if (r->nheap)
		sift_down(r, 0);
}

const struct ev_hdr *trace_next(struct trace_reader *r)
{
	if (r->advance) {
		step(r);
		r->advance = 0;
	}
	/* open every chunk that starts no later than the next record: an earlier record (or an
	 * equal time earlier in the file) may be in it */
	while (r->next_ix < r->nix &&
	       (!r->nheap || r->ix[r->next_ix].first_ts <= r->heap[0].rec[r->heap[0].i]->ts)) {
		struct trace_cursor c = open_chunk(r, &r->ix[r->next_ix++]);

		if (c.n)
			heap_push(r, c);
		else
			free_cursor(&c);	/* read once, not again: the file changed under us */
	}
	if (!r->nheap) {
		free_cursor(&r->done);
		return NULL;
	}
	r->advance = 1;
	r->handed++;
	return r->heap[0].rec[r->heap[0].i];
}

void trace_close(struct trace_reader *r)
{
	for (size_t i = 0; i < r->nheap; i++)
		free_cursor(&r->heap[i]);
	free_cursor(&r->done);
	free(r->heap);
	free(r->ix);
	free(r->io);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
