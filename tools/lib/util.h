/* util.h — small helpers every module uses: errors, allocation, time, strings. */
#ifndef CONLAB_UTIL_H
#define CONLAB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print "conlab: <message>" on stderr (one line, newline added). */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdir -p: create path and its missing parents (0755); -1 after one error line. */
int mkdir_p(const char *path);
/* errmsg() and return -1: `return fail("cannot open %s: %s", p, strerror(errno));` */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that never returns NULL: out of memory ends the program with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Grow *arr (element size esz) so that it holds at least need elements; *cap is updated. */
void grow_array(void **arr, size_t *cap, size_t need, size_t esz);
#define GROW(arr, cap, need) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)))
/* The same without zeroing the new room, for the arrays that grow with a trace's events and
 * whose elements are written whole before they are read: room not yet used is then not
 * resident (a zeroed doubling made the reports' peak memory up to twice what they held). */
void grow_array_raw(void **arr, size_t *cap, size_t need, size_t esz);
#define GROW_RAW(arr, cap, need) grow_array_raw((void **)&(arr), &(cap), (need), sizeof(*(arr)))

uint64_t now_mono_ns(void);
uint64_t now_real_ns(void);

/* "1.234 s", "12.3 ms", "45.6 µs", "789 ns" into buf; returns buf */
const char *fmt_dur(char *buf, size_t n, uint64_t ns);
/* Parse "2", "2.5", "500ms", "3s", "1m" as seconds; -1 on error. */
double parse_seconds(const char *s);
/* Parse a size "64M", "1G", "4096" in bytes; 0 on error. */
uint64_t parse_size(const char *s);

/* Read a whole small file (procfs) into buf, NUL-terminated; bytes read or -1 (errno set). */
ssize_t read_small_file(const char *path, char *buf, size_t n);

/* s without its leading and trailing white space (cut in place). */
char *str_trim(char *s);

#endif
