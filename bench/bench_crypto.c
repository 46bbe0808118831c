/*
 * Crypto throughput, phr side by side with the peer, on the same data in one
 * run:
 *   - keccak-256 (phr, written here) vs SHA3-256 of nettle (same Keccak-f[1600]
 *     permutation and rate; only the padding byte differs);
 *   - record encryption and decryption through phr's API vs raw libsodium
 *     crypto_secretstream_xchacha20poly1305 with the same chunk size.
 * Usage: bench_crypto [MiB]   (default 64)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/sha3.h>
#include <sodium.h>

#include "phr/core.h"
#include "phr/crypto.h"

#define CHUNK PHR_CRYPTO_CHUNK_DEFAULT
#define ROUNDS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint8_t sink;

static void phr_keccak_run(const uint8_t *d, size_t n)
{
	uint8_t out[32];
	phr_keccak256(out, d, n);
	sink ^= out[0];
}

static void nettle_sha3_run(const uint8_t *d, size_t n)
{
	struct sha3_256_ctx c;
	uint8_t out[32];
	sha3_256_init(&c);
	sha3_256_update(&c, n, d);
	sha3_256_digest(&c, sizeof(out), out);
	sink ^= out[0];
}

static double mbs_of(void (*fn)(const uint8_t *, size_t), const uint8_t *d, size_t n)
{
	double t0 = now();
	fn(d, n);
	return (double)n / 1e6 / (now() - t0);
}

/* phr and peer alternately, ROUNDS times each, keeping the best MB/s (10^6
 * bytes/s) of each: on a shared machine both see the same load. */
static void pair(double *bp, double *bq, void (*p)(const uint8_t *, size_t),
		 void (*q)(const uint8_t *, size_t), const uint8_t *d, size_t n)
{
	*bp = *bq = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double a = mbs_of(p, d, n), b = mbs_of(q, d, n);
		if (a > *bp)
			*bp = a;
		if (b > *bq)
			*bq = b;
	}
}

static uint8_t key[32];
static uint8_t *plain, *cipher, *back;
static size_t cipher_len;

/* phr's buffer API, reusing one output buffer across rounds as a caller would */
static struct phr_buf penc, pdec;

static void phr_enc_run(const uint8_t *d, size_t n)
{
	phr_buf_reset(&penc);
	if (phr_crypto_encrypt_buf(&penc, key, d, n, CHUNK) != PHR_OK)
		abort();
}

static void phr_dec_run(const uint8_t *d, size_t n)
{
	(void)d;
	(void)n;
	phr_buf_reset(&pdec);
	if (phr_crypto_decrypt_buf(&pdec, key, penc.data, penc.len) != PHR_OK)
		abort();
}

/* raw libsodium: the same chunking, into a preallocated buffer */
static void raw_enc_run(const uint8_t *d, size_t n)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t *o = cipher;
	crypto_secretstream_xchacha20poly1305_init_push(&st, o, key);
	o += crypto_secretstream_xchacha20poly1305_HEADERBYTES;
	for (size_t off = 0;; off += CHUNK) {
		size_t take = n - off < CHUNK ? n - off : CHUNK;
		unsigned char tag = take < CHUNK ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
						 : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
		crypto_secretstream_xchacha20poly1305_push(&st, o, NULL, d + off, take, NULL, 0, tag);
		o += take + crypto_secretstream_xchacha20poly1305_ABYTES;
		if (take < CHUNK)
			break;
	}
	cipher_len = (size_t)(o - cipher);
}

static void raw_dec_run(const uint8_t *d, size_t n)
{
	crypto_secretstream_xchacha20poly1305_state st;
	const uint8_t *c = cipher, *end = cipher + cipher_len;
	uint8_t *o = back;
	(void)d;
	(void)n;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, c, key) != 0)
		abort();
	c += crypto_secretstream_xchacha20poly1305_HEADERBYTES;
	while (c < end) {
		size_t take = (size_t)(end - c);
		unsigned long long mlen;
		unsigned char tag;
		if (take > CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
			take = CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
		if (crypto_secretstream_xchacha20poly1305_pull(&st, o, &mlen, &tag, c, take, NULL, 0) != 0)
			abort();
		o += mlen;
		c += take;
	}
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t n = mib << 20;

	if (mib == 0 || phr_crypto_init() != PHR_OK)
		return 2;
	plain = malloc(n);
	back = malloc(n);
	cipher = malloc(n + n / CHUNK * 17 + 1024);
	if (!plain || !cipher || !back)
		return 1;
	randombytes_buf(plain, n);
	randombytes_buf(key, sizeof(key));

	double k_phr, k_peer, e_phr, e_raw, d_phr, d_raw;

	pair(&k_phr, &k_peer, phr_keccak_run, nettle_sha3_run, plain, n);
	phr_buf_init(&penc, (size_t)1 << 40);
	phr_buf_init(&pdec, (size_t)1 << 40);
	pair(&e_phr, &e_raw, phr_enc_run, raw_enc_run, plain, n);
	pair(&d_phr, &d_raw, phr_dec_run, raw_dec_run, plain, n);
	if (pdec.len != n || memcmp(pdec.data, plain, n) != 0 || memcmp(back, plain, n) != 0)
		return 1;

	printf("data: %zu MiB, best of %d, chunk %u bytes\n", mib, ROUNDS, CHUNK);
	printf("%-34s %10s %10s %8s\n", "operation", "phr MB/s", "peer MB/s", "ratio");
	printf("%-34s %10.1f %10.1f %8.2f\n", "keccak-256 vs nettle sha3-256", k_phr, k_peer, k_phr / k_peer);
	printf("%-34s %10.1f %10.1f %8.2f\n", "record encrypt vs raw secretstream", e_phr, e_raw, e_phr / e_raw);
	printf("%-34s %10.1f %10.1f %8.2f\n", "record decrypt vs raw secretstream", d_phr, d_raw, d_phr / d_raw);
	phr_buf_release(&penc);
	phr_buf_release(&pdec);
	free(plain);
	free(cipher);
	free(back);
	return 0;
}
