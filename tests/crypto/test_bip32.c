/* BIP-39 seeds and BIP-32 derivation: BIP-32 test vector 1, the first BIP-39
 * vector's seed, and the well-known dev-chain mnemonic accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"
#include "phr/crypto.h"

static void unhex(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(phr_hex_decode_exact(out, n, hex), PHR_OK);
}

/* BIP-32 "Test vector 1": seed 000102...0f, private keys along m/0H/1/2H/2/1000000000 */
static void test_bip32_vector1(void **state)
{
	(void)state;
	static const struct {
		const char *path, *key;
	} v[] = {
		{ "m", "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35" },
		{ "m/0'", "edb2e14f9ee77d26dd93b4ecede8d16ed408ce149b6cd80b0715a2d911a0afea" },
		{ "m/0'/1", "3c6cb8d0f6a264c91ea8b5030fadaa8e538b020f0a387421a12de9319dc93368" },
		{ "m/0h/1/2h", "cbce0d719ecf7431d88e6a89fa1483e02e35092af60c042b1df2ff59fa424dca" },
		{ "m/0'/1/2'/2", "0f479245fb19a38a1954c5c7c0ebab2f9bdfd96a17563ef28a6a4b1a2a764ef4" },
		{ "m/0H/1/2H/2/1000000000", "471b76e389e528d6de6d816857e012c5455051cad6660850e58372a6c3e6e7c8" },
	};
	uint8_t seed[16], key[32], want[32];

	unhex(seed, 16, "000102030405060708090a0b0c0d0e0f");
	for (size_t i = 0; i < PHR_ARRAY_LEN(v); i++) {
		unhex(want, 32, v[i].key);
		assert_int_equal(phr_bip32_derive(key, seed, 16, v[i].path), PHR_OK);
		assert_memory_equal(key, want, 32);
	}
}

static void test_bip39_seed(void **state)
{
	(void)state;
	uint8_t seed[64], want[64];

	assert_int_equal(phr_bip39_seed(seed,
					"abandon abandon abandon abandon abandon abandon abandon "
					"abandon abandon abandon abandon about",
					"TREZOR"),
			 PHR_OK);
	unhex(want, 64, "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
	assert_memory_equal(seed, want, 64);
	assert_int_equal(phr_bip39_seed(seed, "", NULL), PHR_ERR_INVALID);
}

/* The accounts of the "test ... junk" mnemonic used by hardhat, anvil and
 * phr's --dev chain. */
static void test_dev_mnemonic(void **state)
{
	(void)state;
	const char *m = "test test test test test test test test test test test junk";
	uint8_t key[32], want[32], addr[20];
	char shown[43];

	assert_int_equal(phr_bip32_eth_key(key, m, 0), PHR_OK);
	unhex(want, 32, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
	assert_memory_equal(key, want, 32);
	assert_int_equal(phr_eth_address_from_seckey(addr, key), PHR_OK);
	phr_eth_address_checksum(shown, addr);
	assert_string_equal(shown, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
	assert_int_equal(phr_bip32_eth_key(key, m, 1), PHR_OK);
	assert_int_equal(phr_eth_address_from_seckey(addr, key), PHR_OK);
	phr_eth_address_checksum(shown, addr);
	assert_string_equal(shown, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
}

static void test_bad_paths(void **state)
{
	(void)state;
	uint8_t seed[16] = { 1 }, key[32];
	static const char *bad[] = { "", "n", "m/", "m//1", "m/1/", "m/x", "m/01", "m/2147483648",
				     "m/1''", "m/-1", "m/1 ", "/1", "m/99999999999" };

	for (size_t i = 0; i < PHR_ARRAY_LEN(bad); i++)
		assert_int_equal(phr_bip32_derive(key, seed, 16, bad[i]), PHR_ERR_PARSE);
	assert_int_equal(phr_bip32_derive(key, seed, 15, "m/0"), PHR_ERR_INVALID);
	assert_int_equal(phr_bip32_derive(key, seed, 65, "m/0"), PHR_ERR_INVALID);
	assert_int_equal(phr_bip32_derive(key, seed, 16, "m/2147483647'"), PHR_OK);
	assert_int_equal(phr_bip32_eth_key(key, "x", 0x80000000u), PHR_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bip32_vector1),
		cmocka_unit_test(test_bip39_seed),
		cmocka_unit_test(test_dev_mnemonic),
		cmocka_unit_test(test_bad_paths),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
