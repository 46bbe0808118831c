/*
 * POST /api/v1/zk/verify: the node as a relying party for zero-knowledge proofs
 * (docs/privacy.md section 3). The proof is checked natively (include/phr/groth16.h, the
 * keys built into the node) with the same policy as the contract that would spend it,
 * and the chain state the contract reads is asked from the node's chain: the root
 * (CredentialRegistry.isValidRoot / TrialRegistry.isValidRoot), the attester key
 * (CredentialRegistry.isAttester) and whether the nullifier is spent
 * (ResearchAccess.nullifierUsed / TrialRegistry.nullifierUsed). Nothing is spent: the
 * answer says whether spending would succeed now.
 *
 * Public (no bearer token): a verdict over public inputs and public chain state reveals
 * nothing a caller could not compute; callers without a token are rate-limited (the
 * pairing costs milliseconds of CPU).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/groth16.h"
#include "phr/phr.h"

/* ResearchAccess.MAX_PROOF_AGE: a provider proof's time may lag the chain by this much. */
#define ZK_MAX_PROOF_AGE 3600
/* native_check's answer for a malformed minAge (outside enum phr_err). */
#define ZK_BAD_MIN_AGE (-1000)

enum zk_kind { ZK_PROVIDER, ZK_AGE, ZK_TRIAL };

static const struct {
	const char *name;
	const char *circuit;
	size_t n_public;
} kinds[] = {
	[ZK_PROVIDER] = { "provider", "provider_credential", PHR_GROTH16_P_COUNT },
	[ZK_AGE] = { "age", "age_credential", PHR_GROTH16_A_COUNT },
	[ZK_TRIAL] = { "trial", "trial_enrolment", PHR_GROTH16_T_COUNT },
};

static bool is_zero(const uint8_t a[20])
{
	static const uint8_t z[20];
	return memcmp(a, z, 20) == 0;
}

/* eth_call of a view function of uint256 arguments returning a bool. */
static int call_bool(struct phr_chain *chain, bool *out, const uint8_t to[20], const char *sig,
		     const uint8_t *a0, const uint8_t *a1)
{
	uint8_t data[4 + 64], hash[32];
	size_t len = 4;
	struct phr_buf ret;
	int rv;

	phr_keccak256(hash, sig, strlen(sig));
	memcpy(data, hash, 4);
	if (a0) {
		memcpy(data + len, a0, 32);
		len += 32;
	}
	if (a1) {
		memcpy(data + len, a1, 32);
		len += 32;
	}
	phr_buf_init(&ret, 4096);
	rv = phr_chain_call(chain, &ret, NULL, to, data, len);
	if (rv == PHR_OK && ret.len != 32)
		rv = PHR_ERR_PARSE;
	if (rv == PHR_OK)
		*out = ret.data[31] != 0;
	phr_buf_release(&ret);
	return rv;
}

/* An optional body member holding a value (decimal or 0x-hex string, or a non-negative
 * integer). @return 1 present and parsed, 0 absent, -1 malformed. */
static int body_value(uint8_t out[32], const json_t *body, const char *key)
{
	const json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		uint64_t x = (uint64_t)json_integer_value(v);
		memset(out, 0, 32);
		for (int i = 0; i < 8; i++)
			out[31 - i] = (uint8_t)(x >> (8 * i));
		return 1;
	}
	if (json_is_string(v) && phr_groth16_value_parse(out, json_string_value(v)) == PHR_OK)
		return 1;
	return -1;
}

/* The UTC date (YYYYMMDD) of a unix time. */
static uint32_t utc_date(uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static const char *reason_of(int rv)
{
	switch (rv) {
	case PHR_ERR_SIGNATURE:
		return "the proof does not verify for these public signals";
	case PHR_ERR_INVALID:
		return "malformed proof or public signal (count, field range, curve point)";
	case PHR_ERR_EXPIRED:
		return "the proof's time or date is outside the accepted window";
	case PHR_ERR_FORBIDDEN:
		return "role, age, scope, trial or message differs from what was required";
	default:
		return phr_strerror(rv);
	}
}

/* Without a bearer token: the per-address token bucket of the auth routes. */
static bool rate_ok(struct api_ctx *c)
{
	const union MHD_ConnectionInfo *ci;
	uint32_t ip = 0;

	if (api_header(c, "Authorization") != NULL && api_authenticate(c) == PHR_OK)
		return true;
	ci = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
		ip = ntohl(((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr.s_addr);
	return api_rate_ok(c->api, ip);
}

/* The native check with the contract's policy minus the chain state (root list,
 * attester list and nullifier set are asked from the chain separately). */
static int native_check(struct api_ctx *c, enum zk_kind k, const struct phr_groth16_vkey *vk,
			const struct phr_groth16_proof *proof, const uint8_t (*in)[32], size_t n,
			const uint8_t *want[4], uint64_t now)
{
	const json_t *b = c->req.body;

	if (k == ZK_PROVIDER) {
		struct phr_groth16_policy p = { .role = want[0], .scope = want[1], .message = want[3] };
		p.now = now;
		p.max_age = ZK_MAX_PROOF_AGE;
		return phr_groth16_provider_check(vk, proof, in, n, &p);
	}
	if (k == ZK_AGE) {
		struct phr_groth16_age_policy p = { .scope = want[1], .message = want[3] };
		uint32_t dates[2] = { utc_date(now), utc_date(now >= 86400 ? now - 86400 : now) };
		uint64_t min_age = 0;
		const json_t *m = json_object_get(b, "minAge");
		if (m != NULL && (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 255))
			return ZK_BAD_MIN_AGE;
		if (m != NULL)
			min_age = (uint64_t)json_integer_value(m);
		p.min_age = (uint32_t)min_age;
		p.dates = dates;
		p.n_dates = 2;
		return phr_groth16_age_check(vk, proof, in, n, &p);
	}
	{
		struct phr_groth16_trial_policy p = { .trial = want[2], .message = want[3] };
		return phr_groth16_trial_check(vk, proof, in, n, &p);
	}
}

int api_h_zk_verify(struct api_ctx *c)
{
	const json_t *b = c->req.body;
	const char *kname = json_string_value(json_object_get(b, "kind"));
	const struct phr_deployment *d = phr_node_deployment(c->api->cfg.node);
	struct phr_chain *chain = phr_node_chain(c->api->cfg.node);
	struct phr_groth16_vkey vk;
	struct phr_groth16_proof proof;
	uint8_t in[PHR_GROTH16_MAX_PUBLIC][32], vals[4][32];
	const uint8_t *want[4] = { NULL, NULL, NULL, NULL };
	static const char *const keys[4] = { "role", "scope", "trialId", "message" };
	bool state_ok = false, spent = false;
	char *text = NULL, nul[80];
	const char *state_name;
	uint64_t now = 0;
	size_t n = 0;
	enum zk_kind k;
	json_t *checks;
	int rv, proof_rv;

	if (!c->authed && !rate_ok(c))
		return api_fail(c, PHR_ERR_RATE_LIMITED, "too many verification requests; retry later");
	if (b == NULL || kname == NULL)
		return api_fail(c, PHR_ERR_INVALID, "the body must be {kind, proof, publicSignals, ...}");
	for (k = ZK_PROVIDER; k <= ZK_TRIAL; k++)
		if (strcmp(kname, kinds[k].name) == 0)
			break;
	if (k > ZK_TRIAL)
		return api_fail(c, PHR_ERR_INVALID, "kind must be provider, age or trial");
	for (size_t i = 0; i < 4; i++) {
		int got = body_value(vals[i], b, keys[i]);
		if (got < 0)
			return api_fail(c, PHR_ERR_INVALID, "%s must be a decimal or 0x-hex string", keys[i]);
		if (got > 0)
			want[i] = vals[i];
	}
	if ((want[0] && k != ZK_PROVIDER) || (want[1] && k == ZK_TRIAL) || (want[2] && k != ZK_TRIAL) ||
	    (json_object_get(b, "minAge") && k != ZK_AGE))
		return api_fail(c, PHR_ERR_INVALID, "role applies to provider proofs, scope to provider and age "
						    "proofs, trialId to trial proofs, minAge to age proofs");
	if ((k == ZK_TRIAL && is_zero(d->trials)) || (k != ZK_TRIAL && (is_zero(d->credentials) || is_zero(d->research))))
		return api_fail(c, PHR_ERR_UNSUPPORTED, "this node's deployment has no %s",
				k == ZK_TRIAL ? "TrialRegistry" : "CredentialRegistry/ResearchAccess");

	text = json_dumps(b, JSON_COMPACT);
	if (text == NULL)
		return api_fail(c, PHR_ERR_NOMEM, "verify");
	rv = phr_groth16_proof_parse(&proof, text, strlen(text));
	if (rv == PHR_OK)
		rv = phr_groth16_public_parse(in, PHR_GROTH16_MAX_PUBLIC, &n, text, strlen(text));
	free(text);
	if (rv == PHR_ERR_NOMEM)
		return api_fail(c, rv, "verify");
	if (rv != PHR_OK || n != kinds[k].n_public)
		return api_fail(c, PHR_ERR_INVALID, "proof must be a snarkjs Groth16 proof and publicSignals %zu "
						    "decimal strings for a %s proof", kinds[k].n_public, kname);
	if ((rv = phr_groth16_builtin_vkey(&vk, kinds[k].circuit)) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "no verification key for %s", kinds[k].circuit);
	if ((rv = phr_node_chain_time(c->api->cfg.node, &now)) != PHR_OK)
		return api_fail(c, rv, "the chain's time cannot be read");

	proof_rv = native_check(c, k, &vk, &proof, (const uint8_t(*)[32])in, n, want, now);
	if (proof_rv == ZK_BAD_MIN_AGE)
		return api_fail(c, PHR_ERR_INVALID, "minAge must be an integer from 1 to 255");
	if (proof_rv == PHR_ERR_NOMEM || proof_rv == PHR_ERR_INTERNAL)
		return api_fail(c, proof_rv, "verify");

	/* The chain state the contract reads before it runs the pairing. */
	if (k == ZK_PROVIDER) {
		state_name = "root";
		rv = call_bool(chain, &state_ok, d->credentials, "isValidRoot(uint256)", in[PHR_GROTH16_P_ROOT], NULL);
		if (rv == PHR_OK)
			rv = call_bool(chain, &spent, d->research, "nullifierUsed(uint256)", in[0], NULL);
	} else if (k == ZK_AGE) {
		state_name = "attester";
		rv = call_bool(chain, &state_ok, d->credentials, "isAttester(uint256,uint256)", in[PHR_GROTH16_A_KEY_X],
			       in[PHR_GROTH16_A_KEY_Y]);
		if (rv == PHR_OK)
			rv = call_bool(chain, &spent, d->research, "nullifierUsed(uint256)", in[0], NULL);
	} else {
		state_name = "root";
		rv = call_bool(chain, &state_ok, d->trials, "isValidRoot(uint256,uint256)", in[PHR_GROTH16_T_TRIAL],
			       in[PHR_GROTH16_T_ROOT]);
		if (rv == PHR_OK)
			rv = call_bool(chain, &spent, d->trials, "nullifierUsed(uint256,uint256)",
				       in[PHR_GROTH16_T_TRIAL], in[0]);
	}
	if (rv != PHR_OK)
		return api_fail(c, rv, "the chain state cannot be read");
	if (phr_groth16_dec_format(nul, sizeof(nul), in[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "verify");

	checks = json_pack("{s:b,s:b,s:b}", "proof", proof_rv == PHR_OK, state_name, state_ok, "nullifierUnused",
			   !spent);
	if (checks == NULL)
		return api_fail(c, PHR_ERR_NOMEM, "verify");
	if (proof_rv == PHR_OK && state_ok && !spent)
		return api_ok(c, 200, json_pack("{s:b,s:s,s:s,s:o}", "valid", 1, "kind", kname, "nullifier", nul,
						 "checks", checks));
	{
		int err = proof_rv != PHR_OK ? proof_rv : !state_ok ? PHR_ERR_NOT_FOUND : PHR_ERR_EXISTS;
		const char *why = proof_rv != PHR_OK ? reason_of(proof_rv)
				  : !state_ok        ? (k == ZK_AGE ? "the attester key is not enabled on chain"
								    : "the root is not (or no longer) valid on chain: "
								      "wrong tree, or a member was revoked or removed since")
						     : "the nullifier has already been spent on chain";
		return api_ok(c, 200, json_pack("{s:b,s:s,s:s,s:o,s:s,s:s}", "valid", 0, "kind", kname, "nullifier", nul,
						 "checks", checks, "error", phr_err_name(err), "reason", why));
	}
}
