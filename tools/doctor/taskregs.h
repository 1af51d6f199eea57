/*
 * taskregs.h — the user registers of every thread of a process, read without stopping it.
 *
 * A thread asleep in the kernel (in a syscall, a page fault, a stop) has its user registers
 * saved at its entry into the kernel, and they stay as they are until it returns to user
 * space. The doctor reads them with a BPF task iterator (bpf/taskregs.bpf.c:
 * bpf_task_pt_regs, all 17 DWARF registers), or, where BPF cannot be loaded, from
 * /proc/PID/task/TID/syscall (the stack and instruction pointers only). Neither sends a
 * signal, stops, or wakes the thread.
 *
 * Each thread also carries its context-switch count: a thread seen asleep twice with the same
 * count has not run in between, so whatever was read of it between the two readings belongs
 * to one and the same wait.
 */
#ifndef CONLAB_TASKREGS_H
#define CONLAB_TASKREGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TREGS_NREGS 17		/* DWARF x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define TREGS_SP 7
#define TREGS_PC 16
#define TREGS_ALL ((1u << TREGS_NREGS) - 1)

struct task_regs {
	pid_t tid;
	char state;		/* /proc letters: R runnable or running, S, D, T, t, Z */
	int on_cpu;
	uint64_t switches;	/* voluntary + involuntary context switches */
	long nr;		/* syscall number, -1 outside a syscall */
	uint64_t regs[TREGS_NREGS];
	uint32_t regs_ok;	/* bit i: regs[i] is known */
};

enum taskregs_source { TREGS_BPF, TREGS_PROC };

struct taskregs {
	enum taskregs_source source;
	struct taskregs_bpf *skel;	/* the CO-RE build, when it is the one loaded */
	int prog_fd;			/* the iterator program; -1 with the /proc reader */
	int link_fd;			/* the iterator of link_pid's threads, -1 none */
	pid_t link_pid;
	int fixed;			/* the program built for this very kernel (no CO-RE) */
	char why[160];			/* why BPF is not used, "" when it is */
	uint64_t load_ns;		/* loading the BPF reader (most of it: the kernel's BTF) */
	uint64_t ns;			/* time spent reading registers, loading included */
	size_t reads;			/* readings of a whole process */
};

/* Load the BPF reader, or settle for /proc (never fails; r->why says why). CONLAB_REGS=proc
 * in the environment chooses /proc. */
void taskregs_open(struct taskregs *r);
void taskregs_close(struct taskregs *r);
const char *taskregs_source_name(const struct taskregs *r);

/* Every thread of pid now: *out (malloc'd, caller frees) and its length. 0, or -errno when the
 * process cannot be read at all. */
int taskregs_read(struct taskregs *r, pid_t pid, struct task_regs **out, size_t *n);

/* The thread is asleep in the kernel (not runnable, not exited): its registers are those of
 * its entry into the kernel. */
int taskregs_asleep(const struct task_regs *t);
/* Two readings of a thread asleep in the same wait, with no run in between. */
int taskregs_same_wait(const struct task_regs *a, const struct task_regs *b);

#endif
