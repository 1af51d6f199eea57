/* gilprobe.c — take_gil / drop_gil in an interpreter's symbol table (see gilprobe.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/gilprobe.h"
#include "capture/uprobes.h"
#include "symbols/elfsyms.h"

/* Is the first instruction at off one the kernel emulates? Its mnemonic in insn. */
static int entry_emulated(int fd, uint64_t off, char *insn, size_t n)
{
	struct up_site sites[UP_MAX_SITES];
	uint8_t code[64];
	ssize_t got = pread(fd, code, sizeof(code), off);
	int ns;

	snprintf(insn, n, "?");
	if (got <= 0)
		return 0;
	ns = uprobes_sites(code, got, 1, sites, UP_MAX_SITES);
	for (int i = 0; i < ns; i++)
		if (sites[i].rel == 0) {
			snprintf(insn, n, "%s", sites[i].insn);
			return sites[i].emulated;
		}
	return 0;
}

/* take_gil and drop_gil: static functions, so in .symtab only (an unstripped interpreter) */
struct gil_look {
	uint64_t take, drop;
};

static int gil_sym(void *ctx, const char *name, const GElf_Sym *s, int hidden)
{
	struct gil_look *g = ctx;

	(void)hidden;
	if (GELF_ST_TYPE(s->st_info) != STT_FUNC)
		return 0;
	if (!strcmp(name, "take_gil"))
		g->take = s->st_value;
	else if (!strcmp(name, "drop_gil"))
		g->drop = s->st_value;
	return g->take && g->drop;
}

int gilprobe_find(const char *path, struct gil_syms *out)
{
	struct gil_look g = {0};
	struct elf_file f;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (elf_file_open(&f, path))
		return -1;
	elf_each_sym(&f, SHT_SYMTAB, gil_sym, &g);
	if (g.take && g.drop && !elf_vaddr_to_off(f.e, g.take, &out->take_off) &&
	    !elf_vaddr_to_off(f.e, g.drop, &out->drop_off)) {
		out->take_emulated = entry_emulated(f.fd, out->take_off, out->take_insn,
						    sizeof(out->take_insn));
		out->drop_emulated = entry_emulated(f.fd, out->drop_off, out->drop_insn,
						    sizeof(out->drop_insn));
		found = 1;
	}
	elf_file_close(&f);
	return found;
}

const char *gil_python_version(const char *path, char *buf, size_t n)
{
	const char *b, *p;
	size_t k = 0;

	if (!path)
		return NULL;
	b = strrchr(path, '/');
	b = b ? b + 1 : path;
	p = strstr(b, "python3");
	if (!p || (p != b && strncmp(b, "libpython3", 10)))
		return NULL;
	p += 6;	/* at "3" */
	while (p[k] && (isdigit((unsigned char)p[k]) || p[k] == '.') && k + 1 < n)
		k++;
	while (k > 1 && p[k - 1] == '.')
		k--;
	if (!k || n < 2)
		return NULL;
	memcpy(buf, p, k);
	buf[k] = 0;
	return buf;
}
