/*
 * `shc:/` numeric QR content (with the spec's chunking) and QR codes through
 * libqrencode, written out as PNG (own writer over zlib) or SVG.
 */
#include <errno.h>
#include <qrencode.h>
#include <zlib.h>

#include "shc_int.h"

#define SHC_PREFIX "shc:/"
#define QUIET 4

static int numeric_encode_impl(struct phr_buf *out, size_t *chunks, const char *jws, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (jws[i] < '-' || jws[i] > 'z')
			return PHR_ERR_INVALID;
	size_t n = 1, per = len;
	if (len > PHR_SHC_QR_MAX_JWS) {
		/* balanced chunks, each leaving room for the "i/N/" header */
		n = (len + PHR_SHC_QR_MAX_JWS - 5) / (PHR_SHC_QR_MAX_JWS - 4);
		per = (len + n - 1) / n;
	}
	int rc = PHR_OK;
	for (size_t c = 0; rc == PHR_OK && c < n; c++) {
		size_t from = c * per, to = from + per < len ? from + per : len;
		if (c)
			rc = phr_buf_append_byte(out, '\n');
		if (rc == PHR_OK)
			rc = n == 1 ? phr_buf_append_str(out, SHC_PREFIX)
				    : phr_buf_appendf(out, SHC_PREFIX "%zu/%zu/", c + 1, n);
		for (size_t i = from; rc == PHR_OK && i < to; i++) {
			int v = jws[i] - 45;
			char d[2] = { (char)('0' + v / 10), (char)('0' + v % 10) };
			rc = phr_buf_append(out, d, 2);
		}
	}
	if (rc == PHR_OK && chunks)
		*chunks = n;
	return rc;
}

/* Splits "shc:/[i/N/]digits"; idx = total = 0 when unchunked. */
static int parse_chunk(size_t *idx, size_t *total, const char **digits, size_t *dlen, const char *qr, size_t len)
{
	size_t pl = strlen(SHC_PREFIX);
	if (len < pl || memcmp(qr, SHC_PREFIX, pl) != 0)
		return PHR_ERR_PARSE;
	const char *p = qr + pl, *end = qr + len;
	*idx = *total = 0;
	if (memchr(p, '/', (size_t)(end - p))) {
		size_t v[2];
		for (int k = 0; k < 2; k++) {
			size_t x = 0, nd = 0;
			while (p < end && *p >= '0' && *p <= '9' && nd < 6)
				x = x * 10 + (size_t)(*p++ - '0'), nd++;
			if (nd == 0 || p >= end || *p != '/')
				return PHR_ERR_PARSE;
			p++;
			v[k] = x;
		}
		if (v[0] < 1 || v[0] > v[1] || v[1] > 999)
			return PHR_ERR_PARSE;
		*idx = v[0];
		*total = v[1];
	}
	*digits = p;
	*dlen = (size_t)(end - p);
	return PHR_OK;
}

static int append_digits(struct phr_buf *jws, const char *d, size_t n)
{
	if (n % 2)
		return PHR_ERR_PARSE;
	int rc = phr_buf_reserve(jws, n / 2);
	for (size_t i = 0; rc == PHR_OK && i < n; i += 2) {
		if (d[i] < '0' || d[i] > '9' || d[i + 1] < '0' || d[i + 1] > '9')
			return PHR_ERR_PARSE;
		int v = (d[i] - '0') * 10 + (d[i + 1] - '0');
		if (v > 'z' - 45)
			return PHR_ERR_PARSE;
		rc = phr_buf_append_byte(jws, (uint8_t)(v + 45));
	}
	return rc;
}

static int numeric_decode_impl(struct phr_buf *jws, const char *const *qr, size_t n)
{
	if (n == 0)
		return PHR_ERR_PARSE;
	size_t idx, total, dlen;
	const char *d;
	int rc = parse_chunk(&idx, &total, &d, &dlen, qr[0], strlen(qr[0]));
	if (rc != PHR_OK)
		return rc;
	if (total == 0)
		return n == 1 ? append_digits(jws, d, dlen) : PHR_ERR_PARSE;
	if (total != n)
		return PHR_ERR_PARSE;
	/* chunk i goes in place i: find each in turn (N is small) */
	for (size_t want = 1; want <= total; want++) {
		size_t found = 0;
		const char *fd = NULL;
		size_t fl = 0;
		for (size_t j = 0; j < n; j++) {
			size_t ji, jt, jl;
			const char *jd;
			if ((rc = parse_chunk(&ji, &jt, &jd, &jl, qr[j], strlen(qr[j]))) != PHR_OK)
				return rc;
			if (jt != total)
				return PHR_ERR_PARSE;
			if (ji == want)
				found++, fd = jd, fl = jl;
		}
		if (found != 1)
			return PHR_ERR_PARSE;
		if ((rc = append_digits(jws, fd, fl)) != PHR_OK)
			return rc;
	}
	return PHR_OK;
}

/* ---- rendering ---------------------------------------------------------- */

static int png_chunk(struct phr_buf *out, const char type[4], const uint8_t *data, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uLong crc = crc32(0, (const Bytef *)type, 4);
	crc = crc32(crc, data, (uInt)n);
	uint8_t c[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc };
	int rc = phr_buf_append(out, len, 4);
	if (rc == PHR_OK)
		rc = phr_buf_append(out, type, 4);
	if (rc == PHR_OK && n)
		rc = phr_buf_append(out, data, n);
	if (rc == PHR_OK)
		rc = phr_buf_append(out, c, 4);
	return rc;
}

static bool dark(const QRcode *q, int x, int y)
{
	x -= QUIET, y -= QUIET;
	return x >= 0 && y >= 0 && x < q->width && y < q->width && (q->data[y * q->width + x] & 1);
}

static int write_png(struct phr_buf *out, const QRcode *q, unsigned scale)
{
	size_t side = ((size_t)q->width + 2 * QUIET) * scale;
	size_t row = side + 1; /* filter byte 0, then 8-bit grey pixels */
	struct phr_buf raw, z;
	phr_buf_init(&raw, row * side + 1);
	phr_buf_init(&z, compressBound((uLong)(row * side)) + 16);
	int rc = phr_buf_reserve(&raw, row * side);
	for (size_t py = 0; rc == PHR_OK && py < side; py++) {
		rc = phr_buf_append_byte(&raw, 0);
		for (size_t px = 0; rc == PHR_OK && px < side; px++)
			rc = phr_buf_append_byte(&raw, dark(q, (int)(px / scale), (int)(py / scale)) ? 0 : 255);
	}
	if (rc == PHR_OK)
		rc = phr_buf_reserve(&z, compressBound((uLong)raw.len));
	if (rc == PHR_OK) {
		uLongf zl = (uLongf)(z.cap - z.len);
		if (compress2(z.data, &zl, raw.data, (uLong)raw.len, 9) != Z_OK)
			rc = PHR_ERR_INTERNAL;
		else
			z.len = zl;
	}
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	uint8_t ihdr[13] = { (uint8_t)(side >> 24), (uint8_t)(side >> 16), (uint8_t)(side >> 8), (uint8_t)side,
			     (uint8_t)(side >> 24), (uint8_t)(side >> 16), (uint8_t)(side >> 8), (uint8_t)side,
			     8 /* bit depth */, 0 /* greyscale */, 0, 0, 0 };
	if (rc == PHR_OK)
		rc = phr_buf_append(out, sig, sizeof(sig));
	if (rc == PHR_OK)
		rc = png_chunk(out, "IHDR", ihdr, sizeof(ihdr));
	if (rc == PHR_OK)
		rc = png_chunk(out, "IDAT", z.data, z.len);
	if (rc == PHR_OK)
		rc = png_chunk(out, "IEND", NULL, 0);
	phr_buf_release(&raw);
	phr_buf_release(&z);
	return rc;
}

static int write_svg(struct phr_buf *out, const QRcode *q)
{
	int side = q->width + 2 * QUIET;
	int rc = phr_buf_appendf(out,
				 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
				 "shape-rendering=\"crispEdges\">\n"
				 "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
				 side, side, side, side);
	for (int y = 0; rc == PHR_OK && y < side; y++)
		for (int x = 0; rc == PHR_OK && x < side; x++)
			if (dark(q, x, y))
				rc = phr_buf_appendf(out, "M%d %dh1v1h-1z", x, y);
	if (rc == PHR_OK)
		rc = phr_buf_append_str(out, "\"/>\n</svg>\n");
	return rc;
}

static int qr_render_impl(struct phr_buf *out, const char *qr, size_t len, enum phr_shc_qr_format fmt,
		      unsigned scale)
{
	size_t idx, total, dlen;
	const char *digits;
	int rc = parse_chunk(&idx, &total, &digits, &dlen, qr, len);
	if (rc != PHR_OK)
		return rc;
	for (size_t i = 0; i < dlen; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return PHR_ERR_PARSE;
	if (dlen == 0 || dlen > 7089)
		return PHR_ERR_TOO_LARGE;
	if (fmt == PHR_SHC_QR_PNG && (scale < 1 || scale > 64))
		return PHR_ERR_INVALID;
	QRinput *in = QRinput_new2(0, QR_ECLEVEL_L);
	QRcode *code = NULL;
	if (!in)
		return PHR_ERR_NOMEM;
	/* segment 1: "shc:/" (and "i/N/") in byte mode; segment 2: the digits */
	if (QRinput_append(in, QR_MODE_8, (int)(digits - qr), (const unsigned char *)qr) != 0 ||
	    QRinput_append(in, QR_MODE_NUM, (int)dlen, (const unsigned char *)digits) != 0) {
		rc = errno == ENOMEM ? PHR_ERR_NOMEM : PHR_ERR_PARSE;
		goto out;
	}
	errno = 0;
	code = QRcode_encodeInput(in);
	if (!code) {
		rc = errno == ENOMEM ? PHR_ERR_NOMEM : PHR_ERR_TOO_LARGE;
		goto out;
	}
	rc = fmt == PHR_SHC_QR_SVG ? write_svg(out, code) : write_png(out, code, scale);
out:
	QRcode_free(code);
	QRinput_free(in);
	return rc;
}

int phr_shc_numeric_encode(struct phr_buf *out, size_t *chunks, const char *jws, size_t len)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, numeric_encode_impl(out, chunks, jws, len));
}

int phr_shc_numeric_decode(struct phr_buf *jws, const char *const *qr, size_t n)
{
	size_t start = jws->len;
	return phr_shc_keep(jws, start, numeric_decode_impl(jws, qr, n));
}

int phr_shc_qr_render(struct phr_buf *out, const char *qr, size_t len, enum phr_shc_qr_format fmt,
		      unsigned scale)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, qr_render_impl(out, qr, len, fmt, scale));
}
