/*
 * pyread.h — reading a CPython interpreter from outside its process: threads, frames, names.
 *
 * Pure user space: every byte comes through one read callback (process_vm_readv on a live
 * process, a buffer in the unit tests), so nothing is stopped and nothing needs ptrace. The
 * walk follows the interpreter's own structures:
 *
 *	_PyRuntime (a .dynsym symbol) -> interpreters.head -> threads.head -> next ...
 *	thread state -> cframe -> current_frame -> previous ... (3.11 _PyInterpreterFrame)
 *	frame -> f_code -> co_qualname, co_filename, co_linetable (+ prev_instr: the line)
 *
 * Struct layouts differ between versions and are not described by the 3.11 binary itself
 * (3.13 added _Py_DebugOffsets), so they come from a table keyed by version (pyread_layout.c).
 * Every pointer is checked before it is followed, every walk has a bound, and the total number
 * of reads has a budget: garbage memory or a process that changes under us gives a partial
 * result that says why, never a crash or a loop.
 */
#ifndef CONLAB_PYREAD_H
#define CONLAB_PYREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read len bytes at addr into buf: bytes read, or -1. */
typedef ssize_t (*py_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* Byte offsets of the fields the reader uses, for one interpreter version (x86-64). */
struct py_layout {
	unsigned version;		/* major << 8 | minor: 0x030b */
	uint32_t rt_interp_head;	/* _PyRuntime.interpreters.head */
	uint32_t rt_gil_cond;		/* _PyRuntime.ceval.gil.cond (see py_gil_part) */
	uint32_t is_next, is_threads_head, is_modules;	/* PyInterpreterState */
	uint32_t ts_next, ts_cframe, ts_thread_id, ts_native_tid;	/* PyThreadState */
	uint32_t cf_current_frame;	/* _PyCFrame */
	uint32_t fr_code, fr_globals, fr_previous, fr_prev_instr, fr_stacktop, fr_owner;
	uint32_t fr_localsplus, fr_is_entry;	/* _PyInterpreterFrame */
	uint32_t co_stacksize, co_firstlineno, co_nlocalsplus, co_localsplusnames;
	uint32_t co_filename, co_qualname, co_linetable, co_firsttraceable, co_code;
	uint32_t co_exceptiontable;
	uint32_t ob_type, var_size;	/* PyObject.ob_type, PyVarObject.ob_size */
	uint32_t tp_name, tp_flags, tp_dictoffset, ht_cached_keys;	/* PyTypeObject */
	uint32_t tuple_items, list_items, cell_ref, mod_dict, long_digits;
	uint32_t str_state, str_ascii_data, str_compact_data;
	uint32_t dict_keys, dict_values;	/* PyDictObject ma_keys, ma_values */
	uint32_t dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices;	/* PyDictKeysObject */
	uint32_t lock_sem, lock_locked;		/* _thread.lock: the sem_t pointer, the flag */
	uint32_t rlock_sem, rlock_owner, rlock_count;	/* _thread.RLock */
	uint32_t semlock_handle;	/* _multiprocessing.SemLock: its sem_t * */
	uint32_t semlock_last_tid, semlock_count;	/* ... the thread ident that took it last,
							 * and how many times this process holds it */
	uint32_t semlock_maxvalue, semlock_kind;	/* 1 for a Lock; kind 0: an RLock */
	uint32_t cfunc_ml, cfunc_self;		/* builtin method: PyMethodDef *, m_self */
	int32_t managed_dict, managed_values;	/* offsets before the object (negative) */
	uint64_t tpflags_managed_dict;
	uint32_t set_mask, set_table, weakref_object;	/* PySetObject, PyWeakReference */
	uint32_t task_state, task_fut_waiter, task_coro, task_name;	/* _asyncio TaskObj */
	uint32_t coro_qualname, coro_frame_state, coro_frame;	/* PyCoroObject */
	uint32_t futureiter_future;	/* _asyncio.FutureIter */
};

/*
 * What a futex word inside the GIL is: "GIL", "GIL mutex", "GIL switch", "GIL switch mutex",
 * or NULL for an address outside it. 3.11's struct _gil_runtime_state holds two glibc
 * condvar + mutex pairs from rt_gil_cond on: the condvar take_gil waits on (a timed wait: it
 * then asks the holder to drop) and its mutex, then the switch condvar drop_gil waits on until
 * another thread took the GIL it dropped on request, and its mutex.
 */
const char *py_gil_part(const struct py_layout *L, uint64_t runtime, uint64_t addr);

/* The layout for a version, or NULL when it is not known. */
const struct py_layout *py_layout_find(unsigned version);

/* One Python frame, innermost first in its thread. */
struct py_frame {
	uint64_t addr;		/* the _PyInterpreterFrame */
	uint64_t code;		/* its code object */
	const char *qualname;	/* owned by the reader's code cache; "?" when unreadable */
	const char *file;
	int line;		/* 0: unknown */
	int lasti;		/* the instruction it is at (code units from co_code) */
	int top;		/* the thread's current frame: its stacktop is not kept */
	int entry;		/* the first frame of a _PyEval_EvalFrameDefault call */
};

struct py_thread {
	uint64_t tstate;
	uint64_t pthread;	/* thread_id: pthread_self() of the thread (= threading ident) */
	pid_t tid;		/* native_thread_id: the kernel tid */
	char *name;		/* threading.Thread name, NULL when not found */
	uint64_t thread_obj;	/* its threading.Thread object, 0 when not found */
	struct py_frame *frames;
	size_t nframes;
	int truncated;		/* the frame walk stopped early (bound or bad memory) */
};

#define PY_OBJ_CACHE 1024

struct py_code;			/* cached facts of one code object (pyread_walk.c) */
struct py_type;

struct py_reader {
	py_read_fn read;
	void *ctx;
	const struct py_layout *L;
	unsigned hexversion;	/* PY_VERSION_HEX when known (Py_Version), else major/minor */
	uint64_t runtime;	/* address of _PyRuntime */
	uint64_t interp;	/* the main interpreter */
	uint64_t threading;	/* the threading module's globals, once found (0: not yet) */
	size_t nreads, max_reads;
	int no_frames;		/* py_read_threads: thread states only (the recorder's names) */
	int partial;		/* some read failed or a bound was hit */
	char why[160];		/* the first reason */
	struct py_code **codes;	/* open-addressing cache by code address */
	size_t ncodes, cap_codes;
	struct py_type *types;	/* type address -> name, flags, dict offsets */
	size_t ntypes, cap_types;

	uint64_t obj_cache[PY_OBJ_CACHE][2];	/* object -> its type, direct-mapped */

	struct py_thread *threads;
	size_t nthreads;
};

#define PY_MAX_THREADS 4096
#define PY_MAX_FRAMES 256
#define PY_MAX_READS 400000
#define PY_MAX_DANGLING 4096	/* Thread objects looked at in threading._dangling */
#define PY_MAX_SET (1u << 16)	/* slots of a set's table the reader walks */

/* Set up a reader over read/ctx for a version (major << 8 | minor) and _PyRuntime's address.
 * Returns 0, or -1 with r->why saying "CPython 3.x: layout not known, native frames only". */
int py_reader_init(struct py_reader *r, py_read_fn read, void *ctx, unsigned version,
		   uint64_t runtime);
void py_reader_free(struct py_reader *r);

/* Thread states and their frames into r->threads. 0, or -1 when not even the interpreter could
 * be read (r->why). Partial walks set r->partial and still return 0. */
int py_read_threads(struct py_reader *r);
/* threading._active: give each thread its Thread's name. Returns how many were named. */
int py_read_thread_names(struct py_reader *r);
/*
 * threading._dangling, a WeakSet of every Thread object the program still references, also
 * those whose thread has ended (which _active no longer holds): for each tids[i] that is a
 * Thread's _native_id, names[i] (NULL on entry) gets a malloc'd copy of its _name. A tid that
 * Threads of different names claim is not named, nor any when the read budget ran out during
 * the walk. Returns how many were named.
 */
int py_read_dangling_names(struct py_reader *r, const pid_t *tids, size_t n, char **names);
/* The thread by kernel tid, or NULL. */
struct py_thread *py_thread_by_tid(struct py_reader *r, pid_t tid);
/* A method frame's self (its first local) of the _PyInterpreterFrame at frame: the object,
 * 0 when unreadable or not an object. */
uint64_t py_frame_self(struct py_reader *r, uint64_t frame);
/* pt's innermost frame of function qualname in a file whose path ends in file_end
 * ("asyncio/base_events.py"), NULL when none. */
const struct py_frame *py_thread_frame(const struct py_thread *pt, const char *qualname,
				       const char *file_end);
struct py_thread *py_thread_by_pthread(struct py_reader *r, uint64_t pthread);

/* ---- memory and objects (pyread_obj.c) ---- */

/* Record the first reason for a partial result. */
void py_partial(struct py_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read exactly len bytes; 0 or -1 (counted against the budget, failure noted as partial). */
int py_read(struct py_reader *r, uint64_t addr, void *buf, size_t len);
int py_read_ptr(struct py_reader *r, uint64_t addr, uint64_t *out);
/* A plausible object pointer: user space, aligned, not NULL. */
int py_ptr_ok(uint64_t p);
/* A str object's text (ASCII or UTF-8 converted) into buf; 0 or -1. */
int py_str(struct py_reader *r, uint64_t obj, char *buf, size_t n);
/* The name of an object's type ("_thread.lock", "Account"); NULL when unreadable. */
const char *py_type_name(struct py_reader *r, uint64_t obj);
uint64_t py_type_of(struct py_reader *r, uint64_t obj);
/* tp_flags of an object's type; 0 when unreadable. */
uint64_t py_type_flags(struct py_reader *r, uint64_t obj);
#define PY_TPFLAGS_HEAPTYPE (1ull << 9)	/* a class made by a class statement */
/* An int object's value (up to 64 bits); 0 or -1. */
int py_long(struct py_reader *r, uint64_t obj, int64_t *out);

/* Calls fn(key, value) for each entry of a dict, at most max; fn returns non-zero to stop.
 * Returns entries visited or -1. */
typedef int (*py_dict_fn)(struct py_reader *r, uint64_t key, uint64_t value, void *arg);
int py_dict_each(struct py_reader *r, uint64_t dict, size_t max, py_dict_fn fn, void *arg);
/* Value of a str key in a dict, 0 when absent. */
uint64_t py_dict_get(struct py_reader *r, uint64_t dict, const char *key);
/* Each attribute of an instance (its __dict__, managed or not). Entries or -1. */
int py_attrs_each(struct py_reader *r, uint64_t obj, size_t max, py_dict_fn fn, void *arg);
uint64_t py_attr(struct py_reader *r, uint64_t obj, const char *name);

/* ---- code objects and frames (pyread_walk.c) ---- */

/* The line of instruction index lasti in a 3.11 location table (co_linetable). */
int py_linetable_line(const uint8_t *tab, size_t n, int firstlineno, int lasti);
/*
 * In a 3.11 exception table (co_exceptiontable), the first instruction of the `with` block
 * that, at instruction lasti, keeps its __exit__ in value-stack slot `slot`; -1 when the table
 * has none. Its BEFORE_WITH is the instruction before it.
 */
int py_exctable_with_start(const uint8_t *tab, size_t n, int lasti, int slot);
/* The line of the `with` statement of frame fr whose __exit__ is in value-stack slot `slot`
 * (0 = the first above the locals); 0 when its code does not say. */
int py_with_line(struct py_reader *r, const struct py_frame *fr, int slot);
/* Local variable i of a frame's code ("src"), NULL when unreadable. */
const char *py_local_name(struct py_reader *r, uint64_t code, int i);
/* The line of a frame of code stopped at prev_instr; qualname and file of code (NULL). */
int py_code_line(struct py_reader *r, uint64_t code, uint64_t prev_instr);
const char *py_code_qualname(struct py_reader *r, uint64_t code);
const char *py_code_file(struct py_reader *r, uint64_t code);
#define PY_MAX_SLOTS 512	/* locals + value stack a caller reads of one frame */
/* A frame's slots, locals then value stack, at most max of them: how many were read (0 when
 * unreadable); *nlocals of them are locals. */
int py_frame_slots(struct py_reader *r, const struct py_frame *fr, uint64_t *slots, int max,
		   int *nlocals);
/* co_nlocalsplus and co_stacksize of a code object; 0 or -1. */
int py_code_sizes(struct py_reader *r, uint64_t code, int *nlocalsplus, int *stacksize);

#endif
