/* Unit tests of the core module: errors, buffers, hex, base32, varints, JSON, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_errors(void **state)
{
	(void)state;
	/* every code has a distinct name and a mapping in each error space */
	for (int e = PHR_OK; e > PHR_ERR__LAST; e--) {
		assert_string_not_equal(phr_err_name(e), "unknown");
		for (int f = e - 1; f > PHR_ERR__LAST; f--)
			assert_string_not_equal(phr_err_name(e), phr_err_name(f));
		int st = phr_err_http_status(e);
		assert_true(st >= 200 && st < 600);
		if (e != PHR_OK) {
			assert_true(st >= 400);
			assert_int_not_equal(phr_err_jsonrpc_code(e), 0);
		}
	}
	assert_int_equal(phr_err_http_status(PHR_ERR_NOT_FOUND), 404);
	assert_int_equal(phr_err_http_status(PHR_ERR_FORBIDDEN), 403);
	assert_int_equal(phr_err_jsonrpc_code(PHR_ERR_PARSE), -32700);
	assert_string_equal(phr_err_fhir_code(PHR_ERR_NOT_FOUND), "not-found");
	assert_string_equal(phr_strerror(-999), "unknown error");
}

static void test_buf(void **state)
{
	(void)state;
	struct phr_buf b;
	phr_buf_init(&b, 10);
	assert_int_equal(phr_buf_append_str(&b, "hello"), PHR_OK);
	assert_int_equal(phr_buf_appendf(&b, "%d", 1234), PHR_OK);
	assert_int_equal(b.len, 9);
	assert_string_equal((char *)b.data, "hello1234");
	/* the limit frees the buffer and leaves it empty */
	assert_int_equal(phr_buf_append_str(&b, "xy"), PHR_ERR_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(phr_buf_append_str(&b, "0123456789"), PHR_OK);
	size_t n;
	char *s = phr_buf_detach(&b, &n);
	assert_int_equal(n, 10);
	assert_string_equal(s, "0123456789");
	phr_free(s);
	assert_null(b.data);
	s = phr_buf_detach(&b, &n);
	assert_non_null(s);
	assert_int_equal(n, 0);
	phr_free(s);

	/* allocation failure: the buffer frees itself */
	phr_buf_init(&b, 0);
	assert_int_equal(phr_buf_append_str(&b, "abc"), PHR_OK);
	phr_alloc_fail_at(1);
	char big[200];
	memset(big, 'a', sizeof big);
	assert_int_equal(phr_buf_append(&b, big, sizeof big), PHR_ERR_NOMEM);
	assert_null(b.data);
	phr_alloc_fail_at(0);
	assert_int_equal(phr_buf_append(&b, big, sizeof big), PHR_OK);
	phr_buf_release(&b);
}

static void test_hex(void **state)
{
	(void)state;
	uint8_t out[8];
	size_t n;
	char txt[32];
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "0xDeadBEEF", 10), PHR_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "0x1", 3), PHR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "abc", 3), PHR_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x0a\xbc", 2);
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "0x", 2), PHR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "0xzz", 4), PHR_ERR_PARSE);
	assert_int_equal(phr_hex_decode(out, sizeof out, &n, "0x0g", 4), PHR_ERR_PARSE);
	assert_int_equal(phr_hex_decode(out, 1, &n, "0x0102", 6), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_hex_decode_exact(out, 2, "0x0102"), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(out, 2, "0x010"), PHR_ERR_PARSE);
	assert_int_equal(phr_hex_encode(txt, sizeof txt, (const uint8_t *)"\x00\xff\x10", 3, true), PHR_OK);
	assert_string_equal(txt, "0x00ff10");
	assert_int_equal(phr_hex_encode(txt, 8, (const uint8_t *)"\x00\xff\x10", 3, true), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_hex_encode(txt, 7, (const uint8_t *)"\x00\xff\x10", 3, false), PHR_OK);
	assert_string_equal(txt, "00ff10");
}

/* RFC 4648 section 10 test vectors, lower-cased and without padding. */
static void test_base32(void **state)
{
	(void)state;
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi" };
	for (size_t i = 0; i < PHR_ARRAY_LEN(plain); i++) {
		char out[32];
		uint8_t dec[16];
		size_t n;
		assert_int_equal(phr_base32_encode(out, sizeof out, (const uint8_t *)plain[i], strlen(plain[i])), PHR_OK);
		assert_string_equal(out, enc[i]);
		assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, enc[i], strlen(enc[i])), PHR_OK);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(dec, plain[i], n);
	}
	uint8_t dec[16];
	size_t n;
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "MZXW6YTBOI", 10), PHR_OK);
	assert_memory_equal(dec, "foobar", 6);
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "mZXW6", 5), PHR_ERR_PARSE);
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "my======", 8), PHR_ERR_PARSE);
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "m", 1), PHR_ERR_PARSE);
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "mz", 2), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_base32_decode(dec, sizeof dec, &n, "m1", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_base32_decode(dec, 2, &n, "mzxw6", 5), PHR_ERR_TOO_LARGE);
}

static void test_varint(void **state)
{
	(void)state;
	/* examples from the multiformats unsigned-varint spec */
	static const struct {
		uint64_t v;
		const char *enc;
		size_t n;
	} cases[] = {
		{ 1, "\x01", 1 }, { 127, "\x7f", 1 }, { 128, "\x80\x01", 2 }, { 255, "\xff\x01", 2 },
		{ 300, "\xac\x02", 2 }, { 16384, "\x80\x80\x01", 3 },
		{ 0x7fffffffffffffffULL, "\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9 },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(cases); i++) {
		uint8_t out[PHR_VARINT_MAX_BYTES];
		assert_int_equal(phr_varint_encode(out, cases[i].v), cases[i].n);
		assert_int_equal(phr_varint_len(cases[i].v), cases[i].n);
		assert_memory_equal(out, cases[i].enc, cases[i].n);
		uint64_t v;
		size_t used;
		assert_int_equal(phr_varint_decode(&v, &used, out, cases[i].n), PHR_OK);
		assert_int_equal(v, cases[i].v);
		assert_int_equal(used, cases[i].n);
	}
	uint64_t v;
	size_t used;
	assert_int_equal(phr_varint_decode(&v, &used, (const uint8_t *)"\x00", 1), PHR_OK);
	assert_int_equal(v, 0);
	assert_int_equal(phr_varint_decode(&v, &used, (const uint8_t *)"\x81\x00", 2), PHR_ERR_NONCANONICAL);
	assert_int_equal(phr_varint_decode(&v, &used, (const uint8_t *)"\x80", 1), PHR_ERR_TRUNCATED);
	assert_int_equal(phr_varint_decode(&v, &used,
					   (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10),
			 PHR_ERR_RANGE);
}

static void test_json(void **state)
{
	(void)state;
	json_t *v;
	char err[128];
	const char *txt = "{\"a\":\"0x10\",\"b\":42,\"c\":\"12\",\"d\":true,\"e\":null,\"h\":\"0xabcd\",\"n\":-1}";
	assert_int_equal(phr_json_parse(&v, err, sizeof err, txt, strlen(txt)), PHR_OK);
	uint64_t u;
	assert_int_equal(phr_json_get_u64(&u, v, "a"), PHR_OK);
	assert_int_equal(u, 16);
	assert_int_equal(phr_json_get_u64(&u, v, "b"), PHR_OK);
	assert_int_equal(u, 42);
	assert_int_equal(phr_json_get_u64(&u, v, "c"), PHR_OK);
	assert_int_equal(u, 12);
	assert_int_equal(phr_json_get_u64(&u, v, "d"), PHR_ERR_INVALID);
	assert_int_equal(phr_json_get_u64(&u, v, "e"), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_json_get_u64(&u, v, "zz"), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_json_get_u64(&u, v, "n"), PHR_ERR_RANGE);
	bool b;
	assert_int_equal(phr_json_get_bool(&b, v, "d"), PHR_OK);
	assert_true(b);
	uint8_t h[4];
	size_t hn;
	assert_int_equal(phr_json_get_hex(h, sizeof h, &hn, v, "h"), PHR_OK);
	assert_int_equal(hn, 2);
	assert_memory_equal(h, "\xab\xcd", 2);
	const char *s;
	assert_int_equal(phr_json_get_str(&s, v, "b"), PHR_ERR_INVALID);
	assert_int_equal(phr_json_set_hex(v, "x", (const uint8_t *)"\x01\x02", 2), PHR_OK);
	assert_int_equal(phr_json_get_str(&s, v, "x"), PHR_OK);
	assert_string_equal(s, "0x0102");
	struct phr_buf out;
	phr_buf_init(&out, 0);
	assert_int_equal(phr_json_dump(&out, json_object_get(v, "x"), JSON_ENCODE_ANY), PHR_OK);
	assert_string_equal((char *)out.data, "\"0x0102\"");
	phr_buf_release(&out);
	json_decref(v);
	assert_int_equal(phr_json_parse(&v, err, sizeof err, "{\"a\":1,\"a\":2}", 13), PHR_ERR_PARSE);
	assert_int_equal(phr_json_parse(&v, err, sizeof err, "{", 1), PHR_ERR_PARSE);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(phr_parse_u64(&u, "0x"), PHR_ERR_INVALID);
	assert_int_equal(phr_parse_u64(&u, "99999999999999999999999"), PHR_ERR_RANGE);
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/phr-core-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[128], path[160];
	snprintf(sub, sizeof sub, "%s/a/b/c", dir);
	assert_int_equal(phr_mkdir_p(sub, 0700), PHR_OK);
	assert_int_equal(phr_mkdir_p(sub, 0700), PHR_OK);
	snprintf(path, sizeof path, "%s/file", sub);
	assert_int_equal(phr_file_write_atomic(path, "one", 3, 0600), PHR_OK);
	assert_int_equal(phr_file_write_atomic(path, "second", 6, 0600), PHR_OK);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_file_read(&b, path, 100), PHR_OK);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "second", 6);
	phr_buf_reset(&b);
	assert_int_equal(phr_file_read(&b, path, 3), PHR_ERR_TOO_LARGE);
	phr_buf_release(&b);
	phr_buf_init(&b, 0);
	snprintf(path, sizeof path, "%s/missing", sub);
	assert_int_equal(phr_file_read(&b, path, 100), PHR_ERR_NOT_FOUND);
	phr_buf_release(&b);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_log(void **state)
{
	(void)state;
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	assert_non_null(f);
	phr_log_set_stream(f);
	phr_log_set_level(PHR_LOG_INFO);
	phr_log_debug("test", "hidden %d", 1);
	phr_log_set_json(true);
	phr_log_info("test", "quote \" and\nnewline");
	phr_log_set_json(false);
	phr_log_warn("mod", "plain");
	phr_log_set_stream(NULL);
	fclose(f);
	assert_null(strstr(mem, "hidden"));
	assert_non_null(strstr(mem, "\"level\":\"info\",\"module\":\"test\",\"msg\":\"quote \\\" and\\nnewline\"}"));
	assert_non_null(strstr(mem, "warn  [mod] plain"));
	free(mem);
	enum phr_log_level l;
	assert_int_equal(phr_log_parse_level(&l, "debug"), PHR_OK);
	assert_int_equal(l, PHR_LOG_DEBUG);
	assert_int_equal(phr_log_parse_level(&l, "loud"), PHR_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors), cmocka_unit_test(test_buf),
		cmocka_unit_test(test_hex),    cmocka_unit_test(test_base32),
		cmocka_unit_test(test_varint), cmocka_unit_test(test_json),
		cmocka_unit_test(test_files),  cmocka_unit_test(test_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
