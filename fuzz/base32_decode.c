/* Fuzz base32 decoding: no crash, and accepted input is canonical (round-trips). */
#include <phr/core.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	uint8_t out[4096];
	size_t n;
	if (phr_base32_decode(out, sizeof out, &n, (const char *)data, size) != PHR_OK)
		return 0;
	char txt[PHR_BASE32_LEN(4096)];
	if (phr_base32_encode(txt, sizeof txt, out, n) != PHR_OK)
		abort();
	if (strlen(txt) != size)
		abort();
	for (size_t i = 0; i < size; i++)
		if (tolower(data[i]) != txt[i])
			abort();
	return 0;
}
