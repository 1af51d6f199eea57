/*
 * doctor_report.h — a wait-for graph's findings as text (people), JSON (tests, tools) or DOT.
 *
 * Renderers only format: every decision is in waitgraph_analyze(). The same functions serve
 * the hung-process snapshot and live detection; struct doctor_meta says where the data came
 * from and what the snapshot cost.
 *
 * JSON schema (version 1):
 *   { "version": 1, "pid": N, "source": "snapshot",
 *     "summary": { "processes", "threads", "stuck", "deadlocks" },
 *     "snapshot": { "proc_ms", "stacks_ms", "python_ms", "total_ms", "stop_max_us", "stop_avg_us",
 *                   "stacks_taken", "stacks_failed", "changed", "interrupted",
 *                   "regs_source": "bpf"|"proc", "regs_ms" (of which "regs_load_ms"),
 *                   "memory_ms", "unwind_ms",
 *                   "threads_stopped", "running_not_read", "moved_not_read", "rereads" },
 *     "processes": [ { "pid", "ppid", "comm", "exe" } ],
 *     "deadlocks": [ the findings, as render/deadlock_json.h writes them for every path ],
 *     "threads": [ { "tid", "pid", "comm", "state", "stuck", "deadlock": index|null,
 *                    "wait": { "desc", "kind", "addr", "name", "owner" } | null,
 *                    "stop_us", "stack_error",
 *                    "stack": [ { "pc", "function", "offset", "file", "line", "module" } ] } ] }
 * A CPython process read as Python (doctor_python.h) adds: processes[].runtime ("CPython
 * 3.11.2"), processes[].tasks [ { "name", "state", "awaits", "coroutines": [ { "function",
 * "file", "line" } ] } ] and "tasks_note"; threads[].name (threading's), "python" (frames as
 * above, innermost first) and "python_wait" (index of the frame the wait is made at);
 * deadlocks[].threads[].name and "at" { "function", "file", "line" }; objects' "type" (Lock,
 * RLock, Condition, Semaphore, Event, Barrier, Queue, Thread, Process), "expr" (the waiting
 * frame's expression), "held_as" and "held_at" (the holder's name for it and its frame);
 * threads[].wait.type.
 * Addresses are hex strings; unknown strings are null.
 */
#ifndef CONLAB_DOCTOR_REPORT_H
#define CONLAB_DOCTOR_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "doctor/doctor.h"
#include "analysis/waitgraph.h"

struct doctor_meta {
	pid_t pid;		/* the process asked about */
	const char *source;	/* "snapshot" or "live" */
	int with_stacks;
	uint64_t proc_ns;	/* reading /proc and memory */
	uint64_t stacks_ns;	/* the whole stack walk */
	uint64_t python_ns;	/* reading CPython processes as Python */
	uint64_t total_ns;
	uint64_t stop_max_ns;	/* longest time one thread was stopped */
	uint64_t stop_sum_ns;
	size_t stacks_taken, stacks_failed;
	size_t changed;		/* threads whose wait changed while we looked */
	int interrupted;
	const char *warning;	/* shown at the top when not NULL (no stacks, partial) */
	const struct doctor_extra *extra;	/* more findings (doctor.h), NULL none */
	int native;		/* Python threads: print their C frames too */
	const char *regs_source;	/* "bpf" or "proc": where the registers came from */
	uint64_t regs_ns, mem_ns, unwind_ns;	/* the stack walk: registers, memory, unwinding */
	uint64_t regs_load_ns;	/* of regs_ns: loading the register reader */
	size_t stacks_running;	/* running threads left alone (no stack) */
	size_t stacks_moved;	/* threads that ran at every reading: live, no stack */
	size_t stacks_stopped;	/* running threads stopped to take their stacks */
	size_t rereads;		/* stacks read again because the thread had moved */
};

void doctor_report_text(FILE *f, const struct waitgraph *g, const struct doctor_meta *m);
void doctor_report_json(FILE *f, const struct waitgraph *g, const struct doctor_meta *m);
void doctor_report_dot(FILE *f, const struct waitgraph *g, const struct doctor_meta *m);

#endif
