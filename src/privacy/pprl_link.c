/*
 * PPRL input parsing (CSV, CLK files), Dice similarity, blocking and greedy
 * one-to-one matching.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "phr/pprl.h"

#define CSV_MAX_CELLS 256u
#define CSV_CELL_MAX ((size_t)64 << 10)
#define MAX_CANDIDATES ((size_t)1 << 27)

static bool strip_char(char c)
{
	return c == ' ' || c == '\r' || c == '\n';
}

struct csv_row {
	struct phr_buf text;              /* cells, each followed by NUL */
	size_t start[CSV_MAX_CELLS + 1];  /* offsets into text */
	size_t n;
	const char *cells[CSV_MAX_CELLS];
	size_t lens[CSV_MAX_CELLS];
};

/* Ends the current cell: strips it and records its bounds. */
static int end_cell(struct csv_row *r)
{
	if (r->n >= CSV_MAX_CELLS)
		return PHR_ERR_TOO_LARGE;
	size_t b = r->start[r->n];
	if (r->text.len - b > CSV_CELL_MAX)
		return PHR_ERR_TOO_LARGE;
	int rc = phr_buf_append_byte(&r->text, 0);
	if (rc)
		return rc;
	r->n++;
	r->start[r->n] = r->text.len;
	return PHR_OK;
}

static int emit_row(struct csv_row *r, size_t pad, size_t row, phr_pprl_row_fn fn, void *ctx)
{
	static const char empty[1] = "";
	size_t n = r->n;
	for (size_t i = 0; i < n; i++) {
		const char *c = (const char *)r->text.data + r->start[i];
		size_t l = r->start[i + 1] - r->start[i] - 1;
		while (l && strip_char(c[0]))
			c++, l--;
		while (l && strip_char(c[l - 1]))
			l--;
		r->cells[i] = c;
		r->lens[i] = l;
	}
	for (; n < pad && n < CSV_MAX_CELLS; n++) {
		r->cells[n] = empty;
		r->lens[n] = 0;
	}
	return fn(ctx, row, r->cells, r->lens, n);
}

int phr_pprl_csv_parse(const char *csv, size_t len, bool header, size_t pad, phr_pprl_row_fn fn,
		       void *ctx)
{
	struct csv_row *r = phr_calloc(1, sizeof(*r));
	if (!r)
		return PHR_ERR_NOMEM;
	phr_buf_init(&r->text, CSV_MAX_CELLS * CSV_CELL_MAX);
	int rc = PHR_OK;
	size_t row = 0, i = 0;
	while (i < len && rc == PHR_OK) {
		/* one record */
		r->n = 0;
		r->start[0] = 0;
		phr_buf_reset(&r->text);
		bool any = false;
		for (;;) {
			/* one cell */
			if (i < len && csv[i] == '"') {
				i++;
				any = true;
				for (;;) {
					if (i >= len) {
						rc = PHR_ERR_PARSE;
						goto out;
					}
					if (csv[i] == '"') {
						if (i + 1 < len && csv[i + 1] == '"') {
							rc = phr_buf_append_byte(&r->text, '"');
							i += 2;
						} else {
							i++;
							break;
						}
					} else {
						rc = phr_buf_append_byte(&r->text, (uint8_t)csv[i++]);
					}
					if (rc)
						goto out;
				}
				while (i < len && (csv[i] == '\r' || csv[i] == ' '))
					i++;
				if (i < len && csv[i] != ',' && csv[i] != '\n') {
					rc = PHR_ERR_PARSE;
					goto out;
				}
			} else {
				size_t s = i;
				while (i < len && csv[i] != ',' && csv[i] != '\n')
					i++;
				if (i > s && (rc = phr_buf_append(&r->text, csv + s, i - s)))
					goto out;
			}
			if ((rc = end_cell(r)))
				goto out;
			if (i < len && csv[i] == ',') {
				i++;
				any = true;
				continue;
			}
			i++; /* the newline, or past the end */
			break;
		}
		/* a blank line (nothing, or a lone CR) is not a record */
		if (!any && r->n == 1 &&
		    (r->text.len == 1 || (r->text.len == 2 && r->text.data[0] == '\r')))
			continue;
		if (row == 0 && header) {
			row++;
			continue;
		}
		rc = emit_row(r, pad, header ? row - 1 : row, fn, ctx);
		row++;
	}
out:
	phr_buf_release(&r->text);
	phr_free(r);
	return rc;
}

int phr_pprl_clks_parse(uint8_t **clks, size_t *n, size_t *nbytes, const char *text, size_t len)
{
	*clks = NULL;
	*n = 0;
	*nbytes = 0;
	struct phr_buf out;
	phr_buf_init(&out, (size_t)1 << 30);
	uint8_t tmp[PHR_PPRL_MAX_BITS / 8];
	size_t count = 0, width = 0;
	int rc = PHR_OK;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		size_t le = e;
		while (le > i && (text[le - 1] == '\r' || text[le - 1] == ' '))
			le--;
		if (le > i) {
			size_t got = 0;
			if (le - i > sodium_base64_ENCODED_LEN(sizeof(tmp), sodium_base64_VARIANT_ORIGINAL) ||
			    sodium_base642bin(tmp, sizeof(tmp), text + i, le - i, NULL, &got, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0 || got == 0 ||
			    (width && got != width)) {
				rc = PHR_ERR_PARSE;
				break;
			}
			width = got;
			if ((rc = phr_buf_append(&out, tmp, got)))
				break;
			count++;
		}
		i = e + 1;
	}
	if (rc) {
		phr_buf_release(&out);
		return rc;
	}
	size_t dl;
	*clks = phr_buf_detach(&out, &dl);
	*n = count;
	*nbytes = width;
	return PHR_OK;
}

/* Popcounts over 64-bit words; on x86-64 a copy compiled for the POPCNT
 * instruction is chosen at run time (the default build targets plain x86-64). */
#define POPCOUNT_BODY(c, expr)                                                       \
	uint32_t c = 0;                                                              \
	size_t i = 0;                                                                \
	for (; i + 8 <= n; i += 8) {                                                 \
		uint64_t x, y;                                                       \
		memcpy(&x, a + i, 8);                                                \
		memcpy(&y, (b ? b : a) + i, 8);                                      \
		c += (uint32_t)__builtin_popcountll(expr);                           \
	}                                                                            \
	for (; i < n; i++)                                                           \
		c += (uint32_t)__builtin_popcount((unsigned)(a[i] & (b ? b : a)[i]));

static uint32_t and_popcount_plain(const uint8_t *a, const uint8_t *b, size_t n)
{
	POPCOUNT_BODY(c, x & y)
	return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) static uint32_t and_popcount_hw(const uint8_t *a, const uint8_t *b,
								     size_t n)
{
	POPCOUNT_BODY(c, x & y)
	return c;
}

static uint32_t and_popcount(const uint8_t *a, const uint8_t *b, size_t n)
{
	static int hw = -1;
	if (hw < 0)
		hw = __builtin_cpu_supports("popcnt") ? 1 : 0;
	return hw ? and_popcount_hw(a, b, n) : and_popcount_plain(a, b, n);
}
#else
static uint32_t and_popcount(const uint8_t *a, const uint8_t *b, size_t n)
{
	return and_popcount_plain(a, b, n);
}
#endif

/* b == NULL counts the bits of a */
uint32_t phr_pprl_popcount(const uint8_t *a, size_t n)
{
	return and_popcount(a, NULL, n);
}

double phr_pprl_dice(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint32_t pa = phr_pprl_popcount(a, n), pb = phr_pprl_popcount(b, n);
	if (pa + pb == 0)
		return 0.0;
	return 2.0 * and_popcount(a, b, n) / (double)(pa + pb);
}

struct pc_index {
	uint32_t pc;
	uint32_t row;
};

static int cmp_pc(const void *x, const void *y)
{
	const struct pc_index *a = x, *b = y;
	if (a->pc != b->pc)
		return a->pc < b->pc ? -1 : 1;
	return a->row < b->row ? -1 : a->row > b->row;
}

static int cmp_match(const void *x, const void *y)
{
	const struct phr_pprl_match *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

int phr_pprl_link(struct phr_pprl_match **out, size_t *nout, struct phr_pprl_link_stats *stats,
		  const uint8_t *a, size_t na, const uint8_t *b, size_t nb, size_t nbytes,
		  double threshold)
{
	*out = NULL;
	*nout = 0;
	if (!(threshold > 0.0 && threshold <= 1.0) || nbytes == 0)
		return PHR_ERR_INVALID;
	if (na > UINT32_MAX || nb > UINT32_MAX)
		return PHR_ERR_TOO_LARGE;
	struct phr_pprl_link_stats st = { .pairs_total = (uint64_t)na * nb };
	struct pc_index *bi = phr_calloc(nb ? nb : 1, sizeof(*bi));
	uint8_t *taken_a = phr_calloc(na ? na : 1, 1), *taken_b = phr_calloc(nb ? nb : 1, 1);
	struct phr_pprl_match *cand = NULL;
	size_t ncand = 0, cap = 0;
	int rc = PHR_OK;
	if (!bi || !taken_a || !taken_b) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	for (size_t j = 0; j < nb; j++)
		bi[j] = (struct pc_index){ phr_pprl_popcount(b + j * nbytes, nbytes), (uint32_t)j };
	if (nb)
		qsort(bi, nb, sizeof(*bi), cmp_pc);
	for (size_t i = 0; i < na; i++) {
		const uint8_t *ca = a + i * nbytes;
		uint32_t pa = phr_pprl_popcount(ca, nbytes);
		/* 2 min / (pa + pb) >= t  <=>  pb in [pa t / (2 - t), pa (2 - t) / t] */
		double lo = pa * threshold / (2.0 - threshold) - 1e-9;
		double hi = pa * (2.0 - threshold) / threshold + 1e-9;
		size_t s = 0, e = nb;
		while (s < e) { /* first index with pc >= lo */
			size_t m = s + (e - s) / 2;
			if (bi[m].pc < lo)
				s = m + 1;
			else
				e = m;
		}
		for (size_t j = s; j < nb && bi[j].pc <= hi; j++) {
			uint32_t pb = bi[j].pc;
			st.pairs_compared++;
			if (pa + pb == 0)
				continue;
			double d = 2.0 * and_popcount(ca, b + (size_t)bi[j].row * nbytes, nbytes) /
				   (double)(pa + pb);
			if (d < threshold)
				continue;
			if (ncand == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				if (nc > MAX_CANDIDATES) {
					rc = PHR_ERR_TOO_LARGE;
					goto out;
				}
				void *p = phr_realloc(cand, nc * sizeof(*cand));
				if (!p) {
					rc = PHR_ERR_NOMEM;
					goto out;
				}
				cand = p;
				cap = nc;
			}
			cand[ncand++] = (struct phr_pprl_match){ (uint32_t)i, bi[j].row, d };
		}
	}
	st.candidates = ncand;
	if (ncand)
		qsort(cand, ncand, sizeof(*cand), cmp_match);
	size_t k = 0;
	for (size_t c = 0; c < ncand; c++) {
		if (taken_a[cand[c].a] || taken_b[cand[c].b])
			continue;
		taken_a[cand[c].a] = taken_b[cand[c].b] = 1;
		cand[k++] = cand[c];
	}
	if (k == 0) {
		phr_free(cand);
		cand = NULL;
	}
	*out = cand;
	*nout = k;
	cand = NULL;
out:
	phr_free(cand);
	phr_free(bi);
	phr_free(taken_a);
	phr_free(taken_b);
	if (stats)
		*stats = st;
	return rc;
}
