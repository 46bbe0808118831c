/* Transaction signing shared by the chain benchmarks (bench_chain_rpc, bench_chain_seal). */
#include <string.h>

#include "chain_bench_tx.h"
#include "phr/crypto.h"
#include "phr/tx.h"

/* Signs a type-2 transaction from dev account @p idx. */
int chain_bench_sign_tx(struct phr_buf *raw, uint32_t idx, uint64_t chain_id, uint64_t nonce, uint64_t gas,
			const struct phr_u256 *max_fee, const uint8_t *to, const uint8_t *data, size_t len)
{
	struct phr_tx tx;
	uint8_t key[32];
	int rc = phr_bip32_eth_key(key, "test test test test test test test test test test test junk", idx);

	if (rc != PHR_OK)
		return rc;
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
		rc = phr_tx_sign(&tx, key);
	phr_buf_init(raw, 0);
	if (rc == PHR_OK)
		rc = phr_tx_encode(raw, &tx);
	phr_tx_release(&tx);
	memset(key, 0, sizeof(key));
	return rc;
}
