/*
 * ABI: ethereum/tests ABITests, ethers-generated encodings
 * (tests/vectors/abi/ethers_cases.json), Solidity documentation selectors,
 * strict decoding rejections and revert reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth_test_util.h"
#include "phr/abi.h"
#include "phr/crypto.h"

static void check_roundtrip(const char *type, json_t *value, const uint8_t *want, size_t wlen)
{
	struct phr_abi_type *t;
	struct phr_abi_value *v, *d, *v2;
	struct phr_buf b;
	assert_int_equal(phr_abi_type_parse(&t, type), PHR_OK);
	assert_int_equal(phr_abi_value_from_json(&v, t, value), PHR_OK);
	phr_buf_init(&b, 0);
	assert_int_equal(phr_abi_encode(&b, v), PHR_OK);
	if (b.len != wlen || (wlen && memcmp(b.data, want, wlen) != 0))
		fail_msg("%s: encoding differs (%zu vs %zu bytes)", type, b.len, wlen);
	/* decode, render to JSON, rebuild and re-encode */
	assert_int_equal(phr_abi_decode(&d, t, want, wlen), PHR_OK);
	json_t *j = phr_abi_value_to_json(d);
	assert_non_null(j);
	assert_int_equal(phr_abi_value_from_json(&v2, t, j), PHR_OK);
	phr_buf_reset(&b);
	assert_int_equal(phr_abi_encode(&b, v2), PHR_OK);
	assert_int_equal(b.len, wlen);
	if (wlen)
		assert_memory_equal(b.data, want, wlen);
	/* every strict prefix that cuts into the data is rejected */
	for (size_t cut = 0; cut < wlen; cut += 32) {
		struct phr_abi_value *x = NULL;
		int rc = phr_abi_decode(&x, t, want, cut);
		if (rc == PHR_OK) {
			/* only possible when the cut data was unreferenced trailing bytes */
			phr_buf_reset(&b);
			assert_int_equal(phr_abi_encode(&b, x), PHR_OK);
			assert_true(b.len <= cut || t->head_size == 0);
			phr_abi_value_free(x);
		}
	}
	json_decref(j);
	phr_buf_release(&b);
	phr_abi_value_free(v);
	phr_abi_value_free(v2);
	phr_abi_value_free(d);
	phr_abi_type_free(t);
}

static void test_ethers_cases(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/abi/ethers_cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(root, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		size_t n;
		uint8_t *want = eth_test_unhex(json_string_value(json_object_get(c, "encoded")), &n);
		assert_non_null(want);
		check_roundtrip(type, json_object_get(c, "value"), want, n);
		free(want);
		/* selector of f<canonical type> */
		struct phr_abi_type *t;
		struct phr_buf sig;
		uint8_t sel[4], wsel[4];
		assert_int_equal(phr_abi_type_parse(&t, type), PHR_OK);
		phr_buf_init(&sig, 0);
		assert_int_equal(phr_buf_append_str(&sig, "f"), PHR_OK);
		assert_int_equal(phr_abi_type_canonical(&sig, t), PHR_OK);
		phr_abi_selector(sel, (const char *)sig.data);
		assert_int_equal(phr_hex_decode_exact(wsel, 4, json_string_value(json_object_get(c, "selector"))), PHR_OK);
		assert_memory_equal(sel, wsel, 4);
		phr_buf_release(&sig);
		phr_abi_type_free(t);
	}
	assert_int_equal(i, 21);
	json_decref(root);
}

/* ethereum/tests ABITests: bytes arguments there are ASCII text. */
static void test_abitests(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/abi/basic_abi_tests.json");
	const char *name;
	json_t *tc;
	int n = 0;
	json_object_foreach(root, name, tc) {
		json_t *types = json_object_get(tc, "types"), *args = json_object_get(tc, "args");
		struct phr_buf ts;
		phr_buf_init(&ts, 0);
		assert_int_equal(phr_buf_append_str(&ts, "("), PHR_OK);
		json_t *vals = json_array();
		size_t i;
		json_t *ty;
		json_array_foreach(types, i, ty) {
			const char *tn = json_string_value(ty);
			json_t *a = json_array_get(args, i);
			assert_int_equal(phr_buf_appendf(&ts, "%s%s", i ? "," : "", tn), PHR_OK);
			if (strncmp(tn, "bytes", 5) == 0 && json_is_string(a)) {
				const char *s = json_string_value(a);
				char hex[256];
				assert_int_equal(phr_hex_encode(hex, sizeof(hex), (const uint8_t *)s, strlen(s), true), PHR_OK);
				json_array_append_new(vals, json_string(hex));
			} else {
				json_array_append(vals, a);
			}
		}
		assert_int_equal(phr_buf_append_str(&ts, ")"), PHR_OK);
		size_t wl;
		uint8_t *want = eth_test_unhex(json_string_value(json_object_get(tc, "result")), &wl);
		check_roundtrip((const char *)ts.data, vals, want, wl);
		free(want);
		json_decref(vals);
		phr_buf_release(&ts);
		n++;
	}
	assert_int_equal(n, 3);
	json_decref(root);
}

/* Selectors from the Solidity ABI specification's examples. */
static void test_selectors(void **state)
{
	(void)state;
	struct {
		const char *sig;
		uint32_t sel;
	} cases[] = {
		{ "baz(uint32,bool)", 0xcdcd77c0 },
		{ "bar(bytes3[2])", 0xfce353f6 },
		{ "sam(bytes,bool,uint256[])", 0xa5643bf2 },
		{ "f(uint256,uint32[],bytes10,bytes)", 0x8be65246 },
		{ "transfer(address,uint256)", 0xa9059cbb },
		{ "Error(string)", 0x08c379a0 },
		{ "Panic(uint256)", 0x4e487b71 },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(cases); i++) {
		uint8_t s[4];
		phr_abi_selector(s, cases[i].sig);
		uint32_t got = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
		assert_int_equal(got, cases[i].sel);
	}
	uint8_t topic[32], want[32];
	phr_abi_event_topic(topic, "Transfer(address,address,uint256)");
	assert_int_equal(phr_hex_decode_exact(want, 32, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"), PHR_OK);
	assert_memory_equal(topic, want, 32);
	/* encode_call canonicalises "uint" and checks the documented baz encoding */
	struct phr_buf b;
	phr_buf_init(&b, 0);
	json_t *args = json_pack("[ib]", 69, 1);
	assert_int_equal(phr_abi_encode_call(&b, "baz(uint32, bool)", args), PHR_OK);
	assert_int_equal(b.len, 68);
	assert_int_equal(b.data[0], 0xcd);
	assert_int_equal(b.data[35], 0x45);
	assert_int_equal(b.data[67], 1);
	json_decref(args);
	phr_buf_reset(&b);
	args = json_pack("[i]", 1);
	assert_int_equal(phr_abi_encode_call(&b, "transfer(uint)", args), PHR_OK);
	uint8_t s2[4];
	phr_abi_selector(s2, "transfer(uint256)");
	assert_memory_equal(b.data, s2, 4);
	assert_int_equal(phr_abi_encode_call(&b, "(uint)", args), PHR_ERR_PARSE);
	assert_int_equal(phr_abi_encode_call(&b, "f(uint", args), PHR_ERR_PARSE);
	json_decref(args);
	phr_buf_release(&b);
}

static void test_type_parser(void **state)
{
	(void)state;
	const char *good[][2] = {
		{ "uint", "uint256" }, { "int", "int256" }, { "(uint8, address[] ,bytes)", "(uint8,address[],bytes)" },
		{ "bytes32[2][]", "bytes32[2][]" }, { "()", "()" }, { "( )", "()" },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(good); i++) {
		struct phr_abi_type *t;
		struct phr_buf b;
		assert_int_equal(phr_abi_type_parse(&t, good[i][0]), PHR_OK);
		phr_buf_init(&b, 0);
		assert_int_equal(phr_abi_type_canonical(&b, t), PHR_OK);
		assert_string_equal((const char *)b.data, good[i][1]);
		phr_buf_release(&b);
		phr_abi_type_free(t);
	}
	const char *bad[] = { "", "uint7", "uint264", "uint0", "bytes0", "bytes33", "int08", "(uint256",
			      "uint256)", "(,)", "(uint256,)", "address[", "address[x]", "address[01]",
			      "bool[]]", "uinty", "fixed128x18", "tuple", "uint256 x" };
	for (size_t i = 0; i < PHR_ARRAY_LEN(bad); i++) {
		struct phr_abi_type *t = NULL;
		if (phr_abi_type_parse(&t, bad[i]) == PHR_OK)
			fail_msg("accepted %s", bad[i]);
	}
	struct phr_abi_type *t;
	char deep[200];
	memset(deep, 0, sizeof(deep));
	for (int i = 0; i < 40; i++)
		deep[i] = '(';
	memcpy(deep + 40, "bool", 4);
	for (int i = 0; i < 40; i++)
		deep[44 + i] = ')';
	assert_int_equal(phr_abi_type_parse(&t, deep), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_abi_type_parse(&t, "uint256[4097]"), PHR_ERR_TOO_LARGE);
	/* zero-size inner types */
	assert_int_equal(phr_abi_type_parse(&t, "((),bool)"), PHR_ERR_UNSUPPORTED);
	assert_int_equal(phr_abi_type_parse(&t, "string[0]"), PHR_ERR_UNSUPPORTED);
	assert_int_equal(phr_abi_type_parse(&t, "()[3]"), PHR_ERR_UNSUPPORTED);
	assert_int_equal(phr_abi_type_parse(&t, "()[]"), PHR_ERR_UNSUPPORTED);
	assert_int_equal(phr_abi_type_parse(&t, "uint256[4096][4096][4096]"), PHR_ERR_TOO_LARGE);
}

static struct phr_abi_type *T(const char *s)
{
	struct phr_abi_type *t;
	assert_int_equal(phr_abi_type_parse(&t, s), PHR_OK);
	return t;
}

static int dec(const char *type, const char *hex)
{
	struct phr_abi_type *t = T(type);
	struct phr_abi_value *v = NULL;
	size_t n;
	uint8_t *d = eth_test_unhex(hex, &n);
	int rc = phr_abi_decode(&v, t, d, n);
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	free(d);
	return rc;
}

#define W0 "0000000000000000000000000000000000000000000000000000000000000000"
#define W1 "0000000000000000000000000000000000000000000000000000000000000001"
#define W2 "0000000000000000000000000000000000000000000000000000000000000002"
#define W20 "0000000000000000000000000000000000000000000000000000000000000020"
#define WFF "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static void test_strict_decode(void **state)
{
	(void)state;
	assert_int_equal(dec("bool", W1), PHR_OK);
	assert_int_equal(dec("bool", W2), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("uint8", "00000000000000000000000000000000000000000000000000000000000000ff"), PHR_OK);
	assert_int_equal(dec("uint8", "0000000000000000000000000000000000000000000000000000000000000100"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("int8", WFF), PHR_OK);
	assert_int_equal(dec("int8", "00000000000000000000000000000000000000000000000000000000000000ff"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("int8", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("address", "000000000000000000000001cd2a3d9f938e13cd947ec05abc7fe734df8dd826"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("bytes1", "ff00000000000000000000000000000000000000000000000000000000000000"), PHR_OK);
	assert_int_equal(dec("bytes1", "ff00000000000000000000000000000000000000000000000000000000000001"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("uint256", "00"), PHR_ERR_TRUNCATED);
	/* (bytes): offset, length, data with padding */
	assert_int_equal(dec("(bytes)", W20 W1 "ab00000000000000000000000000000000000000000000000000000000000000"), PHR_OK);
	assert_int_equal(dec("(bytes)", W20 W1 "ab00000000000000000000000000000000000000000000000000000000000001"), PHR_ERR_NONCANONICAL);
	assert_int_equal(dec("(bytes)", W20 W2 "ab"), PHR_ERR_TRUNCATED);
	assert_int_equal(dec("(bytes)", W2 W1 "ab00000000000000000000000000000000000000000000000000000000000000"), PHR_ERR_TRUNCATED);
	assert_int_equal(dec("(bytes)", WFF), PHR_ERR_TRUNCATED);
	assert_int_equal(dec("(bytes)", W20 WFF), PHR_ERR_TRUNCATED);
	assert_int_equal(dec("(uint256[])", W20 "00000000000000000000000000000000000000000000000000000000ffffffff"), PHR_ERR_TRUNCATED);
	assert_int_equal(dec("(uint256[])", W20 W0), PHR_OK);
	/* aliasing bomb: an array of N offsets all pointing at the same large array */
	{
		size_t N = 200;
		size_t len = 32 * (2 + N) + 32 * (1 + N);
		uint8_t *d = calloc(1, len);
		struct phr_abi_type *t = T("(uint256[][])");
		struct phr_abi_value *v = NULL;
		d[31] = 0x20;                 /* offset of the outer array */
		d[32 + 31] = (uint8_t)N;      /* outer length */
		for (size_t i = 0; i < N; i++) {
			/* every inner offset points at the shared array after the heads */
			size_t off = 32 * N;
			d[64 + 32 * i + 30] = (uint8_t)(off >> 8);
			d[64 + 32 * i + 31] = (uint8_t)off;
		}
		d[64 + 32 * N + 31] = (uint8_t)N; /* shared inner array of N zeros */
		int rc = phr_abi_decode(&v, t, d, len);
		assert_int_equal(rc, PHR_ERR_TOO_LARGE);
		phr_abi_type_free(t);
		free(d);
	}
	/* a string that is not UTF-8 decodes and renders as hex */
	{
		struct phr_abi_type *st = T("(string)");
		struct phr_abi_value *sv = NULL;
		size_t n;
		uint8_t *d = eth_test_unhex(W20 W2 "fffe000000000000000000000000000000000000000000000000000000000000", &n);
		assert_int_equal(phr_abi_decode(&sv, st, d, n), PHR_OK);
		json_t *j = phr_abi_value_to_json(sv);
		assert_string_equal(json_string_value(json_array_get(j, 0)), "0xfffe");
		json_decref(j);
		phr_abi_value_free(sv);
		phr_abi_type_free(st);
		free(d);
	}
	/* values that do not fit their type are refused when encoding */
	struct phr_abi_type *t = T("(uint8)");
	struct phr_abi_value *v = NULL;
	json_t *j = json_pack("[i]", 256);
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_ERR_INVALID);
	json_decref(j);
	j = json_pack("[i]", -1);
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_ERR_INVALID);
	json_decref(j);
	j = json_pack("[s]", "0x1");
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_OK);
	v->items[0].num = phr_u256_from_u64(300);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_abi_encode(&b, v), PHR_ERR_INVALID);
	phr_buf_release(&b);
	phr_abi_value_free(v);
	json_decref(j);
	phr_abi_type_free(t);
	t = T("(bytes2,address)");
	j = json_pack("[ss]", "0x0102", "0x12");
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_ERR_INVALID);
	json_decref(j);
	j = json_pack("[ss]", "0x010203", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826");
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_ERR_INVALID);
	json_decref(j);
	phr_abi_type_free(t);
}

static void test_revert(void **state)
{
	(void)state;
	struct phr_abi_revert r;
	size_t n;
	/* revert("Not enough Ether provided.") from the Solidity docs */
	uint8_t *d = eth_test_unhex("08c379a0" W20 "000000000000000000000000000000000000000000000000000000000000001a"
				    "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000", &n);
	assert_int_equal(phr_abi_revert_decode(&r, d, n), PHR_OK);
	assert_int_equal(r.kind, PHR_ABI_REVERT_ERROR);
	assert_string_equal(r.message, "Not enough Ether provided.");
	phr_abi_revert_release(&r);
	free(d);
	d = eth_test_unhex("4e487b71" "0000000000000000000000000000000000000000000000000000000000000011", &n);
	assert_int_equal(phr_abi_revert_decode(&r, d, n), PHR_OK);
	assert_int_equal(r.kind, PHR_ABI_REVERT_PANIC);
	assert_int_equal(r.code.w[0], 0x11);
	assert_int_equal(phr_abi_revert_decode(&r, d, 20), PHR_ERR_PARSE);
	assert_int_equal(phr_abi_revert_decode(&r, d, 3), PHR_ERR_PARSE);
	assert_int_equal(phr_abi_revert_decode(&r, d, 0), PHR_OK);
	assert_int_equal(r.kind, PHR_ABI_REVERT_EMPTY);
	d[0] = 0x12;
	assert_int_equal(phr_abi_revert_decode(&r, d, 4), PHR_OK);
	assert_int_equal(r.kind, PHR_ABI_REVERT_CUSTOM);
	assert_int_equal(r.selector[0], 0x12);
	free(d);
}

static void test_alloc_failures(void **state)
{
	(void)state;
	json_t *root = eth_test_load_json("tests/vectors/abi/ethers_cases.json");
	json_t *c = json_array_get(root, 15);
	struct phr_abi_type *t = NULL;
	size_t n;
	uint8_t *d = eth_test_unhex(json_string_value(json_object_get(c, "encoded")), &n);
	for (long k = 1; k < 40; k++) {
		struct phr_abi_value *v = NULL;
		phr_alloc_fail_at(k);
		int rc = phr_abi_type_parse(&t, json_string_value(json_object_get(c, "type")));
		if (rc == PHR_OK)
			rc = phr_abi_decode(&v, t, d, n);
		phr_alloc_fail_at(0);
		assert_true(rc == PHR_OK || rc == PHR_ERR_NOMEM);
		phr_abi_value_free(v);
		if (t)
			phr_abi_type_free(t);
		t = NULL;
	}
	free(d);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethers_cases), cmocka_unit_test(test_abitests),
		cmocka_unit_test(test_selectors),    cmocka_unit_test(test_type_parser),
		cmocka_unit_test(test_strict_decode), cmocka_unit_test(test_revert),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
