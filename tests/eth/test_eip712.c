/* EIP-191 personal_sign and EIP-712: the EIP's Mail example, ethers-made digests, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth_test_util.h"
#include "phr/crypto.h"
#include "phr/eip712.h"

static void hex32(uint8_t out[32], const json_t *j)
{
	assert_int_equal(phr_hex_decode_exact(out, 32, json_string_value(j)), PHR_OK);
}

static void test_mail(void **state)
{
	(void)state;
	json_t *v = eth_test_load_json("tests/vectors/eip712/mail.json");
	json_t *td = json_object_get(v, "typedData");
	uint8_t got[32], want[32], key[32], sig[65], addr[20], wa[20];
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_eip712_encode_type(&b, json_object_get(td, "types"), "Mail"), PHR_OK);
	assert_string_equal((const char *)b.data, json_string_value(json_object_get(v, "encodeType")));
	phr_buf_release(&b);
	assert_int_equal(phr_eip712_domain_separator(got, td), PHR_OK);
	hex32(want, json_object_get(v, "domainSeparator"));
	assert_memory_equal(got, want, 32);
	assert_int_equal(phr_eip712_hash_struct(got, json_object_get(td, "types"), "Mail",
						json_object_get(td, "message")), PHR_OK);
	hex32(want, json_object_get(v, "hashStruct"));
	assert_memory_equal(got, want, 32);
	assert_int_equal(phr_eip712_hash(got, td), PHR_OK);
	hex32(want, json_object_get(v, "hash"));
	assert_memory_equal(got, want, 32);
	/* signature with keccak256("cow") */
	phr_keccak256(key, "cow", 3);
	assert_int_equal(phr_eip712_sign(sig, td, key), PHR_OK);
	uint8_t r[32], s[32];
	hex32(r, json_object_get(v, "r"));
	hex32(s, json_object_get(v, "s"));
	assert_memory_equal(sig, r, 32);
	assert_memory_equal(sig + 32, s, 32);
	assert_int_equal(sig[64], json_integer_value(json_object_get(v, "v")));
	assert_int_equal(phr_eip712_recover(addr, td, sig), PHR_OK);
	assert_int_equal(phr_eth_address_parse(wa, json_string_value(json_object_get(v, "signer"))), PHR_OK);
	assert_memory_equal(addr, wa, 20);
	/* the JSON text entry point agrees */
	char *text = json_dumps(td, JSON_COMPACT);
	assert_int_equal(phr_eip712_hash_json(got, text, strlen(text)), PHR_OK);
	assert_memory_equal(got, want, 32);
	assert_int_equal(phr_eip712_hash_json(got, text, strlen(text) - 1), PHR_ERR_PARSE);
	free(text);
	/* a changed message changes the signer */
	json_object_set_new(json_object_get(td, "message"), "contents", json_string("Hello, Bob?"));
	assert_int_equal(phr_eip712_recover(addr, td, sig), PHR_OK);
	assert_memory_not_equal(addr, wa, 20);
	json_decref(v);
}

static void test_ethers_cases(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/eip712/ethers_cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(root, i, c) {
		uint8_t got[32], want[32];
		json_t *td = json_object_get(c, "typedData");
		assert_int_equal(phr_eip712_domain_separator(got, td), PHR_OK);
		hex32(want, json_object_get(c, "domainSeparator"));
		assert_memory_equal(got, want, 32);
		assert_int_equal(phr_eip712_hash(got, td), PHR_OK);
		hex32(want, json_object_get(c, "hash"));
		assert_memory_equal(got, want, 32);
	}
	assert_int_equal(i, 3);
	json_decref(root);
}

static void test_bad_typed_data(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/eip712/ethers_cases.json");
	json_t *td = json_deep_copy(json_object_get(json_array_get(root, 1), "typedData"));
	json_t *msg = json_object_get(td, "message");
	uint8_t h[32];
	assert_int_equal(phr_eip712_hash(h, td), PHR_OK);
	/* fixed array of the wrong length */
	json_t *pair = json_deep_copy(json_object_get(msg, "pair"));
	json_array_remove(json_object_get(msg, "pair"), 0);
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_INVALID);
	json_object_set_new(msg, "pair", pair);
	assert_int_equal(phr_eip712_hash(h, td), PHR_OK);
	/* out-of-range uint8, bad bytes4 length, missing field, unknown primary type */
	json_t *leaf = json_array_get(json_object_get(msg, "children"), 0);
	json_object_set_new(leaf, "value", json_string("256"));
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_INVALID);
	json_object_set_new(leaf, "value", json_string("1"));
	json_object_set_new(leaf, "tag", json_string("0x0102"));
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_INVALID);
	json_object_set_new(leaf, "tag", json_string("0x01020304"));
	json_object_del(msg, "label");
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_INVALID);
	json_object_set_new(msg, "label", json_string("root"));
	json_object_set_new(td, "primaryType", json_string("Nope"));
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_INVALID);
	json_decref(td);
	/* a self-referencing type nested beyond the depth limit */
	td = json_pack("{s{s[{ssss}]s[{ssss}]}sss{ss}s{}}", "types", "EIP712Domain", "name", "name", "type",
		       "string", "T", "name", "t", "type", "T", "primaryType", "T", "domain", "name", "x", "message");
	json_t *m = json_object_get(td, "message");
	for (int i = 0; i < 40; i++) {
		json_t *inner = json_object();
		json_object_set_new(m, "t", inner);
		m = inner;
	}
	assert_int_equal(phr_eip712_hash(h, td), PHR_ERR_TOO_LARGE);
	json_decref(td);
	json_decref(root);
}

static void test_personal_sign(void **state)
{
	(void)state;
	uint8_t key[32], sig[65], addr[20], me[20], h[32], want[32];
	phr_keccak256(key, "cow", 3);
	assert_int_equal(phr_eth_address_from_seckey(me, key), PHR_OK);
	/* hash of "hello world" as in ethers' hashMessage documentation */
	phr_eip191_hash(h, "hello world", 11);
	assert_int_equal(phr_hex_decode_exact(want, 32, "d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68"), PHR_OK);
	assert_memory_equal(h, want, 32);
	assert_int_equal(phr_eip191_sign(sig, "hello world", 11, key), PHR_OK);
	assert_true(sig[64] == 27 || sig[64] == 28);
	assert_int_equal(phr_eip191_recover(addr, "hello world", 11, sig), PHR_OK);
	assert_memory_equal(addr, me, 20);
	/* v as 0/1 is accepted too */
	sig[64] -= 27;
	assert_int_equal(phr_eip191_recover(addr, "hello world", 11, sig), PHR_OK);
	assert_memory_equal(addr, me, 20);
	sig[64] = 29;
	assert_int_equal(phr_eip191_recover(addr, "hello world", 11, sig), PHR_ERR_SIGNATURE);
	sig[64] = 27;
	/* high s: s' = n - s */
	uint8_t n[32];
	assert_int_equal(phr_hex_decode_exact(n, 32, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"), PHR_OK);
	int borrow = 0;
	for (int i = 31; i >= 0; i--) {
		int d = n[i] - sig[32 + i] - borrow;
		borrow = d < 0;
		sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	assert_int_equal(phr_eip191_recover(addr, "hello world", 11, sig), PHR_ERR_SIGNATURE);
	memset(sig, 0, 64);
	assert_int_equal(phr_eip191_recover(addr, "hello world", 11, sig), PHR_ERR_SIGNATURE);
	/* the empty message */
	assert_int_equal(phr_eip191_sign(sig, "", 0, key), PHR_OK);
	assert_int_equal(phr_eip191_recover(addr, "", 0, sig), PHR_OK);
	assert_memory_equal(addr, me, 20);
}

static int setup(void **state)
{
	(void)state;
	return phr_crypto_init() == PHR_OK ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_ethers_cases),
		cmocka_unit_test(test_bad_typed_data),
		cmocka_unit_test(test_personal_sign),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
