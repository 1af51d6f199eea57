/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.h — the wire format shared by the BPF programs (bpf/) and user space (tools/).
 *
 * Every record starts with struct ev_hdr. BPF records go into the ring buffer and are written
 * to the trace file unchanged; metadata records (EV_META_*) are made in user space and travel
 * in the same stream. Fixed-width fields, largest first, no pointers, no long, no bool, so the
 * layout is the same for clang -target bpf and for the host compiler.
 *
 * Change a struct, or the trace file's framing (tools/trace/trace.h): bump CLAB_WIRE_VERSION (the
 * trace reader refuses newer versions and reads every older one).
 */
#ifndef CONLAB_EVENTS_H
#define CONLAB_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides __u64 and friends */
#else
#include <linux/types.h>
#endif

#define CLAB_WIRE_VERSION 3	/* 1: first; 2: zstd-compressed chunks; 3: EV_FUTEX dur = time
				 * asleep in the call (FUTEXF_SLEPT), not the whole call */
#define CLAB_COMM_LEN 16
#define CLAB_STACK_DEPTH 32	/* frames of a user stack in the kernel's stack map */

enum ev_type {
	EV_SWITCH = 1,		/* a traced thread left or took a CPU, preempted or runnable */
	EV_SWITCH_SLEEP = 2,	/* a traced thread left the CPU to sleep: with its wait context */
	EV_WAKEUP = 3,		/* a traced thread was woken (or a new one made runnable) */
	EV_FORK = 4,		/* a traced task created a thread or a process */
	EV_EXEC = 5,		/* a traced process called exec */
	EV_EXIT = 6,		/* a traced thread exited */
	EV_RENAME = 7,		/* a traced thread changed its comm */
	EV_FUTEX = 8,		/* a traced thread's futex call returned */
	EV_LOCK = 9,		/* lock uprobes (--locks): acquire / release */
	EV_WAKEUP_NEW = 10,	/* a new traced task made runnable for the first time (ev_wakeup) */
	EV_WAITCALL = 11,	/* a traced thread's event-loop wait (epoll_wait, poll, ...) returned */
	EV_GIL = 12,		/* GIL uprobes: a CPython thread began / finished taking the GIL, dropped it */
	EV_PY_STACK = 13,	/* a CPython thread's Python frames at its blocking switch-out */
	EV_LOCK_EDGE = 20,	/* lock uprobes (--locks): a lock-order edge, first time seen */
	EV_LOCK_PY = 21,	/* the Python frames of a CPython thread's EV_LOCK_EDGE */

	/* made in user space */
	EV_META_TASK = 64,	/* a thread that existed when tracing started (or found later) */
	EV_META_MAPS = 65,	/* one mapping of a traced process, with its build-id */
	EV_META_CLOCK = 66,	/* CLOCK_MONOTONIC <-> CLOCK_REALTIME pair */
	EV_META_LOST = 67,	/* cumulative lost-event counters of one CPU */
	EV_META_CMDLINE = 68,	/* a process's command line (NUL-separated args) */
	EV_META_STATUS = 69,	/* the recording's end: reason, the command's exit status */
	EV_META_MAPS_RESET = 70,/* the maps of a process are replaced (exec, or a new snapshot) */
	EV_META_STACK = 71,	/* a user stack from the kernel's stack map, by id */
	EV_META_FD = 72,	/* what one fd of a traced process is: socket, pipe, file, ... */
	EV_META_THREAD_NAME = 73,/* a runtime's own name of a thread (a Python threading.Thread) */
	EV_META_PY_FRAME = 74,	/* a Python frame of an EV_PY_STACK: function, file, line */
	EV_META_SYNC_NAME = 75,	/* a runtime's name of a sync object (a Python Lock: "acct.lock") */
	EV_TYPE_MAX
};

struct ev_hdr {
	__u64 ts;		/* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u32 tid;		/* the thread the event is about (prev task for switches) */
	__u16 type;		/* enum ev_type */
	__u16 size;		/* whole record, header included */
};

/* prev_state of a switch, simplified from the kernel's task state bits */
enum ev_task_state {
	TS_RUNNABLE = 0,	/* preempted: still wants the CPU */
	TS_SLEEPING = 1,	/* TASK_INTERRUPTIBLE */
	TS_DISK = 2,		/* TASK_UNINTERRUPTIBLE */
	TS_STOPPED = 3,		/* stopped or traced */
	TS_DEAD = 4,		/* exiting */
	TS_OTHER = 5,
};

/* EV_SWITCH: hdr.tid = prev (0 = idle or untraced side) */
struct ev_switch {
	struct ev_hdr hdr;
	__u32 next_tid;		/* 0 when next is not traced */
	__u16 cpu;
	__u8 prev_state;	/* enum ev_task_state */
	__u8 flags;		/* SWF_* */
};

#define SWF_PREV_TRACED 0x1
#define SWF_NEXT_TRACED 0x2
#define SWF_TIMED 0x4		/* EV_SWITCH_SLEEP in a futex wait given a timeout */

/* EV_SWITCH_SLEEP: a switch whose prev goes to sleep, with what it waits for */
struct ev_switch_sleep {
	struct ev_switch sw;
	__u64 arg0;		/* first syscall argument: futex address, fd, pid, ... */
	__u64 arg1;		/* second argument: futex op, buffer, ... */
	__u64 ret_addr;		/* best guess of the return address into the caller of libc */
	__u32 arg2;		/* third argument (low 32 bits): futex value, count, ... */
	__s32 nr;		/* syscall number, -1 when not in a syscall */
	__u32 word0;		/* futex waits: the futex word itself */
	__u32 word8;		/* futex waits: the 32-bit word at +8 (glibc mutex __owner) */
	__s32 stack_id;		/* user stack in the stack map, or negative errno */
	__u32 word4;		/* futex waits: the word at +4 (sem_t: the waiter count) */
};

/* EV_WAKEUP, EV_WAKEUP_NEW: hdr.tid = wakee */
struct ev_wakeup {
	struct ev_hdr hdr;
	__u64 waker_arg0;	/* waker's first syscall argument (the futex it woke, the fd) */
	__u32 waker_tid;	/* 0 = interrupt / kernel context */
	__s16 waker_nr;		/* waker's syscall, -1 none */
	__u16 cpu;		/* the wakee's CPU: the one chosen for it, or its last one when the
				 * record was written at sched_waking (bpf/sched.bpf.c) */
};

/* EV_FORK: hdr.tid = child */
struct ev_fork {
	struct ev_hdr hdr;
	__u32 parent_tid;
	__u32 parent_pid;
	__u32 child_pid;	/* tgid of the child; == parent_pid for a new thread */
	__u32 flags;		/* FORKF_* */
	char comm[CLAB_COMM_LEN];
};

#define FORKF_THREAD 0x1

/* EV_EXEC: hdr.tid = the thread that exec'd (it becomes the leader) */
struct ev_exec {
	struct ev_hdr hdr;
	__u32 pid;
	__u32 old_tid;		/* the tid before exec (a non-leader thread can exec) */
	char comm[CLAB_COMM_LEN];
	char filename[96];	/* truncated */
};

/* EV_EXIT */
struct ev_exit {
	struct ev_hdr hdr;
	__u32 pid;
	__s32 exit_code;	/* task->exit_code: wait status format */
	__u32 flags;		/* EXITF_* */
	__s32 nr;		/* EXITF_IN_SYSCALL: the syscall the thread was in when it exited */
};

#define EXITF_GROUP_DEAD 0x1	/* the last thread of its process */
#define EXITF_IN_SYSCALL 0x2	/* nr is set: exit or exit_group, or a call it was killed in */

/* EV_RENAME */
struct ev_rename {
	struct ev_hdr hdr;
	char comm[CLAB_COMM_LEN];
};

/* EV_FUTEX: emitted at the syscall's return; hdr.ts = return time */
struct ev_futex {
	struct ev_hdr hdr;
	__u64 uaddr;
	__u32 op;		/* futex op with flags (FUTEX_PRIVATE_FLAG, ...); futex2: FUTEX2_OP_* */
	__u32 val;
	__s32 ret;
	__u32 dur;		/* ns in the call (format 3: asleep in it); FUTEXF_DUR_US: µs */
	__u32 flags;		/* FUTEXF_* */
	__u32 syscall;		/* FUTEX_SYS_* */
};

#define FUTEXF_TIMEOUT 0x1	/* a timeout was given */
#define FUTEXF_DUR_US 0x2	/* dur is in microseconds (the call took more than 4.29 s) */
#define FUTEXF_SLEPT 0x4	/* the call slept: dur runs from its first sleep to its return
				 * (without it, from format 3 on, the call never slept: dur 0) */

enum futex_sys {
	FUTEX_SYS_FUTEX = 0,
	FUTEX_SYS_WAIT = 1,
	FUTEX_SYS_WAKE = 2,
	FUTEX_SYS_WAITV = 3,
};

/* EV_WAITCALL: emitted at the syscall's return; hdr.ts = return time, entry = ts - dur */
struct ev_waitcall {
	struct ev_hdr hdr;
	__u64 arg0;		/* first argument: the epoll/io_uring fd; nfds for poll/select */
	__s32 timeout_us;	/* the wait's timeout, -1 = none (wait forever) */
	__u32 dur;		/* ns in the call; WAITF_DUR_US in flags: µs */
	__s32 ret;		/* events ready, 0 = timed out, < 0 = -errno */
	__u16 sys;		/* enum wait_sys */
	__u16 flags;		/* WAITF_* */
};

#define WAITF_DUR_US 0x1	/* dur is in microseconds (the call took more than 4.29 s) */
#define WAITF_TIMEOUT_CLAMPED 0x2	/* the timeout was longer than 2^31 µs */

enum wait_sys {
	WAIT_SYS_EPOLL_WAIT = 0,
	WAIT_SYS_EPOLL_PWAIT = 1,
	WAIT_SYS_EPOLL_PWAIT2 = 2,
	WAIT_SYS_POLL = 3,
	WAIT_SYS_PPOLL = 4,
	WAIT_SYS_SELECT = 5,
	WAIT_SYS_PSELECT6 = 6,
	WAIT_SYS_IO_URING_ENTER = 7,
	WAIT_SYS_N
};

/* EV_LOCK (lock uprobes) */
struct ev_lock {
	struct ev_hdr hdr;
	__u64 addr;
	__u64 ret_addr;		/* caller */
	__u32 op;		/* LOCK_OP_* */
	__s32 ret;
};

enum lock_op {
	LOCK_OP_ACQUIRE = 1,
	LOCK_OP_RELEASE = 2,
	LOCK_OP_TRY_FAIL = 3,
	LOCK_OP_HELD_OVERFLOW = 4,	/* the thread holds more locks than the BPF slots (ret) */
	LOCK_OP_SEM_TAKEN = 5,	/* a semaphore wait or trywait succeeded: the thread holds it now */
};

/* EV_LOCK_EDGE: "held `from`, then took `to`" — sent the first time a thread takes that pair
 * with that set of other held locks (deduplicated in the kernel). hdr.tid = the thread. */
#define LOCK_EDGE_HELD 6
struct ev_lock_edge {
	struct ev_hdr hdr;
	__u64 from, to;			/* lock addresses */
	__u64 from_ret, to_ret;		/* call sites of the two acquisitions */
	__u64 held[LOCK_EDGE_HELD];	/* the other locks held at the time (gate candidates) */
	__u32 from_gen, to_gen;		/* bumped when a lock at that address is destroyed */
	__u32 pid;
	__s32 stack_id;			/* user stack of the `to` acquisition */
	__u16 flags;			/* LEF_* */
	__u8 nheld;			/* entries in held[] */
	__u8 pad[5];
};

#define LEF_FROM_READ 0x1	/* `from` is held for reading (rwlock) */
#define LEF_TO_READ 0x2		/* `to` is taken for reading */
#define LEF_FROM_TRY 0x4	/* `from` was taken by a trylock */
#define LEF_HELD_TRUNC 0x8	/* more locks were held than held[] carries */
#define LEF_SEM 0x10		/* the locks are semaphores (sem_wait / sem_post) */
#define LEF_FROM_SEM 0x20
#define LEF_TO_TRY 0x40	/* `to` was taken by a sem trywait or timed wait (owner mode only) */

/* EV_GIL (GIL uprobes on CPython's take_gil / drop_gil): hdr.tid = the thread */
struct ev_gil {
	struct ev_hdr hdr;
	__u64 ret_addr;		/* the caller (drop_gil: eval breaker = forced, SaveThread = IO) */
	__u32 pid;
	__u32 op;		/* enum gil_op */
};

enum gil_op {
	GIL_TAKE_START = 1,	/* entered take_gil: the thread wants the GIL */
	GIL_TAKE_DONE = 2,	/* take_gil returned: the thread holds the GIL */
	GIL_DROP = 3,		/* entered drop_gil: the thread lets it go */
};

/*
 * EV_PY_STACK: hdr.tid = the thread, hdr.ts = its EV_SWITCH_SLEEP's (the record follows it).
 * The Python frames of a CPython thread that went to sleep, innermost first: each frame's code
 * object and its last instruction (prev_instr), as the thread state found through the thread's
 * TLS leads to them (bpf/sched.bpf.c). Names and lines come in EV_META_PY_FRAME records.
 */
#define PY_STACK_MAX 24

struct ev_py_frame {
	__u64 code;		/* PyCodeObject * */
	__u64 prev_instr;	/* _Py_CODEUNIT * of the frame's last instruction */
};

struct ev_py_stack {
	struct ev_hdr hdr;
	__u32 pid;
	__u16 nframes;
	__u16 flags;		/* PYSF_* */
	struct ev_py_frame frames[PY_STACK_MAX];	/* nframes of them: the record ends there */
};

#define PYSF_TRUNCATED 0x1	/* more frames than PY_STACK_MAX */
#define PYSF_READ_FAILED 0x2	/* a frame could not be read: the walk stopped there */

/*
 * EV_LOCK_PY: hdr.tid = the thread; follows its EV_LOCK_EDGE (from, to). Where a thread of a
 * CPython process took each of the edge's two semaphores (a threading.Lock), as its Python
 * frames, innermost first: frames[0..nfrom) when it took `from`, frames[LOCK_PY_FRAMES..
 * + nto) when it took `to`. Bounded at LOCK_PY_FRAMES each: the lines of the program that
 * take locks are near the top. Names and lines come in EV_META_PY_FRAME records.
 */
#define LOCK_PY_FRAMES 4

struct ev_lock_py {
	struct ev_hdr hdr;
	__u64 from, to;
	__u32 pid;
	__u8 nfrom, nto;
	__u16 flags;		/* PYSF_* of either walk */
	struct ev_py_frame frames[2 * LOCK_PY_FRAMES];
};

/* ---- metadata records, made in user space ---- */

/* EV_META_TASK: hdr.tid = tid */
struct ev_meta_task {
	struct ev_hdr hdr;
	__u32 pid;
	__u32 ppid;
	char comm[CLAB_COMM_LEN];
};

/* EV_META_MAPS: one executable mapping; path follows, NUL-terminated, padded to size */
struct ev_meta_maps {
	struct ev_hdr hdr;	/* hdr.tid = pid */
	__u64 start;
	__u64 end;
	__u64 pgoff;
	__u8 build_id[20];
	__u32 build_id_len;
	__u32 prot;		/* PROT_* bits */
	/* char path[] */
};

/* EV_META_CLOCK */
struct ev_meta_clock {
	struct ev_hdr hdr;
	__u64 mono_ns;
	__u64 real_ns;
};

/* EV_META_LOST: cumulative counters of one CPU (the last record of a CPU wins) */
enum lost_kind {
	LOST_RINGBUF = 0,	/* ring buffer full: records dropped */
	LOST_STACK = 1,		/* user stack capture failed */
	LOST_TASKMAP = 2,	/* traced-process map full: a child could not be followed */
	LOST_FUTEXMAP = 3,	/* futex in-flight map full: a futex call not timed */
	LOST_USER_READ = 4,	/* user memory read failed (futex word, stack) */
	LOST_WAITMAP = 5,	/* loop-wait in-flight map full: a wait call not recorded */
	LOST_LOCKMAP = 6,	/* lock uprobes: the held-lock or edge map was full */
	LOST_NKINDS = 8,
};

struct ev_meta_lost {
	struct ev_hdr hdr;	/* hdr.tid = cpu */
	__u64 count[LOST_NKINDS];
	__u64 by_type[16];	/* ringbuf drops per ev_type (index = type, < 16) */
};

/* EV_META_CMDLINE: hdr.tid = pid; NUL-separated args follow */
struct ev_meta_cmdline {
	struct ev_hdr hdr;
};

/* EV_META_STATUS */
struct ev_meta_status {
	struct ev_hdr hdr;
	__s32 exit_status;	/* the command's wait status, -1 unknown */
	__u32 reason;		/* STOP_* */
	__u64 events;		/* records written */
};

enum stop_reason {
	STOP_COMMAND_EXIT = 1,
	STOP_SIGNAL = 2,
	STOP_DURATION = 3,
	STOP_TARGET_GONE = 4,
	STOP_ERROR = 5,
	STOP_DEADLOCK = 6,
};

/* EV_META_MAPS_RESET: hdr.tid = pid */
struct ev_meta_maps_reset {
	struct ev_hdr hdr;
};

/* EV_META_STACK: hdr.tid = stack id; nframes u64 ips follow */
struct ev_meta_stack {
	struct ev_hdr hdr;
	__u32 nframes;
	__u32 pad;
	/* __u64 ips[nframes] */
};

/* EV_META_FD: hdr.tid = pid. Written when the recorder first sees an fd and again when it
 * changed (closed, reused, connected); a NUL-terminated description follows: "tcp
 * 127.0.0.1:40000→127.0.0.1:8080", "pipe:[12345]", "/var/log/x.log", "timerfd interval 10 ms". */
struct ev_meta_fd {
	struct ev_hdr hdr;
	__u64 ino;		/* the socket's, pipe's or file's inode; 0 unknown */
	__s32 fd;
	__u16 kind;		/* enum fd_kind */
	__u16 flags;		/* FDF_* */
	/* char desc[] */
};

/* EV_META_THREAD_NAME: hdr.tid = the thread's kernel tid. The name its language runtime gives
 * it (Python: threading.Thread.name, which 3.11 does not put in comm), read from the process's
 * memory while it runs; written when first read and again when it changed. A NUL-terminated
 * UTF-8 name follows. Reports show it in place of comm. */
struct ev_meta_thread_name {
	struct ev_hdr hdr;
	__u32 pid;
	__u16 runtime;		/* enum thread_name_runtime */
	__u16 pad;
	/* char name[] */
};

enum thread_name_runtime {
	TNR_PYTHON = 1,		/* CPython: threading._active, the Thread's _name */
};

/* EV_META_PY_FRAME: hdr.tid = pid. What one (code, prev_instr) of an EV_PY_STACK is, read
 * from the process while it lived: qualified function name and file follow, each
 * NUL-terminated. Written once per pair and process. */
struct ev_meta_py_frame {
	struct ev_hdr hdr;
	__u64 code;
	__u64 prev_instr;
	__s32 line;		/* 0 unknown */
	__u32 pad;
	/* char qualname[]; char file[] */
};

/* EV_META_SYNC_NAME: hdr.tid = pid. The name a program reaches one of its sync objects by, at
 * the futex address its threads sleep on (a Python Lock or RLock: its semaphore), read from the
 * process's memory while it lived, as the doctor names it ("acct.lock", "shelves['b'].guard");
 * written once per address and process. The name follows, NUL-terminated. */
struct ev_meta_sync_name {
	struct ev_hdr hdr;
	__u64 addr;
	char type[16];		/* the runtime's type: "Lock", "RLock" */
	/* char name[] */
};

enum fd_kind {
	FDK_CLOSED = 0,		/* gone since the previous scan */
	FDK_FILE = 1,		/* a regular file or directory */
	FDK_DEVICE = 2,		/* a character or block device, /dev/... */
	FDK_PIPE = 3,		/* a pipe or FIFO */
	FDK_TCP = 4,
	FDK_UDP = 5,
	FDK_UNIX = 6,
	FDK_SOCKET = 7,		/* another socket (netlink, raw, not found in /proc/net) */
	FDK_EVENTFD = 8,
	FDK_TIMERFD = 9,
	FDK_EPOLL = 10,
	FDK_SIGNALFD = 11,
	FDK_INOTIFY = 12,
	FDK_IO_URING = 13,
	FDK_ANON = 14,		/* another anon_inode (pidfd, userfaultfd, ...) */
	FDK_OTHER = 15,
	FDK_NKINDS
};

#define FDF_READ 0x1		/* open for reading (from fdinfo's flags) */
#define FDF_WRITE 0x2		/* open for writing */
#define FDF_LISTEN 0x4		/* a listening socket */

#endif /* CONLAB_EVENTS_H */
