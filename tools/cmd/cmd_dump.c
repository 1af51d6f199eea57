/* cmd_dump.c — `conlab dump`: every record of a trace, one line each, in time order. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "model/model.h"
#include "trace/trace.h"
#include "lib/syscall_table.h"
#include "lib/util.h"

static const char usage[] =
	"usage: conlab dump [-i FILE]\n"
	"\n"
	"Print the events of a trace file one per line, in time order, like perf script:\n"
	"seconds from the start, thread (comm/tid), event, details.\n"
	"\n"
	"examples:\n"
	"  conlab dump -i run.clab | less\n"
	"  conlab dump -i run.clab | grep futex\n";

static void details(const struct model *m, const struct ev_hdr *h, FILE *out)
{
	switch (h->type) {
	case EV_SWITCH:
	case EV_SWITCH_SLEEP: {
		const struct ev_switch *s = (const void *)h;
		static const char *st[] = {"runnable", "sleeping", "disk", "stopped", "dead", "other"};

		fprintf(out, "switch   cpu %u prev %s -> ", s->cpu,
			s->prev_state < 6 ? st[s->prev_state] : "?");
		if (s->next_tid)
			fprintf(out, "%s/%u", model_comm(m, s->next_tid, "-"), s->next_tid);
		else
			fprintf(out, "(other)");
		if (h->type == EV_SWITCH_SLEEP) {
			const struct ev_switch_sleep *e = (const void *)h;
			const char *n = syscall_name(e->nr);

			if (e->nr < 0)
				fprintf(out, "  [not in a syscall]");
			else if (n)
				fprintf(out, "  [%s(0x%" PRIx64 ", 0x%" PRIx64 ", %u)", n,
					(uint64_t)e->arg0, (uint64_t)e->arg1, e->arg2);
			else
				fprintf(out, "  [syscall %d(0x%" PRIx64 ")", e->nr, (uint64_t)e->arg0);
			if (syscall_wait(e->nr) == SW_FUTEX)
				fprintf(out, " word=%u +4=%u +8=%u%s", e->word0, e->word4, e->word8,
					e->sw.flags & SWF_TIMED ? " timed" : "");
			if (e->nr >= 0)
				fprintf(out, "]");
			if (e->ret_addr)
				fprintf(out, " caller=0x%" PRIx64, (uint64_t)e->ret_addr);
			if (e->stack_id >= 0)
				fprintf(out, " stack=%d", e->stack_id);
		}
		break;
	}
	case EV_WAKEUP:
	case EV_WAKEUP_NEW: {
		const struct ev_wakeup *w = (const void *)h;
		const char *n = syscall_name(w->waker_nr);

		fprintf(out, "%s by %s/%u cpu %u", h->type == EV_WAKEUP ? "wakeup  " : "wake-new",
			model_comm(m, w->waker_tid, "-"), w->waker_tid, w->cpu);
		if (w->waker_nr >= 0)
			fprintf(out, " in %s(0x%" PRIx64 ")", n ? n : "?", (uint64_t)w->waker_arg0);
		break;
	}
	case EV_FORK: {
		const struct ev_fork *f = (const void *)h;

		fprintf(out, "%s by %u (pid %u), child pid %u", f->flags & FORKF_THREAD ?
			"thread  " : "fork    ", f->parent_tid, f->parent_pid, f->child_pid);
		break;
	}
	case EV_EXEC: {
		const struct ev_exec *e = (const void *)h;

		fprintf(out, "exec     %.*s (pid %u)", (int)sizeof(e->filename), e->filename, e->pid);
		break;
	}
	case EV_EXIT: {
		const struct ev_exit *e = (const void *)h;

		const char *in = e->flags & EXITF_IN_SYSCALL ? syscall_name(e->nr) : NULL;

		fprintf(out, "exit     code %d%s%s%s", e->exit_code,
			e->flags & EXITF_GROUP_DEAD ? " (last thread of the process)" : "",
			in ? " in " : "", in ? in : "");
		break;
	}
	case EV_RENAME:
		fprintf(out, "rename   %.16s", ((const struct ev_rename *)h)->comm);
		break;
	case EV_FUTEX: {
		const struct ev_futex *f = (const void *)h;

		fprintf(out, "futex    op %u addr 0x%" PRIx64 " val %u -> %d after %u %s%s%s", f->op,
			(uint64_t)f->uaddr, f->val, f->ret, f->dur,
			f->flags & FUTEXF_DUR_US ? "us" : "ns",
			f->flags & FUTEXF_SLEPT ? " asleep" : "",
			f->flags & FUTEXF_TIMEOUT ? " (timed)" : "");
		break;
	}
	case EV_WAITCALL: {
		const struct ev_waitcall *w = (const void *)h;

		fprintf(out, "waitcall sys %u arg0 %" PRIu64 " timeout %d us -> %d after %u %s", w->sys,
			(uint64_t)w->arg0, w->timeout_us, w->ret, w->dur,
			w->flags & WAITF_DUR_US ? "us" : "ns");
		break;
	}
	case EV_META_TASK: {
		const struct ev_meta_task *t = (const void *)h;

		fprintf(out, "task     pid %u ppid %u comm %.16s", t->pid, t->ppid, t->comm);
		break;
	}
	case EV_META_MAPS: {
		const struct ev_meta_maps *e = (const void *)h;

		fprintf(out, "mmap     %" PRIx64 "-%" PRIx64 " %c%c%c %s", (uint64_t)e->start,
			(uint64_t)e->end, e->prot & 1 ? 'r' : '-', e->prot & 2 ? 'w' : '-',
			e->prot & 4 ? 'x' : '-', (const char *)(e + 1));
		break;
	}
	case EV_META_MAPS_RESET:
		fprintf(out, "maps     (replaced)");
		break;
	case EV_META_CMDLINE:
		fprintf(out, "cmdline  %s", (const char *)h + sizeof(struct ev_meta_cmdline));
		break;
	case EV_META_CLOCK:
		fprintf(out, "clock    realtime %" PRIu64, (uint64_t)((const struct ev_meta_clock *)h)->real_ns);
		break;
	case EV_META_LOST: {
		const struct ev_meta_lost *l = (const void *)h;

		fprintf(out, "lost     cpu %u: ringbuf %" PRIu64 " stacks %" PRIu64 " taskmap %" PRIu64
			" futexmap %" PRIu64, h->tid, (uint64_t)l->count[LOST_RINGBUF],
			(uint64_t)l->count[LOST_STACK], (uint64_t)l->count[LOST_TASKMAP],
			(uint64_t)l->count[LOST_FUTEXMAP]);
		break;
	}
	case EV_META_STACK:
		fprintf(out, "stack    id %u, %u frames", h->tid,
			((const struct ev_meta_stack *)h)->nframes);
		break;
	case EV_META_STATUS: {
		const struct ev_meta_status *s = (const void *)h;

		static const char *const reasons[] = {
			[STOP_COMMAND_EXIT] = "command exited", [STOP_SIGNAL] = "signal",
			[STOP_DURATION] = "duration", [STOP_TARGET_GONE] = "target gone",
			[STOP_ERROR] = "error", [STOP_DEADLOCK] = "deadlock",
		};
		const char *why = s->reason < sizeof(reasons) / sizeof(reasons[0]) && reasons[s->reason] ?
			reasons[s->reason] : "?";

		fprintf(out, "end      reason %u (%s), exit status %d, %" PRIu64 " events",
			s->reason, why, s->exit_status, (uint64_t)s->events);
		break;
	}
	case EV_META_FD: {
		const struct ev_meta_fd *f = (const void *)h;

		fprintf(out, "fd       pid %u fd %d kind %u flags %#x ino %" PRIu64 " %.*s", h->tid, f->fd,
			f->kind, f->flags, (uint64_t)f->ino, (int)(h->size - sizeof(*f)),
			(const char *)(f + 1));
		break;
	}
	case EV_META_THREAD_NAME: {
		const struct ev_meta_thread_name *t = (const void *)h;

		fprintf(out, "thrname  pid %u runtime %u %.*s", t->pid, t->runtime,
			(int)strnlen((const char *)(t + 1), h->size - sizeof(*t)),
			(const char *)(t + 1));
		break;
	}
	case EV_PY_STACK: {
		const struct ev_py_stack *p = (const void *)h;
		size_t n = (h->size - offsetof(struct ev_py_stack, frames)) / sizeof(p->frames[0]);

		fprintf(out, "pystack  pid %u, %u frames%s:", p->pid, p->nframes,
			p->flags & PYSF_TRUNCATED ? " (cut)" : "");
		for (size_t i = 0; i < n && i < p->nframes; i++)
			fprintf(out, " 0x%" PRIx64 "/0x%" PRIx64, (uint64_t)p->frames[i].code,
				(uint64_t)p->frames[i].prev_instr);
		break;
	}
	case EV_LOCK_PY: {
		const struct ev_lock_py *p = (const void *)h;

		fprintf(out, "lockpy   pid %u 0x%" PRIx64 " -> 0x%" PRIx64 ", %u/%u frames:", p->pid,
			(uint64_t)p->from, (uint64_t)p->to, p->nfrom, p->nto);
		for (int i = 0; i < 2 * LOCK_PY_FRAMES; i++)
			if (i < LOCK_PY_FRAMES ? i < p->nfrom : i - LOCK_PY_FRAMES < p->nto)
				fprintf(out, "%s 0x%" PRIx64 "/0x%" PRIx64,
					i == LOCK_PY_FRAMES ? " ->" : "",
					(uint64_t)p->frames[i].code, (uint64_t)p->frames[i].prev_instr);
		break;
	}
	case EV_META_PY_FRAME: {
		const struct ev_meta_py_frame *f = (const void *)h;
		const char *q = (const char *)(f + 1);
		size_t room = h->size - sizeof(*f), ql = strnlen(q, room);

		fprintf(out, "pyframe  pid %u code 0x%" PRIx64 " at 0x%" PRIx64 ": %.*s (%.*s:%d)",
			h->tid, (uint64_t)f->code, (uint64_t)f->prev_instr, (int)ql, q,
			ql < room ? (int)strnlen(q + ql + 1, room - ql - 1) : 0,
			ql < room ? q + ql + 1 : "", f->line);
		break;
	}
	case EV_META_SYNC_NAME: {
		const struct ev_meta_sync_name *n = (const void *)h;

		fprintf(out, "syncname pid %u addr 0x%" PRIx64 " %.*s %.*s", h->tid, (uint64_t)n->addr,
			(int)strnlen(n->type, sizeof(n->type)), n->type,
			(int)strnlen((const char *)(n + 1), h->size - sizeof(*n)),
			(const char *)(n + 1));
		break;
	}
	case EV_GIL: {
		const struct ev_gil *g = (const void *)h;

		fprintf(out, "gil      pid %u op %u caller 0x%" PRIx64, g->pid, g->op,
			(uint64_t)g->ret_addr);
		break;
	}
	case EV_LOCK: {
		const struct ev_lock *l = (const void *)h;

		fprintf(out, "lock     op %u addr 0x%" PRIx64 " caller 0x%" PRIx64, l->op,
			(uint64_t)l->addr, (uint64_t)l->ret_addr);
		break;
	}
	default:
		fprintf(out, "type %u, %u bytes", h->type, h->size);
	}
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{"input", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *input = "conlab.clab";
	struct trace_reader r;
	struct model m;
	uint64_t t0 = 0;
	int opt, have_t0 = 0;

	while ((opt = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		if (opt == 'i') {
			input = optarg;
		} else if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (trace_open(&r, input))
		return 2;
	trace_warn_damage(&r.stats, input);
	model_init(&m);
	/* dump reads names and fds, not the history: what the deadlock report keeps is least */
	m.keep.no_futex_calls = 1;
	m.keep.history = HIST_LAST_MUTEX;
	for (const struct ev_hdr *h; (h = trace_next(&r));) {
		if (!have_t0)
			t0 = h->ts;
		have_t0 = 1;
		/* feed first so that names and renames are known when printing */
		model_event(&m, h);
		printf("%14.6f %16s/%-7u ", (double)(h->ts - t0) / 1e9,
		       h->type >= EV_META_TASK ? "-" : model_comm(&m, h->tid, "-"), h->tid);
		details(&m, h, stdout);
		putchar('\n');
	}
	model_free(&m);
	trace_close(&r);
	return 0;
}
