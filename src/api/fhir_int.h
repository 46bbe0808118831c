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
#define FHIR_POOL_MAX 16
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

#endif
