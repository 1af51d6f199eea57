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
/* The marks, the totals; frees the context. */
void tl_end(struct tl_ctx *c);

#endif
