/* lab.c — lab files: their lines, needs and variants (see lab.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"
#include "lab/lab_service.h"
#include "lib/util.h"

/* ---- lab files ------------------------------------------------------------------------ */

static int parse_need(struct lab *l, char *rest, char *err, size_t errn)
{
	static const char *const kinds[] = {"command", "module", "file", "report", "program"};
	struct lab_need *n;
	char *hint = strstr(rest, " -- "), *what;
	size_t k;

	if (hint) {
		*hint = 0;
		hint = str_trim(hint + 4);
	}
	what = strchr(rest, ' ');
	if (what)
		*what++ = 0;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(rest, kinds[k]))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		snprintf(err, errn, "unknown need '%s' (command, module, file, report, program)",
			 rest);
		return -1;
	}
	what = what ? str_trim(what) : NULL;
	if (k != NEED_PROGRAM && (!what || !*what)) {
		snprintf(err, errn, "'needs %s' wants a name", kinds[k]);
		return -1;
	}
	l->needs = xrealloc(l->needs, (l->nneeds + 1) * sizeof(*l->needs));
	n = &l->needs[l->nneeds++];
	n->kind = k;
	n->what = xstrdup(what ? what : "");
	n->hint = hint && *hint ? xstrdup(hint) : NULL;
	return 0;
}

static int parse_variant(struct lab *l, char *rest, char *err, size_t errn)
{
	struct lab_variant v = {.timeout_s = 60};
	char *p = rest, *word;

	word = strsep(&p, " \t");
	if (!*word || !p) {
		snprintf(err, errn, "'variant' wants a name and a command");
		return -1;
	}
	for (char *c = word; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_') {
			snprintf(err, errn, "variant name '%s': letters, digits and _ only", word);
			return -1;
		}
	if (lab_variant_find(l, word)) {
		snprintf(err, errn, "variant '%s' defined twice", word);
		return -1;
	}
	v.name = word;
	for (;;) {
		p = str_trim(p);
		if (!strncmp(p, "capture=", 8)) {
			char *sp = strpbrk(p, " \t");

			if (sp)
				*sp = 0;
			if (strcmp(p + 8, "record") && strcmp(p + 8, "deadlock") &&
			    strcmp(p + 8, "locks")) {
				snprintf(err, errn, "unknown capture '%s' (record, locks, deadlock)",
					 p + 8);
				return -1;
			}
			v.capture_deadlock = !strcmp(p + 8, "deadlock");
			v.capture_locks = !strcmp(p + 8, "locks");
			p = sp ? sp + 1 : p + strlen(p);
			continue;
		}
		if (!strncmp(p, "hang=", 5) || !strncmp(p, "timeout=", 8)) {
			char *eq = strchr(p, '=') + 1, *sp = strpbrk(p, " \t");
			double s;

			if (sp)
				*sp = 0;
			s = parse_seconds(eq);
			if (s <= 0) {
				snprintf(err, errn, "bad time '%s'", p);
				return -1;
			}
			if (p[0] == 'h')
				v.hang_s = s;
			else
				v.timeout_s = s;
			p = sp ? sp + 1 : p + strlen(p);
			continue;
		}
		break;
	}
	if (!*p) {
		snprintf(err, errn, "variant '%s' has no command", v.name);
		return -1;
	}
	l->variants = xrealloc(l->variants, (l->nvariants + 1) * sizeof(*l->variants));
	v.name = xstrdup(v.name);
	v.cmd = xstrdup(p);
	l->variants[l->nvariants++] = v;
	return 0;
}

static int set_once(char **field, const char *key, const char *val, char *err, size_t errn)
{
	if (*field) {
		snprintf(err, errn, "'%s' given twice", key);
		return -1;
	}
	if (!*val) {
		snprintf(err, errn, "'%s' wants a value", key);
		return -1;
	}
	*field = xstrdup(val);
	return 0;
}

static int parse_line(struct lab *l, char *line, int lineno, char *err, size_t errn)
{
	char *key = line, *rest = line;

	strsep(&rest, " \t");
	rest = rest ? str_trim(rest) : key + strlen(key);
	if (!strcmp(key, "name"))
		return set_once(&l->name, key, rest, err, errn);
	if (!strcmp(key, "title"))
		return set_once(&l->title, key, rest, err, errn);
	if (!strcmp(key, "topic"))
		return set_once(&l->topic, key, rest, err, errn);
	if (!strcmp(key, "sheet"))
		return set_once(&l->sheet, key, rest, err, errn);
	if (!strcmp(key, "check"))
		return set_once(&l->check_variant, key, rest, err, errn);
	if (!strcmp(key, "run"))
		return set_once(&l->run_variant, key, rest, err, errn);
	if (!strcmp(key, "student"))
		return set_once(&l->student_args, key, rest, err, errn);
	if (!strcmp(key, "batch")) {
		/* how `lab check --submissions` may grade: serial when the expectations measure
		 * timing or parallelism that submissions graded side by side would disturb */
		if (strcmp(rest, "serial") && strcmp(rest, "parallel")) {
			snprintf(err, errn, "batch is serial or parallel, not '%s'", rest);
			return -1;
		}
		l->batch_serial = !strcmp(rest, "serial");
		return 0;
	}
	if (!strcmp(key, "service")) {
		if (*rest && !lab_service_known(rest)) {
			snprintf(err, errn, "unknown service '%s' (rabbitmq)", rest);
			return -1;
		}
		return set_once(&l->service, key, rest, err, errn);
	}
	if (!strcmp(key, "optional")) {
		l->optional = 1;
		return 0;
	}
	if (!strcmp(key, "needs"))
		return parse_need(l, rest, err, errn);
	if (!strcmp(key, "variant"))
		return parse_variant(l, rest, err, errn);
	if (!strcmp(key, "show")) {
		char *w;

		while ((w = strsep(&rest, " \t")))
			if (*w) {
				l->show = xrealloc(l->show, (l->nshow + 1) * sizeof(*l->show));
				l->show[l->nshow++] = xstrdup(w);
			}
		return 0;
	}
	if (!strcmp(key, "expect")) {
		struct lab_expect e;

		if (lab_expect_parse(&e, rest, err, errn))
			return -1;
		e.line = lineno;
		l->expects = xrealloc(l->expects, (l->nexpects + 1) * sizeof(*l->expects));
		l->expects[l->nexpects++] = e;
		return 0;
	}
	snprintf(err, errn, "unknown keyword '%s'", key);
	return -1;
}

int lab_parse(struct lab *l, const char *text, const char *path, char *err, size_t errn)
{
	char *buf = xstrdup(text), *p = buf, *line, msg[512];
	int lineno = 0;

	memset(l, 0, sizeof(*l));
	l->path = xstrdup(path);
	while ((line = strsep(&p, "\n"))) {
		char *t;

		lineno++;
		t = str_trim(line);
		if (!*t || *t == '#')
			continue;
		if (parse_line(l, t, lineno, msg, sizeof(msg))) {
			snprintf(err, errn, "%s:%d: %s", path, lineno, msg);
			goto bad;
		}
	}
	if (!l->name || !l->title) {
		snprintf(err, errn, "%s: 'name' and 'title' are required", path);
		goto bad;
	}
	if (!l->nvariants && !l->optional) {
		snprintf(err, errn, "%s: no variant", path);
		goto bad;
	}
	if (!l->check_variant)
		l->check_variant = xstrdup("reference");
	if (!l->run_variant && l->nvariants)
		l->run_variant = xstrdup(l->variants[0].name);
	for (const char *c = l->name; isdigit((unsigned char)*c); c++)
		l->number = l->number * 10 + (*c - '0');
	free(buf);
	return 0;
bad:
	free(buf);
	lab_free(l);
	return -1;
}

int lab_load(struct lab *l, const char *path, char *err, size_t errn)
{
	char *text = NULL;
	size_t cap = 0, n = 0, got;
	FILE *f = fopen(path, "r");
	int ret;

	memset(l, 0, sizeof(*l));
	if (!f) {
		snprintf(err, errn, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	do {
		GROW(text, cap, n + 4096);
		got = fread(text + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	text[n] = 0;
	ret = lab_parse(l, text, path, err, errn);
	free(text);
	return ret;
}

void lab_free(struct lab *l)
{
	free(l->path);
	free(l->name);
	free(l->title);
	free(l->topic);
	free(l->sheet);
	free(l->check_variant);
	free(l->run_variant);
	free(l->student_args);
	free(l->service);
	for (size_t i = 0; i < l->nneeds; i++) {
		free(l->needs[i].what);
		free(l->needs[i].hint);
	}
	free(l->needs);
	for (size_t i = 0; i < l->nvariants; i++) {
		free(l->variants[i].name);
		free(l->variants[i].cmd);
	}
	free(l->variants);
	for (size_t i = 0; i < l->nshow; i++)
		free(l->show[i]);
	free(l->show);
	for (size_t i = 0; i < l->nexpects; i++)
		lab_expect_free(&l->expects[i]);
	free(l->expects);
	memset(l, 0, sizeof(*l));
}

const struct lab_variant *lab_variant_find(const struct lab *l, const char *name)
{
	for (size_t i = 0; i < l->nvariants; i++)
		if (!strcmp(l->variants[i].name, name))
			return &l->variants[i];
	return NULL;
}
