/*
 * snapshot.h — what every thread of a process (and its descendants) is blocked on, right now,
 * without stopping it: /proc/PID/task/TID/{stat,syscall,wchan}, the futex words and glibc
 * lock fields read with process_vm_readv, and the pipe ends in /proc/PID/fd + fdinfo.
 *
 * The result is a struct waitgraph (threads, objects, processes) plus the raw per-thread data
 * it was decided from. Stacks are added by the caller; snapshot_refine() then re-reads the
 * wait of a thread in the light of the functions on its stack (a condvar and a semaphore wait
 * look alike in memory, not on the stack).
 *
 * glibc 2.36 x86-64 layouts (docs/design.md): pthread_mutex_t __lock @0, __owner @8, __kind @16;
 * pthread_cond_t waiters wait on __g_signals[g] @40/44, __g_refs[g] @16/20, __wrefs @36;
 * sem_t value @0, nwaiters @4, private @8; pthread_rwlock_t __cur_writer @24, __shared @28;
 * pthread_join waits on the joined thread's tid word with val = that tid.
 */
#ifndef CONLAB_SNAPSHOT_H
#define CONLAB_SNAPSHOT_H

#include <stdint.h>
#include <sys/types.h>

#include "symbols/procmaps.h"
#include "analysis/waitgraph.h"

#define SNAP_NR_RUNNING (-2)	/* /proc said "running" */
#define SNAP_NR_NONE (-1)	/* blocked outside a syscall (page fault, stop) */

struct snap_thread {
	long nr;		/* syscall number or SNAP_NR_* */
	uint64_t args[6];
	uint64_t sp, pc;	/* user sp and pc at the syscall */
	char state;		/* /proc state letter */
	char wchan[48];
	uint32_t mem[32];	/* futex word neighbourhood: mem[12] is the word at args[0] */
	uint32_t mem_ok;	/* bit i: mem[i] was read */
};

struct pipe_end {
	pid_t pid;
	uint64_t ino;
	int fd;
	int write;		/* 1: write end, 0: read end */
};

struct snap_proc {
	struct proc_maps maps;
	int maps_ok;
};

struct snapshot {
	struct waitgraph g;
	struct snap_thread *st;		/* parallel to g.threads */
	size_t cap_st;
	struct snap_proc *sp;		/* parallel to g.procs */
	size_t cap_sp;
	struct pipe_end *pipes;		/* pipe fds of every process that touches a waited pipe */
	size_t npipes, cap_pipes;
	pid_t root;
	uint64_t proc_ns;		/* time spent reading /proc and memory */
	size_t changed;			/* threads whose wait changed between the two readings */
	char err[256];
};

#define SNAP_CHILDREN 0x1	/* follow child processes */

/* 0, or -errno with a one-line reason in s->err (no such process, a kernel thread, a zombie,
 * not permitted). */
int snapshot_take(struct snapshot *s, pid_t pid, unsigned flags);
/* Reclassify thread ti's wait knowing the functions on its stack, innermost first. */
void snapshot_refine(struct snapshot *s, int ti, const char *const *funcs, size_t n);
/* Read the waits again: a thread whose wait (or whose lock's owner) changed is making progress
 * and is marked running. Returns how many changed. */
size_t snapshot_recheck(struct snapshot *s);
void snapshot_free(struct snapshot *s);

#endif
