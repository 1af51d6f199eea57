/* lab_find.c — where the labs, their programs and the interpreter are; a variant's
 * placeholders; the lab's needs (see labrun.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/grade.h"
#include "lab/lab.h"
#include "lab/lab_predict.h"
#include "lab/lab_service.h"
#include "lab/labrun.h"
#include "lib/jsonread.h"
#include "render/report.h"
#include "lib/util.h"

/* ---- where things are ------------------------------------------------------------------ */

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int lab_is_exec(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The labs live in the source tree next to the build directory (build/conlab ->
 * workloads/labs), or where CONLAB_LABS says; workloads in build/workloads or CONLAB_WORKLOADS. */
int lab_locate(struct labctx *c)
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
		 lab_is_exec("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lab files, sorted by name. */
size_t lab_names(const struct labctx *c, char ***names)
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

void lab_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* NAME may be the full name (06-granularity), its number (6, 06) or its topic (granularity). */
int lab_find(struct labctx *c, const char *name)
{
	char **names, path[PATH_MAX + 300], err[512];
	size_t n = lab_names(c, &names);
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
		lab_free_names(names, n);
		return fail("no lab '%s' (conlab lab list shows them)", name);
	}
	snprintf(path, sizeof(path), "%s/%s", c->labs, names[found]);
	lab_free_names(names, n);
	if (lab_load(&c->lab, path, err, sizeof(err)))
		return fail("%s", err);
	return 0;
}

/* ---- placeholders and needs ------------------------------------------------------------- */

void lab_expand(const struct labctx *c, const char *in, char *out, size_t n)
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
		return lab_is_exec(cmd);
	}
	path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
	p = path;
	while ((dir = strsep(&p, ":"))) {
		snprintf(found, n, "%s/%s", *dir ? dir : ".", cmd);
		if (lab_is_exec(found)) {
			free(path);
			return 1;
		}
	}
	free(path);
	return 0;
}

int lab_run_quiet(char *const argv[], int uid, int gid)
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
		if (uid >= 0 && (setgroups(0, NULL) || setgid(gid) || setuid(uid) || chdir("/")))
			_exit(126);
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
		if (buf[0] == '/' && lab_is_exec(buf))
			snprintf(out, n, "%s", buf);
	}
	pclose(p);
}

/* {python}: Debian's interpreter when there is one (the course's; its python3-* packages
 * import there), else python3 on PATH resolved to the interpreter itself. */
void lab_pick_python(char *out, size_t n)
{
	if (lab_is_exec("/usr/bin/python3"))
		snprintf(out, n, "/usr/bin/python3");
	else
		resolve_python("python3", out, n);
}

/* Check every need; describe what is missing in `missing` (empty when all is there).
 * A Python module may be importable only by Debian's interpreter (python3-gevent) while
 * python3 on PATH is another one: the first interpreter that has it becomes {python}. */
int lab_check_needs(struct labctx *c, char *missing, size_t n)
{
	size_t o = 0;

	missing[0] = 0;
	for (size_t i = 0; i < c->lab.nneeds; i++) {
		const struct lab_need *nd = &c->lab.needs[i];
		char what[PATH_MAX], found[PATH_MAX + 300];
		int ok = 0;

		lab_expand(c, nd->what, what, sizeof(what));
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

				if (lab_run_quiet(argv, -1, -1) == 0) {
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
