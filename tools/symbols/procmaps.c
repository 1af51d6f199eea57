/* procmaps.c — /proc/PID/maps with build-ids, and lookups over a map list. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/procmaps.h"
#include "lib/util.h"

static size_t note_build_id(Elf_Data *d, uint8_t *out, size_t max)
{
	GElf_Nhdr nh;
	size_t off = 0, noff, doff;

	while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)d->d_buf + noff, "GNU", 4) && nh.n_descsz <= max) {
			memcpy(out, (char *)d->d_buf + doff, nh.n_descsz);
			return nh.n_descsz;
		}
	}
	return 0;
}

size_t elf_build_id(const char *path, uint8_t *out, size_t max)
{
	size_t len = 0, nph = 0;
	Elf *e;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &nph) == 0) {
		/* Program headers first: they are what a stripped file still has. */
		for (size_t i = 0; i < nph && !len; i++) {
			GElf_Phdr ph;
			Elf_Data *d;

			if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_NOTE)
				continue;
			d = elf_getdata_rawchunk(e, ph.p_offset, ph.p_filesz,
						 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (d)
				len = note_build_id(d, out, max);
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return len;
}

void procmaps_add(struct proc_maps *m, const struct map_entry *e)
{
	GROW(m->v, m->cap, m->n + 1);
	m->v[m->n] = *e;
	m->v[m->n].path = xstrdup(e->path ? e->path : "");
	m->n++;
}

void procmaps_clear(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	m->n = 0;
}

void procmaps_free(struct proc_maps *m)
{
	procmaps_clear(m);
	free(m->v);
	m->v = NULL;
	m->cap = 0;
}

int procmaps_read(struct proc_maps *m, pid_t pid, int with_build_ids)
{
	char path[64], line[4096 + 128], last_path[4096] = "";
	uint8_t last_id[20];
	size_t last_len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	procmaps_clear(m);
	m->pid = pid;
	while (fgets(line, sizeof(line), f)) {
		struct map_entry e = {};
		unsigned long long s, en, off, ino;
		char perms[8] = "", dev[16];
		unsigned maj, min;
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &s, &en, perms, &off, dev,
			   &ino, &pos) < 6)
			continue;
		e.start = s;
		e.end = en;
		e.pgoff = off;
		e.inode = ino;
		if (sscanf(dev, "%x:%x", &maj, &min) == 2)
			e.dev = maj << 16 | min;
		e.prot = (perms[0] == 'r' ? MAP_PROT_R : 0) | (perms[1] == 'w' ? MAP_PROT_W : 0) |
			 (perms[2] == 'x' ? MAP_PROT_X : 0);
		e.path = line + pos;
		e.path[strcspn(e.path, "\n")] = 0;
		if (with_build_ids && e.path[0] == '/') {
			if (strcmp(e.path, last_path)) {
				snprintf(last_path, sizeof(last_path), "%s", e.path);
				/* map_files sees the mapped file even across a mount namespace */
				last_len = elf_build_id(e.path, last_id, sizeof(last_id));
			}
			memcpy(e.build_id, last_id, last_len);
			e.build_id_len = last_len;
		}
		procmaps_add(m, &e);
	}
	fclose(f);
	return 0;
}

const struct map_entry *procmaps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* /proc lists mappings sorted; trace files keep that order */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	for (size_t i = 0; i < m->n; i++)	/* unsorted input: linear fallback */
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

int procmaps_exe_text(const struct proc_maps *m, const char *exe_path, uint64_t *lo, uint64_t *hi)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct map_entry *e = &m->v[i];

		if (!(e->prot & MAP_PROT_X) || e->path[0] != '/')
			continue;
		if (exe_path && strcmp(e->path, exe_path))
			continue;
		*lo = e->start;
		*hi = e->end;
		return 0;
	}
	return -1;
}
