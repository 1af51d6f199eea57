/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * stage.h — what the BPF side (bpf/common.bpf.h) and user space (tools/capture/source.c)
 * share of the per-CPU record stages: their sizes, and the per-CPU flag line user space maps
 * to know which CPUs have records to flush.
 */
#ifndef CONLAB_STAGE_H
#define CONLAB_STAGE_H

#ifdef __BPF__
/* vmlinux.h provides __u32 */
#else
#include <linux/types.h>
#endif

#define STAGE_BYTES 4096	/* the most a stage holds; stage_bytes (rodata) fits the ring */
#define STAGE_MAXREC 512	/* room past STAGE_BYTES: the largest record, ev_py_stack */
#define STAGE_NEST 4		/* stages per CPU, for probes that interrupt one another */
#define STAGE_MAX_CPUS 1024	/* CPUs with a flag line; beyond, user space flushes always */

struct stage_flag {
	__u32 pending;		/* records staged since this CPU's last flush */
	__u32 pad[15];		/* a cache line per CPU */
};

#endif
