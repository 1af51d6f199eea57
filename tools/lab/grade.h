/*
 * grade.h — grading submissions with `conlab lab check`: the options, the result of one
 * submission (per expectation: pass/fail, measured, wanted, the note, a score from the
 * weights), its formats (json, junit, gradescope), the sandboxed run of a submission, and
 * the batch over a folder of submissions with its class summary.
 *
 * cmd_lab.c runs programs and evaluates; these modules decide how a submission is confined
 * (grade_sandbox.c), how a result is written (grade_format.c) and how a class is graded
 * (grade_batch.c).
 */
#ifndef CONLAB_GRADE_H
#define CONLAB_GRADE_H

#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "lab/lab.h"
#include "capture/sandbox.h"

enum grade_format { GRADE_TEXT, GRADE_JSON, GRADE_JUNIT, GRADE_GRADESCOPE };

/* lab check's grading options (all but --program / --variant / -d / -q). */
struct grade_opts {
	int format;			/* enum grade_format */
	const char *output;		/* --output FILE (default stdout) */
	const char *submissions;	/* --submissions DIR: the batch */
	const char *results;		/* --results DIR */
	int jobs;			/* --jobs N (0: the lab decides) */
	const char *user;		/* --user NAME (default nobody) */
	double time_limit, cpu_limit;	/* 0: the defaults */
	uint64_t memory_limit, fsize_limit;
	long procs_limit, files_limit;
	int resume_off;			/* --regrade: grade again what has a result */
	const char *submission;		/* the --program given (before its sandbox copy) */
	const char *py_helper;		/* the lab's helper module (wl.py), given to a Python
					 * submission that has none of its own */
};

/* lab check's long options that grade_opt handles, for its option table. */
enum {
	GRADE_OPT_FIRST = 0x300,
	GO_FORMAT = GRADE_OPT_FIRST, GO_OUTPUT, GO_SUBMISSIONS, GO_RESULTS, GO_JOBS, GO_USER,
	GO_TIME, GO_CPU, GO_MEMORY, GO_PROCS, GO_FILES, GO_FSIZE, GO_REGRADE,
};
#define GRADE_LONG_OPTIONS                                                                      \
	{"format", required_argument, NULL, GO_FORMAT},                                          \
	{"output", required_argument, NULL, GO_OUTPUT},                                          \
	{"submissions", required_argument, NULL, GO_SUBMISSIONS},                                \
	{"results", required_argument, NULL, GO_RESULTS},                                        \
	{"jobs", required_argument, NULL, GO_JOBS},                                              \
	{"user", required_argument, NULL, GO_USER},                                              \
	{"time-limit", required_argument, NULL, GO_TIME},                                        \
	{"cpu-limit", required_argument, NULL, GO_CPU},                                          \
	{"memory-limit", required_argument, NULL, GO_MEMORY},                                    \
	{"procs-limit", required_argument, NULL, GO_PROCS},                                      \
	{"files-limit", required_argument, NULL, GO_FILES},                                      \
	{"file-size-limit", required_argument, NULL, GO_FSIZE},                                  \
	{"regrade", no_argument, NULL, GO_REGRADE}
/* One of them (opt >= GRADE_OPT_FIRST); 0, or -1 after a message. */
int grade_opt(struct grade_opts *o, int opt, const char *arg);
const char *grade_options_help(void);

/* One expectation's result. */
struct grade_item {
	char *name;		/* the expectation as written */
	char *note;		/* its explanation (may be NULL) */
	int key, pass, error;
	char measured[256], wanted[256], op[4];
	double weight, score;
};

/* One submission's result. */
struct grade {
	char *lab, *title, *submission;
	char status[512];	/* what the program did: "exit 0", "stopped: wall-time limit..." */
	int program_ok;		/* it ran and exited 0 within every limit */
	struct grade_item *items;
	size_t n;
	double score, max_score;
	int passed;		/* every expectation holds */
	double seconds;		/* grading time (batch) */
};

/* The weight of an expectation: `weight=N`, else 2 for the key one and 1 for the others. */
double grade_weight(const struct lab_expect *e);
/* Evaluate every expectation of the lab into g (lab_eval through doc/ctx). */
void grade_eval(struct grade *g, const struct lab *l, lab_doc_fn doc, void *ctx,
		const char *submission);
void grade_free(struct grade *g);
int grade_format_parse(const char *name);
const char *grade_format_name(int fmt);
/* Write one result; junit writes a one-suite document. */
void grade_write(const struct grade *g, int fmt, FILE *f);
/* The same, to path through a temporary file and rename (a killed grader leaves no half
 * result). 0 or -1 with a message. */
int grade_write_file(const struct grade *g, int fmt, const char *path);
/* A class in JUnit: one test suite per submission. */
void grade_write_junit(const struct grade *const *g, size_t n, FILE *f);
/* Read back a result written as json. 0 or -1 with the reason in err. */
int grade_load_json(struct grade *g, const char *path, char *err, size_t errn);

/* ---- the sandboxed run of a submission (grade_sandbox.c) ------------------------------- */

struct grade_run {
	int on;				/* the submission runs in a sandbox */
	struct sandbox sb;
	char spec[8192];		/* for `conlab record --sandbox` */
	char program[PATH_MAX * 2];	/* the program inside the sandbox */
	double wall_s;			/* wall-time limit of its run (0: the variant's) */
	char status[512];
	int program_ok, ran;
};

/*
 * Prepare the sandbox of a submission (a file, or a directory whose program is main.py,
 * main, or its only .py file or executable), for a lab whose checked variant stops after
 * wall_default seconds. python: the interpreter for .py programs; replaced by
 * /usr/bin/python3 when the sandbox user cannot run it. 0, or -1 with a message.
 */
int grade_run_begin(struct grade_run *gr, const struct grade_opts *o, const char *submission,
		    double wall_default, int parallel, char *python, size_t pythonn);
/* After the submission's run (rc: its exit code, 128+signal; hung: stopped at the wall
 * limit; err: the file with its stderr; recorded: run under `conlab record`, else under
 * `conlab deadlock`, whose exit status is its finding): what happened, then kill what is left
 * of it. */
void grade_run_after(struct grade_run *gr, int rc, int hung, const char *err, int recorded);
/* Remove the sandbox (kill, cgroups, directory). */
void grade_run_end(struct grade_run *gr);

/* lab check --program: the sandbox of *program for the lab's checked variant; *program
 * becomes the copy inside it (o->submission keeps the one given). 0, or -1 after a message. */
int grade_check_begin(struct grade_run *gr, struct grade_opts *o, const struct lab *l,
		      const char **program, char *python, size_t pythonn);
/* lab check --format F: evaluate and write the result (to --output or stdout). Returns the
 * exit status: 0 every expectation holds, 1 not, 2 the result could not be written. */
int grade_check_write(const struct lab *l, lab_doc_fn doc, void *ctx, const char *submission,
		      const struct grade_run *gr, const struct grade_opts *o);

/* ---- a class (grade_batch.c) ----------------------------------------------------------- */

/* `lab check LAB --submissions DIR`: grade every submission with `self lab check`, one
 * result each in the results directory, then the class summary. Exit status as lab check. */
int grade_batch(const char *self, const char *labname, const struct lab *l,
		const struct grade_opts *o);

#endif
