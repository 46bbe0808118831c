/*
 * Key shares of the recovery backup: make, parse, reseal, combine; every
 * t-subset recovers the secret; fewer, duplicated, mixed, tampered or
 * misaddressed shares are refused; the parser rejects malformed documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/recovery.h"

struct kp {
	uint8_t addr[20], pk[32], sk[32];
};

static void kp_make(struct kp *k, uint8_t tag)
{
	memset(k->addr, tag, 20);
	assert_int_equal(phr_crypto_box_keypair(k->pk, k->sk), PHR_OK);
}

static void parse_at(struct phr_recovery_share *sh, json_t *arr, size_t i)
{
	char *t = json_dumps(json_array_get(arr, i), JSON_COMPACT);

	assert_non_null(t);
	assert_int_equal(phr_recovery_share_parse(sh, t, strlen(t)), PHR_OK);
	free(t);
}

static void test_roundtrip(void **state)
{
	struct kp pat, me, h[5];
	struct phr_recovery_holder hs[5];
	struct phr_recovery_share sh[5], rel[5];
	uint8_t patient[20], sk[32];
	json_t *arr = NULL;
	unsigned subsets = 0;

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	memset(patient, 0x11, 20);
	kp_make(&pat, 1);
	kp_make(&me, 2);
	for (int i = 0; i < 5; i++) {
		kp_make(&h[i], (uint8_t)(10 + i));
		memcpy(hs[i].address, h[i].addr, 20);
		memcpy(hs[i].box_pk, h[i].pk, 32);
	}
	/* the secret must match the public key; t and n in range */
	assert_int_equal(phr_recovery_shares_make(&arr, patient, patient, me.pk, pat.sk, hs, 5, 3),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_recovery_shares_make(&arr, patient, patient, pat.pk, pat.sk, hs, 5, 1),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_recovery_shares_make(&arr, patient, patient, pat.pk, pat.sk, hs, 2, 3),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_recovery_shares_make(&arr, patient, patient, pat.pk, pat.sk, hs, 5, 3),
			 PHR_OK);
	assert_int_equal(json_array_size(arr), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *again;
		char *a, *b;
		parse_at(&sh[i], arr, i);
		assert_int_equal(sh[i].index, i + 1);
		assert_int_equal(sh[i].threshold, 3);
		assert_memory_equal(sh[i].to, h[i].addr, 20);
		/* the document round-trips */
		again = phr_recovery_share_json(&sh[i]);
		a = json_dumps(again, JSON_COMPACT | JSON_SORT_KEYS);
		b = json_dumps(json_array_get(arr, i), JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(again);
		/* only its holder can reseal it */
		assert_int_equal(phr_recovery_share_reseal(&rel[i], &sh[i], me.pk, me.sk, me.addr, me.pk),
				 PHR_ERR_TAMPERED);
		assert_int_equal(phr_recovery_share_reseal(&rel[i], &sh[i], h[i].pk, h[i].sk, me.addr,
							   me.pk),
				 PHR_OK);
	}
	/* every 3-subset recovers the secret; every 2-subset is refused */
	for (unsigned m = 0; m < 32; m++) {
		struct phr_recovery_share pick[5];
		size_t k = 0;
		for (unsigned i = 0; i < 5; i++)
			if (m & (1u << i))
				pick[k++] = rel[i];
		if (k == 0)
			continue;
		memset(sk, 0, 32);
		if (k < 3) {
			assert_int_equal(phr_recovery_shares_combine(sk, pick, k, me.pk, me.sk),
					 PHR_ERR_INVALID);
			continue;
		}
		assert_int_equal(phr_recovery_shares_combine(sk, pick, k, me.pk, me.sk), PHR_OK);
		assert_memory_equal(sk, pat.sk, 32);
		subsets++;
	}
	assert_int_equal(subsets, 16); /* C(5,3)+C(5,4)+C(5,5) */
	/* a forged share (right MAC, wrong y) yields a secret that does not match pk */
	{
		struct phr_recovery_share f3[3] = { rel[0], rel[1], rel[2] };
		uint8_t plain[33];
		assert_int_equal(crypto_box_seal_open(plain, rel[2].sealed, sizeof(rel[2].sealed), me.pk,
						      me.sk),
				 0);
		plain[5] ^= 0x40;
		assert_int_equal(crypto_box_seal(f3[2].sealed, plain, 33, me.pk), 0);
		assert_int_equal(phr_recovery_shares_combine(sk, f3, 3, me.pk, me.sk), PHR_ERR_CRYPTO);
		/* a share with another x than its index */
		plain[5] ^= 0x40;
		plain[0] = 4;
		assert_int_equal(crypto_box_seal(f3[2].sealed, plain, 33, me.pk), 0);
		assert_int_equal(phr_recovery_shares_combine(sk, f3, 3, me.pk, me.sk), PHR_ERR_TAMPERED);
		/* mixed backups */
		f3[2] = rel[2];
		f3[2].pk[0] ^= 1;
		assert_int_equal(phr_recovery_shares_combine(sk, f3, 3, me.pk, me.sk), PHR_ERR_INVALID);
	}
	json_decref(arr);
	sodium_memzero(pat.sk, 32);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "null", "{\"format\":\"phr-recovery-share/2\"}",
		"{\"format\":\"phr-recovery-share/1\"}",
	};
	struct phr_recovery_share sh;
	json_t *o;
	char *good, *t;
	struct kp k;
	uint8_t patient[20];
	struct phr_recovery_holder hs[2];
	json_t *arr = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(phr_recovery_share_parse(&sh, bad[i], strlen(bad[i])), PHR_OK);
	assert_int_equal(phr_recovery_share_parse(&sh, bad[4], strlen(bad[4])), PHR_ERR_UNSUPPORTED);
	memset(patient, 7, 20);
	kp_make(&k, 3);
	for (int i = 0; i < 2; i++) {
		memset(hs[i].address, 0x20 + i, 20);
		memcpy(hs[i].box_pk, k.pk, 32);
	}
	assert_int_equal(phr_recovery_shares_make(&arr, patient, patient, k.pk, k.sk, hs, 2, 2),
			 PHR_OK);
	good = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
	assert_int_equal(phr_recovery_share_parse(&sh, good, strlen(good)), PHR_OK);
	/* each member removed or mistyped */
	{
		static const char *const keys[] = { "format", "patient", "owner", "pk", "index",
						    "threshold", "shares", "to", "toKey", "sealed" };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			o = json_deep_copy(json_array_get(arr, 0));
			json_object_del(o, keys[i]);
			t = json_dumps(o, JSON_COMPACT);
			assert_int_not_equal(phr_recovery_share_parse(&sh, t, strlen(t)), PHR_OK);
			free(t);
			json_object_set_new(o, keys[i], json_array());
			t = json_dumps(o, JSON_COMPACT);
			assert_int_not_equal(phr_recovery_share_parse(&sh, t, strlen(t)), PHR_OK);
			free(t);
			json_decref(o);
		}
	}
	/* inconsistent numbers */
	o = json_deep_copy(json_array_get(arr, 0));
	json_object_set_new(o, "index", json_integer(3));
	t = json_dumps(o, JSON_COMPACT);
	assert_int_equal(phr_recovery_share_parse(&sh, t, strlen(t)), PHR_ERR_INVALID);
	free(t);
	json_object_set_new(o, "index", json_integer(1));
	json_object_set_new(o, "threshold", json_integer(1));
	t = json_dumps(o, JSON_COMPACT);
	assert_int_equal(phr_recovery_share_parse(&sh, t, strlen(t)), PHR_ERR_INVALID);
	free(t);
	json_decref(o);
	/* short sealed box */
	o = json_deep_copy(json_array_get(arr, 0));
	json_object_set_new(o, "sealed", json_string("0x00"));
	t = json_dumps(o, JSON_COMPACT);
	assert_int_equal(phr_recovery_share_parse(&sh, t, strlen(t)), PHR_ERR_PARSE);
	free(t);
	json_decref(o);
	free(good);
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
