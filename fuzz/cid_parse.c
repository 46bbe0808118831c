/*
 * Fuzz target for CID parsing: the input as text (phr_cid_parse) and as binary
 * (phr_cid_decode). Whatever parses must print and parse back to the same CID.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_cid c, c2;
	char text[512], s[PHR_CID_STR_MAX];
	uint8_t bin[PHR_CID_MAX_BYTES];
	size_t used, n;

	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = 0;
		if (phr_cid_parse(&c, text) == PHR_OK) {
			if (phr_cid_format(s, sizeof(s), &c) != PHR_OK || phr_cid_parse(&c2, s) != PHR_OK ||
			    !phr_cid_equal(&c, &c2))
				abort();
		}
	}
	if (phr_cid_decode(&c, &used, data, size) == PHR_OK) {
		if (used > size || phr_cid_encode(bin, sizeof(bin), &n, &c) != PHR_OK || n != used ||
		    memcmp(bin, data, n) != 0)
			abort();
	}
	return 0;
}
