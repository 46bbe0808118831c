/*
 * Fuzz target: arbitrary bytecode run as a contract through the world state
 * and the EVM host (calls, creates, storage, logs, self-destructs, reverts).
 *
 * Input: byte 0 = flags (bit 0: send value; bit 1: the contract at 0xc2 gets
 * the same code, so calls to it recurse; bits 2-3: gas scale), then the code.
 * Checks: no crash or sanitizer report; a dry run leaves the state root as
 * it was; gas used within the limit; the same transaction on a fresh state
 * gives the same root (the journal leaves nothing behind).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SENDER[20] = { 0xa1, [19] = 1 };
static const uint8_t TARGET[20] = { 0xc1, [19] = 1 };
static const uint8_t OTHER[20] = { 0xc2, [19] = 2 };

static struct phr_state *setup(const uint8_t *code, size_t len, bool twin)
{
	struct phr_state *st;
	struct phr_u256 rich = phr_u256_from_u64(UINT64_MAX), some = phr_u256_from_u64(1000);
	uint8_t key[32] = { 0 }, val[32] = { [31] = 7 };
	if (phr_state_new(&st, NULL))
		return NULL;
	if (phr_state_set_account(st, SENDER, 0, &rich) ||
	    phr_state_set_account(st, TARGET, 1, &some) ||
	    phr_state_set_code(st, TARGET, code, len) ||
	    phr_state_set_storage(st, TARGET, key, val) ||
	    (twin && phr_state_set_code(st, OTHER, code, len))) {
		phr_state_free(st);
		return NULL;
	}
	return st;
}

static int run(struct phr_state *st, uint8_t root[32], const struct phr_state_block *blk,
	       const struct phr_tx *tx, unsigned flags)
{
	struct phr_state_tx_result res;
	int rc = phr_state_tx_apply(st, &res, blk, tx, SENDER, flags);
	if (rc == PHR_OK && res.gas_used > tx->gas_limit)
		abort();
	phr_state_tx_result_release(&res);
	if (rc && rc != PHR_ERR_INVALID)
		return rc;
	return phr_state_commit(st, root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *code = data + 1;
	size_t len = size - 1;
	struct phr_state_block blk;
	memset(&blk, 0, sizeof(blk));
	blk.coinbase[0] = 0xcb;
	blk.number = 10;
	blk.timestamp = 1000;
	blk.gas_limit = 30000000;
	blk.base_fee = phr_u256_from_u64(7);
	blk.chain_id = phr_u256_from_u64(1);
	struct phr_tx tx;
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_to = true;
	memcpy(tx.to, TARGET, 20);
	tx.gas_limit = 100000ull << (2 * ((flags >> 2) & 3));
	tx.max_fee = phr_u256_from_u64(10);
	tx.max_priority_fee = phr_u256_from_u64(1);
	tx.value = phr_u256_from_u64(flags & 1 ? 5 : 0);

	uint8_t r0[32], r1[32], r2[32], r3[32];
	struct phr_state *a = setup(code, len, flags & 2);
	struct phr_state *b = setup(code, len, flags & 2);
	if (!a || !b)
		goto out;
	if (phr_state_commit(a, r0, NULL) || run(a, r1, &blk, &tx, PHR_STATE_TX_DRY_RUN))
		goto out;
	if (memcmp(r0, r1, 32))
		abort(); /* a dry run changed the state */
	if (run(a, r2, &blk, &tx, 0) || run(b, r3, &blk, &tx, 0))
		goto out;
	if (memcmp(r2, r3, 32))
		abort(); /* the dry run left something behind */
out:
	phr_state_free(a);
	phr_state_free(b);
	phr_tx_release(&tx);
	return 0;
}
