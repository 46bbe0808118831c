/*
 * Shamir secret sharing over GF(2^8) with the AES polynomial
 * x^8 + x^4 + x^3 + x + 1 (0x11b), byte by byte. Field arithmetic is written
 * without secret-indexed tables or secret-dependent branches.
 */
#include "crypto_int.h"

#include <sodium.h>
#include <string.h>

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	for (int i = 0; i < 8; i++) {
		r ^= (uint8_t)(-(b & 1) & a);
		b >>= 1;
		/* a *= x, reducing by 0x11b when the top bit falls out */
		a = (uint8_t)((a << 1) ^ (-(a >> 7) & 0x1b));
	}
	return r;
}

/* a^254 = a^-1 for a != 0 (and 0 for 0) */
static uint8_t gf_inv(uint8_t a)
{
	uint8_t r = 1, p = a;

	for (int e = 254; e > 0; e >>= 1) {
		if (e & 1)
			r = gf_mul(r, p);
		p = gf_mul(p, p);
	}
	return r;
}

int phr_shamir_split(uint8_t *shares, const uint8_t *secret, size_t len, unsigned t, unsigned n)
{
	size_t slen = PHR_SHAMIR_SHARE_BYTES(len);
	uint8_t *coef;

	if (t < 2 || t > n || n > 255 || len == 0)
		return PHR_ERR_INVALID;
	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	/* coefficients a_1..a_{t-1} of one byte's polynomial */
	coef = sodium_malloc(t - 1);
	if (!coef)
		return PHR_ERR_NOMEM;
	for (unsigned i = 0; i < n; i++)
		shares[i * slen] = (uint8_t)(i + 1);
	for (size_t b = 0; b < len; b++) {
		randombytes_buf(coef, t - 1);
		for (unsigned i = 0; i < n; i++) {
			uint8_t x = (uint8_t)(i + 1), y = 0;
			/* Horner: ((a_{t-1} x + a_{t-2}) x + ...) x + secret */
			for (unsigned k = t - 1; k >= 1; k--)
				y = gf_mul((uint8_t)(y ^ coef[k - 1]), x);
			shares[i * slen + 1 + b] = (uint8_t)(y ^ secret[b]);
		}
	}
	sodium_free(coef);
	return PHR_OK;
}

int phr_shamir_combine(uint8_t *secret, const uint8_t *shares, size_t share_len, unsigned k)
{
	size_t len = share_len - 1;
	uint8_t *lagrange;

	if (k < 2 || k > 255 || share_len < 2)
		return PHR_ERR_INVALID;
	for (unsigned i = 0; i < k; i++) {
		if (shares[i * share_len] == 0)
			return PHR_ERR_INVALID;
		for (unsigned j = 0; j < i; j++)
			if (shares[i * share_len] == shares[j * share_len])
				return PHR_ERR_INVALID;
	}
	lagrange = sodium_malloc(k);
	if (!lagrange)
		return PHR_ERR_NOMEM;
	/* L_i(0) = prod_{j != i} x_j / (x_i - x_j); subtraction is XOR */
	for (unsigned i = 0; i < k; i++) {
		uint8_t num = 1, den = 1, xi = shares[i * share_len];
		for (unsigned j = 0; j < k; j++) {
			uint8_t xj = shares[j * share_len];
			if (j == i)
				continue;
			num = gf_mul(num, xj);
			den = gf_mul(den, (uint8_t)(xi ^ xj));
		}
		lagrange[i] = gf_mul(num, gf_inv(den));
	}
	for (size_t b = 0; b < len; b++) {
		uint8_t s = 0;
		for (unsigned i = 0; i < k; i++)
			s ^= gf_mul(shares[i * share_len + 1 + b], lagrange[i]);
		secret[b] = s;
	}
	sodium_free(lagrange);
	return PHR_OK;
}
