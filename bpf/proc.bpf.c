// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * proc.bpf.c — the life of traced tasks: fork (threads and processes), exec, exit, rename.
 * Children of traced processes are added to the `traced` map here, in the kernel, so that a
 * child is traced from its first instruction (no /proc polling race).
 */
#include "common.bpf.h"

static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = BPF_CORE_READ(parent, tgid), cpid = BPF_CORE_READ(child, tgid);
	struct ev_fork *e;
	struct stage *st;

	if (!tgid_traced(ppid))
		return 0;
	if (cpid != ppid && !trace_all) {
		bit_set(&dying, cpid, 0);	/* a reused pid is a new process */
		if (bit_set(&traced, cpid, 1))
			count_lost(LOST_TASKMAP, EV_FORK);
	}
	e = ev_reserve(&st, sizeof(*e), EV_FORK, BPF_CORE_READ(child, pid));
	if (!e)
		return 0;
	e->parent_tid = BPF_CORE_READ(parent, pid);
	e->parent_pid = ppid;
	e->child_pid = cpid;
	e->flags = cpid == ppid ? FORKF_THREAD : 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	ev_submit(st, e);
	return 0;
}

static __always_inline int handle_exec(struct task_struct *p, pid_t old_pid,
				       struct linux_binprm *bprm)
{
	struct ev_exec *e;
	struct stage *st;
	const char *fn;

	if (!task_traced(0, p))
		return 0;
	e = ev_reserve(&st, sizeof(*e), EV_EXEC, BPF_CORE_READ(p, pid));
	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(p, tgid);
	e->old_tid = old_pid;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	fn = BPF_CORE_READ(bprm, filename);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fn) < 0)
		e->filename[0] = 0;
	ev_submit(st, e);
	return 0;
}

/* The syscall the exiting thread (current) was in: exit or exit_group, or the call a fatal
 * signal ended (a thread killed asleep in a futex wait exits from inside that call, whose
 * number is still in its saved registers); -1 when none (a fault, a kernel thread). The model
 * tells by it a thread that died in its last wait without the call's exit record. */
static __always_inline __s32 exit_syscall(void)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;

	if (cur->flags & 0x00200000 /* PF_KTHREAD */)
		return -1;
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	return (__s32)regs->orig_ax;
}

static __always_inline int handle_exit(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid), slot = tid % FUTEX_SLOTS;
	struct futex_call *fc;
	struct ev_exit *e;
	struct stage *st;
	int live;

	if (!tgid_traced(tgid))
		return 0;
	/* a thread that dies asleep in a futex call never returns from it: free its slot, or a
	 * later thread given the same tid would take that sleep for its own */
	fc = bpf_map_lookup_elem(&futex_inflight, &slot);
	if (fc && fc->tid == tid)
		fc->ts = 0;
	/* signal->live was decremented before the tracepoint: 0 means the last thread. */
	live = BPF_CORE_READ(p, signal, live.counter);
	e = ev_reserve(&st, sizeof(*e), EV_EXIT, tid);
	if (e) {
		e->pid = tgid;
		e->exit_code = BPF_CORE_READ(p, exit_code);
		e->flags = live == 0 ? EXITF_GROUP_DEAD : 0;
		e->nr = exit_syscall();
		if (e->nr >= 0)
			e->flags |= EXITF_IN_SYSCALL;
		if (live == 0) {
			int gec = BPF_CORE_READ(p, signal, group_exit_code);

			if (gec)
				e->exit_code = gec;
		}
		ev_submit(st, e);
	}
	/* The last thread still has its final switch-out to come: mark the process dying and
	 * let sched.bpf.c forget it after that switch. */
	if (live == 0 && !trace_all)
		bit_set(&dying, tgid, 1);
	return 0;
}

static __always_inline int handle_rename(struct task_struct *t, const char *comm)
{
	struct ev_rename *e;
	struct stage *st;

	if (!task_traced(0, t))
		return 0;
	e = ev_reserve(&st, sizeof(*e), EV_RENAME, BPF_CORE_READ(t, pid));
	if (!e)
		return 0;
	if (bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm) < 0)
		e->comm[0] = 0;
	ev_submit(st, e);
	return 0;
}

TP_TWINS(sched_process_fork, fork, handle_fork(parent, child),
	 struct task_struct *parent, struct task_struct *child)

TP_TWINS(sched_process_exec, exec, handle_exec(p, old_pid, bprm),
	 struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)

TP_TWINS(sched_process_exit, exit, handle_exit(p), struct task_struct *p)

TP_TWINS(task_rename, rename, handle_rename(t, comm), struct task_struct *t, const char *comm)
