/*
 * lab_predict.h — the "Predict" step of `conlab lab run`: the sheet's Predict questions are
 * asked before the program runs, the program's answer fields are hidden from its output
 * until the reveal, and then every prediction is shown beside what was measured.
 *
 * A Predict section is a numbered list, like Questions; an item may end with
 * "measured: `EXPR`", a lab expression (workloads/labs/FORMAT.md) evaluated on the run:
 *
 *   1. Will the counter end at 0? measured: `ground.result`
 *
 * Every `ground.KEY` an expression reads is an answer field: `KEY=value` in the program's
 * output is shown as `KEY=?` until the reveal.
 */
#ifndef CONLAB_LAB_PREDICT_H
#define CONLAB_LAB_PREDICT_H

#include <stddef.h>
#include <stdio.h>

#include "lab/lab.h"

struct lab_prediction {
	char *question;		/* the item's text without its "measured:" part */
	char *expr;		/* the expression that measures it, NULL if none */
	char *answer;		/* the student's prediction, NULL if none was given */
};

struct lab_predict {
	struct lab_prediction *v;
	size_t n;
	char **hidden;		/* the ground keys the expressions read */
	size_t nhidden;
};

/* Parse a Predict section's text. 0, or -1 with the reason in err (a bad expression). */
int lab_predict_parse(struct lab_predict *p, const char *section, char *err, size_t errn);
void lab_predict_free(struct lab_predict *p);

/* Take the answers: from `answers` ("a; b; c", the --predict option) when given, else asked
 * one by one on in/out when interactive, else only printed (nothing waits for input). */
void lab_predict_ask(struct lab_predict *p, const char *answers, int interactive, FILE *in,
		     FILE *out);

/* Replace the value of every hidden KEY=value in line (in place) with "?". */
void lab_predict_hide(const struct lab_predict *p, char *line, size_t n);

/* Every prediction beside the measured value (doc/ctx as for lab_eval). */
void lab_predict_reveal(const struct lab_predict *p, lab_doc_fn doc, void *ctx, FILE *out);

/* Append the questions, answers and measurements to path (the run's predictions.md). */
void lab_predict_save(const struct lab_predict *p, lab_doc_fn doc, void *ctx, const char *path);

#endif
