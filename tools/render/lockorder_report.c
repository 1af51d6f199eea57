/* lockorder_report.c — potential deadlocks as text and JSON, with names from the trace's maps. */
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "render/lockorder_report.h"
#include "model/model.h"
#include "model/pystacks.h"
#include "python/pylockwatch.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

#define PTHREAD_MUTEX_SIZE 40	/* glibc 2.36 x86-64: names an element of an array of them */

void lo_report_init(struct lo_report *r, const struct lockorder *lo, const struct model *m,
		    struct symbolizer *live, pid_t live_pid)
{
	memset(r, 0, sizeof(*r));
	r->lo = lo;
	r->m = m;
	r->live = live;
	r->live_pid = live_pid;
	procsyms_init(&r->syms, m);
	r->ncyc = lockorder_cycles(lo, &r->cyc);
	for (size_t i = 0; i < r->ncyc; i++)
		r->real += !r->cyc[i].guarded;
}

void lo_report_free(struct lo_report *r)
{
	procsyms_free(&r->syms);
	free(r->cyc);
	memset(r, 0, sizeof(*r));
}

/* The trace's maps first: they are there even when the process is gone. */
static struct symbolizer *sym_for(struct lo_report *r, pid_t pid)
{
	struct symbolizer *s = procsyms_get(&r->syms, (uint32_t)pid);

	return s ? s : (pid == r->live_pid ? r->live : NULL);
}

void lo_report_code_name(struct lo_report *r, pid_t pid, uint64_t pc, char *buf, size_t n)
{
	struct symbolizer *s = sym_for(r, pid);
	struct sym_code c = {0};

	if (s && !symbolizer__code(s, pc, SYM_RETADDR, &c) && c.func) {
		if (c.file)
			snprintf(buf, n, "%s (%s:%d)", c.func, strrchr(c.file, '/') ?
				 strrchr(c.file, '/') + 1 : c.file, c.line);
		else
			snprintf(buf, n, "%s+%#llx", c.func, (unsigned long long)c.off);
	} else if (c.module) {
		snprintf(buf, n, "%#llx (%s)", (unsigned long long)pc, c.module);
	} else {
		snprintf(buf, n, "%#llx", (unsigned long long)pc);
	}
}

void lo_report_lock_name(struct lo_report *r, pid_t pid, uint64_t addr, char *buf, size_t n)
{
	struct symbolizer *s = sym_for(r, pid);
	char name[128];

	if (r->py && pid == r->py->pid && pylw_lock_name(r->py, addr, NULL)) {
		pylw_lock_label(r->py, addr, buf, n);
		return;
	}
	if (s && !symbolizer__data_sized(s, addr, PTHREAD_MUTEX_SIZE, name, sizeof(name)))
		snprintf(buf, n, "%s (%#llx)", name, (unsigned long long)addr);
	else
		snprintf(buf, n, "%#llx", (unsigned long long)addr);
}

static const struct m_stack *stack_of(struct lo_report *r, const struct lo_edge *e)
{
	return r->m && e->stack_id >= 0 ? model_stack(r->m, e->stack_id) : NULL;
}

/* Where the edge's thread took its two locks in Python code (EV_LOCK_PY), if recorded. */
static int py_sites(struct lo_report *r, const struct lo_edge *e, struct m_lock_sites *s)
{
	return r->m && !model_lock_sites(r->m, (uint32_t)e->tid, e->from, e->to, s) &&
	       (s->nfrom || s->nto);
}

static const char *base_name(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path ? path : "?";
}

/* " lock_order.py:33 in left" then the callers, one a line, innermost first. */
static void py_site_text(FILE *f, const struct m_pyframe *const *fr, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%s%s:%d in %s\n", i ? "      from " : " ", base_name(fr[i]->file),
			fr[i]->line, fr[i]->qualname ? fr[i]->qualname : "?");
	if (!n)
		fprintf(f, " (no Python frame recorded)\n");
}

/* A Python Lock: by the name read while the program ran (live), or the one the recorder
 * wrote for it (a Lock a thread slept on), else by its semaphore. */
static void py_lock_label(struct lo_report *r, const struct lo_edge *e, uint64_t sem, char *buf,
			  size_t n)
{
	const char *type = NULL, *name;

	if (r->py) {
		pylw_lock_label(r->py, sem, buf, n);
		return;
	}
	name = r->m ? model_sync_name(r->m, (uint32_t)e->pid, sem, &type) : NULL;
	if (name)
		snprintf(buf, n, "%s (%s)", name, type && *type ? type : "Lock");
	else
		snprintf(buf, n, "a Lock (semaphore %#llx)", (unsigned long long)sem);
}

static void py_thread_label(struct lo_report *r, pid_t tid, char *buf, size_t n)
{
	const struct m_thread *t = r->m ? model_thread(r->m, (uint32_t)tid) : NULL;

	if (r->py)
		pylw_thread_label(r->py, tid, buf, n);
	else if (t && t->comm[0])
		snprintf(buf, n, "%s (tid %d)", t->comm, (int)tid);
	else
		snprintf(buf, n, "thread %d", (int)tid);
}

/* An edge between two CPython Locks: by Python names and lines; its C sites and stack are
 * the interpreter's own, which say nothing of the program. */
static int python_edge(FILE *f, struct lo_report *r, const struct lo_edge *e)
{
	char who[128], a[160], b[160];
	struct m_lock_sites s;

	if (!(e->flags & LO_PY) || (!r->py && !r->m))
		return 0;
	py_thread_label(r, e->tid, who, sizeof(who));
	py_lock_label(r, e, e->from, a, sizeof(a));
	py_lock_label(r, e, e->to, b, sizeof(b));
	if (!py_sites(r, e, &s)) {
		fprintf(f, "  %s holds %s\n    then takes %s\n", who, a, b);
		return 1;
	}
	fprintf(f, "  %s holds %s taken at", who, a);
	py_site_text(f, s.from, s.nfrom);
	fprintf(f, "    then takes %s at", b);
	py_site_text(f, s.to, s.nto);
	return 1;
}

/* A lock of an edge: a Python Lock by its Python name, else as C names it. */
static void edge_lock_name(struct lo_report *r, const struct lo_edge *e, uint64_t addr,
			   char *buf, size_t n)
{
	if ((e->flags & LO_PY) && (r->py || r->m))
		py_lock_label(r, e, addr, buf, n);
	else
		lo_report_lock_name(r, e->pid, addr, buf, n);
}

static void py_site_json(struct json *j, const char *key, const struct m_pyframe *const *fr,
			 uint32_t n)
{
	json_arr_begin(j, key);
	for (uint32_t i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_kv_str(j, "function", fr[i]->qualname);
		json_kv_str(j, "file", fr[i]->file);
		json_kv_i64(j, "line", fr[i]->line);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void lo_report_text(FILE *f, struct lo_report *r)
{
	char a[160], b[160], s1[192], s2[192];
	size_t real = 0, guarded = 0;
	struct m_lock_sites ps;

	for (size_t i = 0; i < r->ncyc; i++) {
		const struct lo_cycle *cy = &r->cyc[i];
		const struct lo_edge *e0 = &r->lo->e[cy->edges[0]];

		if (cy->guarded)
			fprintf(f, "\nguarded inversion #%zu (not a deadlock): lock-order inversion over "
				"%zu locks, %zu threads\n", ++guarded, cy->n, cy->n);
		else
			fprintf(f, "\nPOTENTIAL DEADLOCK #%zu: lock-order inversion over %zu locks, "
				"%zu threads\n", ++real, cy->n, cy->n);
		if (cy->guarded) {
			lo_report_lock_name(r, e0->pid, cy->gate, a, sizeof(a));
			fprintf(f, "  guarded_by: %s is held across every edge\n", a);
		}
		for (size_t k = 0; k < cy->n; k++) {
			const struct lo_edge *e = &r->lo->e[cy->edges[k]];
			const struct m_stack *st = stack_of(r, e);

			if (python_edge(f, r, e))
				continue;
			lo_report_lock_name(r, e->pid, e->from, a, sizeof(a));
			lo_report_lock_name(r, e->pid, e->to, b, sizeof(b));
			lo_report_code_name(r, e->pid, e->from_ret, s1, sizeof(s1));
			lo_report_code_name(r, e->pid, e->to_ret, s2, sizeof(s2));
			fprintf(f, "  thread %d holds %s%s (taken at %s)\n    then takes %s%s at %s\n",
				(int)e->tid, a, e->flags & LEF_FROM_READ ? " for reading" : "", s1, b,
				e->flags & LEF_TO_READ ? " for reading" : "", s2);
			for (uint32_t fr = 0; st && fr < st->n && fr < 8; fr++) {
				lo_report_code_name(r, e->pid, st->ips[fr], s1, sizeof(s1));
				fprintf(f, "      #%u %s\n", fr, s1);
			}
			if (py_sites(r, e, &ps)) {
				fprintf(f, "    in Python: %s taken at", a);
				py_site_text(f, ps.from, ps.nfrom);
				fprintf(f, "      then %s at", b);
				py_site_text(f, ps.to, ps.nto);
			}
		}
	}
	for (size_t i = 0; i < r->lo->noverflow; i++)
		fprintf(f, "\nthread %d held more than 16 locks at once: the locks past the 16th "
			"were not tracked (edges from them are missing)\n",
			(int)r->lo->overflow_tids[i]);
	if (!r->ncyc)
		fprintf(f, "no lock-order inversion (%zu lock-order edges seen)\n", r->lo->n);
}

void lo_report_json(struct json *j, struct lo_report *r)
{
	struct m_lock_sites ps;
	char buf[192];

	for (size_t i = 0; i < r->ncyc; i++) {
		const struct lo_cycle *cy = &r->cyc[i];
		const struct lo_edge *e0 = &r->lo->e[cy->edges[0]];

		json_obj_begin(j, NULL);
		json_kv_str(j, "kind", "potential");
		snprintf(buf, sizeof(buf), "lock-order inversion over %zu locks%s", cy->n,
			 cy->guarded ? ", guarded by a common lock (not a deadlock)" : "");
		json_kv_str(j, "summary", buf);
		json_kv_i64(j, "pid", e0->pid);
		if (cy->guarded) {
			lo_report_lock_name(r, e0->pid, cy->gate, buf, sizeof(buf));
			json_kv_str(j, "guarded_by", buf);
		}
		json_arr_begin(j, "edges");
		for (size_t k = 0; k < cy->n; k++) {
			const struct lo_edge *e = &r->lo->e[cy->edges[k]];
			const struct m_stack *st = stack_of(r, e);

			json_obj_begin(j, NULL);
			edge_lock_name(r, e, e->from, buf, sizeof(buf));
			json_kv_str(j, "from", buf);
			edge_lock_name(r, e, e->to, buf, sizeof(buf));
			json_kv_str(j, "to", buf);
			json_kv_i64(j, "tid", e->tid);
			if ((e->flags & LO_PY) && (r->py || r->m)) {
				const struct m_thread *t = r->m ? model_thread(r->m, (uint32_t)e->tid) : NULL;

				json_kv_bool(j, "python", 1);
				json_kv_str(j, "thread", r->py ? pylw_thread_name(r->py, e->tid) :
					    t && t->comm[0] ? t->comm : NULL);
			}
			lo_report_code_name(r, e->pid, e->from_ret, buf, sizeof(buf));
			json_kv_str(j, "from_site", buf);
			lo_report_code_name(r, e->pid, e->to_ret, buf, sizeof(buf));
			json_kv_str(j, "to_site", buf);
			if (py_sites(r, e, &ps)) {
				/* where the program took each lock, innermost first */
				py_site_json(j, "from_python", ps.from, ps.nfrom);
				py_site_json(j, "to_python", ps.to, ps.nto);
			}
			json_kv_bool(j, "from_read", !!(e->flags & LEF_FROM_READ));
			json_kv_bool(j, "to_read", !!(e->flags & LEF_TO_READ));
			json_arr_begin(j, "stack");
			lo_report_code_name(r, e->pid, e->to_ret, buf, sizeof(buf));
			json_str(j, buf);
			for (uint32_t fr = 0; st && fr < st->n; fr++) {
				lo_report_code_name(r, e->pid, st->ips[fr], buf, sizeof(buf));
				json_str(j, buf);
			}
			json_arr_end(j);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
}
