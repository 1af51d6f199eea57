/*
 * trace.h — the trace file (.clab): a header, then chunks of records.
 *
 *   header   "CONLABTR", u32 version, u32 header size, u64 created (realtime ns), u64 flags
 *   chunk    u32 magic "CLCK", u32 payload bytes, u32 records, u32 crc32(payload), payload
 *            or magic "CLCZ": the payload is one zstd frame that holds the records, followed
 *            by zero bytes up to a multiple of 8 (not counted in the length nor the crc)
 *   payload  records back to back: each starts with struct ev_hdr (bpf/events.h) whose size
 *            field gives its length; BPF records as the kernel made them, metadata records
 *            (EV_META_*) made in user space.
 *
 * The recorder compresses: the records of a blocking wait repeat the same tids, addresses and
 * stack ids, and zstd's level 1 shrinks them 5-11x for about 2 ms of CPU per MiB.
 *
 * The writer flushes a chunk at a time with one write(2), so a recorder killed with SIGKILL
 * leaves a file that reads up to its last whole chunk. The reader never trusts a length it has
 * not bounded: a bad chunk ends the reading (or is skipped when the next chunk is intact), and
 * what was dropped is counted.
 */
#ifndef CONLAB_TRACE_H
#define CONLAB_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define TRACE_MAGIC "CONLABTR"
#define TRACE_CHUNK_MAGIC 0x4b434c43u	/* "CLCK" little-endian */
#define TRACE_ZCHUNK_MAGIC 0x5a434c43u	/* "CLCZ": zstd-compressed records */
#define TRACE_HEADER_SIZE 32
#define TRACE_CHUNK_MAX (1u << 20)	/* records flushed at this size; readers accept 64 MiB
					 * in a CLCK chunk, this much in a CLCZ one */
#define TRACE_ZCHUNK_RATIO 128		/* a CLCZ chunk inflating more is refused as corrupt */

struct trace_file_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t created_real_ns;
	uint64_t flags;
};

struct chunk_header {
	uint32_t magic;
	uint32_t len;
	uint32_t nrec;
	uint32_t crc;
};

struct trace_writer {
	int fd;
	int compress;		/* CLCZ chunks (the default) or CLCK */
	uint8_t *buf;
	size_t len, cap;
	void *zctx;		/* ZSTD_CCtx, kept across chunks */
	uint8_t *zbuf;		/* chunk header + compressed payload */
	size_t zcap;
	uint32_t nrec;
	uint64_t records;	/* written so far, all chunks */
	uint64_t bytes;
	int error;		/* errno of the first failed write; nothing is written after it */
};

/* Create path (0600, never through a symlink); uid/gid >= 0: chown to them. 0 or -1 + message */
int trace_writer_open(struct trace_writer *w, const char *path, int uid, int gid);
/* Append one record (copied). Flushes a chunk when the buffer is full. 0 or -1 (w->error). */
int trace_write(struct trace_writer *w, const void *rec, size_t size);
/* Append a record made of a fixed part and a variable tail (path, argv). hdr.size is set. */
int trace_write2(struct trace_writer *w, void *rec, size_t size, const void *tail, size_t tlen);
int trace_flush(struct trace_writer *w);
int trace_writer_close(struct trace_writer *w);

struct trace_stats {
	uint64_t chunks;
	uint64_t records;
	uint64_t bad_chunks;		/* crc or length mismatch */
	uint64_t bad_records;		/* malformed records skipped inside good chunks */
	uint64_t unknown_records;	/* types this version does not know */
	uint64_t dropped_bytes;		/* bytes after the last whole chunk, or skipped */
	int truncated;			/* the file ended inside a chunk */
	int ended;			/* it holds the recording's end (EV_META_STATUS) */
};

/*
 * Reading in bounded memory: records come out in time order (stable: equal times keep their
 * file order) one at a time, from chunk-by-chunk reads. A first pass frames and validates every
 * chunk and notes the time span of its records; the second decompresses a chunk when the
 * merge reaches its first record, sorts it, and merges it with the other open chunks (a k-way
 * merge on a heap). A recorder's chunks overlap only by the ring buffer's reordering, so a few
 * chunks are open at a time, whatever the trace's length.
 */
struct trace_chunk_ix {		/* one chunk that holds valid records */
	uint64_t off;		/* its payload in the file */
	uint64_t first_ts, last_ts;
	uint32_t magic, len;
	uint32_t seq;		/* file order among these */
};

struct trace_cursor {		/* an open chunk: its records sorted, the next one at i */
	uint8_t *buf;
	const struct ev_hdr **rec;
	size_t n, i;
	uint32_t seq;
};

struct trace_reader {
	int fd;			/* the file, or -1 when reading mem */
	const uint8_t *mem;	/* trace_open_mem: the caller's bytes */
	uint64_t size;
	uint32_t version;
	uint64_t created_real_ns;
	struct trace_stats stats;	/* complete once opened (the first pass counts) */
	struct trace_chunk_ix *ix;	/* by first_ts, then file order */
	size_t nix, next_ix;
	struct trace_cursor *heap;	/* open chunks, smallest (ts, seq) on top */
	size_t nheap, cap_heap;
	struct trace_cursor done;	/* the chunk the last record came from, when it ended */
	int advance;		/* the last record handed out is still at the heap's top */
	uint8_t *io;		/* a chunk's bytes as read */
	size_t cap_io;
	size_t open_max;	/* most chunks open at once (for tests and the benchmark) */
	uint64_t handed;	/* records handed out */
	/* the first pass's span of the records that time the trace (the probes' and the clock
	 * pair): what model_event() makes t_first and t_last once every record is fed */
	uint64_t time_first, time_last;
	uint64_t types;		/* the first pass's record types: bit 1 << type (types < 64) */
};

/* Open a trace and validate its chunks; on error one line and -1. */
int trace_open(struct trace_reader *r, const char *path);
/* Same over bytes in memory, which must outlive the reader (not copied). */
int trace_open_mem(struct trace_reader *r, const void *data, size_t size, const char *name);
/* The next record in time order, valid until the next call; NULL at the end. */
const struct ev_hdr *trace_next(struct trace_reader *r);
void trace_close(struct trace_reader *r);

/* A whole trace in memory: every record, copied, in time order (conlab dump, tests, fuzzing;
 * the reports read with trace_next). */
struct trace {
	uint32_t version;
	uint64_t created_real_ns;
	struct trace_unpacked {		/* blocks the records are copied into */
		uint8_t *p;
		size_t len;
	} *unpacked;
	size_t nunpacked, nunpacked_cap;
	const struct ev_hdr **rec;	/* every valid record, sorted by time (stable) */
	size_t nrec;
	struct trace_stats stats;
};

/* Read and validate a whole trace file; on error prints one line and returns -1. */
int trace_load(struct trace *t, const char *path);
/* Same over a buffer in memory (fuzzing, tests). */
int trace_load_mem(struct trace *t, const void *data, size_t size, const char *name);
void trace_free(struct trace *t);
/* One line on stderr when the file was truncated or damaged ("read up to ..."). */
void trace_warn_damage(const struct trace_stats *s, const char *path);

/* Minimum size of a record of this type, 0 for unknown types. */
size_t ev_min_size(uint16_t type);

#endif
