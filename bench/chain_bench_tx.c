/* Transaction signing shared by the chain benchmarks (bench_chain_rpc, bench_chain_seal). */
#include <pthread.h>
#include <string.h>

#include "chain_bench_tx.h"
#include "phr/crypto.h"
#include "phr/tx.h"

#define KEYS 10

static uint8_t keys[KEYS][32];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static int keys_rc;

/* the dev accounts' keys, derived once (BIP-32 from the mnemonic costs a PBKDF2 run) */
static void keys_derive(void)
{
	for (uint32_t i = 0; i < KEYS && keys_rc == PHR_OK; i++)
		keys_rc = phr_bip32_eth_key(keys[i], "test test test test test test test test test test test junk", i);
}

/* Signs a type-2 transaction from dev account @p idx. */
int chain_bench_sign_tx(struct phr_buf *raw, uint32_t idx, uint64_t chain_id, uint64_t nonce, uint64_t gas,
			const struct phr_u256 *max_fee, const uint8_t *to, const uint8_t *data, size_t len)
{
	struct phr_tx tx;
	int rc;

	pthread_once(&keys_once, keys_derive);
	if (keys_rc != PHR_OK || idx >= KEYS)
		return keys_rc != PHR_OK ? keys_rc : PHR_ERR_INVALID;
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = chain_id;
	tx.nonce = nonce;
	tx.gas_limit = gas;
	tx.max_fee = *max_fee;
	tx.max_priority_fee = phr_u256_from_u64(1000000000);
	tx.has_to = to != NULL;
	if (to)
		memcpy(tx.to, to, 20);
	rc = phr_tx_set_data(&tx, data, len);
	if (rc == PHR_OK)
		rc = phr_tx_sign(&tx, keys[idx]);
	phr_buf_init(raw, 0);
	if (rc == PHR_OK)
		rc = phr_tx_encode(raw, &tx);
	phr_tx_release(&tx);
	return rc;
}
