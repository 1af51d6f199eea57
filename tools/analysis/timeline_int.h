/*
 * timeline_int.h — what timeline.c (the whole build) and timeline_fold.c (the text chart
 * folded as the intervals close) share: the building context, names, lanes, the end.
 */
#ifndef CONLAB_TIMELINE_INT_H
#define CONLAB_TIMELINE_INT_H

#include "analysis/timeline.h"
#include "model/procsyms.h"

/* Building state: caches that do not outlive the build. */
struct tl_ctx {
	struct timeline *tl;
	const struct model *m;
	const struct tl_opts *o;
	struct idmap name_index;	/* string hash -> names[] */
	struct procsyms syms;		/* a symbolizer per process, from the trace's maps */
	struct idmap *addr_names;	/* per process: address -> names[] */
	/* where a lane's pieces go (timeline_spool.c), NULL: its array */
	void (*piece)(struct tl_ctx *c, struct tl_lane *l, const struct tl_iv *p);
	void *piece_arg;
};

int32_t tl_intern(struct tl_ctx *c, const char *s);
/* The kind a wait of process pid is drawn and counted as: a sem_t wait in a CPython process is
 * a Python Lock's (threading.Lock and RLock are semaphores underneath; threading's Condition
 * and join waits have their own kinds from the model), a lock as contention counts it. */
int tl_wait_kind(const struct model *m, uint32_t pid, int kind);
/* What a blocked interval waits on, named in process proc's terms at ts (fds). */
int32_t tl_wait_name(struct tl_ctx *c, int proc, const struct m_wait *w, uint64_t ts);
/* Processes in tree order (parents before children, depth-first); threads whose process the
 * model never saw get a process entry of their own. */
void tl_build_procs(struct tl_ctx *c);
/* The window from o, the processes; -1 with a line on an empty window. */
int tl_begin(struct tl_ctx *c, struct timeline *tl, const struct model *m, const struct tl_opts *o);
/* A lane for each thread that fill() gives a piece in the window (it returns how many), in
 * process order, the leader first. */
void tl_build_lanes(struct tl_ctx *c, size_t (*fill)(struct tl_ctx *c, struct tl_lane *l,
						      const struct m_thread *t, void *arg),
		    void *arg);
/* The thread's last wait ended with the end of its process (a daemon thread killed while it
 * waited): note it on lane l. */
void tl_ended_in_wait(struct tl_ctx *c, struct tl_lane *l, const struct m_interval *iv,
		      uint32_t by);
/* A wait woken by the kernel: did the thread die in it (its exit record, or its futex call's
 * return, the first of its tid at or after the wait's end, when recorded)? */
int tl_killed_in_call(const struct m_thread *t, const struct m_futex *f,
		      const struct m_interval *iv);
/* p counted into the pairs v (idx: theirs by key), its first arrow the earliest of both's */
void tl_pair_add(struct tl_pair **v, size_t *n, size_t *cap, struct idmap *idx,
		 const struct tl_pair *p);
/* Most first, ties by first arrow. */
void tl_pairs_sort(struct tl_pair *v, size_t n);
/* One model interval of lane l's thread, clipped to the window and cut where events were lost,
 * into l's pieces (and its totals). */
void tl_add_interval(struct tl_ctx *c, struct tl_lane *l, const struct m_interval *iv, int proc);
/* The arrow of t's blocked interval iv (drawn in lane to) that wakeup wk from a thread ended,
 * counted on the lanes; seq: (t's model index << 32) | t's arrows before it. */
void tl_make_arrow(struct tl_ctx *c, const struct m_thread *t, int to,
		   const struct m_interval *iv, const struct m_wakeup *wk, uint64_t seq,
		   struct tl_arrow *a);
/* By time, then seq. */
int tl_cmp_arrow(const void *a, const void *b);

/* The parallelism step function (timeline.par, or spooled into out) and the time at each count
 * of threads on a CPU (par_time, max_par), from the running pieces' starts (+1) and ends (-1)
 * fed in order of time, then change (ends first). */
struct tl_par_sweep {
	struct timeline *tl;
	struct spool *out;
	int64_t cur;
	uint64_t last, at;	/* time counted up to; the instant being fed */
	struct tl_par step;	/* the last step, not in the series yet */
	size_t cap_time;
	int open, err;
};
void tl_par_begin(struct tl_par_sweep *w, struct timeline *tl, struct spool *out);
void tl_par_event(struct tl_par_sweep *w, uint64_t ts, int64_t delta);
int tl_par_end(struct tl_par_sweep *w);	/* -1: the spool failed */

/* The end of a futex wait in lane `lane` (its k-th piece), to group into bursts. */
struct tl_wait_end {
	uint64_t ts, obj;
	uint32_t pid, waker;
	int32_t name;
	uint32_t lane;
	uint64_t k;
	uint8_t kind;
};
/* By time, then lane and piece: the order timeline_build() meets them in. */
int tl_cmp_wait_end(const void *a, const void *b);
/* Is piece iv of lane l a wait whose end a burst counts? */
int tl_burst_wait(const struct tl_lane *l, const struct tl_iv *iv, uint64_t t1);
/* The bursts (timeline.bursts, or spooled into out: then the working set is the bursts that may
 * still grow), from the wait ends fed in tl_cmp_wait_end order. */
struct tl_bursts {
	struct timeline *tl;
	struct spool *out;
	struct tl_burst *b;
	size_t n, cap, added;
	int err;
};
void tl_bursts_begin(struct tl_bursts *u, struct timeline *tl, struct spool *out);
void tl_bursts_add(struct tl_bursts *u, const struct tl_wait_end *e);
int tl_bursts_end(struct tl_bursts *u);	/* -1: the spool failed */

/* A record of timeline.sp_records as an event record (timeline_spool.c). */
const struct ev_hdr *tl_spooled_record(const void *slot, const struct model *m);
/* The end of the trace's intervals when the fold's model can be used (its span was the one
 * known up front, no events lost), else 0. */
struct timeline_fold;
uint64_t tl_fold_end(const struct timeline_fold *f, const struct model *m);
/* Which lanes' threads ended inside their last wait whose wakeup is in the window (after
 * their pieces: the names of those waits are numbered as timeline_build() numbers them). */
void tl_fold_ends(struct timeline_fold *f, struct tl_ctx *c);
/* The marks, the totals; frees the context. */
void tl_end(struct tl_ctx *c);

#endif
