/*
 * conlab_preload.h — the shared-memory region between `conlab deadlock --locks=preload` and the
 * interposer library build/libconlab-preload.so loaded into the command (LD_PRELOAD).
 *
 * conlab creates the region (a memfd), passes its descriptor in CONLAB_PRELOAD_FD and reads
 * it while the command runs and after it ends. The library writes lock-order edges into an
 * open-addressing hash of CPL_SLOTS slots: a slot is claimed by a compare-and-swap of its key
 * (a hash of from, to, thread, flags and the other held locks), filled, then published by a
 * release store of `ready`. A key already present is the same edge seen again: nothing is
 * written, so the steady state costs a few loads. Nothing is ever removed.
 */
#ifndef CONLAB_PRELOAD_H
#define CONLAB_PRELOAD_H

#include <stdint.h>

#define CPL_MAGIC 0x4c50434cu	/* "CLPL" */
#define CPL_VERSION 1
#define CPL_SLOTS 16384		/* distinct edges kept; more are counted in `dropped` */
#define CPL_HELD 16		/* locks a thread can hold that are tracked */
#define CPL_EDGE_HELD 6		/* other held locks carried by an edge (gate candidates) */
#define CPL_OVERFLOW_TIDS 16
#define CPL_ENV_FD "CONLAB_PRELOAD_FD"

/* flags: the LEF_* values of bpf/events.h, so edges feed lockorder.h unchanged */
#define CPL_FROM_READ 0x1
#define CPL_TO_READ 0x2
#define CPL_FROM_TRY 0x4
#define CPL_HELD_TRUNC 0x8
#define CPL_SEM 0x10
#define CPL_FROM_SEM 0x20

struct cpl_edge {
	uint64_t key;		/* 0: empty; CAS-claimed */
	uint32_t ready;		/* 1 once the fields below are written (release/acquire) */
	uint32_t tid;
	uint32_t pid;
	uint32_t flags;
	uint64_t from, to;
	uint64_t from_ret, to_ret;	/* call sites of the two acquisitions */
	uint32_t nheld, pad;
	uint64_t held[CPL_EDGE_HELD];
};

struct cpl_region {
	uint32_t magic, version;
	uint32_t nslots, attached;	/* attached: processes that mapped it */
	uint64_t edges;			/* slots filled */
	uint64_t dropped;		/* edges not kept: the table was full */
	uint32_t noverflow, pad;
	uint32_t overflow_tids[CPL_OVERFLOW_TIDS];	/* threads that held > CPL_HELD locks */
	struct cpl_edge slot[CPL_SLOTS];
};

#endif
