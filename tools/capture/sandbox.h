/*
 * sandbox.h — running an untrusted program (a student's submission) so that it can harm
 * nothing: as an unprivileged user, in a working directory of its own, with resource limits,
 * in cgroups that are killed afterwards, with a network namespace of its own (loopback only).
 *
 * conlab itself stays root (it needs BPF): only the traced program is confined. The grader
 * (`lab check`) prepares a sandbox (sandbox_prepare), hands it to `conlab record --sandbox
 * SPEC` as one string, and the recorder's child enters it between fork and exec
 * (sandbox_enter), still held before exec so the tracing sees the program from its first
 * instruction. Afterwards the grader asks which limit was hit (sandbox_limit_hit) and kills and
 * removes everything (sandbox_destroy).
 */
#ifndef CONLAB_SANDBOX_H
#define CONLAB_SANDBOX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SANDBOX_MAX_CGROUPS 3

/* What a sandboxed program may use; 0 means no limit of that kind. */
struct sandbox_limits {
	double wall_s;		/* enforced by the grader (the recording's duration) */
	double cpu_s;		/* RLIMIT_CPU: CPU seconds of each process */
	uint64_t mem_bytes;	/* memory cgroup; RLIMIT_AS when there is no memory cgroup */
	long procs;		/* pids cgroup, and RLIMIT_NPROC */
	long files;		/* RLIMIT_NOFILE */
	uint64_t fsize;		/* RLIMIT_FSIZE: largest file it may write */
};

struct sandbox {
	int uid, gid;
	struct sandbox_limits lim;
	uint64_t as_bytes;	/* RLIMIT_AS */
	long nproc;		/* RLIMIT_NPROC (per user: counts every sandbox of the user) */
	int netns;		/* a network namespace of its own */
	char root[PATH_MAX];	/* the temporary directory (root-owned, 0711) */
	char dir[PATH_MAX];	/* root/work: the program's working directory, owned by uid */
	char cgroups[SANDBOX_MAX_CGROUPS][PATH_MAX];	/* cgroup directories it joins */
	int ncgroups;
	int mem_cgroup, pids_cgroup;	/* index in cgroups[] or -1 */
	int v2;			/* index of the cgroup v2 directory (cgroup.kill) or -1 */
};

/* Default limits for a wall-time limit of wall_s seconds. */
void sandbox_default_limits(struct sandbox_limits *l, double wall_s);

/* The user a sandbox runs as: a name or a number; root is refused. 0 or -1 with a message. */
int sandbox_user(const char *name, int *uid, int *gid);

/*
 * Make the sandbox: the temporary directory with a copy of the submission (a file, or a
 * directory copied whole: regular files and directories only), cgroups where the machine has
 * them. `parallel` is how many sandboxes of the same user may run at once (RLIMIT_NPROC
 * counts per user). 0, or -1 with a message (everything made is undone).
 */
int sandbox_prepare(struct sandbox *s, int uid, int gid, const struct sandbox_limits *lim,
		    int parallel, const char *submission);
/* Copy the file at path `from` into the sandbox's directory, under its own name, unless the
 * submission has a file of that name. 0, or -1 with a message. */
int sandbox_add_file(const struct sandbox *s, const char *from);
/* The path inside the sandbox of a file of the submission (its name, or for a directory
 * submission a path relative to it). */
void sandbox_path(const struct sandbox *s, const char *rel, char *out, size_t n);
/* Which limit the program ran into, as a sentence ("memory limit of 256 MiB reached"), or
 * empty. Read from the cgroups' event counters before sandbox_destroy. */
void sandbox_limit_hit(const struct sandbox *s, char *why, size_t n);
/* Until called again with NULL: when the grader gets SIGTERM, SIGINT or SIGHUP, what runs in
 * the sandbox's cgroups is killed before the grader dies (the directory is left to the next
 * sandbox_prepare, which removes what dead graders left). */
void sandbox_kill_on_signal(const struct sandbox *s);
/* Kill everything still running in the sandbox's cgroups and remove them. Returns how many
 * processes had to be killed. */
int sandbox_kill(struct sandbox *s);
/* sandbox_kill, and remove the directory. */
int sandbox_destroy(struct sandbox *s);

/* The one-string form passed to `conlab record --sandbox`. */
int sandbox_spec_format(const struct sandbox *s, char *buf, size_t n);
int sandbox_spec_parse(struct sandbox *s, const char *spec, char *err, size_t errn);

/*
 * In the child between fork and exec, as root: join the cgroups, a new network namespace
 * with loopback up, the working directory, a minimal environment, no inherited descriptors,
 * the rlimits, no new privileges, then the user. 0, or -1 with errno set.
 */
int sandbox_enter(const struct sandbox *s);

#endif
