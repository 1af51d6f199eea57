/*
 * procsyms.h — the symbolizers of a model's processes, made from the maps the trace saved
 * (so they work after the processes are gone), one per process, on first use.
 */
#ifndef CONLAB_PROCSYMS_H
#define CONLAB_PROCSYMS_H

#include <stddef.h>
#include <stdint.h>

struct model;
struct symbolizer;

struct procsyms {
	const struct model *m;
	struct procsym {
		uint32_t pid;
		struct symbolizer *s;	/* NULL: no maps for this process */
	} *v;
	size_t n, cap;
};

void procsyms_init(struct procsyms *x, const struct model *m);
/* The symbolizer of pid, or NULL when the trace has no maps for it. */
struct symbolizer *procsyms_get(struct procsyms *x, uint32_t pid);
/* A global's name at addr in pid ("fork_m[3]"); objsize 0 when unknown. 0, or -1 (buf empty). */
int procsyms_data(struct procsyms *x, uint32_t pid, uint64_t addr, uint64_t objsize, char *buf,
		  size_t n);
void procsyms_free(struct procsyms *x);

#endif
