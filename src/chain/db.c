/*
 * SQLite persistence of the embedded chain: accounts, storage, code, blocks,
 * transactions, receipts, logs and metadata in one WAL-mode database.
 *
 * Durability: synchronous=FULL. In WAL mode NORMAL may lose the last
 * transactions on power loss (not on a process crash); FULL fsyncs the WAL on
 * every commit. A block is committed before eth_sendRawTransaction answers,
 * so an acknowledged transaction survives kill -9 and power loss alike; the
 * price is one fsync per block (one per group of blocks: see
 * phr_chain_node_guard).
 *
 * Checkpoints are SQLite's own, inside the COMMIT that crosses CKPT_PAGES
 * log pages: the node runs its commits with its lock dropped (see
 * phr_chain_node_guard), so requests go on meanwhile. 4,000 pages instead
 * of SQLite's 1,000: a checkpoint copies the last version of each page the
 * log holds once, and blocks rewrite many of the same pages (the tails of
 * the blocks, logs and index tables, the B-trees' inner pages). A checkpoint
 * run by the writer itself normally completes (no other block is written
 * meanwhile), so the log restarts from its beginning at the next block and
 * stays at 16 MiB. A checkpoint thread on its own connection was tried and
 * dropped: under a steady stream of commits its PASSIVE checkpoints never
 * caught up with the log's end, the log never restarted and grew, and every
 * commit woke the thread.
 *
 * Storage writes behind: a block's storage slots (the slots of a minted
 * record sit at keccak-derived keys, so each record dirtied a random page of
 * the storage table in every commit, 63 of the 111 pages a 24-record block
 * wrote) go into one row of table slog, appended, and into a hash table in
 * memory; every FLUSH_SLOTS slots they are written into the storage table in
 * key order, each slot once, inside the block's transaction. The storage
 * table plus the log is the state at every commit: opening the database
 * applies a log left behind; every read of the storage table here looks at
 * the slots behind first. Blocks that wipe or delete an account, and blocks
 * written while snapshots exist (the undo log reads the previous values from
 * the table), flush first and write through.
 */
#include <stdlib.h>
#include <time.h>

#include "chain_int.h"

#define CKPT_PAGES 4000
/* slots behind before a flush (unless PHR_CHAIN_FLUSH_SLOTS says otherwise):
 * ~220 blocks of 24 minted records; ~8 MiB of table at most */
#define FLUSH_SLOTS 32768

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS accounts(address BLOB PRIMARY KEY, nonce INTEGER NOT NULL,"
	" balance BLOB NOT NULL, code_hash BLOB NOT NULL, storage_root BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS storage(address BLOB NOT NULL, slot BLOB NOT NULL,"
	" value BLOB NOT NULL, PRIMARY KEY(address, slot)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS code(hash BLOB PRIMARY KEY, code BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS blocks(number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
	" header BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS txs(hash BLOB PRIMARY KEY, block INTEGER NOT NULL,"
	" idx INTEGER NOT NULL, raw BLOB NOT NULL, sender BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS txs_block ON txs(block, idx);"
	"CREATE TABLE IF NOT EXISTS receipts(tx_hash BLOB PRIMARY KEY, block INTEGER NOT NULL,"
	" idx INTEGER NOT NULL, type INTEGER NOT NULL, status INTEGER NOT NULL,"
	" cumulative_gas INTEGER NOT NULL, gas_used INTEGER NOT NULL, gas_price BLOB NOT NULL,"
	" sender BLOB NOT NULL, recipient BLOB, contract BLOB, bloom BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS logs(block INTEGER NOT NULL, log_index INTEGER NOT NULL,"
	" tx_idx INTEGER NOT NULL, tx_hash BLOB NOT NULL, address BLOB NOT NULL,"
	" topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,"
	" PRIMARY KEY(block, log_index)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS logs_address ON logs(address, block);"
	"CREATE INDEX IF NOT EXISTS logs_topic0 ON logs(topic0, block);"
	"CREATE INDEX IF NOT EXISTS logs_topic1 ON logs(topic1, block) WHERE topic1 IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS logs_topic2 ON logs(topic2, block) WHERE topic2 IS NOT NULL;"
	/* a receipt's logs are found by (block, tx_idx), the primary key's block
	 * prefix: an index on the random tx hash cost every log a scattered
	 * B-tree insert (older databases drop it) */
	"DROP INDEX IF EXISTS logs_tx;"
	"CREATE TABLE IF NOT EXISTS undo(block INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" address BLOB NOT NULL, slot BLOB, value BLOB, PRIMARY KEY(block, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS slog(block INTEGER PRIMARY KEY, data BLOB NOT NULL);";

static const char *const sql[DB_STMT_COUNT] = {
	[DB_META_GET] = "SELECT value FROM meta WHERE key=?1",
	[DB_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
	[DB_ACCOUNT_GET] = "SELECT nonce, balance, code_hash, storage_root FROM accounts WHERE address=?1",
	[DB_ACCOUNT_PUT] = "INSERT OR REPLACE INTO accounts VALUES(?1, ?2, ?3, ?4, ?5)",
	[DB_ACCOUNT_DEL] = "DELETE FROM accounts WHERE address=?1",
	[DB_ACCOUNT_ALL] = "SELECT address, nonce, balance, code_hash, storage_root FROM accounts",
	[DB_STORAGE_GET] = "SELECT value FROM storage WHERE address=?1 AND slot=?2",
	[DB_STORAGE_PUT] = "INSERT OR REPLACE INTO storage VALUES(?1, ?2, ?3)",
	[DB_STORAGE_DEL] = "DELETE FROM storage WHERE address=?1 AND slot=?2",
	[DB_STORAGE_DEL_ALL] = "DELETE FROM storage WHERE address=?1",
	[DB_STORAGE_OF] = "SELECT slot, value FROM storage WHERE address=?1",
	[DB_CODE_GET] = "SELECT code FROM code WHERE hash=?1",
	[DB_CODE_PUT] = "INSERT OR IGNORE INTO code VALUES(?1, ?2)",
	[DB_BLOCK_PUT] = "INSERT OR REPLACE INTO blocks VALUES(?1, ?2, ?3)",
	[DB_BLOCK_BY_NUMBER] = "SELECT header, hash FROM blocks WHERE number=?1",
	[DB_BLOCK_BY_HASH] = "SELECT number FROM blocks WHERE hash=?1",
	[DB_TX_PUT] = "INSERT OR REPLACE INTO txs(hash, block, idx, raw, sender, receipt)"
		      " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[DB_TX_GET] = "SELECT raw, block, idx, sender FROM txs WHERE hash=?1",
	[DB_TX_OF_BLOCK] = "SELECT hash FROM txs WHERE block=?1 ORDER BY idx",
	[DB_RECEIPT_GET] = "SELECT t.block, t.idx, t.receipt, t.sender, b.hash FROM txs t"
			   " JOIN blocks b ON b.number = t.block WHERE t.hash=?1",
	[DB_RECEIPT_GET_OLD] = "SELECT r.block, r.idx, r.type, r.status, r.cumulative_gas, r.gas_used,"
			   " r.gas_price, r.sender, r.recipient, r.contract, r.bloom, b.hash"
			   " FROM receipts r JOIN blocks b ON b.number = r.block WHERE r.tx_hash=?1",
	[DB_LOG_PUT] = "INSERT OR REPLACE INTO logs VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	[DB_LOGS_OF_TX] = "SELECT l.block, l.log_index, l.tx_idx, l.tx_hash, l.address, l.topic0,"
			  " l.topic1, l.topic2, l.topic3, l.data, b.hash FROM logs l"
			  " JOIN blocks b ON b.number = l.block WHERE l.block=?1 AND l.tx_idx=?2"
			  " ORDER BY l.log_index",
	[DB_UNDO_PUT] = "INSERT INTO undo VALUES(?1, ?2, ?3, ?4, ?5)",
	[DB_SLOG_PUT] = "INSERT OR REPLACE INTO slog VALUES(?1, ?2)",
	[DB_SLOG_ALL] = "SELECT data FROM slog ORDER BY block",
	[DB_SLOG_CLEAR] = "DELETE FROM slog",
};

int db_exec(struct chain_db *db, const char *s)
{
	char *msg = NULL;

	if (sqlite3_exec(db->db, s, NULL, NULL, &msg) != SQLITE_OK) {
		phr_log_error("chain", "sqlite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

uint64_t chain_thread_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Serialized mode (FULLMUTEX): the node's COMMIT runs outside its lock while
 * requests under the lock read through the same connection. */
int db_open(struct chain_db *db, const char *path)
{
	int i;

	memset(db, 0, sizeof(*db));
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						   SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		phr_log_error("chain", "cannot open %s: %s", path,
			      db->db ? sqlite3_errmsg(db->db) : "out of memory");
		sqlite3_close(db->db);
		db->db = NULL;
		return PHR_ERR_DB;
	}
	sqlite3_busy_timeout(db->db, 5000);
	if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			"PRAGMA foreign_keys=OFF;") != PHR_OK ||
	    db_exec(db, schema) != PHR_OK)
		goto fail;
	{
		/* receipts ride on their transaction's row since 2026-11-25 (one
		 * B-tree insert at a random key a block fewer); older databases get
		 * the column, their older receipts stay in table receipts */
		sqlite3_stmt *q = NULL;

		if (sqlite3_prepare_v2(db->db, "SELECT receipt FROM txs LIMIT 0", -1, &q, NULL) != SQLITE_OK &&
		    db_exec(db, "ALTER TABLE txs ADD COLUMN receipt BLOB") != PHR_OK)
			goto fail;
		sqlite3_finalize(q);
	}
	for (i = 0; i < DB_STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(db->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->st[i],
				       NULL) != SQLITE_OK) {
			phr_log_error("chain", "sqlite prepare: %s", sqlite3_errmsg(db->db));
			goto fail;
		}
	}
	if (sqlite3_wal_autocheckpoint(db->db, CKPT_PAGES) != SQLITE_OK)
		goto fail;
	db->flush_slots = FLUSH_SLOTS;
	{
		/* tests make the flushes frequent */
		const char *e = getenv("PHR_CHAIN_FLUSH_SLOTS");
		char *end = NULL;
		unsigned long v = e ? strtoul(e, &end, 10) : 0;

		if (e && end && !*end && v > 0)
			db->flush_slots = v;
	}
	/* slots a previous run left behind go into the table now */
	if (db_pending_reload(db) != PHR_OK)
		goto fail;
	if (db->pend_used) {
		int rc = db_begin(db);

		if (rc == PHR_OK)
			rc = db_storage_flush(db);
		if (rc == PHR_OK)
			rc = db_commit(db);
		if (rc != PHR_OK) {
			db_rollback(db);
			goto fail;
		}
	}
	return PHR_OK;
fail:
	db_close(db);
	return PHR_ERR_DB;
}

void db_close(struct chain_db *db)
{
	int i;

	for (i = 0; i < DB_STMT_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	if (db->db)
		sqlite3_close(db->db);
	phr_free(db->pend);
	memset(db, 0, sizeof(*db));
}

int db_begin(struct chain_db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(struct chain_db *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(struct chain_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		(void)db_exec(db, "ROLLBACK");
}

/* Resets and returns a cached statement. */
static sqlite3_stmt *stmt(struct chain_db *db, enum db_stmt which)
{
	sqlite3_stmt *s = db->st[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Steps a statement expected to finish (INSERT/DELETE). */
static int run(struct chain_db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		phr_log_error("chain", "sqlite: %s", sqlite3_errmsg(db->db));
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

/* Steps a query: PHR_OK with a row, PHR_ERR_NOT_FOUND, PHR_ERR_DB. */
static int row(struct chain_db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return PHR_OK;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return PHR_ERR_NOT_FOUND;
	phr_log_error("chain", "sqlite: %s", sqlite3_errmsg(db->db));
	return PHR_ERR_DB;
}

/* Copies a blob column of exactly n bytes (else zero-fills). */
static void col_fixed(uint8_t *out, size_t n, sqlite3_stmt *s, int col)
{
	const void *p = sqlite3_column_blob(s, col);

	if (p && (size_t)sqlite3_column_bytes(s, col) == n)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

static int col_buf(struct phr_buf *out, sqlite3_stmt *s, int col)
{
	const void *p = sqlite3_column_blob(s, col);
	int n = sqlite3_column_bytes(s, col);

	return n > 0 ? phr_buf_append(out, p, (size_t)n) : PHR_OK;
}

int db_meta_get(struct chain_db *db, struct phr_buf *out, const char *key)
{
	sqlite3_stmt *s = stmt(db, DB_META_GET);
	int rc;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	rc = col_buf(out, s, 0);
	sqlite3_reset(s);
	return rc;
}

int db_meta_get_u64(struct chain_db *db, uint64_t *v, const char *key)
{
	sqlite3_stmt *s = stmt(db, DB_META_GET);
	int rc;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	*v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return PHR_OK;
}

int db_meta_put(struct chain_db *db, const char *key, const void *val, size_t n)
{
	sqlite3_stmt *s = stmt(db, DB_META_PUT);

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, val ? val : "", (int)n, SQLITE_STATIC);
	return run(db, s);
}

int db_meta_put_u64(struct chain_db *db, const char *key, uint64_t v)
{
	sqlite3_stmt *s = stmt(db, DB_META_PUT);

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)v);
	return run(db, s);
}

int db_account_get(struct chain_db *db, struct db_account *a, const uint8_t addr[20])
{
	sqlite3_stmt *s = stmt(db, DB_ACCOUNT_GET);
	uint8_t be[32];
	int rc;

	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	a->nonce = (uint64_t)sqlite3_column_int64(s, 0);
	col_fixed(be, 32, s, 1);
	phr_u256_from_be(&a->balance, be);
	col_fixed(a->code_hash, 32, s, 2);
	col_fixed(a->storage_root, 32, s, 3);
	sqlite3_reset(s);
	return PHR_OK;
}

int db_account_put(struct chain_db *db, const uint8_t addr[20], const struct db_account *a)
{
	sqlite3_stmt *s = stmt(db, DB_ACCOUNT_PUT);
	uint8_t be[32];

	phr_u256_to_be(be, &a->balance);
	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)a->nonce);
	sqlite3_bind_blob(s, 3, be, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, a->code_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, a->storage_root, 32, SQLITE_STATIC);
	return run(db, s);
}

int db_account_del(struct chain_db *db, const uint8_t addr[20])
{
	sqlite3_stmt *s = stmt(db, DB_ACCOUNT_DEL);

	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	return run(db, s);
}

/* ---- storage writes behind ---- */

static bool is_zero32(const uint8_t v[32])
{
	static const uint8_t zero[32];

	return memcmp(v, zero, 32) == 0;
}

/* splitmix64's finalizer: every input bit moves every output bit */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static size_t pend_hash(const uint8_t addr[20], const uint8_t slot[32])
{
	uint64_t h = 0, w;
	size_t i;

	/* the keys are keccak outputs plus small offsets (a struct's fields, an
	 * array's elements): those change the low bytes only, which a plain
	 * multiply would leave out of the bucket index */
	for (i = 0; i < 32; i += 8) {
		memcpy(&w, slot + i, 8);
		h = mix64(h ^ w);
	}
	memcpy(&w, addr + 12, 8);
	return (size_t)mix64(h ^ w);
}

static struct db_pslot *pend_find(const struct chain_db *db, const uint8_t addr[20],
				  const uint8_t slot[32])
{
	size_t i;

	if (!db->pend_used)
		return NULL;
	for (i = pend_hash(addr, slot) & (db->pend_cap - 1); db->pend[i].used;
	     i = (i + 1) & (db->pend_cap - 1))
		if (memcmp(db->pend[i].slot, slot, 32) == 0 && memcmp(db->pend[i].addr, addr, 20) == 0)
			return &db->pend[i];
	return NULL;
}

/* Sets a slot behind (last write wins). */
static int pend_put(struct chain_db *db, const uint8_t addr[20], const uint8_t slot[32],
		    const uint8_t val[32])
{
	struct db_pslot *p = pend_find(db, addr, slot);
	size_t i;

	if (p) {
		memcpy(p->val, val, 32);
		return PHR_OK;
	}
	if ((db->pend_used + 1) * 4 > db->pend_cap * 3) {
		size_t nc = db->pend_cap ? db->pend_cap * 2 : 1024;
		struct db_pslot *n = phr_calloc(nc, sizeof(*n));

		if (!n)
			return PHR_ERR_NOMEM;
		for (i = 0; i < db->pend_cap; i++) {
			size_t j;

			if (!db->pend[i].used)
				continue;
			for (j = pend_hash(db->pend[i].addr, db->pend[i].slot) & (nc - 1); n[j].used;
			     j = (j + 1) & (nc - 1))
				;
			n[j] = db->pend[i];
		}
		phr_free(db->pend);
		db->pend = n;
		db->pend_cap = nc;
	}
	for (i = pend_hash(addr, slot) & (db->pend_cap - 1); db->pend[i].used;
	     i = (i + 1) & (db->pend_cap - 1))
		;
	p = &db->pend[i];
	p->used = true;
	memcpy(p->addr, addr, 20);
	memcpy(p->slot, slot, 32);
	memcpy(p->val, val, 32);
	db->pend_used++;
	return PHR_OK;
}

static void pend_clear(struct chain_db *db)
{
	if (db->pend_used)
		memset(db->pend, 0, db->pend_cap * sizeof(*db->pend));
	db->pend_used = 0;
}

/* A block's slots as one log record: per account, its address, a 2-byte
 * count, then per slot the key, the value's length without leading zeros
 * and those bytes. */
static int slog_add(struct phr_buf *b, const struct phr_state_account_change *a)
{
	uint8_t head[22];
	size_t k;
	int rc;

	memcpy(head, a->addr, 20);
	head[20] = (uint8_t)(a->slots_count >> 8);
	head[21] = (uint8_t)a->slots_count;
	rc = phr_buf_append(b, head, sizeof(head));
	for (k = 0; rc == PHR_OK && k < a->slots_count; k++) {
		const uint8_t *v = a->slots[k].value;
		size_t z = 0;
		uint8_t len;

		while (z < 32 && v[z] == 0)
			z++;
		len = (uint8_t)(32 - z);
		rc = phr_buf_append(b, a->slots[k].key, 32);
		if (rc == PHR_OK)
			rc = phr_buf_append(b, &len, 1);
		if (rc == PHR_OK && len)
			rc = phr_buf_append(b, v + z, len);
	}
	return rc;
}

/* Puts the slots of one log record behind. */
static int slog_apply(struct chain_db *db, const uint8_t *p, size_t n)
{
	while (n) {
		const uint8_t *addr = p;
		size_t count, k;

		if (n < 22)
			return PHR_ERR_CORRUPT;
		count = (size_t)p[20] << 8 | p[21];
		p += 22;
		n -= 22;
		for (k = 0; k < count; k++) {
			uint8_t val[32] = { 0 };
			size_t len;
			int rc;

			if (n < 33 || p[32] > 32 || n < 33 + (size_t)p[32])
				return PHR_ERR_CORRUPT;
			len = p[32];
			memcpy(val + 32 - len, p + 33, len);
			rc = pend_put(db, addr, p, val);
			if (rc != PHR_OK)
				return rc;
			p += 33 + len;
			n -= 33 + len;
		}
	}
	return PHR_OK;
}

int db_pending_reload(struct chain_db *db)
{
	sqlite3_stmt *s = stmt(db, DB_SLOG_ALL);
	int rc;

	pend_clear(db);
	while ((rc = row(db, s)) == PHR_OK) {
		rc = slog_apply(db, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
		if (rc != PHR_OK) {
			sqlite3_reset(s);
			return rc;
		}
	}
	return rc == PHR_ERR_NOT_FOUND ? PHR_OK : rc;
}

static int pslot_cmp(const void *a, const void *b)
{
	const struct db_pslot *x = *(const struct db_pslot *const *)a;
	const struct db_pslot *y = *(const struct db_pslot *const *)b;
	int c = memcmp(x->addr, y->addr, 20);

	return c ? c : memcmp(x->slot, y->slot, 32);
}

static int db_storage_write(struct chain_db *db, const uint8_t addr[20], const uint8_t slot[32],
			    const uint8_t val[32]);

int db_storage_flush(struct chain_db *db)
{
	struct db_pslot **v;
	size_t i, n = 0;
	int rc = PHR_OK;

	if (!db->pend_used)
		return PHR_OK;
	/* in key order: consecutive writes land on the same pages */
	v = phr_malloc(db->pend_used * sizeof(*v));
	if (!v)
		return PHR_ERR_NOMEM;
	for (i = 0; i < db->pend_cap; i++)
		if (db->pend[i].used)
			v[n++] = &db->pend[i];
	qsort(v, n, sizeof(*v), pslot_cmp);
	for (i = 0; rc == PHR_OK && i < n; i++)
		rc = db_storage_write(db, v[i]->addr, v[i]->slot, v[i]->val);
	phr_free(v);
	if (rc == PHR_OK)
		rc = run(db, stmt(db, DB_SLOG_CLEAR));
	if (rc == PHR_OK)
		pend_clear(db);
	return rc;
}

int db_storage_get(struct chain_db *db, uint8_t val[32], const uint8_t addr[20],
		   const uint8_t slot[32])
{
	const struct db_pslot *p = pend_find(db, addr, slot);
	sqlite3_stmt *s;
	int rc;

	if (p) {
		memcpy(val, p->val, 32);
		return PHR_OK;
	}
	s = stmt(db, DB_STORAGE_GET);
	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, slot, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc == PHR_ERR_NOT_FOUND) {
		memset(val, 0, 32);
		return PHR_OK;
	}
	if (rc != PHR_OK)
		return rc;
	col_fixed(val, 32, s, 0);
	sqlite3_reset(s);
	return PHR_OK;
}

int db_storage_put(struct chain_db *db, const uint8_t addr[20], const uint8_t slot[32],
		   const uint8_t val[32])
{
	struct db_pslot *p = pend_find(db, addr, slot);

	/* a slot behind would overwrite this write at the next flush */
	if (p)
		memcpy(p->val, val, 32);
	return db_storage_write(db, addr, slot, val);
}

static int db_storage_write(struct chain_db *db, const uint8_t addr[20], const uint8_t slot[32],
			    const uint8_t val[32])
{
	sqlite3_stmt *s;

	if (is_zero32(val)) {
		s = stmt(db, DB_STORAGE_DEL);
		sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, slot, 32, SQLITE_STATIC);
		return run(db, s);
	}
	s = stmt(db, DB_STORAGE_PUT);
	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, slot, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, val, 32, SQLITE_STATIC);
	return run(db, s);
}

int db_storage_del_all(struct chain_db *db, const uint8_t addr[20])
{
	sqlite3_stmt *s = stmt(db, DB_STORAGE_DEL_ALL);

	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_STATIC);
	return run(db, s);
}

int db_code_get(struct chain_db *db, struct phr_buf *out, const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(db, DB_CODE_GET);
	int rc;

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	rc = col_buf(out, s, 0);
	sqlite3_reset(s);
	return rc;
}

int db_code_put(struct chain_db *db, const uint8_t hash[32], const uint8_t *code, size_t n)
{
	sqlite3_stmt *s = stmt(db, DB_CODE_PUT);

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, n ? (const void *)code : "", (int)n, SQLITE_STATIC);
	return run(db, s);
}

int db_block_put(struct chain_db *db, uint64_t number, const uint8_t hash[32],
		 const uint8_t *header, size_t n)
{
	sqlite3_stmt *s = stmt(db, DB_BLOCK_PUT);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)number);
	sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, header, (int)n, SQLITE_STATIC);
	return run(db, s);
}

int db_block_by_number(struct chain_db *db, struct phr_buf *out, uint8_t *hash, uint64_t number)
{
	sqlite3_stmt *s = stmt(db, DB_BLOCK_BY_NUMBER);
	int rc;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)number);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	rc = out ? col_buf(out, s, 0) : PHR_OK;
	if (hash)
		col_fixed(hash, 32, s, 1);
	sqlite3_reset(s);
	return rc;
}

int db_block_number_of(struct chain_db *db, uint64_t *number, const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(db, DB_BLOCK_BY_HASH);
	int rc;

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	*number = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return PHR_OK;
}

/* A receipt's own fields as stored with its transaction (the sender is the
 * row's, the bloom its logs'): version 1, type, status, cumulative gas and
 * gas used (8 bytes each), the effective gas price (32), a flags byte (1:
 * recipient, 2: created contract), then those addresses. */
#define RCPT_MIN (1 + 1 + 1 + 8 + 8 + 32 + 1)

static size_t receipt_pack(uint8_t out[RCPT_MIN + 40], const struct phr_chain_receipt *r)
{
	size_t o = 0;
	int k;

	out[o++] = 1;
	out[o++] = r->type;
	out[o++] = r->status ? 1 : 0;
	for (k = 7; k >= 0; k--)
		out[o++] = (uint8_t)(r->cumulative_gas >> (8 * k));
	for (k = 7; k >= 0; k--)
		out[o++] = (uint8_t)(r->gas_used >> (8 * k));
	phr_u256_to_be(out + o, &r->effective_gas_price);
	o += 32;
	out[o++] = (uint8_t)((r->has_to ? 1 : 0) | (r->has_contract ? 2 : 0));
	if (r->has_to) {
		memcpy(out + o, r->to, 20);
		o += 20;
	}
	if (r->has_contract) {
		memcpy(out + o, r->contract_address, 20);
		o += 20;
	}
	return o;
}

static int receipt_unpack(struct phr_chain_receipt *r, const uint8_t *p, size_t n)
{
	size_t o = 0, need = RCPT_MIN;
	int k;

	if (n < RCPT_MIN || p[0] != 1)
		return PHR_ERR_CORRUPT;
	need += (p[RCPT_MIN - 1] & 1 ? 20 : 0) + (p[RCPT_MIN - 1] & 2 ? 20 : 0);
	if (n != need || p[RCPT_MIN - 1] > 3)
		return PHR_ERR_CORRUPT;
	o = 1;
	r->type = p[o++];
	r->status = p[o++] != 0;
	r->cumulative_gas = r->gas_used = 0;
	for (k = 0; k < 8; k++)
		r->cumulative_gas = r->cumulative_gas << 8 | p[o++];
	for (k = 0; k < 8; k++)
		r->gas_used = r->gas_used << 8 | p[o++];
	phr_u256_from_be(&r->effective_gas_price, p + o);
	o += 32;
	r->has_to = p[o] & 1;
	r->has_contract = (p[o] & 2) != 0;
	o++;
	if (r->has_to) {
		memcpy(r->to, p + o, 20);
		o += 20;
	}
	if (r->has_contract)
		memcpy(r->contract_address, p + o, 20);
	return PHR_OK;
}

int db_tx_put(struct chain_db *db, const uint8_t hash[32], uint64_t block, uint64_t idx,
	      const uint8_t *raw, size_t n, const uint8_t sender[20],
	      const struct phr_chain_receipt *r)
{
	sqlite3_stmt *s = stmt(db, DB_TX_PUT);
	uint8_t rec[RCPT_MIN + 40];

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)block);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)idx);
	sqlite3_bind_blob(s, 4, raw, (int)n, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, sender, 20, SQLITE_STATIC);
	if (r)
		sqlite3_bind_blob(s, 6, rec, (int)receipt_pack(rec, r), SQLITE_STATIC);
	return run(db, s);
}

int db_tx_get(struct chain_db *db, struct phr_buf *raw, uint64_t *block, uint64_t *idx,
	      uint8_t sender[20], const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(db, DB_TX_GET);
	int rc;

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	rc = raw ? col_buf(raw, s, 0) : PHR_OK;
	if (block)
		*block = (uint64_t)sqlite3_column_int64(s, 1);
	if (idx)
		*idx = (uint64_t)sqlite3_column_int64(s, 2);
	if (sender)
		col_fixed(sender, 20, s, 3);
	sqlite3_reset(s);
	return rc;
}

/* Binds a topic or NULL. */
static void bind_topic(sqlite3_stmt *s, int col, const struct phr_chain_log *l, size_t t)
{
	if (t < l->topics_count)
		sqlite3_bind_blob(s, col, l->topics[t], 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, col);
}

int db_logs_put(struct chain_db *db, const struct phr_chain_receipt *r)
{
	sqlite3_stmt *s;
	size_t i, t;
	int rc = PHR_OK;

	for (i = 0; rc == PHR_OK && i < r->logs_count; i++) {
		const struct phr_chain_log *l = &r->logs[i];

		s = stmt(db, DB_LOG_PUT);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)r->block_number);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)l->log_index);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)r->tx_index);
		sqlite3_bind_blob(s, 4, r->tx_hash, 32, SQLITE_STATIC);
		sqlite3_bind_blob(s, 5, l->address, 20, SQLITE_STATIC);
		for (t = 0; t < 4; t++)
			bind_topic(s, 6 + (int)t, l, t);
		sqlite3_bind_blob(s, 10, l->data_len ? (const void *)l->data : "", (int)l->data_len,
				  SQLITE_STATIC);
		rc = run(db, s);
	}
	return rc;
}

/* Reads one log row (columns as DB_LOGS_OF_TX and the eth_getLogs query). */
int db_log_from_row(struct phr_chain_log *l, sqlite3_stmt *s)
{
	int t, n;

	memset(l, 0, sizeof(*l));
	l->block_number = (uint64_t)sqlite3_column_int64(s, 0);
	l->log_index = (uint64_t)sqlite3_column_int64(s, 1);
	l->tx_index = (uint64_t)sqlite3_column_int64(s, 2);
	col_fixed(l->tx_hash, 32, s, 3);
	col_fixed(l->address, 20, s, 4);
	for (t = 0; t < 4; t++) {
		if (sqlite3_column_type(s, 5 + t) == SQLITE_NULL)
			break;
		col_fixed(l->topics[t], 32, s, 5 + t);
		l->topics_count++;
	}
	n = sqlite3_column_bytes(s, 9);
	if (n > 0) {
		l->data = phr_malloc((size_t)n);
		if (!l->data)
			return PHR_ERR_NOMEM;
		memcpy(l->data, sqlite3_column_blob(s, 9), (size_t)n);
		l->data_len = (size_t)n;
	}
	col_fixed(l->block_hash, 32, s, 10);
	return PHR_OK;
}

/* Appends one log to a growing array. */
int db_logs_push(struct phr_chain_log **logs, size_t *count, size_t *cap,
		 const struct phr_chain_log *l)
{
	if (*count == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct phr_chain_log *p = phr_realloc(*logs, nc * sizeof(*p));

		if (!p)
			return PHR_ERR_NOMEM;
		*logs = p;
		*cap = nc;
	}
	(*logs)[(*count)++] = *l;
	return PHR_OK;
}

/* The bloom of a receipt's logs (the same filter the node computed when it
 * sealed the block: phr_state_logs_bloom). */
static int logs_bloom(uint8_t bloom[PHR_CHAIN_BLOOM_BYTES], struct phr_chain_log *logs, size_t n)
{
	struct phr_state_log *v;
	size_t i;

	memset(bloom, 0, PHR_CHAIN_BLOOM_BYTES);
	if (!n)
		return PHR_OK;
	v = phr_calloc(n, sizeof(*v));
	if (!v)
		return PHR_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		memcpy(v[i].addr, logs[i].address, 20);
		v[i].topics = logs[i].topics;
		v[i].topics_count = logs[i].topics_count;
	}
	phr_state_logs_bloom(bloom, v, n);
	phr_free(v);
	return PHR_OK;
}

/* The receipt's own fields from table receipts (databases before 2026-11-25). */
static int receipt_get_old(struct chain_db *db, struct phr_chain_receipt *r, bool *derive,
			   const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(db, DB_RECEIPT_GET_OLD);
	uint8_t price[32];
	int rc;

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	r->block_number = (uint64_t)sqlite3_column_int64(s, 0);
	r->tx_index = (uint64_t)sqlite3_column_int64(s, 1);
	r->type = (uint8_t)sqlite3_column_int(s, 2);
	r->status = sqlite3_column_int(s, 3) != 0;
	r->cumulative_gas = (uint64_t)sqlite3_column_int64(s, 4);
	r->gas_used = (uint64_t)sqlite3_column_int64(s, 5);
	col_fixed(price, 32, s, 6);
	phr_u256_from_be(&r->effective_gas_price, price);
	col_fixed(r->from, 20, s, 7);
	r->has_to = sqlite3_column_type(s, 8) != SQLITE_NULL;
	if (r->has_to)
		col_fixed(r->to, 20, s, 8);
	r->has_contract = sqlite3_column_type(s, 9) != SQLITE_NULL;
	if (r->has_contract)
		col_fixed(r->contract_address, 20, s, 9);
	*derive = sqlite3_column_bytes(s, 10) != PHR_CHAIN_BLOOM_BYTES;
	col_fixed(r->bloom, PHR_CHAIN_BLOOM_BYTES, s, 10);
	col_fixed(r->block_hash, 32, s, 11);
	sqlite3_reset(s);
	return PHR_OK;
}

int db_receipt_get(struct chain_db *db, struct phr_chain_receipt *out, const uint8_t hash[32])
{
	struct phr_chain_receipt r = { 0 };
	sqlite3_stmt *s = stmt(db, DB_RECEIPT_GET);
	size_t cap = 0;
	bool derive = true;
	int rc;

	memcpy(r.tx_hash, hash, 32);
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	rc = row(db, s);
	if (rc != PHR_OK)
		return rc;
	if (sqlite3_column_type(s, 2) == SQLITE_NULL) {
		sqlite3_reset(s);
		rc = receipt_get_old(db, &r, &derive, hash);
	} else {
		r.block_number = (uint64_t)sqlite3_column_int64(s, 0);
		r.tx_index = (uint64_t)sqlite3_column_int64(s, 1);
		rc = receipt_unpack(&r, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
		col_fixed(r.from, 20, s, 3);
		col_fixed(r.block_hash, 32, s, 4);
		sqlite3_reset(s);
	}
	if (rc != PHR_OK)
		return rc;

	s = stmt(db, DB_LOGS_OF_TX);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)r.block_number);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)r.tx_index);
	while ((rc = row(db, s)) == PHR_OK) {
		struct phr_chain_log l;

		rc = db_log_from_row(&l, s);
		if (rc == PHR_OK) {
			rc = db_logs_push(&r.logs, &r.logs_count, &cap, &l);
			if (rc != PHR_OK)
				phr_free(l.data);
		}
		if (rc != PHR_OK) {
			sqlite3_reset(s);
			phr_chain_receipt_release(&r);
			return rc;
		}
	}
	if (rc != PHR_ERR_NOT_FOUND) {
		phr_chain_receipt_release(&r);
		return rc;
	}
	if (derive) {
		rc = logs_bloom(r.bloom, r.logs, r.logs_count);
		if (rc != PHR_OK) {
			phr_chain_receipt_release(&r);
			return rc;
		}
	}
	*out = r;
	return PHR_OK;
}

/* ---- the state backend: load on miss, enumerate for the first root ---- */

static int be_load_account(void *ctx, bool *found, struct phr_state_account *acc,
			   const uint8_t addr[20])
{
	struct db_account a;
	int rc = db_account_get(ctx, &a, addr);

	if (rc == PHR_ERR_NOT_FOUND) {
		*found = false;
		return PHR_OK;
	}
	if (rc != PHR_OK)
		return rc;
	*found = true;
	acc->nonce = a.nonce;
	acc->balance = a.balance;
	memcpy(acc->code_hash, a.code_hash, 32);
	memcpy(acc->storage_root, a.storage_root, 32);
	return PHR_OK;
}

static int be_load_storage(void *ctx, uint8_t value[32], const uint8_t addr[20],
			   const uint8_t key[32])
{
	return db_storage_get(ctx, value, addr, key);
}

static int be_load_code(void *ctx, struct phr_buf *code, const uint8_t code_hash[32])
{
	int rc = db_code_get(ctx, code, code_hash);

	return rc == PHR_ERR_NOT_FOUND ? PHR_OK : rc;
}

static int be_foreach_account(void *ctx, phr_state_account_cb cb, void *cb_ctx)
{
	struct chain_db *db = ctx;
	sqlite3_stmt *s;
	int rc;

	/* a private statement: the callback may load through the cached ones */
	if (sqlite3_prepare_v2(db->db, sql[DB_ACCOUNT_ALL], -1, &s, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	while ((rc = row(db, s)) == PHR_OK) {
		struct phr_state_account a;
		uint8_t addr[20], be[32];

		col_fixed(addr, 20, s, 0);
		a.nonce = (uint64_t)sqlite3_column_int64(s, 1);
		col_fixed(be, 32, s, 2);
		phr_u256_from_be(&a.balance, be);
		col_fixed(a.code_hash, 32, s, 3);
		col_fixed(a.storage_root, 32, s, 4);
		if (cb(cb_ctx, addr, &a) != 0) {
			rc = PHR_ERR_INTERNAL;
			break;
		}
	}
	sqlite3_finalize(s);
	return rc == PHR_ERR_NOT_FOUND ? PHR_OK : rc;
}

static int be_foreach_storage(void *ctx, const uint8_t addr[20], phr_state_slot_cb cb, void *cb_ctx)
{
	struct chain_db *db = ctx;
	struct db_pslot **mine = NULL;
	bool *seen = NULL;
	size_t i, n = 0;
	sqlite3_stmt *s;
	int rc = PHR_OK;

	/* the account's slots behind replace or add to its rows */
	for (i = 0; i < db->pend_cap && db->pend_used; i++) {
		if (!db->pend[i].used || memcmp(db->pend[i].addr, addr, 20) != 0)
			continue;
		if (n % 64 == 0) {
			struct db_pslot **m = phr_realloc(mine, (n + 64) * sizeof(*m));

			if (!m) {
				phr_free(mine);
				return PHR_ERR_NOMEM;
			}
			mine = m;
		}
		mine[n++] = &db->pend[i];
	}
	if (n) {
		seen = phr_calloc(n, sizeof(*seen));
		if (!seen) {
			phr_free(mine);
			return PHR_ERR_NOMEM;
		}
		qsort(mine, n, sizeof(*mine), pslot_cmp);
	}
	if (sqlite3_prepare_v2(db->db, sql[DB_STORAGE_OF], -1, &s, NULL) != SQLITE_OK) {
		rc = PHR_ERR_DB;
		goto out;
	}
	sqlite3_bind_blob(s, 1, addr, 20, SQLITE_TRANSIENT);
	while ((rc = row(db, s)) == PHR_OK) {
		uint8_t key[32], val[32];
		size_t lo = 0, hi = n;

		col_fixed(key, 32, s, 0);
		col_fixed(val, 32, s, 1);
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = memcmp(mine[mid]->slot, key, 32);

			if (c == 0) {
				seen[mid] = true;
				memcpy(val, mine[mid]->val, 32);
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!is_zero32(val) && cb(cb_ctx, key, val) != 0) {
			rc = PHR_ERR_INTERNAL;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc == PHR_ERR_NOT_FOUND)
		rc = PHR_OK;
	for (i = 0; rc == PHR_OK && i < n; i++)
		if (!seen[i] && !is_zero32(mine[i]->val) &&
		    cb(cb_ctx, mine[i]->slot, mine[i]->val) != 0)
			rc = PHR_ERR_INTERNAL;
out:
	phr_free(seen);
	phr_free(mine);
	return rc;
}

void db_state_backend(struct phr_state_backend *be, struct chain_db *db)
{
	memset(be, 0, sizeof(*be));
	be->ctx = db;
	be->load_account = be_load_account;
	be->load_storage = be_load_storage;
	be->load_code = be_load_code;
	be->foreach_account = be_foreach_account;
	be->foreach_storage = be_foreach_storage;
}

/* One undo record: the previous account row (slot NULL; value NULL = absent)
 * or the previous value of a slot (value NULL = zero). */
static int undo_put(struct chain_db *db, const uint8_t addr[20], const uint8_t *slot,
		    const void *val, size_t val_len)
{
	sqlite3_stmt *s = stmt(db, DB_UNDO_PUT);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)db->undo_block);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)db->undo_seq++);
	sqlite3_bind_blob(s, 3, addr, 20, SQLITE_STATIC);
	if (slot)
		sqlite3_bind_blob(s, 4, slot, 32, SQLITE_STATIC);
	if (val)
		sqlite3_bind_blob(s, 5, val, (int)val_len, SQLITE_STATIC);
	return run(db, s);
}

/* Records what a change is about to overwrite (only while snapshots exist). */
static int undo_record(struct chain_db *db, const struct phr_state_account_change *a)
{
	struct db_account prev;
	uint8_t rec[8 + 32 * 3], val[32];
	size_t k;
	int rc = db_account_get(db, &prev, a->addr);

	if (rc == PHR_ERR_NOT_FOUND) {
		rc = undo_put(db, a->addr, NULL, NULL, 0);
	} else if (rc == PHR_OK) {
		for (k = 0; k < 8; k++)
			rec[k] = (uint8_t)(prev.nonce >> (56 - 8 * k));
		phr_u256_to_be(rec + 8, &prev.balance);
		memcpy(rec + 40, prev.code_hash, 32);
		memcpy(rec + 72, prev.storage_root, 32);
		rc = undo_put(db, a->addr, NULL, rec, sizeof(rec));
	}
	if (rc == PHR_OK && (a->deleted || a->storage_wiped)) {
		sqlite3_stmt *s;

		if (sqlite3_prepare_v2(db->db, sql[DB_STORAGE_OF], -1, &s, NULL) != SQLITE_OK)
			return PHR_ERR_DB;
		sqlite3_bind_blob(s, 1, a->addr, 20, SQLITE_TRANSIENT);
		while (rc == PHR_OK && (rc = row(db, s)) == PHR_OK) {
			uint8_t key[32];

			col_fixed(key, 32, s, 0);
			col_fixed(val, 32, s, 1);
			rc = undo_put(db, a->addr, key, val, 32);
		}
		sqlite3_finalize(s);
		if (rc == PHR_ERR_NOT_FOUND)
			rc = PHR_OK;
	}
	for (k = 0; rc == PHR_OK && k < a->slots_count; k++) {
		rc = db_storage_get(db, val, a->addr, a->slots[k].key);
		if (rc == PHR_OK)
			rc = undo_put(db, a->addr, a->slots[k].key,
				      is_zero32(val) ? NULL : val, 32);
	}
	return rc;
}

int db_undo_to(struct chain_db *db, uint64_t block)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db->db,
			       "SELECT address, slot, value FROM undo WHERE block > ?1"
			       " ORDER BY block DESC, seq DESC",
			       -1, &s, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)block);
	while ((rc = row(db, s)) == PHR_OK) {
		uint8_t addr[20], slot[32], val[32] = { 0 };
		bool has_val = sqlite3_column_type(s, 2) != SQLITE_NULL;

		col_fixed(addr, 20, s, 0);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			col_fixed(slot, 32, s, 1);
			if (has_val)
				col_fixed(val, 32, s, 2);
			rc = db_storage_put(db, addr, slot, val);
		} else if (!has_val) {
			rc = db_account_del(db, addr);
		} else if (sqlite3_column_bytes(s, 2) == 8 + 32 * 3) {
			const uint8_t *p = sqlite3_column_blob(s, 2);
			struct db_account a = { 0 };
			int k;

			for (k = 0; k < 8; k++)
				a.nonce = a.nonce << 8 | p[k];
			phr_u256_from_be(&a.balance, p + 8);
			memcpy(a.code_hash, p + 40, 32);
			memcpy(a.storage_root, p + 72, 32);
			rc = db_account_put(db, addr, &a);
		} else {
			rc = PHR_ERR_CORRUPT;
		}
		if (rc != PHR_OK)
			break;
	}
	sqlite3_finalize(s);
	if (rc != PHR_ERR_NOT_FOUND)
		return rc;
	{
		static const char *const del[] = {
			"DELETE FROM blocks WHERE number > ?1", "DELETE FROM txs WHERE block > ?1",
			"DELETE FROM receipts WHERE block > ?1", "DELETE FROM logs WHERE block > ?1",
			"DELETE FROM undo WHERE block > ?1",
		};
		size_t i;

		for (i = 0; i < PHR_ARRAY_LEN(del); i++) {
			if (sqlite3_prepare_v2(db->db, del[i], -1, &s, NULL) != SQLITE_OK)
				return PHR_ERR_DB;
			sqlite3_bind_int64(s, 1, (sqlite3_int64)block);
			rc = sqlite3_step(s) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
			sqlite3_finalize(s);
			if (rc != PHR_OK)
				return rc;
		}
	}
	return PHR_OK;
}

/* Writes the slots of a change set behind: into the log (one row for the
 * block) and the table in memory; flushes past FLUSH_SLOTS. */
static int write_behind(struct chain_db *db, const struct phr_state_changes *c)
{
	struct phr_buf b;
	size_t i, k;
	int rc = PHR_OK;

	phr_buf_init(&b, 0);
	for (i = 0; rc == PHR_OK && i < c->count; i++) {
		const struct phr_state_account_change *a = &c->accounts[i];

		if (!a->slots_count)
			continue;
		rc = slog_add(&b, a);
		for (k = 0; rc == PHR_OK && k < a->slots_count; k++)
			rc = pend_put(db, a->addr, a->slots[k].key, a->slots[k].value);
	}
	if (rc == PHR_OK && b.len) {
		sqlite3_stmt *s = stmt(db, DB_SLOG_PUT);

		sqlite3_bind_int64(s, 1, (sqlite3_int64)db->undo_block);
		sqlite3_bind_blob(s, 2, b.data, (int)b.len, SQLITE_STATIC);
		rc = run(db, s);
	}
	phr_buf_release(&b);
	if (rc == PHR_OK && db->pend_used > db->flush_slots)
		rc = db_storage_flush(db);
	return rc;
}

int db_write_changes(struct chain_db *db, const struct phr_state_changes *c)
{
	size_t i, k;
	bool through = db->undo;
	int rc = PHR_OK;

	/* the undo log and a storage wipe read or delete the table's rows: the
	 * slots behind go in first, and this block's are written through */
	for (i = 0; i < c->count && !through; i++)
		through = c->accounts[i].deleted || c->accounts[i].storage_wiped ||
			  c->accounts[i].slots_count > 0xffff;
	if (through)
		rc = db_storage_flush(db);
	else
		rc = write_behind(db, c);
	for (i = 0; rc == PHR_OK && i < c->count; i++) {
		const struct phr_state_account_change *a = &c->accounts[i];
		struct db_account acc;

		if (db->undo) {
			rc = undo_record(db, a);
			if (rc != PHR_OK)
				break;
		}

		if (a->deleted || a->storage_wiped)
			rc = db_storage_del_all(db, a->addr);
		if (rc == PHR_OK && a->deleted) {
			rc = db_account_del(db, a->addr);
			continue;
		}
		for (k = 0; rc == PHR_OK && through && k < a->slots_count; k++)
			rc = db_storage_write(db, a->addr, a->slots[k].key, a->slots[k].value);
		if (rc == PHR_OK && a->code)
			rc = db_code_put(db, a->acc.code_hash, a->code, a->code_len);
		if (rc != PHR_OK)
			break;
		acc.nonce = a->acc.nonce;
		acc.balance = a->acc.balance;
		memcpy(acc.code_hash, a->acc.code_hash, 32);
		memcpy(acc.storage_root, a->acc.storage_root, 32);
		rc = db_account_put(db, a->addr, &acc);
	}
	return rc;
}

int db_block_tx_hashes(struct chain_db *db, uint8_t (**hashes)[32], size_t *count, uint64_t number)
{
	sqlite3_stmt *s = stmt(db, DB_TX_OF_BLOCK);
	uint8_t(*v)[32] = NULL;
	size_t n = 0, cap = 0;
	int rc;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)number);
	while ((rc = row(db, s)) == PHR_OK) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			uint8_t(*p)[32] = phr_realloc(v, nc * 32);

			if (!p) {
				sqlite3_reset(s);
				phr_free(v);
				return PHR_ERR_NOMEM;
			}
			v = p;
			cap = nc;
		}
		col_fixed(v[n++], 32, s, 0);
	}
	if (rc != PHR_ERR_NOT_FOUND) {
		phr_free(v);
		return rc;
	}
	*hashes = v;
	*count = n;
	return PHR_OK;
}
