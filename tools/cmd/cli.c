/* cli.c — shared option parsing for the recording commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/options.h"
#include "capture/sandbox.h"
#include "lib/util.h"
#include "python/pyrecord.h"

/* Long options without a short letter: above any char. */
enum {
	OPT_DURATION = 0x100,
	OPT_BUFFER,
	OPT_NO_STACKS,
	OPT_TRACE,
	OPT_FORMAT,
	OPT_QUIET,
	OPT_FROM,
	OPT_TO,
	OPT_SORT,
	OPT_TOP,
	OPT_LOCKS,
	OPT_GIL,
	OPT_FUTEX_CALLS,
	OPT_NO_LOOP,
	OPT_SANDBOX,
};

#define ONE_SHOT (CLI_CONTENTION | CLI_TIMELINE | CLI_IO | CLI_GIL)
#define ANY (CLI_RECORD | ONE_SHOT)

/* The recording options, in the order the help lists them; `who`: enum cli_who. */
static const struct optdef rec_table[] = {
	{"pid", 'p', required_argument, "PID", "trace a running process (its threads and later "
	 "children) until Ctrl-C or --duration; PID,PID,... for several", ANY},
	{"all", 'a', no_argument, NULL, "trace every process on the machine but conlab", ANY},
	{"output", 'o', required_argument, "FILE", "trace file (default conlab.clab; created 0600)",
	 CLI_RECORD},
	{"trace", OPT_TRACE, required_argument, "FILE", "keep the trace in FILE (conlab report "
	 "KIND -i FILE reads it)", ONE_SHOT},
	{"duration", OPT_DURATION, required_argument, "S", "stop recording after S seconds "
	 "(e.g. 10, 500ms)", ANY},
	{"buffer", OPT_BUFFER, required_argument, "SIZE", "kernel ring buffer for bursts (default 16M; "
	 "1M more is kept in cache); raise it if events are lost", ANY},
	{"no-stacks", OPT_NO_STACKS, no_argument, NULL, "no user stacks when threads block "
	 "(callers from the return address only)", ANY},
	{"futex-calls", OPT_FUTEX_CALLS, no_argument, NULL, "a record of every futex call (its op, "
	 "timeout, result): futex call counts, exact timeouts; costs a syscall tracepoint a call "
	 "(on with --locks)", CLI_RECORD},
	{"no-loop-waits", OPT_NO_LOOP, no_argument, NULL, "no event-loop wait records (epoll_wait, "
	 "poll, ...): the io report then sees only the waits that sleep", CLI_RECORD},
	{"locks", OPT_LOCKS, optional_argument, "HOW", "glibc's mutex, rwlock and semaphore calls: "
	 "every acquisition and release (hold times, uncontended acquisitions) and lock-order "
	 "edges. HOW: preload (an interposer library loaded into CMD with LD_PRELOAD: tens of ns "
	 "a call; a dynamically linked CMD conlab starts), uprobes (a breakpoint trap per call; "
	 "any program, -p too), or auto (default: preload where it reaches CMD and CMD is not "
	 "Python, else uprobes)", CLI_RECORD | CLI_CONTENTION},
	{"gil", OPT_GIL, no_argument, NULL, "GIL uprobes on CPython's take_gil/drop_gil "
	 "(unstripped interpreters, e.g. pyenv builds): exact GIL hold intervals", CLI_RECORD},
	{"quiet", OPT_QUIET, no_argument, NULL, "no live status line", ANY},
	{"sandbox", OPT_SANDBOX, required_argument, "SPEC", "run COMMAND confined (an unprivileged "
	 "user, limits, cgroups, no network): what `conlab lab check` uses for submissions",
	 CLI_RECORD},
	{"verbose", 'v', no_argument, NULL, "show libbpf's messages", ANY},
	{"help", 'h', no_argument, NULL, "this text", ANY},
	{0},
};

/* The report options; `who`: the enum report_kind_opt bit a kind must have, 0 for every kind.
 * --format's help is made per kind (its formats). */
static const struct optdef rep_format = {"format", OPT_FORMAT, required_argument, "FMT", NULL, 0};
static const struct optdef rep_input = {"input", 'i', required_argument, "FILE",
					"trace file (default conlab.clab)", 0};
static const struct optdef rep_table[] = {
	{"output", 'o', required_argument, "OUT", "write the report to OUT instead of stdout", 0},
	{"from", OPT_FROM, required_argument, "S", "only from S seconds after the trace's start",
	 ROPT_WINDOW},
	{"to", OPT_TO, required_argument, "S", "only up to S seconds after the trace's start",
	 ROPT_WINDOW},
	{"sort", OPT_SORT, required_argument, "KEY", "total (default), waits, max, avg, name, hold",
	 ROPT_SORT},
	{"top", OPT_TOP, required_argument, "N", NULL, ROPT_TOP},	/* help: the kind's */
	{0},
};

/* "text (default), json, perfetto (open it in ui.perfetto.dev), ..." for kind k */
static void format_help(const struct report_kind *k, char *buf, size_t n)
{
	static const char *const note[FMT_NFORMATS] = {
		[FMT_TEXT] = " (default)", [FMT_PERFETTO] = " (open it in ui.perfetto.dev)",
		[FMT_HTML] = " (one self-contained page)", [FMT_FOLDED] = " (stacks for flamegraph.pl)",
	};
	size_t len = 0;

	buf[0] = 0;
	for (int f = 0; f < FMT_NFORMATS && len < n; f++)
		if (k->formats & FMT_BIT(f))
			len += snprintf(buf + len, n - len, "%s%s%s", len ? ", " : "", format_name(f),
					note[f] ? note[f] : "");
}

void cli_report_options(struct optset *s, const struct report_kind *k, int with_input)
{
	char fh[240];

	if (with_input)
		optset_add(s, &rep_input);
	format_help(k, fh, sizeof(fh));
	optset_add_with_help(s, &rep_format, fh);
	for (const struct optdef *d = rep_table; d->name; d++) {
		if (d->who && !(k->opts & d->who))
			continue;
		if (d->key == OPT_TOP)
			optset_add_with_help(s, d, k->top_help ? k->top_help : "rows per table");
		else
			optset_add(s, d);
	}
}

int cli_report_option(struct report_opts *o, int key, const char *arg)
{
	double s;

	switch (key) {
	case 'i':
		o->input = arg;
		return 0;
	case 'o':
		o->output = arg;
		return 0;
	case OPT_FORMAT:
		o->format = parse_format(arg);
		if (o->format < 0)
			return fail("unknown format '%s'", arg);
		return 0;
	case OPT_FROM:
	case OPT_TO:
		s = parse_seconds(arg);
		if (s < 0)
			return fail("bad time '%s' (seconds from the start)", arg);
		*(key == OPT_FROM ? &o->from_ns : &o->to_ns) = s * 1e9;
		return 0;
	case OPT_SORT:
		o->sort = arg;
		return 0;
	case OPT_TOP:
		o->top = parse_top(arg);
		if (o->top < 0)
			return fail("bad --top '%s' (rows, 1 to 100000)", arg);
		return 0;
	default:
		return fail("option %d is not a report option", key);
	}
}

void cli_refused(const char *cmd, const char *arg)
{
	char name[64];
	size_t n;

	/* "--sort=x" or "--sort": the name; "-x": the letter */
	snprintf(name, sizeof(name), "%s", arg);
	n = strcspn(name, "=");
	name[n] = 0;
	for (const struct optdef *d = rep_table; d->name; d++)
		if (!strncmp(name, "--", 2) && !strcmp(name + 2, d->name) &&
		    !strcmp(cmd, "record")) {
			errmsg("record has no %s (a report option: conlab report KIND %s)", name,
			       name);
			return;
		}
	errmsg("%s has no %s option (see conlab %s --help)", cmd, name, cmd);
}

static int parse_pids(struct cli *c, const char *arg)
{
	char *dup = xstrdup(arg), *save = NULL;

	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);

		if (*end || v <= 0 || v > 0x3fffffff) {
			free(dup);
			return fail("bad pid '%s'", tok);
		}
		if (c->rec.npids >= CLI_MAX_PIDS) {
			free(dup);
			return fail("too many pids (at most %d)", CLI_MAX_PIDS);
		}
		c->pids[c->rec.npids++] = v;
	}
	free(dup);
	return 0;
}

int cli_set_locks_via(struct record_opts *r, const char *arg)
{
	if (!arg || !strcmp(arg, "auto"))
		r->locks_via = REC_VIA_AUTO;	/* chosen once the command is known */
	else if (!strcmp(arg, "uprobes"))
		r->locks_via = REC_VIA_UPROBES;
	else if (!strcmp(arg, "preload"))
		r->locks_via = REC_VIA_PRELOAD;
	else
		return fail("invalid --locks '%s' (auto, uprobes, preload)", arg);
	return 0;
}

int cli_set_duration(struct record_opts *r, const char *arg)
{
	r->duration = parse_seconds(arg);
	if (r->duration <= 0)
		return fail("bad --duration '%s' (seconds, e.g. 5 or 500ms)", arg);
	return 0;
}

int cli_set_sandbox(struct record_opts *r, const char *arg)
{
	/* set up by `lab check` for a submission: checked here, entered by the child */
	struct sandbox sb;
	char err[256];

	if (sandbox_spec_parse(&sb, arg, err, sizeof(err)))
		return fail("--sandbox: %s", err);
	r->sandbox = arg;
	return 0;
}

/* One recording option; 0, or -1 after one error line. */
static int rec_option(struct cli *c, int key, const char *arg)
{
	switch (key) {
	case 'p':
		return parse_pids(c, arg);
	case 'a':
		c->rec.all = 1;
		return 0;
	case 'o':
		c->trace_path = arg;	/* record: the trace (a one-shot's -o is the report's) */
		return 0;
	case OPT_TRACE:
		c->trace_path = arg;
		return 0;
	case OPT_DURATION:
		return cli_set_duration(&c->rec, arg);
	case OPT_BUFFER:
		c->rec.buffer = parse_size(arg);
		if (c->rec.buffer < 4096)
			return fail("bad --buffer '%s' (bytes, e.g. 64M)", arg);
		return 0;
	case OPT_NO_STACKS:
		c->rec.stacks = 0;
		return 0;
	case OPT_QUIET:
		c->rec.status = 0;
		return 0;
	case OPT_FUTEX_CALLS:
		c->rec.futex_calls = 1;
		return 0;
	case OPT_NO_LOOP:
		c->rec.no_loop_waits = 1;
		return 0;
	case OPT_SANDBOX:
		return cli_set_sandbox(&c->rec, arg);
	case OPT_LOCKS:
		/* hold times for contention, lock order for deadlocks */
		c->rec.locks = REC_LOCKS_ORDER | REC_LOCKS_EVENTS;
		return cli_set_locks_via(&c->rec, arg);
	case OPT_GIL:
		/* GIL uprobes on unstripped CPython interpreters: exact GIL hold intervals */
		c->rec.gil = 1;
		return 0;
	case 'v':
		c->rec.verbose = 1;
		return 0;
	default:
		return fail("option %d is not a recording option", key);
	}
}

static void cli_defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->rec.pids = c->pids;
	c->rec.stacks = 1;
	c->rec.status = 1;
	c->rec.buffer = 16u << 20;
	c->rec.lang = &pyrecord_lang;	/* Python thread names in the trace */
	c->rep.format = FMT_TEXT;
	c->rep.color = isatty(1) && !getenv("NO_COLOR");
	c->rep.width = 80;
	if (getenv("COLUMNS"))
		c->rep.width = atoi(getenv("COLUMNS"));
	if (c->rep.width < 40)
		c->rep.width = 80;
}

/* The options cmd takes: its recording rows, then (one-shot) its report kind's rows. -o of a
 * one-shot command is the report's, so the recording table's -o (record's) is left out. */
static void cmd_options(struct optset *s, const struct cli_cmd *cmd)
{
	const struct report_kind *k = cmd->who & CLI_RECORD ? NULL : report_kind_find(cmd->name);

	for (const struct optdef *d = rec_table; d->name; d++) {
		if (!(d->who & cmd->who))
			continue;
		if (k && d->key == 'h')
			continue;	/* help goes last */
		optset_add(s, d);
	}
	if (k) {
		cli_report_options(s, k, 0);
		for (const struct optdef *d = rec_table; d->name; d++)
			if (d->key == 'h')
				optset_add(s, d);
	}
}

/* The report table's keys; -o is the report's only in a one-shot command (record: the trace). */
static int is_report_key(int key, int one_shot)
{
	return key == OPT_FORMAT || key == OPT_FROM || key == OPT_TO || key == OPT_SORT ||
	       key == OPT_TOP || key == 'i' || (key == 'o' && one_shot);
}

static void print_help(FILE *f, const struct cli_cmd *cmd, const struct optset *s)
{
	fputs(cmd->head, f);
	fputc('\n', f);
	optset_help(f, s);
	if (cmd->tail && cmd->tail[0])
		fprintf(f, "\n%s", cmd->tail);
}

/* After an error: the synopsis only (up to the first blank line); the error is the news. */
static void print_synopsis(const struct cli_cmd *cmd)
{
	const char *end = strstr(cmd->head, "\n\n");

	fprintf(stderr, "%.*s\n", end ? (int)(end - cmd->head) : (int)strlen(cmd->head), cmd->head);
}

int cli_parse(struct cli *c, int argc, char **argv, const struct cli_cmd *cmd)
{
	int one_shot = !(cmd->who & CLI_RECORD);
	struct optset s = {0};
	struct option *opts;
	char shorts[64];
	int opt, ret = 0;

	cli_defaults(c);
	cmd_options(&s, cmd);
	opts = optset_getopt(&s, shorts, sizeof(shorts));
	opterr = 0;	/* an unknown option is refused below, by name */
	optind = 1;
	while (!ret && (opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const struct optdef *d = optset_find(&s, opt);

		if (opt == 'h') {
			print_help(stdout, cmd, &s);
			free(opts);
			return 1;
		}
		if (opt == '?' || opt == ':' || !d) {
			if (opt == ':' || (optopt && optset_find(&s, optopt)))
				errmsg("%s needs a value", argv[optind - 1]);
			else
				cli_refused(cmd->name, argv[optind - 1]);
			ret = 3;
		} else if (is_report_key(opt, one_shot)) {
			ret = cli_report_option(&c->rep, opt, optarg) ? 3 : 0;
		} else {
			ret = rec_option(c, opt, optarg) ? 3 : 0;
		}
	}
	free(opts);
	if (ret) {
		print_synopsis(cmd);
		return ret;
	}
	if (optind < argc) {
		if (!strcmp(argv[optind - 1], "--") || argv[optind][0] != '-')
			c->rec.cmd = argv + optind;
	}
	if (!!c->rec.cmd + !!c->rec.npids + !!c->rec.all != 1) {
		errmsg("say what to trace: -p PID, -a, or -- COMMAND [ARGS] (one of them)");
		return 3;
	}
	return 0;
}

const char *cli_trace_path(struct cli *c)
{
	int fd;

	if (c->trace_path)
		return c->trace_path;
	snprintf(c->tmp_trace, sizeof(c->tmp_trace), "/tmp/conlab-XXXXXX.clab");
	fd = mkstemps(c->tmp_trace, 5);
	if (fd < 0)
		return NULL;
	close(fd);
	return c->tmp_trace;
}

void cli_cleanup(struct cli *c)
{
	if (c->tmp_trace[0])
		unlink(c->tmp_trace);
}

int cli_record_and_report(struct cli *c, const char *kind)
{
	struct record_result res;
	int r;

	if (report_check_opts(kind, &c->rep))
		return 2;
	c->rep.input = cli_trace_path(c);
	if (!c->rep.input) {
		errmsg("cannot create a temporary trace file");
		return 2;
	}
	c->rec.output = c->rep.input;
	if (record_run(&c->rec, &res)) {
		cli_cleanup(c);
		return 2;
	}
	r = report_run(kind, &c->rep);
	cli_cleanup(c);
	return r;
}
