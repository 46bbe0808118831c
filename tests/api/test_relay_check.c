/*
 * The relay's checks (phr_api_tx_check) on transactions signed by a third
 * party (Foundry's cast, tests/vectors/relay): accepted ones keep cast's hash
 * and signer, and the sensitive calls are flagged for the second factor;
 * another chain, a value, too much gas, a foreign contract or the governance
 * key are refused; so are another caller, a flipped signature byte, truncated
 * and oversized input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "phr/api_tx.h"
#include "phr/json.h"

static const uint8_t caller[20] = { 0xf3, 0x9f, 0xd6, 0xe5, 0x1a, 0xad, 0x88, 0xf6, 0xf4, 0xce,
				    0x6a, 0xb8, 0x82, 0x72, 0x79, 0xcf, 0xff, 0xb9, 0x22, 0x66 };

static void deployment(struct phr_deployment *d)
{
	memset(d, 0, sizeof(*d));
	d->chain_id = 31337;
	memset(d->governance, 0x77, 20);
	memset(d->registry, 0x11, 20);
	memset(d->emergency, 0x22, 20);
	memset(d->providers, 0x33, 20);
	memset(d->audit, 0x44, 20);
	memset(d->nft, 0x55, 20);
	memset(d->recovery, 0x66, 20);
}

static json_t *vectors(void)
{
	char path[1024];
	const char *root = getenv("PHR_SOURCE_DIR");
	json_t *j;

	snprintf(path, sizeof(path), "%s/tests/vectors/relay/txs.json", root ? root : ".");
	j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_true(json_array_size(j) >= 10);
	return j;
}

static size_t unhex(uint8_t *out, size_t cap, const char *h)
{
	size_t n = (strlen(h) - 2) / 2;

	assert_true(n <= cap);
	assert_int_equal(phr_hex_decode_exact(out, n, h), PHR_OK);
	return n;
}

static void test_vectors(void **state)
{
	static uint8_t raw[4096];
	struct phr_deployment d;
	json_t *all = vectors(), *v;
	size_t i;

	(void)state;
	deployment(&d);
	json_array_foreach(all, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *expect = json_string_value(json_object_get(v, "expect"));
		struct phr_api_tx_info info;
		uint8_t hash[32];
		size_t n = unhex(raw, sizeof(raw), json_string_value(json_object_get(v, "raw")));
		int want = strcmp(expect, "ok") == 0	     ? PHR_OK
			   : strcmp(expect, "invalid") == 0 ? PHR_ERR_INVALID
							     : PHR_ERR_FORBIDDEN;
		int got = phr_api_tx_check(&info, &d, caller, raw, n);

		if (got != want)
			fail_msg("%s: %s, want %s", name, phr_strerror(got), expect);
		if (got != PHR_OK)
			continue;
		unhex(hash, sizeof(hash), json_string_value(json_object_get(v, "hash")));
		assert_memory_equal(info.hash, hash, 32);
		assert_memory_equal(info.from, caller, 20);
		if (info.needs_totp != json_is_true(json_object_get(v, "needsTotp")) ||
		    info.totp_if_enrolled != json_is_true(json_object_get(v, "totpIfEnrolled")))
			fail_msg("%s: second factor flags %d %d", name, info.needs_totp,
				 info.totp_if_enrolled);
	}
	json_decref(all);
}

static void test_refusals(void **state)
{
	static uint8_t raw[4096], big[PHR_API_TX_MAX_BYTES + 1];
	struct phr_deployment d;
	struct phr_api_tx_info info;
	uint8_t other[20];
	json_t *all = vectors();
	size_t n = unhex(raw, sizeof(raw),
			 json_string_value(json_object_get(json_array_get(all, 0), "raw")));
	int rv;

	(void)state;
	deployment(&d);
	assert_int_equal(phr_api_tx_check(&info, &d, caller, raw, n), PHR_OK);
	/* another signed-in caller */
	memcpy(other, caller, 20);
	other[19] ^= 1;
	assert_int_equal(phr_api_tx_check(&info, &d, other, raw, n), PHR_ERR_FORBIDDEN);
	/* the same transaction on a deployment of another chain */
	d.chain_id = 1;
	assert_int_equal(phr_api_tx_check(&info, &d, caller, raw, n), PHR_ERR_INVALID);
	deployment(&d);
	/* a flipped byte of s: another signer, or no signer at all */
	raw[n - 5] ^= 0x40;
	rv = phr_api_tx_check(&info, &d, caller, raw, n);
	assert_true(rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_SIGNATURE);
	raw[n - 5] ^= 0x40;
	/* every truncation */
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(phr_api_tx_check(&info, &d, caller, raw, k), PHR_OK);
	assert_int_equal(phr_api_tx_check(&info, &d, caller, big, sizeof(big)), PHR_ERR_TOO_LARGE);
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
