/*
 * Writes whose mint transaction can never be mined as sent do not leave their
 * sender waiting 30 s (src/phr/chainops.c wait_mined; docs/fhir.md
 * "Recovery"): the node's nonce cache of the provider is made to run ahead of
 * the chain (a record minted, then the chain reverted to a snapshot before
 * it), so the next record's transaction waits behind a nonce no transaction
 * holds. The sender sees the gap at two checks in a row, fills it with a
 * transfer of nothing to itself, and its record is minted in seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_test_util.h"
#include "phr/chain.h"
#include "phr/rpc.h"

static struct api_fx fx;

static int setup(void **state)
{
	(void)state;
	return api_fx_start(&fx, true) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static json_t *rpc(const char *method, json_t *params)
{
	struct phr_rpc_error err;
	json_t *res = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_equal(phr_chain_request(phr_node_chain(fx.node), &res, &err, method, params), PHR_OK);
	phr_rpc_error_release(&err);
	return res;
}

static uint64_t nonce_of(const uint8_t addr[20], const char *tag)
{
	json_t *r = rpc("eth_getTransactionCount", json_pack("[o,s]", phr_rpc_data(addr, 20), tag));
	uint64_t n = strtoull(json_string_value(r), NULL, 16);

	json_decref(r);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_gap_filled(void **state)
{
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	static const char a[] = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueInteger\":1}";
	static const char b[] = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueInteger\":2}";
	struct phr_record_receipt rc;
	struct phr_record_meta m;
	json_t *snap;
	uint64_t n0;
	double t0, took;

	(void)state;
	n0 = nonce_of(prov->address, "latest");
	snap = rpc("evm_snapshot", json_array());
	assert_int_equal(phr_node_record_submit(fx.node, &rc, prov, pat->address, 5, NULL, (const uint8_t *)a, strlen(a)),
			 PHR_OK);
	assert_int_equal(nonce_of(prov->address, "latest"), n0 + 1);
	json_decref(rpc("evm_revert", json_pack("[O]", snap)));
	json_decref(snap);
	/* the chain forgot nonce n0's transaction; the node's cache hands out n0 + 1 */
	assert_int_equal(nonce_of(prov->address, "latest"), n0);
	t0 = now_s();
	assert_int_equal(phr_node_record_submit(fx.node, &rc, prov, pat->address, 5, NULL, (const uint8_t *)b, strlen(b)),
			 PHR_OK);
	took = now_s() - t0;
	fprintf(stderr, "minted behind the gap in %.1f s\n", took);
	assert_true(took < 15.0); /* not the 30 s receipt timeout */
	/* the filler took n0, the record n0 + 1 */
	assert_int_equal(nonce_of(prov->address, "latest"), n0 + 2);
	assert_int_equal(phr_node_record_meta(fx.node, &m, &rc.token_id), PHR_OK);
	assert_memory_equal(m.patient, pat->address, 20);
	/* and the next write goes straight through */
	t0 = now_s();
	assert_int_equal(phr_node_record_submit(fx.node, &rc, prov, pat->address, 5, NULL, (const uint8_t *)a, strlen(a)),
			 PHR_OK);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(nonce_of(prov->address, "latest"), n0 + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_filled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
