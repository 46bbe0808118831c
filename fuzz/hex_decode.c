/* Fuzz hex decoding: no crash, and whatever decodes re-encodes to the same digits. */
#include <phr/core.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	uint8_t out[2049];
	size_t n;
	if (phr_hex_decode(out, sizeof out, &n, (const char *)data, size) != PHR_OK)
		return 0;
	char txt[2 * sizeof out + 3];
	if (phr_hex_encode(txt, sizeof txt, out, n, false) != PHR_OK)
		abort();
	const char *in = (const char *)data;
	size_t len = size;
	if (len >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
		in += 2;
		len -= 2;
	}
	/* odd input gained one leading zero digit */
	size_t off = (len & 1) ? 1 : 0;
	if (off && txt[0] != '0')
		abort();
	for (size_t i = 0; i < len; i++) {
		char a = in[i], b = txt[i + off];
		if (a >= 'A' && a <= 'F')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			abort();
	}
	return 0;
}
