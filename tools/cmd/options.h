/*
 * options.h — command-line options declared once. A command's options are rows of a table (one
 * table per group: recording, report); the command picks the rows it takes into an optset,
 * and getopt's array, the short-option string and the help lines are all made from that set,
 * so what a command accepts and what its help says cannot drift apart.
 */
#ifndef CONLAB_OPTIONS_H
#define CONLAB_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

struct optdef {
	const char *name;	/* long name, without "--" */
	int key;		/* its short letter, or a value above 0xff when it has none */
	int has_arg;		/* no_argument, required_argument or optional_argument */
	const char *arg;	/* the argument's name in the help ("S", "FILE"); NULL for a flag */
	const char *help;	/* "\n" starts a continuation line */
	unsigned who;		/* which commands take it: bits the group's table defines */
};

#define OPTSET_MAX 40

struct optset {
	const struct optdef *v[OPTSET_MAX];
	size_t n;
	/* rows made for one command, whose help names its own values (a report's formats) */
	struct optdef made[2];
	char made_help[2][240];
	size_t nmade;
};

/* Every row of the NULL-terminated table t whose `who` has a bit of mask. */
void optset_take(struct optset *s, const struct optdef *t, unsigned mask);
void optset_add(struct optset *s, const struct optdef *d);
/* A copy of row d with help text `help` (copied), added to s. */
void optset_add_with_help(struct optset *s, const struct optdef *d, const char *help);
/* getopt_long's array (free() it) and its short-option string: "+" (stop at the command),
 * then each short letter, with ":" or "::" after it as its argument wants. */
struct option *optset_getopt(const struct optset *s, char *shorts, size_t n);
/* The row whose key is key, or NULL. */
const struct optdef *optset_find(const struct optset *s, int key);
/* One help line per option (continuations aligned), in the set's order. */
void optset_help(FILE *f, const struct optset *s);

#endif
