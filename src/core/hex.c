/* Hex encoding and lenient-but-exact decoding (0x prefixes, odd lengths, any case). */
#include <phr/core.h>

static const char hexdig[] = "0123456789abcdef";

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int phr_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n, bool prefix)
{
	if (n > (SIZE_MAX - 3) / 2 || out_cap < PHR_HEX_LEN(n, prefix))
		return PHR_ERR_TOO_LARGE;
	char *p = out;
	if (prefix) {
		*p++ = '0';
		*p++ = 'x';
	}
	for (size_t i = 0; i < n; i++) {
		*p++ = hexdig[in[i] >> 4];
		*p++ = hexdig[in[i] & 15];
	}
	*p = 0;
	return PHR_OK;
}

int phr_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
	if (in_len >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
		in += 2;
		in_len -= 2;
	}
	size_t n = (in_len + 1) / 2;
	if (n > out_cap)
		return PHR_ERR_TOO_LARGE;
	/* validate first so out stays untouched on failure */
	for (size_t i = 0; i < in_len; i++)
		if (nibble(in[i]) < 0)
			return PHR_ERR_PARSE;
	size_t i = 0, o = 0;
	if (in_len & 1) {
		out[o++] = (uint8_t)nibble(in[0]);
		i = 1;
	}
	for (; i < in_len; i += 2)
		out[o++] = (uint8_t)(nibble(in[i]) << 4 | nibble(in[i + 1]));
	*out_len = n;
	return PHR_OK;
}

int phr_hex_decode_exact(uint8_t *out, size_t n, const char *in)
{
	size_t len = strlen(in);
	if (len >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
		in += 2;
		len -= 2;
	}
	if (len != n * 2)
		return PHR_ERR_PARSE;
	size_t got;
	return phr_hex_decode(out, n, &got, in, len) ? PHR_ERR_PARSE : PHR_OK;
}
