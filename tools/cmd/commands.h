/* commands.h — the subcommands of the conlab binary, one cmd_*.c file each. */
#ifndef CONLAB_COMMANDS_H
#define CONLAB_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;	/* one line for the usage; NULL: not listed */
};

/*
 * Run the command of table t that argv[1] names, with argv from there on. No name: usage to
 * stderr, 2; --help, -h or help: usage to stdout, 0; an unknown name: one line, 2. `what`
 * says whose commands they are in that line ("conlab", "conlab lab").
 */
int command_dispatch(const char *what, const struct command *t, size_t n, void (*usage)(FILE *),
		     int argc, char **argv);

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_deadlock(int argc, char **argv);
int cmd_contention(int argc, char **argv);
int cmd_io(int argc, char **argv);
int cmd_gil(int argc, char **argv);

#endif
