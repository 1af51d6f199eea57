/* fdnames.c — an fd as a report names it: its description and, for a pipe, the traced
 * process at its other end (see fd_describe in model.h). */
#include <stdio.h>

#include "model/model.h"

/* A pipe's other end: a record of the same pipe inode open in the other direction that holds
 * at ts, in another process or on another fd of this one. */
static const struct m_fd *pipe_peer(const struct model *m, const struct m_fd *me, uint64_t ts,
				    int *others)
{
	const struct fdtable *t = &m->fdt;
	uint16_t want = me->flags & FDF_READ ? FDF_WRITE : FDF_READ;
	const struct m_fd *best = NULL;

	*others = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct m_fd *x = &t->v[i];

		if (x->kind != FDK_PIPE || x->ino != me->ino || (x->pid == me->pid && x->fd == me->fd))
			continue;
		if ((x->flags & (FDF_READ | FDF_WRITE)) != want)
			continue;
		if (fdtable_at(t, x->pid, x->fd, ts) != x)
			continue;	/* closed, or another record of that fd holds then */
		if (!best) {
			best = x;
		} else if (x->pid != best->pid) {
			(*others)++;
			if (best->pid == me->pid)	/* another process is the better answer */
				best = x;
		}
	}
	return best;
}

const char *fd_describe(const struct model *m, uint32_t pid, int64_t fd, uint64_t ts, char *buf,
			size_t n)
{
	const struct m_fd *f = fdtable_at(&m->fdt, pid, fd, ts);
	const struct m_fd *peer;
	const struct m_process *p;
	int others;

	if (!f)
		return NULL;
	if (f->kind != FDK_PIPE || !(f->flags & (FDF_READ | FDF_WRITE)) ||
	    (f->flags & FDF_READ && f->flags & FDF_WRITE) || !(peer = pipe_peer(m, f, ts, &others))) {
		snprintf(buf, n, "%s", f->desc);
		return buf;
	}
	if (peer->pid == pid) {
		snprintf(buf, n, "%s %s fd %d of this process", f->desc,
			 f->flags & FDF_READ ? "from" : "to", peer->fd);
		return buf;
	}
	p = model_process(m, peer->pid);
	snprintf(buf, n, "%s %s %s (pid %u%s)", f->desc, f->flags & FDF_READ ? "from" : "to",
		 p && p->comm[0] ? p->comm : "?", peer->pid, others ? " and others" : "");
	return buf;
}
