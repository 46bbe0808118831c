/* Merkle-Patricia trie: ethereum/tests TrieTests (roots, secure roots, order), plus unit cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phr/crypto.h"
#include "phr/rlp.h"
#include "phr/trie.h"

static json_t *load(const char *name)
{
	char path[512];
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/vectors/trie/%s", root ? root : ".", name);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* "0x..." is hex, anything else is the raw string (trietest.json convention). */
static uint8_t *bytes_of(const char *s, size_t *len, bool always_hex)
{
	size_t n = strlen(s);
	uint8_t *out = malloc(n + 1);
	assert_non_null(out);
	if (always_hex || (n >= 2 && s[0] == '0' && s[1] == 'x')) {
		assert_int_equal(phr_hex_decode(out, n + 1, len, s, n), PHR_OK);
	} else {
		memcpy(out, s, n);
		*len = n;
	}
	return out;
}

static void check_root(struct phr_trie *t, const char *want_hex)
{
	uint8_t want[32], got[32];
	assert_int_equal(phr_hex_decode_exact(want, 32, want_hex), PHR_OK);
	assert_int_equal(phr_trie_root(t, got), PHR_OK);
	assert_memory_equal(got, want, 32);
}

static void put_pair(struct phr_trie *t, json_t *k, json_t *v, bool hex)
{
	size_t kl, vl = 0;
	uint8_t *key = bytes_of(json_string_value(k), &kl, hex);
	uint8_t *val = NULL;
	if (json_is_string(v))
		val = bytes_of(json_string_value(v), &vl, hex);
	if (vl)
		assert_int_equal(phr_trie_put(t, key, kl, val, vl), PHR_OK);
	else
		assert_int_equal(phr_trie_delete(t, key, kl), PHR_OK);
	free(key);
	free(val);
}

/* Runs every case of a file: "in" is a list of [k, v] (ordered) or an object. */
static void run_file(const char *name, bool secure, bool hex)
{
	json_t *j = load(name);
	const char *tname;
	json_t *tc;
	size_t cases = 0;
	json_object_foreach(j, tname, tc) {
		struct phr_trie *t;
		assert_int_equal(phr_trie_new(&t, secure), PHR_OK);
		json_t *in = json_object_get(tc, "in");
		if (json_is_array(in)) {
			size_t i;
			json_t *pair;
			json_array_foreach(in, i, pair)
				put_pair(t, json_array_get(pair, 0), json_array_get(pair, 1), hex);
		} else {
			const char *k;
			json_t *v;
			json_object_foreach(in, k, v) {
				json_t *ks = json_string(k);
				put_pair(t, ks, v, hex);
				json_decref(ks);
			}
		}
		check_root(t, json_string_value(json_object_get(tc, "root")));
		phr_trie_free(t);
		cases++;
	}
	assert_true(cases > 0);
	json_decref(j);
}

static void test_trietest(void **state)
{
	(void)state;
	run_file("trietest.json", false, false);
}

static void test_trietest_secure(void **state)
{
	(void)state;
	run_file("trietest_secureTrie.json", true, false);
}

static void test_anyorder(void **state)
{
	(void)state;
	run_file("trieanyorder.json", false, false);
}

static void test_anyorder_secure(void **state)
{
	(void)state;
	run_file("trieanyorder_secureTrie.json", true, false);
}

static void test_hex_secure(void **state)
{
	(void)state;
	run_file("hex_encoded_securetrie_test.json", true, true);
}

/* In-order walk, checked against the successor/predecessor vectors. */
struct keylist {
	char keys[64][64];
	size_t n;
};

static int collect(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val,
		   size_t val_len)
{
	struct keylist *kl = ctx;
	assert_true(kl->n < 64 && key_len < 64);
	memcpy(kl->keys[kl->n], key, key_len);
	kl->keys[kl->n][key_len] = 0;
	assert_int_equal(val_len, key_len);
	assert_memory_equal(val, key, key_len);
	kl->n++;
	return 0;
}

static void test_nextprev(void **state)
{
	(void)state;
	json_t *j = load("trietestnextprev.json");
	const char *tname;
	json_t *tc;
	json_object_foreach(j, tname, tc) {
		struct phr_trie *t;
		assert_int_equal(phr_trie_new(&t, false), PHR_OK);
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(tc, "in"), i, k) {
			const char *s = json_string_value(k);
			assert_int_equal(phr_trie_put(t, (const uint8_t *)s, strlen(s),
						      (const uint8_t *)s, strlen(s)),
					 PHR_OK);
		}
		struct keylist kl = { .n = 0 };
		assert_int_equal(phr_trie_foreach(t, collect, &kl), PHR_OK);
		assert_int_equal(kl.n, phr_trie_count(t));
		json_t *row;
		json_array_foreach(json_object_get(tc, "tests"), i, row) {
			const char *key = json_string_value(json_array_get(row, 0));
			const char *prev = "", *next = "";
			for (size_t x = 0; x < kl.n; x++) {
				if (strcmp(kl.keys[x], key) < 0)
					prev = kl.keys[x];
				if (strcmp(kl.keys[x], key) > 0 && !*next)
					next = kl.keys[x];
			}
			assert_string_equal(prev, json_string_value(json_array_get(row, 1)));
			assert_string_equal(next, json_string_value(json_array_get(row, 2)));
		}
		phr_trie_free(t);
	}
	json_decref(j);
}

static void test_empty_and_get(void **state)
{
	(void)state;
	struct phr_trie *t;
	uint8_t root[32];
	assert_int_equal(phr_trie_new(&t, false), PHR_OK);
	assert_int_equal(phr_trie_root(t, root), PHR_OK);
	uint8_t h[32];
	phr_keccak256(h, "\x80", 1);
	assert_memory_equal(root, h, 32);
	assert_memory_equal(root, phr_trie_empty_root, 32);
	assert_int_equal(phr_trie_put(t, (const uint8_t *)"dog", 3, (const uint8_t *)"puppy", 5),
			 PHR_OK);
	assert_int_equal(phr_trie_put(t, (const uint8_t *)"doge", 4, (const uint8_t *)"coin", 4),
			 PHR_OK);
	const uint8_t *v;
	size_t vl;
	assert_int_equal(phr_trie_get(t, &v, &vl, (const uint8_t *)"dog", 3), PHR_OK);
	assert_int_equal(vl, 5);
	assert_memory_equal(v, "puppy", 5);
	assert_int_equal(phr_trie_get(t, &v, &vl, (const uint8_t *)"do", 2), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_trie_get(t, &v, &vl, (const uint8_t *)"doges", 5), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_trie_count(t), 2);
	assert_int_equal(phr_trie_delete(t, (const uint8_t *)"dog", 3), PHR_OK);
	assert_int_equal(phr_trie_delete(t, (const uint8_t *)"cat", 3), PHR_OK);
	assert_int_equal(phr_trie_count(t), 1);
	assert_int_equal(phr_trie_delete(t, (const uint8_t *)"doge", 4), PHR_OK);
	assert_int_equal(phr_trie_root(t, root), PHR_OK);
	assert_memory_equal(root, phr_trie_empty_root, 32);
	phr_trie_free(t);
}

/* Incremental roots must equal a rebuild from scratch after random updates. */
static void test_incremental_matches_rebuild(void **state)
{
	(void)state;
	struct phr_trie *a, *b;
	assert_int_equal(phr_trie_new(&a, true), PHR_OK);
	uint32_t x = 12345;
	uint8_t vals[300][8];
	bool live[300] = { false };
	for (int round = 0; round < 2000; round++) {
		x = x * 1103515245u + 12345u;
		unsigned k = (x >> 8) % 300;
		uint8_t key[4] = { (uint8_t)k, (uint8_t)(k >> 8), 0, 1 };
		if ((x >> 20) % 4 == 0) {
			assert_int_equal(phr_trie_delete(a, key, 4), PHR_OK);
			live[k] = false;
		} else {
			memcpy(vals[k], &x, 4);
			memcpy(vals[k] + 4, &round, 4);
			assert_int_equal(phr_trie_put(a, key, 4, vals[k], 8), PHR_OK);
			live[k] = true;
		}
		if (round % 97 == 0) {
			uint8_t r1[32], r2[32];
			assert_int_equal(phr_trie_root(a, r1), PHR_OK);
			assert_int_equal(phr_trie_new(&b, true), PHR_OK);
			for (unsigned i = 0; i < 300; i++) {
				uint8_t kk[4] = { (uint8_t)i, (uint8_t)(i >> 8), 0, 1 };
				if (live[i])
					assert_int_equal(phr_trie_put(b, kk, 4, vals[i], 8), PHR_OK);
			}
			assert_int_equal(phr_trie_root(b, r2), PHR_OK);
			assert_memory_equal(r1, r2, 32);
			phr_trie_free(b);
		}
	}
	phr_trie_free(a);
}

/* A proof's first node hashes to the root and each next node's hash appears in its parent. */
static void test_proof(void **state)
{
	(void)state;
	struct phr_trie *t;
	assert_int_equal(phr_trie_new(&t, true), PHR_OK);
	for (uint32_t i = 0; i < 500; i++) {
		uint8_t v[40];
		memset(v, (int)i, sizeof(v));
		assert_int_equal(phr_trie_put(t, (const uint8_t *)&i, 4, v, sizeof(v)), PHR_OK);
	}
	uint8_t root[32];
	assert_int_equal(phr_trie_root(t, root), PHR_OK);
	uint32_t key = 77;
	struct phr_buf *nodes;
	size_t count;
	assert_int_equal(phr_trie_prove(t, &nodes, &count, (const uint8_t *)&key, 4), PHR_OK);
	assert_true(count >= 2);
	uint8_t h[32];
	phr_keccak256(h, nodes[0].data, nodes[0].len);
	assert_memory_equal(h, root, 32);
	for (size_t i = 1; i < count; i++) {
		phr_keccak256(h, nodes[i].data, nodes[i].len);
		bool found = false;
		for (size_t o = 0; o + 32 <= nodes[i - 1].len; o++)
			found = found || memcmp(nodes[i - 1].data + o, h, 32) == 0;
		assert_true(found);
	}
	/* the last node holds the value */
	uint8_t v[40];
	memset(v, 77, sizeof(v));
	bool has_val = false;
	for (size_t o = 0; o + 40 <= nodes[count - 1].len; o++)
		has_val = has_val || memcmp(nodes[count - 1].data + o, v, 40) == 0;
	assert_true(has_val);
	for (size_t i = 0; i < count; i++)
		phr_buf_release(&nodes[i]);
	phr_free(nodes);
	phr_trie_free(t);
}

/* The receipts/transactions root of an empty and a one-item list. */
static void test_ordered(void **state)
{
	(void)state;
	uint8_t root[32];
	assert_int_equal(phr_trie_ordered_root(root, NULL, NULL, 0), PHR_OK);
	assert_memory_equal(root, phr_trie_empty_root, 32);
	/* 200 items: must equal a plain trie with rlp(i) keys built by hand */
	const uint8_t *items[200];
	size_t lens[200];
	uint8_t data[200][3];
	struct phr_trie *t;
	assert_int_equal(phr_trie_new(&t, false), PHR_OK);
	for (size_t i = 0; i < 200; i++) {
		data[i][0] = 0xc2;
		data[i][1] = (uint8_t)i;
		data[i][2] = 1;
		items[i] = data[i];
		lens[i] = 3;
		uint8_t key[3];
		size_t kl;
		if (i == 0) {
			key[0] = 0x80;
			kl = 1;
		} else if (i < 0x80) {
			key[0] = (uint8_t)i;
			kl = 1;
		} else {
			key[0] = 0x81;
			key[1] = (uint8_t)i;
			kl = 2;
		}
		assert_int_equal(phr_trie_put(t, key, kl, data[i], 3), PHR_OK);
	}
	uint8_t r2[32];
	assert_int_equal(phr_trie_ordered_root(root, items, lens, 200), PHR_OK);
	assert_int_equal(phr_trie_root(t, r2), PHR_OK);
	assert_memory_equal(root, r2, 32);
	phr_trie_free(t);
}

/* Allocation failures (curl's torture idea): a failed put leaves the trie as it was. */
static void test_alloc_failures(void **state)
{
	(void)state;
	for (long fail_at = 1; fail_at < 400; fail_at += 3) {
		struct phr_trie *t, *ref;
		assert_int_equal(phr_trie_new(&t, false), PHR_OK);
		assert_int_equal(phr_trie_new(&ref, false), PHR_OK);
		phr_alloc_fail_at(fail_at);
		int failures = 0;
		for (uint32_t i = 0; i < 60; i++) {
			uint8_t key[3] = { (uint8_t)(i * 37), (uint8_t)(i % 5), (uint8_t)i };
			uint8_t val[40];
			memset(val, (int)i + 1, sizeof(val));
			int rc = phr_trie_put(t, key, 1 + i % 3, val, 1 + i % 40);
			if (rc == PHR_OK) {
				phr_alloc_fail_at(0);
				assert_int_equal(phr_trie_put(ref, key, 1 + i % 3, val, 1 + i % 40), PHR_OK);
				phr_alloc_fail_at(fail_at > 200 ? 0 : fail_at);
			} else {
				assert_int_equal(rc, PHR_ERR_NOMEM);
				failures++;
				phr_alloc_fail_at(0);
			}
		}
		phr_alloc_fail_at(0);
		uint8_t r1[32], r2[32];
		assert_int_equal(phr_trie_root(t, r1), PHR_OK);
		assert_int_equal(phr_trie_root(ref, r2), PHR_OK);
		assert_memory_equal(r1, r2, 32);
		assert_int_equal(phr_trie_count(t), phr_trie_count(ref));
		phr_trie_free(t);
		phr_trie_free(ref);
		if (fail_at <= 3 && failures == 0)
			fail_msg("no allocation failed with fail_at %ld", fail_at);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trietest),
		cmocka_unit_test(test_trietest_secure),
		cmocka_unit_test(test_anyorder),
		cmocka_unit_test(test_anyorder_secure),
		cmocka_unit_test(test_hex_secure),
		cmocka_unit_test(test_nextprev),
		cmocka_unit_test(test_empty_and_get),
		cmocka_unit_test(test_incremental_matches_rebuild),
		cmocka_unit_test(test_proof),
		cmocka_unit_test(test_ordered),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
