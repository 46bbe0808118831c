/*
 * Identities hosted by a node: an account key and the X25519 key pair derived from it.
 */
#include <sodium.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr_int.h"

int phr_identity_box_keys(uint8_t pk[32], uint8_t sk[32], const uint8_t seckey[32])
{
	static const char tag[] = "phr/x25519/v1";
	struct phr_keccak k;
	uint8_t *seed = sodium_malloc(32);
	int rv;

	if (seed == NULL)
		return PHR_ERR_NOMEM;
	phr_keccak_init(&k);
	phr_keccak_update(&k, tag, sizeof(tag) - 1);
	phr_keccak_update(&k, seckey, 32);
	phr_keccak_final(&k, seed);
	sodium_memzero(&k, sizeof(k));
	rv = phr_crypto_box_seed_keypair(pk, sk, seed);
	sodium_free(seed);
	return rv;
}

int phr_identity_new(struct phr_identity **out, const char *name, const uint8_t seckey[32])
{
	struct phr_identity *id;
	int rv;

	if (name == NULL || strlen(name) >= sizeof(id->name) || !phr_secp256k1_seckey_valid(seckey))
		return PHR_ERR_INVALID;
	id = phr_calloc(1, sizeof(*id));
	if (id == NULL)
		return PHR_ERR_NOMEM;
	memcpy(id->name, name, strlen(name) + 1);
	id->seckey = sodium_malloc(32);
	id->box_sk = sodium_malloc(32);
	if (id->seckey == NULL || id->box_sk == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	memcpy(id->seckey, seckey, 32);
	if ((rv = phr_eth_address_from_seckey(id->address, seckey)) != PHR_OK)
		goto out;
	rv = phr_identity_box_keys(id->box_pk, id->box_sk, seckey);
out:
	if (rv != PHR_OK) {
		phr_identity_free(id);
		return rv;
	}
	*out = id;
	return PHR_OK;
}

int phr_identity_load(struct phr_identity **id, const char *name, const char *keystore_path,
		      const char *password)
{
	struct phr_buf json;
	uint8_t *sk;
	int rv;

	sk = sodium_malloc(32);
	if (sk == NULL)
		return PHR_ERR_NOMEM;
	phr_buf_init(&json, PHR_KEYSTORE_MAX_JSON);
	rv = phr_file_read(&json, keystore_path, PHR_KEYSTORE_MAX_JSON);
	if (rv == PHR_OK)
		rv = phr_keystore_decrypt_json(sk, (const char *)json.data, json.len, password,
					       strlen(password));
	if (rv == PHR_OK)
		rv = phr_identity_new(id, name, sk);
	phr_buf_release(&json);
	sodium_free(sk);
	return rv;
}

void phr_identity_free(struct phr_identity *id)
{
	if (id == NULL)
		return;
	if (id->seckey != NULL)
		sodium_free(id->seckey);
	if (id->box_sk != NULL)
		sodium_free(id->box_sk);
	phr_free(id);
}
