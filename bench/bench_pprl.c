/*
 * PPRL benchmark: CLK encoding (records/s) for the three fixture schemas, and
 * Dice comparison (pairs/s) with 64-bit popcounts against a naive byte loop that
 * tests every bit, in one run; then the full linkage (blocking + greedy).
 * Usage: bench_pprl [REPO_ROOT]
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <phr/pprl.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int load(struct phr_buf *b, const char *root, const char *name)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/tests/vectors/pprl/%s", root, name);
	phr_buf_init(b, (size_t)64 << 20);
	if (phr_file_read(b, p, (size_t)64 << 20) != PHR_OK) {
		fprintf(stderr, "cannot read %s\n", p);
		return -1;
	}
	return 0;
}

/* the baseline: Dice with a loop over bytes and bits */
static double dice_naive(const uint8_t *a, const uint8_t *b, size_t n)
{
	unsigned pa = 0, pb = 0, both = 0;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 8; j++) {
			int x = a[i] >> j & 1, y = b[i] >> j & 1;
			pa += (unsigned)x;
			pb += (unsigned)y;
			both += (unsigned)(x & y);
		}
	return pa + pb ? 2.0 * both / (pa + pb) : 0.0;
}

static uint8_t *encode(size_t *n, size_t *nb, const char *root, const char *schema, const char *csvname,
		       double *rate)
{
	struct phr_buf sj, csv, out;
	if (load(&sj, root, schema) || load(&csv, root, csvname))
		return NULL;
	struct phr_pprl_schema *s = NULL;
	struct phr_pprl_keys *k = NULL;
	if (phr_pprl_schema_parse(&s, NULL, 0, (const char *)sj.data, sj.len) != PHR_OK ||
	    phr_pprl_keys_derive(&k, s, (const uint8_t *)"probe-linkage-secret", 20) != PHR_OK)
		return NULL;
	size_t rows = 0, total = 0;
	double t0 = now(), t;
	phr_buf_init(&out, (size_t)64 << 20);
	do {
		phr_buf_reset(&out);
		if (phr_pprl_encode_csv(&out, &rows, s, k, (const char *)csv.data, csv.len) != PHR_OK)
			return NULL;
		total += rows;
		t = now() - t0;
	} while (t < 1.0);
	*rate = total / t;
	uint8_t *clks = NULL;
	if (phr_pprl_clks_parse(&clks, n, nb, (const char *)out.data, out.len) != PHR_OK)
		return NULL;
	phr_buf_release(&sj);
	phr_buf_release(&csv);
	phr_buf_release(&out);
	phr_pprl_keys_free(k);
	phr_pprl_schema_free(s);
	return clks;
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : ".";
	static const char *const schemas[] = { "blake-20", "blake-F100", "double_ns-20" };
	for (size_t i = 0; i < 3; i++) {
		char sn[64];
		snprintf(sn, sizeof(sn), "clk-schema-%s.json", schemas[i]);
		size_t n, nb;
		double rate;
		uint8_t *c = encode(&n, &nb, root, sn, "dirty_1000_50_1.csv", &rate);
		if (!c)
			return 1;
		printf("encode %-13s %8.0f records/s (%zu-bit CLKs, 14 columns, 8 hashed)\n", schemas[i],
		       rate, nb * 8);
		phr_free(c);
	}
	size_t na, nb, w, w2;
	double r;
	uint8_t *a = encode(&na, &w, root, "clk-schema-blake-20.json", "dirty_1000_50_1.csv", &r);
	uint8_t *b = encode(&nb, &w2, root, "clk-schema-blake-20.json", "dirty_1000_50_2.csv", &r);
	if (!a || !b)
		return 1;
	volatile double sink = 0;
	double t0 = now();
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			sink += phr_pprl_dice(a + i * w, b + j * w, w);
	double tf = now() - t0;
	t0 = now();
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			sink += dice_naive(a + i * w, b + j * w, w);
	double tn = now() - t0;
	double pf = na * nb / tf, pn = na * nb / tn;
	printf("dice   popcount   %12.0f pairs/s\n", pf);
	printf("dice   byte loop  %12.0f pairs/s (baseline)\n", pn);
	printf("ratio  %.1fx\n", pf / pn);
	struct phr_pprl_match *m = NULL;
	size_t nm = 0;
	struct phr_pprl_link_stats st;
	t0 = now();
	int reps = 0;
	do {
		phr_free(m);
		if (phr_pprl_link(&m, &nm, &st, a, na, b, nb, w, 0.9) != PHR_OK)
			return 1;
		reps++;
	} while (now() - t0 < 1.0);
	double tl = (now() - t0) / reps;
	printf("link   %zux%zu at 0.9: %.1f ms (%llu of %llu pairs scored after blocking, %zu links), "
	       "%.0f pairs/s of the full cross product\n",
	       na, nb, tl * 1e3, (unsigned long long)st.pairs_compared, (unsigned long long)st.pairs_total, nm,
	       na * nb / tl);
	phr_free(m);
	phr_free(a);
	phr_free(b);
	return sink < 0;
}
