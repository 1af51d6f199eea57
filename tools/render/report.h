/*
 * report.h — what every report kind shares: the output format, the options, the registry of
 * kinds `conlab report KIND` and the one-shot commands dispatch through.
 */
#ifndef CONLAB_REPORT_H
#define CONLAB_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct model;
struct m_keep;
struct json;

enum report_format {
	FMT_TEXT = 0,
	FMT_JSON,
	FMT_PERFETTO,
	FMT_HTML,
	FMT_DOT,
	FMT_FOLDED,
	FMT_NFORMATS
};

#define FMT_BIT(f) (1u << (f))

struct report_opts {
	int format;
	const char *input;	/* the trace file */
	const char *output;	/* NULL: stdout */
	uint64_t from_ns, to_ns;	/* --from/--to, relative to the trace's start; 0 = all */
	const char *sort;	/* --sort key */
	int color;		/* terminal colours (off with NO_COLOR or when not a tty) */
	int width;		/* terminal columns */
	int top;		/* rows in tables, 0 = default */
};

/* A report: reads the model (every record passes through it), writes to out.
 * Returns the exit status: 0, 1 for a finding the kind defines (deadlock), 2 for errors. */
typedef int (*report_fn)(const struct model *m, const struct report_opts *o, FILE *out);

/* The options a kind reads besides format, output and the time window. */
enum report_kind_opt {
	ROPT_SORT = 1u << 0,	/* --sort */
	ROPT_TOP = 1u << 1,	/* --top */
	ROPT_WINDOW = 1u << 2,	/* --from, --to */
};

struct report_kind {
	const char *name;
	report_fn fn;
	unsigned formats;	/* FMT_BIT mask */
	unsigned opts;		/* enum report_kind_opt mask: anything else is refused */
	const char *help;
	const char *top_help;	/* what --top N counts, with its default */
	/* What the kind needs of the event stream for these options (model.h), NULL: nothing. */
	void (*keep)(const struct report_opts *o, struct m_keep *k);
};

const struct report_kind *report_kind_find(const char *name);
void report_kinds_usage(FILE *f);
int parse_format(const char *s);
const char *format_name(int f);

/* 0 when kind exists and takes every option set in o; else one error line and 2. The one-shot
 * commands call it before recording, so a bad option costs no recording. */
int report_check_opts(const char *kind, const struct report_opts *o);
/* --top N: a row count from 1 to 100000, or -1. */
int parse_top(const char *s);
/* Load the trace, build the model, run the kind, write the output: the whole `report`. */
int report_run(const char *kind, const struct report_opts *o);

/* Common pieces of report text: the one-line loss statement every report shows. */
void report_lost_line(const struct model *m, FILE *out);
void report_json_lost(const struct model *m, struct json *j);

/* kinds */
int report_summary(const struct model *m, const struct report_opts *o, FILE *out);
void report_summary_keep(const struct report_opts *o, struct m_keep *k);

int report_contention(const struct model *m, const struct report_opts *o, FILE *out);

int report_io(const struct model *m, const struct report_opts *o, FILE *out);
int report_timeline(const struct model *m, const struct report_opts *o, FILE *out);
void report_timeline_keep(const struct report_opts *o, struct m_keep *k);
/* For the kinds that read neither the event stream nor the futex calls. */
void report_keep_state(const struct report_opts *o, struct m_keep *k);

int report_deadlock(const struct model *m, const struct report_opts *o, FILE *out);
void report_deadlock_keep(const struct report_opts *o, struct m_keep *k);
void report_contention_keep(const struct report_opts *o, struct m_keep *k);
int report_gil(const struct model *m, const struct report_opts *o, FILE *out);

#endif
