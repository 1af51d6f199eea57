// SPDX-License-Identifier: GPL-2.0
/* doctor_python.c — a snapshot's CPython processes read as Python (see doctor_python.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/procmem.h"
#include "doctor/doctor_python.h"
#include "python/pyasync.h"
#include "python/pyfind.h"
#include "python/pylocks.h"
#include "python/pyread.h"
#include "doctor/snapshot.h"
#include "lib/util.h"

static ssize_t read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

/* Copy the reader's threads into the graph's threads of the same tids. */
static void fill_threads(struct waitgraph *g, pid_t pid, struct py_reader *r)
{
	for (size_t i = 0; i < g->nthreads; i++) {
		struct wg_thread *t = &g->threads[i];
		const struct py_thread *pt = t->pid == pid ? py_thread_by_tid(r, t->tid) : NULL;

		if (!pt)
			continue;
		if (pt->name)
			wg_set_str(&t->name, pt->name);
		t->lang = xcalloc(pt->nframes ? pt->nframes : 1, sizeof(*t->lang));
		for (size_t k = 0; k < pt->nframes; k++) {
			t->lang[k].func = xstrdup(pt->frames[k].qualname);
			t->lang[k].file = xstrdup(pt->frames[k].file);
			t->lang[k].line = pt->frames[k].line;
			t->lang[k].entry = pt->frames[k].entry;
		}
		t->nlang = pt->nframes;
	}
}

static int read_process(struct snapshot *s, size_t p, const struct pylock_owners *owners,
			doctor_python_warn warn, void *ctx)
{
	struct wg_process *proc = &s->g.procs[p];
	struct proc_maps own = { 0 };
	const struct proc_maps *maps = &s->sp[p].maps;
	struct py_found f;
	struct py_reader r;
	char line[400];
	pid_t pid = proc->pid;
	int found;

	if (!s->sp[p].maps_ok) {
		if (procmaps_read(&own, pid, 0))
			return 0;
		maps = &own;
	}
	found = py_find(pid, maps, &f);
	procmaps_free(&own);
	if (found <= 0)
		return 0;
	if (py_reader_init(&r, read_pid, &pid, f.version, f.runtime)) {
		snprintf(line, sizeof(line), "pid %d: %s", (int)pid, r.why);
		warn(ctx, line);
		py_reader_free(&r);
		return 0;
	}
	if (py_read_threads(&r)) {
		snprintf(line, sizeof(line), "pid %d: CPython %u.%u: %s, native frames only",
			 (int)pid, f.version >> 8, f.version & 0xff, r.why);
		warn(ctx, line);
		py_reader_free(&r);
		return 0;
	}
	py_read_thread_names(&r);
	if (f.hexversion)
		snprintf(line, sizeof(line), "CPython %u.%u.%u", (unsigned)(f.hexversion >> 24),
			 (unsigned)(f.hexversion >> 16 & 0xff),
			 (unsigned)(f.hexversion >> 8 & 0xff));
	else
		snprintf(line, sizeof(line), "CPython %u.%u", f.version >> 8, f.version & 0xff);
	wg_set_str(&proc->runtime, line);
	fill_threads(&s->g, pid, &r);
	pylocks_resolve(&r, &s->g, pid, owners);
	py_read_tasks(&r, proc);
	if (r.partial) {
		snprintf(line, sizeof(line), "pid %d: Python stacks partial: %s", (int)pid, r.why);
		warn(ctx, line);
	}
	py_reader_free(&r);
	return 1;
}

size_t doctor_python(struct snapshot *s, const struct pylock_owners *owners,
		     doctor_python_warn warn, void *ctx)
{
	size_t n = 0;

	for (size_t p = 0; p < s->g.nprocs; p++)
		n += read_process(s, p, owners, warn, ctx) > 0;
	return n;
}
