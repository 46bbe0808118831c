/* keccak-256 against the Keccak team's ShortMsgKAT_256 (byte-aligned entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"
#include "phr/crypto.h"

#define KAT_PATH "tests/vectors/keccak/keccak256_kat.txt"

static void hexbytes(uint8_t *out, size_t *n, const char *hex)
{
	size_t len = strlen(hex);
	assert_int_equal(len % 2, 0);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
}

static void test_kat_file(void **state)
{
	(void)state;
	FILE *f = fopen(KAT_PATH, "r");
	char line[2048], msg_hex[1024], md_hex[128];
	uint8_t msg[512], md[32], got[32];
	size_t n, mdn;
	int count = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%1023s %127s", msg_hex, md_hex), 2);
		if (strcmp(msg_hex, "\"\"") == 0)
			msg_hex[0] = '\0';
		hexbytes(msg, &n, msg_hex);
		hexbytes(md, &mdn, md_hex);
		assert_int_equal(mdn, 32);
		phr_keccak256(got, msg, n);
		assert_memory_equal(got, md, 32);
		/* the incremental API must agree for every split point */
		for (size_t split = 0; split <= n; split++) {
			struct phr_keccak ctx;
			phr_keccak_init(&ctx);
			phr_keccak_update(&ctx, msg, split);
			phr_keccak_update(&ctx, msg + split, n - split);
			phr_keccak_final(&ctx, got);
			assert_memory_equal(got, md, 32);
		}
		/* and byte by byte */
		struct phr_keccak ctx;
		phr_keccak_init(&ctx);
		for (size_t i = 0; i < n; i++)
			phr_keccak_update(&ctx, msg + i, 1);
		phr_keccak_final(&ctx, got);
		assert_memory_equal(got, md, 32);
		count++;
	}
	fclose(f);
	assert_true(count >= 17);
}

/* Widely published Ethereum keccak-256 values (e.g. in the Solidity and
 * web3 docs): "abc" and the pangram. */
static void test_known_strings(void **state)
{
	(void)state;
	static const struct {
		const char *msg, *md;
	} v[] = {
		{ "abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" },
		{ "The quick brown fox jumps over the lazy dog",
		  "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15" },
		/* the ERC-20 Transfer event topic */
		{ "Transfer(address,address,uint256)",
		  "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef" },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(v); i++) {
		uint8_t got[32], md[32];
		size_t n;
		hexbytes(md, &n, v[i].md);
		phr_keccak256(got, v[i].msg, strlen(v[i].msg));
		assert_memory_equal(got, md, 32);
	}
}

/* A long input crossing many blocks, fed in odd-sized pieces, must equal the
 * one-shot hash (checks the block loop against the byte path). */
static void test_long_streaming(void **state)
{
	(void)state;
	static uint8_t buf[100000];
	uint8_t a[32], b[32];
	struct phr_keccak ctx;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	phr_keccak256(a, buf, sizeof(buf));
	phr_keccak_init(&ctx);
	for (size_t off = 0, step = 1; off < sizeof(buf); step = step * 3 % 1000 + 1) {
		size_t take = step < sizeof(buf) - off ? step : sizeof(buf) - off;
		phr_keccak_update(&ctx, buf + off, take);
		off += take;
	}
	phr_keccak_final(&ctx, b);
	assert_memory_equal(a, b, 32);
	phr_keccak256(b, buf, sizeof(buf) - 1);
	assert_memory_not_equal(a, b, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_file),
		cmocka_unit_test(test_known_strings),
		cmocka_unit_test(test_long_streaming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
