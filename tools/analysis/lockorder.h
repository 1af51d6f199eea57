/*
 * lockorder.h — potential deadlocks: cycles in the lock-order graph.
 *
 * Edges "held `from`, then took `to`" come from the lock uprobes (EV_LOCK_EDGE), one per thread
 * and set of other held locks. A cycle of locks is a potential deadlock when one edge can be
 * chosen per hop such that
 *   - every edge is from a different thread (one thread cannot wait on itself in two places:
 *     a cycle of one thread's edges cannot deadlock),
 *   - at every lock the waiter and the holder conflict (read-read does not),
 * and it is *guarded* (listed, not counted) when every such choice has a common gate lock held
 * across all its edges. Trylock acquisitions never make edges, so they never close a cycle.
 * Pure data: no BPF, no /proc.
 */
#ifndef CONLAB_LOCKORDER_H
#define CONLAB_LOCKORDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"

#define LO_MAX_CYCLE 8		/* longest cycle searched (locks) */
/* set by user space (pylockwatch.h): both ends are CPython Locks taken by the interpreter */
#define LO_PY 0x100

struct lo_edge {
	uint64_t from, to;
	uint32_t from_gen, to_gen;
	pid_t tid, pid;
	uint64_t from_ret, to_ret;
	int32_t stack_id;
	uint16_t flags;		/* LEF_*, LO_PY */
	int nheld;
	uint64_t held[LOCK_EDGE_HELD];
};

struct lo_cycle {
	size_t edges[LO_MAX_CYCLE];	/* indices in lockorder.e, in cycle order */
	size_t n;
	int guarded;		/* every choice of edges shares a gate lock */
	uint64_t gate;		/* that lock when guarded */
};

struct lockorder {
	struct lo_edge *e;
	size_t n, cap;
	pid_t *overflow_tids;	/* threads that held more locks than the BPF slots */
	size_t noverflow;
};

void lockorder_init(struct lockorder *lo);
void lockorder_free(struct lockorder *lo);
void lockorder_add(struct lockorder *lo, const struct lo_edge *e);
void lockorder_add_record(struct lockorder *lo, const struct ev_lock_edge *r);
void lockorder_overflow(struct lockorder *lo, pid_t tid);
/* The lock orders (lock A, then lock B, each one instance of its address) that two threads or
 * more both followed, among the edges whose flags have all of `flags`: where a lock order is
 * agreed on rather than one thread's nesting (a thread's own join lock, held while it runs,
 * is under every lock it takes, but no other thread's). */
size_t lockorder_shared(const struct lockorder *lo, uint16_t flags);
/* Every distinct cycle once (deduplicated by the code paths of its edges), smallest first;
 * *out is malloc'd. Returns the count. */
size_t lockorder_cycles(const struct lockorder *lo, struct lo_cycle **out);

#endif
