/*
 * Storage writes behind (src/chain/db.c): a block's storage slots go into a log and
 * a table in memory and reach the storage table at a flush. Checked here: values
 * after flushes (PHR_CHAIN_FLUSH_SLOTS small) and without one, across a restart (the
 * log applied at open, the state root checked by the node against the head), an
 * eth_call with a state override (a throw-away state over the database must see the
 * slots behind), and evm_snapshot/evm_revert with slots behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

/* 32 bytes of call data: return sload(word 0); else sstore(word 0, word 1) */
static const uint8_t store_init[] = {
	0x60, 0x1c, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x1c, 0x60, 0x00, 0xf3,
	/* runtime */
	0x36, 0x60, 0x20, 0x14, 0x60, 0x0f, 0x57, 0x60, 0x20, 0x35, 0x60, 0x00, 0x35, 0x55,
	0x00, 0x5b, 0x60, 0x00, 0x35, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
};

#define SLOTS 24

static char *dir;
static struct phr_chain_node *node;
static struct phr_chain *chain;
static uint8_t contract[20];
static uint64_t expect[SLOTS];

static void word(uint8_t w[32], uint64_t v)
{
	memset(w, 0, 32);
	for (int i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(v >> (8 * i));
}

static void node_up(void)
{
	struct phr_chain_config cfg = { .datadir = dir, .dev = true };

	/* a failed open includes a state root that does not match the head's */
	assert_int_equal(phr_chain_node_open(&node, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&chain, node), PHR_OK);
}

static void node_down(void)
{
	phr_chain_close(chain);
	phr_chain_node_close(node);
}

static void store(uint64_t slot, uint64_t val)
{
	uint8_t data[64], hash[32];

	word(data, slot);
	word(data + 32, val);
	assert_int_equal(chain_test_send(chain, hash, 0, contract, data, sizeof(data), 0), PHR_OK);
	expect[slot] = val;
}

/* every slot through eth_call (state: memory) and eth_call with an override of
 * another account (a throw-away state reading the database) */
static void check(void)
{
	char addr[43], other[] = "0x00000000000000000000000000000000000000c1";

	assert_int_equal(phr_hex_encode(addr, sizeof(addr), contract, 20, true), PHR_OK);
	for (uint64_t i = 0; i < SLOTS; i++) {
		struct phr_rpc_error err = { 0 };
		struct phr_buf out;
		uint8_t k[32], want[32];
		char khex[67];
		json_t *res = NULL;

		word(k, i);
		word(want, expect[i]);
		phr_buf_init(&out, 64);
		assert_int_equal(phr_chain_call(chain, &out, NULL, contract, k, 32), PHR_OK);
		assert_int_equal(out.len, 32);
		assert_memory_equal(out.data, want, 32);
		phr_buf_release(&out);
		assert_int_equal(phr_hex_encode(khex, sizeof(khex), k, 32, true), PHR_OK);
		assert_int_equal(phr_chain_request(chain, &res, &err, "eth_call",
						   json_pack("[{s:s, s:s}, s, {s:{s:s}}]", "to", addr,
							     "data", khex, "latest", other,
							     "balance", "0x1")),
				 PHR_OK);
		{
			char whex[67];

			assert_int_equal(phr_hex_encode(whex, sizeof(whex), want, 32, true), PHR_OK);
			assert_string_equal(json_string_value(res), whex);
		}
		json_decref(res);
		phr_rpc_error_release(&err);
	}
}

static void run(const char *flush)
{
	struct phr_chain_receipt r;
	uint8_t hash[32];

	memset(expect, 0, sizeof(expect));
	if (flush)
		setenv("PHR_CHAIN_FLUSH_SLOTS", flush, 1);
	else
		unsetenv("PHR_CHAIN_FLUSH_SLOTS");
	dir = chain_tmpdir();
	assert_non_null(dir);
	node_up();
	assert_int_equal(chain_test_send(chain, hash, 0, NULL, store_init, sizeof(store_init), 0),
			 PHR_OK);
	assert_int_equal(phr_chain_receipt(chain, &r, hash), PHR_OK);
	assert_true(r.has_contract);
	memcpy(contract, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	for (uint64_t i = 0; i < SLOTS; i++)
		store(i, 1000 + i);
	store(3, 0);    /* deleted */
	store(5, 7);    /* overwritten */
	store(5, 0x77); /* twice */
	check();
	node_down();
	node_up();
	check();
	/* a snapshot with slots behind: the next blocks write through */
	{
		struct phr_rpc_error err = { 0 };
		json_t *snap = NULL, *res = NULL;
		uint64_t saved[SLOTS];

		memcpy(saved, expect, sizeof(saved));
		store(7, 99);
		assert_int_equal(phr_chain_request(chain, &snap, &err, "evm_snapshot", NULL), PHR_OK);
		memcpy(saved, expect, sizeof(saved));
		store(8, 0);
		store(3, 33);
		store(9, 4242);
		check();
		assert_int_equal(phr_chain_request(chain, &res, &err, "evm_revert", json_pack("[O]", snap)),
				 PHR_OK);
		assert_true(json_is_true(res));
		memcpy(expect, saved, sizeof(expect));
		check();
		json_decref(snap);
		json_decref(res);
		phr_rpc_error_release(&err);
	}
	store(10, 5);
	node_down();
	node_up();
	check();
	node_down();
	chain_rmdir(dir);
	phr_free(dir);
}

/* flushes at most every 4 slots: most blocks flush */
static void test_frequent_flushes(void **state)
{
	(void)state;
	run("4");
}

/* the default bound: nothing flushes until the node restarts */
static void test_log_only(void **state)
{
	(void)state;
	run(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frequent_flushes),
		cmocka_unit_test(test_log_only),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
