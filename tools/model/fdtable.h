/*
 * fdtable.h — the model's table of what each process's fds were (EV_META_FD records from the
 * recorder's /proc scans), so that any report can name an fd at a given time: "tcp
 * 127.0.0.1:40000→127.0.0.1:8080", "pipe:[12345] from producer (pid 4242)", "/tmp/log".
 *
 * The recorder scans every ~100 ms, so a record says "at ts, fd N was X". The fd a syscall used
 * at time t is the last record of (pid, fd) at or before t, or, when there is none or that one
 * says closed, the first record after t (the fd was opened between two scans). An fd opened and
 * closed between two scans has no record: the reports then say "fd N".
 *
 * Pure: fed by the model (model_event), sorted by model_finish.
 */
#ifndef CONLAB_FDTABLE_H
#define CONLAB_FDTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct m_fd {
	uint64_t ts;
	uint64_t ino;		/* socket, pipe inode; 0 unknown */
	uint32_t pid;
	int32_t fd;
	uint32_t seq;		/* arrival order: ties in ts */
	uint16_t kind;		/* enum fd_kind (events.h) */
	uint16_t flags;		/* FDF_* */
	char *desc;
};

struct fdtable {
	struct m_fd *v;
	size_t n, cap;
	int sorted;		/* by pid, fd, ts: after fdtable_finish */
};

void fdtable_add(struct fdtable *t, const struct ev_hdr *h);	/* an EV_META_FD record */
void fdtable_finish(struct fdtable *t);
void fdtable_free(struct fdtable *t);
/* The record that says what fd of pid was at ts; NULL unknown or closed. */
const struct m_fd *fdtable_at(const struct fdtable *t, uint32_t pid, int64_t fd, uint64_t ts);
const char *fd_kind_name(int kind);

#endif
