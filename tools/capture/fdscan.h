/*
 * fdscan.h — what the fds of a traced process are, read from /proc: /proc/PID/fd (the link
 * names: socket:[ino], pipe:[ino], anon_inode:[eventfd], a path), /proc/PID/fdinfo (the access
 * mode, a timerfd's interval) and the process's /proc/PID/net/{tcp,tcp6,udp,udp6,unix} for the
 * address of a socket inode. The recorder scans each traced process when it first sees it and
 * then on the schedule of its memory-map refresh, and writes an EV_META_FD record for every fd
 * that is new or changed since the previous scan (and one of kind FDK_CLOSED for every fd gone),
 * so a steady process costs one readdir and a readlink per fd, and no record.
 *
 *	struct fdscan *s = fdscan_new();
 *	fdscan_process(s, pid, emit, ctx);	(emit gets each record and its description)
 *	fdscan_free(s);
 *
 * An fd opened and closed between two scans is never seen: the reports then say "fd 7" only.
 */
#ifndef CONLAB_FDSCAN_H
#define CONLAB_FDSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"

#define FDSCAN_DESC 160		/* description bytes, NUL included */
#define FDSCAN_MAX_FDS 4096	/* fds looked at per process and scan: a bound on the cost */

typedef void (*fdscan_emit)(void *ctx, struct ev_meta_fd *rec, const char *desc);

struct fdscan;

struct fdscan *fdscan_new(void);
void fdscan_free(struct fdscan *s);
/* Scan one process; emit the changes. Records written, or -1 when /proc/PID/fd is unreadable
 * (the process is gone). */
int fdscan_process(struct fdscan *s, pid_t pid, fdscan_emit emit, void *ctx);
/* Drop what is remembered of a process (it exited). */
void fdscan_forget(struct fdscan *s, pid_t pid);

/* ---- the parsers, exposed for the unit tests ---- */

/* One line of /proc/net/{tcp,udp}[6]: inode, state (TCP_* numbers), local and remote address
 * as "127.0.0.1:8080" / "[::1]:8080". 0, or -1 for the header or a malformed line. */
int fdscan_parse_inet(const char *line, int v6, uint64_t *ino, int *state, char *local,
		      size_t nl, char *remote, size_t nr);
/* One line of /proc/net/unix: inode, type (1 stream, 2 dgram, 5 seqpacket), state (1
 * unconnected/listening, 3 connected), path ("" unnamed, "@name" abstract). */
int fdscan_parse_unix(const char *line, uint64_t *ino, int *type, int *state, int *listening,
		      char *path, size_t np);
/* Kind, inode and the description of an fd from its /proc/PID/fd link; sockets come back as
 * FDK_SOCKET with their inode (the caller looks them up in /proc/net). */
int fdscan_classify(const char *link, uint64_t *ino, char *desc, size_t n);
/* The access-mode and timerfd details from a /proc/PID/fdinfo/FD text: FDF_READ/FDF_WRITE;
 * a timerfd's it_interval in ns in *interval (0 one-shot or unknown). */
uint16_t fdscan_fdinfo_flags(const char *fdinfo, uint64_t *interval);

#endif
