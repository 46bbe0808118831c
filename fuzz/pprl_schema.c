/*
 * Fuzz the PPRL parsers: a clkhash v3 linkage schema, then CSV records encoded
 * with it, and the same bytes as a file of base64 CLKs. Input: SCHEMA \0 CSV (with
 * no NUL, the whole input is the CSV, encoded with a fixed schema).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/pprl.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_schema[] =
	"{\"version\":3,\"clkConfig\":{\"l\":256,\"xor_folds\":1,\"kdf\":{\"type\":\"HKDF\",\"hash\":\"SHA256\","
	"\"keySize\":64}},\"features\":[{\"identifier\":\"id\",\"ignored\":true},"
	"{\"identifier\":\"a\",\"format\":{\"type\":\"string\",\"encoding\":\"utf-8\",\"maxLength\":30},"
	"\"hashing\":{\"comparison\":{\"type\":\"ngram\",\"n\":2},\"strategy\":{\"bitsPerToken\":20},"
	"\"hash\":{\"type\":\"blakeHash\"}}},"
	"{\"identifier\":\"b\",\"format\":{\"type\":\"string\",\"encoding\":\"utf-8\"},"
	"\"hashing\":{\"comparison\":{\"type\":\"ngram\",\"n\":1,\"positional\":true},"
	"\"strategy\":{\"bitsPerFeature\":50},\"hash\":{\"type\":\"doubleHash\",\"prevent_singularity\":true},"
	"\"missingValue\":{\"sentinel\":\"NA\",\"replaceWith\":\"\"}}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const char *in = (const char *)data;
	const uint8_t *nul = memchr(data, 0, size);
	const char *schema = fixed_schema, *csv = in;
	size_t schema_len = sizeof(fixed_schema) - 1, csv_len = size;
	if (nul) {
		schema = in;
		schema_len = (size_t)(nul - data);
		csv = (const char *)nul + 1;
		csv_len = size - schema_len - 1;
	}
	struct phr_pprl_schema *s = NULL;
	char err[128];
	if (phr_pprl_schema_parse(&s, err, sizeof(err), schema, schema_len) == PHR_OK) {
		struct phr_pprl_keys *k = NULL;
		if (phr_pprl_keys_derive(&k, s, (const uint8_t *)"fuzz", 4) == PHR_OK) {
			struct phr_buf out;
			phr_buf_init(&out, 1 << 20);
			size_t rows = 0;
			int rc = phr_pprl_encode_csv(&out, &rows, s, k, csv, csv_len);
			if (rc == PHR_OK && rows == 0 && out.len)
				abort();
			/* what was encoded parses back as CLKs of the schema's length */
			uint8_t *clks = NULL;
			size_t n = 0, nb = 0;
			if (out.len) {
				if (phr_pprl_clks_parse(&clks, &n, &nb, (const char *)out.data, out.len) != PHR_OK ||
				    n != rows || nb * 8 != phr_pprl_schema_bits(s))
					abort();
				struct phr_pprl_match *m = NULL;
				size_t nm = 0;
				if (phr_pprl_link(&m, &nm, NULL, clks, n, clks, n, nb, 0.5) == PHR_OK && nm > n)
					abort();
				phr_free(m);
				phr_free(clks);
			}
			phr_buf_release(&out);
			phr_pprl_keys_free(k);
		}
		phr_pprl_schema_free(s);
	}
	uint8_t *clks = NULL;
	size_t n, nb;
	if (phr_pprl_clks_parse(&clks, &n, &nb, in, size) == PHR_OK)
		phr_free(clks);
	return 0;
}
