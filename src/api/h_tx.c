/*
 * POST /api/v1/tx: relays a transaction the caller signed with its own key
 * (phr CLI with a keystore) to the chain, after checking that it comes from
 * the signed-in caller and calls one of the deployment's contracts.
 */
#include <sodium.h>
#include <string.h>

#include "api_int.h"
#include "phr/api_tx.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/rpc.h"
#include "phr/tx.h"

/* Whether @p to is one of the deployment's contracts: every address of its JSON form
 * (so contracts added to struct phr_deployment count at once) but the governance key. */
static bool is_deployment_contract(const struct phr_deployment *d, const uint8_t to[20])
{
	json_t *o = phr_deployment_json(d), *v;
	const char *key;
	bool found = false;

	json_object_foreach(o, key, v) {
		uint8_t a[20];
		if (found || strcmp(key, "governance") == 0 || !json_is_string(v) ||
		    phr_eth_address_parse(a, json_string_value(v)) != PHR_OK || sodium_is_zero(a, 20))
			continue;
		found = memcmp(a, to, 20) == 0;
	}
	json_decref(o);
	return found;
}

static uint32_t selector_of(const struct phr_tx *tx)
{
	if (tx->data_len < 4)
		return 0;
	return (uint32_t)tx->data[0] << 24 | (uint32_t)tx->data[1] << 16 |
	       (uint32_t)tx->data[2] << 8 | tx->data[3];
}

/* grantAccess(patient, provider, level, scope, expiry) with level Admin (3) */
static bool admin_grant(const struct phr_tx *tx)
{
	const uint8_t *lv;

	if (tx->data_len < 4 + 5 * 32)
		return false;
	lv = tx->data + 4 + 2 * 32;
	return sodium_is_zero(lv, 31) ? lv[31] == PHR_LEVEL_ADMIN : true;
}

int phr_api_tx_check(struct phr_api_tx_info *info, const struct phr_deployment *d,
		     const uint8_t caller[20], const uint8_t *raw, size_t n)
{
	struct phr_tx tx;
	uint8_t from[20];
	uint32_t sel;
	int rv;

	if (n > PHR_API_TX_MAX_BYTES)
		return PHR_ERR_TOO_LARGE;
	if (n == 0)
		return PHR_ERR_PARSE;
	phr_tx_init(&tx);
	rv = phr_tx_decode(&tx, raw, n);
	if (rv != PHR_OK) {
		phr_tx_release(&tx);
		return rv == PHR_ERR_UNSUPPORTED ? rv : PHR_ERR_PARSE;
	}
	if (!tx.has_chain_id || tx.chain_id != d->chain_id || !tx.has_to ||
	    !phr_u256_is_zero(&tx.value) || tx.gas_limit > PHR_API_TX_MAX_GAS) {
		phr_tx_release(&tx);
		return PHR_ERR_INVALID;
	}
	rv = phr_tx_validate(from, &tx, d->chain_id);
	if (rv == PHR_ERR_RANGE)
		rv = PHR_ERR_INVALID;
	if (rv == PHR_OK && (memcmp(from, caller, 20) != 0 || !is_deployment_contract(d, tx.to)))
		rv = PHR_ERR_FORBIDDEN;
	if (rv == PHR_OK)
		rv = phr_tx_hash(info->hash, &tx);
	if (rv == PHR_OK) {
		sel = selector_of(&tx);
		memcpy(info->from, from, 20);
		memcpy(info->to, tx.to, 20);
		info->selector = sel;
		info->needs_totp =
			(memcmp(tx.to, d->registry, 20) == 0 &&
			 ((sel == PHR_CONTRACTS_PATIENT_REGISTRY_GRANT_ACCESS_SELECTOR && admin_grant(&tx)) ||
			  sel == PHR_CONTRACTS_PATIENT_REGISTRY_ROTATE_OWNER_SELECTOR)) ||
			(memcmp(tx.to, d->emergency, 20) == 0 &&
			 sel == PHR_CONTRACTS_EMERGENCY_ACCESS_OPEN_EMERGENCY_ACCESS_SELECTOR);
		/* guardians, approvals and execution of a recovery: a second factor when the
		 * caller has one (guardians need not have enrolled) */
		info->totp_if_enrolled = memcmp(tx.to, d->recovery, 20) == 0;
	}
	phr_tx_release(&tx);
	return rv;
}

int api_request_is_admin(struct api_ctx *c, bool *admin, const struct phr_u256 *id)
{
	const struct phr_deployment *d = phr_node_deployment(c->api->cfg.node);
	struct phr_buf cd, out;
	uint8_t prov[20], patient[20], scope[32];
	uint64_t level = 0, purpose, status, duration, expires;
	int rv;

	*admin = false;
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	rv = phr_contracts_patient_registry_request_info_encode(&cd, id);
	if (rv == PHR_OK)
		rv = phr_chain_call(phr_node_chain(c->api->cfg.node), &out, NULL, d->registry, cd.data,
				    cd.len);
	if (rv == PHR_OK &&
	    phr_contracts_patient_registry_request_info_decode(prov, &level, &purpose, &status,
								&duration, &expires, patient, scope,
								out.data, out.len) == PHR_OK)
		*admin = level == PHR_LEVEL_ADMIN;
	/* an unknown request reverts: so will the answer to it */
	if (rv == PHR_ERR_REVERTED)
		rv = PHR_OK;
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

/* approveRequest(id) of a request for Admin access is an Admin grant too. */
static int approves_admin(struct api_ctx *c, bool *admin, const uint8_t *raw, size_t n)
{
	struct phr_tx tx;
	struct phr_u256 id;
	int rv;

	*admin = false;
	phr_tx_init(&tx);
	rv = phr_tx_decode(&tx, raw, n);
	/* at least the id: Solidity ignores call data past the arguments, so trailing
	 * bytes must not hide an approval */
	if (rv == PHR_OK && tx.data_len >= 4 + 32) {
		phr_u256_from_be(&id, tx.data + 4);
		rv = api_request_is_admin(c, admin, &id);
	}
	phr_tx_release(&tx);
	return rv;
}

int api_h_tx(struct api_ctx *c)
{
	const struct phr_deployment *d = phr_node_deployment(c->api->cfg.node);
	struct phr_api_tx_info info;
	struct phr_rpc_error err;
	struct phr_buf raw;
	uint8_t hash[32];
	char hx[PHR_HEX_LEN(32, true)];
	bool admin = false;
	int rv;

	phr_buf_init(&raw, PHR_API_TX_MAX_BYTES);
	{
		const char *s = NULL;
		size_t sl;
		if (c->req.body == NULL || phr_json_get_str(&s, c->req.body, "raw") != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "raw (0x + the signed transaction) is required");
		sl = strlen(s);
		if (sl < 4 || sl % 2 != 0 || s[0] != '0' || s[1] != 'x' || (sl - 2) / 2 > PHR_API_TX_MAX_BYTES ||
		    phr_buf_reserve(&raw, (sl - 2) / 2) != PHR_OK ||
		    phr_hex_decode_exact(raw.data, (sl - 2) / 2, s) != PHR_OK) {
			phr_buf_release(&raw);
			return api_fail(c, PHR_ERR_INVALID, "raw must be 0x + hex of at most %zu bytes",
					PHR_API_TX_MAX_BYTES);
		}
		raw.len = (sl - 2) / 2;
	}
	rv = phr_api_tx_check(&info, d, c->caller, raw.data, raw.len);
	if (rv != PHR_OK) {
		phr_buf_release(&raw);
		return api_fail(c, rv == PHR_ERR_SIGNATURE || rv == PHR_ERR_UNSUPPORTED ? PHR_ERR_INVALID : rv,
				"%s",
				rv == PHR_ERR_FORBIDDEN
					? "the transaction must be signed by the signed-in caller and call "
					  "one of this deployment's contracts"
				: rv == PHR_ERR_TOO_LARGE ? "the transaction is too large"
				: rv == PHR_ERR_SIGNATURE ? "bad transaction signature"
				: rv == PHR_ERR_INVALID
					? "wrong chain id, a value, contract creation, or gas out of range"
					: "not a signed transaction");
	}
	if (memcmp(info.to, d->registry, 20) == 0 &&
	    info.selector == PHR_CONTRACTS_PATIENT_REGISTRY_APPROVE_REQUEST_SELECTOR) {
		if ((rv = approves_admin(c, &admin, raw.data, raw.len)) != PHR_OK) {
			phr_buf_release(&raw);
			return api_fail(c, rv, "reading the request");
		}
		info.needs_totp = info.needs_totp || admin;
	}
	/* sensitive actions need the caller's second factor, as on the hosted routes */
	if (info.needs_totp && (rv = api_totp_check(c)) != PHR_OK) {
		phr_buf_release(&raw);
		return rv;
	}
	if (!info.needs_totp && info.totp_if_enrolled && (rv = api_totp_check_enrolled(c)) != PHR_OK) {
		phr_buf_release(&raw);
		return rv;
	}
	memset(&err, 0, sizeof(err));
	rv = phr_chain_send_raw(phr_node_chain(c->api->cfg.node), hash, &err, raw.data, raw.len);
	phr_buf_release(&raw);
	if (rv != PHR_OK) {
		rv = api_fail(c, rv == PHR_ERR_STATE ? PHR_ERR_CONFLICT : rv,
			      "the chain refused the transaction: %s",
			      err.message[0] ? err.message : phr_strerror(rv));
		phr_rpc_error_release(&err);
		return rv;
	}
	phr_rpc_error_release(&err);
	if (phr_hex_encode(hx, sizeof(hx), hash, 32, true) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "hex");
	phr_log_info("api", "relayed %s from %02x%02x..%02x selector %08x", hx, info.from[0],
		     info.from[1], info.from[19], (unsigned)info.selector);
	return api_ok(c, 200, json_pack("{s:s,s:o,s:o}", "hash", hx, "from", api_jaddr(info.from),
					 "to", api_jaddr(info.to)));
}
