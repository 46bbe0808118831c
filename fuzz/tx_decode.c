/*
 * Transaction decoder: arbitrary bytes through phr_tx_decode. A decoded
 * transaction must re-encode to exactly the input (decoding is canonical);
 * sender recovery, hashing, intrinsic gas, validation and JSON rendering
 * must not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		if (phr_crypto_init() != PHR_OK)
			abort();
		inited = 1;
	}
	struct phr_tx tx;
	if (phr_tx_decode(&tx, data, size) != PHR_OK)
		return 0;
	struct phr_buf b;
	uint8_t h[32], addr[20];
	uint64_t gas;
	phr_buf_init(&b, 0);
	if (phr_tx_encode(&b, &tx) != PHR_OK || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	phr_buf_release(&b);
	/* results vary with the input; these must only not crash */
	int rc = phr_tx_hash(h, &tx);
	rc |= phr_tx_sender(addr, &tx);
	rc |= phr_tx_intrinsic_gas(&gas, &tx);
	rc |= phr_tx_validate(addr, &tx, 1);
	if (rc > 0)
		abort(); /* errors are negative */
	json_decref(phr_tx_to_json(&tx));
	phr_tx_release(&tx);
	return 0;
}
