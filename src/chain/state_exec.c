/*
 * The EVM host (struct phr_evm_host) over the world state, and the Cancun
 * transaction transition (validation, fees, refunds, end-of-transaction rules).
 */
#include "phr/crypto.h"
#include "phr/precompile.h"
#include "phr/rlp.h"
#include "state_int.h"

#define BLOB_GAS_PER_BLOB 131072u
#define MAX_BLOBS_PER_BLOCK 6u
#define BLOB_BASE_FEE_UPDATE_FRACTION 3338477u

static const uint8_t ripemd_addr[20] = { [19] = 3 };

static void release_output(struct phr_evm_result *r)
{
	phr_free(r->output);
}

static void u256_key(uint8_t out[32], const struct phr_u256 *k)
{
	phr_u256_to_be(out, k);
}

/* ------------------------------------------------------------------------- */
/* host: reads                                                               */
/* ------------------------------------------------------------------------- */

static bool h_account_exists(void *ctx, const struct phr_evm_address *addr)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	return a && a->exists && !phr_st_is_empty(a);
}

static void h_get_balance(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	*out = a ? a->balance : PHR_U256_ZERO;
}

static size_t h_get_code_size(void *ctx, const struct phr_evm_address *addr)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	return a ? a->code_len : 0;
}

static void h_get_code_hash(void *ctx, struct phr_evm_bytes32 *out,
			    const struct phr_evm_address *addr)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	if (!a || !a->exists || phr_st_is_empty(a))
		memset(out->bytes, 0, 32);
	else
		memcpy(out->bytes, a->code_hash, 32);
}

static size_t h_copy_code(void *ctx, uint8_t *buf, size_t len, const struct phr_evm_address *addr,
			  size_t offset)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	if (!a || offset >= a->code_len)
		return 0;
	size_t n = a->code_len - offset;
	if (n > len)
		n = len;
	memcpy(buf, a->code + offset, n);
	return n;
}

static void h_get_storage(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr,
			  const struct phr_u256 *key)
{
	uint8_t k[32];
	u256_key(k, key);
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	struct st_slot *s = a ? phr_st_slot(ctx, a, k) : NULL;
	if (s)
		phr_u256_from_be(out, s->cur);
	else
		*out = PHR_U256_ZERO;
}

static void h_set_storage(void *ctx, struct phr_u256 *original, struct phr_u256 *current,
			  const struct phr_evm_address *addr, const struct phr_u256 *key,
			  const struct phr_u256 *value)
{
	uint8_t k[32], v[32];
	u256_key(k, key);
	phr_u256_to_be(v, value);
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	struct st_slot *s = a ? phr_st_slot(ctx, a, k) : NULL;
	if (!s) {
		*original = *current = PHR_U256_ZERO;
		return;
	}
	phr_u256_from_be(original, s->orig);
	phr_u256_from_be(current, s->cur);
	phr_st_set_slot(ctx, a, s, v);
}

static void h_get_tstorage(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr,
			   const struct phr_u256 *key)
{
	uint8_t k[32], v[32];
	u256_key(k, key);
	phr_st_tload(ctx, v, addr->bytes, k);
	phr_u256_from_be(out, v);
}

static void h_set_tstorage(void *ctx, const struct phr_evm_address *addr,
			   const struct phr_u256 *key, const struct phr_u256 *value)
{
	uint8_t k[32], v[32];
	u256_key(k, key);
	phr_u256_to_be(v, value);
	phr_st_tstore(ctx, addr->bytes, k, v);
}

static bool h_access_account(void *ctx, const struct phr_evm_address *addr)
{
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	return a ? phr_st_warm_account(ctx, a) : true;
}

static bool h_access_storage(void *ctx, const struct phr_evm_address *addr,
			     const struct phr_u256 *key)
{
	uint8_t k[32];
	u256_key(k, key);
	struct st_account *a = phr_st_account(ctx, addr->bytes);
	struct st_slot *s = a ? phr_st_slot(ctx, a, k) : NULL;
	return s ? phr_st_warm_slot(ctx, a, s) : true;
}

/* ------------------------------------------------------------------------- */
/* host: writes                                                              */
/* ------------------------------------------------------------------------- */

static void add_balance(struct phr_state *st, struct st_account *a, const struct phr_u256 *v)
{
	/* as geth's AddBalance: the account comes into being (and, if it stays
	 * empty, is cleared again at the end of the transaction) */
	phr_st_make_exist(st, a);
	phr_st_touch(st, a);
	if (phr_u256_is_zero(v))
		return;
	struct phr_u256 nb;
	phr_u256_add(&nb, &a->balance, v);
	phr_st_set_balance(st, a, &nb);
}

static void sub_balance(struct phr_state *st, struct st_account *a, const struct phr_u256 *v)
{
	if (phr_u256_is_zero(v))
		return;
	struct phr_u256 nb;
	phr_u256_sub(&nb, &a->balance, v);
	phr_st_set_balance(st, a, &nb);
}

static bool h_selfdestruct(void *ctx, const struct phr_evm_address *addr,
			   const struct phr_evm_address *beneficiary)
{
	struct phr_state *st = ctx;
	struct st_account *a = phr_st_account(st, addr->bytes);
	struct st_account *b = phr_st_account(st, beneficiary->bytes);
	if (!a || !b)
		return false;
	bool first = !a->destructed;
	struct phr_u256 bal = a->balance;
	if (a != b) {
		sub_balance(st, a, &bal);
		add_balance(st, b, &bal);
	} else {
		phr_st_touch(st, b);
	}
	if (a->created) {
		/* EIP-6780: only an account created in this transaction goes away,
		 * and with it whatever balance it still holds */
		struct phr_u256 zero = PHR_U256_ZERO;
		phr_st_set_balance(st, a, &zero);
		phr_st_destruct(st, a);
	}
	return first;
}

static void h_emit_log(void *ctx, const struct phr_evm_address *addr, const uint8_t *data,
		       size_t data_size, const struct phr_evm_bytes32 *topics, size_t topics_count)
{
	phr_st_add_log(ctx, addr->bytes, data, data_size, topics, topics_count);
}

/* The block values the running frame's code can read (scans cached by code hash). */
static unsigned frame_env(struct phr_state *st)
{
	const uint8_t *h = st->cur_code_hash;
	if (!h)
		return phr_st_env_scan(st->cur_code, st->cur_code_len);
	size_t i = h[0] % PHR_ARRAY_LEN(st->env_cache);
	if (!st->env_cache[i].used || memcmp(st->env_cache[i].hash, h, 32) != 0) {
		memcpy(st->env_cache[i].hash, h, 32);
		st->env_cache[i].env = phr_st_env_scan(st->cur_code, st->cur_code_len);
		st->env_cache[i].used = true;
	}
	return st->env_cache[i].env;
}

static void h_get_tx_context(void *ctx, struct phr_evm_tx_context *out)
{
	struct phr_state *st = ctx;
	/* the interpreter asks once per frame for any block value: the frame can
	 * read only those whose opcodes its code holds */
	if (st->rec)
		st->rec->env |= frame_env(st);
	*out = st->txc;
}

static void h_get_block_hash(void *ctx, struct phr_evm_bytes32 *out, uint64_t number)
{
	struct phr_state *st = ctx;
	if (st->rec)
		st->rec->env |= PHR_ST_ENV_NUMBER;
	memset(out->bytes, 0, 32);
	if (st->blk && st->blk->block_hash)
		st->blk->block_hash(st->blk->block_hash_ctx, out->bytes, number);
}

/* ------------------------------------------------------------------------- */
/* host: calls and creates                                                   */
/* ------------------------------------------------------------------------- */

static void fail_frame(struct phr_evm_result *out, enum phr_evm_status status)
{
	phr_evm_result_release(out);
	out->status = status;
	out->gas_left = 0;
	out->gas_refund = 0;
}

static void run_precompile(struct phr_state *st, struct phr_evm_result *out,
			   const struct phr_evm_message *msg)
{
	struct phr_buf buf;
	phr_buf_init(&buf, 0);
	int64_t used = 0;
	int rc = phr_precompile_run(msg->code_address.bytes, msg->input, msg->input_size, msg->gas,
				    &buf, &used);
	switch (rc) {
	case PHR_PRECOMPILE_OK: {
		size_t n = 0;
		out->status = PHR_EVM_SUCCESS;
		out->gas_left = msg->gas - used;
		if (buf.len) {
			out->output = phr_buf_detach(&buf, &n);
			out->output_size = n;
			out->release = release_output;
			if (!out->output && !st->error)
				st->error = PHR_ERR_NOMEM;
		}
		break;
	}
	case PHR_PRECOMPILE_OUT_OF_GAS:
		fail_frame(out, PHR_EVM_OUT_OF_GAS);
		break;
	case PHR_PRECOMPILE_INTERNAL_ERROR:
		if (!st->error)
			st->error = PHR_ERR_NOMEM;
		fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		break;
	default:
		fail_frame(out, PHR_EVM_PRECOMPILE_FAILURE);
		break;
	}
	phr_buf_release(&buf);
}

/* Runs the code of msg->code_address (or a precompile) for a CALL-family message. */
static void do_call(struct phr_state *st, struct phr_evm_result *out,
		    const struct phr_evm_message *msg)
{
	struct st_snap snap = phr_st_snapshot(st);
	struct st_account *to = phr_st_account(st, msg->recipient.bytes);
	/* the sender's state matters only to a value transfer (its balance) */
	struct phr_st_readset *rec = st->rec;
	if (msg->kind != PHR_EVM_CALL || phr_u256_is_zero(&msg->value))
		st->rec = NULL;
	struct st_account *from = phr_st_account(st, msg->sender.bytes);
	st->rec = rec;
	if (!to || !from) {
		fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		return;
	}
	bool pre = phr_precompile_is(msg->code_address.bytes);
	if (msg->kind == PHR_EVM_CALL) {
		if (!to->exists) {
			if (!pre && phr_u256_is_zero(&msg->value)) {
				/* calling nothing: no account comes into being */
				out->status = PHR_EVM_SUCCESS;
				out->gas_left = msg->gas;
				return;
			}
			phr_st_make_exist(st, to);
		}
		if (phr_u256_cmp(&from->balance, &msg->value) < 0) {
			out->status = PHR_EVM_INSUFFICIENT_BALANCE;
			out->gas_left = msg->gas;
			return;
		}
		sub_balance(st, from, &msg->value);
		add_balance(st, to, &msg->value);
	} else if (msg->kind == PHR_EVM_STATICCALL) {
		/* geth touches the target of a static call (AddBalance of 0) */
		phr_st_touch(st, to);
	}
	if (pre) {
		run_precompile(st, out, msg);
	} else {
		struct st_account *code = phr_st_account(st, msg->code_address.bytes);
		if (!code) {
			fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		} else if (code->code_len == 0) {
			out->status = PHR_EVM_SUCCESS;
			out->gas_left = msg->gas;
		} else {
			const uint8_t *pc = st->cur_code, *ph = st->cur_code_hash;
			size_t pl = st->cur_code_len;
			st->cur_code = code->code;
			st->cur_code_len = code->code_len;
			st->cur_code_hash = code->code_hash;
			phr_evm_execute(&phr_st_host, st, msg, code->code, code->code_len, out);
			st->cur_code = pc;
			st->cur_code_len = pl;
			st->cur_code_hash = ph;
		}
	}
	if (out->status != PHR_EVM_SUCCESS) {
		bool ripemd = to->touched && !memcmp(to->addr, ripemd_addr, 20);
		phr_st_revert(st, snap);
		if (ripemd && !to->touched) {
			/* the mainnet RIPEMD-160 exception: its touch survives a revert
			 * (geth's journal keeps it dirty) */
			to->touched = true;
			st->ripemd_touched = true;
		}
		out->gas_refund = 0;
		if (out->status != PHR_EVM_REVERT) {
			out->gas_left = 0;
			phr_evm_result_release(out);
		}
	}
}

static int create_address(struct phr_state *st, uint8_t out[20], const struct phr_evm_message *msg,
			  uint64_t nonce)
{
	uint8_t h[32];
	if (msg->kind == PHR_EVM_CREATE2) {
		uint8_t pre[1 + 20 + 32 + 32];
		pre[0] = 0xff;
		memcpy(pre + 1, msg->sender.bytes, 20);
		memcpy(pre + 21, msg->create2_salt.bytes, 32);
		phr_keccak256(pre + 53, msg->input, msg->input_size);
		phr_keccak256(h, pre, sizeof(pre));
	} else {
		struct phr_buf b;
		size_t mark;
		phr_buf_init(&b, 64);
		phr_rlp_list_begin(&b, &mark);
		int rc = phr_rlp_put_bytes(&b, msg->sender.bytes, 20);
		if (!rc)
			rc = phr_rlp_put_u64(&b, nonce);
		if (!rc)
			rc = phr_rlp_list_end(&b, mark);
		if (rc) {
			phr_buf_release(&b);
			if (!st->error)
				st->error = rc;
			return rc;
		}
		phr_keccak256(h, b.data, b.len);
		phr_buf_release(&b);
	}
	memcpy(out, h + 12, 20);
	return PHR_OK;
}

static bool has_storage(const struct st_account *a)
{
	if (memcmp(a->storage_root, phr_trie_empty_root, 32) != 0)
		return true;
	for (size_t i = 0; i < a->slots_cap; i++) {
		if (!a->slots[i].used)
			continue;
		for (int k = 0; k < 32; k++) {
			if (a->slots[i].cur[k])
				return true;
		}
	}
	return false;
}

static void do_create(struct phr_state *st, struct phr_evm_result *out,
		      const struct phr_evm_message *msg)
{
	struct st_account *from = phr_st_account(st, msg->sender.bytes);
	if (!from) {
		fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		return;
	}
	if (phr_u256_cmp(&from->balance, &msg->value) < 0) {
		out->status = PHR_EVM_INSUFFICIENT_BALANCE;
		out->gas_left = msg->gas;
		return;
	}
	if (from->nonce == UINT64_MAX) {
		/* EIP-2681: the create fails but, as in geth, returns the gas:
		 * REVERT with empty data is the status that keeps gas_left */
		out->status = PHR_EVM_REVERT;
		out->gas_left = msg->gas;
		return;
	}
	uint8_t addr[20];
	if (create_address(st, addr, msg, from->nonce)) {
		fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		return;
	}
	phr_st_set_nonce(st, from, from->nonce + 1);
	struct st_account *a = phr_st_account(st, addr);
	if (!a) {
		fail_frame(out, PHR_EVM_INTERNAL_ERROR);
		return;
	}
	phr_st_warm_account(st, a);
	if (a->nonce != 0 || a->code_len != 0 || has_storage(a)) {
		/* address collision (EIP-684, EIP-7610): all gas is consumed */
		fail_frame(out, PHR_EVM_CONTRACT_VALIDATION_FAILURE);
		return;
	}
	struct st_snap snap = phr_st_snapshot(st);
	phr_st_create(st, a);
	phr_st_touch(st, a);
	phr_st_set_nonce(st, a, 1);
	sub_balance(st, from, &msg->value);
	add_balance(st, a, &msg->value);

	/* the initcode runs as code with empty call data */
	struct phr_evm_message m = *msg;
	memcpy(m.recipient.bytes, addr, 20);
	memcpy(m.code_address.bytes, addr, 20);
	m.input = NULL;
	m.input_size = 0;
	const uint8_t *pc = st->cur_code, *ph = st->cur_code_hash;
	size_t pl = st->cur_code_len;
	st->cur_code = msg->input;
	st->cur_code_len = msg->input_size;
	st->cur_code_hash = NULL;
	phr_evm_execute(&phr_st_host, st, &m, msg->input, msg->input_size, out);
	st->cur_code = pc;
	st->cur_code_len = pl;
	st->cur_code_hash = ph;
	if (out->status == PHR_EVM_SUCCESS) {
		int64_t cost = (int64_t)out->output_size * PHR_EVM_CODE_DEPOSIT_GAS;
		if (out->output_size > PHR_EVM_MAX_CODE_SIZE ||
		    (out->output_size && out->output[0] == 0xEF) || cost > out->gas_left) {
			fail_frame(out, PHR_EVM_CONTRACT_VALIDATION_FAILURE);
		} else {
			out->gas_left -= cost;
			if (out->output_size)
				phr_st_set_code(st, a, out->output, out->output_size);
			/* the caller's return data after a successful create is empty */
			phr_evm_result_release(out);
			memcpy(out->create_address.bytes, addr, 20);
			return;
		}
	}
	phr_st_revert(st, snap);
	out->gas_refund = 0;
	memset(out->create_address.bytes, 0, 20);
	if (out->status != PHR_EVM_REVERT) {
		out->gas_left = 0;
		phr_evm_result_release(out);
	}
}

static void h_call(void *ctx, struct phr_evm_result *out, const struct phr_evm_message *msg)
{
	struct phr_state *st = ctx;
	memset(out, 0, sizeof(*out));
	if (msg->depth > PHR_EVM_MAX_DEPTH) {
		out->status = PHR_EVM_CALL_DEPTH_EXCEEDED;
		out->gas_left = msg->gas;
		return;
	}
	if (msg->kind == PHR_EVM_CREATE || msg->kind == PHR_EVM_CREATE2)
		do_create(st, out, msg);
	else
		do_call(st, out, msg);
	if (out->gas_left < 0 || out->gas_left > msg->gas)
		out->gas_left = out->gas_left < 0 ? 0 : msg->gas;
	/* not a consensus outcome: the interpreter could not allocate */
	if (out->status == PHR_EVM_INTERNAL_ERROR && !st->error)
		st->error = PHR_ERR_NOMEM;
}

const struct phr_evm_host phr_st_host = {
	.account_exists = h_account_exists,
	.get_balance = h_get_balance,
	.get_code_size = h_get_code_size,
	.get_code_hash = h_get_code_hash,
	.copy_code = h_copy_code,
	.get_storage = h_get_storage,
	.set_storage = h_set_storage,
	.get_transient_storage = h_get_tstorage,
	.set_transient_storage = h_set_tstorage,
	.access_account = h_access_account,
	.access_storage = h_access_storage,
	.selfdestruct = h_selfdestruct,
	.emit_log = h_emit_log,
	.call = h_call,
	.get_tx_context = h_get_tx_context,
	.get_block_hash = h_get_block_hash,
};

/* ------------------------------------------------------------------------- */
/* transaction transition                                                    */
/* ------------------------------------------------------------------------- */

void phr_state_blob_base_fee(struct phr_u256 *out, uint64_t excess_blob_gas)
{
	/* fake_exponential(1, excess, 3338477) of EIP-4844 */
	struct phr_u256 num = phr_u256_from_u64(excess_blob_gas);
	struct phr_u256 den = phr_u256_from_u64(BLOB_BASE_FEE_UPDATE_FRACTION);
	struct phr_u256 acc = den, sum = PHR_U256_ZERO;
	for (uint64_t i = 1; !phr_u256_is_zero(&acc) && i < 100000; i++) {
		phr_u256_add(&sum, &sum, &acc);
		struct phr_u256 d = phr_u256_from_u64(i);
		phr_u256_mul(&acc, &acc, &num);
		phr_u256_mul(&d, &d, &den);
		phr_u256_div(&acc, &acc, &d);
	}
	phr_u256_div(out, &sum, &den);
}

static int reject(struct phr_state_tx_result *out, const char *why)
{
	snprintf(out->error, sizeof(out->error), "%s", why);
	return PHR_ERR_INVALID;
}

/* a * b + c into r; @return true on overflow past 2^256. */
static bool mul_add_overflows(struct phr_u256 *r, const struct phr_u256 *a, uint64_t b,
			      const struct phr_u256 *c)
{
	struct phr_u256 bb = phr_u256_from_u64(b), p, q;
	phr_u256_mul(&p, a, &bb);
	if (b && !phr_u256_is_zero(a)) {
		phr_u256_div(&q, &p, &bb);
		if (!phr_u256_eq(&q, a))
			return true;
	}
	return phr_u256_add(r, &p, c);
}

static int validate(struct phr_state *st, struct phr_state_tx_result *out,
		    const struct phr_state_block *blk, const struct phr_tx *tx,
		    struct st_account *from, const struct phr_u256 *blob_fee, unsigned flags)
{
	bool dyn = tx->type >= 2;
	if (tx->type == 3) {
		if (!tx->has_to)
			return reject(out, "blob transaction cannot create a contract");
		if (tx->n_blob_hashes == 0)
			return reject(out, "blob transaction without blobs");
		if (tx->n_blob_hashes > MAX_BLOBS_PER_BLOCK)
			return reject(out, "too many blobs");
		for (size_t i = 0; i < tx->n_blob_hashes; i++) {
			if (tx->blob_hashes[i][0] != 0x01)
				return reject(out, "blob versioned hash with a wrong version");
		}
	}
	if (!tx->has_to && tx->data_len > PHR_EVM_MAX_INITCODE_SIZE)
		return reject(out, "initcode too large (EIP-3860)");
	if (tx->gas_limit > blk->gas_limit)
		return reject(out, "gas limit above the block gas limit");
	uint64_t intrinsic;
	if (phr_tx_intrinsic_gas(&intrinsic, tx) || intrinsic > tx->gas_limit)
		return reject(out, "intrinsic gas too low");
	if (flags & PHR_STATE_TX_NO_CHECKS)
		return PHR_OK;
	if (from->nonce == UINT64_MAX)
		return reject(out, "sender nonce at its maximum");
	if (tx->nonce < from->nonce)
		return reject(out, "nonce too low");
	if (tx->nonce > from->nonce)
		return reject(out, "nonce too high");
	if (from->code_len)
		return reject(out, "sender is not an EOA (EIP-3607)");
	const struct phr_u256 *cap = dyn ? &tx->max_fee : &tx->gas_price;
	if (dyn && phr_u256_cmp(&tx->max_priority_fee, &tx->max_fee) > 0)
		return reject(out, "max priority fee above max fee");
	if (phr_u256_cmp(cap, &blk->base_fee) < 0)
		return reject(out, "max fee per gas below the base fee");
	if (tx->type == 3 && phr_u256_cmp(&tx->max_fee_per_blob_gas, blob_fee) < 0)
		return reject(out, "max fee per blob gas below the blob base fee");
	struct phr_u256 need;
	if (mul_add_overflows(&need, cap, tx->gas_limit, &tx->value))
		return reject(out, "gas limit times fee overflows");
	if (tx->type == 3) {
		struct phr_u256 blob;
		if (mul_add_overflows(&blob, &tx->max_fee_per_blob_gas,
				      BLOB_GAS_PER_BLOB * tx->n_blob_hashes, &need))
			return reject(out, "blob fee overflows");
		need = blob;
	}
	if (phr_u256_cmp(&from->balance, &need) < 0)
		return reject(out, "insufficient funds for gas * price + value");
	return PHR_OK;
}

static void warm_up(struct phr_state *st, const struct phr_state_block *blk,
		    const struct phr_tx *tx, struct st_account *from)
{
	struct st_account *a;
	phr_st_warm_account(st, from);
	if (tx->has_to && (a = phr_st_account(st, tx->to)))
		phr_st_warm_account(st, a);
	for (uint8_t i = 1; i <= PHR_PRECOMPILE_LAST; i++) {
		uint8_t p[20] = { 0 };
		p[19] = i;
		if ((a = phr_st_account(st, p)))
			phr_st_warm_account(st, a);
	}
	if ((a = phr_st_account(st, blk->coinbase)))
		phr_st_warm_account(st, a);
	for (size_t i = 0; i < tx->n_access; i++) {
		const struct phr_tx_access *e = &tx->access_list[i];
		if (!(a = phr_st_account(st, e->address)))
			continue;
		phr_st_warm_account(st, a);
		for (size_t k = 0; k < e->n_keys; k++) {
			struct st_slot *s = phr_st_slot(st, a, e->keys[k]);
			if (s)
				phr_st_warm_slot(st, a, s);
		}
	}
}

static void set_tx_context(struct phr_state *st, const struct phr_state_block *blk,
			   const struct phr_tx *tx, const uint8_t sender[20],
			   const struct phr_u256 *price,
			   const struct phr_u256 *blob_fee)
{
	struct phr_evm_tx_context *c = &st->txc;
	memset(c, 0, sizeof(*c));
	memcpy(c->origin.bytes, sender, 20);
	c->gas_price = *price;
	memcpy(c->coinbase.bytes, blk->coinbase, 20);
	c->number = blk->number;
	c->timestamp = blk->timestamp;
	c->gas_limit = blk->gas_limit;
	memcpy(c->prevrandao.bytes, blk->prevrandao, 32);
	c->chain_id = blk->chain_id;
	c->base_fee = blk->base_fee;
	c->blob_base_fee = *blob_fee;
	c->blob_hashes = (const struct phr_evm_bytes32 *)tx->blob_hashes;
	c->blob_hashes_count = tx->n_blob_hashes;
}

void phr_state_tx_result_release(struct phr_state_tx_result *r)
{
	for (size_t i = 0; i < r->logs_count; i++) {
		phr_free(r->logs[i].topics);
		phr_free(r->logs[i].data);
	}
	phr_free(r->logs);
	phr_free(r->output);
	r->logs = NULL;
	r->logs_count = 0;
	r->output = NULL;
	r->output_len = 0;
}

/* Moves the logs of the transaction into @p out. */
static int take_logs(struct phr_state *st, struct phr_state_tx_result *out)
{
	if (!st->logs_len)
		return PHR_OK;
	out->logs = phr_malloc(st->logs_len * sizeof(*out->logs));
	if (!out->logs)
		return PHR_ERR_NOMEM;
	memcpy(out->logs, st->logs, st->logs_len * sizeof(*out->logs));
	out->logs_count = st->logs_len;
	st->logs_len = 0;
	return PHR_OK;
}

int phr_state_tx_apply(struct phr_state *st, struct phr_state_tx_result *out,
		       const struct phr_state_block *blk, const struct phr_tx *tx,
		       const uint8_t sender[20], unsigned flags)
{
	memset(out, 0, sizeof(*out));
	st->error = PHR_OK;
	st->ripemd_touched = false;
	struct phr_u256 blob_fee;
	phr_state_blob_base_fee(&blob_fee, blk->excess_blob_gas);
	struct st_account *from = phr_st_account(st, sender);
	if (!from)
		return st->error ? st->error : PHR_ERR_NOMEM;
	int rc = validate(st, out, blk, tx, from, &blob_fee, flags);
	if (rc)
		return rc;
	uint64_t intrinsic = 0;
	if (phr_tx_intrinsic_gas(&intrinsic, tx)) /* cannot fail: validate() ran it */
		return PHR_ERR_INTERNAL;
	bool charge = !(flags & PHR_STATE_TX_NO_CHECKS);

	/* effective price: min(max fee, base fee + tip) for dynamic-fee types */
	struct phr_u256 price = tx->gas_price;
	if (tx->type >= 2) {
		phr_u256_add(&price, &blk->base_fee, &tx->max_priority_fee);
		if (phr_u256_cmp(&price, &tx->max_fee) > 0)
			price = tx->max_fee;
	}
	out->effective_gas_price = price;
	out->blob_gas_used = tx->type == 3 ? BLOB_GAS_PER_BLOB * tx->n_blob_hashes : 0;

	struct phr_u256 upfront = PHR_U256_ZERO;
	if (charge) {
		struct phr_u256 blob_cost = PHR_U256_ZERO;
		(void)mul_add_overflows(&upfront, &price, tx->gas_limit, &upfront);
		(void)mul_add_overflows(&blob_cost, &blob_fee, out->blob_gas_used, &blob_cost);
		phr_u256_add(&upfront, &upfront, &blob_cost);
		sub_balance(st, from, &upfront);
	}
	if (tx->has_to)
		phr_st_set_nonce(st, from, from->nonce + 1);
	warm_up(st, blk, tx, from);
	st->blk = blk;
	st->tx = tx;
	set_tx_context(st, blk, tx, sender, &price, &blob_fee);

	struct phr_evm_message msg;
	memset(&msg, 0, sizeof(msg));
	msg.kind = tx->has_to ? PHR_EVM_CALL : PHR_EVM_CREATE;
	msg.gas = (int64_t)(tx->gas_limit - intrinsic);
	memcpy(msg.sender.bytes, sender, 20);
	if (tx->has_to) {
		memcpy(msg.recipient.bytes, tx->to, 20);
		memcpy(msg.code_address.bytes, tx->to, 20);
	}
	msg.value = tx->value;
	msg.input = tx->data;
	msg.input_size = tx->data_len;

	if (!tx->has_to) {
		/* the address a receipt reports, also when the creation fails */
		out->created = true;
		if (create_address(st, out->created_addr, &msg, from->nonce))
			memset(out->created_addr, 0, 20);
	}
	struct phr_evm_result res;
	st->rec = st->rec_target;
	h_call(st, &res, &msg);
	st->rec = NULL;
	out->status = res.status;

	if (res.output_size) {
		out->output = phr_malloc(res.output_size);
		if (out->output) {
			memcpy(out->output, res.output, res.output_size);
			out->output_len = res.output_size;
		} else if (!st->error) {
			st->error = PHR_ERR_NOMEM;
		}
	}
	uint64_t gas_used = tx->gas_limit - (uint64_t)res.gas_left;
	if (res.status == PHR_EVM_SUCCESS && res.gas_refund > 0) {
		uint64_t refund = (uint64_t)res.gas_refund;
		if (refund > gas_used / 5)
			refund = gas_used / 5;
		gas_used -= refund;
	}
	phr_evm_result_release(&res);
	out->gas_used = gas_used;

	if (charge) {
		struct phr_u256 back, fee, tip;
		(void)mul_add_overflows(&back, &price, tx->gas_limit - gas_used, &PHR_U256_ZERO);
		add_balance(st, from, &back);
		phr_u256_sub(&tip, &price, &blk->base_fee);
		(void)mul_add_overflows(&fee, &tip, gas_used, &PHR_U256_ZERO);
		struct st_account *cb = phr_st_account(st, blk->coinbase);
		if (cb)
			add_balance(st, cb, &fee);
	}
	if (!st->error && res.status == PHR_EVM_SUCCESS)
		st->error = take_logs(st, out);
	phr_st_logs_clear(st);
	st->blk = NULL;
	st->tx = NULL;
	if (st->error || (flags & PHR_STATE_TX_DRY_RUN)) {
		struct st_snap zero = { 0, 0 };
		phr_st_revert(st, zero);
		phr_st_tx_finish(st);
		rc = st->error;
		st->error = PHR_OK;
		if (rc)
			phr_state_tx_result_release(out);
		return rc;
	}
	phr_st_tx_finish(st);
	return PHR_OK;
}

/* ------------------------------------------------------------------------- */
/* logs                                                                      */
/* ------------------------------------------------------------------------- */

int phr_state_logs_rlp(struct phr_buf *b, const struct phr_state_log *logs, size_t count)
{
	size_t outer, inner, tl;
	int rc;
	phr_rlp_list_begin(b, &outer);
	for (size_t i = 0; i < count; i++) {
		const struct phr_state_log *l = &logs[i];
		phr_rlp_list_begin(b, &inner);
		if ((rc = phr_rlp_put_bytes(b, l->addr, 20)))
			return rc;
		phr_rlp_list_begin(b, &tl);
		for (size_t t = 0; t < l->topics_count; t++) {
			if ((rc = phr_rlp_put_bytes(b, l->topics[t], 32)))
				return rc;
		}
		if ((rc = phr_rlp_list_end(b, tl)))
			return rc;
		if ((rc = phr_rlp_put_bytes(b, l->data ? l->data : (const uint8_t *)"", l->data_len)))
			return rc;
		if ((rc = phr_rlp_list_end(b, inner)))
			return rc;
	}
	return phr_rlp_list_end(b, outer);
}

/* The items a log bloom already holds, remembered by phr_state_logs_bloom:
 * adding an item twice sets the same bits, and a mint's logs repeat the
 * contract's address, the event signatures, the patient and the token id. */
#define BLOOM_SEEN 16

struct bloom_seen {
	uint8_t item[BLOOM_SEEN][32];
	uint8_t len[BLOOM_SEEN];
	size_t count, next;
};

static void bloom_add(uint8_t bloom[256], struct bloom_seen *seen, const uint8_t *data, size_t len)
{
	uint8_t h[32];
	for (size_t i = 0; i < seen->count; i++)
		if (seen->len[i] == len && memcmp(seen->item[i], data, len) == 0)
			return;
	memcpy(seen->item[seen->next], data, len);
	seen->len[seen->next] = (uint8_t)len;
	seen->next = (seen->next + 1) % BLOOM_SEEN;
	if (seen->count < BLOOM_SEEN)
		seen->count++;
	phr_keccak256(h, data, len);
	for (int i = 0; i < 6; i += 2) {
		unsigned bit = ((unsigned)h[i] << 8 | h[i + 1]) & 2047u;
		bloom[255 - bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
}

void phr_state_logs_bloom(uint8_t bloom[256], const struct phr_state_log *logs, size_t count)
{
	struct bloom_seen seen;

	seen.count = seen.next = 0;
	for (size_t i = 0; i < count; i++) {
		bloom_add(bloom, &seen, logs[i].addr, 20);
		for (size_t t = 0; t < logs[i].topics_count; t++)
			bloom_add(bloom, &seen, logs[i].topics[t], 32);
	}
}
