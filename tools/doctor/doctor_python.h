/*
 * doctor_python.h — the doctor's Python step: for each CPython process of a snapshot, its
 * threads' Python names and stacks, and the Python objects their waits are on (pylocks.h).
 * Memory only (process_vm_readv): no thread is stopped for it.
 */
#ifndef CONLAB_DOCTOR_PYTHON_H
#define CONLAB_DOCTOR_PYTHON_H

#include <stddef.h>

struct snapshot;
struct pylock_owners;

/* Called with one line per problem: an unknown version, a partial read. */
typedef void (*doctor_python_warn)(void *ctx, const char *line);

/* Returns how many processes were read as Python. */
/* owners: Lock holders the lock probes saw (pylocks.h), NULL */
size_t doctor_python(struct snapshot *s, const struct pylock_owners *owners,
		     doctor_python_warn warn, void *ctx);

#endif
