/*
 * Keccak-256 as Ethereum uses it: Keccak-f[1600], rate 1088 bits (136 bytes),
 * capacity 512, original multi-rate padding 0x01 ... 0x80 (not SHA-3's 0x06).
 * Written from the Keccak reference specification (round constants, rotation
 * offsets and the pi lane permutation are the published tables).
 */
#include "phr/crypto.h"

#include <string.h>

#define KECCAK_RATE 136

static const uint64_t keccak_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho rotation of lane i = x + 5y, and the lane pi moves it to: (x, y) -> (y, 2x + 3y) */
static const unsigned keccak_rho[25] = { 0,  1,  62, 28, 27, 36, 44, 6,	 55, 20, 3,  10, 43,
					 25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14 };
static const unsigned keccak_pi[25] = { 0,  10, 20, 5,	15, 16, 1, 11, 21, 6,  7,  17, 2,
					12, 22, 23, 8,	18, 3,	13, 14, 24, 9, 19, 4 };

static inline uint64_t rotl64(uint64_t x, unsigned n)
{
	return (x << n) | (x >> ((64 - n) & 63)); /* n = 0 is defined too */
}

/* Keccak-f[1600]. The loops have constant bounds and tables, and are fully
 * unrolled so that lanes stay in registers. */
static void keccak_f1600(uint64_t st[25])
{
	uint64_t c[5], d[5], b[25];

	for (int round = 0; round < 24; round++) {
		/* theta */
#pragma GCC unroll 5
		for (int x = 0; x < 5; x++)
			c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
#pragma GCC unroll 5
		for (int x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
		/* theta's xor, rho and pi */
#pragma GCC unroll 25
		for (int i = 0; i < 25; i++)
			b[keccak_pi[i]] = rotl64(st[i] ^ d[i % 5], keccak_rho[i]);
		/* chi */
#pragma GCC unroll 25
		for (int i = 0; i < 25; i++) {
			int x = i % 5, y5 = i - x;
			st[i] = b[i] ^ (~b[y5 + (x + 1) % 5] & b[y5 + (x + 2) % 5]);
		}
		/* iota */
		st[0] ^= keccak_rc[round];
	}
}

/* XORs byte @p b into the state at byte offset @p off (little-endian lanes). */
static inline void xor_byte(uint64_t st[25], size_t off, uint8_t b)
{
	st[off / 8] ^= (uint64_t)b << (8 * (off % 8));
}

static inline uint64_t load64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void phr_keccak_init(struct phr_keccak *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void phr_keccak_update(struct phr_keccak *ctx, const void *data, size_t n)
{
	const uint8_t *p = data;

	/* finish a partial block byte by byte */
	while (n > 0 && ctx->pos != 0) {
		xor_byte(ctx->st, ctx->pos++, *p++);
		n--;
		if (ctx->pos == KECCAK_RATE) {
			keccak_f1600(ctx->st);
			ctx->pos = 0;
		}
	}
	/* whole blocks, a lane at a time */
	while (n >= KECCAK_RATE) {
		for (size_t i = 0; i < KECCAK_RATE / 8; i++)
			ctx->st[i] ^= load64le(p + 8 * i);
		keccak_f1600(ctx->st);
		p += KECCAK_RATE;
		n -= KECCAK_RATE;
	}
	while (n > 0) {
		xor_byte(ctx->st, ctx->pos++, *p++);
		n--;
	}
}

void phr_keccak_final(struct phr_keccak *ctx, uint8_t out[PHR_KECCAK256_BYTES])
{
	xor_byte(ctx->st, ctx->pos, 0x01);
	xor_byte(ctx->st, KECCAK_RATE - 1, 0x80);
	keccak_f1600(ctx->st);
	for (size_t i = 0; i < PHR_KECCAK256_BYTES; i++)
		out[i] = (uint8_t)(ctx->st[i / 8] >> (8 * (i % 8)));
	memset(ctx, 0, sizeof(*ctx));
}

void phr_keccak256(uint8_t out[PHR_KECCAK256_BYTES], const void *data, size_t n)
{
	struct phr_keccak ctx;

	phr_keccak_init(&ctx);
	phr_keccak_update(&ctx, data, n);
	phr_keccak_final(&ctx, out);
}
