/*
 * conlab_preload.h — the shared-memory region between conlab and the interposer library
 * build/libconlab-preload.so loaded into the command (LD_PRELOAD) by `--locks=preload`.
 *
 * conlab creates the region (a memfd), passes its descriptor in CONLAB_PRELOAD_FD and reads
 * it at every poll while the command runs, and once more after it ends. The library maps
 * `size` bytes of it and writes:
 *
 * - Lock-order edges, into an open-addressing hash of CPL_SLOTS slots: a slot is claimed by a
 *   compare-and-swap of its key (a hash of from, to, thread, flags and the other held locks),
 *   filled, then published by a release store of `ready`. A key already present is the same
 *   edge seen again: nothing is written, so the steady state costs a few loads. Nothing is
 *   ever removed. Each new edge's slot is also appended to `log` (index claimed by a fetch-add
 *   of `nlog`, stamped after the claim, published by a release store of slot + 1), so conlab
 *   reads the new edges in order without scanning the table.
 * - With `nevents` > 0 (`record --locks`, `contention --locks`), one record per lock call into
 *   the ring `ev` (`nevents` slots, a power of two): a slot is claimed by a compare-and-swap
 *   of `ev_head` while it is less than `nevents` ahead of `ev_tail`, stamped after the claim,
 *   and published by a release store of its `seq` (index + 1). conlab reads published slots
 *   in order and stores `ev_tail`. A writer that finds the ring full yields until conlab has
 *   read, as a probe slows its thread, so that a tight loop of lock calls is recorded whole;
 *   but if `ev_tail` does not move for 0.5 s (conlab stopped or gone), it notes that tail in
 *   `ev_stalled` and counts the record in `ev_lost`, and so does every writer after it, at
 *   once, until conlab reads again. `closed`: conlab has stopped reading for good. So that
 *   the ring can stay small (in the cache) and still keep up with a lock-bound loop, the
 *   first writer to find it half full sets `ev_wake` and wakes conlab from its wait on it.
 *
 * Stamping after the claim is what lets conlab order these records with the kernel's: a slot
 * claimed but not yet published when conlab reads (its writer preempted in between) was
 * claimed after conlab's previous read, so its time is later than that read's, and conlab
 * holds back the records of every source from there until it is published.
 */
#ifndef CONLAB_PRELOAD_H
#define CONLAB_PRELOAD_H

#include <stdint.h>

#define CPL_MAGIC 0x4c50434cu	/* "CLPL" */
#define CPL_VERSION 2
#define CPL_SLOTS 16384		/* distinct edges kept; more are counted in `dropped` */
#define CPL_HELD 16		/* locks a thread can hold that are tracked */
#define CPL_EDGE_HELD 6		/* other held locks carried by an edge (gate candidates) */
#define CPL_OVERFLOW_TIDS 16
#define CPL_ENV_FD "CONLAB_PRELOAD_FD"

/* cpl_event.op: the LOCK_OP_* values of bpf/events.h */
#define CPL_OP_ACQUIRE 1
#define CPL_OP_RELEASE 2
#define CPL_OP_TRY_FAIL 3

/* flags: the LEF_* values of bpf/events.h, so edges feed lockorder.h unchanged */
#define CPL_FROM_READ 0x1
#define CPL_TO_READ 0x2
#define CPL_FROM_TRY 0x4
#define CPL_HELD_TRUNC 0x8
#define CPL_SEM 0x10
#define CPL_FROM_SEM 0x20

struct cpl_edge {
	uint64_t key;		/* 0: empty; CAS-claimed */
	uint64_t ts;		/* CLOCK_MONOTONIC ns, first seen */
	uint32_t ready;		/* 1 once the fields below are written (release/acquire) */
	uint32_t tid;
	uint32_t pid;
	uint32_t flags;
	uint64_t from, to;
	uint64_t from_ret, to_ret;	/* call sites of the two acquisitions */
	uint32_t nheld, pad;
	uint64_t held[CPL_EDGE_HELD];
};

/* One lock call (`nevents` > 0): the fields of an EV_LOCK record (bpf/events.h). */
struct cpl_event {
	uint64_t seq;		/* index + 1 once written (release/acquire) */
	uint64_t ts;		/* CLOCK_MONOTONIC ns */
	uint64_t addr;		/* the lock */
	uint64_t ret;		/* the caller's return address */
	uint32_t tid;
	uint16_t op;		/* LOCK_OP_* */
	int16_t rv;		/* a failed trylock's result */
};

struct cpl_region {
	uint32_t magic, version;
	uint32_t nslots, attached;	/* attached: processes that mapped it */
	uint64_t size;			/* bytes, the event ring included */
	uint64_t edges;			/* slots filled */
	uint64_t dropped;		/* edges not kept: the table was full */
	uint32_t noverflow, nevents;
	uint32_t overflow_tids[CPL_OVERFLOW_TIDS];	/* threads that held > CPL_HELD locks */
	uint64_t nlog;			/* entries of log claimed */
	/* the ring's indices, each on its own cache line: writers and the reader apart */
	uint64_t ev_head __attribute__((aligned(64)));
	uint64_t ev_lost;
	uint64_t ev_stalled;		/* tail + 1 at which a writer gave up waiting */
	uint32_t closed;		/* conlab has stopped reading: write nothing */
	uint64_t ev_tail __attribute__((aligned(64)));
	uint32_t ev_wake;		/* futex word: 1 once a writer found the ring half full */
	struct cpl_edge slot[CPL_SLOTS] __attribute__((aligned(64)));
	uint32_t log[CPL_SLOTS];	/* slot + 1 of each new edge in the order claimed; 0: not yet */
	struct cpl_event ev[];		/* nevents */
};

#endif
