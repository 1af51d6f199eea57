/*
 * sockpeer.h — the other end of each connected Unix socket, from the kernel's sock_diag.
 *
 * A thread blocked reading a Unix socket (a multiprocessing.Pipe, a socketpair) waits for
 * whoever holds the socket's peer: /proc shows only "socket:[inode]", the peer's inode comes
 * from a NETLINK_SOCK_DIAG dump (UDIAG_SHOW_PEER), one request for every socket on the system.
 */
#ifndef CONLAB_SOCKPEER_H
#define CONLAB_SOCKPEER_H

#include "lib/idmap.h"

/* Fill peers: inode -> the inode of its peer, for every Unix socket that has one. 0, or -errno
 * (no sock_diag for AF_UNIX: the map stays empty). */
int unix_peers(struct idmap *peers);

#endif
