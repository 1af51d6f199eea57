/*
 * target.h — the program being traced: a command conlab starts (held before exec until the
 * BPF side is ready, so it is traced from its first instruction) or a running PID.
 */
#ifndef CONLAB_TARGET_H
#define CONLAB_TARGET_H

#include <sys/types.h>

struct target_cmd {
	pid_t pid;
	int go_fd;		/* write end: releases the child into exec */
	int err_fd;		/* read end: the child's exec errno, EOF on success */
	int uid, gid;		/* the invoking user under sudo, else -1 */
	int exec_stop;		/* the child stops (ptrace) right after its exec */
};

/* The user conlab acts for: SUDO_UID/SUDO_GID when run through sudo, else -1. */
void invoking_user(int *uid, int *gid);
/* Fork the command, held before exec. With a sandbox spec (sandbox.h) the child enters the
 * sandbox before exec instead of dropping to the invoking user. 0 or -1 with a message. */
int target_spawn(struct target_cmd *t, char **argv, const char *sandbox);
/* Let it exec. Returns 0, or the exec errno with a message printed (127 semantics). */
int target_release(struct target_cmd *t, const char *argv0);
/* After target_release: wait for the stop right after the exec, when the program and its
 * loader are mapped and nothing has run. 1 stopped (call target_exec_continue), 0 no stop
 * (ptrace refused), -1 the child ended instead (its wait status in *status). */
int target_exec_stopped(struct target_cmd *t, int *status);
void target_exec_continue(struct target_cmd *t);
/* Does the process exist (and is it not a zombie)? */
int pid_alive(pid_t pid);

#endif
