/* The eth_call memo of the embedded node: fresh results after storage writes
 * (direct and through nested calls), block values (TIMESTAMP, NUMBER),
 * evm_revert; calls that read no block value stay memoized across blocks;
 * reverts; counters; and a randomized differential run against executions
 * with the memo off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../../src/chain/chain_int.h"
#include "../../src/chain/state_int.h"
#include "chain_test_util.h"
#include "phr/crypto.h"

static char *dir;
static struct phr_chain_node *node;
static struct phr_chain *chain;

static int setup(void **state)
{
	struct phr_chain_config cfg = { .dev = true };

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	dir = chain_tmpdir();
	assert_non_null(dir);
	cfg.datadir = dir;
	assert_int_equal(phr_chain_node_open(&node, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&chain, node), PHR_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	phr_chain_close(chain);
	phr_chain_node_close(node);
	chain_rmdir(dir);
	phr_free(dir);
	return 0;
}

/* ---- contracts, written as bytecode ---- */

/* initcode returning @p rt (< 256 bytes) as the runtime code */
static size_t wrap(uint8_t *init, const uint8_t *rt, size_t n)
{
	static const uint8_t pre[] = { 0x60, 0, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3 };

	memcpy(init, pre, sizeof(pre));
	init[1] = (uint8_t)n;
	memcpy(init + sizeof(pre), rt, n);
	return sizeof(pre) + n;
}

static void deploy(uint8_t addr[20], const uint8_t *rt, size_t n)
{
	uint8_t init[300], hash[32];
	struct phr_chain_receipt r;
	size_t len = wrap(init, rt, n);

	assert_int_equal(chain_test_send(chain, hash, 0, NULL, init, len, 0), PHR_OK);
	assert_int_equal(phr_chain_receipt(chain, &r, hash), PHR_OK);
	assert_true(r.status && r.has_contract);
	memcpy(addr, r.contract_address, 20);
	phr_chain_receipt_release(&r);
}

/* with call data: sstore(0, calldataload(0)); without: slot 0 returned (or
 * reverted with, @p rev) */
static void deploy_store(uint8_t addr[20], bool rev)
{
	uint8_t rt[] = { 0x36, 0x15, 0x60, 0x0c, 0x57, 0x60, 0x00, 0x35, 0x60, 0x00, 0x55, 0x00,
			 0x5b, 0x60, 0x00, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3 };

	if (rev)
		rt[sizeof(rt) - 1] = 0xfd;
	deploy(addr, rt, sizeof(rt));
}

/* returns what a nested call (0xfa STATICCALL or 0xf1 CALL) to @p target returns */
static void deploy_reader(uint8_t addr[20], const uint8_t target[20], uint8_t op)
{
	uint8_t rt[64];
	size_t n = 0;
	static const uint8_t head[] = { 0x60, 0x20, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00 };
	static const uint8_t tail[] = { 0x60, 0x20, 0x60, 0x00, 0xf3 };

	memcpy(rt, head, sizeof(head));
	n = sizeof(head);
	if (op == 0xf1)
		rt[n++] = 0x80; /* DUP1: value 0 for CALL */
	rt[n++] = 0x73;
	memcpy(rt + n, target, 20);
	n += 20;
	rt[n++] = 0x5a;
	rt[n++] = op;
	rt[n++] = 0x50;
	memcpy(rt + n, tail, sizeof(tail));
	n += sizeof(tail);
	deploy(addr, rt, n);
}

/* returns the block value of opcode @p op (TIMESTAMP 0x42, NUMBER 0x43, ...) */
static void deploy_env(uint8_t addr[20], uint8_t op)
{
	const uint8_t rt[] = { op, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3 };

	deploy(addr, rt, sizeof(rt));
}

/* returns 42; reads ORIGIN (the frame asks for the block values) and has
 * PUSH2 0x4243 (TIMESTAMP and NUMBER bytes as push data only) */
static void deploy_const(uint8_t addr[20])
{
	const uint8_t rt[] = { 0x32, 0x50, 0x61, 0x42, 0x43, 0x50, 0x60, 0x2a, 0x60, 0x00,
			       0x52, 0x60, 0x20, 0x60, 0x00, 0xf3 };

	deploy(addr, rt, sizeof(rt));
}

/* returns BALANCE(@p who) */
static void deploy_balance(uint8_t addr[20], const uint8_t who[20])
{
	uint8_t rt[40];
	size_t n = 0;
	static const uint8_t tail[] = { 0x31, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3 };

	rt[n++] = 0x73;
	memcpy(rt + n, who, 20);
	n += 20;
	memcpy(rt + n, tail, sizeof(tail));
	n += sizeof(tail);
	deploy(addr, rt, n);
}

/* ---- helpers ---- */

static void write_word(const uint8_t to[20], uint32_t key, uint64_t v)
{
	uint8_t w[32] = { 0 }, hash[32];
	int i;

	for (i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(chain_test_send(chain, hash, key, to, w, 32, 0), PHR_OK);
}

static uint64_t word_u64(const struct phr_buf *b)
{
	uint64_t v = 0;
	size_t i;

	assert_int_equal(b->len, 32);
	for (i = 24; i < 32; i++)
		v = v << 8 | b->data[i];
	return v;
}

/* eth_call of @p to with no data; the returned word; *rc the status */
static uint64_t call_rc(const uint8_t to[20], int *rc)
{
	struct phr_buf b;
	uint64_t v = 0;

	phr_buf_init(&b, 0);
	*rc = phr_chain_call(chain, &b, NULL, to, NULL, 0);
	if (b.len == 32)
		v = word_u64(&b);
	else
		assert_int_equal(b.len, 0);
	phr_buf_release(&b);
	return v;
}

static uint64_t call_word(const uint8_t to[20])
{
	int rc;
	uint64_t v = call_rc(to, &rc);

	assert_int_equal(rc, PHR_OK);
	return v;
}

static uint64_t hits(void)
{
	uint64_t h, m;

	assert_int_equal(phr_chain_memo_stats(chain, &h, &m), PHR_OK);
	return h;
}

static void rpc_ok(const char *method, json_t *params)
{
	struct phr_rpc_error err = { 0 };
	json_t *r = NULL;

	assert_int_equal(phr_chain_request(chain, &r, &err, method, params), PHR_OK);
	json_decref(r);
	phr_rpc_error_release(&err);
}

static void mine(void)
{
	rpc_ok("evm_mine", NULL);
}

/* blocks far ahead of the wall clock: TIMESTAMP moves only with blocks */
static void mine_ahead(void)
{
	char ts[32];

	snprintf(ts, sizeof(ts), "0x%llx", (unsigned long long)time(NULL) + 1000000ull);
	rpc_ok("evm_mine", json_pack("[s]", ts));
}

/* ---- tests ---- */

static void test_storage_write(void **state)
{
	uint8_t w[20];
	uint64_t h0;

	(void)state;
	deploy_store(w, false);
	assert_int_equal(call_word(w), 0);
	h0 = hits();
	assert_int_equal(call_word(w), 0);
	assert_int_equal(hits(), h0 + 1);
	write_word(w, 0, 5);
	assert_int_equal(call_word(w), 5);
	assert_int_equal(call_word(w), 5);
	write_word(w, 1, 6); /* another sender */
	assert_int_equal(call_word(w), 6);
	assert_int_equal(hits(), h0 + 2);
}

static void test_nested(void **state)
{
	uint8_t w[20], rs[20], rc[20];
	uint64_t h0;

	(void)state;
	deploy_store(w, false);
	deploy_reader(rs, w, 0xfa);
	deploy_reader(rc, w, 0xf1);
	write_word(w, 0, 11);
	assert_int_equal(call_word(rs), 11);
	assert_int_equal(call_word(rc), 11);
	h0 = hits();
	assert_int_equal(call_word(rs), 11);
	assert_int_equal(call_word(rc), 11);
	assert_int_equal(hits(), h0 + 2);
	/* a write to the inner contract only */
	write_word(w, 0, 12);
	assert_int_equal(call_word(rs), 12);
	assert_int_equal(call_word(rc), 12);
	write_word(w, 2, 13);
	assert_int_equal(call_word(rc), 13);
	assert_int_equal(call_word(rs), 13);
	/* a transaction that only reads (and touches) them changes nothing they read */
	{
		uint8_t hash[32];

		h0 = hits();
		assert_int_equal(chain_test_send(chain, hash, 0, rs, NULL, 0, 0), PHR_OK);
		assert_int_equal(call_word(rs), 13);
		assert_int_equal(call_word(w), 13);
		assert_int_equal(hits(), h0 + 1);
	}
}

static void test_block_values(void **state)
{
	uint8_t t[20], num[20], k[20];
	uint64_t t1, t2, n1, h0, head;

	(void)state;
	deploy_env(t, 0x42);
	deploy_env(num, 0x43);
	deploy_const(k);
	mine_ahead();
	t1 = call_word(t);
	n1 = call_word(num);
	assert_int_equal(phr_chain_block_number(chain, &head), PHR_OK);
	assert_int_equal(n1, head + 1);
	assert_int_equal(call_word(k), 42);
	h0 = hits();
	assert_int_equal(call_word(t), t1);
	assert_int_equal(call_word(num), n1);
	assert_int_equal(hits(), h0 + 2);
	/* a new block (5 s later): the next block's number and time; blocks ahead of
	 * the clock keep their parent's timestamp, so the next block's is the head's */
	{
		char ts[32];
		snprintf(ts, sizeof(ts), "0x%llx", (unsigned long long)t1 + 5ull);
		rpc_ok("evm_mine", json_pack("[s]", ts));
	}
	assert_int_equal(call_word(num), n1 + 1);
	t2 = call_word(t);
	assert_int_equal(t2, t1 + 5);
	/* evm_increaseTime past the head: a later TIMESTAMP, same NUMBER */
	rpc_ok("evm_increaseTime", json_pack("[I]", (json_int_t)2000000));
	assert_true(call_word(t) >= t2 + 999000);
	assert_int_equal(call_word(num), n1 + 1);
	/* the constant (TIMESTAMP/NUMBER bytes only in PUSH data) stayed memoized */
	h0 = hits();
	mine();
	mine();
	assert_int_equal(call_word(k), 42);
	assert_int_equal(hits(), h0 + 1);
}

static void test_revert_and_snapshot(void **state)
{
	uint8_t w[20], v[20], rs[20];
	struct phr_rpc_error err = { 0 };
	json_t *snap = NULL, *res = NULL;
	uint64_t h0;
	int rc;

	(void)state;
	deploy_store(w, false);
	deploy_store(v, true);
	deploy_reader(rs, v, 0xfa);
	write_word(w, 0, 7);
	write_word(v, 0, 70);
	/* a revert is memoized with its data */
	assert_int_equal(call_rc(v, &rc), 70);
	assert_int_equal(rc, PHR_ERR_REVERTED);
	h0 = hits();
	assert_int_equal(call_rc(v, &rc), 70);
	assert_int_equal(rc, PHR_ERR_REVERTED);
	assert_int_equal(hits(), h0 + 1);
	/* a static call of it fails, the caller goes on */
	(void)call_word(rs);
	assert_int_equal(phr_chain_request(chain, &snap, &err, "evm_snapshot", NULL), PHR_OK);
	write_word(w, 0, 9);
	write_word(v, 0, 90);
	assert_int_equal(call_word(w), 9);
	assert_int_equal(call_rc(v, &rc), 90);
	/* back to the snapshot: the memoized 9 and 90 are gone */
	assert_int_equal(phr_chain_request(chain, &res, &err, "evm_revert", json_pack("[O]", snap)),
			 PHR_OK);
	assert_true(json_is_true(res));
	json_decref(res);
	json_decref(snap);
	assert_int_equal(call_word(w), 7);
	assert_int_equal(call_rc(v, &rc), 70);
	assert_int_equal(rc, PHR_ERR_REVERTED);
	/* and the chain goes on from there */
	write_word(w, 0, 8);
	assert_int_equal(call_word(w), 8);
	phr_rpc_error_release(&err);
}

/* JSON-RPC eth_call through the memo and with a block number (not memoized) */
static void test_rpc_path(void **state)
{
	struct phr_rpc_error err = { 0 };
	uint8_t w[20];
	char to[43];
	json_t *r = NULL;
	uint64_t h0, m0, h1, m1;

	(void)state;
	deploy_store(w, false);
	write_word(w, 0, 0x33);
	assert_int_equal(phr_hex_encode(to, sizeof(to), w, 20, true), PHR_OK);
	assert_int_equal(phr_chain_memo_stats(chain, &h0, &m0), PHR_OK);
	assert_int_equal(phr_chain_request(chain, &r, &err, "eth_call",
					   json_pack("[{s:s},s]", "to", to, "latest")),
			 PHR_OK);
	assert_string_equal(json_string_value(r),
			    "0x0000000000000000000000000000000000000000000000000000000000000033");
	json_decref(r);
	/* the direct path is the same call: a hit */
	assert_int_equal(call_word(w), 0x33);
	assert_int_equal(phr_chain_request(chain, &r, &err, "eth_call",
					   json_pack("[{s:s},s]", "to", to, "0x1")),
			 PHR_OK);
	json_decref(r);
	assert_int_equal(phr_chain_memo_stats(chain, &h1, &m1), PHR_OK);
	assert_int_equal(h1, h0 + 1);
	assert_int_equal(m1, m0 + 1);
	phr_rpc_error_release(&err);
}

/* ---- the differential run ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_differential(void **state)
{
	enum { NC = 9 };
	uint8_t c[NC][20], acct1[20], hash[32];
	struct phr_rpc_error err = { 0 };
	json_t *snap = NULL, *res;
	uint64_t h0, m0, h1, m1;
	int i, k, calls = 0;

	(void)state;
	assert_int_equal(phr_hex_decode_exact(acct1, 20, "70997970c51812dc3a010c7d01b50e0d17dc79c8"),
			 PHR_OK);
	deploy_store(c[0], false);
	deploy_store(c[1], false);
	deploy_store(c[2], true);
	deploy_reader(c[3], c[0], 0xfa);
	deploy_reader(c[4], c[1], 0xf1);
	deploy_env(c[5], 0x42);
	deploy_env(c[6], 0x43);
	deploy_const(c[7]);
	deploy_balance(c[8], acct1);
	mine_ahead();
	assert_int_equal(phr_chain_memo_stats(chain, &h0, &m0), PHR_OK);
	for (i = 0; i < 160; i++) {
		uint64_t r = rnd();

		switch (r % 16) {
		case 0:
		case 1:
		case 2:
			write_word(c[rnd() % 3], (uint32_t)(rnd() % 3), rnd() % 4);
			break;
		case 3: /* account 1 pays: its balance changes */
			assert_int_equal(chain_test_send(chain, hash, 1, c[7] /* value into a contract */, NULL, 0,
							 1 + rnd() % 1000),
					 PHR_OK);
			break;
		case 4:
			mine();
			break;
		case 5:
			rpc_ok("evm_increaseTime", json_pack("[I]", (json_int_t)(rnd() % 50)));
			break;
		case 6:
			if (!snap) {
				assert_int_equal(phr_chain_request(chain, &snap, &err, "evm_snapshot", NULL),
						 PHR_OK);
			} else {
				assert_int_equal(phr_chain_request(chain, &res, &err, "evm_revert",
								   json_pack("[O]", snap)),
						 PHR_OK);
				json_decref(res);
				json_decref(snap);
				snap = NULL;
			}
			break;
		default:
			break;
		}
		/* a few calls: the memo's answer against an execution with it off */
		for (k = 0; k < 3; k++) {
			const uint8_t *to = c[rnd() % NC];
			struct phr_buf a, b;
			int ra, rb;

			phr_buf_init(&a, 0);
			phr_buf_init(&b, 0);
			ra = phr_chain_call(chain, &a, NULL, to, NULL, 0);
			phr_chain_node_memo_enable(node, false);
			rb = phr_chain_call(chain, &b, NULL, to, NULL, 0);
			phr_chain_node_memo_enable(node, true);
			assert_int_equal(ra, rb);
			assert_int_equal(a.len, b.len);
			if (a.len)
				assert_memory_equal(a.data, b.data, a.len);
			phr_buf_release(&a);
			phr_buf_release(&b);
			calls++;
		}
	}
	if (snap)
		json_decref(snap);
	phr_rpc_error_release(&err);
	assert_int_equal(phr_chain_memo_stats(chain, &h1, &m1), PHR_OK);
	/* both outcomes happened; the memo was off for the second call of each pair */
	assert_true(h1 - h0 > (uint64_t)calls / 4);
	assert_true(m1 - m0 > 0);
	assert_int_equal(h1 - h0 + m1 - m0, (uint64_t)calls);
}

/* the typed send and receipt give what the JSON-RPC methods give */
static void test_direct_send_receipt(void **state)
{
	struct phr_rpc_error err = { 0 };
	struct phr_chain_receipt a, b;
	struct phr_buf raw;
	uint8_t w[20], hash[32], h2[32];
	char hex[67];
	json_t *j = NULL;
	size_t i;

	(void)state;
	/* a receipt with a log: LOG1(memory[0..1], topic 0x77) */
	static const uint8_t logger[] = { 0x60, 0x77, 0x60, 0x01, 0x60, 0x00, 0xa1, 0x00 };

	deploy(w, logger, sizeof(logger));
	assert_int_equal(chain_test_send(chain, hash, 0, w, (const uint8_t *)"\x01", 1, 0), PHR_OK);
	assert_int_equal(phr_chain_receipt(chain, &a, hash), PHR_OK);
	assert_int_equal(phr_hex_encode(hex, sizeof(hex), hash, 32, true), PHR_OK);
	assert_int_equal(phr_chain_request(chain, &j, &err, "eth_getTransactionReceipt",
					   json_pack("[s]", hex)),
			 PHR_OK);
	assert_int_equal(phr_chain_receipt_from_json(&b, j), PHR_OK);
	json_decref(j);
	assert_int_equal(a.type, b.type);
	assert_int_equal(a.status, b.status);
	assert_int_equal(a.cumulative_gas, b.cumulative_gas);
	assert_memory_equal(a.bloom, b.bloom, PHR_CHAIN_BLOOM_BYTES);
	assert_memory_equal(a.tx_hash, b.tx_hash, 32);
	assert_memory_equal(a.block_hash, b.block_hash, 32);
	assert_int_equal(a.block_number, b.block_number);
	assert_int_equal(a.tx_index, b.tx_index);
	assert_int_equal(a.gas_used, b.gas_used);
	assert_true(phr_u256_eq(&a.effective_gas_price, &b.effective_gas_price));
	assert_memory_equal(a.from, b.from, 20);
	assert_int_equal(a.has_to, b.has_to);
	assert_memory_equal(a.to, b.to, 20);
	assert_int_equal(a.has_contract, b.has_contract);
	assert_int_equal(a.logs_count, 1);
	assert_int_equal(a.logs_count, b.logs_count);
	for (i = 0; i < a.logs_count; i++) {
		assert_memory_equal(a.logs[i].address, b.logs[i].address, 20);
		assert_int_equal(a.logs[i].topics_count, b.logs[i].topics_count);
		assert_int_equal(a.logs[i].data_len, b.logs[i].data_len);
		assert_int_equal(a.logs[i].log_index, b.logs[i].log_index);
		assert_memory_equal(a.logs[i].topics, b.logs[i].topics, 32 * a.logs[i].topics_count);
		assert_memory_equal(a.logs[i].block_hash, b.logs[i].block_hash, 32);
		assert_memory_equal(a.logs[i].tx_hash, b.logs[i].tx_hash, 32);
		assert_int_equal(a.logs[i].block_number, b.logs[i].block_number);
		assert_int_equal(a.logs[i].tx_index, b.logs[i].tx_index);
	}
	phr_chain_receipt_release(&a);
	phr_chain_receipt_release(&b);
	/* an unknown hash */
	memset(h2, 0xee, 32);
	assert_int_equal(phr_chain_receipt(chain, &a, h2), PHR_ERR_NOT_FOUND);
	/* a rejected transaction: PHR_ERR_STATE and the node's reason */
	phr_buf_init(&raw, 0);
	assert_int_equal(phr_chain_send_raw(chain, h2, &err, NULL, 0), PHR_ERR_STATE);
	assert_int_equal(err.code, PHR_RPC_INVALID_PARAMS);
	assert_int_equal(phr_buf_append(&raw, (const uint8_t *)"\x02\x01", 2), PHR_OK);
	assert_int_equal(phr_chain_send_raw(chain, h2, &err, raw.data, raw.len), PHR_ERR_STATE);
	assert_true(err.code != 0);
	assert_non_null(strstr(err.message, "invalid transaction"));
	phr_buf_release(&raw);
	phr_rpc_error_release(&err);
}

/* ---- concurrency: memo hits without the node's lock stay linearizable ---- */

static uint8_t conc_w[20];
static uint64_t conc_acked, conc_sent; /* atomic */
static int conc_done, conc_bad, conc_reads; /* atomic */

static void *conc_reader(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&conc_done, __ATOMIC_ACQUIRE)) {
		uint64_t lo = __atomic_load_n(&conc_acked, __ATOMIC_ACQUIRE), v = 0, hi;
		struct phr_buf b;
		size_t i;

		phr_buf_init(&b, 0);
		if (phr_chain_call(chain, &b, NULL, conc_w, NULL, 0) != PHR_OK || b.len != 32)
			__atomic_add_fetch(&conc_bad, 1, __ATOMIC_RELAXED);
		for (i = 24; i < b.len; i++)
			v = v << 8 | b.data[i];
		phr_buf_release(&b);
		hi = __atomic_load_n(&conc_sent, __ATOMIC_ACQUIRE);
		/* never older than what was acknowledged before the call began */
		if (v < lo || v > hi)
			__atomic_add_fetch(&conc_bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&conc_reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_reads(void **state)
{
	pthread_t th[3];
	uint64_t v, h0, h1, m;
	int t;

	(void)state;
	deploy_store(conc_w, false);
	assert_int_equal(phr_chain_memo_stats(chain, &h0, &m), PHR_OK);
	for (t = 0; t < 3; t++)
		assert_int_equal(pthread_create(&th[t], NULL, conc_reader, NULL), 0);
	for (v = 1; v <= 30; v++) {
		__atomic_store_n(&conc_sent, v, __ATOMIC_RELEASE);
		write_word(conc_w, 0, v);
		__atomic_store_n(&conc_acked, v, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&conc_done, 1, __ATOMIC_RELEASE);
	for (t = 0; t < 3; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(conc_bad, 0);
	assert_true(conc_reads > 30);
	assert_int_equal(call_word(conc_w), 30);
	assert_int_equal(phr_chain_memo_stats(chain, &h1, &m), PHR_OK);
	assert_true(h1 > h0);
}

/* large call data is executed every time (the memo's memory bound) */
static void test_large_not_kept(void **state)
{
	uint8_t w[20], big[5000];
	struct phr_buf b;
	uint64_t h0, m0, h1, m1;
	int i;

	(void)state;
	deploy_store(w, false); /* with call data it stores calldataload(0) */
	memset(big, 0, sizeof(big));
	assert_int_equal(phr_chain_memo_stats(chain, &h0, &m0), PHR_OK);
	for (i = 0; i < 3; i++) {
		phr_buf_init(&b, 0);
		assert_int_equal(phr_chain_call(chain, &b, NULL, w, big, sizeof(big)), PHR_OK);
		phr_buf_release(&b);
	}
	assert_int_equal(phr_chain_memo_stats(chain, &h1, &m1), PHR_OK);
	assert_int_equal(h1, h0);
	assert_int_equal(m1, m0 + 3);
}

/* puts the call (to, data = @p i) with an output of @p out_len bytes of @p i */
static void memo_put_i(struct chain_memo *m, const struct phr_state_block *blk, uint32_t i,
		       size_t out_len)
{
	static const uint8_t from[20], to[20] = { 1 };
	uint8_t data[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t out[600];
	struct memo_key k = { .from = from, .to = to, .gas = 100000, .data = data, .data_len = 4 };
	struct phr_st_readset rs;

	memset(&rs, 0, sizeof(rs));
	memcpy(rs.addrs[0], to, 20);
	rs.n = 1;
	memset(out, (int)(i & 0xff), sizeof(out));
	chain_memo_put(m, &k, &rs, blk, PHR_EVM_SUCCESS, out, out_len);
}

/* PHR_OK with the output checked, or PHR_ERR_NOT_FOUND */
static int memo_get_i(struct chain_memo *m, const struct phr_state_block *blk, uint32_t i,
		      size_t out_len)
{
	static const uint8_t from[20], to[20] = { 1 };
	uint8_t data[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	struct memo_key k = { .from = from, .to = to, .gas = 100000, .data = data, .data_len = 4 };
	struct phr_buf b;
	int status = -1, rc;
	size_t j;

	phr_buf_init(&b, 0);
	rc = chain_memo_get(m, &status, &b, NULL, &k, blk);
	if (rc == PHR_OK) {
		assert_int_equal(status, PHR_EVM_SUCCESS);
		assert_int_equal(b.len, out_len);
		for (j = 0; j < b.len; j++)
			assert_int_equal(b.data[j], i & 0xff);
	}
	phr_buf_release(&b);
	return rc;
}

/* the entries' heap bytes stay under the budget, whatever is put; the most
 * recent entries are answered, an entry larger than the budget is not kept,
 * and a bump of the account read still expires them */
static void test_budget(void **state)
{
	static const uint8_t to[20] = { 1 };
	struct phr_state_block blk = { 0 };
	struct chain_memo *m = NULL;
	const size_t budget = 8 * (4 + 500 + 16); /* 8 entries of 500 output bytes */
	uint32_t i;

	(void)state;
	assert_int_equal(chain_memo_open(&m, 256, budget), PHR_OK);
	for (i = 0; i < 200; i++) {
		memo_put_i(m, &blk, i, 500);
		assert_true(chain_memo_bytes(m) <= budget);
		assert_int_equal(memo_get_i(m, &blk, i, 500), PHR_OK);
	}
	assert_true(chain_memo_bytes(m) > budget / 2);
	assert_int_equal(memo_get_i(m, &blk, 0, 500), PHR_ERR_NOT_FOUND);
	/* the same call again replaces its entry: no bytes counted twice */
	memo_put_i(m, &blk, 199, 500);
	memo_put_i(m, &blk, 199, 500);
	assert_true(chain_memo_bytes(m) <= budget);
	/* small entries fill the freed room */
	for (i = 1000; i < 1016; i++) {
		memo_put_i(m, &blk, i, 10);
		assert_true(chain_memo_bytes(m) <= budget);
	}
	assert_int_equal(memo_get_i(m, &blk, 1015, 10), PHR_OK);
	/* larger than the whole budget: not kept */
	{
		struct chain_memo *t = NULL;

		assert_int_equal(chain_memo_open(&t, 16, 100), PHR_OK);
		memo_put_i(t, &blk, 7, 200);
		assert_int_equal(chain_memo_bytes(t), 0);
		assert_int_equal(memo_get_i(t, &blk, 7, 200), PHR_ERR_NOT_FOUND);
		chain_memo_close(t);
	}
	chain_memo_bump(m, to);
	assert_int_equal(memo_get_i(m, &blk, 1015, 10), PHR_ERR_NOT_FOUND);
	chain_memo_clear(m);
	assert_int_equal(chain_memo_bytes(m), 0);
	chain_memo_close(m);
}

static void test_remote_has_no_memo(void **state)
{
	struct phr_chain *r = NULL;
	uint64_t h, m;

	(void)state;
	assert_int_equal(phr_chain_open_remote(&r, "http://127.0.0.1:9"), PHR_OK);
	assert_int_equal(phr_chain_memo_stats(r, &h, &m), PHR_ERR_UNSUPPORTED);
	phr_chain_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_storage_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revert_and_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_send_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_not_kept, setup, teardown),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_remote_has_no_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
