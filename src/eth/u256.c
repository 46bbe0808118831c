/*
 * 256-bit integer arithmetic with EVM semantics (see include/phr/u256.h).
 *
 * Four 64-bit limbs, least significant first. Products go through unsigned
 * __int128; division is Knuth's algorithm D (TAOCP vol. 2, 4.3.1) on 64-bit
 * digits with a short-division fast path when the divisor fits one limb.
 * The same long-division routine serves MULMOD's 512-bit dividend.
 */
#include "phr/u256.h"

#include "phr/core.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

struct phr_u256 phr_u256_from_u64(uint64_t v)
{
	struct phr_u256 r = { { v, 0, 0, 0 } };
	return r;
}

bool phr_u256_fits_u64(const struct phr_u256 *a)
{
	return (a->w[1] | a->w[2] | a->w[3]) == 0;
}

bool phr_u256_is_zero(const struct phr_u256 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

bool phr_u256_eq(const struct phr_u256 *a, const struct phr_u256 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

int phr_u256_cmp(const struct phr_u256 *a, const struct phr_u256 *b)
{
	for (int i = 3; i >= 0; i--) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

bool phr_u256_is_neg(const struct phr_u256 *a)
{
	return (a->w[3] >> 63) != 0;
}

int phr_u256_scmp(const struct phr_u256 *a, const struct phr_u256 *b)
{
	bool na = phr_u256_is_neg(a), nb = phr_u256_is_neg(b);
	if (na != nb)
		return na ? -1 : 1;
	/* same sign: two's complement order equals unsigned order */
	return phr_u256_cmp(a, b);
}

unsigned phr_u256_bits(const struct phr_u256 *a)
{
	for (int i = 3; i >= 0; i--) {
		if (a->w[i])
			return (unsigned)i * 64 + 64 - (unsigned)__builtin_clzll(a->w[i]);
	}
	return 0;
}

unsigned phr_u256_bytes(const struct phr_u256 *a)
{
	return (phr_u256_bits(a) + 7) / 8;
}

void phr_u256_from_be(struct phr_u256 *r, const uint8_t in[32])
{
	for (int i = 0; i < 4; i++) {
		uint64_t v = 0;
		for (int j = 0; j < 8; j++)
			v = (v << 8) | in[(3 - i) * 8 + j];
		r->w[i] = v;
	}
}

void phr_u256_from_be_n(struct phr_u256 *r, const uint8_t *in, size_t n)
{
	uint8_t tmp[32] = { 0 };
	if (n > 32) {
		in += n - 32;
		n = 32;
	}
	if (n)
		memcpy(tmp + 32 - n, in, n);
	phr_u256_from_be(r, tmp);
}

void phr_u256_to_be(uint8_t out[32], const struct phr_u256 *a)
{
	for (int i = 0; i < 4; i++) {
		uint64_t v = a->w[i];
		for (int j = 7; j >= 0; j--) {
			out[(3 - i) * 8 + j] = (uint8_t)v;
			v >>= 8;
		}
	}
}

bool phr_u256_add(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	uint64_t c = 0;
	for (int i = 0; i < 4; i++) {
		u128 s = (u128)a->w[i] + b->w[i] + c;
		r->w[i] = (uint64_t)s;
		c = (uint64_t)(s >> 64);
	}
	return c != 0;
}

bool phr_u256_sub(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	uint64_t brw = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t x = a->w[i], y = b->w[i];
		uint64_t d = x - y - brw;
		brw = (x < y) || (x - y < brw);
		r->w[i] = d;
	}
	return brw != 0;
}

/* Full product of n-limb a and m-limb b into out[n+m]. */
static void mul_full(uint64_t *out, const uint64_t *a, int n, const uint64_t *b, int m)
{
	memset(out, 0, sizeof(uint64_t) * (size_t)(n + m));
	for (int i = 0; i < n; i++) {
		uint64_t c = 0;
		for (int j = 0; j < m; j++) {
			u128 t = (u128)a[i] * b[j] + out[i + j] + c;
			out[i + j] = (uint64_t)t;
			c = (uint64_t)(t >> 64);
		}
		out[i + m] = c;
	}
}

void phr_u256_mul(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	uint64_t out[4] = { 0 };
	for (int i = 0; i < 4; i++) {
		uint64_t c = 0;
		for (int j = 0; i + j < 4; j++) {
			u128 t = (u128)a->w[i] * b->w[j] + out[i + j] + c;
			out[i + j] = (uint64_t)t;
			c = (uint64_t)(t >> 64);
		}
	}
	memcpy(r->w, out, sizeof(out));
}

static int limbs_used(const uint64_t *a, int n)
{
	while (n > 0 && a[n - 1] == 0)
		n--;
	return n;
}

/*
 * Long division: u (m limbs) by v (n limbs, v[n-1] != 0, n <= 4). Writes the
 * quotient to q (m limbs, zero-filled above m-n) when q is non-NULL and the
 * remainder to r (n limbs) when r is non-NULL. m <= 8.
 */
static void divmod_limbs(uint64_t *q, uint64_t *r, const uint64_t *u, int m, const uint64_t *v,
			 int n)
{
	if (q)
		memset(q, 0, sizeof(uint64_t) * (size_t)m);
	if (m < n) {
		if (r) {
			memset(r, 0, sizeof(uint64_t) * (size_t)n);
			memcpy(r, u, sizeof(uint64_t) * (size_t)m);
		}
		return;
	}
	if (n == 1) {
		/* short division */
		uint64_t d = v[0], rem = 0;
		for (int i = m - 1; i >= 0; i--) {
			u128 cur = ((u128)rem << 64) | u[i];
			uint64_t qd = (uint64_t)(cur / d);
			rem = (uint64_t)(cur - (u128)qd * d);
			if (q)
				q[i] = qd;
		}
		if (r)
			r[0] = rem;
		return;
	}
	/* D1: normalise so the divisor's top bit is set */
	unsigned s = (unsigned)__builtin_clzll(v[n - 1]);
	uint64_t vn[4], un[9];
	for (int i = n - 1; i > 0; i--)
		vn[i] = s ? (v[i] << s) | (v[i - 1] >> (64 - s)) : v[i];
	vn[0] = v[0] << s;
	un[m] = s ? u[m - 1] >> (64 - s) : 0;
	for (int i = m - 1; i > 0; i--)
		un[i] = s ? (u[i] << s) | (u[i - 1] >> (64 - s)) : u[i];
	un[0] = u[0] << s;

	for (int j = m - n; j >= 0; j--) {
		/* D3: estimate qhat from the top two digits */
		u128 num = ((u128)un[j + n] << 64) | un[j + n - 1];
		u128 qhat = num / vn[n - 1];
		u128 rhat = num - qhat * vn[n - 1];
		while (qhat >> 64 || qhat * vn[n - 2] > ((rhat << 64) | un[j + n - 2])) {
			qhat--;
			rhat += vn[n - 1];
			if (rhat >> 64)
				break;
		}
		/* D4: multiply and subtract */
		uint64_t borrow = 0, carry = 0;
		for (int i = 0; i < n; i++) {
			u128 p = qhat * vn[i] + carry;
			carry = (uint64_t)(p >> 64);
			uint64_t pl = (uint64_t)p;
			uint64_t t = un[i + j] - pl - borrow;
			borrow = (un[i + j] < pl) || (un[i + j] - pl < borrow);
			un[i + j] = t;
		}
		uint64_t top = un[j + n];
		un[j + n] = top - carry - borrow;
		bool neg = (top < carry) || (top - carry < borrow);
		uint64_t qd = (uint64_t)qhat;
		if (neg) {
			/* D6: add back (rare) */
			qd--;
			uint64_t c = 0;
			for (int i = 0; i < n; i++) {
				u128 t2 = (u128)un[i + j] + vn[i] + c;
				un[i + j] = (uint64_t)t2;
				c = (uint64_t)(t2 >> 64);
			}
			un[j + n] += c;
		}
		if (q)
			q[j] = qd;
	}
	if (r) {
		/* D8: unnormalise */
		for (int i = 0; i < n - 1; i++)
			r[i] = s ? (un[i] >> s) | (un[i + 1] << (64 - s)) : un[i];
		r[n - 1] = un[n - 1] >> s;
	}
}

void phr_u256_divmod(struct phr_u256 *q, struct phr_u256 *rem, const struct phr_u256 *a,
		     const struct phr_u256 *b)
{
	int n = limbs_used(b->w, 4);
	if (n == 0) {
		if (q)
			*q = PHR_U256_ZERO;
		if (rem)
			*rem = PHR_U256_ZERO;
		return;
	}
	int m = limbs_used(a->w, 4);
	uint64_t qq[4] = { 0 }, rr[4] = { 0 };
	if (m == 0) {
		/* zero dividend */
	} else if (m <= 2 && n <= 2) {
		/* both fit 128 bits: let the compiler's 128-bit division do it */
		u128 x = ((u128)a->w[1] << 64) | a->w[0];
		u128 y = ((u128)b->w[1] << 64) | b->w[0];
		u128 z = x / y, t = x % y;
		qq[0] = (uint64_t)z;
		qq[1] = (uint64_t)(z >> 64);
		rr[0] = (uint64_t)t;
		rr[1] = (uint64_t)(t >> 64);
	} else {
		divmod_limbs(qq, rr, a->w, m, b->w, n);
	}
	if (q)
		memcpy(q->w, qq, sizeof(qq));
	if (rem)
		memcpy(rem->w, rr, sizeof(rr));
}

void phr_u256_div(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	phr_u256_divmod(r, NULL, a, b);
}

void phr_u256_mod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	phr_u256_divmod(NULL, r, a, b);
}

void phr_u256_neg(struct phr_u256 *r, const struct phr_u256 *a)
{
	struct phr_u256 z = PHR_U256_ZERO;
	(void)phr_u256_sub(r, &z, a);
}

static void u256_abs(struct phr_u256 *r, const struct phr_u256 *a)
{
	if (phr_u256_is_neg(a))
		phr_u256_neg(r, a);
	else
		*r = *a;
}

void phr_u256_sdiv(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	bool neg = phr_u256_is_neg(a) != phr_u256_is_neg(b);
	struct phr_u256 x, y;
	u256_abs(&x, a);
	u256_abs(&y, b);
	/* |-2^255| is 2^255 as unsigned, so -2^255 / -1 = 2^255 = -2^255 falls out */
	phr_u256_div(r, &x, &y);
	if (neg)
		phr_u256_neg(r, r);
}

void phr_u256_smod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	bool neg = phr_u256_is_neg(a);
	struct phr_u256 x, y;
	u256_abs(&x, a);
	u256_abs(&y, b);
	phr_u256_mod(r, &x, &y);
	if (neg)
		phr_u256_neg(r, r);
}

/* r = u (ulen limbs) mod m, 0 when m is 0. */
static void reduce(struct phr_u256 *r, const uint64_t *u, int ulen, const struct phr_u256 *m)
{
	uint64_t rr[4] = { 0 };
	int n = limbs_used(m->w, 4), k = limbs_used(u, ulen);
	if (n > 0 && k > 0)
		divmod_limbs(NULL, rr, u, k, m->w, n);
	memcpy(r->w, rr, sizeof(rr));
}

void phr_u256_addmod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b,
		     const struct phr_u256 *m)
{
	struct phr_u256 sum;
	uint64_t s[5];
	s[4] = phr_u256_add(&sum, a, b);
	memcpy(s, sum.w, sizeof(sum.w));
	reduce(r, s, 5, m);
}

void phr_u256_mulmod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b,
		     const struct phr_u256 *m)
{
	uint64_t p[8];
	mul_full(p, a->w, 4, b->w, 4);
	reduce(r, p, 8, m);
}

void phr_u256_exp(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *e)
{
	struct phr_u256 base = *a, acc = phr_u256_from_u64(1);
	unsigned nb = phr_u256_bits(e);
	for (unsigned i = 0; i < nb; i++) {
		if ((e->w[i / 64] >> (i % 64)) & 1)
			phr_u256_mul(&acc, &acc, &base);
		if (i + 1 < nb)
			phr_u256_mul(&base, &base, &base);
	}
	*r = acc;
}

void phr_u256_signextend(struct phr_u256 *r, const struct phr_u256 *b, const struct phr_u256 *x)
{
	if (!phr_u256_fits_u64(b) || b->w[0] >= 31) {
		*r = *x;
		return;
	}
	unsigned bit = (unsigned)b->w[0] * 8 + 7; /* sign bit index */
	unsigned limb = bit / 64, off = bit % 64;
	bool neg = (x->w[limb] >> off) & 1;
	struct phr_u256 v = *x;
	uint64_t mask = (off == 63) ? ~(uint64_t)0 : (((uint64_t)1 << (off + 1)) - 1);
	if (neg) {
		v.w[limb] |= ~mask;
		for (unsigned i = limb + 1; i < 4; i++)
			v.w[i] = ~(uint64_t)0;
	} else {
		v.w[limb] &= mask;
		for (unsigned i = limb + 1; i < 4; i++)
			v.w[i] = 0;
	}
	*r = v;
}

void phr_u256_byte(struct phr_u256 *r, const struct phr_u256 *i, const struct phr_u256 *x)
{
	if (!phr_u256_fits_u64(i) || i->w[0] >= 32) {
		*r = PHR_U256_ZERO;
		return;
	}
	unsigned idx = 31 - (unsigned)i->w[0]; /* 0 = least significant byte */
	uint64_t v = (x->w[idx / 8] >> ((idx % 8) * 8)) & 0xff;
	*r = phr_u256_from_u64(v);
}

void phr_u256_shl(struct phr_u256 *r, const struct phr_u256 *a, unsigned n)
{
	if (n >= 256) {
		*r = PHR_U256_ZERO;
		return;
	}
	unsigned ls = n / 64, bs = n % 64;
	uint64_t out[4] = { 0 };
	for (int i = 3; i >= (int)ls; i--) {
		uint64_t v = a->w[i - (int)ls] << bs;
		if (bs && i - (int)ls - 1 >= 0)
			v |= a->w[i - (int)ls - 1] >> (64 - bs);
		out[i] = v;
	}
	memcpy(r->w, out, sizeof(out));
}

void phr_u256_shr(struct phr_u256 *r, const struct phr_u256 *a, unsigned n)
{
	if (n >= 256) {
		*r = PHR_U256_ZERO;
		return;
	}
	unsigned ls = n / 64, bs = n % 64;
	uint64_t out[4] = { 0 };
	for (unsigned i = 0; i + ls < 4; i++) {
		uint64_t v = a->w[i + ls] >> bs;
		if (bs && i + ls + 1 < 4)
			v |= a->w[i + ls + 1] << (64 - bs);
		out[i] = v;
	}
	memcpy(r->w, out, sizeof(out));
}

void phr_u256_sar(struct phr_u256 *r, const struct phr_u256 *a, unsigned n)
{
	bool neg = phr_u256_is_neg(a);
	if (!neg) {
		phr_u256_shr(r, a, n);
		return;
	}
	/* sar(a) = ~shr(~a) for negative a */
	struct phr_u256 t;
	phr_u256_not(&t, a);
	phr_u256_shr(&t, &t, n);
	phr_u256_not(r, &t);
}

static unsigned shift_amount(const struct phr_u256 *s)
{
	return (!phr_u256_fits_u64(s) || s->w[0] >= 256) ? 256u : (unsigned)s->w[0];
}

void phr_u256_shl_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a)
{
	phr_u256_shl(r, a, shift_amount(shift));
}

void phr_u256_shr_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a)
{
	phr_u256_shr(r, a, shift_amount(shift));
}

void phr_u256_sar_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a)
{
	phr_u256_sar(r, a, shift_amount(shift));
}

void phr_u256_and(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	for (int i = 0; i < 4; i++)
		r->w[i] = a->w[i] & b->w[i];
}

void phr_u256_or(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	for (int i = 0; i < 4; i++)
		r->w[i] = a->w[i] | b->w[i];
}

void phr_u256_xor(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	for (int i = 0; i < 4; i++)
		r->w[i] = a->w[i] ^ b->w[i];
}

void phr_u256_not(struct phr_u256 *r, const struct phr_u256 *a)
{
	for (int i = 0; i < 4; i++)
		r->w[i] = ~a->w[i];
}

void phr_u256_to_dec(char out[PHR_U256_DEC_LEN], const struct phr_u256 *a)
{
	/* peel off 19 decimal digits at a time */
	static const uint64_t TEN19 = 10000000000000000000ull;
	uint64_t chunks[5];
	int nc = 0;
	uint64_t cur[4];
	memcpy(cur, a->w, sizeof(cur));
	int m = limbs_used(cur, 4);
	while (m > 0) {
		uint64_t q[4], rem;
		uint64_t d = TEN19;
		divmod_limbs(q, &rem, cur, m, &d, 1);
		chunks[nc++] = rem;
		memcpy(cur, q, sizeof(uint64_t) * (size_t)m);
		m = limbs_used(cur, m);
	}
	if (nc == 0) {
		out[0] = '0';
		out[1] = 0;
		return;
	}
	size_t pos = 0;
	for (int i = nc - 1; i >= 0; i--) {
		char tmp[20];
		int len = 0;
		uint64_t v = chunks[i];
		do {
			tmp[len++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		if (i != nc - 1) {
			while (len < 19)
				tmp[len++] = '0';
		}
		while (len > 0)
			out[pos++] = tmp[--len];
	}
	out[pos] = 0;
}

int phr_u256_parse(struct phr_u256 *r, const char *s)
{
	struct phr_u256 v = PHR_U256_ZERO;
	if (!s || !*s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!*s)
			return -1;
		while (*s == '0')
			s++;
		uint8_t be[32];
		size_t n = 0, len = strlen(s);
		if (len > 64)
			return -1;
		if (len && phr_hex_decode(be, sizeof(be), &n, s, len) != PHR_OK)
			return -1;
		phr_u256_from_be_n(r, be, n);
		return 0;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		/* v = v * 10 + digit, failing on any carry out of the top limb */
		uint64_t c = (uint64_t)(*s - '0');
		for (int i = 0; i < 4; i++) {
			u128 t = (u128)v.w[i] * 10 + c;
			v.w[i] = (uint64_t)t;
			c = (uint64_t)(t >> 64);
		}
		if (c)
			return -1;
	}
	*r = v;
	return 0;
}

void phr_u256_to_quantity(char out[67], const struct phr_u256 *a)
{
	static const char hx[] = "0123456789abcdef";
	out[0] = '0';
	out[1] = 'x';
	unsigned nib = (phr_u256_bits(a) + 3) / 4;
	if (nib == 0) {
		out[2] = '0';
		out[3] = 0;
		return;
	}
	size_t pos = 2;
	for (int i = (int)nib - 1; i >= 0; i--) {
		unsigned bit = (unsigned)i * 4;
		out[pos++] = hx[(a->w[bit / 64] >> (bit % 64)) & 0xf];
	}
	out[pos] = 0;
}
