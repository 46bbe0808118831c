/*
 * HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA1 (nettle), HMAC-SHA-256
 * and HMAC-SHA-512 (libsodium); base32 secrets and otpauth:// URIs as
 * authenticator apps read them.
 */
#include "crypto_int.h"

#include <ctype.h>
#include <nettle/hmac.h>
#include <sodium.h>
#include <string.h>

static const uint32_t pow10_tab[10] = { 1,	  10,	    100,      1000,	10000,
					100000, 1000000, 10000000, 100000000, 1000000000 };

static const char *alg_name(enum phr_totp_alg alg)
{
	switch (alg) {
	case PHR_TOTP_SHA1:
		return "SHA1";
	case PHR_TOTP_SHA256:
		return "SHA256";
	case PHR_TOTP_SHA512:
		return "SHA512";
	}
	return NULL;
}

int phr_hotp(uint32_t *code, enum phr_totp_alg alg, const uint8_t *secret, size_t len,
	     uint64_t counter, unsigned digits)
{
	uint8_t msg[8], mac[64];
	size_t maclen;
	unsigned off;
	uint32_t bin;

	if (digits < 6 || digits > 9 || !alg_name(alg))
		return PHR_ERR_INVALID;
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (uint8_t)counter;
	if (alg == PHR_TOTP_SHA1) {
		struct hmac_sha1_ctx ctx;
		hmac_sha1_set_key(&ctx, len, secret);
		hmac_sha1_update(&ctx, sizeof(msg), msg);
		hmac_sha1_digest(&ctx, SHA1_DIGEST_SIZE, mac);
		sodium_memzero(&ctx, sizeof(ctx));
		maclen = SHA1_DIGEST_SIZE;
	} else if (alg == PHR_TOTP_SHA256) {
		phr_crypto_hmac_sha256(mac, secret, len, msg, sizeof(msg));
		maclen = 32;
	} else {
		phr_crypto_hmac_sha512(mac, secret, len, msg, sizeof(msg));
		maclen = 64;
	}
	/* dynamic truncation (RFC 4226 section 5.3) */
	off = mac[maclen - 1] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	      (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	*code = bin % pow10_tab[digits];
	sodium_memzero(mac, sizeof(mac));
	return PHR_OK;
}

int phr_totp(uint32_t *code, enum phr_totp_alg alg, const uint8_t *secret, size_t len, uint64_t t,
	     unsigned period, unsigned digits)
{
	if (period == 0)
		return PHR_ERR_INVALID;
	return phr_hotp(code, alg, secret, len, t / period, digits);
}

int phr_totp_verify(enum phr_totp_alg alg, const uint8_t *secret, size_t len, uint64_t t,
		    unsigned period, unsigned digits, unsigned window, const char *code)
{
	uint64_t step;
	int match = 0;

	if (period == 0 || digits < 6 || digits > 9 || !alg_name(alg) || window > 10)
		return PHR_ERR_INVALID;
	if (strlen(code) != digits)
		return PHR_ERR_PARSE;
	for (unsigned i = 0; i < digits; i++)
		if (code[i] < '0' || code[i] > '9')
			return PHR_ERR_PARSE;
	step = t / period;
	/* check every step of the window, without stopping at a match */
	for (uint64_t s = step >= window ? step - window : 0; s <= step + window; s++) {
		uint32_t v;
		char want[16];
		int rc = phr_hotp(&v, alg, secret, len, s, digits);
		if (rc != PHR_OK)
			return rc;
		snprintf(want, sizeof(want), "%0*u", (int)digits, (unsigned)v);
		match |= sodium_memcmp(want, code, digits) == 0;
		sodium_memzero(want, sizeof(want));
	}
	return match ? PHR_OK : PHR_ERR_UNAUTHENTICATED;
}

int phr_totp_secret_encode(char *out, size_t out_cap, const uint8_t *secret, size_t len)
{
	int rc = phr_base32_encode(out, out_cap, secret, len);

	if (rc == PHR_OK)
		for (char *p = out; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	return rc;
}

int phr_totp_secret_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *s)
{
	size_t n = strlen(s), m = 0;
	char *norm;
	int rc;

	if (n > 4096)
		return PHR_ERR_TOO_LARGE;
	norm = sodium_malloc(n + 1);
	if (!norm)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '-')
			continue;
		norm[m++] = (char)tolower((unsigned char)c);
	}
	while (m > 0 && norm[m - 1] == '=')
		m--;
	rc = phr_base32_decode(out, out_cap, out_len, norm, m);
	if (rc == PHR_ERR_NONCANONICAL)
		rc = PHR_ERR_PARSE;
	sodium_free(norm);
	return rc;
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static int append_pct(struct phr_buf *out, const char *s)
{
	int rc = PHR_OK;

	for (; *s && rc == PHR_OK; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			rc = phr_buf_append_byte(out, c);
		else
			rc = phr_buf_appendf(out, "%%%02X", c);
	}
	return rc;
}

int phr_totp_uri(struct phr_buf *out, const char *issuer, const char *account, const uint8_t *secret,
		 size_t len, enum phr_totp_alg alg, unsigned digits, unsigned period)
{
	char *b32;
	size_t cap = PHR_BASE32_LEN(len);
	int rc;

	if (!issuer || !account || !*account || strchr(issuer, ':') || strchr(account, ':') ||
	    !alg_name(alg) || digits < 6 || digits > 9 || period == 0 || len == 0 || len > 1024)
		return PHR_ERR_INVALID;
	b32 = sodium_malloc(cap);
	if (!b32)
		return PHR_ERR_NOMEM;
	rc = phr_totp_secret_encode(b32, cap, secret, len);
	if (rc == PHR_OK)
		rc = phr_buf_append_str(out, "otpauth://totp/");
	if (rc == PHR_OK && *issuer) {
		rc = append_pct(out, issuer);
		if (rc == PHR_OK)
			rc = phr_buf_append_byte(out, ':');
	}
	if (rc == PHR_OK)
		rc = append_pct(out, account);
	if (rc == PHR_OK)
		rc = phr_buf_appendf(out, "?secret=%s", b32);
	if (rc == PHR_OK && *issuer) {
		rc = phr_buf_append_str(out, "&issuer=");
		if (rc == PHR_OK)
			rc = append_pct(out, issuer);
	}
	if (rc == PHR_OK)
		rc = phr_buf_appendf(out, "&algorithm=%s&digits=%u&period=%u", alg_name(alg), digits,
				     period);
	sodium_free(b32);
	return rc;
}
