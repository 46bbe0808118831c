/*
 * 0x05 modexp (EIP-198, priced per EIP-2565).
 * Input: base_len, exp_len, mod_len (32-byte big-endian words) then base, exp,
 * mod, each zero-padded past the end of the input. Output: base^exp mod mod as
 * mod_len bytes; zeros when mod is 0.
 *
 * Arbitrary precision with 64-bit limbs: schoolbook multiplication and Knuth's
 * algorithm D (TAOCP vol. 2, 4.3.1) for the reduction.
 */
#include <stdint.h>
#include <string.h>

#include "precompile_int.h"

__extension__ typedef unsigned __int128 u128;

/* Run-time cap on base/mod length: only reachable with absurd gas limits. */
#define MODEXP_MAX_LEN ((uint64_t)1 << 25)

/* A 32-byte big-endian length word, saturated to UINT64_MAX. */
static uint64_t read_len(const uint8_t *in, size_t n, size_t off)
{
	uint8_t w[32];
	phr_precompile_pad_read(w, sizeof w, in, n, off);
	for (int i = 0; i < 24; i++)
		if (w[i])
			return UINT64_MAX;
	uint64_t v = 0;
	for (int i = 24; i < 32; i++)
		v = (v << 8) | w[i];
	return v;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	u128 p = (u128)a * b;
	return p > UINT64_MAX ? UINT64_MAX : (uint64_t)p;
}

static int bitlen64(uint64_t x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

/* Offset of the exponent in the input, saturated. */
static uint64_t exp_offset(uint64_t base_len)
{
	return sat_add(96, base_len);
}

/* Bit length of the first min(exp_len, 32) bytes of the exponent. */
static int exp_head_bits(const uint8_t *in, size_t n, uint64_t base_len, uint64_t exp_len)
{
	uint8_t head[32];
	size_t hl = exp_len < 32 ? (size_t)exp_len : 32;
	uint64_t off = exp_offset(base_len);
	if (off >= n)
		return 0;
	phr_precompile_pad_read(head, hl, in, n, (size_t)off);
	for (size_t i = 0; i < hl; i++)
		if (head[i])
			return (int)(8 * (hl - i - 1)) + bitlen64(head[i]);
	return 0;
}

int64_t phr_precompile_modexp_gas(const uint8_t *in, size_t n)
{
	uint64_t bl = read_len(in, n, 0), el = read_len(in, n, 32), ml = read_len(in, n, 64);
	uint64_t maxlen = bl > ml ? bl : ml;
	uint64_t words = maxlen / 8 + (maxlen % 8 != 0);
	uint64_t mult = sat_mul(words, words);
	if (mult == 0)
		return 200;
	int head = exp_head_bits(in, n, bl, el);
	uint64_t iter;
	if (el <= 32)
		iter = head > 0 ? (uint64_t)(head - 1) : 0;
	else
		iter = sat_add(sat_mul(8, el - 32), head > 0 ? (uint64_t)(head - 1) : 0);
	if (iter == 0)
		iter = 1;
	uint64_t g = sat_mul(mult, iter);
	if (g != UINT64_MAX)
		g /= 3;
	if (g < 200)
		g = 200;
	return g > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)g;
}

/* ---- limb arithmetic (little-endian limbs) ---- */

struct num {
	uint64_t *d;
	size_t n; /* limbs in use (may have leading zeros) */
};

static size_t top(const uint64_t *a, size_t n)
{
	while (n && a[n - 1] == 0)
		n--;
	return n;
}

/* Big-endian bytes -> limbs; @p out has room for ceil(len/8) limbs. */
static void from_be(uint64_t *out, size_t limbs, const uint8_t *bytes, size_t len)
{
	memset(out, 0, limbs * sizeof *out);
	for (size_t i = 0; i < len; i++) {
		size_t bit = (len - 1 - i) * 8;
		out[bit / 64] |= (uint64_t)bytes[i] << (bit % 64);
	}
}

static void to_be(uint8_t *bytes, size_t len, const uint64_t *a, size_t limbs)
{
	for (size_t i = 0; i < len; i++) {
		size_t bit = (len - 1 - i) * 8;
		bytes[i] = bit / 64 < limbs ? (uint8_t)(a[bit / 64] >> (bit % 64)) : 0;
	}
}

/* r[0..na+nb) = a * b; r must not alias a or b. */
static void mul(uint64_t *r, const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	memset(r, 0, (na + nb) * sizeof *r);
	for (size_t i = 0; i < na; i++) {
		uint64_t carry = 0;
		if (a[i] == 0)
			continue;
		for (size_t j = 0; j < nb; j++) {
			u128 t = (u128)a[i] * b[j] + r[i + j] + carry;
			r[i + j] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
		r[i + nb] = carry;
	}
}

/*
 * Modular reduction context: the modulus normalised (shifted left so its top
 * bit is set) for algorithm D.
 */
struct modctx {
	uint64_t *vn; /* normalised modulus, n limbs */
	size_t n;
	unsigned shift;
	uint64_t *un; /* scratch: dividend, up to 2n + 1 limbs */
};

/* x[0..nx) mod m -> r[0..n); x is not modified. nx <= 2n. */
static void reduce(const struct modctx *c, uint64_t *r, const uint64_t *x, size_t nx)
{
	size_t n = c->n;
	uint64_t *un = c->un;
	nx = top(x, nx);
	if (nx < n) {
		memset(r, 0, n * sizeof *r);
		memcpy(r, x, nx * sizeof *r);
		return;
	}
	/* un = x << shift, with one extra limb */
	un[nx] = 0;
	for (size_t i = nx; i-- > 0;) {
		if (c->shift) {
			un[i + 1] |= x[i] >> (64 - c->shift);
			un[i] = x[i] << c->shift;
		} else {
			un[i] = x[i];
		}
	}
	const uint64_t *vn = c->vn;
	uint64_t vtop = vn[n - 1], vnext = n > 1 ? vn[n - 2] : 0;
	for (size_t j = nx - n + 1; j-- > 0;) {
		u128 num = ((u128)un[j + n] << 64) | un[j + n - 1];
		u128 qhat = num / vtop, rhat = num % vtop;
		while (qhat >> 64 ||
		       (n > 1 && qhat * vnext > ((rhat << 64) | un[j + n - 2]))) {
			qhat--;
			rhat += vtop;
			if (rhat >> 64)
				break;
		}
		/* un[j..j+n] -= qhat * vn */
		uint64_t q = (uint64_t)qhat, carry = 0, borrow = 0;
		for (size_t i = 0; i < n; i++) {
			u128 p = (u128)q * vn[i] + carry;
			carry = (uint64_t)(p >> 64);
			uint64_t lo = (uint64_t)p;
			uint64_t t = un[i + j] - lo - borrow;
			borrow = (un[i + j] < lo) || (un[i + j] - lo < borrow);
			un[i + j] = t;
		}
		uint64_t t = un[j + n] - carry - borrow;
		int neg = (un[j + n] < carry) || (un[j + n] - carry < borrow);
		un[j + n] = t;
		if (neg) { /* qhat was one too large: add the divisor back */
			uint64_t c2 = 0;
			for (size_t i = 0; i < n; i++) {
				u128 s = (u128)un[i + j] + vn[i] + c2;
				un[i + j] = (uint64_t)s;
				c2 = (uint64_t)(s >> 64);
			}
			un[j + n] += c2;
		}
	}
	/* remainder = un[0..n) >> shift */
	for (size_t i = 0; i < n; i++) {
		r[i] = c->shift ? (un[i] >> c->shift) | (un[i + 1] << (64 - c->shift)) : un[i];
	}
}

/* Returns the byte at position @p i of the exponent (zero past the input). */
static uint8_t exp_byte(const uint8_t *in, size_t n, uint64_t off, uint64_t i)
{
	uint64_t p = sat_add(off, i);
	return p < n ? in[p] : 0;
}

int phr_precompile_modexp_run(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint64_t bl = read_len(in, n, 0), el = read_len(in, n, 32), ml = read_len(in, n, 64);
	if (ml == 0)
		return PHR_PRECOMPILE_OK;
	if (bl > MODEXP_MAX_LEN || ml > MODEXP_MAX_LEN)
		return PHR_PRECOMPILE_INTERNAL_ERROR;
	size_t blen = (size_t)bl, mlen = (size_t)ml;
	size_t nm = (mlen + 7) / 8, nb = (blen + 7) / 8;
	size_t nbig = nb > nm ? nb : nm;
	uint8_t *bytes = phr_malloc(blen + mlen + 1);
	/* limbs: modulus nm, base nbig, acc nm, product 2nm, vn nm, un 2nbig+1 */
	uint64_t *mem = phr_malloc((nm * 5 + nbig * 3 + 2) * sizeof(uint64_t));
	int st = PHR_PRECOMPILE_INTERNAL_ERROR;
	if (!bytes || !mem)
		goto out;
	uint64_t *m = mem, *base = m + nm, *acc = base + nbig, *prod = acc + nm, *vn = prod + 2 * nm,
		 *un = vn + nm;
	phr_precompile_pad_read(bytes, blen, in, n, 96);
	from_be(base, nbig, bytes, blen);
	uint64_t moff = sat_add(exp_offset(bl), el);
	if (moff < n)
		phr_precompile_pad_read(bytes, mlen, in, n, (size_t)moff);
	else
		memset(bytes, 0, mlen);
	from_be(m, nm, bytes, mlen);

	size_t mtop = top(m, nm);
	memset(acc, 0, nm * sizeof *acc);
	if (mtop == 0) /* modulus 0: the result is zero */
		goto emit;
	struct modctx c = {.vn = vn, .n = mtop, .un = un};
	c.shift = (unsigned)__builtin_clzll(m[mtop - 1]);
	for (size_t i = mtop; i-- > 0;)
		vn[i] = (m[i] << c.shift) | (c.shift && i ? m[i - 1] >> (64 - c.shift) : 0);

	/* reduce the base first: base mod m into acc, then copy back */
	reduce(&c, acc, base, nbig);
	memcpy(base, acc, mtop * sizeof *acc);
	size_t bt = top(base, mtop);
	/* acc = 1 mod m */
	uint64_t one = 1;
	reduce(&c, acc, &one, 1);
	if (bt == 0 || (bt == 1 && base[0] == 1)) {
		/* 0^e is 0 unless e == 0; 1^e is 1 */
		int ezero = 1;
		for (uint64_t i = 0; i < el && ezero; i++) {
			if (exp_offset(bl) + i >= n)
				break;
			ezero = exp_byte(in, n, exp_offset(bl), i) == 0;
		}
		if (bt == 0 && !ezero)
			memset(acc, 0, mtop * sizeof *acc);
		goto emit;
	}
	/* left-to-right square-and-multiply over every exponent bit */
	int started = 0;
	for (uint64_t i = 0; i < el; i++) {
		uint8_t e = exp_byte(in, n, exp_offset(bl), i);
		for (int b = 7; b >= 0; b--) {
			if (started) {
				mul(prod, acc, mtop, acc, mtop);
				reduce(&c, acc, prod, 2 * mtop);
			}
			if ((e >> b) & 1) {
				mul(prod, acc, mtop, base, mtop);
				reduce(&c, acc, prod, 2 * mtop);
				started = 1;
			}
		}
	}
emit:
	to_be(bytes, mlen, acc, nm);
	st = phr_precompile_emit(out, bytes, mlen);
out:
	phr_free(bytes);
	phr_free(mem);
	return st;
}
