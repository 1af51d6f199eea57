/* fdtable.c — what each fd was, by time (see fdtable.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fdtable.h"
#include "lib/util.h"

void fdtable_add(struct fdtable *t, const struct ev_hdr *h)
{
	const struct ev_meta_fd *e = (const void *)h;
	size_t n = h->size > sizeof(*e) ? h->size - sizeof(*e) : 0;
	const char *s = (const char *)(e + 1);
	struct m_fd *f;

	GROW(t->v, t->cap, t->n + 1);
	f = &t->v[t->n];
	f->ts = h->ts;
	f->ino = e->ino;
	f->pid = h->tid;
	f->fd = e->fd;
	f->seq = (uint32_t)t->n;
	f->kind = e->kind < FDK_NKINDS ? e->kind : FDK_OTHER;
	f->flags = e->flags;
	f->desc = strndup(s, strnlen(s, n));	/* bounded: the tail need not hold a NUL */
	if (!f->desc)
		f->desc = xstrdup("");
	t->n++;
	t->sorted = 0;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct m_fd *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void fdtable_finish(struct fdtable *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_fd);
	t->sorted = 1;
}

void fdtable_free(struct fdtable *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].desc);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Of the records of one (pid, fd) in time order, the one that holds at ts. */
static const struct m_fd *pick(const struct m_fd *const *r, size_t n, uint64_t ts)
{
	const struct m_fd *before = NULL, *after = NULL;

	for (size_t i = 0; i < n; i++) {
		if (r[i]->ts <= ts)
			before = r[i];
		else if (!after)
			after = r[i];
	}
	if (before && before->kind != FDK_CLOSED)
		return before;
	if (after && after->kind != FDK_CLOSED)
		return after;
	return NULL;
}

const struct m_fd *fdtable_at(const struct fdtable *t, uint32_t pid, int64_t fd, uint64_t ts)
{
	const struct m_fd *buf[64], **r = buf;
	const struct m_fd *res;
	size_t n = 0, cap = 64, lo = 0, hi = t->n;

	if (fd < 0 || fd > INT32_MAX)
		return NULL;
	if (t->sorted) {
		/* the first record of (pid, fd) */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const struct m_fd *x = &t->v[mid];

			if (x->pid < pid || (x->pid == pid && x->fd < fd))
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = lo;
		while (hi < t->n && t->v[hi].pid == pid && t->v[hi].fd == fd)
			hi++;
		n = hi - lo;
		if (!n)
			return NULL;
		if (n > cap)
			r = xmalloc(n * sizeof(*r));
		for (size_t i = 0; i < n; i++)
			r[i] = &t->v[lo + i];
	} else {
		/* while the model is fed (live use): in arrival order, which is time order */
		for (size_t i = 0; i < t->n; i++) {
			if (t->v[i].pid != pid || t->v[i].fd != fd)
				continue;
			if (n == cap) {
				const struct m_fd **nr = xmalloc(cap * 2 * sizeof(*nr));

				memcpy(nr, r, n * sizeof(*r));
				if (r != buf)
					free(r);
				r = nr;
				cap *= 2;
			}
			r[n++] = &t->v[i];
		}
	}
	res = pick(r, n, ts);
	if (r != buf)
		free(r);
	return res;
}

const char *fd_kind_name(int kind)
{
	static const char *n[FDK_NKINDS] = {
		"closed", "file", "device", "pipe", "tcp", "udp", "unix", "socket", "eventfd",
		"timerfd", "epoll", "signalfd", "inotify", "io_uring", "anon", "other",
	};

	return kind >= 0 && kind < FDK_NKINDS ? n[kind] : "other";
}
