/*
 * CLK encoding compatible with clkhash (schema v3): HKDF-SHA256 keys, n-gram
 * tokens, blakeHash and doubleHash Bloom-filter hashing, XOR folding.
 */
#include <stdio.h>
#include <string.h>

#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <sodium.h>

#include "phr/pprl.h"
#include "pprl_internal.h"

#define CELL_MAX ((size_t)64 << 10)

int phr_pprl_keys_derive(struct phr_pprl_keys **out, const struct phr_pprl_schema *s,
			 const uint8_t *secret, size_t secret_len)
{
	*out = NULL;
	if (!secret || secret_len == 0)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	size_t total = s->nfeatures * 2 * s->key_size;
	if (total > 255u * SHA256_DIGEST_SIZE)
		return PHR_ERR_TOO_LARGE;
	struct phr_pprl_keys *k = sodium_malloc(sizeof(*k) + total);
	struct {
		struct hmac_sha256_ctx ctx;
		uint8_t prk[SHA256_DIGEST_SIZE];
		uint8_t zero[SHA256_DIGEST_SIZE];
	} *w = sodium_malloc(sizeof(*w));
	if (!k || !w) {
		sodium_free(k);
		sodium_free(w);
		return PHR_ERR_NOMEM;
	}
	memset(w, 0, sizeof(*w));
	k->nfeatures = s->nfeatures;
	k->key_size = s->key_size;
	/* RFC 5869: no salt means HashLen zero bytes */
	if (s->salt && s->salt_len)
		hmac_sha256_set_key(&w->ctx, s->salt_len, s->salt);
	else
		hmac_sha256_set_key(&w->ctx, sizeof(w->zero), w->zero);
	hkdf_extract(&w->ctx, (nettle_hash_update_func *)hmac_sha256_update,
		     (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, secret_len,
		     secret, w->prk);
	hmac_sha256_set_key(&w->ctx, sizeof(w->prk), w->prk);
	hkdf_expand(&w->ctx, (nettle_hash_update_func *)hmac_sha256_update,
		    (nettle_hash_digest_func *)hmac_sha256_digest, SHA256_DIGEST_SIZE, s->info_len,
		    s->info ? s->info : (const uint8_t *)"", total, k->bytes);
	sodium_free(w); /* wipes */
	sodium_mprotect_readonly(k);
	*out = k;
	return PHR_OK;
}

void phr_pprl_keys_free(struct phr_pprl_keys *k)
{
	if (k)
		sodium_free(k);
}

/* Length of the UTF-8 sequence at p (validated), 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void set_bit(uint8_t *bf, uint32_t idx)
{
	bf[idx >> 3] |= (uint8_t)(0x80u >> (idx & 7));
}

/* Big-endian integer value of @p d modulo @p l. */
static uint32_t mod_be(const uint8_t *d, size_t n, uint32_t l)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n; i++)
		r = (r << 8 | d[i]) % l;
	return (uint32_t)r;
}

static int hash_blake(uint8_t *bf, uint32_t hl, const uint8_t *key, size_t key_len, const uint8_t *tok,
		      size_t tok_len, uint32_t k)
{
	uint8_t h[64];
	for (uint32_t i = 0; i * 32 < k; i++) {
		uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = { 0 };
		char num[12];
		int nl = snprintf(num, sizeof(num), "%u", i);
		memcpy(salt, num, (size_t)nl);
		if (crypto_generichash_blake2b_salt_personal(h, sizeof(h), tok, tok_len, key, key_len,
							     salt, NULL) != 0)
			return PHR_ERR_CRYPTO;
		for (uint32_t j = 0; j < 32 && i * 32 + j < k; j++) {
			uint32_t v = (uint32_t)h[2 * j] | (uint32_t)h[2 * j + 1] << 8;
			set_bit(bf, v % hl);
		}
	}
	return PHR_OK;
}

/* clkhash's chr(i).encode(): the UTF-8 encoding of code point i (i < 0x110000). */
static size_t chr_utf8(uint8_t *out, uint32_t i)
{
	if (i < 0x80) {
		out[0] = (uint8_t)i;
		return 1;
	}
	if (i < 0x800) {
		out[0] = (uint8_t)(0xc0 | i >> 6);
		out[1] = (uint8_t)(0x80 | (i & 0x3f));
		return 2;
	}
	if (i < 0x10000) {
		out[0] = (uint8_t)(0xe0 | i >> 12);
		out[1] = (uint8_t)(0x80 | (i >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (i & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | i >> 18);
	out[1] = (uint8_t)(0x80 | (i >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (i >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (i & 0x3f));
	return 4;
}

struct dh_ctx {
	struct hmac_sha1_ctx sha1;
	struct hmac_md5_ctx md5;
};

static void hash_double(uint8_t *bf, uint32_t hl, struct dh_ctx *c, const uint8_t *tok,
			size_t tok_len, uint32_t k, bool nonsingular)
{
	uint8_t d1[SHA1_DIGEST_SIZE], d2[MD5_DIGEST_SIZE];
	hmac_sha1_update(&c->sha1, tok_len, tok);
	hmac_sha1_digest(&c->sha1, sizeof(d1), d1);
	hmac_md5_update(&c->md5, tok_len, tok);
	hmac_md5_digest(&c->md5, sizeof(d2), d2);
	uint64_t h1 = mod_be(d1, sizeof(d1), hl);
	uint64_t h2 = mod_be(d2, sizeof(d2), hl);
	/* clkhash retries with chr(i) appended until the step is non-zero; the
	 * probability of needing more than a few tries is negligible */
	for (uint32_t i = 0; nonsingular && h2 == 0 && i < 0x110000; i++) {
		uint8_t suf[4];
		size_t sl = chr_utf8(suf, i);
		hmac_md5_update(&c->md5, tok_len, tok);
		hmac_md5_update(&c->md5, sl, suf);
		hmac_md5_digest(&c->md5, sizeof(d2), d2);
		h2 = mod_be(d2, sizeof(d2), hl);
	}
	for (uint32_t i = 0; i < k; i++)
		set_bit(bf, (uint32_t)((h1 + (uint64_t)i * h2) % hl));
}

/* Formats and validates a cell: missing-value replacement, UTF-8, length, case. */
static int format_cell(const struct pprl_feature *f, const char **v, size_t *vl, size_t *chars)
{
	if (f->missing && strlen(f->missing) == *vl && !memcmp(f->missing, *v, *vl)) {
		*v = f->replace;
		*vl = strlen(f->replace);
		f = NULL; /* replaced values are not validated */
	}
	const uint8_t *p = (const uint8_t *)*v;
	size_t n = 0;
	for (size_t i = 0; i < *vl; n++) {
		size_t cl = utf8_len(p + i, *vl - i);
		if (!cl)
			return PHR_ERR_INVALID;
		if (f && cl == 1 && ((f->cases == PPRL_CASE_LOWER && p[i] >= 'A' && p[i] <= 'Z') ||
				     (f->cases == PPRL_CASE_UPPER && p[i] >= 'a' && p[i] <= 'z')))
			return PHR_ERR_INVALID;
		i += cl;
	}
	if (f && (n < f->min_len || (f->max_len && n > f->max_len)))
		return PHR_ERR_INVALID;
	*chars = n;
	return PHR_OK;
}

/* Encodes one feature's value into the unfolded filter @p bf of @p hl bits. */
static int encode_feature(uint8_t *bf, uint32_t hl, const struct pprl_feature *f, const uint8_t *key0,
			  const uint8_t *key1, size_t key_size, const char *cell, size_t cell_len,
			  struct dh_ctx *dh)
{
	const char *v = cell;
	size_t vl = cell_len, chars;
	int rc = format_cell(f, &v, &vl, &chars);
	if (rc)
		return rc;
	/* clkhash: an empty value has no tokens; otherwise the word is padded with
	 * n - 1 spaces each side when n > 1, then cut at code point offsets */
	if (chars == 0)
		return PHR_OK;
	size_t pad = f->n > 1 ? f->n - 1 : 0;
	size_t wl = vl + 2 * pad, wc = chars + 2 * pad;
	char *word = phr_malloc(wl + 1);
	size_t *off = phr_malloc((wc + 1) * sizeof(size_t));
	char *tok = phr_malloc(wl + 24);
	if (!word || !off || !tok) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	memset(word, ' ', pad);
	memcpy(word + pad, v, vl);
	memset(word + pad + vl, ' ', pad);
	for (size_t i = 0, c = 0; i < wl; c++) {
		off[c] = i;
		i += utf8_len((const uint8_t *)word + i, wl - i);
	}
	off[wc] = wl;
	size_t ntok = wc + 1 >= f->n ? wc + 1 - f->n : 0;
	if (ntok == 0)
		goto out;
	if (f->hash == PPRL_HASH_DOUBLE) {
		hmac_sha1_set_key(&dh->sha1, key_size, key0);
		hmac_md5_set_key(&dh->md5, key_size, key1);
	}
	for (size_t t = 0; t < ntok; t++) {
		uint32_t k = f->bits;
		if (f->per_feature)
			k = (uint32_t)(f->bits / ntok + (t < f->bits % ntok ? 1 : 0));
		size_t tl = 0;
		if (f->positional)
			tl = (size_t)snprintf(tok, 24, "%zu ", t + 1);
		memcpy(tok + tl, word + off[t], off[t + f->n] - off[t]);
		tl += off[t + f->n] - off[t];
		if (f->hash == PPRL_HASH_BLAKE) {
			if ((rc = hash_blake(bf, hl, key0, key_size, (const uint8_t *)tok, tl, k)))
				goto out;
		} else {
			hash_double(bf, hl, dh, (const uint8_t *)tok, tl, k, f->prevent_singularity);
		}
	}
out:
	phr_free(word);
	phr_free(off);
	phr_free(tok);
	return rc;
}

int phr_pprl_encode(uint8_t *clk, size_t clk_len, const struct phr_pprl_schema *s,
		    const struct phr_pprl_keys *k, const char *const *cells, const size_t *lens,
		    size_t ncells)
{
	if (clk_len != s->l / 8 || ncells != s->nfeatures || k->nfeatures != s->nfeatures ||
	    k->key_size != s->key_size)
		return PHR_ERR_INVALID;
	uint32_t hl = s->l << s->folds;
	uint8_t *bf = phr_calloc(hl / 8, 1);
	struct dh_ctx *dh = sodium_malloc(sizeof(*dh)); /* holds key-derived state */
	int rc = PHR_OK;
	if (!bf || !dh) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct pprl_feature *f = &s->features[i];
		if (f->ignored)
			continue;
		if (lens[i] > CELL_MAX) {
			rc = PHR_ERR_TOO_LARGE;
			goto out;
		}
		const uint8_t *key0 = k->bytes + i * 2 * k->key_size;
		if ((rc = encode_feature(bf, hl, f, key0, key0 + k->key_size, k->key_size, cells[i],
					 lens[i], dh)))
			goto out;
	}
	for (uint32_t len = hl / 8; len > s->l / 8; len /= 2)
		for (uint32_t j = 0; j < len / 2; j++)
			bf[j] ^= bf[len / 2 + j];
	memcpy(clk, bf, clk_len);
out:
	if (dh)
		sodium_free(dh);
	phr_free(bf);
	return rc;
}

struct encode_csv_ctx {
	struct phr_buf *out;
	const struct phr_pprl_schema *s;
	const struct phr_pprl_keys *k;
	uint8_t *clk;
	char *b64;
	size_t rows;
};

static int encode_row(void *vctx, size_t row, const char *const *cells, const size_t *lens, size_t n)
{
	struct encode_csv_ctx *c = vctx;
	size_t nb = c->s->l / 8;
	int rc = phr_pprl_encode(c->clk, nb, c->s, c->k, cells, lens, n);
	if (rc)
		return rc;
	sodium_bin2base64(c->b64, sodium_base64_ENCODED_LEN(nb, sodium_base64_VARIANT_ORIGINAL), c->clk,
			  nb, sodium_base64_VARIANT_ORIGINAL);
	c->rows++;
	if ((rc = phr_buf_append_str(c->out, c->b64)) || (rc = phr_buf_append_byte(c->out, '\n')))
		return rc;
	return PHR_OK;
}

int phr_pprl_encode_csv(struct phr_buf *out, size_t *nrows, const struct phr_pprl_schema *s,
			const struct phr_pprl_keys *k, const char *csv, size_t len)
{
	size_t nb = s->l / 8;
	struct encode_csv_ctx c = { .out = out, .s = s, .k = k };
	c.clk = phr_malloc(nb);
	c.b64 = phr_malloc(sodium_base64_ENCODED_LEN(nb, sodium_base64_VARIANT_ORIGINAL));
	int rc = PHR_ERR_NOMEM;
	if (c.clk && c.b64)
		rc = phr_pprl_csv_parse(csv, len, true, s->nfeatures, encode_row, &c);
	phr_free(c.clk);
	phr_free(c.b64);
	if (nrows)
		*nrows = c.rows;
	return rc;
}
