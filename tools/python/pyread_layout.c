// SPDX-License-Identifier: GPL-2.0
/*
 * pyread_layout.c — CPython struct offsets by version (x86-64).
 *
 * 3.11's binary carries no description of its own structures (_Py_DebugOffsets came in 3.13),
 * so the offsets are facts measured on real builds: Debian 12's python3.11 (3.11.2, stripped,
 * non-PIE) and an unstripped 3.11.7 with libpython3.11.so gave the same numbers, checked with
 * pahole on the builds with DWARF and by disassembling accessors on the stripped one
 * (docs/python.md lists them). A version that is not here is not guessed at.
 */
#include <stddef.h>

#include "python/pyread.h"

static const struct py_layout layouts[] = {
	{
		.version = 0x030b,
		.rt_interp_head = 40, .rt_gil_cond = 0x188,
		.is_next = 0, .is_threads_head = 16, .is_modules = 0x378,
		.ts_next = 8, .ts_cframe = 56, .ts_thread_id = 152, .ts_native_tid = 160,
		.cf_current_frame = 8,
		.fr_code = 32, .fr_globals = 8, .fr_previous = 48, .fr_prev_instr = 56,
		.fr_stacktop = 64, .fr_owner = 69, .fr_localsplus = 72, .fr_is_entry = 68,
		.co_stacksize = 68, .co_firstlineno = 72, .co_nlocalsplus = 76,
		.co_localsplusnames = 96, .co_filename = 112, .co_qualname = 128,
		.co_linetable = 136, .co_firsttraceable = 168, .co_code = 184,
		.co_exceptiontable = 40,
		.ob_type = 8, .var_size = 16,
		.tp_name = 24, .tp_flags = 0xa8, .tp_dictoffset = 0x120, .ht_cached_keys = 0x368,
		.tuple_items = 24, .list_items = 24, .cell_ref = 16, .mod_dict = 16,
		.long_digits = 24,
		.str_state = 32, .str_ascii_data = 48, .str_compact_data = 72,
		.dict_keys = 32, .dict_values = 40,
		.dk_log2_index_bytes = 9, .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32,
		.lock_sem = 16, .lock_locked = 32,
		.rlock_sem = 16, .rlock_owner = 24, .rlock_count = 32,
		.semlock_handle = 16, .semlock_last_tid = 24, .semlock_count = 32,
		.semlock_maxvalue = 36, .semlock_kind = 40,
		.cfunc_ml = 16, .cfunc_self = 24,
		.managed_dict = -24, .managed_values = -32,
		.tpflags_managed_dict = 1u << 4,
		.set_mask = 32, .set_table = 40, .weakref_object = 16,
		.task_state = 88, .task_fut_waiter = 128, .task_coro = 136, .task_name = 144,
		.coro_qualname = 40, .coro_frame_state = 75, .coro_frame = 80,
		.futureiter_future = 16,
	},
};

const struct py_layout *py_layout_find(unsigned version)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].version == version)
			return &layouts[i];
	return NULL;
}

/* glibc x86-64: a pthread_cond_t is 48 bytes, a pthread_mutex_t 40; waiters sleep on the
 * condvar's __g_signals (+40, +44), pthread_cond_signal on its __g_refs (+16, +20), and a
 * mutex's futex word is its first. */
#define COND_BYTES 48
#define MUTEX_BYTES 40

const char *py_gil_part(const struct py_layout *L, uint64_t runtime, uint64_t addr)
{
	static const char *const parts[] = {"GIL", "GIL mutex", "GIL switch", "GIL switch mutex"};
	uint64_t at = runtime + L->rt_gil_cond;

	if (!runtime || !L->rt_gil_cond || addr < at)
		return NULL;
	for (int i = 0; i < 4; i++) {
		uint64_t size = i % 2 ? MUTEX_BYTES : COND_BYTES;

		if (addr < at + size)
			return parts[i];
		at += size;
	}
	return NULL;
}
