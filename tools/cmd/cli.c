/* cli.c — shared option parsing for the recording commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "capture/sandbox.h"
#include "lib/util.h"

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
	OPT_NO_FUTEX,
	OPT_NO_LOOP,
	OPT_SANDBOX,
};

static const struct option common[] = {
	{"pid", required_argument, NULL, 'p'},
	{"all", no_argument, NULL, 'a'},
	{"output", required_argument, NULL, 'o'},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"buffer", required_argument, NULL, OPT_BUFFER},
	{"no-stacks", no_argument, NULL, OPT_NO_STACKS},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"sort", required_argument, NULL, OPT_SORT},
	{"top", required_argument, NULL, OPT_TOP},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"locks", no_argument, NULL, OPT_LOCKS},
	{"no-futex-calls", no_argument, NULL, OPT_NO_FUTEX},
	{"no-loop-waits", no_argument, NULL, OPT_NO_LOOP},
	{"sandbox", required_argument, NULL, OPT_SANDBOX},
	{"gil", no_argument, NULL, OPT_GIL},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
};

#define NCOMMON (sizeof(common) / sizeof(common[0]))

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

static int is_report_opt(int opt)
{
	return opt == OPT_FORMAT || opt == OPT_FROM || opt == OPT_TO || opt == OPT_SORT ||
	       opt == OPT_TOP || opt == OPT_TRACE;
}

static const char *optname(const struct option *opts, int opt)
{
	for (; opts->name; opts++)
		if (opts->val == opt)
			return opts->name;
	return "?";
}

int cli_parse(struct cli *c, int argc, char **argv, const char *usage, int one_shot,
	      const struct option *extra, const char *extra_short, cli_extra_fn on_extra)
{
	size_t nextra = 0;
	struct option *opts;
	char shorts[64];
	int opt, ret = 0;

	memset(c, 0, sizeof(*c));
	c->rec.pids = c->pids;
	c->rec.stacks = 1;
	c->rec.status = 1;
	c->rec.buffer = 16u << 20;
	c->rep.format = FMT_TEXT;
	c->rep.color = isatty(1) && !getenv("NO_COLOR");
	c->rep.width = 80;
	if (getenv("COLUMNS"))
		c->rep.width = atoi(getenv("COLUMNS"));
	if (c->rep.width < 40)
		c->rep.width = 80;
	while (extra && extra[nextra].name)
		nextra++;
	opts = xcalloc(NCOMMON + nextra + 1, sizeof(*opts));
	memcpy(opts, common, sizeof(common));
	if (nextra)
		memcpy(opts + NCOMMON, extra, nextra * sizeof(*opts));
	/* '+': stop at the first non-option, which starts the command */
	snprintf(shorts, sizeof(shorts), "+p:ao:vh%s", extra_short ? extra_short : "");
	optind = 1;
	while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_pids(c, optarg))
				ret = 3;
			break;
		case 'a':
			c->rec.all = 1;
			break;
		case 'o':
			if (one_shot)
				c->rep.output = optarg;
			else
				c->trace_path = optarg;
			break;
		case OPT_TRACE:
			c->trace_path = optarg;
			break;
		case OPT_DURATION:
			c->rec.duration = parse_seconds(optarg);
			if (c->rec.duration <= 0) {
				errmsg("bad --duration '%s' (seconds, e.g. 5 or 500ms)", optarg);
				ret = 3;
			}
			break;
		case OPT_BUFFER:
			c->rec.buffer = parse_size(optarg);
			if (c->rec.buffer < 4096) {
				errmsg("bad --buffer '%s' (bytes, e.g. 64M)", optarg);
				ret = 3;
			}
			break;
		case OPT_NO_STACKS:
			c->rec.stacks = 0;
			break;
		case OPT_FORMAT:
			c->rep.format = parse_format(optarg);
			if (c->rep.format < 0) {
				errmsg("unknown format '%s'", optarg);
				ret = 3;
			}
			break;
		case OPT_FROM:
		case OPT_TO: {
			double s = parse_seconds(optarg);

			if (s < 0) {
				errmsg("bad time '%s' (seconds from the start)", optarg);
				ret = 3;
			} else if (opt == OPT_FROM) {
				c->rep.from_ns = s * 1e9;
			} else {
				c->rep.to_ns = s * 1e9;
			}
			break;
		}
		case OPT_SORT:
			c->rep.sort = optarg;
			break;
		case OPT_TOP:
			c->rep.top = parse_top(optarg);
			if (c->rep.top < 0) {
				errmsg("bad --top '%s' (rows, 1 to 100000)", optarg);
				ret = 3;
			}
			break;
		case OPT_QUIET:
			c->rec.status = 0;
			break;
		case OPT_NO_FUTEX:
			c->rec.no_futex_calls = 1;
			break;
		case OPT_NO_LOOP:
			c->rec.no_loop_waits = 1;
			break;
		case OPT_SANDBOX: {
			/* set up by `lab check` for a submission: checked here, entered by the child */
			struct sandbox sb;
			char err[256];

			if (sandbox_spec_parse(&sb, optarg, err, sizeof(err))) {
				errmsg("--sandbox: %s", err);
				ret = 3;
			}
			c->rec.sandbox = optarg;
			break;
		}
		case OPT_LOCKS:
			/* lock uprobes: hold times for contention, lock order for deadlocks */
			c->rec.locks = REC_LOCKS_ORDER | REC_LOCKS_EVENTS;
			break;
		case OPT_GIL:
			/* GIL uprobes on unstripped CPython interpreters: exact GIL hold intervals */
			c->rec.gil = 1;
			break;
		case 'v':
			c->rec.verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			free(opts);
			return 1;
		case '?':
			ret = 3;
			break;
		default:
			if (!on_extra || on_extra(c, opt, optarg))
				ret = 3;
			break;
		}
		if (!ret && !one_shot && is_report_opt(opt)) {
			/* record writes a trace, not a report: say so rather than ignore it */
			errmsg("record has no --%s (a report option: conlab report KIND --%s)",
			       optname(opts, opt), optname(opts, opt));
			ret = 3;
		}
		if (ret)
			break;
	}
	free(opts);
	if (ret) {
		/* the synopsis only (up to the first blank line): the error above is the news */
		const char *end = strstr(usage, "\n\n");

		fprintf(stderr, "%.*s\n", end ? (int)(end - usage) : (int)strlen(usage), usage);
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
