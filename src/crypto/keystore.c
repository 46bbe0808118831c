/*
 * Web3 Secret Storage v3 keystores (the format of geth, ethers, MetaMask):
 *   dk   = scrypt(password, salt, n, r, p, 32) or PBKDF2-HMAC-SHA256(password, salt, c, 32)
 *   ct   = AES-128-CTR(key = dk[0..16], counter block = iv, secret key)
 *   mac  = keccak256(dk[16..32] || ct)
 */
#include "crypto_int.h"

#include <errno.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <sodium.h>
#include <string.h>

#include "phr/json.h"

#define DK_BYTES 32

void phr_crypto_uuid4(char out[37])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t u[16];
	size_t o = 0;

	randombytes_buf(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[u[i] >> 4];
		out[o++] = digits[u[i] & 0x0f];
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------------------- */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------- */

/* A member that must be there, as exactly @p n bytes of hex. */
static int get_hex_exact(uint8_t *out, size_t n, const json_t *obj, const char *key)
{
	size_t len = 0;
	int rc = phr_json_get_hex(out, n, &len, obj, key);

	if (rc == PHR_ERR_TOO_LARGE || (rc == PHR_OK && len != n))
		return PHR_ERR_PARSE;
	return rc == PHR_OK ? PHR_OK : PHR_ERR_PARSE;
}

/* A positive integer member no larger than @p max. */
static int get_uint(uint32_t *out, const json_t *obj, const char *key, uint32_t max)
{
	const json_t *j = json_object_get(obj, key);
	uint64_t v;
	int rc;

	if (json_is_integer(j) && json_integer_value(j) < 0)
		return PHR_ERR_PARSE;
	rc = phr_json_get_u64(&v, obj, key);
	if (rc == PHR_ERR_RANGE)
		return PHR_ERR_TOO_LARGE;
	if (rc != PHR_OK)
		return PHR_ERR_PARSE;
	if (v == 0)
		return PHR_ERR_UNSUPPORTED;
	if (v > max)
		return PHR_ERR_TOO_LARGE;
	*out = (uint32_t)v;
	return PHR_OK;
}

static int parse_kdf(struct phr_keystore *ks, const json_t *crypto)
{
	const char *kdf;
	const json_t *kp = json_object_get(crypto, "kdfparams");
	size_t salt_len = 0;
	int rc;

	if (phr_json_get_str(&kdf, crypto, "kdf") != PHR_OK || !json_is_object(kp))
		return PHR_ERR_PARSE;
	rc = phr_json_get_hex(ks->salt, sizeof(ks->salt), &salt_len, kp, "salt");
	if (rc == PHR_ERR_TOO_LARGE)
		return PHR_ERR_UNSUPPORTED;
	if (rc != PHR_OK)
		return PHR_ERR_PARSE;
	if (salt_len == 0)
		return PHR_ERR_UNSUPPORTED;
	ks->salt_len = salt_len;
	rc = get_uint(&ks->dklen, kp, "dklen", 1024);
	if (rc != PHR_OK)
		return rc;
	if (ks->dklen != DK_BYTES)
		return PHR_ERR_UNSUPPORTED;

	if (strcmp(kdf, "scrypt") == 0) {
		ks->kdf = PHR_KEYSTORE_SCRYPT;
		if ((rc = get_uint(&ks->scrypt_n, kp, "n", UINT32_MAX)) != PHR_OK ||
		    (rc = get_uint(&ks->scrypt_r, kp, "r", UINT32_MAX)) != PHR_OK ||
		    (rc = get_uint(&ks->scrypt_p, kp, "p", UINT32_MAX)) != PHR_OK)
			return rc;
		if (ks->scrypt_n < 2 || (ks->scrypt_n & (ks->scrypt_n - 1)) != 0)
			return PHR_ERR_UNSUPPORTED;
		/* scrypt needs 128*r*n bytes for V and 128*r*p for B: cap both,
		 * and the work (n * r * p) alike */
		uint64_t r = ks->scrypt_r, p = ks->scrypt_p, n = ks->scrypt_n;
		if (r * p >= (1u << 30) || 128 * r * n + 128 * r * p > PHR_KEYSTORE_MAX_SCRYPT_MEM ||
		    n * r * p > (uint64_t)PHR_KEYSTORE_MAX_SCRYPT_MEM / 16)
			return PHR_ERR_TOO_LARGE;
	} else if (strcmp(kdf, "pbkdf2") == 0) {
		const char *prf;
		ks->kdf = PHR_KEYSTORE_PBKDF2;
		if (phr_json_get_str(&prf, kp, "prf") != PHR_OK)
			return PHR_ERR_PARSE;
		if (strcmp(prf, "hmac-sha256") != 0)
			return PHR_ERR_UNSUPPORTED;
		rc = get_uint(&ks->pbkdf2_c, kp, "c", PHR_KEYSTORE_MAX_PBKDF2_C);
		if (rc != PHR_OK)
			return rc;
	} else {
		return PHR_ERR_UNSUPPORTED;
	}
	return PHR_OK;
}

static int parse_obj(struct phr_keystore *ks, const json_t *root)
{
	const json_t *crypto, *cp, *ver;
	const char *cipher, *s;
	int rc;

	if (!json_is_object(root))
		return PHR_ERR_PARSE;
	ver = json_object_get(root, "version");
	if (!json_is_integer(ver))
		return PHR_ERR_PARSE;
	if (json_integer_value(ver) != 3)
		return PHR_ERR_UNSUPPORTED;
	crypto = json_object_get(root, "crypto");
	if (!crypto)
		crypto = json_object_get(root, "Crypto"); /* older geth files */
	if (!json_is_object(crypto))
		return PHR_ERR_PARSE;
	if (phr_json_get_str(&cipher, crypto, "cipher") != PHR_OK)
		return PHR_ERR_PARSE;
	if (strcmp(cipher, "aes-128-ctr") != 0)
		return PHR_ERR_UNSUPPORTED;
	cp = json_object_get(crypto, "cipherparams");
	if (!json_is_object(cp))
		return PHR_ERR_PARSE;
	if ((rc = get_hex_exact(ks->iv, sizeof(ks->iv), cp, "iv")) != PHR_OK ||
	    (rc = get_hex_exact(ks->ciphertext, sizeof(ks->ciphertext), crypto, "ciphertext")) != PHR_OK ||
	    (rc = get_hex_exact(ks->mac, sizeof(ks->mac), crypto, "mac")) != PHR_OK)
		return rc;
	rc = parse_kdf(ks, crypto);
	if (rc != PHR_OK)
		return rc;

	ks->has_address = false;
	rc = phr_json_get_str(&s, root, "address");
	if (rc == PHR_OK) {
		if (phr_eth_address_parse(ks->address, s) != PHR_OK)
			return PHR_ERR_PARSE;
		ks->has_address = true;
	} else if (rc != PHR_ERR_NOT_FOUND) {
		return PHR_ERR_PARSE;
	}
	ks->id[0] = '\0';
	rc = phr_json_get_str(&s, root, "id");
	if (rc == PHR_OK) {
		size_t n = strlen(s);
		if (n >= sizeof(ks->id))
			return PHR_ERR_PARSE;
		memcpy(ks->id, s, n + 1);
	} else if (rc != PHR_ERR_NOT_FOUND) {
		return PHR_ERR_PARSE;
	}
	return PHR_OK;
}

int phr_keystore_parse(struct phr_keystore *out, const char *json, size_t len)
{
	struct phr_keystore ks;
	json_t *root = NULL;
	int rc;

	if (len > PHR_KEYSTORE_MAX_JSON)
		return PHR_ERR_TOO_LARGE;
	if (phr_json_parse(&root, NULL, 0, json, len) != PHR_OK)
		return PHR_ERR_PARSE;
	memset(&ks, 0, sizeof(ks));
	rc = parse_obj(&ks, root);
	json_decref(root);
	if (rc == PHR_OK)
		*out = ks;
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Deriving, decrypting, encrypting                                          */
/* ------------------------------------------------------------------------- */

static int derive(uint8_t dk[DK_BYTES], const struct phr_keystore *ks, const char *pw, size_t pw_len)
{
	if (ks->kdf == PHR_KEYSTORE_SCRYPT) {
		if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pw, pw_len, ks->salt,
							  ks->salt_len, ks->scrypt_n, ks->scrypt_r,
							  ks->scrypt_p, dk, DK_BYTES) != 0)
			return errno == ENOMEM ? PHR_ERR_NOMEM : PHR_ERR_CRYPTO;
		return PHR_OK;
	}
	return phr_crypto_pbkdf2(dk, DK_BYTES, false, (const uint8_t *)pw, pw_len, ks->salt,
				 ks->salt_len, ks->pbkdf2_c);
}

static void compute_mac(uint8_t mac[32], const uint8_t dk[DK_BYTES], const uint8_t ct[32])
{
	struct phr_keccak k;

	phr_keccak_init(&k);
	phr_keccak_update(&k, dk + 16, 16);
	phr_keccak_update(&k, ct, 32);
	phr_keccak_final(&k, mac);
}

/* AES-128-CTR with the IV as the initial 128-bit big-endian counter block;
 * encryption and decryption are the same operation. */
static void aes128_ctr(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[16],
		       const uint8_t iv[16])
{
	struct aes128_ctx aes;
	uint8_t ctr[16];

	aes128_set_encrypt_key(&aes, key);
	memcpy(ctr, iv, sizeof(ctr));
	ctr_crypt(&aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, ctr, n, dst, src);
	sodium_memzero(&aes, sizeof(aes));
}

int phr_keystore_decrypt(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const struct phr_keystore *ks,
			 const char *password, size_t password_len)
{
	uint8_t *dk, *key, mac[32], addr[20];
	int rc;

	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	dk = sodium_malloc(DK_BYTES + PHR_SECP256K1_SECKEY_BYTES);
	if (!dk)
		return PHR_ERR_NOMEM;
	key = dk + DK_BYTES;
	rc = derive(dk, ks, password, password_len);
	if (rc != PHR_OK)
		goto out;
	compute_mac(mac, dk, ks->ciphertext);
	if (sodium_memcmp(mac, ks->mac, sizeof(mac)) != 0) {
		rc = PHR_ERR_PASSWORD;
		goto out;
	}
	aes128_ctr(key, ks->ciphertext, 32, dk, ks->iv);
	rc = phr_eth_address_from_seckey(addr, key);
	if (rc != PHR_OK)
		goto out;
	if (ks->has_address && memcmp(addr, ks->address, sizeof(addr)) != 0) {
		rc = PHR_ERR_INVALID;
		goto out;
	}
	memcpy(seckey, key, PHR_SECP256K1_SECKEY_BYTES);
out:
	sodium_free(dk); /* wipes dk and the key */
	return rc;
}

int phr_keystore_decrypt_json(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *json,
			      size_t len, const char *password, size_t password_len)
{
	struct phr_keystore ks;
	int rc = phr_keystore_parse(&ks, json, len);

	if (rc == PHR_OK)
		rc = phr_keystore_decrypt(seckey, &ks, password, password_len);
	return rc;
}

static int hex_member(json_t *obj, const char *key, const uint8_t *data, size_t n)
{
	char hex[PHR_HEX_LEN(64, false)];

	if (phr_hex_encode(hex, sizeof(hex), data, n, false) != PHR_OK)
		return PHR_ERR_INTERNAL;
	return json_object_set_new(obj, key, json_string(hex)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

static int int_member(json_t *obj, const char *key, json_int_t v)
{
	return json_object_set_new(obj, key, json_integer(v)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

static int str_member(json_t *obj, const char *key, const char *v)
{
	return json_object_set_new(obj, key, json_string(v)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

/* Builds the JSON document of @p ks (geth's layout and field names). */
static int keystore_to_json(char **out, const struct phr_keystore *ks)
{
	json_t *root = json_object(), *crypto = json_object(), *cp = json_object(),
	       *kp = json_object();
	struct phr_buf buf;
	int rc = PHR_ERR_NOMEM;

	phr_buf_init(&buf, PHR_KEYSTORE_MAX_JSON);
	if (!root || !crypto || !cp || !kp)
		goto out;
	if ((rc = hex_member(root, "address", ks->address, 20)) != PHR_OK ||
	    (rc = str_member(crypto, "cipher", "aes-128-ctr")) != PHR_OK ||
	    (rc = hex_member(crypto, "ciphertext", ks->ciphertext, 32)) != PHR_OK ||
	    (rc = hex_member(cp, "iv", ks->iv, 16)) != PHR_OK ||
	    (rc = int_member(kp, "dklen", DK_BYTES)) != PHR_OK ||
	    (rc = hex_member(kp, "salt", ks->salt, ks->salt_len)) != PHR_OK)
		goto out;
	if (ks->kdf == PHR_KEYSTORE_SCRYPT) {
		if ((rc = str_member(crypto, "kdf", "scrypt")) != PHR_OK ||
		    (rc = int_member(kp, "n", ks->scrypt_n)) != PHR_OK ||
		    (rc = int_member(kp, "p", ks->scrypt_p)) != PHR_OK ||
		    (rc = int_member(kp, "r", ks->scrypt_r)) != PHR_OK)
			goto out;
	} else {
		if ((rc = str_member(crypto, "kdf", "pbkdf2")) != PHR_OK ||
		    (rc = int_member(kp, "c", ks->pbkdf2_c)) != PHR_OK ||
		    (rc = str_member(kp, "prf", "hmac-sha256")) != PHR_OK)
			goto out;
	}
	rc = PHR_ERR_NOMEM;
	if (json_object_set(crypto, "cipherparams", cp) != 0 ||
	    json_object_set(crypto, "kdfparams", kp) != 0)
		goto out;
	if ((rc = hex_member(crypto, "mac", ks->mac, 32)) != PHR_OK ||
	    (rc = str_member(root, "id", ks->id)) != PHR_OK ||
	    (rc = int_member(root, "version", 3)) != PHR_OK)
		goto out;
	rc = PHR_ERR_NOMEM;
	if (json_object_set(root, "crypto", crypto) != 0)
		goto out;
	rc = phr_json_dump(&buf, root, JSON_SORT_KEYS);
	if (rc == PHR_OK) {
		*out = phr_buf_detach(&buf, NULL);
		rc = *out ? PHR_OK : PHR_ERR_NOMEM;
	}
out:
	phr_buf_release(&buf);
	json_decref(kp);
	json_decref(cp);
	json_decref(crypto);
	json_decref(root);
	return rc;
}

int phr_keystore_encrypt(char **json, const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES],
			 const char *password, size_t password_len,
			 const struct phr_keystore_params *params)
{
	static const struct phr_keystore_params standard = PHR_KEYSTORE_PARAMS_STANDARD;
	struct phr_keystore ks;
	uint8_t *dk;
	int rc;

	*json = NULL;
	if (!params)
		params = &standard;
	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	memset(&ks, 0, sizeof(ks));
	ks.kdf = params->kdf;
	ks.dklen = DK_BYTES;
	if (ks.kdf == PHR_KEYSTORE_SCRYPT) {
		ks.scrypt_n = params->scrypt_n;
		ks.scrypt_r = params->scrypt_r;
		ks.scrypt_p = params->scrypt_p;
		if (ks.scrypt_n < 2 || (ks.scrypt_n & (ks.scrypt_n - 1)) != 0 || ks.scrypt_r == 0 ||
		    ks.scrypt_p == 0 || (uint64_t)ks.scrypt_r * ks.scrypt_p >= (1u << 30))
			return PHR_ERR_INVALID;
	} else if (ks.kdf == PHR_KEYSTORE_PBKDF2) {
		ks.pbkdf2_c = params->pbkdf2_c;
		if (ks.pbkdf2_c == 0)
			return PHR_ERR_INVALID;
	} else {
		return PHR_ERR_INVALID;
	}
	rc = phr_eth_address_from_seckey(ks.address, seckey);
	if (rc != PHR_OK)
		return rc;
	ks.has_address = true;
	ks.salt_len = 32;
	randombytes_buf(ks.salt, ks.salt_len);
	randombytes_buf(ks.iv, sizeof(ks.iv));
	phr_crypto_uuid4(ks.id);

	dk = sodium_malloc(DK_BYTES);
	if (!dk)
		return PHR_ERR_NOMEM;
	rc = derive(dk, &ks, password, password_len);
	if (rc == PHR_OK) {
		aes128_ctr(ks.ciphertext, seckey, 32, dk, ks.iv);
		compute_mac(ks.mac, dk, ks.ciphertext);
		rc = keystore_to_json(json, &ks);
	}
	sodium_free(dk);
	return rc;
}
