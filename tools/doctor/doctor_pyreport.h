/*
 * doctor_pyreport.h — the doctor's report for threads read as Python: frames printed as a
 * traceback prints them (File "x.py", line 12, in transfer, then the source line), innermost
 * first, and their JSON members. doctor_report.c calls these where a thread has Python frames.
 */
#ifndef CONLAB_DOCTOR_PYREPORT_H
#define CONLAB_DOCTOR_PYREPORT_H

#include <stdio.h>

#include "analysis/waitgraph.h"

struct json;

/* The frame a thread's wait is made at, or NULL when it has no Python frames. */
const struct wg_langframe *dr_py_wait_frame(const struct wg_thread *t);
/* One frame as two traceback lines (the second only when the source can be read). */
void dr_py_print_frame(FILE *f, pid_t pid, const struct wg_langframe *fr, const char *indent);
/* The Python stack, innermost first. */
void dr_py_print_stack(FILE *f, const struct wg_thread *t, const char *indent);
/* "threading.Lock" words: what a Python object is, "Lock dst.lock" */
const char *dr_py_object(const struct wg_object *o, char *buf, size_t n);
/* JSON: "name", "python" (frames) and "python_wait" (index) of a thread */
void dr_py_json_thread(struct json *j, const struct wg_thread *t);
/* The asyncio event loop and tasks of every process that has some: what could wake the loop;
 * each task's name, state, coroutine chain. */
void dr_py_print_tasks(FILE *f, const struct waitgraph *g);
/* JSON: "event_loop" and "tasks" of a process (nothing when it has none) */
void dr_py_json_tasks(struct json *j, const struct wg_process *p);
/* JSON: "type", "held_as", "held_at" of an object */
void dr_py_json_object(struct json *j, const struct wg_object *o);

#endif
