/* jsonread.c — a recursive-descent JSON parser into a tree (see jsonread.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonread.h"
#include "lib/util.h"

/* Deep enough for any report; shallow enough that hostile input cannot exhaust the stack. */
#define JV_MAX_DEPTH 128

struct parser {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errn;
	int failed;
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errn)
		snprintf(p->err, p->errn, "%s at byte %zu", msg, p->pos);
	p->failed = 1;
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int peek(struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return perr(p, "bad literal");
	p->pos += n;
	return 0;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		out[(*o)++] = cp;
	} else if (cp < 0x800) {
		out[(*o)++] = 0xc0 | (cp >> 6);
		out[(*o)++] = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		out[(*o)++] = 0xe0 | (cp >> 12);
		out[(*o)++] = 0x80 | ((cp >> 6) & 0x3f);
		out[(*o)++] = 0x80 | (cp & 0x3f);
	} else {
		out[(*o)++] = 0xf0 | (cp >> 18);
		out[(*o)++] = 0x80 | ((cp >> 12) & 0x3f);
		out[(*o)++] = 0x80 | ((cp >> 6) & 0x3f);
		out[(*o)++] = 0x80 | (cp & 0x3f);
	}
}

static int hex4(struct parser *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = peek(p);

		if (c >= '0' && c <= '9')
			*v = *v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v = *v * 16 + (c - 'A' + 10);
		else
			return perr(p, "bad \\u escape");
		p->pos++;
	}
	return 0;
}

/* A string at p->pos (which is at the opening quote) into a new NUL-terminated buffer.
 * The output is never longer than the input: escapes shrink, \uXXXX gives at most 4 bytes
 * for 6 (or 12 for a surrogate pair). */
static char *parse_string(struct parser *p)
{
	size_t start = ++p->pos, o = 0;
	size_t end = start;
	char *out;

	while (end < p->len && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->len) {
		perr(p, "unterminated string");
		return NULL;
	}
	out = xmalloc(end - start + 1);
	while (p->pos < end) {
		unsigned char c = p->s[p->pos++];
		unsigned cp, lo;

		if (c < 0x20) {
			p->pos--;
			perr(p, "control character in string");
			goto bad;
		}
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		c = p->s[p->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			out[o++] = c;
			break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (hex4(p, &cp))
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00 && p->pos + 6 <= end &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
				p->pos += 2;
				if (hex4(p, &lo))
					goto bad;
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					cp = 0xfffd;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			put_utf8(out, &o, cp);
			break;
		default:
			p->pos--;
			perr(p, "bad escape");
			goto bad;
		}
	}
	out[o] = 0;
	p->pos = end + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static int parse_number(struct parser *p, struct jv *v)
{
	char buf[64];
	size_t n = 0;
	char *end;

	while (p->pos < p->len && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", p->s[p->pos]) &&
	       p->s[p->pos])
		buf[n++] = p->s[p->pos++];
	buf[n] = 0;
	errno = 0;
	v->num = strtod(buf, &end);
	if (!n || *end || (buf[0] == '-' ? buf[1] : buf[0]) == '.' || !isfinite(v->num))
		return perr(p, "bad number '%s'", buf);
	v->type = JV_NUM;
	return 0;
}

static int parse_value(struct parser *p, struct jv *v, int depth);

static int parse_container(struct parser *p, struct jv *v, int depth, int obj)
{
	size_t cap = 0, kcap = 0;
	int close = obj ? '}' : ']';

	v->type = obj ? JV_OBJ : JV_ARR;
	p->pos++;
	skip_ws(p);
	if (peek(p) == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (obj) {
			char *key;

			if (peek(p) != '"')
				return perr(p, "expected a member name");
			key = parse_string(p);
			if (!key)
				return -1;
			GROW(v->keys, kcap, v->n + 1);
			v->keys[v->n] = key;
			skip_ws(p);
			if (peek(p) != ':') {
				/* count the key so that jv_free releases it */
				GROW(v->items, cap, v->n + 1);
				memset(&v->items[v->n], 0, sizeof(v->items[0]));
				v->n++;
				return perr(p, "expected ':'");
			}
			p->pos++;
		}
		GROW(v->items, cap, v->n + 1);
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		v->n++;
		if (parse_value(p, &v->items[v->n - 1], depth + 1))
			return -1;
		skip_ws(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == close) {
			p->pos++;
			return 0;
		}
		return perr(p, "expected ',' or '%c'", close);
	}
}

static int parse_value(struct parser *p, struct jv *v, int depth)
{
	int c;

	if (depth > JV_MAX_DEPTH)
		return perr(p, "nested deeper than %d", JV_MAX_DEPTH);
	skip_ws(p);
	c = peek(p);
	switch (c) {
	case '{':
		return parse_container(p, v, depth, 1);
	case '[':
		return parse_container(p, v, depth, 0);
	case '"':
		v->str = parse_string(p);
		if (!v->str)
			return -1;
		v->type = JV_STR;
		return 0;
	case 't':
		v->type = JV_BOOL;
		v->num = 1;
		return literal(p, "true");
	case 'f':
		v->type = JV_BOOL;
		return literal(p, "false");
	case 'n':
		v->type = JV_NULL;
		return literal(p, "null");
	case -1:
		return perr(p, "unexpected end of input");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, v);
		return perr(p, "unexpected character '%c'", c);
	}
}

int jv_parse(const char *text, size_t len, struct jv *out, char *err, size_t errn)
{
	struct parser p = {.s = text, .len = len, .err = err, .errn = errn};

	memset(out, 0, sizeof(*out));
	if (parse_value(&p, out, 0) == 0) {
		skip_ws(&p);
		if (p.pos == p.len)
			return 0;
		perr(&p, "trailing characters");
	}
	jv_free(out);
	return -1;
}

int jv_load_file(const char *path, struct jv *out, char *err, size_t errn)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, perrbuf[200];
	size_t cap = 0, n = 0, got;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errn, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	do {
		GROW(buf, cap, n + 65536);
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (ferror(f)) {
		snprintf(err, errn, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	ret = jv_parse(buf ? buf : "", n, out, perrbuf, sizeof(perrbuf));
	if (ret)
		snprintf(err, errn, "%s: %s", path, perrbuf);
	free(buf);
	return ret;
}

void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->items)
			jv_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const struct jv *jv_at(const struct jv *arr, size_t i)
{
	if (!arr || arr->type != JV_ARR || i >= arr->n)
		return NULL;
	return &arr->items[i];
}

const char *jv_type_name(enum jv_type t)
{
	static const char *const names[] = {"null", "boolean", "number", "string", "array",
					    "object"};

	return t <= JV_OBJ ? names[t] : "?";
}

void jv_set_num(struct jv *v, double num)
{
	jv_free(v);
	v->type = JV_NUM;
	v->num = num;
}

void jv_set_str(struct jv *v, const char *s)
{
	jv_free(v);
	v->type = JV_STR;
	v->str = xstrdup(s);
}

/* items and keys grow one at a time: these documents are a few dozen members at most */
struct jv *jv_obj_add(struct jv *obj, const char *key)
{
	obj->type = JV_OBJ;
	obj->items = xrealloc(obj->items, (obj->n + 1) * sizeof(*obj->items));
	obj->keys = xrealloc(obj->keys, (obj->n + 1) * sizeof(*obj->keys));
	memset(&obj->items[obj->n], 0, sizeof(obj->items[0]));
	obj->keys[obj->n] = xstrdup(key);
	return &obj->items[obj->n++];
}

struct jv *jv_arr_add(struct jv *arr)
{
	arr->type = JV_ARR;
	arr->items = xrealloc(arr->items, (arr->n + 1) * sizeof(*arr->items));
	memset(&arr->items[arr->n], 0, sizeof(arr->items[0]));
	return &arr->items[arr->n++];
}
