/*
 * World state: accounts and storage in hash tables, the journal of one
 * transaction, end-of-transaction rules, and the commit to the state trie.
 */
#include "phr/crypto.h"
#include "phr/rlp.h"
#include "state_int.h"

const uint8_t phr_state_empty_code_hash[32] = {
	0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d,
	0xb2, 0xdc, 0xc7, 0x03, 0xc0, 0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82,
	0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
};

static const uint8_t zero32[32];

/* Table hash of an address or a key: 8 bytes at a time, then murmur3's
 * fmix64 so that keys differing only in their last byte (sequential slots,
 * whose low byte lands in the top of a little-endian word) spread over the
 * low bits the tables use. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x94d049bb133111ebull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* The tables are open-addressed with linear probing and grow (double) before
 * one more entry would fill them past 70%. */
static bool table_needs_grow(size_t used, size_t cap)
{
	return (used + 1) * 10 > cap * 7;
}

static void fail(struct phr_state *st, int err)
{
	if (!st->error)
		st->error = err;
}

/* ------------------------------------------------------------------------- */
/* accounts                                                                  */
/* ------------------------------------------------------------------------- */

static int accs_grow(struct phr_state *st)
{
	size_t ncap = st->accs_cap ? st->accs_cap * 2 : 64;
	struct st_account **n = phr_calloc(ncap, sizeof(*n));
	if (!n)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < st->accs_cap; i++) {
		struct st_account *a = st->accs[i];
		if (!a)
			continue;
		size_t h = hash_bytes(a->addr, 20) & (ncap - 1);
		while (n[h])
			h = (h + 1) & (ncap - 1);
		n[h] = a;
	}
	phr_free(st->accs);
	st->accs = n;
	st->accs_cap = ncap;
	return PHR_OK;
}

static struct st_account *acc_find(const struct phr_state *st, const uint8_t addr[20], size_t *pos)
{
	if (!st->accs_cap)
		return NULL;
	size_t h = hash_bytes(addr, 20) & (st->accs_cap - 1);
	while (st->accs[h]) {
		if (memcmp(st->accs[h]->addr, addr, 20) == 0)
			return st->accs[h];
		h = (h + 1) & (st->accs_cap - 1);
	}
	if (pos)
		*pos = h;
	return NULL;
}

static int load_code(struct phr_state *st, struct st_account *a)
{
	if (!memcmp(a->code_hash, phr_state_empty_code_hash, 32) || !st->be.load_code)
		return PHR_OK;
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int rc = st->be.load_code(st->be.ctx, &b, a->code_hash);
	if (rc) {
		phr_buf_release(&b);
		return rc;
	}
	size_t len;
	a->code = phr_buf_detach(&b, &len);
	a->code_len = len;
	if (!a->code)
		return PHR_ERR_NOMEM;
	return PHR_OK;
}

void phr_st_rec_account(struct phr_st_readset *rs, const uint8_t addr[20])
{
	size_t i = rs->n;
	/* most lookups repeat the account of the running frame: search backwards */
	while (i > 0) {
		i--;
		if (memcmp(rs->addrs[i], addr, 20) == 0)
			return;
	}
	if (rs->n == PHR_ST_RS_MAX) {
		rs->overflow = true;
		return;
	}
	memcpy(rs->addrs[rs->n++], addr, 20);
}

unsigned phr_st_env_scan(const uint8_t *code, size_t len)
{
	unsigned env = 0;
	if (!code)
		return PHR_ST_ENV_ALL;
	for (size_t i = 0; i < len; i++) {
		uint8_t op = code[i];
		if (op >= 0x60 && op <= 0x7f) { /* PUSH1..PUSH32: data never executes */
			i += (size_t)(op - 0x5f);
			continue;
		}
		switch (op) {
		case 0x40: /* BLOCKHASH */
		case 0x43: /* NUMBER */
		case 0x44: /* PREVRANDAO */
			env |= PHR_ST_ENV_NUMBER;
			break;
		case 0x42: /* TIMESTAMP */
			env |= PHR_ST_ENV_TIMESTAMP;
			break;
		case 0x3a: /* GASPRICE */
		case 0x48: /* BASEFEE */
			env |= PHR_ST_ENV_BASEFEE;
			break;
		case 0x45: /* GASLIMIT */
			env |= PHR_ST_ENV_GASLIMIT;
			break;
		case 0x41: /* COINBASE */
			env |= PHR_ST_ENV_COINBASE;
			break;
		case 0x46: /* CHAINID */
			env |= PHR_ST_ENV_CHAINID;
			break;
		case 0x4a: /* BLOBBASEFEE */
			env |= PHR_ST_ENV_BLOBFEE;
			break;
		default:
			break;
		}
	}
	return env;
}

struct st_account *phr_st_account(struct phr_state *st, const uint8_t addr[20])
{
	size_t pos = 0;
	if (st->rec)
		phr_st_rec_account(st->rec, addr);
	struct st_account *a = acc_find(st, addr, &pos);
	if (a)
		return a;
	if (table_needs_grow(st->accs_used, st->accs_cap)) {
		int rc = accs_grow(st);
		if (rc) {
			fail(st, rc);
			return NULL;
		}
		acc_find(st, addr, &pos);
	}
	a = phr_calloc(1, sizeof(*a));
	if (!a) {
		fail(st, PHR_ERR_NOMEM);
		return NULL;
	}
	memcpy(a->addr, addr, 20);
	memcpy(a->code_hash, phr_state_empty_code_hash, 32);
	memcpy(a->storage_root, phr_trie_empty_root, 32);
	a->storage_known = true;
	a->strie_built = true;
	if (st->has_be && st->be.load_account) {
		bool found = false;
		struct phr_state_account rec;
		int rc = st->be.load_account(st->be.ctx, &found, &rec, addr);
		if (!rc && found) {
			a->exists = true;
			a->nonce = rec.nonce;
			a->balance = rec.balance;
			memcpy(a->code_hash, rec.code_hash, 32);
			memcpy(a->storage_root, rec.storage_root, 32);
			if (memcmp(rec.storage_root, phr_trie_empty_root, 32) != 0) {
				a->storage_known = false;
				a->strie_built = false;
			}
			rc = load_code(st, a);
		}
		if (rc) {
			phr_free(a->code);
			phr_free(a);
			fail(st, rc);
			return NULL;
		}
	}
	st->accs[pos] = a;
	st->accs_used++;
	return a;
}

bool phr_st_is_empty(const struct st_account *a)
{
	return a->nonce == 0 && phr_u256_is_zero(&a->balance) && a->code_len == 0;
}

static void acc_free(struct st_account *a)
{
	phr_free(a->code);
	phr_free(a->slots);
	phr_free(a->dkeys);
	phr_trie_free(a->strie);
	phr_free(a);
}

static void mark_dirty(struct phr_state *st, struct st_account *a)
{
	if (a->in_dirty)
		return;
	if (st->dirty_len == st->dirty_cap) {
		size_t nc = st->dirty_cap ? st->dirty_cap * 2 : 64;
		struct st_account **n = phr_realloc(st->dirty, nc * sizeof(*n));
		if (!n) {
			fail(st, PHR_ERR_NOMEM);
			return;
		}
		st->dirty = n;
		st->dirty_cap = nc;
	}
	st->dirty[st->dirty_len++] = a;
	a->in_dirty = true;
}

/* ------------------------------------------------------------------------- */
/* storage                                                                   */
/* ------------------------------------------------------------------------- */

static struct st_slot *slot_find(struct st_account *a, const uint8_t key[32], size_t *pos);

/* An account's table of slots is dropped at a commit once it holds more than
 * this many and the storage trie holds them all: at ~190 bytes a slot (the
 * table at its load factor) the table doubled the memory of a minted record's
 * slots, which the trie keeps anyway. Hot slots come back on their next use. */
#define SLOTS_KEEP 4096

/* Marks slot @p s of @p a dirty, listing its key once. It cannot fail: when
 * the list cannot grow, the commit falls back to scanning every slot. */
static void slot_set_dirty(struct st_account *a, struct st_slot *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	if (a->dkeys_lost)
		return;
	if (a->dkeys_len == a->dkeys_cap) {
		size_t nc = a->dkeys_cap ? a->dkeys_cap * 2 : 8;
		uint8_t(*n)[32] = phr_realloc(a->dkeys, nc * sizeof(*n));
		if (!n) {
			a->dkeys_lost = true;
			return;
		}
		a->dkeys = n;
		a->dkeys_cap = nc;
	}
	memcpy(a->dkeys[a->dkeys_len++], s->key, 32);
}

/* The i-th dirty slot of @p a, or NULL past the end (*i is a cursor from 0). */
static struct st_slot *slot_next_dirty(struct st_account *a, size_t *i)
{
	if (a->dkeys_lost) {
		for (; *i < a->slots_cap; (*i)++)
			if (a->slots[*i].used && a->slots[*i].dirty)
				return &a->slots[(*i)++];
		return NULL;
	}
	while (*i < a->dkeys_len) {
		struct st_slot *s = slot_find(a, a->dkeys[(*i)++], NULL);
		if (s && s->dirty)
			return s;
	}
	return NULL;
}

static struct st_slot *slot_find(struct st_account *a, const uint8_t key[32], size_t *pos)
{
	if (!a->slots_cap)
		return NULL;
	size_t h = hash_bytes(key, 32) & (a->slots_cap - 1);
	while (a->slots[h].used) {
		if (memcmp(a->slots[h].key, key, 32) == 0)
			return &a->slots[h];
		h = (h + 1) & (a->slots_cap - 1);
	}
	if (pos)
		*pos = h;
	return NULL;
}

static int slots_grow(struct st_account *a)
{
	size_t ncap = a->slots_cap ? a->slots_cap * 2 : 16;
	struct st_slot *n = phr_calloc(ncap, sizeof(*n));
	if (!n)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < a->slots_cap; i++) {
		if (!a->slots[i].used)
			continue;
		size_t h = hash_bytes(a->slots[i].key, 32) & (ncap - 1);
		while (n[h].used)
			h = (h + 1) & (ncap - 1);
		n[h] = a->slots[i];
	}
	phr_free(a->slots);
	a->slots = n;
	a->slots_cap = ncap;
	return PHR_OK;
}

/* The committed value of a slot from a storage trie that holds them all (its
 * leaves are rlp(value), zero absent). */
static int strie_slot(const struct phr_trie *t, uint8_t val[32], const uint8_t key[32])
{
	const uint8_t *v;
	size_t n;
	if (phr_trie_get(t, &v, &n, key, 32) != PHR_OK)
		return PHR_OK;
	if (n == 1 && v[0] < 0x80) {
		val[31] = v[0];
		return PHR_OK;
	}
	if (n < 2 || n > 33 || v[0] != 0x80 + n - 1)
		return PHR_ERR_CORRUPT;
	memcpy(val + 32 - (n - 1), v + 1, n - 1);
	return PHR_OK;
}

/* Note: the returned pointer is valid until the next slot of @p a is added
 * (and at most until the next phr_state_commit). */
struct st_slot *phr_st_slot(struct phr_state *st, struct st_account *a, const uint8_t key[32])
{
	size_t pos = 0;
	struct st_slot *s = slot_find(a, key, &pos);
	if (s)
		return s;
	uint8_t val[32] = { 0 };
	if (a->strie_built) {
		/* every slot the table lacks is as the last commit left it, which
		 * the trie holds (the table may have been dropped then) */
		int rc = a->strie ? strie_slot(a->strie, val, key) : PHR_OK;
		if (rc) {
			fail(st, rc);
			return NULL;
		}
	} else if (!a->storage_known && st->be.load_storage) {
		int rc = st->be.load_storage(st->be.ctx, val, a->addr, key);
		if (rc) {
			fail(st, rc);
			return NULL;
		}
	}
	if (table_needs_grow(a->slots_used, a->slots_cap)) {
		int rc = slots_grow(a);
		if (rc) {
			fail(st, rc);
			return NULL;
		}
		slot_find(a, key, &pos);
	}
	s = &a->slots[pos];
	memset(s, 0, sizeof(*s));
	s->used = true;
	memcpy(s->key, key, 32);
	memcpy(s->cur, val, 32);
	memcpy(s->orig, val, 32);
	a->slots_used++;
	return s;
}

/* ------------------------------------------------------------------------- */
/* journal                                                                   */
/* ------------------------------------------------------------------------- */

static struct st_jentry *jpush(struct phr_state *st, uint8_t kind, struct st_account *a)
{
	if (st->j_len == st->j_cap) {
		size_t nc = st->j_cap ? st->j_cap * 2 : 256;
		struct st_jentry *n = phr_realloc(st->j, nc * sizeof(*n));
		if (!n) {
			fail(st, PHR_ERR_NOMEM);
			return NULL;
		}
		st->j = n;
		st->j_cap = nc;
	}
	struct st_jentry *e = &st->j[st->j_len++];
	e->kind = kind;
	e->acc = a;
	return e;
}

void phr_st_set_balance(struct phr_state *st, struct st_account *a, const struct phr_u256 *v)
{
	struct st_jentry *e = jpush(st, J_BALANCE, a);
	if (!e)
		return;
	e->u.balance = a->balance;
	a->balance = *v;
}

void phr_st_set_nonce(struct phr_state *st, struct st_account *a, uint64_t nonce)
{
	struct st_jentry *e = jpush(st, J_NONCE, a);
	if (!e)
		return;
	e->u.nonce = a->nonce;
	a->nonce = nonce;
}

/* Code is only ever set on an account without code (a create). */
void phr_st_set_code(struct phr_state *st, struct st_account *a, const uint8_t *code, size_t len)
{
	uint8_t *c = phr_malloc(len ? len : 1);
	if (!c) {
		fail(st, PHR_ERR_NOMEM);
		return;
	}
	struct st_jentry *e = jpush(st, J_CODE, a);
	if (!e) {
		phr_free(c);
		return;
	}
	memcpy(c, code, len);
	phr_free(a->code);
	a->code = c;
	a->code_len = len;
	phr_keccak256(a->code_hash, code, len);
}

void phr_st_set_slot(struct phr_state *st, struct st_account *a, struct st_slot *s,
		     const uint8_t val[32])
{
	struct st_jentry *e = jpush(st, J_STORAGE, a);
	if (!e)
		return;
	memcpy(e->key, s->key, 32);
	memcpy(e->u.val, s->cur, 32);
	memcpy(s->cur, val, 32);
}

/* Sets one of a's flags, journaled (the revert clears it again). */
static void flag_on(struct phr_state *st, struct st_account *a, bool *flag, uint8_t kind)
{
	if (!*flag && jpush(st, kind, a))
		*flag = true;
}

void phr_st_touch(struct phr_state *st, struct st_account *a)
{
	flag_on(st, a, &a->touched, J_TOUCH);
}

void phr_st_make_exist(struct phr_state *st, struct st_account *a)
{
	flag_on(st, a, &a->exists, J_EXISTS);
}

void phr_st_create(struct phr_state *st, struct st_account *a)
{
	struct st_jentry *e = jpush(st, J_CREATE, a);
	if (!e)
		return;
	e->b1 = a->exists;
	e->b2 = a->created;
	a->exists = true;
	a->created = true;
}

void phr_st_destruct(struct phr_state *st, struct st_account *a)
{
	flag_on(st, a, &a->destructed, J_DESTRUCT);
}

bool phr_st_warm_account(struct phr_state *st, struct st_account *a)
{
	bool was = a->warm;
	flag_on(st, a, &a->warm, J_WARM_ACC);
	return was;
}

bool phr_st_warm_slot(struct phr_state *st, struct st_account *a, struct st_slot *s)
{
	if (s->warm)
		return true;
	struct st_jentry *e = jpush(st, J_WARM_SLOT, a);
	if (e) {
		memcpy(e->key, s->key, 32);
		s->warm = true;
	}
	return false;
}

/* transient storage -------------------------------------------------------- */

static struct st_tslot *ts_find(struct phr_state *st, const uint8_t addr[20], const uint8_t key[32],
				bool add)
{
	if (add && table_needs_grow(st->ts_used, st->ts_cap)) {
		size_t ncap = st->ts_cap ? st->ts_cap * 2 : 32;
		struct st_tslot *n = phr_calloc(ncap, sizeof(*n));
		if (!n) {
			fail(st, PHR_ERR_NOMEM);
			return NULL;
		}
		for (size_t i = 0; i < st->ts_cap; i++) {
			if (!st->ts[i].used)
				continue;
			size_t h = (hash_bytes(st->ts[i].addr, 20) ^ hash_bytes(st->ts[i].key, 32)) &
				   (ncap - 1);
			while (n[h].used)
				h = (h + 1) & (ncap - 1);
			n[h] = st->ts[i];
		}
		phr_free(st->ts);
		st->ts = n;
		st->ts_cap = ncap;
	}
	if (!st->ts_cap)
		return NULL;
	size_t h = (hash_bytes(addr, 20) ^ hash_bytes(key, 32)) & (st->ts_cap - 1);
	while (st->ts[h].used) {
		if (!memcmp(st->ts[h].addr, addr, 20) && !memcmp(st->ts[h].key, key, 32))
			return &st->ts[h];
		h = (h + 1) & (st->ts_cap - 1);
	}
	if (!add)
		return NULL;
	struct st_tslot *t = &st->ts[h];
	t->used = true;
	memcpy(t->addr, addr, 20);
	memcpy(t->key, key, 32);
	memset(t->val, 0, 32);
	st->ts_used++;
	return t;
}

void phr_st_tload(struct phr_state *st, uint8_t out[32], const uint8_t addr[20],
		  const uint8_t key[32])
{
	struct st_tslot *t = ts_find(st, addr, key, false);
	memcpy(out, t ? t->val : zero32, 32);
}

void phr_st_tstore(struct phr_state *st, const uint8_t addr[20], const uint8_t key[32],
		   const uint8_t val[32])
{
	struct st_account *a = phr_st_account(st, addr);
	struct st_tslot *t = ts_find(st, addr, key, true);
	if (!t || !a)
		return;
	struct st_jentry *e = jpush(st, J_TSTORE, a);
	if (!e)
		return;
	memcpy(e->key, key, 32);
	memcpy(e->u.val, t->val, 32);
	memcpy(t->val, val, 32);
}

/* logs --------------------------------------------------------------------- */

static void log_release(struct phr_state_log *l)
{
	phr_free(l->topics);
	phr_free(l->data);
	l->topics = NULL;
	l->data = NULL;
}

void phr_st_add_log(struct phr_state *st, const uint8_t addr[20], const uint8_t *data,
		    size_t data_len, const struct phr_evm_bytes32 *topics, size_t topics_count)
{
	if (st->logs_len == st->logs_cap) {
		size_t nc = st->logs_cap ? st->logs_cap * 2 : 16;
		struct phr_state_log *n = phr_realloc(st->logs, nc * sizeof(*n));
		if (!n) {
			fail(st, PHR_ERR_NOMEM);
			return;
		}
		st->logs = n;
		st->logs_cap = nc;
	}
	struct phr_state_log *l = &st->logs[st->logs_len];
	memset(l, 0, sizeof(*l));
	memcpy(l->addr, addr, 20);
	l->data = phr_malloc(data_len ? data_len : 1);
	l->topics = phr_malloc(topics_count ? topics_count * 32 : 1);
	if (!l->data || !l->topics) {
		log_release(l);
		fail(st, PHR_ERR_NOMEM);
		return;
	}
	if (data_len)
		memcpy(l->data, data, data_len);
	l->data_len = data_len;
	for (size_t i = 0; i < topics_count; i++)
		memcpy(l->topics[i], topics[i].bytes, 32);
	l->topics_count = topics_count;
	st->logs_len++;
}

void phr_st_logs_clear(struct phr_state *st)
{
	for (size_t i = 0; i < st->logs_len; i++)
		log_release(&st->logs[i]);
	st->logs_len = 0;
}

/* snapshots ---------------------------------------------------------------- */

struct st_snap phr_st_snapshot(const struct phr_state *st)
{
	struct st_snap s = { st->j_len, st->logs_len };
	return s;
}

void phr_st_revert(struct phr_state *st, struct st_snap snap)
{
	while (st->j_len > snap.j_len) {
		struct st_jentry *e = &st->j[--st->j_len];
		struct st_account *a = e->acc;
		struct st_slot *s;
		struct st_tslot *t;
		switch (e->kind) {
		case J_BALANCE:
			a->balance = e->u.balance;
			break;
		case J_NONCE:
			a->nonce = e->u.nonce;
			break;
		case J_CODE:
			phr_free(a->code);
			a->code = NULL;
			a->code_len = 0;
			memcpy(a->code_hash, phr_state_empty_code_hash, 32);
			break;
		case J_STORAGE:
			s = slot_find(a, e->key, NULL);
			if (s)
				memcpy(s->cur, e->u.val, 32);
			break;
		case J_TSTORE:
			t = ts_find(st, a->addr, e->key, false);
			if (t)
				memcpy(t->val, e->u.val, 32);
			break;
		case J_WARM_ACC:
			a->warm = false;
			break;
		case J_WARM_SLOT:
			s = slot_find(a, e->key, NULL);
			if (s)
				s->warm = false;
			break;
		case J_CREATE:
			a->exists = e->b1;
			a->created = e->b2;
			break;
		case J_DESTRUCT:
			a->destructed = false;
			break;
		case J_TOUCH:
			a->touched = false;
			break;
		case J_EXISTS:
			a->exists = false;
			break;
		default:
			break;
		}
	}
	while (st->logs_len > snap.logs_len)
		log_release(&st->logs[--st->logs_len]);
}

/* Deletes @p a (self-destruct or EIP-161 clearing) at the end of a transaction. */
static void acc_delete(struct st_account *a)
{
	a->exists = false;
	a->nonce = 0;
	a->balance = PHR_U256_ZERO;
	phr_free(a->code);
	a->code = NULL;
	a->code_len = 0;
	memcpy(a->code_hash, phr_state_empty_code_hash, 32);
	phr_free(a->slots);
	a->slots = NULL;
	a->slots_cap = a->slots_used = 0;
	a->dkeys_len = 0;
	a->dkeys_lost = false;
	if (a->strie)
		phr_trie_clear(a->strie);
	memcpy(a->storage_root, phr_trie_empty_root, 32);
	a->storage_known = true;
	a->strie_built = true;
	a->wiped = true;
	a->code_dirty = true;
}

void phr_st_tx_finish(struct phr_state *st)
{
	for (size_t i = 0; i < st->j_len; i++) {
		struct st_jentry *e = &st->j[i];
		struct st_account *a = e->acc;
		struct st_slot *s;
		if (e->kind != J_WARM_ACC && e->kind != J_WARM_SLOT && e->kind != J_TSTORE) {
			/* any state change counts as a touch for EIP-161 clearing,
			 * as geth's "dirty" objects do */
			a->touched = true;
			mark_dirty(st, a);
		}
		switch (e->kind) {
		case J_STORAGE:
			s = slot_find(a, e->key, NULL);
			if (s) {
				memcpy(s->orig, s->cur, 32);
				slot_set_dirty(a, s);
			}
			break;
		case J_WARM_SLOT:
			s = slot_find(a, e->key, NULL);
			if (s)
				s->warm = false;
			break;
		case J_WARM_ACC:
			a->warm = false;
			break;
		case J_CODE:
			a->code_dirty = true;
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < st->j_len; i++) {
		struct st_account *a = st->j[i].acc;
		if (a->destructed || (a->touched && a->exists && phr_st_is_empty(a)))
			acc_delete(a);
		a->created = a->destructed = a->touched = false;
	}
	if (st->ripemd_touched) {
		static const uint8_t ripemd[20] = { [19] = 3 };
		struct st_account *a = phr_st_account(st, ripemd);
		if (a && a->exists && phr_st_is_empty(a)) {
			acc_delete(a);
			mark_dirty(st, a);
		}
		if (a)
			a->touched = false;
		st->ripemd_touched = false;
	}
	st->j_len = 0;
	if (st->ts_used) {
		memset(st->ts, 0, st->ts_cap * sizeof(*st->ts));
		st->ts_used = 0;
	}
}

/* ------------------------------------------------------------------------- */
/* public: life cycle and direct access                                      */
/* ------------------------------------------------------------------------- */

int phr_state_new(struct phr_state **out, const struct phr_state_backend *backend)
{
	struct phr_state *st = phr_calloc(1, sizeof(*st));
	if (!st)
		return PHR_ERR_NOMEM;
	if (backend) {
		st->be = *backend;
		st->has_be = true;
	}
	int rc = phr_trie_new(&st->trie, true);
	if (rc) {
		phr_free(st);
		return rc;
	}
	st->trie_built = !(backend && backend->foreach_account);
	*out = st;
	return PHR_OK;
}

void phr_state_free(struct phr_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->accs_cap; i++) {
		if (st->accs[i])
			acc_free(st->accs[i]);
	}
	phr_free(st->accs);
	phr_free(st->dirty);
	phr_free(st->j);
	phr_st_logs_clear(st);
	phr_free(st->logs);
	phr_free(st->ts);
	phr_trie_free(st->trie);
	phr_free(st);
}

static int take_error(struct phr_state *st)
{
	int rc = st->error;
	st->error = PHR_OK;
	return rc;
}

int phr_state_set_account(struct phr_state *st, const uint8_t addr[20], uint64_t nonce,
			  const struct phr_u256 *balance)
{
	struct st_account *a = phr_st_account(st, addr);
	if (a) {
		a->exists = true;
		a->nonce = nonce;
		a->balance = *balance;
		mark_dirty(st, a);
	}
	return take_error(st);
}

int phr_state_set_code(struct phr_state *st, const uint8_t addr[20], const uint8_t *code,
		       size_t code_len)
{
	struct st_account *a = phr_st_account(st, addr);
	if (!a)
		return take_error(st);
	uint8_t *c = phr_malloc(code_len ? code_len : 1);
	if (!c)
		return PHR_ERR_NOMEM;
	if (code_len)
		memcpy(c, code, code_len);
	phr_free(a->code);
	a->code = c;
	a->code_len = code_len;
	phr_keccak256(a->code_hash, code, code_len);
	a->exists = true;
	a->code_dirty = true;
	mark_dirty(st, a);
	return take_error(st);
}

int phr_state_set_storage(struct phr_state *st, const uint8_t addr[20], const uint8_t key[32],
			  const uint8_t value[32])
{
	struct st_account *a = phr_st_account(st, addr);
	struct st_slot *s = a ? phr_st_slot(st, a, key) : NULL;
	if (s) {
		a->exists = true;
		memcpy(s->cur, value, 32);
		memcpy(s->orig, value, 32);
		slot_set_dirty(a, s);
		mark_dirty(st, a);
	}
	return take_error(st);
}

int phr_state_get_account(struct phr_state *st, bool *exists, struct phr_state_account *acc,
			  const uint8_t addr[20])
{
	struct st_account *a = phr_st_account(st, addr);
	if (!a)
		return take_error(st);
	*exists = a->exists;
	if (acc) {
		acc->nonce = a->nonce;
		acc->balance = a->balance;
		memcpy(acc->code_hash, a->code_hash, 32);
		memcpy(acc->storage_root, a->storage_root, 32);
	}
	return PHR_OK;
}

int phr_state_get_code(struct phr_state *st, const uint8_t **code, size_t *code_len,
		       const uint8_t addr[20])
{
	struct st_account *a = phr_st_account(st, addr);
	if (!a)
		return take_error(st);
	*code = a->code_len ? a->code : NULL;
	*code_len = a->code_len;
	return PHR_OK;
}

int phr_state_get_storage(struct phr_state *st, uint8_t value[32], const uint8_t addr[20],
			  const uint8_t key[32])
{
	struct st_account *a = phr_st_account(st, addr);
	struct st_slot *s = a ? phr_st_slot(st, a, key) : NULL;
	if (!s)
		return take_error(st);
	memcpy(value, s->cur, 32);
	return PHR_OK;
}

/* ------------------------------------------------------------------------- */
/* commit                                                                    */
/* ------------------------------------------------------------------------- */

static int account_rlp(struct phr_buf *b, const struct st_account *a)
{
	size_t mark;
	phr_buf_reset(b);
	phr_rlp_list_begin(b, &mark);
	int rc = phr_rlp_put_u64(b, a->nonce);
	if (!rc)
		rc = phr_rlp_put_u256(b, &a->balance);
	if (!rc)
		rc = phr_rlp_put_bytes(b, a->storage_root, 32);
	if (!rc)
		rc = phr_rlp_put_bytes(b, a->code_hash, 32);
	return rc ? rc : phr_rlp_list_end(b, mark);
}

static int put_slot(struct phr_trie *t, struct phr_buf *b, const uint8_t key[32],
		    const uint8_t val[32])
{
	if (!memcmp(val, zero32, 32))
		return phr_trie_delete(t, key, 32);
	struct phr_u256 v;
	phr_u256_from_be(&v, val);
	phr_buf_reset(b);
	int rc = phr_rlp_put_u256(b, &v);
	return rc ? rc : phr_trie_put(t, key, 32, b->data, b->len);
}

struct fill_ctx {
	struct phr_trie *t;
	struct phr_buf *b;
	struct phr_state *st;
};

static int fill_slot(void *ctx, const uint8_t key[32], const uint8_t value[32])
{
	struct fill_ctx *f = ctx;
	return put_slot(f->t, f->b, key, value);
}

static int fill_account(void *ctx, const uint8_t addr[20], const struct phr_state_account *acc)
{
	struct fill_ctx *f = ctx;
	struct st_account tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.nonce = acc->nonce;
	tmp.balance = acc->balance;
	memcpy(tmp.storage_root, acc->storage_root, 32);
	memcpy(tmp.code_hash, acc->code_hash, 32);
	int rc = account_rlp(f->b, &tmp);
	return rc ? rc : phr_trie_put(f->t, addr, 20, f->b->data, f->b->len);
}

/* Makes a->strie hold every slot of @p a (from the backend on first use). */
static int strie_ready(struct phr_state *st, struct st_account *a, struct phr_buf *b)
{
	int rc;
	if (!a->strie && (rc = phr_trie_new(&a->strie, true)))
		return rc;
	if (a->strie_built)
		return PHR_OK;
	if (st->be.foreach_storage) {
		struct fill_ctx f = { a->strie, b, st };
		if ((rc = st->be.foreach_storage(st->be.ctx, a->addr, fill_slot, &f)))
			return rc;
	}
	/* slots changed since the backend's version are dirty: the caller applies them */
	a->strie_built = true;
	return PHR_OK;
}

static int change_add(struct phr_state_changes *c, size_t *cap, const struct st_account *a)
{
	if (c->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct phr_state_account_change *n = phr_realloc(c->accounts, nc * sizeof(*n));
		if (!n)
			return PHR_ERR_NOMEM;
		c->accounts = n;
		*cap = nc;
	}
	struct phr_state_account_change *ch = &c->accounts[c->count++];
	memset(ch, 0, sizeof(*ch));
	memcpy(ch->addr, a->addr, 20);
	ch->deleted = !a->exists;
	ch->storage_wiped = a->wiped;
	ch->acc.nonce = a->nonce;
	ch->acc.balance = a->balance;
	memcpy(ch->acc.code_hash, a->code_hash, 32);
	memcpy(ch->acc.storage_root, a->storage_root, 32);
	if (a->code_dirty && a->code_len) {
		ch->code = a->code;
		ch->code_len = a->code_len;
	}
	return PHR_OK;
}

static int change_slots(struct phr_state_account_change *ch, struct st_account *a)
{
	size_t n = 0, i = 0;
	while (slot_next_dirty(a, &i))
		n++;
	if (!n)
		return PHR_OK;
	ch->slots = phr_malloc(n * sizeof(*ch->slots));
	if (!ch->slots)
		return PHR_ERR_NOMEM;
	i = 0;
	for (const struct st_slot *s; (s = slot_next_dirty(a, &i));) {
		memcpy(ch->slots[ch->slots_count].key, s->key, 32);
		memcpy(ch->slots[ch->slots_count].value, s->cur, 32);
		ch->slots_count++;
	}
	return PHR_OK;
}

static int commit_account(struct phr_state *st, struct st_account *a, struct phr_buf *b)
{
	int rc;
	if (!a->exists)
		return phr_trie_delete(st->trie, a->addr, 20);
	size_t i = 0;
	if (a->wiped || slot_next_dirty(a, &i)) {
		if ((rc = strie_ready(st, a, b)))
			return rc;
		i = 0;
		for (struct st_slot *s; (s = slot_next_dirty(a, &i));)
			if ((rc = put_slot(a->strie, b, s->key, s->cur)))
				return rc;
		if ((rc = phr_trie_root(a->strie, a->storage_root)))
			return rc;
	}
	if ((rc = account_rlp(b, a)))
		return rc;
	return phr_trie_put(st->trie, a->addr, 20, b->data, b->len);
}

int phr_state_commit(struct phr_state *st, uint8_t root[32], struct phr_state_changes *changes)
{
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int rc = PHR_OK;
	size_t cap = 0;
	if (changes)
		memset(changes, 0, sizeof(*changes));
	if (!st->trie_built) {
		struct fill_ctx f = { st->trie, &b, st };
		if ((rc = st->be.foreach_account(st->be.ctx, fill_account, &f)))
			goto out;
		st->trie_built = true;
	}
	for (size_t i = 0; i < st->dirty_len; i++) {
		struct st_account *a = st->dirty[i];
		/* the hook hears of accounts whose leaf (nonce, balance, storage
		 * root, code hash) or existence changed, not of mere touches */
		uint8_t old[160];
		size_t old_len = 0;
		bool had = false;
		if (st->on_commit) {
			const uint8_t *v;
			size_t vl;
			if (phr_trie_get(st->trie, &v, &vl, a->addr, 20) == PHR_OK) {
				had = true;
				old_len = vl <= sizeof(old) ? vl : SIZE_MAX;
				if (vl <= sizeof(old))
					memcpy(old, v, vl);
			}
		}
		if ((rc = commit_account(st, a, &b)))
			goto out;
		if (st->on_commit &&
		    (had != a->exists ||
		     (a->exists && (old_len != b.len || memcmp(old, b.data, b.len) != 0))))
			st->on_commit(st->on_commit_ctx, a->addr);
		if (changes) {
			if ((rc = change_add(changes, &cap, a)))
				goto out;
			if ((rc = change_slots(&changes->accounts[changes->count - 1], a)))
				goto out;
		}
		size_t k = 0;
		for (struct st_slot *s; (s = slot_next_dirty(a, &k));)
			s->dirty = false;
		a->dkeys_len = 0;
		a->dkeys_lost = false;
		a->in_dirty = a->code_dirty = a->wiped = false;
		if (a->strie_built && a->slots_used > SLOTS_KEEP && st->j_len == 0) {
			/* a large table of clean slots repeats what the storage trie
			 * holds: phr_st_slot reads a slot it lacks from the trie */
			phr_free(a->slots);
			a->slots = NULL;
			a->slots_cap = a->slots_used = 0;
		}
	}
	st->dirty_len = 0;
	rc = phr_trie_root(st->trie, root);
out:
	phr_buf_release(&b);
	if (rc && changes)
		phr_state_changes_release(changes);
	return rc;
}

void phr_state_changes_release(struct phr_state_changes *c)
{
	for (size_t i = 0; i < c->count; i++)
		phr_free(c->accounts[i].slots);
	phr_free(c->accounts);
	c->accounts = NULL;
	c->count = 0;
}

int phr_state_prove_account(struct phr_state *st, struct phr_buf **nodes, size_t *count,
			    const uint8_t addr[20])
{
	return phr_trie_prove(st->trie, nodes, count, addr, 20);
}

int phr_state_prove_storage(struct phr_state *st, struct phr_buf **nodes, size_t *count,
			    const uint8_t addr[20], const uint8_t key[32])
{
	struct st_account *a = phr_st_account(st, addr);
	if (!a)
		return take_error(st);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int rc = strie_ready(st, a, &b);
	phr_buf_release(&b);
	if (rc)
		return rc;
	return phr_trie_prove(a->strie, nodes, count, key, 32);
}
