/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pywalk.bpf.h — the Python frame walk of the current thread, shared by the switch probe
 * (sched.bpf.c: a blocking switch-out) and the lock probes (locks.bpf.c: a Lock's acquisition).
 *
 * CPython 3.11 keeps a thread's PyThreadState in a pthread key (autoTSSkey); glibc keeps a
 * key's value in the thread's struct pthread, which is where fs_base points: user space found
 * the slot's offset (py_bpf_proc.tss_off) by matching a known thread's state. From the thread
 * state: cframe -> current_frame -> previous ..., one 64-byte read a frame, a bounded number
 * of frames. Names and lines are resolved in user space (tools/python/pyrecord.c).
 *
 * py_procs holds the CPython processes user space found; py_nprocs is their count, written by
 * user space: 0 keeps every probe of a recording with no CPython process free of the lookup.
 * Both are defined in sched.bpf.c (CONLAB_DEFINE_MAPS) and extern everywhere else.
 */
#ifndef CONLAB_PYWALK_BPF_H
#define CONLAB_PYWALK_BPF_H

#include "common.bpf.h"
#include "pystack.h"

#ifdef CONLAB_DEFINE_MAPS
__u32 py_nprocs = 0;
#else
extern __u32 py_nprocs;
#endif

CONLAB_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_bpf_proc);
} py_procs SEC(".maps");

static __always_inline __u64 py_word_at(const __u64 *w, __u32 off)
{
	return w[(off / 8) & (PY_FRAME_WINDOW / 8 - 1)];
}

/* The walk of process tgid's current thread, NULL when tgid is no CPython process found. */
static __always_inline const struct py_bpf_proc *py_proc_of(__u32 tgid)
{
	if (!py_nprocs)
		return NULL;
	return bpf_map_lookup_elem(&py_procs, &tgid);
}

/*
 * Up to max (a constant) frames of the current thread's Python stack into out, innermost
 * first; returns how many, 0 for a thread with no Python state (not yet, or no more). *flags
 * gets PYSF_READ_FAILED when a frame could not be read, PYSF_TRUNCATED when more were left.
 */
static __always_inline __u32 py_walk(const struct py_bpf_proc *pp, struct ev_py_frame *out,
				     __u32 max, __u16 *flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 tstate = 0, cframe = 0, frame = 0, w[PY_FRAME_WINDOW / 8];
	__u32 n = 0;

	if (bpf_probe_read_user(&tstate, 8, (void *)(task->thread.fsbase + pp->tss_off)) || !tstate)
		return 0;
	if (bpf_probe_read_user(&cframe, 8, (void *)(tstate + pp->ts_cframe)) || !cframe ||
	    bpf_probe_read_user(&frame, 8, (void *)(cframe + pp->cf_current_frame)))
		return 0;
	for (__u32 i = 0; i < max; i++) {
		if (!frame)
			break;
		if (bpf_probe_read_user(w, sizeof(w), (void *)frame)) {
			*flags |= PYSF_READ_FAILED;
			break;
		}
		if (n >= max)
			break;
		out[n].code = py_word_at(w, pp->fr_code);
		out[n].prev_instr = py_word_at(w, pp->fr_prev_instr);
		n++;
		frame = py_word_at(w, pp->fr_previous);
	}
	if (frame && n == max)
		*flags |= PYSF_TRUNCATED;
	return n;
}

#endif
