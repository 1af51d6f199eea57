/*
 * source.h — the live event source: conlab's BPF object opened, configured, loaded and
 * attached, and its ring buffer drained by polling (no wakeup per event), its records in time
 * order.
 */
#ifndef CONLAB_SOURCE_H
#define CONLAB_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct source_opts {
	int trace_all;		/* -a */
	uint64_t buffer_bytes;	/* ring buffer size; rounded up to a power of two */
	int want_stacks;
	int verbose;		/* show libbpf's messages */
	int locks;		/* REC_LOCKS_* (recorder.h): load the lock uprobes */
	int gil;		/* load the GIL uprobes (attached per interpreter file) */
	int futex_calls;	/* the futex syscall exit probes (futex.bpf.c) */
	int no_loop_waits;	/* leave out the event-loop wait probes (io.bpf.c) */
};

/* Called for every record drained; return non-zero to stop the current drain. */
typedef int (*source_cb)(void *ctx, const struct ev_hdr *rec, size_t size);

struct bpf_source;

/* NULL on failure, after one clear line on stderr saying what is missing. */
struct bpf_source *source_open(const struct source_opts *o, source_cb cb, void *ctx);
int source_trace_pid(struct bpf_source *s, uint32_t tgid);
int source_set_text(struct bpf_source *s, uint32_t tgid, uint64_t lo, uint64_t hi);
/* Attach the lock uprobes (--locks) for one process; 0 when --locks is off. */
int source_attach_locks(struct bpf_source *s, uint32_t pid);
/* The GIL uprobes on an interpreter or libpython file (a mapping of a traced process), once
 * per file: 1 attached now, 0 not (no take_gil/drop_gil symbols, done before, --gil off), -1
 * when the kernel refused (said on stderr). */
int source_attach_gil(struct bpf_source *s, const char *path);
/* The switch probe walks the Python stacks of a CPython process's threads (bpf/pystack.h);
 * p NULL: not any more. 0 or -1 (the map is full). */
struct py_bpf_proc;
int source_set_python(struct bpf_source *s, uint32_t tgid, const struct py_bpf_proc *p);
/* --locks=preload: the region the library in the command writes its lock records into, read
 * at every drain with the ring buffer's records (preload_shm.h); NULL: none. */
struct preload_shm;
void source_set_preload(struct bpf_source *s, struct preload_shm *shm);
/* Flush every CPU's stage, drain the ring buffer and hand on, in time order, the records
 * stamped before the flush; records handed on or -1. */
int source_drain(struct bpf_source *s);
/* The same, handing on every record drained: at the end of a recording. */
int source_drain_all(struct bpf_source *s);
/* Per-CPU loss counters as EV_META_LOST records (hdr.tid = cpu); returns the CPU count. */
int source_lost(struct bpf_source *s, struct ev_meta_lost *out, int max_cpus);
/* A user stack by id; frames or -1. */
int source_stack(struct bpf_source *s, int32_t id, uint64_t *ips, int max);
/* "tp_btf" or "raw_tp": which twin of the scheduler programs is attached */
const char *source_flavor(const struct bpf_source *s);
void source_close(struct bpf_source *s);

#endif
