/*
 * lab_predict.c — predict, run, reveal: see lab_predict.h.
 *
 * Predicting first is what makes a measurement teach something (OSTEP's simulators ask for
 * the answer before `-c` shows it): the student commits to a number, then sees the trace's.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab_predict.h"
#include "lib/util.h"

#define MEASURED "measured: `"

static char *xstrndup(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

static char *trim_copy(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

static void add_hidden(struct lab_predict *p, const char *key)
{
	for (size_t i = 0; i < p->nhidden; i++)
		if (!strcmp(p->hidden[i], key))
			return;
	p->hidden = xrealloc(p->hidden, (p->nhidden + 1) * sizeof(*p->hidden));
	p->hidden[p->nhidden++] = xstrdup(key);
}

/* The ground keys an expression reads: the answer fields of the program's output. */
static void collect_ground(struct lab_predict *p, const struct lab_expr *e)
{
	if (!e)
		return;
	if (e->op == EX_REF && !e->variant && !strcmp(e->source, "ground") && e->nsteps &&
	    e->steps[0].kind == STEP_KEY)
		add_hidden(p, e->steps[0].key);
	for (size_t i = 0; e->op == EX_REF && i < e->nsteps; i++)
		collect_ground(p, e->steps[i].lit);
	for (size_t i = 0; e->op == EX_CALL && i < e->nargs; i++)
		collect_ground(p, e->args[i]);
	collect_ground(p, e->a);
	collect_ground(p, e->b);
}

/* One item's text: its question, and the expression after "measured:" if any. */
static int add_item(struct lab_predict *p, const char *text, char *err, size_t errn)
{
	const char *m = strstr(text, MEASURED), *end;
	struct lab_prediction *it;

	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	it = &p->v[p->n++];
	memset(it, 0, sizeof(*it));
	if (!m) {
		it->question = trim_copy(text, strlen(text));
		return 0;
	}
	it->question = trim_copy(text, m - text);
	end = strchr(m + strlen(MEASURED), '`');
	if (!end) {
		snprintf(err, errn, "Predict item %zu: no closing ` after \"measured:\"", p->n);
		return -1;
	}
	it->expr = trim_copy(m + strlen(MEASURED), end - m - strlen(MEASURED));
	{
		struct lab_expect e;
		char *text2 = xmalloc(2 * strlen(it->expr) + 8), why[300];

		sprintf(text2, "%s == %s", it->expr, it->expr);
		if (lab_expect_parse(&e, text2, why, sizeof(why))) {
			snprintf(err, errn, "Predict item %zu: %s", p->n, why);
			free(text2);
			return -1;
		}
		collect_ground(p, e.lhs);
		lab_expect_free(&e);
		free(text2);
	}
	return 0;
}

int lab_predict_parse(struct lab_predict *p, const char *section, char *err, size_t errn)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	const char *s = section;

	memset(p, 0, sizeof(*p));
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t ll = nl ? (size_t)(nl - s) : strlen(s);
		int item = isdigit((unsigned char)s[0]) && memchr(s, '.', ll) &&
			   strspn(s, "0123456789") + 1 < ll &&
			   s[strspn(s, "0123456789")] == '.';

		if (item && len) {
			if (add_item(p, buf, err, errn))
				goto bad;
			len = 0;
		}
		if (item || (len && ll)) {
			const char *from = item ? s + strspn(s, "0123456789") + 1 : s;
			size_t fl = ll - (from - s);

			GROW(buf, cap, len + fl + 2);
			if (len)
				buf[len++] = ' ';
			while (fl && isspace((unsigned char)*from))
				from++, fl--;
			memcpy(buf + len, from, fl);
			len += fl;
			buf[len] = 0;
		}
		s = nl ? nl + 1 : NULL;
	}
	if (len && add_item(p, buf, err, errn))
		goto bad;
	free(buf);
	return 0;
bad:
	free(buf);
	lab_predict_free(p);
	return -1;
}

void lab_predict_free(struct lab_predict *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].question);
		free(p->v[i].expr);
		free(p->v[i].answer);
	}
	for (size_t i = 0; i < p->nhidden; i++)
		free(p->hidden[i]);
	free(p->v);
	free(p->hidden);
	memset(p, 0, sizeof(*p));
}

void lab_predict_ask(struct lab_predict *p, const char *answers, int interactive, FILE *in,
		     FILE *out)
{
	if (answers) {
		char *copy = xstrdup(answers), *cur = copy, *a;

		for (size_t i = 0; i < p->n && (a = strsep(&cur, ";")); i++)
			p->v[i].answer = trim_copy(a, strlen(a));
		free(copy);
		for (size_t i = 0; i < p->n; i++)
			fprintf(out, "%zu. %s\n   your prediction: %s\n", i + 1, p->v[i].question,
				p->v[i].answer && *p->v[i].answer ? p->v[i].answer : "(none)");
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		char line[1024];

		fprintf(out, "%zu. %s\n", i + 1, p->v[i].question);
		if (!interactive)
			continue;
		fprintf(out, "> ");
		fflush(out);
		if (!fgets(line, sizeof(line), in))
			break;
		p->v[i].answer = trim_copy(line, strcspn(line, "\n"));
	}
	if (!interactive)
		fprintf(out, "\n(not asked: no terminal; write your predictions down, or give them "
			     "with --predict 'A1; A2; ...')\n");
}

static int hidden_key(const struct lab_predict *p, const char *key, size_t len)
{
	for (size_t i = 0; i < p->nhidden; i++)
		if (strlen(p->hidden[i]) == len && !strncmp(p->hidden[i], key, len))
			return 1;
	return 0;
}

void lab_predict_hide(const struct lab_predict *p, char *line, size_t n)
{
	char *out = xmalloc(n), *s = line;
	size_t o = 0;

	while (*s && o + 1 < n) {
		size_t tok = strcspn(s, " \t\n");
		char *eq = memchr(s, '=', tok);

		if (eq && eq > s && hidden_key(p, s, eq - s)) {
			size_t klen = eq - s + 1;

			if (o + klen + 2 >= n)
				break;
			memcpy(out + o, s, klen);
			o += klen;
			out[o++] = '?';
		} else {
			if (o + tok >= n)
				tok = n - 1 - o;
			memcpy(out + o, s, tok);
			o += tok;
		}
		s += tok;
		while (*s && strchr(" \t\n", *s) && o + 1 < n)
			out[o++] = *s++;
	}
	out[o] = 0;
	memcpy(line, out, o + 1);
	free(out);
}

/* The measured value of item i, as lab check would print it. */
static void measure(const struct lab_prediction *it, lab_doc_fn doc, void *ctx, char *buf,
		    size_t n)
{
	struct lab_expect e;
	struct lab_result r;
	char *text = xmalloc(2 * strlen(it->expr) + 8), why[300];

	sprintf(text, "%s == %s", it->expr, it->expr);
	if (lab_expect_parse(&e, text, why, sizeof(why))) {
		snprintf(buf, n, "(cannot measure: %.200s)", why);
		free(text);
		return;
	}
	lab_eval(&e, doc, ctx, &r);
	if (r.error)
		snprintf(buf, n, "(cannot measure: %.200s)", r.measured);
	else
		snprintf(buf, n, "%s", r.measured);
	lab_expect_free(&e);
	free(text);
}

void lab_predict_reveal(const struct lab_predict *p, lab_doc_fn doc, void *ctx, FILE *out)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct lab_prediction *it = &p->v[i];
		char m[300];

		fprintf(out, "%zu. %s\n   you predicted: %s\n", i + 1, it->question,
			it->answer && *it->answer ? it->answer : "(nothing)");
		if (it->expr) {
			measure(it, doc, ctx, m, sizeof(m));
			fprintf(out, "   measured:      %s   (%s)\n", m, it->expr);
		} else {
			fprintf(out, "   measured:      see the reports below\n");
		}
	}
}

void lab_predict_save(const struct lab_predict *p, lab_doc_fn doc, void *ctx, const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return;
	fprintf(f, "## Predictions\n\n");
	lab_predict_reveal(p, doc, ctx, f);
	fputc('\n', f);
	fclose(f);
}
