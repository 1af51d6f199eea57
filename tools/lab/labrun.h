/*
 * labrun.h — the lab runner: where the labs and their programs are, running a variant (or a
 * student's program) under `conlab record` in a session of its own, diagnosing what is left
 * of it, and the documents its expectations read. `conlab lab` (cmd/cmd_lab.c) drives it.
 */
#ifndef CONLAB_LABRUN_H
#define CONLAB_LABRUN_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "lab/grade.h"
#include "lab/lab.h"
#include "lib/jsonread.h"

#define MAX_ARGS 64

struct doc {
	char *source;
	struct jv j;
	int ok;
	char why[512];
};

/* One run of one variant (or of the student's program), done at most once per command. */
struct run {
	char *variant;
	int student;		/* the --program run */
	int done, failed;	/* failed: could not be run at all (why) */
	char why[512];
	int hung;		/* still running when the recording stopped */
	int exit_code;
	double seconds;
	char base[PATH_MAX];	/* DIR/VARIANT: .clab .out .err ... */
	char trace[PATH_MAX + 8];
	struct jv ground, status;
	int has_ground;
	struct doc *docs;
	size_t ndocs;
	char deadlock_json[PATH_MAX + 16];
	char deadlock_why[256];
	int has_deadlock;
};

struct labctx {
	struct lab lab;
	char self[PATH_MAX];	/* this conlab binary */
	char labs[PATH_MAX];	/* the labs directory */
	char wl[PATH_MAX];	/* built C workloads */
	char py[PATH_MAX];	/* Python workloads */
	char python[PATH_MAX];	/* the interpreter the lab's modules import in */
	char dir[PATH_MAX];	/* output directory */
	const char *checked;	/* the variant `check` grades */
	const char *program;	/* --program */
	int text_deadlock;	/* `run`: also keep the deadlock report's text */
	int quiet;
	struct grade_opts grading;	/* --format, --submissions, the sandbox's limits */
	struct grade_run sandbox;	/* the --program run's sandbox */
	struct run *runs;
	size_t nruns;
};

/* Where this binary, the labs, the workloads and the interpreter are: 0, or -1 + message. */
int lab_locate(struct labctx *c);
/* The labs' names, sorted (lab_free_names); how many. */
size_t lab_names(const struct labctx *c, char ***names);
void lab_free_names(char **names, size_t n);
/* Load lab `name` (a name, its number, or a path) into c->lab: 0, or -1 + message. */
int lab_find(struct labctx *c, const char *name);
/* A variant's line with {python}, {py}, {wl} and the other placeholders filled in. */
void lab_expand(const struct labctx *c, const char *in, char *out, size_t n);
/* 0 when every `needs` of the lab holds, else -1 with what is missing. */
int lab_check_needs(struct labctx *c, char *missing, size_t n);
/* The interpreter the lab programs run under ({python}). */
void lab_pick_python(char *out, size_t n);
/* A regular file this user may execute? */
int lab_is_exec(const char *p);
/* Record run r (a variant, or the student's program) once; 0, or -1 with r->why. */
int lab_do_run(struct labctx *c, struct run *r);
/* The run of a variant (or the student's), made on first use. */
struct run *lab_get_run(struct labctx *c, const char *variant, int student);
void lab_free_runs(struct labctx *c);
/* Run argv quietly (stdin, stdout, stderr on /dev/null), as uid:gid from / when uid >= 0; its
 * exit status, or -1 when it could not run. For the needs checks and the sandbox's probes. */
int lab_run_quiet(char *const argv[], int uid, int gid);
/* The first line of a file, for a message. */
void lab_first_line(const char *path, char *buf, size_t n);
/* Run argv in a session of its own with its output in out and err, for at most limit_s
 * seconds; its exit status (or -1); the session id in *sid for what is left of it. */
#define LAB_SPAWN_SESSION 1	/* the child in a session of its own (killed as a group) */
#define LAB_SPAWN_PDEATH 2	/* the child gets SIGTERM when this process dies */
/* Start argv (argv[0]: the program's path) with stdin from /dev/null and stdout and stderr to
 * the files out and err (NULL: kept; the same path: one file); its pid, or -1 after one error
 * line. The child exits 126 when a file cannot be opened, 127 when argv cannot run. */
pid_t lab_spawn(char *const argv[], const char *out, const char *err, int flags);
int lab_spawn_wait(char *const argv[], const char *out, const char *err, double limit_s,
		   pid_t *sid);
/* The lab_doc_fn of expectations: the document `source` (a report kind, ground, run,
 * deadlock) of the run of `variant`, or NULL with why. */
const struct jv *lab_lookup(void *ctx, const char *variant, const char *source, char *why,
			    size_t whyn);

#endif
