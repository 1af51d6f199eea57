/*
 * grade_batch.c — `conlab lab check LAB --submissions DIR`: a class at once.
 *
 * Each entry of DIR (a file or a folder) is one submission, graded by `conlab lab check LAB
 * --program ENTRY --format json --output RESULTS/NAME.json` run from this same binary, so a
 * submission's grading shares nothing with the others' but the machine: its own sandbox, its
 * own traces (RESULTS/NAME.work), its own log (RESULTS/NAME.log). Up to --jobs of them run at
 * once (the CPUs, unless the lab says `batch serial`: expectations on timing or parallelism
 * would measure the neighbours too).
 *
 * Resumable: a result is renamed into place only when complete, and a submission with a
 * result is not graded again (--regrade does), so a batch killed halfway, started again,
 * grades only what is left. At the end, the class summary: how many passed each expectation,
 * the most common failures and what the programs did (RESULTS/summary.txt and .json).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lab/labrun.h"
#include "lib/json.h"
#include "lib/util.h"

struct sub {
	char *entry;		/* DIR/ENTRY */
	char name[256];		/* alice (alice.py, alice/) */
	char result[PATH_MAX];	/* RESULTS/NAME.json */
	pid_t pid;		/* grading now */
	double t0;
	int done, resumed, rc;
	struct grade g;
	int have;
};

struct batch {
	const char *self, *labname;
	const struct lab *lab;
	const struct grade_opts *o;
	char results[PATH_MAX];
	struct sub *subs;
	size_t n, graded, failed, running;
	int jobs, tty;
	double t0;
};

static double now_s(void)
{
	return now_mono_ns() / 1e9;
}

static int cmp_sub(const void *a, const void *b)
{
	return strcmp(((const struct sub *)a)->name, ((const struct sub *)b)->name);
}


/* The submissions: every entry of the folder but hidden ones, sorted by name. */
static int list_submissions(struct batch *b, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	if (!d)
		return fail("cannot read %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		struct sub *s;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len >= 200)
			continue;
		GROW(b->subs, cap, b->n + 1);
		s = &b->subs[b->n++];
		memset(s, 0, sizeof(*s));
		s->entry = xmalloc(strlen(dir) + len + 2);
		sprintf(s->entry, "%s/%s", dir, de->d_name);
		snprintf(s->name, sizeof(s->name), "%s", de->d_name);
		if (len > 3 && !strcmp(s->name + len - 3, ".py"))
			s->name[len - 3] = 0;
	}
	closedir(d);
	qsort(b->subs, b->n, sizeof(*b->subs), cmp_sub);
	for (size_t i = 1; i < b->n; i++)
		if (!strcmp(b->subs[i].name, b->subs[i - 1].name))
			return fail("%s and %s would have the same result file", b->subs[i - 1].entry,
				    b->subs[i].entry);
	return b->n ? 0 : fail("no submissions in %s", dir);
}

static void add_arg(char **argv, int *a, const char *opt, const char *val)
{
	argv[(*a)++] = (char *)opt;
	if (val)
		argv[(*a)++] = (char *)val;
}

/* One submission's `lab check`, its output in RESULTS/NAME.log. */
static int start(struct batch *b, struct sub *s)
{
	const struct grade_opts *o = b->o;
	char *argv[48], log[PATH_MAX + 8], work[PATH_MAX + 8], jobs[16], num[6][32];
	int a = 0;
	pid_t pid;

	snprintf(log, sizeof(log), "%.3800s/%.200s.log", b->results, s->name);
	snprintf(work, sizeof(work), "%.3800s/%.200s.work", b->results, s->name);
	snprintf(jobs, sizeof(jobs), "%d", b->jobs);
	add_arg(argv, &a, b->self, NULL);
	add_arg(argv, &a, "lab", NULL);
	add_arg(argv, &a, "check", NULL);
	add_arg(argv, &a, b->labname, NULL);
	add_arg(argv, &a, "--program", s->entry);
	add_arg(argv, &a, "--format", "json");
	add_arg(argv, &a, "--output", s->result);
	add_arg(argv, &a, "-q", NULL);
	add_arg(argv, &a, "-d", work);
	add_arg(argv, &a, "--jobs", jobs);
	if (o->user)
		add_arg(argv, &a, "--user", o->user);
	snprintf(num[0], 32, "%g", o->time_limit);
	snprintf(num[1], 32, "%g", o->cpu_limit);
	snprintf(num[2], 32, "%llu", (unsigned long long)o->memory_limit);
	snprintf(num[3], 32, "%ld", o->procs_limit);
	snprintf(num[4], 32, "%ld", o->files_limit);
	snprintf(num[5], 32, "%llu", (unsigned long long)o->fsize_limit);
	if (o->time_limit > 0)
		add_arg(argv, &a, "--time-limit", num[0]);
	if (o->cpu_limit > 0)
		add_arg(argv, &a, "--cpu-limit", num[1]);
	if (o->memory_limit)
		add_arg(argv, &a, "--memory-limit", num[2]);
	if (o->procs_limit)
		add_arg(argv, &a, "--procs-limit", num[3]);
	if (o->files_limit)
		add_arg(argv, &a, "--files-limit", num[4]);
	if (o->fsize_limit)
		add_arg(argv, &a, "--file-size-limit", num[5]);
	argv[a] = NULL;
	/* graded again on resume if the batch dies: it does not go on without the batch */
	pid = lab_spawn(argv, log, log, LAB_SPAWN_PDEATH);
	if (pid < 0)
		return -1;
	s->pid = pid;
	s->t0 = now_s();
	b->running++;
	return 0;
}

/* A submission that could not be graded at all gets a result too, with every expectation
 * failed and the reason (the last line of its log), so the class summary counts it. */
static void not_graded(struct batch *b, struct sub *s)
{
	char log[PATH_MAX + 8], line[512], last[512] = "no message";
	struct grade *g = &s->g;
	FILE *f;

	snprintf(log, sizeof(log), "%.3800s/%.200s.log", b->results, s->name);
	f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f))
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = 0;
			snprintf(last, sizeof(last), "%.400s", line);
		}
	if (f)
		fclose(f);
	memset(g, 0, sizeof(*g));
	g->lab = xstrdup(b->lab->name);
	g->title = xstrdup(b->lab->title);
	g->submission = xstrdup(s->name);
	snprintf(g->status, sizeof(g->status), "not graded: %s", last);
	g->items = xcalloc(b->lab->nexpects + 1, sizeof(*g->items));
	for (size_t i = 0; i < b->lab->nexpects; i++) {
		struct grade_item *it = &g->items[g->n++];

		it->name = xstrdup(b->lab->expects[i].text);
		it->key = b->lab->expects[i].key;
		it->error = 1;
		it->weight = grade_weight(&b->lab->expects[i]);
		snprintf(it->measured, sizeof(it->measured), "not graded");
		snprintf(it->op, sizeof(it->op), "%s", lab_cmp_name(b->lab->expects[i].cmp));
		g->max_score += it->weight;
	}
	if (!grade_write_file(g, GRADE_JSON, s->result))
		s->have = 1;
	else
		grade_free(g);
}

static void progress(struct batch *b, const struct sub *s)
{
	size_t done = 0;

	for (size_t i = 0; i < b->n; i++)
		done += b->subs[i].done;
	if (b->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "grading %s: %zu/%zu done, %zu running, %zu failed, %.0f s", b->lab->name,
		done, b->n, b->running, b->failed, now_s() - b->t0);
	if (s)
		fprintf(stderr, " (%s: %s)", s->name,
			!s->have ? "no result" : s->g.passed ? "pass" : "fail");
	fprintf(stderr, b->tty ? "" : "\n");
	fflush(stderr);
}

static void finished(struct batch *b, struct sub *s, int st)
{
	char err[512];

	b->running--;
	s->pid = 0;
	s->done = 1;
	s->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
	b->graded++;
	if (grade_load_json(&s->g, s->result, err, sizeof(err)) == 0) {
		s->have = 1;
		s->g.seconds = now_s() - s->t0;
	} else {
		not_graded(b, s);
	}
	b->failed += !s->have || !s->g.passed;
	progress(b, s);
}

static int run_all(struct batch *b)
{
	size_t next = 0;

	for (;;) {
		int st;
		pid_t pid;

		while (b->running < (size_t)b->jobs && next < b->n) {
			struct sub *s = &b->subs[next++];

			if (s->done)
				continue;
			if (start(b, s))
				return -1;
		}
		if (!b->running)
			return 0;
		pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return fail("waiting for the graders: %s", strerror(errno));
		}
		for (size_t i = 0; i < b->n; i++)
			if (b->subs[i].pid == pid)
				finished(b, &b->subs[i], st);
	}
}

/* ---- the class summary ----------------------------------------------------------------- */

struct tally {
	char *what;
	size_t count;
};

static void tally_add(struct tally **t, size_t *n, size_t *cap, const char *what)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*t)[i].what, what)) {
			(*t)[i].count++;
			return;
		}
	GROW(*t, *cap, *n + 1);
	(*t)[*n].what = xstrdup(what);
	(*t)[(*n)++].count = 1;
}

static int cmp_tally(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->what, y->what);
}

/* "exit status 1: PermissionError..." -> "exit status 1", what followed a ';' goes too: the
 * same outcome counts once. */
static void outcome(const char *status, char *out, size_t n)
{
	snprintf(out, n, "%s", status);
	out[strcspn(out, strncmp(out, "exit status", 11) ? ";" : ":;")] = 0;
}

static void summarize(struct batch *b, FILE *f, struct json *j)
{
	const struct lab *l = b->lab;
	struct tally *fails = NULL, *outs = NULL;
	size_t nf = 0, cf = 0, no = 0, co = 0, all = 0, graded = 0;
	double score = 0, max = 0;

	for (size_t s = 0; s < b->n; s++) {
		const struct grade *g = &b->subs[s].g;
		char what[700];

		if (!b->subs[s].have)
			continue;
		graded++;
		all += g->passed;
		score += g->score;
		max = g->max_score > max ? g->max_score : max;
		outcome(g->status, what, sizeof(what));
		tally_add(&outs, &no, &co, what);
		for (size_t i = 0; i < g->n; i++) {
			if (g->items[i].pass)
				continue;
			if (g->items[i].error)
				snprintf(what, sizeof(what), "%.300s: %.300s", g->items[i].name,
					 g->items[i].measured);
			else
				snprintf(what, sizeof(what), "%.300s: measured %.100s",
					 g->items[i].name, g->items[i].measured);
			tally_add(&fails, &nf, &cf, what);
		}
	}
	qsort(fails, nf, sizeof(*fails), cmp_tally);
	qsort(outs, no, sizeof(*outs), cmp_tally);
	fprintf(f, "class summary: lab %s, %zu submissions, %zu graded, %zu pass every "
		   "expectation, mean score %.2f of %g\n\n", l->name, b->n, graded, all,
		graded ? score / graded : 0, max);
	json_obj_begin(j, NULL);
	json_kv_str(j, "lab", l->name);
	json_kv_u64(j, "submissions", b->n);
	json_kv_u64(j, "graded", graded);
	json_kv_u64(j, "passed", all);
	json_kv_f64(j, "mean_score", graded ? score / graded : 0);
	json_kv_f64(j, "max_score", max);
	fprintf(f, "passed  expectation\n");
	json_arr_begin(j, "expectations");
	for (size_t i = 0; i < l->nexpects; i++) {
		size_t ok = 0;

		for (size_t s = 0; s < b->n; s++)
			ok += b->subs[s].have && i < b->subs[s].g.n && b->subs[s].g.items[i].pass;
		fprintf(f, "%3zu/%-3zu %s%s\n", ok, graded, l->expects[i].key ? "[key] " : "",
			l->expects[i].text);
		json_obj_begin(j, NULL);
		json_kv_str(j, "name", l->expects[i].text);
		json_kv_bool(j, "key", l->expects[i].key);
		json_kv_u64(j, "passed", ok);
		json_obj_end(j);
	}
	json_arr_end(j);
	fprintf(f, "\ncommon failures:\n");
	json_arr_begin(j, "common_failures");
	for (size_t i = 0; i < nf && i < 8; i++) {
		fprintf(f, "%5zu  %s\n", fails[i].count, fails[i].what);
		json_obj_begin(j, NULL);
		json_kv_u64(j, "count", fails[i].count);
		json_kv_str(j, "failure", fails[i].what);
		json_obj_end(j);
	}
	if (!nf)
		fprintf(f, "    (none)\n");
	json_arr_end(j);
	fprintf(f, "\nwhat the programs did:\n");
	json_arr_begin(j, "programs");
	for (size_t i = 0; i < no; i++) {
		fprintf(f, "%5zu  %s\n", outs[i].count, outs[i].what);
		json_obj_begin(j, NULL);
		json_kv_u64(j, "count", outs[i].count);
		json_kv_str(j, "outcome", outs[i].what);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
	json_end(j);
	for (size_t i = 0; i < nf; i++)
		free(fails[i].what);
	for (size_t i = 0; i < no; i++)
		free(outs[i].what);
	free(fails);
	free(outs);
}

/* The summary on stdout and in RESULTS/summary.txt and summary.json; for junit the class in
 * RESULTS/junit.xml, for gradescope each submission's RESULTS/NAME.results.json. */
static int write_summary(struct batch *b)
{
	char path[PATH_MAX + 32];
	const struct grade **gs = xcalloc(b->n + 1, sizeof(*gs));
	size_t ng = 0;
	struct json j;
	FILE *txt, *js, *null = fopen("/dev/null", "w");
	int ret = 0;

	snprintf(path, sizeof(path), "%.4000s/summary.txt", b->results);
	txt = fopen(path, "w");
	snprintf(path, sizeof(path), "%.4000s/summary.json", b->results);
	js = fopen(path, "w");
	if (!txt || !js || !null) {
		ret = fail("cannot write the summary in %s: %s", b->results, strerror(errno));
		goto out;
	}
	json_init(&j, null, 1);
	summarize(b, stdout, &j);
	json_init(&j, null, 1);
	summarize(b, txt, &j);
	json_init(&j, js, 1);
	summarize(b, null, &j);
	printf("\nresults: %s (one NAME.json a submission, summary.txt, summary.json", b->results);
	for (size_t s = 0; s < b->n; s++) {
		if (!b->subs[s].have)
			continue;
		gs[ng++] = &b->subs[s].g;
		if (b->o->format == GRADE_GRADESCOPE) {
			snprintf(path, sizeof(path), "%.3800s/%.200s.results.json", b->results,
				 b->subs[s].name);
			ret |= grade_write_file(&b->subs[s].g, GRADE_GRADESCOPE, path);
		}
	}
	if (b->o->format == GRADE_JUNIT) {
		FILE *x;

		snprintf(path, sizeof(path), "%.4000s/junit.xml", b->results);
		x = fopen(path, "w");
		if (!x) {
			ret = fail("cannot write %s: %s", path, strerror(errno));
			goto out;
		}
		grade_write_junit(gs, ng, x);
		fclose(x);
		printf(", junit.xml");
	}
	if (b->o->format == GRADE_GRADESCOPE)
		printf(", NAME.results.json for Gradescope");
	printf(")\n");
out:
	if (txt)
		fclose(txt);
	if (js)
		fclose(js);
	if (null)
		fclose(null);
	free(gs);
	return ret;
}

int grade_batch(const char *self, const char *labname, const struct lab *l,
		const struct grade_opts *o)
{
	struct batch b = {.self = self, .labname = labname, .lab = l, .o = o};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t resumed = 0;
	int ret = 2;

	if (o->output) {
		errmsg("--output is for one submission; a batch writes into --results DIR");
		return 2;
	}
	if (!l->nexpects) {
		errmsg("lab %s has no expectations", l->name);
		return 2;
	}
	if (o->results) {
		snprintf(b.results, sizeof(b.results), "%s", o->results);
	} else {
		size_t len;

		snprintf(b.results, sizeof(b.results), "%.4000s", o->submissions);
		len = strlen(b.results);
		while (len > 1 && b.results[len - 1] == '/')
			b.results[--len] = 0;
		snprintf(b.results + len, sizeof(b.results) - len, "-results");
	}
	if (list_submissions(&b, o->submissions) || mkdir_p(b.results))
		goto out;
	b.jobs = o->jobs ? o->jobs : cpus > 0 ? cpus : 1;
	if (l->batch_serial && b.jobs > 1) {
		fprintf(stderr, "lab %s measures timing or parallelism (batch serial): grading one "
				"submission at a time\n", l->name);
		b.jobs = 1;
	}
	for (size_t i = 0; i < b.n; i++) {
		struct sub *s = &b.subs[i];
		char err[512];

		snprintf(s->result, sizeof(s->result), "%.3800s/%.200s.json", b.results, s->name);
		if (o->resume_off || access(s->result, R_OK))
			continue;
		if (grade_load_json(&s->g, s->result, err, sizeof(err)) == 0) {
			s->done = s->resumed = s->have = 1;
			resumed++;
			b.failed += !s->g.passed;
		}
	}
	b.tty = isatty(2);
	b.t0 = now_s();
	if (resumed)
		fprintf(stderr, "%zu of %zu submissions already have a result in %s (--regrade "
				"grades them again)\n", resumed, b.n, b.results);
	if (run_all(&b))
		goto out;
	if (b.tty)
		fprintf(stderr, "\n");
	if (write_summary(&b))
		goto out;
	ret = b.failed ? 1 : 0;
out:
	for (size_t i = 0; i < b.n; i++) {
		if (b.subs[i].pid > 0) {
			kill(b.subs[i].pid, SIGTERM);
			waitpid(b.subs[i].pid, NULL, 0);
		}
		if (b.subs[i].have)
			grade_free(&b.subs[i].g);
		free(b.subs[i].entry);
	}
	free(b.subs);
	return ret;
}
