/*
 * perfetto.h — a minimal protobuf writer (proto2 wire format: varints, length-delimited
 * fields) for Perfetto traces, with no SDK: field numbers are the public ones of
 * protos/perfetto/trace/ (trace_packet.proto, track_event.proto, ftrace/). Nested messages reserve room for their
 * length and are closed with pb_end(), which moves the body so every length is minimal.
 *
 *	struct pb b = {0};
 *	size_t pkt = pb_begin(&b, 1);		Trace.packet
 *	pb_u64(&b, 8, ts);			TracePacket.timestamp
 *	pb_end(&b, pkt);
 *	pb_flush(&b, file);
 */
#ifndef CONLAB_PERFETTO_H
#define CONLAB_PERFETTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "events.h"
#include "model/model.h"

/* The probe records a Perfetto trace mirrors as ftrace events (the timeline's fork, exec and
 * exit marks among them): the only ones the model keeps for it. A futex call or a Python
 * stack is drawn through the wait it belongs to, and keeping those too doubled the memory. */
#define PERFETTO_STREAM_TYPES                                                              \
	(M_KEEP_TYPE(EV_SWITCH) | M_KEEP_TYPE(EV_SWITCH_SLEEP) | M_KEEP_TYPE(EV_WAKEUP) |  \
	 M_KEEP_TYPE(EV_WAKEUP_NEW) | M_KEEP_TYPE(EV_FORK) | M_KEEP_TYPE(EV_EXEC) |        \
	 M_KEEP_TYPE(EV_EXIT))

struct pb {
	uint8_t *b;
	size_t n, cap;
};

void pb_varint(struct pb *p, uint64_t v);
void pb_u64(struct pb *p, uint32_t field, uint64_t v);	/* varint field */
void pb_i64(struct pb *p, uint32_t field, int64_t v);	/* int64 (two's complement varint) */
void pb_fixed64(struct pb *p, uint32_t field, uint64_t v);
void pb_str(struct pb *p, uint32_t field, const char *s);
void pb_bytes(struct pb *p, uint32_t field, const void *d, size_t n);
/* Open a sub-message; returns the mark pb_end() needs. */
size_t pb_begin(struct pb *p, uint32_t field);
void pb_end(struct pb *p, size_t mark);
/* Write out and empty the buffer; 0 or -1. */
int pb_flush(struct pb *p, FILE *f);
void pb_free(struct pb *p);

#endif
