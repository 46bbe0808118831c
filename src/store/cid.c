/*
 * CIDs and the multiformats they are made of: varint-prefixed multihash,
 * multicodec, and multibase text (base32, base58btc, hex).
 */
#include <string.h>

#include <nettle/sha2.h>
#include <sodium.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int phr_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t n)
{
	uint8_t digits[360];
	size_t ndig = 0, zeros = 0;

	if (n > 256)
		return PHR_ERR_TOO_LARGE;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	/* digits[] holds the number in base 58, least significant first */
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		for (size_t j = 0; j < ndig; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry > 0) {
			digits[ndig++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	if (zeros + ndig + 1 > out_cap)
		return PHR_ERR_TOO_LARGE;
	size_t k = 0;
	for (size_t i = 0; i < zeros; i++)
		out[k++] = '1';
	for (size_t i = ndig; i > 0; i--)
		out[k++] = b58_alphabet[digits[i - 1]];
	out[k] = '\0';
	return PHR_OK;
}

static int b58_value(char c)
{
	const char *p = c ? strchr(b58_alphabet, c) : NULL;
	return p ? (int)(p - b58_alphabet) : -1;
}

int phr_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
	uint8_t bytes[300];
	size_t nb = 0, zeros = 0;

	if (in_len > 400)
		return PHR_ERR_TOO_LARGE;
	while (zeros < in_len && in[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < in_len; i++) {
		int v = b58_value(in[i]);
		if (v < 0)
			return PHR_ERR_PARSE;
		unsigned carry = (unsigned)v;
		for (size_t j = 0; j < nb; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		while (carry > 0) {
			if (nb >= sizeof(bytes))
				return PHR_ERR_TOO_LARGE;
			bytes[nb++] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
	}
	if (zeros + nb > out_cap)
		return PHR_ERR_TOO_LARGE;
	memset(out, 0, zeros);
	for (size_t i = 0; i < nb; i++)
		out[zeros + i] = bytes[nb - 1 - i];
	*out_len = zeros + nb;
	return PHR_OK;
}

/*
 * SHA-256 through nettle: its x86-64 code uses the SHA extensions when the CPU
 * has them (runtime detection), about 5x libsodium's portable C here.
 */
void phr_store_sha256(uint8_t out[32], const uint8_t *data, size_t len)
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

struct phr_store_hash {
	struct sha256_ctx c;
};

struct phr_store_hash *phr_store_hash_new(void)
{
	struct phr_store_hash *h = phr_malloc(sizeof(*h));
	if (h)
		sha256_init(&h->c);
	return h;
}

void phr_store_hash_update(struct phr_store_hash *h, const uint8_t *data, size_t len)
{
	sha256_update(&h->c, len, data);
}

void phr_store_hash_final(struct phr_store_hash *h, uint8_t out[32])
{
	sha256_digest(&h->c, SHA256_DIGEST_SIZE, out);
	phr_free(h);
}

void phr_cid_identity_empty(struct phr_cid *cid)
{
	memset(cid, 0, sizeof(*cid));
	cid->version = 1;
	cid->codec = PHR_CODEC_RAW;
	cid->mh_code = PHR_MH_IDENTITY;
}

int phr_cid_decode(struct phr_cid *cid, size_t *used, const uint8_t *in, size_t in_len)
{
	struct phr_cid c;
	size_t off = 0, n;
	uint64_t v, code, len;
	int rc;

	memset(&c, 0, sizeof(c));
	if (in_len >= 2 && in[0] == 0x12 && in[1] == 0x20) {
		if (in_len < 34)
			return PHR_ERR_TRUNCATED;
		c.version = 0;
		c.codec = PHR_CODEC_DAG_PB;
		c.mh_code = PHR_MH_SHA2_256;
		c.digest_len = 32;
		memcpy(c.digest, in + 2, 32);
		*cid = c;
		if (used)
			*used = 34;
		return PHR_OK;
	}
	if ((rc = phr_varint_decode(&v, &n, in, in_len)) != PHR_OK)
		return rc;
	off += n;
	if (v != 1)
		return v == 0 ? PHR_ERR_PARSE : PHR_ERR_UNSUPPORTED;
	if ((rc = phr_varint_decode(&v, &n, in + off, in_len - off)) != PHR_OK)
		return rc;
	off += n;
	if (v != PHR_CODEC_RAW && v != PHR_CODEC_DAG_PB)
		return PHR_ERR_UNSUPPORTED;
	c.codec = v;
	if ((rc = phr_varint_decode(&code, &n, in + off, in_len - off)) != PHR_OK)
		return rc;
	off += n;
	if ((rc = phr_varint_decode(&len, &n, in + off, in_len - off)) != PHR_OK)
		return rc;
	off += n;
	if (code == PHR_MH_SHA2_256) {
		if (len != 32)
			return PHR_ERR_PARSE;
	} else if (code == PHR_MH_IDENTITY) {
		if (len > PHR_CID_DIGEST_MAX)
			return PHR_ERR_UNSUPPORTED;
	} else {
		return PHR_ERR_UNSUPPORTED;
	}
	if (in_len - off < len)
		return PHR_ERR_TRUNCATED;
	c.version = 1;
	c.mh_code = code;
	c.digest_len = (uint8_t)len;
	memcpy(c.digest, in + off, (size_t)len);
	off += (size_t)len;
	*cid = c;
	if (used)
		*used = off;
	return PHR_OK;
}

int phr_cid_encode(uint8_t *out, size_t out_cap, size_t *out_len, const struct phr_cid *cid)
{
	uint8_t tmp[PHR_CID_MAX_BYTES];
	size_t k = 0;

	if (cid->digest_len > PHR_CID_DIGEST_MAX)
		return PHR_ERR_INVALID;
	if (cid->version == 0) {
		if (cid->codec != PHR_CODEC_DAG_PB || cid->mh_code != PHR_MH_SHA2_256 ||
		    cid->digest_len != 32)
			return PHR_ERR_INVALID;
	} else if (cid->version == 1) {
		k += phr_varint_encode(tmp + k, 1);
		k += phr_varint_encode(tmp + k, cid->codec);
	} else {
		return PHR_ERR_INVALID;
	}
	k += phr_varint_encode(tmp + k, cid->mh_code);
	k += phr_varint_encode(tmp + k, cid->digest_len);
	memcpy(tmp + k, cid->digest, cid->digest_len);
	k += cid->digest_len;
	if (k > out_cap)
		return PHR_ERR_TOO_LARGE;
	memcpy(out, tmp, k);
	*out_len = k;
	return PHR_OK;
}

/* Decodes the whole binary CID in @p bin (nothing may follow it). */
static int cid_decode_all(struct phr_cid *cid, const uint8_t *bin, size_t n, bool allow_v0)
{
	size_t used;
	struct phr_cid c;
	int rc = phr_cid_decode(&c, &used, bin, n);
	if (rc != PHR_OK)
		return rc;
	if (used != n)
		return PHR_ERR_PARSE;
	if (c.version == 0 && !allow_v0)
		return PHR_ERR_PARSE;
	*cid = c;
	return PHR_OK;
}

int phr_cid_parse(struct phr_cid *cid, const char *text)
{
	uint8_t bin[256];
	size_t n = 0, len;
	int rc;

	if (!text)
		return PHR_ERR_INVALID;
	len = strnlen(text, 400);
	if (len < 2 || len >= 400)
		return PHR_ERR_PARSE;
	if (len == 46 && text[0] == 'Q' && text[1] == 'm') {
		rc = phr_base58_decode(bin, sizeof(bin), &n, text, len);
		if (rc != PHR_OK)
			return PHR_ERR_PARSE;
		if (n != 34)
			return PHR_ERR_PARSE;
		return cid_decode_all(cid, bin, n, true);
	}
	const char *body = text + 1;
	size_t blen = len - 1;
	switch (text[0]) {
	case 'b':
	case 'B':
		for (size_t i = 0; i < blen; i++) {
			char ch = body[i];
			if (text[0] == 'b' ? (ch >= 'A' && ch <= 'Z') : (ch >= 'a' && ch <= 'z'))
				return PHR_ERR_PARSE;
		}
		rc = phr_base32_decode(bin, sizeof(bin), &n, body, blen);
		break;
	case 'z':
		rc = phr_base58_decode(bin, sizeof(bin), &n, body, blen);
		break;
	case 'f':
		if (blen % 2)
			return PHR_ERR_PARSE;
		for (size_t i = 0; i < blen; i++)
			if (body[i] >= 'A' && body[i] <= 'F')
				return PHR_ERR_PARSE;
		rc = phr_hex_decode(bin, sizeof(bin), &n, body, blen);
		if (rc == PHR_OK && blen >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'))
			rc = PHR_ERR_PARSE;
		break;
	default:
		return PHR_ERR_PARSE;
	}
	if (rc != PHR_OK)
		return rc == PHR_ERR_NONCANONICAL ? rc : PHR_ERR_PARSE;
	return cid_decode_all(cid, bin, n, false);
}

int phr_cid_format(char *out, size_t out_cap, const struct phr_cid *cid)
{
	uint8_t bin[PHR_CID_MAX_BYTES];
	size_t n;
	int rc = phr_cid_encode(bin, sizeof(bin), &n, cid);
	if (rc != PHR_OK)
		return rc;
	if (cid->version == 0)
		return phr_base58_encode(out, out_cap, bin, n);
	if (out_cap < 2)
		return PHR_ERR_TOO_LARGE;
	out[0] = 'b';
	return phr_base32_encode(out + 1, out_cap - 1, bin, n);
}

int phr_cid_of_block(struct phr_cid *cid, unsigned version, uint64_t codec, const uint8_t *data,
		     size_t len)
{
	if (version > 1 || (version == 0 && codec != PHR_CODEC_DAG_PB) ||
	    (codec != PHR_CODEC_RAW && codec != PHR_CODEC_DAG_PB))
		return PHR_ERR_INVALID;
	memset(cid, 0, sizeof(*cid));
	cid->version = (uint8_t)version;
	cid->codec = codec;
	cid->mh_code = PHR_MH_SHA2_256;
	cid->digest_len = 32;
	phr_store_sha256(cid->digest, data, len);
	return PHR_OK;
}

int phr_cid_verify(const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	uint8_t d[32];
	if (cid->mh_code == PHR_MH_IDENTITY)
		return (len == cid->digest_len && (len == 0 || memcmp(data, cid->digest, len) == 0))
			       ? PHR_OK
			       : PHR_ERR_CORRUPT;
	if (cid->mh_code != PHR_MH_SHA2_256 || cid->digest_len != 32)
		return PHR_ERR_UNSUPPORTED;
	phr_store_sha256(d, data, len);
	return sodium_memcmp(d, cid->digest, 32) == 0 ? PHR_OK : PHR_ERR_CORRUPT;
}

bool phr_cid_same_block(const struct phr_cid *a, const struct phr_cid *b)
{
	return a->mh_code == b->mh_code && a->digest_len == b->digest_len &&
	       memcmp(a->digest, b->digest, a->digest_len) == 0;
}

bool phr_cid_equal(const struct phr_cid *a, const struct phr_cid *b)
{
	return a->version == b->version && a->codec == b->codec && phr_cid_same_block(a, b);
}

void phr_cid_to_v1(struct phr_cid *out, const struct phr_cid *in)
{
	*out = *in;
	out->version = 1;
}
