/*
 * reorder.h — the records of all CPUs back in time order.
 *
 * The BPF probes stage their records per CPU and hand them to the ring buffer a batch at a
 * time (bpf/common.bpf.h), so the ring holds each CPU's records in order but one CPU's batch
 * may come long after another's later records. The source adds every batch it drains, then
 * releases the records stamped before a cut: a time before which every CPU's stage was
 * flushed, so no record older than it can still arrive. Released records go out ordered by
 * time, and records of one batch with the same time (a switch and its Python stack) in the
 * order they were written.
 *
 *	struct reorder ro = {0};
 *	reorder_add(&ro, batch, size);		(for every ring-buffer sample)
 *	reorder_release(&ro, cut, cb, ctx);	(UINT64_MAX: everything held)
 *	reorder_free(&ro);
 */
#ifndef CONLAB_REORDER_H
#define CONLAB_REORDER_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct reorder_rec {
	uint64_t ts;
	uint64_t seq;		/* arrival order: ties keep it */
	size_t off;		/* in buf */
	uint32_t size;
};

struct reorder {
	uint8_t *buf;		/* the held records' bytes */
	size_t len, cap;
	uint8_t *spare;		/* where the records kept by a release are moved */
	size_t cap_spare;
	struct reorder_rec *recs;
	size_t n, cap_recs;
	struct reorder_rec *tmp;	/* the merge's other half */
	size_t cap_tmp;
	size_t *runs;			/* where each sorted run of recs starts */
	size_t cap_runs;
	uint64_t seq;
	uint64_t malformed;	/* batches that did not split into whole records */
	uint64_t last_cut;
	uint64_t late;		/* records released after a cut later than their time */
};

typedef int (*reorder_cb)(void *ctx, const struct ev_hdr *rec, size_t size);

/* Hold the records of one batch (whole records back to back, each as long as its header says);
 * a batch that does not split into whole records is kept up to the first bad one and counted.
 * The time of its newest record. */
uint64_t reorder_add(struct reorder *ro, const void *batch, size_t size);
/* Hand every held record stamped before cut to cb, oldest first; the records it returns. */
size_t reorder_release(struct reorder *ro, uint64_t cut, reorder_cb cb, void *ctx);
void reorder_free(struct reorder *ro);

#endif
