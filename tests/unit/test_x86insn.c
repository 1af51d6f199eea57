/* test_x86insn.c — the prologue decoder on instructions glibc's lock functions begin with. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "capture/x86insn.h"

struct want {
	const char *bytes;	/* hex, no spaces */
	int len;		/* 0: refused */
	enum insn_kind kind;
	int64_t target;
	int writes_rdi, sp_unknown, sp_delta, prefixed;
	const char *mn;
};

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static const struct want cases[] = {
	{"55", 1, IK_PUSH, 0, 0, 0, 8, 0, "push"},			/* push %rbp */
	{"4155", 2, IK_PUSH, 0, 0, 0, 8, 0, "push"},			/* push %r13 */
	{"5f", 1, IK_OTHER, 0, 1, 0, -8, 0, "pop"},			/* pop %rdi */
	{"4889fb", 3, IK_OTHER, 0, 0, 0, 0, 0, "mov"},			/* mov %rdi,%rbx */
	{"4889df", 3, IK_OTHER, 0, 1, 0, 0, 0, "mov"},			/* mov %rbx,%rdi */
	{"8b4710", 3, IK_OTHER, 0, 0, 0, 0, 0, "mov"},			/* mov 0x10(%rdi),%eax */
	{"488d7c2408", 5, IK_OTHER, 0, 1, 0, 0, 0, "lea"},		/* lea 0x8(%rsp),%rdi */
	{"4883ec18", 4, IK_OTHER, 0, 0, 0, 24, 0, "insn"},		/* sub $0x18,%rsp */
	{"4883c418", 4, IK_OTHER, 0, 0, 0, -24, 0, "insn"},		/* add $0x18,%rsp */
	{"4881ec00010000", 7, IK_OTHER, 0, 0, 0, 256, 0, "insn"},	/* sub $0x100,%rsp */
	{"83e77f", 3, IK_OTHER, 0, 1, 0, 0, 0, "insn"},			/* and $0x7f,%edi */
	{"83ff01", 3, IK_OTHER, 0, 0, 0, 0, 0, "insn"},			/* cmp $1,%edi */
	{"a801", 2, IK_OTHER, 0, 0, 0, 0, 0, "insn"},			/* test $1,%al */
	{"f6470c01", 4, IK_OTHER, 0, 0, 0, 0, 0, "insn"},		/* testb $1,0xc(%rdi) */
	{"85c0", 2, IK_OTHER, 0, 0, 0, 0, 0, "test"},			/* test %eax,%eax */
	{"7405", 2, IK_JCC, 7, 0, 0, 0, 0, "jcc"},			/* je +5 */
	{"0f8400010000", 6, IK_JCC, 0x106, 0, 0, 0, 0, "jcc"},		/* je +0x100 */
	{"eb10", 2, IK_JMP, 0x12, 0, 0, 0, 0, "jmp"},			/* jmp +0x10 */
	{"e9f0ffffff", 5, IK_JMP, -11, 0, 0, 0, 0, "jmp"},		/* jmp -0x10 */
	{"e800000000", 5, IK_CALL, 5, 0, 0, 0, 0, "call"},		/* call +0 */
	{"ffd0", 2, IK_CALL, -1, 1, 0, 0, 0, "insn"},			/* call *%rax */
	{"ffe0", 2, IK_STOP, 0, 0, 0, 0, 0, "insn"},			/* jmp *%rax */
	{"c3", 1, IK_RET, 0, 0, 0, 0, 0, "ret"},
	{"90", 1, IK_NOP, 0, 0, 0, 0, 0, "nop"},
	{"0f1f440000", 5, IK_NOP, 0, 0, 0, 0, 0, "nop"},		/* nopl 0x0(%rax,%rax,1) */
	{"0f1f00", 3, IK_OTHER, 0, 0, 0, 0, 0, "nop"},			/* nopl (%rax) */
	{"f30f1efa", 0, IK_OTHER, 0, 0, 0, 0, 1, "insn"},		/* endbr64: not known */
	{"f0480fb117", 5, IK_OTHER, 0, 0, 0, 0, 1, "cmpxchg"},		/* lock cmpxchg %rdx,(%rdi) */
	{"64488b042528000000", 9, IK_OTHER, 0, 0, 0, 0, 1, "mov"},	/* mov %fs:0x28,%rax */
	{"bf01000000", 5, IK_OTHER, 0, 1, 0, 0, 0, "mov"},		/* mov $1,%edi */
	{"48b80100000000000000", 10, IK_OTHER, 0, 0, 0, 0, 0, "mov"},	/* movabs $1,%rax */
	{"0f05", 2, IK_OTHER, 0, 0, 0, 0, 0, "syscall"},
	{"0f0b", 2, IK_STOP, 0, 0, 0, 0, 0, "insn"},			/* ud2 */
	{"c1e702", 3, IK_OTHER, 0, 1, 0, 0, 0, "insn"},			/* shl $2,%edi */
	{"0fb6c0", 3, IK_OTHER, 0, 0, 0, 0, 0, "insn"},			/* movzbl %al,%eax */
	{"0f44f8", 3, IK_OTHER, 0, 1, 0, 0, 0, "insn"},			/* cmove %eax,%edi */
	{"6a00", 2, IK_OTHER, 0, 0, 0, 8, 0, "insn"},			/* push $0 */
	{"4889e5", 3, IK_OTHER, 0, 0, 0, 0, 0, "mov"},			/* mov %rsp,%rbp */
	{"4889ec", 3, IK_OTHER, 0, 0, 1, 0, 0, "mov"},			/* mov %rbp,%rsp */
	{"74", 0, IK_OTHER, 0, 0, 0, 0, 0, "insn"},			/* cut short */
	{"e8000000", 0, IK_OTHER, 0, 0, 0, 0, 0, "insn"},		/* cut short */
	{"d9ee", 0, IK_OTHER, 0, 0, 0, 0, 0, "insn"},			/* fldz: not known */
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i];
		uint8_t code[16];
		size_t n = unhex(w->bytes, code);
		struct insn in;
		int len = insn_decode(code, n, 0, &in);

		print_message("%s\n", w->bytes);
		assert_int_equal(len, w->len);
		if (!len)
			continue;
		assert_int_equal(in.len, w->len);
		assert_int_equal(in.kind, w->kind);
		assert_int_equal(in.target, w->target);
		assert_int_equal(in.writes_rdi, w->writes_rdi);
		assert_int_equal(in.sp_unknown, w->sp_unknown);
		assert_int_equal(in.sp_delta, w->sp_delta);
		assert_int_equal(in.prefixed, w->prefixed);
		assert_string_equal(in.mn, w->mn);
	}
}

/* Decoding at an offset: branch targets are offsets in the same buffer. */
static void test_offset(void **state)
{
	uint8_t code[] = { 0x55, 0x48, 0x89, 0xfb, 0x74, 0x02 };
	struct insn in;

	(void)state;
	assert_int_equal(insn_decode(code, sizeof(code), 4, &in), 2);
	assert_int_equal(in.kind, IK_JCC);
	assert_int_equal(in.target, 8);
	assert_int_equal(insn_decode(code, sizeof(code), 6, &in), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
