/*
 * Fuzz target: Web3 Secret Storage keystore JSON (files users import).
 * Parses every input; when the KDF is cheap enough to run per input, also
 * decrypts it with a fixed password, so the MAC check, AES-CTR and the key and
 * address checks run on fuzzer-made parameters too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "phr/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_keystore ks;
	uint8_t key[PHR_SECP256K1_SECKEY_BYTES];
	int rc;

	if (phr_crypto_init() != PHR_OK)
		return 0;
	rc = phr_keystore_parse(&ks, (const char *)data, size);
	if (rc != PHR_OK)
		return 0;
	if (ks.salt_len == 0 || ks.salt_len > sizeof(ks.salt) || ks.dklen != 32)
		__builtin_trap(); /* parse accepted something it promises to refuse */
	if ((ks.kdf == PHR_KEYSTORE_PBKDF2 && ks.pbkdf2_c <= 64) ||
	    (ks.kdf == PHR_KEYSTORE_SCRYPT && (uint64_t)ks.scrypt_n * ks.scrypt_r * ks.scrypt_p <= 4096)) {
		rc = phr_keystore_decrypt(key, &ks, "fuzz", 4);
		if (rc == PHR_OK && !phr_secp256k1_seckey_valid(key))
			__builtin_trap();
	}
	return 0;
}
