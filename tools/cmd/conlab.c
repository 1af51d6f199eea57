/*
 * conlab.c — the entry point: one binary, subcommands perf/git style.
 * Each subcommand lives in its own cmd_*.c; this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"

#ifndef CONLAB_VERSION
#define CONLAB_VERSION "0.1"
#endif

static const struct command commands[] = {
	{"record", cmd_record, "record a program's threads, processes and waits into a trace file"},
	{"report", cmd_report, "report on a trace file: summary, timeline, contention, deadlock, io, gil"},
	{"dump", cmd_dump, "print a trace file's events one per line, in time order"},
	{"deadlock", cmd_deadlock, "diagnose a hung process now (-p PID), or run a command and catch its deadlocks"},
	{"contention", cmd_contention, "record a program and report which locks made it wait"},
	{"timeline", cmd_timeline, "record a program and draw its threads' timeline (text, Perfetto, HTML)"},
	{"io", cmd_io, "record a program and report on its event loops: idle, busy gaps, blocking"},
	{"gil", cmd_gil, "record a Python program and report on its GIL: holders, hand-offs, waits"},
	{"lab", cmd_lab, "the lab exercises: list them, run one, check a solution"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: conlab COMMAND [ARGS]\n\n"
		   "conlab watches a program's threads and processes with eBPF and explains its\n"
		   "deadlocks, contention and timeline.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'conlab COMMAND --help' tells more about each.\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("conlab %s\n", CONLAB_VERSION);
		return 0;
	}
	return command_dispatch("conlab", commands, sizeof(commands) / sizeof(commands[0]), usage,
				argc, argv);
}
