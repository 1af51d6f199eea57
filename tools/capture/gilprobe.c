/* gilprobe.c — take_gil / drop_gil in an interpreter's symbol table (see gilprobe.h). */
#include <ctype.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/gilprobe.h"
#include "capture/uprobes.h"

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

int gilprobe_find(const char *path, struct gil_syms *out)
{
	uint64_t take = 0, drop = 0;
	Elf_Scn *scn = NULL;
	int fd, found = 0;
	Elf *e;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		close(fd);
		return -1;
	}
	while ((scn = elf_nextscn(e, scn)) && !(take && drop)) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !(take && drop); i++) {
			GElf_Sym s;
			const char *nm;

			if (!gelf_getsym(d, i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    !s.st_value)
				continue;
			nm = elf_strptr(e, sh.sh_link, s.st_name);
			if (!nm)
				continue;
			if (!strcmp(nm, "take_gil"))
				take = s.st_value;
			else if (!strcmp(nm, "drop_gil"))
				drop = s.st_value;
		}
	}
	if (take && drop && !elf_vaddr_to_off(e, take, &out->take_off) &&
	    !elf_vaddr_to_off(e, drop, &out->drop_off)) {
		out->take_emulated = entry_emulated(fd, out->take_off, out->take_insn,
						    sizeof(out->take_insn));
		out->drop_emulated = entry_emulated(fd, out->drop_off, out->drop_insn,
						    sizeof(out->drop_insn));
		found = 1;
	}
	elf_end(e);
	close(fd);
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
