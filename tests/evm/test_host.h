/*
 * A tiny in-memory EVM host for the EVM unit tests and the evm_exec fuzzer:
 * a handful of accounts in fixed arrays, storage slots with original values,
 * warm sets, transient storage, logs, and nested CALL/CREATE with snapshots
 * (the whole state is copied, it is small). Header-only (static functions).
 *
 * It is deliberately simple: creation addresses are 0xc0 followed by a
 * counter, there are no precompiles, and anything that does not fit the
 * arrays is silently dropped (harmless for tests, whose sizes are known).
 */
#ifndef PHR_TEST_EVM_HOST_H
#define PHR_TEST_EVM_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/evm.h"
#include "phr/u256.h"

#define TH_ACCOUNTS 12
#define TH_SLOTS 48
#define TH_WARM 48
#define TH_LOGS 8
#define TH_CODE 512

struct th_account {
	bool used;
	struct phr_evm_address addr;
	struct phr_u256 balance;
	uint64_t nonce;
	uint8_t code[TH_CODE];
	size_t code_len;
	bool destructed;
};

struct th_slot {
	bool used;
	bool warm;
	bool transient_only;
	struct phr_evm_address addr;
	struct phr_u256 key, orig, cur, tval;
};

struct th_log {
	struct phr_evm_address addr;
	uint8_t data[64];
	size_t data_size;
	struct phr_evm_bytes32 topics[4];
	size_t topics_count;
};

struct th_state {
	struct th_account acc[TH_ACCOUNTS];
	struct th_slot slot[TH_SLOTS];
	struct phr_evm_address warm[TH_WARM];
	size_t warm_n;
	struct th_log logs[TH_LOGS];
	size_t logs_n;
	unsigned selfdestructs;
	uint64_t creates;
};

struct test_host {
	struct th_state s;
	struct phr_evm_tx_context txc;
	struct phr_evm_bytes32 blob_hashes[2];
	unsigned calls;		/* host->call invocations */
	int64_t last_child_gas; /* gas of the last message passed to call */
	int32_t last_child_depth;
	bool oom;		/* snapshot allocation failed */
	int32_t max_depth;	/* 0: none; else calls to deeper frames fail */
	uint8_t fail_addr;	/* calls to th_addr(fail_addr) fail with output (0: off) */
};

static void th_release_output(struct phr_evm_result *r)
{
	free(r->output);
}

static inline bool th_addr_eq(const struct phr_evm_address *a, const struct phr_evm_address *b)
{
	return memcmp(a->bytes, b->bytes, 20) == 0;
}

static inline struct phr_evm_address th_addr(uint8_t last)
{
	struct phr_evm_address a;
	memset(&a, 0, sizeof(a));
	a.bytes[19] = last;
	return a;
}

static inline struct th_account *th_find(struct test_host *h, const struct phr_evm_address *a,
					 bool create)
{
	for (size_t i = 0; i < TH_ACCOUNTS; i++)
		if (h->s.acc[i].used && th_addr_eq(&h->s.acc[i].addr, a))
			return &h->s.acc[i];
	if (!create)
		return NULL;
	for (size_t i = 0; i < TH_ACCOUNTS; i++) {
		if (!h->s.acc[i].used) {
			memset(&h->s.acc[i], 0, sizeof(h->s.acc[i]));
			h->s.acc[i].used = true;
			h->s.acc[i].addr = *a;
			return &h->s.acc[i];
		}
	}
	return NULL;
}

/** Adds (or replaces) an account with @p code. */
static inline struct th_account *th_put(struct test_host *h, const struct phr_evm_address *a,
					uint64_t balance, const uint8_t *code, size_t code_len)
{
	struct th_account *acc = th_find(h, a, true);
	if (!acc)
		return NULL;
	acc->balance = phr_u256_from_u64(balance);
	acc->code_len = code_len < TH_CODE ? code_len : TH_CODE;
	if (acc->code_len)
		memcpy(acc->code, code, acc->code_len);
	return acc;
}

static inline struct th_slot *th_slot_find(struct test_host *h, const struct phr_evm_address *a,
					   const struct phr_u256 *key, bool create)
{
	for (size_t i = 0; i < TH_SLOTS; i++)
		if (h->s.slot[i].used && th_addr_eq(&h->s.slot[i].addr, a) &&
		    phr_u256_eq(&h->s.slot[i].key, key))
			return &h->s.slot[i];
	if (!create)
		return NULL;
	for (size_t i = 0; i < TH_SLOTS; i++) {
		if (!h->s.slot[i].used) {
			memset(&h->s.slot[i], 0, sizeof(h->s.slot[i]));
			h->s.slot[i].used = true;
			h->s.slot[i].addr = *a;
			h->s.slot[i].key = *key;
			return &h->s.slot[i];
		}
	}
	return NULL;
}

/** Sets the original (= current) value of a slot, as at the start of a tx. */
static inline void th_set_slot(struct test_host *h, const struct phr_evm_address *a, uint64_t key,
			       uint64_t value, bool warm)
{
	struct phr_u256 k = phr_u256_from_u64(key);
	struct th_slot *s = th_slot_find(h, a, &k, true);
	if (s) {
		s->orig = s->cur = phr_u256_from_u64(value);
		s->warm = warm;
	}
}

static bool th_account_exists(void *ctx, const struct phr_evm_address *addr)
{
	struct th_account *a = th_find(ctx, addr, false);
	return a && (a->nonce || a->code_len || !phr_u256_is_zero(&a->balance));
}

static void th_get_balance(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr)
{
	struct th_account *a = th_find(ctx, addr, false);
	*out = a ? a->balance : PHR_U256_ZERO;
}

static size_t th_get_code_size(void *ctx, const struct phr_evm_address *addr)
{
	struct th_account *a = th_find(ctx, addr, false);
	return a ? a->code_len : 0;
}

static void th_get_code_hash(void *ctx, struct phr_evm_bytes32 *out,
			     const struct phr_evm_address *addr)
{
	/* Not keccak: a recognisable stand-in (code length and first byte). */
	memset(out, 0, sizeof(*out));
	struct th_account *a = th_find(ctx, addr, false);
	if (a && th_account_exists(ctx, addr)) {
		out->bytes[0] = 0xcc;
		out->bytes[30] = (uint8_t)a->code_len;
		out->bytes[31] = a->code_len ? a->code[0] : 0;
	}
}

static size_t th_copy_code(void *ctx, uint8_t *buf, size_t len, const struct phr_evm_address *addr,
			   size_t offset)
{
	struct th_account *a = th_find(ctx, addr, false);
	if (!a || offset >= a->code_len)
		return 0;
	size_t n = a->code_len - offset < len ? a->code_len - offset : len;
	memcpy(buf, a->code + offset, n);
	return n;
}

static void th_get_storage(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr,
			   const struct phr_u256 *key)
{
	struct th_slot *s = th_slot_find(ctx, addr, key, false);
	*out = s ? s->cur : PHR_U256_ZERO;
}

static void th_set_storage(void *ctx, struct phr_u256 *original, struct phr_u256 *current,
			   const struct phr_evm_address *addr, const struct phr_u256 *key,
			   const struct phr_u256 *value)
{
	struct th_slot *s = th_slot_find(ctx, addr, key, true);
	if (!s) {
		*original = *current = PHR_U256_ZERO;
		return;
	}
	*original = s->orig;
	*current = s->cur;
	s->cur = *value;
}

static void th_get_transient(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr,
			     const struct phr_u256 *key)
{
	struct th_slot *s = th_slot_find(ctx, addr, key, false);
	*out = s ? s->tval : PHR_U256_ZERO;
}

static void th_set_transient(void *ctx, const struct phr_evm_address *addr,
			     const struct phr_u256 *key, const struct phr_u256 *value)
{
	struct th_slot *s = th_slot_find(ctx, addr, key, true);
	if (s)
		s->tval = *value;
}

static bool th_access_account(void *ctx, const struct phr_evm_address *addr)
{
	struct test_host *h = ctx;
	for (size_t i = 0; i < h->s.warm_n; i++)
		if (th_addr_eq(&h->s.warm[i], addr))
			return true;
	if (h->s.warm_n < TH_WARM)
		h->s.warm[h->s.warm_n++] = *addr;
	return false;
}

static bool th_access_storage(void *ctx, const struct phr_evm_address *addr,
			      const struct phr_u256 *key)
{
	struct th_slot *s = th_slot_find(ctx, addr, key, true);
	if (!s)
		return true;
	bool was = s->warm;
	s->warm = true;
	return was;
}

static bool th_selfdestruct(void *ctx, const struct phr_evm_address *addr,
			    const struct phr_evm_address *beneficiary)
{
	struct test_host *h = ctx;
	struct th_account *a = th_find(h, addr, false);
	if (!a)
		return false;
	struct th_account *b = th_find(h, beneficiary, true);
	if (b && b != a) {
		phr_u256_add(&b->balance, &b->balance, &a->balance);
		a->balance = PHR_U256_ZERO;
	}
	bool first = !a->destructed;
	a->destructed = true;
	h->s.selfdestructs++;
	return first;
}

static void th_emit_log(void *ctx, const struct phr_evm_address *addr, const uint8_t *data,
			size_t data_size, const struct phr_evm_bytes32 *topics, size_t topics_count)
{
	struct test_host *h = ctx;
	if (h->s.logs_n >= TH_LOGS)
		return;
	struct th_log *l = &h->s.logs[h->s.logs_n++];
	l->addr = *addr;
	l->data_size = data_size < sizeof(l->data) ? data_size : sizeof(l->data);
	if (l->data_size)
		memcpy(l->data, data, l->data_size);
	l->topics_count = topics_count;
	memcpy(l->topics, topics, topics_count * sizeof(*topics));
}

static void th_get_tx_context(void *ctx, struct phr_evm_tx_context *out)
{
	*out = ((struct test_host *)ctx)->txc;
}

static void th_get_block_hash(void *ctx, struct phr_evm_bytes32 *out, uint64_t number)
{
	memset(out, 0, sizeof(*out));
	out->bytes[0] = 0xbb;
	for (int i = 0; i < 8; i++)
		out->bytes[31 - i] = (uint8_t)(number >> (8 * i));
}

static void th_call(void *ctx, struct phr_evm_result *out, const struct phr_evm_message *msg);

static const struct phr_evm_host th_host_table = {
	.account_exists = th_account_exists,
	.get_balance = th_get_balance,
	.get_code_size = th_get_code_size,
	.get_code_hash = th_get_code_hash,
	.copy_code = th_copy_code,
	.get_storage = th_get_storage,
	.set_storage = th_set_storage,
	.get_transient_storage = th_get_transient,
	.set_transient_storage = th_set_transient,
	.access_account = th_access_account,
	.access_storage = th_access_storage,
	.selfdestruct = th_selfdestruct,
	.emit_log = th_emit_log,
	.call = th_call,
	.get_tx_context = th_get_tx_context,
	.get_block_hash = th_get_block_hash,
};

static bool th_transfer(struct test_host *h, const struct phr_evm_address *from,
			const struct phr_evm_address *to, const struct phr_u256 *value)
{
	if (phr_u256_is_zero(value))
		return true;
	struct th_account *f = th_find(h, from, false);
	struct th_account *t = th_find(h, to, true);
	if (!f || !t || phr_u256_cmp(&f->balance, value) < 0)
		return false;
	phr_u256_sub(&f->balance, &f->balance, value);
	phr_u256_add(&t->balance, &t->balance, value);
	return true;
}

static void th_call(void *ctx, struct phr_evm_result *out, const struct phr_evm_message *msg)
{
	struct test_host *h = ctx;
	h->calls++;
	h->last_child_gas = msg->gas;
	h->last_child_depth = msg->depth;
	memset(out, 0, sizeof(*out));
	if (h->max_depth && msg->depth > h->max_depth) {
		/* a C-stack guard for sanitizer builds (-O0 frames are large) */
		out->status = PHR_EVM_CALL_DEPTH_EXCEEDED;
		return;
	}
	if (h->fail_addr && msg->kind != PHR_EVM_CREATE && msg->kind != PHR_EVM_CREATE2) {
		struct phr_evm_address fa = th_addr(h->fail_addr);
		if (th_addr_eq(&msg->code_address, &fa)) {
			/* a misbehaving host: failure status with output attached */
			out->status = PHR_EVM_PRECOMPILE_FAILURE;
			out->output = malloc(4);
			if (out->output) {
				memcpy(out->output, "\xde\xad\xbe\xef", 4);
				out->output_size = 4;
				out->release = th_release_output;
			}
			out->gas_left = msg->gas;
			return;
		}
	}
	struct th_state *snap = malloc(sizeof(*snap));
	if (!snap) {
		h->oom = true;
		out->status = PHR_EVM_INTERNAL_ERROR;
		return;
	}
	*snap = h->s;

	if (msg->kind == PHR_EVM_CREATE || msg->kind == PHR_EVM_CREATE2) {
		struct phr_evm_address addr = th_addr((uint8_t)(0xc0 + (h->s.creates & 0x0f)));
		addr.bytes[0] = 0xc0;
		h->s.creates++;
		struct th_account *sender = th_find(h, &msg->sender, true);
		if (sender)
			sender->nonce++;
		struct th_account *acc = th_find(h, &addr, true);
		if (!acc || acc->code_len || acc->nonce ||
		    !th_transfer(h, &msg->sender, &addr, &msg->value)) {
			out->status = PHR_EVM_CONTRACT_VALIDATION_FAILURE;
			goto done;
		}
		acc->nonce = 1;
		struct phr_evm_message m = *msg;
		m.recipient = addr;
		phr_evm_execute(&th_host_table, h, &m, msg->input, msg->input_size, out);
		if (out->status == PHR_EVM_SUCCESS) {
			int64_t deposit = PHR_EVM_CODE_DEPOSIT_GAS * (int64_t)out->output_size;
			if (out->output_size > TH_CODE ||
			    (out->output_size && out->output[0] == 0xef) ||
			    deposit > out->gas_left) {
				phr_evm_result_release(out);
				out->status = PHR_EVM_CONTRACT_VALIDATION_FAILURE;
				out->gas_left = 0;
				out->gas_refund = 0;
			} else {
				acc = th_find(h, &addr, true);
				acc->code_len = out->output_size;
				if (out->output_size)
					memcpy(acc->code, out->output, out->output_size);
				out->gas_left -= deposit;
				out->create_address = addr;
				phr_evm_result_release(out);
			}
		}
	} else {
		const struct phr_evm_address *from = &msg->sender;
		if ((msg->kind == PHR_EVM_CALL || msg->kind == PHR_EVM_CALLCODE) &&
		    !th_transfer(h, from, &msg->recipient, &msg->value)) {
			out->status = PHR_EVM_INSUFFICIENT_BALANCE;
			goto done;
		}
		struct th_account *code = th_find(h, &msg->code_address, false);
		/* Copy the code: a nested create may rewrite the account array. */
		uint8_t buf[TH_CODE];
		size_t n = code ? code->code_len : 0;
		if (n)
			memcpy(buf, code->code, n);
		phr_evm_execute(&th_host_table, h, msg, buf, n, out);
	}
done:
	if (out->status != PHR_EVM_SUCCESS)
		h->s = *snap;
	free(snap);
}

/** Resets @p h with a default tx context. */
static inline void th_init(struct test_host *h)
{
	memset(h, 0, sizeof(*h));
	h->txc.origin = th_addr(0x0a);
	h->txc.gas_price = phr_u256_from_u64(7);
	h->txc.coinbase = th_addr(0xcb);
	h->txc.number = 1000;
	h->txc.timestamp = 1700000000;
	h->txc.gas_limit = 30000000;
	h->txc.prevrandao.bytes[31] = 0x42;
	h->txc.chain_id = phr_u256_from_u64(31337);
	h->txc.base_fee = phr_u256_from_u64(1000000000);
	h->txc.blob_base_fee = phr_u256_from_u64(1);
	h->blob_hashes[0].bytes[0] = 0x01;
	h->blob_hashes[0].bytes[31] = 0xaa;
	h->blob_hashes[1].bytes[0] = 0x01;
	h->blob_hashes[1].bytes[31] = 0xbb;
	h->txc.blob_hashes = h->blob_hashes;
	h->txc.blob_hashes_count = 2;
}

#endif
