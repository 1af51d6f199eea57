/*
 * model_meta.c — what the recorder's metadata records tell the model: names and parents of
 * the threads found at the start, their runtime's names (Python threads), command lines, mappings, stacks, loss counters, the clock
 * pair and how the recording ended.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/model_internal.h"
#include "model/pystacks.h"
#include "lib/util.h"

static void on_meta_task(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_task *e = (const void *)h;
	struct m_thread *t = model_get_thread(m, h->tid, h->ts);
	struct m_process *p = model_process(m, e->pid);

	t->pid = e->pid;
	memcpy(t->comm, e->comm, CLAB_COMM_LEN);
	t->comm[CLAB_COMM_LEN - 1] = 0;
	if (!p) {
		p = model_new_process(m, e->pid, h->ts);
		p->ppid = e->ppid;
	}
	if (h->tid == e->pid) {
		t->is_leader = 1;
		memcpy(p->comm, t->comm, CLAB_COMM_LEN);
		p->ppid = e->ppid;
	}
}

static void on_meta_cmdline(struct model *m, const struct ev_hdr *h)
{
	size_t n = h->size - sizeof(struct ev_meta_cmdline);
	const char *s = (const char *)h + sizeof(struct ev_meta_cmdline);
	struct m_process *p = model_process(m, h->tid);
	char *c;

	if (!p)
		p = model_new_process(m, h->tid, h->ts);
	c = xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = 0;
	/* NUL-separated args, padded with NULs: join with spaces, trim the padding */
	while (n > 0 && c[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n; i++)
		if (c[i] == 0)
			c[i] = ' ';
	free(p->cmdline);
	p->cmdline = c;
}

static void on_meta_maps(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_maps *e = (const void *)h;
	struct m_process *p = model_process(m, h->tid);
	size_t n = h->size - sizeof(*e);
	struct map_entry me = {};
	char *path;

	if (!p)
		p = model_new_process(m, h->tid, h->ts);
	if (h->type == EV_META_MAPS_RESET) {
		procmaps_clear(&p->maps);
		return;
	}
	path = xmalloc(n + 1);
	memcpy(path, (const char *)h + sizeof(*e), n);
	path[n] = 0;
	me.start = e->start;
	me.end = e->end;
	me.pgoff = e->pgoff;
	me.prot = e->prot;
	me.build_id_len = e->build_id_len <= 20 ? e->build_id_len : 0;
	memcpy(me.build_id, e->build_id, 20);
	me.path = path;
	procmaps_add(&p->maps, &me);
	free(path);
}

/* A runtime's name of a thread (Python's threading.Thread.name) replaces its comm in every
 * report: the recorder read it while the thread ran, so it applies to the thread's whole life.
 * A name the program gave the thread itself (prctl, pthread_setname_np: EV_RENAME) wins, before
 * or after. Cut to comm's length like any other thread name; a record for a tid now in another
 * process (the tid was reused) is dropped. */
static void on_meta_thread_name(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_thread_name *e = (const void *)h;
	const char *name = (const char *)(e + 1);
	size_t n = strnlen(name, h->size - sizeof(*e));
	struct m_thread *t;

	if (!n)
		return;
	/* a thread that ended before its name was read (the recorder names it from the object
	 * the program still holds): the name is that thread's, not a new thread's of that tid */
	t = model_thread(m, h->tid);
	if (!t || t->state != TH_EXITED || t->pid != e->pid)
		t = model_get_thread(m, h->tid, h->ts);
	if ((t->pid && t->pid != e->pid) || t->renamed)
		return;
	t->pid = e->pid;
	if (n > CLAB_COMM_LEN - 1)
		n = CLAB_COMM_LEN - 1;
	memcpy(t->comm, name, n);
	t->comm[n] = 0;
}

static void on_meta_stack(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_stack *e = (const void *)h;
	size_t n = (h->size - sizeof(*e)) / 8;
	struct m_stack *s;

	if (e->nframes < n)
		n = e->nframes;
	if (model_stack(m, (int32_t)h->tid))
		return;
	GROW(m->stacks, m->cap_stacks, m->nstacks + 1);
	s = &m->stacks[m->nstacks];
	s->id = (int32_t)h->tid;
	s->n = n;
	s->ips = xmalloc(n * 8 + 8);
	memcpy(s->ips, (const char *)h + sizeof(*e), n * 8);
	idmap_put(&m->stack_index, h->tid, m->nstacks);
	m->nstacks++;
}

static void on_meta_lost(struct model *m, const struct ev_hdr *h)
{
	const struct ev_meta_lost *e = (const void *)h;
	uint32_t cpu = h->tid;
	uint64_t grew = 0;

	if (cpu > 4096)
		return;
	if (cpu >= m->nlost_cpu) {
		size_t n = cpu + 1;

		m->lost_cpu = xrealloc(m->lost_cpu, n * LOST_NKINDS * sizeof(uint64_t));
		memset(m->lost_cpu + m->nlost_cpu * LOST_NKINDS, 0,
		       (n - m->nlost_cpu) * LOST_NKINDS * sizeof(uint64_t));
		m->lost_cpu_ts = xrealloc(m->lost_cpu_ts, n * sizeof(uint64_t));
		memset(m->lost_cpu_ts + m->nlost_cpu, 0, (n - m->nlost_cpu) * sizeof(uint64_t));
		m->nlost_cpu = n;
	}
	for (int k = 0; k < LOST_NKINDS; k++) {
		uint64_t *c = &m->lost_cpu[cpu * LOST_NKINDS + k];

		if (e->count[k] > *c) {
			m->lost[k] += e->count[k] - *c;
			if (k != LOST_STACK && k != LOST_USER_READ)
				grew += e->count[k] - *c;
			*c = e->count[k];
		}
	}
	/* by_type is cumulative per CPU too, but only the ring buffer kind feeds it: keep the max */
	for (int i = 0; i < 16; i++)
		if (e->by_type[i] > m->lost_by_type[i])
			m->lost_by_type[i] = e->by_type[i];
	if (grew) {
		struct m_loss_window *w;

		GROW(m->losses, m->cap_losses, m->nlosses + 1);
		w = &m->losses[m->nlosses++];
		/* since this CPU's previous counters: another CPU's record in between says
		 * nothing about when this one lost its events */
		w->from = m->lost_cpu_ts[cpu] ? m->lost_cpu_ts[cpu] : m->t_first;
		w->to = h->ts;
		w->count = grew;
	}
	m->lost_seen_ts = h->ts;
	m->lost_cpu_ts[cpu] = h->ts;
}

void model_meta_event(struct model *m, const struct ev_hdr *h)
{
	switch (h->type) {
	case EV_META_TASK:
		on_meta_task(m, h);
		break;
	case EV_META_CMDLINE:
		on_meta_cmdline(m, h);
		break;
	case EV_META_MAPS:
	case EV_META_MAPS_RESET:
		on_meta_maps(m, h);
		break;
	case EV_META_STACK:
		on_meta_stack(m, h);
		break;
	case EV_META_LOST:
		on_meta_lost(m, h);
		break;
	case EV_META_FD:
		fdtable_add(&m->fdt, h);
		break;
	case EV_META_THREAD_NAME:
		on_meta_thread_name(m, h);
		break;
	case EV_META_PY_FRAME:
		model_py_frame(m, h);
		break;
	case EV_META_SYNC_NAME:
		model_py_sync_name(m, h);
		break;
	case EV_META_CLOCK: {
		const struct ev_meta_clock *c = (const void *)h;

		m->clock_mono = c->mono_ns;
		m->clock_real = c->real_ns;
		break;
	}
	case EV_META_STATUS: {
		const struct ev_meta_status *s = (const void *)h;

		m->exit_status = s->exit_status;
		m->stop_reason = s->reason;
		break;
	}
	default:
		break;
	}
}
