/*
 * uprobes.h — where to put the lock uprobes in glibc: find the lock functions in libc's
 * dynamic symbols and decode their first instructions to choose, for each, the first spot the
 * kernel emulates (push, jmp, jcc, call, nop) instead of single-stepping (~20 µs per hit on a
 * VM against 0.5-5 µs by VM), where %rdi still holds the lock, the stack offset of the return address
 * is known, and no loop comes back (a probe in a CAS retry loop would fire more than once).
 * A function with no such spot is probed at its entry, which is always correct but slow.
 */
#ifndef CONLAB_UPROBES_H
#define CONLAB_UPROBES_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "locks.h"

#define UP_MAX_SITES 8

struct up_site {
	uint32_t rel;		/* offset from the function's start */
	uint32_t sp_off;	/* return address at [rsp + sp_off] here */
	int emulated;		/* 0: the entry fallback (single-stepped) */
	char insn[16];		/* mnemonic of the probed instruction */
};

struct up_func {
	const char *name;	/* glibc symbol */
	enum lk_probe probe;
	int retprobe;		/* a uretprobe goes at the same spot (needs sp_off == 0) */
	int found;
	uint64_t file_off;	/* the function's offset in the file */
	struct up_site sites[UP_MAX_SITES];	/* candidates, best first; the last is the entry */
	int nsites;
};

struct up_plan {
	char libc[256];
	struct up_func funcs[LKP_NPROBES];
};

/* The libc.so.6 mapped by pid (0: this process); 0 or -1 with a message. */
int uprobes_find_libc(pid_t pid, char *path, size_t n);

/* Fill plan for the libc at path: every lock function found and its candidate sites. */
int uprobes_plan(struct up_plan *plan, const char *libc);

/*
 * Decode code (n bytes, the start of a function) and fill up to max candidate sites, best
 * first, the entry last. need_sp0: only spots where the return address is at [rsp] (for a
 * uretprobe). Exposed for the unit tests.
 */
int uprobes_sites(const uint8_t *code, size_t n, int need_sp0, struct up_site *sites, int max);

struct bpf_program;
struct bpf_link;

/* Attach progs[probe] (and ret_prog as the uretprobe of the retprobe functions) for pid at the
 * plan's first site whose stack offset is sp_off[probe]; when the kernel refuses a spot with
 * EINVAL (another tracer's uprobe there) say so in one line and take the next. Links are
 * appended to *links. 0, or -1 with a message when pthread_mutex_lock/unlock cannot be probed. */
int uprobes_attach(const struct up_plan *plan, struct bpf_program *const *progs,
		   struct bpf_program *ret_prog, const uint32_t *sp_off, pid_t pid,
		   struct bpf_link ***links, size_t *nlinks);
/* The site each probe uses (the first candidate): for the BPF stack offsets. */
const struct up_site *uprobes_first(const struct up_plan *plan, enum lk_probe p);

/* What the mutex probes cost on this machine, measured in conlab's own process. */
struct up_cost {
	struct up_site site[2];	/* the spots used in pthread_mutex_lock and _unlock */
	int emulated;		/* both are instructions the kernel emulates */
	double pair_ns;		/* thread CPU ns the two probes add to a lock/unlock pair */
};

/* Attach lock_prog and unlock_prog where uprobes_attach puts them, for this process only, and
 * time CAL_PAIRS lock/unlock pairs of a private mutex with and without them (a few ms). The
 * programs return at once for an untraced process, so this is the kernel's share: the trap
 * and, where the instruction is not emulated, the single-step. 0, or -1 with a message. */
int uprobes_calibrate(const struct up_plan *plan, struct bpf_program *lock_prog,
		      struct bpf_program *unlock_prog, const uint32_t *sp_off, struct up_cost *c);

#endif
