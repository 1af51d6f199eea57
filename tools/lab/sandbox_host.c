/*
 * sandbox_host.c — the grader's side of a sandbox (see sandbox.h): the user, the temporary
 * directory with the submission's copy, the cgroups, and afterwards which limit was hit and
 * the killing of whatever is left.
 *
 * cgroups: a cgroup v2 directory when the machine has the unified hierarchy (its cgroup.kill
 * ends every process at once, also those that left the session with setsid); the memory and
 * pids controllers from v2 when the root offers them, else from the v1 hierarchies of a hybrid
 * setup (/sys/fs/cgroup/memory, /sys/fs/cgroup/pids), nested under conlab's own cgroup there
 * so a container's limits still apply. Without any, the rlimits are the limits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/sandbox.h"
#include "lib/util.h"

#define V2_MOUNT "/sys/fs/cgroup"
#define V2_HYBRID "/sys/fs/cgroup/unified"
#define V1_MOUNT "/sys/fs/cgroup"

void sandbox_default_limits(struct sandbox_limits *l, double wall_s)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(l, 0, sizeof(*l));
	l->wall_s = wall_s;
	/* every CPU busy for the whole wall time: the CPU limit only stops what wall cannot */
	l->cpu_s = (double)(long)(wall_s + 1) * (cpus > 0 ? cpus : 1);
	l->mem_bytes = 1ULL << 30;
	l->procs = 64;
	l->files = 256;
	l->fsize = 64ULL << 20;
}

int sandbox_user(const char *name, int *uid, int *gid)
{
	struct passwd *pw = getpwnam(name);
	char *end;
	long n = strtol(name, &end, 10);

	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else if (*name && !*end && n >= 0 && n < 0x7fffffff) {
		*uid = *gid = n;
	} else {
		return fail("no user '%s' to run submissions as", name);
	}
	if (*uid == 0 || *gid == 0)
		return fail("refusing to run submissions as root (user '%s'): pick an "
			    "unprivileged user such as nobody", name);
	return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to, int uid, int gid)
{
	struct stat st;
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, ret = -1;
	ssize_t r;

	if (in < 0 || fstat(in, &st) || !S_ISREG(st.st_mode))
		goto done;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		   st.st_mode & 0111 ? 0755 : 0644);
	if (out < 0)
		goto done;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, r) != r)
			goto done;
	ret = r < 0 || fchown(out, uid, gid) ? -1 : 0;
done:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

/* A directory submission, copied whole: regular files and directories (links are not
 * followed: a submission cannot make the copy read the teacher's files). */
static int copy_tree(const char *from, const char *to, int uid, int gid, int depth)
{
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (depth > 16)
		return fail("%s: directories nested too deep", from);
	if (mkdir(to, 0755) && errno != EEXIST)
		return fail("cannot create %s: %s", to, strerror(errno));
	if (chown(to, uid, gid))
		return fail("cannot give %s to the sandbox user: %s", to, strerror(errno));
	d = opendir(from);
	if (!d)
		return fail("cannot read %s: %s", from, strerror(errno));
	while (!ret && (de = readdir(d))) {
		char a[PATH_MAX], b[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(a, sizeof(a), "%s/%s", from, de->d_name) >= sizeof(a) ||
		    (size_t)snprintf(b, sizeof(b), "%s/%s", to, de->d_name) >= sizeof(b))
			continue;
		if (lstat(a, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			ret = copy_tree(a, b, uid, gid, depth + 1);
		else if (S_ISREG(st.st_mode) && copy_file(a, b, uid, gid))
			ret = fail("cannot copy %s: %s", a, strerror(errno));
	}
	closedir(d);
	return ret;
}

/* rm -r without following links (the program may have left links to anything). */
static void remove_tree(int dirfd, const char *name, int depth)
{
	int fd;
	DIR *d;
	struct dirent *de;

	if (!unlinkat(dirfd, name, 0) || errno == ENOENT || depth > 64)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree(fd, de->d_name, depth + 1);
	closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* ---- cgroups ------------------------------------------------------------------------------ */

static int write_file(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX + 64];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	w = write(fd, s, strlen(s));
	close(fd);
	return w == (ssize_t)strlen(s) ? 0 : -1;
}

/* "name N" from a flat keyed file (memory.events, pids.events, memory.oom_control). */
static long keyed(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], buf[2048], *p;
	size_t kl = strlen(key);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return atol(p + kl + 1);
	return 0;
}

static int has_word(const char *file, const char *word)
{
	char buf[1024], *save = NULL;

	if (read_small_file(file, buf, sizeof(buf)) <= 0)
		return 0;
	for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (!strcmp(w, word))
			return 1;
	return 0;
}

/* Is w one of the comma-separated words of list ("cpu,cpuacct")? */
static int list_has(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (!strncmp(p, w, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

/* conlab's own cgroup in the v1 hierarchy of controller ctl ("/" when unknown). */
static void own_v1_path(const char *ctl, char *out, size_t n)
{
	char buf[4096], *save = NULL;

	snprintf(out, n, "/");
	if (read_small_file("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = 0;
		if (list_has(c1 + 1, ctl))
			snprintf(out, n, "%s", c2 + 1);
	}
}

static int add_cgroup(struct sandbox *s, const char *path)
{
	if (s->ncgroups == SANDBOX_MAX_CGROUPS || mkdir(path, 0755))
		return -1;
	snprintf(s->cgroups[s->ncgroups], PATH_MAX, "%s", path);
	return s->ncgroups++;
}

/* The v2 cgroup: WHERE/conlab/NAME, with memory and pids when the root has them (the root is
 * exempt from the no-processes-in-inner-cgroups rule, so they can be enabled from there). */
static void v2_cgroup(struct sandbox *s, const char *name)
{
	char mnt[64], base[PATH_MAX], leaf[PATH_MAX], ctl[PATH_MAX], num[32];
	int i;

	snprintf(mnt, sizeof(mnt), "%s", V2_MOUNT);
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", mnt);
	if (access(ctl, R_OK)) {
		snprintf(mnt, sizeof(mnt), "%s", V2_HYBRID);
		snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", mnt);
		if (access(ctl, R_OK))
			return;
	}
	snprintf(base, sizeof(base), "%s/conlab", mnt);
	if (mkdir(base, 0755) && errno != EEXIST)
		return;
	for (int k = 0; k < 2; k++) {
		const char *c = k ? "pids" : "memory";
		char plus[16];

		snprintf(plus, sizeof(plus), "+%s", c);
		if (has_word(ctl, c)) {
			write_file(mnt, "cgroup.subtree_control", plus);
			write_file(base, "cgroup.subtree_control", plus);
		}
	}
	snprintf(leaf, sizeof(leaf), "%.4000s/%.60s", base, name);
	i = add_cgroup(s, leaf);
	if (i < 0)
		return;
	s->v2 = i;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)s->lim.mem_bytes);
	if (s->lim.mem_bytes && !write_file(leaf, "memory.max", num)) {
		write_file(leaf, "memory.swap.max", "0");
		s->mem_cgroup = i;
	}
	snprintf(num, sizeof(num), "%ld", s->lim.procs);
	if (s->lim.procs && !write_file(leaf, "pids.max", num))
		s->pids_cgroup = i;
}

/* A v1 controller's cgroup, under conlab's own one; the index or -1. */
static int v1_cgroup(struct sandbox *s, const char *ctl, const char *name)
{
	char own[PATH_MAX], path[PATH_MAX * 2];

	own_v1_path(ctl, own, sizeof(own));
	snprintf(path, sizeof(path), "%s/%s%s", V1_MOUNT, ctl, strcmp(own, "/") ? own : "");
	if (access(path, W_OK))
		return -1;
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", name);
	return add_cgroup(s, path);
}

static void make_cgroups(struct sandbox *s)
{
	static unsigned serial;
	char name[64], num[32];
	int i;

	snprintf(name, sizeof(name), "conlab-sandbox-%d-%u", (int)getpid(), serial++);
	v2_cgroup(s, name);
	if (s->lim.mem_bytes && s->mem_cgroup < 0 && (i = v1_cgroup(s, "memory", name)) >= 0) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)s->lim.mem_bytes);
		if (!write_file(s->cgroups[i], "memory.limit_in_bytes", num)) {
			write_file(s->cgroups[i], "memory.memsw.limit_in_bytes", num);
			s->mem_cgroup = i;
		}
	}
	if (s->lim.procs && s->pids_cgroup < 0 && (i = v1_cgroup(s, "pids", name)) >= 0) {
		snprintf(num, sizeof(num), "%ld", s->lim.procs);
		if (!write_file(s->cgroups[i], "pids.max", num))
			s->pids_cgroup = i;
	}
}

/* ---- what a dead grader left ------------------------------------------------------------- */

static int pid_gone(const char *name)
{
	long pid = strtol(name + strlen("conlab-sandbox-"), NULL, 10);

	return pid > 0 && kill(pid, 0) && errno == ESRCH;
}

static int kill_cgroup(const char *dir, int v2);

/* Sandboxes of a grader that was killed before it could clean up (SIGKILL, or a batch that
 * died): their cgroups (and what still runs in them) and directories, found by the grader's
 * pid in their names. */
static void sweep_stale(void)
{
	char dirs[4][PATH_MAX], own[PATH_MAX];
	struct dirent *de;

	snprintf(dirs[0], PATH_MAX, "%s/conlab", V2_MOUNT);
	snprintf(dirs[1], PATH_MAX, "%s/conlab", V2_HYBRID);
	own_v1_path("pids", own, sizeof(own));
	snprintf(dirs[2], PATH_MAX, "%s/pids%.4000s", V1_MOUNT, strcmp(own, "/") ? own : "");
	own_v1_path("memory", own, sizeof(own));
	snprintf(dirs[3], PATH_MAX, "%s/memory%.4000s", V1_MOUNT, strcmp(own, "/") ? own : "");
	for (int i = 0; i < 4; i++) {
		DIR *d = opendir(dirs[i]);

		while (d && (de = readdir(d))) {
			char path[PATH_MAX * 2];

			if (strncmp(de->d_name, "conlab-sandbox-", 15) || !pid_gone(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%.4000s/%.200s", dirs[i], de->d_name);
			kill_cgroup(path, i < 2);
			rmdir(path);
		}
		if (d)
			closedir(d);
	}
	{
		DIR *d = opendir("/tmp");

		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, "conlab-sandbox-", 15) && pid_gone(de->d_name))
				remove_tree(dirfd(d), de->d_name, 0);
		if (d)
			closedir(d);
	}
}

/* ---- the grader killed while its sandbox runs -------------------------------------------- */

static const struct sandbox *signal_sandbox;

/* Only async-signal-safe calls: open, write, read, kill. */
static void on_fatal_signal(int sig)
{
	const struct sandbox *s = signal_sandbox;

	for (int i = 0; s && i < s->ncgroups; i++) {
		char path[PATH_MAX + 16], buf[4096];
		size_t n = strlen(s->cgroups[i]);
		int fd;

		if (n + 16 > sizeof(path))
			continue;
		memcpy(path, s->cgroups[i], n);
		const char *file = i == s->v2 ? "/cgroup.kill" : "/cgroup.procs";

		memcpy(path + n, file, strlen(file) + 1);
		fd = open(path, i == s->v2 ? O_WRONLY : O_RDONLY);
		if (fd < 0)
			continue;
		if (i == s->v2) {
			if (write(fd, "1", 1) < 0)
				continue;
		} else {
			ssize_t r = read(fd, buf, sizeof(buf) - 1);
			long pid = 0;

			for (ssize_t k = 0; k < r; k++) {
				if (buf[k] >= '0' && buf[k] <= '9') {
					pid = pid * 10 + buf[k] - '0';
				} else {
					if (pid > 0)
						kill(pid, SIGKILL);
					pid = 0;
				}
			}
		}
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void sandbox_kill_on_signal(const struct sandbox *s)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};

	signal_sandbox = s;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], s ? on_fatal_signal : SIG_DFL);
}

/* ---- the sandbox ------------------------------------------------------------------------- */

int sandbox_prepare(struct sandbox *s, int uid, int gid, const struct sandbox_limits *lim,
		    int parallel, const char *submission)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->uid = uid;
	s->gid = gid;
	s->lim = *lim;
	s->netns = 1;
	s->mem_cgroup = s->pids_cgroup = s->v2 = -1;
	if (uid <= 0 || gid <= 0)
		return fail("refusing to run a submission as root");
	if (stat(submission, &st))
		return fail("cannot read %s: %s", submission, strerror(errno));
	sweep_stale();
	snprintf(s->root, sizeof(s->root), "/tmp/conlab-sandbox-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(s->root))
		return fail("cannot create a directory in /tmp: %s", strerror(errno));
	/* root's; the user may only pass through it to its own work directory */
	chmod(s->root, 0711);
	snprintf(s->dir, sizeof(s->dir), "%.4000s/work", s->root);
	if (S_ISDIR(st.st_mode)) {
		if (copy_tree(submission, s->dir, uid, gid, 0))
			goto undo;
	} else {
		char to[PATH_MAX * 2];
		const char *base = strrchr(submission, '/');

		snprintf(to, sizeof(to), "%s/%s", s->dir, base ? base + 1 : submission);
		if (mkdir(s->dir, 0700) || chown(s->dir, uid, gid) ||
		    copy_file(submission, to, uid, gid)) {
			fail("cannot copy %s into the sandbox: %s", submission, strerror(errno));
			goto undo;
		}
	}
	chmod(s->dir, 0700);
	make_cgroups(s);
	/* RLIMIT_NPROC counts every process of the user: room for the other sandboxes running
	 * at the same time when a pids cgroup holds each to its own limit */
	s->nproc = s->lim.procs * (s->pids_cgroup >= 0 ? parallel + 1 : 1);
	/* the address space counts reserved memory (thread stacks, malloc arenas): with a memory
	 * cgroup measuring what is used, it is only a backstop */
	s->as_bytes = s->mem_cgroup >= 0 ? s->lim.mem_bytes * 4 : s->lim.mem_bytes;
	return 0;
undo:
	remove_tree(AT_FDCWD, s->root, 0);
	return -1;
}

int sandbox_add_file(const struct sandbox *s, const char *from)
{
	const char *base = strrchr(from, '/');
	char to[PATH_MAX * 2];

	snprintf(to, sizeof(to), "%s/%s", s->dir, base ? base + 1 : from);
	if (!access(to, F_OK))
		return 0;	/* the submission's own */
	if (copy_file(from, to, s->uid, s->gid))
		return fail("cannot copy %s into the sandbox: %s", from, strerror(errno));
	return 0;
}

void sandbox_path(const struct sandbox *s, const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", s->dir, rel);
}

void sandbox_limit_hit(const struct sandbox *s, char *why, size_t n)
{
	const char *m = s->mem_cgroup >= 0 ? s->cgroups[s->mem_cgroup] : NULL;
	const char *p = s->pids_cgroup >= 0 ? s->cgroups[s->pids_cgroup] : NULL;

	why[0] = 0;
	if (m && (keyed(m, "memory.events", "oom_kill") > 0 ||
		  keyed(m, "memory.oom_control", "oom_kill") > 0 ||
		  keyed(m, "memory.events", "max") > 0))
		snprintf(why, n, "memory limit of %llu MiB reached",
			 (unsigned long long)(s->lim.mem_bytes >> 20));
	else if (p && keyed(p, "pids.events", "max") > 0)
		snprintf(why, n, "process limit of %ld reached (a fork failed)", s->lim.procs);
}

/* Kill every process of a cgroup: cgroup.kill on v2, else SIGKILL to each member until none
 * is left (a pids limit keeps a fork bomb from outrunning it). */
static int kill_cgroup(const char *dir, int v2)
{
	char path[PATH_MAX + 16], buf[65536];
	int killed = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (v2)
		write_file(dir, "cgroup.kill", "1");
	for (int round = 0; round < 200; round++) {
		ssize_t n = read_small_file(path, buf, sizeof(buf));
		char *p = buf, *end;
		int any = 0;

		if (n <= 0)
			break;
		for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end) {
			any = 1;
			if (round == 0)
				killed++;
			kill(pid, SIGKILL);
		}
		if (!any)
			break;
		usleep(10000);
	}
	return killed;
}

int sandbox_kill(struct sandbox *s)
{
	int killed = 0;

	for (int i = 0; i < s->ncgroups; i++) {
		int k = kill_cgroup(s->cgroups[i], i == s->v2);

		killed = k > killed ? k : killed;
	}
	for (int i = 0; i < s->ncgroups; i++)
		for (int t = 0; t < 100 && rmdir(s->cgroups[i]) && errno == EBUSY; t++)
			usleep(10000);
	s->ncgroups = 0;
	s->mem_cgroup = s->pids_cgroup = s->v2 = -1;
	return killed;
}

int sandbox_destroy(struct sandbox *s)
{
	int killed = sandbox_kill(s);

	if (s->root[0])
		remove_tree(AT_FDCWD, s->root, 0);
	s->root[0] = 0;
	return killed;
}
