/*
 * Concurrency of the node's chain writes: per-sender nonces (several
 * transactions of one sender in flight) and group commit of View audit
 * entries (AuditTrail.logViews). Capsules are added without a node-side lock:
 * their CIDs are distinct (fresh sealed boxes) and the store's pin writes are
 * concurrent, their directory syncs grouped (src/store/blockstore.c).
 *
 * Group commit: a read appends its entry to its reader's queue. When no
 * transaction of that reader's batcher is in flight, the thread becomes the
 * leader: it takes every queued entry (up to the contract's batch limit),
 * sends one logViews transaction and hands each entry its result; the reads
 * that queued meanwhile form the next batch. Nothing is acknowledged before
 * its entry is on chain, so kill -9 loses no audited read.
 */
#include <string.h>

#include "phr/contracts.h"
#include "txq.h"

#define READER_SLOTS 64
#define BATCH_MAX 256 /* AuditTrail.MAX_BATCH */
#define ENTRY_BYTES 53

struct ventry {
	uint8_t patient[20];
	struct phr_u256 record;
	uint8_t purpose;
	int result;
	bool done;
	struct ventry *next;
};

struct reader_slot {
	bool used, busy;
	uint8_t reader[20];
	struct ventry *head, *tail;
};

struct nonce_slot {
	bool used;
	uint8_t sender[20];
	uint64_t next;
};

struct phr_txq {
	sqlite3 *db; /* DIR/phr.db for the lock-free paths (capsules, denials, audit_tx) */
	pthread_mutex_t nlock;
	struct nonce_slot nonces[READER_SLOTS];
	pthread_mutex_t vlock;
	pthread_cond_t vcond;
	struct reader_slot slots[READER_SLOTS];
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
	pthread_mutex_init(&q->nlock, NULL);
	pthread_mutex_init(&q->vlock, NULL);
	pthread_cond_init(&q->vcond, NULL);
	*out = q;
	return PHR_OK;
}

void phr_txq_i_close(struct phr_txq *q)
{
	if (q == NULL)
		return;
	phr_log_debug("phr", "View audit: %llu entries in %llu transactions",
		      (unsigned long long)q->entries, (unsigned long long)q->batches);
	sqlite3_close(q->db);
	pthread_mutex_destroy(&q->nlock);
	pthread_mutex_destroy(&q->vlock);
	pthread_cond_destroy(&q->vcond);
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

sqlite3 *phr_txq_i_db(struct phr_txq *q)
{
	return q->db;
}

int phr_node_i_add_capsule(struct phr_node *n, struct phr_cid *cid, const uint8_t pk[32],
			   const uint8_t *key)
{
	return phr_store_add_capsule(n->store, cid, pk, key);
}

/* The slot of @p reader (found or claimed); NULL when the table is full. Under vlock. */
static struct reader_slot *slot_of(struct phr_txq *q, const uint8_t reader[20])
{
	struct reader_slot *free_slot = NULL;

	for (size_t i = 0; i < READER_SLOTS; i++) {
		struct reader_slot *s = &q->slots[(stripe(reader) + i) % READER_SLOTS];
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
		rv = phr_node_i_tx(n, NULL, reader, n->dep.audit, &cd);
	phr_buf_release(&cd);
	return rv;
}

/* Sends the entries of @p batch (@p count of them) and sets each result. */
static void send_batch(struct phr_node *n, const struct phr_identity *reader,
		       struct ventry *batch, size_t count)
{
	uint8_t packed[BATCH_MAX * ENTRY_BYTES], *p = packed;
	struct phr_buf cd;
	int rv;

	if (count == 1) {
		batch->result = log_one(n, reader, batch);
		return;
	}
	for (struct ventry *e = batch; e != NULL; e = e->next) {
		memcpy(p, e->patient, 20);
		phr_u256_to_be(p + 20, &e->record);
		p[52] = e->purpose;
		p += ENTRY_BYTES;
	}
	phr_buf_init(&cd, 0);
	rv = phr_contracts_audit_trail_log_views_encode(&cd, packed, count * ENTRY_BYTES);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, reader, n->dep.audit, &cd);
	phr_buf_release(&cd);
	if (rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_REVERTED)
		phr_log_info("phr", "a group of %zu View entries was refused: sending each alone",
			     count);
	for (struct ventry *e = batch; e != NULL; e = e->next)
		/* an entry refused (access revoked meanwhile, before the estimate or between
		 * it and the block): each on its own, so only the refused read fails */
		e->result = rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_REVERTED ? log_one(n, reader, e)
									    : rv;
}

int phr_node_i_log_view(struct phr_node *n, const struct phr_identity *reader,
			const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose)
{
	struct phr_txq *q = n->txq;
	struct ventry e;
	struct reader_slot *s;

	memset(&e, 0, sizeof(e));
	memcpy(e.patient, patient, 20);
	e.record = *record;
	e.purpose = (uint8_t)purpose;
	pthread_mutex_lock(&q->vlock);
	s = slot_of(q, reader->address);
	if (s == NULL) { /* more concurrent readers than slots: unbatched */
		pthread_mutex_unlock(&q->vlock);
		return log_one(n, reader, &e);
	}
	if (s->tail != NULL)
		s->tail->next = &e;
	else
		s->head = &e;
	s->tail = &e;
	while (!e.done) {
		struct ventry *batch, *last;
		size_t count = 1;
		if (s->busy) {
			pthread_cond_wait(&q->vcond, &q->vlock);
			continue;
		}
		/* lead: take up to BATCH_MAX queued entries */
		s->busy = true;
		batch = last = s->head;
		while (last->next != NULL && count < BATCH_MAX) {
			last = last->next;
			count++;
		}
		s->head = last->next;
		if (s->head == NULL)
			s->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&q->vlock);
		send_batch(n, reader, batch, count);
		pthread_mutex_lock(&q->vlock);
		q->batches++;
		q->entries += count;
		for (struct ventry *x = batch, *nx; x != NULL; x = nx) {
			nx = x->next; /* the owner may return as soon as done is set */
			x->done = true;
		}
		s->busy = false;
		if (s->head == NULL)
			s->used = false; /* nobody waiting: free the slot */
		pthread_cond_broadcast(&q->vcond);
	}
	pthread_mutex_unlock(&q->vlock);
	return e.result;
}
