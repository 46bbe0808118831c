/*
 * The FHIR search index (DIR/fhir.db): current version and history of each
 * resource with the record token that holds it, and the search keys
 * extracted at write time. No resource body is ever stored here.
 */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fhir_int.h"

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS res(type TEXT NOT NULL, id TEXT NOT NULL, vid INTEGER NOT NULL,"
	" updated INTEGER NOT NULL, token TEXT NOT NULL, patient BLOB, pid TEXT NOT NULL,"
	" deleted INTEGER NOT NULL, PRIMARY KEY(type, id));"
	"CREATE TABLE IF NOT EXISTS hist(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,"
	" vid INTEGER NOT NULL, updated INTEGER NOT NULL, token TEXT NOT NULL, patient BLOB,"
	" pid TEXT NOT NULL, deleted INTEGER NOT NULL, method TEXT NOT NULL, UNIQUE(type, id, vid));"
	"CREATE INDEX IF NOT EXISTS res_pid ON res(pid);"
	"CREATE INDEX IF NOT EXISTS res_upd ON res(type, updated);";

/*
 * The search keys: idx is clustered on (type, id, param, k), so a key is
 * written to two B-trees (three for a reference: idx_refid), the table and
 * idx_key, where a file of the first shape (a rowid table with idx_row: see
 * IDX_MIGRATE) wrote four. The table holds the keys of one resource and
 * parameter with their values together (what idx_row held: a search's check
 * of a candidate reads one range of it). idx_key covers a key lookup (it
 * holds id, a column of the primary key). k is the version's hist seq
 * shifted by KEY_BITS plus the key's number in the version: unique within a
 * resource (a put deletes the keys of the previous version first) and
 * growing, so a new version's keys go at the end of each value's run of
 * idx_key (the page last written) instead of at the place of its random id:
 * a write dirties fewer pages of the log, a checkpoint copies fewer.
 */
#define KEY_BITS 20

#define IDX_TABLE(name)                                                                                  \
	"CREATE TABLE " name "(type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, k INTEGER NOT NULL," \
	" sys TEXT, val TEXT, num REAL, lo INTEGER, hi INTEGER, PRIMARY KEY(type, id, param, k)) WITHOUT ROWID;"

static const char IDX_INDEXES[] =
	"CREATE INDEX IF NOT EXISTS idx_key ON idx(type, param, val, sys, k);"
	/* a reference searched by its bare id ("patient=123"): the id part of "Type/id" keys;
	 * with val, the index covers the search (no row of the table sought per match) */
	"CREATE INDEX IF NOT EXISTS idx_refid ON idx(type, param, substr(val, instr(val, '/') + 1), val)"
	" WHERE instr(val, '/') > 0;";

/*
 * Moves the keys of an idx of the first shape (type, id, param, sys, val,
 * num, lo, hi; a rowid table with idx_key, idx_row, idx_refid, or the older
 * idx_val, idx_res) into the clustered one: k is the old rowid (unique; a
 * later put of the resource deletes its keys before numbering new ones).
 */
static const char IDX_MIGRATE[] =
	IDX_TABLE("idx_new")
	"INSERT INTO idx_new(type, id, param, k, sys, val, num, lo, hi)"
	" SELECT type, id, param, rowid, sys, val, num, lo, hi FROM idx ORDER BY type, id, param, rowid;"
	"DROP TABLE idx;"
	"ALTER TABLE idx_new RENAME TO idx;";

/*
 * Whether tdx pairs the keys of search parameter @p name of kind @p kind:
 * a token parameter named "code" with a date parameter not starting with
 * '_'. Not the common ones of every type ("_id", "_lastUpdated", "_tag"...),
 * which would add pairs to every resource for searches that seldom combine
 * them, nor the other token parameters ("status", "category", "combo-code"
 * of an Observation): each pair is a row of tdx and one of tdx_key at a
 * place of its code and date (a page of the log per pair and write), and
 * three pairs per Observation cost a third of the index's CPU per create.
 * A search of another token with a date takes the per-resource plan, with
 * the same results. Pairs an older file holds of other parameters are
 * never searched (a search here asks tdx only of what this function pairs)
 * and go with their resource's next version.
 */
static bool pair_param(const char *name, enum phr_fhir_sp_kind kind)
{
	if (kind == PHR_FHIR_SP_TOKEN)
		return strcmp(name, "code") == 0;
	return kind == PHR_FHIR_SP_DATE && name[0] != '_';
}

/* SQL phr_readable(access pointer, patient, token): the caller's read access to a match. */
static void sql_readable(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct fhir_access *acc = sqlite3_value_pointer(argv[0], "fhir_access");
	const void *pat = sqlite3_value_blob(argv[1]);
	const unsigned char *tok = sqlite3_value_text(argv[2]);
	struct phr_u256 token;
	bool ok = false;

	(void)argc;
	if (acc == NULL) { /* no filter */
		sqlite3_result_int(cx, 1);
		return;
	}
	if (pat != NULL && sqlite3_value_bytes(argv[1]) == 20 && tok != NULL &&
	    phr_u256_parse(&token, (const char *)tok) == 0 && acc->check(acc->ctx, &ok, pat, &token) != PHR_OK)
		ok = false;
	sqlite3_result_int(cx, ok ? 1 : 0);
}

/*
 * SQL phr_sp_kind(type, param): 'token' or 'date' for such a search parameter
 * of type that tdx pairs (pair_param), else NULL.
 */
static void sql_sp_kind(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char *type = sqlite3_value_text(argv[0]);
	const unsigned char *param = sqlite3_value_text(argv[1]);
	const struct phr_fhir_sp *sp;

	(void)argc;
	sp = type != NULL && param != NULL ? phr_fhir_sp_find((const char *)type, (const char *)param) : NULL;
	if (sp != NULL && !pair_param(sp->code, sp->kind))
		sp = NULL;
	if (sp != NULL && sp->kind == PHR_FHIR_SP_TOKEN)
		sqlite3_result_text(cx, "token", -1, SQLITE_STATIC);
	else if (sp != NULL && sp->kind == PHR_FHIR_SP_DATE)
		sqlite3_result_text(cx, "date", -1, SQLITE_STATIC);
	else
		sqlite3_result_null(cx);
}

static int add_functions(sqlite3 *db)
{
	return sqlite3_create_function(db, "phr_readable", 3, SQLITE_UTF8, NULL, sql_readable, NULL, NULL) ==
				       SQLITE_OK &&
			       sqlite3_create_function(db, "phr_sp_kind", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
						       sql_sp_kind, NULL, NULL) == SQLITE_OK
		       ? PHR_OK
		       : PHR_ERR_DB;
}

/* --- the keys' table: its shape, the move from the first one -------------------- */

/* 1 when the table @p name of @p db is WITHOUT ROWID, 0 when it is another, -1 none, -2 error. */
static int table_clustered(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rv = -2, s;

	if (sqlite3_prepare_v2(db, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE type='table' AND name=?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -2;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rv = sqlite3_column_int(st, 0) ? 1 : 0;
	else if (s == SQLITE_DONE)
		rv = -1;
	sqlite3_finalize(st);
	return rv;
}

/* progress of a long statement (a migration): a line every 10 s */
struct progress {
	const char *what;
	time_t start, last;
};

static int progress_log(void *arg)
{
	struct progress *g = arg;
	time_t now = time(NULL);

	if (now - g->last >= 10) {
		g->last = now;
		phr_log_info("fhir", "fhir.db: %s: %lds so far", g->what, (long)(now - g->start));
	}
	return 0;
}

/*
 * Runs @p sql, then @p more (NULL: nothing) on @p db with a line of progress
 * every 10 s and one at the end naming @p what and the time taken.
 * @return SQLITE_OK or SQLite's error.
 */
static int exec_logged(sqlite3 *db, const char *what, const char *sql, const char *more)
{
	struct progress g = { what, time(NULL), time(NULL) };
	int rv;

	phr_log_info("fhir", "fhir.db: %s", what);
	sqlite3_progress_handler(db, 1 << 20, progress_log, &g);
	rv = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rv == SQLITE_OK && more != NULL)
		rv = sqlite3_exec(db, more, NULL, NULL, NULL);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	if (rv == SQLITE_OK)
		phr_log_info("fhir", "fhir.db: %s: done in %lds", what, (long)(time(NULL) - g.start));
	return rv;
}

/*
 * Makes idx of the clustered shape: created in a new file, moved from the
 * first shape in an older one (once, in one transaction under the write
 * lock: another writer opening the file meanwhile waits, then finds it
 * done), then its indexes.
 */
static int idx_open(sqlite3 *db)
{
	int shape = table_clustered(db, "idx");

	if (shape == 1)
		return sqlite3_exec(db, IDX_INDEXES, NULL, NULL, NULL) == SQLITE_OK ? PHR_OK : PHR_ERR_DB;
	if (shape == -2 || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	shape = table_clustered(db, "idx"); /* another connection may have made it meanwhile */
	if (shape == -2 ||
	    (shape == -1 && sqlite3_exec(db, IDX_TABLE("idx"), NULL, NULL, NULL) != SQLITE_OK) ||
	    (shape == 0 && exec_logged(db, "moving the search keys to the clustered table (once)", IDX_MIGRATE,
				       IDX_INDEXES) != SQLITE_OK) ||
	    sqlite3_exec(db, IDX_INDEXES, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return PHR_OK;
fail:
	phr_log_error("fhir", "fhir.db: search keys: %s", sqlite3_errmsg(db));
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return PHR_ERR_DB;
}

/* --- token x date pairs (tdx) ------------------------------------------------- */

/*
 * tdx holds, for each current resource, every pair of one of its code keys
 * and one of its date keys (the cross product of its idx rows of the token
 * parameter "code" and of a date parameter: pair_param), with what a count needs of the
 * resource: seq (its version's hist row: one number per resource), the
 * patient and record token the access filter checks. A search naming one
 * token and one date parameter then counts by one range of tdx_key (the
 * code, then the date bound) instead of walking every resource of the code,
 * probing its date keys and reading its res row. Written from idx in the
 * transaction that writes a resource's keys, deleted with them (a deleted
 * resource has none); a file without tdx gets it filled from idx and res
 * when first opened (tdx_open).
 */
#define TDX_TABLE(name)                                                                                 \
	"CREATE TABLE " name "(type TEXT NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL, tparam TEXT NOT NULL," \
	" sys TEXT, val TEXT, dparam TEXT NOT NULL, lo INTEGER, hi INTEGER, seq INTEGER NOT NULL, patient BLOB," \
	" token TEXT, PRIMARY KEY(type, id, n)) WITHOUT ROWID;"

/*
 * tdx is clustered on (type, id, n), n numbering the pairs of one resource
 * (the table is what tdx_res was: the pairs of a resource, deleted with its
 * keys); tdx_key covers a count.
 */
static const char TDX_KEY[] =
	"CREATE INDEX tdx_key ON tdx(type, tparam, val, dparam, hi, lo, sys, seq, patient, token, id);";

/* the token and date keys of idx (rows matching @p where) with their kind */
#define TDX_KEYS(where)                                                                                       \
	"INSERT INTO tdx(type, id, n, tparam, sys, val, dparam, lo, hi, seq, patient, token)"                 \
	" WITH k AS MATERIALIZED (SELECT * FROM (SELECT type, id, param, sys, val, lo, hi,"                   \
	" phr_sp_kind(type, param) AS kind FROM idx" where ") WHERE kind IS NOT NULL)"

/* The pairs of every current resource; seq of a resource without its hist row: -(its res rowid). */
static const char TDX_FILL[] =
	TDX_KEYS("") " SELECT t.type, t.id, row_number() OVER (), t.param, t.sys, t.val, d.param, d.lo, d.hi,"
		     " coalesce(h.seq, -r.rowid), r.patient, r.token FROM k t JOIN k d ON d.type=t.type AND d.id=t.id"
		     " JOIN res r ON r.type=t.type AND r.id=t.id AND r.deleted=0"
		     " LEFT JOIN hist h ON h.type=r.type AND h.id=r.id AND h.vid=r.vid"
		     " WHERE t.kind='token' AND d.kind='date'";

/* The pairs of a tdx of the first shape (a rowid table with tdx_key and tdx_res) into the clustered one. */
static const char TDX_MIGRATE[] =
	TDX_TABLE("tdx_new")
	"INSERT INTO tdx_new(type, id, n, tparam, sys, val, dparam, lo, hi, seq, patient, token)"
	" SELECT type, id, rowid, tparam, sys, val, dparam, lo, hi, seq, patient, token FROM tdx"
	" ORDER BY type, id, rowid;"
	"DROP TABLE tdx;"
	"ALTER TABLE tdx_new RENAME TO tdx;";

/*
 * The shape of tdx in @p db: 2 the clustered one, 1 the first one (a rowid
 * table) with this tdx_key, 0 none or an older one, -1 when it cannot tell.
 */
static int tdx_shape(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int key, table = table_clustered(db, "tdx");

	if (table == -2 || sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='index' AND name='tdx_key'"
						  " AND sql LIKE '%seq, patient, token, id)'",
					      -1, &st, NULL) != SQLITE_OK)
		return -1;
	key = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return !key ? 0 : table == 1 ? 2 : 1;
}

/*
 * Creates tdx in a file that has none (or an older shape), filled from idx
 * and res in one transaction; moves the pairs of the first shape into the
 * clustered one; a file that has it takes no write lock.
 */
static int tdx_open(sqlite3 *db)
{
	int shape = tdx_shape(db);
	bool fresh = false; /* no keys yet: nothing to fill, nothing to log */
	sqlite3_stmt *st = NULL;

	if (shape == 2)
		return PHR_OK;
	if (shape < 0 || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	shape = tdx_shape(db); /* another connection may have made it meanwhile */
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM idx LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	fresh = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (shape < 0 ||
	    (shape == 1 &&
	     exec_logged(db, "moving the token/date pairs to the clustered table (once)", TDX_MIGRATE, TDX_KEY) !=
		     SQLITE_OK) ||
	    (shape == 0 && (sqlite3_exec(db, "DROP TABLE IF EXISTS tdx", NULL, NULL, NULL) != SQLITE_OK ||
			    sqlite3_exec(db, TDX_TABLE("tdx"), NULL, NULL, NULL) != SQLITE_OK ||
			    (fresh ? sqlite3_exec(db, TDX_KEY, NULL, NULL, NULL)
				   : exec_logged(db, "filling the token/date pairs (once)", TDX_FILL, TDX_KEY)) !=
				    SQLITE_OK)))
		goto fail;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return PHR_OK;
fail:
	phr_log_error("fhir", "fhir.db: token/date pairs: %s", sqlite3_errmsg(db));
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return PHR_ERR_DB;
}

/* --- checkpoints --------------------------------------------------------------- */

/*
 * Checkpoints off the request path. A writer connection of fhir.db runs no
 * automatic checkpoint (wal_autocheckpoint=0: SQLite's own would copy the
 * log into the file inside the commit of the write that crossed its 1,000
 * pages, a group of writes and every write queued behind it waiting). Its
 * WAL hook wakes the file's checkpoint thread once the log holds CKPT_PAGES
 * pages; the thread runs a PASSIVE checkpoint on its own connection
 * (writers and readers go on meanwhile). The same 1,000 pages as SQLite's:
 * a reader finds pages still in the log with more work than in the mapped
 * file. Beyond CKPT_MAX_PAGES (the thread cannot keep up) the committing
 * writer checkpoints itself. Checkpoints change nothing of durability: a
 * commit is in the log (synchronous=NORMAL), which a reopen replays.
 */
#define CKPT_PAGES 1000
#define CKPT_MAX_PAGES (8 * CKPT_PAGES)

struct ckpt {
	char path[1024];
	unsigned refs; /* writer connections of this file (ckpts_lock) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool due, stop;
};

static struct ckpt *ckpts[8];
static pthread_mutex_t ckpts_lock = PTHREAD_MUTEX_INITIALIZER;

static void *ckpt_main(void *arg)
{
	struct ckpt *k = arg;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(k->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		phr_log_warn("fhir", "%s: the checkpoint connection cannot open: %s", k->path,
			     db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
	} else {
		(void)sqlite3_busy_timeout(db, 5000);
		(void)sqlite3_wal_autocheckpoint(db, 0);
		/* a connection that never read the file has no log open: its checkpoint does nothing */
		(void)sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	}
	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->due && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (k->stop)
			break;
		k->due = false;
		pthread_mutex_unlock(&k->mu);
		if (db != NULL &&
		    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_OK)
			phr_log_warn("fhir", "%s: checkpoint: %s", k->path, sqlite3_errmsg(db));
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	sqlite3_close(db);
	return NULL;
}

static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *k = arg;

	if (pages >= CKPT_MAX_PAGES) {
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&k->mu);
		k->due = true;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
	}
	return SQLITE_OK;
}

/* The checkpoint thread of @p path, started on first use; NULL if none can start. */
static struct ckpt *ckpt_get(const char *path)
{
	struct ckpt *k = NULL;
	size_t freei = PHR_ARRAY_LEN(ckpts);

	pthread_mutex_lock(&ckpts_lock);
	for (size_t i = 0; i < PHR_ARRAY_LEN(ckpts) && k == NULL; i++) {
		if (ckpts[i] != NULL && strcmp(ckpts[i]->path, path) == 0)
			k = ckpts[i];
		else if (ckpts[i] == NULL && freei == PHR_ARRAY_LEN(ckpts))
			freei = i;
	}
	if (k == NULL && freei < PHR_ARRAY_LEN(ckpts) && (k = phr_calloc(1, sizeof(*k))) != NULL) {
		snprintf(k->path, sizeof(k->path), "%s", path);
		pthread_mutex_init(&k->mu, NULL);
		pthread_cond_init(&k->cv, NULL);
		if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
			pthread_mutex_destroy(&k->mu);
			pthread_cond_destroy(&k->cv);
			phr_free(k);
			k = NULL;
		} else {
			ckpts[freei] = k;
		}
	}
	if (k != NULL)
		k->refs++;
	pthread_mutex_unlock(&ckpts_lock);
	return k;
}

/*
 * Drops a writer's use of @p arg, when it is a checkpoint thread's (the WAL
 * hook argument of a connection: SQLite's own hook has its page count); the
 * last use stops the thread.
 */
static void ckpt_put(void *arg)
{
	struct ckpt *k = NULL;
	bool last = false;

	pthread_mutex_lock(&ckpts_lock);
	for (size_t i = 0; arg != NULL && i < PHR_ARRAY_LEN(ckpts) && k == NULL; i++)
		if (ckpts[i] == arg) {
			k = ckpts[i];
			if ((last = --k->refs == 0))
				ckpts[i] = NULL;
		}
	pthread_mutex_unlock(&ckpts_lock);
	if (!last)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	phr_free(k);
}

/* Checkpoints of the writer @p db of @p path by the file's thread (else SQLite's own, in commits). */
static void ckpt_watch(sqlite3 *db, const char *path)
{
	struct ckpt *k = ckpt_get(path);

	if (k != NULL && sqlite3_wal_autocheckpoint(db, 0) == SQLITE_OK)
		(void)sqlite3_wal_hook(db, ckpt_hook, k);
	else if (k != NULL)
		ckpt_put(k);
}

int fhir_db_open(struct fhir_db *f, const char *dir)
{
	char path[1024];

	int fd;

	memset(f, 0, sizeof(*f));
	if (snprintf(path, sizeof(path), "%s/fhir.db", dir) >= (int)sizeof(path))
		return PHR_ERR_TOO_LARGE;
	/* search keys include names and dates: owner only; SQLite gives the -wal and
	 * -shm files the mode of the database file */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return PHR_ERR_IO;
	close(fd);
	if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(f->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(f->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK || add_functions(f->db) != PHR_OK ||
	    idx_open(f->db) != PHR_OK || tdx_open(f->db) != PHR_OK) {
		phr_log_error("fhir", "fhir.db: %s", f->db ? sqlite3_errmsg(f->db) : "open failed");
		sqlite3_close(f->db);
		f->db = NULL;
		return PHR_ERR_DB;
	}
	if (chmod(path, 0600) != 0) /* an older file */
		phr_log_warn("fhir", "cannot restrict %s to its owner", path);
	ckpt_watch(f->db, path);
	return PHR_OK;
}

/* --- one mapping of fhir.db for every reader ------------------------------------ */

/*
 * SQLite maps the database file once per connection (PRAGMA mmap_size), so
 * each of the pool's 64 readers faults every page it touches into its own
 * mapping: at 300,000 resources a fifth of a search's index time was page
 * faults (a page seldom touched before by that reader), against a twentieth
 * at 10,000. The readers open fhir.db through the VFS "phr-fhir-map", which
 * is the default one except for xFetch: a page of the database file is
 * served from one read-only mapping of the file per process (MAP_LEN bytes
 * of address space, mapped once when the first reader opens the file: a
 * page that the file grows into later is served once its size covers it),
 * so a page is faulted once for all readers. xUnfetch does nothing: the
 * mapping lives as long as a reader of the file is open. The index file
 * never shrinks (no VACUUM, no auto_vacuum), so a page once served stays in
 * the file. Pages still in the log are read from it as before; a reader
 * writes nothing, so this changes no durability.
 */
#define MAP_LEN ((size_t)1 << 36) /* 64 GiB of address space: beyond it, pages are read (pread) */

struct fmap {
	dev_t dev;
	ino_t ino;
	unsigned refs; /* open files of this mapping (maps_lock) */
	const uint8_t *base;
	_Atomic(int64_t) size; /* bytes of the file known to exist (read without a lock: every fetch) */
};

struct mfile {
	sqlite3_file base;
	struct fmap *map; /* NULL: not a main database file (a log, its index) or not mapped */
	sqlite3_file *real;
};

static struct fmap *maps[8];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs map_vfs;
static sqlite3_io_methods map_io;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;
static bool map_ok;

/* The mapping of the file @p path (a new one on first use, counted); NULL when it cannot be mapped. */
static struct fmap *fmap_get(const char *path)
{
	struct stat sb;
	struct fmap *m = NULL;
	size_t freei = PHR_ARRAY_LEN(maps);
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return NULL;
	}
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < PHR_ARRAY_LEN(maps) && m == NULL; i++) {
		if (maps[i] != NULL && maps[i]->dev == sb.st_dev && maps[i]->ino == sb.st_ino)
			m = maps[i];
		else if (maps[i] == NULL && freei == PHR_ARRAY_LEN(maps))
			freei = i;
	}
	if (m == NULL && freei < PHR_ARRAY_LEN(maps) && (m = phr_calloc(1, sizeof(*m))) != NULL) {
		void *p = mmap(NULL, MAP_LEN, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			phr_free(m);
			m = NULL;
		} else {
			m->dev = sb.st_dev;
			m->ino = sb.st_ino;
			m->base = p;
			atomic_store(&m->size, (int64_t)sb.st_size);
			maps[freei] = m;
		}
	}
	if (m != NULL)
		m->refs++;
	pthread_mutex_unlock(&maps_lock);
	close(fd); /* the mapping keeps the file */
	return m;
}

static void fmap_put(struct fmap *m)
{
	bool last = false;

	if (m == NULL)
		return;
	pthread_mutex_lock(&maps_lock);
	if ((last = --m->refs == 0))
		for (size_t i = 0; i < PHR_ARRAY_LEN(maps); i++)
			if (maps[i] == m)
				maps[i] = NULL;
	pthread_mutex_unlock(&maps_lock);
	if (last) {
		munmap((void *)(uintptr_t)m->base, MAP_LEN);
		phr_free(m);
	}
}

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct mfile *)f)->real;
}

static int m_close(sqlite3_file *f)
{
	struct mfile *mf = (struct mfile *)f;
	int rv = mf->real->pMethods->xClose(mf->real);

	fmap_put(mf->map);
	mf->map = NULL;
	return rv;
}

/* io methods that pass the call to the real file */
#define IO_PASS(ret, name, params, args)                          \
	static ret m_##name params                                \
	{                                                         \
		sqlite3_file *real = real_of(f);                  \
		return real->pMethods->x##name args;              \
	}
IO_PASS(int, Read, (sqlite3_file * f, void *b, int n, sqlite3_int64 o), (real, b, n, o))
IO_PASS(int, Write, (sqlite3_file * f, const void *b, int n, sqlite3_int64 o), (real, b, n, o))
IO_PASS(int, Truncate, (sqlite3_file * f, sqlite3_int64 size), (real, size))
IO_PASS(int, Sync, (sqlite3_file * f, int flags), (real, flags))
IO_PASS(int, FileSize, (sqlite3_file * f, sqlite3_int64 *size), (real, size))
IO_PASS(int, Lock, (sqlite3_file * f, int level), (real, level))
IO_PASS(int, Unlock, (sqlite3_file * f, int level), (real, level))
IO_PASS(int, CheckReservedLock, (sqlite3_file * f, int *out), (real, out))
IO_PASS(int, FileControl, (sqlite3_file * f, int op, void *arg), (real, op, arg))
IO_PASS(int, SectorSize, (sqlite3_file * f), (real))
IO_PASS(int, DeviceCharacteristics, (sqlite3_file * f), (real))
IO_PASS(int, ShmMap, (sqlite3_file * f, int pg, int pgsz, int extend, void volatile **pp), (real, pg, pgsz, extend, pp))
IO_PASS(int, ShmLock, (sqlite3_file * f, int offset, int n, int flags), (real, offset, n, flags))
IO_PASS(int, ShmUnmap, (sqlite3_file * f, int del), (real, del))
#undef IO_PASS

static void m_ShmBarrier(sqlite3_file *f)
{
	real_of(f)->pMethods->xShmBarrier(real_of(f));
}

/* A page of the file from the process's mapping; *pp NULL (SQLite reads it) beyond the file or the mapping. */
static int m_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct fmap *m = ((struct mfile *)f)->map;
	sqlite3_int64 size, end = off + n;
	int64_t known;

	*pp = NULL;
	if (m == NULL || off < 0 || n <= 0 || end > (sqlite3_int64)MAP_LEN)
		return SQLITE_OK;
	if (end > atomic_load_explicit(&m->size, memory_order_relaxed)) { /* the file may have grown since */
		if (m_FileSize(f, &size) != SQLITE_OK || end > size)
			return SQLITE_OK;
		known = atomic_load(&m->size);
		while (known < size && !atomic_compare_exchange_weak(&m->size, &known, (int64_t)size))
			;
	}
	*pp = (void *)(uintptr_t)(m->base + off);
	return SQLITE_OK;
}

static int m_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	(void)f;
	(void)off;
	(void)p;
	return SQLITE_OK;
}

static int m_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
	sqlite3_vfs *real = vfs->pAppData;
	struct mfile *mf = (struct mfile *)f;
	int rv;

	memset(mf, 0, sizeof(*mf));
	mf->real = (sqlite3_file *)(mf + 1);
	rv = real->xOpen(real, name, mf->real, flags, out_flags);
	if (rv != SQLITE_OK || mf->real->pMethods == NULL) {
		mf->base.pMethods = NULL; /* SQLite closes nothing */
		return rv;
	}
	if ((flags & SQLITE_OPEN_MAIN_DB) != 0 && mf->real->pMethods->iVersion >= 3)
		mf->map = fmap_get(name);
	mf->base.pMethods = &map_io;
	return SQLITE_OK;
}

#define VFS_PASS(ret, name, params, args)                         \
	static ret v_##name params                                \
	{                                                         \
		sqlite3_vfs *real = vfs->pAppData;                \
		return real->x##name args;                        \
	}
VFS_PASS(int, Delete, (sqlite3_vfs * vfs, const char *z, int sync), (real, z, sync))
VFS_PASS(int, Access, (sqlite3_vfs * vfs, const char *z, int flags, int *out), (real, z, flags, out))
VFS_PASS(int, FullPathname, (sqlite3_vfs * vfs, const char *z, int n, char *out), (real, z, n, out))
VFS_PASS(int, Randomness, (sqlite3_vfs * vfs, int n, char *out), (real, n, out))
VFS_PASS(int, Sleep, (sqlite3_vfs * vfs, int us), (real, us))
VFS_PASS(int, CurrentTime, (sqlite3_vfs * vfs, double *out), (real, out))
VFS_PASS(int, GetLastError, (sqlite3_vfs * vfs, int n, char *out), (real, n, out))
VFS_PASS(int, CurrentTimeInt64, (sqlite3_vfs * vfs, sqlite3_int64 *out), (real, out))
#undef VFS_PASS

static void map_vfs_register(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
		return;
	map_io = (sqlite3_io_methods){ 3,	  m_close,     m_Read,	      m_Write,
				       m_Truncate, m_Sync,      m_FileSize,     m_Lock,
				       m_Unlock,   m_CheckReservedLock, m_FileControl, m_SectorSize,
				       m_DeviceCharacteristics, m_ShmMap, m_ShmLock, m_ShmBarrier,
				       m_ShmUnmap, m_fetch, m_unfetch };
	map_vfs = (sqlite3_vfs){ .iVersion = 2,
				 .szOsFile = (int)(sizeof(struct mfile) + (size_t)real->szOsFile),
				 .mxPathname = real->mxPathname,
				 .zName = "phr-fhir-map",
				 .pAppData = real,
				 .xOpen = m_open,
				 .xDelete = v_Delete,
				 .xAccess = v_Access,
				 .xFullPathname = v_FullPathname,
				 .xDlOpen = real->xDlOpen,
				 .xDlError = real->xDlError,
				 .xDlSym = real->xDlSym,
				 .xDlClose = real->xDlClose,
				 .xRandomness = v_Randomness,
				 .xSleep = v_Sleep,
				 .xCurrentTime = v_CurrentTime,
				 .xGetLastError = v_GetLastError,
				 .xCurrentTimeInt64 = v_CurrentTimeInt64 };
	map_ok = sqlite3_vfs_register(&map_vfs, 0) == SQLITE_OK;
}

/* The VFS of the readers: "phr-fhir-map", or NULL (the default) when it cannot be made. */
static const char *reader_vfs(void)
{
	pthread_once(&map_once, map_vfs_register);
	return map_ok ? "phr-fhir-map" : NULL;
}

int fhir_db_open_reader(struct fhir_db *f, const char *dir)
{
	char path[1024];

	memset(f, 0, sizeof(*f));
	if (snprintf(path, sizeof(path), "%s/fhir.db", dir) >= (int)sizeof(path))
		return PHR_ERR_TOO_LARGE;
	/* a kept reader's page cache: 4 MiB (the default is 2 MiB; 16 readers) */
	if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, reader_vfs()) != SQLITE_OK ||
	    sqlite3_busy_timeout(f->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(f->db, "PRAGMA cache_size=-4096", NULL, NULL, NULL) != SQLITE_OK ||
	    add_functions(f->db) != PHR_OK) {
		phr_log_warn("fhir", "%s: a reader cannot open: %s (%d)", path,
			     f->db ? sqlite3_errmsg(f->db) : "out of memory",
			     f->db ? sqlite3_extended_errcode(f->db) : 0);
		sqlite3_close(f->db);
		f->db = NULL;
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

static void stmt_cache_free(struct fhir_db *f);

void fhir_db_close(struct fhir_db *f)
{
	stmt_cache_free(f);
	for (size_t i = 0; i < FHIR_ST_COUNT; i++) {
		sqlite3_finalize(f->st[i]);
		f->st[i] = NULL;
	}
	if (f->db != NULL) {
		void *hook = sqlite3_wal_hook(f->db, NULL, NULL);
		sqlite3_close(f->db);
		ckpt_put(hook);
	}
	f->db = NULL;
}

void fhir_pool_init(struct fhir_pool *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
}

void fhir_pool_release(struct fhir_pool *p)
{
	for (size_t i = 0; i < FHIR_POOL_MAX; i++)
		fhir_db_close(&p->db[i]);
	pthread_mutex_destroy(&p->mu);
}

/*
 * A pooled reader: fhir_db_open_reader, then the file mapped into memory
 * (up to SQLite's limit, 2 GiB by default): pages of the database file are
 * read in place from the OS page cache, shared by every reader, instead of
 * each copying them with pread into its own page cache (a count search over
 * a few thousand matches walked more than a reader's 4 MiB and spent a
 * third of its time in the kernel's copies). Pages still in the WAL are read
 * as before. A reader writes nothing, so this changes no durability.
 */
static int pool_open(struct fhir_db *f, const char *dir)
{
	int rv = fhir_db_open_reader(f, dir);

	if (rv == PHR_OK && sqlite3_exec(f->db, "PRAGMA mmap_size=4294967296", NULL, NULL, NULL) != SQLITE_OK)
		phr_log_warn("fhir", "a reader cannot map the index: %s", sqlite3_errmsg(f->db));
	return rv;
}

struct fhir_db *fhir_pool_take(struct fhir_pool *p)
{
	struct fhir_db *f = NULL;
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < FHIR_POOL_MAX && (p->busy[i] || p->db[i].db == NULL); i++)
		;
	if (i == FHIR_POOL_MAX) /* none idle: a new one in a free slot (not one another
				 * thread has taken and is opening: its db is still NULL) */
		for (i = 0; i < FHIR_POOL_MAX && (p->busy[i] || p->db[i].db != NULL); i++)
			;
	if (i < FHIR_POOL_MAX)
		p->busy[i] = true;
	pthread_mutex_unlock(&p->mu);
	if (i < FHIR_POOL_MAX) {
		f = &p->db[i];
		if (f->db == NULL && pool_open(f, p->dir) != PHR_OK) {
			pthread_mutex_lock(&p->mu);
			p->busy[i] = false;
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		return f;
	}
	/* every slot taken: a connection for this request only */
	if ((f = phr_calloc(1, sizeof(*f))) != NULL && pool_open(f, p->dir) != PHR_OK) {
		phr_free(f);
		f = NULL;
	}
	return f;
}

void fhir_pool_give(struct fhir_pool *p, struct fhir_db *f)
{
	if (f == NULL)
		return;
	if (f >= p->db && f < p->db + FHIR_POOL_MAX) {
		pthread_mutex_lock(&p->mu);
		p->busy[f - p->db] = false;
		pthread_mutex_unlock(&p->mu);
		return;
	}
	fhir_db_close(f);
	phr_free(f);
}

/* Kept statement @p k of @p f, prepared on first use; reset and unbound after each use (stmt_done). */
static sqlite3_stmt *stmt(struct fhir_db *f, enum fhir_stmt k)
{
	static const char *const sql[FHIR_ST_COUNT] = {
		[FHIR_ST_GET] = "SELECT type, id, vid, updated, token, patient, pid, deleted FROM res "
				"WHERE type=?1 AND id=?2",
		[FHIR_ST_GET_VERSION] = "SELECT type, id, vid, updated, token, patient, pid, deleted FROM hist "
					"WHERE type=?1 AND id=?2 AND vid=?3",
		[FHIR_ST_PUT_RES] = "INSERT OR REPLACE INTO res(type, id, vid, updated, token, patient, pid, "
				    "deleted) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
		[FHIR_ST_PUT_HIST] = "INSERT INTO hist(type, id, vid, updated, token, patient, pid, deleted, "
				     "method) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
		[FHIR_ST_DEL_KEYS] = "DELETE FROM idx WHERE type=?1 AND id=?2",
		[FHIR_ST_PUT_KEY] = "INSERT INTO idx(type, id, param, sys, val, num, lo, hi, k) "
				    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	};

	if (f->st[k] == NULL &&
	    sqlite3_prepare_v3(f->db, sql[k], -1, SQLITE_PREPARE_PERSISTENT, &f->st[k], NULL) != SQLITE_OK) {
		phr_log_warn("fhir", "index statement %d: %s (%d)", (int)k, sqlite3_errmsg(f->db),
			     sqlite3_extended_errcode(f->db));
		f->st[k] = NULL;
		return NULL;
	}
	return f->st[k];
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* --- statements of built SQL, kept by their text ------------------------------ */

/*
 * A search's SQL depends on its parameter names, modifiers and the number of
 * alternatives, never on the values (bound): one connection meets a few
 * distinct texts again and again. It keeps up to STMT_CACHE_MAX of them,
 * the least recently used finalized first; a kept one is reset and unbound
 * when given back (cached_done), so an idle connection holds no snapshot.
 */
#define STMT_CACHE_MAX 48

struct fhir_stmt_cache {
	uint64_t clock;
	size_t n;
	struct cached_stmt {
		uint64_t hash;
		uint64_t used; /* clock at the last take */
		size_t len;
		char *sql;
		sqlite3_stmt *st;
		bool out; /* taken, not yet given back */
	} e[STMT_CACHE_MAX];
};

static uint64_t sql_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h;
}

static void stmt_cache_free(struct fhir_db *f)
{
	struct fhir_stmt_cache *c = f->cache;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		sqlite3_finalize(c->e[i].st);
		phr_free(c->e[i].sql);
	}
	phr_free(c);
	f->cache = NULL;
}

/*
 * A statement of @p sql (@p len bytes, NUL-terminated) on @p f: a kept one
 * when an idle one has this text, else newly prepared and kept (or, when it
 * cannot be kept, a statement of its own). Give it back with cached_done.
 * @return PHR_OK, PHR_ERR_DB (logged).
 */
static int cached_prepare(struct fhir_db *f, sqlite3_stmt **st, const char *sql, size_t len)
{
	struct fhir_stmt_cache *c = f->cache;
	uint64_t h = sql_hash(sql, len);
	struct cached_stmt *slot = NULL;

	if (c == NULL && (c = f->cache = phr_calloc(1, sizeof(*c))) == NULL) {
		*st = NULL; /* no cache: prepared below, finalized by cached_done */
	} else {
		for (size_t i = 0; i < c->n; i++) {
			struct cached_stmt *e = &c->e[i];
			if (e->hash == h && e->len == len && !e->out && memcmp(e->sql, sql, len) == 0) {
				e->out = true;
				e->used = ++c->clock;
				*st = e->st;
				return PHR_OK;
			}
		}
	}
	if (sqlite3_prepare_v3(f->db, sql, (int)(len + 1), SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		phr_log_error("fhir", "search sql: %s", sqlite3_errmsg(f->db));
		sqlite3_finalize(*st);
		*st = NULL;
		return PHR_ERR_DB;
	}
	if (c == NULL)
		return PHR_OK;
	if (c->n < STMT_CACHE_MAX) {
		slot = &c->e[c->n];
	} else { /* the least recently used idle one goes */
		for (size_t i = 0; i < c->n; i++)
			if (!c->e[i].out && (slot == NULL || c->e[i].used < slot->used))
				slot = &c->e[i];
		if (slot == NULL) /* every kept one taken: this one is not kept */
			return PHR_OK;
		sqlite3_finalize(slot->st);
		phr_free(slot->sql);
		slot->st = NULL;
		slot->sql = NULL;
		/* the last slot moves here: the kept ones stay c->e[0 .. n-1] */
		*slot = c->e[--c->n];
		slot = &c->e[c->n];
	}
	if ((slot->sql = phr_malloc(len + 1)) == NULL)
		return PHR_OK; /* not kept */
	memcpy(slot->sql, sql, len + 1);
	slot->hash = h;
	slot->len = len;
	slot->st = *st;
	slot->out = true;
	slot->used = ++c->clock;
	c->n++;
	return PHR_OK;
}

/* Gives back a statement of cached_prepare (NULL: no-op): reset and unbound if kept, else finalized. */
static void cached_done(struct fhir_db *f, sqlite3_stmt *st)
{
	struct fhir_stmt_cache *c = f->cache;

	if (st == NULL)
		return;
	for (size_t i = 0; c != NULL && i < c->n; i++)
		if (c->e[i].st == st) {
			stmt_done(st);
			c->e[i].out = false;
			return;
		}
	sqlite3_finalize(st);
}

static int exec(struct fhir_db *f, const char *sql)
{
	return sqlite3_exec(f->db, sql, NULL, NULL, NULL) == SQLITE_OK ? PHR_OK : PHR_ERR_DB;
}

int fhir_db_begin(struct fhir_db *f)
{
	return exec(f, "BEGIN IMMEDIATE");
}

int fhir_db_commit(struct fhir_db *f)
{
	return exec(f, "COMMIT");
}

void fhir_db_rollback(struct fhir_db *f)
{
	(void)exec(f, "ROLLBACK");
}

void fhir_instant(char out[32], int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	char tmp[96];

	gmtime_r(&s, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	snprintf(out, 32, "%.31s", tmp);
}

static void text_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Columns: type, id, vid, updated, token, patient, pid, deleted. */
#define ROW_COLS "type, id, vid, updated, token, patient, pid, deleted"

static void row_read(struct fhir_row *r, sqlite3_stmt *st)
{
	char tok[PHR_U256_DEC_LEN];
	const void *p;

	memset(r, 0, sizeof(*r));
	text_col(r->type, sizeof(r->type), st, 0);
	text_col(r->id, sizeof(r->id), st, 1);
	r->vid = (uint64_t)sqlite3_column_int64(st, 2);
	r->updated_ms = sqlite3_column_int64(st, 3);
	text_col(tok, sizeof(tok), st, 4);
	if (phr_u256_parse(&r->token, tok) != 0)
		r->token = PHR_U256_ZERO;
	p = sqlite3_column_blob(st, 5);
	if (p != NULL && sqlite3_column_bytes(st, 5) == 20)
		memcpy(r->patient, p, 20);
	text_col(r->pid, sizeof(r->pid), st, 6);
	r->deleted = sqlite3_column_int(st, 7) != 0;
}

static int get_row(struct fhir_db *f, struct fhir_row *row, enum fhir_stmt k, const char *type,
		   const char *id, uint64_t vid)
{
	sqlite3_stmt *st = stmt(f, k);
	int rv;

	if (st == NULL)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (vid)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)vid);
	rv = sqlite3_step(st);
	if (rv == SQLITE_ROW) {
		row_read(row, st);
		rv = PHR_OK;
	} else if (rv == SQLITE_DONE) {
		rv = PHR_ERR_NOT_FOUND;
	} else {
		phr_log_warn("fhir", "index read of %s/%s: %s (%d)", type, id, sqlite3_errmsg(f->db),
			     sqlite3_extended_errcode(f->db));
		rv = PHR_ERR_DB;
	}
	stmt_done(st);
	return rv;
}

int fhir_db_get(struct fhir_db *f, struct fhir_row *row, const char *type, const char *id)
{
	return get_row(f, row, FHIR_ST_GET, type, id, 0);
}

int fhir_db_get_version(struct fhir_db *f, struct fhir_row *row, const char *type, const char *id,
			uint64_t vid)
{
	return get_row(f, row, FHIR_ST_GET_VERSION, type, id, vid);
}

/* the token and date keys of one resource kept for its tdx pairs (more: the pairs by SQL) */
#define PAIR_TOKENS 64
#define PAIR_DATES 16
#define PAIR_POOL 4096

struct put_ctx {
	sqlite3_stmt *st;
	int rv;
	bool token, date; /* keys of a token and of a date parameter tdx pairs given */
	bool spill;       /* more than t, d, pool hold */
	size_t nt, nd, used;
	size_t keys;  /* written */
	int64_t k0;   /* their k: k0 + 1, k0 + 2... */
	struct {
		const char *param, *sys, *val;
	} t[PAIR_TOKENS];
	struct {
		const char *param;
		int64_t lo, hi;
	} d[PAIR_DATES];
	char pool[PAIR_POOL];
};

/* A copy of @p s (NULL: NULL) in @p p's pool; NULL and spilled when it does not fit. */
static const char *pool_copy(struct put_ctx *p, const char *s)
{
	size_t n;
	char *c;

	if (s == NULL || p->spill)
		return NULL;
	n = strlen(s) + 1;
	if (n > sizeof(p->pool) - p->used) {
		p->spill = true;
		return NULL;
	}
	c = p->pool + p->used;
	memcpy(c, s, n);
	p->used += n;
	return c;
}

/* Keeps key @p k for the tdx pairs when tdx pairs its parameter (see sql_sp_kind). */
static void tdx_keep(struct put_ctx *p, const struct phr_fhir_key *k)
{
	if (!pair_param(k->param, k->kind))
		return;
	if (k->kind == PHR_FHIR_SP_DATE) {
		p->date = true;
		if (p->nd == PAIR_DATES) {
			p->spill = true;
			return;
		}
		p->d[p->nd].param = k->param;
		p->d[p->nd].lo = k->lo;
		p->d[p->nd++].hi = k->hi;
	} else if (k->kind == PHR_FHIR_SP_TOKEN) {
		p->token = true;
		if (p->nt == PAIR_TOKENS) {
			p->spill = true;
			return;
		}
		p->t[p->nt].param = k->param;
		p->t[p->nt].sys = pool_copy(p, k->system);
		p->t[p->nt++].val = pool_copy(p, k->value);
	}
}

static int put_key(void *ctx, const struct phr_fhir_key *k)
{
	struct put_ctx *p = ctx;
	sqlite3_stmt *st = p->st;

	/* bound without a copy: the step below is the only use (the next key rebinds) */
	sqlite3_reset(st);
	sqlite3_bind_text(st, 3, k->param, -1, SQLITE_STATIC);
	if (k->system != NULL)
		sqlite3_bind_text(st, 4, k->system, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	if (k->value != NULL)
		sqlite3_bind_text(st, 5, k->value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_double(st, 6, k->num);
	sqlite3_bind_int64(st, 7, k->lo);
	sqlite3_bind_int64(st, 8, k->hi);
	sqlite3_bind_int64(st, 9, p->k0 + (sqlite3_int64)++p->keys);
	if (sqlite3_step(st) != SQLITE_DONE)
		return PHR_ERR_DB;
	tdx_keep(p, k);
	return PHR_OK;
}

static int bind_row(sqlite3_stmt *st, const struct fhir_row *row)
{
	char tok[PHR_U256_DEC_LEN];

	phr_u256_to_dec(tok, &row->token);
	sqlite3_bind_text(st, 1, row->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)row->vid);
	sqlite3_bind_int64(st, 4, row->updated_ms);
	sqlite3_bind_text(st, 5, tok, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 6, row->patient, 20, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, row->pid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, row->deleted);
	return sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
}

static int run1(struct fhir_db *f, enum fhir_stmt k, const struct fhir_row *row, const char *extra)
{
	sqlite3_stmt *st = stmt(f, k);
	int rv;

	if (st == NULL)
		return PHR_ERR_DB;
	if (extra != NULL)
		sqlite3_bind_text(st, 9, extra, -1, SQLITE_STATIC);
	rv = bind_row(st, row);
	stmt_done(st);
	return rv;
}

/*
 * Runs @p sql (@p size bytes with its NUL) on the tdx rows of @p row: ?1 type,
 * ?2 id, and when @p put ?3 vid, ?4 patient, ?5 record token.
 */
static int tdx_run(struct fhir_db *f, const char *sql, size_t size, const struct fhir_row *row, bool put)
{
	sqlite3_stmt *st = NULL;
	char tok[PHR_U256_DEC_LEN];
	int rv;

	if (cached_prepare(f, &st, sql, size - 1) != PHR_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, row->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->id, -1, SQLITE_STATIC);
	if (put) {
		phr_u256_to_dec(tok, &row->token);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)row->vid);
		sqlite3_bind_blob(st, 4, row->patient, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, tok, -1, SQLITE_STATIC);
	}
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	cached_done(f, st);
	return rv;
}

/* Writes the tdx pairs of the keys @p p kept (not spilled) of @p row, version @p seq. */
static int tdx_put(struct fhir_db *f, const struct put_ctx *p, const struct fhir_row *row, int64_t seq)
{
	static const char sql[] = "INSERT INTO tdx(type, id, tparam, sys, val, dparam, lo, hi, seq, patient, token, n)"
				  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
	sqlite3_stmt *st = NULL;
	char tok[PHR_U256_DEC_LEN];
	int rv = PHR_OK;

	if (cached_prepare(f, &st, sql, sizeof(sql) - 1) != PHR_OK)
		return PHR_ERR_DB;
	phr_u256_to_dec(tok, &row->token);
	sqlite3_bind_text(st, 1, row->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, seq);
	sqlite3_bind_blob(st, 10, row->patient, 20, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, tok, -1, SQLITE_STATIC);
	for (size_t i = 0; i < p->nt && rv == PHR_OK; i++)
		for (size_t j = 0; j < p->nd && rv == PHR_OK; j++) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 3, p->t[i].param, -1, SQLITE_STATIC);
			if (p->t[i].sys != NULL)
				sqlite3_bind_text(st, 4, p->t[i].sys, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 4);
			if (p->t[i].val != NULL)
				sqlite3_bind_text(st, 5, p->t[i].val, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 5);
			sqlite3_bind_text(st, 6, p->d[j].param, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 7, p->d[j].lo);
			sqlite3_bind_int64(st, 8, p->d[j].hi);
			sqlite3_bind_int64(st, 12, (sqlite3_int64)(i * p->nd + j + 1));
			rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
		}
	cached_done(f, st);
	return rv;
}

int fhir_db_put(struct fhir_db *f, const struct fhir_row *row, const json_t *resource,
		const char *method)
{
	static const char del_pairs[] = "DELETE FROM tdx WHERE type=?1 AND id=?2";
	static const char put_pairs[] =
		TDX_KEYS(" WHERE type=?1 AND id=?2") " SELECT ?1, ?2, row_number() OVER (), t.param, t.sys, t.val,"
						     " d.param, d.lo, d.hi,"
						     " (SELECT seq FROM hist WHERE type=?1 AND id=?2 AND vid=?3), ?4, ?5"
						     " FROM k t JOIN k d WHERE t.kind='token' AND d.kind='date'";
	struct put_ctx p;
	int64_t seq;
	int rv;

	memset(&p, 0, sizeof(p));
	if ((rv = run1(f, FHIR_ST_PUT_RES, row, NULL)) != PHR_OK ||
	    (rv = run1(f, FHIR_ST_PUT_HIST, row, method)) != PHR_OK)
		return rv;
	seq = sqlite3_last_insert_rowid(f->db); /* the version's hist row */
	p.k0 = seq << KEY_BITS;
	if ((p.st = stmt(f, FHIR_ST_DEL_KEYS)) == NULL)
		return PHR_ERR_DB;
	sqlite3_bind_text(p.st, 1, row->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(p.st, 2, row->id, -1, SQLITE_STATIC);
	rv = sqlite3_step(p.st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	stmt_done(p.st);
	if (rv == PHR_OK)
		rv = tdx_run(f, del_pairs, sizeof(del_pairs), row, false);
	if (rv != PHR_OK || resource == NULL)
		return rv;
	if ((p.st = stmt(f, FHIR_ST_PUT_KEY)) == NULL)
		return PHR_ERR_DB;
	sqlite3_bind_text(p.st, 1, row->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(p.st, 2, row->id, -1, SQLITE_STATIC);
	rv = phr_fhir_keys_extract(resource, put_key, &p);
	stmt_done(p.st);
	if (rv == PHR_OK && p.token && p.date && !row->deleted)
		rv = p.spill ? tdx_run(f, put_pairs, sizeof(put_pairs), row, true) : tdx_put(f, &p, row, seq);
	return rv;
}

void fhir_hits_release(struct fhir_hits *h)
{
	phr_free(h->rows);
	h->rows = NULL;
	h->n = h->total = 0;
}

static int hits_add(struct fhir_hits *h, sqlite3_stmt *st)
{
	/* capacity: 8, then doubled each time n reaches a power of two */
	if (h->n == 0 || (h->n >= 8 && (h->n & (h->n - 1)) == 0)) {
		size_t cap = h->n == 0 ? 8 : h->n * 2;
		struct fhir_row *n = phr_realloc(h->rows, cap * sizeof(*n));
		if (n == NULL)
			return PHR_ERR_NOMEM;
		h->rows = n;
	}
	row_read(&h->rows[h->n++], st);
	return PHR_OK;
}

/* Steps @p st (of cached_prepare on @p f) to the end, adding each row; gives it back. */
static int collect(struct fhir_db *f, struct fhir_hits *h, sqlite3_stmt *st)
{
	int s, rv = PHR_OK;

	while (rv == PHR_OK && (s = sqlite3_step(st)) == SQLITE_ROW)
		rv = hits_add(h, st);
	if (rv == PHR_OK && s != SQLITE_DONE)
		rv = PHR_ERR_DB;
	cached_done(f, st);
	return rv;
}

/* cached_prepare of a NUL-terminated @p sql. */
static int prepare_sql(struct fhir_db *f, sqlite3_stmt **st, const char *sql)
{
	return cached_prepare(f, st, sql, strlen(sql));
}

int fhir_db_history(struct fhir_db *f, struct fhir_row **rows, size_t *n, size_t *total,
		    const char *type, const char *id, int64_t since_ms, size_t count, size_t offset,
		    const struct fhir_access *acc)
{
	struct fhir_hits h = { NULL, 0, 0 };
	sqlite3_stmt *st = NULL;
	const char *where = "(?1 IS NULL OR type=?1) AND (?2 IS NULL OR id=?2) AND updated>=?3"
			    " AND phr_readable(?6, patient, token)";
	char sql[512];
	int rv;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM hist WHERE %s", where);
	if (prepare_sql(f, &st, sql) != PHR_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since_ms);
	sqlite3_bind_pointer(st, 6, (void *)(uintptr_t)acc, "fhir_access", NULL);
	*total = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
	cached_done(f, st);
	snprintf(sql, sizeof(sql),
		 "SELECT " ROW_COLS " FROM hist WHERE %s ORDER BY seq DESC LIMIT ?4 OFFSET ?5", where);
	if (prepare_sql(f, &st, sql) != PHR_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)count);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)offset);
	sqlite3_bind_pointer(st, 6, (void *)(uintptr_t)acc, "fhir_access", NULL);
	rv = collect(f, &h, st);
	if (rv != PHR_OK) {
		fhir_hits_release(&h);
		return rv;
	}
	*rows = h.rows;
	*n = h.n;
	return PHR_OK;
}

/* --- search ------------------------------------------------------------------ */

#define MAX_BINDS 256

struct bind {
	int kind; /* 0 text (owned), 1 int, 2 double, 3 access pointer (borrowed) */
	char *s;
	int64_t i;
	double d;
	const void *p;
};

struct qb {
	struct phr_buf sql;
	struct bind b[MAX_BINDS];
	size_t nb;
	int rv;
	char *detail;
	size_t detail_cap;
	bool ranged; /* a condition that is not an equality on i.val (no index range of its own) */
};

static void qb_sql(struct qb *q, const char *s)
{
	if (q->rv == PHR_OK)
		q->rv = phr_buf_append_str(&q->sql, s);
}

static void qb_text(struct qb *q, const char *s, size_t n)
{
	if (q->rv != PHR_OK)
		return;
	if (q->nb == MAX_BINDS) {
		q->rv = PHR_ERR_TOO_LARGE;
		return;
	}
	q->b[q->nb].kind = 0;
	q->b[q->nb].s = phr_malloc(n + 1);
	if (q->b[q->nb].s == NULL) {
		q->rv = PHR_ERR_NOMEM;
		return;
	}
	memcpy(q->b[q->nb].s, s, n);
	q->b[q->nb].s[n] = '\0';
	q->nb++;
	qb_sql(q, "?");
}

static void qb_int(struct qb *q, int64_t v)
{
	if (q->rv != PHR_OK)
		return;
	if (q->nb == MAX_BINDS) {
		q->rv = PHR_ERR_TOO_LARGE;
		return;
	}
	q->b[q->nb].kind = 1;
	q->b[q->nb++].i = v;
	qb_sql(q, "?");
}

static void qb_access(struct qb *q, const struct fhir_access *acc)
{
	if (q->rv != PHR_OK)
		return;
	if (q->nb == MAX_BINDS) {
		q->rv = PHR_ERR_TOO_LARGE;
		return;
	}
	q->b[q->nb].kind = 3;
	q->b[q->nb++].p = acc;
	qb_sql(q, "?");
}

static void qb_num(struct qb *q, double v)
{
	if (q->rv != PHR_OK)
		return;
	if (q->nb == MAX_BINDS) {
		q->rv = PHR_ERR_TOO_LARGE;
		return;
	}
	q->b[q->nb].kind = 2;
	q->b[q->nb++].d = v;
	qb_sql(q, "?");
}

static void qb_fail(struct qb *q, int err, const char *msg, const char *name)
{
	if (q->rv == PHR_OK) {
		snprintf(q->detail, q->detail_cap, "%s: %s", name, msg);
		q->rv = err;
	}
}

/* Splits a date/number/quantity prefix off @p v. */
static const char *prefix_of(const char **v)
{
	static const char *const pre[] = { "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap" };
	for (size_t i = 0; i < PHR_ARRAY_LEN(pre); i++)
		if (strncmp(*v, pre[i], 2) == 0 && (*v)[2] != '\0' && !((*v)[2] >= 'a' && (*v)[2] <= 'z')) {
			*v += 2;
			return pre[i];
		}
	return "eq";
}

static void cond_date(struct qb *q, const char *name, const char *v)
{
	const char *p = prefix_of(&v);
	int64_t lo, hi;

	if (phr_fhir_date_range(&lo, &hi, v) != PHR_OK) {
		qb_fail(q, PHR_ERR_INVALID, "not a FHIR date", name);
		return;
	}
	q->ranged = true;
	if (strcmp(p, "eq") == 0) {
		qb_sql(q, "(i.lo>=");
		qb_int(q, lo);
		qb_sql(q, " AND i.hi<=");
		qb_int(q, hi);
		qb_sql(q, ")");
	} else if (strcmp(p, "ne") == 0) {
		qb_sql(q, "NOT (i.lo>=");
		qb_int(q, lo);
		qb_sql(q, " AND i.hi<=");
		qb_int(q, hi);
		qb_sql(q, ")");
	} else if (strcmp(p, "gt") == 0 || strcmp(p, "sa") == 0) {
		qb_sql(q, strcmp(p, "gt") == 0 ? "i.hi>" : "i.lo>");
		qb_int(q, hi);
	} else if (strcmp(p, "lt") == 0 || strcmp(p, "eb") == 0) {
		qb_sql(q, strcmp(p, "lt") == 0 ? "i.lo<" : "i.hi<");
		qb_int(q, lo);
	} else if (strcmp(p, "ge") == 0) {
		qb_sql(q, "i.hi>=");
		qb_int(q, lo);
	} else if (strcmp(p, "le") == 0) {
		qb_sql(q, "i.lo<=");
		qb_int(q, hi);
	} else { /* ap: overlap */
		qb_sql(q, "(i.lo<=");
		qb_int(q, hi);
		qb_sql(q, " AND i.hi>=");
		qb_int(q, lo);
		qb_sql(q, ")");
	}
}

/* number[|system|code] with a prefix; equality within the value's precision. */
static void cond_number(struct qb *q, const char *name, const char *v, bool quantity)
{
	const char *p = prefix_of(&v);
	const char *bar = strchr(v, '|');
	char numbuf[64];
	size_t nl = bar ? (size_t)(bar - v) : strlen(v);
	char *end;
	double x, half = 0.5;
	const char *dot;

	if (nl == 0 || nl >= sizeof(numbuf) || (bar != NULL && !quantity)) {
		qb_fail(q, PHR_ERR_INVALID, "not a number", name);
		return;
	}
	memcpy(numbuf, v, nl);
	numbuf[nl] = '\0';
	x = strtod(numbuf, &end);
	if (*end != '\0' || !isfinite(x)) {
		qb_fail(q, PHR_ERR_INVALID, "not a number", name);
		return;
	}
	q->ranged = true;
	dot = strchr(numbuf, '.');
	if (dot != NULL)
		for (const char *d = dot + 1; *d >= '0' && *d <= '9'; d++)
			half /= 10;
	qb_sql(q, "(");
	if (strcmp(p, "eq") == 0 || strcmp(p, "ap") == 0) {
		/* x itself too: for large or long values x +- half rounds back to x */
		double w = strcmp(p, "ap") == 0 ? fabs(x) * 0.1 + half : half;
		qb_sql(q, "((i.num>=");
		qb_num(q, x - w);
		qb_sql(q, " AND i.num<");
		qb_num(q, x + w);
		qb_sql(q, ") OR i.num=");
		qb_num(q, x);
		qb_sql(q, ")");
	} else if (strcmp(p, "ne") == 0) {
		qb_sql(q, "(i.num<");
		qb_num(q, x - half);
		qb_sql(q, " OR i.num>=");
		qb_num(q, x + half);
		qb_sql(q, ")");
	} else {
		qb_sql(q, strcmp(p, "gt") == 0 || strcmp(p, "sa") == 0 ? "i.num>"
			  : strcmp(p, "lt") == 0 || strcmp(p, "eb") == 0 ? "i.num<"
			  : strcmp(p, "ge") == 0			   ? "i.num>="
									   : "i.num<=");
		qb_num(q, x);
	}
	if (bar != NULL) {
		const char *sys = bar + 1, *bar2 = strchr(sys, '|');
		const char *code = bar2 ? bar2 + 1 : sys;
		if (bar2 != NULL && bar2 > sys) {
			qb_sql(q, " AND i.sys=");
			qb_text(q, sys, (size_t)(bar2 - sys));
		}
		if (*code != '\0' && (bar2 != NULL || *sys != '\0')) {
			qb_sql(q, " AND i.val=");
			qb_text(q, code, strlen(code));
		}
	}
	qb_sql(q, ")");
}

static void like_pattern(struct qb *q, const char *s, bool contains)
{
	struct phr_buf b;
	char *norm = phr_malloc(strlen(s) + 1);

	if (norm == NULL) {
		q->rv = PHR_ERR_NOMEM;
		return;
	}
	phr_fhir_str_norm(norm, s);
	phr_buf_init(&b, 4096);
	if (contains && phr_buf_append_byte(&b, '%') != PHR_OK)
		q->rv = PHR_ERR_TOO_LARGE;
	for (const char *c = norm; *c != '\0' && q->rv == PHR_OK; c++) {
		if ((*c == '%' || *c == '_' || *c == '\\') && phr_buf_append_byte(&b, '\\') != PHR_OK)
			q->rv = PHR_ERR_TOO_LARGE;
		if (q->rv == PHR_OK && phr_buf_append_byte(&b, (uint8_t)*c) != PHR_OK)
			q->rv = PHR_ERR_TOO_LARGE;
	}
	if (q->rv == PHR_OK && phr_buf_append_byte(&b, '%') != PHR_OK)
		q->rv = PHR_ERR_TOO_LARGE;
	qb_text(q, (const char *)b.data, b.len);
	qb_sql(q, " ESCAPE '\\'");
	phr_buf_release(&b);
	phr_free(norm);
}

/* One value (an alternative of a comma list) of a parameter. */
static void cond_value(struct qb *q, const struct phr_fhir_sp *sp, const char *mod, const char *v)
{
	const char *name = sp->code;

	switch (sp->kind) {
	case PHR_FHIR_SP_TOKEN: {
		const char *bar = strchr(v, '|');
		if (bar == NULL) {
			qb_sql(q, "i.val=");
			qb_text(q, v, strlen(v));
		} else if (bar == v) {
			qb_sql(q, "(i.sys IS NULL AND i.val=");
			qb_text(q, v + 1, strlen(v + 1));
			qb_sql(q, ")");
		} else if (bar[1] == '\0') {
			q->ranged = true;
			qb_sql(q, "i.sys=");
			qb_text(q, v, (size_t)(bar - v));
		} else {
			qb_sql(q, "(i.sys=");
			qb_text(q, v, (size_t)(bar - v));
			qb_sql(q, " AND i.val=");
			qb_text(q, bar + 1, strlen(bar + 1));
			qb_sql(q, ")");
		}
		return;
	}
	case PHR_FHIR_SP_STRING:
		if (mod != NULL && strcmp(mod, "exact") == 0) {
			char *norm = phr_malloc(strlen(v) + 1);
			if (norm == NULL) {
				q->rv = PHR_ERR_NOMEM;
				return;
			}
			phr_fhir_str_norm(norm, v);
			qb_sql(q, "i.val=");
			qb_text(q, norm, strlen(norm));
			phr_free(norm);
		} else {
			q->ranged = true;
			qb_sql(q, "i.val LIKE ");
			like_pattern(q, v, mod != NULL && strcmp(mod, "contains") == 0);
		}
		return;
	case PHR_FHIR_SP_URI:
		if (mod != NULL && strcmp(mod, "below") == 0) {
			q->ranged = true;
			qb_sql(q, "substr(i.val, 1, length(");
			qb_text(q, v, strlen(v));
			qb_sql(q, "))=");
			qb_text(q, v, strlen(v));
		} else {
			qb_sql(q, "i.val=");
			qb_text(q, v, strlen(v));
		}
		return;
	case PHR_FHIR_SP_DATE:
		cond_date(q, name, v);
		return;
	case PHR_FHIR_SP_NUMBER:
	case PHR_FHIR_SP_QUANTITY:
		cond_number(q, name, v, sp->kind == PHR_FHIR_SP_QUANTITY);
		return;
	case PHR_FHIR_SP_REFERENCE: {
		/* Type/id, id (the target type from the modifier), or an absolute URL */
		const char *last = strrchr(v, '/');
		if (last != NULL) {
			/* keys are "Type/id" (canonicals: the whole URL) */
			const char *prev = last;
			while (prev > v && prev[-1] != '/')
				prev--;
			qb_sql(q, "(i.val=");
			qb_text(q, prev, strlen(prev));
			qb_sql(q, " OR i.val=");
			qb_text(q, v, strlen(v));
			qb_sql(q, ")");
		} else if (mod != NULL && phr_fhir_type_supported(mod)) {
			size_t tl = strlen(mod), il = strlen(v);
			char *r = phr_malloc(tl + il + 2);
			if (r == NULL) {
				q->rv = PHR_ERR_NOMEM;
				return;
			}
			memcpy(r, mod, tl);
			r[tl] = '/';
			memcpy(r + tl + 1, v, il + 1);
			qb_sql(q, "i.val=");
			qb_text(q, r, tl + il + 1);
			phr_free(r);
		} else {
			q->ranged = true;
			qb_sql(q, "substr(i.val, instr(i.val, '/') + 1)=");
			qb_text(q, v, strlen(v));
		}
		return;
	}
	}
}

static bool mod_ok(const struct phr_fhir_sp *sp, const char *mod)
{
	if (mod == NULL || strcmp(mod, "missing") == 0 || strcmp(mod, "not") == 0)
		return mod == NULL || strcmp(mod, "not") != 0 || sp->kind == PHR_FHIR_SP_TOKEN;
	switch (sp->kind) {
	case PHR_FHIR_SP_STRING:
		return strcmp(mod, "exact") == 0 || strcmp(mod, "contains") == 0;
	case PHR_FHIR_SP_URI:
		return strcmp(mod, "below") == 0;
	case PHR_FHIR_SP_REFERENCE:
		return phr_fhir_type_supported(mod);
	default:
		return false;
	}
}

static bool is_result_param(const char *n)
{
	static const char *const skip[] = { "_count", "_sort", "_include", "_revinclude", "_format",
					    "_offset", "_summary", "_elements", "_total", "_pretty",
					    "_contained", "_containedType" };
	for (size_t i = 0; i < PHR_ARRAY_LEN(skip); i++)
		if (strcmp(n, skip[i]) == 0)
			return true;
	return false;
}

/* Whether @p p excludes what it names (:missing=true, :not). */
static bool param_negative(const struct phr_fhir_param *p)
{
	return p->modifier != NULL && ((strcmp(p->modifier, "missing") == 0 && strcmp(p->value, "true") == 0) ||
				       strcmp(p->modifier, "not") == 0);
}

/* The definition of search parameter @p p of @p type; NULL (and q failed) when refused. */
static const struct phr_fhir_sp *param_def(struct qb *q, const char *type, const struct phr_fhir_param *p)
{
	const struct phr_fhir_sp *sp = phr_fhir_sp_find(type, p->name);

	if (sp == NULL) {
		qb_fail(q, PHR_ERR_INVALID, "unknown search parameter", p->name);
		return NULL;
	}
	if (!mod_ok(sp, p->modifier)) {
		qb_fail(q, PHR_ERR_UNSUPPORTED, "unsupported modifier", p->name);
		return NULL;
	}
	if (p->modifier != NULL && strcmp(p->modifier, "missing") == 0 && strcmp(p->value, "true") != 0 &&
	    strcmp(p->value, "false") != 0) {
		qb_fail(q, PHR_ERR_INVALID, ":missing takes true or false", p->name);
		return NULL;
	}
	return sp;
}

/* " AND (v1 OR v2 ...)": the values of @p p on the key row i (nothing for :missing). */
static void param_values(struct qb *q, const struct phr_fhir_sp *sp, const struct phr_fhir_param *p)
{
	const char *v = p->value;
	bool first = true;

	if (p->modifier != NULL && strcmp(p->modifier, "missing") == 0) {
		q->ranged = true; /* every key of the parameter */
		return;
	}
	qb_sql(q, " AND (");
	for (;;) {
		size_t n = 0, k = 0;
		char *one;
		/* comma separates alternatives; "\," is a literal comma */
		while (v[n] != '\0' && !(v[n] == ',' && (n == 0 || v[n - 1] != '\\')))
			n++;
		one = phr_malloc(n + 1);
		if (one == NULL) {
			q->rv = PHR_ERR_NOMEM;
			return;
		}
		for (size_t j = 0; j < n; j++) {
			if (v[j] == '\\' && j + 1 < n &&
			    (v[j + 1] == ',' || v[j + 1] == '|' || v[j + 1] == '$' || v[j + 1] == '\\'))
				j++;
			one[k++] = v[j];
		}
		one[k] = '\0';
		if (!first)
			qb_sql(q, " OR ");
		first = false;
		if (one[0] == '\0')
			qb_fail(q, PHR_ERR_INVALID, "empty value", p->name);
		else
			cond_value(q, sp, p->modifier, one);
		phr_free(one);
		if (v[n] == '\0' || q->rv != PHR_OK)
			break;
		v += n + 1;
	}
	qb_sql(q, ")");
}

/* Whether every value of @p p is a bare id of reference parameter @p sp (no '/', no escapes). */
static bool bare_ids(const struct phr_fhir_sp *sp, const struct phr_fhir_param *p)
{
	size_t n = strlen(p->value);

	return sp->kind == PHR_FHIR_SP_REFERENCE && p->modifier == NULL && n > 0 && p->value[0] != ',' &&
	       p->value[n - 1] != ',' && strstr(p->value, ",,") == NULL && strpbrk(p->value, "/\\") == NULL;
}

/*
 * SELECT @p what of the keys of @p sp whose id part is one of the bare ids
 * of @p p: the "Type/id" keys through idx_refid, a key without '/' as itself
 * (the same matches as cond_value's substr form, from the index).
 */
static void bare_id_keys(struct qb *q, const char *what, const char *type, const struct phr_fhir_sp *sp,
			 const struct phr_fhir_param *p)
{
	for (int k = 0; k < 2; k++) {
		const char *v = p->value;
		qb_sql(q, k == 0 ? "SELECT " : " UNION ALL SELECT ");
		qb_sql(q, what);
		qb_sql(q, k == 0 ? " FROM idx i INDEXED BY idx_refid WHERE i.type=" : " FROM idx i WHERE i.type=");
		qb_text(q, type, strlen(type));
		qb_sql(q, " AND i.param=");
		qb_text(q, sp->code, strlen(sp->code));
		qb_sql(q, k == 0 ? " AND instr(i.val, '/')>0 AND substr(i.val, instr(i.val, '/') + 1) IN ("
			  : " AND i.val IN (");
		for (;;) {
			size_t n = strcspn(v, ",");
			qb_text(q, v, n);
			if (v[n] == '\0')
				break;
			qb_sql(q, ",");
			v += n + 1;
		}
		qb_sql(q, ")");
	}
}

/*
 * The WHERE conditions of every search parameter of @p r: the parameter
 * @p driver (an index into r->params, or SIZE_MAX) as "r.id IN (its keys)",
 * which SQLite runs first (the ids of its keys, then the primary key of
 * res); every other one as a probe of the keys of each candidate resource
 * (the keys of the candidate: a range of idx's primary key), so a search
 * costs about the matches of its most selective parameter, not the keys of
 * every parameter it names.
 */
static void where_params(struct qb *q, const char *type, const struct phr_fhir_req *r, size_t driver)
{
	for (size_t i = 0; i < r->n_params && q->rv == PHR_OK; i++) {
		const struct phr_fhir_param *p = &r->params[i];
		const struct phr_fhir_sp *sp;

		if (is_result_param(p->name))
			continue;
		if ((sp = param_def(q, type, p)) == NULL)
			return;
		if (i == driver && bare_ids(sp, p)) {
			qb_sql(q, " AND r.id IN(");
			bare_id_keys(q, "i.id", type, sp, p);
			qb_sql(q, ")");
			continue;
		}
		if (i == driver) {
			qb_sql(q, " AND r.id IN(SELECT i.id FROM idx i WHERE i.type=");
			qb_text(q, type, strlen(type));
			qb_sql(q, " AND i.param=");
		} else {
			/* the keys of this resource (type, id: its few rows of idx), the
			 * parameter checked on them ("+": not an index term); else
			 * SQLite may walk the parameter's keys of a value in idx_key
			 * (NOT INDEXED keeps no index away from a WITHOUT ROWID table) */
			qb_sql(q, param_negative(p) ? " AND NOT EXISTS" : " AND EXISTS");
			qb_sql(q, "(SELECT 1 FROM idx i WHERE i.type=");
			qb_text(q, type, strlen(type));
			qb_sql(q, " AND i.id=r.id AND +i.param=");
		}
		qb_text(q, sp->code, strlen(sp->code));
		if (!(p->modifier != NULL && strcmp(p->modifier, "missing") == 0))
			param_values(q, sp, p);
		qb_sql(q, ")");
	}
}

/*
 * Whether the search parameters of @p r are exactly one token and one date
 * parameter of @p type, neither with a modifier: their matches are then the
 * resources of a range of tdx pairs (where_pair). @p tok, @p date: their indexes.
 */
static bool pair_params(const char *type, const struct phr_fhir_req *r, size_t *tok, size_t *date)
{
	size_t n = 0;

	*tok = *date = SIZE_MAX;
	for (size_t i = 0; i < r->n_params; i++) {
		const struct phr_fhir_param *p = &r->params[i];
		const struct phr_fhir_sp *sp;

		if (is_result_param(p->name))
			continue;
		if (++n > 2 || p->modifier != NULL || (sp = phr_fhir_sp_find(type, p->name)) == NULL ||
		    !pair_param(sp->code, sp->kind))
			return false;
		if (sp->kind == PHR_FHIR_SP_TOKEN && *tok == SIZE_MAX)
			*tok = i;
		else if (sp->kind == PHR_FHIR_SP_DATE && *date == SIZE_MAX)
			*date = i;
		else
			return false;
	}
	return *tok != SIZE_MAX && *date != SIZE_MAX;
}

/* " AND ..." the conditions of both parameters on the tdx pair row i (see pair_params). */
static void tdx_conds(struct qb *q, const char *type, const struct phr_fhir_req *r, size_t tok, size_t date)
{
	const struct phr_fhir_sp *ts = param_def(q, type, &r->params[tok]);
	const struct phr_fhir_sp *ds = ts != NULL ? param_def(q, type, &r->params[date]) : NULL;

	if (ds == NULL)
		return;
	qb_sql(q, " AND i.tparam=");
	qb_text(q, ts->code, strlen(ts->code));
	param_values(q, ts, &r->params[tok]);
	qb_sql(q, " AND i.dparam=");
	qb_text(q, ds->code, strlen(ds->code));
	param_values(q, ds, &r->params[date]);
}

/* " AND r.id IN (the ids of the tdx pairs matching both parameters)" (see pair_params). */
static void where_pair(struct qb *q, const char *type, const struct phr_fhir_req *r, size_t tok, size_t date)
{
	qb_sql(q, " AND r.id IN(SELECT i.id FROM tdx i WHERE i.type=");
	qb_text(q, type, strlen(type));
	tdx_conds(q, type, r, tok, date);
	qb_sql(q, ")");
}

static int qb_prepare(struct fhir_db *f, struct qb *q, sqlite3_stmt **st);
static void qb_release(struct qb *q);
static void qb_init(struct qb *q, char *detail, size_t cap);

/* In @p q's SQL from byte @p from on, the alias "i." made "j." (every condition builder writes "i."). */
static void qb_alias_j(struct qb *q, size_t from)
{
	char *sql = (char *)q->sql.data;

	for (size_t k = from; q->rv == PHR_OK && k + 1 < q->sql.len; k++)
		if (sql[k] == 'i' && sql[k + 1] == '.' &&
		    (k == 0 || !(isalnum((unsigned char)sql[k - 1]) || sql[k - 1] == '_')))
			sql[k] = 'j';
}

/*
 * @p total: the resources of the tdx pairs matching both parameters that
 * @p acc allows (NULL: all), from tdx_key alone (no res row read): tdx holds
 * current, not deleted resources only, with the patient and token of each.
 * A resource is counted at its first matching pair: a pair numbered n > 1
 * counts when no pair of a smaller n of the same resource matches (a seek
 * of tdx's primary key, only for such pairs: a resource of one code and
 * one date has one pair, n = 1). This counts what count(DISTINCT seq) did
 * (one seq per resource) without its temporary B-tree, a seek and an insert
 * per match (two fifths of a count search's CPU at N=10,000). The access
 * filter is the same for every pair of a resource (its patient and token).
 */
static int pair_count(struct fhir_db *f, size_t *total, char *detail, size_t detail_cap, const char *type,
		      const struct phr_fhir_req *r, size_t tok, size_t date, const struct fhir_access *acc)
{
	sqlite3_stmt *st = NULL;
	struct qb q;
	size_t mark;
	int rv;

	qb_init(&q, detail, detail_cap);
	qb_sql(&q, "SELECT count(*) FROM tdx i WHERE i.type=");
	qb_text(&q, type, strlen(type));
	tdx_conds(&q, type, r, tok, date);
	qb_sql(&q, " AND (i.n=1 OR NOT EXISTS(SELECT 1 FROM tdx j WHERE j.type=i.type AND j.id=i.id AND j.n<i.n");
	mark = q.sql.len;
	tdx_conds(&q, type, r, tok, date);
	qb_alias_j(&q, mark);
	qb_sql(&q, "))");
	if (acc != NULL) {
		qb_sql(&q, " AND phr_readable(");
		qb_access(&q, acc);
		qb_sql(&q, ", i.patient, i.token)");
	}
	if ((rv = qb_prepare(f, &q, &st)) == PHR_OK)
		*total = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
	cached_done(f, st);
	qb_release(&q);
	return rv;
}

/* A probe counts at most this many keys of a parameter. */
#define PROBE_CAP 1000

/*
 * The keys matching @p p, counted up to @p cap through idx_key alone; SIZE_MAX
 * when its values are not equalities (a probe would read every key of the
 * parameter) or the probe failed (the search itself then reports it).
 */
static size_t probe(struct fhir_db *f, const char *type, const struct phr_fhir_param *p,
		    const struct phr_fhir_sp *sp, size_t cap)
{
	sqlite3_stmt *st = NULL;
	char detail[64];
	struct qb q;
	size_t n = SIZE_MAX;

	qb_init(&q, detail, sizeof(detail));
	qb_sql(&q, "SELECT count(*) FROM (");
	if (bare_ids(sp, p)) {
		bare_id_keys(&q, "1", type, sp, p);
	} else {
		qb_sql(&q, "SELECT 1 FROM idx i WHERE i.type=");
		qb_text(&q, type, strlen(type));
		qb_sql(&q, " AND i.param=");
		qb_text(&q, sp->code, strlen(sp->code));
		param_values(&q, sp, p);
	}
	qb_sql(&q, " LIMIT ");
	qb_int(&q, (int64_t)cap);
	qb_sql(&q, ")");
	if (!q.ranged && qb_prepare(f, &q, &st) == PHR_OK && sqlite3_step(st) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(st, 0);
	cached_done(f, st);
	qb_release(&q);
	return n;
}

/*
 * The parameter of @p r that drives the search: of the positive ones, the
 * one whose probe counts fewest keys (each probe capped by the best so far);
 * a parameter that cannot be probed drives only when no other can.
 * SIZE_MAX when there is no positive parameter (the search scans the type).
 */
static size_t pick_driver(struct fhir_db *f, const char *type, const struct phr_fhir_req *r)
{
	size_t driver = SIZE_MAX, best = SIZE_MAX;

	for (size_t i = 0; i < r->n_params; i++) {
		const struct phr_fhir_param *p = &r->params[i];
		const struct phr_fhir_sp *sp;
		size_t n;

		if (is_result_param(p->name) || param_negative(p) || (sp = phr_fhir_sp_find(type, p->name)) == NULL ||
		    !mod_ok(sp, p->modifier))
			continue;
		if (driver == SIZE_MAX)
			driver = i;
		n = probe(f, type, p, sp, best < PROBE_CAP ? best : PROBE_CAP);
		if (n < best) {
			best = n;
			driver = i;
		}
		if (best == 0)
			break;
	}
	return driver;
}

/* ORDER BY from _sort (comma list, '-' for descending). */
static void order_by(struct qb *q, const char *type, const char *sort, bool driven)
{
	/* with a driver, "+" keeps SQLite from walking res_upd in order instead */
	const char *upd = driven ? "+r.updated" : "r.updated", *id = driven ? "+r.id" : "r.id";
	bool first = true;

	qb_sql(q, " ORDER BY ");
	while (sort != NULL && *sort != '\0' && q->rv == PHR_OK) {
		size_t n = strcspn(sort, ",");
		bool desc = sort[0] == '-';
		char name[64];
		const struct phr_fhir_sp *sp;
		size_t off = desc ? 1 : 0;

		if (n - off == 0 || n - off >= sizeof(name)) {
			qb_fail(q, PHR_ERR_INVALID, "bad sort key", "_sort");
			return;
		}
		memcpy(name, sort + off, n - off);
		name[n - off] = '\0';
		if (!first)
			qb_sql(q, ", ");
		first = false;
		if (strcmp(name, "_id") == 0) {
			qb_sql(q, id);
		} else if (strcmp(name, "_lastUpdated") == 0) {
			qb_sql(q, upd);
		} else if ((sp = phr_fhir_sp_find(type, name)) != NULL) {
			qb_sql(q, sp->kind == PHR_FHIR_SP_DATE ? "(SELECT min(i.lo)"
				  : sp->kind == PHR_FHIR_SP_NUMBER || sp->kind == PHR_FHIR_SP_QUANTITY
					  ? "(SELECT min(i.num)"
					  : "(SELECT min(i.val)");
			qb_sql(q, " FROM idx i WHERE i.type=r.type AND i.id=r.id AND i.param=");
			qb_text(q, sp->code, strlen(sp->code));
			qb_sql(q, ")");
		} else {
			qb_fail(q, PHR_ERR_INVALID, "unknown sort parameter", name);
			return;
		}
		qb_sql(q, desc ? " DESC" : " ASC");
		sort += n;
		if (*sort == ',')
			sort++;
	}
	if (first) {
		qb_sql(q, upd);
		qb_sql(q, " ASC, ");
	} else {
		qb_sql(q, ", ");
	}
	qb_sql(q, id);
	qb_sql(q, " ASC");
}

static int qb_prepare(struct fhir_db *f, struct qb *q, sqlite3_stmt **st)
{
	if (q->rv == PHR_OK && phr_buf_append_byte(&q->sql, 0) != PHR_OK)
		q->rv = PHR_ERR_TOO_LARGE;
	if (q->rv != PHR_OK)
		return q->rv;
	if (cached_prepare(f, st, (const char *)q->sql.data, q->sql.len - 1) != PHR_OK)
		return PHR_ERR_DB;
	for (size_t i = 0; i < q->nb; i++) {
		int k = (int)i + 1;
		if (q->b[i].kind == 0)
			sqlite3_bind_text(*st, k, q->b[i].s, -1, SQLITE_STATIC);
		else if (q->b[i].kind == 3)
			sqlite3_bind_pointer(*st, k, (void *)(uintptr_t)q->b[i].p, "fhir_access", NULL);
		else if (q->b[i].kind == 1)
			sqlite3_bind_int64(*st, k, q->b[i].i);
		else
			sqlite3_bind_double(*st, k, q->b[i].d);
	}
	return PHR_OK;
}

static void qb_release(struct qb *q)
{
	for (size_t i = 0; i < q->nb; i++)
		if (q->b[i].kind == 0)
			phr_free(q->b[i].s);
	q->nb = 0;
	phr_buf_release(&q->sql);
}

static void qb_init(struct qb *q, char *detail, size_t cap)
{
	memset(q, 0, sizeof(*q));
	phr_buf_init(&q->sql, (size_t)1 << 20);
	q->detail = detail;
	q->detail_cap = cap;
}

int fhir_db_search(struct fhir_db *f, struct fhir_hits *out, char *detail, size_t detail_cap,
		   const char *type, const struct phr_fhir_req *r, size_t count, size_t offset,
		   const struct fhir_access *acc)
{
	struct qb q;
	sqlite3_stmt *st = NULL;
	size_t mark, driver, tok, date;
	bool pair;
	int rv;

	memset(out, 0, sizeof(*out));
	pair = pair_params(type, r, &tok, &date);
	driver = pair ? tok : pick_driver(f, type, r);
	qb_init(&q, detail, detail_cap);
	qb_sql(&q, "SELECT count(*) FROM res r WHERE r.type=");
	qb_text(&q, type, strlen(type));
	qb_sql(&q, " AND r.deleted=0");
	if (pair)
		where_pair(&q, type, r, tok, date);
	else
		where_params(&q, type, r, driver);
	if (acc != NULL) { /* last: asked only of rows the other conditions matched */
		qb_sql(&q, " AND phr_readable(");
		qb_access(&q, acc);
		qb_sql(&q, ", r.patient, r.token)");
	}
	mark = q.sql.len;
	if (pair) {
		if (q.rv != PHR_OK) {
			rv = q.rv;
			goto out;
		}
		if ((rv = pair_count(f, &out->total, detail, detail_cap, type, r, tok, date, acc)) != PHR_OK)
			goto out;
	} else {
		if ((rv = qb_prepare(f, &q, &st)) != PHR_OK)
			goto out;
		out->total = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
		cached_done(f, st);
		st = NULL;
	}
	if (count == 0 || offset >= out->total) /* no page to fetch (_summary=count, past the end) */
		goto out;
	/* same conditions, now the rows */
	q.sql.len = mark;
	{
		struct phr_buf s2;
		phr_buf_init(&s2, (size_t)1 << 20);
		if (phr_buf_append_str(&s2, "SELECT r.type, r.id, r.vid, r.updated, r.token, r.patient, "
					    "r.pid, r.deleted") != PHR_OK ||
		    phr_buf_append(&s2, q.sql.data + 15, mark - 15) != PHR_OK) {
			phr_buf_release(&s2);
			rv = PHR_ERR_NOMEM;
			goto out;
		}
		phr_buf_release(&q.sql);
		q.sql = s2;
	}
	order_by(&q, type, phr_fhir_req_param(r, "_sort"), driver != SIZE_MAX);
	qb_sql(&q, " LIMIT ");
	qb_int(&q, (int64_t)count);
	qb_sql(&q, " OFFSET ");
	qb_int(&q, (int64_t)offset);
	if ((rv = qb_prepare(f, &q, &st)) != PHR_OK)
		goto out;
	rv = collect(f, out, st);
out:
	qb_release(&q);
	if (rv != PHR_OK)
		fhir_hits_release(out);
	return rv;
}

int fhir_db_referencing(struct fhir_db *f, struct fhir_hits *out, const char *type,
			const char *param, const char *ref)
{
	sqlite3_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	if (prepare_sql(f, &st,
			"SELECT DISTINCT r.type, r.id, r.vid, r.updated, r.token, r.patient, r.pid, "
			"r.deleted FROM idx i JOIN res r ON r.type=i.type AND r.id=i.id "
			"WHERE i.type=?1 AND i.param=?2 AND i.val=?3 AND r.deleted=0 LIMIT 1000") != PHR_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, param, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	return collect(f, out, st);
}

int fhir_db_refs_of(struct fhir_db *f, json_t **out, const char *type, const char *id,
		    const char *param)
{
	sqlite3_stmt *st = NULL;
	json_t *a = json_array();
	int s;

	if (a == NULL)
		return PHR_ERR_NOMEM;
	if (prepare_sql(f, &st, "SELECT DISTINCT val FROM idx WHERE type=?1 AND id=?2 AND param=?3") != PHR_OK) {
		json_decref(a);
		return PHR_ERR_DB;
	}
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, param, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_text(st, 0) != NULL)
			json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
	cached_done(f, st);
	*out = a;
	return PHR_OK;
}

int fhir_db_compartment(struct fhir_db *f, struct fhir_hits *out, const char *pid)
{
	sqlite3_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	if (prepare_sql(f, &st,
			"SELECT " ROW_COLS " FROM res WHERE pid=?1 AND deleted=0 AND type<>'Patient' "
			"ORDER BY type, id LIMIT 10000") != PHR_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, pid, -1, SQLITE_STATIC);
	return collect(f, out, st);
}
