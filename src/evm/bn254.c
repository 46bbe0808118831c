/*
 * bn254 (alt_bn128) for the precompiles 0x06 add, 0x07 mul, 0x08 pairing check
 * (EIP-196, EIP-197, prices per EIP-1108).
 *
 * Fp: 4 x 64-bit limbs in Montgomery form (CIOS multiplication).
 * Tower: Fp2 = Fp[i]/(i^2 + 1), Fp6 = Fp2[v]/(v^3 - xi) with xi = 9 + i,
 * Fp12 = Fp6[w]/(w^2 - v). G2 is on the D-type twist y^2 = x^3 + 3/xi, mapped
 * into E(Fp12) by (x, y) -> (x w^2, y w^3).
 * Pairing: optimal ate, Miller loop over 6u+2 with T in Jacobian coordinates
 * (lines scaled by Fp2 factors), then the final exponentiation: easy part
 * by conjugation, inversion and Frobenius, hard part by the decomposition
 * (p^4 - p^2 + 1)/r = l0 + l1 p + l2 p^2 + p^3 and one joint exponentiation.
 *
 * Not constant-time: every input here is public.
 */
#include <stdint.h>
#include <string.h>

#include "precompile_int.h"

__extension__ typedef unsigned __int128 u128;

typedef struct {
	uint64_t v[4];
} fp;

static const uint64_t P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL,
			      0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const uint64_t PINV = 0x87d20782e4866389ULL; /* -p^-1 mod 2^64 */
static const fp R2 = {{0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL,
		       0x06d89f71cab8351fULL}};
static const fp ONE = {{0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL,
			0x0e0a77c19a07df2fULL}};
static const fp R3 = {{0xb1cd6dafda1530dfULL, 0x62f210e6a7283db6ULL, 0xef7f0b0c0ada0afbULL,
		       0x20fd6e902d592544ULL}}; /* R^3 mod p, for inversion */
static const uint64_t P_M1_DIV6[4] = {0x34b017592414d4e1ULL, 0xee9591c2e6bda1c2ULL,
				      0xf40d60f3c0403964ULL, 0x0810b7bdd032f006ULL};
/*
 * Hard part of the final exponentiation: (p^4 - p^2 + 1)/r = l0 + l1 p + l2 p^2 + p^3
 * with l0 = -(36u^3 + 30u^2 + 18u + 2), l1 = -(36u^3 + 18u^2 + 12u - 1), l2 = 6u^2 + 1
 * (checked in Python). Absolute values, little-endian limbs.
 */
static const uint64_t HARD_L0[3] = {0xb687f7e0078302b6ULL, 0x3a97459a6afe5ea2ULL, 0xb3c4d79d41a91759ULL};
static const uint64_t HARD_L1[3] = {0x28915aa07812cc81ULL, 0x5bfc41088d8daaa9ULL, 0xb3c4d79d41a91758ULL};
static const uint64_t HARD_L2[3] = {0xf83e9682e87cfd47ULL, 0x6f4d8248eeb859fbULL, 0};
/* The BN parameter u. */
static const uint64_t BN_U = 4965661367192848881ULL;
/* 6u + 2 for u = 4965661367192848881: 65 bits. */
static const uint64_t ATE_LO = 0x9d797039be763ba8ULL;
#define ATE_BITS 65

/* ---------------------------------------------------------------- Fp */

static int ge_p(const uint64_t a[4])
{
	for (int i = 3; i >= 0; i--) {
		if (a[i] != P[i])
			return a[i] > P[i];
	}
	return 1;
}

static void sub_p(uint64_t a[4])
{
	uint64_t borrow = 0;
	for (int i = 0; i < 4; i++) {
		u128 d = (u128)a[i] - P[i] - borrow;
		a[i] = (uint64_t)d;
		borrow = (uint64_t)(d >> 64) & 1;
	}
}

static inline uint64_t addc(uint64_t a, uint64_t b, uint64_t *carry)
{
	u128 t = (u128)a + b + *carry;
	*carry = (uint64_t)(t >> 64);
	return (uint64_t)t;
}

static inline uint64_t subb(uint64_t a, uint64_t b, uint64_t *borrow)
{
	u128 t = (u128)a - b - *borrow;
	*borrow = (uint64_t)(t >> 127);
	return (uint64_t)t;
}

/* r = a + b mod p: add, subtract p, keep the subtraction unless it borrowed
 * (a, b < p < 2^254, so the sum never carries out of 256 bits). Scalar code
 * with a mask select: no data-dependent branch. */
static inline void fp_add(fp *r, const fp *a, const fp *b)
{
	uint64_t c = 0, br = 0;
	uint64_t s0 = addc(a->v[0], b->v[0], &c), s1 = addc(a->v[1], b->v[1], &c);
	uint64_t s2 = addc(a->v[2], b->v[2], &c), s3 = addc(a->v[3], b->v[3], &c);
	uint64_t d0 = subb(s0, P[0], &br), d1 = subb(s1, P[1], &br);
	uint64_t d2 = subb(s2, P[2], &br), d3 = subb(s3, P[3], &br);
	uint64_t keep = br - 1; /* all ones when s >= p */
	r->v[0] = (d0 & keep) | (s0 & ~keep);
	r->v[1] = (d1 & keep) | (s1 & ~keep);
	r->v[2] = (d2 & keep) | (s2 & ~keep);
	r->v[3] = (d3 & keep) | (s3 & ~keep);
}

/* r = a - b mod p: subtract, add p back masked by the borrow. */
static inline void fp_sub(fp *r, const fp *a, const fp *b)
{
	uint64_t br = 0, c = 0;
	uint64_t d0 = subb(a->v[0], b->v[0], &br), d1 = subb(a->v[1], b->v[1], &br);
	uint64_t d2 = subb(a->v[2], b->v[2], &br), d3 = subb(a->v[3], b->v[3], &br);
	uint64_t mask = 0 - br;
	r->v[0] = addc(d0, P[0] & mask, &c);
	r->v[1] = addc(d1, P[1] & mask, &c);
	r->v[2] = addc(d2, P[2] & mask, &c);
	r->v[3] = addc(d3, P[3] & mask, &c);
}

/* (hi, lo) = a * b + c + d; cannot overflow 128 bits */
#define MAC(lo, hi, a, b, c, d)                                                                    \
	do {                                                                                       \
		u128 m_ = (u128)(a) * (b) + (c) + (d);                                             \
		(lo) = (uint64_t)m_;                                                               \
		(hi) = (uint64_t)(m_ >> 64);                                                       \
	} while (0)

/* Montgomery product a b R^-1 mod p, CIOS with the limbs of a in registers. */
static void fp_mul(fp *r, const fp *x, const fp *y)
{
	const uint64_t a0 = x->v[0], a1 = x->v[1], a2 = x->v[2], a3 = x->v[3];
	uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5, c, m, lo;
	for (int i = 0; i < 4; i++) {
		uint64_t b = y->v[i];
		MAC(t0, c, a0, b, t0, 0);
		MAC(t1, c, a1, b, t1, c);
		MAC(t2, c, a2, b, t2, c);
		MAC(t3, c, a3, b, t3, c);
		MAC(t4, t5, t4, 1, c, 0);
		m = t0 * PINV;
		MAC(lo, c, m, P[0], t0, 0); /* lo is 0 by the choice of m */
		(void)lo;
		MAC(t0, c, m, P[1], t1, c);
		MAC(t1, c, m, P[2], t2, c);
		MAC(t2, c, m, P[3], t3, c);
		MAC(t3, c, t4, 1, c, 0);
		t4 = t5 + c;
	}
	r->v[0] = t0;
	r->v[1] = t1;
	r->v[2] = t2;
	r->v[3] = t3;
	if (t4 || ge_p(r->v))
		sub_p(r->v);
}

static void fp_sqr(fp *r, const fp *a)
{
	fp_mul(r, a, a);
}

static int fp_is_zero(const fp *a)
{
	return (a->v[0] | a->v[1] | a->v[2] | a->v[3]) == 0;
}

static int fp_eq(const fp *a, const fp *b)
{
	return memcmp(a->v, b->v, sizeof a->v) == 0;
}

static void fp_set_zero(fp *a)
{
	memset(a, 0, sizeof *a);
}

static void fp_set_one(fp *a)
{
	*a = ONE;
}

static void fp_neg(fp *r, const fp *a)
{
	fp z;
	fp_set_zero(&z);
	fp_sub(r, &z, a);
}

static void fp_from_u64(fp *r, uint64_t x)
{
	fp t = {{x, 0, 0, 0}};
	fp_mul(r, &t, &R2);
}

static int is_one_plain(const uint64_t a[4])
{
	return a[0] == 1 && (a[1] | a[2] | a[3]) == 0;
}

static void shr1(uint64_t a[4])
{
	for (int i = 0; i < 3; i++)
		a[i] = (a[i] >> 1) | (a[i + 1] << 63);
	a[3] >>= 1;
}

/* x / 2 mod p (x < p): add p first when x is odd; x + p < 2^255 */
static void half_mod(fp *x)
{
	if (x->v[0] & 1) {
		uint64_t carry = 0;
		for (int i = 0; i < 4; i++) {
			u128 s = (u128)x->v[i] + P[i] + carry;
			x->v[i] = (uint64_t)s;
			carry = (uint64_t)(s >> 64);
		}
	}
	shr1(x->v);
}

static int geq(const uint64_t a[4], const uint64_t b[4])
{
	for (int i = 3; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] > b[i];
	return 1;
}

/*
 * Inversion by the binary extended Euclidean algorithm (variable time: inputs
 * are public). On Montgomery input aR it yields (aR)^-1 = a^-1 R^-1; one
 * Montgomery multiplication by R^3 turns that into a^-1 R. 0 maps to 0.
 */
static void fp_inv(fp *r, const fp *a)
{
	if (fp_is_zero(a)) {
		fp_set_zero(r);
		return;
	}
	fp u = *a, v = {{P[0], P[1], P[2], P[3]}}, x1 = {{1, 0, 0, 0}}, x2 = {{0, 0, 0, 0}};
	while (!is_one_plain(u.v) && !is_one_plain(v.v)) {
		while (!(u.v[0] & 1)) {
			shr1(u.v);
			half_mod(&x1);
		}
		while (!(v.v[0] & 1)) {
			shr1(v.v);
			half_mod(&x2);
		}
		if (geq(u.v, v.v)) {
			fp_sub(&u, &u, &v); /* u >= v: plain subtraction, no wrap */
			fp_sub(&x1, &x1, &x2);
		} else {
			fp_sub(&v, &v, &u);
			fp_sub(&x2, &x2, &x1);
		}
	}
	fp_mul(r, is_one_plain(u.v) ? &x1 : &x2, &R3);
}

/* 32 big-endian bytes -> Montgomery form; 0 if the value is >= p. */
static int fp_from_be(fp *r, const uint8_t b[32])
{
	fp t;
	for (int i = 0; i < 4; i++) {
		uint64_t x = 0;
		for (int k = 0; k < 8; k++)
			x = (x << 8) | b[(3 - i) * 8 + k];
		t.v[i] = x;
	}
	if (ge_p(t.v))
		return 0;
	fp_mul(r, &t, &R2);
	return 1;
}

static void fp_to_be(uint8_t b[32], const fp *a)
{
	fp one_plain = {{1, 0, 0, 0}}, t;
	fp_mul(&t, a, &one_plain); /* out of Montgomery form */
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			b[(3 - i) * 8 + k] = (uint8_t)(t.v[i] >> (56 - 8 * k));
}

/* ---------------------------------------------------------------- Fp2, Fp6, Fp12 */

/* r = 9 a (xi = 9 + i) */
static void fp_mul9(fp *r, const fp *a)
{
	fp t = *a;
	for (int k = 0; k < 3; k++)
		fp_add(&t, &t, &t);
	fp_add(r, &t, a);
}

#define F fp
#define FN(op) fp_##op
#define F2 fp2
#define F2N(op) fp2_##op
#define F6 fp6
#define F6N(op) fp6_##op
#define F12 fp12
#define F12N(op) fp12_##op
#define TOWER_XI_MUL_K fp_mul9
#define TOWER_LIMBS 4
#define TOWER_PM1_DIV6 P_M1_DIV6
#include "precompile_tower.inc"
#undef F
#undef FN
#undef F2
#undef F2N
#undef F6
#undef F6N
#undef F12
#undef F12N
#undef TOWER_XI_MUL_K
#undef TOWER_LIMBS
#undef TOWER_PM1_DIV6

/* ---------------------------------------------------------------- curves */

static void g1_b(fp *b)
{
	fp_from_u64(b, 3);
}

/* b' = 3 / xi */
static void g2_b(fp2 *b)
{
	fp2 xi;
	fp_from_u64(&xi.a, 9);
	xi.b = ONE;
	fp2_inv(&xi, &xi);
	fp2 three;
	fp_from_u64(&three.a, 3);
	fp_set_zero(&three.b);
	fp2_mul(b, &xi, &three);
}

#define F fp
#define FN(op) fp_##op
#define PT g1
#define PN(op) g1_##op
#define CURVE_B g1_b
#include "bn254_curve.inc"
#undef F
#undef FN
#undef PT
#undef PN
#undef CURVE_B

#define F fp2
#define FN(op) fp2_##op
#define PT g2
#define PN(op) g2_##op
#define CURVE_B g2_b
#include "bn254_curve.inc"
#undef F
#undef FN
#undef PT
#undef PN
#undef CURVE_B

/* ---------------------------------------------------------------- pairing */

/* An affine G2 point in twist coordinates, with a flag for infinity. */
struct aff2 {
	fp2 x, y;
	int inf;
};

/*
 * Multiplies f by the line a yP + b xP w + c w^3 (a, b, c in Fp2). Lines are
 * used up to a factor in Fp2, which the final exponentiation removes.
 */
static void mul_line(fp12 *f, const fp2 *a, const fp2 *b, const fp2 *c, const fp *xp, const fp *yp)
{
	fp12 l;
	memset(&l, 0, sizeof l);
	fp2_scale(&l.c0.c0, a, yp);
	fp2_scale(&l.c1.c0, b, xp);
	l.c1.c1 = *c;
	fp12_mul(f, f, &l);
}

/*
 * Doubling step, T in Jacobian coordinates (x = X/Z^2, y = Y/Z^3). The affine
 * tangent yP - lambda xP w + (lambda x - y) w^3 with lambda = 3X^2/(2YZ), scaled
 * by 2YZ^3, is 2YZ^3 yP - 3X^2 Z^2 xP w + (3X^3 - 2Y^2) w^3. A vertical tangent
 * (y = 0, not reachable for points of odd order) lies in Fp6 and is skipped.
 */
static void dbl_step(fp12 *f, g2 *t, const fp *xp, const fp *yp)
{
	if (g2_is_inf(t) || fp2_is_zero(&t->y)) {
		g2_set_inf(t);
		return;
	}
	fp2 x2, e, zz, a, b, c, y2;
	fp2_sqr(&x2, &t->x);
	fp2_add(&e, &x2, &x2);
	fp2_add(&e, &e, &x2); /* 3X^2 */
	fp2_sqr(&zz, &t->z);
	fp2_mul(&b, &e, &zz);
	fp2_neg(&b, &b);
	fp2_mul(&c, &e, &t->x); /* 3X^3 */
	fp2_sqr(&y2, &t->y);
	fp2_sub(&c, &c, &y2);
	fp2_sub(&c, &c, &y2);
	fp2_mul(&a, &t->y, &t->z);
	fp2_add(&a, &a, &a);
	fp2_mul(&a, &a, &zz);
	mul_line(f, &a, &b, &c, xp, yp);
	g2_dbl(t, t);
}

/*
 * Addition step T + Q, Q affine. With H = x2 Z^2 - X, R = y2 Z^3 - Y the chord
 * through Q, scaled by Z H, is Z H yP - R xP w + (R x2 - y2 Z H) w^3. T = -Q
 * gives a vertical line (skipped, T becomes infinity); T = Q a doubling.
 */
static void add_step(fp12 *f, g2 *t, const struct aff2 *q, const fp *xp, const fp *yp)
{
	if (q->inf)
		return;
	if (g2_is_inf(t)) {
		t->x = q->x;
		t->y = q->y;
		fp2_set_one(&t->z);
		return;
	}
	fp2 zz, h, r, zh, b, c, hh, hhh, v, t0;
	fp2_sqr(&zz, &t->z);
	fp2_mul(&h, &q->x, &zz);
	fp2_sub(&h, &h, &t->x);
	fp2_mul(&r, &q->y, &zz);
	fp2_mul(&r, &r, &t->z);
	fp2_sub(&r, &r, &t->y);
	if (fp2_is_zero(&h)) {
		if (fp2_is_zero(&r))
			dbl_step(f, t, xp, yp);
		else
			g2_set_inf(t);
		return;
	}
	fp2_mul(&zh, &t->z, &h);
	fp2_neg(&b, &r);
	fp2_mul(&c, &r, &q->x);
	fp2_mul(&t0, &q->y, &zh);
	fp2_sub(&c, &c, &t0);
	mul_line(f, &zh, &b, &c, xp, yp);
	/* X3 = R^2 - H^3 - 2 X H^2, Y3 = R (X H^2 - X3) - Y H^3, Z3 = Z H */
	fp2_sqr(&hh, &h);
	fp2_mul(&hhh, &hh, &h);
	fp2_mul(&v, &t->x, &hh);
	fp2_sqr(&t->x, &r);
	fp2_sub(&t->x, &t->x, &hhh);
	fp2_sub(&t->x, &t->x, &v);
	fp2_sub(&t->x, &t->x, &v);
	fp2_sub(&t0, &v, &t->x);
	fp2_mul(&t0, &t0, &r);
	fp2_mul(&hhh, &hhh, &t->y);
	fp2_sub(&t->y, &t0, &hhh);
	t->z = zh;
}

/* pi(Q) = (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)) on the twist. */
static void frobenius(struct aff2 *r, const struct aff2 *q, const fp2 *g3, const fp2 *g2c)
{
	fp2 t;
	r->inf = q->inf;
	fp2_conj(&t, &q->x);
	fp2_mul(&r->x, &t, g3);
	fp2_conj(&t, &q->y);
	fp2_mul(&r->y, &t, g2c);
}

/* f *= Miller loop value f_{6u+2,Q}(P) times the two Frobenius lines. */
static void miller(fp12 *f, const fp *xp, const fp *yp, const struct aff2 *q, const fp2 *g3,
		   const fp2 *g2c)
{
	struct aff2 q1, q2;
	g2 t = {q->x, q->y, {ONE, {{0}}}};
	fp12 acc;
	fp12_set_one(&acc);
	for (int i = ATE_BITS - 2; i >= 0; i--) {
		fp12_sqr(&acc, &acc);
		dbl_step(&acc, &t, xp, yp);
		if ((ATE_LO >> i) & 1)
			add_step(&acc, &t, q, xp, yp);
	}
	frobenius(&q1, q, g3, g2c);
	frobenius(&q2, &q1, g3, g2c);
	fp2_neg(&q2.y, &q2.y);
	add_step(&acc, &t, &q1, xp, yp);
	add_step(&acc, &t, &q2, xp, yp);
	fp12_mul(f, f, &acc);
}

/*
 * f^((p^12 - 1)/r): easy part f^((p^6 - 1)(p^2 + 1)) by conjugation, inversion
 * and Frobenius; hard part as g^l0 g^(p l1) g^(p^2 l2) g^(p^3) with one joint
 * square-and-multiply over the 192-bit |l_i| (negative l_i by conjugation,
 * which inverts elements of the cyclotomic subgroup).
 */
static void final_exp(fp12 *r, const fp12 *f, const struct fp12_fc *fc)
{
	fp12 g, t, x[3], d, tab[8];
	fp12_conj(&g, f);
	fp12_inv(&t, f);
	fp12_mul(&g, &g, &t); /* f^(p^6 - 1) */
	fp12_frob(&t, &g, fc, 2);
	fp12_mul(&g, &g, &t); /* ^(p^2 + 1) */
	fp12_conj(&x[0], &g);
	fp12_frob(&t, &g, fc, 1);
	fp12_conj(&x[1], &t);
	fp12_frob(&x[2], &g, fc, 2);
	fp12_frob(&d, &g, fc, 3);
	/* tab[m] = product of x[i] for the bits i of m */
	fp12_set_one(&tab[0]);
	for (int m = 1; m < 8; m++) {
		int low = m & -m, i = low == 1 ? 0 : low == 2 ? 1 : 2;
		fp12_mul(&tab[m], &tab[m ^ low], &x[i]);
	}
	const uint64_t *e[3] = {HARD_L0, HARD_L1, HARD_L2};
	fp12 acc;
	fp12_set_one(&acc);
	for (int b = 191; b >= 0; b--) {
		fp12_sqr(&acc, &acc);
		int m = 0;
		for (int i = 0; i < 3; i++)
			m |= (int)((e[i][b / 64] >> (b % 64)) & 1) << i;
		if (m)
			fp12_mul(&acc, &acc, &tab[m]);
	}
	fp12_mul(r, &acc, &d);
}

/* ---------------------------------------------------------------- encoding */

/* 64 bytes x || y -> G1 point; (0, 0) is infinity. 0 if invalid. */
static int g1_decode(g1 *p, const uint8_t in[64])
{
	fp x, y;
	if (!fp_from_be(&x, in) || !fp_from_be(&y, in + 32))
		return 0;
	if (fp_is_zero(&x) && fp_is_zero(&y)) {
		g1_set_inf(p);
		return 1;
	}
	if (!g1_on_curve(&x, &y))
		return 0;
	p->x = x;
	p->y = y;
	p->z = ONE;
	return 1;
}

static int g1_emit(struct phr_buf *out, const g1 *p)
{
	uint8_t b[64] = {0};
	if (!g1_is_inf(p)) {
		fp x, y;
		g1_to_affine(&x, &y, p);
		fp_to_be(b, &x);
		fp_to_be(b + 32, &y);
	}
	return phr_precompile_emit(out, b, sizeof b);
}

/* psi(Q) = (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)) on Jacobian coordinates
 * (conjugation is a field automorphism, so it applies to X, Y, Z alike). */
static void g2_psi(g2 *r, const g2 *q, const struct fp12_fc *fc)
{
	fp2 t;
	fp2_conj(&t, &q->x);
	fp2_mul(&r->x, &t, &fc->g[0][2]);
	fp2_conj(&t, &q->y);
	fp2_mul(&r->y, &t, &fc->g[0][3]);
	fp2_conj(&r->z, &q->z);
}

static int g2_eq(const g2 *a, const g2 *b)
{
	if (g2_is_inf(a) || g2_is_inf(b))
		return g2_is_inf(a) && g2_is_inf(b);
	fp2 za2, zb2, l, r;
	fp2_sqr(&za2, &a->z);
	fp2_sqr(&zb2, &b->z);
	fp2_mul(&l, &a->x, &zb2);
	fp2_mul(&r, &b->x, &za2);
	if (!fp2_eq(&l, &r))
		return 0;
	fp2_mul(&zb2, &zb2, &b->z);
	fp2_mul(&za2, &za2, &a->z);
	fp2_mul(&l, &a->y, &zb2);
	fp2_mul(&r, &b->y, &za2);
	return fp2_eq(&l, &r);
}

/*
 * Subgroup membership of a point on the twist (Dai, Lin, Zhao, Zhou, eprint
 * 2022/348, as applied to BN254 by Sanso and Liang): Q is in G2 iff
 * [u+1]Q + psi([u]Q) + psi^2([u]Q) = psi^3([2u]Q); valid for BN254 since
 * u mod 13 != 4 and u mod 97 != 92.
 */
static int g2_in_subgroup(const g2 *q, const struct fp12_fc *fc)
{
	uint8_t k[32] = {0};
	for (int i = 0; i < 8; i++)
		k[31 - i] = (uint8_t)(BN_U >> (8 * i));
	g2 uq, lhs, t, rhs;
	g2_mul(&uq, q, k);
	g2_add(&lhs, &uq, q);
	g2_psi(&t, &uq, fc);
	g2_add(&lhs, &lhs, &t);
	g2_psi(&t, &t, fc);
	g2_add(&lhs, &lhs, &t);
	g2_dbl(&rhs, &uq);
	g2_psi(&rhs, &rhs, fc);
	g2_psi(&rhs, &rhs, fc);
	g2_psi(&rhs, &rhs, fc);
	return g2_eq(&lhs, &rhs);
}

/* 128 bytes x_im || x_re || y_im || y_re -> affine G2 point in the order-r
 * subgroup; all zero is infinity. 0 if invalid. */
static int g2_decode(struct aff2 *q, const uint8_t in[128], const struct fp12_fc *fc)
{
	if (!fp_from_be(&q->x.b, in) || !fp_from_be(&q->x.a, in + 32) ||
	    !fp_from_be(&q->y.b, in + 64) || !fp_from_be(&q->y.a, in + 96))
		return 0;
	q->inf = fp2_is_zero(&q->x) && fp2_is_zero(&q->y);
	if (q->inf)
		return 1;
	if (!g2_on_curve(&q->x, &q->y))
		return 0;
	g2 j = {q->x, q->y, {ONE, {{0}}}};
	return g2_in_subgroup(&j, fc);
}

int phr_precompile_bn254_add_run(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint8_t buf[128];
	g1 a, b;
	phr_precompile_pad_read(buf, sizeof buf, in, n, 0);
	if (!g1_decode(&a, buf) || !g1_decode(&b, buf + 64))
		return PHR_PRECOMPILE_FAILURE;
	g1_add(&a, &a, &b);
	return g1_emit(out, &a);
}

int phr_precompile_bn254_mul_run(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint8_t buf[96];
	g1 a;
	phr_precompile_pad_read(buf, sizeof buf, in, n, 0);
	if (!g1_decode(&a, buf))
		return PHR_PRECOMPILE_FAILURE;
	g1_mul(&a, &a, buf + 64);
	return g1_emit(out, &a);
}

int phr_precompile_bn254_pairing_run(struct phr_buf *out, const uint8_t *in, size_t n)
{
	if (n % 192 != 0)
		return PHR_PRECOMPILE_FAILURE;
	struct fp12_fc fc;
	fp12_fc_init(&fc);
	/* twist Frobenius: xi^((p-1)/3) and xi^((p-1)/2) */
	const fp2 *g3 = &fc.g[0][2], *g2c = &fc.g[0][3];
	fp12 f;
	fp12_set_one(&f);
	for (size_t off = 0; off < n; off += 192) {
		g1 p;
		struct aff2 q;
		if (!g1_decode(&p, in + off) || !g2_decode(&q, in + off + 64, &fc))
			return PHR_PRECOMPILE_FAILURE;
		if (g1_is_inf(&p) || q.inf)
			continue;
		miller(&f, &p.x, &p.y, &q, g3, g2c);
	}
	fp12 r;
	final_exp(&r, &f, &fc);
	uint8_t word[32] = {0};
	word[31] = fp12_is_one(&r) ? 1 : 0;
	return phr_precompile_emit(out, word, sizeof word);
}
