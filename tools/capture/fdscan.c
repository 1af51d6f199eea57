/* fdscan.c — fd types of traced processes from /proc (see fdscan.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/fdscan.h"
#include "lib/idmap.h"
#include "lib/util.h"

/* A socket not found in /proc/net (not bound yet, or netlink) is looked for again this many
 * scans before it is taken as it is. */
#define SOCK_TRIES 3

struct fd_ent {
	int fd;
	uint8_t complete;	/* nothing about it can change while its link stays the same */
	uint8_t tries;
	uint64_t link_hash;
	uint64_t desc_hash;	/* of kind, flags, inode and description: what was written */
};

struct fd_proc {
	pid_t pid;
	struct fd_ent *v;
	size_t n, cap;
};

/* one socket of /proc/PID/net/... */
struct net_ent {
	uint64_t ino;
	uint16_t kind, flags;
	uint8_t complete;
	char desc[FDSCAN_DESC];
};

struct fdscan {
	struct fd_proc *procs;
	size_t nprocs, cap_procs;
	struct net_ent *net;	/* loaded at most once per fdscan_process, when a socket needs it */
	size_t nnet, cap_net;
	struct idmap net_idx;
	int net_loaded;
};

struct fdscan *fdscan_new(void)
{
	return xcalloc(1, sizeof(struct fdscan));
}

void fdscan_free(struct fdscan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].v);
	free(s->procs);
	free(s->net);
	idmap_free(&s->net_idx);
	free(s);
}

void fdscan_forget(struct fdscan *s, pid_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid) {
			free(s->procs[i].v);
			s->procs[i] = s->procs[--s->nprocs];
			return;
		}
}

/* ---- parsers ---------------------------------------------------------------------------- */

/* "0100007F:1F90" (the kernel prints each 32-bit word of the address in host order) */
static int inet_addr_str(const char *hex, unsigned port, int v6, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (v6) {
		struct in6_addr a;
		char w[9];

		if (strlen(hex) != 32)
			return -1;
		for (int i = 0; i < 4; i++) {
			memcpy(w, hex + 8 * i, 8);
			w[8] = 0;
			a.s6_addr32[i] = (uint32_t)strtoul(w, NULL, 16);
		}
		/* an IPv4 address on a dual-stack socket reads better as IPv4 */
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			struct in_addr a4 = {.s_addr = a.s6_addr32[3]};

			inet_ntop(AF_INET, &a4, ip, sizeof(ip));
			snprintf(out, n, "%s:%u", ip, port);
		} else {
			inet_ntop(AF_INET6, &a, ip, sizeof(ip));
			snprintf(out, n, "[%s]:%u", ip, port);
		}
		return 0;
	}
	struct in_addr a;

	if (strlen(hex) != 8)
		return -1;
	a.s_addr = (uint32_t)strtoul(hex, NULL, 16);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(out, n, "%s:%u", ip, port);
	return 0;
}

int fdscan_parse_inet(const char *line, int v6, uint64_t *ino, int *state, char *local,
		      size_t nl, char *remote, size_t nr)
{
	char la[40], ra[40];
	unsigned lp, rp, st;
	unsigned long long inode;

	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u "
		   "%llu", la, &lp, ra, &rp, &st, &inode) != 6)
		return -1;
	if (inet_addr_str(la, lp, v6, local, nl) || inet_addr_str(ra, rp, v6, remote, nr))
		return -1;
	*ino = inode;
	*state = (int)st;
	return 0;
}

int fdscan_parse_unix(const char *line, uint64_t *ino, int *type, int *state, int *listening,
		      char *path, size_t np)
{
	unsigned long long inode;
	unsigned flags, ty, st;
	int off = 0;

	if (sscanf(line, "%*[0-9A-Fa-f]: %*x %*x %x %x %x %llu%n", &flags, &ty, &st, &inode,
		   &off) != 4)
		return -1;
	while (line[off] == ' ')
		off++;
	snprintf(path, np, "%s", line + off);
	path[strcspn(path, "\n")] = 0;
	*ino = inode;
	*type = (int)ty;
	*state = (int)st;
	*listening = !!(flags & 0x10000);	/* __SO_ACCEPTCON */
	return 0;
}

int fdscan_classify(const char *link, uint64_t *ino, char *desc, size_t n)
{
	static const struct {
		const char *name;
		int kind;
		const char *text;
	} anon[] = {
		{"[eventfd]", FDK_EVENTFD, "eventfd"},
		{"[timerfd]", FDK_TIMERFD, "timerfd"},
		{"[eventpoll]", FDK_EPOLL, "epoll"},
		{"[signalfd]", FDK_SIGNALFD, "signalfd"},
		{"inotify", FDK_INOTIFY, "inotify"},
		{"[io_uring]", FDK_IO_URING, "io_uring"},
	};
	unsigned long long v;

	*ino = 0;
	if (sscanf(link, "socket:[%llu]", &v) == 1) {
		*ino = v;
		snprintf(desc, n, "socket:[%llu]", v);
		return FDK_SOCKET;
	}
	if (sscanf(link, "pipe:[%llu]", &v) == 1) {
		*ino = v;
		snprintf(desc, n, "pipe:[%llu]", v);
		return FDK_PIPE;
	}
	if (!strncmp(link, "anon_inode:", 11)) {
		for (size_t i = 0; i < sizeof(anon) / sizeof(anon[0]); i++)
			if (!strcmp(link + 11, anon[i].name)) {
				snprintf(desc, n, "%s", anon[i].text);
				return anon[i].kind;
			}
		snprintf(desc, n, "%s", link + 11);
		return FDK_ANON;
	}
	snprintf(desc, n, "%s", link);
	if (!strncmp(link, "/dev/", 5))
		return FDK_DEVICE;
	return link[0] == '/' ? FDK_FILE : FDK_OTHER;
}

uint16_t fdscan_fdinfo_flags(const char *fdinfo, uint64_t *interval)
{
	const char *p = strstr(fdinfo, "flags:");
	unsigned long long sec, nsec;
	unsigned fl;
	uint16_t r = 0;

	*interval = 0;
	if (p && sscanf(p + 6, " %o", &fl) == 1) {
		switch (fl & O_ACCMODE) {
		case O_RDONLY: r = FDF_READ; break;
		case O_WRONLY: r = FDF_WRITE; break;
		default: r = FDF_READ | FDF_WRITE; break;
		}
	}
	p = strstr(fdinfo, "it_interval:");
	if (p && sscanf(p + 12, " (%llu, %llu)", &sec, &nsec) == 2)
		*interval = sec * 1000000000ull + nsec;
	return r;
}

/* ---- /proc/PID/net ------------------------------------------------------------------------ */

static const char *tcp_state(int st)
{
	static const char *n[] = {"?", "established", "syn-sent", "syn-recv", "fin-wait1",
				  "fin-wait2", "time-wait", "close", "close-wait", "last-ack",
				  "listen", "closing", "new-syn-recv"};

	return st >= 0 && st < (int)(sizeof(n) / sizeof(n[0])) ? n[st] : "?";
}

static struct net_ent *net_add(struct fdscan *s, uint64_t ino)
{
	struct net_ent *e;

	if (!ino || idmap_get(&s->net_idx, ino) >= 0)
		return NULL;	/* the same inode twice (tcp6 after tcp): the first wins */
	GROW(s->net, s->cap_net, s->nnet + 1);
	e = &s->net[s->nnet];
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	idmap_put(&s->net_idx, ino, s->nnet++);
	return e;
}

static void load_inet(struct fdscan *s, pid_t pid, const char *file, int v6, int udp)
{
	char path[64], line[512], la[64], ra[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t ino;
		int st;
		struct net_ent *e;
		const char *proto = udp ? (v6 ? "udp6" : "udp") : (v6 ? "tcp6" : "tcp");

		if (fdscan_parse_inet(line, v6, &ino, &st, la, sizeof(la), ra, sizeof(ra)) ||
		    !(e = net_add(s, ino)))
			continue;
		e->kind = udp ? FDK_UDP : FDK_TCP;
		e->complete = 1;
		if (!udp && st == 10) {
			e->flags = FDF_LISTEN;
			snprintf(e->desc, sizeof(e->desc), "%s listening on %s", proto, la);
		} else if (udp && (!strncmp(ra, "0.0.0.0:", 8) || !strncmp(ra, "[::]:", 5))) {
			snprintf(e->desc, sizeof(e->desc), "%s %s", proto, la);
		} else if (udp || st == 1) {
			snprintf(e->desc, sizeof(e->desc), "%s %s→%s", proto, la, ra);
		} else {
			/* connecting or closing: it will change */
			snprintf(e->desc, sizeof(e->desc), "%s %s→%s (%s)", proto, la, ra,
				 tcp_state(st));
			e->complete = 0;
		}
	}
	fclose(f);
}

static void load_unix(struct fdscan *s, pid_t pid)
{
	static const char *types[] = {"?", "stream", "dgram", "?", "?", "seqpacket"};
	char path[64], line[512], sp[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t ino;
		int type, st, listening;
		struct net_ent *e;

		if (fdscan_parse_unix(line, &ino, &type, &st, &listening, sp, sizeof(sp)) ||
		    !(e = net_add(s, ino)))
			continue;
		e->kind = FDK_UNIX;
		e->flags = listening ? FDF_LISTEN : 0;
		/* an unconnected, unnamed stream socket may still connect */
		e->complete = listening || st == 3 || sp[0] || type != 1;
		snprintf(e->desc, sizeof(e->desc), "unix %s%s%s%.120s",
			 type >= 0 && type < 6 ? types[type] : "?", listening ? " listening" : "",
			 sp[0] ? " " : "", sp[0] ? sp : (st == 3 ? " (unnamed, connected)" : ""));
	}
	fclose(f);
}

static void load_net(struct fdscan *s, pid_t pid)
{
	s->nnet = 0;
	idmap_free(&s->net_idx);
	load_inet(s, pid, "tcp", 0, 0);
	load_inet(s, pid, "tcp6", 1, 0);
	load_inet(s, pid, "udp", 0, 1);
	load_inet(s, pid, "udp6", 1, 1);
	load_unix(s, pid);
	s->net_loaded = 1;
}

/* ---- the scan ----------------------------------------------------------------------------- */

static struct fd_proc *proc_of(struct fdscan *s, pid_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	GROW(s->procs, s->cap_procs, s->nprocs + 1);
	memset(&s->procs[s->nprocs], 0, sizeof(s->procs[0]));
	s->procs[s->nprocs].pid = pid;
	return &s->procs[s->nprocs++];
}

static int cmp_ent(const void *a, const void *b)
{
	const struct fd_ent *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static const struct fd_ent *find_ent(const struct fd_proc *p, int fd)
{
	struct fd_ent key = {.fd = fd};

	return p->n ? bsearch(&key, p->v, p->n, sizeof(*p->v), cmp_ent) : NULL;
}

/* Describe one fd; fills rec (kind, flags, ino) and desc. Returns complete. */
static int describe(struct fdscan *s, pid_t pid, int fd, const char *link, int last_try,
		    struct ev_meta_fd *rec, char *desc)
{
	char path[64], info[1024];
	uint64_t interval = 0;
	int kind, complete = 1;

	uint64_t ino;

	kind = fdscan_classify(link, &ino, desc, FDSCAN_DESC);
	rec->ino = ino;
	rec->flags = 0;
	if (kind == FDK_SOCKET) {
		int64_t at;

		if (!s->net_loaded)
			load_net(s, pid);
		at = idmap_get(&s->net_idx, rec->ino);
		if (at >= 0) {
			const struct net_ent *e = &s->net[at];

			kind = e->kind;
			rec->flags = e->flags | FDF_READ | FDF_WRITE;
			snprintf(desc, FDSCAN_DESC, "%s", e->desc);
			complete = e->complete;
		} else {
			rec->flags = FDF_READ | FDF_WRITE;
			complete = last_try;
		}
	} else if (kind != FDK_CLOSED) {
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
		if (read_small_file(path, info, sizeof(info)) > 0)
			rec->flags = fdscan_fdinfo_flags(info, &interval);
		if (kind == FDK_TIMERFD && interval) {
			char d[32];

			snprintf(desc, FDSCAN_DESC, "timerfd interval %s",
				 fmt_dur(d, sizeof(d), interval));
		}
		/* a timerfd's interval can be re-armed: look again at every scan */
		complete = kind != FDK_TIMERFD;
	}
	rec->kind = kind;
	rec->fd = fd;
	return complete;
}

int fdscan_process(struct fdscan *s, pid_t pid, fdscan_emit emit, void *ctx)
{
	struct fd_proc *p = proc_of(s, pid);
	struct fd_ent *cur = NULL;
	size_t n = 0, cap = 0;
	char path[64], link[512], desc[FDSCAN_DESC];
	struct dirent *d;
	int written = 0, truncated = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	s->net_loaded = 0;
	while ((d = readdir(dir))) {
		struct ev_meta_fd rec = {};
		const struct fd_ent *old;
		struct fd_ent *e;
		ssize_t len;
		uint64_t h;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (n >= FDSCAN_MAX_FDS) {
			truncated = 1;
			break;
		}
		len = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;	/* closed meanwhile */
		link[len] = 0;
		h = idmap_str_key(0, link);
		GROW(cur, cap, n + 1);
		e = &cur[n++];
		memset(e, 0, sizeof(*e));
		e->fd = atoi(d->d_name);
		e->link_hash = h;
		old = find_ent(p, e->fd);
		if (old && old->link_hash == h) {
			if (old->complete) {
				*e = *old;
				continue;
			}
			e->tries = old->tries + 1;
		}
		e->complete = describe(s, pid, e->fd, link, e->tries + 1 >= SOCK_TRIES, &rec, desc);
		snprintf(link, sizeof(link), "%u/%u/%" PRIu64 "/", rec.kind, rec.flags,
			 (uint64_t)rec.ino);
		e->desc_hash = idmap_str_key(idmap_str_key(0, link), desc);
		if (old && old->desc_hash == e->desc_hash)
			continue;
		rec.hdr.ts = now_mono_ns();
		rec.hdr.tid = pid;
		rec.hdr.type = EV_META_FD;
		emit(ctx, &rec, desc);
		written++;
	}
	closedir(dir);
	if (n > 1)
		qsort(cur, n, sizeof(*cur), cmp_ent);
	/* fds gone since the previous scan (not knowable when this one stopped early) */
	for (size_t i = 0; i < p->n && !truncated; i++) {
		struct fd_ent key = {.fd = p->v[i].fd};
		struct ev_meta_fd rec = {};

		if (n && bsearch(&key, cur, n, sizeof(*cur), cmp_ent))
			continue;
		rec.hdr.ts = now_mono_ns();
		rec.hdr.tid = pid;
		rec.hdr.type = EV_META_FD;
		rec.fd = p->v[i].fd;
		rec.kind = FDK_CLOSED;
		emit(ctx, &rec, "");
		written++;
	}
	free(p->v);
	p->v = cur;
	p->n = n;
	p->cap = cap;
	return written;
}
