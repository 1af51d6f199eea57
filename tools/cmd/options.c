/* options.c — options declared once: getopt's array and the help from one set (see options.h). */
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"
#include "lib/util.h"

/* Where the help text starts: room for "  -o, --output FILE" and "      --no-loop-waits". */
#define HELP_COL 26

void optset_add(struct optset *s, const struct optdef *d)
{
	if (s->n < OPTSET_MAX)
		s->v[s->n++] = d;
}

void optset_add_with_help(struct optset *s, const struct optdef *d, const char *help)
{
	size_t i = s->nmade;

	if (i >= sizeof(s->made) / sizeof(s->made[0]))
		return;
	s->nmade++;
	snprintf(s->made_help[i], sizeof(s->made_help[i]), "%s", help);
	s->made[i] = *d;
	s->made[i].help = s->made_help[i];
	optset_add(s, &s->made[i]);
}

void optset_take(struct optset *s, const struct optdef *t, unsigned mask)
{
	for (; t->name; t++)
		if (t->who & mask)
			optset_add(s, t);
}

struct option *optset_getopt(const struct optset *s, char *shorts, size_t n)
{
	struct option *o = xcalloc(s->n + 1, sizeof(*o));
	size_t k = 0;

	if (n)
		shorts[k++] = '+';
	for (size_t i = 0; i < s->n; i++) {
		const struct optdef *d = s->v[i];

		o[i] = (struct option){d->name, d->has_arg, NULL, d->key};
		if (d->key > 0xff || k + 4 > n)
			continue;
		shorts[k++] = (char)d->key;
		if (d->has_arg != no_argument)
			shorts[k++] = ':';
		if (d->has_arg == optional_argument)
			shorts[k++] = ':';
	}
	if (n)
		shorts[k] = 0;
	return o;
}

const struct optdef *optset_find(const struct optset *s, int key)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i]->key == key)
			return s->v[i];
	return NULL;
}

/* The help text from HELP_COL to column 80, broken between words (and at each '\n'). */
static void wrap(FILE *f, const char *h)
{
	int col = HELP_COL;

	while (*h) {
		size_t w = strcspn(h, " \n");

		if (col > HELP_COL && col + 1 + (int)w > 80) {
			fprintf(f, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		} else if (col > HELP_COL) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)w, h);
		col += (int)w;
		h += w;
		if (*h == '\n')
			col = 81;	/* the next word starts a line */
		while (*h == ' ' || *h == '\n')
			h++;
	}
	fputc('\n', f);
}

void optset_help(FILE *f, const struct optset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct optdef *d = s->v[i];
		const char *h = d->help;
		char head[64];
		int len;

		if (d->key <= 0xff)
			len = snprintf(head, sizeof(head), "  -%c, --%s", d->key, d->name);
		else
			len = snprintf(head, sizeof(head), "      --%s", d->name);
		if (d->arg)
			len += snprintf(head + len, sizeof(head) - (size_t)len, "%s%s",
					d->has_arg == optional_argument ? "[=" : " ", d->arg);
		if (d->arg && d->has_arg == optional_argument)
			len += snprintf(head + len, sizeof(head) - (size_t)len, "]");
		/* a long head gets its text on the next line */
		if (len >= HELP_COL - 1)
			fprintf(f, "%s\n%*s", head, HELP_COL, "");
		else
			fprintf(f, "%-*s", HELP_COL, head);
		wrap(f, h);
	}
}
