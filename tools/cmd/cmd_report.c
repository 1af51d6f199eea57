/* cmd_report.c — `conlab report KIND`: a report from a trace file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/options.h"
#include "render/report.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conlab report KIND [-i FILE] [--format FMT] [-o OUT] [options of KIND]\n"
		"\n"
		"A report from a trace file (conlab record). `conlab report KIND --help` lists the\n"
		"options of one kind.\n"
		"\n"
		"kinds:\n");
	report_kinds_usage(f);
	fprintf(f, "\nexamples:\n"
		   "  conlab report summary -i run.clab\n"
		   "  conlab report summary -i run.clab --format json | python3 -m json.tool\n"
		   "  conlab report contention --help\n");
}

/* The options of one kind, made from the report table (cli.h). */
static void kind_usage(FILE *f, const struct report_kind *k, const struct optset *s)
{
	fprintf(f, "usage: conlab report %s [options]\n\n%s\n\n", k->name, k->help);
	optset_help(f, s);
}

int cmd_report(int argc, char **argv)
{
	static const struct optdef help = {"help", 'h', no_argument, NULL, "this text", 0};
	struct report_opts o = {.format = FMT_TEXT, .input = "conlab.clab", .width = 80};
	const struct report_kind *k;
	struct optset s = {0};
	struct option *opts;
	char shorts[32], cmd[48];
	int opt, rc = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	k = report_kind_find(argv[1]);
	if (!k) {
		errmsg("unknown report '%s' (see conlab report --help)", argv[1]);
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "report %s", k->name);
	cli_report_options(&s, k, 1);
	optset_add(&s, &help);
	opts = optset_getopt(&s, shorts, sizeof(shorts));
	o.color = isatty(1) && !getenv("NO_COLOR");
	if (getenv("COLUMNS") && atoi(getenv("COLUMNS")) >= 40)
		o.width = atoi(getenv("COLUMNS"));
	opterr = 0;	/* an unknown option is refused by name */
	optind = 2;
	while (!rc && (opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (opt == 'h') {
			kind_usage(stdout, k, &s);
			free(opts);
			return 0;
		}
		if (opt == '?') {
			if (optopt && optset_find(&s, optopt))
				errmsg("%s needs a value", argv[optind - 1]);
			else
				cli_refused(cmd, argv[optind - 1]);
			rc = 2;
		} else if (cli_report_option(&o, opt, optarg)) {
			rc = 2;
		}
	}
	free(opts);
	if (rc)
		return rc;
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return report_run(k->name, &o);
}
