/*
 * Batches of records (records_batch.h): every record's ciphertext and key
 * capsules are stored first (concurrent workers, each in one store group:
 * one shared fdatasync per worker instead of one per object), then the tokens are minted
 * by HealthRecordNFT.mintRecords, PHR_RECORD_BATCH_CHUNK records per
 * transaction (each transaction all or nothing on chain). Every chunk is
 * simulated (eth_call) before the first one is sent, so a batch the chain
 * would refuse mints nothing. The dry run is made at the gas guess of earlier
 * mints, so that it also is the check of that guess: a chunk that passed goes
 * on it without another eth_call (one EVM run per chunk instead of two).
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/records_batch.h"
#include "phr_int.h"
#include "txq.h"

#define BATCH_WORKERS 8
_Static_assert(PHR_RECORD_BATCH_CHUNK == PHR_NODE_MINT_BATCH_MAX, "one chunk is one mintRecords call");

/* What the store phase made for one record. */
struct prep {
	struct phr_cid cap_pat, cap_prov;
	char cid[PHR_CID_STR_MAX];
	uint8_t hash[32];
	uint8_t patient_pk[32]; /* its patient's registered key (patient_keys) */
	int pk_rv;
};

struct batch {
	struct phr_node *node;
	const struct phr_identity *provider;
	const struct phr_record_item *items;
	struct phr_record_receipt *out;
	struct prep *prep;
	int *rv;      /* per item */
	int *chunk_rv; /* per chunk */
	bool *trusted; /* per chunk: its dry run passed at the gas guess (simulate) */
	size_t count;
	int (*job)(struct batch *b, size_t j);
	size_t jobs;
	atomic_size_t next;
	bool grouped;      /* the store phase: each worker's objects in one store group */
	uint8_t *lane_of;  /* per item: the worker that stored it */
};

/* One worker thread of run_jobs. */
struct lane {
	struct batch *b;
	uint8_t id;
	int grv; /* its store group's result */
};

/*
 * Takes jobs until none is left. In the store phase the worker's objects go
 * into one store group (phr_store_group_begin): durable together with one
 * shared wait at its end, instead of one wait per object; an item counts as
 * stored only when that end succeeded.
 */
static void *worker(void *arg)
{
	struct lane *l = arg;
	struct batch *b = l->b;
	int grv = b->grouped ? phr_store_group_begin(b->node->store) : PHR_OK;

	for (;;) {
		size_t j = atomic_fetch_add(&b->next, 1);
		if (j >= b->jobs)
			break;
		if (b->grouped) {
			b->lane_of[j] = l->id;
			if (grv != PHR_OK) {
				b->rv[j] = grv;
				continue;
			}
		}
		(void)b->job(b, j);
	}
	if (b->grouped && grv == PHR_OK)
		grv = phr_store_group_end(b->node->store);
	l->grv = grv;
	return NULL;
}

/* Runs b->job(b, j) for j in [0, jobs) on up to BATCH_WORKERS threads (the caller's too). */
static void run_jobs(struct batch *b, int (*job)(struct batch *b, size_t j), size_t jobs, bool grouped)
{
	pthread_t t[BATCH_WORKERS];
	struct lane lanes[BATCH_WORKERS];
	size_t started = 0, nt = jobs < BATCH_WORKERS ? jobs : BATCH_WORKERS;

	b->job = job;
	b->jobs = jobs;
	b->grouped = grouped;
	atomic_store(&b->next, 0);
	for (size_t i = 0; i < BATCH_WORKERS; i++) {
		lanes[i].b = b;
		lanes[i].id = (uint8_t)i;
		lanes[i].grv = PHR_OK;
	}
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&t[started], NULL, worker, &lanes[started + 1]) == 0)
			started++;
	worker(&lanes[0]);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	/* a group that did not end well: none of its items is stored */
	for (size_t j = 0; grouped && j < jobs; j++)
		if (lanes[b->lane_of[j]].grv != PHR_OK && b->rv[j] == PHR_OK)
			b->rv[j] = lanes[b->lane_of[j]].grv;
}

/* The encrypted object of salt || data (a fresh salt) under @p key; its hash on chain. */
static int store_envelope(struct phr_node *n, struct prep *p, const uint8_t *key, const uint8_t *data,
			  size_t len)
{
	struct phr_cid root;
	int fd = -1, rv;

	rv = phr_node_i_envelope(&fd, p->hash, data, len);
	if (rv == PHR_OK)
		rv = phr_store_add_encrypted_fd(n->store, &root, fd, key, NULL);
	if (rv == PHR_OK)
		rv = phr_cid_format(p->cid, sizeof(p->cid), &root);
	phr_node_i_envelope_close(fd);
	return rv;
}

/* Store phase of item @p i: ciphertext and both key capsules. */
static int prepare(struct batch *b, size_t i)
{
	const struct phr_record_item *it = &b->items[i];
	struct prep *p = &b->prep[i];
	uint8_t patient_pk[32];
	uint8_t *key = NULL;
	int rv;

	if ((rv = p->pk_rv) != PHR_OK)
		goto out;
	memcpy(patient_pk, p->patient_pk, 32);
	if ((key = phr_crypto_key_new()) == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	if ((rv = store_envelope(b->node, p, key, it->data, it->len)) == PHR_OK &&
	    (rv = phr_node_i_add_capsule(b->node, &p->cap_pat, patient_pk, key)) == PHR_OK)
		rv = phr_node_i_add_capsule(b->node, &p->cap_prov, b->provider->box_pk, key);
out:
	phr_crypto_key_free(key);
	b->rv[i] = rv;
	return rv;
}

/* The registered key of each item's patient, asked once per patient of the batch (most
 * batches are one patient's) instead of once per item. */
#define KEYS_SEEN 64 /* patients remembered; past that many, a key is asked per item */

static void patient_keys(struct batch *b)
{
	size_t seen[KEYS_SEEN], ns = 0;

	for (size_t i = 0; i < b->count; i++) {
		size_t k = 0;
		/* the first item of the same patient, if remembered */
		while (k < ns && memcmp(b->items[seen[k]].patient, b->items[i].patient, 20) != 0)
			k++;
		if (k < ns) {
			memcpy(b->prep[i].patient_pk, b->prep[seen[k]].patient_pk, 32);
			b->prep[i].pk_rv = b->prep[seen[k]].pk_rv;
			continue;
		}
		b->prep[i].pk_rv = phr_node_i_enc_key(b->node, b->prep[i].patient_pk, b->items[i].patient);
		if (ns < KEYS_SEEN)
			seen[ns++] = i;
	}
}

/* Items [*lo, *hi) of chunk @p c. */
static void chunk_range(const struct batch *b, size_t c, size_t *lo, size_t *hi)
{
	*lo = c * PHR_RECORD_BATCH_CHUNK;
	*hi = *lo + PHR_RECORD_BATCH_CHUNK < b->count ? *lo + PHR_RECORD_BATCH_CHUNK : b->count;
}

/* mintRecords calldata of chunk @p c. */
static int chunk_calldata(struct batch *b, struct phr_buf *cd, size_t c)
{
	uint8_t packed[PHR_RECORD_BATCH_CHUNK * (PHR_NODE_MINT_HEAD + PHR_NODE_MINT_CID_MAX)];
	size_t lo, hi, off = 0;
	int rv = PHR_OK;

	chunk_range(b, c, &lo, &hi);
	for (size_t i = lo; i < hi && rv == PHR_OK; i++)
		rv = phr_node_i_mint_pack(packed, sizeof(packed), &off, b->items[i].patient, b->prep[i].hash,
					  b->items[i].rtype, &b->items[i].supersedes, b->prep[i].cid);
	if (rv != PHR_OK)
		return rv;
	return phr_contracts_health_record_nft_mint_records_encode(cd, packed, off);
}

/*
 * Dry run of chunk @p c (eth_call from the provider): the error the chain would give. Run at
 * the gas guess of earlier mints when there is one: when it passes there, the chunk's
 * transaction goes on that guess without a second dry run (the check send_tx would make is
 * this one); otherwise (no guess, or it fails at the guess) run as before with the call's
 * default gas, which tells the error, and the transaction is sent checked.
 */
static int simulate(struct batch *b, size_t c)
{
	struct phr_buf cd, out;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 1 << 16);
	rv = chunk_calldata(b, &cd, c);
	if (rv == PHR_OK) {
		b->trusted[c] = phr_node_i_call_guessed(b->node, b->provider->address, b->node->dep.nft,
							&cd) == PHR_OK;
		if (!b->trusted[c])
			rv = phr_node_i_call(b->node, &out, b->provider->address, b->node->dep.nft, &cd);
	}
	phr_buf_release(&cd);
	phr_buf_release(&out);
	b->chunk_rv[c] = rv;
	return rv;
}

/*
 * The capsule index rows (patient's and provider's) of items [lo, hi) in one
 * statement: one commit (one WAL sync) per chunk instead of one per record.
 * A single statement, as the lock-free connection requires (txq.h); the table
 * is node.c's (as phr_node_i_capsule_put2 writes it).
 */
static int capsule_rows(struct batch *b, const struct phr_u256 *ids, size_t lo, size_t hi)
{
	char sql[64 + PHR_RECORD_BATCH_CHUNK * 2 * 14];
	char rec[PHR_RECORD_BATCH_CHUNK][PHR_U256_DEC_LEN];
	char c1[PHR_RECORD_BATCH_CHUNK][PHR_CID_STR_MAX], c2[PHR_RECORD_BATCH_CHUNK][PHR_CID_STR_MAX];
	sqlite3_stmt *st = NULL;
	size_t len;
	int k = 1, rv = PHR_OK;

	len = (size_t)snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO capsules(record, reader, cid) VALUES");
	for (size_t i = lo; i < hi; i++) {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(?,?,?),(?,?,?)", i > lo ? "," : "");
		phr_u256_to_dec(rec[i - lo], &ids[i - lo]);
		if ((rv = phr_cid_format(c1[i - lo], sizeof(c1[0]), &b->prep[i].cap_pat)) != PHR_OK ||
		    (rv = phr_cid_format(c2[i - lo], sizeof(c2[0]), &b->prep[i].cap_prov)) != PHR_OK)
			return rv;
	}
	if (len >= sizeof(sql) ||
	    sqlite3_prepare_v2(phr_txq_i_db(b->node->txq), sql, -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	for (size_t i = lo; i < hi; i++) {
		sqlite3_bind_text(st, k++, rec[i - lo], -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, k++, b->items[i].patient, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, k++, c1[i - lo], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, k++, rec[i - lo], -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, k++, b->provider->address, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, k++, c2[i - lo], -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* Mints chunk @p c in one transaction; then the capsule rows of its records. */
static int mint_chunk(struct batch *b, size_t c)
{
	struct phr_u256 ids[PHR_RECORD_BATCH_CHUNK];
	struct phr_chain_receipt r;
	struct phr_buf cd;
	size_t lo, hi;
	int rv, rows = PHR_OK;

	chunk_range(b, c, &lo, &hi);
	phr_buf_init(&cd, 0);
	rv = chunk_calldata(b, &cd, c);
	if (rv == PHR_OK)
		rv = b->trusted[c] ? phr_node_i_tx_guessed(b->node, &r, b->provider, b->node->dep.nft, &cd)
				   : phr_node_i_tx(b->node, &r, b->provider, b->node->dep.nft, &cd);
	phr_buf_release(&cd);
	if (rv == PHR_OK) {
		rv = phr_node_i_minted_ids(ids, hi - lo, &r, b->node->dep.nft);
		phr_chain_receipt_release(&r);
	}
	if (rv == PHR_OK) { /* what recordOf will say of them: no recordOf call at their first read */
		struct phr_record_meta metas[PHR_RECORD_BATCH_CHUNK];
		for (size_t i = lo; i < hi; i++) {
			struct phr_record_meta *k = &metas[i - lo];
			memset(k, 0, sizeof(*k));
			k->token_id = ids[i - lo];
			memcpy(k->patient, b->items[i].patient, 20);
			k->rtype = b->items[i].rtype;
			k->supersedes = b->items[i].supersedes;
			memcpy(k->data_hash, b->prep[i].hash, 32);
			memcpy(k->cid, b->prep[i].cid, sizeof(k->cid));
		}
		phr_txq_i_meta_minted(b->node, r.block_number, b->provider->address, metas, hi - lo);
	}
	/* minted: the receipts stand even if the capsule rows fail (reported per item) */
	if (rv == PHR_OK)
		rows = capsule_rows(b, ids, lo, hi);
	for (size_t i = lo; i < hi; i++) {
		if (rv == PHR_OK) {
			b->out[i].token_id = ids[i - lo];
			memcpy(b->out[i].cid, b->prep[i].cid, sizeof(b->out[i].cid));
			memcpy(b->out[i].data_hash, b->prep[i].hash, 32);
		}
		b->rv[i] = rv != PHR_OK ? rv : rows;
	}
	b->chunk_rv[c] = rv;
	if (rv == PHR_OK)
		phr_log_info("phr", "%zu records minted in one transaction", hi - lo);
	return rv;
}

static int cmp_u256(const void *a, const void *b)
{
	return phr_u256_cmp(a, b);
}

/* Checks without the chain: types, sizes, no token superseded twice. */
static int check_items(const struct phr_record_item *items, size_t count)
{
	struct phr_u256 *sup = phr_calloc(count, sizeof(*sup));
	size_t ns = 0;
	int rv = PHR_OK;

	if (sup == NULL)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < count && rv == PHR_OK; i++) {
		if (items[i].rtype > PHR_RECORD_TYPE_MAX || (items[i].data == NULL && items[i].len > 0))
			rv = PHR_ERR_INVALID;
		else if (items[i].len > PHR_RECORD_MAX)
			rv = PHR_ERR_TOO_LARGE;
		else if (!phr_u256_is_zero(&items[i].supersedes))
			sup[ns++] = items[i].supersedes;
	}
	if (rv == PHR_OK && ns > 1) {
		qsort(sup, ns, sizeof(*sup), cmp_u256);
		for (size_t i = 1; i < ns && rv == PHR_OK; i++)
			if (phr_u256_eq(&sup[i - 1], &sup[i]))
				rv = PHR_ERR_CONFLICT;
	}
	phr_free(sup);
	return rv;
}

/* The first error of @p v[0..n) (PHR_OK when none). */
static int first_err(const int *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != PHR_OK)
			return v[i];
	return PHR_OK;
}

/* After a refused simulation: each item gets its chunk's code, or PHR_ERR_STATE (not sent). */
static void fill_refused(struct batch *b, size_t nchunks)
{
	for (size_t c = 0; c < nchunks; c++) {
		size_t lo, hi;
		chunk_range(b, c, &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			b->rv[i] = b->chunk_rv[c] != PHR_OK ? b->chunk_rv[c] : PHR_ERR_STATE;
	}
}

int phr_node_records_submit_batch(struct phr_node *node, struct phr_record_receipt *out,
				  int *results, const struct phr_identity *provider,
				  const struct phr_record_item *items, size_t count)
{
	struct batch b;
	size_t nchunks;
	int rv;

	if (count == 0)
		return PHR_OK;
	if (node == NULL || out == NULL || provider == NULL || items == NULL)
		return PHR_ERR_INVALID;
	if (count > PHR_RECORD_BATCH_MAX)
		return PHR_ERR_TOO_LARGE;
	nchunks = (count + PHR_RECORD_BATCH_CHUNK - 1) / PHR_RECORD_BATCH_CHUNK;
	memset(&b, 0, sizeof(b));
	b.node = node;
	b.provider = provider;
	b.items = items;
	b.out = out;
	b.count = count;
	b.rv = phr_calloc(count, sizeof(int));
	b.chunk_rv = phr_calloc(nchunks, sizeof(int));
	b.prep = phr_calloc(count, sizeof(*b.prep));
	b.lane_of = phr_calloc(count, 1);
	b.trusted = phr_calloc(nchunks, sizeof(bool));
	if (b.rv == NULL || b.chunk_rv == NULL || b.prep == NULL || b.lane_of == NULL ||
	    b.trusted == NULL) {
		rv = PHR_ERR_NOMEM;
		goto done;
	}
	memset(out, 0, count * sizeof(*out));
	if ((rv = check_items(items, count)) != PHR_OK) {
		for (size_t i = 0; i < count; i++)
			b.rv[i] = rv;
		goto done;
	}
	/* 1. ciphertext and capsules of every record (nothing on chain yet) */
	patient_keys(&b);
	run_jobs(&b, prepare, count, true);
	if ((rv = first_err(b.rv, count)) != PHR_OK) {
		for (size_t i = 0; i < count; i++)
			b.rv[i] = b.rv[i] != PHR_OK ? b.rv[i] : PHR_ERR_STATE;
		goto done;
	}
	/* 2. every chunk as the chain would run it now; one refusal: nothing is sent */
	run_jobs(&b, simulate, nchunks, false);
	if ((rv = first_err(b.chunk_rv, nchunks)) != PHR_OK) {
		fill_refused(&b, nchunks);
		goto done;
	}
	/* 3. the mint transactions, in flight together (per-sender nonces, txq.c) */
	run_jobs(&b, mint_chunk, nchunks, false);
	rv = first_err(b.rv, count);
done:
	if (results != NULL && b.rv != NULL)
		memcpy(results, b.rv, count * sizeof(int));
	if (b.prep != NULL)
		sodium_memzero(b.prep, count * sizeof(*b.prep));
	phr_free(b.prep);
	phr_free(b.lane_of);
	phr_free(b.trusted);
	phr_free(b.chunk_rv);
	phr_free(b.rv);
	return rv;
}
