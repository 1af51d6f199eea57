/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * syscalls.h — the x86-64 syscall numbers and futex operations conlab relies on, for the
 * probes (bpf/NAME.bpf.c) and user space (tools/) alike: defined here once. The numbers are the
 * x86-64 ABI (arch/x86/entry/syscalls/syscall_64.tbl); conlab supports x86-64 only
 * (docs/design.md). Their names and the kind of wait each is are in tools/lib/syscall_table.c.
 */
#ifndef CONLAB_SYSCALLS_H
#define CONLAB_SYSCALLS_H

#define NR_READ			0
#define NR_WRITE		1
#define NR_OPEN			2
#define NR_CLOSE		3
#define NR_STAT			4
#define NR_FSTAT		5
#define NR_POLL			7
#define NR_LSEEK		8
#define NR_MMAP			9
#define NR_MUNMAP		11
#define NR_IOCTL		16
#define NR_PREAD64		17
#define NR_PWRITE64		18
#define NR_READV		19
#define NR_WRITEV		20
#define NR_PIPE			22
#define NR_SELECT		23
#define NR_SCHED_YIELD		24
#define NR_DUP			32
#define NR_DUP2			33
#define NR_PAUSE		34
#define NR_NANOSLEEP		35
#define NR_GETPID		39
#define NR_SENDFILE		40
#define NR_SOCKET		41
#define NR_CONNECT		42
#define NR_ACCEPT		43
#define NR_SENDTO		44
#define NR_RECVFROM		45
#define NR_SENDMSG		46
#define NR_RECVMSG		47
#define NR_BIND			49
#define NR_LISTEN		50
#define NR_CLONE		56
#define NR_FORK			57
#define NR_EXECVE		59
#define NR_EXIT			60
#define NR_WAIT4		61
#define NR_KILL			62
#define NR_SEMOP		65
#define NR_MSGSND		69
#define NR_MSGRCV		70
#define NR_FCNTL		72
#define NR_FLOCK		73
#define NR_FSYNC		74
#define NR_PTRACE		101
#define NR_RT_SIGTIMEDWAIT	128
#define NR_RT_SIGQUEUEINFO	129
#define NR_RT_SIGSUSPEND	130
#define NR_TKILL		200
#define NR_FUTEX		202
#define NR_IO_GETEVENTS		208
#define NR_RESTART_SYSCALL	219
#define NR_SEMTIMEDOP		220
#define NR_CLOCK_NANOSLEEP	230
#define NR_EXIT_GROUP		231
#define NR_EPOLL_WAIT		232
#define NR_TGKILL		234
#define NR_WAITID		247
#define NR_OPENAT		257
#define NR_PSELECT6		270
#define NR_PPOLL		271
#define NR_SPLICE		275
#define NR_TEE			276
#define NR_EPOLL_PWAIT		281
#define NR_TIMERFD_CREATE	283
#define NR_EVENTFD		284
#define NR_ACCEPT4		288
#define NR_EVENTFD2		290
#define NR_PIPE2		293
#define NR_PREADV		295
#define NR_PWRITEV		296
#define NR_RT_TGSIGQUEUEINFO	297
#define NR_RECVMMSG		299
#define NR_SENDMMSG		307
#define NR_PREADV2		327
#define NR_PWRITEV2		328
#define NR_IO_PGETEVENTS	333
#define NR_PIDFD_SEND_SIGNAL	424
#define NR_IO_URING_ENTER	426
#define NR_CLONE3		435
#define NR_EPOLL_PWAIT2		441
#define NR_FUTEX_WAITV		449
#define NR_FUTEX_WAKE		454
#define NR_FUTEX_WAIT		455
#define NR_FUTEX_REQUEUE	456

/* futex(2) operations (include/uapi/linux/futex.h): the command is op & FUTEX_CMD_MASK */
#define FUTEX_CMD_MASK		0x7f
#define FUTEX_WAIT		0
#define FUTEX_WAKE		1
#define FUTEX_LOCK_PI		6
#define FUTEX_UNLOCK_PI		7
#define FUTEX_TRYLOCK_PI	8
#define FUTEX_WAIT_BITSET	9
#define FUTEX_WAKE_BITSET	10
#define FUTEX_WAIT_REQUEUE_PI	11
#define FUTEX_LOCK_PI2		13
#define FUTEX_PRIVATE_FLAG	128
#define FUTEX_CLOCK_REALTIME	256
#define FUTEX_TID_MASK		0x3fffffff

#endif
