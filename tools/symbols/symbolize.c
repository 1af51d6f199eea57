// SPDX-License-Identifier: GPL-2.0
/*
 * symbolize.c — libdwfl behind a small cache.
 *
 * Live processes use libdwfl's /proc reporting (it also finds the vDSO and deleted files
 * through the process memory). Offline maps are reported module by module with a find_elf
 * callback that tries the build-id first (debug directories) and then the recorded path;
 * libdwfl rejects a file whose build-id differs from the reported one.
 *
 * Data names come from the ELF symbol table (OBJECT symbols, sorted per module on first use).
 * With DWARF the variable's type says which element or member an address falls in.
 */
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/idmap.h"
#include "symbols/symbolize.h"
#include "lib/util.h"

struct objsym {
	uint64_t addr, size;
	const char *name;	/* owned by libelf, valid while the Dwfl lives */
	int bind;
	int type_state;		/* 0 not looked up, 1 found (type_off valid), -1 none */
	Dwarf_Off type_off;
};

struct modinfo {
	Dwfl_Module *mod;
	uint64_t lo, hi;	/* hi extended to the end of the last PT_LOAD (covers .bss) */
	struct objsym *syms;
	size_t nsyms;
	int syms_loaded;
	int is_main;
};

struct code_entry {
	struct sym_code c;
};

struct symbolizer {
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	struct modinfo *mods;
	size_t nmods, cap_mods;
	int mods_loaded;
	char *main_path;	/* the program's file, to tell it from libraries */
	struct idmap code_cache;
	struct code_entry *codes;
	size_t ncodes, cap_codes;
	char **strs;		/* interned strings handed out in sym_code */
	size_t nstrs, cap_strs;
};

static const char *intern(struct symbolizer *s, const char *str)
{
	if (!str)
		return NULL;
	for (size_t i = s->nstrs; i-- > 0 && i + 64 > s->nstrs;)
		if (!strcmp(s->strs[i], str))
			return s->strs[i];
	GROW(s->strs, s->cap_strs, s->nstrs + 1);
	s->strs[s->nstrs] = xstrdup(str);
	return s->strs[s->nstrs++];
}

static const char *base_name(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p;
}

static struct symbolizer *new_common(void)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.debuginfo_path = &s->debuginfo_path;
	return s;
}

struct symbolizer *symbolizer__new_pid(pid_t pid)
{
	struct symbolizer *s = new_common();
	char path[64], exe[4096];
	ssize_t n;
	int err;

	s->cb.find_elf = dwfl_linux_proc_find_elf;
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl)
		goto fail;
	dwfl_report_begin(s->dwfl);
	err = dwfl_linux_proc_report(s->dwfl, pid);
	dwfl_report_end(s->dwfl, NULL, NULL);
	if (err) {
		errno = err > 0 ? err : ESRCH;
		goto fail;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		s->main_path = xstrdup(exe);
	}
	return s;
fail:
	err = errno;
	symbolizer__free(s);
	errno = err;
	return NULL;
}

/* Offline: the build-id lookup first (debug dirs), then the recorded path. */
static int maps_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	int fd = dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);

	if (fd >= 0 || *elfp)
		return fd;
	fd = open(modname, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		*file_name = strdup(modname);
	return fd;
}

struct symbolizer *symbolizer__new_maps(const struct proc_maps *m)
{
	struct symbolizer *s = new_common();

	s->cb.find_elf = maps_find_elf;
	s->dwfl = dwfl_begin(&s->cb);
	if (!s->dwfl) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	for (size_t i = 0; i < m->n;) {
		const struct map_entry *e = &m->v[i];
		uint64_t lo = e->start - e->pgoff, hi = e->end;
		size_t j = i + 1;
		Dwfl_Module *mod;

		if (!e->path || e->path[0] != '/') {
			i++;
			continue;
		}
		/* one module per run of mappings of the same file */
		while (j < m->n && m->v[j].path && !strcmp(m->v[j].path, e->path)) {
			if (m->v[j].end > hi)
				hi = m->v[j].end;
			j++;
		}
		if (!s->main_path && (e->prot & MAP_PROT_X || j > i + 1))
			s->main_path = xstrdup(e->path);
		mod = dwfl_report_module(s->dwfl, e->path, lo, hi);
		if (mod && e->build_id_len)
			dwfl_module_report_build_id(mod, e->build_id, e->build_id_len, 0);
		i = j;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	for (size_t i = 0; i < s->nmods; i++)
		free(s->mods[i].syms);
	free(s->mods);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->codes);
	idmap_free(&s->code_cache);
	free(s->main_path);
	free(s);
}

/* ---- modules ------------------------------------------------------------------------------ */

static int collect_mod(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	struct symbolizer *s = arg;
	struct modinfo *mi;
	Dwarf_Addr end, bias;
	const char *file = NULL;
	Elf *elf;
	size_t nph;

	(void)userdata;
	(void)start;
	GROW(s->mods, s->cap_mods, s->nmods + 1);
	mi = &s->mods[s->nmods++];
	memset(mi, 0, sizeof(*mi));
	mi->mod = mod;
	dwfl_module_info(mod, NULL, &mi->lo, &end, NULL, NULL, &file, NULL);
	mi->hi = end;
	/* .bss past the file's last page is an anonymous mapping outside the module's range */
	elf = dwfl_module_getelf(mod, &bias);
	if (elf && !elf_getphdrnum(elf, &nph)) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr + ph.p_memsz + bias > mi->hi)
				mi->hi = ph.p_vaddr + ph.p_memsz + bias;
		}
	}
	if (s->main_path && ((file && !strcmp(file, s->main_path)) || !strcmp(name, s->main_path)))
		mi->is_main = 1;
	return DWARF_CB_OK;
}

static void load_mods(struct symbolizer *s)
{
	if (s->mods_loaded)
		return;
	s->mods_loaded = 1;
	dwfl_getmodules(s->dwfl, collect_mod, s, 0);
}

static struct modinfo *find_mod(struct symbolizer *s, uint64_t addr)
{
	load_mods(s);
	for (size_t i = 0; i < s->nmods; i++)
		if (addr >= s->mods[i].lo && addr < s->mods[i].hi)
			return &s->mods[i];
	return NULL;
}

/* ---- code --------------------------------------------------------------------------------- */

int symbolizer__code(struct symbolizer *s, uint64_t pc, unsigned flags, struct sym_code *out)
{
	uint64_t look = (flags & SYM_RETADDR) && pc ? pc - 1 : pc;
	uint64_t key = (pc << 1) | (flags & SYM_RETADDR);
	int64_t hit = idmap_get(&s->code_cache, key);
	struct modinfo *mi;
	Dwfl_Module *mod;
	Dwfl_Line *line;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name, *mname = NULL;
	struct sym_code c = { 0 };

	if (hit >= 0) {
		*out = s->codes[hit].c;
		return out->module ? 0 : -1;
	}
	mod = dwfl_addrmodule(s->dwfl, look);
	if (mod) {
		dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mname, NULL);
		if (!mname)
			mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		c.module = intern(s, base_name(mname));
		mi = find_mod(s, look);
		c.in_main = mi && mi->is_main;
		name = dwfl_module_addrinfo(mod, look, &off, &sym, NULL, NULL, NULL);
		if (name) {
			c.func = intern(s, name);
			c.off = off + (pc - look);
		}
		line = dwfl_module_getsrc(mod, look);
		if (line) {
			int lineno = 0;
			const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

			if (src && lineno > 0) {
				c.file = intern(s, src);
				c.line = lineno;
			}
		}
	}
	GROW(s->codes, s->cap_codes, s->ncodes + 1);
	s->codes[s->ncodes].c = c;
	idmap_put(&s->code_cache, key, (uint32_t)s->ncodes++);
	*out = c;
	return c.module ? 0 : -1;
}

void symbolizer__set_code(struct symbolizer *s, uint64_t pc, const struct sym_code *c)
{
	struct sym_code k = *c;

	k.func = intern(s, c->func);
	k.file = intern(s, c->file);
	k.module = intern(s, c->module);
	for (uint64_t ret = 0; ret < 2; ret++) {
		GROW(s->codes, s->cap_codes, s->ncodes + 1);
		s->codes[s->ncodes].c = k;
		idmap_put(&s->code_cache, (pc << 1) | ret, (uint32_t)s->ncodes++);
	}
}

/* ---- data --------------------------------------------------------------------------------- */

static int objsym_cmp(const void *x, const void *y)
{
	const struct objsym *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	/* at one address prefer a global, then a name that is not reserved */
	if (a->bind != b->bind)
		return a->bind == STB_GLOBAL ? -1 : (b->bind == STB_GLOBAL ? 1 : 0);
	return (a->name[0] == '_') - (b->name[0] == '_');
}

static void load_syms(struct modinfo *mi)
{
	int n;
	size_t cap = 0;

	if (mi->syms_loaded)
		return;
	mi->syms_loaded = 1;
	n = dwfl_module_getsymtab(mi->mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mi->mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);

		if (!name || !*name || (type != STT_OBJECT && type != STT_COMMON) ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		GROW(mi->syms, cap, mi->nsyms + 1);
		mi->syms[mi->nsyms++] = (struct objsym){
			.addr = addr, .size = sym.st_size, .name = name,
			.bind = GELF_ST_BIND(sym.st_info),
		};
	}
	qsort(mi->syms, mi->nsyms, sizeof(*mi->syms), objsym_cmp);
}

static struct objsym *find_objsym(struct modinfo *mi, uint64_t addr)
{
	struct objsym *best = NULL;
	size_t lo = 0, hi;

	load_syms(mi);
	hi = mi->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mi->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo - 1 is the last symbol at or below addr; walk back over same-address aliases */
	for (size_t i = lo; i-- > 0;) {
		struct objsym *o = &mi->syms[i];

		if (best && o->addr != best->addr)
			break;
		if (addr < o->addr + (o->size ? o->size : 1))
			best = o;
		else if (!best)
			break;
	}
	return best;
}

/* The variable DIE at this address: DW_OP_addr in its location must match. */
static int find_var_type(Dwfl_Module *mod, const struct objsym *o, Dwarf_Die *type)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;

	while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
		Dwarf_Die die;

		if (dwarf_child(cu, &die))
			continue;
		do {
			Dwarf_Attribute attr;
			Dwarf_Op *ops;
			size_t nops;
			const char *name;

			if (dwarf_tag(&die) != DW_TAG_variable)
				continue;
			name = dwarf_diename(&die);
			if (!name || strcmp(name, o->name))
				continue;
			if (!dwarf_attr(&die, DW_AT_location, &attr) ||
			    dwarf_getlocation(&attr, &ops, &nops) || nops < 1 ||
			    ops[0].atom != DW_OP_addr || ops[0].number + bias != o->addr)
				continue;
			if (!dwarf_attr_integrate(&die, DW_AT_type, &attr) ||
			    !dwarf_formref_die(&attr, type))
				return -1;
			return 0;
		} while (dwarf_siblingof(&die, &die) == 0);
	}
	return -1;
}

static int die_type(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, out) ? 0 :
											       -1;
}

static uint64_t type_size(Dwarf_Die *t)
{
	Dwarf_Word sz;

	return dwarf_aggregate_size(t, &sz) ? 0 : sz;
}

static void appendf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t n, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, n - len, fmt, ap);
	va_end(ap);
}

/* Array dimensions (counts) of an array type DIE; the number of dimensions. */
static int array_dims(Dwarf_Die *arr, uint64_t *dims, int max)
{
	Dwarf_Die sub;
	int nd = 0;

	if (dwarf_child(arr, &sub))
		return 0;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word v;

		if (dwarf_tag(&sub) != DW_TAG_subrange_type || nd >= max)
			continue;
		if (dwarf_attr(&sub, DW_AT_count, &attr) && !dwarf_formudata(&attr, &v))
			dims[nd++] = v;
		else if (dwarf_attr(&sub, DW_AT_upper_bound, &attr) && !dwarf_formudata(&attr, &v))
			dims[nd++] = v + 1;
		else
			return 0;	/* flexible or variable length: no index */
	} while (dwarf_siblingof(&sub, &sub) == 0);
	return nd;
}

/* Descend arrays and structs from the variable's type until off lands on an object start. */
static void name_in_type(Dwarf_Die *type, uint64_t off, uint64_t hint, char *buf, size_t n)
{
	Dwarf_Die t = *type, next;

	for (int depth = 0; depth < 12; depth++) {
		int tag = dwarf_tag(&t);
		uint64_t sz = type_size(&t);

		if (off == 0 && (!hint || sz == hint) && tag != DW_TAG_array_type)
			break;
		if (tag == DW_TAG_typedef || tag == DW_TAG_const_type ||
		    tag == DW_TAG_volatile_type || tag == DW_TAG_restrict_type ||
		    tag == DW_TAG_atomic_type) {
			if (die_type(&t, &next))
				break;
			t = next;
			continue;
		}
		if (tag == DW_TAG_array_type) {
			uint64_t dims[8], esz;
			int nd = array_dims(&t, dims, 8);

			if (!nd || die_type(&t, &next) || !(esz = type_size(&next)))
				break;
			for (int d = 0; d < nd; d++) {
				uint64_t stride = esz;

				for (int k = d + 1; k < nd; k++)
					stride *= dims[k];
				appendf(buf, n, "[%" PRIu64 "]", off / stride);
				off %= stride;
			}
			t = next;
			continue;
		}
		if (tag == DW_TAG_structure_type || tag == DW_TAG_class_type) {
			Dwarf_Die m;
			int found = 0;

			if (dwarf_child(&t, &m))
				break;
			do {
				Dwarf_Attribute attr;
				Dwarf_Word loc;
				uint64_t msz;
				const char *mname;

				if (dwarf_tag(&m) != DW_TAG_member || die_type(&m, &next))
					continue;
				if (!dwarf_attr(&m, DW_AT_data_member_location, &attr) ||
				    dwarf_formudata(&attr, &loc))
					continue;
				msz = type_size(&next);
				if (off < loc || off >= loc + (msz ? msz : 1))
					continue;
				mname = dwarf_diename(&m);
				if (mname)
					appendf(buf, n, ".%s", mname);
				off -= loc;
				t = next;
				found = 1;
				break;
			} while (dwarf_siblingof(&m, &m) == 0);
			if (!found)
				break;
			continue;
		}
		break;	/* unions, base types, pointers: the name ends here */
	}
	if (off)
		appendf(buf, n, "+0x%" PRIx64, off);
}

int symbolizer__data_sized(struct symbolizer *s, uint64_t addr, uint64_t objsize, char *name,
			   size_t n)
{
	struct modinfo *mi = find_mod(s, addr);
	struct objsym *o;
	uint64_t off;

	if (n)
		name[0] = 0;
	if (!mi || !n)
		return -1;
	o = find_objsym(mi, addr);
	if (!o)
		return -1;
	off = addr - o->addr;
	snprintf(name, n, "%s", o->name);
	if (!o->type_state) {
		Dwarf_Die type;

		o->type_state = -1;
		if (!find_var_type(mi->mod, o, &type)) {
			o->type_state = 1;
			o->type_off = dwarf_dieoffset(&type);
		}
	}
	if (o->type_state > 0) {
		Dwarf_Addr bias;
		Dwarf *dbg = dwfl_module_getdwarf(mi->mod, &bias);
		Dwarf_Die type;

		if (dbg && dwarf_offdie(dbg, o->type_off, &type)) {
			name_in_type(&type, off, objsize, name, n);
			return 0;
		}
	}
	/* no DWARF: an array of objects of the known size is still indexable */
	if (objsize && o->size > objsize && o->size % objsize == 0) {
		appendf(name, n, "[%" PRIu64 "]", off / objsize);
		off %= objsize;
	}
	if (off)
		appendf(name, n, "+0x%" PRIx64, off);
	return 0;
}

int symbolizer__data(struct symbolizer *s, uint64_t addr, char *name, size_t n)
{
	return symbolizer__data_sized(s, addr, 0, name, n);
}

int sym_system_module(const char *module)
{
	static const char *const libs[] = { "libc.so", "libc-", "ld-linux", "ld-", "libpthread",
					    "libconlab-preload" };

	for (size_t i = 0; module && i < sizeof(libs) / sizeof(libs[0]); i++)
		if (!strncmp(module, libs[i], strlen(libs[i])))
			return 1;
	return 0;
}
