/*
 * Groth16 verification over bn254 with the EVM precompiles' arithmetic, and the parsers
 * for snarkjs's verification-key, proof and public-signal JSON.
 */
#include <string.h>

#include <jansson.h>

#include "phr/groth16.h"
#include "phr/json.h"
#include "phr/precompile.h"

/* Base-field modulus p and scalar-field order r of bn254, big-endian. */
static const uint8_t FIELD_P[32] = {
	0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
	0x97, 0x81, 0x6a, 0x91, 0x68, 0x71, 0xca, 0x8d, 0x3c, 0x20, 0x8c, 0x16, 0xd8, 0x7c, 0xfd, 0x47,
};
static const uint8_t FIELD_R[32] = {
	0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
	0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
};

/* Decimal string -> 32-byte big-endian. Digits only, no sign, no leading zero (except
 * "0"), at most 78 digits, value below 2^256. */
static int dec_parse(uint8_t out[32], const char *s)
{
	uint32_t limb[8] = { 0 }; /* little-endian 32-bit limbs */
	size_t len = strlen(s);

	if (len == 0 || len > 78 || (len > 1 && s[0] == '0'))
		return PHR_ERR_PARSE;
	for (size_t i = 0; i < len; i++) {
		uint64_t carry;
		if (s[i] < '0' || s[i] > '9')
			return PHR_ERR_PARSE;
		carry = (uint64_t)(s[i] - '0');
		for (int k = 0; k < 8; k++) {
			uint64_t t = (uint64_t)limb[k] * 10u + carry;
			limb[k] = (uint32_t)t;
			carry = t >> 32;
		}
		if (carry)
			return PHR_ERR_RANGE;
	}
	for (int k = 0; k < 8; k++)
		for (int b = 0; b < 4; b++)
			out[31 - (k * 4 + b)] = (uint8_t)(limb[k] >> (8 * b));
	return PHR_OK;
}

int phr_groth16_value_parse(uint8_t out[32], const char *s)
{
	uint8_t b[32];
	size_t len = 0;
	int rc;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (strlen(s + 2) > 64)
			return PHR_ERR_RANGE;
		if (s[2] == '\0' || phr_hex_decode(b, sizeof(b), &len, s, strlen(s)) != PHR_OK)
			return PHR_ERR_PARSE;
		memset(out, 0, 32);
		memcpy(out + 32 - len, b, len);
		return PHR_OK;
	}
	rc = dec_parse(b, s);
	if (rc == PHR_OK)
		memcpy(out, b, 32);
	return rc;
}

int phr_groth16_dec_format(char *out, size_t cap, const uint8_t v[32])
{
	uint32_t limb[8];
	char tmp[80];
	size_t n = 0;

	if (cap < 79)
		return PHR_ERR_TOO_LARGE;
	for (int k = 0; k < 8; k++) {
		limb[k] = 0;
		for (int b = 0; b < 4; b++)
			limb[k] |= (uint32_t)v[31 - (k * 4 + b)] << (8 * b);
	}
	for (;;) {
		uint64_t rem = 0;
		uint32_t any = 0;
		for (int k = 7; k >= 0; k--) {
			uint64_t cur = (rem << 32) | limb[k];
			limb[k] = (uint32_t)(cur / 10u);
			rem = cur % 10u;
			any |= limb[k];
		}
		tmp[n++] = (char)('0' + (int)rem);
		if (!any)
			break;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return PHR_OK;
}

/* A base-field coordinate: canonical decimal below p. */
static int coord_parse(uint8_t out[32], const json_t *v)
{
	int rc;

	if (!json_is_string(v))
		return PHR_ERR_PARSE;
	rc = dec_parse(out, json_string_value(v));
	if (rc != PHR_OK)
		return rc;
	return memcmp(out, FIELD_P, 32) < 0 ? PHR_OK : PHR_ERR_RANGE;
}

static int is_dec(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* snarkjs G1: ["x", "y", "1"]. */
static int g1_parse(uint8_t out[64], const json_t *v)
{
	int rc;

	if (!json_is_array(v) || json_array_size(v) != 3 || !is_dec(json_array_get(v, 2), "1"))
		return PHR_ERR_PARSE;
	rc = coord_parse(out, json_array_get(v, 0));
	if (rc == PHR_OK)
		rc = coord_parse(out + 32, json_array_get(v, 1));
	return rc;
}

/* snarkjs G2: [["x0", "x1"], ["y0", "y1"], ["1", "0"]] with c0 the real part; the EVM
 * encoding puts the imaginary part first. */
static int g2_parse(uint8_t out[128], const json_t *v)
{
	const json_t *z;
	int rc = PHR_OK;

	if (!json_is_array(v) || json_array_size(v) != 3)
		return PHR_ERR_PARSE;
	z = json_array_get(v, 2);
	if (!json_is_array(z) || json_array_size(z) != 2 || !is_dec(json_array_get(z, 0), "1") ||
	    !is_dec(json_array_get(z, 1), "0"))
		return PHR_ERR_PARSE;
	for (size_t i = 0; i < 2 && rc == PHR_OK; i++) {
		const json_t *c = json_array_get(v, i);
		if (!json_is_array(c) || json_array_size(c) != 2)
			return PHR_ERR_PARSE;
		rc = coord_parse(out + 64 * i, json_array_get(c, 1));
		if (rc == PHR_OK)
			rc = coord_parse(out + 64 * i + 32, json_array_get(c, 0));
	}
	return rc;
}

static int load(json_t **root, const char *json, size_t len)
{
	if (len > PHR_GROTH16_MAX_JSON)
		return PHR_ERR_TOO_LARGE;
	return phr_json_parse(root, NULL, 0, json, len);
}

/* "protocol": "groth16" and "curve": "bn128" when present (snarkjs always writes them;
 * a wrapper object may omit them). */
static int check_kind(const json_t *o, int required)
{
	const json_t *p = json_object_get(o, "protocol"), *c = json_object_get(o, "curve");

	if ((p == NULL || c == NULL) && required)
		return PHR_ERR_PARSE;
	if ((p != NULL && !json_is_string(p)) || (c != NULL && !json_is_string(c)))
		return PHR_ERR_PARSE;
	if ((p != NULL && strcmp(json_string_value(p), "groth16") != 0) ||
	    (c != NULL && strcmp(json_string_value(c), "bn128") != 0))
		return PHR_ERR_UNSUPPORTED;
	return PHR_OK;
}

int phr_groth16_vkey_parse(struct phr_groth16_vkey *vk, const char *json, size_t len)
{
	struct phr_groth16_vkey k;
	json_t *root = NULL;
	const json_t *ic, *np;
	int rc = load(&root, json, len);

	if (rc != PHR_OK)
		return rc;
	memset(&k, 0, sizeof(k));
	rc = PHR_ERR_PARSE;
	if (!json_is_object(root))
		goto out;
	rc = check_kind(root, 1);
	if (rc != PHR_OK)
		goto out;
	np = json_object_get(root, "nPublic");
	ic = json_object_get(root, "IC");
	rc = PHR_ERR_PARSE;
	if (!json_is_integer(np) || json_integer_value(np) < 0 || !json_is_array(ic))
		goto out;
	rc = PHR_ERR_UNSUPPORTED;
	if (json_integer_value(np) > PHR_GROTH16_MAX_PUBLIC)
		goto out;
	k.n_public = (size_t)json_integer_value(np);
	rc = PHR_ERR_PARSE;
	if (json_array_size(ic) != k.n_public + 1)
		goto out;
	if ((rc = g1_parse(k.alpha, json_object_get(root, "vk_alpha_1"))) != PHR_OK ||
	    (rc = g2_parse(k.beta, json_object_get(root, "vk_beta_2"))) != PHR_OK ||
	    (rc = g2_parse(k.gamma, json_object_get(root, "vk_gamma_2"))) != PHR_OK ||
	    (rc = g2_parse(k.delta, json_object_get(root, "vk_delta_2"))) != PHR_OK)
		goto out;
	for (size_t i = 0; i <= k.n_public; i++)
		if ((rc = g1_parse(k.ic[i], json_array_get(ic, i))) != PHR_OK)
			goto out;
	*vk = k;
out:
	json_decref(root);
	return rc;
}

int phr_groth16_proof_parse(struct phr_groth16_proof *proof, const char *json, size_t len)
{
	struct phr_groth16_proof p;
	json_t *root = NULL;
	const json_t *o;
	int rc = load(&root, json, len);

	if (rc != PHR_OK)
		return rc;
	rc = PHR_ERR_PARSE;
	if (!json_is_object(root))
		goto out;
	o = root;
	if (json_object_get(root, "pi_a") == NULL && json_is_object(json_object_get(root, "proof")))
		o = json_object_get(root, "proof");
	rc = check_kind(o, 0);
	if (rc != PHR_OK)
		goto out;
	if ((rc = g1_parse(p.a, json_object_get(o, "pi_a"))) != PHR_OK ||
	    (rc = g2_parse(p.b, json_object_get(o, "pi_b"))) != PHR_OK ||
	    (rc = g1_parse(p.c, json_object_get(o, "pi_c"))) != PHR_OK)
		goto out;
	*proof = p;
out:
	json_decref(root);
	return rc;
}

int phr_groth16_public_parse(uint8_t (*inputs)[32], size_t cap, size_t *n, const char *json, size_t len)
{
	json_t *root = NULL;
	const json_t *arr;
	size_t count;
	int rc = load(&root, json, len);

	if (rc != PHR_OK)
		return rc;
	arr = root;
	if (json_is_object(root))
		arr = json_object_get(root, "publicSignals");
	rc = PHR_ERR_PARSE;
	if (!json_is_array(arr))
		goto out;
	count = json_array_size(arr);
	rc = PHR_ERR_TOO_LARGE;
	if (count > cap)
		goto out;
	/* Parse into scratch first so @p inputs stays untouched on failure. */
	{
		uint8_t tmp[PHR_GROTH16_MAX_PUBLIC][32];
		rc = PHR_ERR_TOO_LARGE;
		if (count > PHR_GROTH16_MAX_PUBLIC)
			goto out;
		for (size_t i = 0; i < count; i++) {
			const json_t *v = json_array_get(arr, i);
			rc = PHR_ERR_PARSE;
			if (!json_is_string(v))
				goto out;
			rc = dec_parse(tmp[i], json_string_value(v));
			if (rc != PHR_OK)
				goto out;
		}
		if (count)
			memcpy(inputs, tmp, count * 32);
	}
	*n = count;
	rc = PHR_OK;
out:
	json_decref(root);
	return rc;
}

/* Runs precompile 0x06/0x07/0x08 and copies exactly @p out_len bytes of output. */
static int run(uint8_t addr_last, uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
	uint8_t addr[20] = { 0 };
	struct phr_buf res;
	int64_t gas = 0;
	int st, rc;

	addr[19] = addr_last;
	phr_buf_init(&res, 1024);
	st = phr_precompile_run(addr, in, in_len, INT64_MAX / 2, &res, &gas);
	if (st == PHR_PRECOMPILE_OK && res.len == out_len) {
		memcpy(out, res.data, out_len);
		rc = PHR_OK;
	} else if (st == PHR_PRECOMPILE_FAILURE) {
		rc = PHR_ERR_INVALID; /* point not on the curve or not in the subgroup */
	} else if (st == PHR_PRECOMPILE_INTERNAL_ERROR) {
		rc = PHR_ERR_NOMEM;
	} else {
		rc = PHR_ERR_INTERNAL;
	}
	phr_buf_release(&res);
	return rc;
}

/* -P for a G1 point in precompile encoding: (x, p - y), the identity (0, 0) stays. */
static int g1_neg(uint8_t out[64], const uint8_t in[64])
{
	static const uint8_t zero[64];
	unsigned borrow = 0;

	if (memcmp(in, zero, 64) == 0) {
		memset(out, 0, 64);
		return PHR_OK;
	}
	if (memcmp(in + 32, FIELD_P, 32) >= 0)
		return PHR_ERR_INVALID;
	memcpy(out, in, 32);
	for (int i = 31; i >= 0; i--) {
		unsigned d = (unsigned)FIELD_P[i] - in[32 + i] - borrow;
		out[32 + i] = (uint8_t)d;
		borrow = (d >> 8) & 1u;
	}
	if (memcmp(out + 32, FIELD_P, 32) == 0) /* y == 0: -P == P */
		memset(out + 32, 0, 32);
	return PHR_OK;
}

int phr_groth16_verify(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
		       const uint8_t (*inputs)[32], size_t n)
{
	uint8_t acc[64], buf[128], pairing[4 * 192], ok[32];
	int rc;

	if (n != vk->n_public || n > PHR_GROTH16_MAX_PUBLIC)
		return PHR_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (memcmp(inputs[i], FIELD_R, 32) >= 0)
			return PHR_ERR_INVALID;

	memcpy(acc, vk->ic[0], 64);
	for (size_t i = 0; i < n; i++) {
		uint8_t mul_in[96];
		memcpy(mul_in, vk->ic[i + 1], 64);
		memcpy(mul_in + 64, inputs[i], 32);
		rc = run(0x07, buf + 64, 64, mul_in, sizeof(mul_in));
		if (rc != PHR_OK)
			return rc;
		memcpy(buf, acc, 64);
		rc = run(0x06, acc, 64, buf, 128);
		if (rc != PHR_OK)
			return rc;
	}

	rc = g1_neg(pairing, proof->a);
	if (rc != PHR_OK)
		return rc;
	memcpy(pairing + 64, proof->b, 128);
	memcpy(pairing + 192, vk->alpha, 64);
	memcpy(pairing + 256, vk->beta, 128);
	memcpy(pairing + 384, acc, 64);
	memcpy(pairing + 448, vk->gamma, 128);
	memcpy(pairing + 576, proof->c, 64);
	memcpy(pairing + 640, vk->delta, 128);
	rc = run(0x08, ok, 32, pairing, sizeof(pairing));
	if (rc != PHR_OK)
		return rc;
	return ok[31] == 1 ? PHR_OK : PHR_ERR_SIGNATURE;
}

/* A public signal that must fit in 64 bits (a time). */
static int signal_u64(uint64_t *out, const uint8_t v[32])
{
	uint64_t x = 0;

	for (int i = 0; i < 24; i++)
		if (v[i])
			return PHR_ERR_RANGE;
	for (int i = 24; i < 32; i++)
		x = x << 8 | v[i];
	*out = x;
	return PHR_OK;
}

/* Is @p value (len bytes) one of the @p n entries of @p list (stride bytes apart)? */
static int listed(const uint8_t *list, size_t n, size_t stride, const uint8_t *value, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(list + i * stride, value, len) == 0)
			return 1;
	return 0;
}

/* The checks both policies end with: scope and message, the proof, then the nullifier. */
static int finish(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
		  const uint8_t (*inputs)[32], size_t n, size_t scope_at, const uint8_t *scope, const uint8_t *message,
		  int (*spend)(void *ctx, const uint8_t nullifier[32]), void *ctx)
{
	int rc;

	/* in every circuit the message follows the scope (the trial id for enrolments) */
	if ((scope && memcmp(scope, inputs[scope_at], 32) != 0) ||
	    (message && memcmp(message, inputs[scope_at + 1], 32) != 0))
		return PHR_ERR_FORBIDDEN;
	rc = phr_groth16_verify(vk, proof, inputs, n);
	if (rc != PHR_OK)
		return rc;
	return spend ? spend(ctx, inputs[0]) : PHR_OK;
}

int phr_groth16_provider_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
			       const uint8_t (*inputs)[32], size_t n, const struct phr_groth16_policy *policy)
{
	uint64_t t;

	if (n != PHR_GROTH16_P_COUNT)
		return PHR_ERR_INVALID;
	if (policy->n_roots > 0 &&
	    !listed(&policy->roots[0][0], policy->n_roots, 32, inputs[PHR_GROTH16_P_ROOT], 32))
		return PHR_ERR_NOT_FOUND;
	if (policy->max_age > 0 &&
	    (signal_u64(&t, inputs[PHR_GROTH16_P_TIME]) != PHR_OK || t > policy->now ||
	     policy->now - t > policy->max_age))
		return PHR_ERR_EXPIRED;
	if (policy->role && memcmp(policy->role, inputs[PHR_GROTH16_P_ROLE], 32) != 0)
		return PHR_ERR_FORBIDDEN;
	return finish(vk, proof, inputs, n, PHR_GROTH16_P_SCOPE, policy->scope, policy->message, policy->spend,
		      policy->ctx);
}

int phr_groth16_age_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
			  const uint8_t (*inputs)[32], size_t n, const struct phr_groth16_age_policy *policy)
{
	uint64_t v;

	if (n != PHR_GROTH16_A_COUNT)
		return PHR_ERR_INVALID;
	/* key x and y are adjacent signals: compare 64 bytes at once */
	if (policy->n_attesters > 0 &&
	    !listed(&policy->attesters[0][0], policy->n_attesters, 64, inputs[PHR_GROTH16_A_KEY_X], 64))
		return PHR_ERR_NOT_FOUND;
	if (policy->n_dates > 0) {
		size_t i = 0;
		if (signal_u64(&v, inputs[PHR_GROTH16_A_TODAY]) == PHR_OK)
			while (i < policy->n_dates && policy->dates[i] != v)
				i++;
		else
			i = policy->n_dates;
		if (i == policy->n_dates)
			return PHR_ERR_EXPIRED;
	}
	if (policy->min_age > 0 &&
	    (signal_u64(&v, inputs[PHR_GROTH16_A_MIN_AGE]) != PHR_OK || v < policy->min_age))
		return PHR_ERR_FORBIDDEN;
	return finish(vk, proof, inputs, n, PHR_GROTH16_A_SCOPE, policy->scope, policy->message, policy->spend,
		      policy->ctx);
}

int phr_groth16_trial_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
			    const uint8_t (*inputs)[32], size_t n, const struct phr_groth16_trial_policy *policy)
{
	if (n != PHR_GROTH16_T_COUNT)
		return PHR_ERR_INVALID;
	if (policy->n_roots > 0 &&
	    !listed(&policy->roots[0][0], policy->n_roots, 32, inputs[PHR_GROTH16_T_ROOT], 32))
		return PHR_ERR_NOT_FOUND;
	return finish(vk, proof, inputs, n, PHR_GROTH16_T_TRIAL, policy->trial, policy->message, policy->spend,
		      policy->ctx);
}
