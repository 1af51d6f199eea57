/* x86insn.c — the prologue decoder (see x86insn.h). */
#include <string.h>

#include "capture/x86insn.h"

/* Length of a ModRM operand (ModRM byte included); fills mod/reg/rm. */
static int modrm_len(const uint8_t *c, size_t n, size_t p, int *mod, int *reg, int *rm)
{
	int len = 1;
	uint8_t m;

	if (p >= n)
		return -1;
	m = c[p];
	*mod = m >> 6;
	*reg = (m >> 3) & 7;
	*rm = m & 7;
	if (*mod != 3 && *rm == 4) {
		if (p + 1 >= n)
			return -1;
		len++;
		if (*mod == 0 && (c[p + 1] & 7) == 5)
			len += 4;
	}
	if (*mod == 0 && *rm == 5)
		len += 4;
	else if (*mod == 1)
		len += 1;
	else if (*mod == 2)
		len += 4;
	return len;
}

static int32_t rel32(const uint8_t *c)
{
	int32_t v;

	memcpy(&v, c, 4);
	return v;
}

int insn_decode(const uint8_t *c, size_t n, size_t p, struct insn *in)
{
	size_t q = p;
	int rex = 0, opsz16 = 0, mod = 0, reg = 0, rm = 0, ml, imm = 0;
	uint8_t op;

	memset(in, 0, sizeof(*in));
	in->mn = "insn";
	while (q < n && (c[q] == 0x66 || c[q] == 0xf0 || c[q] == 0xf2 || c[q] == 0xf3 ||
			 c[q] == 0x64 || c[q] == 0x65 || c[q] == 0x2e || c[q] == 0x3e)) {
		if (c[q] == 0x66)
			opsz16 = 1;
		in->prefixed = 1;
		q++;
	}
	if (q < n && (c[q] & 0xf0) == 0x40)
		rex = c[q++];
	if (q >= n)
		return 0;
	op = c[q++];
	int rexb = !!(rex & 1), rexr = !!(rex & 4), rexw = !!(rex & 8);
	int immv = opsz16 ? 2 : 4;

#define MODRM() do { ml = modrm_len(c, n, q, &mod, &reg, &rm); if (ml < 0) return 0; \
		     q += ml; reg |= rexr << 3; if (mod == 3) rm |= rexb << 3; } while (0)
#define RM_DEST() do { if (mod == 3 && rm == 7) in->writes_rdi = 1; \
		       if (mod == 3 && rm == 4) in->sp_unknown = 1; } while (0)
#define REG_DEST() do { if (reg == 7) in->writes_rdi = 1; if (reg == 4) in->sp_unknown = 1; } while (0)

	if (op < 0x40 && (op & 7) < 6 && op != 0x0f) {
		int cmp = (op >> 3) == 7;

		switch (op & 7) {
		case 0: case 1: MODRM(); if (!cmp) RM_DEST(); break;
		case 2: case 3: MODRM(); if (!cmp) REG_DEST(); break;
		case 4: imm = 1; break;
		case 5: imm = immv; break;
		}
		in->mn = cmp ? "cmp" : "alu";
	} else if (op >= 0x50 && op <= 0x57) {
		in->kind = (rex & ~1) == 0x40 || !rex ? IK_PUSH : IK_OTHER;
		in->sp_delta = 8;
		in->mn = "push";
	} else if (op >= 0x58 && op <= 0x5f) {
		in->sp_delta = -8;
		if ((op & 7) == 7 && !rexb)
			in->writes_rdi = 1;
		in->mn = "pop";
	} else if (op == 0x63 || op == 0x8a || op == 0x8b || op == 0x8d) {
		MODRM();
		REG_DEST();
		in->mn = op == 0x8d ? "lea" : "mov";
	} else if (op == 0x69 || op == 0x6b) {
		MODRM();
		REG_DEST();
		imm = op == 0x69 ? immv : 1;
	} else if (op == 0x68 || op == 0x6a) {
		in->sp_delta = 8;
		imm = op == 0x68 ? 4 : 1;
	} else if (op >= 0x70 && op <= 0x7f) {
		if (q + 1 > n)
			return 0;
		in->kind = IK_JCC;
		in->target = (int64_t)(q + 1) + (int8_t)c[q];
		q += 1;
		in->mn = "jcc";
	} else if (op == 0x80 || op == 0x81 || op == 0x83) {
		MODRM();
		imm = op == 0x81 ? immv : 1;
		if ((reg & 7) != 7) {
			if (mod == 3 && rm == 4 && rexw && ((reg & 7) == 0 || (reg & 7) == 5)) {
				int32_t v = imm == 1 ? (int8_t)c[q] : rel32(c + q);

				if (q + imm > n)
					return 0;
				in->sp_delta = (reg & 7) == 5 ? v : -v;
			} else {
				RM_DEST();
			}
		}
	} else if (op == 0x84 || op == 0x85) {
		MODRM();
		in->mn = "test";
	} else if (op == 0x86 || op == 0x87) {
		MODRM();
		RM_DEST();
		REG_DEST();
	} else if (op == 0x88 || op == 0x89) {
		MODRM();
		RM_DEST();
		in->mn = "mov";
	} else if (op == 0x90 && !rexb) {
		in->kind = IK_NOP;
		in->mn = "nop";
	} else if (op == 0x98 || op == 0x99) {
		/* cltq / cltd: rax, rdx */
	} else if (op == 0xa8) {
		imm = 1;
	} else if (op == 0xa9) {
		imm = immv;
	} else if (op >= 0xb0 && op <= 0xbf) {
		if ((op & 7) == 7 && !rexb)
			in->writes_rdi = 1;
		if ((op & 7) == 4 && !rexb && op >= 0xb8)
			in->sp_unknown = 1;
		imm = op < 0xb8 ? 1 : rexw ? 8 : immv;
		in->mn = "mov";
	} else if (op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
		   (op >= 0xd0 && op <= 0xd3)) {
		MODRM();
		RM_DEST();
		imm = op == 0xc7 ? immv : (op == 0xc0 || op == 0xc1 || op == 0xc6) ? 1 : 0;
	} else if (op == 0xc3) {
		in->kind = IK_RET;
		in->mn = "ret";
	} else if (op == 0xe8 || op == 0xe9) {
		if (q + 4 > n)
			return 0;
		in->kind = op == 0xe8 ? IK_CALL : IK_JMP;
		in->target = (int64_t)(q + 4) + rel32(c + q);
		q += 4;
		in->mn = op == 0xe8 ? "call" : "jmp";
	} else if (op == 0xeb) {
		if (q + 1 > n)
			return 0;
		in->kind = IK_JMP;
		in->target = (int64_t)(q + 1) + (int8_t)c[q];
		q += 1;
		in->mn = "jmp";
	} else if (op == 0xf6 || op == 0xf7) {
		MODRM();
		if ((reg & 7) <= 1)
			imm = op == 0xf6 ? 1 : immv;
		else if ((reg & 7) <= 3)
			RM_DEST();
		else
			in->writes_rdi = 0;	/* mul/div: rax, rdx */
	} else if (op == 0xff) {
		MODRM();
		switch (reg & 7) {
		case 0: case 1: RM_DEST(); break;
		case 2: case 3: in->kind = IK_CALL; in->target = -1; in->writes_rdi = 1; break;
		case 4: case 5: in->kind = IK_STOP; break;
		case 6: in->sp_delta = 8; break;
		default: return 0;
		}
	} else if (op == 0x0f) {
		uint8_t o2;

		if (q >= n)
			return 0;
		o2 = c[q++];
		if (o2 == 0x1f) {
			int start = q - 2;

			MODRM();
			if (q - start == 5 && !rex && !in->prefixed && c[start + 2] == 0x44)
				in->kind = IK_NOP;
			in->mn = "nop";
		} else if (o2 >= 0x80 && o2 <= 0x8f) {
			if (q + 4 > n)
				return 0;
			in->kind = IK_JCC;
			in->target = (int64_t)(q + 4) + rel32(c + q);
			q += 4;
			in->mn = "jcc";
		} else if ((o2 >= 0x40 && o2 <= 0x4f) || o2 == 0xaf || o2 == 0xb6 || o2 == 0xb7 ||
			   o2 == 0xbe || o2 == 0xbf) {
			MODRM();
			REG_DEST();
		} else if ((o2 >= 0x90 && o2 <= 0x9f) || o2 == 0xb0 || o2 == 0xb1 || o2 == 0xab ||
			   o2 == 0xb3 || o2 == 0xbb) {
			MODRM();
			RM_DEST();
			in->mn = o2 == 0xb1 ? "cmpxchg" : "insn";
		} else if (o2 == 0xa3) {
			MODRM();
		} else if (o2 == 0xba) {
			MODRM();
			if ((reg & 7) != 4)
				RM_DEST();
			imm = 1;
		} else if (o2 == 0xc0 || o2 == 0xc1) {
			MODRM();
			RM_DEST();
			REG_DEST();
		} else if (o2 == 0x05) {
			in->mn = "syscall";
		} else if (o2 == 0x0b) {
			in->kind = IK_STOP;
		} else {
			return 0;
		}
	} else {
		return 0;
	}
#undef MODRM
#undef RM_DEST
#undef REG_DEST
	q += imm;
	if (q > n)
		return 0;
	in->len = q - p;
	return in->len;
}
