/* TOTP: all 18 RFC 6238 Appendix B vectors, RFC 4226 Appendix D HOTP values,
 * verification windows, base32 secrets and otpauth:// URIs. */
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

static const char seed1[] = "12345678901234567890";
static const char seed256[] = "12345678901234567890123456789012";
static const char seed512[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void test_rfc6238_appendix_b(void **state)
{
	(void)state;
	FILE *f = fopen("tests/vectors/rfc6238/appendix_b.txt", "r");
	char line[256], mode[16], want[16];
	unsigned long long t;
	int count = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		enum phr_totp_alg alg;
		const char *seed;
		uint32_t code;
		char got[16];

		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%llu %15s %15s", &t, mode, want), 3);
		if (!strcmp(mode, "SHA1")) {
			alg = PHR_TOTP_SHA1;
			seed = seed1;
		} else if (!strcmp(mode, "SHA256")) {
			alg = PHR_TOTP_SHA256;
			seed = seed256;
		} else {
			assert_string_equal(mode, "SHA512");
			alg = PHR_TOTP_SHA512;
			seed = seed512;
		}
		assert_int_equal(phr_totp(&code, alg, (const uint8_t *)seed, strlen(seed), t, 30, 8), PHR_OK);
		snprintf(got, sizeof(got), "%08u", (unsigned)code);
		assert_string_equal(got, want);
		assert_int_equal(phr_totp_verify(alg, (const uint8_t *)seed, strlen(seed), t, 30, 8, 0, want),
				 PHR_OK);
		count++;
	}
	fclose(f);
	assert_int_equal(count, 18);
}

static void test_rfc4226_hotp(void **state)
{
	(void)state;
	static const uint32_t want[10] = { 755224, 287082, 359152, 969429, 338314,
					   254676, 287922, 162583, 399871, 520489 };
	for (uint64_t c = 0; c < 10; c++) {
		uint32_t code;
		assert_int_equal(phr_hotp(&code, PHR_TOTP_SHA1, (const uint8_t *)seed1, 20, c, 6), PHR_OK);
		assert_int_equal(code, want[c]);
	}
}

static void test_verify_window(void **state)
{
	(void)state;
	const uint8_t *k = (const uint8_t *)seed1;
	/* 94287082 is the code of step 1 (t = 30..59) */
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 59, 30, 8, 0, "94287082"), PHR_OK);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 60, 30, 8, 0, "94287082"),
			 PHR_ERR_UNAUTHENTICATED);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 60, 30, 8, 1, "94287082"), PHR_OK);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 0, 30, 8, 1, "94287082"), PHR_OK);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 59, 30, 8, 0, "94287083"),
			 PHR_ERR_UNAUTHENTICATED);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 59, 30, 8, 0, "9428708"), PHR_ERR_PARSE);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 59, 30, 8, 0, "9428708a"), PHR_ERR_PARSE);
	assert_int_equal(phr_totp_verify(PHR_TOTP_SHA1, k, 20, 59, 0, 8, 0, "94287082"), PHR_ERR_INVALID);
	uint32_t c;
	assert_int_equal(phr_totp(&c, PHR_TOTP_SHA1, k, 20, 59, 30, 5), PHR_ERR_INVALID);
	assert_int_equal(phr_totp(&c, (enum phr_totp_alg)7, k, 20, 59, 30, 6), PHR_ERR_INVALID);
	/* 6 digits: the last six of the 8-digit value */
	assert_int_equal(phr_totp(&c, PHR_TOTP_SHA1, k, 20, 59, 30, 6), PHR_OK);
	assert_int_equal(c, 287082);
}

static void test_base32_secret(void **state)
{
	(void)state;
	char enc[64];
	uint8_t dec[64];
	size_t n;

	/* RFC 4648 section 10 examples, upper-case and padding-free */
	assert_int_equal(phr_totp_secret_encode(enc, sizeof(enc), (const uint8_t *)"foobar", 6), PHR_OK);
	assert_string_equal(enc, "MZXW6YTBOI");
	assert_int_equal(phr_totp_secret_encode(enc, sizeof(enc), (const uint8_t *)seed1, 20), PHR_OK);
	assert_string_equal(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	/* pasted forms: padding, lower case, spaces and dashes */
	static const char *forms[] = { "MZXW6YTBOI======", "mzxw6ytboi", "MZXW 6YTB OI", "mzxw-6ytb-oi==" };
	for (size_t i = 0; i < PHR_ARRAY_LEN(forms); i++) {
		assert_int_equal(phr_totp_secret_decode(dec, sizeof(dec), &n, forms[i]), PHR_OK);
		assert_int_equal(n, 6);
		assert_memory_equal(dec, "foobar", 6);
	}
	assert_int_equal(phr_totp_secret_decode(dec, sizeof(dec), &n, "MZXW6YTB0I"), PHR_ERR_PARSE);
	assert_int_equal(phr_totp_secret_decode(dec, 3, &n, "MZXW6YTBOI"), PHR_ERR_TOO_LARGE);
}

static void test_uri(void **state)
{
	(void)state;
	struct phr_buf b;

	phr_buf_init(&b, 0);
	assert_int_equal(phr_totp_uri(&b, "PHR Clinic", "alice@example.org", (const uint8_t *)seed1, 20,
				      PHR_TOTP_SHA1, 6, 30), PHR_OK);
	assert_string_equal((char *)b.data,
			    "otpauth://totp/PHR%20Clinic:alice%40example.org?secret="
			    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=PHR%20Clinic&algorithm=SHA1&digits=6&period=30");
	phr_buf_reset(&b);
	assert_int_equal(phr_totp_uri(&b, "", "bob", (const uint8_t *)"foobar", 6, PHR_TOTP_SHA256, 8, 60),
			 PHR_OK);
	assert_string_equal((char *)b.data,
			    "otpauth://totp/bob?secret=MZXW6YTBOI&algorithm=SHA256&digits=8&period=60");
	assert_int_equal(phr_totp_uri(&b, "a:b", "bob", (const uint8_t *)"x", 1, PHR_TOTP_SHA1, 6, 30),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_totp_uri(&b, "a", "", (const uint8_t *)"x", 1, PHR_TOTP_SHA1, 6, 30),
			 PHR_ERR_INVALID);
	phr_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_appendix_b), cmocka_unit_test(test_rfc4226_hotp),
		cmocka_unit_test(test_verify_window),      cmocka_unit_test(test_base32_secret),
		cmocka_unit_test(test_uri),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
