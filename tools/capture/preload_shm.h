/*
 * preload_shm.h — conlab's side of `--locks=preload`: create the shared region the interposer
 * library (tools/capture/preload/) writes lock-order edges and lock calls into, put it and the
 * library in the command's environment, and read what it wrote as trace records.
 */
#ifndef CONLAB_PRELOAD_SHM_H
#define CONLAB_PRELOAD_SHM_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

struct cpl_region;
struct reorder;

/* Where reading one of the region's queues (the edge log, the event ring) has got to. */
struct cpl_reader {
	uint64_t read;			/* entries read */
	uint64_t seen_head;		/* claimed at the previous read, */
	uint64_t seen_t;		/* whose time was read before */
	uint64_t floor;			/* its stuck entry's time is later than this */
	uint64_t stuck_at, stuck_since;	/* an entry not written yet, first seen when */
	uint64_t skipped;		/* entries never written (their writer died) */
};

struct preload_shm {
	int fd;				/* memfd, inherited by the command */
	struct cpl_region *r;
	size_t size;
	char lib[4096];			/* path of libconlab-preload.so */
	char *old_preload;		/* LD_PRELOAD before ours, restored after */
	struct cpl_reader edges, events;
	uint32_t noverflow_read;
	uint8_t *batch;			/* records on their way to the reorder */
	size_t cap;
};

/* Create the region, with an event ring of nevents slots (a power of two, or 0 for edges
 * only), and find the library next to the conlab binary. 0, or -1 + message. */
int preload_shm_create(struct preload_shm *s, uint32_t nevents);
/* For the command conlab is about to start: LD_PRELOAD (ours first) and CONLAB_PRELOAD_FD. */
void preload_shm_env_set(struct preload_shm *s);
void preload_shm_env_unset(struct preload_shm *s);
/*
 * What the library published since the last call, into ro as the records the lock uprobes
 * make (bpf/events.h): each new edge an EV_LOCK_EDGE (no stack: stack_id -1), each thread
 * whose held locks overflowed an EV_LOCK LOCK_OP_HELD_OVERFLOW, each call an EV_LOCK. now:
 * read before this call. Returns the time before which every record still to come is
 * stamped later (UINT64_MAX: none is being written), so that ro is not released past it.
 */
uint64_t preload_shm_read(struct preload_shm *s, uint64_t now, struct reorder *ro);
/* Lock calls the full ring dropped; edges the full table did not keep. */
uint64_t preload_shm_lost_events(const struct preload_shm *s);
uint64_t preload_shm_lost_edges(const struct preload_shm *s);
/* Sleep ns, or less when the library finds its event ring half full: the recorder's pause
 * between two drains. */
void preload_shm_wait(struct preload_shm *s, uint64_t ns);
/* No more reads: the library records nothing more (a process that outlives the recording). */
void preload_shm_close(struct preload_shm *s);
/* Whether any process of the command loaded the library. */
int preload_shm_attached(const struct preload_shm *s);
void preload_shm_free(struct preload_shm *s);
/*
 * Whether the library would be loaded into cmd (an argv[0], looked up on PATH as exec does):
 * a dynamically linked ELF program, or a script whose interpreter is one, and not set-id
 * (the loader ignores LD_PRELOAD there). 1, or 0 with the reason in why.
 */
int preload_reaches(const char *cmd, char *why, size_t n);
/* Whether cmd runs a Python interpreter (python, python3, python3.11, ...), by its name. */
int preload_python_cmd(const char *cmd);
/* What --locks=auto takes for a command conlab starts: 1 when the library reaches it and it is
 * not a Python interpreter, else 0 with the reason (for "uprobes (WHY)") in why. */
int preload_suits(const char *cmd, char *why, size_t n);

#endif
