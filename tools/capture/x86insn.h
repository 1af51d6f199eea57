/*
 * x86insn.h — a small x86-64 length decoder for function prologues: enough of the instruction
 * set to walk glibc's lock functions from their entry to a spot where a uprobe is emulated by
 * the kernel (no single-step) and the lock argument (%rdi) is still live. What it does not
 * know it refuses (length 0): the walk stops there.
 */
#ifndef CONLAB_X86INSN_H
#define CONLAB_X86INSN_H

#include <stddef.h>
#include <stdint.h>

enum insn_kind { IK_OTHER, IK_PUSH, IK_JCC, IK_JMP, IK_CALL, IK_NOP, IK_RET, IK_STOP };

struct insn {
	int len;
	enum insn_kind kind;
	int64_t target;		/* branches: offset of the target */
	int writes_rdi;		/* the lock argument is gone after this */
	int sp_unknown;		/* %rsp changed by an amount we do not follow */
	int sp_delta;		/* bytes pushed (+) or popped (-) */
	int prefixed;		/* legacy prefixes: the kernel may not emulate it */
	const char *mn;
};

/* Decode the instruction at offset p of c[0..n): its length, or 0 when it is not one known. */
int insn_decode(const uint8_t *c, size_t n, size_t p, struct insn *in);

#endif
