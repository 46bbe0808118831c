/* Base64url without padding (RFC 4648 §5), strict on input; raw DEFLATE. */
#include <stdarg.h>
#include <zlib.h>

#include "shc_int.h"

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int phr_shc_fail(char *reason, size_t cap, int err, const char *fmt, ...)
{
	if (reason && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int b64url_encode_impl(struct phr_buf *out, const uint8_t *in, size_t n)
{
	int rc = phr_buf_reserve(out, n / 3 * 4 + 4);
	if (rc != PHR_OK)
		return rc;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		char q[4] = { b64url_alphabet[v >> 18], b64url_alphabet[(v >> 12) & 63],
			      b64url_alphabet[(v >> 6) & 63], b64url_alphabet[v & 63] };
		if ((rc = phr_buf_append(out, q, 4)) != PHR_OK)
			return rc;
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		char q[2] = { b64url_alphabet[v >> 18], b64url_alphabet[(v >> 12) & 63] };
		rc = phr_buf_append(out, q, 2);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		char q[3] = { b64url_alphabet[v >> 18], b64url_alphabet[(v >> 12) & 63],
			      b64url_alphabet[(v >> 6) & 63] };
		rc = phr_buf_append(out, q, 3);
	}
	return rc;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static int b64url_decode_impl(struct phr_buf *out, const char *in, size_t len)
{
	if (len % 4 == 1)
		return PHR_ERR_PARSE;
	int rc = phr_buf_reserve(out, len / 4 * 3 + 2);
	if (rc != PHR_OK)
		return rc;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return PHR_ERR_PARSE;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((rc = phr_buf_append_byte(out, (uint8_t)(acc >> bits))) != PHR_OK)
				return rc;
			acc &= (1u << bits) - 1;
		}
	}
	/* the leftover bits of the last character must be zero (canonical form) */
	if (acc != 0)
		return PHR_ERR_PARSE;
	return PHR_OK;
}

int phr_shc_deflate(struct phr_buf *out, const uint8_t *in, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (n > UINT32_MAX)
		return PHR_ERR_TOO_LARGE;
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return PHR_ERR_NOMEM;
	uLong bound = deflateBound(&z, (uLong)n);
	int rc = phr_buf_reserve(out, bound);
	if (rc != PHR_OK) {
		deflateEnd(&z);
		return rc;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)bound;
	int zr = deflate(&z, Z_FINISH);
	if (zr == Z_STREAM_END)
		out->len += bound - z.avail_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END)
		return PHR_ERR_INTERNAL;
	out->data[out->len] = 0;
	return PHR_OK;
}

static int inflate_impl(struct phr_buf *out, const uint8_t *in, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (n > UINT32_MAX)
		return PHR_ERR_TOO_LARGE;
	if (inflateInit2(&z, -15) != Z_OK)
		return PHR_ERR_NOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	int rc = PHR_OK;
	for (;;) {
		uint8_t chunk[4096];
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		int zr = inflate(&z, Z_NO_FLUSH);
		size_t got = sizeof(chunk) - z.avail_out;
		if (got && (rc = phr_buf_append(out, chunk, got)) != PHR_OK)
			break;
		if (zr == Z_STREAM_END) {
			/* nothing may follow the DEFLATE stream */
			if (z.avail_in != 0)
				rc = PHR_ERR_PARSE;
			break;
		}
		if (zr != Z_OK || (got == 0 && z.avail_in == 0)) {
			rc = zr == Z_MEM_ERROR ? PHR_ERR_NOMEM : PHR_ERR_PARSE;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

int phr_shc_b64url_encode(struct phr_buf *out, const uint8_t *in, size_t n)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, b64url_encode_impl(out, in, n));
}

int phr_shc_b64url_decode(struct phr_buf *out, const char *in, size_t len)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, b64url_decode_impl(out, in, len));
}

int phr_shc_inflate(struct phr_buf *out, const uint8_t *in, size_t n)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, inflate_impl(out, in, n));
}
