// SPDX-License-Identifier: GPL-2.0
/* pyfind.c — the CPython runtime of a process, from its maps and the interpreter's ELF file. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procmem.h"
#include "python/pyfind.h"

/* "python3.11", "libpython3.11.so.1.0": the version from the name, 0 when not one */
static unsigned name_version(const char *path)
{
	const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned major, minor;
	char *end;

	if (!strncmp(b, "lib", 3))
		b += 3;
	if (strncmp(b, "python", 6))
		return 0;
	b += 6;
	major = (unsigned)strtoul(b, &end, 10);
	if (end == b || *end != '.')
		return 0;
	b = end + 1;
	minor = (unsigned)strtoul(b, &end, 10);
	if (end == b || major != 3 || minor > 99)
		return 0;
	return major << 8 | minor;
}

struct elf_syms {
	uint64_t runtime, version;	/* st_value of _PyRuntime, Py_Version */
	uint64_t first_vaddr;		/* of the first PT_LOAD */
	int dyn;			/* ET_DYN: add the load bias */
};

static void scan_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_syms *out)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	for (size_t i = 0; d && i < sh->sh_size / sh->sh_entsize; i++) {
		GElf_Sym s;
		const char *nm;

		if (!gelf_getsym(d, i, &s) || GELF_ST_TYPE(s.st_info) != STT_OBJECT || !s.st_value)
			continue;
		nm = elf_strptr(e, sh->sh_link, s.st_name);
		if (!nm)
			continue;
		if (!strcmp(nm, "_PyRuntime"))
			out->runtime = s.st_value;
		else if (!strcmp(nm, "Py_Version"))
			out->version = s.st_value;
	}
}

static int read_elf(const char *path, struct elf_syms *out)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t nph;
	int fd;
	Elf *e;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || !gelf_getehdr(e, &eh)) {
		if (e)
			elf_end(e);
		close(fd);
		return -1;
	}
	out->dyn = eh.e_type == ET_DYN;
	if (!elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
				out->first_vaddr = ph.p_vaddr & ~4095ull;
				break;
			}
		}
	/* .dynsym first: a stripped interpreter keeps it; .symtab only when it is not there */
	for (int pass = 0; pass < 2 && !out->runtime; pass++) {
		unsigned want = pass ? SHT_SYMTAB : SHT_DYNSYM;

		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_type == want && sh.sh_entsize)
				scan_symtab(e, scn, &sh, out);
		}
	}
	elf_end(e);
	close(fd);
	return out->runtime ? 0 : -1;
}

/* The load bias of path in the process: where its offset 0 is mapped, minus its vaddr. */
static int load_bias(const struct proc_maps *m, const char *path, const struct elf_syms *s,
		     uint64_t *bias)
{
	*bias = 0;
	if (!s->dyn)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].path && !strcmp(m->v[i].path, path) && m->v[i].pgoff == 0) {
			*bias = m->v[i].start - s->first_vaddr;
			return 0;
		}
	return -1;
}

int py_find(pid_t pid, const struct proc_maps *maps, struct py_found *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < maps->n; i++) {
		const char *path = maps->v[i].path;
		struct elf_syms s;
		char file[600];
		uint64_t bias, hex = 0;
		unsigned v;

		if (!path || path[0] != '/' || !(v = name_version(path)) ||
		    (i && maps->v[i - 1].path && !strcmp(maps->v[i - 1].path, path)))
			continue;
		/* the process's view of the file first (it may live in another mount namespace) */
		snprintf(file, sizeof(file), "/proc/%d/root%s", (int)pid, path);
		if (read_elf(file, &s) && read_elf(path, &s))
			continue;
		if (load_bias(maps, path, &s, &bias))
			continue;
		if (s.version && procmem_read(pid, bias + s.version, &hex, 8) == 8 &&
		    hex >> 24 == 3)
			v = (unsigned)(hex >> 16 & 0xffff);
		out->version = v;
		out->hexversion = hex;
		out->runtime = bias + s.runtime;
		snprintf(out->path, sizeof(out->path), "%s", path);
		return 1;
	}
	return 0;
}
