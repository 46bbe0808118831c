/* Interop: the phr JSON-RPC client drives anvil through the same scenario as
 * the embedded chain, and phr's header encoding reproduces anvil's block hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

static pid_t anvil;
static unsigned port;

static int setup(void **state)
{
	const char *src = getenv("PHR_SOURCE_DIR");
	static char path[1024];
	const char *argv[] = { path, "--port", "0", "--hardfork", "cancun", NULL };

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	snprintf(path, sizeof(path), "%s/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
		 src ? src : ".");
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "anvil not installed (%s): skipping\n", path);
		anvil = 0; /* the tests skip themselves */
		return 0;
	}
	anvil = chain_spawn(argv, "Listening on ", &port);
	return anvil > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (anvil > 0)
		chain_stop(anvil, SIGTERM);
	return 0;
}

static struct phr_chain *connect_anvil(void)
{
	struct phr_chain *c;
	char url[64];

	if (anvil == 0)
		skip();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(phr_chain_open_remote(&c, url), PHR_OK);
	return c;
}

static void test_scenario_anvil(void **state)
{
	struct phr_chain *c = connect_anvil();

	(void)state;
	chain_scenario_run(c);
	phr_chain_close(c);
}

static void fixed(uint8_t *out, size_t n, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	assert_int_equal(phr_hex_decode_exact(out, n, s), PHR_OK);
}

static uint64_t qty(const json_t *o, const char *key)
{
	struct phr_rpc_error err = { 0 };
	uint64_t v = 0;

	assert_int_equal(phr_rpc_param_u64(&v, &err, json_object_get(o, key), key), PHR_OK);
	return v;
}

/* anvil's blocks (with transactions and logs) hash the same under phr's header RLP */
static void test_header_hash_matches_anvil(void **state)
{
	struct phr_chain *c = connect_anvil();
	struct phr_rpc_error err = { 0 };
	uint64_t number, b;

	(void)state;
	assert_int_equal(phr_chain_block_number(c, &number), PHR_OK);
	assert_true(number >= 3); /* the scenario ran first */
	for (b = 1; b <= number; b++) {
		struct phr_chain_header h = { 0 };
		uint8_t want[32], got[32], *extra = NULL;
		size_t extra_len = 0;
		json_t *blk = NULL;

		assert_int_equal(phr_chain_request(c, &blk, &err, "eth_getBlockByNumber",
						   json_pack("[o,b]", phr_rpc_quantity(b), 0)),
				 PHR_OK);
		fixed(h.parent_hash, 32, blk, "parentHash");
		fixed(h.ommers_hash, 32, blk, "sha3Uncles");
		fixed(h.coinbase, 20, blk, "miner");
		fixed(h.state_root, 32, blk, "stateRoot");
		fixed(h.tx_root, 32, blk, "transactionsRoot");
		fixed(h.receipts_root, 32, blk, "receiptsRoot");
		fixed(h.bloom, 256, blk, "logsBloom");
		h.number = qty(blk, "number");
		h.gas_limit = qty(blk, "gasLimit");
		h.gas_used = qty(blk, "gasUsed");
		h.timestamp = qty(blk, "timestamp");
		assert_int_equal(phr_rpc_param_bytes(&extra, &extra_len, &err, json_object_get(blk, "extraData"),
						     32, "extra"), PHR_OK);
		if (extra_len)
			memcpy(h.extra, extra, extra_len);
		h.extra_len = extra_len;
		phr_free(extra);
		fixed(h.mix_hash, 32, blk, "mixHash");
		fixed(h.nonce, 8, blk, "nonce");
		h.base_fee = phr_u256_from_u64(qty(blk, "baseFeePerGas"));
		fixed(h.withdrawals_root, 32, blk, "withdrawalsRoot");
		h.blob_gas_used = qty(blk, "blobGasUsed");
		h.excess_blob_gas = qty(blk, "excessBlobGas");
		fixed(h.parent_beacon_root, 32, blk, "parentBeaconBlockRoot");
		fixed(want, 32, blk, "hash");
		assert_int_equal(phr_chain_header_hash(got, &h), PHR_OK);
		assert_memory_equal(got, want, 32);
		json_decref(blk);
	}
	phr_rpc_error_release(&err);
	phr_chain_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_anvil),
		cmocka_unit_test(test_header_hash_matches_anvil),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
