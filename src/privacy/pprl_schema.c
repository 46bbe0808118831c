/*
 * clkhash linkage schema v3: parsing and validation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "phr/pprl.h"
#include "pprl_internal.h"

PHR_PRINTF(3, 4) static int fail(char *err, size_t cap, const char *fmt, ...)
{
	if (err && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* Decodes standard base64 (padding optional) into a phr_malloc'd buffer. */
static int b64_dup(uint8_t **out, size_t *out_len, const char *s)
{
	size_t n = strlen(s);
	uint8_t *buf = phr_malloc(n / 4 * 3 + 3);
	if (!buf)
		return PHR_ERR_NOMEM;
	size_t got = 0;
	if (sodium_base642bin(buf, n / 4 * 3 + 3, s, n, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(buf, n / 4 * 3 + 3, s, n, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
		phr_free(buf);
		return PHR_ERR_PARSE;
	}
	*out = buf;
	*out_len = got;
	return PHR_OK;
}

/* Reads an optional non-negative integer member; *present says whether it was there. */
static int get_uint(uint64_t *out, bool *present, const json_t *obj, const char *key, uint64_t max)
{
	json_t *v = json_object_get(obj, key);
	*present = v != NULL;
	if (!v)
		return PHR_OK;
	if (!json_is_integer(v))
		return PHR_ERR_PARSE;
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return PHR_ERR_INVALID;
	*out = (uint64_t)i;
	return PHR_OK;
}

static int parse_format(struct pprl_feature *f, const json_t *fmt, char *err, size_t cap)
{
	if (!json_is_object(fmt))
		return fail(err, cap, "format is not an object"), PHR_ERR_PARSE;
	const char *type = json_string_value(json_object_get(fmt, "type"));
	if (!type || strcmp(type, "string") != 0)
		return fail(err, cap, "only string formats are supported"), PHR_ERR_UNSUPPORTED;
	const char *enc = json_string_value(json_object_get(fmt, "encoding"));
	if (enc && strcmp(enc, "utf-8") != 0 && strcmp(enc, "ascii") != 0)
		return fail(err, cap, "encoding %s is not supported", enc), PHR_ERR_UNSUPPORTED;
	if (json_object_get(fmt, "pattern"))
		return fail(err, cap, "regex patterns are not supported"), PHR_ERR_UNSUPPORTED;
	const char *c = json_string_value(json_object_get(fmt, "case"));
	if (c) {
		if (!strcmp(c, "lower"))
			f->cases = PPRL_CASE_LOWER;
		else if (!strcmp(c, "upper"))
			f->cases = PPRL_CASE_UPPER;
		else if (!strcmp(c, "mixed"))
			f->cases = PPRL_CASE_MIXED;
		else
			return fail(err, cap, "bad case '%s'", c), PHR_ERR_INVALID;
	}
	uint64_t v = 0;
	bool present;
	int rc = get_uint(&v, &present, fmt, "minLength", 1u << 16);
	if (rc)
		return fail(err, cap, "bad minLength"), rc;
	f->min_len = present ? (size_t)v : 0;
	rc = get_uint(&v, &present, fmt, "maxLength", 1u << 16);
	if (rc || (present && v == 0))
		return fail(err, cap, "bad maxLength"), rc ? rc : PHR_ERR_INVALID;
	f->max_len = present ? (size_t)v : 0;
	if (f->max_len && f->min_len > f->max_len)
		return fail(err, cap, "minLength above maxLength"), PHR_ERR_INVALID;
	return PHR_OK;
}

static int parse_hashing(struct pprl_feature *f, const json_t *h, char *err, size_t cap)
{
	if (!json_is_object(h))
		return fail(err, cap, "hashing is not an object"), PHR_ERR_PARSE;
	const json_t *cmp = json_object_get(h, "comparison");
	if (!json_is_object(cmp))
		return fail(err, cap, "hashing.comparison missing"), PHR_ERR_PARSE;
	const char *ct = json_string_value(json_object_get(cmp, "type"));
	if (!ct || strcmp(ct, "ngram") != 0)
		return fail(err, cap, "only ngram comparisons are supported"), PHR_ERR_UNSUPPORTED;
	uint64_t v = 0;
	bool present;
	int rc = get_uint(&v, &present, cmp, "n", 64);
	if (rc || !present)
		return fail(err, cap, "bad comparison.n"), rc ? rc : PHR_ERR_PARSE;
	f->n = (unsigned)v;
	json_t *pos = json_object_get(cmp, "positional");
	if (pos && !json_is_boolean(pos))
		return fail(err, cap, "positional is not a boolean"), PHR_ERR_PARSE;
	f->positional = pos && json_is_true(pos);

	const json_t *st = json_object_get(h, "strategy");
	if (!json_is_object(st))
		return fail(err, cap, "hashing.strategy missing"), PHR_ERR_PARSE;
	bool tok, feat;
	uint64_t bt = 0, bf = 0;
	if (get_uint(&bt, &tok, st, "bitsPerToken", 1u << 16) ||
	    get_uint(&bf, &feat, st, "bitsPerFeature", 1u << 20))
		return fail(err, cap, "bad strategy value"), PHR_ERR_INVALID;
	if (tok == feat)
		return fail(err, cap, "strategy needs exactly one of bitsPerToken, bitsPerFeature"),
		       PHR_ERR_INVALID;
	f->per_feature = feat;
	f->bits = (uint32_t)(feat ? bf : bt);

	const json_t *hash = json_object_get(h, "hash");
	f->hash = PPRL_HASH_BLAKE;
	if (hash) {
		const char *ht = json_string_value(json_object_get(hash, "type"));
		json_t *ps = json_object_get(hash, "prevent_singularity");
		if (!ht)
			return fail(err, cap, "hash.type missing"), PHR_ERR_PARSE;
		if (!strcmp(ht, "doubleHash")) {
			f->hash = PPRL_HASH_DOUBLE;
			if (ps && !json_is_boolean(ps))
				return fail(err, cap, "prevent_singularity is not a boolean"), PHR_ERR_PARSE;
			f->prevent_singularity = ps && json_is_true(ps);
		} else if (!strcmp(ht, "blakeHash")) {
			if (ps)
				return fail(err, cap, "prevent_singularity needs doubleHash"), PHR_ERR_INVALID;
		} else {
			return fail(err, cap, "hash type %s is not supported", ht), PHR_ERR_UNSUPPORTED;
		}
	}
	const json_t *mv = json_object_get(h, "missingValue");
	if (mv) {
		const char *sent = json_string_value(json_object_get(mv, "sentinel"));
		const json_t *rw = json_object_get(mv, "replaceWith");
		if (!sent || (rw && !json_is_string(rw)))
			return fail(err, cap, "bad missingValue"), PHR_ERR_PARSE;
		f->missing = phr_strdup(sent);
		f->replace = phr_strdup(rw ? json_string_value(rw) : sent);
		if (!f->missing || !f->replace)
			return PHR_ERR_NOMEM;
	}
	return PHR_OK;
}

static int parse_kdf(struct phr_pprl_schema *s, const json_t *kdf, char *err, size_t cap)
{
	if (!json_is_object(kdf))
		return fail(err, cap, "clkConfig.kdf missing"), PHR_ERR_PARSE;
	const char *t = json_string_value(json_object_get(kdf, "type"));
	const char *h = json_string_value(json_object_get(kdf, "hash"));
	if (!t || strcmp(t, "HKDF") != 0 || (h && strcmp(h, "SHA256") != 0))
		return fail(err, cap, "only HKDF with SHA256 is supported"), PHR_ERR_UNSUPPORTED;
	uint64_t ks = 64;
	bool present;
	if (get_uint(&ks, &present, kdf, "keySize", 1024) || ks == 0)
		return fail(err, cap, "bad keySize"), PHR_ERR_INVALID;
	s->key_size = (uint32_t)ks;
	const json_t *salt = json_object_get(kdf, "salt");
	const json_t *info = json_object_get(kdf, "info");
	if ((salt && !json_is_string(salt)) || (info && !json_is_string(info)))
		return fail(err, cap, "salt and info must be base64 strings"), PHR_ERR_PARSE;
	int rc;
	if (salt && (rc = b64_dup(&s->salt, &s->salt_len, json_string_value(salt))))
		return fail(err, cap, "bad base64 salt"), rc;
	if (info && (rc = b64_dup(&s->info, &s->info_len, json_string_value(info))))
		return fail(err, cap, "bad base64 info"), rc;
	return PHR_OK;
}

static int parse_root(struct phr_pprl_schema *s, const json_t *root, char *err, size_t cap)
{
	if (!json_is_object(root))
		return fail(err, cap, "schema is not an object"), PHR_ERR_PARSE;
	json_t *ver = json_object_get(root, "version");
	if (!json_is_number(ver))
		return fail(err, cap, "version missing"), PHR_ERR_PARSE;
	if (json_number_value(ver) != 3)
		return fail(err, cap, "only schema version 3 is supported"), PHR_ERR_UNSUPPORTED;
	const json_t *cfg = json_object_get(root, "clkConfig");
	if (!json_is_object(cfg))
		return fail(err, cap, "clkConfig missing"), PHR_ERR_PARSE;
	uint64_t l = 0, folds = 0;
	bool present;
	if (get_uint(&l, &present, cfg, "l", PHR_PPRL_MAX_BITS) || !present || l == 0 || l % 8)
		return fail(err, cap, "l must be a positive multiple of 8 up to %u", PHR_PPRL_MAX_BITS),
		       PHR_ERR_INVALID;
	if (get_uint(&folds, &present, cfg, "xor_folds", 16) || (l << folds) > PHR_PPRL_MAX_BITS * 16u)
		return fail(err, cap, "bad xor_folds"), PHR_ERR_INVALID;
	s->l = (uint32_t)l;
	s->folds = (uint32_t)folds;
	int rc = parse_kdf(s, json_object_get(cfg, "kdf"), err, cap);
	if (rc)
		return rc;
	const json_t *feats = json_object_get(root, "features");
	if (!json_is_array(feats))
		return fail(err, cap, "features missing"), PHR_ERR_PARSE;
	size_t n = json_array_size(feats);
	if (n == 0 || n > PHR_PPRL_MAX_FEATURES)
		return fail(err, cap, "1 to %u features", PHR_PPRL_MAX_FEATURES), PHR_ERR_TOO_LARGE;
	s->features = phr_calloc(n, sizeof(*s->features));
	if (!s->features)
		return PHR_ERR_NOMEM;
	s->nfeatures = n;
	bool blake = false;
	for (size_t i = 0; i < n; i++) {
		struct pprl_feature *f = &s->features[i];
		const json_t *fj = json_array_get(feats, i);
		if (!json_is_object(fj) || !json_is_string(json_object_get(fj, "identifier")))
			return fail(err, cap, "feature %zu has no identifier", i), PHR_ERR_PARSE;
		json_t *ign = json_object_get(fj, "ignored");
		if (ign && json_is_true(ign)) {
			f->ignored = true;
			continue;
		}
		if ((rc = parse_format(f, json_object_get(fj, "format"), err, cap)) ||
		    (rc = parse_hashing(f, json_object_get(fj, "hashing"), err, cap)))
			return rc;
		blake |= f->hash == PPRL_HASH_BLAKE;
	}
	uint64_t hl = l << folds;
	if (blake && (hl & (hl - 1)))
		return fail(err, cap, "blakeHash needs l * 2^xor_folds to be a power of two"), PHR_ERR_INVALID;
	if (blake && s->key_size > crypto_generichash_blake2b_KEYBYTES_MAX)
		return fail(err, cap, "blakeHash keys are at most 64 bytes"), PHR_ERR_INVALID;
	if ((uint64_t)n * 2 * s->key_size > 255u * 32u)
		return fail(err, cap, "HKDF-SHA256 cannot derive that many key bytes"), PHR_ERR_TOO_LARGE;
	return PHR_OK;
}

int phr_pprl_schema_parse(struct phr_pprl_schema **out, char *err, size_t err_cap, const char *json,
			  size_t len)
{
	*out = NULL;
	if (err && err_cap)
		err[0] = '\0';
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		fail(err, err_cap, "JSON: %s (line %d)", je.text, je.line);
		return PHR_ERR_PARSE;
	}
	struct phr_pprl_schema *s = phr_calloc(1, sizeof(*s));
	if (!s) {
		json_decref(root);
		return PHR_ERR_NOMEM;
	}
	int rc = parse_root(s, root, err, err_cap);
	json_decref(root);
	if (rc) {
		phr_pprl_schema_free(s);
		return rc;
	}
	*out = s;
	return PHR_OK;
}

void phr_pprl_schema_free(struct phr_pprl_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->features && i < s->nfeatures; i++) {
		phr_free(s->features[i].missing);
		phr_free(s->features[i].replace);
	}
	phr_free(s->features);
	phr_free(s->salt);
	phr_free(s->info);
	phr_free(s);
}

size_t phr_pprl_schema_bits(const struct phr_pprl_schema *s)
{
	return s->l;
}

size_t phr_pprl_schema_features(const struct phr_pprl_schema *s)
{
	return s->nfeatures;
}
