// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * gil.bpf.c — GIL uprobes (record --gil): CPython's take_gil (entry and return) and drop_gil
 * (entry), one EV_GIL record each, for traced processes only.
 *
 * take_gil and drop_gil are static functions: user space (tools/capture/gilprobe.c) finds them in the
 * .symtab of an unstripped interpreter or libpython and attaches these programs to that file
 * for every process (pid -1), so that the worker processes of a pool are seen too; the filter
 * here keeps the traced ones. A probe sits at the function's first instruction, where the
 * return address is at [%rsp]: it says who called — drop_gil from the eval breaker is a forced
 * switch, from PyEval_SaveThread a release around blocking IO.
 *
 * Cost: in CPython 3.10-3.13 builds both functions start with `push %r15`, an instruction the
 * kernel emulates (~0.5 µs a hit here) rather than single-steps (20-26 µs, docs/design.md). A
 * GIL operation happens at most every switch interval (5 ms) per thread plus twice around each
 * GIL-releasing call, so even a single-stepped entry would stay rare. Measured here
 * (tests/bench/io.sh, a loop of os.write+os.read on a pipe): +1.5 µs per drop+take pair, the
 * three hits together, on calls that cost ~0.25 µs untraced: --gil is opt-in.
 *
 * Programs are named gil_* and loaded only with --gil (source.c).
 */
#include "common.bpf.h"

static __always_inline int gil_event(struct pt_regs *ctx, __u32 op, int entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct ev_gil *e;
	struct stage *st;

	if (!tgid_traced(pid))
		return 0;
	e = ev_reserve(&st, sizeof(*e), EV_GIL, (__u32)id);
	if (!e)
		return 0;
	e->pid = pid;
	e->op = op;
	e->ret_addr = 0;
	if (entry)
		bpf_probe_read_user(&e->ret_addr, sizeof(e->ret_addr), (void *)PT_REGS_SP(ctx));
	ev_submit(st, e);
	return 0;
}

PROBE_CALL("uprobe", gil_take, gil_event(ctx, GIL_TAKE_START, 1))
PROBE_CALL("uretprobe", gil_take_ret, gil_event(ctx, GIL_TAKE_DONE, 0))
PROBE_CALL("uprobe", gil_drop, gil_event(ctx, GIL_DROP, 1))
