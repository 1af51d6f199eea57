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
#include "render/report.h"
#include "lib/util.h"

#define MAX_ARGS 64

struct doc {
	char *source;
	struct jv j;
	int ok;
	char why[512];
};

/* One run of one variant (or of the student's program), done at most once per command. */
struct run {
	char *variant;
	int student;		/* the --program run */
	int done, failed;	/* failed: could not be run at all (why) */
	char why[512];
	int hung;		/* still running when the recording stopped */
	int exit_code;
	double seconds;
	char base[PATH_MAX];	/* DIR/VARIANT: .clab .out .err ... */
	char trace[PATH_MAX + 8];
	struct jv ground, status;
	int has_ground;
	struct doc *docs;
	size_t ndocs;
	char deadlock_json[PATH_MAX + 16];
	char deadlock_why[256];
	int has_deadlock;
};

struct labctx {
	struct lab lab;
	char self[PATH_MAX];	/* this conlab binary */
	char labs[PATH_MAX];	/* the labs directory */
	char wl[PATH_MAX];	/* built C workloads */
	char py[PATH_MAX];	/* Python workloads */
	char python[PATH_MAX];	/* the interpreter the lab's modules import in */
	char dir[PATH_MAX];	/* output directory */
	const char *checked;	/* the variant `check` grades */
	const char *program;	/* --program */
	int text_deadlock;	/* `run`: also keep the deadlock report's text */
	int quiet;
	struct grade_opts grading;	/* --format, --submissions, the sandbox's limits */
	struct grade_run sandbox;	/* the --program run's sandbox */
	struct run *runs;
	size_t nruns;
};

/* ---- where things are ------------------------------------------------------------------ */

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_exec(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The labs live in the source tree next to the build directory (build/conlab ->
 * workloads/labs), or where CONLAB_LABS says; workloads in build/workloads or CONLAB_WORKLOADS. */
static int locate(struct labctx *c)
{
	char exedir[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", c->self, sizeof(c->self) - 1);

	if (n <= 0)
		return fail("cannot find the conlab binary: %s", strerror(errno));
	c->self[n] = 0;
	snprintf(exedir, sizeof(exedir), "%s", c->self);
	slash = strrchr(exedir, '/');
	if (slash)
		*slash = 0;
	if (getenv("CONLAB_LABS"))
		snprintf(c->labs, sizeof(c->labs), "%s", getenv("CONLAB_LABS"));
	else
		snprintf(c->labs, sizeof(c->labs), "%.4000s/../workloads/labs", exedir);
	if (!is_dir(c->labs))
		return fail("no labs directory at %s (set CONLAB_LABS)", c->labs);
	{
		char real[PATH_MAX];

		if (realpath(c->labs, real))
			snprintf(c->labs, sizeof(c->labs), "%s", real);
	}
	if (getenv("CONLAB_WORKLOADS"))
		snprintf(c->wl, sizeof(c->wl), "%s", getenv("CONLAB_WORKLOADS"));
	else
		snprintf(c->wl, sizeof(c->wl), "%.4000s/workloads", exedir);
	snprintf(c->py, sizeof(c->py), "%.4000s/../python", c->labs);
	{
		char real[PATH_MAX];

		if (realpath(c->py, real))
			snprintf(c->py, sizeof(c->py), "%s", real);
	}
	snprintf(c->python, sizeof(c->python), "%s",
		 is_exec("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lab files, sorted by name. */
static size_t list_labs(const struct labctx *c, char ***names)
{
	DIR *d = opendir(c->labs);
	struct dirent *de;
	size_t n = 0;

	*names = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".lab")) {
			*names = xrealloc(*names, (n + 1) * sizeof(**names));
			(*names)[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(*names, n, sizeof(**names), cmp_str);
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* NAME may be the full name (06-granularity), its number (6, 06) or its topic (granularity). */
static int find_lab(struct labctx *c, const char *name)
{
	char **names, path[PATH_MAX + 300], err[512];
	size_t n = list_labs(c, &names);
	int found = -1;

	for (size_t i = 0; i < n && found < 0; i++) {
		char *base = names[i], *dash = strchr(base, '-');
		size_t blen = strlen(base) - 4;
		char *end;
		long num = strtol(name, &end, 10);

		if ((strlen(name) == blen && !strncmp(base, name, blen)) ||
		    (!*end && num == strtol(base, NULL, 10)) ||
		    (dash && strlen(name) == blen - (dash + 1 - base) &&
		     !strncmp(dash + 1, name, strlen(name))))
			found = i;
	}
	if (found < 0) {
		free_names(names, n);
		return fail("no lab '%s' (conlab lab list shows them)", name);
	}
	snprintf(path, sizeof(path), "%s/%s", c->labs, names[found]);
	free_names(names, n);
	if (lab_load(&c->lab, path, err, sizeof(err)))
		return fail("%s", err);
	return 0;
}

/* ---- placeholders and needs ------------------------------------------------------------- */

static void expand(const struct labctx *c, const char *in, char *out, size_t n)
{
	size_t o = 0;

	while (*in && o + 1 < n) {
		const char *val = NULL;
		size_t skip = 0;

		if (!strncmp(in, "{wl}", 4))
			val = c->wl, skip = 4;
		else if (!strncmp(in, "{py}", 4))
			val = c->py, skip = 4;
		else if (!strncmp(in, "{python}", 8))
			val = c->python, skip = 8;
		else if (!strncmp(in, "{conlab}", 8))
			val = c->self, skip = 8;
		else if (!strncmp(in, "{labs}", 6))
			val = c->labs, skip = 6;
		if (val) {
			o += snprintf(out + o, n - o, "%s", val);
			if (o >= n)
				o = n - 1;
			in += skip;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = 0;
}

static int on_path(const char *cmd, char *found, size_t n)
{
	char *path, *p, *dir;

	if (strchr(cmd, '/')) {
		snprintf(found, n, "%s", cmd);
		return is_exec(cmd);
	}
	path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
	p = path;
	while ((dir = strsep(&p, ":"))) {
		snprintf(found, n, "%s/%s", *dir ? dir : ".", cmd);
		if (is_exec(found)) {
			free(path);
			return 1;
		}
	}
	free(path);
	return 0;
}

/* Run argv quietly (stdin, stdout, stderr on /dev/null) and return its exit status, -1 if it
 * could not run. For the needs checks only. */
static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The interpreter's own path (sys.executable): a version manager's python3 is a shell
 * script whose bash and readlink processes would otherwise be part of every trace. */
static void resolve_python(const char *cand, char *out, size_t n)
{
	char cmd[300], buf[PATH_MAX];
	FILE *p;

	snprintf(out, n, "%s", cand);
	snprintf(cmd, sizeof(cmd), "%s -c 'import sys; print(sys.executable)' 2>/dev/null", cand);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(buf, sizeof(buf), p)) {
		buf[strcspn(buf, "\n")] = 0;
		if (buf[0] == '/' && is_exec(buf))
			snprintf(out, n, "%s", buf);
	}
	pclose(p);
}

/* {python}: Debian's interpreter when there is one (the course's; its python3-* packages
 * import there), else python3 on PATH resolved to the interpreter itself. */
static void pick_python(char *out, size_t n)
{
	if (is_exec("/usr/bin/python3"))
		snprintf(out, n, "/usr/bin/python3");
	else
		resolve_python("python3", out, n);
}

/* Check every need; describe what is missing in `missing` (empty when all is there).
 * A Python module may be importable only by Debian's interpreter (python3-gevent) while
 * python3 on PATH is another one: the first interpreter that has it becomes {python}. */
static int check_needs(struct labctx *c, char *missing, size_t n)
{
	size_t o = 0;

	missing[0] = 0;
	for (size_t i = 0; i < c->lab.nneeds; i++) {
		const struct lab_need *nd = &c->lab.needs[i];
		char what[PATH_MAX], found[PATH_MAX + 300];
		int ok = 0;

		expand(c, nd->what, what, sizeof(what));
		switch (nd->kind) {
		case NEED_COMMAND:
			ok = on_path(what, found, sizeof(found));
			break;
		case NEED_FILE:
			ok = access(what, F_OK) == 0;
			break;
		case NEED_REPORT: {
			const struct report_kind *k = report_kind_find(what);

			ok = k && (k->formats & FMT_BIT(FMT_JSON));
			break;
		}
		case NEED_MODULE: {
			static const char *const pythons[] = {"/usr/bin/python3", "python3"};
			char code[300];

			snprintf(code, sizeof(code), "import %.200s", what);
			for (size_t p = 0; p < 2 && !ok; p++) {
				char *argv[] = {(char *)pythons[p], "-c", code, NULL};

				if (run_quiet(argv) == 0) {
					ok = 1;
					resolve_python(pythons[p], c->python, sizeof(c->python));
				}
			}
			break;
		}
		case NEED_PROGRAM:
			ok = c->program != NULL;
			break;
		}
		if (ok)
			continue;
		if (o && o < n)
			o += snprintf(missing + o, n - o, "; ");
		if (o >= n)
			break;
		switch (nd->kind) {
		case NEED_COMMAND:
			o += snprintf(missing + o, n - o, "command %s", what);
			break;
		case NEED_FILE:
			o += snprintf(missing + o, n - o, "file %s", what);
			break;
		case NEED_REPORT:
			o += snprintf(missing + o, n - o, "report %s (not in this build)", what);
			break;
		case NEED_MODULE:
			o += snprintf(missing + o, n - o, "Python module %s", what);
			break;
		case NEED_PROGRAM:
			o += snprintf(missing + o, n - o, "a program of yours (--program PATH)");
			break;
		}
		if (nd->hint && o < n)
			o += snprintf(missing + o, n - o, " (%s)", nd->hint);
	}
	return missing[0] ? -1 : 0;
}

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

/*
 * The command of a run. For the student's program: the program with the lab's `student`
 * arguments, or else the arguments of the checked variant after its program (the word after
 * {python} when the reference is a Python script). A .py program runs under {python}.
 */
static int build_cmd(const struct labctx *c, const struct run *r, char *line, size_t n)
{
	const struct lab_variant *v = variant_of(c, r);
	char ref[4096], *argv[MAX_ARGS];
	size_t o = 0, plen = c->program ? strlen(c->program) : 0;
	int argc, first;

	if (!r->student) {
		if (!v)
			return fail("lab %s has no variant '%s'", c->lab.name, r->variant);
		expand(c, v->cmd, line, n);
		return 0;
	}
	if (plen > 3 && !strcmp(c->program + plen - 3, ".py"))
		o += snprintf(line + o, n - o, "%s ", c->python);
	o += snprintf(line + o, n - o, "%s", c->program);
	if (c->lab.student_args) {
		expand(c, c->lab.student_args, ref, sizeof(ref));
		snprintf(line + o, n - o, " %s", ref);
		return 0;
	}
	if (!v)
		return 0;
	expand(c, v->cmd, ref, sizeof(ref));
	argc = split_words(ref, argv, MAX_ARGS);
	first = argc > 1 && strstr(v->cmd, "{python}") == v->cmd ? 2 : 1;
	for (int i = first; i < argc && o < n; i++)
		o += snprintf(line + o, n - o, " %s", argv[i]);
	return 0;
}

/* The processes of session sid still alive, up to max. */
static int session_members(pid_t sid, pid_t *pids, pid_t *ppids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char path[300], buf[1024], *rp, state;
		int ppid, pgrp, session;
		pid_t pid = strtol(de->d_name, &rp, 10);

		if (*rp || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (read_small_file(path, buf, sizeof(buf)) <= 0)
			continue;
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4)
			continue;
		if (session != sid || state == 'Z' || state == 'X')
			continue;
		pids[n] = pid;
		ppids[n] = ppid;
		n++;
	}
	closedir(d);
	return n;
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
	errmsg("interrupted");
	exit(130);
}

/*
 * Run argv (a conlab command) in a new session with stdout/stderr to files; wait up to
 * limit_s. Returns the exit code (128+signal), or -1 when it had to be killed or could not
 * run. The session id (the child's pid) goes to *sid.
 */
static int spawn_wait(char *const argv[], const char *out, const char *err, double limit_s,
		      pid_t *sid)
{
	double t0 = mono_s();
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return fail("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
		int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;

		setsid();
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

static void first_line(const char *path, char *buf, size_t n)
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

		rc = spawn_wait(argv, NULL, errp, 30, NULL);
	}
	if (rc != 0 && rc != 1) {
		char line[200];

		first_line(errp, line, sizeof(line));
		snprintf(r->deadlock_why, sizeof(r->deadlock_why), "conlab deadlock -p failed: %s",
			 line[0] ? line : "no message");
	} else {
		r->has_deadlock = 1;
	}
	if (c->text_deadlock) {
		char txt[PATH_MAX + 16];
		char *argv[] = {c->self, "deadlock", "-p", pidbuf, NULL};

		snprintf(txt, sizeof(txt), "%s.deadlock.txt", r->base);
		spawn_wait(argv, txt, errp, 30, NULL);
	}
}

static int do_run(struct labctx *c, struct run *r)
{
	const struct lab_variant *v = variant_of(c, r);
	char line[8192], *words[MAX_ARGS], *argv[MAX_ARGS + 20], dur[32], outp[PATH_MAX + 8],
		errp[PATH_MAX + 8];
	double limit = v && v->hang_s > 0 ? v->hang_s : v ? v->timeout_s : 60, t0;
	int nw, a = 0, rc;
	pid_t sid = 0;
	struct jv *f;

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
	} else {
		argv[a++] = "record";
		argv[a++] = "--quiet";
		argv[a++] = "-o";
		argv[a++] = r->trace;
		argv[a++] = "--duration";
		argv[a++] = dur;
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
	unlink(r->trace);
	t0 = mono_s();
	/* the recorder itself gets the limit plus time to load BPF and write the trace */
	rc = spawn_wait(argv, outp, errp, limit + 60, &sid);
	r->seconds = mono_s() - t0;
	if (access(v && v->capture_deadlock ? r->deadlock_json : r->trace, R_OK)) {
		char msg[300];

		first_line(errp, msg, sizeof(msg));
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
	{
		pid_t pids[4], ppids[4];

		r->hung = session_members(sid, pids, ppids, 4) > 0;
	}
	if (r->hung) {
		diagnose_hung(c, r, sid);
		kill_session(sid);
	}
	if (r->student)
		grade_run_after(&c->sandbox, rc, r->hung, errp, !(v && v->capture_deadlock));
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
	return 0;
}

static struct run *get_run(struct labctx *c, const char *variant, int student)
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

static void free_runs(struct labctx *c)
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
		snprintf(d->why, sizeof(d->why), "this variant is captured by conlab deadlock, "
			 "which keeps no trace for other reports");
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

		rc = spawn_wait(argv, NULL, errp, 120, NULL);
	}
	/* exit 1 is a finding (a deadlock), not a failure */
	if (rc != 0 && rc != 1) {
		first_line(errp, msg, sizeof(msg));
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

static const struct jv *lookup(void *ctx, const char *variant, const char *source, char *why,
			       size_t whyn)
{
	struct labctx *c = ctx;
	struct run *r;

	if (variant && !lab_variant_find(&c->lab, variant)) {
		snprintf(why, whyn, "the lab has no variant '%s'", variant);
		return NULL;
	}
	r = get_run(c, variant ? variant : c->checked, !variant && c->program);
	if (!r->done)
		do_run(c, r);
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
	if (locate(&c))
		return 2;
	n = list_labs(&c, &names);
	if (!n) {
		errmsg("no lab files in %s", c.labs);
		return 2;
	}
	if (!only_names)
		printf("%-3s %-22s %-40s %s\n", "#", "NAME", "TOPIC", "STATUS");
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 300], err[512], missing[1024];

		snprintf(path, sizeof(path), "%s/%s", c.labs, names[i]);
		if (lab_load(&c.lab, path, err, sizeof(err))) {
			if (only_names)
				continue;
			printf("%-3s %-22.*s %-40s broken lab file: %s\n", "?",
			       (int)strlen(names[i]) - 4, names[i], "", err);
			continue;
		}
		if (only_names) {
			printf("%s\n", c.lab.name);
		} else {
			int ready = check_needs(&c, missing, sizeof(missing)) == 0;

			printf("%-3d %-22s %-40.40s %s%s\n", c.lab.number, c.lab.name,
			       c.lab.topic ? c.lab.topic : c.lab.title, ready ? "ready" : "needs: ",
			       ready ? "" : missing);
		}
		lab_free(&c.lab);
		pick_python(c.python, sizeof(c.python));
	}
	free_names(names, n);
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

		expand(c, v->cmd, cmd, sizeof(cmd));
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

static void show_report(struct labctx *c, struct run *r, const char *kind)
{
	const struct report_kind *k = report_kind_find(kind);
	char errp[PATH_MAX + 32];

	if (!strcmp(kind, "deadlock") && r->hung)
		printf("\n== conlab deadlock -p PID (the hung program, diagnosed while it hung)\n\n");
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

		if (spawn_wait(argv, NULL, errp, 120, NULL) > 1) {
			char msg[300];

			first_line(errp, msg, sizeof(msg));
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

		if (spawn_wait(argv, NULL, errp, 120, NULL) == 0)
			printf("wrote %s\n", out);
		else
			printf("(could not write %s: see %s)\n", out, errp);
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
	char missing[1024], outp[PATH_MAX + 16], line[4096];
	int reveal = 0, ask = 1, opt, ret = 0;
	struct lab_predict pred = {0};
	struct run *r;
	FILE *f;

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
	if (locate(&c) || find_lab(&c, argv[optind]))
		return 2;
	if (!variant)
		variant = c.lab.run_variant;
	if (!variant || !lab_variant_find(&c.lab, variant)) {
		if (!variant)
			errmsg("lab %s has no bundled program to run", c.lab.name);
		else
			errmsg("lab %s has no variant '%s'", c.lab.name, variant);
		ret = 2;
		goto out;
	}
	pick_python(c.python, sizeof(c.python));
	if (check_needs(&c, missing, sizeof(missing))) {
		errmsg("lab %s cannot run here: missing %s", c.lab.name, missing);
		ret = 2;
		goto out;
	}
	if (dir)
		snprintf(c.dir, sizeof(c.dir), "%s", dir);
	else
		snprintf(c.dir, sizeof(c.dir), "conlab-lab/%s", c.lab.name);
	if (mkdir_p(c.dir)) {
		ret = 2;
		goto out;
	}
	c.text_deadlock = 1;
	c.checked = variant;
	printf("lab %s — %s\n\n", c.lab.name, c.lab.title);
	list_variants(&c, variant);
	predict_before(&c, &pred, answers, ask && isatty(0) && isatty(1));
	r = get_run(&c, variant, 0);
	if (do_run(&c, r)) {
		errmsg("%s", r->why);
		ret = 2;
		goto out;
	}
	snprintf(outp, sizeof(outp), "%s.out", r->base);
	printf("\n== the program's output (%s)%s\n\n", outp,
	       pred.nhidden ? ", answers hidden (?) until the reveal" : "");
	f = fopen(outp, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			lab_predict_hide(&pred, line, sizeof(line));
			fputs(line, stdout);
		}
		fclose(f);
	}
	if (pred.n) {
		char path[PATH_MAX + 32];

		printf("\n== Your predictions beside what was measured\n\n");
		lab_predict_reveal(&pred, lookup, &c, stdout);
		snprintf(path, sizeof(path), "%s/predictions.md", c.dir);
		lab_predict_save(&pred, lookup, &c, path);
	}
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
	free_runs(&c);
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
	char missing[1024];
	int opt, ret = 2, passed = 0, key_failed = 0, keys_only = 0, evaluated = 0;

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
	if (c.program && !is_exec(c.program) && access(c.program, R_OK)) {
		errmsg("cannot run %s: %s", c.program, strerror(errno));
		return 2;
	}
	if (locate(&c) || find_lab(&c, argv[optind]))
		return 2;
	if (c.grading.submissions) {
		ret = c.program || variant ? (errmsg("--submissions grades a folder: no --program "
						     "or --variant with it"), 2)
					   : grade_batch(c.self, argv[optind], &c.lab, &c.grading);
		goto out;
	}
	c.checked = variant ? variant : c.lab.check_variant;
	if (!c.program && !lab_variant_find(&c.lab, c.checked)) {
		errmsg("lab %s has no variant '%s'%s", c.lab.name, c.checked,
		       c.lab.nvariants ? "" : ": check your own program with --program PATH");
		goto out;
	}
	pick_python(c.python, sizeof(c.python));
	if (check_needs(&c, missing, sizeof(missing))) {
		errmsg("lab %s cannot be checked here: missing %s", c.lab.name, missing);
		goto out;
	}
	if (!c.lab.nexpects) {
		errmsg("lab %s has no expectations", c.lab.name);
		goto out;
	}
	if (dir)
		snprintf(c.dir, sizeof(c.dir), "%s", dir);
	else
		snprintf(c.dir, sizeof(c.dir), "conlab-lab/%s/check", c.lab.name);
	if (mkdir_p(c.dir))
		goto out;
	if (c.grading.format == GRADE_TEXT)
		printf("lab %s — %s: checking %s\n", c.lab.name, c.lab.title,
		       c.program ? c.program : c.checked);
	if (c.program && grade_check_begin(&c.sandbox, &c.grading, &c.lab, &c.program, c.python,
					   sizeof(c.python)))
		goto out;
	if (c.grading.format != GRADE_TEXT) {
		c.quiet = 1;
		ret = grade_check_write(&c.lab, lookup, &c,
					c.program ? c.grading.submission : c.checked, &c.sandbox,
					&c.grading);
		goto out;
	}
	for (size_t i = 0; i < c.lab.nexpects; i++) {
		const struct lab_expect *e = &c.lab.expects[i];
		struct lab_result res;

		if (keys_only && !e->key)
			continue;
		evaluated++;
		lab_eval(e, lookup, &c, &res);
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
	if (c.sandbox.status[0])
		printf("the program: %s\n", c.sandbox.status);
	printf("%s: %d of %d %sexpectations hold%s\n", passed == evaluated ? "PASS" : "FAIL",
	       passed, evaluated, keys_only ? "key " : "",
	       key_failed ? ", the key one does not" : "");
	ret = passed == evaluated ? 0 : 1;
out:
	grade_run_end(&c.sandbox);
	free_runs(&c);
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
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list"))
		return lab_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return lab_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return lab_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "service"))
		return lab_service_main(argc - 1, argv + 1);
	errmsg("unknown lab command '%s' (list, run, check, service)", argv[1]);
	return 2;
}
