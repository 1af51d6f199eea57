/*
 * syscall_table.c — number, name and kind of wait of the syscalls conlab knows: the one list
 * the model's wait kinds, the doctor's classification and the reports' names come from.
 */
#include <stddef.h>

#include "syscalls.h"
#include "lib/syscall_table.h"

struct syscall_entry {
	const char *name;
	enum sys_wait wait;
	int signals;	/* can end another thread's sleep early: see syscall_signals */
};

/* Indexed by number: a lookup per switch record costs one load, and a number given twice
 * is a compile error (-Woverride-init, part of -Wextra). */
/* NR_FUTEX_REQUEUE: the highest number in bpf/syscalls.h */
static const struct syscall_entry table[NR_FUTEX_REQUEUE + 1] = {
	/* waits: what a blocked thread is usually in */
	[NR_FUTEX] = {"futex", SW_FUTEX},
	[NR_FUTEX_WAIT] = {"futex_wait", SW_FUTEX},
	[NR_FUTEX_WAITV] = {"futex_waitv", SW_FUTEX},
	[NR_NANOSLEEP] = {"nanosleep", SW_SLEEP},
	[NR_CLOCK_NANOSLEEP] = {"clock_nanosleep", SW_SLEEP},
	[NR_RESTART_SYSCALL] = {"restart_syscall", SW_SLEEP},
	[NR_READ] = {"read", SW_READ},
	[NR_PREAD64] = {"pread64", SW_READ},
	[NR_READV] = {"readv", SW_READ},
	[NR_PREADV] = {"preadv", SW_READ},
	[NR_PREADV2] = {"preadv2", SW_READ},
	[NR_RECVFROM] = {"recvfrom", SW_READ},
	[NR_RECVMSG] = {"recvmsg", SW_READ},
	[NR_RECVMMSG] = {"recvmmsg", SW_READ},
	[NR_WRITE] = {"write", SW_WRITE},
	[NR_PWRITE64] = {"pwrite64", SW_WRITE},
	[NR_WRITEV] = {"writev", SW_WRITE},
	[NR_PWRITEV] = {"pwritev", SW_WRITE},
	[NR_PWRITEV2] = {"pwritev2", SW_WRITE},
	[NR_SENDTO] = {"sendto", SW_WRITE},
	[NR_SENDMSG] = {"sendmsg", SW_WRITE},
	[NR_SENDMMSG] = {"sendmmsg", SW_WRITE},
	[NR_SENDFILE] = {"sendfile", SW_WRITE},
	[NR_SPLICE] = {"splice", SW_WRITE},
	[NR_TEE] = {"tee", SW_WRITE},
	[NR_POLL] = {"poll", SW_POLL},
	[NR_PPOLL] = {"ppoll", SW_POLL},
	[NR_SELECT] = {"select", SW_POLL},
	[NR_PSELECT6] = {"pselect6", SW_POLL},
	[NR_EPOLL_WAIT] = {"epoll_wait", SW_POLL},
	[NR_EPOLL_PWAIT] = {"epoll_pwait", SW_POLL},
	[NR_EPOLL_PWAIT2] = {"epoll_pwait2", SW_POLL},
	[NR_IO_URING_ENTER] = {"io_uring_enter", SW_POLL},
	[NR_IO_GETEVENTS] = {"io_getevents", SW_POLL},
	[NR_IO_PGETEVENTS] = {"io_pgetevents", SW_POLL},
	[NR_ACCEPT] = {"accept", SW_ACCEPT},
	[NR_ACCEPT4] = {"accept4", SW_ACCEPT},
	[NR_CONNECT] = {"connect", SW_ACCEPT},
	[NR_WAIT4] = {"wait4", SW_CHILD},
	[NR_WAITID] = {"waitid", SW_CHILD},
	[NR_PAUSE] = {"pause", SW_SIGNAL},
	[NR_RT_SIGSUSPEND] = {"rt_sigsuspend", SW_SIGNAL},
	[NR_RT_SIGTIMEDWAIT] = {"rt_sigtimedwait", SW_SIGNAL},
	/* SysV IPC: another process ends the wait, which one is not known */
	[NR_SEMOP] = {"semop", SW_OTHER},
	[NR_SEMTIMEDOP] = {"semtimedop", SW_OTHER},
	[NR_MSGSND] = {"msgsnd", SW_OTHER},
	[NR_MSGRCV] = {"msgrcv", SW_OTHER},
	/* calls that do not wait (or not for another thread), named in dumps and reports */
	[NR_OPEN] = {"open", SW_OTHER},
	[NR_OPENAT] = {"openat", SW_OTHER},
	[NR_CLOSE] = {"close", SW_OTHER},
	[NR_STAT] = {"stat", SW_OTHER},
	[NR_FSTAT] = {"fstat", SW_OTHER},
	[NR_LSEEK] = {"lseek", SW_OTHER},
	[NR_MMAP] = {"mmap", SW_OTHER},
	[NR_MUNMAP] = {"munmap", SW_OTHER},
	[NR_IOCTL] = {"ioctl", SW_OTHER},
	[NR_PIPE] = {"pipe", SW_OTHER},
	[NR_PIPE2] = {"pipe2", SW_OTHER},
	[NR_DUP] = {"dup", SW_OTHER},
	[NR_DUP2] = {"dup2", SW_OTHER},
	[NR_SCHED_YIELD] = {"sched_yield", SW_OTHER},
	[NR_GETPID] = {"getpid", SW_OTHER},
	[NR_SOCKET] = {"socket", SW_OTHER},
	[NR_BIND] = {"bind", SW_OTHER},
	[NR_LISTEN] = {"listen", SW_OTHER},
	[NR_CLONE] = {"clone", SW_OTHER},
	[NR_CLONE3] = {"clone3", SW_OTHER},
	[NR_FORK] = {"fork", SW_OTHER},
	[NR_EXECVE] = {"execve", SW_OTHER},
	[NR_EXIT] = {"exit", SW_OTHER, 1},
	[NR_EXIT_GROUP] = {"exit_group", SW_OTHER, 1},
	[NR_KILL] = {"kill", SW_OTHER, 1},
	[NR_TKILL] = {"tkill", SW_OTHER, 1},
	[NR_TGKILL] = {"tgkill", SW_OTHER, 1},
	[NR_RT_SIGQUEUEINFO] = {"rt_sigqueueinfo", SW_OTHER, 1},
	[NR_RT_TGSIGQUEUEINFO] = {"rt_tgsigqueueinfo", SW_OTHER, 1},
	[NR_PIDFD_SEND_SIGNAL] = {"pidfd_send_signal", SW_OTHER, 1},
	[NR_FCNTL] = {"fcntl", SW_OTHER},
	[NR_FLOCK] = {"flock", SW_OTHER},
	[NR_FSYNC] = {"fsync", SW_OTHER},
	[NR_PTRACE] = {"ptrace", SW_OTHER},
	[NR_EVENTFD] = {"eventfd", SW_OTHER},
	[NR_EVENTFD2] = {"eventfd2", SW_OTHER},
	[NR_TIMERFD_CREATE] = {"timerfd_create", SW_OTHER},
	[NR_FUTEX_WAKE] = {"futex_wake", SW_OTHER},
	[NR_FUTEX_REQUEUE] = {"futex_requeue", SW_OTHER},
};

static const struct syscall_entry *lookup(long nr)
{
	if (nr < 0 || (unsigned long)nr >= sizeof(table) / sizeof(table[0]) || !table[nr].name)
		return NULL;
	return &table[nr];
}

const char *syscall_name(long nr)
{
	const struct syscall_entry *e = lookup(nr);

	return e ? e->name : NULL;
}

enum sys_wait syscall_wait(long nr)
{
	const struct syscall_entry *e = lookup(nr);

	return e ? e->wait : SW_OTHER;
}

int syscall_signals(long nr)
{
	const struct syscall_entry *e = lookup(nr);

	return e && e->signals;
}
