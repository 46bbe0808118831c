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

/* rho offsets and pi destinations along the lane walk starting at (1,0) */
static const unsigned keccak_rotc[24] = { 1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
					  27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44 };
static const unsigned keccak_piln[24] = { 10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
					  15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1 };

static inline uint64_t rotl64(uint64_t x, unsigned n)
{
	return (x << n) | (x >> (64 - n));
}

static void keccak_f1600(uint64_t st[25])
{
	uint64_t bc[5], t;

	for (int round = 0; round < 24; round++) {
		/* theta */
		for (int i = 0; i < 5; i++)
			bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
		for (int i = 0; i < 5; i++) {
			t = bc[(i + 4) % 5] ^ rotl64(bc[(i + 1) % 5], 1);
			for (int j = 0; j < 25; j += 5)
				st[j + i] ^= t;
		}
		/* rho and pi */
		t = st[1];
		for (int i = 0; i < 24; i++) {
			unsigned j = keccak_piln[i];
			uint64_t tmp = st[j];
			st[j] = rotl64(t, keccak_rotc[i]);
			t = tmp;
		}
		/* chi */
		for (int j = 0; j < 25; j += 5) {
			for (int i = 0; i < 5; i++)
				bc[i] = st[j + i];
			for (int i = 0; i < 5; i++)
				st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
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
