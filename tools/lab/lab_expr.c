/* lab_expr.c — expectations: the tokens and the parser of their expressions (see lab.h). */
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
		e->note = xstrdup(str_trim(note + 4));
	}
	body = str_trim(body);
	if (!strncmp(body, "key ", 4)) {
		e->key = 1;
		body = str_trim(body + 4);
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
		body = str_trim(end);
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
