/*
 * deadlock_json.h — the findings of a wait-for graph as the one deadlock document shape every
 * path writes: the hung-process doctor, live detection (`conlab deadlock -- CMD`) and
 * `conlab report deadlock` on a trace. Each element of "deadlocks":
 *   { "kind": "cycle"|"cross-process"|"orphaned-owner"|"no-owner", "summary": "one line",
 *     "threads": [ { "tid", "pid", "comm", "name", "waits_for": "0x..", "holds": [..] } ],
 *     "objects": [ { "addr", "pid", "name", "kind", "owner", "owner_pid", "value", "note",
 *                    "peers": [pid..] } ],
 *     "pids": [..], "blocked_behind": [ { "tid", "pid", "comm", "name" } ] }
 * What one source knows besides the graph (Python frames, when a wait began) it adds through
 * hooks, as more members of a thread or an object.
 */
#ifndef CONLAB_DEADLOCK_JSON_H
#define CONLAB_DEADLOCK_JSON_H

#include <stddef.h>

#include "analysis/waitgraph.h"

struct json;

struct deadlock_json_hooks {
	/* more members of threads[i] of a finding (ti: its index in g->threads) */
	void (*thread)(struct json *j, const struct waitgraph *g, int ti, void *ctx);
	/* more members of an object */
	void (*object)(struct json *j, const struct wg_object *o, void *ctx);
	void *ctx;
};

/* "fork_m[1]" or "mutex 0x55d0c0a0"; buf is returned */
const char *wg_object_name(const struct wg_object *o, char *buf, size_t n);
/* "pid 812 (philo)"; buf is returned */
const char *wg_proc_label(const struct waitgraph *g, pid_t pid, char *buf, size_t n);
/* The finding's one line: "lock cycle between 2 threads of pid 812 (abba)". */
void wg_finding_summary(const struct waitgraph *g, const struct wg_finding *fd, char *buf,
			size_t n);
/* One element of "deadlocks" for finding fd; h may be NULL. */
void deadlock_json_finding(struct json *j, const struct waitgraph *g,
			   const struct wg_finding *fd, const struct deadlock_json_hooks *h);
/* One object as the deadlocks and the doctor's threads show it; h may be NULL. */
void deadlock_json_object(struct json *j, const struct wg_object *o,
			  const struct deadlock_json_hooks *h);

#endif
