/*
 * eth micro-benchmark: operations per second of u256 arithmetic, transaction
 * decode+recover and signing, ABI encode/decode and EIP-712 hashing. Prints
 * one "name ops/s" line per operation; bench/eth.sh runs it next to the same
 * operations in ethers v6 / BigInt (bench/eth_peer.mjs) and prints ratios.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "phr/abi.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/tx.h"
#include "phr/u256.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t sink;

#define BENCH(name, iters, body)                                                     \
	do {                                                                         \
		double best = 0;                                                     \
		for (int rep = 0; rep < 3; rep++) {                                  \
			double t0 = now();                                           \
			for (long it = 0; it < (iters); it++) {                      \
				body;                                                \
			}                                                            \
			double rate_ = (double)(iters) / (now() - t0);                   \
			if (rate_ > best)                                             \
				best = rate_;                                        \
		}                                                                    \
		printf("%s %.0f\n", name, best);                                     \
	} while (0)

int main(void)
{
	if (phr_crypto_init() != PHR_OK)
		return 1;
	struct phr_u256 a, b, m, r;
	if (phr_u256_parse(&a, "0xd1a5c0ffee1234567890abcdef0123456789abcdef0123456789abcdef012345") ||
	    phr_u256_parse(&b, "0x1f2e3d4c5b6a79881726354453627180") ||
	    phr_u256_parse(&m, "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"))
		return 1;
	BENCH("u256_div_256by128", 2000000, {
		phr_u256_div(&r, &a, &b);
		sink += r.w[0];
		a.w[0] += 1;
	});
	BENCH("u256_mulmod", 1000000, {
		phr_u256_mulmod(&r, &a, &b, &m);
		sink += r.w[0];
		a.w[0] += 1;
	});
	BENCH("u256_exp", 100000, {
		phr_u256_exp(&r, &a, &m);
		sink += r.w[0];
		a.w[0] += 1;
	});

	/* an EIP-1559 transaction with 100 bytes of data */
	uint8_t key[32];
	memset(key, 0x46, 32);
	struct phr_tx tx;
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = 1337;
	tx.nonce = 42;
	tx.max_fee = phr_u256_from_u64(3000000000ull);
	tx.max_priority_fee = phr_u256_from_u64(1000000000ull);
	tx.gas_limit = 100000;
	tx.has_to = true;
	memset(tx.to, 0x35, 20);
	tx.value = phr_u256_from_u64(1000);
	uint8_t data[100];
	memset(data, 0xab, sizeof(data));
	struct phr_buf raw;
	phr_buf_init(&raw, 0);
	if (phr_tx_set_data(&tx, data, sizeof(data)) || phr_tx_sign(&tx, key) || phr_tx_encode(&raw, &tx))
		return 1;
	BENCH("tx_sign_encode", 5000, {
		struct phr_buf b2;
		phr_buf_init(&b2, 0);
		if (phr_tx_sign(&tx, key) == PHR_OK && phr_tx_encode(&b2, &tx) == PHR_OK)
			sink += b2.len;
		phr_buf_release(&b2);
	});
	BENCH("tx_decode_recover", 5000, {
		struct phr_tx t2;
		uint8_t addr[20];
		if (phr_tx_decode(&t2, raw.data, raw.len) == PHR_OK && phr_tx_sender(addr, &t2) == PHR_OK)
			sink += addr[0];
		phr_tx_release(&t2);
	});
	phr_tx_release(&tx);

	/* ABI: (uint256,address,string,bytes32[]) */
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	json_t *j = json_pack("[s s s [s s s s]]", "123456789012345678901234567890",
			      "0x3535353535353535353535353535353535353535", "Observation/blood-pressure",
			      "0x0101010101010101010101010101010101010101010101010101010101010101",
			      "0x0202020202020202020202020202020202020202020202020202020202020202",
			      "0x0303030303030303030303030303030303030303030303030303030303030303",
			      "0x0404040404040404040404040404040404040404040404040404040404040404");
	if (phr_abi_type_parse(&t, "(uint256,address,string,bytes32[])") || phr_abi_value_from_json(&v, t, j))
		return 1;
	struct phr_buf enc;
	phr_buf_init(&enc, 0);
	if (phr_abi_encode(&enc, v))
		return 1;
	BENCH("abi_encode", 200000, {
		struct phr_buf b2;
		phr_buf_init(&b2, 0);
		if (phr_abi_encode(&b2, v) == PHR_OK)
			sink += b2.len;
		phr_buf_release(&b2);
	});
	BENCH("abi_decode", 200000, {
		struct phr_abi_value *d = NULL;
		if (phr_abi_decode(&d, t, enc.data, enc.len) == PHR_OK)
			sink += d->n_items;
		phr_abi_value_free(d);
	});
	json_decref(j);
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	phr_buf_release(&enc);

	json_error_t err;
	json_t *mail = json_load_file("tests/vectors/eip712/mail.json", 0, &err);
	json_t *td = json_object_get(mail, "typedData");
	if (!td)
		return 1;
	BENCH("eip712_hash", 50000, {
		uint8_t h[32];
		if (phr_eip712_hash(h, td) == PHR_OK)
			sink += h[0];
	});
	json_decref(mail);
	phr_buf_release(&raw);
	return 0;
}
