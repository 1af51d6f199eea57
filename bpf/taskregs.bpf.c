// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * taskregs.bpf.c — the doctor's register reader: a task iterator that writes, for each thread
 * of one process, the user registers saved at its last entry into the kernel
 * (bpf_task_pt_regs) and its context-switch counts. Reading them needs no stop and no signal:
 * a thread asleep in the kernel keeps those registers untouched until it returns to user
 * space, which its switch counts then show.
 *
 * Built into its own object and skeleton: the doctor loads this program alone, not the
 * recorder's probes and maps. Built twice: with CO-RE relocations (any kernel with BTF, at
 * the price of libbpf parsing the kernel's 5 MB BTF at every load), and with
 * TASKREGS_FIXED, the offsets of the kernel it was built on and no map at all, which
 * tools/doctor/taskregs.c loads with one bpf() call when the running kernel's BTF is the one it was
 * built against.
 */
#ifdef TASKREGS_FIXED
#define BPF_NO_PRESERVE_ACCESS_INDEX
#endif
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "taskregs_rec.h"

#define PF_KTHREAD 0x00200000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifdef TASKREGS_FIXED
/* the iterator link visits the target's threads only (kernel 6.1+, as the build kernel) */
#define TARGET_OK(task) 1
#else
/* the process asked about: the iterator walks every task when the kernel cannot filter */
__u32 target_tgid;
#define TARGET_OK(task) ((task)->tgid == target_tgid)
#endif

SEC("iter/task")
int taskregs(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct taskregs_rec r = {};
	struct pt_regs *regs;

	if (!task || !TARGET_OK(task) || (task->flags & PF_KTHREAD))
		return 0;
	/* the counts first: user space proves with them that nothing read after moved */
	r.nvcsw = task->nvcsw;
	r.nivcsw = task->nivcsw;
	asm volatile("" ::: "memory");
	r.tid = task->pid;
	r.tgid = task->tgid;
	r.state = task->__state;
	r.on_cpu = task->on_cpu;
	r.exit_state = task->exit_state;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (regs) {
		r.regs[0] = regs->ax;
		r.regs[1] = regs->dx;
		r.regs[2] = regs->cx;
		r.regs[3] = regs->bx;
		r.regs[4] = regs->si;
		r.regs[5] = regs->di;
		r.regs[6] = regs->bp;
		r.regs[7] = regs->sp;
		r.regs[8] = regs->r8;
		r.regs[9] = regs->r9;
		r.regs[10] = regs->r10;
		r.regs[11] = regs->r11;
		r.regs[12] = regs->r12;
		r.regs[13] = regs->r13;
		r.regs[14] = regs->r14;
		r.regs[15] = regs->r15;
		r.regs[16] = regs->ip;
		r.orig_ax = regs->orig_ax;
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
