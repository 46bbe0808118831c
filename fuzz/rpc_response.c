/*
 * Fuzz target: what an external node sends back to phr's JSON-RPC client —
 * receipt and log objects (phr_chain_receipt_from_json, phr_chain_log_from_json)
 * — and block header RLP (phr_chain_header_decode), which a client may read
 * from a remote node too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "phr/chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_chain_header h;
	struct phr_chain_receipt r;
	struct phr_chain_log l;
	json_error_t e;
	json_t *j;

	if (phr_chain_header_decode(&h, data, size) == PHR_OK) {
		struct phr_buf b;

		/* a header that decodes encodes back to the same bytes */
		phr_buf_init(&b, 0);
		if (phr_chain_header_encode(&b, &h) != PHR_OK || b.len != size ||
		    memcmp(b.data, data, size) != 0)
			__builtin_trap();
		phr_buf_release(&b);
	}
	j = json_loadb((const char *)data, size, 0, &e);
	if (!j)
		return 0;
	if (phr_chain_receipt_from_json(&r, j) == PHR_OK)
		phr_chain_receipt_release(&r);
	if (phr_chain_log_from_json(&l, j) == PHR_OK)
		phr_free(l.data);
	json_decref(j);
	return 0;
}
