/* timeline_procs.c — the timeline's processes as a tree (see timeline.h). */
#include <stdlib.h>
#include <string.h>

#include "analysis/timeline_int.h"
#include "lib/util.h"

/* Processes in tree order (parents before children, depth-first); threads whose process the
 * model never saw get a process entry of their own. */
void tl_build_procs(struct tl_ctx *c)
{
	const struct model *m = c->m;
	struct timeline *tl = c->tl;
	size_t n = 0, cap = m->nprocs + m->nthreads;
	struct tl_proc *all = xcalloc(cap + 1, sizeof(*all));
	int *order = xcalloc(cap + 1, sizeof(int)), *stack = xcalloc(cap + 1, sizeof(int));
	char *done = xcalloc(cap + 1, 1);
	struct idmap pidx = {};
	size_t no = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_process *p = &m->procs[i];
		struct tl_proc *q = &all[n];

		q->pid = p->pid;
		q->ppid = p->ppid;
		memcpy(q->comm, p->comm, CLAB_COMM_LEN);
		q->cmdline = p->cmdline;
		q->born = p->forked ? p->born : 0;
		q->died = p->exited ? p->died : 0;
		q->exited = p->exited;
		q->forked = p->forked;
		q->exit_code = p->exit_code;
		idmap_put(&pidx, p->pid, n);	/* the newest process of a pid wins */
		n++;
	}
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		if (idmap_get(&pidx, t->pid) >= 0)
			continue;
		all[n].pid = t->pid;
		memcpy(all[n].comm, t->comm, CLAB_COMM_LEN);
		idmap_put(&pidx, t->pid, n);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t par = all[i].ppid ? idmap_get(&pidx, all[i].ppid) : -1;

		all[i].parent = par >= 0 && (size_t)par != i ? par : -1;
	}
	/* depth-first from each root; children in creation order */
	for (size_t r = 0; r < n; r++) {
		size_t sp = 0;

		if (all[r].parent >= 0 || done[r])
			continue;
		stack[sp++] = r;
		all[r].depth = 0;
		while (sp) {
			int at = stack[--sp];

			if (done[at])
				continue;
			done[at] = 1;
			order[no++] = at;
			for (size_t k = n; k-- > 0;)
				if (all[k].parent == at && !done[k]) {
					all[k].depth = all[at].depth + 1;
					stack[sp++] = k;
				}
		}
	}
	for (size_t i = 0; i < n; i++)	/* cycles of ppids (pid reuse): still listed */
		if (!done[i])
			order[no++] = i;
	tl->procs = xcalloc(no + 1, sizeof(*tl->procs));
	for (size_t i = 0; i < no; i++) {
		tl->procs[i] = all[order[i]];
		done[order[i]] = 0;
	}
	/* parents as indices in the new order */
	for (size_t i = 0; i < no; i++)
		stack[order[i]] = i;
	for (size_t i = 0; i < no; i++)
		if (tl->procs[i].parent >= 0)
			tl->procs[i].parent = stack[tl->procs[i].parent];
	tl->nprocs = no;
	idmap_free(&pidx);
	free(all);
	free(order);
	free(stack);
	free(done);
}
