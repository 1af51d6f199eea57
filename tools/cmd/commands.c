/* commands.c — a subcommand picked by name from a table: conlab's and `conlab lab`'s. */
#include <string.h>

#include "cmd/commands.h"
#include "lib/util.h"

int command_dispatch(const char *what, const struct command *t, size_t n, void (*usage)(FILE *),
		     int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], t[i].name))
			return t[i].fn(argc - 1, argv + 1);
	errmsg("unknown command '%s' (see %s --help)", argv[1], what);
	return 2;
}
