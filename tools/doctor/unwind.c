// SPDX-License-Identifier: GPL-2.0
/*
 * unwind.c — libdwfl's unwinder fed by us: the modules come from /proc/PID/maps
 * (dwfl_linux_proc_report), the registers from the caller, the memory from process_vm_readv.
 * libdwfl never attaches to anything: its own Linux thread callbacks would ptrace, ours only
 * read.
 *
 * Memory is read a page at a time into a small cache that lives for one thread's walk: a
 * stack walk touches one to three pages, and one process_vm_readv per page costs far less
 * than one per 8-byte word.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "doctor/unwind.h"
#include "lib/util.h"

#define PAGE 4096u
#define NCACHE 16		/* pages kept per walk, direct-mapped */

struct page {
	uint64_t addr;		/* page address + 1; 0: empty */
	int ok;			/* 0: unreadable */
	uint8_t data[PAGE];
};

struct unwinder {
	Dwfl *dwfl;
	pid_t pid;
	const struct task_regs *cur;	/* the thread being walked */
	struct page cache[NCACHE];
	struct unwind_stats st;
};

struct walk {
	uint64_t *pcs;
	uint8_t *ret;
	size_t n, max;
};

static const struct page *get_page(struct unwinder *u, uint64_t pa)
{
	struct page *p = &u->cache[(pa / PAGE) % NCACHE];
	struct iovec local, remote;
	uint64_t t0;

	if (p->addr == pa + 1)
		return p->ok ? p : NULL;
	local = (struct iovec){ .iov_base = p->data, .iov_len = PAGE };
	remote = (struct iovec){ .iov_base = (void *)(uintptr_t)pa, .iov_len = PAGE };
	t0 = now_mono_ns();
	p->ok = process_vm_readv(u->pid, &local, 1, &remote, 1, 0) == (ssize_t)PAGE;
	u->st.mem_ns += now_mono_ns() - t0;
	u->st.mem_pages++;
	p->addr = pa + 1;
	return p->ok ? p : NULL;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint8_t bytes[8];

	(void)dwfl;
	for (size_t done = 0; done < sizeof(bytes);) {
		uint64_t a = addr + done, pa = a & ~(uint64_t)(PAGE - 1);
		const struct page *p = get_page(u, pa);
		size_t k = PAGE - (size_t)(a - pa);

		if (!p)
			return false;
		if (k > sizeof(bytes) - done)
			k = sizeof(bytes) - done;
		memcpy(bytes + done, p->data + (a - pa), k);
		done += k;
	}
	memcpy(result, bytes, sizeof(*result));
	return true;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;	/* threads are walked one by one, by tid (get_thread) */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	(void)dwfl;
	if (!u->cur || u->cur->tid != tid)
		return false;
	*thread_argp = (void *)u->cur;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct task_regs *t = thread_arg;

	if (t->regs_ok == TREGS_ALL)
		return dwfl_thread_state_registers(thread, 0, TREGS_NREGS, t->regs);
	/* /proc gives sp and pc: frames whose CFA needs another register end the walk */
	for (int i = 0; i < TREGS_NREGS; i++)
		if (t->regs_ok & (1u << i) && i != TREGS_PC &&
		    !dwfl_thread_state_registers(thread, i, 1, &t->regs[i]))
			return false;
	dwfl_thread_state_register_pc(thread, t->regs[TREGS_PC]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

struct unwinder *unwinder_new(pid_t pid, char *err, size_t errlen)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	struct unwinder *u = xcalloc(1, sizeof(*u));
	int rc;

	u->pid = pid;
	u->dwfl = dwfl_begin(&callbacks);
	if (!u->dwfl) {
		snprintf(err, errlen, "failed to start libdwfl: %s", dwfl_errmsg(-1));
		goto fail;
	}
	dwfl_report_begin(u->dwfl);
	rc = dwfl_linux_proc_report(u->dwfl, pid);
	dwfl_report_end(u->dwfl, NULL, NULL);
	if (rc) {
		snprintf(err, errlen, "failed to read the maps of %d: %s", (int)pid,
			 rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
		goto fail;
	}
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &thread_callbacks, u)) {
		snprintf(err, errlen, "failed to set up the unwinder for %d: %s", (int)pid,
			 dwfl_errmsg(-1));
		goto fail;
	}
	return u;
fail:
	unwinder_free(u);
	return NULL;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	w->pcs[w->n] = pc;
	/* an activation (innermost or signal frame) is the exact pc, others return addresses */
	w->ret[w->n] = !activation;
	w->n++;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

size_t unwinder_walk(struct unwinder *u, const struct task_regs *t, uint64_t *pcs,
		     uint8_t *retaddr, size_t max, const char **err)
{
	struct walk w = { .pcs = pcs, .ret = retaddr, .max = max };
	uint64_t t0 = now_mono_ns(), mem0 = u->st.mem_ns;
	int rc;

	*err = NULL;
	if (!(t->regs_ok & (1u << TREGS_PC)) || !(t->regs_ok & (1u << TREGS_SP))) {
		*err = "no registers";
		return 0;
	}
	/* a new thread, a new stack: nothing cached may be reused */
	for (size_t i = 0; i < NCACHE; i++)
		u->cache[i].addr = 0;
	u->cur = t;
	rc = dwfl_getthread_frames(u->dwfl, t->tid, frame_cb, &w);
	u->cur = NULL;
	/* an unwinder error after some frames is the usual end of a stack, not a failure */
	if (rc == -1 && w.n == 0)
		*err = dwfl_errmsg(-1);
	u->st.unwind_ns += now_mono_ns() - t0 - (u->st.mem_ns - mem0);
	return w.n;
}

const struct unwind_stats *unwinder_stats(const struct unwinder *u)
{
	return &u->st;
}
