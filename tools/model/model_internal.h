/*
 * model_internal.h — what the model's own files share (model.c, model_meta.c): finding or
 * making a thread or a process as records name them. Not for the layers above.
 */
#ifndef CONLAB_MODEL_INTERNAL_H
#define CONLAB_MODEL_INTERNAL_H

#include "model/model.h"

/* The thread with this tid; a tid seen again after its thread exited is a new thread. */
struct m_thread *model_get_thread(struct model *m, uint32_t tid, uint64_t ts);
struct m_process *model_new_process(struct model *m, uint32_t pid, uint64_t ts);
/* An EV_META_* record (the others are ignored). */
void model_meta_event(struct model *m, const struct ev_hdr *h);

#endif
