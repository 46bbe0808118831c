/* Integration test: `phr chain --dev --listen 127.0.0.1:0` driven over HTTP
 * by the phr JSON-RPC client; clean stop on SIGTERM; restart keeps the chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

static pid_t start(const char *dir, unsigned *port)
{
	const char *bin = getenv("PHR_BIN");
	const char *argv[] = { bin, "chain", "--dev", "--listen", "127.0.0.1:0", "--datadir",
			       dir, NULL };

	assert_non_null(bin);
	return chain_spawn(argv, "listening on http://", port);
}

static struct phr_chain *connect_to(unsigned port)
{
	struct phr_chain *c;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(phr_chain_open_remote(&c, url), PHR_OK);
	return c;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

/* POSTs @p len bytes of @p body (or GETs when NULL); returns the HTTP status. */
static long http(unsigned port, const char *body, size_t len)
{
	CURL *h = curl_easy_init();
	char url[64];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

static void test_phr_chain_command(void **state)
{
	char *dir = chain_tmpdir();
	struct phr_chain *c;
	unsigned port = 0;
	uint64_t b0, b1;
	pid_t pid;
	char *big;

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	pid = start(dir, &port);
	assert_true(pid > 0);
	c = connect_to(port);
	chain_scenario_run(c);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	phr_chain_close(c);
	/* HTTP edges: GET is refused, a body over the limit too */
	assert_int_equal(http(port, NULL, 0), 405);
	big = calloc(1, PHR_RPC_MAX_BODY + 2);
	assert_non_null(big);
	memset(big, ' ', PHR_RPC_MAX_BODY + 1);
	assert_int_equal(http(port, big, PHR_RPC_MAX_BODY + 1), 413);
	free(big);
	assert_int_equal(chain_stop(pid, SIGTERM), 0);

	pid = start(dir, &port);
	assert_true(pid > 0);
	c = connect_to(port);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0);
	phr_chain_close(c);
	assert_int_equal(chain_stop(pid, SIGTERM), 0);
	chain_rmdir(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phr_chain_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
