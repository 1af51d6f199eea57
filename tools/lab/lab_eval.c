/* lab_eval.c — expectations evaluated against a run's documents (see lab.h). */
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

/* The JSON values a reference has reached so far. */
struct nodes {
	const struct jv **v;
	size_t n, cap;
};

static void nodes_add(struct nodes *s, const struct jv *j)
{
	GROW(s->v, s->cap, s->n + 1);
	s->v[s->n++] = j;
}

/* A filter step on node j: on a selection (a[f==1][g==2]) it keeps or drops j; on an array
 * it picks from the array's elements. lv: the filter's value. 0, or -1 after an error. */
static int filter_step(struct evalctx *c, const struct lab_step *s, int selection,
		       const struct jv *j, const struct val *lv, struct nodes *nxt)
{
	int r;

	if (selection && j->type == JV_OBJ) {
		if ((r = filter_keeps(c, j, s, lv)) < 0)
			return -1;
		if (r)
			nodes_add(nxt, j);
		return 0;
	}
	if (j->type != JV_ARR)
		return 0;
	for (size_t x = 0; x < j->n; x++) {
		if ((r = filter_keeps(c, &j->items[x], s, lv)) < 0)
			return -1;
		if (r)
			nodes_add(nxt, &j->items[x]);
	}
	return 0;
}

/* One step from every node of cur into nxt. After [*] or a filter the values are a
 * selection: an index picks from it, a member name maps over it; otherwise an index goes
 * into the array at hand. 0, or -1 after an error. */
static int ref_step(struct evalctx *c, const struct lab_step *s, int selection,
		    const struct nodes *cur, struct nodes *nxt)
{
	struct val lv = {0};
	int ret = 0;

	if (s->kind == STEP_FILTER && (eval(c, s->lit, &lv) || filter_set(c, &lv))) {
		val_free(&lv);
		return -1;
	}
	for (size_t k = 0; k < cur->n && !ret; k++) {
		const struct jv *j = cur->v[k], *m;
		long ix;

		switch (s->kind) {
		case STEP_KEY:
			if ((m = jv_get(j, s->key)))
				nodes_add(nxt, m);
			break;
		case STEP_INDEX:
			if (selection) {
				ix = s->index < 0 ? (long)cur->n + s->index : s->index;
				if (k == 0 && ix >= 0 && (size_t)ix < cur->n)
					nodes_add(nxt, cur->v[ix]);
			} else if (j->type == JV_ARR) {
				ix = s->index < 0 ? (long)j->n + s->index : s->index;
				if (ix >= 0 && (size_t)ix < j->n)
					nodes_add(nxt, &j->items[ix]);
			}
			break;
		case STEP_ALL:
			if (j->type == JV_ARR || j->type == JV_OBJ)
				for (size_t x = 0; x < j->n; x++)
					nodes_add(nxt, &j->items[x]);
			break;
		case STEP_FILTER:
			ret = filter_step(c, s, selection, j, &lv, nxt);
			break;
		}
	}
	val_free(&lv);
	return ret;
}

static int eval_ref(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	struct nodes cur = {0}, nxt = {0}, t;
	char why[256] = "", where[300];
	const struct jv *root = c->doc(c->dctx, e->variant, e->source, why, sizeof(why));
	int ret = -1, selection = 0;

	if (!root)
		return everr(c, "%s%s%s: %s", e->variant ? e->variant : "", e->variant ? ":" : "",
			     e->source, why[0] ? why : "not available");
	nodes_add(&cur, root);
	for (size_t i = 0; i < e->nsteps; i++) {
		const struct lab_step *s = &e->steps[i];

		nxt.n = 0;
		if (ref_step(c, s, selection, &cur, &nxt))
			goto done;
		if (s->kind == STEP_ALL || s->kind == STEP_FILTER)
			selection = 1;
		else if (s->kind == STEP_INDEX)
			selection = 0;
		/* A key or index that matches nothing is an error (a typo, or a report without
		 * that member); a filter that selects nothing is an answer (len(...) == 0). */
		if (!nxt.n && cur.n && (s->kind == STEP_KEY || s->kind == STEP_INDEX)) {
			describe_ref(e, where, sizeof(where));
			if (s->kind == STEP_KEY)
				everr(c, "%s: no member '%s'", where, s->key);
			else
				everr(c, "%s: index %ld out of range", where, s->index);
			goto done;
		}
		t = cur;
		cur = nxt;
		nxt = t;
	}
	for (size_t k = 0; k < cur.n; k++)
		push_node(out, cur.v[k]);
	ret = 0;
done:
	free(cur.v);
	free(nxt.v);
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

/* exists(x): 1 when x evaluates to something; default(x, d): x, or d when x has no value.
 * Neither reports an error of its first argument. */
static int call_guarded(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	struct evalctx quiet = {.doc = c->doc, .dctx = c->dctx};
	struct val a = {0};
	struct item x;
	int exists = !strcmp(e->str, "exists");

	if (e->nargs != (exists ? 1 : 2))
		return everr(c, exists ? "exists() takes one argument" :
			     "default() takes two arguments");
	if (exists) {
		push_num(out, eval(&quiet, e->args[0], &a) == 0 && a.n > 0);
		val_free(&a);
		return 0;
	}
	if (eval(&quiet, e->args[0], &a) == 0 && scalar(&quiet, &a, "", &x) == 0) {
		push_item(out, x);
		val_free(&a);
		return 0;
	}
	val_free(&a);
	return eval(c, e->args[1], out);
}

/* ratio(a, b): a / b of two single numbers. */
static int call_ratio(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	struct val a = {0}, b = {0};
	struct item x, y;
	double num, den;
	int bad;

	if (e->nargs != 2)
		return everr(c, "ratio() takes two arguments");
	bad = eval(c, e->args[0], &a) || scalar(c, &a, "ratio's first argument", &x) ||
	      as_number(c, &x, "ratio's first argument", &num) || eval(c, e->args[1], &b) ||
	      scalar(c, &b, "ratio's second argument", &y) ||
	      as_number(c, &y, "ratio's second argument", &den);
	val_free(&a);
	val_free(&b);
	if (bad)
		return -1;
	if (den == 0)
		return everr(c, "ratio(): the second value is 0");
	push_num(out, num / den);
	return 0;
}

/* sum, max, min, avg over the elements of el. */
static int call_fold(struct evalctx *c, const char *fn, const struct val *el, struct val *out)
{
	double num, acc = 0;

	if (!el->n && strcmp(fn, "sum"))
		return everr(c, "%s() of nothing", fn);
	for (size_t i = 0; i < el->n; i++) {
		if (as_number(c, &el->it[i], "an element", &num))
			return -1;
		if (!strcmp(fn, "max"))
			acc = i == 0 || num > acc ? num : acc;
		else if (!strcmp(fn, "min"))
			acc = i == 0 || num < acc ? num : acc;
		else
			acc += num;
	}
	if (!strcmp(fn, "avg"))
		acc /= el->n;
	push_num(out, acc);
	return 0;
}

static int eval_call(struct evalctx *c, const struct lab_expr *e, struct val *out)
{
	const char *fn = e->str;
	struct val a = {0}, el = {0};
	struct item x;
	double num = 0;
	int ret = -1;

	if (!strcmp(fn, "exists") || !strcmp(fn, "default"))
		return call_guarded(c, e, out);
	if (!strcmp(fn, "ratio"))
		return call_ratio(c, e, out);
	if (e->nargs != 1)
		return everr(c, "%s() takes one argument", fn);
	if (eval(c, e->args[0], &a))
		return -1;
	if (!strcmp(fn, "abs")) {
		if (!scalar(c, &a, "abs's argument", &x) &&
		    !as_number(c, &x, "abs's argument", &num)) {
			push_num(out, fabs(num));
			ret = 0;
		}
	} else if (!strcmp(fn, "overlap") || !strcmp(fn, "periods")) {
		elements(&a, &el);
		if (sweep(c, fn, &el, &num) == 0) {
			push_num(out, num);
			ret = 0;
		}
	} else if (!strcmp(fn, "len") || !strcmp(fn, "count")) {
		elements(&a, &el);
		push_num(out, el.n);
		ret = 0;
	} else if (!strcmp(fn, "sum") || !strcmp(fn, "max") || !strcmp(fn, "min") ||
		   !strcmp(fn, "avg")) {
		elements(&a, &el);
		ret = call_fold(c, fn, &el, out);
	} else {
		everr(c, "unknown function %s() (len count sum max min avg abs ratio exists default "
		      "overlap periods)", fn);
	}
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
