/*
 * elfsyms.h — the named symbols of an ELF file on disk: its symbol tables walked once, by
 * whoever needs a few addresses from them (the GIL probes' take_gil/drop_gil, the CPython
 * runtime's _PyRuntime, glibc's lock functions), and a virtual address as a file offset.
 */
#ifndef CONLAB_ELFSYMS_H
#define CONLAB_ELFSYMS_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
	int fd;
	Elf *e;
};

/* Open path read-only; 0, or -1 (errno set when the file could not be opened). */
int elf_file_open(struct elf_file *f, const char *path);
void elf_file_close(struct elf_file *f);

/* Called for each named symbol with a value; `hidden`: a non-default version (versym's
 * hidden bit, .dynsym only). A non-zero return stops the walk. */
typedef int (*elf_sym_fn)(void *ctx, const char *name, const GElf_Sym *s, int hidden);
/* Walk the table of type sh_type (SHT_DYNSYM or SHT_SYMTAB). 1 when fn stopped the walk,
 * 0 when it went through, -1 when the file has no such table. */
int elf_each_sym(const struct elf_file *f, unsigned sh_type, elf_sym_fn fn, void *ctx);

/* File offset of a virtual address, from the PT_LOAD that holds it; 0 or -1. */
int elf_vaddr_to_off(Elf *e, uint64_t va, uint64_t *off);

#endif
