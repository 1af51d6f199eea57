/*
 * fuzz_trace.c — libFuzzer harness for everything that reads untrusted bytes: the trace
 * reader (header, chunks, records), the model fed from whatever records survive, every
 * report kind in every format it has, and the option parsers (sizes, durations, formats).
 *
 * An input that starts with the trace magic goes down the trace path; anything else is
 * split at NULs and fed to the text parsers, so that the corpus of real traces and the
 * mutations of their bytes exercise the reader while short inputs reach the parsers.
 *
 * Every chunk carries a crc32, so nearly every mutation of a record would only test the crc
 * check. When the low bit of the header's flags is set, the harness first recomputes the crc
 * of every chunk it can frame: mutated records then reach the record checks, the model and
 * the reports. With the bit clear the input is read as it is (crc failures included).
 *
 * Built by `make fuzz` (tests/fuzz/run.sh) with clang -fsanitize=fuzzer,address,undefined
 * against the tools objects compiled with -fsanitize=fuzzer-no-link in their own OUTPUT dir.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model/model.h"
#include "render/report.h"
#include "trace/trace.h"
#include "lib/util.h"

#define MAX_KINDS 32

/* The report kinds, learned from the registry's own usage text so that a kind added to
 * kinds[] is fuzzed without touching this file. */
struct kinds {
	const struct report_kind *k[MAX_KINDS];
	int n;
};

static FILE *devnull;
static struct kinds kinds;

static void learn_kinds(struct kinds *ks)
{
	char *text = NULL, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	report_kinds_usage(f);
	fclose(f);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		const struct report_kind *k;

		if (sscanf(line, " %63s", name) != 1 || ks->n >= MAX_KINDS)
			continue;
		k = report_kind_find(name);
		if (k)
			ks->k[ks->n++] = k;
	}
	free(text);
	if (!ks->n)
		abort();	/* the registry must at least have summary */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	learn_kinds(&kinds);
	return 0;
}

/* The model report_run builds for kind k: fed every record, keeping what k asks for. */
static void kind_model(struct model *m, const struct trace *t, const struct report_kind *k,
		       const struct report_opts *o)
{
	model_init(m);
	if (k->keep)
		k->keep(o, &m->keep);
	for (size_t i = 0; i < t->nrec; i++)
		if (t->rec[i]->type < 64 && (m->keep.whole_if_types & (1ull << t->rec[i]->type))) {
			model_free(m);	/* model_from_file reads it again keeping everything */
			model_init(m);
			break;
		}
	for (size_t i = 0; i < t->nrec; i++)
		model_event(m, t->rec[i]);
	model_finish(m, 0);
}

static void fuzz_reports(const struct trace *t)
{
	struct report_opts o = {.input = "fuzz", .width = 80, .top = 5};
	struct model m;

	model_from_trace(&m, t);
	for (int i = 0; i < kinds.n; i++)
		for (int f = 0; f < FMT_NFORMATS; f++) {
			if (!(kinds.k[i]->formats & FMT_BIT(f)))
				continue;
			o.format = f;
			kinds.k[i]->fn(&m, &o, devnull);
		}
	/* a time window that cuts through the trace takes other paths in the reports */
	if (m.t_last > m.t_first) {
		o.from_ns = (m.t_last - m.t_first) / 3;
		o.to_ns = 2 * o.from_ns;
		o.format = FMT_TEXT;
		for (int i = 0; i < kinds.n; i++)
			kinds.k[i]->fn(&m, &o, devnull);
	}
	model_free(&m);
	/* and each kind on the model `conlab report` makes for it: only what the kind keeps */
	uint64_t from = o.from_ns, to = o.to_ns;

	o.format = FMT_TEXT;
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < kinds.n; i++) {
			if (w && (!to || !(kinds.k[i]->opts & ROPT_WINDOW)))
				continue;
			o.from_ns = w ? from : 0;
			o.to_ns = w ? to : 0;
			kind_model(&m, t, kinds.k[i], &o);
			kinds.k[i]->fn(&m, &o, devnull);
			model_free(&m);
		}
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t at = 0;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	while (at <= size) {
		const char *p = s + at;

		(void)parse_size(p);
		(void)parse_seconds(p);
		(void)parse_format(p);
		(void)report_kind_find(p);
		at += strlen(p) + 1;
	}
	free(s);
}

/* Recompute the crc of every chunk that can be framed (see the top of the file). */
static void fix_crcs(uint8_t *p, size_t size)
{
	struct trace_file_header h;
	size_t off;

	memcpy(&h, p, sizeof(h));
	if (h.header_size < sizeof(h) || h.header_size > size)
		return;
	for (off = h.header_size; size - off >= sizeof(struct chunk_header);) {
		struct chunk_header ch;
		size_t span;

		memcpy(&ch, p + off, sizeof(ch));
		span = ch.magic == TRACE_ZCHUNK_MAGIC ? ((size_t)ch.len + 7) & ~(size_t)7 : ch.len;
		if (span > size - off - sizeof(ch))
			return;
		ch.crc = crc32(0, p + off + sizeof(ch), ch.len);
		memcpy(p + off, &ch, sizeof(ch));
		off += sizeof(ch) + span;
	}
}

/* h lies whole in one of the blocks the records were copied into */
static int inside_buf(const struct ev_hdr *h, const uint8_t *p, size_t len)
{
	return (const uint8_t *)h >= p && (const uint8_t *)h + h->size <= p + len;
}

static int inside_any(const struct trace *t, const struct ev_hdr *h)
{
	for (size_t i = 0; i < t->nunpacked; i++)
		if (inside_buf(h, t->unpacked[i].p, t->unpacked[i].len))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace t;
	uint8_t *copy = NULL;

	if (size < 8 || memcmp(data, TRACE_MAGIC, 8)) {
		fuzz_text(data, size);
		/* and the reader's refusal of non-traces */
		if (!trace_load_mem(&t, data, size, "fuzz"))
			abort();	/* accepted without the magic: a reader bug */
		return 0;
	}
	if (size >= TRACE_HEADER_SIZE && (data[24] & 1)) {
		copy = malloc(size);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		fix_crcs(copy, size);
		data = copy;
	}
	if (trace_load_mem(&t, data, size, "fuzz")) {
		free(copy);
		return 0;
	}
	free(copy);	/* the reader keeps its own copy */
	/* the reader's own invariants: every record it hands out is framed and in time order */
	for (size_t i = 0; i < t.nrec; i++) {
		const struct ev_hdr *h = t.rec[i];

		if (!inside_any(&t, h) || h->size < ev_min_size(h->type) ||
		    (i && t.rec[i - 1]->ts > h->ts))
			abort();
	}
	fuzz_reports(&t);
	trace_free(&t);
	return 0;
}
