/* EIP-4361 parser: the example message of the EIP, variants and rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "phr/siwe.h"

/* The example of EIP-4361 (https://eips.ethereum.org/EIPS/eip-4361). */
static const char eip_example[] =
	"service.invalid wants you to sign in with your Ethereum account:\n"
	"0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
	"\n"
	"I accept the ServiceOrg Terms of Service: https://service.invalid/tos\n"
	"\n"
	"URI: https://service.invalid/login\n"
	"Version: 1\n"
	"Chain ID: 1\n"
	"Nonce: 32891756\n"
	"Issued At: 2021-09-30T16:25:24Z\n"
	"Resources:\n"
	"- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
	"- https://example.com/my-web2-claim.json";

static int parse(struct phr_siwe *m, const char *s)
{
	return phr_siwe_parse(m, s, strlen(s));
}

static void test_example(void **state)
{
	struct phr_siwe m;

	(void)state;
	assert_int_equal(parse(&m, eip_example), PHR_OK);
	assert_string_equal(m.domain, "service.invalid");
	assert_string_equal(m.statement,
			    "I accept the ServiceOrg Terms of Service: https://service.invalid/tos");
	assert_string_equal(m.uri, "https://service.invalid/login");
	assert_int_equal(m.chain_id, 1);
	assert_string_equal(m.nonce, "32891756");
	assert_int_equal(m.issued_at, 1633019124);
	assert_int_equal(m.n_resources, 2);
	assert_int_equal(m.address[0], 0xc0);
	assert_int_equal(m.address[19], 0xc2);
	assert_int_equal(phr_siwe_check(&m, "service.invalid", 1, 1633019124 + 10, 300), PHR_OK);
	assert_int_equal(phr_siwe_check(&m, "other.invalid", 1, 1633019124 + 10, 300),
			 PHR_ERR_UNAUTHENTICATED);
	assert_int_equal(phr_siwe_check(&m, "service.invalid", 5, 1633019124 + 10, 300),
			 PHR_ERR_UNAUTHENTICATED);
	assert_int_equal(phr_siwe_check(&m, "service.invalid", 1, 1633019124 + 1000, 300),
			 PHR_ERR_EXPIRED);
	assert_int_equal(phr_siwe_check(&m, "service.invalid", 1, 1633019124 - 1000, 300),
			 PHR_ERR_EXPIRED);
}

static void test_optional_fields(void **state)
{
	struct phr_siwe m;
	static const char msg[] =
		"https://example.com:8443 wants you to sign in with your Ethereum account:\n"
		"0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
		"\n"
		"\n"
		"URI: https://example.com:8443/\n"
		"Version: 1\n"
		"Chain ID: 31337\n"
		"Nonce: abcdef1234567890\n"
		"Issued At: 2026-01-02T03:04:05.123+01:00\n"
		"Expiration Time: 2026-01-02T02:09:05Z\n"
		"Not Before: 2026-01-02T01:04:05Z\n"
		"Request ID: req-1\n";

	(void)state;
	assert_int_equal(parse(&m, msg), PHR_OK);
	assert_string_equal(m.scheme, "https");
	assert_string_equal(m.domain, "example.com:8443");
	assert_string_equal(m.statement, "");
	assert_true(m.has_expiration && m.has_not_before);
	assert_int_equal(m.issued_at, 1767319445); /* 02:04:05Z */
	assert_int_equal(m.expiration - m.issued_at, 300);
	assert_string_equal(m.request_id, "req-1");
	assert_int_equal(phr_siwe_check(&m, "example.com:8443", 31337, m.expiration, 3600),
			 PHR_ERR_EXPIRED);
	assert_int_equal(phr_siwe_check(&m, "example.com:8443", 31337, m.issued_at + 1, 3600),
			 PHR_OK);
}

static void replace(char *out, size_t cap, const char *from, const char *to)
{
	const char *p = strstr(eip_example, from);
	size_t pre;

	assert_non_null(p);
	pre = (size_t)(p - eip_example);
	assert_true(pre + strlen(to) + strlen(p + strlen(from)) < cap);
	memcpy(out, eip_example, pre);
	memcpy(out + pre, to, strlen(to));
	memcpy(out + pre + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
}

static void test_rejections(void **state)
{
	static const struct {
		const char *from, *to;
		int rv;
	} cases[] = {
		{ "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", PHR_ERR_INVALID },
		{ "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc", PHR_ERR_PARSE },
		{ "Version: 1", "Version: 2", PHR_ERR_INVALID },
		{ "Nonce: 32891756", "Nonce: 1234567", PHR_ERR_PARSE },
		{ "Nonce: 32891756", "Nonce: 3289-1756", PHR_ERR_PARSE },
		{ "Nonce: 32891756\n", "", PHR_ERR_PARSE },
		{ "Chain ID: 1", "Chain ID: 01", PHR_ERR_PARSE },
		{ "Chain ID: 1", "Chain ID: x", PHR_ERR_PARSE },
		{ "2021-09-30T16:25:24Z", "2021-09-30 16:25:24Z", PHR_ERR_PARSE },
		{ "2021-09-30T16:25:24Z", "2021-02-30T16:25:24Z", PHR_ERR_PARSE },
		{ "2021-09-30T16:25:24Z", "2021-09-30T16:25:24", PHR_ERR_PARSE },
		{ " wants you", " want you", PHR_ERR_PARSE },
		{ "URI: https://service.invalid/login", "URI: no-scheme", PHR_ERR_PARSE },
		{ "URI: ", "Uri: ", PHR_ERR_PARSE },
		{ "Version: 1\n", "", PHR_ERR_PARSE },
		{ "\nURI", "\r\nURI", PHR_ERR_PARSE },
		{ "- https://example.com/my-web2-claim.json", "- https://example.com/x\nextra", PHR_ERR_PARSE },
		{ "- https://example.com/my-web2-claim.json", "not a resource", PHR_ERR_PARSE },
		{ "service.invalid wants", "serv ice.invalid wants", PHR_ERR_PARSE },
	};
	char buf[2048];
	struct phr_siwe m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		replace(buf, sizeof(buf), cases[i].from, cases[i].to);
		if (parse(&m, buf) != cases[i].rv)
			fail_msg("case %zu: %d, want %d", i, parse(&m, buf), cases[i].rv);
	}
	/* NUL inside, too long */
	assert_int_equal(phr_siwe_parse(&m, eip_example, sizeof(eip_example)), PHR_ERR_PARSE);
	{
		static char big[PHR_SIWE_MAX_MESSAGE + 10];
		memset(big, 'a', sizeof(big));
		assert_int_equal(phr_siwe_parse(&m, big, sizeof(big)), PHR_ERR_TOO_LARGE);
	}
	assert_int_equal(phr_siwe_parse(&m, "", 0), PHR_ERR_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_rejections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
