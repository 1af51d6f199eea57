/*
 * cmd_lab.c — `conlab lab list | run NAME | check NAME`: the lab exercises.
 *
 * A lab is a data file (workloads/labs/NN-topic.lab, see FORMAT.md) next to its sheet
 * (NN-topic.md). `run` records one variant, shows the sheet's "what to look at" next to the
 * reports and asks the questions; `check` runs the variant being graded (or the student's
 * program) and evaluates the expectations against the reports' JSON.
 *
 * Every program runs under `conlab record` started from this same binary, in a session of
 * its own: the programs of the hang labs do not end, and whatever is left of the session
 * when the recording stops is diagnosed with `conlab deadlock -p` and then killed.
 * Reports are separate `conlab report KIND --format json` runs over the trace, so a lab
 * checks exactly what a student would see typing the commands of the sheet.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "lab/grade.h"
#include "lib/jsonread.h"
#include "lab/lab.h"
#include "lab/lab_predict.h"
#include "lab/lab_service.h"
#include "lab/labrun.h"
#include "render/report.h"
#include "lib/util.h"

/* ---- lab list ----------------------------------------------------------------------------- */

static int lab_list(int argc, char **argv)
{
	struct labctx c = {0};
	char **names;
	size_t n;
	int only_names = argc > 1 && !strcmp(argv[1], "--names");

	if (argc > 1 && !only_names) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("usage: conlab lab list [--names]\n");
			return 0;
		}
		errmsg("unexpected argument '%s' (conlab lab list [--names])", argv[1]);
		return 2;
	}
	if (lab_locate(&c))
		return 2;
	n = lab_names(&c, &names);
	if (!n) {
		errmsg("no lab files in %s", c.labs);
		return 2;
	}
	/* columns as wide as the longest name and topic: a first pass reads the files only (the
	 * second probes each lab's needs) */
	int wn = 4, wt = 5;

	for (size_t i = 0; i < n && !only_names; i++) {
		char path[PATH_MAX + 300], err[512];
		const char *topic;

		snprintf(path, sizeof(path), "%s/%s", c.labs, names[i]);
		if (lab_load(&c.lab, path, err, sizeof(err)))
			continue;
		topic = c.lab.topic ? c.lab.topic : c.lab.title;
		wn = (int)strlen(c.lab.name) > wn ? (int)strlen(c.lab.name) : wn;
		wt = topic && (int)strlen(topic) > wt ? (int)strlen(topic) : wt;
		lab_free(&c.lab);
	}
	if (!only_names)
		printf("%-3s %-*s %-*s %s\n", "#", wn, "NAME", wt, "TOPIC", "STATUS");
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 300], err[512], missing[1024];

		snprintf(path, sizeof(path), "%s/%s", c.labs, names[i]);
		if (lab_load(&c.lab, path, err, sizeof(err))) {
			if (only_names)
				continue;
			printf("%-3s %-*.*s %-*s broken lab file: %s\n", "?", wn,
			       (int)strlen(names[i]) - 4, names[i], wt, "", err);
			continue;
		}
		if (only_names) {
			printf("%s\n", c.lab.name);
		} else {
			int ready = lab_check_needs(&c, missing, sizeof(missing)) == 0;

			printf("%-3d %-*s %-*s %s%s\n", c.lab.number, wn, c.lab.name, wt,
			       c.lab.topic ? c.lab.topic : c.lab.title, ready ? "ready" : "needs: ",
			       ready ? "" : missing);
		}
		lab_free(&c.lab);
		lab_pick_python(c.python, sizeof(c.python));
	}
	lab_free_names(names, n);
	return 0;
}

/* ---- the lab sheet ---------------------------------------------------------------------- */

/* The text of "## SECTION" of the lab's sheet, or NULL. */
static char *sheet_section(const struct labctx *c, const char *section)
{
	char path[PATH_MAX * 2], line[4096], *text = NULL;
	size_t cap = 0, n = 0;
	int in = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->labs,
		 c->lab.sheet ? c->lab.sheet : "");
	if (!c->lab.sheet) {
		snprintf(path, sizeof(path), "%s/%s.md", c->labs, c->lab.name);
	}
	f = fopen(path, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3)) {
			if (in)
				break;
			line[strcspn(line, "\n")] = 0;
			in = !strcasecmp(line + 3, section);
			continue;
		}
		if (!in)
			continue;
		GROW(text, cap, n + strlen(line) + 1);
		memcpy(text + n, line, strlen(line) + 1);
		n += strlen(line);
	}
	fclose(f);
	while (n && (text[n - 1] == '\n'))
		text[--n] = 0;
	{
		size_t skip = 0;

		while (text && text[skip] == '\n')
			skip++;
		if (text && skip)
			memmove(text, text + skip, n - skip + 1);
	}
	return text;
}

static void print_section(const struct labctx *c, const char *title, const char *section)
{
	char *t = sheet_section(c, section);

	printf("\n== %s\n\n", title);
	if (t)
		printf("%s\n", t);
	else
		printf("(the lab sheet has no \"%s\" section)\n", section);
	free(t);
}

/* Ask the sheet's questions one by one; the answers go to DIR/answers.md. Questions are
 * the numbered items of the section ("1. ..." and their continuation lines). */
static void ask_questions(const struct labctx *c, int interactive)
{
	char *t = sheet_section(c, "Questions"), *p, *line, path[PATH_MAX + 16];
	char *items[64];
	size_t nitems = 0, len[64] = {0};
	FILE *ans = NULL;

	printf("\n== Questions\n\n");
	if (!t) {
		printf("(the lab sheet has no questions)\n");
		return;
	}
	if (!interactive) {
		printf("%s\n", t);
		free(t);
		return;
	}
	for (p = t; (line = strsep(&p, "\n"));) {
		if (line[0] >= '0' && line[0] <= '9' && strstr(line, ". ") && nitems < 64)
			items[nitems++] = line;
		else if (nitems && *line)
			len[nitems - 1]++, line[-1] = '\n';	/* rejoin a continuation line */
	}
	snprintf(path, sizeof(path), "%s/answers.md", c->dir);
	ans = fopen(path, "a");
	for (size_t i = 0; i < nitems; i++) {
		char buf[2048];

		printf("%s\n> ", items[i]);
		fflush(stdout);
		if (!fgets(buf, sizeof(buf), stdin))
			break;
		if (ans)
			fprintf(ans, "%s\n\n%s\n", items[i], buf);
	}
	if (ans) {
		fclose(ans);
		printf("\nanswers saved in %s\n", path);
	}
	free(t);
}

/* ---- lab run ------------------------------------------------------------------------------ */

/* The lab's variants and their commands: what else there is to run. */
static void list_variants(const struct labctx *c, const char *running)
{
	printf("variants (conlab lab run %s --variant V):\n", c->lab.name);
	for (size_t i = 0; i < c->lab.nvariants; i++) {
		const struct lab_variant *v = &c->lab.variants[i];
		char cmd[4096];

		lab_expand(c, v->cmd, cmd, sizeof(cmd));
		printf("  %s %-11s %s%s\n", !strcmp(v->name, running) ? "*" : " ", v->name, cmd,
		       !strcmp(v->name, c->lab.check_variant) ? "   (graded by lab check)" : "");
	}
}

/* The sheet's Predict section, asked before anything runs. */
static void predict_before(const struct labctx *c, struct lab_predict *p, const char *answers,
			   int interactive)
{
	char *t = sheet_section(c, "Predict"), err[512];

	if (!t)
		return;
	if (lab_predict_parse(p, t, err, sizeof(err))) {
		printf("\n(the sheet's Predict section: %s)\n", err);
		free(t);
		return;
	}
	free(t);
	printf("\n== Predict (before it runs)\n\n");
	lab_predict_ask(p, answers, interactive, stdin, stdout);
	printf("\n");
}

static void usage_run(FILE *f)
{
	fprintf(f, "usage: conlab lab run NAME [--variant V] [-d DIR] [--predict 'A1; A2']\n"
		   "                      [--reveal] [--no-ask]\n"
		   "\n"
		   "Ask the sheet's Predict questions, record one variant of a lab, show your\n"
		   "predictions beside what was measured, the sheet's \"what to look at\" next to\n"
		   "the reports, write timeline files, and ask the sheet's questions.\n"
		   "\n"
		   "  --variant V   the variant to run (listed at the start of the run)\n"
		   "  -d DIR        output directory (default ./conlab-lab/NAME)\n"
		   "  --predict A   your predictions, ';' between answers (no questions asked)\n"
		   "  --reveal      show the explanation too\n"
		   "  --no-ask      print the questions instead of asking them\n");
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_STR ? v->str : NULL;
}

/* A potential deadlock's lock-order edges: which thread took which lock while holding which. */
static void show_edges(const struct jv *e)
{
	for (size_t i = 0; e && e->type == JV_ARR && i < e->n; i++) {
		const struct jv *x = &e->items[i], *tid = jv_get(x, "tid");
		const struct jv *py = jv_get(x, "python");
		const char *th = jstr(x, "thread");

		printf("    %s -> %s: taken in this order by %s", jstr(x, "from") ?: "?",
		       jstr(x, "to") ?: "?", th ? th : "thread");
		if (tid && tid->type == JV_NUM)
			printf(" (tid %.0f)", tid->num);
		/* a Python edge's site is the interpreter's: the names say more */
		if (jstr(x, "to_site") && !(py && py->type == JV_BOOL && py->num))
			printf(", at %s", jstr(x, "to_site"));
		printf("\n");
	}
}

static void show_report(struct labctx *c, struct run *r, const char *kind)
{
	const struct report_kind *k = report_kind_find(kind);
	char errp[PATH_MAX + 32];

	if (!strcmp(kind, "deadlock") && r->hung)
		printf("\n== conlab deadlock -p PID (the hung program, diagnosed while it hung)\n\n");
	else if (!strcmp(kind, "deadlock") && r->has_deadlock)
		printf("\n== conlab deadlock --locks -- CMD (found while the program ran)\n\n");
	else
		printf("\n== conlab report %s -i %s\n\n", kind, r->trace);
	if (!strcmp(kind, "deadlock") && (r->hung || r->has_deadlock)) {
		char txt[PATH_MAX + 32], line[1024];
		FILE *f;

		snprintf(txt, sizeof(txt), "%s.deadlock.txt", r->base);
		f = fopen(txt, "r");
		if (!f && r->has_deadlock) {
			struct jv j;
			const struct jv *d;
			char err[512];

			if (jv_load_file(r->deadlock_json, &j, err, sizeof(err))) {
				printf("(%s)\n", err);
				return;
			}
			d = jv_get(&j, "deadlocks");
			printf("%zu finding(s) (%s):\n", d && d->type == JV_ARR ? d->n : 0,
			       r->deadlock_json);
			for (size_t i = 0; d && i < d->n; i++) {
				const struct jv *k = jv_get(&d->items[i], "kind");
				const struct jv *sm = jv_get(&d->items[i], "summary");

				printf("  %s: %s\n", k && k->type == JV_STR ? k->str : "?",
				       sm && sm->type == JV_STR ? sm->str : "");
				show_edges(jv_get(&d->items[i], "edges"));
			}
			jv_free(&j);
			return;
		}
		if (!f) {
			printf("(no deadlock report: %s)\n",
			       r->deadlock_why[0] ? r->deadlock_why : "conlab deadlock -p failed");
			return;
		}
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		fclose(f);
		return;
	}
	if (!k) {
		printf("(report %s is not in this conlab build; the summary shows what there is)\n",
		       kind);
		return;
	}
	snprintf(errp, sizeof(errp), "%s.%s.err", r->base, kind);
	{
		char *argv[] = {c->self, "report", (char *)kind, "-i", r->trace, NULL};

		if (lab_spawn_wait(argv, NULL, errp, 120, NULL) > 1) {
			char msg[300];

			lab_first_line(errp, msg, sizeof(msg));
			printf("(conlab report %s failed: %s)\n", kind, msg);
		}
	}
}

static void write_timeline(struct labctx *c, struct run *r, int fmt, const char *file)
{
	const struct report_kind *k = report_kind_find("timeline");
	char out[PATH_MAX + 64], errp[PATH_MAX + 64];

	if (!k || !(k->formats & FMT_BIT(fmt)))
		return;
	snprintf(out, sizeof(out), "%s/%s", c->dir, file);
	snprintf(errp, sizeof(errp), "%s.timeline-%s.err", r->base, format_name(fmt));
	{
		char *argv[] = {c->self, "report", "timeline", "-i", r->trace, "--format",
				(char *)format_name(fmt), "-o", out, NULL};

		if (lab_spawn_wait(argv, NULL, errp, 120, NULL) == 0)
			printf("wrote %s\n", out);
		else
			printf("(could not write %s: see %s)\n", out, errp);
	}
}

/* The variant lab run shows, what it needs, where it works; 0, or -1 after one error line. */
static int run_prepare(struct labctx *c, const char *variant, const char *dir)
{
	char missing[1024];

	if (!variant)
		return fail("lab %s has no bundled program to run", c->lab.name);
	if (!lab_variant_find(&c->lab, variant))
		return fail("lab %s has no variant '%s'", c->lab.name, variant);
	lab_pick_python(c->python, sizeof(c->python));
	if (lab_check_needs(c, missing, sizeof(missing)))
		return fail("lab %s cannot run here: missing %s", c->lab.name, missing);
	if (dir)
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	else
		snprintf(c->dir, sizeof(c->dir), "conlab-lab/%s", c->lab.name);
	if (mkdir_p(c->dir))
		return -1;
	c->text_deadlock = 1;
	c->checked = variant;
	return 0;
}

/* The program's output, its answers hidden until the reveal, then the predictions beside
 * what was measured (kept in predictions.md). */
static void run_output(struct labctx *c, struct run *r, struct lab_predict *pred)
{
	char outp[PATH_MAX + 16], line[4096];
	FILE *f;

	snprintf(outp, sizeof(outp), "%s.out", r->base);
	printf("\n== the program's output (%s)%s\n\n", outp,
	       pred->nhidden ? ", answers hidden (?) until the reveal" : "");
	f = fopen(outp, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			lab_predict_hide(pred, line, sizeof(line));
			fputs(line, stdout);
		}
		fclose(f);
	}
	if (pred->n) {
		char path[PATH_MAX + 32];

		printf("\n== Your predictions beside what was measured\n\n");
		lab_predict_reveal(pred, lab_lookup, c, stdout);
		snprintf(path, sizeof(path), "%s/predictions.md", c->dir);
		lab_predict_save(pred, lab_lookup, c, path);
	}
}

static int lab_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"variant", required_argument, NULL, 'V'},
		{"dir", required_argument, NULL, 'd'},
		{"reveal", no_argument, NULL, 'r'},
		{"no-ask", no_argument, NULL, 'n'},
		{"predict", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct labctx c = {0};
	const char *variant = NULL, *dir = NULL, *answers = NULL;
	int reveal = 0, ask = 1, opt, ret = 0;
	struct lab_predict pred = {0};
	struct run *r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'V': variant = optarg; break;
		case 'd': dir = optarg; break;
		case 'r': reveal = 1; break;
		case 'n': ask = 0; break;
		case 'p': answers = optarg; break;
		case 'h': usage_run(stdout); return 0;
		default: usage_run(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage_run(stderr);
		return 2;
	}
	if (lab_locate(&c) || lab_find(&c, argv[optind]))
		return 2;
	if (!variant)
		variant = c.lab.run_variant;
	if (run_prepare(&c, variant, dir)) {
		ret = 2;
		goto out;
	}
	printf("lab %s — %s\n\n", c.lab.name, c.lab.title);
	list_variants(&c, variant);
	predict_before(&c, &pred, answers, ask && isatty(0) && isatty(1));
	r = lab_get_run(&c, variant, 0);
	if (lab_do_run(&c, r)) {
		errmsg("%s", r->why);
		ret = 2;
		goto out;
	}
	run_output(&c, r, &pred);
	print_section(&c, "What to look at", "What to look at");
	if (!c.lab.nshow)
		show_report(&c, r, "summary");
	for (size_t i = 0; i < c.lab.nshow; i++)
		show_report(&c, r, c.lab.show[i]);
	printf("\n");
	write_timeline(&c, r, FMT_HTML, "timeline.html");
	write_timeline(&c, r, FMT_PERFETTO, "timeline.perfetto-trace");
	printf("trace: %s (conlab report KIND -i %s)\n", r->trace, r->trace);
	ask_questions(&c, ask && isatty(0) && isatty(1));
	if (reveal)
		print_section(&c, "Explanation", "Explanation");
	else
		printf("\n(conlab lab run %s --reveal shows the explanation)\n", c.lab.name);
out:
	lab_predict_free(&pred);
	lab_free_runs(&c);
	lab_free(&c.lab);
	return ret;
}

/* ---- lab check ------------------------------------------------------------------------------ */

static void usage_check(FILE *f)
{
	fprintf(f,
		"usage: conlab lab check NAME [--program PATH | --variant V] [-d DIR] [--keys] [--quiet]\n"
		"                        [--format F] [--output FILE] [--user NAME] [limits]\n"
		"       conlab lab check NAME --submissions DIR [--results DIR] [--jobs N] ...\n"
		"\n"
		"Run a program of the lab under tracing and evaluate the lab's expectations against\n"
		"its reports. Exit 0 when every expectation holds, 1 when one does not, 2 when the\n"
		"lab cannot be checked here.\n"
		"\n"
		"  --program PATH  check your own program (a .py file runs under python3; a folder\n"
		"                  runs its main.py or main); it gets the arguments of the lab's\n"
		"                  reference variant and runs sandboxed, as an unprivileged user\n"
		"  --variant V     check a bundled variant (default: the lab's reference)\n"
		"  -d DIR          keep traces and reports in DIR (default ./conlab-lab/NAME/check)\n"
		"  --keys          evaluate only the key expectations (what the lab is about)\n"
		"  -q, --quiet     print only the expectations and the verdict\n"
		"\n%s", grade_options_help());
}

/* What a check runs (the variant, or the program), what it needs, where it works; 0, or -1
 * after one error line. */
static int check_prepare(struct labctx *c, const char *variant, const char *dir)
{
	char missing[1024];

	c->checked = variant ? variant : c->lab.check_variant;
	if (!c->program && !lab_variant_find(&c->lab, c->checked))
		return fail("lab %s has no variant '%s'%s", c->lab.name, c->checked,
			    c->lab.nvariants ? "" : ": check your own program with --program PATH");
	lab_pick_python(c->python, sizeof(c->python));
	if (lab_check_needs(c, missing, sizeof(missing)))
		return fail("lab %s cannot be checked here: missing %s", c->lab.name, missing);
	if (!c->lab.nexpects)
		return fail("lab %s has no expectations", c->lab.name);
	if (dir)
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	else
		snprintf(c->dir, sizeof(c->dir), "conlab-lab/%s/check", c->lab.name);
	return mkdir_p(c->dir) ? -1 : 0;
}

/* Each expectation (the key ones with keys_only) measured and said, then the verdict: 0 when
 * all hold, 1 when one does not. */
static int check_text(struct labctx *c, int keys_only)
{
	int passed = 0, evaluated = 0, key_failed = 0;

	for (size_t i = 0; i < c->lab.nexpects; i++) {
		const struct lab_expect *e = &c->lab.expects[i];
		struct lab_result res;

		if (keys_only && !e->key)
			continue;
		evaluated++;
		lab_eval(e, lab_lookup, c, &res);
		passed += res.pass;
		if (!res.pass && e->key)
			key_failed = 1;
		printf("%s%s %s\n", res.pass ? "PASS" : "FAIL", e->key ? " [key]" : "", e->text);
		if (res.error)
			printf("       cannot evaluate: %s\n", res.measured);
		else
			printf("       measured %s, wanted %s %s\n", res.measured,
			       lab_cmp_name(e->cmp), res.wanted);
		if (e->note)
			printf("       (%s)\n", e->note);
	}
	if (c->sandbox.status[0])
		printf("the program: %s\n", c->sandbox.status);
	printf("%s: %d of %d %sexpectations hold%s\n", passed == evaluated ? "PASS" : "FAIL",
	       passed, evaluated, keys_only ? "key " : "",
	       key_failed ? ", the key one does not" : "");
	return passed == evaluated ? 0 : 1;
}

static int lab_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"program", required_argument, NULL, 'P'},
		{"variant", required_argument, NULL, 'V'},
		{"dir", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		GRADE_LONG_OPTIONS,
		{},
	};
	struct labctx c = {0};
	const char *variant = NULL, *dir = NULL;
	char helper[PATH_MAX];
	int opt, ret = 2, keys_only = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
		if (opt >= GRADE_OPT_FIRST) {
			if (grade_opt(&c.grading, opt, optarg))
				return 2;
			continue;
		}
		switch (opt) {
		case 'P': c.program = optarg; break;
		case 'V': variant = optarg; break;
		case 'd': dir = optarg; break;
		case 'q': c.quiet = 1; break;
		case 'k': keys_only = 1; break;
		case 'h': usage_check(stdout); return 0;
		default: usage_check(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage_check(stderr);
		return 2;
	}
	if (c.program && variant) {
		errmsg("--program and --variant exclude each other");
		return 2;
	}
	if (c.program && !lab_is_exec(c.program) && access(c.program, R_OK)) {
		errmsg("cannot run %s: %s", c.program, strerror(errno));
		return 2;
	}
	if (lab_locate(&c) || lab_find(&c, argv[optind]))
		return 2;
	if (c.grading.submissions) {
		ret = c.program || variant ? (errmsg("--submissions grades a folder: no --program "
						     "or --variant with it"), 2)
					   : grade_batch(c.self, argv[optind], &c.lab, &c.grading);
		goto out;
	}
	if (check_prepare(&c, variant, dir))
		goto out;
	if (c.grading.format == GRADE_TEXT)
		printf("lab %s — %s: checking %s\n", c.lab.name, c.lab.title,
		       c.program ? c.program : c.checked);
	snprintf(helper, sizeof(helper), "%.4000s/wl.py", c.py);
	c.grading.py_helper = helper;
	if (c.program && grade_check_begin(&c.sandbox, &c.grading, &c.lab, &c.program, c.python,
					   sizeof(c.python)))
		goto out;
	if (c.grading.format != GRADE_TEXT) {
		c.quiet = 1;
		ret = grade_check_write(&c.lab, lab_lookup, &c,
					c.program ? c.grading.submission : c.checked, &c.sandbox,
					&c.grading);
		goto out;
	}
	ret = check_text(&c, keys_only);
out:
	grade_run_end(&c.sandbox);
	lab_free_runs(&c);
	lab_free(&c.lab);
	return ret;
}

/* ---- dispatch -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: conlab lab list [--names]\n"
		   "       conlab lab run NAME [--variant V] [--reveal]\n"
		   "       conlab lab check NAME [--program PATH | --variant V]\n"
		   "       conlab lab check NAME --submissions DIR (a class)\n"
		   "\n"
		   "The lab exercises: each records a workload under conlab and explains what its\n"
		   "reports show. NAME is the lab's name (06-granularity), number (6) or topic\n"
		   "(granularity). Lab files: workloads/labs/*.lab (format: workloads/labs/FORMAT.md).\n");
}

int cmd_lab(int argc, char **argv)
{
	static const struct command sub[] = {
		{"list", lab_list, NULL},
		{"run", lab_run, NULL},
		{"check", lab_check, NULL},
		{"service", lab_service_main, NULL},	/* a private broker around a command (lab 20) */
	};

	return command_dispatch("conlab lab", sub, sizeof(sub) / sizeof(sub[0]), usage, argc, argv);
}
