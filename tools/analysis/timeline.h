/*
 * timeline.h — the timeline analysis: from the model, one lane per thread (grouped under its
 * process, processes ordered as a tree) holding intervals with resolved reasons, the wakeup
 * arrows (who woke whom, through which object), fork/exec/exit marks and the parallelism
 * series. Pure: no file system, no output; every renderer (text, JSON, Perfetto, HTML) reads
 * this and only formats.
 *
 *	struct timeline tl;
 *	timeline_build(&tl, &model, &opts);
 *	... tl.lanes[i].iv[k], tl.arrows[a], tl.par[p] ...
 *	timeline_free(&tl);
 *
 * Lost events: the part of an interval that lies inside a window where events were lost is
 * not a state we saw; it becomes a TH_UNKNOWN piece flagged TLF_LOST (the model's guess kept
 * in `guess`), and the rest of such an interval keeps IV_UNCERTAIN.
 */
#ifndef CONLAB_TIMELINE_H
#define CONLAB_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "lib/idmap.h"
#include "lib/spool.h"
#include "model/model.h"

#define TLF_LOST 0x4		/* a gap: events were lost here (state TH_UNKNOWN) */
#define TLF_FLOW 0x8		/* blocked: a traced thread's wakeup ended it here (an arrow
				 * with a from_lane ends at its end) */

struct tl_iv {
	uint64_t start, end;	/* absolute ns, clipped to the window */
	uint64_t obj;		/* blocked: futex address, fd, pid waited for */
	uint32_t holder;	/* blocked: lock holder or joined thread, 0 unknown */
	uint32_t waker;		/* blocked: who ended the wait, 0 kernel/timer/unknown */
	int32_t name;		/* blocked: index in timeline.names ("pcq_lock", "fd 3"), -1 none */
	uint16_t cpu;		/* running: on which CPU */
	uint8_t state;		/* enum th_state */
	uint8_t kind;		/* blocked: enum wait_kind */
	uint8_t flags;		/* IV_UNCERTAIN, IV_INFERRED, TLF_LOST */
	uint8_t guess;		/* TLF_LOST: the state the model had carried over the gap */
	uint8_t timed_out;	/* blocked: a timed wait that expired */
	uint8_t pad;
	uint32_t site;		/* blocked: 1 + index in names of the Python code that waited
				 * ("transfer (bank.py:30)", from its Python stack), 0 none */
};

/*
 * The text chart: a lane's time cut into ncell columns over [t0, t1], each column's time by
 * what filled it (tl_class: a state, or for blocked time its wait kind).
 */
#define TL_NCLASSES (TH_NSTATES + WK_NKINDS)

static inline int tl_class(int state, int kind)
{
	return state == TH_BLOCKED ? TH_NSTATES + kind : state;
}

struct tl_cell {
	uint64_t t[TL_NCLASSES];
	uint64_t uncertain, total;
	uint16_t cpu;		/* running: the CPU of a piece that held at least half of it */
};

struct tl_lane {
	uint32_t tid, pid;
	char comm[CLAB_COMM_LEN];
	int proc;		/* index in timeline.procs */
	uint32_t th;		/* its thread: index in model.threads */
	uint64_t born, died;	/* 0: before the trace / alive at the end */
	struct tl_iv *iv;
	size_t n, cap;
	uint64_t iv0;		/* spooled (timeline.sp_iv): its pieces are [iv0, iv0 + n) there */
	uint64_t first, last;	/* its first piece's start, its last one's end */
	/* totals inside the window */
	uint64_t time_in[TH_NSTATES];
	uint64_t blocked_kind[WK_NKINDS];
	uint64_t lost_ns;	/* unknown time that comes from lost events */
	uint32_t wakeups_in, wakeups_out;
	/* its last wait was ended by another thread's exit_group: the process ended under it
	 * (a daemon thread killed while it waited); its wait kind, object name and the exiter */
	uint8_t ended_in_wait;
	uint8_t end_kind;
	int32_t end_name;
	uint32_t end_by;
	/* folded (timeline_fold_finish): no intervals, but the text chart's columns
	 * [cell0, cell0 + ncells), the others empty */
	struct tl_cell *cells;
	int cell0, ncells;
};

struct tl_proc {
	uint32_t pid, ppid;
	char comm[CLAB_COMM_LEN];
	const char *cmdline;	/* the model's, NULL unknown */
	int depth;		/* in the process tree: 0 root */
	int parent;		/* index in procs, -1 root */
	uint64_t born, died;
	int exited, forked;
	int32_t exit_code;	/* wait status */
	size_t first_lane, nlanes;
};

/* A wakeup that ended a wait of a traced thread. */
struct tl_arrow {
	uint64_t ts;
	uint64_t obj;		/* the wakee's wait object */
	uint64_t waker_obj;	/* what the waker was working on (its futex, its fd) */
	uint32_t waker, wakee;	/* waker 0: kernel, timer, interrupt */
	int32_t from_lane, to_lane;	/* -1: not a lane (waker 0 or untraced) */
	int32_t name;		/* the wakee's object name, -1 none */
	uint64_t seq;		/* (model thread index of the wakee << 32) | its wakeups before:
				 * ties in ts keep this order */
	int16_t waker_nr;	/* the waker's syscall, -1 none */
	uint8_t kind;		/* the wakee's wait kind */
	uint8_t flags;		/* IV_UNCERTAIN when the wait was uncertain */
	uint8_t msg;		/* a message: a write on a socket or pipe in another process */
};

/* Futex waits on one object that ended together: a barrier's last arriver waking the others,
 * a broadcast. Consecutive ends at most TL_BURST_GAP_NS apart are one burst. */
#define TL_BURST_GAP_NS 200000

struct tl_burst {
	uint64_t ts, last;	/* first and last end of a wait */
	uint64_t obj;		/* the wakees' wait object */
	uint32_t pid;
	uint32_t waker;		/* the one waker of them all, 0 unknown or several */
	uint32_t wakees;	/* waits that ended */
	int32_t name;		/* the object's name, -1 none */
	uint8_t kind;		/* the wakees' wait kind */
};

enum tl_mark_kind {
	TLM_FORK = 0,		/* a process created (pid = child, other = parent) */
	TLM_THREAD,		/* a thread created (tid = new thread, other = creator) */
	TLM_EXEC,		/* name = the file */
	TLM_EXIT,		/* a thread exited; other = 1 when its process ended */
	TLM_NKINDS
};

struct tl_mark {
	uint64_t ts;
	uint32_t pid, tid, other;
	int32_t name;		/* exec: file name, -1 none */
	int32_t lane;		/* the lane it belongs to, -1 none */
	int32_t code;		/* exit: wait status */
	uint8_t kind;		/* enum tl_mark_kind */
};

/* Wakeups counted by (waker, wakee, kind, object): who woke whom how often. */
struct tl_pair {
	uint32_t waker, wakee;
	int32_t name;
	uint8_t kind;
	uint32_t count;
	uint64_t first_ts, first_ord;	/* its first arrow (ties in count are in that order) */
};

/* The parallelism step function: from ts on, n workload threads are on a CPU. */
struct tl_par {
	uint64_t ts;
	uint32_t n;
};

struct tl_opts {
	uint64_t from_ns, to_ns;	/* relative to the trace's first event; 0 = all */
	int symbolize;			/* name futex addresses from each process's maps */
};

struct timeline {
	uint64_t t0, t1;		/* the window, absolute ns */
	uint64_t trace_t0;		/* the trace's first event */
	struct tl_proc *procs;
	size_t nprocs;
	struct tl_lane *lanes;
	size_t nlanes;
	struct tl_arrow *arrows;	/* folded: NULL, narrows still counts them */
	size_t narrows, cap_arrows;
	struct tl_pair *pairs;		/* folded: the arrows as tl_pairs() counts them */
	size_t npairs;
	struct tl_burst *bursts;	/* in time order */
	size_t nbursts, cap_bursts;
	uint64_t kernel_wakeups;	/* waits ended by the kernel (timer, irq, signal) */
	struct tl_mark *marks;
	size_t nmarks, cap_marks;
	struct tl_par *par;
	size_t npar, cap_par;
	uint32_t max_par;
	uint64_t *par_time;		/* [0..max_par]: ns with that many threads on a CPU */
	uint64_t time_in[TH_NSTATES];	/* over all lanes */
	uint64_t blocked_kind[WK_NKINDS];
	uint64_t lost_ns;
	size_t nintervals;
	char **names;
	size_t nnames, cap_names;
	uint64_t lost;			/* model_lost_total */
	uint64_t anomalies;		/* sum of the model's */
	struct idmap lane_index;	/* tid -> lanes[] (the newest) */
	/* Spooled (timeline_spool_finish, a whole trace of any length): the lanes' pieces, the
	 * arrows, the bursts and the parallelism series are in these, not in the arrays above
	 * (read them through a tl_cursor); sp_records: what Perfetto mirrors of the probe
	 * records, as tl_next_record() gives them. NULL otherwise. */
	struct spool *sp_iv, *sp_arrows, *sp_bursts, *sp_par, *sp_records;
};

/*
 * Reading a timeline's sequences the same way whether they are in its arrays or spooled:
 *
 *	struct tl_cursor c;
 *	tl_cursor_ivs(&c, tl, l);
 *	for (const struct tl_iv *v; (v = tl_next(&c));) ...
 *	tl_cursor_end(&c);
 */
struct tl_cursor {
	const void *arr;	/* in memory: the array, else NULL */
	size_t rsize;
	uint64_t i, n;
	struct spool_cursor sc;
};

void tl_cursor_ivs(struct tl_cursor *c, const struct timeline *tl, const struct tl_lane *l);
void tl_cursor_arrows(struct tl_cursor *c, const struct timeline *tl);
void tl_cursor_bursts(struct tl_cursor *c, const struct timeline *tl);
void tl_cursor_par(struct tl_cursor *c, const struct timeline *tl);
const void *tl_next(struct tl_cursor *c);
void tl_cursor_end(struct tl_cursor *c);
/* What failed when a spool of tl did (what was read from it is cut short), else NULL. */
const char *tl_spool_error(const struct timeline *tl);
/* Perfetto's records: the model's event stream, or the spooled one (m's stream then holds
 * the forks, execs and exits it refers to); tl_next_record() gives them in time order. */
void tl_cursor_records(struct tl_cursor *c, const struct timeline *tl, const struct model *m);
const struct ev_hdr *tl_next_record(struct tl_cursor *c, const struct model *m);

/* From the model and its event stream (the marks: forks, execs, exits). */
int timeline_build(struct timeline *tl, const struct model *m, const struct tl_opts *o);
void timeline_free(struct timeline *tl);

/*
 * What the text chart reads, for a trace of any length: folded as the model closes the
 * intervals (analysis/timeline_fold.c), the same as timeline_build() over the whole window
 * then gives, without the intervals and arrows (the lanes' cells and the pairs instead; the
 * series of parallelism and the bursts are left empty). For a trace without lost events (a
 * report reads one with them whole: keep.whole_if_lost) whose span the model knows up front.
 *
 *	struct timeline_fold *f = timeline_fold_new(ncell);
 *	keep.fold = timeline_fold_hooks(f);      the model owns f from here (model_free)
 *	model_from_file(&m, path, &keep, &st);   keep.history = HIST_NONE suffices
 *	timeline_fold_finish(f, &m, &tl);        then render it as text, timeline_free(&tl)
 *
 * ncell 0: only what the end of the trace says (tl_fold_end, tl_fold_ends: the span check and
 * the threads that ended inside their last wait), for a timeline that draws the intervals
 * itself (timeline_spool.c); timeline_fold_finish() is then not for it.
 */
struct m_fold;
struct timeline_fold;
struct timeline_fold *timeline_fold_new(int ncell);
const struct m_fold *timeline_fold_hooks(struct timeline_fold *f);
/* The timeline fold the model was fed through, or NULL. */
struct timeline_fold *timeline_fold_of(const struct model *m);
/* After model_finish(): once; -1 (and nothing in *tl) when the model lost events or its span
 * was not the one known up front: then nothing was folded right, read the trace whole. */
int timeline_fold_finish(struct timeline_fold *f, const struct model *m, struct timeline *tl);

/*
 * The timeline of a trace of any length, in a window or not, for what draws every interval
 * (JSON, HTML, Perfetto; the text chart of a window): the model hands the intervals over as
 * it closes them and those the window needs go to a spool on disk (analysis/timeline_spool.c);
 * timeline_spool_finish() builds from it what timeline_build() gives, its long sequences
 * spooled in turn (struct timeline's sp_*). The same conditions as the fold: no lost events,
 * the span known up front.
 *
 *	struct timeline_spool *s = timeline_spool_new(types, from_ns, to_ns);
 *	         types: the record types Perfetto mirrors (0: none), which the model's event
 *	         stream must keep but for switches and wakeups; the window as in tl_opts
 *	keep.fold = timeline_spool_hooks(s);      the model owns s from here (model_free)
 *	model_from_file(&m, path, &keep, &st);    keep.history = HIST_NONE
 *	timeline_spool_finish(s, &m, &tl);        render it, then timeline_free(&tl)
 */
struct timeline_spool;
struct timeline_spool *timeline_spool_new(uint64_t records, uint64_t from_ns, uint64_t to_ns);
const struct m_fold *timeline_spool_hooks(struct timeline_spool *s);
struct timeline_spool *timeline_spool_of(const struct model *m);
/* After model_finish(): once; -1 when the fold cannot be used (as timeline_fold_finish():
 * read the trace whole), -2 when a spool failed (a line said why). */
int timeline_spool_finish(struct timeline_spool *s, const struct model *m, struct timeline *tl);

/* Spread piece v over the columns it covers of ncell over [t0, t1]: cells[c - lo] for column c
 * (the caller sized them), its time into t[tl_class] or, when to is given, into to[c - lo]. */
void tl_cells_add(struct tl_cell *cells, int lo, uint64_t *to, int ncell, uint64_t t0,
		  uint64_t t1, const struct tl_iv *v);
/* The columns [*c0, *c1] piece [start, end] covers; *c0 > *c1 none. */
void tl_cells_span(int ncell, uint64_t t0, uint64_t t1, uint64_t start, uint64_t end, int *c0,
		   int *c1);
/* The wakeup pairs, most first (ties: by first arrow): of the arrows or the fold's; freed by
 * the caller. */
struct tl_pair *tl_pairs(const struct timeline *tl, size_t *n);

/* "mutex pcq_lock held by producer (812)", "read fd 3", "sleep", "runnable", "running on
 * CPU 1", "unknown (events lost)": one interval as a sentence fragment. */
const char *tl_describe(const struct timeline *tl, const struct tl_iv *iv, char *buf, size_t n);
/* "mutex", "condvar", ... or the state's name when not blocked */
const char *tl_label(const struct tl_iv *iv);
const char *tl_name(const struct timeline *tl, int32_t idx);	/* "" for -1 */
const char *tl_mark_name(int kind);
/* The lane of a tid (the newest), or -1. */
int tl_lane_of(const struct timeline *tl, uint32_t tid);
/* The id of the flow Perfetto draws from a wakeup of wakee at ts to the end of its wait. */
uint64_t tl_flow_id(uint32_t wakee, uint64_t ts);
/* Average number of threads on a CPU over the window. */
double tl_avg_par(const struct timeline *tl);

/* Renderers (report_timeline.c dispatches): each writes the whole document to out; 0 or -1. */
#include <stdio.h>
struct report_opts;
int timeline_render_text(const struct timeline *tl, const struct model *m,
			 const struct report_opts *o, FILE *out);
/* The text's width, and its lanes' label: the chart has width - label - 1 columns. */
int timeline_text_width(const struct report_opts *o);
#define TL_TEXT_LABEL 22
int timeline_render_json(const struct timeline *tl, const struct model *m, FILE *out);
/* Perfetto also gets the model's event stream as ftrace events (switches, wakeups, ...). */
int timeline_render_perfetto(const struct timeline *tl, const struct model *m, FILE *out);
int timeline_render_html(const struct timeline *tl, const struct model *m, FILE *out);

#endif
