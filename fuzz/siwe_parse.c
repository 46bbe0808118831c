/*
 * Fuzzes the EIP-4361 parser and the checks that follow it; a message that
 * parses must satisfy the parser's own invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/siwe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_siwe m;
	int64_t t;

	if (phr_siwe_parse(&m, (const char *)data, size) == PHR_OK) {
		if (strlen(m.nonce) < 8 || m.domain[0] == '\0' || m.uri[0] == '\0' ||
		    m.n_resources > PHR_SIWE_MAX_RESOURCES)
			abort();
		/* a message checked at its own issue time, with no window, passes */
		if (!m.has_expiration && !m.has_not_before &&
		    phr_siwe_check(&m, m.domain, m.chain_id, m.issued_at, 300) != PHR_OK)
			abort();
	}
	if (phr_rfc3339_parse(&t, (const char *)data, size < 40 ? size : 40) != PHR_OK)
		t = 0;
	return 0;
}
