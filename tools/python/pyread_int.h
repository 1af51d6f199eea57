/* pyread_int.h — what the reader's own files share (not for its users). */
#ifndef CONLAB_PYREAD_INT_H
#define CONLAB_PYREAD_INT_H

#include "python/pyread.h"

/* Facts of one code object, read once per walk. */
struct py_code {
	uint64_t addr;
	char *qualname, *file;
	int firstlineno, firsttraceable, nlocalsplus, stacksize;
	uint8_t *linetable;
	size_t nlinetable;
	uint8_t *exctable;		/* co_exceptiontable, read on first use */
	size_t nexctable;
	int exctable_read;
	uint64_t localsplusnames;	/* a tuple of str */
	char **locals;			/* names, read on first use */
	int nlocals_read;
};

const struct py_code *py_code_get(struct py_reader *r, uint64_t code);
void py_codes_free(struct py_reader *r);
void py_types_free(struct py_reader *r);

#endif
