/* elfsyms.c — the named symbols of an ELF file on disk (see elfsyms.h). */
#include <fcntl.h>
#include <unistd.h>

#include "symbols/elfsyms.h"

int elf_file_open(struct elf_file *f, const char *path)
{
	f->e = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	f->e = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->e) {
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 0;
}

void elf_file_close(struct elf_file *f)
{
	if (f->e)
		elf_end(f->e);
	if (f->fd >= 0)
		close(f->fd);
	f->e = NULL;
	f->fd = -1;
}

/* The symbol versions that go with a .dynsym (GNU versym: one 16-bit word per symbol). */
static Elf_Data *versyms(Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	return NULL;
}

int elf_each_sym(const struct elf_file *f, unsigned sh_type, elf_sym_fn fn, void *ctx)
{
	Elf_Scn *scn = NULL;
	Elf_Data *vers = sh_type == SHT_DYNSYM ? versyms(f->e) : NULL;
	int seen = 0;

	while ((scn = elf_nextscn(f->e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type || !sh.sh_entsize)
			continue;
		seen = 1;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *nm;
			int hidden;

			if (!gelf_getsym(d, (int)i, &s) || !s.st_value)
				continue;
			nm = elf_strptr(f->e, sh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			hidden = vers && (i + 1) * 2 <= vers->d_size &&
				 (((const uint16_t *)vers->d_buf)[i] & 0x8000);
			if (fn(ctx, nm, &s, hidden))
				return 1;
		}
	}
	return seen ? 0 : -1;
}

int elf_vaddr_to_off(Elf *e, uint64_t va, uint64_t *off)
{
	size_t nph;

	if (elf_getphdrnum(e, &nph))
		return -1;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}
