/*
 * json.h — a streaming JSON writer. Commas and nesting are tracked here so renderers only say
 * what they write:
 *
 *	json_obj_begin(j, NULL);
 *	json_kv_str(j, "name", "fork_m[1]");
 *	json_arr_begin(j, "threads");  json_u64(j, 812);  json_arr_end(j);
 *	json_obj_end(j);
 */
#ifndef CONLAB_JSON_H
#define CONLAB_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

struct json {
	FILE *f;
	int depth;
	int pretty;
	unsigned char count[JSON_MAX_DEPTH]; /* members written so far at each depth (capped) */
};

void json_init(struct json *j, FILE *f, int pretty);
/* key is NULL inside arrays and at top level */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);

void json_kv_str(struct json *j, const char *key, const char *v);	/* NULL -> null */
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_i64(struct json *j, const char *key, int64_t v);
void json_kv_f64(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, int v);
void json_kv_null(struct json *j, const char *key);
void json_kv_hex(struct json *j, const char *key, uint64_t v);	/* "0x7f12..." as a string */

/* array elements */
void json_str(struct json *j, const char *v);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_f64(struct json *j, double v);
void json_hex(struct json *j, uint64_t v);

/* finish: newline at the end of the document */
void json_end(struct json *j);

#endif
