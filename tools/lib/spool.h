/*
 * spool.h — a long sequence of fixed-size records that a report writes once and reads back
 * later, in the order it was written or sorted: in memory up to a budget, beyond it in an
 * unlinked temporary file (so what a report of a long trace holds does not grow with it).
 *
 *	struct spool *s = spool_new(sizeof(struct rec), cmp_rec);	// cmp NULL: as written
 *	spool_add(s, &r); ...
 *	if (spool_seal(s)) ... error ...
 *	struct spool_cursor c;
 *	spool_cursor(&c, s, 0, spool_count(s));
 *	for (const struct rec *r; (r = spool_next(&c));) ...
 *	spool_cursor_end(&c);
 *	spool_free(s);
 *
 * Sorting: the records in memory are sorted (qsort) and, once over the budget, written out as
 * a sorted run; spool_seal() merges the runs into one sorted sequence in the same file. The
 * comparator must order every two distinct records (break ties with a sequence number): the
 * order of records it calls equal is not kept. A grouped spool's runs are not merged: each
 * holds each group's records in the order added, and a cursor reads a group's part of one run
 * after another's.
 *
 * The budget per spool is CONLAB_SPOOL_BYTES (bytes; "64M" forms too), 32 MiB when unset; the
 * file goes into $TMPDIR, else /tmp. Errors (no room on the disk, no temporary directory) are
 * returned as -1 and kept for the caller to say (spool_error): a report with several spools
 * on one full disk says it once. A cursor on a spool that failed yields nothing.
 */
#ifndef CONLAB_SPOOL_H
#define CONLAB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

struct spool *spool_new(size_t rsize, int (*cmp)(const void *, const void *));
/* Sealed by group (a small integer, such as an index: the sort counts records per group up to
 * the largest), the records of one group in the order they were added: a counting sort per
 * run, cheaper than a comparator's when only that order matters. */
struct spool *spool_new_grouped(size_t rsize, uint32_t (*group)(const void *rec));
/* Append one record of rsize bytes; 0, -1 after an error (then every later call fails). */
int spool_add(struct spool *s, const void *rec);
/* No more records: sort them (a spool with a comparator); then they can be read. 0 or -1. */
int spool_seal(struct spool *s);
uint64_t spool_count(const struct spool *s);
/* After an error, what failed ("cannot write a temporary file in /tmp: No space left on
 * device"), else NULL (s NULL too): a cursor that ended early on one looks like one at its
 * end, so a reader asks this when it is done. */
const char *spool_error(const struct spool *s);
/* 1 when some records went to the file (for tests and the benchmarks' notes). */
int spool_on_disk(const struct spool *s);
void spool_free(struct spool *s);

/* Reads records [from, to) of a sealed spool in order; several cursors may read one spool at
 * once. Records returned stay valid until the next spool_next() on the same cursor. */
struct spool_cursor {
	struct spool *s;
	uint64_t at, to;		/* the next record's index, the end */
	unsigned char *buf;		/* a window of the file: records [buf_first, buf_first + buf_n) */
	uint64_t buf_first;
	size_t buf_n, buf_cap;
};

void spool_cursor(struct spool_cursor *c, struct spool *s, uint64_t from, uint64_t to);
const void *spool_next(struct spool_cursor *c);
void spool_cursor_end(struct spool_cursor *c);

#endif
