/* Unit tests of the embedded node: headers, base fee, the scenario in-process,
 * JSON-RPC methods through the dispatcher, tx pool rules, restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "chain_test_util.h"
#include "phr/crypto.h"
#include "phr/trie.h"
#include "phr/tx.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	dir = chain_tmpdir();
	assert_non_null(dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	chain_rmdir(dir);
	phr_free(dir);
	return 0;
}

static struct phr_chain_node *open_node(uint64_t block_time)
{
	struct phr_chain_config cfg = { .datadir = dir, .dev = true, .block_time = block_time };
	struct phr_chain_node *n = NULL;

	assert_int_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
	return n;
}

/* One JSON-RPC body through the node's method table. */
static json_t *rpc(struct phr_chain_node *n, const char *body)
{
	struct phr_buf out;
	json_error_t e;
	json_t *j;

	phr_buf_init(&out, 0);
	assert_int_equal(phr_rpc_dispatch(&out, phr_chain_node_methods, n, phr_chain_node_guard, body,
					  strlen(body)),
			 PHR_OK);
	j = json_loadb((const char *)out.data, out.len, 0, &e);
	assert_non_null(j);
	phr_buf_release(&out);
	return j;
}

static const char *result_str(const json_t *r)
{
	const char *s = json_string_value(json_object_get(r, "result"));

	assert_non_null(s);
	return s;
}

static void test_header_roundtrip(void **state)
{
	struct phr_chain_header h = { 0 }, d;
	struct phr_buf b;
	uint8_t h1[32], h2[32];

	(void)state;
	h.number = 1234567;
	h.gas_limit = 30000000;
	h.gas_used = 21000;
	h.timestamp = 1700000000;
	h.base_fee = phr_u256_from_u64(875000000);
	h.extra_len = 3;
	memcpy(h.extra, "phr", 3);
	memset(h.parent_hash, 0x11, 32);
	memcpy(h.ommers_hash, phr_chain_empty_ommers, 32);
	memset(h.bloom + 10, 0xff, 5);
	h.nonce[7] = 1;
	h.blob_gas_used = 131072;
	h.excess_blob_gas = 0;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_chain_header_encode(&b, &h), PHR_OK);
	assert_int_equal(phr_chain_header_decode(&d, b.data, b.len), PHR_OK);
	assert_memory_equal(&d.base_fee, &h.base_fee, sizeof(h.base_fee));
	assert_int_equal(d.number, h.number);
	assert_int_equal(d.extra_len, 3);
	assert_memory_equal(d.bloom, h.bloom, 256);
	assert_int_equal(phr_chain_header_hash(h1, &h), PHR_OK);
	assert_int_equal(phr_chain_header_hash(h2, &d), PHR_OK);
	assert_memory_equal(h1, h2, 32);
	/* a truncated or 19-field header is refused */
	assert_int_not_equal(phr_chain_header_decode(&d, b.data, b.len - 1), PHR_OK);
	phr_buf_release(&b);
}

static void test_base_fee(void **state)
{
	struct phr_u256 base = phr_u256_from_u64(1000000000), next;

	(void)state;
	phr_chain_base_fee_next(&next, &base, 15000000, 30000000);
	assert_int_equal(next.w[0], 1000000000); /* at target: unchanged */
	phr_chain_base_fee_next(&next, &base, 30000000, 30000000);
	assert_int_equal(next.w[0], 1125000000); /* full: +12.5% */
	phr_chain_base_fee_next(&next, &base, 0, 30000000);
	assert_int_equal(next.w[0], 875000000); /* empty: -12.5% */
	phr_chain_base_fee_next(&next, &base, 21000, 30000000);
	assert_int_equal(next.w[0], 875175000);
	base = phr_u256_from_u64(7);
	phr_chain_base_fee_next(&next, &base, 15000001, 30000000);
	assert_int_equal(next.w[0], 8); /* the increase is at least 1 */
}

static void test_scenario_embedded(void **state)
{
	struct phr_chain_node *n = open_node(0);
	struct phr_chain *c;

	(void)state;
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	chain_scenario_run(c);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

static void test_rpc_methods(void **state)
{
	struct phr_chain_node *n = open_node(0);
	json_t *r, *b;
	char body[1024];
	const char *fid;

	(void)state;
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_accounts\"}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "result"), 0)),
			    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
	json_decref(r);
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\","
		   "\"params\":[\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\",\"latest\"]}");
	assert_string_equal(result_str(r), "0x21e19e0c9bab2400000"); /* 10000 ETH */
	json_decref(r);
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_fillTransaction\",\"params\":[{}]}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")),
			 PHR_RPC_METHOD_NOT_FOUND);
	json_decref(r);
	/* a block filter, then eth_sendTransaction from a node-held account */
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_newBlockFilter\"}");
	fid = result_str(r);
	snprintf(body, sizeof(body),
		 "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_sendTransaction\",\"params\":[{"
		 "\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\","
		 "\"to\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"value\":\"0x1\"}]},"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getFilterChanges\",\"params\":[\"%s\"]},"
		 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getFilterChanges\",\"params\":[\"%s\"]},"
		 "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"eth_blockNumber\",\"params\":null}]",
		 fid, fid);
	b = rpc(n, body);
	json_decref(r);
	assert_int_equal(json_array_size(b), 4);
	assert_non_null(json_object_get(json_array_get(b, 0), "result"));
	assert_int_equal(json_array_size(json_object_get(json_array_get(b, 1), "result")), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(b, 2), "result")), 0);
	assert_string_equal(result_str(json_array_get(b, 3)), "0x1");
	/* the transaction is found with its block */
	snprintf(body, sizeof(body),
		 "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getTransactionByHash\",\"params\":[\"%s\"]},"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBlockByNumber\",\"params\":[\"0x1\",true]},"
		 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getTransactionCount\","
		 "\"params\":[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"pending\"]}]",
		 result_str(json_array_get(b, 0)));
	json_decref(b);
	b = rpc(n, body);
	r = json_object_get(json_array_get(b, 0), "result");
	assert_string_equal(json_string_value(json_object_get(r, "blockNumber")), "0x1");
	assert_string_equal(json_string_value(json_object_get(r, "value")), "0x1");
	r = json_object_get(json_array_get(b, 1), "result");
	assert_int_equal(json_array_size(json_object_get(r, "transactions")), 1);
	assert_true(json_is_object(json_array_get(json_object_get(r, "transactions"), 0)));
	assert_string_equal(result_str(json_array_get(b, 2)), "0x1");
	json_decref(b);
	/* eth_call that reverts: code 3 with data (PUSH1 0xaa PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 REVERT as initcode) */
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\",\"params\":[{\"to\":null,"
		   "\"data\":\"0x60aa60005360016000fd\",\"input\":\"0x60aa60005360016000fd\"},\"latest\"]}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "data")), "0xaa");
	json_decref(r);
	/* state overrides: code and a storage word at an empty address, balance */
	r = rpc(n, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\",\"params\":["
		   "{\"to\":\"0x00000000000000000000000000000000000000c0\"},\"latest\",{"
		   "\"0x00000000000000000000000000000000000000c0\":{\"code\":\"0x60005460005260206000f3\","
		   "\"stateDiff\":{\"0x0\":\"0x77\"}}}]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getCode\",\"params\":[\"0x00000000000000000000000000000000000000c0\",\"latest\"]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_call\",\"params\":[{\"to\":\"0x00000000000000000000000000000000000000c0\"},"
		   "\"latest\",{\"0x00000000000000000000000000000000000000c0\":{\"state\":{}}}]}]");
	assert_string_equal(result_str(json_array_get(r, 0)),
			    "0x0000000000000000000000000000000000000000000000000000000000000077");
	assert_string_equal(result_str(json_array_get(r, 1)), "0x"); /* the node's state is untouched */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(r, 2), "error"), "code")),
			 PHR_RPC_INVALID_PARAMS);
	json_decref(r);
	/* estimate of a plain transfer */
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_estimateGas\",\"params\":[{"
		   "\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\","
		   "\"to\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",\"value\":\"0x1\"}]}");
	assert_string_equal(result_str(r), "0x5208");
	json_decref(r);
	/* fee history as cast asks for it */
	r = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_feeHistory\",\"params\":[\"0xa\",\"latest\",[20]]}");
	b = json_object_get(r, "result");
	assert_int_equal(json_array_size(json_object_get(b, "baseFeePerGas")), 3);
	assert_int_equal(json_array_size(json_object_get(b, "gasUsedRatio")), 2);
	assert_int_equal(json_array_size(json_object_get(b, "reward")), 2);
	json_decref(r);
	/* account proof: the first node hashes to the state root */
	r = rpc(n, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getProof\",\"params\":["
		   "\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",[\"0x0\"],\"latest\"]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]}]");
	{
		json_t *proof = json_object_get(json_object_get(json_array_get(r, 0), "result"), "accountProof");
		const char *root = json_string_value(json_object_get(json_object_get(json_array_get(r, 1), "result"), "stateRoot"));
		const char *first = json_string_value(json_array_get(proof, 0));
		uint8_t node[4096], h[32], want[32];
		size_t len = 0;

		assert_non_null(first);
		assert_int_equal(phr_hex_decode(node, sizeof(node), &len, first + 2, strlen(first) - 2), PHR_OK);
		phr_keccak256(h, node, len);
		assert_int_equal(phr_hex_decode_exact(want, 32, root), PHR_OK);
		assert_memory_equal(h, want, 32);
	}
	json_decref(r);
	/* time travel */
	r = rpc(n, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_increaseTime\",\"params\":[3600]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"evm_mine\"},"
		   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"eth_getBlockByNumber\",\"params\":[\"0x1\",false]}]");
	{
		uint64_t t2, t1;
		struct phr_rpc_error err = { 0 };

		assert_int_equal(phr_rpc_param_u64(&t2, &err, json_object_get(json_object_get(json_array_get(r, 2), "result"), "timestamp"), "t"), PHR_OK);
		assert_int_equal(phr_rpc_param_u64(&t1, &err, json_object_get(json_object_get(json_array_get(r, 3), "result"), "timestamp"), "t"), PHR_OK);
		assert_true(t2 >= t1 + 3599); /* block 1 may sit one second ahead of the clock */
	}
	json_decref(r);
	phr_chain_node_close(n);
}

/* Signs a transfer with explicit nonce and fees. */
static void signed_transfer(struct phr_buf *raw, uint64_t nonce, uint64_t max_fee, uint64_t tip)
{
	struct phr_tx tx;
	uint8_t key[32];

	assert_int_equal(phr_bip32_eth_key(key, "test test test test test test test test test test test junk", 1), PHR_OK);
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = 31337;
	tx.nonce = nonce;
	tx.gas_limit = 21000;
	tx.max_fee = phr_u256_from_u64(max_fee);
	tx.max_priority_fee = phr_u256_from_u64(tip);
	tx.has_to = true;
	memset(tx.to, 0x42, 20);
	tx.value = phr_u256_from_u64(1);
	assert_int_equal(phr_tx_sign(&tx, key), PHR_OK);
	phr_buf_init(raw, 0);
	assert_int_equal(phr_tx_encode(raw, &tx), PHR_OK);
	phr_tx_release(&tx);
}

static void test_pool_rules(void **state)
{
	struct phr_chain_node *n = open_node(3600); /* interval mining: txs wait in the pool */
	struct phr_chain *c;
	struct phr_rpc_error err = { 0 };
	struct phr_buf a, b, d, e;
	struct phr_chain_receipt r;
	uint8_t ha[32], hb[32], hd[32], from[20];
	uint64_t nonce, base;

	(void)state;
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &base), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(from, 20, "70997970c51812dc3a010c7d01b50e0d17dc79c8"), PHR_OK);
	assert_int_equal(phr_chain_nonce(c, &nonce, from), PHR_OK);
	signed_transfer(&a, nonce + 1, 10000000000ull, 1000000000); /* a gap: waits */
	signed_transfer(&b, nonce + 1, 10500000000ull, 1050000000); /* +5%: underpriced */
	signed_transfer(&d, nonce + 1, 11000000000ull, 1100000000); /* +10%: replaces */
	signed_transfer(&e, nonce, 10000000000ull, 1000000000);     /* fills the gap */
	assert_int_equal(phr_chain_send_raw(c, ha, &err, a.data, a.len), PHR_OK);
	assert_int_equal(phr_chain_send_raw(c, hb, &err, b.data, b.len), PHR_ERR_STATE);
	assert_non_null(strstr(err.message, "underpriced"));
	phr_rpc_error_release(&err);
	assert_int_equal(phr_chain_send_raw(c, hd, &err, d.data, d.len), PHR_OK);
	assert_int_equal(phr_chain_send_raw(c, hb, &err, d.data, d.len), PHR_ERR_STATE); /* already known */
	phr_rpc_error_release(&err);
	assert_int_equal(phr_chain_nonce(c, &base, from), PHR_OK);
	assert_int_equal(base, nonce); /* the gap keeps "pending" at the first missing nonce */
	assert_int_equal(phr_chain_send_raw(c, hb, &err, e.data, e.len), PHR_OK);
	assert_int_equal(phr_chain_nonce(c, &base, from), PHR_OK);
	assert_int_equal(base, nonce + 2);
	assert_int_equal(phr_chain_receipt(c, &r, hd), PHR_ERR_NOT_FOUND);
	/* evm_mine seals both in nonce order; the replaced one is gone */
	{
		json_t *res = NULL;

		assert_int_equal(phr_chain_request(c, &res, &err, "evm_mine", NULL), PHR_OK);
		json_decref(res);
	}
	assert_int_equal(phr_chain_receipt(c, &r, hb), PHR_OK);
	assert_int_equal(r.tx_index, 0);
	phr_chain_receipt_release(&r);
	assert_int_equal(phr_chain_receipt(c, &r, hd), PHR_OK);
	assert_int_equal(r.tx_index, 1);
	assert_int_equal(r.cumulative_gas, 42000);
	phr_chain_receipt_release(&r);
	assert_int_equal(phr_chain_receipt(c, &r, ha), PHR_ERR_NOT_FOUND);
	/* nonce too low now */
	assert_int_equal(phr_chain_send_raw(c, ha, &err, a.data, a.len), PHR_ERR_STATE);
	assert_non_null(strstr(err.message, "nonce too low"));
	phr_rpc_error_release(&err);
	phr_buf_release(&a);
	phr_buf_release(&b);
	phr_buf_release(&d);
	phr_buf_release(&e);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

/* --block-time: transactions wait in the pool until the interval has passed */
static void test_interval_mining(void **state)
{
	time_t t0 = time(NULL); /* before the node starts its interval */
	struct phr_chain_node *n = open_node(1);
	struct phr_chain *c;
	struct phr_chain_receipt r;
	struct timespec ts = { 1, 100 * 1000 * 1000 };
	uint8_t h1[32], h2[32], to[20];
	uint64_t b0, b1;

	(void)state;
	memset(to, 0x44, 20);
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	assert_int_equal(chain_test_send(c, h1, 3, to, NULL, 0, 1), PHR_OK);
	assert_int_equal(chain_test_send(c, h2, 3, to, NULL, 0, 2), PHR_OK); /* pending nonce counted */
	assert_int_equal(phr_chain_receipt(c, &r, h1), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_chain_node_tick(n), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	if (time(NULL) - t0 < 1)
		assert_int_equal(b1, b0); /* too early: nothing (unless this machine is that slow) */
	nanosleep(&ts, NULL);
	assert_int_equal(phr_chain_node_tick(n), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0 + 1);
	assert_int_equal(phr_chain_receipt(c, &r, h1), PHR_OK);
	assert_int_equal(r.block_number, b0 + 1);
	phr_chain_receipt_release(&r);
	assert_int_equal(phr_chain_receipt(c, &r, h2), PHR_OK);
	assert_int_equal(r.tx_index, 1);
	phr_chain_receipt_release(&r);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

/* a block of two transactions that each log: each receipt holds its own log
 * (found by block and transaction index), also after a restart */
static void test_block_logs_per_tx(void **state)
{
	/* runtime: log1(0, 0, calldataload(0)) */
	static const uint8_t rt[] = { 0x60, 0x00, 0x35, 0x60, 0x00, 0x80, 0xa1, 0x00 };
	uint8_t init[64], h0[32], h[2][32], addr[20], arg[2][32];
	struct phr_chain_node *n = open_node(3600);
	struct phr_chain *c;
	struct phr_chain_receipt r;
	int round, i;

	(void)state;
	memcpy(init, (const uint8_t[]){ 0x60, sizeof(rt), 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3 }, 11);
	memcpy(init + 11, rt, sizeof(rt));
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(chain_test_send(c, h0, 0, NULL, init, 11 + sizeof(rt), 0), PHR_OK);
	json_decref(rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_mine\",\"params\":[]}"));
	assert_int_equal(phr_chain_receipt(c, &r, h0), PHR_OK);
	assert_true(r.status && r.has_contract);
	memcpy(addr, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	for (i = 0; i < 2; i++) {
		memset(arg[i], 0, 32);
		arg[i][31] = (uint8_t)(0x51 + i);
		assert_int_equal(chain_test_send(c, h[i], (uint32_t)i + 1, addr, arg[i], 32, 0), PHR_OK);
	}
	json_decref(rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_mine\",\"params\":[]}"));
	for (round = 0; round < 2; round++) {
		uint64_t block = 0;

		for (i = 0; i < 2; i++) {
			assert_int_equal(phr_chain_receipt(c, &r, h[i]), PHR_OK);
			if (i == 0)
				block = r.block_number;
			assert_int_equal(r.block_number, block);
			assert_int_equal(r.tx_index, (uint64_t)i);
			assert_int_equal(r.logs_count, 1);
			assert_int_equal(r.logs[0].log_index, (uint64_t)i);
			assert_int_equal(r.logs[0].tx_index, (uint64_t)i);
			assert_memory_equal(r.logs[0].tx_hash, h[i], 32);
			assert_memory_equal(r.logs[0].address, addr, 20);
			assert_int_equal(r.logs[0].topics_count, 1);
			assert_memory_equal(r.logs[0].topics[0], arg[i], 32);
			phr_chain_receipt_release(&r);
		}
		phr_chain_close(c);
		phr_chain_node_close(n);
		n = open_node(3600);
		assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	}
	phr_chain_close(c);
	phr_chain_node_close(n);
}

/* automine: a nonce gap waits without an empty block; filling it mines both */
static void test_automine_gap(void **state)
{
	struct phr_chain_node *n = open_node(0);
	struct phr_chain *c;
	struct phr_rpc_error err = { 0 };
	struct phr_chain_receipt r1, r2;
	struct phr_buf a, b, low;
	uint8_t ha[32], hb[32], from[20];
	uint64_t nonce, b0, b1;

	(void)state;
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(from, 20, "70997970c51812dc3a010c7d01b50e0d17dc79c8"), PHR_OK);
	assert_int_equal(phr_chain_nonce(c, &nonce, from), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	signed_transfer(&a, nonce + 1, 10000000000ull, 1000000000);
	signed_transfer(&b, nonce, 10000000000ull, 1000000000);
	signed_transfer(&low, nonce + 2, 1, 1); /* fee cap under the base fee */
	assert_int_equal(phr_chain_send_raw(c, ha, &err, a.data, a.len), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0);
	assert_int_equal(phr_chain_send_raw(c, hb, &err, b.data, b.len), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, &r1, hb), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, &r2, ha), PHR_OK);
	assert_int_equal(r1.block_number, b0 + 1);
	assert_int_equal(r2.block_number, b0 + 1);
	assert_int_equal(r2.tx_index, 1);
	phr_chain_receipt_release(&r1);
	phr_chain_receipt_release(&r2);
	/* rejected by the execution rules: an error, no block */
	assert_int_equal(phr_chain_send_raw(c, ha, &err, low.data, low.len), PHR_ERR_STATE);
	assert_true(err.code == PHR_RPC_SERVER_ERROR);
	phr_rpc_error_release(&err);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0 + 1);
	phr_buf_release(&a);
	phr_buf_release(&b);
	phr_buf_release(&low);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

static void test_restart(void **state)
{
	struct phr_chain_node *n = open_node(0);
	struct phr_chain *c;
	uint64_t b0, b1;
	uint8_t hash[32], to[20];
	json_t *r1, *r2;

	(void)state;
	memset(to, 0x77, 20);
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(chain_test_send(c, hash, 2, to, NULL, 0, 5), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	phr_chain_close(c);
	r1 = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]}");
	phr_chain_node_close(n);
	n = open_node(0); /* reopening checks the state root of the head */
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b0, b1);
	r2 = rpc(n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]}");
	assert_true(json_equal(r1, r2));
	json_decref(r1);
	json_decref(r2);
	/* the chain goes on */
	assert_int_equal(chain_test_send(c, hash, 2, to, NULL, 0, 5), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0 + 1);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

/* A block's JSON field @p name holds the @p n bytes @p want. */
static void header_field(const json_t *blk, const char *name, const uint8_t *want, size_t n)
{
	struct phr_rpc_error err = { 0 };
	uint8_t *b = NULL;
	size_t bl = 0;

	assert_int_equal(phr_rpc_param_bytes(&b, &bl, &err, json_object_get(blk, name), n, name), PHR_OK);
	assert_int_equal(bl, n);
	assert_memory_equal(b, want, n);
	phr_free(b);
	phr_rpc_error_release(&err);
}

/* A receipt read back from the database (its bloom derived from its logs, not
 * stored) matches its block: the header's logsBloom (one transaction) and
 * receiptsRoot over its consensus encoding. */
static void test_receipt_from_store(void **state)
{
	struct phr_chain_node *n = open_node(0);
	struct phr_chain *c;
	struct phr_chain_receipt r;
	struct phr_rpc_error err = { 0 };
	struct phr_buf enc;
	uint8_t contract[20], root[32], zero[256] = { 0 };
	const uint8_t *item;
	size_t len;
	json_t *blk = NULL;
	char num[24];

	(void)state;
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	chain_test_logged_call(c, &r, contract, 0x5c);
	assert_memory_not_equal(r.bloom, zero, 256);
	snprintf(num, sizeof(num), "0x%llx", (unsigned long long)r.block_number);
	assert_int_equal(phr_chain_request(c, &blk, &err, "eth_getBlockByNumber", json_pack("[s, b]", num, 0)),
			 PHR_OK);
	header_field(blk, "logsBloom", r.bloom, 256);
	phr_buf_init(&enc, 0);
	assert_int_equal(phr_chain_receipt_encode(&enc, &r), PHR_OK);
	item = enc.data;
	len = enc.len;
	assert_int_equal(phr_trie_ordered_root(root, &item, &len, 1), PHR_OK);
	header_field(blk, "receiptsRoot", root, 32);
	phr_buf_release(&enc);
	json_decref(blk);
	phr_rpc_error_release(&err);
	phr_chain_receipt_release(&r);
	phr_chain_close(c);
	phr_chain_node_close(n);
}

static void test_snapshot_revert(void **state)
{
	struct phr_chain_node *n = open_node(0);
	struct phr_chain *c;
	struct phr_chain_receipt r;
	struct phr_u256 bal0, bal1;
	struct phr_buf code;
	uint8_t hash[32], to[20], from[20], contract[20], word[32] = { 0 };
	uint64_t b0, b1, nonce0, nonce1;
	json_t *snap, *res;
	struct phr_rpc_error err = { 0 };
	/* runtime: sstore(0, calldataload(0)) */
	static const uint8_t init[] = { 0x60, 0x06, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
					0x60, 0x00, 0x35, 0x60, 0x00, 0x55 };

	(void)state;
	memset(to, 0x33, 20);
	assert_int_equal(phr_hex_decode_exact(from, 20, "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	/* a contract with a stored word before the snapshot */
	assert_int_equal(chain_test_send(c, hash, 0, NULL, init, sizeof(init), 0), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, &r, hash), PHR_OK);
	memcpy(contract, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	word[31] = 7;
	assert_int_equal(chain_test_send(c, hash, 0, contract, word, 32, 0), PHR_OK);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	assert_int_equal(phr_chain_balance(c, &bal0, from), PHR_OK);
	assert_int_equal(phr_chain_nonce(c, &nonce0, from), PHR_OK);
	assert_int_equal(phr_chain_request(c, &snap, &err, "evm_snapshot", NULL), PHR_OK);
	/* after it: a transfer, a new contract, a storage change */
	assert_int_equal(chain_test_send(c, hash, 0, to, NULL, 0, 1000), PHR_OK);
	assert_int_equal(chain_test_send(c, hash, 0, NULL, init, sizeof(init), 0), PHR_OK);
	word[31] = 9;
	assert_int_equal(chain_test_send(c, hash, 0, contract, word, 32, 0), PHR_OK);
	assert_int_equal(phr_chain_request(c, &res, &err, "evm_revert", json_pack("[O]", snap)), PHR_OK);
	assert_true(json_is_true(res));
	json_decref(res);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_int_equal(b1, b0);
	assert_int_equal(phr_chain_balance(c, &bal1, from), PHR_OK);
	assert_true(phr_u256_eq(&bal0, &bal1));
	assert_int_equal(phr_chain_nonce(c, &nonce1, from), PHR_OK);
	assert_int_equal(nonce1, nonce0);
	assert_int_equal(phr_chain_balance(c, &bal1, to), PHR_OK);
	assert_true(phr_u256_is_zero(&bal1));
	{
		uint8_t slot[32] = { 0 }, val[32];

		assert_int_equal(phr_chain_storage(c, val, contract, slot), PHR_OK);
		assert_int_equal(val[31], 7);
	}
	/* the snapshot is used up; the chain goes on from the reverted head */
	assert_int_equal(phr_chain_request(c, &res, &err, "evm_revert", json_pack("[O]", snap)), PHR_OK);
	assert_true(json_is_false(res));
	json_decref(res);
	json_decref(snap);
	assert_int_equal(chain_test_send(c, hash, 0, to, NULL, 0, 5), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, &r, hash), PHR_OK);
	assert_int_equal(r.block_number, b0 + 1);
	phr_chain_receipt_release(&r);
	phr_buf_init(&code, 0);
	assert_int_equal(phr_chain_code(c, &code, contract), PHR_OK);
	assert_int_equal(code.len, 6);
	phr_buf_release(&code);
	phr_chain_close(c);
	phr_chain_node_close(n);
	/* and the reverted chain reopens (its state root is checked) */
	n = open_node(0);
	phr_chain_node_close(n);
}

static void test_genesis_file(void **state)
{
	static const char genesis[] =
		"{\"config\":{\"chainId\":4242},\"gasLimit\":\"0x1312d00\",\"timestamp\":\"0x5f5e100\","
		"\"extraData\":\"0x706872\",\"baseFeePerGas\":\"0x7\",\"alloc\":{"
		"\"0x1111111111111111111111111111111111111111\":{\"balance\":\"1000000000000000000\"},"
		"\"2222222222222222222222222222222222222222\":{\"balance\":\"0x10\",\"nonce\":\"0x3\","
		"\"code\":\"0x60005460005260206000f3\",\"storage\":{\"0x0\":\"0x2a\"}}}}";
	struct phr_chain_config cfg = { 0 };
	struct phr_chain_node *n = NULL;
	char path[512];
	json_t *r;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/genesis.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(genesis, f);
	fclose(f);
	cfg.datadir = dir;
	cfg.genesis_path = path;
	assert_int_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
	r = rpc(n, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"},"
		   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBalance\",\"params\":[\"0x1111111111111111111111111111111111111111\",\"latest\"]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getTransactionCount\",\"params\":[\"0x2222222222222222222222222222222222222222\",\"latest\"]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"eth_call\",\"params\":[{\"to\":\"0x2222222222222222222222222222222222222222\"},\"latest\"]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"eth_getBlockByNumber\",\"params\":[\"0x0\",false]},"
		   "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"eth_accounts\"}]");
	assert_string_equal(result_str(json_array_get(r, 0)), "0x1092");
	assert_string_equal(result_str(json_array_get(r, 1)), "0xde0b6b3a7640000");
	assert_string_equal(result_str(json_array_get(r, 2)), "0x3");
	assert_string_equal(result_str(json_array_get(r, 3)),
			    "0x000000000000000000000000000000000000000000000000000000000000002a");
	{
		json_t *b = json_object_get(json_array_get(r, 4), "result");

		assert_string_equal(json_string_value(json_object_get(b, "gasLimit")), "0x1312d00");
		assert_string_equal(json_string_value(json_object_get(b, "timestamp")), "0x5f5e100");
		assert_string_equal(json_string_value(json_object_get(b, "extraData")), "0x706872");
		assert_string_equal(json_string_value(json_object_get(b, "baseFeePerGas")), "0x7");
	}
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 5), "result")), 0);
	json_decref(r);
	phr_chain_node_close(n);
	/* a bad genesis file is an error, not a crash */
	chain_rmdir(dir);
	phr_free(dir);
	dir = chain_tmpdir();
	snprintf(path, sizeof(path), "%s/genesis.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"alloc\":{\"0xzz\":{}}}", f);
	fclose(f);
	cfg.datadir = dir;
	assert_int_not_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_base_fee),
		cmocka_unit_test_setup_teardown(test_scenario_embedded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_mining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_automine_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_logs_per_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_revert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_from_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_genesis_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
