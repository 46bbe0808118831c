/* Unsigned LEB128 varints as specified by multiformats (unsigned-varint). */
#include <phr/core.h>

size_t phr_varint_encode(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t phr_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int phr_varint_decode(uint64_t *v, size_t *used, const uint8_t *in, size_t in_len)
{
	uint64_t r = 0;
	/* multiformats caps varints at 9 bytes = 63 bits */
	for (size_t i = 0; i < 9; i++) {
		if (i >= in_len)
			return PHR_ERR_TRUNCATED;
		uint8_t b = in[i];
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return PHR_ERR_NONCANONICAL;
			*v = r;
			*used = i + 1;
			return PHR_OK;
		}
	}
	return PHR_ERR_RANGE;
}
