/*
 * gilprobe.h — where CPython's GIL functions are: take_gil and drop_gil are static functions,
 * so only the .symtab of an unstripped interpreter or libpython names them (pyenv and
 * python.org builds keep it; distribution packages strip it). Finds their file offsets for the
 * GIL uprobes (bpf/gil.bpf.c) and says whether each entry instruction is one the kernel
 * emulates (cheap) or must single-step (20-26 µs a hit on a VM, docs/design.md).
 */
#ifndef CONLAB_GILPROBE_H
#define CONLAB_GILPROBE_H

#include <stddef.h>
#include <stdint.h>

struct gil_syms {
	uint64_t take_off, drop_off;	/* file offsets of take_gil and drop_gil */
	int take_emulated, drop_emulated;
	char take_insn[16], drop_insn[16];	/* the entry instruction's mnemonic */
};

/* 1 when path has both symbols (filled), 0 when it has not (stripped, not an interpreter),
 * -1 when it cannot be read. */
int gilprobe_find(const char *path, struct gil_syms *out);

/* "3.11" when a path names a CPython interpreter or libpython (python3.11, libpython3.12.so),
 * "3" for a bare python3; NULL otherwise. Writes into buf. */
const char *gil_python_version(const char *path, char *buf, size_t n);

#endif
