/* RFC 4648 base32, lower-case alphabet, no padding (multibase 'b'). */
#include <phr/core.h>

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

int phr_base32_encode(char *out, size_t out_cap, const uint8_t *in, size_t n)
{
	if (n > (SIZE_MAX - 5) / 8 || out_cap < PHR_BASE32_LEN(n))
		return PHR_ERR_TOO_LARGE;
	uint32_t acc = 0;
	int bits = 0;
	char *p = out;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			*p++ = alpha[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		*p++ = alpha[(acc << (5 - bits)) & 31];
	*p = 0;
	return PHR_OK;
}

static int value(char c, int *upper)
{
	if (c >= 'a' && c <= 'z') {
		if (*upper == 1)
			return -1;
		*upper = 0;
		return c - 'a';
	}
	if (c >= 'A' && c <= 'Z') {
		if (*upper == 0)
			return -1;
		*upper = 1;
		return c - 'A';
	}
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int phr_base32_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
	/* 1, 3 and 6 leftover characters cannot come from whole bytes */
	size_t rem = in_len % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return PHR_ERR_PARSE;
	size_t n = in_len * 5 / 8;
	if (n > out_cap)
		return PHR_ERR_TOO_LARGE;
	int upper = -1;
	for (size_t i = 0; i < in_len; i++)
		if (value(in[i], &upper) < 0)
			return PHR_ERR_PARSE;
	upper = -1;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < in_len; i++) {
		acc = (acc << 5) | (uint32_t)value(in[i], &upper);
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return PHR_ERR_NONCANONICAL; /* leftover bits must be zero */
	*out_len = o;
	return PHR_OK;
}
