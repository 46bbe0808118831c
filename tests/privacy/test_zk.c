/*
 * Native Groth16 verification of the ZK credential proofs (circuits/fixtures: real snarkjs
 * proofs made with the committed zkeys): valid proofs verify; a tampered public input,
 * a signal at or above r, a wrong key, a swapped or off-curve point are rejected; the
 * provider policy rejects a wrong/revoked root, a stale time, another role/scope/caller
 * and a reused nullifier; the trial-enrolment policy accepts a member once and rejects a
 * reused nullifier, a wrong root, a patient outside the tree, another trial or caller and
 * a tampered input; the JSON parsers reject malformed keys and proofs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/groth16.h"

struct fixture {
	char *text;
	size_t len;
};

static struct fixture load(const char *rel)
{
	const char *src = getenv("PHR_SOURCE_DIR");
	char path[4096];
	struct phr_buf b;
	struct fixture f;

	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	phr_buf_init(&b, PHR_GROTH16_MAX_JSON);
	assert_int_equal(phr_file_read(&b, path, PHR_GROTH16_MAX_JSON), PHR_OK);
	f.text = malloc(b.len + 1);
	assert_non_null(f.text);
	memcpy(f.text, b.data, b.len);
	f.text[b.len] = '\0';
	f.len = b.len;
	phr_buf_release(&b);
	return f;
}

struct loaded {
	struct phr_groth16_vkey vk;
	struct phr_groth16_proof proof;
	uint8_t in[PHR_GROTH16_MAX_PUBLIC][32];
	size_t n;
};

static void load_case(struct loaded *l, const char *vkey, const char *proof)
{
	struct fixture v = load(vkey), p = load(proof);

	assert_int_equal(phr_groth16_vkey_parse(&l->vk, v.text, v.len), PHR_OK);
	assert_int_equal(phr_groth16_proof_parse(&l->proof, p.text, p.len), PHR_OK);
	assert_int_equal(phr_groth16_public_parse(l->in, PHR_GROTH16_MAX_PUBLIC, &l->n, p.text, p.len), PHR_OK);
	free(v.text);
	free(p.text);
}

#define PVK "circuits/keys/provider_credential_vkey.json"
#define AVK "circuits/keys/age_credential_vkey.json"

static void test_valid_proofs_verify(void **state)
{
	struct loaded l;
	(void)state;
	load_case(&l, PVK, "circuits/fixtures/provider_leaf0.json");
	assert_int_equal(l.vk.n_public, 6);
	assert_int_equal(l.n, 6);
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_OK);
	load_case(&l, PVK, "circuits/fixtures/provider_leaf1.json");
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_OK);
	load_case(&l, AVK, "circuits/fixtures/age.json");
	assert_int_equal(l.n, 7);
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_OK);
}

static void test_tampered_inputs_rejected(void **state)
{
	struct loaded l;
	(void)state;
	load_case(&l, PVK, "circuits/fixtures/provider_leaf0.json");
	for (size_t i = 0; i < l.n; i++) {
		l.in[i][31] ^= 1;
		assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n),
				 PHR_ERR_SIGNATURE);
		l.in[i][31] ^= 1;
	}
	/* wrong count */
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, 5), PHR_ERR_INVALID);
	/* A and C swapped: both valid points, wrong proof */
	{
		struct phr_groth16_proof p = l.proof;
		memcpy(p.a, l.proof.c, 64);
		memcpy(p.c, l.proof.a, 64);
		assert_int_equal(phr_groth16_verify(&l.vk, &p, (const uint8_t(*)[32])l.in, l.n), PHR_ERR_SIGNATURE);
		/* C off the curve */
		p = l.proof;
		p.c[63] ^= 1;
		assert_int_equal(phr_groth16_verify(&l.vk, &p, (const uint8_t(*)[32])l.in, l.n), PHR_ERR_INVALID);
		/* B coordinates in snarkjs order (real first) instead of the EVM's */
		p = l.proof;
		memcpy(p.b, l.proof.b + 32, 32);
		memcpy(p.b + 32, l.proof.b, 32);
		assert_int_not_equal(phr_groth16_verify(&l.vk, &p, (const uint8_t(*)[32])l.in, l.n), PHR_OK);
	}
	/* the other circuit's key */
	{
		struct loaded a;
		load_case(&a, AVK, "circuits/fixtures/age.json");
		assert_int_equal(phr_groth16_verify(&a.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_ERR_INVALID);
		assert_int_equal(phr_groth16_verify(&a.vk, &l.proof, (const uint8_t(*)[32])a.in, a.n), PHR_ERR_SIGNATURE);
	}
}

/* signal + r (still below 2^256) must not verify: the Solidity verifier's field check */
static void test_signal_not_reduced(void **state)
{
	static const uint8_t r[32] = {
		0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d,
		0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
	};
	struct loaded l;
	unsigned carry = 0;
	(void)state;
	load_case(&l, PVK, "circuits/fixtures/provider_leaf0.json");
	for (int i = 31; i >= 0; i--) { /* role (4) + r */
		unsigned s = (unsigned)l.in[PHR_GROTH16_P_ROLE][i] + r[i] + carry;
		l.in[PHR_GROTH16_P_ROLE][i] = (uint8_t)s;
		carry = s >> 8;
	}
	assert_int_equal(carry, 0);
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_ERR_INVALID);
}

struct spent {
	uint8_t v[4][32];
	size_t n;
};

static int spend(void *ctx, const uint8_t nullifier[32])
{
	struct spent *s = ctx;
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->v[i], nullifier, 32) == 0)
			return PHR_ERR_EXISTS;
	if (s->n == 4)
		return PHR_ERR_TOO_LARGE;
	memcpy(s->v[s->n++], nullifier, 32);
	return PHR_OK;
}

static void test_policy(void **state)
{
	struct loaded l0, l1;
	struct spent spent = { .n = 0 };
	uint8_t roots[2][32], role[32] = { 0 }, other[32] = { 0 }, scope[32] = { 0 };
	struct phr_groth16_policy pol;
	(void)state;
	load_case(&l0, PVK, "circuits/fixtures/provider_leaf0.json");
	load_case(&l1, PVK, "circuits/fixtures/provider_leaf1.json");
	memset(roots[0], 0x11, 32);
	memcpy(roots[1], l0.in[PHR_GROTH16_P_ROOT], 32);
	role[31] = 4;
	other[31] = 2;
	scope[31] = 42;
	memset(&pol, 0, sizeof(pol));
	pol.roots = (const uint8_t(*)[32])roots;
	pol.n_roots = 2;
	pol.role = role;
	pol.scope = scope;
	pol.message = l0.in[PHR_GROTH16_P_MESSAGE];
	pol.now = 1700000000 + 65;
	pol.max_age = 3600;
	pol.spend = spend;
	pol.ctx = &spent;
#define CHECK(l) phr_groth16_provider_check(&(l).vk, &(l).proof, (const uint8_t(*)[32])(l).in, (l).n, &pol)
	assert_int_equal(CHECK(l0), PHR_OK);
	assert_int_equal(spent.n, 1);
	/* reused nullifier */
	assert_int_equal(CHECK(l0), PHR_ERR_EXISTS);
	/* another credential in the same scope */
	assert_int_equal(CHECK(l1), PHR_OK);
	spent.n = 0;
	/* wrong root, or the root dropped from the list after a revocation */
	pol.n_roots = 1;
	assert_int_equal(CHECK(l0), PHR_ERR_NOT_FOUND);
	pol.n_roots = 2;
	/* stale and future times */
	pol.now = 1700000000 + 60 + 3601;
	assert_int_equal(CHECK(l0), PHR_ERR_EXPIRED);
	pol.now = 1700000000 + 59;
	assert_int_equal(CHECK(l0), PHR_ERR_EXPIRED);
	pol.now = 1700000000 + 65;
	/* another role, scope or caller */
	pol.role = other;
	assert_int_equal(CHECK(l0), PHR_ERR_FORBIDDEN);
	pol.role = role;
	pol.scope = other;
	assert_int_equal(CHECK(l0), PHR_ERR_FORBIDDEN);
	pol.scope = scope;
	pol.message = other;
	assert_int_equal(CHECK(l0), PHR_ERR_FORBIDDEN);
	pol.message = NULL;
	/* a tampered nullifier fails the proof, and is not spent */
	l0.in[PHR_GROTH16_P_NULLIFIER][0] ^= 1;
	assert_int_equal(CHECK(l0), PHR_ERR_SIGNATURE);
	assert_int_equal(spent.n, 0);
#undef CHECK
}

#define TVK "circuits/keys/trial_enrolment_vkey.json"

static void test_trial_policy(void **state)
{
	struct loaded l, out;
	struct spent spent = { .n = 0 };
	uint8_t roots[2][32], trial[32] = { 0 }, other[32] = { 0 };
	struct phr_groth16_trial_policy pol;
	(void)state;
	load_case(&l, TVK, "circuits/fixtures/trial.json");
	load_case(&out, TVK, "circuits/fixtures/trial_outsider.json");
	assert_int_equal(l.n, PHR_GROTH16_T_COUNT);
	/* both are valid proofs of their own statement */
	assert_int_equal(phr_groth16_verify(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n), PHR_OK);
	assert_int_equal(phr_groth16_verify(&out.vk, &out.proof, (const uint8_t(*)[32])out.in, out.n), PHR_OK);
	memset(roots[0], 0x22, 32);
	memcpy(roots[1], l.in[PHR_GROTH16_T_ROOT], 32);
	trial[31] = 1;
	other[31] = 2;
	memset(&pol, 0, sizeof(pol));
	pol.roots = (const uint8_t(*)[32])roots;
	pol.n_roots = 2;
	pol.trial = trial;
	pol.message = l.in[PHR_GROTH16_T_MESSAGE];
	pol.spend = spend;
	pol.ctx = &spent;
#define CHECK(x) phr_groth16_trial_check(&(x).vk, &(x).proof, (const uint8_t(*)[32])(x).in, (x).n, &pol)
	assert_int_equal(CHECK(l), PHR_OK);
	assert_int_equal(spent.n, 1);
	/* one enrolment per patient per trial */
	assert_int_equal(CHECK(l), PHR_ERR_EXISTS);
	spent.n = 0;
	/* wrong root (or one dropped after a participant was removed) */
	pol.n_roots = 1;
	assert_int_equal(CHECK(l), PHR_ERR_NOT_FOUND);
	pol.n_roots = 2;
	/* a patient outside the tree: its proof is for another root ... */
	assert_int_equal(CHECK(out), PHR_ERR_NOT_FOUND);
	/* ... and claiming the trial's root breaks it */
	memcpy(out.in[PHR_GROTH16_T_ROOT], roots[1], 32);
	assert_int_equal(CHECK(out), PHR_ERR_SIGNATURE);
	/* another trial or caller */
	pol.trial = other;
	assert_int_equal(CHECK(l), PHR_ERR_FORBIDDEN);
	pol.trial = trial;
	pol.message = other;
	assert_int_equal(CHECK(l), PHR_ERR_FORBIDDEN);
	pol.message = NULL;
	/* tampered public inputs fail the proof and spend nothing */
	memcpy(l.in[PHR_GROTH16_T_TRIAL], other, 32);
	pol.trial = NULL;
	assert_int_equal(CHECK(l), PHR_ERR_SIGNATURE);
	memcpy(l.in[PHR_GROTH16_T_TRIAL], trial, 32);
	l.in[PHR_GROTH16_T_NULLIFIER][5] ^= 1;
	assert_int_equal(CHECK(l), PHR_ERR_SIGNATURE);
	l.in[PHR_GROTH16_T_NULLIFIER][5] ^= 1;
	l.in[PHR_GROTH16_T_MESSAGE][31] ^= 1;
	assert_int_equal(CHECK(l), PHR_ERR_SIGNATURE);
	assert_int_equal(spent.n, 0);
	/* the provider key cannot check a trial proof (signal count) */
	assert_int_equal(phr_groth16_trial_check(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, 3, &pol),
			 PHR_ERR_INVALID);
#undef CHECK
}

/* The keys built into the node are the committed ones. */
static void test_builtin_vkeys(void **state)
{
	static const char *const names[] = { "provider_credential", "age_credential", "trial_enrolment" };
	struct phr_groth16_vkey a, b;
	char rel[128];
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct fixture f;
		snprintf(rel, sizeof(rel), "circuits/keys/%s_vkey.json", names[i]);
		f = load(rel);
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		assert_int_equal(phr_groth16_vkey_parse(&a, f.text, f.len), PHR_OK);
		assert_int_equal(phr_groth16_builtin_vkey(&b, names[i]), PHR_OK);
		assert_memory_equal(&a, &b, sizeof(a));
		free(f.text);
	}
	assert_int_equal(phr_groth16_builtin_vkey(&b, "nope"), PHR_ERR_NOT_FOUND);
}

static void test_age_policy(void **state)
{
	struct loaded l;
	struct spent spent = { .n = 0 };
	uint8_t keys[2][64], scope[32] = { 0 };
	uint32_t dates[2] = { 20231114, 20231113 }, other_date = 20231116;
	struct phr_groth16_age_policy pol;
	(void)state;
	load_case(&l, AVK, "circuits/fixtures/age.json");
	memset(keys[0], 0x22, 64);
	memcpy(keys[1], l.in[PHR_GROTH16_A_KEY_X], 32);
	memcpy(keys[1] + 32, l.in[PHR_GROTH16_A_KEY_Y], 32);
	scope[31] = 43;
	memset(&pol, 0, sizeof(pol));
	pol.attesters = (const uint8_t(*)[64])keys;
	pol.n_attesters = 2;
	pol.min_age = 18;
	pol.dates = dates;
	pol.n_dates = 2;
	pol.scope = scope;
	pol.message = l.in[PHR_GROTH16_A_MESSAGE];
	pol.spend = spend;
	pol.ctx = &spent;
#define CHECK() phr_groth16_age_check(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, l.n, &pol)
	assert_int_equal(CHECK(), PHR_OK);
	assert_int_equal(CHECK(), PHR_ERR_EXISTS);
	spent.n = 0;
	pol.n_attesters = 1; /* attester not listed */
	assert_int_equal(CHECK(), PHR_ERR_NOT_FOUND);
	pol.n_attesters = 2;
	pol.min_age = 21; /* proof says 18 */
	assert_int_equal(CHECK(), PHR_ERR_FORBIDDEN);
	pol.min_age = 16; /* a stronger proof than asked for is fine */
	assert_int_equal(CHECK(), PHR_OK);
	spent.n = 0;
	pol.dates = &other_date;
	pol.n_dates = 1;
	assert_int_equal(CHECK(), PHR_ERR_EXPIRED);
	pol.dates = dates;
	pol.n_dates = 2;
	scope[31] = 44;
	assert_int_equal(CHECK(), PHR_ERR_FORBIDDEN);
	scope[31] = 43;
	l.in[PHR_GROTH16_A_MIN_AGE][31] = 21; /* claiming more than was proven */
	pol.min_age = 21;
	assert_int_equal(CHECK(), PHR_ERR_SIGNATURE);
	assert_int_equal(spent.n, 0);
	/* a provider proof's signals are not an age proof */
	assert_int_equal(phr_groth16_age_check(&l.vk, &l.proof, (const uint8_t(*)[32])l.in, 6, &pol), PHR_ERR_INVALID);
#undef CHECK
}

static void expect_vkey(int want, const char *json)
{
	struct phr_groth16_vkey vk;
	assert_int_equal(phr_groth16_vkey_parse(&vk, json, strlen(json)), want);
}

/* Rewrites the real key with one substring replaced. */
static void expect_vkey_edit(int want, const char *from, const char *to)
{
	struct fixture v = load(PVK);
	char *at = strstr(v.text, from);
	size_t fl = strlen(from), tl = strlen(to);
	char *s;
	assert_non_null(at);
	s = malloc(v.len - fl + tl + 1);
	assert_non_null(s);
	memcpy(s, v.text, (size_t)(at - v.text));
	memcpy(s + (at - v.text), to, tl);
	memcpy(s + (at - v.text) + tl, at + fl, v.len - (size_t)(at - v.text) - fl + 1);
	expect_vkey(want, s);
	free(s);
	free(v.text);
}

static void test_parsers_reject(void **state)
{
	struct phr_groth16_proof p;
	uint8_t in[2][32];
	size_t n = 99;
	(void)state;
	expect_vkey(PHR_ERR_PARSE, "");
	expect_vkey(PHR_ERR_PARSE, "[]");
	expect_vkey(PHR_ERR_PARSE, "{\"protocol\":\"groth16\"}");
	expect_vkey_edit(PHR_ERR_UNSUPPORTED, "\"groth16\"", "\"plonk\"");
	expect_vkey_edit(PHR_ERR_UNSUPPORTED, "\"bn128\"", "\"bls12381\"");
	expect_vkey_edit(PHR_ERR_UNSUPPORTED, "\"nPublic\": 6", "\"nPublic\": 17");
	expect_vkey_edit(PHR_ERR_PARSE, "\"nPublic\": 6", "\"nPublic\": 5");
	expect_vkey_edit(PHR_ERR_PARSE, "\"nPublic\": 6", "\"nPublic\": \"6\"");
	/* the base-field modulus p itself, and a leading zero */
	expect_vkey_edit(PHR_ERR_RANGE, "13653594051255097478177070356564251170163319292238924357690796168867997294607",
			 "21888242871839275222246405745257275088696311157297823662689037894645226208583");
	expect_vkey_edit(PHR_ERR_PARSE, "\"vk_alpha_1\": [\n  \"", "\"vk_alpha_1\": [\n  \"0");
	expect_vkey_edit(PHR_ERR_PARSE, "\"vk_alpha_1\": [\n  \"", "\"vk_alpha_1\": [\n  \"-");
	expect_vkey_edit(PHR_ERR_PARSE, "\"vk_alpha_1\": [\n  \"", "\"vk_alpha_1\": [\n  1, \"");

	assert_int_equal(phr_groth16_proof_parse(&p, "{}", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_groth16_proof_parse(&p, "{\"pi_a\":[\"1\",\"2\",\"0\"]}", 25), PHR_ERR_PARSE);
	assert_int_equal(phr_groth16_public_parse(in, 2, &n, "[\"1\",\"2\",\"3\"]", 13), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_groth16_public_parse(in, 2, &n, "[\"1\",2]", 7), PHR_ERR_PARSE);
	assert_int_equal(phr_groth16_public_parse(in, 2, &n, "[\"1x\"]", 6), PHR_ERR_PARSE);
	/* 2^256 */
	{
		const char *big = "[\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"]";
		assert_int_equal(phr_groth16_public_parse(in, 2, &n, big, strlen(big)), PHR_ERR_RANGE);
	}
	assert_int_equal(n, 99);
	assert_int_equal(phr_groth16_public_parse(in, 2, &n, "[]", 2), PHR_OK);
	assert_int_equal(n, 0);
}

static void test_decimal_roundtrip(void **state)
{
	static const char *vals[] = {
		"0", "1", "4", "18446744073709551616",
		"115792089237316195423570985008687907853269984665640564039457584007913129639935",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char json[120], out[80];
		uint8_t v[1][32];
		size_t n;
		snprintf(json, sizeof(json), "[\"%s\"]", vals[i]);
		assert_int_equal(phr_groth16_public_parse(v, 1, &n, json, strlen(json)), PHR_OK);
		assert_int_equal(phr_groth16_dec_format(out, sizeof(out), v[0]), PHR_OK);
		assert_string_equal(out, vals[i]);
	}
	{
		char small[10];
		uint8_t z[32] = { 0 };
		assert_int_equal(phr_groth16_dec_format(small, sizeof(small), z), PHR_ERR_TOO_LARGE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_proofs_verify),
		cmocka_unit_test(test_tampered_inputs_rejected),
		cmocka_unit_test(test_signal_not_reduced),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_age_policy),
		cmocka_unit_test(test_trial_policy),
		cmocka_unit_test(test_builtin_vkeys),
		cmocka_unit_test(test_parsers_reject),
		cmocka_unit_test(test_decimal_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
