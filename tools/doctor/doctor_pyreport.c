// SPDX-License-Identifier: GPL-2.0
/* doctor_pyreport.c — Python frames and objects in the doctor's report (doctor_pyreport.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor_pyreport.h"
#include "lib/json.h"

const struct wg_langframe *dr_py_wait_frame(const struct wg_thread *t)
{
	if (!t->nlang)
		return NULL;
	return &t->lang[t->lang_wait >= 0 && (size_t)t->lang_wait < t->nlang ? t->lang_wait : 0];
}

/* Line n of a file as the process sees it (its root may differ from ours); 0 or -1. */
static int source_line(pid_t pid, const char *file, int n, char *buf, size_t len)
{
	char path[600];
	FILE *f;
	int i = 0, ok = -1;

	if (!file || !file[0] || file[0] == '<' || n <= 0)
		return -1;	/* "<string>", "<stdin>": no file */
	/* a relative name is relative to the directory the program was started in, which is
	 * usually still its working directory */
	snprintf(path, sizeof(path), "/proc/%d/%s%s", (int)pid, file[0] == '/' ? "root" : "cwd/",
		 file);
	f = fopen(path, "r");
	if (!f && file[0] == '/')
		f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(buf, (int)len, f)) {
		size_t l = strlen(buf);
		int whole = l && buf[l - 1] == '\n';

		if (whole && ++i == n) {
			ok = 0;
			break;
		}
		if (!whole && l + 1 < len)
			break;	/* the last line, with no newline */
		if (i > 1000000)
			break;
	}
	fclose(f);
	if (ok)
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

void dr_py_print_frame(FILE *f, pid_t pid, const struct wg_langframe *fr, const char *indent)
{
	char src[512];
	const char *s = src;

	fprintf(f, "%sFile \"%s\", line %d, in %s\n", indent, fr->file ? fr->file : "?", fr->line,
		fr->func ? fr->func : "?");
	if (source_line(pid, fr->file, fr->line, src, sizeof(src)))
		return;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s)
		fprintf(f, "%s  %s\n", indent, s);
}

void dr_py_print_stack(FILE *f, const struct wg_thread *t, const char *indent)
{
	for (size_t i = 0; i < t->nlang; i++)
		dr_py_print_frame(f, t->pid, &t->lang[i], indent);
}

const char *dr_py_object(const struct wg_object *o, char *buf, size_t n)
{
	if (o->name && o->name[0] == '<')	/* Python's repr says the type already */
		snprintf(buf, n, "%s", o->name);
	else if (o->expr)	/* "Lock bob.lock (dst.lock)": the global path, then the frame's */
		snprintf(buf, n, "%s %s (%s)", o->type, o->name, o->expr);
	else
		snprintf(buf, n, "%s %s", o->type, o->name ? o->name : "(no name found)");
	return buf;
}

void dr_py_json_thread(struct json *j, const struct wg_thread *t)
{
	json_kv_str(j, "name", t->name);
	if (!t->nlang)
		return;
	json_kv_i64(j, "python_wait", t->lang_wait >= 0 ? t->lang_wait : 0);
	json_arr_begin(j, "python");
	for (size_t i = 0; i < t->nlang; i++) {
		json_obj_begin(j, NULL);
		json_kv_str(j, "function", t->lang[i].func);
		json_kv_str(j, "file", t->lang[i].file);
		if (t->lang[i].line)
			json_kv_i64(j, "line", t->lang[i].line);
		else
			json_kv_null(j, "line");
		json_obj_end(j);
	}
	json_arr_end(j);
}

void dr_py_json_object(struct json *j, const struct wg_object *o)
{
	if (!o->type)
		return;
	json_kv_str(j, "type", o->type);
	json_kv_str(j, "expr", o->expr ? o->expr : o->name);
	json_kv_str(j, "held_as", o->held_as);
	json_kv_str(j, "held_at", o->held_at);
	/* how the holder is known: "with" (its frame's __exit__), "probes" (--locks saw the
	 * acquire()), "owner" (an RLock's or a join's own field), null: not known */
	json_kv_str(j, "held_by", !o->owner ? NULL : o->held_probe ? "probes" :
		    o->held_at ? "with" : "owner");
}

/* "the event loop (MainThread, tid 12): 0 callbacks ready, ..." and, when nothing can wake
 * it, what that means for its tasks */
static void print_loop(FILE *f, const struct waitgraph *g, const struct wg_process *p)
{
	int ti = wg_find_thread(g, p->loop.tid);
	const char *name = ti >= 0 && g->threads[ti].name ? g->threads[ti].name : "thread";

	if (!p->loop.tid)
		return;
	fprintf(f, "  the event loop (%s, tid %d): ", name, (int)p->loop.tid);
	if (p->loop.ready < 0 || p->loop.scheduled < 0)
		fprintf(f, "its queues could not be read");
	else
		fprintf(f, "%" PRId64 " callback%s ready, %" PRId64 " timer%s scheduled",
			p->loop.ready, p->loop.ready == 1 ? "" : "s", p->loop.scheduled,
			p->loop.scheduled == 1 ? "" : "s");
	if (p->loop.fds == WG_LOOP_OWN_FDS)
		fprintf(f, ", 1 file descriptor watched: its own wakeup socket");
	else if (p->loop.fds >= 0)
		fprintf(f, ", %" PRId64 " file descriptors watched, its own wakeup socket among "
			"them", p->loop.fds);
	fputc('\n', f);
	if (p->loop.stalled)
		fprintf(f, "  nothing can wake it: no callback, no timer, no descriptor but its own, "
			   "and no other thread left to call it. Its pending tasks wait for ever: "
			   "each awaits what only another of its tasks could do (set an Event, "
			   "put an item, release a Lock)\n");
}

void dr_py_print_tasks(FILE *f, const struct waitgraph *g)
{
	for (size_t i = 0; i < g->nprocs; i++) {
		const struct wg_process *p = &g->procs[i];

		if (!p->ntasks && !p->tasks_note)
			continue;
		fprintf(f, "\nasyncio tasks of pid %d (%s): %zu\n", (int)p->pid, p->comm,
			p->ntasks);
		print_loop(f, g, p);
		if (p->tasks_note)
			fprintf(f, "  (%s)\n", p->tasks_note);
		for (size_t k = 0; k < p->ntasks; k++) {
			const struct wg_task *t = &p->tasks[k];

			fprintf(f, "  %s (%s)", t->name, t->state);
			if (t->awaits)
				fprintf(f, " awaits %s", t->awaits);
			fputc('\n', f);
			for (size_t c = 0; c < t->nchain; c++)
				dr_py_print_frame(f, p->pid, &t->chain[c], "      ");
		}
	}
}

void dr_py_json_tasks(struct json *j, const struct wg_process *p)
{
	if (!p->ntasks && !p->tasks_note)
		return;
	if (p->loop.tid) {
		json_obj_begin(j, "event_loop");
		json_kv_u64(j, "tid", (uint64_t)p->loop.tid);
		json_kv_i64(j, "ready", p->loop.ready);
		json_kv_i64(j, "scheduled", p->loop.scheduled);
		json_kv_i64(j, "fds_watched", p->loop.fds);
		json_kv_bool(j, "stalled", p->loop.stalled);
		json_obj_end(j);
	}
	json_kv_str(j, "tasks_note", p->tasks_note);
	json_arr_begin(j, "tasks");
	for (size_t k = 0; k < p->ntasks; k++) {
		const struct wg_task *t = &p->tasks[k];

		json_obj_begin(j, NULL);
		json_kv_str(j, "name", t->name);
		json_kv_str(j, "state", t->state);
		json_kv_str(j, "awaits", t->awaits);
		json_arr_begin(j, "coroutines");
		for (size_t c = 0; c < t->nchain; c++) {
			json_obj_begin(j, NULL);
			json_kv_str(j, "function", t->chain[c].func);
			json_kv_str(j, "file", t->chain[c].file);
			json_kv_i64(j, "line", t->chain[c].line);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}
