/* Keystores: every ethereum/tests KeyStoreTests entry decrypts with its
 * password to the listed key; round trips; PBKDF2 known answers (RFC 7914
 * section 11); strict parsing. */
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

static void unhex(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(phr_hex_decode_exact(out, n, hex), PHR_OK);
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	assert_non_null(s);
	return s;
}

static void test_ethereum_keystore_tests(void **state)
{
	(void)state;
	json_error_t err;
	json_t *root = json_load_file("tests/vectors/keystore/basic_tests.json", 0, &err);
	const char *name;
	json_t *t;
	int count = 0;

	assert_non_null(root);
	json_object_foreach(root, name, t) {
		const char *pw = json_string_value(json_object_get(t, "password"));
		uint8_t want[32], got[32];
		char *js = dump(json_object_get(t, "json"));
		struct phr_keystore ks;

		unhex(want, 32, json_string_value(json_object_get(t, "priv")));
		assert_int_equal(phr_keystore_parse(&ks, js, strlen(js)), PHR_OK);
		assert_int_equal(phr_keystore_decrypt(got, &ks, pw, strlen(pw)), PHR_OK);
		assert_memory_equal(got, want, 32);
		/* a wrong password is reported as such, with no key written */
		memset(got, 0xaa, 32);
		assert_int_equal(phr_keystore_decrypt(got, &ks, "wrong", 5), PHR_ERR_PASSWORD);
		for (int i = 0; i < 32; i++)
			assert_int_equal(got[i], 0xaa);
		free(js);
		count++;
	}
	assert_int_equal(count, 5);
	json_decref(root);
}

static void test_roundtrip(void **state)
{
	(void)state;
	static const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	static const struct phr_keystore_params pb = { PHR_KEYSTORE_PBKDF2, 0, 0, 0, 1000 };
	const struct phr_keystore_params *ps[] = { &light, &pb };
	uint8_t key[32], got[32], addr[20];

	assert_int_equal(phr_secp256k1_keygen(key), PHR_OK);
	assert_int_equal(phr_eth_address_from_seckey(addr, key), PHR_OK);
	for (size_t i = 0; i < PHR_ARRAY_LEN(ps); i++) {
		char *js = NULL;
		struct phr_keystore ks;

		assert_int_equal(phr_keystore_encrypt(&js, key, "pässword", strlen("pässword"), ps[i]), PHR_OK);
		assert_non_null(js);
		assert_int_equal(phr_keystore_parse(&ks, js, strlen(js)), PHR_OK);
		assert_true(ks.has_address);
		assert_memory_equal(ks.address, addr, 20);
		assert_int_equal(strlen(ks.id), 36);
		assert_int_equal(ks.id[14], '4');
		assert_int_equal(ks.kdf, ps[i]->kdf);
		assert_int_equal(phr_keystore_decrypt_json(got, js, strlen(js), "pässword", strlen("pässword")), PHR_OK);
		assert_memory_equal(got, key, 32);
		assert_int_equal(phr_keystore_decrypt_json(got, js, strlen(js), "password", 8), PHR_ERR_PASSWORD);
		phr_free(js);
	}
	{
		char *js = (char *)1;
		struct phr_keystore_params bad = light;
		bad.scrypt_n = 1000;
		assert_int_equal(phr_keystore_encrypt(&js, key, "x", 1, &bad), PHR_ERR_INVALID);
		assert_null(js);
		memset(key, 0, 32);
		assert_int_equal(phr_keystore_encrypt(&js, key, "x", 1, &light), PHR_ERR_INVALID);
	}
}

/* RFC 7914 section 11 PBKDF2-HMAC-SHA256 vectors, and the first BIP-39
 * vector's seed as a PBKDF2-HMAC-SHA512 vector. */
static void test_pbkdf2_vectors(void **state)
{
	(void)state;
	uint8_t out[64], want[64];

	assert_int_equal(phr_crypto_pbkdf2(out, 64, false, (const uint8_t *)"passwd", 6,
					   (const uint8_t *)"salt", 4, 1), PHR_OK);
	unhex(want, 64, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
			"49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
	assert_memory_equal(out, want, 64);
	assert_int_equal(phr_crypto_pbkdf2(out, 64, false, (const uint8_t *)"Password", 8,
					   (const uint8_t *)"NaCl", 4, 80000), PHR_OK);
	unhex(want, 64, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
			"a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
	assert_memory_equal(out, want, 64);
	/* a shorter output is a prefix */
	assert_int_equal(phr_crypto_pbkdf2(out, 20, false, (const uint8_t *)"passwd", 6,
					   (const uint8_t *)"salt", 4, 1), PHR_OK);
	unhex(want, 20, "55ac046e56e3089fec1691c22544b605f9418521");
	assert_memory_equal(out, want, 20);
	assert_int_equal(phr_crypto_pbkdf2(out, 20, false, (const uint8_t *)"p", 1,
					   (const uint8_t *)"s", 1, 0), PHR_ERR_INVALID);
}

/* A valid pbkdf2 keystore as a jansson object; tests mutate a copy. */
static json_t *base_keystore(void)
{
	json_error_t err;
	json_t *root = json_load_file("tests/vectors/keystore/basic_tests.json", 0, &err);
	json_t *js;

	assert_non_null(root);
	js = json_deep_copy(json_object_get(json_object_get(root, "evilnonce"), "json"));
	json_decref(root);
	return js;
}

static int parse_obj(json_t *js)
{
	struct phr_keystore ks;
	char *s = dump(js);
	int rc = phr_keystore_parse(&ks, s, strlen(s));
	free(s);
	json_decref(js);
	return rc;
}

static json_t *crypto_of(json_t *js)
{
	return json_object_get(js, "crypto");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct phr_keystore ks;
	json_t *js;

	assert_int_equal(parse_obj(base_keystore()), PHR_OK);
	assert_int_equal(phr_keystore_parse(&ks, "", 0), PHR_ERR_PARSE);
	assert_int_equal(phr_keystore_parse(&ks, "[]", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_keystore_parse(&ks, "{\"version\":3}", 13), PHR_ERR_PARSE);

	js = base_keystore();
	json_object_set_new(js, "version", json_integer(2));
	assert_int_equal(parse_obj(js), PHR_ERR_UNSUPPORTED);
	js = base_keystore();
	json_object_set_new(js, "version", json_string("3"));
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	js = base_keystore();
	json_object_set_new(crypto_of(js), "cipher", json_string("aes-128-cbc"));
	assert_int_equal(parse_obj(js), PHR_ERR_UNSUPPORTED);
	js = base_keystore();
	json_object_set_new(crypto_of(js), "kdf", json_string("argon2"));
	assert_int_equal(parse_obj(js), PHR_ERR_UNSUPPORTED);
	js = base_keystore();
	json_object_set_new(json_object_get(crypto_of(js), "kdfparams"), "prf", json_string("hmac-sha512"));
	assert_int_equal(parse_obj(js), PHR_ERR_UNSUPPORTED);
	js = base_keystore();
	json_object_set_new(json_object_get(crypto_of(js), "kdfparams"), "dklen", json_integer(16));
	assert_int_equal(parse_obj(js), PHR_ERR_UNSUPPORTED);
	js = base_keystore();
	json_object_set_new(json_object_get(crypto_of(js), "kdfparams"), "c", json_integer(1000000000));
	assert_int_equal(parse_obj(js), PHR_ERR_TOO_LARGE);
	js = base_keystore();
	json_object_set_new(json_object_get(crypto_of(js), "kdfparams"), "c", json_integer(-1));
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	js = base_keystore();
	json_object_set_new(crypto_of(js), "ciphertext", json_string("d69313b6"));
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	js = base_keystore();
	json_object_set_new(json_object_get(crypto_of(js), "cipherparams"), "iv", json_string("zz"));
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	js = base_keystore();
	json_object_del(crypto_of(js), "mac");
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	js = base_keystore();
	json_object_set_new(js, "address", json_integer(5));
	assert_int_equal(parse_obj(js), PHR_ERR_PARSE);
	/* "Crypto" (old geth spelling) is accepted */
	js = base_keystore();
	json_object_set(js, "Crypto", crypto_of(js));
	json_object_del(js, "crypto");
	assert_int_equal(parse_obj(js), PHR_OK);

	/* scrypt: n a power of two, and memory / work caps */
	js = base_keystore();
	json_t *kp = json_pack("{s:i,s:i,s:i,s:i,s:s}", "dklen", 32, "n", 1000, "r", 8, "p", 1,
			       "salt", "00112233");
	json_object_set_new(crypto_of(js), "kdf", json_string("scrypt"));
	json_object_set(crypto_of(js), "kdfparams", kp);
	assert_int_equal(parse_obj(json_deep_copy(js)), PHR_ERR_UNSUPPORTED);
	json_object_set_new(kp, "n", json_integer(1 << 22));
	assert_int_equal(parse_obj(json_deep_copy(js)), PHR_ERR_TOO_LARGE);
	json_object_set_new(kp, "n", json_integer(1024));
	json_object_set_new(kp, "p", json_integer(1 << 30));
	assert_int_equal(parse_obj(json_deep_copy(js)), PHR_ERR_TOO_LARGE);
	json_object_set_new(kp, "p", json_integer(1));
	assert_int_equal(parse_obj(json_deep_copy(js)), PHR_OK);
	json_decref(kp);
	json_decref(js);
}

/* An "address" that does not belong to the decrypted key is refused. */
static void test_address_mismatch(void **state)
{
	(void)state;
	json_t *js = base_keystore();
	char *s;
	uint8_t key[32];

	json_object_set_new(js, "address", json_string("0000000000000000000000000000000000000001"));
	s = dump(js);
	assert_int_equal(phr_keystore_decrypt_json(key, s, strlen(s), "bar", 3), PHR_ERR_INVALID);
	free(s);
	json_decref(js);
}

/* Failing the Nth allocation: NOMEM (no JSON handed out), never a crash or leak. */
static void test_alloc_failures(void **state)
{
	(void)state;
	static const struct phr_keystore_params pb = { PHR_KEYSTORE_PBKDF2, 0, 0, 0, 2 };
	uint8_t key[32], got[32];
	char *js = NULL;
	int rc;

	memset(key, 7, 32);
	for (long n = 1;; n++) {
		phr_alloc_fail_at(n);
		rc = phr_keystore_encrypt(&js, key, "pw", 2, &pb);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK)
			break;
		assert_int_equal(rc, PHR_ERR_NOMEM);
		assert_null(js);
		assert_true(n < 50);
	}
	assert_int_equal(phr_keystore_decrypt_json(got, js, strlen(js), "pw", 2), PHR_OK);
	assert_memory_equal(got, key, 32);
	phr_free(js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethereum_keystore_tests), cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_pbkdf2_vectors),          cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_address_mismatch),  cmocka_unit_test(test_alloc_failures),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
