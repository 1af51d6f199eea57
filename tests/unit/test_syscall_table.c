/* test_syscall_table.c — the one syscall table: names, kinds of wait, and the model's kinds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "syscalls.h"
#include "lib/syscall_table.h"
#include "model/model.h"

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(syscall_name(NR_FUTEX), "futex");
	assert_string_equal(syscall_name(NR_READ), "read");
	assert_string_equal(syscall_name(NR_RECVMMSG), "recvmmsg");
	assert_string_equal(syscall_name(NR_FUTEX_REQUEUE), "futex_requeue");
	assert_null(syscall_name(-1));
	assert_null(syscall_name(6));		/* lstat: not in the table */
	assert_null(syscall_name(NR_FUTEX_REQUEUE + 1));
	assert_null(syscall_name(100000));
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(syscall_wait(NR_FUTEX), SW_FUTEX);
	assert_int_equal(syscall_wait(NR_FUTEX_WAITV), SW_FUTEX);
	assert_int_equal(syscall_wait(NR_FUTEX_WAKE), SW_OTHER);
	assert_int_equal(syscall_wait(NR_RECVMMSG), SW_READ);
	assert_int_equal(syscall_wait(NR_PREADV2), SW_READ);
	assert_int_equal(syscall_wait(NR_SENDMMSG), SW_WRITE);
	assert_int_equal(syscall_wait(NR_CONNECT), SW_ACCEPT);
	assert_int_equal(syscall_wait(NR_ACCEPT4), SW_ACCEPT);
	assert_int_equal(syscall_wait(NR_PAUSE), SW_SIGNAL);
	assert_int_equal(syscall_wait(NR_RESTART_SYSCALL), SW_SLEEP);
	assert_int_equal(syscall_wait(NR_IO_GETEVENTS), SW_POLL);
	assert_int_equal(syscall_wait(NR_WAITID), SW_CHILD);
	assert_int_equal(syscall_wait(NR_SEMOP), SW_OTHER);
	assert_int_equal(syscall_wait(-1), SW_OTHER);
	assert_int_equal(syscall_wait(9999), SW_OTHER);
}

/* The model's wait kinds are the table's, one for one. */
static void test_model_kinds(void **state)
{
	(void)state;
	assert_int_equal(wait_kind_of_syscall(NR_FUTEX_WAIT), WK_FUTEX);
	assert_int_equal(wait_kind_of_syscall(NR_CLOCK_NANOSLEEP), WK_SLEEP);
	assert_int_equal(wait_kind_of_syscall(NR_RECVMMSG), WK_READ);
	assert_int_equal(wait_kind_of_syscall(NR_SPLICE), WK_WRITE);
	assert_int_equal(wait_kind_of_syscall(NR_EPOLL_PWAIT2), WK_POLL);
	assert_int_equal(wait_kind_of_syscall(NR_CONNECT), WK_ACCEPT);
	assert_int_equal(wait_kind_of_syscall(NR_WAIT4), WK_CHILD);
	assert_int_equal(wait_kind_of_syscall(NR_PAUSE), WK_SIGNAL);
	assert_int_equal(wait_kind_of_syscall(NR_OPENAT), WK_OTHER);
	assert_int_equal(wait_kind_of_syscall(-1), WK_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_model_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
