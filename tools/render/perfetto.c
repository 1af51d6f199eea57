/* perfetto.c — the protobuf writer and the timeline -> Perfetto trace mapping.
 *
 * What goes in (field numbers: Perfetto's public protos/perfetto/trace/ .proto files):
 *  - a ProcessTree, so threads group under their processes;
 *  - FtraceEventBundles with sched_switch / sched_waking / sched_wakeup_new / task_newtask /
 *    sched_process_exec / sched_process_exit mirrored from our records: Perfetto then draws
 *    CPU lanes, thread-state tracks and "woken by" itself. CPU time of untraced tasks shows as
 *    pid 0 (we do not see who they are);
 *  - a "waits" track per thread with one slice per blocked interval ("mutex pcq_lock") and
 *    its holder, waker and address as arguments; lost-event gaps as "unknown" slices;
 *  - flows from the waker (an instant on its waits track) to the end of the wait it ended;
 *  - a counter track: workload threads on a CPU.
 */
#include <stdlib.h>
#include <string.h>

#include "render/perfetto.h"
#include "render/report.h"
#include "analysis/timeline.h"
#include "lib/util.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2 };

#define PB_LEN_ROOM 5	/* a reserved length: up to 2^35 bytes */

static void pb_need(struct pb *p, size_t more)
{
	if (p->n + more > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1 << 16;

		while (cap < p->n + more)
			cap *= 2;
		p->b = xrealloc(p->b, cap);
		p->cap = cap;
	}
}

void pb_varint(struct pb *p, uint64_t v)
{
	pb_need(p, 10);
	while (v >= 0x80) {
		p->b[p->n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p->b[p->n++] = (uint8_t)v;
}

static void pb_tag(struct pb *p, uint32_t field, int wt)
{
	pb_varint(p, (uint64_t)field << 3 | wt);
}

void pb_u64(struct pb *p, uint32_t field, uint64_t v)
{
	pb_tag(p, field, WT_VARINT);
	pb_varint(p, v);
}

void pb_i64(struct pb *p, uint32_t field, int64_t v)
{
	pb_u64(p, field, (uint64_t)v);
}

void pb_fixed64(struct pb *p, uint32_t field, uint64_t v)
{
	pb_tag(p, field, WT_FIXED64);
	pb_need(p, 8);
	for (int i = 0; i < 8; i++)
		p->b[p->n++] = v >> (8 * i);
}

void pb_bytes(struct pb *p, uint32_t field, const void *d, size_t n)
{
	pb_tag(p, field, WT_LEN);
	pb_varint(p, n);
	pb_need(p, n);
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

void pb_str(struct pb *p, uint32_t field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

size_t pb_begin(struct pb *p, uint32_t field)
{
	size_t mark;

	pb_tag(p, field, WT_LEN);
	pb_need(p, PB_LEN_ROOM);
	mark = p->n;
	p->n += PB_LEN_ROOM;
	return mark;
}

void pb_end(struct pb *p, size_t mark)
{
	size_t body = mark + PB_LEN_ROOM, len = p->n - body, vl = 0;
	uint8_t tmp[PB_LEN_ROOM];
	uint64_t v = len;

	do {
		tmp[vl++] = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		v >>= 7;
	} while (v);
	memcpy(p->b + mark, tmp, vl);
	if (vl < PB_LEN_ROOM)
		memmove(p->b + mark + vl, p->b + body, len);
	p->n -= PB_LEN_ROOM - vl;
}

int pb_flush(struct pb *p, FILE *f)
{
	if (p->n && fwrite(p->b, 1, p->n, f) != p->n)
		return -1;
	p->n = 0;
	return 0;
}

void pb_free(struct pb *p)
{
	free(p->b);
	memset(p, 0, sizeof(*p));
}

/* ---- field numbers ---- */
enum {
	TRACE_PACKET = 1,
	TP_FTRACE_EVENTS = 1, TP_PROCESS_TREE = 2, TP_TIMESTAMP = 8, TP_SEQ_ID = 10,
	TP_TRACK_EVENT = 11, TP_SEQ_FLAGS = 13, TP_TRACK_DESCRIPTOR = 60,
	BUNDLE_CPU = 1, BUNDLE_EVENT = 2,
	FE_TIMESTAMP = 1, FE_PID = 2, FE_SCHED_SWITCH = 4, FE_SCHED_WAKING = 20,
	FE_SCHED_WAKEUP_NEW = 114, FE_TASK_NEWTASK = 235, FE_PROCESS_EXEC = 237,
	FE_PROCESS_EXIT = 238,
	PT_PROCESSES = 1, PT_THREADS = 2,
	PTP_PID = 1, PTP_PPID = 2, PTP_CMDLINE = 3,
	PTT_TID = 1, PTT_NAME = 2, PTT_TGID = 3,
	TD_UUID = 1, TD_NAME = 2, TD_THREAD = 4, TD_COUNTER = 8,
	THD_PID = 1, THD_TID = 2, THD_NAME = 5,
	TE_ANNOT = 4, TE_TYPE = 9, TE_TRACK = 11, TE_NAME = 23, TE_COUNTER = 30,
	TE_FLOW = 47, TE_TERM_FLOW = 48,
	DA_UINT = 3, DA_STRING = 6, DA_NAME = 10,
};

enum { TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4 };

#define SEQ_ID 1
#define UUID_PAR 2
#define UUID_LANE0 0x1000

struct pf_ctx {
	const struct timeline *tl;
	const struct model *m;
	struct pb b;
	FILE *out;
	int err;
	/* the open ftrace bundle */
	size_t pkt, bundle;
	int cpu, nev;
};

static void maybe_flush(struct pf_ctx *c)
{
	if (c->b.n >= (1 << 20) && pb_flush(&c->b, c->out))
		c->err = -1;
}

static void bundle_close(struct pf_ctx *c)
{
	if (c->cpu < 0)
		return;
	pb_end(&c->b, c->bundle);
	pb_end(&c->b, c->pkt);
	c->cpu = -1;
	maybe_flush(c);
}

static void bundle_for(struct pf_ctx *c, int cpu)
{
	if (c->cpu == cpu && c->nev < 1024)
		return;
	bundle_close(c);
	c->pkt = pb_begin(&c->b, TRACE_PACKET);
	pb_u64(&c->b, TP_SEQ_ID, SEQ_ID + 1);
	c->bundle = pb_begin(&c->b, TP_FTRACE_EVENTS);
	pb_u64(&c->b, BUNDLE_CPU, cpu);
	c->cpu = cpu;
	c->nev = 0;
}

/* Kernel prev_state bits as Perfetto decodes them for kernels >= 4.14 (R S D T t X ...). */
static uint64_t prev_state_bits(int s)
{
	switch (s) {
	case TS_RUNNABLE: return 0;
	case TS_SLEEPING: return 1;
	case TS_DISK: return 2;
	case TS_STOPPED: return 4;
	case TS_DEAD: return 0x10;
	default: return 1;
	}
}

/* An ftrace event of the bundle of cpu: its time, the task it is for, and the field of its
 * kind (begun: *sub); returns the event, to pb_end() after *sub. */
static size_t event_begin(struct pf_ctx *c, int cpu, uint64_t ts, uint64_t pid, uint32_t field,
			  size_t *sub)
{
	struct pb *b = &c->b;
	size_t ev;

	bundle_for(c, cpu);
	ev = pb_begin(b, BUNDLE_EVENT);
	pb_u64(b, FE_TIMESTAMP, ts);
	pb_u64(b, FE_PID, pid);
	*sub = pb_begin(b, field);
	return ev;
}

static void ftrace_event(struct pf_ctx *c, const struct ev_hdr *h, int *last_cpu)
{
	struct pb *b = &c->b;
	size_t ev, sub;

	switch (h->type) {
	case EV_SWITCH:
	case EV_SWITCH_SLEEP: {
		const struct ev_switch *s = (const void *)h;

		*last_cpu = s->cpu;
		ev = event_begin(c, s->cpu, h->ts, h->tid, FE_SCHED_SWITCH, &sub);
		pb_str(b, 1, model_comm(c->m, h->tid, "swapper"));
		pb_u64(b, 2, h->tid);
		pb_u64(b, 3, 120);
		pb_i64(b, 4, h->tid ? prev_state_bits(s->prev_state) : 0);
		pb_str(b, 5, model_comm(c->m, s->next_tid, "swapper"));
		pb_u64(b, 6, s->next_tid);
		pb_u64(b, 7, 120);
		break;
	}
	case EV_WAKEUP:
	case EV_WAKEUP_NEW: {
		const struct ev_wakeup *w = (const void *)h;

		/* the waker emits sched_waking */
		ev = event_begin(c, w->cpu, h->ts, w->waker_tid,
				 h->type == EV_WAKEUP ? FE_SCHED_WAKING : FE_SCHED_WAKEUP_NEW, &sub);
		pb_str(b, 1, model_comm(c->m, h->tid, "swapper"));
		pb_u64(b, 2, h->tid);
		pb_u64(b, 3, 120);
		pb_u64(b, 4, 1);
		pb_u64(b, 5, w->cpu);
		break;
	}
	case EV_FORK: {
		const struct ev_fork *f = (const void *)h;
		char comm[CLAB_COMM_LEN + 1] = {0};

		memcpy(comm, f->comm, CLAB_COMM_LEN);
		ev = event_begin(c, *last_cpu, h->ts, f->parent_tid, FE_TASK_NEWTASK, &sub);
		pb_u64(b, 1, h->tid);
		pb_str(b, 2, comm);
		pb_u64(b, 3, f->flags & FORKF_THREAD ? 0x10000 : 0);	/* CLONE_THREAD */
		break;
	}
	case EV_EXEC: {
		const struct ev_exec *e = (const void *)h;
		char fn[sizeof(e->filename) + 1] = {0};

		memcpy(fn, e->filename, sizeof(e->filename));
		ev = event_begin(c, *last_cpu, h->ts, h->tid, FE_PROCESS_EXEC, &sub);
		pb_str(b, 1, fn);
		pb_u64(b, 2, h->tid);
		pb_u64(b, 3, e->old_tid);
		break;
	}
	case EV_EXIT: {
		const struct ev_exit *e = (const void *)h;

		ev = event_begin(c, *last_cpu, h->ts, h->tid, FE_PROCESS_EXIT, &sub);
		pb_str(b, 1, model_comm(c->m, h->tid, "swapper"));
		pb_u64(b, 2, h->tid);
		pb_u64(b, 3, e->pid);
		pb_u64(b, 4, 120);
		break;
	}
	default:
		return;
	}
	pb_end(b, sub);
	pb_end(b, ev);
	c->nev++;
}

static void process_tree(struct pf_ctx *c)
{
	const struct timeline *tl = c->tl;
	struct pb *b = &c->b;
	size_t pkt = pb_begin(b, TRACE_PACKET), pt, x;

	pb_u64(b, TP_TIMESTAMP, tl->t0);
	pb_u64(b, TP_SEQ_ID, SEQ_ID);
	pb_u64(b, TP_SEQ_FLAGS, 1);	/* SEQ_INCREMENTAL_STATE_CLEARED */
	pt = pb_begin(b, TP_PROCESS_TREE);
	for (size_t i = 0; i < tl->nprocs; i++) {
		const struct tl_proc *p = &tl->procs[i];

		x = pb_begin(b, PT_PROCESSES);
		pb_u64(b, PTP_PID, p->pid);
		pb_u64(b, PTP_PPID, p->ppid);
		pb_str(b, PTP_CMDLINE, p->cmdline ? p->cmdline : p->comm);
		pb_end(b, x);
	}
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];

		x = pb_begin(b, PT_THREADS);
		pb_u64(b, PTT_TID, l->tid);
		pb_str(b, PTT_NAME, l->comm);
		pb_u64(b, PTT_TGID, l->pid);
		pb_end(b, x);
	}
	pb_end(b, pt);
	pb_end(b, pkt);
}

static void track_descriptors(struct pf_ctx *c)
{
	const struct timeline *tl = c->tl;
	struct pb *b = &c->b;
	size_t pkt, td, th;

	for (size_t i = 0; i < tl->nlanes; i++) {
		pkt = pb_begin(b, TRACE_PACKET);
		pb_u64(b, TP_SEQ_ID, SEQ_ID);
		td = pb_begin(b, TP_TRACK_DESCRIPTOR);
		pb_u64(b, TD_UUID, UUID_LANE0 + i);
		pb_str(b, TD_NAME, "waits");
		th = pb_begin(b, TD_THREAD);
		pb_u64(b, THD_PID, tl->lanes[i].pid);
		pb_u64(b, THD_TID, tl->lanes[i].tid);
		pb_str(b, THD_NAME, tl->lanes[i].comm);
		pb_end(b, th);
		pb_end(b, td);
		pb_end(b, pkt);
	}
	pkt = pb_begin(b, TRACE_PACKET);
	pb_u64(b, TP_SEQ_ID, SEQ_ID);
	td = pb_begin(b, TP_TRACK_DESCRIPTOR);
	pb_u64(b, TD_UUID, UUID_PAR);
	pb_str(b, TD_NAME, "workload threads on a CPU");
	pb_end(b, pb_begin(b, TD_COUNTER));
	pb_end(b, td);
	pb_end(b, pkt);
}

static void annot_str(struct pb *b, const char *name, const char *v)
{
	size_t a = pb_begin(b, TE_ANNOT);

	pb_str(b, DA_NAME, name);
	pb_str(b, DA_STRING, v);
	pb_end(b, a);
}

static void annot_u64(struct pb *b, const char *name, uint64_t v)
{
	size_t a = pb_begin(b, TE_ANNOT);

	pb_str(b, DA_NAME, name);
	pb_u64(b, DA_UINT, v);
	pb_end(b, a);
}

/* Open a TrackEvent packet; returns the marks to close (packet, event). */
static void te_begin(struct pf_ctx *c, uint64_t ts, uint64_t track, int type, size_t *pkt,
		     size_t *te)
{
	*pkt = pb_begin(&c->b, TRACE_PACKET);
	pb_u64(&c->b, TP_TIMESTAMP, ts);
	pb_u64(&c->b, TP_SEQ_ID, SEQ_ID);
	*te = pb_begin(&c->b, TP_TRACK_EVENT);
	pb_u64(&c->b, TE_TYPE, type);
	pb_u64(&c->b, TE_TRACK, track);
}

static void te_end(struct pf_ctx *c, size_t pkt, size_t te)
{
	pb_end(&c->b, te);
	pb_end(&c->b, pkt);
	maybe_flush(c);
}

static void wait_slices(struct pf_ctx *c)
{
	const struct timeline *tl = c->tl;
	struct pb *b = &c->b;
	char name[256], who[64];
	size_t pkt, te;

	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];
		struct tl_cursor cur;

		tl_cursor_ivs(&cur, tl, l);
		for (const struct tl_iv *v; (v = tl_next(&cur));) {
			int lost = v->flags & TLF_LOST, unc = v->flags & IV_UNCERTAIN;

			if (v->state != TH_BLOCKED && !lost)
				continue;
			if (lost)
				snprintf(name, sizeof(name), "unknown: events lost");
			else
				snprintf(name, sizeof(name), "%s%s%s%s", wait_kind_name(v->kind),
					 v->name >= 0 ? " " : "", tl_name(tl, v->name),
					 unc ? " [uncertain]" : "");
			te_begin(c, v->start, UUID_LANE0 + i, TYPE_SLICE_BEGIN, &pkt, &te);
			pb_str(b, TE_NAME, name);
			if (!lost) {
				annot_str(b, "reason", wait_kind_name(v->kind));
				annot_u64(b, "address", v->obj);
				if (v->holder) {
					int hl = tl_lane_of(tl, v->holder);

					snprintf(who, sizeof(who), "%s (%u)",
						 hl >= 0 ? tl->lanes[hl].comm : "?", v->holder);
					annot_str(b, v->kind == WK_JOIN ? "joined" : "holder", who);
				}
				if (v->waker)
					annot_u64(b, "woken_by", v->waker);
			} else {
				annot_str(b, "last_seen", th_state_name(v->guess));
			}
			if (unc)
				annot_str(b, "uncertain", "events were lost around this interval");
			te_end(c, pkt, te);
			te_begin(c, v->end, UUID_LANE0 + i, TYPE_SLICE_END, &pkt, &te);
			if (v->waker && (v->flags & TLF_FLOW))
				pb_fixed64(b, TE_TERM_FLOW, tl_flow_id(l->tid, v->end));
			te_end(c, pkt, te);
		}
		tl_cursor_end(&cur);
	}
}

static void waker_instants(struct pf_ctx *c)
{
	const struct timeline *tl = c->tl;
	struct tl_cursor cur;
	char name[256];
	size_t pkt, te;

	tl_cursor_arrows(&cur, tl);
	for (const struct tl_arrow *a; (a = tl_next(&cur));) {
		if (a->from_lane < 0)
			continue;
		snprintf(name, sizeof(name), "%s %s (%s %s)", a->msg ? "message to" : "wake",
			 tl->lanes[a->to_lane].comm, wait_kind_name(a->kind), tl_name(tl, a->name));
		te_begin(c, a->ts, UUID_LANE0 + a->from_lane, TYPE_INSTANT, &pkt, &te);
		pb_str(&c->b, TE_NAME, name);
		pb_fixed64(&c->b, TE_FLOW, tl_flow_id(a->wakee, a->ts));
		te_end(c, pkt, te);
	}
	tl_cursor_end(&cur);
}

static void parallelism(struct pf_ctx *c)
{
	struct tl_cursor cur;
	size_t pkt, te;

	tl_cursor_par(&cur, c->tl);
	for (const struct tl_par *p; (p = tl_next(&cur));) {
		te_begin(c, p->ts, UUID_PAR, TYPE_COUNTER, &pkt, &te);
		pb_i64(&c->b, TE_COUNTER, p->n);
		te_end(c, pkt, te);
	}
	tl_cursor_end(&cur);
}

int timeline_render_perfetto(const struct timeline *tl, const struct model *m, FILE *out)
{
	struct pf_ctx c = {.tl = tl, .m = m, .out = out, .cpu = -1};
	struct tl_cursor cur;
	int last_cpu = 0;

	process_tree(&c);
	track_descriptors(&c);
	tl_cursor_records(&cur, tl, m);
	for (const struct ev_hdr *h; !c.err && (h = tl_next_record(&cur, m));) {
		if (h->ts < tl->t0 || h->ts > tl->t1 || h->type >= EV_META_TASK)
			continue;
		ftrace_event(&c, h, &last_cpu);
	}
	tl_cursor_end(&cur);
	bundle_close(&c);
	wait_slices(&c);
	waker_instants(&c);
	parallelism(&c);
	if (pb_flush(&c.b, out))
		c.err = -1;
	pb_free(&c.b);
	if (c.err)
		errmsg("failed to write the Perfetto trace");
	return c.err;
}
