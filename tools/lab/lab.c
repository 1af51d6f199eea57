/* lab.c — lab files: the line parser, the expression parser and evaluator (see lab.h). */
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

/* ---- expressions: tokens and parser ---------------------------------------------------- */

enum tok_kind { T_END, T_NUM, T_STR, T_IDENT, T_PUNCT, T_CMP };

struct lexer {
	const char *s;
	size_t pos;
	enum tok_kind kind;
	double num;
	char text[256];		/* identifier, string contents, punctuation or operator */
	char *err;
	size_t errn;
	int failed;
};

static int lerr(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lerr(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	if (lx->failed)
		return -1;
	lx->failed = 1;
	va_start(ap, fmt);
	vsnprintf(lx->err, lx->errn, fmt, ap);
	va_end(ap);
	return -1;
}

/* Numbers may use _ as a digit separator (100_000_000) for readable nanoseconds. */
static int next(struct lexer *lx)
{
	const char *s = lx->s;
	size_t n = 0;

	while (s[lx->pos] == ' ' || s[lx->pos] == '\t')
		lx->pos++;
	if (!s[lx->pos]) {
		lx->kind = T_END;
		strcpy(lx->text, "end of line");
		return 0;
	}
	if (isdigit((unsigned char)s[lx->pos]) ||
	    (s[lx->pos] == '.' && isdigit((unsigned char)s[lx->pos + 1]))) {
		char buf[64], *end;

		while (n < sizeof(buf) - 1 && (isalnum((unsigned char)s[lx->pos]) ||
					       s[lx->pos] == '.' || s[lx->pos] == '_' ||
					       ((s[lx->pos] == '-' || s[lx->pos] == '+') &&
						(s[lx->pos - 1] == 'e' || s[lx->pos - 1] == 'E')))) {
			if (s[lx->pos] != '_')
				buf[n++] = s[lx->pos];
			lx->pos++;
		}
		buf[n] = 0;
		lx->num = strtod(buf, &end);
		if (*end)
			return lerr(lx, "bad number '%s'", buf);
		lx->kind = T_NUM;
		snprintf(lx->text, sizeof(lx->text), "%s", buf);
		return 0;
	}
	if (isalpha((unsigned char)s[lx->pos]) || s[lx->pos] == '_') {
		while (isalnum((unsigned char)s[lx->pos]) || s[lx->pos] == '_') {
			if (n < sizeof(lx->text) - 1)
				lx->text[n++] = s[lx->pos];
			lx->pos++;
		}
		lx->text[n] = 0;
		lx->kind = T_IDENT;
		return 0;
	}
	if (s[lx->pos] == '"') {
		lx->pos++;
		while (s[lx->pos] && s[lx->pos] != '"') {
			if (s[lx->pos] == '\\' && s[lx->pos + 1])
				lx->pos++;
			if (n < sizeof(lx->text) - 1)
				lx->text[n++] = s[lx->pos];
			lx->pos++;
		}
		if (s[lx->pos] != '"')
			return lerr(lx, "unterminated string");
		lx->pos++;
		lx->text[n] = 0;
		lx->kind = T_STR;
		return 0;
	}
	if (strchr("=!<>", s[lx->pos])) {
		lx->text[n++] = s[lx->pos++];
		if (s[lx->pos] == '=')
			lx->text[n++] = s[lx->pos++];
		lx->text[n] = 0;
		if (!strcmp(lx->text, "=") || !strcmp(lx->text, "!"))
			return lerr(lx, "'%s' is not an operator (== != < <= > >=)", lx->text);
		lx->kind = T_CMP;
		return 0;
	}
	if (strchr(".[]()*,:+-/", s[lx->pos])) {
		lx->text[0] = s[lx->pos++];
		lx->text[1] = 0;
		lx->kind = T_PUNCT;
		return 0;
	}
	return lerr(lx, "unexpected character '%c'", s[lx->pos]);
}

static int is_punct(struct lexer *lx, char c)
{
	return lx->kind == T_PUNCT && lx->text[0] == c;
}

static int expect_punct(struct lexer *lx, char c)
{
	if (!is_punct(lx, c))
		return lerr(lx, "expected '%c', found '%s'", c, lx->text);
	return next(lx);
}

static void expr_free(struct lab_expr *e)
{
	if (!e)
		return;
	free(e->str);
	free(e->variant);
	free(e->source);
	for (size_t i = 0; i < e->nsteps; i++) {
		free(e->steps[i].key);
		expr_free(e->steps[i].lit);
	}
	free(e->steps);
	for (size_t i = 0; i < e->nargs; i++)
		expr_free(e->args[i]);
	free(e->args);
	expr_free(e->a);
	expr_free(e->b);
	free(e);
}

static struct lab_expr *parse_sum(struct lexer *lx);

static struct lab_step *add_step(struct lab_expr *e, enum lab_step_kind kind)
{
	struct lab_step *st;

	e->steps = xrealloc(e->steps, (e->nsteps + 1) * sizeof(*e->steps));
	st = &e->steps[e->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	return st;
}

/* [N] [-N] [*] ["key"] [member == value] [member != value] */
static int parse_bracket(struct lexer *lx, struct lab_expr *e)
{
	struct lab_step *st;

	if (next(lx))
		return -1;
	if (is_punct(lx, '*')) {
		add_step(e, STEP_ALL);
		if (next(lx))
			return -1;
	} else if (lx->kind == T_NUM || is_punct(lx, '-')) {
		int neg = is_punct(lx, '-');

		if (neg && next(lx))
			return -1;
		if (lx->kind != T_NUM || lx->num != floor(lx->num))
			return lerr(lx, "expected an index, found '%s'", lx->text);
		st = add_step(e, STEP_INDEX);
		st->index = neg ? -(long)lx->num : (long)lx->num;
		if (next(lx))
			return -1;
	} else if (lx->kind == T_STR) {
		st = add_step(e, STEP_KEY);
		st->key = xstrdup(lx->text);
		if (next(lx))
			return -1;
	} else if (lx->kind == T_IDENT) {
		st = add_step(e, STEP_FILTER);
		st->key = xstrdup(lx->text);
		if (next(lx))
			return -1;
		if (lx->kind != T_CMP || (strcmp(lx->text, "==") && strcmp(lx->text, "!=")))
			return lerr(lx, "expected == or != after '[%s'", st->key);
		st->negate = lx->text[0] == '!';
		if (next(lx))
			return -1;
		st->lit = parse_sum(lx);
		if (!st->lit)
			return -1;
	} else {
		return lerr(lx, "expected an index, *, a \"key\" or a filter in [], found '%s'",
			    lx->text);
	}
	return expect_punct(lx, ']');
}

static struct lab_expr *parse_primary(struct lexer *lx)
{
	struct lab_expr *e = xcalloc(1, sizeof(*e));
	char ident[256];

	if (lx->kind == T_NUM) {
		e->op = EX_NUM;
		e->num = lx->num;
		if (next(lx))
			goto bad;
		return e;
	}
	if (lx->kind == T_STR) {
		e->op = EX_STR;
		e->str = xstrdup(lx->text);
		if (next(lx))
			goto bad;
		return e;
	}
	if (is_punct(lx, '(')) {
		free(e);
		if (next(lx))
			return NULL;
		e = parse_sum(lx);
		if (!e)
			return NULL;
		if (expect_punct(lx, ')'))
			goto bad;
		return e;
	}
	if (is_punct(lx, '-')) {
		e->op = EX_NEG;
		if (next(lx))
			goto bad;
		e->a = parse_primary(lx);
		if (!e->a)
			goto bad;
		return e;
	}
	if (lx->kind != T_IDENT) {
		lerr(lx, "expected a value, found '%s'", lx->text);
		goto bad;
	}
	snprintf(ident, sizeof(ident), "%s", lx->text);
	if (next(lx))
		goto bad;
	if ((!strcmp(ident, "true") || !strcmp(ident, "false")) && !is_punct(lx, '(') &&
	    !is_punct(lx, ':') && !is_punct(lx, '.') && !is_punct(lx, '[')) {
		e->op = EX_NUM;
		e->num = ident[0] == 't';
		return e;
	}
	if (is_punct(lx, '(')) {
		e->op = EX_CALL;
		e->str = xstrdup(ident);
		if (next(lx))
			goto bad;
		while (!is_punct(lx, ')')) {
			struct lab_expr *arg = parse_sum(lx);

			if (!arg)
				goto bad;
			e->args = xrealloc(e->args, (e->nargs + 1) * sizeof(*e->args));
			e->args[e->nargs++] = arg;
			if (is_punct(lx, ','))
				next(lx);
			else if (!is_punct(lx, ')')) {
				lerr(lx, "expected ',' or ')', found '%s'", lx->text);
				goto bad;
			}
		}
		if (next(lx))
			goto bad;
		return e;
	}
	e->op = EX_REF;
	if (is_punct(lx, ':')) {
		e->variant = xstrdup(ident);
		if (next(lx))
			goto bad;
		if (lx->kind != T_IDENT) {
			lerr(lx, "expected a source after '%s:', found '%s'", ident, lx->text);
			goto bad;
		}
		e->source = xstrdup(lx->text);
		if (next(lx))
			goto bad;
	} else {
		e->source = xstrdup(ident);
	}
	for (;;) {
		if (is_punct(lx, '.')) {
			struct lab_step *st;

			if (next(lx))
				goto bad;
			if (lx->kind != T_IDENT && lx->kind != T_NUM) {
				lerr(lx, "expected a member name after '.', found '%s'", lx->text);
				goto bad;
			}
			st = add_step(e, STEP_KEY);
			st->key = xstrdup(lx->text);
			if (next(lx))
				goto bad;
		} else if (is_punct(lx, '[')) {
			if (parse_bracket(lx, e))
				goto bad;
		} else {
			return e;
		}
	}
bad:
	expr_free(e);
	return NULL;
}

static struct lab_expr *parse_binary(struct lexer *lx, const char *ops,
				     struct lab_expr *(*sub)(struct lexer *))
{
	struct lab_expr *e = sub(lx);

	while (e && lx->kind == T_PUNCT && strchr(ops, lx->text[0])) {
		struct lab_expr *b = xcalloc(1, sizeof(*b));

		b->op = EX_BIN;
		b->bop = lx->text[0];
		b->a = e;
		e = b;
		if (next(lx)) {
			expr_free(e);
			return NULL;
		}
		e->b = sub(lx);
		if (!e->b) {
			expr_free(e);
			return NULL;
		}
	}
	return e;
}

static struct lab_expr *parse_product(struct lexer *lx)
{
	return parse_binary(lx, "*/", parse_primary);
}

static struct lab_expr *parse_sum(struct lexer *lx)
{
	return parse_binary(lx, "+-", parse_product);
}

static const char *const cmp_names[] = {"==", "!=", "<", "<=", ">", ">="};

const char *lab_cmp_name(enum lab_cmp c)
{
	return c <= CMP_GE ? cmp_names[c] : "?";
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int lab_expect_parse(struct lab_expect *e, const char *text, char *err, size_t errn)
{
	char *buf = xstrdup(text), *body = buf, *note;
	struct lexer lx = {.err = err, .errn = errn};
	int c;

	memset(e, 0, sizeof(*e));
	/* " -- " starts the note (FORMAT.md: a string in an expectation cannot contain it) */
	note = strstr(body, " -- ");
	if (note) {
		*note = 0;
		e->note = xstrdup(trim(note + 4));
	}
	body = trim(body);
	if (!strncmp(body, "key ", 4)) {
		e->key = 1;
		body = trim(body + 4);
	}
	if (!strncmp(body, "weight=", 7)) {
		char *end;

		e->weight = strtod(body + 7, &end);
		if (end == body + 7 || (*end != ' ' && *end != '\t') || !(e->weight > 0) ||
		    e->weight > 1e6) {
			snprintf(err, errn, "weight= wants a positive number");
			free(buf);
			free(e->note);
			e->note = NULL;
			return -1;
		}
		body = trim(end);
	}
	e->text = xstrdup(body);
	lx.s = e->text;
	if (next(&lx))
		goto bad;
	e->lhs = parse_sum(&lx);
	if (!e->lhs)
		goto bad;
	if (lx.kind != T_CMP) {
		lerr(&lx, "expected a comparison (== != < <= > >=), found '%s'", lx.text);
		goto bad;
	}
	for (c = 0; c <= CMP_GE; c++)
		if (!strcmp(lx.text, cmp_names[c]))
			break;
	e->cmp = c;
	if (next(&lx))
		goto bad;
	e->rhs = parse_sum(&lx);
	if (!e->rhs)
		goto bad;
	if (lx.kind != T_END) {
		lerr(&lx, "unexpected '%s' after the expectation", lx.text);
		goto bad;
	}
	free(buf);
	return 0;
bad:
	free(buf);
	lab_expect_free(e);
	return -1;
}

void lab_expect_free(struct lab_expect *e)
{
	free(e->text);
	free(e->note);
	expr_free(e->lhs);
	expr_free(e->rhs);
	memset(e, 0, sizeof(*e));
}

/* ---- lab files ------------------------------------------------------------------------ */

static int parse_need(struct lab *l, char *rest, char *err, size_t errn)
{
	static const char *const kinds[] = {"command", "module", "file", "report", "program"};
	struct lab_need *n;
	char *hint = strstr(rest, " -- "), *what;
	size_t k;

	if (hint) {
		*hint = 0;
		hint = trim(hint + 4);
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
	what = what ? trim(what) : NULL;
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
		p = trim(p);
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
	rest = rest ? trim(rest) : key + strlen(key);
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
		t = trim(line);
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

/* ---- evaluation ------------------------------------------------------------------------- */

/* A value: a list of items. A path gives as many as it matched; arithmetic gives one. */
enum item_type { IT_NUM, IT_STR, IT_NODE };

struct item {
	enum item_type t;
	double num;
	const char *str;
	const struct jv *node;	/* IT_NODE: an array, object or null */
};

struct val {
	struct item *it;
	size_t n, cap;
};

struct evalctx {
	lab_doc_fn doc;
	void *dctx;
	char err[256];
	int failed;
};

static int everr(struct evalctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int everr(struct evalctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void push_item(struct val *v, struct item it)
{
	GROW(v->it, v->cap, v->n + 1);
	v->it[v->n++] = it;
}

static void push_node(struct val *v, const struct jv *j)
{
	struct item it = {.t = IT_NODE, .node = j};

	if (j->type == JV_NUM || j->type == JV_BOOL) {
		it.t = IT_NUM;
		it.num = j->num;
	} else if (j->type == JV_STR) {
		it.t = IT_STR;
		it.str = j->str;
	}
	push_item(v, it);
}

static void push_num(struct val *v, double num)
{
	push_item(v, (struct item){.t = IT_NUM, .num = num});
}

static void val_free(struct val *v)
{
	free(v->it);
	memset(v, 0, sizeof(*v));
}

static int eval(struct evalctx *c, const struct lab_expr *e, struct val *out);

/* The one scalar of v, or an error that says why there is not one. */
static int scalar(struct evalctx *c, const struct val *v, const char *what, struct item *out)
{
	if (v->n == 1 && v->it[0].t != IT_NODE) {
		*out = v->it[0];
		return 0;
	}
	if (!v->n)
		return everr(c, "%s matched nothing", what);
	if (v->n > 1)
		return everr(c, "%s has %zu values (use len, sum, max, min or avg)", what, v->n);
	return everr(c, "%s is a JSON %s, not a number or string (len, sum, max, min or avg?)",
		     what, jv_type_name(v->it[0].node->type));
}

static int as_number(struct evalctx *c, const struct item *it, const char *what, double *num)
{
	char *end;

	if (it->t == IT_NUM) {
		*num = it->num;
		return 0;
	}
	if (it->t == IT_STR) {
		*num = strtod(it->str, &end);
		if (*it->str && !*end)
			return 0;
		return everr(c, "%s is the string \"%s\", not a number", what, it->str);
	}
	return everr(c, "%s is not a number", what);
}

/* Compare two scalars: 1 true, 0 false, -1 incomparable (error set). */
static int compare(struct evalctx *c, const struct item *a, const struct item *b,
		   enum lab_cmp op)
{
	double x, y;
	int r;

	if (a->t == IT_STR && b->t == IT_STR) {
		r = strcmp(a->str, b->str);
	} else {
		struct evalctx quiet = {0};

		if (as_number(&quiet, a, "", &x) || as_number(&quiet, b, "", &y)) {
			/* a string that is not a number is simply not equal to a number */
			if (op == CMP_EQ)
				return 0;
			if (op == CMP_NE)
				return 1;
			return everr(c, "cannot order a string and a number");
		}
		r = x < y ? -1 : x > y ? 1 : 0;
	}
	switch (op) {
	case CMP_EQ: return r == 0;
	case CMP_NE: return r != 0;
	case CMP_LT: return r < 0;
	case CMP_LE: return r <= 0;
	case CMP_GT: return r > 0;
	case CMP_GE: return r >= 0;
	}
	return -1;
}

static void describe_ref(const struct lab_expr *e, char *buf, size_t n)
{
	size_t o = snprintf(buf, n, "%s%s%s", e->variant ? e->variant : "",
			    e->variant ? ":" : "", e->source);

	for (size_t i = 0; i < e->nsteps && o < n; i++) {
		const struct lab_step *s = &e->steps[i];

		switch (s->kind) {
		case STEP_KEY:
			o += snprintf(buf + o, n - o, ".%s", s->key);
			break;
		case STEP_INDEX:
			o += snprintf(buf + o, n - o, "[%ld]", s->index);
			break;
		case STEP_ALL:
			o += snprintf(buf + o, n - o, "[*]");
			break;
		case STEP_FILTER:
			o += snprintf(buf + o, n - o, "[%s%s...]", s->key, s->negate ? "!=" : "==");
			break;
		}
	}
}

/* Does element el pass filter step s? [member==V] keeps it when the member equals V, or one
 * of V's values when V is a selection (a set: [waker==x.threads[*].tid]); != when it equals
 * none. 1 yes, 0 no, -1 error. */
static int filter_keeps(struct evalctx *c, const struct jv *el, const struct lab_step *s,
			const struct val *set)
{
	const struct jv *f = jv_get(el, s->key);
	struct val fv = {0};
	struct item fi;
	int any = 0;

	if (!f)
		return 0;
	push_node(&fv, f);
	fi = fv.it[0];
	val_free(&fv);
	if (fi.t == IT_NODE)
		return 0;
	for (size_t i = 0; i < set->n && !any; i++) {
		int r = compare(c, &fi, &set->it[i], CMP_EQ);

		if (r < 0)
			return -1;
		any = r;
	}
	return any != s->negate;
}

/* A filter's value: one number or string, or a selection of them. */
static int filter_set(struct evalctx *c, const struct val *v)
{
	struct item one;

	if (v->n <= 1)
		return scalar(c, v, "the filter's value", &one);
	for (size_t i = 0; i < v->n; i++)
		if (v->it[i].t == IT_NODE)
			return everr(c, "the filter's value %zu is a JSON %s, not a number or string",
				     i, jv_type_name(v->it[i].node->type));
	return 0;
}

static int eval_ref(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	const struct jv **cur = NULL, **nxt = NULL;
	size_t ncur = 0, nnxt = 0, capc = 0, capn = 0;
	char why[256] = "", where[300];
	const struct jv *root = c->doc(c->dctx, e->variant, e->source, why, sizeof(why));
	int ret = -1;

	if (!root)
		return everr(c, "%s%s%s: %s", e->variant ? e->variant : "", e->variant ? ":" : "",
			     e->source, why[0] ? why : "not available");
	/* After [*] or a filter the values are a selection: an index picks from it, a member
	 * name maps over it. Otherwise an index goes into the array at hand. */
	int selection = 0;

	GROW(cur, capc, 1);
	cur[ncur++] = root;
	for (size_t i = 0; i < e->nsteps; i++) {
		const struct lab_step *s = &e->steps[i];
		struct val lv = {0};

		nnxt = 0;
		if (s->kind == STEP_FILTER) {
			if (eval(c, s->lit, &lv) || filter_set(c, &lv)) {
				val_free(&lv);
				goto done;
			}
		}
		for (size_t k = 0; k < ncur; k++) {
			const struct jv *j = cur[k], *m;

			switch (s->kind) {
			case STEP_KEY:
				m = jv_get(j, s->key);
				if (m) {
					GROW(nxt, capn, nnxt + 1);
					nxt[nnxt++] = m;
				}
				break;
			case STEP_INDEX:
				if (selection) {
					long ix = s->index < 0 ? (long)ncur + s->index : s->index;

					if (k == 0 && ix >= 0 && (size_t)ix < ncur) {
						GROW(nxt, capn, nnxt + 1);
						nxt[nnxt++] = cur[ix];
					}
				} else if (j->type == JV_ARR) {
					long ix = s->index < 0 ? (long)j->n + s->index : s->index;

					if (ix >= 0 && (size_t)ix < j->n) {
						GROW(nxt, capn, nnxt + 1);
						nxt[nnxt++] = &j->items[ix];
					}
				}
				break;
			case STEP_ALL:
				if (j->type == JV_ARR || j->type == JV_OBJ)
					for (size_t x = 0; x < j->n; x++) {
						GROW(nxt, capn, nnxt + 1);
						nxt[nnxt++] = &j->items[x];
					}
				break;
			case STEP_FILTER:
				/* on a selection (a[f==1][g==2]) the filter keeps or drops each
				 * element; on an array it picks from the array's elements */
				if (selection && j->type == JV_OBJ) {
					int r = filter_keeps(c, j, s, &lv);

					if (r < 0) {
						val_free(&lv);
						goto done;
					}
					if (r) {
						GROW(nxt, capn, nnxt + 1);
						nxt[nnxt++] = j;
					}
					break;
				}
				if (j->type != JV_ARR)
					break;
				for (size_t x = 0; x < j->n; x++) {
					int r = filter_keeps(c, &j->items[x], s, &lv);

					if (r < 0) {
						val_free(&lv);
						goto done;
					}
					if (r) {
						GROW(nxt, capn, nnxt + 1);
						nxt[nnxt++] = &j->items[x];
					}
				}
				break;
			}
		}
		val_free(&lv);
		if (s->kind == STEP_ALL || s->kind == STEP_FILTER)
			selection = 1;
		else if (s->kind == STEP_INDEX)
			selection = 0;
		/* A key or index that matches nothing is an error (a typo, or a report without
		 * that member); a filter that selects nothing is an answer (len(...) == 0). */
		if (!nnxt && ncur && (s->kind == STEP_KEY || s->kind == STEP_INDEX)) {
			describe_ref(e, where, sizeof(where));
			if (s->kind == STEP_KEY)
				everr(c, "%s: no member '%s'", where, s->key);
			else
				everr(c, "%s: index %ld out of range", where, s->index);
			goto done;
		}
		{
			const struct jv **t = cur;
			size_t tc = capc;

			cur = nxt;
			capc = capn;
			ncur = nnxt;
			nxt = t;
			capn = tc;
		}
	}
	for (size_t k = 0; k < ncur; k++)
		push_node(out, cur[k]);
	ret = 0;
done:
	free(cur);
	free(nxt);
	return ret;
}

/* The elements an aggregate works on: a single array stands for its elements. */
static void elements(const struct val *v, struct val *out)
{
	if (v->n == 1 && v->it[0].t == IT_NODE && v->it[0].node->type == JV_ARR) {
		for (size_t i = 0; i < v->it[0].node->n; i++)
			push_node(out, &v->it[0].node->items[i]);
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		push_item(out, v->it[i]);
}

/* overlap(): the most intervals (objects with start_ns and end_ns) open at one moment;
 * periods(): the separate stretches of time they cover (where at least one is open). An
 * interval ends before one that starts at the same time: touching is not overlapping. */
struct edge {
	double t;
	int d;
};

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;
}

static int sweep(struct evalctx *c, const char *fn, const struct val *el, double *out)
{
	struct edge *ev = calloc(2 * el->n + 1, sizeof(*ev));
	int open = 0, most = 0, periods = 0;

	if (!ev)
		return everr(c, "out of memory");
	for (size_t i = 0; i < el->n; i++) {
		const struct jv *o = el->it[i].t == IT_NODE ? el->it[i].node : NULL;
		const struct jv *s = o ? jv_get(o, "start_ns") : NULL;
		const struct jv *e = o ? jv_get(o, "end_ns") : NULL;

		if (!s || !e || s->type != JV_NUM || e->type != JV_NUM) {
			free(ev);
			return everr(c, "%s(): an element without start_ns and end_ns", fn);
		}
		ev[2 * i] = (struct edge){s->num, 1};
		ev[2 * i + 1] = (struct edge){e->num, -1};
	}
	qsort(ev, 2 * el->n, sizeof(*ev), edge_cmp);
	for (size_t i = 0; i < 2 * el->n; i++) {
		periods += open == 0 && ev[i].d > 0;
		open += ev[i].d;
		most = open > most ? open : most;
	}
	free(ev);
	*out = strcmp(fn, "periods") ? most : periods;
	return 0;
}

static int eval_call(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	const char *fn = e->str;
	struct val a = {0}, el = {0};
	struct item x, y;
	double num, acc;
	int ret = -1;

	if (!strcmp(fn, "exists")) {
		struct evalctx quiet = {.doc = c->doc, .dctx = c->dctx};

		if (e->nargs != 1)
			return everr(c, "exists() takes one argument");
		push_num(out, eval(&quiet, e->args[0], &a) == 0 && a.n > 0);
		val_free(&a);
		return 0;
	}
	if (!strcmp(fn, "default")) {
		struct evalctx quiet = {.doc = c->doc, .dctx = c->dctx};

		if (e->nargs != 2)
			return everr(c, "default() takes two arguments");
		if (eval(&quiet, e->args[0], &a) == 0 && scalar(&quiet, &a, "", &x) == 0) {
			push_item(out, x);
			val_free(&a);
			return 0;
		}
		val_free(&a);
		return eval(c, e->args[1], out);
	}
	if (!strcmp(fn, "ratio")) {
		struct val b = {0};

		if (e->nargs != 2)
			return everr(c, "ratio() takes two arguments");
		if (eval(c, e->args[0], &a) || scalar(c, &a, "ratio's first argument", &x) ||
		    as_number(c, &x, "ratio's first argument", &num) || eval(c, e->args[1], &b) ||
		    scalar(c, &b, "ratio's second argument", &y) ||
		    as_number(c, &y, "ratio's second argument", &acc)) {
			val_free(&a);
			val_free(&b);
			return -1;
		}
		val_free(&a);
		val_free(&b);
		if (acc == 0)
			return everr(c, "ratio(): the second value is 0");
		push_num(out, num / acc);
		return 0;
	}
	if (e->nargs != 1)
		return everr(c, "%s() takes one argument", fn);
	if (eval(c, e->args[0], &a))
		return -1;
	if (!strcmp(fn, "abs")) {
		if (scalar(c, &a, "abs's argument", &x) || as_number(c, &x, "abs's argument", &num))
			goto done;
		push_num(out, fabs(num));
		ret = 0;
		goto done;
	}
	if (!strcmp(fn, "overlap") || !strcmp(fn, "periods")) {
		elements(&a, &el);
		if (sweep(c, fn, &el, &num) == 0) {
			push_num(out, num);
			ret = 0;
		}
		goto done;
	}
	if (!strcmp(fn, "len") || !strcmp(fn, "count")) {
		elements(&a, &el);
		push_num(out, el.n);
		ret = 0;
		goto done;
	}
	if (strcmp(fn, "sum") && strcmp(fn, "max") && strcmp(fn, "min") && strcmp(fn, "avg")) {
		everr(c, "unknown function %s() (len count sum max min avg abs ratio exists default overlap periods)", fn);
		goto done;
	}
	elements(&a, &el);
	if (!el.n && strcmp(fn, "sum")) {
		everr(c, "%s() of nothing", fn);
		goto done;
	}
	acc = 0;
	for (size_t i = 0; i < el.n; i++) {
		if (as_number(c, &el.it[i], "an element", &num))
			goto done;
		if (!strcmp(fn, "max"))
			acc = i == 0 || num > acc ? num : acc;
		else if (!strcmp(fn, "min"))
			acc = i == 0 || num < acc ? num : acc;
		else
			acc += num;
	}
	if (!strcmp(fn, "avg"))
		acc /= el.n;
	push_num(out, acc);
	ret = 0;
done:
	val_free(&a);
	val_free(&el);
	return ret;
}

static int eval(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	struct val a = {0}, b = {0};
	struct item x, y;
	double p, q;
	int ret = -1;

	switch (e->op) {
	case EX_NUM:
		push_num(out, e->num);
		return 0;
	case EX_STR:
		push_item(out, (struct item){.t = IT_STR, .str = e->str});
		return 0;
	case EX_REF:
		return eval_ref(c, e, out);
	case EX_CALL:
		return eval_call(c, e, out);
	case EX_NEG:
		if (eval(c, e->a, &a) || scalar(c, &a, "the value", &x) ||
		    as_number(c, &x, "the value", &p))
			break;
		push_num(out, -p);
		ret = 0;
		break;
	case EX_BIN:
		if (eval(c, e->a, &a) || scalar(c, &a, "the left operand", &x) ||
		    as_number(c, &x, "the left operand", &p) || eval(c, e->b, &b) ||
		    scalar(c, &b, "the right operand", &y) ||
		    as_number(c, &y, "the right operand", &q))
			break;
		if (e->bop == '/' && q == 0) {
			everr(c, "division by 0");
			break;
		}
		push_num(out, e->bop == '+' ? p + q : e->bop == '-' ? p - q :
			      e->bop == '*' ? p * q : p / q);
		ret = 0;
		break;
	}
	val_free(&a);
	val_free(&b);
	return ret;
}

static void fmt_item(const struct item *it, char *buf, size_t n)
{
	if (it->t == IT_STR)
		snprintf(buf, n, "\"%s\"", it->str);
	else if (it->t == IT_NUM && it->num == floor(it->num) && fabs(it->num) < 1e15)
		snprintf(buf, n, "%.0f", it->num);
	else if (it->t == IT_NUM)
		snprintf(buf, n, "%.4g", it->num);
	else
		snprintf(buf, n, "(%s)", jv_type_name(it->node->type));
}

void lab_eval(const struct lab_expect *e, lab_doc_fn doc, void *ctx, struct lab_result *r)
{
	struct evalctx c = {.doc = doc, .dctx = ctx};
	struct val a = {0}, b = {0};
	struct item x, y;
	int cmp;

	memset(r, 0, sizeof(*r));
	if (eval(&c, e->lhs, &a) || scalar(&c, &a, "the measured value", &x))
		goto err;
	fmt_item(&x, r->measured, sizeof(r->measured));
	if (eval(&c, e->rhs, &b) || scalar(&c, &b, "the wanted value", &y))
		goto err;
	fmt_item(&y, r->wanted, sizeof(r->wanted));
	cmp = compare(&c, &x, &y, e->cmp);
	if (cmp < 0)
		goto err;
	r->pass = cmp;
	val_free(&a);
	val_free(&b);
	return;
err:
	r->pass = 0;
	r->error = 1;
	snprintf(r->measured, sizeof(r->measured), "%s", c.err);
	val_free(&a);
	val_free(&b);
}

static void expr_refs(const struct lab_expr *e,
		      void (*fn)(void *ctx, const char *variant, const char *source), void *ctx)
{
	if (!e)
		return;
	if (e->op == EX_REF)
		fn(ctx, e->variant, e->source);
	for (size_t i = 0; i < e->nsteps; i++)
		expr_refs(e->steps[i].lit, fn, ctx);
	for (size_t i = 0; i < e->nargs; i++)
		expr_refs(e->args[i], fn, ctx);
	expr_refs(e->a, fn, ctx);
	expr_refs(e->b, fn, ctx);
}

void lab_expect_refs(const struct lab_expect *e,
		     void (*fn)(void *ctx, const char *variant, const char *source), void *ctx)
{
	expr_refs(e->lhs, fn, ctx);
	expr_refs(e->rhs, fn, ctx);
}
