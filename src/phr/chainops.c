/*
 * Transactions, calls and log queries of the domain over the chain interface.
 */
#include <string.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/rpc.h"
#include "index_int.h"
#include "txq.h"
#include "phr/tx.h"

static const struct {
	const char *name;
	int err;
} revert_map[] = {
	{ "NotPatientOwner", PHR_ERR_FORBIDDEN },     { "NotAuthorized", PHR_ERR_FORBIDDEN },
	{ "ProviderNotVerified", PHR_ERR_FORBIDDEN }, { "NoWriteAccess", PHR_ERR_FORBIDDEN },
	{ "NotGovernance", PHR_ERR_FORBIDDEN },       { "NotAuthority", PHR_ERR_FORBIDDEN },
	{ "NotOwner", PHR_ERR_FORBIDDEN },            { "ProviderIsSuspended", PHR_ERR_FORBIDDEN },
	{ "GrantExpired", PHR_ERR_EXPIRED },          { "RequestExpired", PHR_ERR_EXPIRED },
	{ "AlreadyRegistered", PHR_ERR_EXISTS },      { "OwnerTaken", PHR_ERR_EXISTS },
	{ "NotRegistered", PHR_ERR_NOT_FOUND },       { "NonexistentToken", PHR_ERR_NOT_FOUND },
	{ "UnknownRequest", PHR_ERR_NOT_FOUND },      { "NoGrant", PHR_ERR_NOT_FOUND },
	{ "UnknownProvider", PHR_ERR_NOT_FOUND },     { "RequestNotPending", PHR_ERR_STATE },
	{ "RequestAlreadyOpen", PHR_ERR_CONFLICT },   { "AlreadySuperseded", PHR_ERR_CONFLICT },
	{ "NotEmergencyProvider", PHR_ERR_FORBIDDEN }, { "SessionActive", PHR_ERR_CONFLICT },
	{ "NoActiveSession", PHR_ERR_NOT_FOUND },
	{ "StudyExists", PHR_ERR_EXISTS },          { "NoStudy", PHR_ERR_NOT_FOUND },
	{ "StudyClosed", PHR_ERR_STATE },           { "StudyOpen", PHR_ERR_STATE },
	{ "NotSponsor", PHR_ERR_FORBIDDEN },        { "NoConsent", PHR_ERR_NOT_FOUND },
	{ "TokenLocked", PHR_ERR_FORBIDDEN },         { "ActionNotAllowed", PHR_ERR_FORBIDDEN },
};

int phr_node_i_revert_err(const uint8_t *data, size_t n)
{
	const char *name = phr_contracts_error_name(data, n);

	if (name == NULL)
		return PHR_ERR_REVERTED;
	for (size_t i = 0; i < PHR_ARRAY_LEN(revert_map); i++)
		if (strcmp(revert_map[i].name, name) == 0)
			return revert_map[i].err;
	if (strncmp(name, "Invalid", 7) == 0 || strncmp(name, "Wrong", 5) == 0)
		return PHR_ERR_INVALID;
	phr_log_debug("phr", "revert %s", name);
	return PHR_ERR_REVERTED;
}

/* eth_call of @p data to @p to from @p from with @p gas at the latest block: PHR_OK when it
 * runs through at that gas (no revert, no out-of-gas), else the chain's error. */
static int call_at_gas(struct phr_chain *c, const uint8_t from[20], const uint8_t *to,
		       const uint8_t *data, size_t len, uint64_t gas)
{
	struct phr_rpc_error err;
	json_t *o, *r = NULL;
	int rv;

	memset(&err, 0, sizeof(err));
	o = json_object();
	if (o == NULL)
		return PHR_ERR_NOMEM;
	json_object_set_new(o, "from", phr_rpc_data(from, 20));
	json_object_set_new(o, "to", phr_rpc_data(to, 20));
	json_object_set_new(o, "gas", phr_rpc_quantity(gas));
	json_object_set_new(o, "input", phr_rpc_data(data, len));
	rv = phr_chain_request(c, &r, &err, "eth_call", json_pack("[o,s]", o, "latest"));
	phr_rpc_error_release(&err);
	if (rv == PHR_OK && r != NULL)
		json_decref(r);
	return rv;
}

/*
 * A gas limit without eth_estimateGas, whose bisection runs the call about 27 times when it
 * makes nested calls: the guess from earlier transactions of the same kind (txq), checked by
 * one eth_call with that much gas, which is the execution a transaction with that limit gets.
 * @return the limit, or 0 (no guess, or the call fails at it: the estimate decides, and tells
 *         why a reverting call reverts).
 */
static uint64_t quick_gas(struct phr_chain *c, struct phr_txq *q, const uint8_t from[20],
			  const uint8_t *to, const uint8_t *data, size_t len)
{
	uint64_t g;

	if (q == NULL || to == NULL || (g = phr_txq_i_gas_guess(q, to, data, len)) == 0)
		return 0;
	return call_at_gas(c, from, to, data, len, g) == PHR_OK ? g : 0;
}

int phr_node_i_call_guessed(struct phr_node *n, const uint8_t from[20], const uint8_t to[20],
			    const struct phr_buf *calldata)
{
	uint64_t g = phr_txq_i_gas_guess(n->txq, to, calldata->data, calldata->len);

	if (g == 0)
		return PHR_ERR_NOT_FOUND;
	return call_at_gas(n->chain, from, to, calldata->data, calldata->len, g);
}

/* Whether the chain knows transaction @p hash (mined or waiting); true when it cannot tell. */
static bool tx_known(struct phr_chain *c, const uint8_t hash[32])
{
	struct phr_rpc_error err;
	json_t *res = NULL;
	bool known;

	memset(&err, 0, sizeof(err));
	known = phr_chain_request(c, &res, &err, "eth_getTransactionByHash", json_pack("[o]", phr_rpc_data(hash, 32))) !=
			PHR_OK ||
		!json_is_null(res);
	json_decref(res);
	phr_rpc_error_release(&err);
	return known;
}

/* The sender's nonce at the latest block (transactions mined). */
static int nonce_latest(struct phr_chain *c, uint64_t *nonce, const uint8_t addr[20])
{
	struct phr_rpc_error err;
	json_t *res = NULL;
	int rv;

	memset(&err, 0, sizeof(err));
	rv = phr_chain_request(c, &res, &err, "eth_getTransactionCount",
			       json_pack("[o,s]", phr_rpc_data(addr, 20), "latest"));
	if (rv == PHR_OK && phr_rpc_param_u64(nonce, &err, res, "nonce") != PHR_OK)
		rv = PHR_ERR_PARSE;
	json_decref(res);
	phr_rpc_error_release(&err);
	return rv;
}

/* "0x" and the hex of a transaction hash, for the log. */
static void hash_hex(char out[67], const uint8_t hash[32])
{
	if (phr_hex_encode(out, 67, hash, 32, true) != PHR_OK)
		out[0] = '\0';
}

/*
 * Sends a transfer of nothing to itself from @p from at @p nonce (the fees
 * of @p like): what fills a nonce no transaction of the sender holds.
 * "nonce too low" (filled meanwhile) is no error.
 */
static int fill_nonce(struct phr_chain *c, const struct phr_tx *like, const uint8_t sk[32],
		      const uint8_t from[20], uint64_t nonce)
{
	struct phr_tx f;
	struct phr_buf raw;
	struct phr_rpc_error err;
	uint8_t hash[32];
	int rv;

	phr_tx_init(&f);
	phr_buf_init(&raw, 0);
	memset(&err, 0, sizeof(err));
	f.type = PHR_TX_DYNAMIC_FEE;
	f.has_chain_id = true;
	f.chain_id = like->chain_id;
	f.nonce = nonce;
	f.gas_limit = 21000;
	f.has_to = true;
	memcpy(f.to, from, 20);
	f.max_fee = like->max_fee;
	f.max_priority_fee = like->max_priority_fee;
	rv = phr_tx_sign(&f, sk);
	if (rv == PHR_OK)
		rv = phr_tx_encode(&raw, &f);
	if (rv == PHR_OK)
		rv = phr_chain_send_raw(c, hash, &err, raw.data, raw.len);
	if (rv != PHR_OK && strstr(err.message, "nonce too low") != NULL)
		rv = PHR_OK;
	else if (rv != PHR_OK)
		phr_log_warn("phr", "filling nonce %llu failed: %s", (unsigned long long)nonce,
			     err.message[0] ? err.message : phr_strerror(rv));
	if (err.data != NULL)
		json_decref(err.data);
	phr_tx_release(&f);
	phr_buf_release(&raw);
	return rv;
}

int phr_node_i_block_fields(struct phr_chain *c, uint64_t number, uint8_t hash[32], uint64_t *timestamp)
{
	struct phr_rpc_error err;
	json_t *res = NULL;
	char num[24];
	int rv;

	memset(&err, 0, sizeof(err));
	snprintf(num, sizeof(num), "0x%llx", (unsigned long long)number);
	rv = phr_chain_request(c, &res, &err, "eth_getBlockByNumber", json_pack("[sb]", num, 0));
	phr_rpc_error_release(&err);
	if (rv != PHR_OK)
		return rv;
	if (!json_is_object(res))
		rv = PHR_ERR_NOT_FOUND;
	else if ((hash != NULL && phr_rpc_param_hash(hash, &err, json_object_get(res, "hash"), "hash") != PHR_OK) ||
		 (timestamp != NULL &&
		  phr_rpc_param_u64(timestamp, &err, json_object_get(res, "timestamp"), "timestamp") != PHR_OK))
		rv = PHR_ERR_PARSE;
	phr_rpc_error_release(&err);
	json_decref(res);
	return rv;
}

/* Most nonces of a gap filled at once. */
#define GAP_FILL_MAX 16u

#define RECEIPT_WAIT_MS 30000u
#define RECEIPT_CHECK_MS 2000u
#define DROPPED_RESENDS 3

/*
 * Waits for the receipt of @p hash, @p tx as sent (signed with @p sk by
 * @p from), up to RECEIPT_WAIT_MS. A transaction the chain dropped (one
 * that waited behind its sender's others and was invalid when its turn
 * came, e.g. a fee cap under a base fee that rose meanwhile) can never be
 * mined, and its sender would wait for nothing: every RECEIPT_CHECK_MS
 * without a receipt the chain is asked whether it still knows the
 * transaction. A dropped one is sent again at the same nonce (only one
 * transaction of a nonce can be mined) with the current fees, up to
 * DROPPED_RESENDS times; the wait ends at once when another transaction of
 * the sender took that nonce (PHR_ERR_STATE) or the chain refuses the
 * resend (its error). A transaction that waits behind a nonce gap of its
 * sender (nonces below its own that no transaction holds, at two checks in
 * a row: a taken nonce's transaction is not that late) would wait until
 * the sender's next transaction happens to take the gap: the gap is filled
 * with transfers of nothing to the sender itself (a transaction that took
 * such a nonce meanwhile gets "nonce too low" and takes another) and the
 * nonce cache reset. At the end of the wait the cache is reset too.
 * @param[in,out] hash the hash of the transaction last sent
 * @return PHR_OK (*@p rc set), PHR_ERR_TIMEOUT, PHR_ERR_STATE, chain errors.
 */
static int wait_mined(struct phr_chain *c, struct phr_txq *q, struct phr_chain_receipt *rc,
		      uint8_t hash[32], struct phr_tx *tx, const uint8_t sk[32], const uint8_t from[20])
{
	unsigned waited = 0;
	int resent = 0, rv;
	uint64_t gap_seen = UINT64_MAX; /* the pending nonce at the last check, when below ours */
	uint8_t prev[32], orig[32];

	memcpy(orig, hash, 32);

	for (;;) {
		struct phr_u256 price, cap, tip = phr_u256_from_u64(1000000000u);
		struct phr_rpc_error err;
		struct phr_buf raw;
		uint64_t latest = 0;
		char was[67], now[67];

		rv = phr_chain_wait_receipt(c, rc, hash, RECEIPT_CHECK_MS);
		waited += RECEIPT_CHECK_MS;
		if (rv != PHR_ERR_TIMEOUT)
			return rv;
		if (waited >= RECEIPT_WAIT_MS) {
			if (q != NULL)
				phr_txq_i_nonce_reset(q, from);
			hash_hex(was, hash);
			phr_log_warn("phr", "no receipt for transaction %s (nonce %llu) after %u ms%s", was,
				     (unsigned long long)tx->nonce, waited,
				     tx_known(c, hash) ? ": still waiting on the chain" : ": dropped by the chain");
			return PHR_ERR_TIMEOUT;
		}
		if (tx_known(c, hash)) {
			uint64_t pending = 0;
			/* behind a gap: the chain's next executable nonce is below ours */
			if (phr_chain_nonce(c, &pending, from) != PHR_OK || pending >= tx->nonce) {
				gap_seen = UINT64_MAX;
				continue;
			}
			if (gap_seen != pending) { /* first seen: give a concurrent sender time */
				gap_seen = pending;
				continue;
			}
			hash_hex(was, hash);
			phr_log_warn("phr", "transaction %s (nonce %llu) waits behind a nonce gap from %llu: filling it",
				     was, (unsigned long long)tx->nonce, (unsigned long long)pending);
			for (uint64_t g = pending; g < tx->nonce && g < pending + GAP_FILL_MAX; g++)
				if (fill_nonce(c, tx, sk, from, g) != PHR_OK)
					break;
			if (q != NULL)
				phr_txq_i_nonce_reset(q, from);
			gap_seen = UINT64_MAX;
			continue;
		}
		/* mined between the two questions (or the first one sent was mined after all) */
		if ((rv = phr_chain_receipt(c, rc, hash)) != PHR_ERR_NOT_FOUND)
			return rv;
		if (resent > 0 && phr_chain_receipt(c, rc, orig) == PHR_OK) {
			memcpy(hash, orig, 32);
			return PHR_OK;
		}
		/* dropped: the chain will never mine it */
		hash_hex(was, hash);
		memcpy(prev, hash, 32);
		if ((rv = nonce_latest(c, &latest, from)) != PHR_OK)
			return rv;
		if (latest > tx->nonce || resent == DROPPED_RESENDS) {
			if (q != NULL)
				phr_txq_i_nonce_reset(q, from);
			phr_log_warn("phr", "transaction %s (nonce %llu) was dropped by the chain%s", was,
				     (unsigned long long)tx->nonce,
				     latest > tx->nonce ? " and its nonce taken by another" : ", again");
			return PHR_ERR_STATE;
		}
		/* again at the same nonce, with the fees of now (a fee cap of twice the
		 * suggested price, and at least 1/8 over the dropped one's) */
		if ((rv = phr_chain_gas_price(c, &price)) != PHR_OK)
			return rv;
		phr_u256_shl(&cap, &price, 1);
		{
			struct phr_u256 floor = tx->max_fee, eighth;
			phr_u256_shr(&eighth, &tx->max_fee, 3);
			(void)phr_u256_add(&floor, &floor, &eighth);
			if (phr_u256_cmp(&cap, &floor) < 0)
				cap = floor;
		}
		tx->max_fee = cap;
		tx->max_priority_fee = phr_u256_cmp(&price, &tip) < 0 ? price : tip;
		memset(&err, 0, sizeof(err));
		phr_buf_init(&raw, 0);
		rv = phr_tx_sign(tx, sk);
		if (rv == PHR_OK)
			rv = phr_tx_encode(&raw, tx);
		if (rv == PHR_OK)
			rv = phr_chain_send_raw(c, hash, &err, raw.data, raw.len);
		phr_buf_release(&raw);
		if (rv != PHR_OK && phr_chain_receipt(c, rc, prev) == PHR_OK) {
			if (err.data != NULL) /* it was mined after all ("nonce too low") */
				json_decref(err.data);
			memcpy(hash, prev, 32);
			return PHR_OK;
		}
		if (rv != PHR_OK) {
			memcpy(hash, prev, 32);
			if (q != NULL)
				phr_txq_i_nonce_reset(q, from);
			phr_log_warn("phr", "transaction %s (nonce %llu) was dropped by the chain; sending it again failed: %s",
				     was, (unsigned long long)tx->nonce, err.message[0] ? err.message : phr_strerror(rv));
			if (err.data != NULL)
				json_decref(err.data);
			return rv;
		}
		resent++;
		hash_hex(now, hash);
		phr_log_warn("phr", "transaction %s (nonce %llu) was dropped by the chain: sent again as %s", was,
			     (unsigned long long)tx->nonce, now);
	}
}

/* Signs, sends and waits. The nonce comes from @p q (several transactions of
 * one sender in flight) or, without @p q, from the chain. With @p trust, a gas
 * guess is used without the eth_call that checks it; @p *mined_revert tells
 * that such a transaction was mined and reverted (refused, or out of gas). */
static int send_tx(struct phr_chain *c, struct phr_txq *q, uint64_t chain_id,
		   struct phr_chain_receipt *r, const uint8_t sk[32], const uint8_t *to,
		   const uint8_t *data, size_t len, bool trust, bool *mined_revert)
{
	uint8_t from[20], hash[32];
	struct phr_tx tx;
	struct phr_buf raw, out;
	struct phr_rpc_error err;
	struct phr_chain_receipt rc;
	uint64_t gas = 0;
	struct phr_u256 price, tip;
	int rv, attempt = 0;
	bool trust_used = false;

	memset(&rc, 0, sizeof(rc));
	memset(&err, 0, sizeof(err));
	phr_tx_init(&tx);
	phr_buf_init(&raw, 0);
	phr_buf_init(&out, 0);
	rv = phr_eth_address_from_seckey(from, sk);
	if (rv != PHR_OK)
		goto out;
	/* a call that would revert is refused before sending: the quick check or the
	 * estimate runs it, and only a revert costs the eth_call that tells why;
	 * a trusted guess skips the check (the caller handles a revert after mining) */
	if (trust && q != NULL && to != NULL)
		tx.gas_limit = phr_txq_i_gas_guess(q, to, data, len);
	if (tx.gas_limit == 0)
		tx.gas_limit = quick_gas(c, q, from, to, data, len);
	else
		trust_used = true;
	rv = tx.gas_limit ? PHR_OK : phr_chain_estimate_gas(c, &gas, from, to, NULL, data, len);
	if (rv == PHR_ERR_REVERTED && to != NULL) {
		rv = phr_chain_call(c, &out, from, to, data, len);
		rv = rv == PHR_ERR_REVERTED ? phr_node_i_revert_err(out.data, out.len)
		     : rv == PHR_OK	    ? PHR_ERR_REVERTED
					    : rv;
	}
	if (rv != PHR_OK)
		goto out;
	/* EIP-1559: a fee cap of twice the suggested price (at least twice the next
	 * base fee) and a tip of at most 1 gwei. The transaction pays the base fee of
	 * its block plus the tip, as a legacy one at the suggested price would, but
	 * stays valid when it waits a few blocks behind others of the same sender
	 * while full blocks raise the base fee (12.5 % each): a legacy price of
	 * base + 1 gwei fell below the base fee after one block once it was above
	 * 8 gwei, and the chain dropped the transaction while its sender waited. */
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = chain_id;
	if (tx.gas_limit == 0)
		tx.gas_limit = gas + gas / 4 + 10000;
	if (to != NULL) {
		tx.has_to = true;
		memcpy(tx.to, to, 20);
	}
	if ((rv = phr_chain_gas_price(c, &price)) != PHR_OK ||
	    (rv = phr_tx_set_data(&tx, data, len)) != PHR_OK)
		goto out;
	tip = phr_u256_from_u64(1000000000u);
	tx.max_priority_fee = phr_u256_cmp(&price, &tip) < 0 ? price : tip;
	phr_u256_shl(&tx.max_fee, &price, 1);
again:
	rv = q != NULL ? phr_txq_i_nonce_take(q, &tx.nonce, c, from)
		       : phr_chain_nonce(c, &tx.nonce, from);
	phr_buf_reset(&raw);
	if (rv != PHR_OK || (rv = phr_tx_sign(&tx, sk)) != PHR_OK ||
	    (rv = phr_tx_encode(&raw, &tx)) != PHR_OK)
		goto out;
	rv = phr_chain_send_raw(c, hash, &err, raw.data, raw.len);
	if (rv != PHR_OK) {
		if (q != NULL)
			phr_txq_i_nonce_reset(q, from);
		/* a transaction sent from elsewhere with the same key took the nonce */
		if (q != NULL && attempt++ == 0 && strstr(err.message, "nonce") != NULL) {
			if (err.data != NULL)
				json_decref(err.data);
			memset(&err, 0, sizeof(err));
			goto again;
		}
		phr_log_warn("phr", "transaction rejected: %s", err.message);
		goto out;
	}
	rv = wait_mined(c, q, &rc, hash, &tx, sk, from);
	if (rv != PHR_OK)
		goto out;
	if (!rc.status) {
		rv = PHR_ERR_REVERTED;
		if (mined_revert != NULL)
			*mined_revert = trust_used;
		phr_chain_receipt_release(&rc);
		goto out;
	}
	if (q != NULL && to != NULL)
		phr_txq_i_gas_learn(q, to, data, len, rc.gas_used);
	if (r != NULL)
		*r = rc;
	else
		phr_chain_receipt_release(&rc);
out:
	if (err.data != NULL)
		json_decref(err.data);
	phr_tx_release(&tx);
	phr_buf_release(&raw);
	phr_buf_release(&out);
	return rv;
}

int phr_node_i_send(struct phr_chain *c, uint64_t chain_id, struct phr_chain_receipt *r,
		    const uint8_t sk[32], const uint8_t *to, const uint8_t *data, size_t len)
{
	return send_tx(c, NULL, chain_id, r, sk, to, data, len, false, NULL);
}

int phr_node_tx_send(struct phr_chain *c, uint64_t chain_id, struct phr_chain_receipt *r,
		     const uint8_t seckey[32], const uint8_t to[20], const uint8_t *data, size_t len)
{
	return phr_node_i_send(c, chain_id, r, seckey, to, data, len);
}

int phr_node_i_tx(struct phr_node *n, struct phr_chain_receipt *r, const struct phr_identity *who,
		  const uint8_t to[20], const struct phr_buf *calldata)
{
	/* nonces from the node's cache: a sender's transactions may be in flight together,
	 * and the chain commits their blocks in one group */
	return send_tx(n->chain, n->txq, n->dep.chain_id, r, who->seckey, to, calldata->data,
		       calldata->len, false, NULL);
}

int phr_node_i_tx_guessed(struct phr_node *n, struct phr_chain_receipt *r,
			  const struct phr_identity *who, const uint8_t to[20],
			  const struct phr_buf *calldata)
{
	bool mined_revert = false;
	int rv;

	rv = send_tx(n->chain, n->txq, n->dep.chain_id, r, who->seckey, to, calldata->data,
		     calldata->len, true, &mined_revert);
	if (rv == PHR_ERR_REVERTED && mined_revert) {
		/* refused (access revoked since the checks) or out of gas: the checked path
		 * finds out which, maps the contract's error or learns the gas */
		phr_log_info("phr", "a transaction sent on a gas guess reverted: sending it checked");
		rv = phr_node_i_tx(n, r, who, to, calldata);
	}
	return rv;
}

int phr_node_i_call(struct phr_node *n, struct phr_buf *out, const uint8_t *from,
		    const uint8_t to[20], const struct phr_buf *calldata)
{
	int rv;

	phr_buf_reset(out);
	rv = phr_chain_call(n->chain, out, from, to, calldata->data, calldata->len);
	if (rv == PHR_ERR_REVERTED)
		return phr_node_i_revert_err(out->data, out->len);
	return rv;
}

void phr_node_i_addr_topic(uint8_t topic[32], const uint8_t addr[20])
{
	memset(topic, 0, 12);
	memcpy(topic + 12, addr, 20);
}

/* eth_getLogs over the whole chain: the path before the indexer (and with it off). */
static int chain_logs(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
		      const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *topic1,
		      const uint8_t *topic2)
{
	struct phr_chain_filter f;
	uint8_t t0[1][32], t1[1][32], t2[1][32], a[1][20];

	memset(&f, 0, sizeof(f));
	memcpy(a[0], addr, 20);
	memcpy(t0[0], topic0, 32);
	f.from_block = 0;
	f.to_block = UINT64_MAX;
	f.addresses = (const uint8_t(*)[20])a;
	f.addresses_count = 1;
	f.topics[0] = (const uint8_t(*)[32])t0;
	f.topics_count[0] = 1;
	if (topic1 != NULL) {
		memcpy(t1[0], topic1, 32);
		f.topics[1] = (const uint8_t(*)[32])t1;
		f.topics_count[1] = 1;
	}
	if (topic2 != NULL) {
		memcpy(t2[0], topic2, 32);
		f.topics[2] = (const uint8_t(*)[32])t2;
		f.topics_count[2] = 1;
	}
	return phr_chain_get_logs(n->chain, logs, count, &f);
}

int phr_node_i_logs(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
		    const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *topic1,
		    const uint8_t *topic2)
{
	int rv;

	/* contracts added to the deployment later than the index are read from the chain */
	if (n->index_off || !phr_index_i_covers(n->index, addr))
		return chain_logs(n, logs, count, addr, topic0, topic1, topic2);
	/* read-your-writes: the index catches up to the head before answering */
	rv = phr_index_i_sync(n->index, n->chain);
	if (rv == PHR_OK)
		rv = phr_index_i_logs(n->index, logs, count, addr, topic0, topic1, topic2);
	return rv;
}

json_t *phr_node_i_jaddr(const uint8_t addr[20])
{
	char s[PHR_ETH_ADDRESS_STR_LEN];

	phr_eth_address_checksum(s, addr);
	return json_string(s);
}

json_t *phr_node_i_ju256(const struct phr_u256 *v)
{
	char s[PHR_U256_DEC_LEN];

	phr_u256_to_dec(s, v);
	return json_string(s);
}

json_t *phr_node_i_jhex(const uint8_t *p, size_t n)
{
	char s[PHR_HEX_LEN(64, true)];

	if (n > 64 || phr_hex_encode(s, sizeof(s), p, n, true) != PHR_OK)
		return NULL;
	return json_string(s);
}
