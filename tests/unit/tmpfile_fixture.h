/* tmpfile_fixture.h — a cmocka fixture for the tests that write a trace: a fresh temporary
 * file per test (its path in struct fixture), removed after it. */
#ifndef CONLAB_TMPFILE_FIXTURE_H
#define CONLAB_TMPFILE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fixture {
	char path[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/conlab-ut-XXXXXX");
	fd = mkstemp(f->path);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

#endif
