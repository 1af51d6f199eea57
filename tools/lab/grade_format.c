/*
 * grade_format.c — one submission's result and the forms autograders read:
 *
 *   json        conlab's own: every expectation with measured, wanted, note, weight, score
 *   junit       JUnit XML (CI systems): a test suite per submission, a test case per
 *               expectation, <failure> with what was measured
 *   gradescope  Gradescope's results.json: score, output and tests[] with name, score,
 *               max_score, status, output
 *
 * Also lab check's grading options, which only say what to grade and how to write it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lib/json.h"
#include "lib/jsonread.h"
#include "lib/util.h"

const char *grade_options_help(void)
{
	return "grading (see \"Grading a class\" in the README):\n"
	       "  --format F        text (default), json, junit or gradescope (results.json)\n"
	       "  --output FILE     write the result to FILE (default standard output)\n"
	       "  --submissions DIR grade every submission in DIR (a file or a folder each)\n"
	       "  --results DIR     where the batch writes its results (default DIR-results)\n"
	       "  --jobs N          submissions graded at once (default: the CPUs, or 1 for a\n"
	       "                    lab that says `batch serial`)\n"
	       "  --regrade         grade again the submissions that already have a result\n"
	       "  --user NAME       run submissions as NAME (default nobody; never root)\n"
	       "  --time-limit S    wall time of a submission's run (default: the lab's timeout)\n"
	       "  --cpu-limit S     CPU seconds of each of its processes (default: wall x CPUs)\n"
	       "  --memory-limit M  its memory (default 1G)\n"
	       "  --procs-limit N   its processes and threads (default 64)\n"
	       "  --files-limit N   its open files (default 256)\n"
	       "  --file-size-limit M  the largest file it may write (default 64M)\n";
}

int grade_format_parse(const char *name)
{
	static const char *const names[] = {"text", "json", "junit", "gradescope"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

const char *grade_format_name(int fmt)
{
	static const char *const names[] = {"text", "json", "junit", "gradescope"};

	return fmt >= 0 && fmt < 4 ? names[fmt] : "?";
}

static int positive(const char *what, const char *arg, double v)
{
	if (v > 0)
		return 0;
	return fail("%s wants a positive value, not '%s'", what, arg);
}

int grade_opt(struct grade_opts *o, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case GO_FORMAT:
		o->format = grade_format_parse(arg);
		if (o->format < 0)
			return fail("unknown --format '%s' (text, json, junit, gradescope)", arg);
		return 0;
	case GO_OUTPUT: o->output = arg; return 0;
	case GO_SUBMISSIONS: o->submissions = arg; return 0;
	case GO_RESULTS: o->results = arg; return 0;
	case GO_USER: o->user = arg; return 0;
	case GO_REGRADE: o->resume_off = 1; return 0;
	case GO_JOBS:
		o->jobs = strtol(arg, &end, 10);
		return *end || o->jobs < 1 || o->jobs > 64 ? fail("--jobs wants 1 to 64") : 0;
	case GO_TIME:
		o->time_limit = parse_seconds(arg);
		return positive("--time-limit", arg, o->time_limit);
	case GO_CPU:
		o->cpu_limit = parse_seconds(arg);
		return positive("--cpu-limit", arg, o->cpu_limit);
	case GO_MEMORY:
		o->memory_limit = parse_size(arg);
		return positive("--memory-limit", arg, o->memory_limit);
	case GO_FSIZE:
		o->fsize_limit = parse_size(arg);
		return positive("--file-size-limit", arg, o->fsize_limit);
	case GO_PROCS:
	case GO_FILES: {
		long v = strtol(arg, &end, 10);

		if (*end || v < 1 || v > 1000000)
			return fail("%s wants a count, not '%s'",
				    opt == GO_PROCS ? "--procs-limit" : "--files-limit", arg);
		*(opt == GO_PROCS ? &o->procs_limit : &o->files_limit) = v;
		return 0;
	}
	}
	return -1;
}

/* ---- evaluating ---------------------------------------------------------------------------- */

double grade_weight(const struct lab_expect *e)
{
	return e->weight > 0 ? e->weight : e->key ? 2 : 1;
}

void grade_eval(struct grade *g, const struct lab *l, lab_doc_fn doc, void *ctx,
		const char *submission)
{
	memset(g, 0, sizeof(*g));
	g->lab = xstrdup(l->name);
	g->title = xstrdup(l->title);
	g->submission = xstrdup(submission);
	g->items = xcalloc(l->nexpects ? l->nexpects : 1, sizeof(*g->items));
	g->passed = 1;
	for (size_t i = 0; i < l->nexpects; i++) {
		const struct lab_expect *e = &l->expects[i];
		struct grade_item *it = &g->items[g->n++];
		struct lab_result r;

		lab_eval(e, doc, ctx, &r);
		it->name = xstrdup(e->text);
		it->note = e->note ? xstrdup(e->note) : NULL;
		it->key = e->key;
		it->pass = r.pass;
		it->error = r.error;
		snprintf(it->measured, sizeof(it->measured), "%s", r.measured);
		snprintf(it->wanted, sizeof(it->wanted), "%s", r.wanted);
		snprintf(it->op, sizeof(it->op), "%s", lab_cmp_name(e->cmp));
		it->weight = grade_weight(e);
		it->score = r.pass ? it->weight : 0;
		g->score += it->score;
		g->max_score += it->weight;
		g->passed &= r.pass;
	}
}

void grade_free(struct grade *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->items[i].name);
		free(g->items[i].note);
	}
	free(g->items);
	free(g->lab);
	free(g->title);
	free(g->submission);
	memset(g, 0, sizeof(*g));
}

/* "measured 12, wanted == 0" or "cannot evaluate: ..." */
static void item_message(const struct grade_item *it, char *buf, size_t n)
{
	if (it->error)
		snprintf(buf, n, "cannot evaluate: %s", it->measured);
	else
		snprintf(buf, n, "measured %s, wanted %s %s", it->measured, it->op, it->wanted);
}

/* ---- json ---------------------------------------------------------------------------------- */

static void write_json(const struct grade *g, FILE *f)
{
	struct json j;

	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_kv_str(&j, "lab", g->lab);
	json_kv_str(&j, "title", g->title);
	json_kv_str(&j, "submission", g->submission);
	json_kv_str(&j, "status", g->status);
	json_kv_bool(&j, "program_ok", g->program_ok);
	json_kv_bool(&j, "passed", g->passed);
	json_kv_f64(&j, "score", g->score);
	json_kv_f64(&j, "max_score", g->max_score);
	json_arr_begin(&j, "expectations");
	for (size_t i = 0; i < g->n; i++) {
		const struct grade_item *it = &g->items[i];

		json_obj_begin(&j, NULL);
		json_kv_str(&j, "name", it->name);
		json_kv_bool(&j, "key", it->key);
		json_kv_bool(&j, "pass", it->pass);
		json_kv_bool(&j, "error", it->error);
		json_kv_str(&j, "measured", it->measured);
		json_kv_str(&j, "op", it->op);
		json_kv_str(&j, "wanted", it->wanted);
		json_kv_str(&j, "explanation", it->note);
		json_kv_f64(&j, "weight", it->weight);
		json_kv_f64(&j, "score", it->score);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static const char *str_or(const struct jv *o, const char *key, const char *dflt)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_STR ? v->str : dflt;
}

static double num_or(const struct jv *o, const char *key, double dflt)
{
	const struct jv *v = jv_get(o, key);

	return v && (v->type == JV_NUM || v->type == JV_BOOL) ? v->num : dflt;
}

int grade_load_json(struct grade *g, const char *path, char *err, size_t errn)
{
	struct jv j;
	const struct jv *ex;

	memset(g, 0, sizeof(*g));
	if (jv_load_file(path, &j, err, errn))
		return -1;
	ex = jv_get(&j, "expectations");
	if (j.type != JV_OBJ || !ex || ex->type != JV_ARR || !jv_get(&j, "score")) {
		snprintf(err, errn, "%s: not a conlab grading result", path);
		jv_free(&j);
		return -1;
	}
	g->lab = xstrdup(str_or(&j, "lab", "?"));
	g->title = xstrdup(str_or(&j, "title", ""));
	g->submission = xstrdup(str_or(&j, "submission", "?"));
	snprintf(g->status, sizeof(g->status), "%s", str_or(&j, "status", ""));
	g->program_ok = num_or(&j, "program_ok", 0) != 0;
	g->passed = num_or(&j, "passed", 0) != 0;
	g->score = num_or(&j, "score", 0);
	g->max_score = num_or(&j, "max_score", 0);
	g->items = xcalloc(ex->n ? ex->n : 1, sizeof(*g->items));
	for (size_t i = 0; i < ex->n; i++) {
		const struct jv *e = &ex->items[i];
		struct grade_item *it = &g->items[g->n++];
		const char *note = str_or(e, "explanation", NULL);

		it->name = xstrdup(str_or(e, "name", "?"));
		it->note = note ? xstrdup(note) : NULL;
		it->key = num_or(e, "key", 0) != 0;
		it->pass = num_or(e, "pass", 0) != 0;
		it->error = num_or(e, "error", 0) != 0;
		snprintf(it->measured, sizeof(it->measured), "%s", str_or(e, "measured", ""));
		snprintf(it->wanted, sizeof(it->wanted), "%s", str_or(e, "wanted", ""));
		snprintf(it->op, sizeof(it->op), "%s", str_or(e, "op", ""));
		it->weight = num_or(e, "weight", 1);
		it->score = num_or(e, "score", 0);
	}
	jv_free(&j);
	return 0;
}

/* ---- gradescope ---------------------------------------------------------------------------- */

static void write_gradescope(const struct grade *g, FILE *f)
{
	struct json j;
	char out[1024], msg[600];

	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_kv_f64(&j, "score", g->score);
	snprintf(out, sizeof(out), "lab %s (%s): %s; the program: %s", g->lab, g->title,
		 g->passed ? "every expectation holds" : "some expectations do not hold",
		 g->status);
	json_kv_str(&j, "output", out);
	json_arr_begin(&j, "tests");
	for (size_t i = 0; i < g->n; i++) {
		const struct grade_item *it = &g->items[i];

		item_message(it, msg, sizeof(msg));
		snprintf(out, sizeof(out), "%s%s%s%s", msg, it->note ? "\n(" : "",
			 it->note ? it->note : "", it->note ? ")" : "");
		json_obj_begin(&j, NULL);
		json_kv_str(&j, "name", it->name);
		json_kv_u64(&j, "number", i + 1);
		json_kv_f64(&j, "score", it->score);
		json_kv_f64(&j, "max_score", it->weight);
		json_kv_str(&j, "status", it->pass ? "passed" : "failed");
		json_kv_str(&j, "output", out);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

/* ---- junit ---------------------------------------------------------------------------------- */

static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc('?', f);	/* not allowed in XML 1.0 at all */
		else
			fputc(c, f);
	}
}

static void junit_suite(const struct grade *g, FILE *f)
{
	size_t fails = 0, errors = 0;
	char msg[600];

	for (size_t i = 0; i < g->n; i++) {
		errors += g->items[i].error;
		fails += !g->items[i].pass && !g->items[i].error;
	}
	fprintf(f, "  <testsuite name=\"");
	xml_text(f, g->submission);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", g->n,
		fails, errors, g->seconds);
	fprintf(f, "    <properties>\n      <property name=\"lab\" value=\"");
	xml_text(f, g->lab);
	fprintf(f, "\"/>\n      <property name=\"score\" value=\"%g\"/>\n"
		   "      <property name=\"max_score\" value=\"%g\"/>\n"
		   "      <property name=\"program\" value=\"", g->score, g->max_score);
	xml_text(f, g->status);
	fprintf(f, "\"/>\n    </properties>\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct grade_item *it = &g->items[i];

		fprintf(f, "    <testcase classname=\"");
		xml_text(f, g->lab);
		fputc('.', f);
		xml_text(f, g->submission);
		fprintf(f, "\" name=\"");
		xml_text(f, it->name);
		fprintf(f, "\"");
		if (it->pass) {
			fprintf(f, "/>\n");
			continue;
		}
		item_message(it, msg, sizeof(msg));
		fprintf(f, ">\n      <%s message=\"", it->error ? "error" : "failure");
		xml_text(f, msg);
		fprintf(f, "\" type=\"%s\">", it->key ? "key expectation" : "expectation");
		xml_text(f, it->note ? it->note : msg);
		fprintf(f, "\n(the program: ");
		xml_text(f, g->status);
		fprintf(f, ")</%s>\n    </testcase>\n", it->error ? "error" : "failure");
	}
	fprintf(f, "    <system-out>");
	xml_text(f, g->status);
	fprintf(f, "</system-out>\n  </testsuite>\n");
}

void grade_write_junit(const struct grade *const *g, size_t n, FILE *f)
{
	size_t tests = 0, fails = 0, errors = 0;

	for (size_t s = 0; s < n; s++)
		for (size_t i = 0; i < g[s]->n; i++) {
			tests++;
			errors += g[s]->items[i].error;
			fails += !g[s]->items[i].pass && !g[s]->items[i].error;
		}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"conlab lab ");
	xml_text(f, n ? g[0]->lab : "");
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n", tests, fails, errors);
	for (size_t s = 0; s < n; s++)
		junit_suite(g[s], f);
	fprintf(f, "</testsuites>\n");
}

void grade_write(const struct grade *g, int fmt, FILE *f)
{
	if (fmt == GRADE_JUNIT)
		grade_write_junit(&g, 1, f);
	else if (fmt == GRADE_GRADESCOPE)
		write_gradescope(g, f);
	else
		write_json(g, f);
}

int grade_write_file(const struct grade *g, int fmt, const char *path)
{
	char tmp[PATH_MAX + 16];
	FILE *f;
	int bad;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return fail("cannot write %s: %s", tmp, strerror(errno));
	grade_write(g, fmt, f);
	bad = ferror(f);
	if (fclose(f) || bad || rename(tmp, path)) {
		unlink(tmp);
		return fail("cannot write %s: %s", path, strerror(errno ? errno : EIO));
	}
	return 0;
}

/* "alice" for submissions/alice, submissions/alice/ or submissions/alice.py */
static void submission_name(const char *path, char *out, size_t n)
{
	char buf[PATH_MAX], *base;
	size_t len;

	snprintf(buf, sizeof(buf), "%s", path);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = 0;
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	len = strlen(base);
	if (len > 3 && !strcmp(base + len - 3, ".py"))
		base[len - 3] = 0;
	snprintf(out, n, "%s", base);
}

int grade_check_write(const struct lab *l, lab_doc_fn doc, void *ctx, const char *submission,
		      const struct grade_run *gr, const struct grade_opts *o)
{
	struct grade g;
	char name[256];
	int ret;

	submission_name(submission, name, sizeof(name));
	grade_eval(&g, l, doc, ctx, name);
	if (gr->on) {
		snprintf(g.status, sizeof(g.status), "%s",
			 gr->ran ? gr->status : "not run: no expectation reads its run");
		g.program_ok = gr->program_ok;
	} else {
		snprintf(g.status, sizeof(g.status), "the lab's variant %s", submission);
		g.program_ok = 1;
	}
	if (o->output) {
		ret = grade_write_file(&g, o->format, o->output) ? 2 : !g.passed;
	} else {
		grade_write(&g, o->format, stdout);
		ret = fflush(stdout) ? 2 : !g.passed;
	}
	grade_free(&g);
	return ret;
}
