/*
 * Internals of the FHIR server (src/api/fhir_*.c): the search index in
 * DIR/fhir.db. It holds search keys and version bookkeeping, never a
 * resource: the resources are phr records (encrypted in the store).
 */
#ifndef PHR_API_FHIR_INT_H
#define PHR_API_FHIR_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "phr/fhir.h"
#include "phr/u256.h"

/** One current (or deleted) resource. */
struct fhir_row {
	char type[PHR_FHIR_TYPE_MAX];
	char id[PHR_FHIR_ID_MAX];
	uint64_t vid;
	int64_t updated_ms;
	struct phr_u256 token; /**< the record of this version (zero when deleted) */
	uint8_t patient[20];   /**< the phr patient the record is minted to */
	char pid[PHR_FHIR_ID_MAX]; /**< the FHIR Patient id of its compartment, "" if none */
	bool deleted;
};

/** The fixed statements of a connection, prepared on first use and kept. */
enum fhir_stmt { FHIR_ST_GET, FHIR_ST_GET_VERSION, FHIR_ST_PUT_RES, FHIR_ST_PUT_HIST, FHIR_ST_DEL_KEYS,
		 FHIR_ST_PUT_KEY, FHIR_ST_COUNT };

/**
 * One connection to DIR/fhir.db, used by one thread at a time. Its kept
 * statements are reset after each use, so an idle connection holds no read
 * transaction (it sees every later commit).
 */
struct fhir_db {
	sqlite3 *db;
	sqlite3_stmt *st[FHIR_ST_COUNT];
	struct fhir_stmt_cache *cache; /**< statements of built SQL (searches) by their text; fhir_index.c */
};

/** Opens (creates) DIR/fhir.db. @return PHR_OK, PHR_ERR_DB, PHR_ERR_NOMEM. */
int fhir_db_open(struct fhir_db *f, const char *dir);
/** Opens DIR/fhir.db read-only for one thread (fhir_db_open made it). */
int fhir_db_open_reader(struct fhir_db *f, const char *dir);
/** Closes; a closed or never opened handle is a no-op. */
void fhir_db_close(struct fhir_db *f);

/**
 * Read-only connections kept open between requests (each keeps its page
 * cache and statements): a request takes one and gives it back.
 */
#define FHIR_POOL_MAX 64
struct fhir_pool {
	pthread_mutex_t mu;
	char dir[512];
	struct fhir_db db[FHIR_POOL_MAX];
	bool busy[FHIR_POOL_MAX];
};
/** Sets up an empty pool for DIR (connections are opened on demand). */
void fhir_pool_init(struct fhir_pool *p, const char *dir);
/** Closes every connection (none may be taken). */
void fhir_pool_release(struct fhir_pool *p);
/**
 * A read-only connection for the calling thread: an idle kept one, a new
 * kept one, or (all FHIR_POOL_MAX taken) a temporary one. NULL when none
 * can be opened. Give it back with fhir_pool_give.
 */
struct fhir_db *fhir_pool_take(struct fhir_pool *p);
/** Gives back a connection of fhir_pool_take (NULL: no-op). */
void fhir_pool_give(struct fhir_pool *p, struct fhir_db *db);
/** BEGIN / COMMIT / ROLLBACK. */
int fhir_db_begin(struct fhir_db *f);
int fhir_db_commit(struct fhir_db *f);
void fhir_db_rollback(struct fhir_db *f);

/** The current row of Type/id (deleted ones too). @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_DB. */
int fhir_db_get(struct fhir_db *f, struct fhir_row *row, const char *type, const char *id);
/** The row of version @p vid. */
int fhir_db_get_version(struct fhir_db *f, struct fhir_row *row, const char *type, const char *id,
			uint64_t vid);

/**
 * Writes a new version: replaces the current row and its keys (from
 * @p resource, NULL for a delete), appends the history row.
 */
int fhir_db_put(struct fhir_db *f, const struct fhir_row *row, const json_t *resource,
		const char *method);

struct fhir_access;

/**
 * History rows (newest first) of one resource, one type (@p id NULL) or all
 * (@p type NULL), among the versions @p acc allows (NULL: all).
 */
int fhir_db_history(struct fhir_db *f, struct fhir_row **rows, size_t *n, size_t *total,
		    const char *type, const char *id, int64_t since_ms, size_t count, size_t offset,
		    const struct fhir_access *acc);

/** Result of a search: ids of matches (current, not deleted). */
struct fhir_hits {
	struct fhir_row *rows;
	size_t n;
	size_t total;
};
void fhir_hits_release(struct fhir_hits *h);

/**
 * The caller's read access, asked of each match of a search (so that `total`
 * and the pages count only what the caller may read): @p check sets *ok.
 * A non-PHR_OK return counts the row as unreadable.
 */
struct fhir_access {
	int (*check)(void *ctx, bool *ok, const uint8_t patient[20], const struct phr_u256 *token);
	void *ctx;
};

/**
 * Runs the search of @p q on @p type (count/offset/sort from the request),
 * on the matches @p acc allows (NULL: every match).
 * @param[out] detail why a parameter was refused (PHR_ERR_INVALID / UNSUPPORTED)
 * @return PHR_OK, PHR_ERR_INVALID (bad value), PHR_ERR_UNSUPPORTED (modifier), PHR_ERR_DB.
 */
int fhir_db_search(struct fhir_db *f, struct fhir_hits *out, char *detail, size_t detail_cap,
		   const char *type, const struct phr_fhir_req *q, size_t count, size_t offset,
		   const struct fhir_access *acc);

/** Resources whose @p param references "Type/id" (for _revinclude), current ones. */
int fhir_db_referencing(struct fhir_db *f, struct fhir_hits *out, const char *type,
			const char *param, const char *ref);

/** The reference keys of @p param of Type/id (for _include): JSON array of "Type/id" strings. */
int fhir_db_refs_of(struct fhir_db *f, json_t **out, const char *type, const char *id,
		    const char *param);

/** Current resources of the compartment of Patient/@p pid (not the Patient itself). */
int fhir_db_compartment(struct fhir_db *f, struct fhir_hits *out, const char *pid);

/** ISO 8601 instant of @p ms (UTC, millisecond precision) in @p out (32 bytes). */
void fhir_instant(char out[32], int64_t ms);

/* --- recovery (fhir_recover.c, docs/fhir.md "Recovery") ----------------------- */

struct phr_node;
struct phr_identity;

/** The Patient id of the compartment of @p res ("" if none) (fhir_server.c). */
void fhir_compartment_pid(char pid[PHR_FHIR_ID_MAX], const json_t *res);

/** Identities whose records one server recovers. */
#define FHIR_RECOVER_MAX_IDS 16

/** A writing identity: when its next scans are due (monotonic ms, 0: free slot). */
struct fhir_recover_id {
	uint8_t addr[20];
	int64_t due[6];   /**< scans after failures (0: free) */
	int64_t periodic; /**< the next periodic scan (0: none) */
	int64_t due_ms;   /**< the earliest of @c due and @c periodic (INT64_MAX: none) */
	bool noted;     /**< its cursor row exists (fhir_recover_note ran) */
};

/** The recovery jobs of one FHIR server (one data directory). */
#define FHIR_RECOVER_RELEASED 512
#define FHIR_RECOVER_SAMPLES 16
struct fhir_recover {
	pthread_mutex_t mu;
	struct fhir_recover_id ids[FHIR_RECOVER_MAX_IDS];
	size_t n;
	bool running; /**< a poll is scanning (others do not wait for it) */
	/** tokens of failed writes (never indexed by them): adopted without waiting */
	struct phr_u256 released[FHIR_RECOVER_RELEASED];
	size_t nreleased;
	/** chain heads seen by scans and by writes (monotonic ms): what is old enough to adopt */
	struct {
		int64_t t;
		uint64_t head;
	} samples[FHIR_RECOVER_SAMPLES];
	size_t nsamples;
	int64_t sampled_ms; /**< when a write last took a sample */
	/**
	 * Whether a write in flight holds the reservation of Type/id (called
	 * with the server's lock held); NULL: nothing is ever in flight. A
	 * record of such a resource is left to the next scan: the write may
	 * be about to index the same version (its retry after a failure).
	 */
	bool (*reserved)(void *ctx, const char *type, const char *id);
	void *reserved_ctx;
};

/** What one scan did. */
struct fhir_recover_report {
	uint64_t head;     /**< the block scanned to */
	size_t scanned;    /**< RecordMinted logs of the identity looked at */
	size_t indexed;    /**< records the index lacked, indexed now */
	size_t orphaned;   /**< records that cannot be indexed (fhir_orphan table, warning) */
	size_t unreadable; /**< records the provider could not read now (seen again next scan) */
	size_t young;      /**< unindexed records too recent to adopt (seen again next scan) */
	size_t held;       /**< records whose Type/id a write in flight holds (seen again next scan) */
};

/** Empty job list. */
void fhir_recover_init(struct fhir_recover *r);
/** Frees it (no poll may run). */
void fhir_recover_release(struct fhir_recover *r);

/**
 * At the server's start: the recovery tables (fhir_recover cursors,
 * fhir_orphan reports, the hist(token) index), then a scan of every
 * identity with a cursor, before any request is served. @p lock is the
 * state's write lock (taken per step, not held by the caller).
 * @return PHR_OK, PHR_ERR_DB (tables); a failed scan is logged, not returned.
 */
int fhir_recover_open(struct fhir_recover *r, struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node);

/**
 * A write by @p addr is about to mint (any lock may be held): on the
 * identity's first write since the start its cursor row is made in
 * DIR/fhir.db (at the chain head, on a connection of its own), so that a
 * crash before its index rows is found at the next start. Cheap after the
 * first call.
 */
void fhir_recover_note(struct fhir_recover *r, const char *dir, struct phr_node *node,
		       const uint8_t addr[20]);

/**
 * A write of @p addr failed after records may have been minted: a scan is
 * due at once; with @p late also after 35 s and 150 s (a transaction whose
 * receipt did not come in time may still be mined). @p tokens (@p n) are
 * records the failed write minted and will not index: the next scan adopts
 * them at once; other unindexed records only once they are older than any
 * write in flight can be (FHIR_RECOVER_MARGIN_MS), so that a scan never
 * takes a record its own write is about to index.
 */
#define FHIR_RECOVER_MARGIN_MS (90 * 1000)
void fhir_recover_schedule(struct fhir_recover *r, const uint8_t addr[20], const struct phr_u256 *tokens,
			   size_t n, bool late);

struct phr_record_receipt;
/**
 * mint_all's failure @p err: the @p k receipts of its items and their codes
 * (@p res, NULL: none minted). Records minted (res[i] == PHR_OK) are released
 * to the next scan; a scan is scheduled unless nothing can have been minted
 * (a refusal before the mint phase), late ones too unless @p err is such a
 * refusal (a timeout may still be mined).
 */
void fhir_recover_failed(struct fhir_recover *r, const uint8_t addr[20], const struct phr_record_receipt *rc,
			 const int *res, size_t k, int err);

/** Whether some scan is due (an atomic read: cheap on every request). */
bool fhir_recover_due(void);

/**
 * Runs the due scans of @p r in the calling thread (a request's, before it
 * is routed); returns at once when another thread is scanning. The state's
 * @p lock must not be held.
 */
void fhir_recover_poll(struct fhir_recover *r, struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node);

/**
 * One scan: the RecordMinted logs with provider @p me from the identity's
 * cursor (less 64 blocks) to the head; each token neither in the history
 * nor reported, minted at a block <= @p safe or released in @p r (NULL:
 * none), is read as @p me (an audited read) and indexed when it is the
 * next version of its Type/id (the record supersedes the current row's
 * token, or is a first version / follows a delete, and its meta.versionId
 * is the next), else reported as an orphan. The cursor moves to
 * min(head, @p safe) unless a record could not be read. Takes @p lock per
 * step.
 * @return PHR_OK, chain errors, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
int fhir_recover_scan(struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node,
		      const struct phr_identity *me, uint64_t safe, struct fhir_recover *r,
		      struct fhir_recover_report *rep);

/** Test hooks (PHR_FHIR_TEST_FAIL=index|kill in the environment, or set by a test). */
enum fhir_test_hook { FHIR_HOOK_NONE, FHIR_HOOK_FAIL_INDEX, FHIR_HOOK_KILL };
/** The hook in force. */
enum fhir_test_hook fhir_test_hook(void);
/** Sets the hook (in-process tests). */
void fhir_test_hook_set(enum fhir_test_hook h);
/**
 * Called after a write's records were minted, before its index rows:
 * FHIR_HOOK_KILL kills the process (SIGKILL), FHIR_HOOK_FAIL_INDEX returns
 * PHR_ERR_DB (the index step fails). @return PHR_OK without a hook.
 */
int fhir_test_hook_after_mint(void);

#endif
