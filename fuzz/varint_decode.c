/* Fuzz varint decoding: accepted varints are minimal and re-encode identically. */
#include <phr/core.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t v;
	size_t used;
	if (phr_varint_decode(&v, &used, data, size) != PHR_OK)
		return 0;
	uint8_t enc[PHR_VARINT_MAX_BYTES];
	size_t n = phr_varint_encode(enc, v);
	if (n != used || memcmp(enc, data, n) != 0)
		abort();
	return 0;
}
