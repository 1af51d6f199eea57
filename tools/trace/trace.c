/* trace.c — write and read trace files (format in trace.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "trace/trace.h"
#include "lib/util.h"

size_t ev_min_size(uint16_t type)
{
	switch (type) {
	case EV_SWITCH: return sizeof(struct ev_switch);
	case EV_SWITCH_SLEEP: return sizeof(struct ev_switch_sleep);
	case EV_WAKEUP: case EV_WAKEUP_NEW: return sizeof(struct ev_wakeup);
	case EV_FORK: return sizeof(struct ev_fork);
	case EV_EXEC: return sizeof(struct ev_exec);
	case EV_EXIT: return sizeof(struct ev_exit);
	case EV_RENAME: return sizeof(struct ev_rename);
	case EV_FUTEX: return sizeof(struct ev_futex);
	case EV_LOCK: return sizeof(struct ev_lock);
	case EV_LOCK_EDGE: return sizeof(struct ev_lock_edge);
	case EV_WAITCALL: return sizeof(struct ev_waitcall);
	case EV_GIL: return sizeof(struct ev_gil);
	case EV_META_TASK: return sizeof(struct ev_meta_task);
	case EV_META_MAPS: return sizeof(struct ev_meta_maps) + 1;
	case EV_META_CLOCK: return sizeof(struct ev_meta_clock);
	case EV_META_LOST: return sizeof(struct ev_meta_lost);
	case EV_META_CMDLINE: return sizeof(struct ev_meta_cmdline);
	case EV_META_STATUS: return sizeof(struct ev_meta_status);
	case EV_META_MAPS_RESET: return sizeof(struct ev_meta_maps_reset);
	case EV_META_STACK: return sizeof(struct ev_meta_stack);
	case EV_META_FD: return sizeof(struct ev_meta_fd) + 1;
	case EV_META_THREAD_NAME: return sizeof(struct ev_meta_thread_name) + 1;
	case EV_META_PY_FRAME: return sizeof(struct ev_meta_py_frame) + 2;
	case EV_META_SYNC_NAME: return sizeof(struct ev_meta_sync_name) + 1;
	case EV_PY_STACK: return offsetof(struct ev_py_stack, frames) + sizeof(struct ev_py_frame);
	default: return 0;
	}
}

/* ---- writer ---- */

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = write(fd, b, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += r;
		n -= r;
	}
	return 0;
}

int trace_writer_open(struct trace_writer *w, const char *path, int uid, int gid)
{
	struct trace_file_header h = {};
	struct stat st;
	int fd, err;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	/* O_NOFOLLOW: a symlink planted at the output path is refused, not followed */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("cannot create %s: %s", path,
			    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("cannot write %s: not a regular file", path);
	}
	/* An existing file planted by another user (or a hard link to someone's file) would be
	 * truncated and handed over by the chown below: refuse it, as the symlink above. */
	if (st.st_nlink > 1) {
		close(fd);
		return fail("cannot write %s: it has other hard links", path);
	}
	if (st.st_uid != geteuid() && (uid < 0 || st.st_uid != (uid_t)uid)) {
		close(fd);
		return fail("cannot write %s: owned by another user (uid %u)", path,
			    (unsigned)st.st_uid);
	}
	if (ftruncate(fd, 0) || fchmod(fd, 0600)) {
		err = errno;
		close(fd);
		return fail("cannot write %s: %s", path, strerror(err));
	}
	if (uid >= 0 && fchown(fd, uid, gid) < 0) {
		err = errno;
		close(fd);
		return fail("cannot give %s to uid %d: %s", path, uid, strerror(err));
	}
	memcpy(h.magic, TRACE_MAGIC, 8);
	h.version = CLAB_WIRE_VERSION;
	h.header_size = TRACE_HEADER_SIZE;
	h.created_real_ns = now_real_ns();
	err = write_all(fd, &h, sizeof(h));
	if (err) {
		close(fd);
		return fail("cannot write %s: %s", path, strerror(-err));
	}
	w->fd = fd;
	w->compress = 1;
	w->cap = TRACE_CHUNK_MAX + 65536;
	w->buf = xmalloc(w->cap);
	w->bytes = sizeof(h);
	return 0;
}

/* Bytes of the payload and its padding: CLCZ payloads are padded to a multiple of 8. */
static size_t chunk_span(const struct chunk_header *ch)
{
	return ch->magic == TRACE_ZCHUNK_MAGIC ? ((size_t)ch->len + 7) & ~(size_t)7 : ch->len;
}

/* The header of a chunk of nrec records whose payload is p[0..len). */
static struct chunk_header chunk_header(uint32_t magic, const uint8_t *p, size_t len,
					uint32_t nrec)
{
	return (struct chunk_header){magic, len, nrec, crc32(0, p, len)};
}

/* The chunk as one CLCZ chunk in w->zbuf; its size, 0 when zstd failed (then CLCK is written). */
static size_t pack_chunk(struct trace_writer *w)
{
	struct chunk_header ch;
	size_t n;

	if (!w->zbuf) {
		w->zctx = ZSTD_createCCtx();
		w->zcap = sizeof(ch) + ZSTD_compressBound(w->cap) + 8;
		w->zbuf = xmalloc(w->zcap);
	}
	if (!w->zctx)
		return 0;
	/* level 1: the fastest of the normal levels; the recorder shares the CPUs it traces */
	n = ZSTD_compressCCtx(w->zctx, w->zbuf + sizeof(ch), w->zcap - sizeof(ch) - 8, w->buf,
			      w->len, 1);
	if (ZSTD_isError(n))
		return 0;
	ch = chunk_header(TRACE_ZCHUNK_MAGIC, w->zbuf + sizeof(ch), n, w->nrec);
	memcpy(w->zbuf, &ch, sizeof(ch));
	/* zero bytes up to a multiple of 8 keep the chunk headers, and any CLCK chunk, aligned */
	memset(w->zbuf + sizeof(ch) + n, 0, 8);
	return sizeof(ch) + chunk_span(&ch);
}

int trace_flush(struct trace_writer *w)
{
	struct chunk_header ch;
	size_t n = 0;
	int err;

	if (w->error)
		return -1;
	if (!w->len)
		return 0;
	if (w->compress)
		n = pack_chunk(w);
	if (n) {
		err = write_all(w->fd, w->zbuf, n);
	} else {
		ch = chunk_header(TRACE_CHUNK_MAGIC, w->buf, w->len, w->nrec);
		/* The header goes right before the payload in the buffer so one write(2) carries
		 * both: a kill between two writes would otherwise leave a header without its
		 * payload. */
		memmove(w->buf + sizeof(ch), w->buf, w->len);
		memcpy(w->buf, &ch, sizeof(ch));
		n = w->len + sizeof(ch);
		err = write_all(w->fd, w->buf, n);
	}
	if (err) {
		w->error = -err;
		return -1;
	}
	w->bytes += n;
	w->len = 0;
	w->nrec = 0;
	return 0;
}

int trace_write2(struct trace_writer *w, void *rec, size_t size, const void *tail, size_t tlen)
{
	size_t total = (size + tlen + 7) & ~(size_t)7;
	struct ev_hdr *h = rec;

	if (w->error)
		return -1;
	if (total > 65535)
		return 0;	/* cannot be described by ev_hdr.size: never produced */
	if (w->len + total + sizeof(struct chunk_header) > TRACE_CHUNK_MAX && trace_flush(w))
		return -1;
	h->size = total;
	memcpy(w->buf + w->len, rec, size);
	if (tlen)
		memcpy(w->buf + w->len + size, tail, tlen);
	memset(w->buf + w->len + size + tlen, 0, total - size - tlen);
	w->len += total;
	w->nrec++;
	w->records++;
	return 0;
}

int trace_write(struct trace_writer *w, const void *rec, size_t size)
{
	if (w->error)
		return -1;
	if (size > 65535 || size < sizeof(struct ev_hdr))
		return 0;
	if (w->len + size + sizeof(struct chunk_header) > TRACE_CHUNK_MAX && trace_flush(w))
		return -1;
	memcpy(w->buf + w->len, rec, size);
	w->len += size;
	w->nrec++;
	w->records++;
	return 0;
}

int trace_writer_close(struct trace_writer *w)
{
	int ret = 0;

	if (w->fd < 0)
		return 0;
	if (trace_flush(w))
		ret = -1;
	if (fsync(w->fd) && errno != EINVAL)
		ret = -1;
	if (close(w->fd))
		ret = -1;
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
	free(w->zbuf);
	w->zbuf = NULL;
	ZSTD_freeCCtx(w->zctx);
	w->zctx = NULL;
	return ret;
}

/* ---- reader ---- */

/* A record and its place in the file: records of decompressed chunks live in buffers of
 * their own, so their addresses say nothing of the file order. */
struct rec_pos {
	const struct ev_hdr *rec;
	size_t pos;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec_pos *x = a, *y = b;

	if (x->rec->ts != y->rec->ts)
		return x->rec->ts < y->rec->ts ? -1 : 1;
	/* stable: records of equal time keep their file order */
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void sort_records(struct trace *t)
{
	struct rec_pos *v = xmalloc(t->nrec * sizeof(*v));

	for (size_t i = 0; i < t->nrec; i++)
		v[i] = (struct rec_pos){t->rec[i], i};
	qsort(v, t->nrec, sizeof(*v), cmp_rec);
	for (size_t i = 0; i < t->nrec; i++)
		t->rec[i] = v[i].rec;
	free(v);
}

/* Validate the records of one chunk and collect them. */
static void take_records(struct trace *t, uint8_t *p, uint32_t len, size_t *cap)
{
	uint32_t off = 0;

	while (off + sizeof(struct ev_hdr) <= len) {
		struct ev_hdr h;
		size_t min;

		memcpy(&h, p + off, sizeof(h));
		if (h.size < sizeof(struct ev_hdr) || h.size > len - off) {
			t->stats.bad_records++;
			return;	/* the rest of the chunk cannot be framed */
		}
		min = ev_min_size(h.type);
		if (!min)
			t->stats.unknown_records++;
		else if (h.size < min)
			t->stats.bad_records++;
		else if (((uintptr_t)(p + off)) % 8)
			t->stats.bad_records++;	/* writers keep 8-byte alignment */
		else if (h.ts >> 62)
			t->stats.bad_records++;	/* CLOCK_MONOTONIC of over 146 years: a forged time
						 * that would turn negative in time arithmetic */
		else {
			GROW(t->rec, *cap, t->nrec + 1);
			t->rec[t->nrec++] = (const struct ev_hdr *)(p + off);
		}
		off += h.size;
	}
	if (off != len)
		t->stats.bad_records++;
}

/* Decompress a CLCZ payload (exactly one zstd frame) into a buffer of its own and take its
 * records. -1 when the frame is not one this writer could have made. */
static int unpack_chunk(struct trace *t, const uint8_t *p, uint32_t len, size_t *cap)
{
	unsigned long long raw = ZSTD_getFrameContentSize(p, len);
	size_t fsz = ZSTD_findFrameCompressedSize(p, len);
	uint8_t *buf;
	size_t n;

	/* The content size is in the frame header and bounded before anything is allocated: by
	 * what a writer flushes at, and by a ratio 10x what recordings show (at most 11:1), so
	 * that a small hostile file cannot inflate to gigabytes. */
	if (raw == ZSTD_CONTENTSIZE_UNKNOWN || raw == ZSTD_CONTENTSIZE_ERROR ||
	    raw > TRACE_CHUNK_MAX || raw > (unsigned long long)len * TRACE_ZCHUNK_RATIO ||
	    ZSTD_isError(fsz) || fsz != len)
		return -1;
	buf = xmalloc(raw ? raw : 1);
	n = ZSTD_decompress(buf, raw, p, fsz);
	if (ZSTD_isError(n) || n != raw) {
		free(buf);
		return -1;
	}
	GROW(t->unpacked, t->nunpacked_cap, t->nunpacked + 1);
	t->unpacked[t->nunpacked++] = (struct trace_unpacked){buf, raw};
	take_records(t, buf, raw, cap);
	return 0;
}

int trace_load_mem(struct trace *t, const void *data, size_t size, const char *name)
{
	struct trace_file_header h;
	size_t off, cap = 0;

	memset(t, 0, sizeof(*t));
	if (size == 0)
		return fail("%s: empty file, not a conlab trace", name);
	if (size < sizeof(h) || memcmp(data, TRACE_MAGIC, 8))
		return fail("%s: not a conlab trace (bad magic)", name);
	memcpy(&h, data, sizeof(h));
	if (h.version > CLAB_WIRE_VERSION)
		return fail("%s: trace format version %u is newer than this conlab (%u): upgrade conlab",
			    name, h.version, CLAB_WIRE_VERSION);
	if (h.version < 1 || h.header_size < sizeof(h) || h.header_size > size)
		return fail("%s: corrupt trace header", name);
	/* 8 extra bytes so that the payload can be realigned to 8 */
	t->data = xmalloc(size + 8);
	memcpy(t->data, data, size);
	t->size = size;
	t->version = h.version;
	t->created_real_ns = h.created_real_ns;

	off = h.header_size;
	while (off < size) {
		struct chunk_header ch;

		if (size - off < sizeof(ch)) {
			t->stats.truncated = 1;
			t->stats.dropped_bytes += size - off;
			break;
		}
		memcpy(&ch, t->data + off, sizeof(ch));
		if ((ch.magic != TRACE_CHUNK_MAGIC && ch.magic != TRACE_ZCHUNK_MAGIC) ||
		    ch.len > (64u << 20)) {
			t->stats.bad_chunks++;
			t->stats.dropped_bytes += size - off;
			break;
		}
		if (chunk_span(&ch) > size - off - sizeof(ch)) {
			t->stats.truncated = 1;
			t->stats.dropped_bytes += size - off;
			break;
		}
		if (crc32(0, t->data + off + sizeof(ch), ch.len) != ch.crc ||
		    (ch.magic == TRACE_ZCHUNK_MAGIC &&
		     unpack_chunk(t, t->data + off + sizeof(ch), ch.len, &cap))) {
			t->stats.bad_chunks++;
			t->stats.dropped_bytes += sizeof(ch) + chunk_span(&ch);
		} else {
			t->stats.chunks++;
			if (ch.magic == TRACE_CHUNK_MAGIC)
				take_records(t, t->data + off + sizeof(ch), ch.len, &cap);
		}
		off += sizeof(ch) + chunk_span(&ch);
	}
	t->stats.records = t->nrec;
	if (t->nrec)
		sort_records(t);
	return 0;
}

int trace_load(struct trace *t, const char *path)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	size_t got = 0;
	int fd, ret;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("cannot read %s: not a regular file", path);
	}
	buf = xmalloc(st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	ret = trace_load_mem(t, buf, got, path);
	free(buf);
	return ret;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nunpacked; i++)
		free(t->unpacked[i].p);
	free(t->unpacked);
	free(t->data);
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

void trace_warn_damage(const struct trace *t, const char *path)
{
	const struct trace_stats *s = &t->stats;

	if (s->truncated)
		errmsg("%s is truncated: read up to its last whole chunk (%llu records), "
		       "dropped %llu bytes", path, (unsigned long long)s->records,
		       (unsigned long long)s->dropped_bytes);
	if (s->bad_chunks)
		errmsg("%s is damaged: %llu corrupt chunk(s) skipped, %llu bytes dropped", path,
		       (unsigned long long)s->bad_chunks, (unsigned long long)s->dropped_bytes);
	if (s->bad_records)
		errmsg("%s: %llu malformed record(s) skipped", path,
		       (unsigned long long)s->bad_records);
	if (s->unknown_records)
		errmsg("%s: %llu record(s) of unknown type skipped", path,
		       (unsigned long long)s->unknown_records);
}
