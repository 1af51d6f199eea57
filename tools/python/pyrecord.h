/*
 * pyrecord.h — what a recording keeps of its CPython processes, read from their memory while
 * they run: each Python thread's name (threading.Thread.name) by kernel tid, as
 * EV_META_THREAD_NAME records, so that every report names `teller-1` and not `python3`.
 *
 * The recorder calls it through struct record_lang (capture/recorder.h). A process is looked
 * at only when its maps change; one that maps no CPython interpreter costs nothing more.
 */
#ifndef CONLAB_PYRECORD_H
#define CONLAB_PYRECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recorder.h"

extern const struct record_lang pyrecord_lang;

/* The names of one process last written, to write only what changed (exposed for tests). */
struct pyrec_name {
	pid_t tid;
	char name[64];
};

struct pyrec_names {
	struct pyrec_name *v;
	size_t n, cap;
};

/* 1 when tid's name is new or differs from the one kept (which is then updated), else 0. */
int pyrec_names_update(struct pyrec_names *ns, pid_t tid, const char *name);
void pyrec_names_free(struct pyrec_names *ns);

#endif
