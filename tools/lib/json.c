/* json.c — streaming JSON writer (see json.h). */
#include <math.h>

#include "lib/json.h"

/* One writer per stream, one thread: stdio's locking per call is most of what a timeline of
 * millions of intervals costs to write, so the unlocked forms. */
#define fputc fputc_unlocked
#define fputs fputs_unlocked
#define fwrite fwrite_unlocked

void json_init(struct json *j, FILE *f, int pretty)
{
	j->f = f;
	j->depth = 0;
	j->pretty = pretty;
	j->count[0] = 0;
}

static void indent(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* A character JSON writes as itself. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t n = 0;

		while (plain(p[n]))	/* a run of them in one write: keys, names, most of it */
			n++;
		if (n) {
			fwrite(p, 1, n, f);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator and key before a member or element. */
static void member(struct json *j, const char *key)
{
	int d = j->depth < JSON_MAX_DEPTH ? j->depth : JSON_MAX_DEPTH - 1;

	if (j->count[d])
		fputc(',', j->f);
	if (j->count[d] < 255)
		j->count[d]++;
	if (j->depth)
		indent(j);
	if (key) {
		put_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_(struct json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	j->depth++;
	if (j->depth < JSON_MAX_DEPTH)
		j->count[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
	int had = j->depth < JSON_MAX_DEPTH ? j->count[j->depth] : 1;

	j->depth--;
	if (had)
		indent(j);
	fputc(c, j->f);
}

void json_obj_begin(struct json *j, const char *key) { open_(j, key, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { open_(j, key, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void json_kv_str(struct json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		put_string(j->f, v);
	else
		fputs("null", j->f);
}

/* v in decimal: a timeline writes tens of millions of these (fprintf parses its format each
 * time) */
static void put_u64(FILE *f, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	fwrite(buf + i, 1, sizeof(buf) - i, f);
}

void json_kv_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	put_u64(j->f, v);
}

void json_kv_i64(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	if (v < 0)
		fputc('-', j->f);
	put_u64(j->f, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

void json_kv_f64(struct json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_kv_bool(struct json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_kv_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void json_kv_hex(struct json *j, const char *key, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	member(j, key);
	buf[--i] = '"';
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	buf[--i] = '"';
	fwrite(buf + i, 1, sizeof(buf) - i, j->f);
}

void json_str(struct json *j, const char *v) { json_kv_str(j, NULL, v); }
void json_u64(struct json *j, uint64_t v) { json_kv_u64(j, NULL, v); }
void json_i64(struct json *j, int64_t v) { json_kv_i64(j, NULL, v); }
void json_f64(struct json *j, double v) { json_kv_f64(j, NULL, v); }
void json_hex(struct json *j, uint64_t v) { json_kv_hex(j, NULL, v); }

void json_end(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
