/* conns.c — messages between traced processes over sockets and pipes (see conns.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "model/conns.h"
#include "model/fdtable.h"
#include "lib/idmap.h"
#include "lib/json.h"
#include "model/model.h"
#include "lib/util.h"

int conn_write_syscall(int nr)
{
	switch (nr) {
	case SYS_write:
	case SYS_writev:
	case SYS_pwrite64:
	case SYS_pwritev:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
		return 1;
	default:
		return 0;
	}
}

int conn_fd_kind(int kind)
{
	return kind == FDK_PIPE || kind == FDK_TCP || kind == FDK_UDP || kind == FDK_UNIX ||
	       kind == FDK_SOCKET || kind == FDK_DEVICE || kind == FDK_EVENTFD;
}

int conns_add(const struct model *m, struct conns *cs, const struct m_wakeup *wk,
	      uint32_t wakee_tid)
{
	const struct m_thread *w, *r;
	const struct m_process *wp, *rp;
	const struct m_fd *f;
	struct conn *c;
	int32_t fd = (int32_t)wk->obj;

	if (!wk->waker || !conn_write_syscall(wk->waker_nr))
		return -1;
	w = model_thread(m, wk->waker);
	r = model_thread(m, wakee_tid);
	if (!w || !r || w->pid == r->pid)
		return -1;
	/*
	 * A write wakes a reader in another process only through a pipe, a socket, a terminal or
	 * an eventfd: a record that says "file" is stale (the fd was closed and reused between
	 * two scans) and is not used to describe it.
	 */
	f = fdtable_at(&m->fdt, w->pid, fd, wk->ts);
	if (f && !conn_fd_kind(f->kind))
		f = NULL;
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].writer_pid == w->pid && cs->v[i].fd == fd &&
		    cs->v[i].reader_pid == r->pid)
			return (int)i;
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 16;
		cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
	}
	c = &cs->v[cs->n];
	memset(c, 0, sizeof(*c));
	c->writer_pid = w->pid;
	c->reader_pid = r->pid;
	c->fd = fd;
	c->kind = f ? f->kind : FDK_CLOSED;
	if (!f || !fd_describe(m, w->pid, fd, wk->ts, c->desc, sizeof(c->desc)))
		snprintf(c->desc, sizeof(c->desc), "fd %d", fd);
	wp = model_process(m, w->pid);
	rp = model_process(m, r->pid);
	snprintf(c->writer_comm, sizeof(c->writer_comm), "%s", wp ? wp->comm : w->comm);
	snprintf(c->reader_comm, sizeof(c->reader_comm), "%s", rp ? rp->comm : r->comm);
	snprintf(c->reader_thread, sizeof(c->reader_thread), "%s", r->comm);
	c->to_child = rp && rp->ppid == w->pid;
	c->to_parent = wp && wp->ppid == r->pid;
	c->first_ts = wk->ts;
	return (int)cs->n++;
}

/* From the end of wait k to the thread's next wait (or its end): handling the message. */
static uint64_t busy_after(const struct model *m, const struct m_thread *t, size_t k)
{
	for (size_t j = k + 1; j < t->niv; j++)
		if (t->iv[j].state == TH_BLOCKED)
			return t->iv[j].start - t->iv[k].end;
	return (t->died ? t->died : m->t_last) - t->iv[k].end;
}

/*
 * One message: when, over which connection, when the reader answered it (0 never), and
 * whether the reader's next message to anyone went back to the writer (it answered this one
 * itself, as a broker answers a handshake, rather than passing it on).
 */
struct msg {
	uint64_t ts;
	uint64_t answer_ts;
	uint32_t ci;
	uint8_t answered_first;
};

static int cmp_msg(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * The answers: walking the messages from the last to the first, remember per (writer, reader)
 * the earliest message seen so far; a message A->B is answered by the remembered B->A one.
 */
static void answers(struct conns *cs, struct msg *v, size_t n)
{
	struct idmap next = {0};	/* (writer pid << 32 | reader pid) -> index in v */
	struct idmap out = {0};		/* writer pid -> index in v of its next message */

	qsort(v, n, sizeof(*v), cmp_msg);
	for (size_t i = n; i-- > 0;) {
		struct conn *c = &cs->v[v[i].ci];
		uint64_t back = (uint64_t)c->reader_pid << 32 | c->writer_pid;
		int64_t k = idmap_get(&next, back), o = idmap_get(&out, c->reader_pid);

		if (k >= 0) {
			c->answered++;
			c->answer_ns += v[k].ts - v[i].ts;
			v[i].answer_ts = v[k].ts;
		}
		v[i].answered_first = o >= 0 && cs->v[v[o].ci].reader_pid == c->writer_pid;
		idmap_put(&next, (uint64_t)c->writer_pid << 32 | c->reader_pid, (uint32_t)i);
		idmap_put(&out, c->writer_pid, (uint32_t)i);
	}
	idmap_free(&out);
	idmap_free(&next);
}

/* The messages a process received and has not passed on or answered yet, oldest first. */
struct inbox {
	struct in_msg {
		uint64_t ts;
		uint32_t from;		/* the writer's pid */
		uint8_t gone;		/* passed on or answered */
	} *v;
	size_t head, n, cap;
};

struct inboxes {
	struct idmap index;	/* pid -> box */
	struct inbox *box;
	size_t n, cap;
};

static struct inbox *inbox_of(struct inboxes *ib, uint32_t pid)
{
	int64_t k = idmap_get(&ib->index, pid);

	if (k >= 0)
		return &ib->box[k];
	if (ib->n == ib->cap) {
		ib->cap = ib->cap ? 2 * ib->cap : 8;
		ib->box = xrealloc(ib->box, ib->cap * sizeof(*ib->box));
	}
	memset(&ib->box[ib->n], 0, sizeof(ib->box[ib->n]));
	idmap_put(&ib->index, pid, (uint32_t)ib->n);
	return &ib->box[ib->n++];
}

/*
 * The oldest message in the box that can be a request for the reader, taken out: not from the
 * reader, nor from one of its children (a pool process's results go to whoever asked, not to
 * its parent), and not from before the reader's process started.
 */
static const struct in_msg *inbox_take(const struct model *m, struct inbox *b, uint32_t reader)
{
	const struct m_process *rp = model_process(m, reader);
	uint64_t since = rp && rp->forked ? rp->born : 0;

	while (b->head < b->n && b->v[b->head].gone)
		b->head++;
	for (size_t i = b->head; i < b->n; i++) {
		struct in_msg *e = &b->v[i];
		const struct m_process *from;

		if (e->gone || e->from == reader || e->ts < since)
			continue;
		from = model_process(m, e->from);
		if (!from || from->ppid != reader) {
			e->gone = 1;
			return e;
		}
	}
	return NULL;
}

static void inbox_push(struct inbox *b, uint64_t ts, uint32_t from)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = (struct in_msg){.ts = ts, .from = from};
}

/*
 * A relay passes requests on between network peers: pipes, Unix sockets, terminals and
 * eventfds are a process's own plumbing (a broker's helper processes, a pool's pipes), never
 * paired. A connection no scan saw (FDK_CLOSED) is taken as it comes.
 */
static int relay_kind(int kind)
{
	return kind == FDK_TCP || kind == FDK_UDP || kind == FDK_CLOSED;
}

/* The relay split (conns.h, conns_build): v sorted by time, answers known. */
static void relays(const struct model *m, struct conns *cs, const struct msg *v, size_t n)
{
	struct inboxes ib = {0};

	for (size_t i = 0; i < n; i++) {
		struct conn *c = &cs->v[v[i].ci];
		const struct in_msg *e;

		if (!relay_kind(c->kind))
			continue;
		e = inbox_take(m, inbox_of(&ib, c->writer_pid), c->reader_pid);
		if (e) {
			c->relayed++;
			c->in_relay_ns += v[i].ts - e->ts;
			if (v[i].answer_ts) {
				c->relayed_answered++;
				c->in_reader_ns += v[i].answer_ts - v[i].ts;
			}
		}
		if (!v[i].answered_first)
			inbox_push(inbox_of(&ib, c->reader_pid), v[i].ts, c->writer_pid);
	}
	for (size_t i = 0; i < ib.n; i++)
		free(ib.box[i].v);
	free(ib.box);
	idmap_free(&ib.index);
}

int conns_build(const struct model *m, struct conns *cs)
{
	struct msg *msgs = NULL;
	size_t nmsgs = 0, cap = 0;

	memset(cs, 0, sizeof(*cs));
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct m_thread *t = &m->threads[i];

		for (size_t k = 0; k < t->niv; k++) {
			const struct m_interval *iv = &t->iv[k];
			const struct m_wakeup *wk;
			struct conn *c;
			int ci;

			if (iv->state != TH_BLOCKED || iv->wakeup < 0 ||
			    (size_t)iv->wakeup >= m->nwakeups)
				continue;
			wk = &m->wakeups[iv->wakeup];
			ci = conns_add(m, cs, wk, t->tid);
			if (ci < 0)
				continue;
			c = &cs->v[ci];
			if (nmsgs == cap) {
				cap = cap ? 2 * cap : 256;
				msgs = xrealloc(msgs, cap * sizeof(*msgs));
			}
			msgs[nmsgs++] = (struct msg){.ts = wk->ts, .ci = (uint32_t)ci};
			c->messages++;
			c->reader_wait_ns += iv->end - iv->start;
			c->reader_busy_ns += busy_after(m, t, k);
			if (wk->ts < c->first_ts)
				c->first_ts = wk->ts;
			if (wk->ts > c->last_ts)
				c->last_ts = wk->ts;
		}
	}
	answers(cs, msgs, nmsgs);
	relays(m, cs, msgs, nmsgs);
	free(msgs);
	return 0;
}

void conns_free(struct conns *cs)
{
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

static const char *relation(const struct conn *c)
{
	return c->to_child ? "to-child" : c->to_parent ? "to-parent" : "other";
}

static int cmp_messages(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;

	return x->messages < y->messages ? 1 : x->messages > y->messages ? -1 : 0;
}

/* The relay split, all connections: requests paired, and their time in relays and readers. */
static void relay_totals(const struct conns *cs, struct conn *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < cs->n; i++) {
		t->relayed += cs->v[i].relayed;
		t->in_relay_ns += cs->v[i].in_relay_ns;
		t->relayed_answered += cs->v[i].relayed_answered;
		t->in_reader_ns += cs->v[i].in_reader_ns;
	}
}

static const char *avg(char *buf, size_t n, uint64_t total, uint64_t count)
{
	return count ? fmt_dur(buf, n, total / count) : "-";
}

/* Connections that passed requests on, the most time in the relay first; cs sorted by messages. */
static void relay_text(const struct conns *cs, int top, FILE *out)
{
	char a[32], b[32], d[32], e[32], who[64];
	size_t *ord = xmalloc((cs->n + 1) * sizeof(*ord)), n = 0;
	struct conn t;

	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].relayed)
			ord[n++] = i;
	if (!n) {
		free(ord);
		return;
	}
	for (size_t i = 1; i < n; i++)	/* insertion sort by time in the relay, a few rows */
		for (size_t k = i; k > 0 && cs->v[ord[k]].in_relay_ns > cs->v[ord[k - 1]].in_relay_ns;
		     k--) {
			size_t x = ord[k];

			ord[k] = ord[k - 1];
			ord[k - 1] = x;
		}
	fprintf(out, "\nrequests passed on by a relay (a broker): time in the relay vs in the reader "
		     "(the worker)\n");
	fprintf(out, "  %-34s %-44s %7s %10s %10s %8s %10s %10s\n", "RELAY -> READER",
		"CONNECTION (relay's fd)", "PAIRED", "IN RELAY", "AVG", "ANSWERED", "IN READER",
		"AVG");
	for (size_t r = 0; r < n && (int)r < top; r++) {
		const struct conn *c = &cs->v[ord[r]];

		snprintf(who, sizeof(who), "%s/%u -> %s/%u", c->writer_comm, c->writer_pid,
			 c->reader_comm, c->reader_pid);
		fprintf(out, "  %-34s %-44.44s %7llu %10s %10s %8llu %10s %10s\n", who, c->desc,
			(unsigned long long)c->relayed, fmt_dur(a, sizeof(a), c->in_relay_ns),
			avg(b, sizeof(b), c->in_relay_ns, c->relayed),
			(unsigned long long)c->relayed_answered,
			fmt_dur(d, sizeof(d), c->in_reader_ns),
			avg(e, sizeof(e), c->in_reader_ns, c->relayed_answered));
	}
	relay_totals(cs, &t);
	fprintf(out, "  total: %llu requests paired, %s in relays (avg %s), %s in readers (avg %s over "
		     "%llu answered)\n", (unsigned long long)t.relayed,
		fmt_dur(a, sizeof(a), t.in_relay_ns), avg(b, sizeof(b), t.in_relay_ns, t.relayed),
		fmt_dur(d, sizeof(d), t.in_reader_ns),
		avg(e, sizeof(e), t.in_reader_ns, t.relayed_answered),
		(unsigned long long)t.relayed_answered);
	fprintf(out, "  (IN RELAY: from a message reaching the relay to the relay's message that "
		     "passes it on; IN READER: from there to the reader's answer.\n"
		     "   Paired first in, first out from messages that woke a waiting reader: an "
		     "estimate where messages arrive in batches, see docs/design.md)\n");
	free(ord);
}

void conns_text(struct conns *cs, int top, FILE *out)
{
	char a[32], b[32], d[32], who[64];

	if (!cs->n)
		return;
	qsort(cs->v, cs->n, sizeof(*cs->v), cmp_messages);
	fprintf(out, "\nmessages between traced processes (a write that woke a waiting reader)\n");
	fprintf(out, "  %-34s %-44s %8s %12s %12s %12s\n", "WRITER -> READER",
		"CONNECTION (writer's fd)", "MESSAGES", "READER WAIT", "READER BUSY", "ANSWER AVG");
	for (size_t i = 0; i < cs->n && (int)i < top; i++) {
		const struct conn *c = &cs->v[i];

		snprintf(who, sizeof(who), "%s/%u -> %s/%u", c->writer_comm, c->writer_pid,
			 c->reader_comm, c->reader_pid);
		fprintf(out, "  %-34s %-44.44s %8llu %12s %12s %12s\n", who, c->desc,
			(unsigned long long)c->messages, fmt_dur(a, sizeof(a), c->reader_wait_ns),
			fmt_dur(b, sizeof(b), c->reader_busy_ns),
			c->answered ? fmt_dur(d, sizeof(d), c->answer_ns / c->answered) : "-");
	}
	if (cs->n > (size_t)top)
		fprintf(out, "  (%zu more with fewer messages; --top N or --format json lists them)\n",
			cs->n - top);
	fprintf(out, "  (READER WAIT: the reader's waits the messages ended, time it had nothing to "
		     "do; READER BUSY: from each message to the reader's next wait, handling it;\n"
		     "   ANSWER AVG: from a message to the reader's next message back to the writer; "
		     "with requests and replies, the time to answer one)\n");
	relay_text(cs, top, out);
}

/* The relay split of one connection, or of all (relay_totals): the same four fields. */
static void relay_json(const struct conn *c, struct json *j)
{
	json_kv_u64(j, "relayed", c->relayed);
	json_kv_u64(j, "in_relay_ns_total", c->in_relay_ns);
	json_kv_u64(j, "relayed_answered", c->relayed_answered);
	json_kv_u64(j, "in_reader_ns_total", c->in_reader_ns);
}

void conns_json(const struct conns *cs, struct json *j)
{
	struct conn t;

	json_arr_begin(j, "connections");
	for (size_t i = 0; i < cs->n; i++) {
		const struct conn *c = &cs->v[i];

		json_obj_begin(j, NULL);
		json_kv_u64(j, "writer_pid", c->writer_pid);
		json_kv_str(j, "writer_comm", c->writer_comm);
		json_kv_u64(j, "reader_pid", c->reader_pid);
		json_kv_str(j, "reader_comm", c->reader_comm);
		json_kv_str(j, "reader_thread", c->reader_thread);
		json_kv_i64(j, "fd", c->fd);
		json_kv_str(j, "kind", c->kind == FDK_CLOSED ? "unknown" : fd_kind_name(c->kind));
		json_kv_str(j, "connection", c->desc);
		json_kv_str(j, "relation", relation(c));
		json_kv_u64(j, "messages", c->messages);
		json_kv_u64(j, "reader_wait_ns", c->reader_wait_ns);
		json_kv_u64(j, "reader_busy_ns", c->reader_busy_ns);
		json_kv_u64(j, "answered", c->answered);
		json_kv_u64(j, "answer_ns_total", c->answer_ns);
		relay_json(c, j);
		json_kv_u64(j, "first_ns", c->first_ts);
		json_kv_u64(j, "last_ns", c->last_ts);
		json_obj_end(j);
	}
	json_arr_end(j);
	relay_totals(cs, &t);
	json_obj_begin(j, "relay_split");
	relay_json(&t, j);
	json_obj_end(j);
}

void conns_model_text(const struct model *m, int top, FILE *out)
{
	struct conns cs;

	conns_build(m, &cs);
	conns_text(&cs, top, out);
	conns_free(&cs);
}

void conns_model_json(const struct model *m, struct json *j)
{
	struct conns cs;

	conns_build(m, &cs);
	conns_json(&cs, j);
	conns_free(&cs);
}
