// SPDX-License-Identifier: GPL-2.0
/* sockpeer.c — Unix socket peers from a sock_diag dump (see sockpeer.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "doctor/sockpeer.h"

/* One reply's Unix sockets: those with a peer go into the map. 1 at the dump's end, -errno on
 * an error message, 0 while more is to come. */
static int add_replies(struct idmap *peers, const char *buf, int len)
{
	const struct nlmsghdr *h;

	for (h = (const void *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
		const struct unix_diag_msg *m = NLMSG_DATA(h);
		int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		const struct rtattr *a = (const void *)(m + 1);

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : -EIO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || alen < 0)
			continue;
		for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
			if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(__u32)) {
				__u32 peer;

				memcpy(&peer, RTA_DATA(a), sizeof(peer));
				if (peer)
					idmap_put(peers, m->udiag_ino, peer);
			}
	}
	return 0;
}

int unix_peers(struct idmap *peers)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_show = UDIAG_SHOW_PEER},
	};
	/* aligned for the nlmsghdr walk; as big as a dump's reply can be (the kernel sizes them to
	 * what the reader took before, at most 32 KiB), so recv never truncates one */
	static __thread long buf[32768 / sizeof(long)];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), err = 0;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		int len = (int)recv(fd, buf, sizeof(buf), 0), r;

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			err = len < 0 ? -errno : 0;
			break;
		}
		r = add_replies(peers, (const char *)buf, len);
		if (r) {
			err = r < 0 ? r : 0;
			break;
		}
	}
out:
	close(fd);
	return err;
}
