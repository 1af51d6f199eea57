/* preload_shm.c — the region of --locks=preload, from conlab's side. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/preload/conlab_preload.h"
#include "capture/preload_shm.h"
#include "lib/util.h"

#define LIB_NAME "libconlab-preload.so"

/*
 * The interposer library: beside the conlab binary in a build tree (build/), in
 * PREFIX/lib/conlab/ once installed (PREFIX/bin/conlab). 0, or -1 with a message.
 */
static int find_lib(struct preload_shm *s)
{
	static const char *const where[] = {"%s/" LIB_NAME, "%s/../lib/conlab/" LIB_NAME};
	char exe[sizeof(s->lib) - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return fail("cannot find the conlab binary: %s", strerror(errno));
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(s->lib, sizeof(s->lib), where[i], exe);
		if (!access(s->lib, R_OK))
			return 0;
	}
	return fail("--locks=preload needs %s (make builds it, make install installs it): %s",
		    LIB_NAME, strerror(errno));
}

int preload_shm_create(struct preload_shm *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (find_lib(s))
		return -1;
	/* not close-on-exec: the command inherits it and the library maps it */
	s->fd = memfd_create("conlab-preload", 0);
	if (s->fd < 0)
		return fail("memfd_create: %s", strerror(errno));
	if (ftruncate(s->fd, sizeof(*s->r)))
		return fail("cannot size the shared region: %s", strerror(errno));
	s->r = mmap(NULL, sizeof(*s->r), PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->r == MAP_FAILED) {
		s->r = NULL;
		return fail("cannot map the shared region: %s", strerror(errno));
	}
	s->r->magic = CPL_MAGIC;
	s->r->version = CPL_VERSION;
	s->r->nslots = CPL_SLOTS;
	s->taken = xcalloc(CPL_SLOTS, 1);
	return 0;
}

void preload_shm_env_set(struct preload_shm *s)
{
	const char *old = getenv("LD_PRELOAD");
	char fdbuf[16], *v;

	s->old_preload = old ? xstrdup(old) : NULL;
	v = xmalloc(strlen(s->lib) + (old ? strlen(old) : 0) + 2);
	sprintf(v, "%s%s%s", s->lib, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", v, 1);
	free(v);
	snprintf(fdbuf, sizeof(fdbuf), "%d", s->fd);
	setenv(CPL_ENV_FD, fdbuf, 1);
}

void preload_shm_env_unset(struct preload_shm *s)
{
	if (s->old_preload)
		setenv("LD_PRELOAD", s->old_preload, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv(CPL_ENV_FD);
}

void preload_shm_collect(struct preload_shm *s, const struct preload_sink *k)
{
	struct cpl_region *r = s->r;
	uint32_t nov;

	if (!r)
		return;
	for (uint32_t i = 0; i < CPL_SLOTS; i++) {
		if (s->taken[i] || !__atomic_load_n(&r->slot[i].ready, __ATOMIC_ACQUIRE))
			continue;
		s->taken[i] = 1;
		k->edge(k->ctx, &r->slot[i]);
	}
	nov = __atomic_load_n(&r->noverflow, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < nov && i < CPL_OVERFLOW_TIDS; i++)
		if (r->overflow_tids[i])
			k->overflow(k->ctx, (pid_t)r->overflow_tids[i]);
	if (r->dropped)
		snprintf(s->warning, sizeof(s->warning), "%llu lock-order edges not kept: the "
			 "preload table (%u slots) was full", (unsigned long long)r->dropped,
			 CPL_SLOTS);
	else if (!r->attached)
		snprintf(s->warning, sizeof(s->warning), "the preload library was not loaded by the "
			 "command (a static or set-user-ID program?): no lock-order edges");
}

void preload_shm_free(struct preload_shm *s)
{
	if (s->r)
		munmap(s->r, sizeof(*s->r));
	if (s->fd >= 0)
		close(s->fd);
	free(s->taken);
	free(s->old_preload);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* cmd's file: as given when it has a slash, else the first match on PATH. */
static int resolve_cmd(const char *cmd, char *path, size_t n)
{
	const char *p = getenv("PATH");

	if (strchr(cmd, '/')) {
		snprintf(path, n, "%s", cmd);
		return access(path, X_OK);
	}
	for (p = p ? p : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(path, n, "%.*s/%s", (int)len, len ? p : ".", cmd);
		if (!access(path, X_OK))
			return 0;
		p += len + (p[len] == ':');
	}
	return -1;
}

/* 1 when the ELF file at path has a program interpreter (PT_INTERP): dynamically linked. */
static int elf_dynamic(int fd)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr))
		return 0;
	for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * sizeof(ph)) != sizeof(ph))
			return 0;
		if (ph.p_type == PT_INTERP)
			return 1;
	}
	return 0;
}

int preload_reaches(const char *cmd, char *why, size_t n)
{
	char path[4096], head[256], interp[256];
	struct stat st;
	ssize_t got;
	int fd, ok = 0;

	for (int depth = 0; depth < 3; depth++) {
		if (resolve_cmd(cmd, path, sizeof(path)) || stat(path, &st)) {
			snprintf(why, n, "%s not found", cmd);
			return 0;
		}
		if (st.st_mode & (S_ISUID | S_ISGID)) {
			snprintf(why, n, "%s is set-id: the loader ignores LD_PRELOAD", path);
			return 0;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -1 : pread(fd, head, sizeof(head) - 1, 0);
		if (got >= 4 && !memcmp(head, ELFMAG, SELFMAG)) {
			ok = elf_dynamic(fd);
			close(fd);
			if (!ok)
				snprintf(why, n, "%s is statically linked", path);
			return ok;
		}
		if (fd >= 0)
			close(fd);
		if (got < 3 || head[0] != '#' || head[1] != '!')
			break;
		/* a script: its interpreter is what runs */
		head[got] = 0;
		char *s = head + 2 + strspn(head + 2, " \t");

		s[strcspn(s, " \t\n")] = 0;
		cmd = strcpy(interp, s);
	}
	snprintf(why, n, "%s: not an ELF program conlab can read", cmd);
	return 0;
}
