/* test_fdscan.c — fd types: the /proc parsers, and the model's fd table by time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "capture/fdscan.h"
#include "model/fdtable.h"
#include "model/model.h"

static void test_inet(void **state)
{
	char l[64], r[64];
	uint64_t ino;
	int st;

	(void)state;
	assert_int_equal(fdscan_parse_inet("  sl  local_address rem_address   st tx_queue", 0, &ino,
					   &st, l, sizeof(l), r, sizeof(r)), -1);
	assert_int_equal(fdscan_parse_inet("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 "
					   "00:00000000 00000000     0        0 12345 1 0000 100 0 0 "
					   "10 0", 0, &ino, &st, l, sizeof(l), r, sizeof(r)), 0);
	assert_int_equal(ino, 12345);
	assert_int_equal(st, 10);
	assert_string_equal(l, "127.0.0.1:8080");
	assert_string_equal(r, "0.0.0.0:0");
	assert_int_equal(fdscan_parse_inet("   1: 00000000000000000000000001000000:1F90 "
					   "0000000000000000FFFF00000100007F:9C40 01 00000000:00000000 "
					   "00:00000000 00000000     0        0 777 1", 1, &ino, &st, l,
					   sizeof(l), r, sizeof(r)), 0);
	assert_int_equal(ino, 777);
	assert_int_equal(st, 1);
	assert_string_equal(l, "[::1]:8080");
	assert_string_equal(r, "127.0.0.1:40000");	/* v4-mapped */
}

static void test_unix(void **state)
{
	char path[64];
	uint64_t ino;
	int type, st, listening;

	(void)state;
	assert_int_equal(fdscan_parse_unix("0000000000000000: 00000002 00000000 00010000 0001 01 "
					   "4242 /run/x.sock\n", &ino, &type, &st, &listening, path,
					   sizeof(path)), 0);
	assert_int_equal(ino, 4242);
	assert_int_equal(type, 1);
	assert_int_equal(listening, 1);
	assert_string_equal(path, "/run/x.sock");
	assert_int_equal(fdscan_parse_unix("0000000000000000: 00000003 00000000 00000000 0001 03 "
					   "99\n", &ino, &type, &st, &listening, path, sizeof(path)), 0);
	assert_int_equal(st, 3);
	assert_int_equal(listening, 0);
	assert_string_equal(path, "");
}

static void test_classify(void **state)
{
	char d[64];
	uint64_t ino, iv;

	(void)state;
	assert_int_equal(fdscan_classify("socket:[31337]", &ino, d, sizeof(d)), FDK_SOCKET);
	assert_int_equal(ino, 31337);
	assert_int_equal(fdscan_classify("pipe:[12345]", &ino, d, sizeof(d)), FDK_PIPE);
	assert_string_equal(d, "pipe:[12345]");
	assert_int_equal(fdscan_classify("anon_inode:[eventfd]", &ino, d, sizeof(d)), FDK_EVENTFD);
	assert_int_equal(fdscan_classify("anon_inode:[timerfd]", &ino, d, sizeof(d)), FDK_TIMERFD);
	assert_int_equal(fdscan_classify("anon_inode:[eventpoll]", &ino, d, sizeof(d)), FDK_EPOLL);
	assert_int_equal(fdscan_classify("anon_inode:[pidfd]", &ino, d, sizeof(d)), FDK_ANON);
	assert_int_equal(fdscan_classify("/dev/null", &ino, d, sizeof(d)), FDK_DEVICE);
	assert_int_equal(fdscan_classify("/tmp/x.log", &ino, d, sizeof(d)), FDK_FILE);
	assert_string_equal(d, "/tmp/x.log");
	assert_int_equal(fdscan_fdinfo_flags("pos:\t0\nflags:\t02000001\nmnt_id:\t15\n", &iv),
			 FDF_WRITE);
	assert_int_equal(fdscan_fdinfo_flags("pos:\t0\nflags:\t02004002\n", &iv),
			 FDF_READ | FDF_WRITE);
	assert_int_equal(fdscan_fdinfo_flags("flags:\t02\nclockid: 1\nit_value: (0, 5)\n"
					     "it_interval: (0, 10000000)\n", &iv), FDF_READ | FDF_WRITE);
	assert_int_equal(iv, 10000000);
}

static void fdrec(struct model *m, uint64_t ts, uint32_t pid, int fd, int kind, int flags,
		  uint64_t ino, const char *desc)
{
	struct {
		struct ev_meta_fd f;
		char d[64];
	} r = {};

	r.f.hdr = (struct ev_hdr){ts, pid, EV_META_FD, sizeof(r)};
	r.f.fd = fd;
	r.f.kind = kind;
	r.f.flags = flags;
	r.f.ino = ino;
	snprintf(r.d, sizeof(r.d), "%s", desc);
	model_event(m, &r.f.hdr);
}

static void task(struct model *m, uint32_t pid, const char *comm)
{
	struct ev_meta_task t = {{0, pid, EV_META_TASK, sizeof(t)}, pid, 1, ""};

	snprintf(t.comm, sizeof(t.comm), "%s", comm);
	model_event(m, &t.hdr);
}

/* fd 3 of 100 is a socket, closed at 300, then reopened as a file seen at 500; a pipe from
 * 200 (producer, write end) to 100 (read end) */
static void test_table(void **state)
{
	struct model m;
	char b[128];

	(void)state;
	model_init(&m);
	task(&m, 100, "consumer");
	task(&m, 200, "producer");
	fdrec(&m, 100, 100, 3, FDK_TCP, FDF_READ | FDF_WRITE, 9, "tcp 127.0.0.1:1→127.0.0.1:2");
	fdrec(&m, 110, 100, 4, FDK_PIPE, FDF_READ, 555, "pipe:[555]");
	fdrec(&m, 120, 200, 1, FDK_PIPE, FDF_WRITE, 555, "pipe:[555]");
	fdrec(&m, 300, 100, 3, FDK_CLOSED, 0, 0, "");
	fdrec(&m, 500, 100, 3, FDK_FILE, FDF_READ, 0, "/tmp/x");
	model_finish(&m, 1000);
	assert_string_equal(fd_describe(&m, 100, 3, 50, b, sizeof(b)),
			    "tcp 127.0.0.1:1→127.0.0.1:2");	/* before the first scan */
	assert_string_equal(fd_describe(&m, 100, 3, 200, b, sizeof(b)),
			    "tcp 127.0.0.1:1→127.0.0.1:2");
	/* after the close: reopened between the scans, the next record tells */
	assert_string_equal(fd_describe(&m, 100, 3, 400, b, sizeof(b)), "/tmp/x");
	assert_string_equal(fd_describe(&m, 100, 3, 900, b, sizeof(b)), "/tmp/x");
	assert_null(fd_describe(&m, 100, 9, 200, b, sizeof(b)));
	assert_null(fd_describe(&m, 300, 3, 200, b, sizeof(b)));
	assert_string_equal(fd_describe(&m, 100, 4, 200, b, sizeof(b)),
			    "pipe:[555] from producer (pid 200)");
	assert_string_equal(fd_describe(&m, 200, 1, 200, b, sizeof(b)),
			    "pipe:[555] to consumer (pid 100)");
	assert_string_equal(fd_kind_name(FDK_TIMERFD), "timerfd");
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
