/*
 * pyfind.h — is this process a CPython interpreter, which version, and where is _PyRuntime?
 *
 * The interpreter's file is found in the process's maps (python3.N or libpython3.N.so*), and
 * _PyRuntime in its .dynsym (present in stripped builds too: extension modules link against
 * it). Py_Version (3.11+) gives the exact version from the process's memory; older builds are
 * known by their file name.
 */
#ifndef CONLAB_PYFIND_H
#define CONLAB_PYFIND_H

#include <stdint.h>
#include <sys/types.h>

#include "symbols/procmaps.h"

struct py_found {
	unsigned version;	/* major << 8 | minor */
	uint64_t hexversion;	/* PY_VERSION_HEX read from Py_Version, 0 when absent */
	uint64_t runtime;	/* address of _PyRuntime in the process */
	char path[512];		/* the file that holds it */
};

/* 1: a CPython process (out filled), 0: not one, -1: the process went away. */
int py_find(pid_t pid, const struct proc_maps *maps, struct py_found *out);

#endif
