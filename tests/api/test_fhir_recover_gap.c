/*
 * Writes whose mint transaction can never be mined as sent do not leave their
 * sender waiting 30 s (src/phr/chainops.c wait_mined; docs/fhir.md
 * "Recovery"): the node's nonce cache of the provider is made to run ahead of
 * the chain (a record minted, then the chain reverted to a snapshot before
 * it), so the next record's transaction waits behind a nonce no transaction
 * holds. The sender sees the gap at two checks in a row, fills it with a
 * transfer of nothing to itself, and its record is minted in seconds. Then a
 * transaction waiting there is replaced in the chain's pool by another of
 * the same key and nonce at a higher price (dropped, from its sender's view):
 * its sender finds it gone at its next check and, its resend refused, fails
 * in seconds with the chain's error instead of a 30 s timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_test_util.h"
#include "phr/chain.h"
#include "phr/rpc.h"
#include "phr/tx.h"

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

struct submit {
	const struct phr_identity *prov, *pat;
	int rv;
	double took;
};

static void *submit_thread(void *arg)
{
	struct submit *s = arg;
	static const char c[] = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueInteger\":3}";
	struct phr_record_receipt rc;
	double t0 = now_s();

	s->rv = phr_node_record_submit(fx.node, &rc, s->prov, s->pat->address, 5, NULL, (const uint8_t *)c, strlen(c));
	s->took = now_s() - t0;
	return NULL;
}

/* Sends a transfer of nothing to itself from @p who at @p nonce, every fee at @p price. */
static void send_self(const struct phr_identity *who, uint64_t nonce, const struct phr_u256 *price)
{
	struct phr_tx tx;
	struct phr_buf raw;
	struct phr_rpc_error err;
	uint8_t hash[32];

	phr_tx_init(&tx);
	phr_buf_init(&raw, 0);
	memset(&err, 0, sizeof(err));
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = phr_node_deployment(fx.node)->chain_id;
	tx.nonce = nonce;
	tx.gas_limit = 21000;
	tx.has_to = true;
	memcpy(tx.to, who->address, 20);
	tx.max_fee = *price;
	tx.max_priority_fee = *price;
	assert_int_equal(phr_tx_sign(&tx, who->seckey), PHR_OK);
	assert_int_equal(phr_tx_encode(&raw, &tx), PHR_OK);
	assert_int_equal(phr_chain_send_raw(phr_node_chain(fx.node), hash, &err, raw.data, raw.len), PHR_OK);
	phr_tx_release(&tx);
	phr_buf_release(&raw);
}

static void test_dropped_fails_fast(void **state)
{
	static const char a[] = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueInteger\":4}";
	struct submit s = { phr_node_identity_by_name(fx.node, "provider"), phr_node_identity_by_name(fx.node, "patient"),
			    -1, 0 };
	struct phr_record_receipt rc;
	struct phr_u256 price, high;
	pthread_t t;
	json_t *snap;
	uint64_t n0;
	double t0;

	(void)state;
	n0 = nonce_of(s.prov->address, "latest");
	snap = rpc("evm_snapshot", json_array());
	assert_int_equal(phr_node_record_submit(fx.node, &rc, s.prov, s.pat->address, 5, NULL, (const uint8_t *)a,
						strlen(a)),
			 PHR_OK);
	json_decref(rpc("evm_revert", json_pack("[O]", snap)));
	json_decref(snap);
	/* the record's transaction waits at n0 + 1 behind the gap at n0 ... */
	assert_int_equal(pthread_create(&t, NULL, submit_thread, &s), 0);
	usleep(1500 * 1000); /* sent by then; its sender checks 2 s after sending, fills the gap at 4 s */
	/* ... and is replaced by another of the same nonce at four times the price */
	assert_int_equal(phr_chain_gas_price(phr_node_chain(fx.node), &price), PHR_OK);
	phr_u256_shl(&high, &price, 2);
	send_self(s.prov, n0 + 1, &high);
	t0 = now_s();
	assert_int_equal(pthread_join(t, NULL), 0);
	fprintf(stderr, "the replaced write failed after %.1f s (%.1f s after the replacement): %s\n", s.took,
		now_s() - t0, phr_strerror(s.rv));
	assert_int_not_equal(s.rv, PHR_OK);
	assert_int_not_equal(s.rv, PHR_ERR_TIMEOUT);
	assert_true(s.took < 15.0);
	assert_true(s.took > 1.9); /* found gone at a check, not refused at its first send */
	/* the next write fills the gap (the cache was reset): it and the replacement are mined */
	t0 = now_s();
	assert_int_equal(phr_node_record_submit(fx.node, &rc, s.prov, s.pat->address, 5, NULL, (const uint8_t *)a,
						strlen(a)),
			 PHR_OK);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(nonce_of(s.prov->address, "latest"), n0 + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_filled),
		cmocka_unit_test(test_dropped_fails_fast),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
