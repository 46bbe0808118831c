/*
 * Transactions: every ethereum/tests TransactionTests case under its Cancun
 * entry (or the newest fork listed when a file has none), plus the EIP-155
 * example and sign/recover round trips for every type.
 */
#include <glob.h>
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
#include "phr/tx.h"

static const char *const FORKS[] = { "Cancun", "Shanghai", "Paris", "London" };

static void test_fixtures(void **state)
{
	(void)state;
	glob_t g;
	assert_int_equal(glob("tests/vectors/transaction/*/*.json", 0, NULL, &g), 0);
	int valid = 0, rejected = 0, fallback = 0, failures = 0;
	for (size_t fi = 0; fi < g.gl_pathc; fi++) {
		json_t *root = eth_test_load_json(g.gl_pathv[fi]);
		const char *name;
		json_t *tc;
		json_object_foreach(root, name, tc) {
			json_t *res = json_object_get(tc, "result"), *r = NULL;
			for (size_t k = 0; k < PHR_ARRAY_LEN(FORKS) && !r; k++) {
				r = json_object_get(res, FORKS[k]);
				if (r && k > 0)
					fallback++;
			}
			assert_non_null(r);
			size_t len;
			uint8_t *raw = eth_test_unhex(json_string_value(json_object_get(tc, "txbytes")), &len);
			struct phr_tx tx;
			uint8_t sender[20];
			int rc = raw ? phr_tx_decode(&tx, raw, len) : PHR_ERR_PARSE;
			if (rc == PHR_OK)
				rc = phr_tx_validate(sender, &tx, 1);
			json_t *exc = json_object_get(r, "exception");
			if (exc) {
				if (rc == PHR_OK) {
					print_error("%s/%s: accepted, expected %s\n", g.gl_pathv[fi], name,
						    json_string_value(exc));
					failures++;
				} else {
					if (getenv("ETH_TEST_VERBOSE"))
						print_message("%s %s -> %s\n", name, json_string_value(exc), phr_err_name(rc));
					rejected++;
				}
			} else if (rc != PHR_OK) {
				print_error("%s/%s: rejected (%s)\n", g.gl_pathv[fi], name, phr_err_name(rc));
				failures++;
			} else {
				uint8_t want[32], hash[32];
				uint64_t ig;
				char *end;
				assert_int_equal(phr_hex_decode_exact(want, 20, json_string_value(json_object_get(r, "sender"))), PHR_OK);
				assert_memory_equal(sender, want, 20);
				assert_int_equal(phr_hex_decode_exact(want, 32, json_string_value(json_object_get(r, "hash"))), PHR_OK);
				assert_int_equal(phr_tx_hash(hash, &tx), PHR_OK);
				assert_memory_equal(hash, want, 32);
				assert_int_equal(phr_tx_intrinsic_gas(&ig, &tx), PHR_OK);
				const char *igs = json_string_value(json_object_get(r, "intrinsicGas"));
				assert_int_equal(ig, strtoull(igs, &end, 16));
				/* the encoder reproduces the canonical bytes */
				struct phr_buf b;
				phr_buf_init(&b, 0);
				assert_int_equal(phr_tx_encode(&b, &tx), PHR_OK);
				assert_int_equal(b.len, len);
				assert_memory_equal(b.data, raw, len);
				phr_buf_release(&b);
				valid++;
			}
			phr_tx_release(&tx); /* safe after a failed decode too: tx owns nothing */
			free(raw);
		}
		json_decref(root);
	}
	globfree(&g);
	print_message("TransactionTests: %d valid checked, %d invalid rejected (%d cases without a Cancun entry used the newest fork), %d failures\n",
		      valid, rejected, fallback, failures);
	assert_int_equal(failures, 0);
	assert_int_equal(valid + rejected, 210);
}

static const uint8_t KEY46[32] = {
	0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
	0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46
};

/* The worked example in EIP-155. */
static void test_eip155_example(void **state)
{
	(void)state;
	struct phr_tx tx;
	uint8_t hash[32], want[32];
	phr_tx_init(&tx);
	tx.has_chain_id = true;
	tx.chain_id = 1;
	tx.nonce = 9;
	tx.gas_price = phr_u256_from_u64(20000000000ull);
	tx.gas_limit = 21000;
	tx.has_to = true;
	memset(tx.to, 0x35, 20);
	tx.value = phr_u256_from_u64(1000000000000000000ull);
	assert_int_equal(phr_tx_signing_hash(hash, &tx), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(want, 32, "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"), PHR_OK);
	assert_memory_equal(hash, want, 32);
	assert_int_equal(phr_tx_sign(&tx, KEY46), PHR_OK);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_tx_encode(&b, &tx), PHR_OK);
	const char *exp = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";
	size_t n;
	uint8_t *e = eth_test_unhex(exp, &n);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, e, n);
	free(e);
	phr_buf_release(&b);
	uint8_t addr[20], me[20];
	assert_int_equal(phr_tx_sender(addr, &tx), PHR_OK);
	assert_int_equal(phr_eth_address_from_seckey(me, KEY46), PHR_OK);
	assert_memory_equal(addr, me, 20);
	phr_tx_release(&tx);
}

static void test_roundtrip_types(void **state)
{
	(void)state;
	for (int type = 0; type <= 3; type++) {
		struct phr_tx tx, back;
		uint8_t addr[20], me[20], key[2][32];
		phr_tx_init(&tx);
		tx.type = (enum phr_tx_type)type;
		tx.has_chain_id = true;
		tx.chain_id = 1337;
		tx.nonce = 5;
		tx.gas_price = phr_u256_from_u64(7);
		tx.max_priority_fee = phr_u256_from_u64(2);
		tx.max_fee = phr_u256_from_u64(100);
		tx.gas_limit = 100000;
		tx.has_to = true;
		memset(tx.to, 0xab, 20);
		tx.value = phr_u256_from_u64(12345);
		assert_int_equal(phr_tx_set_data(&tx, (const uint8_t *)"\x00\x01\x02", 3), PHR_OK);
		if (type > 0) {
			memset(key, 0x11, sizeof(key));
			assert_int_equal(phr_tx_add_access(&tx, tx.to, (const uint8_t(*)[32])key, 2), PHR_OK);
			assert_int_equal(phr_tx_add_access(&tx, tx.to, NULL, 0), PHR_OK);
		}
		if (type == 3) {
			tx.blob_hashes = calloc(1, 32);
			tx.blob_hashes[0][0] = 1;
			tx.n_blob_hashes = 1;
			tx.max_fee_per_blob_gas = phr_u256_from_u64(3);
		}
		assert_int_equal(phr_tx_sign(&tx, KEY46), PHR_OK);
		struct phr_buf b;
		phr_buf_init(&b, 0);
		assert_int_equal(phr_tx_encode(&b, &tx), PHR_OK);
		assert_int_equal(phr_tx_decode(&back, b.data, b.len), PHR_OK);
		assert_int_equal(back.type, type);
		assert_int_equal(back.chain_id, 1337);
		assert_int_equal(back.n_access, type > 0 ? 2 : 0);
		assert_int_equal(phr_tx_sender(addr, &back), PHR_OK);
		assert_int_equal(phr_eth_address_from_seckey(me, KEY46), PHR_OK);
		assert_memory_equal(addr, me, 20);
		uint64_t ig;
		assert_int_equal(phr_tx_intrinsic_gas(&ig, &back), PHR_OK);
		assert_int_equal(ig, 21000 + 4 + 16 + 16 + (type > 0 ? 2 * 2400 + 2 * 1900 : 0));
		assert_int_equal(phr_tx_validate(NULL, &back, 1337), type == 3 ? PHR_ERR_UNSUPPORTED : PHR_OK);
		assert_int_equal(phr_tx_validate(NULL, &back, 1), type == 3 ? PHR_ERR_UNSUPPORTED : PHR_ERR_INVALID);
		/* high-s is rejected: s' = n - s recovers another key but must fail */
		struct phr_u256 n, hs;
		uint8_t nb[32];
		assert_int_equal(phr_hex_decode_exact(nb, 32, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"), PHR_OK);
		phr_u256_from_be(&n, nb);
		(void)phr_u256_sub(&hs, &n, &back.s);
		back.s = hs;
		assert_int_equal(phr_tx_sender(addr, &back), PHR_ERR_SIGNATURE);
		/* every truncation of the encoding is rejected */
		for (size_t cut = 0; cut < b.len; cut++) {
			struct phr_tx t2;
			assert_int_not_equal(phr_tx_decode(&t2, b.data, cut), PHR_OK);
		}
		phr_buf_release(&b);
		phr_tx_release(&back);
		phr_tx_release(&tx);
	}
}

static void test_bad_inputs(void **state)
{
	(void)state;
	struct phr_tx tx;
	assert_int_equal(phr_tx_decode(&tx, (const uint8_t *)"\x04\xc0", 2), PHR_ERR_UNSUPPORTED);
	assert_int_equal(phr_tx_decode(&tx, (const uint8_t *)"\x02\xc0", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_tx_decode(&tx, (const uint8_t *)"\x80", 1), PHR_ERR_PARSE);
	assert_int_equal(phr_tx_decode(&tx, NULL, 0), PHR_ERR_TRUNCATED);
	/* allocation failures while decoding leave nothing behind */
	size_t n;
	uint8_t *raw = eth_test_unhex("01f8a587796f6c6f76337880843b9aca008262d494df0a88b2b68c673713a8ec826003676f272e35730180f838f7940000000000000000000000000000000000000001e1a0000000000000000000000000000000000000000000000000000000000000010080a0e7c5ee8dd6a74e9cbeb9be1ebd7c1e7ab7a4f7ea0bc7db0ba81fd5d7e3e2f5a9a040ccbe1c3b5ac7dee7ed5e48f8bbaf43f3e17e0bfb7fb0cb6c2a7ca34c5b6e8b", &n);
	assert_non_null(raw);
	assert_int_equal(phr_tx_decode(&tx, raw, n), PHR_OK);
	phr_tx_release(&tx);
	for (long k = 1; k < 8; k++) {
		phr_alloc_fail_at(k);
		int rc = phr_tx_decode(&tx, raw, n);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK)
			phr_tx_release(&tx);
		else
			assert_int_equal(rc, PHR_ERR_NOMEM);
	}
	free(raw);
}

/* to_json then from_json keeps everything that is signed. */
static void test_json(void **state)
{
	(void)state;
	for (int type = 0; type <= 2; type++) {
		struct phr_tx tx, back;
		uint8_t h1[32], h2[32], key[2][32];
		phr_tx_init(&tx);
		tx.type = (enum phr_tx_type)type;
		tx.has_chain_id = type > 0;
		tx.chain_id = type > 0 ? 5 : 0;
		tx.nonce = 77;
		tx.gas_price = phr_u256_from_u64(1000);
		tx.max_fee = phr_u256_from_u64(2000);
		tx.max_priority_fee = phr_u256_from_u64(3);
		tx.gas_limit = 90000;
		tx.has_to = type != 1;
		memset(tx.to, 0x42, 20);
		assert_int_equal(phr_u256_parse(&tx.value, "1000000000000000000000000"), 0);
		assert_int_equal(phr_tx_set_data(&tx, (const uint8_t *)"\xde\xad", 2), PHR_OK);
		if (type > 0) {
			memset(key, 0x33, sizeof(key));
			assert_int_equal(phr_tx_add_access(&tx, tx.to, (const uint8_t(*)[32])key, 2), PHR_OK);
		}
		assert_int_equal(phr_tx_sign(&tx, KEY46), PHR_OK);
		json_t *j = phr_tx_to_json(&tx);
		assert_non_null(j);
		assert_int_equal(phr_tx_from_json(&back, j), PHR_OK);
		assert_int_equal(phr_tx_signing_hash(h1, &tx), PHR_OK);
		assert_int_equal(phr_tx_signing_hash(h2, &back), PHR_OK);
		assert_memory_equal(h1, h2, 32);
		assert_int_equal(back.has_to, tx.has_to);
		json_decref(j);
		phr_tx_release(&back);
		phr_tx_release(&tx);
	}
	struct phr_tx tx;
	json_t *bad = json_pack("{ss}", "to", "0x1234");
	assert_int_equal(phr_tx_from_json(&tx, bad), PHR_ERR_INVALID);
	json_decref(bad);
	bad = json_pack("{si}", "type", 3);
	assert_int_equal(phr_tx_from_json(&tx, bad), PHR_ERR_UNSUPPORTED);
	json_decref(bad);
	bad = json_pack("{sisi}", "type", 2, "nonce", 1);
	assert_int_equal(phr_tx_from_json(&tx, bad), PHR_ERR_INVALID); /* typed needs chainId */
	json_decref(bad);
	bad = json_pack("{ss}", "data", "0x123");
	assert_int_equal(phr_tx_from_json(&tx, bad), PHR_ERR_INVALID);
	json_decref(bad);
}

static int setup(void **state)
{
	(void)state;
	return phr_crypto_init() == PHR_OK ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_eip155_example),
		cmocka_unit_test(test_roundtrip_types),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
