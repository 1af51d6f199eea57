/*
 * contention_int.h — what the contention modules share among themselves (contention.c builds
 * the objects, contention_locks.c adds the lock probes' holds, contention_names.c names them);
 * not for other users of contention.h.
 */
#ifndef CONLAB_CONTENTION_INT_H
#define CONLAB_CONTENTION_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/contention.h"
#include "lib/idmap.h"
#include "model/model.h"

struct m_thread;

/* Objects by (pid, addr). */
struct objtab {
	struct contention *c;
	size_t cap;
	struct idmap idx;
};

uint64_t cont_obj_key(uint32_t pid, uint64_t addr);
/* The object of (pid, addr), made (kind futex) when new; its index in *index. */
struct cont_obj *cont_obj_get(struct objtab *t, uint32_t pid, uint64_t addr, size_t *index);
/* The party of tid in *v, added when new. */
struct cont_party *cont_party_get(struct cont_party **v, size_t *n, uint32_t tid);
/* The caller of o with this return address and stack, added when new. */
struct cont_caller *cont_caller_get(struct cont_obj *o, uint64_t ret_addr, int32_t stack_id);
struct cont_thread *cont_thread_add(struct contention *c, size_t *cap, const struct m_thread *t,
				    uint64_t born, uint64_t died);
/* A wait's kind for the tables kept by kind: its enum wait_kind, or CONT_WK_PYCOND for a wait
 * in threading's Condition.wait (a condition variable that is not the GIL's; m_wait.py). */
#define CONT_WK_PYCOND WK_NKINDS
#define CONT_NWK (WK_NKINDS + 1)
int cont_wk(const struct m_wait *w);
/* The object a wait is counted on: its futex word; a Python Condition wait's waiter Lock is new
 * at every wait, so such a wait is counted on the line that waits (model_py_wait_site). */
uint64_t cont_wait_addr(const struct model *m, const struct m_wait *w);
/* The object kind of a wait of this kind (cont_wk) in a Python process or not; -1: not a wait on
 * a sync object. */
int cont_kind_of_wait(int wk, int python);
/* The GIL's own mutex and __g_refs word, waited on beside its condvar, made kind gil (the last
 * step of the tables, the same for the whole history and the fold). */
void cont_gil_parts(struct contention *c);
/* An object's kind from its kind_votes. */
int cont_vote_kind(const struct cont_obj *o);
/* The first interval of t that ends after ts (intervals are in time order). */
size_t cont_iv_search(const struct m_thread *t, uint64_t ts);

#endif
