/*
 * HMAC-SHA-256/512 over libsodium (which takes keys of any length) and
 * PBKDF2 (RFC 8018, section 5.2) written here over them.
 */
#include "crypto_int.h"

#include <sodium.h>
#include <string.h>

void phr_crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const uint8_t *msg,
			    size_t msg_len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, msg, msg_len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void phr_crypto_hmac_sha512(uint8_t out[64], const uint8_t *key, size_t key_len, const uint8_t *msg,
			    size_t msg_len)
{
	crypto_auth_hmacsha512_state st;

	crypto_auth_hmacsha512_init(&st, key, key_len);
	crypto_auth_hmacsha512_update(&st, msg, msg_len);
	crypto_auth_hmacsha512_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* One PBKDF2 instance: the keyed HMAC state is computed once and copied for
 * every iteration, so each iteration costs two compression calls. */
struct pbkdf2_work {
	union {
		crypto_auth_hmacsha256_state s256;
		crypto_auth_hmacsha512_state s512;
	} keyed, tmp;
	uint8_t u[64], t[64];
};

static void prf_update(struct pbkdf2_work *w, bool sha512, const uint8_t *m, size_t n)
{
	if (sha512)
		crypto_auth_hmacsha512_update(&w->tmp.s512, m, n);
	else
		crypto_auth_hmacsha256_update(&w->tmp.s256, m, n);
}

static void prf_final(struct pbkdf2_work *w, bool sha512)
{
	if (sha512)
		crypto_auth_hmacsha512_final(&w->tmp.s512, w->u);
	else
		crypto_auth_hmacsha256_final(&w->tmp.s256, w->u);
}

int phr_crypto_pbkdf2(uint8_t *out, size_t out_len, bool sha512, const uint8_t *pw, size_t pw_len,
		      const uint8_t *salt, size_t salt_len, uint32_t iterations)
{
	size_t hlen = sha512 ? 64 : 32;
	struct pbkdf2_work *w;

	if (iterations == 0 || out_len == 0 || out_len / hlen >= 0xffffffffu)
		return PHR_ERR_INVALID;
	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	w = sodium_malloc(sizeof(*w));
	if (!w)
		return PHR_ERR_NOMEM;
	if (sha512)
		crypto_auth_hmacsha512_init(&w->keyed.s512, pw, pw_len);
	else
		crypto_auth_hmacsha256_init(&w->keyed.s256, pw, pw_len);
	for (uint32_t block = 1; out_len > 0; block++) {
		uint8_t be[4] = { (uint8_t)(block >> 24), (uint8_t)(block >> 16), (uint8_t)(block >> 8),
				  (uint8_t)block };
		size_t take = out_len < hlen ? out_len : hlen;

		/* U1 = PRF(P, S || INT(i)); T = U1 ^ U2 ^ ... ^ Uc */
		w->tmp = w->keyed;
		prf_update(w, sha512, salt, salt_len);
		prf_update(w, sha512, be, sizeof(be));
		prf_final(w, sha512);
		memcpy(w->t, w->u, hlen);
		for (uint32_t i = 1; i < iterations; i++) {
			w->tmp = w->keyed;
			prf_update(w, sha512, w->u, hlen);
			prf_final(w, sha512);
			for (size_t j = 0; j < hlen; j++)
				w->t[j] ^= w->u[j];
		}
		memcpy(out, w->t, take);
		out += take;
		out_len -= take;
	}
	sodium_free(w);
	return PHR_OK;
}
