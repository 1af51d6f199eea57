/*
 * conns.h — messages between traced processes: who woke whom over a socket or a pipe.
 *
 * When a thread blocked reading a socket (or waiting on it in poll/epoll) is woken by a write
 * in another process, the kernel makes the wakee runnable from inside the writer's syscall
 * (sock_def_readable, pipe_write), so the wakeup record names the writer's thread, its
 * syscall (write, writev, sendto, sendmsg) and that syscall's first argument, the fd. With the
 * recorder's fd scans that fd is a connection: "tcp 127.0.0.1:40000→127.0.0.1:5672".
 *
 * A connection here is one direction: (writer process, writer fd, reader process). Each
 * wakeup over it is a message that found the reader waiting; a message that arrives while
 * the reader is busy wakes nobody and is not counted (the reader takes it without waiting).
 * A message is answered by the reader's next message back to the writer (over any of their
 * connections). With requests and replies (Pyro, a task handed to a pool process) the answer
 * time is the time the reader took to serve the request, queueing included; a protocol that
 * acknowledges at once (AMQP's broker) answers quickly whatever happens to the message next.
 *
 * A process that passes messages on (a broker, a relay: producer -> broker -> worker -> broker)
 * splits a request's time in two: "in the relay", from the producer's message waking the relay
 * to the relay's message that wakes the worker, and "in the reader" (the worker), from there
 * to the worker's answer. The trace holds no message contents, so requests are paired with
 * deliveries first in, first out (conns_build says how, docs/design.md what is approximate).
 *
 *	struct conns cs;
 *	conns_build(m, &cs);	... cs.v[i] ...	conns_free(&cs);
 */
#ifndef CONLAB_CONNS_H
#define CONLAB_CONNS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct model;
struct m_wakeup;

struct conn {
	uint32_t writer_pid, reader_pid;
	int32_t fd;			/* the writer's fd */
	uint16_t kind;			/* enum fd_kind; FDK_CLOSED: not seen by a scan */
	char desc[160];			/* the writer's fd, described */
	char writer_comm[16], reader_comm[16];	/* the processes' names */
	char reader_thread[16];		/* the first thread it woke */
	int to_child, to_parent;	/* the reader is the writer's child / parent */
	uint64_t messages;		/* wakeups of a waiting reader thread by a write */
	uint64_t reader_wait_ns;	/* the reader's waits those messages ended */
	uint64_t reader_busy_ns;	/* from each message to the reader thread's next wait */
	uint64_t answered;		/* messages the reader answered (wrote back to the writer) */
	uint64_t answer_ns;		/* from each of those to the reader's next message back */
	/*
	 * The writer as a relay (a broker): messages it delivered over this connection that
	 * were paired with a message it had received from a third process (see conns_build).
	 */
	uint64_t relayed;		/* deliveries paired with an earlier incoming message */
	uint64_t in_relay_ns;		/* from that message's arrival to this delivery */
	uint64_t relayed_answered;	/* of those, the ones the reader answered */
	uint64_t in_reader_ns;		/* from the delivery to the reader's answer */
	uint64_t first_ts, last_ts;
};

struct conns {
	struct conn *v;
	size_t n, cap;
};

/* 1 if syscall nr writes data to an fd (write, writev, send*, pwrite*). */
int conn_write_syscall(int nr);
/* 1 if an fd of this kind (enum fd_kind) can carry a message: pipe, socket, device (a
 * terminal), eventfd. */
int conn_fd_kind(int kind);
/* The connection a wakeup is a message over: its index in cs, or -1 (not a write in another
 * traced process). Adds the connection when it is new. */
int conns_add(const struct model *m, struct conns *cs, const struct m_wakeup *wk,
	      uint32_t wakee_tid);
/*
 * Every message of the model's trace; 0. Pairing for the relay split, in time order, over
 * TCP and UDP only (pipes, Unix sockets, terminals, eventfds are a process's own plumbing):
 * a message X -> Y that X answers itself (X's next message to anyone goes back to Y: a
 * handshake, a declare) is not passed on; any other one joins X's received messages. A message
 * X -> Y is a delivery of the oldest message X received and has not passed on that can be a
 * request for Y: not from Y or Y's children, not from before Y's process started (in_relay);
 * Y's next message back to X ends its time in the reader.
 */
int conns_build(const struct model *m, struct conns *cs);
void conns_free(struct conns *cs);

struct json;
/* The per-connection table ("messages between traced processes"), the top connections by
 * messages (sorts cs), nothing when there is none; and the JSON array "connections". */
void conns_text(struct conns *cs, int top, FILE *out);
void conns_json(const struct conns *cs, struct json *j);
/* The connections of m built, written and freed: the section summary and contention add. */
void conns_model_text(const struct model *m, int top, FILE *out);
void conns_model_json(const struct model *m, struct json *j);

#endif
