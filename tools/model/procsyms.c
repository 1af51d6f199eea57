/* procsyms.c — one offline symbolizer per traced process (see procsyms.h). */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/procsyms.h"
#include "model/pystacks.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

void procsyms_init(struct procsyms *x, const struct model *m)
{
	memset(x, 0, sizeof(*x));
	x->m = m;
}

struct symbolizer *procsyms_get(struct procsyms *x, uint32_t pid)
{
	const struct m_process *p;

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].pid == pid)
			return x->v[i].s;
	p = x->m ? model_process(x->m, pid) : NULL;
	GROW(x->v, x->cap, x->n + 1);
	x->v[x->n].pid = pid;
	x->v[x->n].s = p && p->maps.n ? symbolizer__new_maps(&p->maps) : NULL;
	if (x->v[x->n].s)
		model_py_symbols(x->m, pid, x->v[x->n].s);	/* its Python frames' made-up pcs */
	return x->v[x->n++].s;
}

int procsyms_data(struct procsyms *x, uint32_t pid, uint64_t addr, uint64_t objsize, char *buf,
		  size_t n)
{
	struct symbolizer *s = procsyms_get(x, pid);
	int r = -1;

	if (n)
		buf[0] = 0;
	if (s)
		r = objsize ? symbolizer__data_sized(s, addr, objsize, buf, n) :
			      symbolizer__data(s, addr, buf, n);
	if (r && n)
		buf[0] = 0;
	return r ? -1 : 0;
}

void procsyms_free(struct procsyms *x)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].s)
			symbolizer__free(x->v[i].s);
	free(x->v);
	memset(x, 0, sizeof(*x));
}
