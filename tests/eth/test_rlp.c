/* RLP: ethereum/tests RLPTests (valid encode/decode, invalid rejected) plus unit cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth_test_util.h"
#include "phr/rlp.h"

static void encode_json(struct phr_buf *b, json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (s[0] == '#') {
			uint8_t be[64];
			size_t k = eth_test_dec_to_be(be, sizeof(be), s + 1);
			assert_int_equal(phr_rlp_put_bytes(b, be, k), PHR_OK);
		} else {
			assert_int_equal(phr_rlp_put_bytes(b, s, n), PHR_OK);
		}
	} else if (json_is_integer(v)) {
		assert_int_equal(phr_rlp_put_u64(b, (uint64_t)json_integer_value(v)), PHR_OK);
	} else if (json_is_array(v)) {
		size_t mark, i;
		json_t *e;
		phr_rlp_list_begin(b, &mark);
		json_array_foreach(v, i, e)
			encode_json(b, e);
		assert_int_equal(phr_rlp_list_end(b, mark), PHR_OK);
	} else {
		fail_msg("unexpected JSON type");
	}
}

/* Re-encodes a decoded item from its parts (string payloads and list iteration). */
static void reencode(struct phr_buf *b, const struct phr_rlp_item *it)
{
	if (!it->is_list) {
		assert_int_equal(phr_rlp_put_bytes(b, it->data, it->len), PHR_OK);
		return;
	}
	struct phr_rlp_iter iter;
	struct phr_rlp_item sub;
	size_t mark;
	int rc;
	assert_int_equal(phr_rlp_iter_init(&iter, it), PHR_OK);
	phr_rlp_list_begin(b, &mark);
	while ((rc = phr_rlp_iter_next(&iter, &sub)) == 1)
		reencode(b, &sub);
	assert_int_equal(rc, 0);
	assert_int_equal(phr_rlp_list_end(b, mark), PHR_OK);
}

static void test_valid(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/rlp/rlptest.json");
	const char *name;
	json_t *tc;
	int n = 0;
	json_object_foreach(root, name, tc) {
		size_t len;
		uint8_t *want = eth_test_unhex(json_string_value(json_object_get(tc, "out")), &len);
		assert_non_null(want);
		struct phr_buf b;
		phr_buf_init(&b, 0);
		encode_json(&b, json_object_get(tc, "in"));
		if (b.len != len || memcmp(b.data, want, len) != 0)
			fail_msg("%s: encoding differs", name);
		struct phr_rlp_item it;
		assert_int_equal(phr_rlp_decode(&it, want, len), PHR_OK);
		phr_buf_reset(&b);
		reencode(&b, &it);
		if (b.len != len || memcmp(b.data, want, len) != 0)
			fail_msg("%s: decode/re-encode differs", name);
		phr_buf_release(&b);
		free(want);
		n++;
	}
	json_decref(root);
	assert_int_equal(n, 28);
}

static void test_random_valid(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/rlp/RandomRLPTests/example.json");
	const char *name;
	json_t *tc;
	json_object_foreach(root, name, tc) {
		size_t len;
		uint8_t *in = eth_test_unhex(json_string_value(json_object_get(tc, "out")), &len);
		struct phr_rlp_item it;
		assert_int_equal(phr_rlp_decode(&it, in, len), PHR_OK);
		struct phr_buf b;
		phr_buf_init(&b, 0);
		reencode(&b, &it);
		assert_memory_equal(b.data, in, len);
		phr_buf_release(&b);
		free(in);
	}
	json_decref(root);
}

static void test_invalid(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/rlp/invalidRLPTest.json");
	const char *name;
	json_t *tc;
	int n = 0;
	json_object_foreach(root, name, tc) {
		size_t len;
		uint8_t *in = eth_test_unhex(json_string_value(json_object_get(tc, "out")), &len);
		assert_non_null(in);
		struct phr_rlp_item it;
		int rc = phr_rlp_decode(&it, in, len);
		if (rc == PHR_OK)
			fail_msg("%s: accepted", name);
		free(in);
		n++;
	}
	json_decref(root);
	assert_int_equal(n, 26);
}

static void test_unit(void **state)
{
	(void)state;
	struct phr_rlp_item it, items[4];
	size_t cnt;
	uint64_t v;
	/* non-canonical forms */
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x81\x05", 2), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\xb8\x01\x80", 3), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\xf8\x00", 2), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x80\x80", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x82\x01", 2), PHR_ERR_TRUNCATED);
	assert_int_equal(phr_rlp_decode(&it, NULL, 0), PHR_ERR_TRUNCATED);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\xbf\xff\xff\xff\xff\xff\xff\xff\xff", 9),
			 PHR_ERR_RANGE);
	/* list with a truncated inner item */
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\xc2\x82\x01", 3), PHR_ERR_TRUNCATED);
	/* integers */
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x82\x00\x01", 3), PHR_OK);
	assert_int_equal(phr_rlp_item_u64(&v, &it), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x82\x04\x00", 3), PHR_OK);
	assert_int_equal(phr_rlp_item_u64(&v, &it), PHR_OK);
	assert_int_equal(v, 1024);
	assert_int_equal(phr_rlp_decode(&it, (const uint8_t *)"\x89\x01\x00\x00\x00\x00\x00\x00\x00\x00", 10), PHR_OK);
	assert_int_equal(phr_rlp_item_u64(&v, &it), PHR_ERR_RANGE);
	/* nested lists, long list header inserted by list_end */
	struct phr_buf b;
	phr_buf_init(&b, 0);
	size_t m1, m2;
	phr_rlp_list_begin(&b, &m1);
	assert_int_equal(phr_rlp_put_u64(&b, 0), PHR_OK);
	phr_rlp_list_begin(&b, &m2);
	for (int i = 0; i < 60; i++)
		assert_int_equal(phr_rlp_put_u64(&b, 0x7f), PHR_OK);
	assert_int_equal(phr_rlp_list_end(&b, m2), PHR_OK);
	assert_int_equal(phr_rlp_list_end(&b, m1), PHR_OK);
	assert_int_equal(b.len, 2 + 1 + 2 + 60);
	assert_int_equal(b.data[0], 0xf8);
	assert_int_equal(b.data[1], 63);
	assert_int_equal(b.data[3], 0xf8);
	assert_int_equal(phr_rlp_decode(&it, b.data, b.len), PHR_OK);
	assert_int_equal(phr_rlp_list_items(items, 4, &cnt, &it), PHR_OK);
	assert_int_equal(cnt, 2);
	assert_true(items[1].is_list);
	assert_int_equal(items[1].len, 60);
	assert_int_equal(phr_rlp_list_items(items, 1, &cnt, &it), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_rlp_list_end(&b, b.len + 1), PHR_ERR_INVALID);
	/* depth limit */
	phr_buf_reset(&b);
	size_t marks[PHR_RLP_MAX_DEPTH + 1];
	for (int i = 0; i <= PHR_RLP_MAX_DEPTH; i++)
		phr_rlp_list_begin(&b, &marks[i]);
	for (int i = PHR_RLP_MAX_DEPTH; i >= 0; i--)
		assert_int_equal(phr_rlp_list_end(&b, marks[i]), PHR_OK);
	assert_int_equal(phr_rlp_decode(&it, b.data, b.len), PHR_ERR_TOO_LARGE);
	/* the inner 64 levels alone are fine */
	assert_int_equal(phr_rlp_decode_prefix(&it, NULL, b.data, b.len), PHR_OK);
	assert_int_equal(phr_rlp_decode(&it, it.data, it.len), PHR_OK);
	/* u256 */
	phr_buf_reset(&b);
	struct phr_u256 x = phr_u256_from_u64(0x1234), y;
	assert_int_equal(phr_rlp_put_u256(&b, &x), PHR_OK);
	assert_int_equal(b.len, 3);
	assert_int_equal(phr_rlp_decode(&it, b.data, b.len), PHR_OK);
	assert_int_equal(phr_rlp_item_u256(&y, &it), PHR_OK);
	assert_true(phr_u256_eq(&x, &y));
	/* a buffer limit hit mid-list empties the buffer; list_end then refuses the stale mark */
	struct phr_buf small;
	phr_buf_init(&small, 8);
	size_t mk;
	phr_rlp_list_begin(&small, &mk);
	assert_int_equal(phr_rlp_put_u64(&small, 1), PHR_OK);
	assert_int_equal(phr_rlp_put_bytes(&small, "0123456789", 10), PHR_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	phr_rlp_list_begin(&small, &mk);
	assert_int_equal(phr_rlp_put_bytes(&small, "0123456", 7), PHR_OK);
	assert_int_equal(phr_rlp_list_end(&small, mk), PHR_ERR_TOO_LARGE);
	phr_buf_release(&small);
	assert_int_equal(phr_rlp_string_len(1, 0x7f), 1);
	assert_int_equal(phr_rlp_string_len(56, 0), 58);
	phr_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_random_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_unit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
