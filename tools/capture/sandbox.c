/*
 * sandbox.c — the sandbox as one string (`conlab record --sandbox SPEC`) and entering it in the
 * traced program's child between fork and exec. The setting up and tearing down on the
 * grader's side is sandbox_host.c.
 *
 * The order in sandbox_enter matters: cgroups and the network namespace need root, so they
 * come first; the rlimits come before the user change (RLIMIT_NPROC is checked at fork, and
 * an unprivileged process could not raise what it inherited anyway); the user change is last
 * and is checked by trying to get root back.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture/sandbox.h"

#define PRELOAD_FD_ENV "CONLAB_PRELOAD_FD"	/* tools/capture/preload: the lock interposer's shm */

/* ---- the spec string --------------------------------------------------------------------- */

int sandbox_spec_format(const struct sandbox *s, char *buf, size_t n)
{
	size_t o;

	o = snprintf(buf, n, "uid=%d,gid=%d,dir=%s,cpu=%.0f,as=%llu,nproc=%ld,nofile=%ld,"
			     "fsize=%llu,net=%d", s->uid, s->gid, s->dir, s->lim.cpu_s,
		     (unsigned long long)s->as_bytes, s->nproc, s->lim.files,
		     (unsigned long long)s->lim.fsize, s->netns);
	for (int i = 0; i < s->ncgroups && o < n; i++)
		o += snprintf(buf + o, n - o, ",cgroup=%s", s->cgroups[i]);
	return o < n ? 0 : -1;
}

static int spec_num(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || end == v || *end || *out > max || v[0] == '-' ? -1 : 0;
}

static int spec_field(struct sandbox *s, const char *k, const char *v)
{
	unsigned long long n;

	if (!strcmp(k, "dir") || !strcmp(k, "cgroup")) {
		char *dst = !strcmp(k, "dir") ? s->dir : s->cgroups[s->ncgroups];

		if (v[0] != '/' || strlen(v) >= PATH_MAX)
			return -1;
		if (dst != s->dir && s->ncgroups++ == SANDBOX_MAX_CGROUPS)
			return -1;
		snprintf(dst, PATH_MAX, "%s", v);
		return 0;
	}
	if (spec_num(v, ~0ULL, &n))
		return -1;
	if (!strcmp(k, "uid") && n > 0 && n < 0x7fffffff)
		s->uid = n;
	else if (!strcmp(k, "gid") && n > 0 && n < 0x7fffffff)
		s->gid = n;
	else if (!strcmp(k, "cpu"))
		s->lim.cpu_s = n;
	else if (!strcmp(k, "as"))
		s->as_bytes = n;
	else if (!strcmp(k, "nproc") && n < 0x7fffffff)
		s->nproc = n;
	else if (!strcmp(k, "nofile") && n < 0x7fffffff)
		s->lim.files = n;
	else if (!strcmp(k, "fsize"))
		s->lim.fsize = n;
	else if (!strcmp(k, "net") && n <= 1)
		s->netns = n;
	else
		return -1;
	return 0;
}

int sandbox_spec_parse(struct sandbox *s, const char *spec, char *err, size_t errn)
{
	char *dup = strdup(spec), *p = dup, *tok;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->uid = s->gid = -1;
	s->mem_cgroup = s->pids_cgroup = s->v2 = -1;
	if (!dup)
		return -1;
	while (!ret && (tok = strsep(&p, ","))) {
		char *eq = strchr(tok, '=');

		if (!eq || (*eq = 0, spec_field(s, tok, eq + 1))) {
			snprintf(err, errn, "bad sandbox setting '%s'", tok);
			ret = -1;
		}
	}
	free(dup);
	if (!ret && (s->uid <= 0 || s->gid <= 0 || !s->dir[0])) {
		/* never root: a sandbox without its user is no sandbox */
		snprintf(err, errn, "a sandbox needs uid, gid (not root) and dir");
		ret = -1;
	}
	return ret;
}

/* ---- entering it (the child, between fork and exec) ------------------------------------- */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, s, strlen(s));
	close(fd);
	return w == (ssize_t)strlen(s) ? 0 : -1;
}

static int join_cgroups(const struct sandbox *s)
{
	char path[PATH_MAX + 16], pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (int i = 0; i < s->ncgroups; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", s->cgroups[i]);
		if (write_str(path, pid))
			return -1;
	}
	return 0;
}

/* A network namespace of its own: nothing but its own loopback, which is brought up so that
 * a program talking to itself over 127.0.0.1 still works. */
static int own_network(void)
{
	struct ifreq ifr = {0};
	int fd;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return 0;
}

/* A fresh environment: nothing of the teacher's (tokens, paths into their home), but the
 * lock interposer's variables when conlab put them there. */
static void own_environment(const struct sandbox *s)
{
	const char *keep[] = {"LD_PRELOAD", PRELOAD_FD_ENV};
	char *vals[2];

	for (int i = 0; i < 2; i++) {
		const char *v = getenv(keep[i]);

		vals[i] = v ? strdup(v) : NULL;
	}
	clearenv();
	for (int i = 0; i < 2; i++)
		if (vals[i])
			setenv(keep[i], vals[i], 1);
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	setenv("HOME", s->dir, 1);
	setenv("TMPDIR", s->dir, 1);
	setenv("LANG", "C.UTF-8", 1);
}

/* Every inherited descriptor but 0-2 (and the interposer's) closes at exec. */
static void no_inherited_fds(void)
{
	const char *v = getenv(PRELOAD_FD_ENV);
	int keep = v ? atoi(v) : -1;

	if (keep > 2) {
		syscall(SYS_close_range, 3, keep - 1, CLOSE_RANGE_CLOEXEC);
		syscall(SYS_close_range, keep + 1, ~0U, CLOSE_RANGE_CLOEXEC);
	} else {
		syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	}
}

/*
 * Landlock (where the kernel has it): writes only in the working directory and /dev, /proc
 * (whose files the kernel guards by owner anyway), so nothing is left in /tmp or /dev/shm's
 * neighbours; and (ABI 6) signals only to its own processes: kill(-1, SIGKILL) as the sandbox
 * user cannot reach a submission graded beside it. The uapi header may predate the newer
 * rights, hence the numbers.
 */
#define LL_REFER (1ULL << 13)		/* ABI 2 */
#define LL_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)		/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};

static int ll_allow(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access};
	int ret;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return errno == ENOENT ? 0 : -1;
	ret = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(pb.parent_fd);
	return ret;
}

static int own_landlock(const struct sandbox *s)
{
	struct ll_ruleset_attr attr = {0};
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	uint64_t write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
			 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
			 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
			 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	size_t size = sizeof(uint64_t);
	int rs, ret = 0;

	if (abi < 1)
		return 0;	/* no Landlock: the user and the rlimits still hold */
	if (abi >= 2)
		write |= LL_REFER;
	if (abi >= 3)
		write |= LL_TRUNCATE;
	attr.handled_access_fs = write;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX;
		size = sizeof(attr);
	}
	rs = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0)
		return -1;
	if (ll_allow(rs, s->dir, write) || ll_allow(rs, "/dev", write) ||
	    ll_allow(rs, "/proc", write & (LANDLOCK_ACCESS_FS_WRITE_FILE | LL_TRUNCATE)) ||
	    syscall(SYS_landlock_restrict_self, rs, 0))
		ret = -1;
	close(rs);
	return ret;
}

static int limit(int res, unsigned long long soft, unsigned long long hard)
{
	struct rlimit rl = {soft ? soft : RLIM_INFINITY, hard ? hard : RLIM_INFINITY};

	return setrlimit(res, &rl);
}

static int set_limits(const struct sandbox *s)
{
	unsigned long long cpu = s->lim.cpu_s > 0 ? (unsigned long long)s->lim.cpu_s : 0;

	/* CPU: SIGXCPU at the limit, SIGKILL a second later for a program that catches it */
	if (limit(RLIMIT_CPU, cpu, cpu ? cpu + 1 : 0) ||
	    limit(RLIMIT_AS, s->as_bytes, s->as_bytes) ||
	    limit(RLIMIT_NPROC, s->nproc, s->nproc) ||
	    limit(RLIMIT_NOFILE, s->lim.files, s->lim.files) ||
	    limit(RLIMIT_FSIZE, s->lim.fsize, s->lim.fsize) ||
	    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}))
		return -1;
	return 0;
}

int sandbox_enter(const struct sandbox *s)
{
	if (s->uid <= 0 || s->gid <= 0) {
		errno = EPERM;
		return -1;
	}
	if (join_cgroups(s))
		return -1;
	if (s->netns && own_network())
		return -1;
	if (chdir(s->dir))
		return -1;
	own_environment(s);
	no_inherited_fds();
	umask(077);
	if (set_limits(s))
		return -1;
	/* no setuid program (su, passwd) gives anything back */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || own_landlock(s))
		return -1;
	if (setgroups(0, NULL) || setresgid(s->gid, s->gid, s->gid) ||
	    setresuid(s->uid, s->uid, s->uid))
		return -1;
	if (setuid(0) == 0 || geteuid() == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
