/*
 * symbolize.h — code and data addresses to names, for a live process or offline.
 *
 *	struct symbolizer *s = symbolizer__new_pid(pid);	   (live: /proc/PID/maps + files)
 *	struct symbolizer *s = symbolizer__new_maps(&maps);   (offline: maps saved in a trace)
 *	symbolizer__code(s, pc, SYM_RETADDR, &c);   c.func, c.off, c.file, c.line, c.module
 *	symbolizer__data(s, addr, name, sizeof(name));   "fork_m[3]", "ctx.lock", "log_lock"
 *	symbolizer__free(s);
 *
 * Modules are loaded once (ELF, symbol table, DWARF when present) and every answer is cached
 * by address. What is not known stays NULL ("??" when printed) per frame; a lookup never fails
 * a whole stack. Strings in struct sym_code live as long as the symbolizer.
 */
#ifndef CONLAB_SYMBOLIZE_H
#define CONLAB_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbols/procmaps.h"

struct symbolizer;

/* pc is a return address (every frame but the innermost, unless it is a signal frame): look
 * up pc - 1 so a call at the end of a function is not put in the next one. */
#define SYM_RETADDR 0x1

struct sym_code {
	const char *func;	/* NULL: unknown */
	uint64_t off;		/* pc - start of func */
	const char *file;	/* source path from DWARF, NULL without debug info */
	int line;		/* 0: unknown */
	const char *module;	/* basename of the ELF file, NULL outside any file mapping */
	int in_main;		/* the module is the program itself (not a shared library) */
};

/* A module whose frames are the mechanics of a wait, not the program's reason for it: the C
 * library, the dynamic loader, and conlab's own lock interposer (--locks=preload). */
int sym_system_module(const char *module);
struct symbolizer *symbolizer__new_pid(pid_t pid);
struct symbolizer *symbolizer__new_maps(const struct proc_maps *maps);
void symbolizer__free(struct symbolizer *s);

/* 0 when something is known (at least the module), -1 when nothing is; out is always set. */
int symbolizer__code(struct symbolizer *s, uint64_t pc, unsigned flags, struct sym_code *out);

/* Answer c for pc from now on (as a return address too): frames that are no machine code,
 * such as a Python frame given a made-up pc (model/pystacks.h). */
void symbolizer__set_code(struct symbolizer *s, uint64_t pc, const struct sym_code *c);

/* Name of the global data object at addr: "fork_m[3]" (element from the DWARF type),
 * "ctx.holding" (struct member), "sym+0x10" without DWARF. 0, or -1 when addr is in no
 * object symbol (heap, stack, stripped file). */
int symbolizer__data(struct symbolizer *s, uint64_t addr, char *name, size_t n);
/* Same, knowing the size of the object at addr (a pthread_mutex_t is 40 bytes): without DWARF,
 * an array of such objects is still named by element, and descent into a struct stops at a
 * member of that size. */
int symbolizer__data_sized(struct symbolizer *s, uint64_t addr, uint64_t objsize, char *name,
			   size_t n);

#endif
