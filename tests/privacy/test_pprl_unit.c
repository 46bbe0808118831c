/*
 * PPRL unit tests: CSV parsing, schema validation, Dice, linking edge cases, and
 * the `phr pprl` commands end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "phr/pprl.h"

struct rows {
	char text[16][8][32];
	size_t ncells[16];
	size_t n;
};

static int collect(void *ctx, size_t row, const char *const *cells, const size_t *lens, size_t n)
{
	struct rows *r = ctx;
	assert_int_equal(row, r->n);
	assert_true(row < 16 && n <= 8);
	for (size_t i = 0; i < n; i++) {
		assert_true(lens[i] < 32);
		memcpy(r->text[row][i], cells[i], lens[i]);
		r->text[row][i][lens[i]] = 0;
	}
	r->ncells[row] = n;
	r->n++;
	return 0;
}

static void test_csv(void **state)
{
	(void)state;
	static const char csv[] = "h1,h2,h3\r\n"
				  " a ,\"b,\"\"c\"\" \" ,\r\n"
				  "\n"
				  "x\n"
				  "\"multi\nline\",y,z";
	struct rows r = { 0 };
	assert_int_equal(phr_pprl_csv_parse(csv, sizeof(csv) - 1, true, 3, collect, &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.text[0][0], "a");
	assert_string_equal(r.text[0][1], "b,\"c\"");
	assert_string_equal(r.text[0][2], "");
	assert_int_equal(r.ncells[1], 3); /* padded */
	assert_string_equal(r.text[1][0], "x");
	assert_string_equal(r.text[1][2], "");
	assert_string_equal(r.text[2][0], "multi\nline");
	assert_string_equal(r.text[2][2], "z");
	struct rows r2 = { 0 };
	assert_int_equal(phr_pprl_csv_parse("a,\"b", 4, false, 0, collect, &r2), PHR_ERR_PARSE);
	struct rows r3 = { 0 };
	assert_int_equal(phr_pprl_csv_parse("\"a\"b,c", 6, false, 0, collect, &r3), PHR_ERR_PARSE);
}

static const char base_schema[] =
	"{\"version\":3,\"clkConfig\":{\"l\":%s,\"xor_folds\":%s,\"kdf\":{\"type\":\"HKDF\",\"hash\":\"SHA256\","
	"\"salt\":\"c2FsdA==\",\"info\":\"aW5mbw==\",\"keySize\":64}},\"features\":["
	"{\"identifier\":\"id\",\"ignored\":true},"
	"{\"identifier\":\"name\",\"format\":{\"type\":\"string\",\"encoding\":\"utf-8\"%s},"
	"\"hashing\":{\"comparison\":{\"type\":\"ngram\",\"n\":2},\"strategy\":{%s},"
	"\"hash\":{\"type\":\"%s\"}}}]}";

static int parse(struct phr_pprl_schema **s, const char *l, const char *folds, const char *fmt,
		 const char *strategy, const char *hash)
{
	char buf[2048], err[200];
	snprintf(buf, sizeof(buf), base_schema, l, folds, fmt, strategy, hash);
	return phr_pprl_schema_parse(s, err, sizeof(err), buf, strlen(buf));
}

static void test_schema_errors(void **state)
{
	(void)state;
	struct phr_pprl_schema *s = NULL;
	assert_int_equal(parse(&s, "1024", "0", "", "\"bitsPerToken\":20", "blakeHash"), PHR_OK);
	assert_int_equal(phr_pprl_schema_bits(s), 1024);
	assert_int_equal(phr_pprl_schema_features(s), 2);
	phr_pprl_schema_free(s);
	assert_int_equal(parse(&s, "1000", "0", "", "\"bitsPerToken\":20", "blakeHash"), PHR_ERR_INVALID);
	assert_null(s);
	assert_int_equal(parse(&s, "1000", "0", "", "\"bitsPerToken\":20", "doubleHash"), PHR_OK);
	phr_pprl_schema_free(s);
	assert_int_equal(parse(&s, "1024", "0", "", "\"bitsPerToken\":20,\"bitsPerFeature\":3", "blakeHash"),
			 PHR_ERR_INVALID);
	assert_int_equal(parse(&s, "1024", "0", "", "\"bitsPerToken\":20", "md5Hash"), PHR_ERR_UNSUPPORTED);
	assert_int_equal(parse(&s, "1023", "0", "", "\"bitsPerToken\":20", "doubleHash"), PHR_ERR_INVALID);
	assert_int_equal(parse(&s, "1024", "-1", "", "\"bitsPerToken\":20", "blakeHash"), PHR_ERR_INVALID);
	assert_int_equal(parse(&s, "1024", "0", ",\"maxLength\":0", "\"bitsPerToken\":20", "blakeHash"),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_pprl_schema_parse(&s, NULL, 0, "{", 1), PHR_ERR_PARSE);
	assert_int_equal(phr_pprl_schema_parse(&s, NULL, 0, "{\"version\":2}", 13), PHR_ERR_UNSUPPORTED);
}

/* folding, format checks, positional tokens, determinism */
static void test_encode_rules(void **state)
{
	(void)state;
	struct phr_pprl_schema *s = NULL, *f = NULL;
	assert_int_equal(parse(&s, "1024", "0", ",\"case\":\"lower\",\"minLength\":2,\"maxLength\":5",
			       "\"bitsPerToken\":30", "blakeHash"),
			 PHR_OK);
	assert_int_equal(parse(&f, "512", "1", "", "\"bitsPerToken\":30", "blakeHash"), PHR_OK);
	struct phr_pprl_keys *k = NULL, *kf = NULL;
	assert_int_equal(phr_pprl_keys_derive(&k, s, (const uint8_t *)"s", 1), PHR_OK);
	assert_int_equal(phr_pprl_keys_derive(&kf, f, (const uint8_t *)"s", 1), PHR_OK);
	assert_int_equal(phr_pprl_keys_derive(&kf, f, (const uint8_t *)"", 0), PHR_ERR_INVALID);
	assert_int_equal(phr_pprl_keys_derive(&kf, f, (const uint8_t *)"s", 1), PHR_OK);
	uint8_t a[128], b[128], folded[64];
	const char *cells[2] = { "1", "anna" };
	size_t lens[2] = { 1, 4 };
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 2), PHR_OK);
	assert_int_equal(phr_pprl_encode(b, 128, s, k, cells, lens, 2), PHR_OK);
	assert_memory_equal(a, b, 128);
	assert_true(phr_pprl_popcount(a, 128) > 20);
	/* the same feature folded once is the XOR of the two halves of the unfolded filter */
	assert_int_equal(phr_pprl_encode(folded, 64, f, kf, cells, lens, 2), PHR_OK);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(folded[i], a[i] ^ a[64 + i]);
	/* format violations */
	cells[1] = "Anna";
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 2), PHR_ERR_INVALID);
	cells[1] = "a";
	lens[1] = 1;
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 2), PHR_ERR_INVALID);
	cells[1] = "\xc3(";
	lens[1] = 2;
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 2), PHR_ERR_INVALID);
	cells[1] = "zo\xc3\xab";
	lens[1] = 4;
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 2), PHR_OK);
	assert_int_equal(phr_pprl_encode(a, 128, s, k, cells, lens, 1), PHR_ERR_INVALID);
	assert_int_equal(phr_pprl_encode(a, 64, s, k, cells, lens, 2), PHR_ERR_INVALID);
	phr_pprl_keys_free(k);
	phr_pprl_keys_free(kf);
	phr_pprl_schema_free(s);
	phr_pprl_schema_free(f);
}

static void test_dice_link(void **state)
{
	(void)state;
	uint8_t a[3][16] = { { 0xff, 0x0f }, { 0xf0 }, { 0 } };
	uint8_t b[3][16] = { { 0xff, 0x0f }, { 0xf0, 0x01 }, { 0x0f } };
	assert_true(phr_pprl_dice(a[0], b[0], 16) == 1.0);
	assert_true(phr_pprl_dice(a[2], a[2], 16) == 0.0);
	double d = phr_pprl_dice(a[1], b[1], 16); /* 2*4 / (4+5) */
	assert_true(d > 0.888 && d < 0.889);
	struct phr_pprl_match *m = NULL;
	size_t n = 0;
	struct phr_pprl_link_stats st;
	assert_int_equal(phr_pprl_link(&m, &n, &st, &a[0][0], 3, &b[0][0], 3, 16, 0.8), PHR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].a, 0);
	assert_int_equal(m[0].b, 0);
	assert_int_equal(m[1].a, 1);
	assert_int_equal(m[1].b, 1);
	assert_true(st.pairs_compared < st.pairs_total); /* blocking pruned something */
	phr_free(m);
	assert_int_equal(phr_pprl_link(&m, &n, NULL, &a[0][0], 3, &b[0][0], 3, 16, 0.0), PHR_ERR_INVALID);
	assert_int_equal(phr_pprl_link(&m, &n, NULL, &a[0][0], 0, &b[0][0], 3, 16, 0.5), PHR_OK);
	assert_int_equal(n, 0);
	/* greedy: a0 is closest to both; b's best partner wins, a1 takes the rest */
	uint8_t x[2][2] = { { 0xff, 0x00 }, { 0xfe, 0x00 } };
	uint8_t y[2][2] = { { 0xff, 0x00 }, { 0xfc, 0x00 } };
	assert_int_equal(phr_pprl_link(&m, &n, NULL, &x[0][0], 2, &y[0][0], 2, 2, 0.5), PHR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].a, 0);
	assert_int_equal(m[0].b, 0);
	assert_int_equal(m[1].a, 1);
	assert_int_equal(m[1].b, 1);
	phr_free(m);
	/* CLK files */
	uint8_t *clks = NULL;
	size_t nc, nbytes;
	assert_int_equal(phr_pprl_clks_parse(&clks, &nc, &nbytes, "AAE=\r\n\n/wA=\n", 12), PHR_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(nbytes, 2);
	assert_int_equal(clks[1], 1);
	phr_free(clks);
	assert_int_equal(phr_pprl_clks_parse(&clks, &nc, &nbytes, "AAE=\nAAAA\n", 10), PHR_ERR_PARSE);
	assert_int_equal(phr_pprl_clks_parse(&clks, &nc, &nbytes, "A*E=\n", 5), PHR_ERR_PARSE);
}

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* phr pprl encode | link with the real binary */
static void test_cli(void **state)
{
	(void)state;
	const char *bin = getenv("PHR_BIN");
	if (!bin) {
		print_message("PHR_BIN not set, skipping\n");
		skip();
	}
	char dir[] = "/tmp/phr-pprl-cli.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "printf 'probe-linkage-secret\\n' > %s/secret", dir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "%s pprl encode --schema tests/vectors/pprl/clk-schema-blake-F100.json --secret-file %s/secret "
		 "tests/vectors/pprl/dirty_1000_50_1.csv > %s/a.txt && cmp -s %s/a.txt "
		 "tests/vectors/pprl/clk-dirty_1000_50_1-blake-F100.txt",
		 bin, dir, dir, dir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "%s pprl encode --schema tests/vectors/pprl/clk-schema-blake-F100.json --secret-file %s/secret "
		 "- < tests/vectors/pprl/dirty_1000_50_2.csv > %s/b.txt",
		 bin, dir, dir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s pprl link %s/a.txt %s/b.txt --threshold 0.9 > %s/links 2>/dev/null", bin,
		 dir, dir, dir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test $(wc -l < %s/links) -ge 495", dir);
	assert_int_equal(run(cmd), 0);
	/* usage errors and bad input */
	snprintf(cmd, sizeof(cmd), "%s pprl link %s/a.txt 2>/dev/null", bin, dir);
	assert_int_equal(run(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s pprl link %s/a.txt %s/secret 2>/dev/null", bin, dir, dir);
	assert_int_equal(run(cmd), 1);
	snprintf(cmd, sizeof(cmd), "%s pprl encode --schema %s/secret --secret-file %s/secret %s/secret 2>/dev/null",
		 bin, dir, dir, dir);
	assert_int_equal(run(cmd), 1);
	snprintf(cmd, sizeof(cmd), "%s pprl encode --help > /dev/null", bin);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_schema_errors),
		cmocka_unit_test(test_encode_rules),
		cmocka_unit_test(test_dice_link),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
