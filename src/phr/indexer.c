/*
 * The chain indexer: the logs of the deployed contracts (PatientRegistry
 * grants, revocations and requests, HealthRecordNFT mints, burns and
 * supersessions, AuditTrail entries, EmergencyAccess, Recovery) copied into
 * DIR/index.db with a cursor (last block number and hash). The node's lists
 * query the index with the filters they used to send as eth_getLogs, so their
 * answers are the same by construction.
 */
#include <string.h>

#include "index_int.h"
#include "phr/crypto.h"
#include "phr/json.h"

/* Blocks per eth_getLogs request and per SQLite transaction. */
#define SYNC_CHUNK 2000

struct phr_index {
	pthread_mutex_t lock;
	sqlite3 *db;
	uint8_t addrs[6][20]; /* the deployment's contracts */
	uint8_t dep_id[32];   /* keccak of chain id and addresses: which deployment */
	bool have_cursor;
	uint64_t block;
	uint8_t hash[32];
	uint64_t fetched, rebuilds;
	bool healthy;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY CHECK(id = 0),"
	" deployment BLOB NOT NULL, block INTEGER, hash BLOB);"
	"CREATE TABLE IF NOT EXISTS logs(block INTEGER NOT NULL, log_index INTEGER NOT NULL,"
	" address BLOB NOT NULL, ntopics INTEGER NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB,"
	" topic3 BLOB, data BLOB, block_hash BLOB NOT NULL, tx_hash BLOB NOT NULL,"
	" tx_index INTEGER NOT NULL, PRIMARY KEY(block, log_index));"
	"CREATE INDEX IF NOT EXISTS logs_t1 ON logs(topic0, topic1, address);"
	"CREATE INDEX IF NOT EXISTS logs_t2 ON logs(topic0, topic2, address);";

static int db_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("index", "%s: %s", sql, sqlite3_errmsg(db));
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

/* Loads the cursor; a row of another deployment wipes everything. Caller holds the lock. */
static int load_meta(struct phr_index *ix)
{
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK, s;

	ix->have_cursor = false;
	if (sqlite3_prepare_v2(ix->db, "SELECT deployment, block, hash FROM meta WHERE id = 0", -1,
			       &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const void *dep = sqlite3_column_blob(st, 0), *h = sqlite3_column_blob(st, 2);
		bool same = dep != NULL && sqlite3_column_bytes(st, 0) == 32 &&
			    memcmp(dep, ix->dep_id, 32) == 0;
		if (same && h != NULL && sqlite3_column_bytes(st, 2) == 32) {
			ix->have_cursor = true;
			ix->block = (uint64_t)sqlite3_column_int64(st, 1);
			memcpy(ix->hash, h, 32);
		} else if (!same) {
			rv = PHR_ERR_STATE; /* another deployment's index */
		}
	} else if (s != SQLITE_DONE) {
		rv = PHR_ERR_DB;
	}
	sqlite3_finalize(st);
	return rv;
}

static int wipe_locked(struct phr_index *ix)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if ((rv = db_exec(ix->db, "BEGIN IMMEDIATE")) != PHR_OK)
		return rv;
	rv = db_exec(ix->db, "DELETE FROM logs; DELETE FROM meta;");
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(ix->db, "INSERT INTO meta(id, deployment) VALUES(0, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, ix->dep_id, 32, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
	}
	sqlite3_finalize(st);
	if (rv == PHR_OK)
		rv = db_exec(ix->db, "COMMIT");
	else
		(void)db_exec(ix->db, "ROLLBACK");
	if (rv == PHR_OK) {
		ix->have_cursor = false;
		ix->block = 0;
		memset(ix->hash, 0, 32);
		ix->rebuilds++;
	}
	return rv;
}

int phr_index_i_open(struct phr_index **out, const char *path, const struct phr_deployment *dep)
{
	struct phr_index *ix = phr_calloc(1, sizeof(*ix));
	uint8_t idb[8 + 6 * 20];
	int rv;

	if (ix == NULL)
		return PHR_ERR_NOMEM;
	memcpy(ix->addrs[0], dep->providers, 20);
	memcpy(ix->addrs[1], dep->registry, 20);
	memcpy(ix->addrs[2], dep->audit, 20);
	memcpy(ix->addrs[3], dep->nft, 20);
	memcpy(ix->addrs[4], dep->emergency, 20);
	memcpy(ix->addrs[5], dep->recovery, 20);
	for (int i = 0; i < 8; i++)
		idb[i] = (uint8_t)(dep->chain_id >> (56 - 8 * i));
	memcpy(idb + 8, ix->addrs, sizeof(ix->addrs));
	phr_keccak256(ix->dep_id, idb, sizeof(idb));
	if (sqlite3_open_v2(path, &ix->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    db_exec(ix->db, schema) != PHR_OK) {
		phr_log_error("index", "%s: %s", path, ix->db ? sqlite3_errmsg(ix->db) : "open failed");
		sqlite3_close(ix->db);
		phr_free(ix);
		return PHR_ERR_DB;
	}
	sqlite3_busy_timeout(ix->db, 5000);
	rv = load_meta(ix);
	if (rv == PHR_ERR_STATE || (rv == PHR_OK && !ix->have_cursor)) {
		if (rv == PHR_ERR_STATE)
			phr_log_warn("index", "%s belongs to another deployment: rebuilding", path);
		rv = wipe_locked(ix);
		ix->rebuilds = 0;
	}
	if (rv != PHR_OK) {
		sqlite3_close(ix->db);
		phr_free(ix);
		return rv;
	}
	pthread_mutex_init(&ix->lock, NULL);
	*out = ix;
	return PHR_OK;
}

void phr_index_i_close(struct phr_index *ix)
{
	if (ix == NULL)
		return;
	sqlite3_close(ix->db);
	pthread_mutex_destroy(&ix->lock);
	phr_free(ix);
}

/* Hash of block @p number; PHR_ERR_NOT_FOUND when the chain has no such block. */
static int block_hash(struct phr_chain *c, uint8_t hash[32], uint64_t number)
{
	return phr_node_i_block_fields(c, number, hash, NULL);
}

static void bind_opt_blob(sqlite3_stmt *st, int col, const void *p, size_t n)
{
	if (p != NULL)
		sqlite3_bind_blob(st, col, p, (int)n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col);
}

/* Writes @p logs and moves the cursor to (@p to, @p hash), in one transaction. */
static int store_chunk(struct phr_index *ix, const struct phr_chain_log *logs, size_t count,
		       uint64_t to, const uint8_t hash[32])
{
	sqlite3_stmt *ins = NULL, *cur = NULL;
	int rv;

	if ((rv = db_exec(ix->db, "BEGIN IMMEDIATE")) != PHR_OK)
		return rv;
	if (sqlite3_prepare_v2(ix->db,
			       "INSERT OR REPLACE INTO logs(block, log_index, address, ntopics, topic0,"
			       " topic1, topic2, topic3, data, block_hash, tx_hash, tx_index)"
			       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ix->db, "UPDATE meta SET block = ?, hash = ? WHERE id = 0", -1, &cur,
			       NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		const struct phr_chain_log *l = &logs[i];
		if (l->removed || l->topics_count > 4)
			continue;
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)l->block_number);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)l->log_index);
		sqlite3_bind_blob(ins, 3, l->address, 20, SQLITE_TRANSIENT);
		sqlite3_bind_int(ins, 4, (int)l->topics_count);
		for (size_t t = 0; t < 4; t++)
			bind_opt_blob(ins, 5 + (int)t, t < l->topics_count ? l->topics[t] : NULL, 32);
		if (l->data_len > 0)
			sqlite3_bind_blob(ins, 9, l->data, (int)l->data_len, SQLITE_TRANSIENT);
		else
			sqlite3_bind_zeroblob(ins, 9, 0);
		sqlite3_bind_blob(ins, 10, l->block_hash, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(ins, 11, l->tx_hash, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 12, (sqlite3_int64)l->tx_index);
		if (sqlite3_step(ins) != SQLITE_DONE)
			rv = PHR_ERR_DB;
	}
	if (rv == PHR_OK) {
		sqlite3_bind_int64(cur, 1, (sqlite3_int64)to);
		sqlite3_bind_blob(cur, 2, hash, 32, SQLITE_TRANSIENT);
		if (sqlite3_step(cur) != SQLITE_DONE)
			rv = PHR_ERR_DB;
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(cur);
	if (rv == PHR_OK)
		rv = db_exec(ix->db, "COMMIT");
	else
		(void)db_exec(ix->db, "ROLLBACK");
	if (rv == PHR_OK) {
		ix->have_cursor = true;
		ix->block = to;
		memcpy(ix->hash, hash, 32);
		ix->fetched += count;
	}
	return rv;
}

/* Copies blocks from..to. Caller holds the lock. */
static int fetch_range(struct phr_index *ix, struct phr_chain *c, uint64_t from, uint64_t to)
{
	struct phr_chain_filter f;
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	uint8_t hash[32];
	int rv;

	/* the hash first: a log of a block that changes meanwhile shows in its block_hash */
	if ((rv = block_hash(c, hash, to)) != PHR_OK)
		return rv;
	memset(&f, 0, sizeof(f));
	f.from_block = from;
	f.to_block = to;
	f.addresses = (const uint8_t(*)[20])ix->addrs;
	f.addresses_count = 6;
	if ((rv = phr_chain_get_logs(c, &logs, &count, &f)) != PHR_OK)
		return rv;
	for (size_t i = 0; i < count; i++)
		if (logs[i].block_number == to && memcmp(logs[i].block_hash, hash, 32) != 0)
			rv = PHR_ERR_STATE; /* the head moved under us: try again next time */
	if (rv == PHR_OK)
		rv = store_chunk(ix, logs, count, to, hash);
	phr_chain_logs_free(logs, count);
	return rv;
}

static int sync_locked(struct phr_index *ix, struct phr_chain *c)
{
	uint64_t head = 0, from;
	uint8_t h[32];
	int rv;

	if ((rv = phr_chain_block_number(c, &head)) != PHR_OK)
		return rv;
	if (ix->have_cursor) {
		rv = ix->block > head ? PHR_ERR_NOT_FOUND : block_hash(c, h, ix->block);
		if (rv == PHR_ERR_NOT_FOUND || (rv == PHR_OK && memcmp(h, ix->hash, 32) != 0)) {
			phr_log_warn("index", "block %llu is not the one indexed (another chain or a"
					      " reorg): rebuilding the index",
				     (unsigned long long)ix->block);
			rv = wipe_locked(ix);
		}
		if (rv != PHR_OK)
			return rv;
	}
	from = ix->have_cursor ? ix->block + 1 : 0;
	while (rv == PHR_OK && from <= head) {
		uint64_t to = head - from >= SYNC_CHUNK ? from + SYNC_CHUNK - 1 : head;
		rv = fetch_range(ix, c, from, to);
		from = to + 1;
	}
	return rv;
}

int phr_index_i_sync(struct phr_index *ix, struct phr_chain *c)
{
	int rv;

	pthread_mutex_lock(&ix->lock);
	rv = sync_locked(ix, c);
	if (rv != PHR_OK && ix->healthy)
		phr_log_warn("index", "catching up with the chain failed: %s", phr_strerror(rv));
	else if (rv == PHR_OK && !ix->healthy && ix->fetched + ix->rebuilds > 0)
		phr_log_info("index", "caught up with the chain at block %llu",
			     (unsigned long long)ix->block);
	ix->healthy = rv == PHR_OK;
	pthread_mutex_unlock(&ix->lock);
	return rv;
}

int phr_index_i_wipe(struct phr_index *ix)
{
	int rv;

	pthread_mutex_lock(&ix->lock);
	rv = wipe_locked(ix);
	pthread_mutex_unlock(&ix->lock);
	return rv;
}

static int row_to_log(struct phr_chain_log *l, sqlite3_stmt *st)
{
	const void *p;
	int n;

	memset(l, 0, sizeof(*l));
	l->block_number = (uint64_t)sqlite3_column_int64(st, 0);
	l->log_index = (uint64_t)sqlite3_column_int64(st, 1);
	p = sqlite3_column_blob(st, 2);
	if (p == NULL || sqlite3_column_bytes(st, 2) != 20)
		return PHR_ERR_CORRUPT;
	memcpy(l->address, p, 20);
	n = sqlite3_column_int(st, 3);
	if (n < 0 || n > 4)
		return PHR_ERR_CORRUPT;
	l->topics_count = (size_t)n;
	for (int t = 0; t < n; t++) {
		p = sqlite3_column_blob(st, 4 + t);
		if (p == NULL || sqlite3_column_bytes(st, 4 + t) != 32)
			return PHR_ERR_CORRUPT;
		memcpy(l->topics[t], p, 32);
	}
	p = sqlite3_column_blob(st, 8);
	n = sqlite3_column_bytes(st, 8);
	if (n > 0) {
		l->data = phr_malloc((size_t)n);
		if (l->data == NULL)
			return PHR_ERR_NOMEM;
		memcpy(l->data, p, (size_t)n);
		l->data_len = (size_t)n;
	}
	p = sqlite3_column_blob(st, 9);
	if (p == NULL || sqlite3_column_bytes(st, 9) != 32)
		return PHR_ERR_CORRUPT;
	memcpy(l->block_hash, p, 32);
	p = sqlite3_column_blob(st, 10);
	if (p == NULL || sqlite3_column_bytes(st, 10) != 32)
		return PHR_ERR_CORRUPT;
	memcpy(l->tx_hash, p, 32);
	l->tx_index = (uint64_t)sqlite3_column_int64(st, 11);
	return PHR_OK;
}

int phr_index_i_logs(struct phr_index *ix, struct phr_chain_log **logs, size_t *count,
		     const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *topic1,
		     const uint8_t *topic2)
{
	static const char *const q[4] = {
		"SELECT block, log_index, address, ntopics, topic0, topic1, topic2, topic3, data,"
		" block_hash, tx_hash, tx_index FROM logs WHERE topic0 = ?1 AND address = ?2"
		" ORDER BY block, log_index",
		"SELECT block, log_index, address, ntopics, topic0, topic1, topic2, topic3, data,"
		" block_hash, tx_hash, tx_index FROM logs WHERE topic0 = ?1 AND address = ?2"
		" AND topic1 = ?3 ORDER BY block, log_index",
		"SELECT block, log_index, address, ntopics, topic0, topic1, topic2, topic3, data,"
		" block_hash, tx_hash, tx_index FROM logs WHERE topic0 = ?1 AND address = ?2"
		" AND topic2 = ?4 ORDER BY block, log_index",
		"SELECT block, log_index, address, ntopics, topic0, topic1, topic2, topic3, data,"
		" block_hash, tx_hash, tx_index FROM logs WHERE topic0 = ?1 AND address = ?2"
		" AND topic1 = ?3 AND topic2 = ?4 ORDER BY block, log_index",
	};
	struct phr_chain_log *arr = NULL, *grown;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK, s;

	*logs = NULL;
	*count = 0;
	/* under the lock: a catch-up's transaction runs on the same connection */
	pthread_mutex_lock(&ix->lock);
	if (sqlite3_prepare_v2(ix->db, q[(topic1 != NULL) | (topic2 != NULL) << 1], -1, &st,
			       NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&ix->lock);
		return PHR_ERR_DB;
	}
	sqlite3_bind_blob(st, 1, topic0, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, addr, 20, SQLITE_TRANSIENT);
	if (topic1 != NULL)
		sqlite3_bind_blob(st, 3, topic1, 32, SQLITE_TRANSIENT);
	if (topic2 != NULL)
		sqlite3_bind_blob(st, 4, topic2, 32, SQLITE_TRANSIENT);
	while (rv == PHR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = phr_calloc(cap, sizeof(*grown));
			if (grown == NULL) {
				rv = PHR_ERR_NOMEM;
				break;
			}
			if (n > 0)
				memcpy(grown, arr, n * sizeof(*arr));
			phr_free(arr);
			arr = grown;
		}
		rv = row_to_log(&arr[n], st);
		n++; /* a half-filled entry is freed with the rest */
	}
	if (rv == PHR_OK && s != SQLITE_DONE)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ix->lock);
	if (rv != PHR_OK) {
		phr_chain_logs_free(arr, n);
		return rv;
	}
	*logs = arr;
	*count = n;
	return PHR_OK;
}

bool phr_index_i_covers(const struct phr_index *ix, const uint8_t addr[20])
{
	for (size_t i = 0; i < 6; i++)
		if (memcmp(ix->addrs[i], addr, 20) == 0)
			return true;
	return false;
}

void phr_index_i_status(struct phr_index *ix, struct phr_index_status *out)
{
	sqlite3_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ix->lock);
	out->empty = !ix->have_cursor;
	out->block = ix->block;
	memcpy(out->hash, ix->hash, 32);
	out->fetched = ix->fetched;
	out->rebuilds = ix->rebuilds;
	out->healthy = ix->healthy;
	if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM logs", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		out->logs = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ix->lock);
}

/* --- the node's side ------------------------------------------------------- */

int phr_node_index_sync(struct phr_node *n)
{
	return n->index_off ? PHR_OK : phr_index_i_sync(n->index, n->chain);
}

int phr_node_reindex(struct phr_node *n)
{
	int rv = phr_index_i_wipe(n->index);

	return rv == PHR_OK ? phr_index_i_sync(n->index, n->chain) : rv;
}

void phr_node_index_status(struct phr_node *n, struct phr_index_status *st)
{
	phr_index_i_status(n->index, st);
}

void phr_node_index_enable(struct phr_node *n, bool on)
{
	n->index_off = !on;
}
