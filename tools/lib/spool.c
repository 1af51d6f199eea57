/* spool.c — records in memory up to a budget, then in a file: a comparator's sorted runs merged
 * on seal, a grouped spool's runs read in place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/spool.h"
#include "lib/util.h"

/* A file offset must hold a trace's worth of records: true of off_t on x86-64 without
 * _FILE_OFFSET_BITS, and this says so if another build ever makes it 32 bits. */
_Static_assert(sizeof(off_t) >= 8, "spool needs 64-bit file offsets");

#define SPOOL_DEFAULT_BYTES	(32ull << 20)
/* What one pread or pwrite moves: big enough that the calls cost little next to the copying,
 * small enough that a merge of hundreds of runs holds a few MiB. */
#define SPOOL_IO_BYTES		(64u << 10)
/* The first memory buffer: a spool of a few records does not take its whole budget at once. */
#define SPOOL_FIRST_BYTES	(64u << 10)

/* A sorted run in the file: n records from byte off. */
struct run {
	off_t off;
	uint64_t n;
};

/* n records of the sequence, from its record first, at byte off of the file. */
struct segment {
	uint64_t first;
	off_t off;
	uint64_t n;
	uint32_t group;		/* grouped: theirs */
};

struct spool {
	size_t rsize;
	int (*cmp)(const void *, const void *);
	uint32_t (*group)(const void *);	/* or by group, each in the order added */
	uint64_t budget;		/* bytes of records in memory before they go to the file */
	size_t limit;			/* the same in records, at least one */

	unsigned char *mem;		/* records not in the file: [0, mem_n) */
	size_t mem_n, mem_cap;
	unsigned char *spare;		/* grouped: what the counting sort writes into, then
					 * swapped with mem (one allocation, not one a run) */
	size_t spare_cap;

	int fd;				/* the unlinked temporary file; -1 until it is needed */
	char *dir;			/* where it is, for the error lines */
	off_t end;			/* bytes written to it */
	struct run *runs;		/* with a comparator: the sorted runs, in file order */
	size_t nruns, runs_cap;
	/* The file's part of the sequence, in its order. One segment as written, or after the
	 * merge of a comparator's runs; grouped, a segment per group and run, each group's run
	 * after run: a run holds each group's records in the order they came, so the sequence is
	 * read from the runs in place, with no merge to write it out again. */
	struct segment *segs;
	size_t nsegs, segs_cap;

	uint64_t count;			/* records added */
	/* The sequence: records [0, file_n) in the file (segs), the rest in mem. As written,
	 * the file's then memory's; sorted, after the seal all in one or the other. */
	uint64_t file_n;
	int sealed, failed;
	char error[192];		/* what failed first, for the caller's one line */
};

/* The budget from CONLAB_SPOOL_BYTES; unset or not a size ("0" too): the default. */
static uint64_t budget_from_env(void)
{
	uint64_t b = parse_size(getenv("CONLAB_SPOOL_BYTES"));

	return b ? b : SPOOL_DEFAULT_BYTES;
}

/* Records that fit in bytes, at least one and at most most. */
static size_t records_in(const struct spool *s, uint64_t bytes, uint64_t most)
{
	uint64_t n = bytes / (s->rsize ? s->rsize : 1);

	if (n > most)
		n = most;
	return n ? n : 1;
}

struct spool *spool_new_grouped(size_t rsize, uint32_t (*group)(const void *rec))
{
	struct spool *s = spool_new(rsize, NULL);

	s->group = group;
	return s;
}

struct spool *spool_new(size_t rsize, int (*cmp)(const void *, const void *))
{
	struct spool *s = xcalloc(1, sizeof(*s));

	s->rsize = rsize;
	s->cmp = cmp;
	s->fd = -1;
	s->budget = budget_from_env();
	s->limit = records_in(s, s->budget, SIZE_MAX / (rsize ? rsize : 1));
	return s;
}

/* The spool fails for good; the first error is kept, not printed: a report with several
 * spools on one full disk says it once (spool_error). */
static int io_fail(struct spool *s, const char *what, int err)
{
	if (!s->failed)
		snprintf(s->error, sizeof(s->error), "cannot %s a temporary file in %s: %s", what,
			 s->dir ? s->dir : "/tmp", strerror(err));
	s->failed = 1;
	return -1;
}

/* The temporary file, made the first time the records outgrow the budget: unlinked at once
 * so that it goes away with the process however that ends. */
static int open_file(struct spool *s)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int n;

	if (!dir || !*dir)
		dir = "/tmp";
	s->dir = xstrdup(dir);
	n = snprintf(path, sizeof(path), "%s/conlab-spool-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return io_fail(s, "create", ENAMETOOLONG);
	s->fd = mkostemp(path, O_CLOEXEC);
	if (s->fd < 0)
		return io_fail(s, "create", errno);
	unlink(path);
	return 0;
}

/* n bytes of buf at off, however many writes that takes. */
static int write_at(struct spool *s, const void *buf, size_t n, off_t off)
{
	const unsigned char *p = buf;

	while (n) {
		ssize_t k = pwrite(s->fd, p, n, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return io_fail(s, "write", k < 0 ? errno : ENOSPC);
		p += k;
		n -= k;
		off += k;
	}
	return 0;
}

/* n bytes at off into buf; the file is ours, so ending early is an error too. */
static int read_at(struct spool *s, void *buf, size_t n, off_t off)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t k = pread(s->fd, p, n, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return io_fail(s, "read", k < 0 ? errno : EIO);
		p += k;
		n -= k;
		off += k;
	}
	return 0;
}

/* The records in memory in the spool's order: a qsort by the comparator, or a counting sort by
 * group, which keeps each group's records in the order they came and moves each record once
 * (a qsort of records this size sorts pointers, then moves them all again). */
static void sort_mem(struct spool *s)
{
	uint32_t most = 0;
	unsigned char *to;
	size_t *at, cap;

	if (s->mem_n < 2)
		return;
	if (s->cmp) {
		qsort(s->mem, s->mem_n, s->rsize, s->cmp);
		return;
	}
	for (size_t i = 0; i < s->mem_n; i++)
		if (s->group(s->mem + i * s->rsize) > most)
			most = s->group(s->mem + i * s->rsize);
	at = xcalloc((size_t)most + 2, sizeof(*at));
	for (size_t i = 0; i < s->mem_n; i++)
		at[s->group(s->mem + i * s->rsize) + 1]++;
	for (size_t g = 0; g <= most; g++)
		at[g + 1] += at[g];
	if (s->spare_cap < s->mem_cap) {
		free(s->spare);
		s->spare = xmalloc(s->mem_cap * s->rsize);
		s->spare_cap = s->mem_cap;
	}
	to = s->spare;
	for (size_t i = 0; i < s->mem_n; i++) {
		const unsigned char *r = s->mem + i * s->rsize;

		memcpy(to + at[s->group(r)]++ * s->rsize, r, s->rsize);
	}
	s->spare = s->mem;
	s->mem = to;
	cap = s->spare_cap;
	s->spare_cap = s->mem_cap;
	s->mem_cap = cap;
	free(at);
}

static int sorted(const struct spool *s)
{
	return s->cmp || s->group;
}

static void add_segment(struct spool *s, uint64_t first, off_t off, uint64_t n, uint32_t group)
{
	GROW_RAW(s->segs, s->segs_cap, s->nsegs + 1);
	s->segs[s->nsegs++] = (struct segment){ first, off, n, group };
}

/* A grouped run about to be written at the file's end: a segment for each of its groups
 * (their first records are numbered at the seal). */
static void group_segments(struct spool *s)
{
	for (size_t i = 0, j; i < s->mem_n; i = j) {
		uint32_t g = s->group(s->mem + i * s->rsize);

		for (j = i + 1; j < s->mem_n && s->group(s->mem + j * s->rsize) == g; j++)
			;
		add_segment(s, 0, s->end + (off_t)(i * s->rsize), j - i, g);
	}
}

/* The records in memory to the end of the file: sorted as a run when there is a comparator,
 * by group with a segment for each when grouped, as they are when neither (then the file is
 * simply the sequence's beginning). */
static int flush_mem(struct spool *s)
{
	if (s->fd < 0 && open_file(s))
		return -1;
	if (sorted(s))
		sort_mem(s);
	if (s->cmp) {
		GROW_RAW(s->runs, s->runs_cap, s->nruns + 1);
		s->runs[s->nruns++] = (struct run){ s->end, s->mem_n };
	} else if (s->group) {
		group_segments(s);
	}
	if (write_at(s, s->mem, s->mem_n * s->rsize, s->end))
		return -1;
	s->end += (off_t)(s->mem_n * s->rsize);
	s->file_n += s->mem_n;
	s->mem_n = 0;
	return 0;
}

int spool_add(struct spool *s, const void *rec)
{
	if (s->failed)
		return -1;
	if (s->sealed) {
		snprintf(s->error, sizeof(s->error), "internal error: a record added to a sealed spool");
		s->failed = 1;
		return -1;
	}
	/* Full: out to the file only now, so that a spool of exactly the budget stays in memory. */
	if (s->mem_n == s->limit && flush_mem(s))
		return -1;
	if (s->mem_n == s->mem_cap) {
		size_t cap = s->mem_cap * 2;

		if (!cap)
			cap = records_in(s, SPOOL_FIRST_BYTES, s->limit);
		if (cap > s->limit || cap < s->mem_cap)
			cap = s->limit;
		s->mem = xrealloc(s->mem, cap * s->rsize);
		s->mem_cap = cap;
	}
	memcpy(s->mem + s->mem_n * s->rsize, rec, s->rsize);
	s->mem_n++;
	s->count++;
	return 0;
}

/* One run as the merge reads it: a window of records [pos, n) in buf, left more in the file
 * from next. */
struct run_reader {
	unsigned char *buf;
	size_t pos, n;
	off_t next;
	uint64_t left;
};

/* The k-way merge: a binary heap of the runs that have records left, least record on top. */
struct merge {
	struct spool *s;
	struct run_reader *rd;
	size_t *heap, nheap;
	size_t per;			/* records per window, the output's too */
	unsigned char *out;
	size_t out_n;
	off_t out_off;
};

static const void *head(const struct merge *m, size_t r)
{
	return m->rd[r].buf + m->rd[r].pos * m->s->rsize;
}

static int refill(struct merge *m, size_t r)
{
	struct run_reader *rd = &m->rd[r];
	size_t k = rd->left < m->per ? (size_t)rd->left : m->per;

	if (read_at(m->s, rd->buf, k * m->s->rsize, rd->next))
		return -1;
	rd->next += (off_t)(k * m->s->rsize);
	rd->left -= k;
	rd->pos = 0;
	rd->n = k;
	return 0;
}

/* heap places a and b: is a's record the lesser? Equal ones: the earlier run's. */
static int less(const struct merge *m, size_t a, size_t b)
{
	int c = m->s->cmp(head(m, m->heap[a]), head(m, m->heap[b]));

	return c < 0 || (c == 0 && m->heap[a] < m->heap[b]);
}

static void sift_down(struct merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, least = i, t;

		if (l < m->nheap && less(m, l, least))
			least = l;
		if (l + 1 < m->nheap && less(m, l + 1, least))
			least = l + 1;
		if (least == i)
			return;
		t = m->heap[i];
		m->heap[i] = m->heap[least];
		m->heap[least] = t;
		i = least;
	}
}

static int flush_out(struct merge *m)
{
	size_t bytes = m->out_n * m->s->rsize;

	if (write_at(m->s, m->out, bytes, m->out_off))
		return -1;
	m->out_off += (off_t)bytes;
	m->out_n = 0;
	return 0;
}

/* Take the least record to the output and move its run on; 0, or -1 after an I/O error. */
static int merge_step(struct merge *m)
{
	size_t r = m->heap[0];
	struct run_reader *rd = &m->rd[r];

	if (m->out_n == m->per && flush_out(m))
		return -1;
	memcpy(m->out + m->out_n++ * m->s->rsize, head(m, r), m->s->rsize);
	if (++rd->pos == rd->n) {
		if (rd->left) {
			if (refill(m, r))
				return -1;
		} else {
			m->heap[0] = m->heap[--m->nheap];	/* this run is done */
		}
	}
	sift_down(m, 0);
	return 0;
}

/*
 * All the runs into one sorted sequence at the end of the file. Each run and the output get a
 * window of SPOOL_IO_BYTES, less when the runs are so many that the windows together would pass
 * the budget (never less than a record): however long the trace, the merge holds no more than
 * the budget, or a record per run when even that is more.
 */
static int merge_runs(struct spool *s)
{
	struct merge m = { .s = s, .out_off = s->end };
	uint64_t share = s->budget / (s->nruns + 1);
	int ret = 0;

	m.per = records_in(s, share < SPOOL_IO_BYTES ? share : SPOOL_IO_BYTES, SIZE_MAX);
	m.rd = xcalloc(s->nruns, sizeof(*m.rd));
	m.heap = xcalloc(s->nruns, sizeof(*m.heap));
	m.out = xmalloc(m.per * s->rsize);
	for (size_t r = 0; r < s->nruns && !ret; r++) {
		m.rd[r].buf = xmalloc(m.per * s->rsize);
		m.rd[r].next = s->runs[r].off;
		m.rd[r].left = s->runs[r].n;
		ret = refill(&m, r);
		m.heap[m.nheap++] = r;
	}
	for (size_t i = m.nheap / 2; i-- > 0 && !ret;)
		sift_down(&m, i);
	while (m.nheap && !ret)
		ret = merge_step(&m);
	if (!ret)
		ret = flush_out(&m);
	if (!ret) {
		add_segment(s, 0, s->end, s->count, 0);
		/* The runs are read: give their room back (a /tmp on tmpfs is memory). Where the
		 * file system cannot, they stay until spool_free(), which costs only room. */
		(void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, s->end);
		s->end = m.out_off;
	}
	for (size_t r = 0; r < s->nruns; r++)
		free(m.rd[r].buf);
	free(m.rd);
	free(m.heap);
	free(m.out);
	return ret;
}

/* The segments by group, each group's in run order (the order of their offsets). */
static int cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

int spool_seal(struct spool *s)
{
	uint64_t first = 0;

	if (s->failed)
		return -1;
	if (s->sealed)
		return 0;
	if (!sorted(s) || s->fd < 0) {
		/* As written, the file holds the beginning and memory the rest; all in memory, a
		 * sort there is the whole sort. */
		if (sorted(s))
			sort_mem(s);
		if (s->file_n)
			add_segment(s, 0, 0, s->file_n, 0);
		free(s->spare);
		s->spare = NULL;
		s->sealed = 1;
		return 0;
	}
	if (s->mem_n && flush_mem(s))
		return -1;
	free(s->mem);
	free(s->spare);
	s->mem = s->spare = NULL;
	s->mem_cap = s->spare_cap = 0;
	if (s->group) {
		qsort(s->segs, s->nsegs, sizeof(*s->segs), cmp_segment);
		for (size_t k = 0; k < s->nsegs; k++) {
			s->segs[k].first = first;
			first += s->segs[k].n;
		}
	} else if (merge_runs(s)) {	/* at least two runs: the file is made only when a
					 * record comes to a full buffer */
		return -1;
	}
	s->file_n = s->count;
	s->sealed = 1;
	return 0;
}

uint64_t spool_count(const struct spool *s)
{
	return s->count;
}

const char *spool_error(const struct spool *s)
{
	return s && s->failed ? s->error : NULL;
}

int spool_on_disk(const struct spool *s)
{
	return s->fd >= 0;
}

void spool_free(struct spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s->spare);
	free(s->runs);
	free(s->segs);
	free(s->dir);
	free(s);
}

void spool_cursor(struct spool_cursor *c, struct spool *s, uint64_t from, uint64_t to)
{
	*c = (struct spool_cursor){ .s = s };
	if (!s->sealed)
		return;	/* nothing to read yet; a spool that failed: spool_next() yields nothing */
	if (to > s->count)
		to = s->count;
	c->at = from < to ? from : to;
	c->to = to;
}

/* The segment that holds record i of the file's part of the sequence. */
static const struct segment *segment_of(const struct spool *s, uint64_t i)
{
	size_t lo = 0, hi = s->nsegs;	/* the last one whose first is at most i */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	return &s->segs[lo];
}

/* The window from record i, as far as the range and i's segment go. */
static int fill_window(struct spool_cursor *c, uint64_t i)
{
	struct spool *s = c->s;
	const struct segment *g = segment_of(s, i);
	uint64_t end = g->first + g->n, want;

	if (end > c->to)
		end = c->to;
	want = end - i;
	if (!c->buf) {
		c->buf_cap = records_in(s, SPOOL_IO_BYTES, c->to - i);
		c->buf = xmalloc(c->buf_cap * s->rsize);
	}
	if (want > c->buf_cap)
		want = c->buf_cap;
	c->buf_n = 0;
	if (read_at(s, c->buf, want * s->rsize, g->off + (off_t)((i - g->first) * s->rsize)))
		return -1;
	c->buf_first = i;
	c->buf_n = want;
	return 0;
}

const void *spool_next(struct spool_cursor *c)
{
	struct spool *s = c->s;
	uint64_t i = c->at;

	if (i >= c->to || s->failed)
		return NULL;	/* the end, or a read error on this cursor or another */
	c->at++;
	if (i >= s->file_n)
		return s->mem + (i - s->file_n) * s->rsize;
	if ((i < c->buf_first || i - c->buf_first >= c->buf_n) && fill_window(c, i))
		return NULL;	/* the spool failed: every cursor ends */
	return c->buf + (i - c->buf_first) * s->rsize;
}

void spool_cursor_end(struct spool_cursor *c)
{
	free(c->buf);
	c->buf = NULL;
	c->buf_n = c->buf_cap = 0;
}
