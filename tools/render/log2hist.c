/* log2hist.c — log2 duration histograms as text (see log2hist.h). */
#include <inttypes.h>

#include "render/log2hist.h"
#include "lib/util.h"

#define BAR 40

static void row(FILE *out, const uint64_t *h, int i, uint64_t max, const struct log2hist_style *st)
{
	static const char stars[] = "****************************************";
	char a[16], b[16];

	fmt_dur(a, sizeof(a), 1ull << i);
	fmt_dur(b, sizeof(b), 2ull << i);
	if (st->framed) {
		int bar = max ? (int)(h[i] * BAR / max) : 0;

		fprintf(out, "%s%9s .. %-9s %*" PRIu64 " |%-*.*s|\n", st->indent, a, b,
			st->count_width, h[i], BAR, bar, stars);
		return;
	}
	fprintf(out, "%s[%9s, %9s) %*" PRIu64 " ", st->indent, a, b, st->count_width, h[i]);
	for (uint64_t k = 0; max && k < (h[i] * BAR + max - 1) / max; k++)
		fputc('#', out);
	fputc('\n', out);
}

void log2hist_text(FILE *out, const uint64_t *h, size_t n, const struct log2hist_style *st)
{
	uint64_t max = 0;
	int lo = (int)n, hi = -1;

	for (int i = 0; i < (int)n; i++)
		if (h[i]) {
			if (i < lo)
				lo = i;
			hi = i;
			if (h[i] > max)
				max = h[i];
		}
	for (int i = lo; i <= hi; i++) {
		int z = i;

		if (!h[i] && st->empty == LH_EMPTY_SKIP)
			continue;
		while (st->empty == LH_EMPTY_FOLD && z <= hi && !h[z])
			z++;
		if (z - i >= 3) {	/* a run of empty buckets: one line */
			fprintf(out, "%s%-22s\n", st->indent, "...");
			i = z - 1;
			continue;
		}
		row(out, h, i, max, st);
	}
}
