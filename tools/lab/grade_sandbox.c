/*
 * grade_sandbox.c — `lab check --program`: the submission runs in a sandbox (sandbox.h), and
 * afterwards its result says in one phrase what the program did (exited, which limit stopped
 * it, what it printed last on stderr), so a hostile or broken submission fails with a reason.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lab/labrun.h"
#include "lib/util.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* The program of a directory submission: main.py, main, else its only .py file, else its only
 * executable file. */
static int pick_program(const char *dir, char *rel, size_t n)
{
	char py[256] = "", ex[256] = "", path[PATH_MAX + 300];
	int npy = 0, nex = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return fail("cannot read %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(py))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (!strcmp(de->d_name, "main.py") || !strcmp(de->d_name, "main")) {
			snprintf(rel, n, "%s", de->d_name);
			closedir(d);
			return 0;
		}
		if (ends_with(de->d_name, ".py"))
			npy++, snprintf(py, sizeof(py), "%s", de->d_name);
		else if (st.st_mode & 0111)
			nex++, snprintf(ex, sizeof(ex), "%s", de->d_name);
	}
	closedir(d);
	if (npy == 1 || (!npy && nex == 1)) {
		snprintf(rel, n, "%s", npy ? py : ex);
		return 0;
	}
	return fail("%s: cannot tell which file is the program (name it main.py or main)", dir);
}

/* Can the sandbox's user run this interpreter (one in root's home cannot)? */
static int runs_as(const char *python, int uid, int gid)
{
	char *argv[] = {(char *)python, "-c", "pass", NULL};

	return lab_run_quiet(argv, uid, gid) == 0;
}

static void limits_of(struct sandbox_limits *l, const struct grade_opts *o, double wall_default)
{
	sandbox_default_limits(l, o->time_limit > 0 ? o->time_limit : wall_default);
	if (o->cpu_limit > 0)
		l->cpu_s = o->cpu_limit;
	if (o->memory_limit)
		l->mem_bytes = o->memory_limit;
	if (o->procs_limit)
		l->procs = o->procs_limit;
	if (o->files_limit)
		l->files = o->files_limit;
	if (o->fsize_limit)
		l->fsize = o->fsize_limit;
}

int grade_run_begin(struct grade_run *gr, const struct grade_opts *o, const char *submission,
		    double wall_default, int parallel, char *python, size_t pythonn)
{
	struct sandbox_limits lim;
	char rel[256];
	struct stat st;
	int uid, gid;

	memset(gr, 0, sizeof(*gr));
	if (sandbox_user(o->user ? o->user : "nobody", &uid, &gid))
		return -1;
	if (stat(submission, &st))
		return fail("cannot read %s: %s", submission, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (pick_program(submission, rel, sizeof(rel)))
			return -1;
	} else {
		const char *base = strrchr(submission, '/');

		snprintf(rel, sizeof(rel), "%s", base ? base + 1 : submission);
	}
	limits_of(&lim, o, wall_default);
	if (sandbox_prepare(&gr->sb, uid, gid, &lim, parallel, submission))
		return -1;
	gr->on = 1;
	/* the lab's Python programs import its helper module: a submission made from one of
	 * them finds it beside it, as it did in the lab's folder */
	if (ends_with(rel, ".py") && o->py_helper && !access(o->py_helper, R_OK) &&
	    sandbox_add_file(&gr->sb, o->py_helper)) {
		grade_run_end(gr);
		return -1;
	}
	sandbox_path(&gr->sb, rel, gr->program, sizeof(gr->program));
	if (ends_with(rel, ".py") && !runs_as(python, uid, gid)) {
		if (!runs_as("/usr/bin/python3", uid, gid)) {
			grade_run_end(gr);
			return fail("user %s cannot run %s (nor /usr/bin/python3)",
				    o->user ? o->user : "nobody", python);
		}
		snprintf(python, pythonn, "/usr/bin/python3");
	}
	if (sandbox_spec_format(&gr->sb, gr->spec, sizeof(gr->spec))) {
		grade_run_end(gr);
		return fail("sandbox paths too long");
	}
	gr->wall_s = lim.wall_s;
	sandbox_kill_on_signal(&gr->sb);
	return 0;
}

/*
 * The program's last line on stderr (the recorder's own lines start with "conlab:"), and
 * whether the recording stopped before the program ended: `conlab record` says "recorded" at
 * the end and "CMD exited with status N" only when the program ended while it recorded. A
 * program that ends just after the wall-time limit is gone before it can count as hung, and
 * the recorder's exit status is then not the program's.
 */
static int last_error_line(const char *path, char *buf, size_t n)
{
	char line[512];
	int recorded = 0, exited = 0;
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "conlab: recorded ", 17))
			recorded = 1;
		else if (!strncmp(line, "conlab: ", 8) && strstr(line, " exited with status "))
			exited = 1;
		else if (line[0] && strncmp(line, "conlab:", 7))
			snprintf(buf, n, "%.290s", line);
	}
	fclose(f);
	return recorded && !exited;
}

void grade_run_after(struct grade_run *gr, int rc, int hung, const char *err, int recorded)
{
	const struct sandbox_limits *l = &gr->sb.lim;
	char limit[256], line[300];
	size_t o;
	int killed;

	if (!gr->on || gr->ran)
		return;
	gr->ran = 1;
	sandbox_limit_hit(&gr->sb, limit, sizeof(limit));
	if (last_error_line(err, line, sizeof(line)) && recorded)
		hung = 1;
	if (!recorded && !hung && (rc == 0 || rc == 1))
		o = snprintf(gr->status, sizeof(gr->status), "ended (conlab deadlock: %s)",
			     rc ? "a deadlock found" : "no deadlock found");
	else if (hung)
		o = snprintf(gr->status, sizeof(gr->status),
			     "stopped: still running at the wall-time limit of %g s", gr->wall_s);
	else if (rc == 128 + SIGXCPU)
		o = snprintf(gr->status, sizeof(gr->status),
			     "killed: CPU-time limit of %g s reached", l->cpu_s);
	else if (rc == 128 + SIGXFSZ)
		o = snprintf(gr->status, sizeof(gr->status),
			     "killed: file-size limit of %llu bytes reached",
			     (unsigned long long)l->fsize);
	else if (rc > 128 && rc < 128 + 65)
		o = snprintf(gr->status, sizeof(gr->status), "killed by SIG%s%s%s",
			     sigabbrev_np(rc - 128) ? sigabbrev_np(rc - 128) : "NAL",
			     limit[0] ? ": " : "", limit);
	else if (rc == 126 || rc == 127)
		o = snprintf(gr->status, sizeof(gr->status), "could not be started: %s",
			     line[0] ? line : "no message");
	else if (rc != 0)
		o = snprintf(gr->status, sizeof(gr->status), "exit status %d%s%.300s", rc,
			     line[0] ? ": " : "", line);
	else
		o = snprintf(gr->status, sizeof(gr->status), "exit 0");
	if (limit[0] && !strstr(gr->status, limit) && o < sizeof(gr->status))
		o += snprintf(gr->status + o, sizeof(gr->status) - o, "; %s", limit);
	gr->program_ok = !hung && (rc == 0 || (!recorded && rc == 1)) && !limit[0];
	/* whatever it left (daemons, a fork bomb's children, processes that left the session) */
	sandbox_kill_on_signal(NULL);
	killed = sandbox_kill(&gr->sb);
	if (killed && o < sizeof(gr->status))
		snprintf(gr->status + o, sizeof(gr->status) - o,
			 "; %d process%s it left running killed", killed, killed > 1 ? "es" : "");
}

void grade_run_end(struct grade_run *gr)
{
	if (gr->on) {
		sandbox_kill_on_signal(NULL);
		sandbox_destroy(&gr->sb);
	}
	gr->on = 0;
}

int grade_check_begin(struct grade_run *gr, struct grade_opts *o, const struct lab *l,
		      const char **program, char *python, size_t pythonn)
{
	const struct lab_variant *v = lab_variant_find(l, l->check_variant);
	double wall = v ? (v->hang_s > 0 ? v->hang_s : v->timeout_s) : 60;

	o->submission = *program;
	if (grade_run_begin(gr, o, *program, wall, o->jobs > 0 ? o->jobs : 1, python, pythonn))
		return -1;
	*program = gr->program;
	return 0;
}
