/*
 * cli.h — the recording commands' options: record, and the one-shot commands that record and
 * then report (contention, timeline, io, gil). Two tables, declared once in cli.c: the
 * recording options (the target: -p PID, -a, -- CMD; --duration, --buffer, ...) and the report
 * options (--format, -o, --from/--to, --sort, --top), which a one-shot command takes as far as
 * its report kind reads them. Help is made from the same rows (options.h).
 */
#ifndef CONLAB_CLI_H
#define CONLAB_CLI_H

#include "capture/recorder.h"
#include "render/report.h"

#define CLI_MAX_PIDS 64

/* Which command: bits of the recording table's `who`. */
enum cli_who {
	CLI_RECORD = 1u << 0,
	CLI_CONTENTION = 1u << 1,
	CLI_TIMELINE = 1u << 2,
	CLI_IO = 1u << 3,
	CLI_GIL = 1u << 4,
};

struct cli_cmd {
	const char *name;	/* "record", or the report kind a one-shot command runs */
	unsigned who;		/* enum cli_who */
	const char *head;	/* the help up to the options: synopsis, blank line, what it does */
	const char *tail;	/* the help after them: notes, examples */
};

struct cli {
	struct record_opts rec;
	pid_t pids[CLI_MAX_PIDS];
	const char *trace_path;		/* --trace for one-shot commands; -o for record */
	char tmp_trace[64];		/* a temp file when no trace path was given */
	struct report_opts rep;		/* --format, -o (one-shot commands), --from, --to, ... */
};

/*
 * Parse argv for cmd. The help (--help: stdout, exit 0) is cmd->head, the options cmd takes,
 * cmd->tail; an error prints one line and the synopsis (exit 2). The return value is 0 to go
 * on, or an exit status + 1 (so 1 = exit 0 after --help, 3 = usage error).
 */
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_cmd *cmd);
/* For one-shot commands: where the trace goes (a temp file unless --trace). */
const char *cli_trace_path(struct cli *c);
void cli_cleanup(struct cli *c);
/* The one-shot commands: record into the trace path, then run report `kind` on it. */
int cli_record_and_report(struct cli *c, const char *kind);

/*
 * The report options of `conlab report KIND` (and of the one-shot commands): the rows kind k
 * takes, with its formats in --format's help. `with_input`: -i FILE too.
 */
struct optset;
void cli_report_options(struct optset *s, const struct report_kind *k, int with_input);
/* Apply one parsed report option (key, arg) to o: 0, or -1 after one error line. */
int cli_report_option(struct report_opts *o, int key, const char *arg);
/* --duration S and --sandbox SPEC, shared with `deadlock -- CMD`: 0, or -1 after one error
 * line. */
int cli_set_duration(struct record_opts *r, const char *arg);
/* --locks[=auto|uprobes|preload]: how the lock calls are seen (REC_VIA_*) */
int cli_set_locks_via(struct record_opts *r, const char *arg);
int cli_set_sandbox(struct record_opts *r, const char *arg);
/* Say why an option is refused ("record has no --sort (a report option: ...)"). */
void cli_refused(const char *cmd, const char *arg);

#endif
