/*
 * The Ethereum JSON-RPC methods of the embedded node. Every handler runs
 * with the node locked (phr_chain_node_guard).
 */
#include <time.h>

#include "chain_int.h"
#include "phr/crypto.h"
#include "phr/evm.h"
#include "state_int.h"

#define CLIENT_VERSION "phr/0.1.0"
#define ONE_GWEI 1000000000ull
#define CALL_DATA_MAX ((size_t)4 << 20)

/* Stores v as the result, or reports out of memory. */
static int ok(json_t **result, struct phr_rpc_error *err, json_t *v)
{
	if (!v)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	*result = v;
	return PHR_OK;
}

static int internal(struct phr_rpc_error *err, int rc)
{
	return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "internal error: %s", phr_strerror(rc));
}

static int m_client_version(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	return ok(result, err, json_string(CLIENT_VERSION));
}

static int m_net_version(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)n->chain_id);
	return ok(result, err, json_string(s));
}

static int m_true(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	return ok(result, err, json_true());
}

static int m_false(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	return ok(result, err, json_false());
}

static int m_chain_id(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;

	return ok(result, err, phr_rpc_quantity(n->chain_id));
}

static int m_block_number(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;

	return ok(result, err, phr_rpc_quantity(n->head.number));
}

/* Base fee of the next block. */
static struct phr_u256 next_base_fee(struct phr_chain_node *n)
{
	struct phr_u256 v;

	phr_chain_base_fee_next(&v, &n->head.base_fee, n->head.gas_used, n->head.gas_limit);
	return v;
}

static int m_gas_price(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_u256 v = next_base_fee(ctx), tip = phr_u256_from_u64(ONE_GWEI);

	phr_u256_add(&v, &v, &tip);
	return ok(result, err, phr_rpc_quantity_u256(&v));
}

static int m_max_priority(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	return ok(result, err, phr_rpc_quantity(ONE_GWEI));
}

/* Checks that a block parameter names a block we have (state is always the latest). */
static int state_block(struct phr_chain_node *n, struct phr_rpc_error *err, const json_t *j)
{
	struct phr_rpc_block_ref ref;
	uint64_t num;

	if (phr_rpc_param_block(&ref, err, j) != PHR_OK)
		return PHR_ERR_INVALID;
	if (chain_block_resolve(n, &num, &ref) != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "header not found");
	return PHR_OK;
}

static int m_get_balance(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_state_account acc;
	uint8_t addr[20];
	bool exists;
	int rc;

	if (phr_rpc_param_address(addr, err, json_array_get(params, 0), "address") != PHR_OK ||
	    state_block(n, err, json_array_get(params, 1)) != PHR_OK)
		return PHR_ERR_INVALID;
	rc = phr_state_get_account(n->state, &exists, &acc, addr);
	if (rc != PHR_OK)
		return internal(err, rc);
	if (!exists)
		acc.balance = PHR_U256_ZERO;
	return ok(result, err, phr_rpc_quantity_u256(&acc.balance));
}

static int m_get_tx_count(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_rpc_block_ref ref;
	struct phr_state_account acc;
	uint8_t addr[20];
	uint64_t nonce;
	bool exists;
	int rc;

	if (phr_rpc_param_address(addr, err, json_array_get(params, 0), "address") != PHR_OK ||
	    phr_rpc_param_block(&ref, err, json_array_get(params, 1)) != PHR_OK)
		return PHR_ERR_INVALID;
	if (ref.kind == PHR_RPC_BLOCK_PENDING) {
		rc = chain_pending_nonce(n, &nonce, addr);
	} else {
		if (state_block(n, err, json_array_get(params, 1)) != PHR_OK)
			return PHR_ERR_INVALID;
		rc = phr_state_get_account(n->state, &exists, &acc, addr);
		nonce = exists ? acc.nonce : 0;
	}
	if (rc != PHR_OK)
		return internal(err, rc);
	return ok(result, err, phr_rpc_quantity(nonce));
}

static int m_get_code(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const uint8_t *code;
	size_t len;
	uint8_t addr[20];
	int rc;

	if (phr_rpc_param_address(addr, err, json_array_get(params, 0), "address") != PHR_OK ||
	    state_block(n, err, json_array_get(params, 1)) != PHR_OK)
		return PHR_ERR_INVALID;
	rc = phr_state_get_code(n->state, &code, &len, addr);
	if (rc != PHR_OK)
		return internal(err, rc);
	return ok(result, err, phr_rpc_data(code, code ? len : 0));
}

static int m_get_storage(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	uint8_t addr[20], slot[32], val[32];
	int rc;

	if (phr_rpc_param_address(addr, err, json_array_get(params, 0), "address") != PHR_OK ||
	    phr_rpc_param_slot(slot, err, json_array_get(params, 1), "slot") != PHR_OK ||
	    state_block(n, err, json_array_get(params, 2)) != PHR_OK)
		return PHR_ERR_INVALID;
	rc = phr_state_get_storage(n->state, val, addr, slot);
	if (rc != PHR_OK)
		return internal(err, rc);
	return ok(result, err, phr_rpc_data(val, 32));
}

/* ---- calls and estimates ---- */

/* Builds the transaction of an eth_call / eth_estimateGas object. */
static void call_tx(struct phr_tx *tx, uint8_t from[20], struct phr_rpc_call *c, uint64_t gas)
{
	phr_tx_init(tx);
	tx->type = PHR_TX_DYNAMIC_FEE;
	tx->gas_limit = gas;
	tx->has_to = c->has_to;
	memcpy(tx->to, c->to, 20);
	tx->value = c->value;
	tx->data = c->data; /* borrowed: detached before release */
	tx->data_len = c->data_len;
	if (c->has_gas_price) {
		tx->max_fee = c->gas_price;
		tx->max_priority_fee = c->gas_price;
	}
	if (c->has_max_fee)
		tx->max_fee = c->max_fee;
	if (c->has_max_priority)
		tx->max_priority_fee = c->max_priority;
	if (c->has_from)
		memcpy(from, c->from, 20);
	else
		memset(from, 0, 20);
}

/* Runs a call in block @p blk without keeping its effects (on @p st, or the node's state when NULL). */
static int dry_run_in(struct phr_chain_node *n, struct phr_state *st, struct phr_state_tx_result *res,
		      struct phr_rpc_call *c, uint64_t gas, const struct phr_state_block *blk)
{
	struct phr_tx tx;
	uint8_t from[20];
	int rc;

	call_tx(&tx, from, c, gas);
	rc = phr_state_tx_apply(st ? st : n->state, res, blk, &tx, from,
				PHR_STATE_TX_DRY_RUN | PHR_STATE_TX_NO_CHECKS);
	tx.data = NULL;
	tx.data_len = 0;
	phr_tx_release(&tx);
	return rc;
}

/* As dry_run_in, in the block after the head. */
static int dry_run_on(struct phr_chain_node *n, struct phr_state *st, struct phr_state_tx_result *res,
		      struct phr_rpc_call *c, uint64_t gas)
{
	struct phr_state_block blk;

	chain_next_block_env(n, &blk, NULL);
	return dry_run_in(n, st, res, c, gas, &blk);
}

static int dry_run(struct phr_chain_node *n, struct phr_state_tx_result *res, struct phr_rpc_call *c,
		   uint64_t gas)
{
	return dry_run_on(n, NULL, res, c, gas);
}

/*
 * An eth_call on the node's state at the head, answered by the memo when it
 * holds a valid outcome of the same call (callmemo.c), else executed with
 * its read set recorded and remembered. Calls with fee fields (GASPRICE
 * would depend on them) and creations are executed only. @p res as
 * dry_run fills it, except gas_used and logs on a memo hit. @p need (may
 * be NULL): the last block the answer depends on (a memo hit: the head its
 * entry ran on; else the head).
 */
static int call_run(struct phr_chain_node *n, struct phr_state_tx_result *res, struct phr_rpc_call *c,
		    uint64_t gas, uint64_t *need)
{
	static const uint8_t zero[20];
	struct phr_state_block blk;
	struct phr_st_readset rs;
	struct memo_key k;
	struct phr_buf b;
	int status = 0, rc;

	if (need)
		*need = n->head.number;
	if (!c->has_to || c->has_gas_price || c->has_max_fee || c->has_max_priority || n->broken ||
	    !chain_memo_on(n->memo))
		return dry_run(n, res, c, gas);
	chain_next_block_env(n, &blk, NULL);
	k.from = c->has_from ? c->from : zero;
	k.to = c->to;
	k.value = c->value;
	k.gas = gas;
	k.data = c->data;
	k.data_len = c->data_len;
	phr_buf_init(&b, 0);
	rc = chain_memo_get(n->memo, &status, &b, need, &k, &blk);
	if (rc == PHR_OK) {
		memset(res, 0, sizeof(*res));
		res->status = status;
		if (b.len) {
			res->output = phr_buf_detach(&b, &res->output_len);
			if (!res->output)
				rc = PHR_ERR_NOMEM;
		}
		phr_buf_release(&b);
		return rc;
	}
	phr_buf_release(&b);
	if (rc != PHR_ERR_NOT_FOUND)
		return rc;
	memset(&rs, 0, sizeof(rs));
	n->state->rec_target = &rs;
	rc = dry_run_in(n, NULL, res, c, gas, &blk);
	n->state->rec_target = NULL;
	if (rc == PHR_OK)
		chain_memo_put(n->memo, &k, &rs, &blk, res->status, res->output, res->output_len);
	return rc;
}

/* Applies one account of an eth_call state override to @p st. */
static int override_one(struct phr_state *st, struct phr_rpc_error *err, const char *key,
			const json_t *o)
{
	struct phr_state_account acc;
	const json_t *v, *sv;
	const char *slot_s;
	uint8_t addr[20];
	bool exists;
	int rc;
	json_t *kj = json_string(key);

	rc = kj ? phr_rpc_param_address(addr, err, kj, "override address") : PHR_ERR_NOMEM;
	if (kj)
		json_decref(kj);
	if (rc != PHR_OK)
		return rc == PHR_ERR_NOMEM ? phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory") : rc;
	if (!json_is_object(o))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "override of %s: object expected", key);
	if (json_object_get(o, "state"))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS,
					 "override \"state\" (full replacement) is not supported; use \"stateDiff\"");
	rc = phr_state_get_account(st, &exists, &acc, addr);
	if (rc != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "internal error: %s", phr_strerror(rc));
	if (!exists)
		memset(&acc, 0, sizeof(acc));
	if ((v = json_object_get(o, "balance")) &&
	    phr_rpc_param_u256(&acc.balance, err, v, "override balance") != PHR_OK)
		return PHR_ERR_INVALID;
	if ((v = json_object_get(o, "nonce")) && phr_rpc_param_u64(&acc.nonce, err, v, "override nonce") != PHR_OK)
		return PHR_ERR_INVALID;
	rc = phr_state_set_account(st, addr, acc.nonce, &acc.balance);
	if (rc == PHR_OK && (v = json_object_get(o, "code"))) {
		uint8_t *code = NULL;
		size_t len = 0;

		if (phr_rpc_param_bytes(&code, &len, err, v, CALL_DATA_MAX, "override code") != PHR_OK)
			return PHR_ERR_INVALID;
		rc = phr_state_set_code(st, addr, code, len);
		phr_free(code);
	}
	if (rc == PHR_OK && (sv = json_object_get(o, "stateDiff"))) {
		if (!json_is_object(sv))
			return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "stateDiff: object expected");
		json_object_foreach((json_t *)sv, slot_s, v) {
			uint8_t slot[32], val[32];
			json_t *sj = json_string(slot_s);

			rc = sj ? phr_rpc_param_slot(slot, err, sj, "stateDiff slot") : PHR_ERR_NOMEM;
			if (sj)
				json_decref(sj);
			if (rc == PHR_OK)
				rc = phr_rpc_param_slot(val, err, v, "stateDiff value");
			if (rc != PHR_OK)
				return err->code ? rc : phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
			rc = phr_state_set_storage(st, addr, slot, val);
			if (rc != PHR_OK)
				break;
		}
	}
	if (rc != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "internal error: %s", phr_strerror(rc));
	return PHR_OK;
}

/*
 * eth_call's third parameter (geth's state override set): a throw-away state
 * over the same database, so the node's state is never touched.
 */
static int override_state(struct phr_chain_node *n, struct phr_state **out, struct phr_rpc_error *err,
			  const json_t *set)
{
	struct phr_state_backend be;
	struct phr_state *st;
	const char *key;
	json_t *o;
	int rc;

	if (!json_is_object(set))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "state override set: object expected");
	db_state_backend(&be, &n->db);
	if (phr_state_new(&st, &be) != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	json_object_foreach((json_t *)set, key, o) {
		rc = override_one(st, err, key, o);
		if (rc != PHR_OK) {
			phr_state_free(st);
			return rc;
		}
	}
	*out = st;
	return PHR_OK;
}

/* The error of a failed call: code 3 with the revert data, or -32000. */
static int call_error(struct phr_rpc_error *err, const struct phr_state_tx_result *res)
{
	if (res->status == PHR_EVM_REVERT) {
		char reason[128] = "";

		/* Error(string): 0x08c379a0, offset, length, bytes */
		if (res->output_len >= 68 && memcmp(res->output, "\x08\xc3\x79\xa0", 4) == 0) {
			size_t len = ((size_t)res->output[64] << 24 | (size_t)res->output[65] << 16 |
				      (size_t)res->output[66] << 8 | res->output[67]);

			if (res->output[36] == 0 && len <= res->output_len - 68 && len < sizeof(reason) - 3)
				snprintf(reason, sizeof(reason), ": %.*s", (int)len,
					 (const char *)res->output + 68);
		}
		(void)phr_rpc_error_set(err, PHR_RPC_EXECUTION_REVERTED, "execution reverted%s", reason);
		err->data = phr_rpc_data(res->output, res->output_len);
		return PHR_ERR_REVERTED;
	}
	return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "%s",
				 phr_evm_status_name((enum phr_evm_status)res->status));
}

static int m_call(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_rpc_call c;
	struct phr_state_tx_result res;
	struct phr_state *ov = NULL;
	const json_t *set = json_array_get(params, 2);
	int rc;

	struct phr_rpc_block_ref ref;
	uint64_t gas;

	if (phr_rpc_param_call(&c, err, json_array_get(params, 0)) != PHR_OK)
		return PHR_ERR_INVALID;
	if (state_block(n, err, json_array_get(params, 1)) != PHR_OK ||
	    phr_rpc_param_block(&ref, err, json_array_get(params, 1)) != PHR_OK ||
	    (set && !json_is_null(set) && override_state(n, &ov, err, set) != PHR_OK)) {
		phr_rpc_call_release(&c);
		return err->code == PHR_RPC_INVALID_PARAMS ? PHR_ERR_INVALID : PHR_ERR_STATE;
	}
	gas = c.has_gas && c.gas < n->gas_limit ? c.gas : n->gas_limit;
	/* the memo answers for the head's state only (tags, not block numbers) */
	if (!ov && (ref.kind == PHR_RPC_BLOCK_LATEST || ref.kind == PHR_RPC_BLOCK_PENDING ||
		    ref.kind == PHR_RPC_BLOCK_SAFE || ref.kind == PHR_RPC_BLOCK_FINALIZED))
		rc = call_run(n, &res, &c, gas, NULL);
	else
		rc = dry_run_on(n, ov, &res, &c, gas);
	phr_state_free(ov);
	phr_rpc_call_release(&c);
	if (rc == PHR_ERR_INVALID)
		rc = phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "%s", res.error);
	else if (rc != PHR_OK)
		rc = internal(err, rc);
	else if (res.status != PHR_EVM_SUCCESS)
		rc = call_error(err, &res);
	else
		rc = ok(result, err, phr_rpc_data(res.output, res.output_len));
	phr_state_tx_result_release(&res);
	return rc;
}

int phr_chain_node_call(struct phr_chain_node *n, struct phr_buf *out, const uint8_t *from,
			const uint8_t to[20], const uint8_t *data, size_t data_len)
{
	struct phr_rpc_call c;
	struct phr_state_tx_result res;
	uint64_t need = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	c.has_to = true;
	memcpy(c.to, to, 20);
	if (from) {
		c.has_from = true;
		memcpy(c.from, from, 20);
	}
	c.data = (uint8_t *)(uintptr_t)data; /* borrowed: never freed here */
	c.data_len = data_len;
	(void)phr_chain_node_guard(n, true);
	rc = call_run(n, &res, &c, n->gas_limit, &need);
	/* what the call saw is durable before it is answered (a memo hit of a
	 * durable block need not wait for the blocks sealed since) */
	if (chain_guard_leave(n, need) != 0) {
		if (rc == PHR_OK)
			phr_state_tx_result_release(&res);
		return PHR_ERR_STATE;
	}
	if (rc != PHR_OK)
		return PHR_ERR_STATE; /* as the JSON-RPC path: an internal error */
	rc = res.status == PHR_EVM_SUCCESS ? PHR_OK
	     : res.status == PHR_EVM_REVERT ? PHR_ERR_REVERTED
					     : PHR_ERR_STATE;
	if (rc != PHR_ERR_STATE && res.output_len && phr_buf_append(out, res.output, res.output_len) != PHR_OK)
		rc = PHR_ERR_NOMEM;
	phr_state_tx_result_release(&res);
	return rc;
}

void phr_chain_node_memo_stats(struct phr_chain_node *n, uint64_t *hits, uint64_t *misses)
{
	chain_memo_stats(n->memo, hits, misses);
}

void phr_chain_node_memo_enable(struct phr_chain_node *n, bool on)
{
	pthread_mutex_lock(&n->lock);
	if (n->memo)
		chain_memo_enable(n->memo, on);
	pthread_mutex_unlock(&n->lock);
}

/* Does the call succeed with this gas limit? (-1: invalid, error set) */
static int try_gas(struct phr_chain_node *n, struct phr_rpc_call *c, uint64_t gas,
		   struct phr_rpc_error *err, uint64_t *used)
{
	struct phr_state_tx_result res;
	int rc = dry_run(n, &res, c, gas), good;

	if (rc != PHR_OK) {
		if (rc == PHR_ERR_INVALID && strstr(res.error, "intrinsic")) {
			phr_state_tx_result_release(&res);
			return 0; /* too little gas even to start */
		}
		if (rc == PHR_ERR_INVALID)
			(void)phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "%s", res.error);
		else
			(void)internal(err, rc);
		phr_state_tx_result_release(&res);
		return -1;
	}
	good = res.status == PHR_EVM_SUCCESS;
	if (used)
		*used = res.gas_used;
	if (!good && err && gas >= n->gas_limit)
		(void)call_error(err, &res);
	phr_state_tx_result_release(&res);
	return good;
}

static int m_estimate_gas(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_rpc_call c;
	uint64_t hi, lo, used = 0;
	int r;

	if (phr_rpc_param_call(&c, err, json_array_get(params, 0)) != PHR_OK)
		return PHR_ERR_INVALID;
	hi = c.has_gas && c.gas < n->gas_limit ? c.gas : n->gas_limit;
	r = try_gas(n, &c, hi, err, &used);
	if (r != 1) {
		phr_rpc_call_release(&c);
		if (r == 0 && !err->code)
			(void)phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "gas required exceeds allowance (%llu)",
						(unsigned long long)hi);
		return err->code == PHR_RPC_EXECUTION_REVERTED ? PHR_ERR_REVERTED : PHR_ERR_STATE;
	}
	/* the used gas usually suffices; else search between it and the cap */
	lo = used ? used - 1 : 0;
	if (used && used < hi) {
		r = try_gas(n, &c, used, NULL, NULL);
		if (r < 0)
			goto bad;
		if (r == 1)
			hi = used;
	}
	if (used && hi > used) {
		uint64_t opt = (used + 2300) * 64 / 63 + 1;
		if (opt < hi) {
			r = try_gas(n, &c, opt, NULL, NULL);
			if (r < 0)
				goto bad;
			if (r == 1)
				hi = opt;
		}
	}
	while (lo + 1 < hi && (hi - lo) * 64 > hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		r = try_gas(n, &c, mid, NULL, NULL);
		if (r < 0)
			goto bad;
		if (r == 1)
			hi = mid;
		else
			lo = mid;
	}
	phr_rpc_call_release(&c);
	return ok(result, err, phr_rpc_quantity(hi));
bad:
	phr_rpc_call_release(&c);
	return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "estimate failed");
}

/* ---- sending ---- */

static int m_send_raw(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	uint8_t *raw = NULL, hash[32];
	size_t len = 0;
	int rc;

	if (phr_rpc_param_bytes(&raw, &len, err, json_array_get(params, 0), CALL_DATA_MAX * 2,
				"transaction") != PHR_OK)
		return PHR_ERR_INVALID;
	if (!len) {
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "empty transaction");
	}
	rc = chain_submit(n, hash, err, raw, len);
	phr_free(raw);
	if (rc != PHR_OK)
		return rc;
	return ok(result, err, phr_rpc_data(hash, 32));
}

int phr_chain_node_send_raw(struct phr_chain_node *n, uint8_t hash[32], struct phr_rpc_error *err,
			    const uint8_t *raw, size_t raw_len)
{
	int rc;

	/* the checks of the JSON-RPC path (m_send_raw) */
	if (raw_len > CALL_DATA_MAX * 2) {
		(void)phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "transaction too large");
		return PHR_ERR_STATE;
	}
	if (!raw_len) {
		(void)phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "empty transaction");
		return PHR_ERR_STATE;
	}
	(void)phr_chain_node_guard(n, true);
	rc = chain_submit(n, hash, err, raw, raw_len);
	/* the block holding it (automine) is durable before the sender hears back */
	if (phr_chain_node_guard(n, false) != 0) {
		(void)phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "storage failure");
		return PHR_ERR_STATE;
	}
	if (rc != PHR_OK)
		return err->code == PHR_RPC_EXECUTION_REVERTED ? PHR_ERR_REVERTED : PHR_ERR_STATE;
	return PHR_OK;
}

static int m_accounts(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n->dev_count; i++)
		json_array_append_new(a, phr_rpc_data(n->dev_addrs[i], 20));
	return ok(result, err, a);
}

static int m_send_tx(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_rpc_call c;
	struct phr_tx tx;
	struct phr_buf raw;
	uint8_t hash[32];
	size_t i;
	int rc;

	if (phr_rpc_param_call(&c, err, json_array_get(params, 0)) != PHR_OK)
		return PHR_ERR_INVALID;
	for (i = 0; i < n->dev_count; i++)
		if (c.has_from && memcmp(c.from, n->dev_addrs[i], 20) == 0)
			break;
	if (i == n->dev_count) {
		phr_rpc_call_release(&c);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "unknown account");
	}
	if (!c.has_gas) {
		json_t *est = NULL, *p1 = json_array();
		uint64_t g;

		json_array_append(p1, json_array_get(params, 0));
		rc = m_estimate_gas(ctx, &est, err, p1);
		json_decref(p1);
		if (rc != PHR_OK) {
			phr_rpc_call_release(&c);
			return rc;
		}
		rc = phr_rpc_param_u64(&g, err, est, "gas");
		json_decref(est);
		if (rc != PHR_OK) {
			phr_rpc_call_release(&c);
			return rc;
		}
		c.gas = g;
	}
	phr_tx_init(&tx);
	tx.has_chain_id = true;
	tx.chain_id = n->chain_id;
	tx.gas_limit = c.gas;
	tx.has_to = c.has_to;
	memcpy(tx.to, c.to, 20);
	tx.value = c.value;
	tx.data = c.data; /* ownership moves to tx */
	tx.data_len = c.data_len;
	c.data = NULL;
	if (c.has_gas_price && !c.has_max_fee) {
		tx.type = PHR_TX_LEGACY;
		tx.gas_price = c.gas_price;
	} else {
		struct phr_u256 base = next_base_fee(n), two = phr_u256_from_u64(2);

		tx.type = PHR_TX_DYNAMIC_FEE;
		tx.max_priority_fee = c.has_max_priority ? c.max_priority : phr_u256_from_u64(ONE_GWEI);
		if (c.has_max_fee) {
			tx.max_fee = c.max_fee;
		} else {
			phr_u256_mul(&tx.max_fee, &base, &two);
			phr_u256_add(&tx.max_fee, &tx.max_fee, &tx.max_priority_fee);
		}
	}
	if (c.has_nonce)
		tx.nonce = c.nonce;
	else if ((rc = chain_pending_nonce(n, &tx.nonce, c.from)) != PHR_OK)
		goto fail;
	rc = phr_tx_sign(&tx, n->dev_keys + 32 * i);
	if (rc != PHR_OK)
		goto fail;
	phr_buf_init(&raw, 0);
	rc = phr_tx_encode(&raw, &tx);
	phr_tx_release(&tx);
	phr_rpc_call_release(&c);
	if (rc != PHR_OK)
		return internal(err, rc);
	rc = chain_submit(n, hash, err, raw.data, raw.len);
	phr_buf_release(&raw);
	if (rc != PHR_OK)
		return rc;
	return ok(result, err, phr_rpc_data(hash, 32));
fail:
	phr_tx_release(&tx);
	phr_rpc_call_release(&c);
	return internal(err, rc);
}

/* ---- transactions, receipts, blocks ---- */

static json_t *tx_json(const struct phr_tx *tx, const uint8_t hash[32], const uint8_t from[20],
		       const uint8_t *block_hash, uint64_t number, uint64_t index,
		       const struct phr_u256 *base_fee)
{
	json_t *o = json_object();
	struct phr_u256 price = tx->gas_price;
	size_t i, k;

	if (!o)
		return NULL;
	if (tx->type >= PHR_TX_DYNAMIC_FEE) {
		price = tx->max_fee;
		if (block_hash && base_fee) {
			struct phr_u256 p;

			phr_u256_add(&p, base_fee, &tx->max_priority_fee);
			if (phr_u256_cmp(&p, &tx->max_fee) < 0)
				price = p;
		}
		json_object_set_new(o, "maxFeePerGas", phr_rpc_quantity_u256(&tx->max_fee));
		json_object_set_new(o, "maxPriorityFeePerGas",
				    phr_rpc_quantity_u256(&tx->max_priority_fee));
	}
	json_object_set_new(o, "hash", phr_rpc_data(hash, 32));
	json_object_set_new(o, "type", phr_rpc_quantity((uint64_t)tx->type));
	json_object_set_new(o, "nonce", phr_rpc_quantity(tx->nonce));
	json_object_set_new(o, "blockHash", block_hash ? phr_rpc_data(block_hash, 32) : json_null());
	json_object_set_new(o, "blockNumber", block_hash ? phr_rpc_quantity(number) : json_null());
	json_object_set_new(o, "transactionIndex", block_hash ? phr_rpc_quantity(index) : json_null());
	json_object_set_new(o, "from", phr_rpc_data(from, 20));
	json_object_set_new(o, "to", tx->has_to ? phr_rpc_data(tx->to, 20) : json_null());
	json_object_set_new(o, "value", phr_rpc_quantity_u256(&tx->value));
	json_object_set_new(o, "gas", phr_rpc_quantity(tx->gas_limit));
	json_object_set_new(o, "gasPrice", phr_rpc_quantity_u256(&price));
	json_object_set_new(o, "input", phr_rpc_data(tx->data, tx->data_len));
	if (tx->has_chain_id)
		json_object_set_new(o, "chainId", phr_rpc_quantity(tx->chain_id));
	if (tx->type != PHR_TX_LEGACY) {
		json_t *al = json_array();

		for (i = 0; al && i < tx->n_access; i++) {
			json_t *keys = json_array();

			for (k = 0; keys && k < tx->access_list[i].n_keys; k++)
				json_array_append_new(keys, phr_rpc_data(tx->access_list[i].keys[k], 32));
			json_array_append_new(al, json_pack("{s:o,s:o}", "address",
							    phr_rpc_data(tx->access_list[i].address, 20),
							    "storageKeys", keys));
		}
		json_object_set_new(o, "accessList", al);
		json_object_set_new(o, "yParity", phr_rpc_quantity(tx->v));
	}
	json_object_set_new(o, "v", phr_rpc_quantity(tx->v));
	json_object_set_new(o, "r", phr_rpc_quantity_u256(&tx->r));
	json_object_set_new(o, "s", phr_rpc_quantity_u256(&tx->s));
	return o;
}

/* JSON of a mined transaction by hash (NULL result when unknown). */
static int mined_tx_json(struct phr_chain_node *n, json_t **out, const uint8_t hash[32])
{
	struct phr_buf raw;
	struct phr_chain_header h;
	struct phr_tx tx;
	uint8_t sender[20], bhash[32];
	uint64_t block, idx;
	int rc;

	phr_buf_init(&raw, 0);
	rc = db_tx_get(&n->db, &raw, &block, &idx, sender, hash);
	if (rc == PHR_OK)
		rc = chain_header_get(n, &h, bhash, block);
	if (rc != PHR_OK) {
		phr_buf_release(&raw);
		return rc;
	}
	phr_tx_init(&tx);
	rc = phr_tx_decode(&tx, raw.data, raw.len);
	phr_buf_release(&raw);
	if (rc != PHR_OK)
		return PHR_ERR_CORRUPT;
	*out = tx_json(&tx, hash, sender, bhash, block, idx, &h.base_fee);
	phr_tx_release(&tx);
	return *out ? PHR_OK : PHR_ERR_NOMEM;
}

static int m_get_tx(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const struct pool_tx *p;
	uint8_t hash[32];
	json_t *o;
	int rc;

	if (phr_rpc_param_hash(hash, err, json_array_get(params, 0), "hash") != PHR_OK)
		return PHR_ERR_INVALID;
	rc = mined_tx_json(n, &o, hash);
	if (rc == PHR_OK)
		return ok(result, err, o);
	if (rc != PHR_ERR_NOT_FOUND)
		return internal(err, rc);
	p = chain_pool_find(n, hash);
	if (!p)
		return ok(result, err, json_null());
	return ok(result, err, tx_json(&p->tx, p->hash, p->sender, NULL, 0, 0, NULL));
}

/* geth's eth_getRawTransactionByHash: the signed encoding of a mined transaction */
static int m_get_raw_tx(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_buf raw;
	uint8_t hash[32];
	int rc;

	if (phr_rpc_param_hash(hash, err, json_array_get(params, 0), "hash") != PHR_OK)
		return PHR_ERR_INVALID;
	phr_buf_init(&raw, 0);
	rc = db_tx_get(&n->db, &raw, NULL, NULL, NULL, hash);
	if (rc == PHR_ERR_NOT_FOUND) {
		const struct pool_tx *p = chain_pool_find(n, hash);

		phr_buf_release(&raw);
		return ok(result, err, p ? phr_rpc_data(p->raw, p->raw_len) : json_null());
	}
	if (rc != PHR_OK) {
		phr_buf_release(&raw);
		return internal(err, rc);
	}
	rc = ok(result, err, phr_rpc_data(raw.data, raw.len));
	phr_buf_release(&raw);
	return rc;
}

static json_t *receipt_json(const struct phr_chain_receipt *r)
{
	json_t *logs = json_array(), *o;
	size_t i;

	if (!logs)
		return NULL;
	for (i = 0; i < r->logs_count; i++)
		json_array_append_new(logs, chain_log_json(&r->logs[i]));
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		      "transactionHash", phr_rpc_data(r->tx_hash, 32),
		      "transactionIndex", phr_rpc_quantity(r->tx_index),
		      "blockHash", phr_rpc_data(r->block_hash, 32),
		      "blockNumber", phr_rpc_quantity(r->block_number),
		      "from", phr_rpc_data(r->from, 20),
		      "to", r->has_to ? phr_rpc_data(r->to, 20) : json_null(),
		      "cumulativeGasUsed", phr_rpc_quantity(r->cumulative_gas),
		      "gasUsed", phr_rpc_quantity(r->gas_used),
		      "effectiveGasPrice", phr_rpc_quantity_u256(&r->effective_gas_price),
		      "contractAddress", r->has_contract ? phr_rpc_data(r->contract_address, 20) : json_null(),
		      "logs", logs,
		      "logsBloom", phr_rpc_data(r->bloom, PHR_CHAIN_BLOOM_BYTES),
		      "type", phr_rpc_quantity(r->type),
		      "status", phr_rpc_quantity(r->status ? 1 : 0));
	return o;
}

static int m_get_receipt(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_chain_receipt r;
	uint8_t hash[32];
	int rc;

	if (phr_rpc_param_hash(hash, err, json_array_get(params, 0), "hash") != PHR_OK)
		return PHR_ERR_INVALID;
	rc = db_receipt_get(&n->db, &r, hash);
	if (rc == PHR_ERR_NOT_FOUND)
		return ok(result, err, json_null());
	if (rc != PHR_OK)
		return internal(err, rc);
	rc = ok(result, err, receipt_json(&r));
	phr_chain_receipt_release(&r);
	return rc;
}

int phr_chain_node_receipt(struct phr_chain_node *n, struct phr_chain_receipt *r,
			   const uint8_t hash[32])
{
	uint64_t need;
	int rc;

	(void)phr_chain_node_guard(n, true);
	rc = db_receipt_get(&n->db, r, hash);
	/* as every answer: what it reports is durable first (a receipt: its
	 * block; else the head) */
	need = rc == PHR_OK ? r->block_number : n->head.number;
	if (chain_guard_leave(n, need) != 0) {
		if (rc == PHR_OK)
			phr_chain_receipt_release(r);
		return PHR_ERR_STATE;
	}
	if (rc == PHR_OK || rc == PHR_ERR_NOT_FOUND)
		return rc;
	return PHR_ERR_STATE; /* as the JSON-RPC path: an internal error */
}

static int block_json(struct phr_chain_node *n, json_t **out, uint64_t number, bool full)
{
	struct phr_chain_header h;
	struct phr_buf raw;
	uint8_t hash[32];
	uint8_t(*hashes)[32] = NULL;
	size_t count = 0, i, size;
	json_t *txs, *o;
	int rc = chain_header_get(n, &h, hash, number);

	if (rc != PHR_OK)
		return rc;
	phr_buf_init(&raw, 0);
	rc = phr_chain_header_encode(&raw, &h);
	size = raw.len + 8;
	phr_buf_release(&raw);
	if (rc == PHR_OK)
		rc = db_block_tx_hashes(&n->db, &hashes, &count, number);
	if (rc != PHR_OK)
		return rc;
	txs = json_array();
	for (i = 0; txs && i < count; i++) {
		json_t *t = NULL;

		if (full) {
			rc = mined_tx_json(n, &t, hashes[i]);
			if (rc != PHR_OK) {
				json_decref(txs);
				phr_free(hashes);
				return rc;
			}
		} else {
			t = phr_rpc_data(hashes[i], 32);
		}
		json_array_append_new(txs, t);
	}
	phr_free(hashes);
	o = json_object();
	if (!o || !txs) {
		json_decref(o);
		json_decref(txs);
		return PHR_ERR_NOMEM;
	}
	json_object_set_new(o, "number", phr_rpc_quantity(h.number));
	json_object_set_new(o, "hash", phr_rpc_data(hash, 32));
	json_object_set_new(o, "parentHash", phr_rpc_data(h.parent_hash, 32));
	json_object_set_new(o, "sha3Uncles", phr_rpc_data(h.ommers_hash, 32));
	json_object_set_new(o, "miner", phr_rpc_data(h.coinbase, 20));
	json_object_set_new(o, "stateRoot", phr_rpc_data(h.state_root, 32));
	json_object_set_new(o, "transactionsRoot", phr_rpc_data(h.tx_root, 32));
	json_object_set_new(o, "receiptsRoot", phr_rpc_data(h.receipts_root, 32));
	json_object_set_new(o, "logsBloom", phr_rpc_data(h.bloom, PHR_CHAIN_BLOOM_BYTES));
	json_object_set_new(o, "difficulty", phr_rpc_quantity_u256(&h.difficulty));
	json_object_set_new(o, "totalDifficulty", phr_rpc_quantity(0));
	json_object_set_new(o, "gasLimit", phr_rpc_quantity(h.gas_limit));
	json_object_set_new(o, "gasUsed", phr_rpc_quantity(h.gas_used));
	json_object_set_new(o, "timestamp", phr_rpc_quantity(h.timestamp));
	json_object_set_new(o, "extraData", phr_rpc_data(h.extra, h.extra_len));
	json_object_set_new(o, "mixHash", phr_rpc_data(h.mix_hash, 32));
	json_object_set_new(o, "nonce", phr_rpc_data(h.nonce, 8));
	json_object_set_new(o, "baseFeePerGas", phr_rpc_quantity_u256(&h.base_fee));
	json_object_set_new(o, "withdrawalsRoot", phr_rpc_data(h.withdrawals_root, 32));
	json_object_set_new(o, "withdrawals", json_array());
	json_object_set_new(o, "blobGasUsed", phr_rpc_quantity(h.blob_gas_used));
	json_object_set_new(o, "excessBlobGas", phr_rpc_quantity(h.excess_blob_gas));
	json_object_set_new(o, "parentBeaconBlockRoot", phr_rpc_data(h.parent_beacon_root, 32));
	json_object_set_new(o, "size", phr_rpc_quantity(size));
	json_object_set_new(o, "uncles", json_array());
	json_object_set_new(o, "transactions", txs);
	*out = o;
	return PHR_OK;
}

static int block_reply(struct phr_chain_node *n, json_t **result, struct phr_rpc_error *err,
		       const struct phr_rpc_block_ref *ref, const json_t *full)
{
	uint64_t number;
	json_t *o;
	int rc;

	if (full && !json_is_boolean(full))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "full transactions flag must be a boolean");
	if (chain_block_resolve(n, &number, ref) != PHR_OK)
		return ok(result, err, json_null());
	rc = block_json(n, &o, number, json_is_true(full));
	if (rc == PHR_ERR_NOT_FOUND)
		return ok(result, err, json_null());
	if (rc != PHR_OK)
		return internal(err, rc);
	return ok(result, err, o);
}

static int m_block_by_number(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_rpc_block_ref ref;

	if (phr_rpc_param_block(&ref, err, json_array_get(params, 0)) != PHR_OK)
		return PHR_ERR_INVALID;
	return block_reply(ctx, result, err, &ref, json_array_get(params, 1));
}

static int m_block_by_hash(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_rpc_block_ref ref = { .kind = PHR_RPC_BLOCK_HASH };

	if (phr_rpc_param_hash(ref.hash, err, json_array_get(params, 0), "block hash") != PHR_OK)
		return PHR_ERR_INVALID;
	return block_reply(ctx, result, err, &ref, json_array_get(params, 1));
}

static int m_fee_history(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct phr_rpc_block_ref ref;
	const json_t *pct = json_array_get(params, 2);
	uint64_t count, newest, oldest, b;
	json_t *fees, *ratios, *rewards = NULL, *o;
	struct phr_chain_header h;
	struct phr_u256 next;

	if (phr_rpc_param_u64(&count, err, json_array_get(params, 0), "blockCount") != PHR_OK ||
	    phr_rpc_param_block(&ref, err, json_array_get(params, 1)) != PHR_OK)
		return PHR_ERR_INVALID;
	if (pct && !json_is_array(pct) && !json_is_null(pct))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "rewardPercentiles must be an array");
	if (chain_block_resolve(n, &newest, &ref) != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "header not found");
	if (count > 1024)
		count = 1024;
	if (count > newest + 1)
		count = newest + 1;
	oldest = newest + 1 - count;
	fees = json_array();
	ratios = json_array();
	if (json_is_array(pct))
		rewards = json_array();
	for (b = oldest; fees && ratios && count && b <= newest; b++) {
		if (chain_header_get(n, &h, NULL, b) != PHR_OK)
			break;
		json_array_append_new(fees, phr_rpc_quantity_u256(&h.base_fee));
		json_array_append_new(ratios, json_real(h.gas_limit ? (double)h.gas_used / (double)h.gas_limit : 0));
		if (rewards) {
			json_t *r = json_array();
			size_t i;

			/* a dev chain has no tip market: the suggested tip for every percentile */
			for (i = 0; r && i < json_array_size(pct); i++)
				json_array_append_new(r, phr_rpc_quantity(ONE_GWEI));
			json_array_append_new(rewards, r);
		}
		if (b == newest) {
			phr_chain_base_fee_next(&next, &h.base_fee, h.gas_used, h.gas_limit);
			json_array_append_new(fees, phr_rpc_quantity_u256(&next));
		}
	}
	o = json_pack("{s:o,s:o,s:o}", "oldestBlock", phr_rpc_quantity(oldest), "baseFeePerGas", fees,
		      "gasUsedRatio", ratios);
	if (o && rewards)
		json_object_set_new(o, "reward", rewards);
	else if (rewards)
		json_decref(rewards);
	return ok(result, err, o);
}

/* ---- proofs ---- */

static json_t *proof_json(struct phr_buf *nodes, size_t count)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < count; i++) {
		if (a)
			json_array_append_new(a, phr_rpc_data(nodes[i].data, nodes[i].len));
		phr_buf_release(&nodes[i]);
	}
	phr_free(nodes);
	return a;
}

static int m_get_proof(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const json_t *keys = json_array_get(params, 1), *k;
	struct phr_state_account acc;
	struct phr_buf *nodes;
	uint8_t addr[20];
	size_t count, i;
	bool exists;
	json_t *sp, *o;
	int rc;

	if (phr_rpc_param_address(addr, err, json_array_get(params, 0), "address") != PHR_OK)
		return PHR_ERR_INVALID;
	if (!json_is_array(keys))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "storage keys must be an array");
	if (state_block(n, err, json_array_get(params, 2)) != PHR_OK)
		return PHR_ERR_INVALID;
	rc = phr_state_get_account(n->state, &exists, &acc, addr);
	if (rc != PHR_OK)
		return internal(err, rc);
	sp = json_array();
	json_array_foreach(keys, i, k) {
		uint8_t slot[32], val[32];
		struct phr_u256 v;

		if (phr_rpc_param_slot(slot, err, k, "storage key") != PHR_OK) {
			json_decref(sp);
			return PHR_ERR_INVALID;
		}
		rc = phr_state_get_storage(n->state, val, addr, slot);
		if (rc == PHR_OK)
			rc = phr_state_prove_storage(n->state, &nodes, &count, addr, slot);
		if (rc != PHR_OK) {
			json_decref(sp);
			return internal(err, rc);
		}
		phr_u256_from_be(&v, val);
		json_array_append_new(sp, json_pack("{s:O,s:o,s:o}", "key", k, "value",
						    phr_rpc_quantity_u256(&v), "proof",
						    proof_json(nodes, count)));
	}
	rc = phr_state_prove_account(n->state, &nodes, &count, addr);
	if (rc != PHR_OK) {
		json_decref(sp);
		return internal(err, rc);
	}
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "address", phr_rpc_data(addr, 20), "accountProof",
		      proof_json(nodes, count), "balance", phr_rpc_quantity_u256(&acc.balance),
		      "codeHash", phr_rpc_data(acc.code_hash, 32), "nonce", phr_rpc_quantity(acc.nonce),
		      "storageHash", phr_rpc_data(acc.storage_root, 32), "storageProof", sp);
	return ok(result, err, o);
}

/* ---- dev methods (anvil/hardhat names) ---- */

static int m_mine(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const json_t *p0 = json_array_get(params, 0);
	uint64_t blocks = 1, ts = 0, i;
	int rc;

	if (json_is_object(p0)) {
		const json_t *v;

		if ((v = json_object_get(p0, "blocks")) && phr_rpc_param_u64(&blocks, err, v, "blocks") != PHR_OK)
			return PHR_ERR_INVALID;
		if ((v = json_object_get(p0, "timestamp")) && phr_rpc_param_u64(&ts, err, v, "timestamp") != PHR_OK)
			return PHR_ERR_INVALID;
	} else if (p0 && !json_is_null(p0)) {
		/* anvil: evm_mine [timestamp] */
		if (phr_rpc_param_u64(&ts, err, p0, "timestamp") != PHR_OK)
			return PHR_ERR_INVALID;
	}
	if (blocks > 1000)
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "at most 1000 blocks");
	for (i = 0; i < blocks; i++) {
		if (ts && i == 0)
			n->next_timestamp = ts;
		rc = chain_seal(n);
		if (rc != PHR_OK)
			return internal(err, rc);
	}
	return ok(result, err, json_string("0x0"));
}

static int m_increase_time(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const json_t *p0 = json_array_get(params, 0);
	uint64_t secs;

	if (json_is_integer(p0) && json_integer_value(p0) >= 0)
		secs = (uint64_t)json_integer_value(p0);
	else if (phr_rpc_param_u64(&secs, err, p0, "seconds") != PHR_OK)
		return PHR_ERR_INVALID;
	if (secs > ((uint64_t)1 << 40))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "seconds out of range");
	n->time_offset += (int64_t)secs;
	return ok(result, err, phr_rpc_quantity(secs));
}

static int m_set_next_ts(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	const json_t *p0 = json_array_get(params, 0);
	uint64_t ts;

	if (json_is_integer(p0) && json_integer_value(p0) >= 0)
		ts = (uint64_t)json_integer_value(p0);
	else if (phr_rpc_param_u64(&ts, err, p0, "timestamp") != PHR_OK)
		return PHR_ERR_INVALID;
	if (ts <= n->head.timestamp)
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR,
					 "timestamp must be after the latest block's (%llu)",
					 (unsigned long long)n->head.timestamp);
	n->next_timestamp = ts;
	/* later blocks keep the new pace */
	n->time_offset = (int64_t)ts - (int64_t)time(NULL);
	return ok(result, err, json_null());
}

static int m_snapshot(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;

	if (n->snaps_n == PHR_ARRAY_LEN(n->snaps))
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "too many snapshots");
	n->snaps[n->snaps_n].id = n->next_snap_id++;
	n->snaps[n->snaps_n].block = n->head.number;
	return ok(result, err, phr_rpc_quantity(n->snaps[n->snaps_n++].id));
}

/* As anvil: reverting to a snapshot drops it and every later one. */
static int m_revert(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	uint64_t id;
	size_t i;
	int rc;

	if (phr_rpc_param_u64(&id, err, json_array_get(params, 0), "snapshot id") != PHR_OK)
		return PHR_ERR_INVALID;
	for (i = 0; i < n->snaps_n; i++)
		if (n->snaps[i].id == id)
			break;
	if (i == n->snaps_n)
		return ok(result, err, json_false());
	rc = chain_revert(n, n->snaps[i].block);
	if (rc != PHR_OK)
		return internal(err, rc);
	n->snaps_n = i;
	return ok(result, err, json_true());
}

const struct phr_rpc_method phr_chain_node_methods[] = {
	{ "web3_clientVersion", m_client_version },
	{ "net_version", m_net_version },
	{ "net_listening", m_true },
	{ "eth_syncing", m_false },
	{ "eth_mining", m_true },
	{ "eth_chainId", m_chain_id },
	{ "eth_blockNumber", m_block_number },
	{ "eth_gasPrice", m_gas_price },
	{ "eth_maxPriorityFeePerGas", m_max_priority },
	{ "eth_feeHistory", m_fee_history },
	{ "eth_getBalance", m_get_balance },
	{ "eth_getTransactionCount", m_get_tx_count },
	{ "eth_getCode", m_get_code },
	{ "eth_getStorageAt", m_get_storage },
	{ "eth_call", m_call },
	{ "eth_estimateGas", m_estimate_gas },
	{ "eth_sendRawTransaction", m_send_raw },
	{ "eth_sendTransaction", m_send_tx },
	{ "eth_accounts", m_accounts },
	{ "eth_getTransactionByHash", m_get_tx },
	{ "eth_getTransactionReceipt", m_get_receipt },
	{ "eth_getRawTransactionByHash", m_get_raw_tx },
	{ "eth_getBlockByNumber", m_block_by_number },
	{ "eth_getBlockByHash", m_block_by_hash },
	{ "eth_getLogs", chain_rpc_get_logs },
	{ "eth_newFilter", chain_rpc_new_filter },
	{ "eth_newBlockFilter", chain_rpc_new_block_filter },
	{ "eth_newPendingTransactionFilter", chain_rpc_new_pending_filter },
	{ "eth_getFilterChanges", chain_rpc_filter_changes },
	{ "eth_getFilterLogs", chain_rpc_filter_logs },
	{ "eth_uninstallFilter", chain_rpc_uninstall_filter },
	{ "eth_getProof", m_get_proof },
	{ "evm_mine", m_mine },
	{ "evm_increaseTime", m_increase_time },
	{ "evm_setNextBlockTimestamp", m_set_next_ts },
	{ "evm_snapshot", m_snapshot },
	{ "evm_revert", m_revert },
	{ NULL, NULL },
};
