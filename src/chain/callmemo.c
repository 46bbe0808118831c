/*
 * The memo of eth_call results of the embedded node (see docs/chain.md).
 *
 * An entry holds one call (from, to, value, gas, calldata), its outcome
 * (return data or revert data) and what the execution read: the version of
 * every account it looked up and the block values it could have used. The
 * node bumps an account's version whenever a commit of the state changes it
 * (phr_state_commit's dirty list, through state->on_commit) and drops every
 * entry when the state is replaced (evm_revert) or may be unsound (a node
 * made read-only by a storage failure). An entry is answered only while all
 * its versions and block values are unchanged, so a hit returns exactly what
 * executing the call again would.
 *
 * Versions live in a fixed table indexed by a hash of the address: two
 * accounts sharing a cell only make entries expire early, never late.
 * Entries live in a set-associative table (4 ways, least recently used out).
 * The heap bytes of the entries (call data, output, read set) stay under a
 * budget: an entry that would pass it first clears others, a clock hand
 * sweeping the table, so many large calls cannot grow the memo past it.
 * Every function runs with the node's lock held (phr_chain_node_guard).
 */
#include "chain_int.h"
#include "state_int.h"

#define MEMO_WAYS 4
/* larger call data or outputs are not kept */
#define MEMO_ITEM_MAX 4096
#define MEMO_VCELLS 16384u /* power of two */

struct memo_dep {
	uint32_t cell;
	uint64_t ver;
};

struct memo_entry {
	uint64_t hash; /* 0: empty */
	uint64_t used; /* last use (LRU within the set) */
	uint8_t from[20], to[20];
	struct phr_u256 value;
	uint64_t gas;
	uint8_t *data;
	size_t data_len;
	struct memo_dep *deps;
	size_t deps_n;
	/* block values the execution saw, compared for the bits of env */
	unsigned env;
	struct phr_state_block blk;
	/* outcome */
	int status; /* PHR_EVM_SUCCESS or PHR_EVM_REVERT */
	uint8_t *out;
	size_t out_len;
};

struct chain_memo {
	struct memo_entry *e;
	size_t sets;
	uint64_t clock;
	size_t bytes, budget; /* heap bytes of the entries, and their bound */
	size_t hand;          /* next entry the budget sweep looks at */
	uint64_t ver[MEMO_VCELLS];
	uint64_t hits, misses; /* atomic: read by stats without the lock */
	bool off;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t cell_of(const uint8_t addr[20])
{
	return (uint32_t)(fnv(0xcbf29ce484222325ull, addr, 20) & (MEMO_VCELLS - 1));
}

static uint64_t key_hash(const struct memo_key *k)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t v[32];

	phr_u256_to_be(v, &k->value);
	h = fnv(h, k->from, 20);
	h = fnv(h, k->to, 20);
	h = fnv(h, v, 32);
	h = fnv(h, &k->gas, sizeof(k->gas));
	h = fnv(h, k->data, k->data_len);
	return h ? h : 1;
}

static bool key_eq(const struct memo_entry *e, uint64_t h, const struct memo_key *k)
{
	return e->hash == h && e->gas == k->gas && e->data_len == k->data_len &&
	       memcmp(e->to, k->to, 20) == 0 && memcmp(e->from, k->from, 20) == 0 &&
	       phr_u256_eq(&e->value, &k->value) &&
	       (k->data_len == 0 || memcmp(e->data, k->data, k->data_len) == 0);
}

/* heap bytes of an entry (its call data, output and read set) */
static size_t entry_bytes(size_t data_len, size_t out_len, size_t deps_n)
{
	return data_len + out_len + deps_n * sizeof(struct memo_dep);
}

static void entry_clear(struct chain_memo *m, struct memo_entry *e)
{
	if (e->hash)
		m->bytes -= entry_bytes(e->data_len, e->out_len, e->deps_n);
	phr_free(e->data);
	phr_free(e->deps);
	phr_free(e->out);
	memset(e, 0, sizeof(*e));
}

int chain_memo_open(struct chain_memo **out, size_t entries, size_t budget)
{
	struct chain_memo *m = phr_calloc(1, sizeof(*m));

	if (!m)
		return PHR_ERR_NOMEM;
	m->sets = entries / MEMO_WAYS ? entries / MEMO_WAYS : 1;
	m->budget = budget;
	m->e = phr_calloc(m->sets * MEMO_WAYS, sizeof(*m->e));
	if (!m->e) {
		phr_free(m);
		return PHR_ERR_NOMEM;
	}
	*out = m;
	return PHR_OK;
}

void chain_memo_clear(struct chain_memo *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->sets * MEMO_WAYS; i++)
		if (m->e[i].hash)
			entry_clear(m, &m->e[i]);
}

void chain_memo_close(struct chain_memo *m)
{
	if (!m)
		return;
	chain_memo_clear(m);
	phr_free(m->e);
	phr_free(m);
}

void chain_memo_bump(void *ctx, const uint8_t addr[20])
{
	struct chain_memo *m = ctx;

	m->ver[cell_of(addr)]++;
}

void chain_memo_enable(struct chain_memo *m, bool on)
{
	m->off = !on;
}

bool chain_memo_on(const struct chain_memo *m)
{
	return m && !m->off;
}

size_t chain_memo_bytes(const struct chain_memo *m)
{
	return m ? m->bytes : 0;
}

/*
 * Clears entries other than @p keep, sweeping the table from the clock hand,
 * until @p need more bytes fit the budget; false if they cannot.
 */
static bool make_room(struct chain_memo *m, const struct memo_entry *keep, size_t need)
{
	size_t total = m->sets * MEMO_WAYS, seen;

	if (need > m->budget)
		return false;
	for (seen = 0; m->bytes + need > m->budget && seen < total; seen++) {
		struct memo_entry *e = &m->e[m->hand];

		m->hand = (m->hand + 1) % total;
		if (e != keep && e->hash)
			entry_clear(m, e);
	}
	return m->bytes + need <= m->budget;
}

void chain_memo_stats(const struct chain_memo *m, uint64_t *hits, uint64_t *misses)
{
	*hits = m ? __atomic_load_n(&m->hits, __ATOMIC_RELAXED) : 0;
	*misses = m ? __atomic_load_n(&m->misses, __ATOMIC_RELAXED) : 0;
}

/* Are the block values the entry used those of @p now? */
static bool env_same(const struct memo_entry *e, const struct phr_state_block *now)
{
	const struct phr_state_block *b = &e->blk;

	if ((e->env & PHR_ST_ENV_NUMBER) &&
	    (b->number != now->number || memcmp(b->prevrandao, now->prevrandao, 32) != 0))
		return false;
	if ((e->env & PHR_ST_ENV_TIMESTAMP) && b->timestamp != now->timestamp)
		return false;
	if ((e->env & PHR_ST_ENV_BASEFEE) && !phr_u256_eq(&b->base_fee, &now->base_fee))
		return false;
	if ((e->env & PHR_ST_ENV_GASLIMIT) && b->gas_limit != now->gas_limit)
		return false;
	if ((e->env & PHR_ST_ENV_COINBASE) && memcmp(b->coinbase, now->coinbase, 20) != 0)
		return false;
	if ((e->env & PHR_ST_ENV_CHAINID) && !phr_u256_eq(&b->chain_id, &now->chain_id))
		return false;
	if ((e->env & PHR_ST_ENV_BLOBFEE) && b->excess_blob_gas != now->excess_blob_gas)
		return false;
	return true;
}

static bool entry_valid(const struct chain_memo *m, const struct memo_entry *e,
			const struct phr_state_block *now)
{
	size_t i;

	for (i = 0; i < e->deps_n; i++)
		if (m->ver[e->deps[i].cell] != e->deps[i].ver)
			return false;
	return env_same(e, now);
}

int chain_memo_get(struct chain_memo *m, int *status, struct phr_buf *out, uint64_t *made_at,
		   const struct memo_key *k, const struct phr_state_block *now)
{
	uint64_t h;
	struct memo_entry *set;
	size_t w;
	int rc;

	if (!chain_memo_on(m))
		return PHR_ERR_NOT_FOUND;
	h = key_hash(k);
	set = &m->e[(h % m->sets) * MEMO_WAYS];
	for (w = 0; w < MEMO_WAYS; w++) {
		struct memo_entry *e = &set[w];

		if (!key_eq(e, h, k))
			continue;
		if (!entry_valid(m, e, now)) {
			entry_clear(m, e);
			break;
		}
		rc = e->out_len ? phr_buf_append(out, e->out, e->out_len) : PHR_OK;
		if (rc != PHR_OK)
			return rc;
		e->used = ++m->clock;
		*status = e->status;
		if (made_at)
			*made_at = e->blk.number ? e->blk.number - 1 : 0;
		__atomic_add_fetch(&m->hits, 1, __ATOMIC_RELAXED);
		return PHR_OK;
	}
	__atomic_add_fetch(&m->misses, 1, __ATOMIC_RELAXED);
	return PHR_ERR_NOT_FOUND;
}

void chain_memo_put(struct chain_memo *m, const struct memo_key *k,
		    const struct phr_st_readset *rs, const struct phr_state_block *blk, int status,
		    const uint8_t *output, size_t output_len)
{
	uint64_t h;
	struct memo_entry *set, *e = NULL, n = { 0 };
	size_t w, i;

	if (!chain_memo_on(m) || rs->overflow || k->data_len > MEMO_ITEM_MAX ||
	    output_len > MEMO_ITEM_MAX || (status != PHR_EVM_SUCCESS && status != PHR_EVM_REVERT))
		return;
	h = key_hash(k);
	set = &m->e[(h % m->sets) * MEMO_WAYS];
	/* the same call, else a free way, else the least recently used */
	for (w = 0; w < MEMO_WAYS && !e; w++)
		if (key_eq(&set[w], h, k))
			e = &set[w];
	for (w = 0; w < MEMO_WAYS && !e; w++)
		if (!set[w].hash)
			e = &set[w];
	if (!e) {
		e = &set[0];
		for (w = 1; w < MEMO_WAYS; w++)
			if (set[w].used < e->used)
				e = &set[w];
	}
	n.data = k->data_len ? phr_malloc(k->data_len) : NULL;
	n.deps = rs->n ? phr_calloc(rs->n, sizeof(*n.deps)) : NULL;
	n.out = output_len ? phr_malloc(output_len) : NULL;
	if ((k->data_len && !n.data) || (rs->n && !n.deps) || (output_len && !n.out)) {
		entry_clear(m, &n); /* not memoized (n.hash is 0): only a later miss */
		return;
	}
	entry_clear(m, e); /* the way taken: its bytes are free first */
	if (!make_room(m, e, entry_bytes(k->data_len, output_len, rs->n))) {
		entry_clear(m, &n);
		return;
	}
	n.hash = h;
	n.used = ++m->clock;
	memcpy(n.from, k->from, 20);
	memcpy(n.to, k->to, 20);
	n.value = k->value;
	n.gas = k->gas;
	if (k->data_len)
		memcpy(n.data, k->data, k->data_len);
	n.data_len = k->data_len;
	for (i = 0; i < rs->n; i++) {
		n.deps[i].cell = cell_of(rs->addrs[i]);
		n.deps[i].ver = m->ver[n.deps[i].cell];
	}
	n.deps_n = rs->n;
	n.env = rs->env;
	n.blk = *blk;
	n.blk.block_hash = NULL;
	n.blk.block_hash_ctx = NULL;
	n.status = status;
	if (output_len)
		memcpy(n.out, output, output_len);
	n.out_len = output_len;
	*e = n;
	m->bytes += entry_bytes(n.data_len, n.out_len, n.deps_n);
}

void chain_memo_attach(struct phr_chain_node *n, struct phr_state *st)
{
	st->on_commit = n->memo ? chain_memo_bump : NULL;
	st->on_commit_ctx = n->memo;
}
