/* model_keep.c — what the model keeps for a report besides its state (struct m_keep): copies
 * of the records it keeps, the event stream in a window, which intervals, wakeups and futex
 * calls go into the history, and the whole trace read through a model chunk by chunk. */
#include <stdlib.h>
#include <string.h>

#include "model/conns.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "trace/trace.h"
#include "lib/util.h"

#define KEPT_BLOCK (1u << 20)

/* A copy of h that lives as long as the model, 8-byte aligned as in the file. */
const void *model_keep_copy(struct model *m, const struct ev_hdr *h)
{
	struct m_kept *k = &m->kept;
	size_t need = ((size_t)h->size + 7) & ~(size_t)7;
	uint8_t *p;

	if (!k->n || k->used + need > KEPT_BLOCK) {
		GROW(k->block, k->cap, k->n + 1);
		k->block[k->n++] = xmalloc(KEPT_BLOCK);
		k->used = 0;
	}
	p = k->block[k->n - 1] + k->used;
	memcpy(p, h, h->size);
	k->used += need;
	return p;
}

/* Keep h in the event stream when the report asked for its type and time. */
void model_keep_stream(struct model *m, const struct ev_hdr *h)
{
	const struct m_keep *k = &m->keep;

	if (h->type >= 64 || !(k->stream_types & M_KEEP_TYPE(h->type)) ||
	    h->ts < m->t_first + k->from_ns || (k->to_ns && h->ts > m->t_first + k->to_ns))
		return;
	GROW_RAW(m->own_stream, m->cap_stream, m->nstream + 1);
	m->own_stream[m->nstream++] = model_keep_copy(m, h);
	m->stream = (const struct ev_hdr *const *)m->own_stream;
}

/* The window's bounds in trace time (history_window). */
static void window_of(const struct model *m, uint64_t *t0, uint64_t *t1)
{
	*t0 = m->t_first + m->keep.from_ns;
	*t1 = m->keep.to_ns ? m->t_first + m->keep.to_ns : UINT64_MAX;
}

/* Where a closed interval goes in t's history: a new slot, the last one (a blocked interval
 * after the window replaces the one before it), or nowhere (NULL). */
struct m_interval *model_history_slot(struct model *m, struct m_thread *t,
				      const struct m_interval *v)
{
	uint64_t t0, t1;

	if ((m->keep.history != HIST_ALL && v->state != TH_BLOCKED) || m->keep.history == HIST_NONE)
		return NULL;
	if (m->keep.history == HIST_MESSAGES && v->wakeup < 0 &&
	    !(t->niv && t->iv[t->niv - 1].wakeup >= 0))
		return NULL;	/* (the one after a message is kept whatever ended it) */
	if (m->keep.history == HIST_LAST_MUTEX) {
		if (v->w.kind == WK_MUTEX)
			t->niv = 0;	/* the waits before it are read no more */
		else if (t->niv && t->iv[t->niv - 1].w.kind != WK_MUTEX)
			return &t->iv[t->niv - 1];
	}
	if (m->keep.history_window) {
		window_of(m, &t0, &t1);
		if (v->end < t0 || (v->start > t1 && v->state != TH_BLOCKED))
			return NULL;
		if (v->start > t1 && t->niv && t->iv[t->niv - 1].start > t1)
			return &t->iv[t->niv - 1];
	}
	GROW_RAW(t->iv, t->cap_iv, t->niv + 1);
	return &t->iv[t->niv++];
}

/* Where the wakeup e of t (still in its state before it) goes in m->wakeups: in the window,
 * and in the modes that keep some intervals only when it ends one of them. An index to
 * write, m->nwakeups to append, -1 not kept. HIST_LAST_MUTEX writes over the wakeup of the
 * mutex wait this one replaces, so the array holds one per thread (in no time order). */
int64_t model_wakeup_slot(const struct model *m, const struct m_thread *t,
			  const struct ev_wakeup *e)
{
	uint64_t t0, t1;
	int keep = 1;

	if (m->keep.history_window) {
		window_of(m, &t0, &t1);
		keep = e->hdr.ts >= t0 && e->hdr.ts <= t1;
	}
	if (m->keep.history != HIST_ALL)
		keep = keep && t->state == TH_BLOCKED &&
		       (m->keep.history != HIST_LAST_MUTEX || t->wait.kind == WK_MUTEX);
	if (m->keep.message_wakeups_only)
		keep = keep && e->waker_tid && conn_write_syscall(e->waker_nr);
	if (!keep)
		return -1;
	if (m->keep.history == HIST_NONE)
		return m->nwakeups ? 0 : (int64_t)m->nwakeups;
	if (m->keep.history == HIST_LAST_MUTEX && t->niv && t->iv[0].w.kind == WK_MUTEX &&
	    t->iv[0].wakeup >= 0)
		return t->iv[0].wakeup;
	return (int64_t)m->nwakeups;
}

/* history_window: the calls in it and each thread's first after it. */
int model_keep_futex_call(struct model *m, const struct m_thread *t, uint64_t ts)
{
	uint64_t t0, t1, idx = t - m->threads;

	if (!m->keep.history_window)
		return 1;
	window_of(m, &t0, &t1);
	if (ts < t0)
		return 0;
	if (ts <= t1)
		return 1;
	if (idmap_get(&m->late_futex, idx) >= 0)
		return 0;
	idmap_put(&m->late_futex, idx, 1);
	return 1;
}

int model_from_file(struct model *m, const char *path, const struct m_keep *keep,
		    struct trace_stats *stats)
{
	struct trace_reader r;
	const struct ev_hdr *h;

	model_init(m);
	if (trace_open(&r, path)) {
		if (keep && keep->fold && keep->fold->release)
			keep->fold->release(keep->fold->ctx);
		return -1;
	}
	if (keep)
		m->keep = *keep;
	m->span_first = r.time_first;
	m->span_last = r.time_last;
	m->span_types = r.types;
	while ((h = trace_next(&r))) {
		int again = h->type < 64 && (m->keep.whole_if_types & M_KEEP_TYPE(h->type));

		if (!again) {
			model_event(m, h);
			again = m->keep.whole_if_lost && m->nlosses;
		}
		if (again) {
			/* the report needs the whole history: start again keeping everything, and
			 * of the event stream what it asked for */
			struct m_keep whole = m_keep_whole(&m->keep);

			trace_close(&r);
			model_free(m);
			return model_from_file(m, path, &whole, stats);
		}
	}
	*stats = r.stats;
	trace_close(&r);
	model_finish(m, 0);
	return 0;
}
