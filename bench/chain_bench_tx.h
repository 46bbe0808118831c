/* Transaction signing shared by the chain benchmarks. */
#ifndef CHAIN_BENCH_TX_H
#define CHAIN_BENCH_TX_H

#include "phr/core.h"
#include "phr/u256.h"

/* Signs a type-2 transaction (tip 1 gwei) from dev-mnemonic account @p idx into @p raw
 * (initialised here). Returns PHR_OK or the first error. */
int chain_bench_sign_tx(struct phr_buf *raw, uint32_t idx, uint64_t chain_id, uint64_t nonce,
			uint64_t gas, const struct phr_u256 *max_fee, const uint8_t *to,
			const uint8_t *data, size_t len);

#endif
