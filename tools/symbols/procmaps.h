/*
 * procmaps.h — a process's memory map (from /proc/PID/maps or from a trace file's
 * EV_META_MAPS records), with the build-id of each mapped ELF file.
 */
#ifndef CONLAB_PROCMAPS_H
#define CONLAB_PROCMAPS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define MAP_PROT_R 0x1
#define MAP_PROT_W 0x2
#define MAP_PROT_X 0x4

struct map_entry {
	uint64_t start, end, pgoff;
	uint32_t prot;			/* MAP_PROT_* */
	uint8_t build_id[20];
	uint32_t build_id_len;		/* 0: none found */
	uint64_t inode;			/* the file's, with dev (major << 16 | minor); 0: none
					 * (a file's mappings under two names are one file) */
	uint32_t dev;
	char *path;			/* "" for anonymous; "[stack]", "[heap]", ... kept */
};

struct proc_maps {
	pid_t pid;
	struct map_entry *v;
	size_t n, cap;
};

/* Read /proc/PID/maps; with_build_ids reads each file's build-id note (cached per path).
 * Returns 0 or -errno. */
int procmaps_read(struct proc_maps *m, pid_t pid, int with_build_ids);
void procmaps_add(struct proc_maps *m, const struct map_entry *e); /* copies path */
void procmaps_clear(struct proc_maps *m);
void procmaps_free(struct proc_maps *m);
/* The mapping that contains addr, or NULL. */
const struct map_entry *procmaps_find(const struct proc_maps *m, uint64_t addr);
/* The executable text range of the main program (first r-x mapping of the exe path, found
 * through /proc/PID/exe when live, else the first r-x file mapping); 0 or -1. */
int procmaps_exe_text(const struct proc_maps *m, const char *exe_path, uint64_t *lo, uint64_t *hi);
/* Read the GNU build-id of an ELF file; its length or 0. */
size_t elf_build_id(const char *path, uint8_t *out, size_t max);

#endif
