/* deadlock_json.c — wait-for graph findings in the one deadlock document shape (see .h). */
#include <inttypes.h>
#include <stdio.h>

#include "lib/json.h"
#include "render/deadlock_json.h"

const char *wg_object_name(const struct wg_object *o, char *buf, size_t n)
{
	if (o->name && o->name[0])
		snprintf(buf, n, "%s", o->name);
	else if (o->kind == WG_PIPE || o->kind == WG_SOCKET)
		snprintf(buf, n, "%s:[%" PRIu64 "]", o->kind == WG_PIPE ? "pipe" : "socket", o->addr);
	else if (o->kind == WG_CHILD)
		snprintf(buf, n, (int64_t)o->addr > 0 ? "child %" PRId64 : "any child",
			 (int64_t)o->addr);
	else
		snprintf(buf, n, "%s %#" PRIx64, wg_kind_name(o->kind), o->addr);
	return buf;
}

const char *wg_proc_label(const struct waitgraph *g, pid_t pid, char *buf, size_t n)
{
	int p = wg_find_process(g, pid);

	if (p < 0)
		snprintf(buf, n, "pid %d", (int)pid);
	else
		snprintf(buf, n, "pid %d (%s)", (int)pid, g->procs[p].comm);
	return buf;
}

void wg_finding_summary(const struct waitgraph *g, const struct wg_finding *fd, char *buf,
			size_t n)
{
	char a[96], name[160];
	const struct wg_thread *t0 = &g->threads[fd->threads[0]];

	switch (fd->kind) {
	case WG_F_CYCLE:
		snprintf(buf, n, "lock cycle between %zu thread%s of %s", fd->nthreads,
			 fd->nthreads == 1 ? "" : "s", wg_proc_label(g, t0->pid, a, sizeof(a)));
		break;
	case WG_F_CROSS_PROCESS:
		snprintf(buf, n, "cycle through %zu processes", fd->npids);
		break;
	case WG_F_ORPHANED_OWNER:
		wg_object_name(&g->objects[fd->objects[0]], name, sizeof(name));
		snprintf(buf, n, "%s is held by tid %d, which is not a thread of %s", name,
			 (int)g->objects[fd->objects[0]].owner,
			 wg_proc_label(g, t0->pid, a, sizeof(a)));
		break;
	case WG_F_NO_OWNER:
		snprintf(buf, n, "%zu wait%s with no owner in %s, and no thread left to end them",
			 fd->nthreads, fd->nthreads == 1 ? "" : "s",
			 wg_proc_label(g, t0->pid, a, sizeof(a)));
		break;
	}
}

/* The members that say which thread: tid, pid, comm and the program's own name for it. */
static void thread_names(struct json *j, const struct wg_thread *t)
{
	json_kv_i64(j, "tid", t->tid);
	json_kv_i64(j, "pid", t->pid);
	json_kv_str(j, "comm", t->comm);
	json_kv_str(j, "name", t->name);
}

void deadlock_json_object(struct json *j, const struct wg_object *o,
			  const struct deadlock_json_hooks *h)
{
	char name[160];

	json_obj_begin(j, NULL);
	json_kv_hex(j, "addr", o->addr);
	json_kv_i64(j, "pid", o->pid);
	json_kv_str(j, "name", wg_object_name(o, name, sizeof(name)));
	json_kv_str(j, "kind", wg_kind_name(o->kind));
	if (o->owner)
		json_kv_i64(j, "owner", o->owner);
	else
		json_kv_null(j, "owner");
	if (o->owner_elsewhere)
		json_kv_i64(j, "owner_pid", o->owner_elsewhere);
	if (o->value >= 0)
		json_kv_i64(j, "value", o->value);
	json_kv_str(j, "note", o->note);
	if (h && h->object)
		h->object(j, o, h->ctx);
	if (wg_kind_has_peers(o->kind)) {
		json_arr_begin(j, "peers");
		for (size_t i = 0; i < o->npeers; i++)
			json_i64(j, o->peers[i]);
		json_arr_end(j);
	}
	json_obj_end(j);
}

/* A thread of a finding: what it waits for and which of the finding's locks it holds. */
static void finding_thread(struct json *j, const struct waitgraph *g,
			   const struct wg_finding *fd, int ti, const struct deadlock_json_hooks *h)
{
	const struct wg_thread *t = &g->threads[ti];

	json_obj_begin(j, NULL);
	thread_names(j, t);
	if (h && h->thread)
		h->thread(j, g, ti, h->ctx);
	json_kv_hex(j, "waits_for", g->objects[t->obj].addr);
	json_arr_begin(j, "holds");
	for (size_t o = 0; o < fd->nobjects; o++) {
		const struct wg_object *ob = &g->objects[fd->objects[o]];

		if (wg_kind_has_owner(ob->kind) && ob->kind != WG_JOIN && ob->owner == t->tid)
			json_hex(j, ob->addr);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void deadlock_json_finding(struct json *j, const struct waitgraph *g,
			   const struct wg_finding *fd, const struct deadlock_json_hooks *h)
{
	char buf[512];

	json_obj_begin(j, NULL);
	json_kv_str(j, "kind", wg_finding_name(fd->kind));
	wg_finding_summary(g, fd, buf, sizeof(buf));
	json_kv_str(j, "summary", buf);
	json_arr_begin(j, "threads");
	for (size_t k = 0; k < fd->nthreads; k++)
		finding_thread(j, g, fd, fd->threads[k], h);
	json_arr_end(j);
	json_arr_begin(j, "objects");
	for (size_t k = 0; k < fd->nobjects; k++)
		deadlock_json_object(j, &g->objects[fd->objects[k]], h);
	json_arr_end(j);
	json_arr_begin(j, "pids");
	for (size_t k = 0; k < fd->npids; k++)
		json_i64(j, fd->pids[k]);
	json_arr_end(j);
	json_arr_begin(j, "blocked_behind");
	for (size_t k = 0; k < fd->nbehind; k++) {
		json_obj_begin(j, NULL);
		thread_names(j, &g->threads[fd->behind[k]]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
