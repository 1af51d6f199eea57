/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pystack.h — what user space tells the switch probe about a CPython process (map py_procs,
 * keyed by pid): where a thread's PyThreadState is, from its TLS base, and the offsets of the
 * fields the frame walk reads. Filled by tools/python/pyrecord.c for the processes it found;
 * a process not in the map costs the probe nothing more than the lookup, and a recording with
 * no CPython process not even that (py_nprocs is 0).
 */
#ifndef CONLAB_PYSTACK_H
#define CONLAB_PYSTACK_H

#ifndef __BPF__
#include <linux/types.h>
#endif

struct py_bpf_proc {
	__u64 tss_off;		/* fs_base + tss_off: the thread's PyThreadState * (glibc's TSD slot
				 * of CPython's autoTSSkey: pthread_getspecific without the call) */
	__u32 ts_cframe;	/* PyThreadState.cframe */
	__u32 cf_current_frame;	/* _PyCFrame.current_frame */
	__u32 fr_code;		/* _PyInterpreterFrame: f_code, previous, prev_instr; each < 64 */
	__u32 fr_previous;
	__u32 fr_prev_instr;
	__u32 pad;
};

#define PY_FRAME_WINDOW 64	/* one read of the first 64 bytes of a frame holds all three */

#endif
