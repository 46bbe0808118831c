/*
 * ES256 keys on P-256 over nettle's hogweed: generation from libsodium's
 * random bytes, JWK import/export, RFC 7638 thumbprints, raw R||S signatures.
 *
 * The private scalar is kept in sodium_malloc memory both as bytes and as the
 * GMP limbs nettle reads; signing points a struct ecc_scalar (whose fields
 * nettle's ecc.h makes public) at those limbs, so the secret is never copied
 * into GMP-allocated memory.
 */
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/sha2.h>
#include <sodium.h>

#include "shc_int.h"

#define LIMBS ((32 + sizeof(mp_limb_t) - 1) / sizeof(mp_limb_t))

struct shc_secret {
	uint8_t d[32];
	mp_limb_t limbs[LIMBS];
};

struct phr_shc_key {
	uint8_t x[32], y[32];
	char kid[PHR_SHC_KID_BYTES];
	struct shc_secret *sec; /* sodium_malloc; NULL for a public key */
};

/* order n of P-256, big-endian */
static const uint8_t p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void sodium_random(void *ctx, size_t len, uint8_t *dst)
{
	(void)ctx;
	randombytes_buf(dst, len);
}

/* 0 < d < n */
static bool scalar_in_range(const uint8_t d[32])
{
	uint8_t any = 0;
	for (size_t i = 0; i < 32; i++)
		any |= d[i];
	return any != 0 && memcmp(d, p256_order, 32) < 0;
}

static void bytes_to_limbs(mp_limb_t *limbs, const uint8_t d[32])
{
	memset(limbs, 0, LIMBS * sizeof(mp_limb_t));
	for (size_t i = 0; i < 32; i++)
		limbs[i / sizeof(mp_limb_t)] |= (mp_limb_t)d[31 - i] << (8 * (i % sizeof(mp_limb_t)));
}

static int point_from_xy(struct ecc_point *p, const uint8_t x[32], const uint8_t y[32])
{
	mpz_t mx, my;
	mpz_init(mx);
	mpz_init(my);
	nettle_mpz_set_str_256_u(mx, 32, x);
	nettle_mpz_set_str_256_u(my, 32, y);
	ecc_point_init(p, nettle_get_secp_256r1());
	int ok = ecc_point_set(p, mx, my);
	mpz_clear(mx);
	mpz_clear(my);
	if (!ok) {
		ecc_point_clear(p);
		return PHR_ERR_INVALID;
	}
	return PHR_OK;
}

/* x, y of d*G */
static void public_from_secret(uint8_t x[32], uint8_t y[32], struct shc_secret *sec)
{
	struct ecc_scalar s = { .ecc = nettle_get_secp_256r1(), .p = sec->limbs };
	struct ecc_point p;
	mpz_t mx, my;
	ecc_point_init(&p, nettle_get_secp_256r1());
	ecc_point_mul_g(&p, &s);
	mpz_init(mx);
	mpz_init(my);
	ecc_point_get(&p, mx, my);
	nettle_mpz_get_str_256(32, x, mx);
	nettle_mpz_get_str_256(32, y, my);
	mpz_clear(mx);
	mpz_clear(my);
	ecc_point_clear(&p);
}

static int key_kid(struct phr_shc_key *k)
{
	json_t *jwk = NULL;
	struct phr_buf bx, by;
	phr_buf_init(&bx, 64);
	phr_buf_init(&by, 64);
	int rc = phr_shc_b64url_encode(&bx, k->x, 32);
	if (rc == PHR_OK)
		rc = phr_shc_b64url_encode(&by, k->y, 32);
	if (rc == PHR_OK) {
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", (char *)bx.data, "y",
				(char *)by.data);
		rc = jwk ? phr_shc_jwk_thumbprint(k->kid, jwk) : PHR_ERR_NOMEM;
	}
	json_decref(jwk);
	phr_buf_release(&bx);
	phr_buf_release(&by);
	return rc;
}

static struct phr_shc_key *key_alloc(bool with_secret)
{
	struct phr_shc_key *k = phr_calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	if (with_secret) {
		if (sodium_init() < 0 || !(k->sec = sodium_malloc(sizeof(*k->sec)))) {
			phr_free(k);
			return NULL;
		}
		sodium_memzero(k->sec, sizeof(*k->sec));
	}
	return k;
}

void phr_shc_key_free(struct phr_shc_key *k)
{
	if (!k)
		return;
	if (k->sec)
		sodium_free(k->sec); /* wipes */
	phr_free(k);
}

int phr_shc_key_generate(struct phr_shc_key **out)
{
	struct phr_shc_key *k = key_alloc(true);
	if (!k)
		return PHR_ERR_NOMEM;
	/* rejection sampling: a uniform scalar in [1, n-1] */
	do
		randombytes_buf(k->sec->d, 32);
	while (!scalar_in_range(k->sec->d));
	bytes_to_limbs(k->sec->limbs, k->sec->d);
	public_from_secret(k->x, k->y, k->sec);
	int rc = key_kid(k);
	if (rc != PHR_OK) {
		phr_shc_key_free(k);
		return rc;
	}
	*out = k;
	return PHR_OK;
}

/* a 32-byte coordinate or scalar in base64url (exactly 43 characters) */
static int get_b64_32(uint8_t out[32], const json_t *jwk, const char *key)
{
	const json_t *v = json_object_get(jwk, key);
	if (!json_is_string(v) || json_string_length(v) != 43)
		return PHR_ERR_INVALID;
	struct phr_buf b;
	phr_buf_init(&b, 64);
	int rc = phr_shc_b64url_decode(&b, json_string_value(v), 43);
	if (rc == PHR_OK && b.len == 32)
		memcpy(out, b.data, 32);
	else
		rc = PHR_ERR_INVALID;
	if (b.data)
		sodium_memzero(b.data, b.cap);
	phr_buf_release(&b);
	return rc;
}

int phr_shc_key_from_jwk(struct phr_shc_key **out, const json_t *jwk)
{
	if (!json_is_object(jwk))
		return PHR_ERR_INVALID;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	if (!kty || !crv)
		return PHR_ERR_INVALID;
	if (strcmp(kty, "EC") != 0 || strcmp(crv, "P-256") != 0)
		return PHR_ERR_UNSUPPORTED;
	bool priv = json_object_get(jwk, "d") != NULL;
	struct phr_shc_key *k = key_alloc(priv);
	if (!k)
		return PHR_ERR_NOMEM;
	struct ecc_point p;
	int rc = get_b64_32(k->x, jwk, "x");
	if (rc == PHR_OK)
		rc = get_b64_32(k->y, jwk, "y");
	if (rc == PHR_OK && (rc = point_from_xy(&p, k->x, k->y)) == PHR_OK)
		ecc_point_clear(&p);
	if (rc == PHR_OK && priv) {
		rc = get_b64_32(k->sec->d, jwk, "d");
		if (rc == PHR_OK && !scalar_in_range(k->sec->d))
			rc = PHR_ERR_INVALID;
		if (rc == PHR_OK) {
			uint8_t x[32], y[32];
			bytes_to_limbs(k->sec->limbs, k->sec->d);
			public_from_secret(x, y, k->sec);
			if (memcmp(x, k->x, 32) != 0 || memcmp(y, k->y, 32) != 0)
				rc = PHR_ERR_INVALID;
		}
	}
	if (rc == PHR_OK)
		rc = key_kid(k);
	if (rc != PHR_OK) {
		phr_shc_key_free(k);
		return rc;
	}
	*out = k;
	return PHR_OK;
}

bool phr_shc_key_has_private(const struct phr_shc_key *k) { return k->sec != NULL; }

const char *phr_shc_key_kid(const struct phr_shc_key *k) { return k->kid; }

static int set_b64(json_t *obj, const char *key, const uint8_t *data, size_t n)
{
	struct phr_buf b;
	phr_buf_init(&b, 128);
	int rc = phr_shc_b64url_encode(&b, data, n);
	if (rc == PHR_OK && json_object_set_new(obj, key, json_stringn((char *)b.data, b.len)) != 0)
		rc = PHR_ERR_NOMEM;
	if (b.data)
		sodium_memzero(b.data, b.cap);
	phr_buf_release(&b);
	return rc;
}

int phr_shc_key_to_jwk(json_t **out, const struct phr_shc_key *k, bool with_private)
{
	if (with_private && !k->sec)
		return PHR_ERR_STATE;
	json_t *jwk = json_pack("{s:s, s:s}", "kty", "EC", "kid", k->kid);
	if (!jwk)
		return PHR_ERR_NOMEM;
	int rc = PHR_OK;
	if (json_object_set_new(jwk, "use", json_string("sig")) || json_object_set_new(jwk, "alg", json_string("ES256")) ||
	    json_object_set_new(jwk, "crv", json_string("P-256")))
		rc = PHR_ERR_NOMEM;
	if (rc == PHR_OK)
		rc = set_b64(jwk, "x", k->x, 32);
	if (rc == PHR_OK)
		rc = set_b64(jwk, "y", k->y, 32);
	if (rc == PHR_OK && with_private)
		rc = set_b64(jwk, "d", k->sec->d, 32);
	if (rc != PHR_OK) {
		json_decref(jwk);
		return rc;
	}
	*out = jwk;
	return PHR_OK;
}

int phr_shc_jwks_build(json_t **out, const struct phr_shc_key *const *keys, size_t n)
{
	json_t *arr = json_array();
	json_t *doc = arr ? json_pack("{s:o}", "keys", arr) : NULL;
	if (!doc)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *jwk;
		int rc = phr_shc_key_to_jwk(&jwk, keys[i], false);
		if (rc == PHR_OK && json_array_append_new(arr, jwk) != 0)
			rc = PHR_ERR_NOMEM;
		if (rc != PHR_OK) {
			json_decref(doc);
			return rc;
		}
	}
	*out = doc;
	return PHR_OK;
}

int phr_shc_jwk_thumbprint(char kid[PHR_SHC_KID_BYTES], const json_t *jwk)
{
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const oct[] = { "k", "kty", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *members;
	if (!kty)
		return PHR_ERR_INVALID;
	if (strcmp(kty, "EC") == 0)
		members = ec;
	else if (strcmp(kty, "RSA") == 0)
		members = rsa;
	else if (strcmp(kty, "oct") == 0)
		members = oct;
	else
		return PHR_ERR_UNSUPPORTED;
	/* required members only, in lexicographic order, no whitespace (RFC 7638 §3.3);
	 * jansson's encoder escapes the values as JSON requires */
	struct phr_buf canon;
	phr_buf_init(&canon, 1 << 16);
	int rc = phr_buf_append_byte(&canon, '{');
	for (size_t i = 0; rc == PHR_OK && members[i]; i++) {
		const json_t *v = json_object_get(jwk, members[i]);
		if (!json_is_string(v)) {
			rc = PHR_ERR_INVALID;
			break;
		}
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!s) {
			rc = PHR_ERR_NOMEM;
			break;
		}
		rc = phr_buf_appendf(&canon, "%s\"%s\":%s", i ? "," : "", members[i], s);
		free(s);
	}
	if (rc == PHR_OK)
		rc = phr_buf_append_byte(&canon, '}');
	if (rc == PHR_OK) {
		uint8_t digest[SHA256_DIGEST_SIZE];
		struct sha256_ctx ctx;
		sha256_init(&ctx);
		sha256_update(&ctx, canon.len, canon.data);
		sha256_digest(&ctx, sizeof(digest), digest);
		struct phr_buf b;
		phr_buf_init(&b, 64);
		rc = phr_shc_b64url_encode(&b, digest, sizeof(digest));
		if (rc == PHR_OK)
			memcpy(kid, b.data, b.len + 1);
		phr_buf_release(&b);
	}
	phr_buf_release(&canon);
	return rc;
}

static void sha256_of(uint8_t digest[32], const uint8_t *msg, size_t len)
{
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, len, msg);
	sha256_digest(&ctx, 32, digest);
}

int phr_shc_es256_sign(uint8_t sig[PHR_SHC_SIG_BYTES], const struct phr_shc_key *k, const uint8_t *msg,
		       size_t len)
{
	if (!k->sec)
		return PHR_ERR_STATE;
	uint8_t digest[32];
	sha256_of(digest, msg, len);
	struct ecc_scalar s = { .ecc = nettle_get_secp_256r1(), .p = k->sec->limbs };
	struct dsa_signature ds;
	dsa_signature_init(&ds);
	ecdsa_sign(&s, NULL, sodium_random, sizeof(digest), digest, &ds);
	nettle_mpz_get_str_256(32, sig, ds.r);
	nettle_mpz_get_str_256(32, sig + 32, ds.s);
	dsa_signature_clear(&ds);
	return PHR_OK;
}

int phr_shc_es256_verify(const struct phr_shc_key *k, const uint8_t sig[PHR_SHC_SIG_BYTES], const uint8_t *msg,
			 size_t len)
{
	uint8_t digest[32];
	struct ecc_point p;
	if (point_from_xy(&p, k->x, k->y) != PHR_OK)
		return PHR_ERR_SIGNATURE;
	sha256_of(digest, msg, len);
	struct dsa_signature ds;
	dsa_signature_init(&ds);
	nettle_mpz_set_str_256_u(ds.r, 32, sig);
	nettle_mpz_set_str_256_u(ds.s, 32, sig + 32);
	/* nettle rejects r or s outside [1, n-1] */
	int ok = ecdsa_verify(&p, sizeof(digest), digest, &ds);
	dsa_signature_clear(&ds);
	ecc_point_clear(&p);
	return ok ? PHR_OK : PHR_ERR_SIGNATURE;
}

int phr_shc_jwks_find(struct phr_shc_key **out, char *reason, size_t cap, const json_t *jwks, const char *kid)
{
	const json_t *keys = json_object_get(jwks, "keys");
	if (!json_is_array(keys))
		return phr_shc_fail(reason, cap, PHR_ERR_INVALID, "JWKS has no keys array");
	size_t i;
	const json_t *jwk;
	json_array_foreach(keys, i, jwk) {
		const char *id = json_string_value(json_object_get(jwk, "kid"));
		if (!id || strcmp(id, kid) != 0)
			continue;
		struct phr_shc_key *k;
		int rc = phr_shc_key_from_jwk(&k, jwk);
		if (rc != PHR_OK)
			return phr_shc_fail(reason, cap, rc, "issuer key %s is not a usable EC P-256 JWK", kid);
		if (strcmp(k->kid, kid) != 0) {
			phr_shc_key_free(k);
			return phr_shc_fail(reason, cap, PHR_ERR_INVALID, "issuer key's kid is not its JWK thumbprint");
		}
		*out = k;
		return PHR_OK;
	}
	return phr_shc_fail(reason, cap, PHR_ERR_NOT_FOUND, "no key with kid %s in the issuer's JWKS", kid);
}
