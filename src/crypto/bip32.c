/*
 * BIP-39 mnemonic to seed, and BIP-32 derivation of secp256k1 secret keys
 * (private derivation only; hardened and normal steps).
 */
#include "crypto_int.h"

#include <secp256k1.h>
#include <sodium.h>
#include <string.h>

#define HARDENED 0x80000000u

int phr_bip39_seed(uint8_t seed[64], const char *mnemonic, const char *passphrase)
{
	size_t plen, slen;
	uint8_t *salt;
	int rc;

	if (!mnemonic || !*mnemonic)
		return PHR_ERR_INVALID;
	if (!passphrase)
		passphrase = "";
	plen = strlen(passphrase);
	if (plen > 4096)
		return PHR_ERR_INVALID;
	slen = 8 + plen;
	salt = sodium_malloc(slen);
	if (!salt)
		return PHR_ERR_NOMEM;
	memcpy(salt, "mnemonic", 8);
	memcpy(salt + 8, passphrase, plen);
	rc = phr_crypto_pbkdf2(seed, 64, true, (const uint8_t *)mnemonic, strlen(mnemonic), salt, slen,
			       2048);
	sodium_free(salt);
	return rc;
}

/* Next path step: decimal index < 2^31, optionally followed by ', h or H. */
static int path_step(uint32_t *index, const char **p)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return PHR_ERR_PARSE;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return PHR_ERR_PARSE; /* no leading zeros */
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v >= HARDENED)
			return PHR_ERR_PARSE;
	}
	if (*s == '\'' || *s == 'h' || *s == 'H') {
		v |= HARDENED;
		s++;
	}
	if (*s != '/' && *s != '\0')
		return PHR_ERR_PARSE;
	*index = (uint32_t)v;
	*p = s;
	return PHR_OK;
}

/* Secret working state: key || chain code, then I = HMAC-SHA512 output. */
struct bip32_node {
	uint8_t key[32];
	uint8_t chain[32];
	uint8_t i[64];
	uint8_t data[37];
};

static int child(struct bip32_node *nd, uint32_t index)
{
	const secp256k1_context *ctx = phr_crypto_secp_ctx();

	if (index & HARDENED) {
		nd->data[0] = 0;
		memcpy(nd->data + 1, nd->key, 32);
	} else {
		secp256k1_pubkey pk;
		size_t len = 33;
		if (!secp256k1_ec_pubkey_create(ctx, &pk, nd->key))
			return PHR_ERR_INVALID;
		secp256k1_ec_pubkey_serialize(ctx, nd->data, &len, &pk, SECP256K1_EC_COMPRESSED);
	}
	nd->data[33] = (uint8_t)(index >> 24);
	nd->data[34] = (uint8_t)(index >> 16);
	nd->data[35] = (uint8_t)(index >> 8);
	nd->data[36] = (uint8_t)index;
	phr_crypto_hmac_sha512(nd->i, nd->chain, 32, nd->data, sizeof(nd->data));
	/* k_i = IL + k (mod n); invalid when IL >= n or the sum is 0 */
	if (!secp256k1_ec_seckey_verify(ctx, nd->i) || !secp256k1_ec_seckey_tweak_add(ctx, nd->key, nd->i))
		return PHR_ERR_INVALID;
	memcpy(nd->chain, nd->i + 32, 32);
	return PHR_OK;
}

int phr_bip32_derive(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const uint8_t *seed,
		     size_t seed_len, const char *path)
{
	struct bip32_node *nd;
	const char *p = path;
	int rc = PHR_OK;

	if (seed_len < 16 || seed_len > 64)
		return PHR_ERR_INVALID;
	if (p[0] != 'm' || (p[1] != '/' && p[1] != '\0'))
		return PHR_ERR_PARSE;
	p++;
	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	nd = sodium_malloc(sizeof(*nd));
	if (!nd)
		return PHR_ERR_NOMEM;
	phr_crypto_hmac_sha512(nd->i, (const uint8_t *)"Bitcoin seed", 12, seed, seed_len);
	memcpy(nd->key, nd->i, 32);
	memcpy(nd->chain, nd->i + 32, 32);
	if (!phr_secp256k1_seckey_valid(nd->key))
		rc = PHR_ERR_INVALID;
	while (rc == PHR_OK && *p == '/') {
		uint32_t index;
		p++;
		rc = path_step(&index, &p);
		if (rc == PHR_OK)
			rc = child(nd, index);
	}
	if (rc == PHR_OK && *p != '\0')
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK)
		memcpy(seckey, nd->key, 32);
	sodium_free(nd);
	return rc;
}

int phr_bip32_eth_key(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *mnemonic,
		      uint32_t index)
{
	uint8_t *seed;
	char path[64];
	int rc;

	if (index >= HARDENED)
		return PHR_ERR_INVALID;
	seed = sodium_malloc(64);
	if (!seed)
		return PHR_ERR_NOMEM;
	snprintf(path, sizeof(path), PHR_BIP44_ETH_PREFIX "%u", (unsigned)index);
	rc = phr_bip39_seed(seed, mnemonic, "");
	if (rc == PHR_OK)
		rc = phr_bip32_derive(seckey, seed, 64, path);
	sodium_free(seed);
	return rc;
}
