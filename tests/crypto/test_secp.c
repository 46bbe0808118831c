/* secp256k1 keys, addresses, signatures: ethereum/tests BasicTests keyaddrtest
 * vectors, EIP-55 examples, and the edge cases of recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phr/core.h"
#include "phr/crypto.h"

static const uint8_t secp_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
	0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static void hex32(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(phr_hex_decode_exact(out, n, hex), PHR_OK);
}

/* s' = n - s (the high-s twin of a signature) */
static void negate_s(uint8_t sig[64])
{
	unsigned borrow = 0;
	for (int i = 31; i >= 0; i--) {
		unsigned d = (unsigned)secp_n[i] - sig[32 + i] - borrow;
		sig[32 + i] = (uint8_t)d;
		borrow = (d >> 8) & 1;
	}
}

static void test_keyaddr_vectors(void **state)
{
	(void)state;
	json_error_t err;
	json_t *root = json_load_file("tests/vectors/basic/keyaddrtest.json", 0, &err);
	size_t i;
	json_t *t;

	assert_non_null(root);
	assert_true(json_array_size(root) >= 2);
	json_array_foreach(root, i, t) {
		const char *seed = json_string_value(json_object_get(t, "seed"));
		uint8_t key[32], want[20], pub[64], addr[20], k2[32];

		hex32(key, 32, json_string_value(json_object_get(t, "key")));
		hex32(want, 20, json_string_value(json_object_get(t, "addr")));
		/* the key is the brain-wallet keccak256(seed) */
		phr_keccak256(k2, seed, strlen(seed));
		assert_memory_equal(k2, key, 32);
		assert_int_equal(phr_secp256k1_pubkey(pub, key), PHR_OK);
		phr_eth_address(addr, pub);
		assert_memory_equal(addr, want, 20);
		assert_int_equal(phr_eth_address_from_seckey(addr, key), PHR_OK);
		assert_memory_equal(addr, want, 20);

	}
	json_decref(root);
}

static void test_sign_recover(void **state)
{
	(void)state;
	uint8_t key[32], pub[64], rec[64], sig[64], sig2[64], hash[32];
	int recid, recid2;

	for (int round = 0; round < 50; round++) {
		assert_int_equal(phr_secp256k1_keygen(key), PHR_OK);
		assert_true(phr_secp256k1_seckey_valid(key));
		assert_int_equal(phr_secp256k1_pubkey(pub, key), PHR_OK);
		phr_keccak256(hash, &round, sizeof(round));
		assert_int_equal(phr_secp256k1_sign(sig, &recid, hash, key), PHR_OK);
		assert_true(recid == 0 || recid == 1);
		assert_true(phr_secp256k1_is_low_s(sig));
		/* RFC 6979: deterministic */
		assert_int_equal(phr_secp256k1_sign(sig2, &recid2, hash, key), PHR_OK);
		assert_memory_equal(sig, sig2, 64);
		assert_int_equal(recid, recid2);
		assert_int_equal(phr_secp256k1_recover(rec, hash, sig, recid), PHR_OK);
		assert_memory_equal(rec, pub, 64);
		assert_int_equal(phr_secp256k1_verify(sig, hash, pub), PHR_OK);
		/* the other recid gives another key (or none) */
		if (phr_secp256k1_recover(rec, hash, sig, recid ^ 1) == PHR_OK)
			assert_memory_not_equal(rec, pub, 64);
		/* high-s twin: recovery still works with the flipped recid (the
		 * ecrecover precompile accepts it), low-s check rejects it */
		memcpy(sig2, sig, 64);
		negate_s(sig2);
		assert_false(phr_secp256k1_is_low_s(sig2));
		assert_int_equal(phr_secp256k1_recover(rec, hash, sig2, recid ^ 1), PHR_OK);
		assert_memory_equal(rec, pub, 64);
		assert_int_equal(phr_secp256k1_verify(sig2, hash, pub), PHR_ERR_SIGNATURE);
		/* a changed hash verifies no more */
		hash[0] ^= 1;
		assert_int_equal(phr_secp256k1_verify(sig, hash, pub), PHR_ERR_SIGNATURE);
	}
}

static void test_recover_rejects(void **state)
{
	(void)state;
	uint8_t key[32], sig[64], bad[64], hash[32], pub[64];
	int recid;

	memset(key, 0x11, 32);
	memset(hash, 0x22, 32);
	assert_int_equal(phr_secp256k1_sign(sig, &recid, hash, key), PHR_OK);
	memcpy(bad, sig, 64);
	memset(bad, 0, 32); /* r = 0 */
	assert_int_equal(phr_secp256k1_recover(pub, hash, bad, recid), PHR_ERR_SIGNATURE);
	memcpy(bad, sig, 64);
	memset(bad + 32, 0, 32); /* s = 0 */
	assert_int_equal(phr_secp256k1_recover(pub, hash, bad, recid), PHR_ERR_SIGNATURE);
	assert_false(phr_secp256k1_is_low_s(bad));
	memcpy(bad, sig, 64);
	memcpy(bad, secp_n, 32); /* r = n */
	assert_int_equal(phr_secp256k1_recover(pub, hash, bad, recid), PHR_ERR_SIGNATURE);
	memcpy(bad, sig, 64);
	memcpy(bad + 32, secp_n, 32); /* s = n */
	assert_int_equal(phr_secp256k1_recover(pub, hash, bad, recid), PHR_ERR_SIGNATURE);
	memset(bad + 32, 0xff, 32); /* s > n */
	assert_int_equal(phr_secp256k1_recover(pub, hash, bad, recid), PHR_ERR_SIGNATURE);
	assert_int_equal(phr_secp256k1_recover(pub, hash, sig, 4), PHR_ERR_SIGNATURE);
	assert_int_equal(phr_secp256k1_recover(pub, hash, sig, -1), PHR_ERR_SIGNATURE);

	/* invalid secret keys */
	memset(key, 0, 32);
	assert_false(phr_secp256k1_seckey_valid(key));
	assert_int_equal(phr_secp256k1_pubkey(pub, key), PHR_ERR_INVALID);
	assert_int_equal(phr_secp256k1_sign(sig, &recid, hash, key), PHR_ERR_INVALID);
	memcpy(key, secp_n, 32);
	assert_false(phr_secp256k1_seckey_valid(key));
	assert_int_equal(phr_secp256k1_pubkey(pub, key), PHR_ERR_INVALID);
}

static void test_pubkey_formats(void **state)
{
	(void)state;
	uint8_t key[32], pub[64], c[33], u[65], back[64];

	memset(key, 0x42, 32);
	assert_int_equal(phr_secp256k1_pubkey(pub, key), PHR_OK);
	assert_int_equal(phr_secp256k1_pubkey_compress(c, pub), PHR_OK);
	assert_true(c[0] == 2 || c[0] == 3);
	assert_int_equal(c[0], 2 + (pub[63] & 1));
	assert_int_equal(phr_secp256k1_pubkey_parse(back, c, 33), PHR_OK);
	assert_memory_equal(back, pub, 64);
	u[0] = 4;
	memcpy(u + 1, pub, 64);
	assert_int_equal(phr_secp256k1_pubkey_parse(back, u, 65), PHR_OK);
	assert_memory_equal(back, pub, 64);
	assert_int_equal(phr_secp256k1_pubkey_parse(back, pub, 64), PHR_OK);
	u[0] = 6; /* hybrid encodings are refused */
	assert_int_equal(phr_secp256k1_pubkey_parse(back, u, 65), PHR_ERR_INVALID);
	u[0] = 4;
	u[64] ^= 1; /* off the curve */
	assert_int_equal(phr_secp256k1_pubkey_parse(back, u, 65), PHR_ERR_INVALID);
	assert_int_equal(phr_secp256k1_pubkey_parse(back, u, 10), PHR_ERR_INVALID);
}

/* The examples of EIP-55 itself. */
static void test_eip55(void **state)
{
	(void)state;
	static const char *const good[] = {
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(good); i++) {
		uint8_t a[20];
		char out[43];
		assert_int_equal(phr_eth_address_parse(a, good[i]), PHR_OK);
		phr_eth_address_checksum(out, a);
		if (i >= 4) /* mixed-case inputs are their own checksum form */
			assert_string_equal(out, good[i]);
		else
			assert_int_equal(strcasecmp(out, good[i]), 0);
		assert_int_equal(phr_eth_address_parse(a, good[i] + 2), PHR_OK);
	}
	uint8_t a[20];
	/* one flipped case letter breaks the checksum */
	assert_int_equal(phr_eth_address_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_eth_address_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"),
			 PHR_ERR_PARSE);
	assert_int_equal(phr_eth_address_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd"),
			 PHR_ERR_PARSE);
	assert_int_equal(phr_eth_address_parse(a, "0xgaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
			 PHR_ERR_PARSE);
	assert_int_equal(phr_eth_address_parse(a, ""), PHR_ERR_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyaddr_vectors), cmocka_unit_test(test_sign_recover),
		cmocka_unit_test(test_recover_rejects), cmocka_unit_test(test_pubkey_formats),
		cmocka_unit_test(test_eip55),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
