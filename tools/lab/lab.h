/*
 * lab.h — lab definitions (workloads/labs/NN-topic.lab, format in workloads/labs/FORMAT.md)
 * and the evaluation of their expectations against JSON documents: the reports of a run,
 * its ground-truth line and its exit status. Parsing and evaluation only; running programs
 * is cmd_lab.c's job, which hands documents in through a lookup callback.
 */
#ifndef CONLAB_LAB_H
#define CONLAB_LAB_H

#include <stddef.h>

#include "lib/jsonread.h"

enum lab_need_kind {
	NEED_COMMAND,	/* an executable on PATH (or a path) */
	NEED_MODULE,	/* a Python module one of the lab's interpreters can import */
	NEED_FILE,	/* a file, after placeholder expansion */
	NEED_REPORT,	/* a report kind of this conlab build */
	NEED_PROGRAM,	/* no bundled program: the student's, with --program */
};

struct lab_need {
	enum lab_need_kind kind;
	char *what;
	char *hint;	/* how to get it, shown when missing (may be NULL) */
};

struct lab_variant {
	char *name;
	char *cmd;		/* command line with {placeholders}, words split on blanks */
	double hang_s;		/* > 0: the program hangs on purpose; look at it after this long */
	double timeout_s;	/* a program still running after this long is stopped (hung) */
	int capture_deadlock;	/* run under `conlab deadlock --locks -- CMD`, not `record` */
	int capture_locks;	/* `conlab record --locks`: lock uprobes, every acquisition */
};

enum lab_expr_op { EX_NUM, EX_STR, EX_REF, EX_CALL, EX_BIN, EX_NEG };

enum lab_step_kind { STEP_KEY, STEP_INDEX, STEP_ALL, STEP_FILTER };

struct lab_expr;

struct lab_step {
	enum lab_step_kind kind;
	char *key;		/* STEP_KEY; STEP_FILTER: the member compared */
	long index;		/* STEP_INDEX (negative: from the end) */
	int negate;		/* STEP_FILTER with != */
	struct lab_expr *lit;	/* STEP_FILTER: the value compared with */
};

struct lab_expr {
	enum lab_expr_op op;
	double num;		/* EX_NUM */
	char *str;		/* EX_STR; EX_CALL: function name */
	char *variant;		/* EX_REF: the variant's run, NULL for the run being checked */
	char *source;		/* EX_REF: ground, run, summary, contention... */
	struct lab_step *steps;	/* EX_REF */
	size_t nsteps;
	struct lab_expr **args;	/* EX_CALL */
	size_t nargs;
	char bop;		/* EX_BIN: + - * / */
	struct lab_expr *a, *b;	/* EX_BIN; EX_NEG uses a */
};

enum lab_cmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

struct lab_expect {
	char *text;		/* "lhs OP rhs" as written */
	struct lab_expr *lhs, *rhs;
	enum lab_cmp cmp;
	int key;		/* the expectation the lab is about */
	double weight;		/* its share of the score (`weight=N`); 0: the default */
	char *note;		/* after " -- " */
	int line;
};

struct lab {
	char *path;
	char *name, *title, *topic, *sheet;
	int number;		/* from the name's NN- prefix, 0 if none */
	int optional;
	struct lab_need *needs;
	size_t nneeds;
	struct lab_variant *variants;
	size_t nvariants;
	char *check_variant;	/* checked by default (`check`; default "reference") */
	char *run_variant;	/* run by default (`run`; default the first variant) */
	char **show;		/* reports `lab run` shows in the terminal */
	size_t nshow;
	char *student_args;	/* arguments for --program (NULL: the reference's) */
	int batch_serial;	/* `batch serial`: it measures timing, grade one at a time */
	char *service;		/* `service NAME`: started around every run (lab_service.h) */
	struct lab_expect *expects;
	size_t nexpects;
};

/* Parse a lab file's text. 0, or -1 with "PATH:LINE: reason" in err. */
int lab_parse(struct lab *l, const char *text, const char *path, char *err, size_t errn);
int lab_load(struct lab *l, const char *path, char *err, size_t errn);
void lab_free(struct lab *l);
const struct lab_variant *lab_variant_find(const struct lab *l, const char *name);

/* Parse one expectation ("lhs OP rhs [-- note]"), for tests and for lab_parse. */
int lab_expect_parse(struct lab_expect *e, const char *text, char *err, size_t errn);
void lab_expect_free(struct lab_expect *e);

/*
 * The document of `source` (ground, run, summary, ...) of a variant's run (variant NULL: the
 * run being checked), or NULL with the reason in why. Documents stay valid until the
 * evaluation context is released.
 */
typedef const struct jv *(*lab_doc_fn)(void *ctx, const char *variant, const char *source,
				       char *why, size_t whyn);

struct lab_result {
	int pass;
	int error;		/* a value was missing or of the wrong type: counts as a failure */
	char measured[256];	/* "0.034" or "\"table_lock\"", or the error */
	char wanted[256];	/* the right-hand side's value */
};

/* Evaluate one expectation. */
void lab_eval(const struct lab_expect *e, lab_doc_fn doc, void *ctx, struct lab_result *r);
/* Every source (and variant) the expectation reads, for running only what is needed:
 * fn(ctx, variant-or-NULL, source) per reference, repeats included. */
void lab_expect_refs(const struct lab_expect *e,
		     void (*fn)(void *ctx, const char *variant, const char *source), void *ctx);
const char *lab_cmp_name(enum lab_cmp c);

#endif
