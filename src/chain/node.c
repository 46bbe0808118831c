/*
 * The embedded node: opening and closing, the transaction pool (nonce order,
 * replacement with a 10% price bump), and block production (automine: one
 * block per transaction, sealed and committed before the sender hears back;
 * or interval mining).
 */
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#include "chain_int.h"
#include "phr/crypto.h"
#include "phr/evm.h"
#include "phr/trie.h"

#define POOL_MAX 4096

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int chain_header_get(struct phr_chain_node *n, struct phr_chain_header *h, uint8_t hash[32],
		     uint64_t number)
{
	struct phr_buf b;
	int rc;

	phr_buf_init(&b, 4096);
	rc = db_block_by_number(&n->db, &b, hash, number);
	if (rc == PHR_OK)
		rc = phr_chain_header_decode(h, b.data, b.len);
	phr_buf_release(&b);
	return rc;
}

int chain_block_resolve(struct phr_chain_node *n, uint64_t *number,
			const struct phr_rpc_block_ref *ref)
{
	switch (ref->kind) {
	case PHR_RPC_BLOCK_EARLIEST:
		*number = 0;
		return PHR_OK;
	case PHR_RPC_BLOCK_NUMBER:
		if (ref->number > n->head.number)
			return PHR_ERR_NOT_FOUND;
		*number = ref->number;
		return PHR_OK;
	case PHR_RPC_BLOCK_HASH:
		return db_block_number_of(&n->db, number, ref->hash);
	default:
		*number = n->head.number;
		return PHR_OK;
	}
}

static void block_hash_cb(void *ctx, uint8_t out[32], uint64_t number)
{
	struct phr_chain_node *n = ctx;

	if (db_block_by_number(&n->db, NULL, out, number) != PHR_OK)
		memset(out, 0, 32);
}

static uint64_t next_timestamp(struct phr_chain_node *n)
{
	int64_t now = (int64_t)(now_ms() / 1000) + n->time_offset;
	uint64_t ts = now > 0 ? (uint64_t)now : 0;

	/* Blocks follow the clock: a burst of automined blocks within one second
	 * shares its timestamp rather than running ahead by a second per block
	 * (a node that seals hundreds of audit blocks a second would otherwise move
	 * chain time, and every grant's expiry, hours ahead of the wall clock).
	 * evm_increaseTime moves the clock itself; a timestamp set by
	 * evm_setNextBlockTimestamp or given to evm_mine still moves past the
	 * parent. */
	if (n->next_timestamp)
		ts = n->next_timestamp > n->head.timestamp ? n->next_timestamp : n->head.timestamp + 1;
	else if (ts < n->head.timestamp)
		ts = n->head.timestamp;
	return ts;
}

void chain_next_block_env(struct phr_chain_node *n, struct phr_state_block *blk,
			  struct phr_chain_header *h)
{
	struct phr_chain_header c = { 0 };
	uint8_t num[8];
	int i;

	memcpy(c.parent_hash, n->head_hash, 32);
	memcpy(c.ommers_hash, phr_chain_empty_ommers, 32);
	c.number = n->head.number + 1;
	c.gas_limit = n->gas_limit;
	c.timestamp = next_timestamp(n);
	for (i = 0; i < 8; i++)
		num[i] = (uint8_t)(c.number >> (56 - 8 * i));
	phr_keccak256(c.mix_hash, num, sizeof(num));
	phr_chain_base_fee_next(&c.base_fee, &n->head.base_fee, n->head.gas_used,
				n->head.gas_limit);
	memcpy(c.withdrawals_root, phr_trie_empty_root, 32);
	memcpy(c.parent_beacon_root, n->head_hash, 32);
	memset(blk, 0, sizeof(*blk));
	memcpy(blk->coinbase, c.coinbase, 20);
	blk->number = c.number;
	blk->timestamp = c.timestamp;
	blk->gas_limit = c.gas_limit;
	memcpy(blk->prevrandao, c.mix_hash, 32);
	blk->base_fee = c.base_fee;
	blk->excess_blob_gas = 0;
	blk->chain_id = phr_u256_from_u64(n->chain_id);
	blk->block_hash = block_hash_cb;
	blk->block_hash_ctx = n;
	if (h)
		*h = c;
}

/* ---- pool ---- */

static void pool_entry_release(struct pool_tx *p)
{
	phr_tx_release(&p->tx);
	phr_free(p->raw);
}

static void pool_remove(struct phr_chain_node *n, size_t i)
{
	pool_entry_release(&n->pool[i]);
	memmove(&n->pool[i], &n->pool[i + 1], (n->pool_n - i - 1) * sizeof(n->pool[0]));
	n->pool_n--;
}

const struct pool_tx *chain_pool_find(struct phr_chain_node *n, const uint8_t hash[32])
{
	size_t i;

	for (i = 0; i < n->pool_n; i++)
		if (memcmp(n->pool[i].hash, hash, 32) == 0)
			return &n->pool[i];
	return NULL;
}

int chain_pending_nonce(struct phr_chain_node *n, uint64_t *nonce, const uint8_t addr[20])
{
	struct phr_state_account acc;
	bool exists;
	uint64_t v;
	bool again = true;
	size_t i;
	int rc = phr_state_get_account(n->state, &exists, &acc, addr);

	if (rc != PHR_OK)
		return rc;
	v = exists ? acc.nonce : 0;
	while (again) {
		again = false;
		for (i = 0; i < n->pool_n; i++) {
			if (memcmp(n->pool[i].sender, addr, 20) == 0 && n->pool[i].tx.nonce == v) {
				v++;
				again = true;
			}
		}
	}
	*nonce = v;
	return PHR_OK;
}

/* The fee cap used to compare replacements. */
static const struct phr_u256 *fee_cap(const struct phr_tx *tx)
{
	return tx->type >= PHR_TX_DYNAMIC_FEE ? &tx->max_fee : &tx->gas_price;
}

static const struct phr_u256 *tip_cap(const struct phr_tx *tx)
{
	return tx->type >= PHR_TX_DYNAMIC_FEE ? &tx->max_priority_fee : &tx->gas_price;
}

/* new >= old * 110 / 100 */
static bool bumped(const struct phr_u256 *new_v, const struct phr_u256 *old_v)
{
	struct phr_u256 need, k = phr_u256_from_u64(110), d = phr_u256_from_u64(100);

	phr_u256_mul(&need, old_v, &k);
	phr_u256_div(&need, &need, &d);
	return phr_u256_cmp(new_v, &need) >= 0;
}

/* ---- sealing ---- */

struct sealed {
	struct phr_chain_receipt *receipts;
	size_t count, cap;
	struct pool_tx *txs; /* moved out of the pool */
};

static void sealed_release(struct sealed *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		phr_chain_receipt_release(&s->receipts[i]);
		pool_entry_release(&s->txs[i]);
	}
	phr_free(s->receipts);
	phr_free(s->txs);
}

static int sealed_push(struct sealed *s)
{
	if (s->count == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct phr_chain_receipt *r = phr_realloc(s->receipts, nc * sizeof(*r));
		struct pool_tx *t;

		if (!r)
			return PHR_ERR_NOMEM;
		s->receipts = r;
		t = phr_realloc(s->txs, nc * sizeof(*t));
		if (!t)
			return PHR_ERR_NOMEM;
		s->txs = t;
		s->cap = nc;
	}
	return PHR_OK;
}

/* Turns a state result into a receipt (logs copied). */
static int make_receipt(struct phr_chain_receipt *r, const struct phr_state_tx_result *res,
			const struct pool_tx *p, uint64_t cumulative, uint64_t first_log)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->type = (uint8_t)p->tx.type;
	r->status = res->status == PHR_EVM_SUCCESS;
	r->cumulative_gas = cumulative;
	r->gas_used = res->gas_used;
	r->effective_gas_price = res->effective_gas_price;
	memcpy(r->tx_hash, p->hash, 32);
	memcpy(r->from, p->sender, 20);
	r->has_to = p->tx.has_to;
	memcpy(r->to, p->tx.to, 20);
	r->has_contract = !p->tx.has_to && res->created;
	if (r->has_contract)
		memcpy(r->contract_address, res->created_addr, 20);
	phr_state_logs_bloom(r->bloom, res->logs, res->logs_count);
	if (res->logs_count) {
		r->logs = phr_calloc(res->logs_count, sizeof(*r->logs));
		if (!r->logs)
			return PHR_ERR_NOMEM;
		r->logs_count = res->logs_count;
		for (i = 0; i < res->logs_count; i++) {
			const struct phr_state_log *sl = &res->logs[i];
			struct phr_chain_log *l = &r->logs[i];

			memcpy(l->address, sl->addr, 20);
			l->topics_count = sl->topics_count > 4 ? 4 : sl->topics_count;
			if (l->topics_count)
				memcpy(l->topics, sl->topics, l->topics_count * 32);
			l->log_index = first_log + i;
			if (sl->data_len) {
				l->data = phr_malloc(sl->data_len);
				if (!l->data)
					return PHR_ERR_NOMEM;
				memcpy(l->data, sl->data, sl->data_len);
				l->data_len = sl->data_len;
			}
		}
	}
	return PHR_OK;
}

/* After a rolled-back block transaction (under the lock): the storage slots
 * behind follow the log on disk again (the rolled-back blocks' are gone, and
 * a flush among them was undone). */
static void rolled_back(struct phr_chain_node *n)
{
	if (db_pending_reload(&n->db) != PHR_OK) {
		n->broken = true;
		phr_log_error("chain", "storage log unreadable after a rollback; node read-only");
	}
}

int chain_persist(struct phr_chain_node *n, uint8_t hash[32], const struct phr_chain_header *h,
		  const struct phr_state_changes *changes, const struct pool_tx *txs,
		  struct phr_chain_receipt *receipts, size_t count)
{
	struct phr_buf hb;
	size_t i;
	int rc;

	phr_buf_init(&hb, 4096);
	rc = phr_chain_header_encode(&hb, h);
	if (rc != PHR_OK)
		return rc;
	phr_keccak256(hash, hb.data, hb.len);
	if (!n->txn_open) {
		/* after the COMMIT in flight, if any (see phr_chain_node_guard) */
		pthread_mutex_lock(&n->commit_mu);
		rc = n->commit_failed ? PHR_ERR_DB : db_begin(&n->db);
		pthread_mutex_unlock(&n->commit_mu);
		n->txn_open = rc == PHR_OK;
	}
	n->db.undo = n->snaps_n > 0;
	n->db.undo_block = h->number;
	n->db.undo_seq = 0;
	if (rc == PHR_OK)
		rc = db_write_changes(&n->db, changes);
	if (rc == PHR_OK)
		rc = db_block_put(&n->db, h->number, hash, hb.data, hb.len);
	for (i = 0; rc == PHR_OK && i < count; i++) {
		memcpy(receipts[i].block_hash, hash, 32);
		rc = db_tx_put(&n->db, txs[i].hash, h->number, i, txs[i].raw, txs[i].raw_len,
			       txs[i].sender, &receipts[i]);
		if (rc == PHR_OK)
			rc = db_logs_put(&n->db, &receipts[i]);
	}
	if (rc == PHR_OK)
		rc = db_meta_put_u64(&n->db, "head", h->number);
	phr_buf_release(&hb);
	if (rc != PHR_OK) {
		db_rollback(&n->db);
		rolled_back(n);
		n->txn_open = false;
		return rc;
	}
	/* durable at the next chain_sync(), before any answer leaves */
	n->sealed_seq++;
	n->head = *h;
	memcpy(n->head_hash, hash, 32);
	return PHR_OK;
}

/*
 * Runs pool transactions in nonce order into a new block and commits it.
 * @p watch: a hash whose rejection is reported in @p err (or NULL).
 */
static int seal(struct phr_chain_node *n, const uint8_t *watch, struct phr_rpc_error *err,
		bool *watched_in)
{
	struct phr_chain_header h;
	struct phr_state_block blk;
	struct phr_state_changes changes = { 0 };
	struct sealed s = { 0 };
	const uint8_t **items = NULL;
	size_t *lens = NULL;
	struct phr_buf *enc = NULL;
	uint64_t cumulative = 0, logs = 0;
	bool progress = true;
	size_t i;
	uint64_t t0 = chain_thread_ns();
	int rc = PHR_OK;

	if (n->broken)
		return PHR_ERR_STATE;
	if (watched_in)
		*watched_in = false;
	chain_next_block_env(n, &blk, &h);
	while (progress && rc == PHR_OK) {
		progress = false;
		for (i = 0; i < n->pool_n && rc == PHR_OK;) {
			struct pool_tx *p = &n->pool[i];
			struct phr_state_tx_result res;
			struct phr_state_account acc;
			bool exists;

			rc = phr_state_get_account(n->state, &exists, &acc, p->sender);
			if (rc != PHR_OK)
				break;
			if (!exists)
				acc.nonce = 0;
			if (p->tx.nonce < acc.nonce) {
				pool_remove(n, i);
				continue;
			}
			if (p->tx.nonce > acc.nonce || cumulative + p->tx.gas_limit > h.gas_limit) {
				i++;
				continue;
			}
			rc = phr_state_tx_apply(n->state, &res, &blk, &p->tx, p->sender, 0);
			if (rc == PHR_ERR_INVALID) {
				if (watch && err && memcmp(watch, p->hash, 32) == 0)
					(void)phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "%s",
								res.error[0] ? res.error : "invalid transaction");
				phr_log_warn("chain", "dropped transaction: %s", res.error);
				phr_state_tx_result_release(&res);
				pool_remove(n, i);
				rc = PHR_OK;
				continue;
			}
			if (rc != PHR_OK) {
				phr_state_tx_result_release(&res);
				break;
			}
			cumulative += res.gas_used;
			rc = sealed_push(&s);
			if (rc == PHR_OK)
				rc = make_receipt(&s.receipts[s.count], &res, p, cumulative, logs);
			logs += res.logs_count;
			phr_state_tx_result_release(&res);
			if (rc != PHR_OK) {
				if (s.count < s.cap)
					phr_chain_receipt_release(&s.receipts[s.count]);
				break;
			}
			s.receipts[s.count].tx_index = s.count;
			s.receipts[s.count].block_number = h.number;
			if (watch && watched_in && memcmp(watch, p->hash, 32) == 0)
				*watched_in = true;
			/* move the entry out of the pool */
			s.txs[s.count++] = *p;
			memmove(&n->pool[i], &n->pool[i + 1], (n->pool_n - i - 1) * sizeof(n->pool[0]));
			n->pool_n--;
			progress = true;
		}
	}
	if (rc != PHR_OK)
		goto out;
	/* automine: a rejected or not yet executable (nonce gap) transaction
	 * makes no empty block */
	if (watch && s.count == 0)
		goto out;
	h.gas_used = cumulative;
	rc = phr_state_commit(n->state, h.state_root, &changes);
	if (rc != PHR_OK)
		goto out;
	/* roots of the transactions and receipts lists */
	items = phr_calloc(s.count + 1, sizeof(*items));
	lens = phr_calloc(s.count + 1, sizeof(*lens));
	enc = phr_calloc(s.count + 1, sizeof(*enc));
	if (!items || !lens || !enc) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s.count; i++) {
		items[i] = s.txs[i].raw;
		lens[i] = s.txs[i].raw_len;
	}
	rc = phr_trie_ordered_root(h.tx_root, items, lens, s.count);
	for (i = 0; rc == PHR_OK && i < s.count; i++) {
		size_t b;

		phr_buf_init(&enc[i], 0);
		rc = phr_chain_receipt_encode(&enc[i], &s.receipts[i]);
		items[i] = enc[i].data;
		lens[i] = enc[i].len;
		for (b = 0; b < PHR_CHAIN_BLOOM_BYTES; b++)
			h.bloom[b] |= s.receipts[i].bloom[b];
	}
	if (rc == PHR_OK)
		rc = phr_trie_ordered_root(h.receipts_root, items, lens, s.count);
	if (rc != PHR_OK)
		goto out;
	{
		uint8_t hash[32];

		for (i = 0; i < s.count; i++)
			s.receipts[i].block_number = h.number;
		rc = chain_persist(n, hash, &h, &changes, s.txs, s.receipts, s.count);
		if (rc != PHR_OK) {
			/* memory is ahead of the disk now: stop taking writes */
			n->broken = true;
			phr_log_error("chain", "block %llu could not be stored; node read-only",
				      (unsigned long long)h.number);
			goto out;
		}
		n->next_timestamp = 0;
		n->stats.blocks++;
		n->stats.seal_ns += chain_thread_ns() - t0;
		phr_log_debug("chain", "block %llu: %zu transactions, gas %llu",
			      (unsigned long long)h.number, s.count, (unsigned long long)h.gas_used);
	}
out:
	if (enc) {
		for (i = 0; i < s.count; i++)
			phr_buf_release(&enc[i]);
	}
	phr_free(enc);
	phr_free(items);
	phr_free(lens);
	phr_state_changes_release(&changes);
	sealed_release(&s);
	if (rc != PHR_OK && !n->broken && rc != PHR_ERR_STATE) {
		/* the in-memory state may hold half a block: the disk is the truth */
		n->broken = true;
		phr_log_error("chain", "sealing failed: %s; node read-only", phr_strerror(rc));
	}
	return rc;
}

int chain_seal(struct phr_chain_node *n)
{
	return seal(n, NULL, NULL, NULL);
}

int chain_submit(struct phr_chain_node *n, uint8_t hash[32], struct phr_rpc_error *err,
		 const uint8_t *raw, size_t raw_len)
{
	struct pool_tx p = { 0 };
	struct phr_state_account acc;
	struct phr_u256 cost, fee, gas;
	bool exists, in_block = false;
	size_t i;
	int rc;

	if (n->broken)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "node is read-only after a storage failure");
	phr_tx_init(&p.tx);
	rc = phr_tx_decode(&p.tx, raw, raw_len);
	if (rc != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid transaction: %s",
					 phr_strerror(rc));
	rc = phr_tx_validate(p.sender, &p.tx, n->chain_id);
	if (rc != PHR_OK) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "invalid transaction: %s",
					 phr_strerror(rc));
	}
	rc = phr_tx_hash(p.hash, &p.tx);
	if (rc != PHR_OK)
		goto internal;
	if (chain_pool_find(n, p.hash) || db_tx_get(&n->db, NULL, NULL, NULL, NULL, p.hash) == PHR_OK) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "already known");
	}
	rc = phr_state_get_account(n->state, &exists, &acc, p.sender);
	if (rc != PHR_OK)
		goto internal;
	if (!exists)
		memset(&acc, 0, sizeof(acc));
	if (p.tx.nonce < acc.nonce) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR,
					 "nonce too low: next nonce %llu, tx nonce %llu",
					 (unsigned long long)acc.nonce, (unsigned long long)p.tx.nonce);
	}
	gas = phr_u256_from_u64(p.tx.gas_limit);
	phr_u256_mul(&fee, fee_cap(&p.tx), &gas);
	if (phr_u256_add(&cost, &fee, &p.tx.value) || phr_u256_cmp(&cost, &acc.balance) > 0) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR,
					 "insufficient funds for gas * price + value");
	}
	if (p.tx.gas_limit > n->gas_limit) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "exceeds block gas limit");
	}
	/* replacement of the same sender and nonce */
	for (i = 0; i < n->pool_n; i++) {
		struct pool_tx *o = &n->pool[i];

		if (memcmp(o->sender, p.sender, 20) != 0 || o->tx.nonce != p.tx.nonce)
			continue;
		if (!bumped(fee_cap(&p.tx), fee_cap(&o->tx)) || !bumped(tip_cap(&p.tx), tip_cap(&o->tx))) {
			phr_tx_release(&p.tx);
			return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "replacement transaction underpriced");
		}
		pool_remove(n, i);
		break;
	}
	if (n->pool_n >= POOL_MAX) {
		phr_tx_release(&p.tx);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "txpool is full");
	}
	if (n->pool_n == n->pool_cap) {
		size_t nc = n->pool_cap ? n->pool_cap * 2 : 16;
		struct pool_tx *np = phr_realloc(n->pool, nc * sizeof(*np));

		if (!np)
			goto internal;
		n->pool = np;
		n->pool_cap = nc;
	}
	p.raw = phr_malloc(raw_len);
	if (!p.raw)
		goto internal;
	memcpy(p.raw, raw, raw_len);
	p.raw_len = raw_len;
	n->pool[n->pool_n++] = p;
	memcpy(hash, p.hash, 32);
	if (n->block_time)
		return PHR_OK;
	/* automine: the block holding the transaction is on disk before we answer */
	memcpy(hash, p.hash, 32);
	{
		uint8_t h[32];

		memcpy(h, p.hash, 32);
		rc = seal(n, h, err, &in_block);
		if (rc != PHR_OK)
			return err->code ? PHR_ERR_STATE
					 : phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "sealing failed: %s",
							     phr_strerror(rc));
		if (!in_block && err->code)
			return PHR_ERR_STATE; /* rejected by execution rules */
	}
	return PHR_OK;
internal:
	phr_tx_release(&p.tx);
	return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "internal error: %s", phr_strerror(rc));
}

/* ---- open / close ---- */

static int load_dev_keys(struct phr_chain_node *n)
{
	size_t i;

	n->dev_keys = sodium_malloc(CHAIN_DEV_ACCOUNTS * 32);
	if (!n->dev_keys)
		return PHR_ERR_NOMEM;
	for (i = 0; i < CHAIN_DEV_ACCOUNTS; i++) {
		int rc = phr_bip32_eth_key(n->dev_keys + 32 * i, CHAIN_DEV_MNEMONIC, (uint32_t)i);

		if (rc == PHR_OK)
			rc = phr_eth_address_from_seckey(n->dev_addrs[i], n->dev_keys + 32 * i);
		if (rc != PHR_OK)
			return rc;
	}
	n->dev_count = CHAIN_DEV_ACCOUNTS;
	return PHR_OK;
}

int phr_chain_node_open(struct phr_chain_node **out, const struct phr_chain_config *cfg)
{
	struct phr_chain_node *n;
	struct phr_state_backend be;
	char *path = NULL;
	size_t plen;
	uint64_t head;
	int rc;

	if (!cfg || !cfg->datadir)
		return PHR_ERR_INVALID;
	rc = phr_mkdir_p(cfg->datadir, 0700);
	if (rc != PHR_OK)
		return rc;
	n = phr_calloc(1, sizeof(*n));
	if (!n)
		return PHR_ERR_NOMEM;
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->commit_mu, NULL);
	pthread_cond_init(&n->durable_cv, NULL);
	n->next_filter_id = 1;
	plen = strlen(cfg->datadir) + 16;
	path = phr_malloc(plen);
	if (!path) {
		rc = PHR_ERR_NOMEM;
		goto fail;
	}
	snprintf(path, plen, "%s/chain.db", cfg->datadir);
	rc = db_open(&n->db, path);
	phr_free(path);
	if (rc != PHR_OK)
		goto fail;
	db_state_backend(&be, &n->db);
	rc = phr_state_new(&n->state, &be);
	if (rc == PHR_OK)
		rc = chain_memo_open(&n->memo, CHAIN_MEMO_ENTRIES, CHAIN_MEMO_BUDGET);
	if (rc != PHR_OK)
		goto fail;
	chain_memo_attach(n, n->state);
	if (cfg->dev) {
		rc = load_dev_keys(n);
		if (rc != PHR_OK)
			goto fail;
	}
	n->block_time = cfg->block_time;
	n->last_seal_ms = now_ms();
	rc = db_meta_get_u64(&n->db, &head, "head");
	if (rc == PHR_ERR_NOT_FOUND) {
		rc = chain_genesis(n, cfg);
		if (rc != PHR_OK)
			goto fail;
		rc = db_meta_get_u64(&n->db, &head, "head");
	}
	if (rc == PHR_OK)
		rc = db_meta_get_u64(&n->db, &n->chain_id, "chain_id");
	if (rc == PHR_OK)
		rc = chain_header_get(n, &n->head, n->head_hash, head);
	if (rc != PHR_OK) {
		if (rc == PHR_ERR_NOT_FOUND)
			rc = PHR_ERR_CORRUPT;
		goto fail;
	}
	n->gas_limit = cfg->gas_limit ? cfg->gas_limit : n->head.gas_limit;
	n->durable_number = n->head.number;
	/* snapshots live in memory: an undo log of a previous run is of no use */
	rc = db_exec(&n->db, "DELETE FROM undo");
	if (rc != PHR_OK)
		goto fail;
	{
		/* the first commit builds the tries from the database: check the head's root */
		uint8_t root[32];

		rc = phr_state_commit(n->state, root, NULL);
		if (rc != PHR_OK)
			goto fail;
		if (memcmp(root, n->head.state_root, 32) != 0) {
			phr_log_error("chain", "state root of the database does not match block %llu",
				      (unsigned long long)n->head.number);
			rc = PHR_ERR_CORRUPT;
			goto fail;
		}
	}
	phr_log_info("chain", "chain %llu at block %llu", (unsigned long long)n->chain_id,
		     (unsigned long long)n->head.number);
	*out = n;
	return PHR_OK;
fail:
	phr_chain_node_close(n);
	return rc;
}

void phr_chain_node_close(struct phr_chain_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->pool_n; i++)
		pool_entry_release(&n->pool[i]);
	phr_free(n->pool);
	for (i = 0; i < n->filters_n; i++)
		if (n->filters[i].criteria)
			json_decref(n->filters[i].criteria);
	phr_free(n->filters);
	(void)chain_sync(n);
	if (n->memo) {
		uint64_t hits, misses;

		chain_memo_stats(n->memo, &hits, &misses);
		phr_log_info("chain", "eth_call memo: %llu hits, %llu misses", (unsigned long long)hits,
			     (unsigned long long)misses);
	}
	phr_log_info("chain", "%llu blocks sealed, %.1f ms CPU; %llu commits, %.1f ms CPU",
		     (unsigned long long)n->stats.blocks, (double)n->stats.seal_ns / 1e6,
		     (unsigned long long)n->stats.commits, (double)n->stats.commit_ns / 1e6);
	phr_state_free(n->state);
	chain_memo_close(n->memo);
	db_close(&n->db);
	if (n->dev_keys)
		sodium_free(n->dev_keys);
	pthread_cond_destroy(&n->durable_cv);
	pthread_mutex_destroy(&n->commit_mu);
	pthread_mutex_destroy(&n->lock);
	phr_free(n);
}

int chain_sync(struct phr_chain_node *n)
{
	int rc = PHR_OK;

	while (n->committing)
		pthread_cond_wait(&n->durable_cv, &n->lock);
	if (n->txn_open) {
		uint64_t t0 = chain_thread_ns();

		rc = db_commit(&n->db);
		n->stats.commits++;
		n->stats.commit_ns += chain_thread_ns() - t0;
		n->txn_open = false;
		if (rc != PHR_OK) {
			db_rollback(&n->db);
			rolled_back(n);
			n->broken = true;
			phr_log_error("chain", "commit failed; node read-only");
		} else {
			n->durable_seq = n->sealed_seq;
			n->durable_number = n->head.number;
		}
		pthread_cond_broadcast(&n->durable_cv);
	}
	return rc;
}

int chain_revert(struct phr_chain_node *n, uint64_t number)
{
	struct phr_state_backend be;
	struct phr_state *st = NULL;
	struct phr_chain_header h;
	uint8_t hash[32], root[32];
	size_t i;
	int rc;

	if (n->broken)
		return PHR_ERR_STATE;
	rc = chain_sync(n);
	if (rc == PHR_OK)
		rc = chain_header_get(n, &h, hash, number);
	if (rc != PHR_OK)
		return rc;
	rc = db_begin(&n->db);
	if (rc == PHR_OK)
		rc = db_storage_flush(&n->db);
	if (rc == PHR_OK)
		rc = db_undo_to(&n->db, number);
	if (rc == PHR_OK)
		rc = db_meta_put_u64(&n->db, "head", number);
	if (rc == PHR_OK)
		rc = db_commit(&n->db);
	if (rc != PHR_OK) {
		db_rollback(&n->db);
		rolled_back(n);
		return rc;
	}
	/* a fresh state over the reverted tables; its root must be the block's */
	db_state_backend(&be, &n->db);
	rc = phr_state_new(&st, &be);
	if (rc == PHR_OK)
		rc = phr_state_commit(st, root, NULL);
	if (rc == PHR_OK && memcmp(root, h.state_root, 32) != 0)
		rc = PHR_ERR_CORRUPT;
	if (rc != PHR_OK) {
		phr_state_free(st);
		n->broken = true;
		phr_log_error("chain", "evm_revert: state does not match block %llu; node read-only",
			      (unsigned long long)number);
		return rc;
	}
	/* every memoized call read the state that is gone */
	chain_memo_clear(n->memo);
	chain_memo_attach(n, st);
	phr_state_free(n->state);
	n->state = st;
	n->head = h;
	memcpy(n->head_hash, hash, 32);
	n->durable_number = number;
	n->next_timestamp = 0;
	for (i = 0; i < n->pool_n; i++)
		pool_entry_release(&n->pool[i]);
	n->pool_n = 0;
	for (i = 0; i < n->filters_n; i++)
		if (n->filters[i].next_block > number + 1)
			n->filters[i].next_block = number + 1;
	return PHR_OK;
}

/*
 * Commits the open block transaction with the lock dropped (called and
 * returning with it held): requests go on meanwhile (eth_call memo hits,
 * state reads, execution of the next blocks' transactions); the next block
 * written waits for this COMMIT at its BEGIN (commit_mu). A failed commit
 * rolls back and fails every later BEGIN: the node is read-only.
 */
static void commit_unlocked(struct phr_chain_node *n)
{
	uint64_t seq = n->sealed_seq, number = n->head.number, t0;
	int rc;

	n->txn_open = false;
	n->committing = true;
	pthread_mutex_lock(&n->commit_mu);
	pthread_mutex_unlock(&n->lock);
	t0 = chain_thread_ns();
	rc = db_commit(&n->db);
	if (rc != PHR_OK) {
		db_rollback(&n->db);
		n->commit_failed = true;
	}
	t0 = chain_thread_ns() - t0;
	pthread_mutex_unlock(&n->commit_mu);
	pthread_mutex_lock(&n->lock);
	n->committing = false;
	n->stats.commits++;
	n->stats.commit_ns += t0;
	if (rc == PHR_OK) {
		if (seq > n->durable_seq) {
			n->durable_seq = seq;
			n->durable_number = number;
		}
	} else {
		rolled_back(n);
		n->broken = true;
		phr_log_error("chain", "commit failed; node read-only");
	}
	pthread_cond_broadcast(&n->durable_cv);
}

/*
 * The exit of the guard, for an answer that depends on the blocks sealed up
 * to sequence @p seq and on block number @p need: the last request to leave
 * (none queued on the lock) commits for every block sealed so far, with the
 * lock dropped; the others wait for a commit that covers what they saw (one
 * fsync for the whole group), and blocks sealed during a commit go into the
 * next one. A request that needs nothing new leaves at once, but as the last
 * to leave it wakes a waiter to commit for the group.
 */
static int leave(struct phr_chain_node *n, uint64_t seq, uint64_t need)
{
	int rc = 0;

	while ((n->durable_seq < seq || n->durable_number < need) && !n->broken) {
		if (n->txn_open && !n->committing &&
		    __atomic_load_n(&n->waiters, __ATOMIC_SEQ_CST) == 0) {
			commit_unlocked(n);
		} else {
			n->durable_waiters++;
			pthread_cond_wait(&n->durable_cv, &n->lock);
			n->durable_waiters--;
		}
	}
	if (n->durable_seq < seq || n->durable_number < need)
		rc = -1;
	else if (n->durable_waiters && n->txn_open && !n->committing &&
		 __atomic_load_n(&n->waiters, __ATOMIC_SEQ_CST) == 0)
		pthread_cond_signal(&n->durable_cv);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int phr_chain_node_guard(void *node, bool enter)
{
	struct phr_chain_node *n = node;
	uint64_t mine;

	if (enter) {
		__atomic_add_fetch(&n->waiters, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&n->lock);
		__atomic_sub_fetch(&n->waiters, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	/* Whatever this request saw or did must be on disk before it answers:
	 * every block sealed so far. */
	mine = n->sealed_seq;
	return leave(n, mine, 0);
}

int chain_guard_leave(struct phr_chain_node *n, uint64_t need)
{
	return leave(n, 0, need);
}

int phr_chain_node_tick(struct phr_chain_node *n)
{
	int rc = PHR_OK;
	uint64_t now;

	if (!n->block_time)
		return PHR_OK;
	(void)phr_chain_node_guard(n, true);
	now = now_ms();
	if (now - n->last_seal_ms >= n->block_time * 1000u) {
		n->last_seal_ms = now;
		rc = chain_seal(n);
	}
	if (phr_chain_node_guard(n, false) != 0 && rc == PHR_OK)
		rc = PHR_ERR_DB;
	return rc;
}
