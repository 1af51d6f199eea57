/*
 * model_internal.h — what the model's own files share (model.c, model_meta.c, model_keep.c):
 * finding or making a thread or a process as records name them, what is kept for the report.
 * Not for the layers above.
 */
#ifndef CONLAB_MODEL_INTERNAL_H
#define CONLAB_MODEL_INTERNAL_H

#include "model/model.h"

/* The thread with this tid; a tid seen again after its thread exited is a new thread. */
struct m_thread *model_get_thread(struct model *m, uint32_t tid, uint64_t ts);
struct m_process *model_new_process(struct model *m, uint32_t pid, uint64_t ts);
/* An EV_META_* record (the others are ignored). */
void model_meta_event(struct model *m, const struct ev_hdr *h);

/* What is kept for the report (model_keep.c, struct m_keep): */
/* a copy of h that lives as long as the model */
const void *model_keep_copy(struct model *m, const struct ev_hdr *h);
/* h into the event stream when its type and time are asked for */
void model_keep_stream(struct model *m, const struct ev_hdr *h);
/* where a closed interval v of t goes in its history; NULL: not kept */
struct m_interval *model_history_slot(struct model *m, struct m_thread *t,
				      const struct m_interval *v);
/* where the wakeup e of t (still in its state before it) goes in m->wakeups: an index,
 * m->nwakeups to append, -1 nowhere */
int64_t model_wakeup_slot(const struct model *m, const struct m_thread *t,
			  const struct ev_wakeup *e);
/* does t's futex call returning at ts go into m->futexes? */
int model_keep_futex_call(struct model *m, const struct m_thread *t, uint64_t ts);

#endif
