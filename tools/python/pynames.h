/*
 * pynames.h — the name a program knows an object by, read from outside: the Python expression
 * that reaches it from a frame ("dst.lock", "shelves[dst].guard", "fork_a") or from a module's
 * globals ("bob.lock", "shelves['b'].guard"). Searches are bounded: a local or global, one
 * attribute or item inside it, or an attribute of such an item; 64 attributes or items an
 * object, 1,024 globals.
 */
#ifndef CONLAB_PYNAMES_H
#define CONLAB_PYNAMES_H

#include <stddef.h>
#include <stdint.h>

struct py_reader;
struct py_frame;

struct py_namer {
	struct py_reader *r;
	uint64_t target;
	/* NULL: the object at address target; else asked of each candidate value */
	int (*is_target)(void *ctx, uint64_t value, uint64_t target);
	void *ctx;
};

#define PY_IN_LOCALS 1
#define PY_IN_GLOBALS 2
#define PY_BY_LOCALS 4	/* a subscript by the frame's local that holds the key: [dst] */

/* The target's name from frame fr, searching where says (PY_IN_*); 1 when found, else 0. */
int py_name_in(const struct py_namer *nm, const struct py_frame *fr, int where, char *out,
	       size_t n);
/* The name people know it by: a global's path when there is one (the same from every
 * thread), else the frame's own expression; *local gets the frame's own when it differs
 * ("dst.lock" beside "bob.lock"), "" otherwise. 1 when named, else 0. */
int py_name_object(const struct py_namer *nm, const struct py_frame *fr, char *out, size_t n,
		   char *local, size_t nl);
/* The target's name in a module's globals dict (no frame); 0, or -1 when none. */
int py_name_in_dict(const struct py_namer *nm, uint64_t dict, char *out, size_t n);

#endif
