/*
 * Paper keys: BIP-39 encoding of 32-byte keys against the reference vectors
 * (tests/vectors/bip39), round trips, checksum and word errors; Shamir share
 * lines: every t-subset gives the key back, fewer or mixed shares and a
 * wrong word are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/paperkey.h"
#include "phr/crypto.h"

static void test_vectors(void **state)
{
	json_t *v = json_load_file("tests/vectors/bip39/vectors.json", 0, NULL), *e;
	size_t i;

	(void)state;
	assert_non_null(v);
	assert_int_equal(json_array_size(v), 6);
	json_array_foreach(v, i, e) {
		uint8_t ent[32], back[32];
		char words[PHR_PAPERKEY_WORDS_MAX];
		assert_int_equal(phr_hex_decode_exact(ent, 32, json_string_value(json_array_get(e, 0))),
				 PHR_OK);
		assert_int_equal(phr_cli_bip39_encode(words, ent), 0);
		assert_string_equal(words, json_string_value(json_array_get(e, 1)));
		assert_int_equal(phr_cli_bip39_decode(back, words), 0);
		assert_memory_equal(back, ent, 32);
	}
	json_decref(v);
}

static void test_errors(void **state)
{
	uint8_t ent[32];
	char words[PHR_PAPERKEY_WORDS_MAX], bad[PHR_PAPERKEY_WORDS_MAX + 16];

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	randombytes_buf(ent, sizeof(ent));
	assert_int_equal(phr_cli_bip39_encode(words, ent), 0);
	/* the last word carries the checksum: another valid word there fails it (mostly) */
	snprintf(bad, sizeof(bad), "%.*s zoo", (int)(strrchr(words, ' ') - words), words);
	if (strcmp(strrchr(words, ' ') + 1, "zoo") != 0)
		assert_true(phr_cli_bip39_decode(ent, bad) != 0);
	assert_int_equal(phr_cli_bip39_decode(ent, "abandon abandon"), -1);
	snprintf(bad, sizeof(bad), "%s xylophon", words);
	assert_int_equal(phr_cli_bip39_decode(ent, bad), -1);
	snprintf(bad, sizeof(bad), "%s", words);
	memcpy(bad, "qqqq", 4);
	assert_int_equal(phr_cli_bip39_decode(ent, bad), -1);
	/* extra blanks and newlines are fine */
	snprintf(bad, sizeof(bad), "  %s \n", words);
	assert_int_equal(phr_cli_bip39_decode(ent, bad), 0);
}

static void test_shares(void **state)
{
	uint8_t sk[32], back[32];
	char text[16 * PHR_PAPERKEY_LINE_MAX], pick[40 * PHR_PAPERKEY_LINE_MAX];
	char *line[5];
	unsigned ok = 0;

	(void)state;
	assert_int_equal(phr_secp256k1_keygen(sk), PHR_OK);
	assert_int_equal(phr_cli_paperkey_split(text, sizeof(text), sk, 3, 5), 0);
	assert_non_null(strstr(text, "phr-share 3-of-5 #1 id="));
	line[0] = text;
	for (int i = 1; i < 5; i++) {
		line[i] = strchr(line[i - 1], '\n') + 1;
		line[i][-1] = '\0';
	}
	*strchr(line[4], '\n') = '\0';
	for (unsigned m = 1; m < 32; m++) {
		size_t k = 0, n = 0;
		for (unsigned i = 0; i < 5; i++)
			if (m & (1u << i)) {
				k += (size_t)snprintf(pick + k, sizeof(pick) - k, "%s\n", line[i]);
				n++;
			}
		memset(back, 0, 32);
		if (n < 3) {
			assert_int_equal(phr_cli_paperkey_combine(back, pick), -3);
			continue;
		}
		assert_int_equal(phr_cli_paperkey_combine(back, pick), 0);
		assert_memory_equal(back, sk, 32);
		ok++;
	}
	assert_int_equal(ok, 16);
	/* a duplicated share, a share of another key, a wrong word */
	snprintf(pick, sizeof(pick), "%s\n%s\n%s\n", line[0], line[0], line[1]);
	assert_int_equal(phr_cli_paperkey_combine(back, pick), -3);
	{
		uint8_t sk2[32];
		char other[16 * PHR_PAPERKEY_LINE_MAX];
		assert_int_equal(phr_secp256k1_keygen(sk2), PHR_OK);
		assert_int_equal(phr_cli_paperkey_split(other, sizeof(other), sk2, 3, 5), 0);
		*strchr(other, '\n') = '\0';
		snprintf(pick, sizeof(pick), "%s\n%s\n%s\n", line[0], line[1], other);
		assert_int_equal(phr_cli_paperkey_combine(back, pick), -3);
		/* the same id forged onto another key's share: the result does not match the id */
		memcpy(strstr(other, "id=") + 3, strstr(line[0], "id=") + 3, 8);
		memcpy(strchr(other, '#') + 1, "4", 1);
		snprintf(pick, sizeof(pick), "%s\n%s\n%s\n", line[0], line[1], other);
		assert_true(phr_cli_paperkey_combine(back, pick) < 0);
	}
	snprintf(pick, sizeof(pick), "%s\n%s\n%s\n", line[0], line[1], line[2]);
	memcpy(strstr(pick, ": ") + 2, "zzzz", 4);
	assert_int_equal(phr_cli_paperkey_combine(back, pick), -1);
	assert_int_equal(phr_cli_paperkey_combine(back, "phr-share 9-of-3 #1 id=00000000: abandon"), -1);
	assert_int_equal(phr_cli_paperkey_split(text, sizeof(text), sk, 1, 5), -1);
	assert_int_equal(phr_cli_paperkey_split(text, 100, sk, 2, 5), -1);
	sodium_memzero(sk, sizeof(sk));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shares),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
