/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * locks.h — the lock uprobes shared by bpf/locks.bpf.c and tools/capture/uprobes.c: one index per
 * probed glibc function, used for the per-probe stack offset of the return address.
 */
#ifndef CONLAB_LOCKS_H
#define CONLAB_LOCKS_H

enum lk_probe {
	LKP_MUTEX_LOCK,
	LKP_MUTEX_UNLOCK,
	LKP_MUTEX_TRYLOCK,
	LKP_RW_RDLOCK,
	LKP_RW_WRLOCK,
	LKP_RW_TRYRDLOCK,
	LKP_RW_TRYWRLOCK,
	LKP_RW_UNLOCK,
	LKP_SEM_WAIT,
	LKP_SEM_TRYWAIT,
	LKP_SEM_POST,
	LKP_MUTEX_DESTROY,
	LKP_SEM_CLOCKWAIT,
	LKP_SEM_TIMEDWAIT,
	LKP_SEM_DESTROY,
	LKP_NPROBES
};

#endif
