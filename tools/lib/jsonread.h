/*
 * jsonread.h — a small JSON reader: parses a whole document into a tree of values, for
 * `conlab lab check` to look up numbers and strings in the reports' JSON by path.
 * The reports are the project's own output, but a lab may point at any file, so the parser
 * takes nothing on trust: depth is bounded, errors come back with a byte offset.
 */
#ifndef CONLAB_JSONREAD_H
#define CONLAB_JSONREAD_H

#include <stddef.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	double num;		/* JV_NUM; JV_BOOL: 0 or 1 */
	char *str;		/* JV_STR, NUL-terminated (an embedded \u0000 ends it) */
	struct jv *items;	/* JV_ARR elements, JV_OBJ member values */
	char **keys;		/* JV_OBJ member names, n of them */
	size_t n;
};

/* Parse len bytes of text into *out. 0, or -1 with a one-line reason in err. */
int jv_parse(const char *text, size_t len, struct jv *out, char *err, size_t errn);
/* Read and parse a file. 0, or -1 with a reason (which names the file) in err. */
int jv_load_file(const char *path, struct jv *out, char *err, size_t errn);
void jv_free(struct jv *v);

/* Member `key` of an object (the first one, if repeated), or NULL. */
const struct jv *jv_get(const struct jv *obj, const char *key);
/* Element i of an array, or NULL. */
const struct jv *jv_at(const struct jv *arr, size_t i);
const char *jv_type_name(enum jv_type t);

/* Constructors for documents built by hand (the ground-truth line, a run's status). */
void jv_set_num(struct jv *v, double num);
void jv_set_str(struct jv *v, const char *s);
/* Append a member to an object (v->type must be JV_OBJ or a zeroed JV_NULL); returns it. */
struct jv *jv_obj_add(struct jv *obj, const char *key);
/* Append an element to an array (JV_ARR or zeroed); returns it. */
struct jv *jv_arr_add(struct jv *arr);

#endif
