/*
 * log2hist.h — a histogram of durations in log2 buckets as text: bucket i holds
 * [2^i, 2^(i+1)) ns, one row per bucket with its count and a bar scaled to the largest.
 * One printer for every report; the style keeps each report's look.
 */
#ifndef CONLAB_LOG2HIST_H
#define CONLAB_LOG2HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum log2hist_empty {
	LH_EMPTY_SHOW = 0,	/* empty buckets between the first and the last: a row each */
	LH_EMPTY_SKIP,		/* no row for an empty bucket */
	LH_EMPTY_FOLD,		/* a run of three or more empty buckets: one row "..." */
};

struct log2hist_style {
	const char *indent;	/* before every row */
	int count_width;	/* columns of the count */
	enum log2hist_empty empty;
	/* 0: "[1.0 us,  2.0 us)  count ####" with the bar rounded up (a bucket with a count shows
	 * one mark at least); 1: "1.0 us .. 2.0 us  count |****    |", rounded down, framed */
	int framed;
};

/* Rows for buckets [0, n) of h; nothing when every bucket is empty. */
void log2hist_text(FILE *out, const uint64_t *h, size_t n, const struct log2hist_style *st);

#endif
