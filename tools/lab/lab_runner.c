/*
 * lab_runner.c — one run of a variant (or the student's program) under `conlab record`, in a
 * session of its own; what is left of it when the recording stops is diagnosed with `conlab
 * deadlock -p` and killed; the reports' documents its expectations read (see labrun.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lab/lab.h"
#include "lab/lab_predict.h"
#include "lab/lab_service.h"
#include "lab/labrun.h"
#include "lib/procdir.h"
#include "lib/jsonread.h"
#include "render/report.h"
#include "lib/util.h"

/* ---- running a variant ------------------------------------------------------------------ */

/* Split an expanded command line on blanks into argv (words are never quoted in lab files). */
static int split_words(char *line, char **argv, int max)
{
	int n = 0;
	char *w;

	while ((w = strsep(&line, " \t")))
		if (*w) {
			if (n == max - 1)
				return -1;
			argv[n++] = w;
		}
	argv[n] = NULL;
	return n;
}

static const struct lab_variant *variant_of(const struct labctx *c, const struct run *r)
{
	return lab_variant_find(&c->lab, r->student ? c->lab.check_variant : r->variant);
}

/* The word of a variant's command that names its program: the first one in the lab's own
 * folders ({py}, {wl}, {labs}), else the first word (or the one after {python}). */
static int program_word(char **w, int nw)
{
	for (int i = 0; i < nw; i++)
		if (!strncmp(w[i], "{py}/", 5) || !strncmp(w[i], "{wl}/", 5) ||
		    !strncmp(w[i], "{labs}/", 7))
			return i;
	return nw > 1 && !strcmp(w[0], "{python}") ? 1 : 0;
}

/* Append words[from, to) to line at *o, expanded, each after a blank when *o > 0. */
static void add_words(const struct labctx *c, char **w, int from, int to, char *line, size_t n,
		      size_t *o)
{
	char x[4096];

	for (int i = from; i < to && *o < n; i++) {
		lab_expand(c, w[i], x, sizeof(x));
		*o += snprintf(line + *o, n - *o, "%s%s", *o ? " " : "", x);
	}
}

/*
 * The command of a run. For the student's program: the checked variant's command with the
 * student's program in place of the variant's (a launcher before it, such as mpirun, stays),
 * followed by the lab's `student` arguments, or else by the variant's own arguments. A .py
 * program runs under {python}.
 */
static int build_cmd(const struct labctx *c, const struct run *r, char *line, size_t n)
{
	const struct lab_variant *v = variant_of(c, r);
	char raw[4096], *w[MAX_ARGS];
	size_t o = 0, plen = c->program ? strlen(c->program) : 0;
	int nw = 0, at = 0, pre;

	if (!r->student) {
		if (!v)
			return fail("lab %s has no variant '%s'", c->lab.name, r->variant);
		lab_expand(c, v->cmd, line, n);
		return 0;
	}
	line[0] = 0;
	if (v) {
		snprintf(raw, sizeof(raw), "%s", v->cmd);
		nw = split_words(raw, w, MAX_ARGS);
		if (nw < 0)
			return fail("lab %s: variant %s: too many words", c->lab.name, v->name);
		at = program_word(w, nw);
	}
	/* the launcher, without the interpreter the variant's own script ran under */
	pre = at > 0 && !strcmp(w[at - 1], "{python}") ? at - 1 : at;
	add_words(c, w, 0, pre, line, n, &o);
	if (plen > 3 && !strcmp(c->program + plen - 3, ".py") && o < n)
		o += snprintf(line + o, n - o, "%s%s", o ? " " : "", c->python);
	if (o < n)
		o += snprintf(line + o, n - o, "%s%s", o ? " " : "", c->program);
	if (c->lab.student_args) {
		lab_expand(c, c->lab.student_args, raw, sizeof(raw));
		snprintf(line + o, n - o, " %s", raw);
		return 0;
	}
	add_words(c, w, at + 1, nw, line, n, &o);
	return 0;
}

struct session_walk {
	pid_t sid, *pids, *ppids;
	int n, max;
};

static int note_member(void *ctx, pid_t pid)
{
	struct session_walk *w = ctx;
	struct proc_stat st;

	if (proc_read_stat(pid, &st) || st.session != w->sid || st.state == 'Z' || st.state == 'X')
		return 0;
	w->pids[w->n] = pid;
	w->ppids[w->n] = st.ppid;
	return ++w->n >= w->max;
}
/* The processes of session sid still alive, up to max. */
static int session_members(pid_t sid, pid_t *pids, pid_t *ppids, int max)
{
	struct session_walk w = {sid, pids, ppids, 0, max};

	if (max > 0)
		proc_each_pid(note_member, &w);
	return w.n;
}

static void kill_session(pid_t sid)
{
	pid_t pids[256], ppids[256];
	int n;

	kill(-sid, SIGKILL);
	for (int round = 0; round < 50; round++) {
		n = session_members(sid, pids, ppids, 256);
		if (!n)
			return;
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		usleep(20000);
	}
}

static double mono_s(void)
{
	return now_mono_ns() / 1e9;
}

/* Ctrl-C: SIGTERM the run's process group (the recorder, a service, the program), give a
 * service 15 s to stop its broker and remove its folder, kill what is left, and exit. */
static void stop_interrupted(pid_t sid)
{
	kill(-sid, SIGTERM);
	for (int i = 0; i < 750 && waitpid(sid, NULL, WNOHANG) == 0; i++)
		usleep(20000);
	for (int i = 0; i < 750; i++) {
		pid_t pids[4], ppids[4];

		if (!session_members(sid, pids, ppids, 4))
			break;
		usleep(20000);
	}
	kill_session(sid);
	waitpid(sid, NULL, WNOHANG);
	/* what left the session and lost its parent on the way (a broker's helper whose
	 * service was killed before it could end it) came to us: end it too */
	lab_reap_orphans();
	errmsg("interrupted");
	exit(130);
}

/*
 * Run argv (a conlab command) in a new session with stdout/stderr to files; wait up to
 * limit_s. Returns the exit code (128+signal), or -1 when it had to be killed or could not
 * run. The session id (the child's pid) goes to *sid.
 */
pid_t lab_spawn(char *const argv[], const char *out, const char *err, int flags)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return fail("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
		/* one file for both: one open, so that they share its offset */
		int e = err && out && !strcmp(err, out) ? o :
			err ? open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;

		if (flags & LAB_SPAWN_SESSION)
			setsid();
		if (flags & LAB_SPAWN_PDEATH)
			prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (in < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(in, 0);
		if (o != 1)
			dup2(o, 1);
		if (e != 2)
			dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int lab_spawn_wait(char *const argv[], const char *out, const char *err, double limit_s,
		      pid_t *sid)
{
	double t0 = mono_s();
	pid_t pid;
	int st;

	/* a run's processes that leave its session and lose their parent come to us, so that a
	 * Ctrl-C can end them (stop_interrupted) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid = lab_spawn(argv, out, err, LAB_SPAWN_SESSION);

	if (pid < 0)
		return -1;
	if (sid)
		*sid = pid;
	lab_interrupt_catch(1);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			lab_interrupt_catch(0);
			return -1;
		}
		if (lab_interrupted())
			stop_interrupted(pid);
		if (mono_s() - t0 > limit_s) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			lab_interrupt_catch(0);
			return -1;
		}
		usleep(20000);
	}
	lab_interrupt_catch(0);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

void lab_first_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(buf, n, f)) {
		buf[strcspn(buf, "\n")] = 0;
		/* the recorder's own status lines are not the interesting part */
		if (buf[0] && strncmp(buf, "conlab: recorded", 16))
			break;
		buf[0] = 0;
	}
	fclose(f);
}

/* The ground-truth line: the last line of stdout, key=value tokens; a value with commas
 * becomes an array, a value that is a number a number. */
static int parse_ground(const char *path, struct jv *out)
{
	FILE *f = fopen(path, "r");
	char line[4096], last[4096] = "", *p, *tok;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	last[strcspn(last, "\n")] = 0;
	memset(out, 0, sizeof(*out));
	p = last;
	while ((tok = strsep(&p, " \t"))) {
		char *eq = strchr(tok, '='), *item, *q;
		struct jv *v;

		if (!*tok)
			continue;
		if (!eq || eq == tok) {
			jv_free(out);
			return -1;
		}
		*eq = 0;
		v = jv_obj_add(out, tok);
		q = eq + 1;
		if (strchr(q, ',')) {
			v->type = JV_ARR;
			while ((item = strsep(&q, ","))) {
				struct jv *e = jv_arr_add(v);
				char *end;
				double d = strtod(item, &end);

				if (*item && !*end)
					jv_set_num(e, d);
				else
					jv_set_str(e, item);
			}
		} else {
			char *end;
			double d = strtod(q, &end);

			if (*q && !*end)
				jv_set_num(v, d);
			else
				jv_set_str(v, q);
		}
	}
	return out->type == JV_OBJ ? 0 : -1;
}

/* A hung run: diagnose what is left of its session with `conlab deadlock -p`, JSON for the
 * expectations and (for `run`) text for the student. */
static void diagnose_hung(struct labctx *c, struct run *r, pid_t sid)
{
	pid_t pids[256], ppids[256], root = 0;
	int n = session_members(sid, pids, ppids, 256);
	char pidbuf[32], errp[PATH_MAX + 16];
	int rc;

	for (int i = 0; i < n && !root; i++) {
		int parent_inside = 0;

		for (int k = 0; k < n; k++)
			parent_inside |= ppids[i] == pids[k];
		if (!parent_inside)
			root = pids[i];
	}
	if (!root) {
		snprintf(r->deadlock_why, sizeof(r->deadlock_why), "no process left to diagnose");
		return;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", root);
	snprintf(r->deadlock_json, sizeof(r->deadlock_json), "%s.deadlock.json", r->base);
	snprintf(errp, sizeof(errp), "%s.deadlock.err", r->base);
	{
		char *argv[] = {c->self, "deadlock", "-p", pidbuf, "--format", "json", "-o",
				r->deadlock_json, NULL};

		rc = lab_spawn_wait(argv, NULL, errp, 30, NULL);
	}
	if (rc != 0 && rc != 1) {
		char line[200];

		lab_first_line(errp, line, sizeof(line));
		snprintf(r->deadlock_why, sizeof(r->deadlock_why), "conlab deadlock -p failed: %s",
			 line[0] ? line : "no message");
	} else {
		r->has_deadlock = 1;
	}
	if (c->text_deadlock) {
		char txt[PATH_MAX + 16];
		char *argv[] = {c->self, "deadlock", "-p", pidbuf, NULL};

		snprintf(txt, sizeof(txt), "%s.deadlock.txt", r->base);
		lab_spawn_wait(argv, txt, errp, 30, NULL);
	}
}

/* conlab's own argv for run r of variant v: record (or deadlock --locks), the sandbox of a
 * student's run, the lab's service, then the program's words; argv's length. */
static int conlab_argv(struct labctx *c, struct run *r, const struct lab_variant *v,
		       const char *dur, char **words, int nw, char **argv)
{
	int a = 0;

	argv[a++] = c->self;
	if (v && v->capture_deadlock) {
		/* the one-shot deadlock command writes its report to -o and keeps the trace */
		snprintf(r->deadlock_json, sizeof(r->deadlock_json), "%s.deadlock.json", r->base);
		unlink(r->deadlock_json);
		argv[a++] = "deadlock";
		argv[a++] = "--locks";
		argv[a++] = "--format";
		argv[a++] = "json";
		argv[a++] = "-o";
		argv[a++] = r->deadlock_json;
		/* the trace too: the timeline and every other report of the run */
		argv[a++] = "--trace";
		argv[a++] = r->trace;
	} else {
		argv[a++] = "record";
		argv[a++] = "--quiet";
		argv[a++] = "-o";
		argv[a++] = r->trace;
		argv[a++] = "--duration";
		argv[a++] = (char *)dur;
		if (v && v->capture_locks)
			argv[a++] = "--locks";
	}
	if (r->student && c->sandbox.on) {
		argv[a++] = "--sandbox";
		argv[a++] = c->sandbox.spec;
	}
	argv[a++] = "--";
	if (c->lab.service) {
		/* the service starts inside the recording: traced like the program */
		argv[a++] = c->self;
		argv[a++] = "lab";
		argv[a++] = "service";
		argv[a++] = c->lab.service;
		argv[a++] = "--";
	}
	for (int i = 0; i < nw; i++)
		argv[a++] = words[i];
	argv[a] = NULL;
	return a;
}

/* What run r's recording says once it ended: the run's status values, and a line for the
 * student. rc: the recording command's exit status. */
static void run_status(struct labctx *c, struct run *r, const struct lab_variant *v, int rc,
		       const char *outp)
{
	struct jv *f;

	r->exit_code = r->hung ? -1 : rc;
	r->has_ground = parse_ground(outp, &r->ground) == 0;
	if (v && v->capture_deadlock) {
		/* conlab deadlock's exit status is its finding, not the program's */
		if (access(r->deadlock_json, R_OK) == 0)
			r->has_deadlock = 1;
		else
			snprintf(r->deadlock_why, sizeof(r->deadlock_why),
				 "conlab deadlock wrote no report");
	} else {
		f = jv_obj_add(&r->status, "exit");
		jv_set_num(f, r->exit_code);
	}
	f = jv_obj_add(&r->status, "hung");
	jv_set_num(f, r->hung);
	f = jv_obj_add(&r->status, "seconds");
	jv_set_num(f, r->seconds);
	if (!c->quiet && v && v->capture_deadlock)	/* rc is conlab deadlock's verdict */
		printf("  %s after %.1f s\n", r->hung ? "still running (hung), stopped" : "finished",
		       r->seconds);
	else if (!c->quiet)
		printf("  %s after %.1f s%s\n",
		       r->hung ? "still running (hung), stopped" : "finished", r->seconds,
		       r->hung ? "" : (rc == 0 ? ", exit 0" : ", non-zero exit"));
}

int lab_do_run(struct labctx *c, struct run *r)
{
	const struct lab_variant *v = variant_of(c, r);
	char line[8192], *words[MAX_ARGS], *argv[MAX_ARGS + 20], dur[32], outp[PATH_MAX + 8],
		errp[PATH_MAX + 8];
	double limit = v && v->hang_s > 0 ? v->hang_s : v ? v->timeout_s : 60, t0;
	pid_t sid = 0, pids[4], ppids[4];
	int nw, rc;

	r->done = 1;
	if (build_cmd(c, r, line, sizeof(line))) {
		r->failed = 1;
		snprintf(r->why, sizeof(r->why), "no such variant");
		return -1;
	}
	snprintf(r->base, sizeof(r->base), "%.3900s/%s", c->dir, r->variant);
	snprintf(r->trace, sizeof(r->trace), "%s.clab", r->base);
	snprintf(outp, sizeof(outp), "%s.out", r->base);
	snprintf(errp, sizeof(errp), "%s.err", r->base);
	if (!c->quiet)
		printf("running %s: %s\n", r->variant, line);
	nw = split_words(line, words, MAX_ARGS);
	if (nw <= 0) {
		r->failed = 1;
		snprintf(r->why, sizeof(r->why), nw ? "command too long" : "empty command");
		return -1;
	}
	if (r->student && c->sandbox.on)
		limit = c->sandbox.wall_s;
	snprintf(dur, sizeof(dur), "%.3f", limit);
	conlab_argv(c, r, v, dur, words, nw, argv);
	unlink(r->trace);
	t0 = mono_s();
	/* the recorder itself gets the limit plus time to load BPF and write the trace */
	rc = lab_spawn_wait(argv, outp, errp, limit + 60, &sid);
	r->seconds = mono_s() - t0;
	if (access(v && v->capture_deadlock ? r->deadlock_json : r->trace, R_OK)) {
		char msg[300];

		lab_first_line(errp, msg, sizeof(msg));
		r->failed = 1;
		snprintf(r->why, sizeof(r->why), "recording failed: %s", msg[0] ? msg : "no output");
		kill_session(sid);
		return -1;
	}
	if (c->lab.service && lab_service_not_ready(errp, r->why, sizeof(r->why))) {
		fprintf(stderr, "conlab: lab %s is not ready: %s\n", c->lab.name, r->why);
		r->failed = 1;
		kill_session(sid);
		return -1;
	}
	r->hung = session_members(sid, pids, ppids, 4) > 0;
	if (r->hung) {
		diagnose_hung(c, r, sid);
		kill_session(sid);
	}
	if (r->student)
		grade_run_after(&c->sandbox, rc, r->hung, errp, !(v && v->capture_deadlock));
	run_status(c, r, v, rc, outp);
	return 0;
}

struct run *lab_get_run(struct labctx *c, const char *variant, int student)
{
	struct run *r;

	for (size_t i = 0; i < c->nruns; i++)
		if (!strcmp(c->runs[i].variant, variant) && c->runs[i].student == student)
			return &c->runs[i];
	c->runs = xrealloc(c->runs, (c->nruns + 1) * sizeof(*c->runs));
	r = &c->runs[c->nruns++];
	memset(r, 0, sizeof(*r));
	r->variant = xstrdup(variant);
	r->student = student;
	return r;
}

void lab_free_runs(struct labctx *c)
{
	for (size_t i = 0; i < c->nruns; i++) {
		struct run *r = &c->runs[i];

		free(r->variant);
		jv_free(&r->ground);
		jv_free(&r->status);
		for (size_t k = 0; k < r->ndocs; k++) {
			free(r->docs[k].source);
			jv_free(&r->docs[k].j);
		}
		free(r->docs);
	}
	free(c->runs);
	c->runs = NULL;
	c->nruns = 0;
}

/* A report's JSON over a run's trace, made once. */
static const struct jv *report_doc(struct labctx *c, struct run *r, const char *kind, char *why,
				   size_t whyn)
{
	const struct report_kind *k = report_kind_find(kind);
	char out[PATH_MAX + 64], errp[PATH_MAX + 64], msg[300];
	struct doc *d;
	int rc;

	for (size_t i = 0; i < r->ndocs; i++)
		if (!strcmp(r->docs[i].source, kind)) {
			d = &r->docs[i];
			goto have;
		}
	r->docs = xrealloc(r->docs, (r->ndocs + 1) * sizeof(*r->docs));
	d = &r->docs[r->ndocs++];
	memset(d, 0, sizeof(*d));
	d->source = xstrdup(kind);
	if (access(r->trace, R_OK)) {
		snprintf(d->why, sizeof(d->why), "the run kept no trace for other reports");
		goto have;
	}
	if (!k || !(k->formats & FMT_BIT(FMT_JSON))) {
		snprintf(d->why, sizeof(d->why), "%s",
			 k ? "this report has no JSON form" : "no such report in this conlab build");
		goto have;
	}
	snprintf(out, sizeof(out), "%s.%s.json", r->base, kind);
	snprintf(errp, sizeof(errp), "%s.%s.err", r->base, kind);
	{
		char *argv[] = {c->self, "report", (char *)kind, "-i", r->trace, "--format", "json",
				"-o", out, NULL};

		rc = lab_spawn_wait(argv, NULL, errp, 120, NULL);
	}
	/* exit 1 is a finding (a deadlock), not a failure */
	if (rc != 0 && rc != 1) {
		lab_first_line(errp, msg, sizeof(msg));
		snprintf(d->why, sizeof(d->why), "conlab report %.40s failed: %.200s", kind,
			 msg[0] ? msg : "no message");
		goto have;
	}
	if (jv_load_file(out, &d->j, d->why, sizeof(d->why)))
		goto have;
	d->ok = 1;
have:
	if (d->ok)
		return &d->j;
	snprintf(why, whyn, "%s", d->why);
	return NULL;
}

const struct jv *lab_lookup(void *ctx, const char *variant, const char *source, char *why,
			       size_t whyn)
{
	struct labctx *c = ctx;
	struct run *r;

	if (variant && !lab_variant_find(&c->lab, variant)) {
		snprintf(why, whyn, "the lab has no variant '%s'", variant);
		return NULL;
	}
	r = lab_get_run(c, variant ? variant : c->checked, !variant && c->program);
	if (!r->done)
		lab_do_run(c, r);
	if (r->failed) {
		snprintf(why, whyn, "%s", r->why);
		return NULL;
	}
	if (!strcmp(source, "run"))
		return &r->status;
	if (!strcmp(source, "ground")) {
		if (r->has_ground)
			return &r->ground;
		snprintf(why, whyn, "the program printed no key=value line last");
		return NULL;
	}
	if (!strcmp(source, "deadlock") && (r->hung || r->has_deadlock)) {
		struct doc *d;

		if (!r->has_deadlock) {
			snprintf(why, whyn, "%s", r->deadlock_why);
			return NULL;
		}
		for (size_t i = 0; i < r->ndocs; i++)
			if (!strcmp(r->docs[i].source, "deadlock-live"))
				return r->docs[i].ok ? &r->docs[i].j : NULL;
		r->docs = xrealloc(r->docs, (r->ndocs + 1) * sizeof(*r->docs));
		d = &r->docs[r->ndocs++];
		memset(d, 0, sizeof(*d));
		d->source = xstrdup("deadlock-live");
		d->ok = jv_load_file(r->deadlock_json, &d->j, d->why, sizeof(d->why)) == 0;
		if (!d->ok)
			snprintf(why, whyn, "%s", d->why);
		return d->ok ? &d->j : NULL;
	}
	return report_doc(c, r, source, why, whyn);
}
