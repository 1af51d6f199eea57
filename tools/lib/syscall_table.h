/*
 * syscall_table.h — the syscalls conlab names, and what kind of wait a thread asleep in each
 * is: one table (syscall_table.c) over the numbers of bpf/syscalls.h, read by the model, the
 * doctor and the reports.
 */
#ifndef CONLAB_SYSCALL_TABLE_H
#define CONLAB_SYSCALL_TABLE_H

/* What a thread blocked in a syscall waits for, from the call alone (before its arguments). */
enum sys_wait {
	SW_OTHER = 0,	/* not a wait we tell apart (or not a waiting call) */
	SW_FUTEX,	/* futex, futex_wait, futex_waitv */
	SW_SLEEP,	/* nanosleep, clock_nanosleep, restart_syscall (a timed wait resumed) */
	SW_READ,	/* read, recv...: on an fd */
	SW_WRITE,	/* write, send..., splice */
	SW_POLL,	/* poll, select, epoll, io_uring_enter, io_getevents */
	SW_ACCEPT,	/* accept, accept4, connect */
	SW_CHILD,	/* wait4, waitid */
	SW_SIGNAL,	/* pause, rt_sigsuspend, rt_sigtimedwait */
	SW_NKINDS
};

/* Syscall name for x86-64 numbers we care about ("futex", "read"); NULL if unknown. */
const char *syscall_name(long nr);
/* The kind of wait syscall nr is; SW_OTHER for calls not in the table. */
enum sys_wait syscall_wait(long nr);
/* Can a thread in syscall nr end another thread's sleep early? A signal it sends does (kill,
 * tgkill, ...), and so does an exit (the parent's SIGCHLD). Any other sleep ends by its timer,
 * in interrupt context. */
int syscall_signals(long nr);

#endif
