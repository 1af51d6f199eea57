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
	case EV_LOCK_PY: return sizeof(struct ev_lock_py);
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

/* ---- a whole trace in memory ---- */

#define TRACE_BLOCK (4u << 20)	/* records are copied into blocks of this size */

/* A copy of h in the current block, 8-byte aligned as in the file. */
static const struct ev_hdr *keep_copy(struct trace *t, const struct ev_hdr *h)
{
	struct trace_unpacked *b = t->nunpacked ? &t->unpacked[t->nunpacked - 1] : NULL;
	size_t need = ((size_t)h->size + 7) & ~(size_t)7;
	uint8_t *p;

	if (!b || b->len + need > TRACE_BLOCK) {
		GROW(t->unpacked, t->nunpacked_cap, t->nunpacked + 1);
		b = &t->unpacked[t->nunpacked++];
		b->p = xmalloc(TRACE_BLOCK);
		b->len = 0;
	}
	p = b->p + b->len;
	memcpy(p, h, h->size);
	b->len += need;
	return (const struct ev_hdr *)p;
}

static int load_all(struct trace *t, struct trace_reader *r)
{
	const struct ev_hdr *h;
	size_t cap = 0;

	t->version = r->version;
	t->created_real_ns = r->created_real_ns;
	t->stats = r->stats;
	while ((h = trace_next(r))) {
		GROW(t->rec, cap, t->nrec + 1);
		t->rec[t->nrec++] = keep_copy(t, h);
	}
	trace_close(r);
	return 0;
}

int trace_load_mem(struct trace *t, const void *data, size_t size, const char *name)
{
	struct trace_reader r;

	memset(t, 0, sizeof(*t));
	if (trace_open_mem(&r, data, size, name))
		return -1;
	return load_all(t, &r);
}

int trace_load(struct trace *t, const char *path)
{
	struct trace_reader r;

	memset(t, 0, sizeof(*t));
	if (trace_open(&r, path))
		return -1;
	return load_all(t, &r);
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nunpacked; i++)
		free(t->unpacked[i].p);
	free(t->unpacked);
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

void trace_warn_damage(const struct trace_stats *s, const char *path)
{
	if (s->truncated)
		errmsg("%s is truncated: read up to its last whole chunk (%llu records), "
		       "dropped %llu bytes", path, (unsigned long long)s->records,
		       (unsigned long long)s->dropped_bytes);
	else if (!s->ended && s->records)	/* cut at a chunk's end: whole, but no end record */
		errmsg("%s is truncated: it ends after a whole chunk (%llu records) but without "
		       "the recording's end", path, (unsigned long long)s->records);
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
