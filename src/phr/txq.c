/*
 * Concurrency of the node's chain writes: per-sender nonces (several
 * transactions of one sender in flight) and group commit of View audit
 * entries (AuditTrail.logViews). Capsules are added without a node-side lock:
 * their CIDs are distinct (fresh sealed boxes) and the store's pin writes are
 * concurrent, their directory syncs grouped (src/store/blockstore.c).
 *
 * Mints are grouped the same way per provider: concurrent submissions by one
 * provider become one HealthRecordNFT.mintRecords transaction (all or
 * nothing; when it is refused, each record is sent alone so only the refused
 * one fails). A submission returns once its token is on chain.
 *
 * Group commit: a read appends its entry to its reader's queue. When no
 * transaction of that reader's batcher is in flight, the thread becomes the
 * leader: it takes every queued entry (up to the contract's batch limit),
 * sends one logViews transaction and hands each entry its result; the reads
 * that queued meanwhile form the next batch. Nothing is acknowledged before
 * its entry is on chain, so kill -9 loses no audited read.
 *
 * View transactions go on a gas guess without the eth_call that checks it
 * (phr_node_i_tx_guessed): one EVM run less per transaction. The reader's
 * access was checked just before, so a refusal is rare (a grant revoked or
 * expired in between): such a transaction is mined and reverts, is sent
 * again checked, and the group falls back to one entry at a time. A group
 * of mints goes on a gas guess too while the provider's groups are accepted;
 * a refused group (no write access, a bad amendment: common outside input,
 * each such transaction mined would cost a block) makes the next
 * MINT_CHECKED groups of every provider go checked (the eth_call first), so
 * refusals cost at most one reverted block per MINT_CHECKED + 1 groups. A
 * record sent alone (a group of one, or each of a refused group's) is always
 * checked.
 *
 * The statements of the per-request paths (capsule index, denials,
 * audit_tx) are prepared once on this module's connection and handed to one
 * thread at a time (phr_txq_i_stmt).
 */
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "txq.h"

#define READER_SLOTS 64
#define BATCH_MAX 256 /* AuditTrail.MAX_BATCH */
#define ENTRY_BYTES 53

/* An entry of a group commit queue (first member of ventry and mentry). */
struct qentry {
	struct qentry *next;
	int result;
	bool done;
	pthread_cond_t *cv; /* its owner waits here (group_commit; one per owner) */
};

struct ventry {
	struct qentry q;
	uint8_t patient[20];
	struct phr_u256 record;
	uint8_t purpose;
};

struct mentry {
	struct qentry q;
	uint8_t patient[20];
	uint8_t hash[32];
	const char *cid;
	uint8_t rtype;
	struct phr_u256 supersedes;
	const char *caps[2];      /* capsule CIDs of the patient and of the provider, or NULL */
	const uint8_t *readers[2];
	struct phr_u256 token_id; /* out */
};

struct reader_slot {
	bool used, busy, leader_waiting;
	uint8_t reader[20];
	struct qentry *head, *tail;
	size_t queued;
};

/* How long a leader waits at most for entries announced as coming (group_commit). */
#define COMING_WAIT_NS 2000000L

/* Sends the @p count entries from @p batch as one group and sets each result. */
typedef void (*send_group_fn)(struct phr_node *n, const struct phr_identity *who,
			      struct qentry *batch, size_t count);

struct nonce_slot {
	bool used;
	uint8_t sender[20];
	uint64_t next;
};

/* The most gas a transaction of one kind (contract and selector) used, and its calldata size. */
#define GAS_KINDS 32
#define GAS_GUESS_MAX 15000000 /* half the dev chain's block: above it, the estimate decides */

struct gas_kind {
	bool used;
	uint8_t to[20];
	uint8_t sel[4];
	uint64_t gas;
	size_t len;
};

static const char *const stmt_sql[PHR_TXQ_SQL_COUNT] = {
	[PHR_TXQ_SQL_CAPSULE_GET] = "SELECT cid FROM capsules WHERE record = ?1 AND reader = ?2",
	[PHR_TXQ_SQL_DENY] = "INSERT INTO denials(time, accessor, patient, record, reason)"
			     " VALUES(?1,?2,?3,?4,?5)",
	[PHR_TXQ_SQL_AUDIT_TX] = "INSERT INTO audit_tx(hash) VALUES(?1)",
};

/* A statement prepared once, used by one thread at a time. */
struct stmt_slot {
	pthread_mutex_t lock;
	sqlite3_stmt *st;
};

/*
 * What recordOf said of a token that does not change while it lives (patient, provider, type,
 * creation, supersedes, data hash, CID): a token's record is written once by its mint, and a
 * burn deletes it (its id is never minted again). Not kept: supersededBy, and whether it
 * still lives (the caller's canAccess or AuditTrail.logViews, which checks that the record is
 * live and the patient's, decides that in the request).
 */
/*
 * The table is direct-mapped by token id: HealthRecordNFT numbers tokens 1, 2, 3..., so slot
 * (id mod size) keeps every token up to the table's size apart. It starts at META_SLOTS_MIN
 * and doubles, up to META_SLOTS_MAX, when a token past its end is put (a node holding more
 * records): zeroed pages of an untouched part cost no memory, a slot kept costs 160 bytes
 * (docs/node.md). Ids or supersedes that do not fit 64 bits, and CIDs of 60 characters or
 * more, are not kept.
 */
#define META_SLOTS_MIN 16384u
#define META_SLOTS_MAX (1u << 22)
#define META_CID_MAX 60

struct meta_slot {
	uint64_t token; /* 0: empty (no token 0) */
	uint64_t supersedes;
	uint64_t created_at;
	uint8_t patient[20], provider[20], hash[32];
	uint8_t rtype;
	char cid[META_CID_MAX];
};

/* Mint groups sent checked after a refused one (see the file comment). */
#define MINT_CHECKED 16u

struct phr_txq {
	atomic_uint mint_checked; /* mint groups still to send checked */
	sqlite3 *db; /* DIR/phr.db for the lock-free paths (capsules, denials, audit_tx) */
	pthread_mutex_t mlock;
	struct meta_slot *meta; /* meta_n slots, under mlock; NULL when it could not be allocated */
	size_t meta_n;          /* a power of two */
	struct stmt_slot stmts[PHR_TXQ_SQL_COUNT];
	pthread_mutex_t nlock;
	struct nonce_slot nonces[READER_SLOTS];
	struct gas_kind gas[GAS_KINDS]; /* under nlock */
	pthread_mutex_t vlock;
	pthread_cond_t lcond; /* leaders waiting for announced entries (CLOCK_MONOTONIC) */
	struct reader_slot slots[READER_SLOTS];  /* View entries, per reader */
	struct reader_slot mslots[READER_SLOTS]; /* mints, per provider */
	/* entries announced and not queued yet, by stripe of the reader / provider */
	unsigned vcoming[READER_SLOTS], mcoming[READER_SLOTS];
	uint64_t batches, entries; /* counters, under vlock */
};

int phr_txq_i_open(struct phr_txq **out, const char *db_path)
{
	struct phr_txq *q = phr_calloc(1, sizeof(*q));

	if (q == NULL)
		return PHR_ERR_NOMEM;
	/* a connection of its own: a statement here never lands inside a transaction
	 * another part of the node holds open on the node's connection */
	if (sqlite3_open_v2(db_path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(q->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("phr", "%s: %s", db_path, q->db ? sqlite3_errmsg(q->db) : "open failed");
		sqlite3_close(q->db);
		phr_free(q);
		return PHR_ERR_DB;
	}
	sqlite3_busy_timeout(q->db, 10000);
	for (size_t i = 0; i < PHR_TXQ_SQL_COUNT; i++)
		pthread_mutex_init(&q->stmts[i].lock, NULL);
	pthread_mutex_init(&q->nlock, NULL);
	pthread_mutex_init(&q->vlock, NULL);
	pthread_mutex_init(&q->mlock, NULL);
	q->meta = phr_calloc(META_SLOTS_MIN, sizeof(*q->meta));
	q->meta_n = META_SLOTS_MIN;
	{
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&q->lcond, &a);
		pthread_condattr_destroy(&a);
	}
	*out = q;
	return PHR_OK;
}

void phr_txq_i_close(struct phr_txq *q)
{
	if (q == NULL)
		return;
	phr_log_debug("phr", "grouped writes: %llu entries in %llu transactions",
		      (unsigned long long)q->entries, (unsigned long long)q->batches);
	for (size_t i = 0; i < PHR_TXQ_SQL_COUNT; i++) {
		sqlite3_finalize(q->stmts[i].st);
		pthread_mutex_destroy(&q->stmts[i].lock);
	}
	sqlite3_close(q->db);
	phr_free(q->meta);
	pthread_mutex_destroy(&q->mlock);
	pthread_mutex_destroy(&q->nlock);
	pthread_mutex_destroy(&q->vlock);
	pthread_cond_destroy(&q->lcond);
	phr_free(q);
}

static size_t stripe(const uint8_t a[20])
{
	return (size_t)(a[19] ^ (a[18] << 3) ^ a[0]) % READER_SLOTS;
}

int phr_txq_i_nonce_take(struct phr_txq *q, uint64_t *nonce, struct phr_chain *c,
			 const uint8_t sender[20])
{
	struct nonce_slot *s = NULL;
	uint64_t pending = 0;
	int rv;

	/* the chain's view first: transactions sent from elsewhere with the same key */
	if ((rv = phr_chain_nonce(c, &pending, sender)) != PHR_OK)
		return rv;
	pthread_mutex_lock(&q->nlock);
	for (size_t i = 0; i < READER_SLOTS && s == NULL; i++) {
		struct nonce_slot *x = &q->nonces[(stripe(sender) + i) % READER_SLOTS];
		if (!x->used) {
			x->used = true;
			memcpy(x->sender, sender, 20);
			x->next = 0;
		}
		if (memcmp(x->sender, sender, 20) == 0)
			s = x;
	}
	if (s == NULL) {
		*nonce = pending; /* table full: no pipelining for this sender */
	} else {
		*nonce = s->next > pending ? s->next : pending;
		s->next = *nonce + 1;
	}
	pthread_mutex_unlock(&q->nlock);
	return PHR_OK;
}

void phr_txq_i_nonce_reset(struct phr_txq *q, const uint8_t sender[20])
{
	pthread_mutex_lock(&q->nlock);
	for (size_t i = 0; i < READER_SLOTS; i++)
		if (q->nonces[i].used && memcmp(q->nonces[i].sender, sender, 20) == 0)
			q->nonces[i].next = 0; /* the chain's pending nonce again */
	pthread_mutex_unlock(&q->nlock);
}

/* The kind of (@p to, selector of @p data) (found, or claimed when @p claim). Under nlock. */
static struct gas_kind *gas_kind_of(struct phr_txq *q, const uint8_t to[20], const uint8_t *data,
				    bool claim)
{
	for (size_t i = 0; i < GAS_KINDS; i++) {
		struct gas_kind *k = &q->gas[(stripe(to) + data[0] + data[3] + i) % GAS_KINDS];
		if (k->used && memcmp(k->to, to, 20) == 0 && memcmp(k->sel, data, 4) == 0)
			return k;
		if (!k->used && claim) {
			k->used = true;
			memcpy(k->to, to, 20);
			memcpy(k->sel, data, 4);
			return k;
		}
	}
	return NULL;
}

uint64_t phr_txq_i_gas_guess(struct phr_txq *q, const uint8_t to[20], const uint8_t *data,
			     size_t len)
{
	struct gas_kind *k;
	uint64_t g = 0;

	if (len < 4)
		return 0;
	pthread_mutex_lock(&q->nlock);
	if ((k = gas_kind_of(q, to, data, false)) != NULL && k->len > 0) {
		g = k->gas;
		if (len > k->len) /* a larger group of the same call: about proportional */
			g = g / k->len * len + g % k->len * len / k->len;
	}
	pthread_mutex_unlock(&q->nlock);
	/* a quarter more covers refunds (at most a fifth of the gas used) and the 63/64 rule */
	g = g + g / 4 + 20000;
	return g > 20000 && g <= GAS_GUESS_MAX ? g : 0;
}

void phr_txq_i_gas_learn(struct phr_txq *q, const uint8_t to[20], const uint8_t *data, size_t len,
			 uint64_t used)
{
	struct gas_kind *k;

	if (len < 4 || used > GAS_GUESS_MAX)
		return;
	pthread_mutex_lock(&q->nlock);
	if ((k = gas_kind_of(q, to, data, true)) != NULL && used > k->gas) {
		k->gas = used;
		k->len = len;
	}
	pthread_mutex_unlock(&q->nlock);
}

sqlite3 *phr_txq_i_db(struct phr_txq *q)
{
	return q->db;
}

sqlite3_stmt *phr_txq_i_stmt(struct phr_txq *q, enum phr_txq_sql which)
{
	struct stmt_slot *s = &q->stmts[which];

	pthread_mutex_lock(&s->lock);
	if (s->st == NULL &&
	    sqlite3_prepare_v3(q->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s->st,
			       NULL) != SQLITE_OK) {
		phr_log_warn("phr", "statement: %s", sqlite3_errmsg(q->db));
		sqlite3_finalize(s->st);
		s->st = NULL;
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	return s->st;
}

void phr_txq_i_stmt_done(struct phr_txq *q, enum phr_txq_sql which)
{
	struct stmt_slot *s = &q->stmts[which];

	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
	pthread_mutex_unlock(&s->lock);
}

/* The 64-bit key of token @p id, or 0 when it has none (0 itself, or wider than 64 bits). */
static uint64_t meta_key(const struct phr_u256 *id)
{
	return id->w[1] == 0 && id->w[2] == 0 && id->w[3] == 0 ? id->w[0] : 0;
}

/* The slot of token key @p k (mlock held). */
static struct meta_slot *meta_slot_of(struct phr_txq *q, uint64_t k)
{
	return &q->meta[k & (q->meta_n - 1)];
}

/* Grows the table to hold key @p k apart from smaller ones, if it may (mlock held). */
static void meta_grow(struct phr_txq *q, uint64_t k)
{
	size_t n = q->meta_n;
	struct meta_slot *t;

	while (n <= k && n < META_SLOTS_MAX)
		n *= 2;
	if (n == q->meta_n || (t = phr_calloc(n, sizeof(*t))) == NULL)
		return;
	for (size_t i = 0; i < q->meta_n; i++)
		if (q->meta[i].token != 0)
			t[q->meta[i].token & (n - 1)] = q->meta[i];
	phr_free(q->meta);
	q->meta = t;
	q->meta_n = n;
}

bool phr_txq_i_meta_get(struct phr_txq *q, struct phr_record_meta *m, const struct phr_u256 *id)
{
	uint64_t k = meta_key(id);
	struct meta_slot *s;
	bool hit;

	if (q->meta == NULL || k == 0)
		return false;
	pthread_mutex_lock(&q->mlock);
	s = meta_slot_of(q, k);
	hit = s->token == k;
	if (hit) {
		memset(m, 0, sizeof(*m));
		m->token_id = *id;
		memcpy(m->patient, s->patient, 20);
		memcpy(m->provider, s->provider, 20);
		m->rtype = s->rtype;
		m->created_at = s->created_at;
		m->supersedes = phr_u256_from_u64(s->supersedes);
		memcpy(m->data_hash, s->hash, 32);
		memcpy(m->cid, s->cid, sizeof(s->cid));
	}
	pthread_mutex_unlock(&q->mlock);
	return hit;
}

void phr_txq_i_meta_put(struct phr_txq *q, const struct phr_record_meta *m)
{
	uint64_t k = meta_key(&m->token_id);
	struct meta_slot *s;
	size_t len = strlen(m->cid);

	if (q->meta == NULL || k == 0 || len >= META_CID_MAX || m->rtype > 255 ||
	    !phr_u256_fits_u64(&m->supersedes))
		return;
	pthread_mutex_lock(&q->mlock);
	if (k >= q->meta_n)
		meta_grow(q, k);
	s = meta_slot_of(q, k);
	s->token = k;
	memcpy(s->patient, m->patient, 20);
	memcpy(s->provider, m->provider, 20);
	s->rtype = (uint8_t)m->rtype;
	s->created_at = m->created_at;
	s->supersedes = m->supersedes.w[0];
	memcpy(s->hash, m->data_hash, 32);
	memcpy(s->cid, m->cid, len + 1);
	pthread_mutex_unlock(&q->mlock);
}

void phr_txq_i_meta_drop(struct phr_txq *q, const struct phr_u256 *id)
{
	uint64_t k = meta_key(id);
	struct meta_slot *s;

	if (q->meta == NULL || k == 0)
		return;
	pthread_mutex_lock(&q->mlock);
	s = meta_slot_of(q, k);
	if (s->token == k)
		s->token = 0;
	pthread_mutex_unlock(&q->mlock);
}

void phr_txq_i_meta_minted(struct phr_node *n, uint64_t number, const uint8_t provider[20],
			   struct phr_record_meta *m, size_t count)
{
	uint64_t ts;

	if (n->txq->meta == NULL || phr_node_i_block_fields(n->chain, number, NULL, &ts) != PHR_OK)
		return;
	for (size_t i = 0; i < count; i++) {
		m[i].created_at = ts;
		memcpy(m[i].provider, provider, 20);
		m[i].superseded_by = PHR_U256_ZERO;
		phr_txq_i_meta_put(n->txq, &m[i]);
	}
}

int phr_node_i_add_capsule(struct phr_node *n, struct phr_cid *cid, const uint8_t pk[32],
			   const uint8_t *key)
{
	return phr_store_add_capsule(n->store, cid, pk, key);
}

/* The slot of @p reader in @p table (found or claimed); NULL when the table is full. Under
 * vlock. */
static struct reader_slot *slot_of(struct reader_slot *table, const uint8_t reader[20])
{
	struct reader_slot *free_slot = NULL;

	for (size_t i = 0; i < READER_SLOTS; i++) {
		struct reader_slot *s = &table[(stripe(reader) + i) % READER_SLOTS];
		if (s->used && memcmp(s->reader, reader, 20) == 0)
			return s;
		if (!s->used && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot != NULL) {
		free_slot->used = true;
		memcpy(free_slot->reader, reader, 20);
	}
	return free_slot;
}

/* AuditTrail.logAccess(View) of one entry. */
static int log_one(struct phr_node *n, const struct phr_identity *reader, const struct ventry *e)
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	rv = phr_contracts_audit_trail_log_access_encode(&cd, e->patient, &e->record, PHR_AUDIT_VIEW,
							 e->purpose);
	if (rv == PHR_OK)
		rv = phr_node_i_tx_guessed(n, NULL, reader, n->dep.audit, &cd);
	phr_buf_release(&cd);
	return rv;
}

/* Sends the View entries of @p batch (@p count of them) and sets each result. */
static void send_views(struct phr_node *n, const struct phr_identity *reader,
		       struct qentry *batch, size_t count)
{
	uint8_t packed[BATCH_MAX * ENTRY_BYTES], *p = packed;
	struct phr_buf cd;
	int rv;

	if (count == 1) {
		batch->result = log_one(n, reader, (struct ventry *)batch);
		return;
	}
	for (struct qentry *x = batch; x != NULL; x = x->next) {
		const struct ventry *e = (const struct ventry *)x;
		memcpy(p, e->patient, 20);
		phr_u256_to_be(p + 20, &e->record);
		p[52] = e->purpose;
		p += ENTRY_BYTES;
	}
	phr_buf_init(&cd, 0);
	rv = phr_contracts_audit_trail_log_views_encode(&cd, packed, count * ENTRY_BYTES);
	if (rv == PHR_OK)
		rv = phr_node_i_tx_guessed(n, NULL, reader, n->dep.audit, &cd);
	phr_buf_release(&cd);
	if (rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_REVERTED)
		phr_log_info("phr", "a group of %zu View entries was refused: sending each alone",
			     count);
	for (struct qentry *x = batch; x != NULL; x = x->next)
		/* an entry refused (access revoked meanwhile, before the estimate or between
		 * it and the block): each on its own, so only the refused read fails */
		x->result = rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_REVERTED
				    ? log_one(n, reader, (struct ventry *)x)
				    : rv;
}

/* The announced entries of @p who in the counters of @p table (q->slots or q->mslots). */
static unsigned *coming_of(struct phr_txq *q, struct reader_slot *table, const uint8_t who[20])
{
	return (table == q->slots ? q->vcoming : q->mcoming) + stripe(who);
}

/* Counts an entry of @p who as coming (@p begin) or no longer coming; wakes a waiting leader
 * when none is. Under vlock. */
static void coming_step(struct phr_txq *q, struct reader_slot *table, const uint8_t who[20],
			bool begin, size_t k)
{
	unsigned *c = coming_of(q, table, who);

	if (k == 0)
		return;
	if (begin) {
		*c += (unsigned)k;
	} else if (*c > 0) {
		*c = *c > k ? *c - (unsigned)k : 0;
		if (*c == 0)
			pthread_cond_broadcast(&q->lcond);
	}
}

static void announce(struct phr_node *n, struct reader_slot *table, const uint8_t who[20],
		     bool begin, size_t k)
{
	pthread_mutex_lock(&n->txq->vlock);
	coming_step(n->txq, table, who, begin, k);
	pthread_mutex_unlock(&n->txq->vlock);
}

void phr_node_i_view_announce(struct phr_node *n, const uint8_t reader[20], bool begin)
{
	announce(n, n->txq->slots, reader, begin, 1);
}

void phr_node_i_views_announce(struct phr_node *n, const uint8_t reader[20], bool begin, size_t k)
{
	announce(n, n->txq->slots, reader, begin, k);
}

void phr_node_i_mint_announce(struct phr_node *n, const uint8_t provider[20], bool begin)
{
	announce(n, n->txq->mslots, provider, begin, 1);
}

/* A leader of @p s waits (at most COMING_WAIT_NS) while entries of its sender are announced
 * and its group is not full, so that they join this group rather than the next one. Under
 * vlock. */
static void wait_coming(struct phr_txq *q, struct reader_slot *s, const unsigned *coming,
			size_t max)
{
	struct timespec dl;

	if (*coming == 0 || s->queued >= max)
		return;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += COMING_WAIT_NS;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	s->leader_waiting = true;
	while (*coming > 0 && s->queued < max)
		if (pthread_cond_timedwait(&q->lcond, &q->vlock, &dl) != 0)
			break; /* timed out */
	s->leader_waiting = false;
}

/*
 * Queues the @p k entries from @p first (linked by next, the last one's next
 * NULL) in the slot of @p who in @p table and returns once groups that hold
 * them all were sent (each entry's result set): the first thread with no
 * group of that slot in flight leads, waits briefly for the entries announced
 * as coming (wait_coming), takes up to @p max queued entries and sends them
 * with @p send; the others wait until their last entry is done (groups leave
 * the queue in order, so the earlier ones are done too). With @p announced
 * the entries were announced (phr_node_i_view_announce...) and are no longer
 * coming.
 */
static void group_commit(struct phr_node *n, struct reader_slot *table,
			 const struct phr_identity *who, struct qentry *first, size_t k, size_t max,
			 send_group_fn send, bool announced)
{
	struct phr_txq *q = n->txq;
	const unsigned *coming = coming_of(q, table, who->address);
	struct reader_slot *s;
	struct qentry *last = first;
	pthread_cond_t cv;

	while (last->next != NULL)
		last = last->next;
	pthread_mutex_lock(&q->vlock);
	if (announced)
		coming_step(q, table, who->address, false, k);
	s = slot_of(table, who->address);
	if (s == NULL) { /* more concurrent senders than slots: unbatched */
		pthread_mutex_unlock(&q->vlock);
		for (struct qentry *x = first, *nx; x != NULL; x = nx) {
			nx = x->next;
			x->next = NULL;
			send(n, who, x, 1);
			x->next = nx;
		}
		return;
	}
	/* one condition per waiting thread: a group's end wakes the owners of its
	 * entries and the next leader, not every thread waiting on any slot */
	pthread_cond_init(&cv, NULL);
	for (struct qentry *x = first; x != NULL; x = x->next)
		x->cv = &cv;
	if (s->tail != NULL)
		s->tail->next = first;
	else
		s->head = first;
	s->tail = last;
	s->queued += k;
	if (s->leader_waiting)
		pthread_cond_broadcast(&q->lcond);
	while (!last->done) {
		struct qentry *batch, *end;
		size_t count = 1;
		if (s->busy) {
			pthread_cond_wait(&cv, &q->vlock);
			continue;
		}
		/* lead: take up to max queued entries, once the announced ones are in */
		s->busy = true;
		wait_coming(q, s, coming, max);
		batch = end = s->head;
		while (end->next != NULL && count < max) {
			end = end->next;
			count++;
		}
		s->head = end->next;
		if (s->head == NULL)
			s->tail = NULL;
		end->next = NULL;
		s->queued -= count;
		pthread_mutex_unlock(&q->vlock);
		send(n, who, batch, count);
		pthread_mutex_lock(&q->vlock);
		q->batches++;
		q->entries += count;
		for (struct qentry *x = batch, *nx; x != NULL; x = nx) {
			/* the owner returns once it has the lock again, which we hold */
			nx = x->next;
			x->done = true;
			if (x->cv != &cv && (nx == NULL || nx->cv != x->cv))
				pthread_cond_signal(x->cv);
		}
		s->busy = false;
		if (s->head == NULL)
			s->used = false; /* nobody waiting: free the slot */
		else if (s->head->cv != &cv)
			pthread_cond_signal(s->head->cv); /* the next leader */
	}
	pthread_mutex_unlock(&q->vlock);
	pthread_cond_destroy(&cv);
}

static int log_view(struct phr_node *n, const struct phr_identity *reader,
		    const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose,
		    bool announced)
{
	struct ventry e;

	memset(&e, 0, sizeof(e));
	memcpy(e.patient, patient, 20);
	e.record = *record;
	e.purpose = (uint8_t)purpose;
	group_commit(n, n->txq->slots, reader, &e.q, 1, BATCH_MAX, send_views, announced);
	return e.q.result;
}

int phr_node_i_log_view(struct phr_node *n, const struct phr_identity *reader,
			const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose)
{
	return log_view(n, reader, patient, record, purpose, false);
}

int phr_node_i_log_view_announced(struct phr_node *n, const struct phr_identity *reader,
				  const uint8_t patient[20], const struct phr_u256 *record,
				  unsigned purpose)
{
	return log_view(n, reader, patient, record, purpose, true);
}

int phr_node_i_log_views_announced(struct phr_node *n, const struct phr_identity *reader,
				   struct phr_node_view *v, size_t k)
{
	struct ventry *e;

	if (k == 0)
		return PHR_OK;
	if ((e = phr_calloc(k, sizeof(*e))) == NULL) {
		phr_node_i_views_announce(n, reader->address, false, k);
		return PHR_ERR_NOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		memcpy(e[i].patient, v[i].patient, 20);
		e[i].record = *v[i].record;
		e[i].purpose = (uint8_t)v[i].purpose;
		e[i].q.next = i + 1 < k ? &e[i + 1].q : NULL;
	}
	/* queued together: one wait for all, and they land in one group unless it is full */
	group_commit(n, n->txq->slots, reader, &e[0].q, k, BATCH_MAX, send_views, true);
	for (size_t i = 0; i < k; i++)
		v[i].result = e[i].q.result;
	phr_free(e);
	return PHR_OK;
}

/* ---- mints ---- */

int phr_node_i_minted_ids(struct phr_u256 *ids, size_t want, const struct phr_chain_receipt *r,
			  const uint8_t nft[20])
{
	size_t got = 0;

	for (size_t i = 0; i < r->logs_count; i++) {
		const struct phr_chain_log *l = &r->logs[i];
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (memcmp(l->address, nft, 20) != 0 || l->topics_count == 0 ||
		    memcmp(l->topics[0], phr_contracts_health_record_nft_record_minted_event_topic,
			   32) != 0)
			continue;
		if (got == want)
			return PHR_ERR_PARSE; /* more mints than records sent */
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])l->topics, l->topics_count, l->data,
			    l->data_len) != PHR_OK)
			return PHR_ERR_PARSE;
		ids[got++] = ev.token_id;
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
	}
	return got == want ? PHR_OK : PHR_ERR_PARSE;
}

int phr_node_i_mint_pack(uint8_t *out, size_t cap, size_t *off, const uint8_t patient[20],
			 const uint8_t hash[32], unsigned rtype, const struct phr_u256 *supersedes,
			 const char *cid)
{
	size_t len = strlen(cid);

	if (len == 0 || len > PHR_NODE_MINT_CID_MAX || rtype > 255)
		return PHR_ERR_INVALID;
	if (*off > cap || cap - *off < PHR_NODE_MINT_HEAD + len)
		return PHR_ERR_TOO_LARGE;
	out += *off;
	memcpy(out, patient, 20);
	memcpy(out + 20, hash, 32);
	out[52] = (uint8_t)rtype;
	phr_u256_to_be(out + 53, supersedes);
	out[85] = (uint8_t)len;
	memcpy(out + PHR_NODE_MINT_HEAD, cid, len);
	*off += PHR_NODE_MINT_HEAD + len;
	return PHR_OK;
}

/* Sends @p cd (a mint of the entries from @p batch) and reads their token ids. */
static int mint_tx(struct phr_node *n, const struct phr_identity *provider, struct qentry *batch,
		   const struct phr_buf *cd, bool trust)
{
	struct phr_u256 ids[PHR_NODE_MINT_BATCH_MAX];
	struct phr_record_meta metas[PHR_NODE_MINT_BATCH_MAX];
	struct phr_chain_receipt r;
	size_t count = 0;
	int rv;

	for (struct qentry *x = batch; x != NULL; x = x->next)
		count++;
	/* on the bare guess only when trusted (MINT_CHECKED): a refused mint (no write access, a
	 * bad amendment) is common outside input, and each one mined and reverted costs a block */
	rv = trust ? phr_node_i_tx_guessed(n, &r, provider, n->dep.nft, cd)
		   : phr_node_i_tx(n, &r, provider, n->dep.nft, cd);
	if (rv != PHR_OK)
		return rv;
	rv = phr_node_i_minted_ids(ids, count, &r, n->dep.nft);
	phr_chain_receipt_release(&r);
	count = 0;
	for (struct qentry *x = batch; x != NULL && rv == PHR_OK; x = x->next) {
		struct mentry *e = (struct mentry *)x;
		struct phr_record_meta *k = &metas[count];
		e->token_id = ids[count++];
		memset(k, 0, sizeof(*k));
		k->token_id = e->token_id;
		memcpy(k->patient, e->patient, 20);
		k->rtype = e->rtype;
		k->supersedes = e->supersedes;
		memcpy(k->data_hash, e->hash, 32);
		if (strlen(e->cid) < sizeof(k->cid))
			memcpy(k->cid, e->cid, strlen(e->cid) + 1);
	}
	if (rv == PHR_OK)
		phr_txq_i_meta_minted(n, r.block_number, provider->address, metas, count);
	return rv;
}

/* HealthRecordNFT.mintRecord of one entry (its next is ignored). */
static int mint_one(struct phr_node *n, const struct phr_identity *provider, struct mentry *m)
{
	struct qentry *next = m->q.next;
	struct phr_buf cd;
	int rv;

	m->q.next = NULL;
	phr_buf_init(&cd, 0);
	rv = phr_contracts_health_record_nft_mint_record_encode(&cd, m->patient, m->hash, m->cid,
								m->rtype, &m->supersedes);
	if (rv == PHR_OK)
		rv = mint_tx(n, provider, &m->q, &cd, false);
	phr_buf_release(&cd);
	m->q.next = next;
	return rv;
}

/* Whether @p rv is the chain refusing a call (a revert), not a failure to reach it. */
static bool refused(int rv)
{
	return rv == PHR_ERR_REVERTED || rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_NOT_FOUND ||
	       rv == PHR_ERR_CONFLICT || rv == PHR_ERR_INVALID || rv == PHR_ERR_EXPIRED ||
	       rv == PHR_ERR_EXISTS || rv == PHR_ERR_STATE;
}

/* The capsules of the minted entries of @p batch in the node's index, in one commit; an
 * entry whose rows could not be written fails (its token exists, its submission does not
 * succeed, as when its own insert failed). */
static void index_capsules(struct phr_node *n, struct qentry *batch)
{
	struct phr_node_capsule_row rows[PHR_NODE_CAPSULE_ROWS_MAX];
	size_t count = 0;
	int rv;

	for (struct qentry *x = batch; x != NULL; x = x->next) {
		const struct mentry *m = (const struct mentry *)x;
		for (int k = 0; k < 2 && x->result == PHR_OK && count < PHR_NODE_CAPSULE_ROWS_MAX; k++)
			if (m->caps[k] != NULL)
				rows[count++] = (struct phr_node_capsule_row){ &m->token_id,
									       m->readers[k],
									       m->caps[k] };
	}
	if (count == 0 || (rv = phr_node_i_capsule_put_rows(n, rows, count)) == PHR_OK)
		return;
	phr_log_warn("phr", "capsule index: %s", phr_strerror(rv));
	for (struct qentry *x = batch; x != NULL; x = x->next)
		if (x->result == PHR_OK && ((const struct mentry *)x)->caps[0] != NULL)
			x->result = rv;
}

static void send_mints(struct phr_node *n, const struct phr_identity *provider,
		       struct qentry *batch, size_t count)
{
	uint8_t packed[PHR_NODE_MINT_BATCH_MAX * (PHR_NODE_MINT_HEAD + PHR_NODE_MINT_CID_MAX)];
	size_t off = 0;
	struct phr_buf cd;
	int rv = PHR_OK;

	if (count == 1) {
		batch->result = mint_one(n, provider, (struct mentry *)batch);
		index_capsules(n, batch);
		return;
	}
	for (struct qentry *x = batch; x != NULL && rv == PHR_OK; x = x->next) {
		const struct mentry *m = (const struct mentry *)x;
		/* a CID the contract refuses: each alone below, where it fails by itself */
		rv = phr_node_i_mint_pack(packed, sizeof(packed), &off, m->patient, m->hash,
					  m->rtype, &m->supersedes, m->cid);
	}
	phr_buf_init(&cd, 0);
	if (rv == PHR_OK)
		rv = phr_contracts_health_record_nft_mint_records_encode(&cd, packed, off);
	if (rv == PHR_OK) {
		unsigned left = atomic_load(&n->txq->mint_checked);
		bool trust = left == 0;
		while (left > 0 && !atomic_compare_exchange_weak(&n->txq->mint_checked, &left, left - 1))
			;
		rv = mint_tx(n, provider, batch, &cd, trust);
	}
	phr_buf_release(&cd);
	if (refused(rv)) {
		atomic_store(&n->txq->mint_checked, MINT_CHECKED);
		phr_log_info("phr", "a group of %zu mints was refused: sending each alone", count);
	}
	for (struct qentry *x = batch; x != NULL; x = x->next)
		/* one record refused (no write access, superseded twice...): each on its own,
		 * so only that submission fails */
		x->result = refused(rv) ? mint_one(n, provider, (struct mentry *)x) : rv;
	index_capsules(n, batch);
}

static int mint(struct phr_node *n, struct phr_u256 *token_id,
		const struct phr_identity *provider, const uint8_t patient[20],
		const uint8_t hash[32], const char *cid, unsigned rtype,
		const struct phr_u256 *supersedes, bool announced, const char *cap_patient,
		const char *cap_provider)
{
	struct mentry m;
	int rv;

	memset(&m, 0, sizeof(m));
	if (cap_patient != NULL && cap_provider != NULL) {
		m.caps[0] = cap_patient;
		m.caps[1] = cap_provider;
		m.readers[0] = patient;
		m.readers[1] = provider->address;
	}
	memcpy(m.patient, patient, 20);
	memcpy(m.hash, hash, 32);
	m.cid = cid;
	m.rtype = (uint8_t)rtype;
	m.supersedes = *supersedes;
	group_commit(n, n->txq->mslots, provider, &m.q, 1, PHR_NODE_MINT_BATCH_MAX, send_mints,
		     announced);
	rv = m.q.result;
	if (rv == PHR_OK)
		*token_id = m.token_id;
	return rv;
}

int phr_node_i_mint(struct phr_node *n, struct phr_u256 *token_id,
		    const struct phr_identity *provider, const uint8_t patient[20],
		    const uint8_t hash[32], const char *cid, unsigned rtype,
		    const struct phr_u256 *supersedes)
{
	return mint(n, token_id, provider, patient, hash, cid, rtype, supersedes, false, NULL, NULL);
}

int phr_node_i_mint_announced(struct phr_node *n, struct phr_u256 *token_id,
			      const struct phr_identity *provider, const uint8_t patient[20],
			      const uint8_t hash[32], const char *cid, unsigned rtype,
			      const struct phr_u256 *supersedes, const char *cap_patient,
			      const char *cap_provider)
{
	return mint(n, token_id, provider, patient, hash, cid, rtype, supersedes, true, cap_patient,
		    cap_provider);
}
