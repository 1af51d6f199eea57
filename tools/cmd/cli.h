/*
 * cli.h — the command-line options every recording command shares (record, and the one-shot
 * contention / timeline / deadlock -- CMD / io): the target (-p PID, -a, -- CMD), --duration,
 * --buffer, --no-stacks. Each command adds its own options through `extra`.
 */
#ifndef CONLAB_CLI_H
#define CONLAB_CLI_H

#include <getopt.h>

#include "capture/recorder.h"
#include "render/report.h"

#define CLI_MAX_PIDS 64

struct cli {
	struct record_opts rec;
	pid_t pids[CLI_MAX_PIDS];
	const char *trace_path;		/* --trace for one-shot commands; -o for record */
	char tmp_trace[64];		/* a temp file when no trace path was given */
	struct report_opts rep;		/* --format, -o (one-shot commands), --from, --to, ... */
};

/* Called for an option in `extra`; return 0, or -1 after printing an error. */
typedef int (*cli_extra_fn)(struct cli *c, int opt, const char *arg);

/*
 * Parse argv. `usage` is printed for --help (exit 0) and on errors (exit 2); the return value
 * is 0 to go on, or an exit status + 1 (so 1 = exit 0 after --help, 3 = usage error).
 * `one_shot`: -o/--output names the report output and --trace the trace file (else -o is the
 * trace file, as for record).
 */
int cli_parse(struct cli *c, int argc, char **argv, const char *usage, int one_shot,
	      const struct option *extra, const char *extra_short, cli_extra_fn on_extra);
/* For one-shot commands: where the trace goes (a temp file unless --trace). */
const char *cli_trace_path(struct cli *c);
void cli_cleanup(struct cli *c);
/* The one-shot commands: record into the trace path, then run report `kind` on it. */
int cli_record_and_report(struct cli *c, const char *kind);

#endif
