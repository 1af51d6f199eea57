// SPDX-License-Identifier: GPL-2.0
/* pyfind.c — the CPython runtime of a process, from its maps and the interpreter's ELF file. */
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/procmem.h"
#include "python/pyfind.h"
#include "symbols/elfsyms.h"

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

/* _PyRuntime and Py_Version: data symbols, exported (.dynsym) even by a stripped python3 */
static int runtime_sym(void *ctx, const char *name, const GElf_Sym *s, int hidden)
{
	struct elf_syms *out = ctx;

	(void)hidden;
	if (GELF_ST_TYPE(s->st_info) != STT_OBJECT)
		return 0;
	if (!strcmp(name, "_PyRuntime"))
		out->runtime = s->st_value;
	else if (!strcmp(name, "Py_Version"))
		out->version = s->st_value;
	return out->runtime && out->version;
}

static int read_elf(const char *path, struct elf_syms *out)
{
	struct elf_file f;
	GElf_Ehdr eh;
	size_t nph;

	memset(out, 0, sizeof(*out));
	if (elf_file_open(&f, path))
		return -1;
	if (!gelf_getehdr(f.e, &eh)) {
		elf_file_close(&f);
		return -1;
	}
	out->dyn = eh.e_type == ET_DYN;
	if (!elf_getphdrnum(f.e, &nph))
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(f.e, (int)i, &ph) && ph.p_type == PT_LOAD) {
				out->first_vaddr = ph.p_vaddr & ~4095ull;
				break;
			}
		}
	/* .dynsym first: a stripped interpreter keeps it; .symtab only when it is not there */
	elf_each_sym(&f, SHT_DYNSYM, runtime_sym, out);
	if (!out->runtime)
		elf_each_sym(&f, SHT_SYMTAB, runtime_sym, out);
	elf_file_close(&f);
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
