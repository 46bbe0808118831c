/*
 * PPRL against clkhash: the CLKs of dirty_1000_50_1.csv equal the reference
 * encodings bit for bit for the three schemas, and linking the two dirty files
 * finds the 500 true matches with precision and recall >= 0.99.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "phr/pprl.h"

#define DIR "tests/vectors/pprl/"
static const char secret[] = "probe-linkage-secret";

static void load(struct phr_buf *b, const char *path)
{
	phr_buf_init(b, 0);
	assert_int_equal(phr_file_read(b, path, (size_t)16 << 20), PHR_OK);
}

static struct phr_pprl_schema *schema(const char *path)
{
	struct phr_buf b;
	load(&b, path);
	struct phr_pprl_schema *s = NULL;
	char err[200];
	int rc = phr_pprl_schema_parse(&s, err, sizeof(err), (const char *)b.data, b.len);
	if (rc)
		print_error("%s: %s\n", path, err);
	assert_int_equal(rc, PHR_OK);
	phr_buf_release(&b);
	return s;
}

static void check_schema(const char *name)
{
	char sp[256], cp[256];
	snprintf(sp, sizeof(sp), DIR "clk-schema-%s.json", name);
	snprintf(cp, sizeof(cp), DIR "clk-dirty_1000_50_1-%s.txt", name);
	struct phr_pprl_schema *s = schema(sp);
	struct phr_pprl_keys *k = NULL;
	assert_int_equal(phr_pprl_keys_derive(&k, s, (const uint8_t *)secret, strlen(secret)), PHR_OK);
	struct phr_buf csv, ref, out;
	load(&csv, DIR "dirty_1000_50_1.csv");
	load(&ref, cp);
	phr_buf_init(&out, 0);
	size_t rows = 0;
	assert_int_equal(phr_pprl_encode_csv(&out, &rows, s, k, (const char *)csv.data, csv.len), PHR_OK);
	assert_int_equal(rows, 1000);
	/* compare line by line to report the first difference */
	const char *o = (const char *)out.data, *r = (const char *)ref.data;
	size_t same = 0;
	for (size_t i = 0; i < rows; i++) {
		const char *oe = strchr(o, '\n'), *re = strchr(r, '\n');
		assert_non_null(oe);
		assert_non_null(re);
		if (oe - o == re - r && !memcmp(o, r, (size_t)(oe - o)))
			same++;
		else if (same == i)
			print_message("%s: first difference at record %zu\n", name, i);
		o = oe + 1;
		r = re + 1;
	}
	print_message("%s: %zu/1000 CLKs equal to clkhash\n", name, same);
	assert_int_equal(same, 1000);
	assert_int_equal(out.len, ref.len);
	assert_memory_equal(out.data, ref.data, ref.len);
	/* a different secret gives different CLKs */
	struct phr_pprl_keys *k2 = NULL;
	assert_int_equal(phr_pprl_keys_derive(&k2, s, (const uint8_t *)"other", 5), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_pprl_encode_csv(&out, &rows, s, k2, (const char *)csv.data, csv.len), PHR_OK);
	assert_memory_not_equal(out.data, ref.data, 172);
	phr_pprl_keys_free(k2);
	phr_buf_release(&csv);
	phr_buf_release(&ref);
	phr_buf_release(&out);
	phr_pprl_keys_free(k);
	phr_pprl_schema_free(s);
}

static void test_blake_20(void **state)
{
	(void)state;
	check_schema("blake-20");
}

static void test_blake_f100(void **state)
{
	(void)state;
	check_schema("blake-F100");
}

static void test_double_ns_20(void **state)
{
	(void)state;
	check_schema("double_ns-20");
}

/* rec_id of every data row (first cell) */
struct ids {
	char id[1100][16];
	size_t n;
};

static int collect_id(void *ctx, size_t row, const char *const *cells, const size_t *lens, size_t n)
{
	struct ids *ids = ctx;
	(void)n;
	assert_true(row < 1100 && lens[0] < 16);
	memcpy(ids->id[row], cells[0], lens[0]);
	ids->id[row][lens[0]] = 0;
	ids->n = row + 1;
	return 0;
}

static uint8_t *encode_file(size_t *n, size_t *nb, struct ids *ids, const struct phr_pprl_schema *s,
			    const struct phr_pprl_keys *k, const char *path)
{
	struct phr_buf csv, out;
	load(&csv, path);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_pprl_encode_csv(&out, NULL, s, k, (const char *)csv.data, csv.len), PHR_OK);
	assert_int_equal(phr_pprl_csv_parse((const char *)csv.data, csv.len, true, 14, collect_id, ids), 0);
	uint8_t *clks = NULL;
	assert_int_equal(phr_pprl_clks_parse(&clks, n, nb, (const char *)out.data, out.len), PHR_OK);
	assert_int_equal(*n, ids->n);
	phr_buf_release(&csv);
	phr_buf_release(&out);
	return clks;
}

static void test_link_quality(void **state)
{
	(void)state;
	struct phr_pprl_schema *s = schema(DIR "clk-schema-blake-20.json");
	struct phr_pprl_keys *k = NULL;
	assert_int_equal(phr_pprl_keys_derive(&k, s, (const uint8_t *)secret, strlen(secret)), PHR_OK);
	static struct ids ia, ib;
	size_t na, nb, wa, wb;
	uint8_t *a = encode_file(&na, &wa, &ia, s, k, DIR "dirty_1000_50_1.csv");
	uint8_t *b = encode_file(&nb, &wb, &ib, s, k, DIR "dirty_1000_50_2.csv");
	assert_int_equal(wa, wb);
	size_t truth = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			truth += strcmp(ia.id[i], ib.id[j]) == 0;
	assert_int_equal(truth, 500);
	static const double thresholds[] = { 0.95, 0.9, 0.85, 0.8 };
	double best_f = 0;
	for (size_t t = 0; t < sizeof(thresholds) / sizeof(thresholds[0]); t++) {
		struct phr_pprl_match *m = NULL;
		size_t nm = 0;
		struct phr_pprl_link_stats st;
		assert_int_equal(phr_pprl_link(&m, &nm, &st, a, na, b, nb, wa, thresholds[t]), PHR_OK);
		size_t tp = 0;
		for (size_t i = 0; i < nm; i++)
			tp += strcmp(ia.id[m[i].a], ib.id[m[i].b]) == 0;
		double p = nm ? (double)tp / nm : 0, r = (double)tp / truth;
		print_message("threshold %.2f: %zu links, %zu true; precision %.4f recall %.4f "
			      "(compared %llu of %llu pairs after blocking, %llu candidates)\n",
			      thresholds[t], nm, tp, p, r, (unsigned long long)st.pairs_compared,
			      (unsigned long long)st.pairs_total, (unsigned long long)st.candidates);
		/* one-to-one */
		for (size_t i = 1; i < nm; i++)
			assert_true(m[i - 1].score >= m[i].score);
		if (thresholds[t] == 0.9) {
			assert_true(p >= 0.99);
			assert_true(r >= 0.99);
		}
		if (2 * p * r / (p + r + 1e-12) > best_f)
			best_f = 2 * p * r / (p + r + 1e-12);
		phr_free(m);
	}
	assert_true(best_f >= 0.99);
	phr_free(a);
	phr_free(b);
	phr_pprl_keys_free(k);
	phr_pprl_schema_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake_20),
		cmocka_unit_test(test_blake_f100),
		cmocka_unit_test(test_double_ns_20),
		cmocka_unit_test(test_link_quality),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
