/* x86insn.c — the prologue decoder (see x86insn.h). */
#include <string.h>

#include "capture/x86insn.h"

/* One instruction being decoded: the bytes, where we are, the prefixes, the ModRM fields. */
struct dec {
	const uint8_t *c;
	size_t n, q;		/* the buffer; the next byte to read */
	int rex, rexb, rexr, rexw;
	int immv;		/* a full immediate: 4 bytes, 2 with the operand-size prefix */
	int mod, reg, rm;
	int imm;		/* immediate bytes after the operands */
	struct insn *in;
};

static int32_t rel32(const uint8_t *c)
{
	int32_t v;

	memcpy(&v, c, 4);
	return v;
}

/* The ModRM operand at q (SIB and displacement included): fills mod/reg/rm; -1 when cut. */
static int modrm(struct dec *d)
{
	const uint8_t *c = d->c;
	size_t p = d->q;
	int len = 1;
	uint8_t m;

	if (p >= d->n)
		return -1;
	m = c[p];
	d->mod = m >> 6;
	d->reg = (m >> 3) & 7;
	d->rm = m & 7;
	if (d->mod != 3 && d->rm == 4) {
		if (p + 1 >= d->n)
			return -1;
		len++;
		if (d->mod == 0 && (c[p + 1] & 7) == 5)
			len += 4;
	}
	if (d->mod == 0 && d->rm == 5)
		len += 4;
	else if (d->mod == 1)
		len += 1;
	else if (d->mod == 2)
		len += 4;
	d->q += len;
	d->reg |= d->rexr << 3;
	if (d->mod == 3)
		d->rm |= d->rexb << 3;
	return 0;
}

/* The ModRM r/m register, or its reg, is written: the lock argument (%rdi) is gone, or %rsp
 * moves by an amount not followed. */
static void rm_dest(struct dec *d)
{
	if (d->mod == 3 && d->rm == 7)
		d->in->writes_rdi = 1;
	if (d->mod == 3 && d->rm == 4)
		d->in->sp_unknown = 1;
}

static void reg_dest(struct dec *d)
{
	if (d->reg == 7)
		d->in->writes_rdi = 1;
	if (d->reg == 4)
		d->in->sp_unknown = 1;
}

/* A branch with a displacement of `size` bytes at q: its target, relative to the buffer. */
static int branch(struct dec *d, enum insn_kind kind, int size, const char *mn)
{
	if (d->q + (size_t)size > d->n)
		return -1;
	d->in->kind = kind;
	d->in->target = (int64_t)(d->q + size) + (size == 1 ? (int8_t)d->c[d->q] : rel32(d->c + d->q));
	d->q += size;
	d->in->mn = mn;
	return 0;
}

/* The ALU operations 0x00-0x3f (add, or, adc, sbb, and, sub, xor, cmp). */
static int alu(struct dec *d, uint8_t op)
{
	int cmp = (op >> 3) == 7;

	switch (op & 7) {
	case 0: case 1:
		if (modrm(d))
			return -1;
		if (!cmp)
			rm_dest(d);
		break;
	case 2: case 3:
		if (modrm(d))
			return -1;
		if (!cmp)
			reg_dest(d);
		break;
	case 4: d->imm = 1; break;
	case 5: d->imm = d->immv; break;
	}
	d->in->mn = cmp ? "cmp" : "alu";
	return 0;
}

/* 0x80, 0x81, 0x83: an operation with an immediate; add/sub on %rsp is followed. */
static int alu_imm(struct dec *d, uint8_t op)
{
	int r;

	if (modrm(d))
		return -1;
	r = d->reg & 7;
	d->imm = op == 0x81 ? d->immv : 1;
	if (r == 7)
		return 0;	/* cmp */
	if (d->mod == 3 && d->rm == 4 && d->rexw && (r == 0 || r == 5)) {
		int32_t v;

		if (d->q + d->imm > d->n)
			return -1;
		v = d->imm == 1 ? (int8_t)d->c[d->q] : rel32(d->c + d->q);
		d->in->sp_delta = r == 5 ? v : -v;
	} else {
		rm_dest(d);
	}
	return 0;
}

/* 0xf6/0xf7 (test, not, neg, mul, div) and 0xff (inc, dec, call, jmp, push). */
static int group3_5(struct dec *d, uint8_t op)
{
	struct insn *in = d->in;
	int r;

	if (modrm(d))
		return -1;
	r = d->reg & 7;
	if (op != 0xff) {
		if (r <= 1)
			d->imm = op == 0xf6 ? 1 : d->immv;
		else if (r <= 3)
			rm_dest(d);
		return 0;	/* mul/div: rax, rdx */
	}
	switch (r) {
	case 0: case 1: rm_dest(d); return 0;
	case 2: case 3: in->kind = IK_CALL; in->target = -1; in->writes_rdi = 1; return 0;
	case 4: case 5: in->kind = IK_STOP; return 0;
	case 6: in->sp_delta = 8; return 0;
	default: return -1;
	}
}

/* Register moves and stack operations of the one-byte map; 1 when op is not one of them. */
static int moves(struct dec *d, uint8_t op)
{
	struct insn *in = d->in;

	if (op >= 0x50 && op <= 0x57) {
		in->kind = (d->rex & ~1) == 0x40 || !d->rex ? IK_PUSH : IK_OTHER;
		in->sp_delta = 8;
		in->mn = "push";
	} else if (op >= 0x58 && op <= 0x5f) {
		in->sp_delta = -8;
		if ((op & 7) == 7 && !d->rexb)
			in->writes_rdi = 1;
		in->mn = "pop";
	} else if (op == 0x63 || op == 0x8a || op == 0x8b || op == 0x8d) {
		if (modrm(d))
			return -1;
		reg_dest(d);
		in->mn = op == 0x8d ? "lea" : "mov";
	} else if (op == 0x88 || op == 0x89) {
		if (modrm(d))
			return -1;
		rm_dest(d);
		in->mn = "mov";
	} else if (op == 0x86 || op == 0x87) {
		if (modrm(d))
			return -1;
		rm_dest(d);
		reg_dest(d);
	} else if (op >= 0xb0 && op <= 0xbf) {
		if ((op & 7) == 7 && !d->rexb)
			in->writes_rdi = 1;
		if ((op & 7) == 4 && !d->rexb && op >= 0xb8)
			in->sp_unknown = 1;
		d->imm = op < 0xb8 ? 1 : d->rexw ? 8 : d->immv;
		in->mn = "mov";
	} else if (op == 0x68 || op == 0x6a) {
		in->sp_delta = 8;
		d->imm = op == 0x68 ? 4 : 1;
	} else {
		return 1;
	}
	return 0;
}

/* The rest of the one-byte map we know; -1 for what we do not. */
static int one_byte(struct dec *d, uint8_t op)
{
	struct insn *in = d->in;
	int r;

	if (op < 0x40 && (op & 7) < 6)
		return alu(d, op);
	if ((r = moves(d, op)) <= 0)
		return r;
	if (op >= 0x70 && op <= 0x7f)
		return branch(d, IK_JCC, 1, "jcc");
	if (op == 0x80 || op == 0x81 || op == 0x83)
		return alu_imm(d, op);
	if (op == 0xf6 || op == 0xf7 || op == 0xff)
		return group3_5(d, op);
	if (op == 0xe8 || op == 0xe9)
		return branch(d, op == 0xe8 ? IK_CALL : IK_JMP, 4, op == 0xe8 ? "call" : "jmp");
	if (op == 0xeb)
		return branch(d, IK_JMP, 1, "jmp");
	if (op == 0x69 || op == 0x6b) {
		if (modrm(d))
			return -1;
		reg_dest(d);
		d->imm = op == 0x69 ? d->immv : 1;
	} else if (op == 0x84 || op == 0x85) {
		if (modrm(d))
			return -1;
		in->mn = "test";
	} else if (op == 0x90 && !d->rexb) {
		in->kind = IK_NOP;
		in->mn = "nop";
	} else if (op == 0xa8 || op == 0xa9) {
		d->imm = op == 0xa8 ? 1 : d->immv;
	} else if (op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xc7 ||
		   (op >= 0xd0 && op <= 0xd3)) {
		if (modrm(d))
			return -1;
		rm_dest(d);
		d->imm = op == 0xc7 ? d->immv : (op == 0xc0 || op == 0xc1 || op == 0xc6) ? 1 : 0;
	} else if (op == 0xc3) {
		in->kind = IK_RET;
		in->mn = "ret";
	} else if (op != 0x98 && op != 0x99) {	/* cltq / cltd: rax, rdx */
		return -1;
	}
	return 0;
}

/* The two-byte map (0x0f xx) we know; -1 for what we do not. */
static int two_byte(struct dec *d)
{
	struct insn *in = d->in;
	size_t start = d->q - 1;
	uint8_t o2;

	if (d->q >= d->n)
		return -1;
	o2 = d->c[d->q++];
	if (o2 >= 0x80 && o2 <= 0x8f)
		return branch(d, IK_JCC, 4, "jcc");
	if (o2 == 0x05) {
		in->mn = "syscall";
		return 0;
	}
	if (o2 == 0x0b) {
		in->kind = IK_STOP;	/* ud2 */
		return 0;
	}
	if (o2 != 0x1f && !(o2 >= 0x40 && o2 <= 0x4f) && !(o2 >= 0x90 && o2 <= 0x9f) &&
	    o2 != 0xaf && o2 != 0xb6 && o2 != 0xb7 && o2 != 0xbe && o2 != 0xbf && o2 != 0xb0 &&
	    o2 != 0xb1 && o2 != 0xab && o2 != 0xb3 && o2 != 0xbb && o2 != 0xa3 && o2 != 0xba &&
	    o2 != 0xc0 && o2 != 0xc1)
		return -1;
	if (modrm(d))
		return -1;
	if (o2 == 0x1f) {
		/* the 5-byte nopl 0x0(%rax,%rax,1), which the kernel emulates */
		if (d->q - start == 5 && !d->rex && !in->prefixed && d->c[start + 2] == 0x44)
			in->kind = IK_NOP;
		in->mn = "nop";
	} else if ((o2 >= 0x40 && o2 <= 0x4f) || o2 == 0xaf || o2 == 0xb6 || o2 == 0xb7 ||
		   o2 == 0xbe || o2 == 0xbf) {
		reg_dest(d);	/* cmov, imul, movzx, movsx */
	} else if (o2 == 0xba) {
		if ((d->reg & 7) != 4)
			rm_dest(d);
		d->imm = 1;
	} else if (o2 == 0xc0 || o2 == 0xc1) {
		rm_dest(d);
		reg_dest(d);
	} else if (o2 != 0xa3) {
		rm_dest(d);	/* setcc, cmpxchg, bts, btr, btc */
		in->mn = o2 == 0xb1 ? "cmpxchg" : "insn";
	}
	return 0;
}

static int is_prefix(uint8_t b)
{
	return b == 0x66 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x64 || b == 0x65 ||
	       b == 0x2e || b == 0x3e;
}

int insn_decode(const uint8_t *c, size_t n, size_t p, struct insn *in)
{
	struct dec d = { .c = c, .n = n, .q = p, .immv = 4, .in = in };
	uint8_t op;

	memset(in, 0, sizeof(*in));
	in->mn = "insn";
	for (; d.q < n && is_prefix(c[d.q]); d.q++) {
		if (c[d.q] == 0x66)
			d.immv = 2;
		in->prefixed = 1;
	}
	if (d.q < n && (c[d.q] & 0xf0) == 0x40)
		d.rex = c[d.q++];
	if (d.q >= n)
		return 0;
	d.rexb = !!(d.rex & 1);
	d.rexr = !!(d.rex & 4);
	d.rexw = !!(d.rex & 8);
	op = c[d.q++];
	if (op == 0x0f ? two_byte(&d) : one_byte(&d, op))
		return 0;
	d.q += d.imm;
	if (d.q > n)
		return 0;
	in->len = (int)(d.q - p);
	return in->len;
}
