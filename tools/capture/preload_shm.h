/*
 * preload_shm.h — conlab's side of `--locks=preload`: create the shared region the interposer
 * library (tools/capture/preload/) writes lock-order edges into, put it and the library in the
 * command's environment, and hand each edge it wrote to the caller.
 */
#ifndef CONLAB_PRELOAD_SHM_H
#define CONLAB_PRELOAD_SHM_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

struct cpl_region;
struct cpl_edge;

struct preload_shm {
	int fd;				/* memfd, inherited by the command */
	struct cpl_region *r;
	uint8_t *taken;			/* slots already read */
	char lib[4096];			/* path of libconlab-preload.so */
	char *old_preload;		/* LD_PRELOAD before ours, restored after */
	char warning[160];		/* after collect: edges dropped, nothing attached */
};

/* Create the region and find the library next to the conlab binary. 0, or -1 + message. */
int preload_shm_create(struct preload_shm *s);
/* For the command conlab is about to start: LD_PRELOAD (ours first) and CONLAB_PRELOAD_FD. */
void preload_shm_env_set(struct preload_shm *s);
void preload_shm_env_unset(struct preload_shm *s);
/* Where collect hands what the library published since the last call: each new edge (a
 * struct cpl_edge, capture/preload/conlab_preload.h), then each thread whose held-lock list
 * overflowed. */
struct preload_sink {
	void (*edge)(void *ctx, const struct cpl_edge *e);
	void (*overflow)(void *ctx, pid_t tid);
	void *ctx;
};
void preload_shm_collect(struct preload_shm *s, const struct preload_sink *k);
void preload_shm_free(struct preload_shm *s);
/*
 * Whether the library would be loaded into cmd (an argv[0], looked up on PATH as exec does):
 * a dynamically linked ELF program, or a script whose interpreter is one, and not set-id
 * (the loader ignores LD_PRELOAD there). 1, or 0 with the reason in why.
 */
int preload_reaches(const char *cmd, char *why, size_t n);

#endif
