/* cmd_report.c — `conlab report KIND`: a report from a trace file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "render/report.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conlab report KIND [-i FILE] [--format FMT] [-o OUT] [--from S] [--to S]\n"
		"                          [--sort KEY] [--top N]\n"
		"\n"
		"  -i, --input FILE    trace file (default conlab.clab)\n"
		"  --format FMT        output format (each kind lists the ones it has)\n"
		"  -o, --output OUT    write to OUT instead of stdout\n"
		"  --from S, --to S    only this time range, seconds from the start\n"
		"\n"
		"kinds:\n");
	report_kinds_usage(f);
	fprintf(f, "\nexamples:\n"
		   "  conlab report summary -i run.clab\n"
		   "  conlab report summary -i run.clab --format json | python3 -m json.tool\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"input", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'},
		{"sort", required_argument, NULL, 's'},
		{"top", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct report_opts o = {.format = FMT_TEXT, .input = "conlab.clab", .width = 80};
	const char *kind;
	double s;
	int opt;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	kind = argv[1];
	o.color = isatty(1) && !getenv("NO_COLOR");
	if (getenv("COLUMNS") && atoi(getenv("COLUMNS")) >= 40)
		o.width = atoi(getenv("COLUMNS"));
	optind = 2;
	while ((opt = getopt_long(argc, argv, "i:o:f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o.input = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'f':
			o.format = parse_format(optarg);
			if (o.format < 0) {
				errmsg("unknown format '%s'", optarg);
				return 2;
			}
			break;
		case 'F':
		case 'T':
			s = parse_seconds(optarg);
			if (s < 0) {
				errmsg("bad time '%s' (seconds from the start)", optarg);
				return 2;
			}
			if (opt == 'F')
				o.from_ns = s * 1e9;
			else
				o.to_ns = s * 1e9;
			break;
		case 's':
			o.sort = optarg;
			break;
		case 'n':
			o.top = parse_top(optarg);
			if (o.top < 0) {
				errmsg("bad --top '%s' (rows, 1 to 100000)", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return report_run(kind, &o);
}
