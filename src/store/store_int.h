/* Internals shared by the store module's files. */
#ifndef PHR_STORE_INT_H
#define PHR_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "phr/store.h"

/* SHA-256 of one buffer (the one place the hash implementation is chosen). */
void phr_store_sha256(uint8_t out[32], const uint8_t *data, size_t len);
/* SHA-256 of a stream: _new (NULL when memory ran out), _update, _final (frees it). */
struct phr_store_hash;
struct phr_store_hash *phr_store_hash_new(void);
void phr_store_hash_update(struct phr_store_hash *h, const uint8_t *data, size_t len);
void phr_store_hash_final(struct phr_store_hash *h, uint8_t out[32]);

/* Protobuf reading helpers (dagpb.c). */
int phr_pb_varint(uint64_t *v, const uint8_t **p, const uint8_t *end);

/* Writes all of @p len bytes to @p fd, retrying on EINTR. */
int phr_store_write_all(int fd, const uint8_t *data, size_t len);
/* Reads up to @p len bytes (short only at end of file). Returns bytes or -1. */
long phr_store_read_full(int fd, uint8_t *buf, size_t len);

/* fsync of directory @p dir (renames and removals in it made durable). */
int phr_store_fsync_dir(const char *dir);

/* An anonymous read-write temporary file in $TMPDIR (or /tmp); -1 on error. */
int phr_store_tmpfile(void);

/* The identity CID with empty data ("bafkqaaa"). */
void phr_cid_identity_empty(struct phr_cid *cid);

/* Writers hold the store lock shared while they add unpinned blocks; GC takes
 * it exclusive so it never collects the blocks of an import in progress. */
void phr_store_writer_lock(struct phr_store *st);
void phr_store_writer_unlock(struct phr_store *st);

/* Records a recursive pin without walking the DAG (the importer just wrote it). */
int phr_store_pin_write(struct phr_store *st, const struct phr_cid *root);

/*
 * Batched block writes for importers: each block goes to a temp file; a
 * commit (automatic every 64 blocks, and explicit at the end) fsyncs them
 * all, renames them into place and fsyncs their directories once. A block is
 * never visible under its name before its content is durable; discarded
 * batches leave nothing but removed temp files.
 */
struct phr_store_batch;
int phr_store_batch_new(struct phr_store_batch **b, struct phr_store *st);
int phr_store_batch_put(struct phr_store_batch *b, const struct phr_cid *cid, const uint8_t *data,
			size_t len);
int phr_store_batch_commit(struct phr_store_batch *b);
/* Commits and records a pin of @p root in the same wait (NULL: commit only). */
int phr_store_batch_commit_pin(struct phr_store_batch *b, const struct phr_cid *root);
void phr_store_batch_free(struct phr_store_batch *b);

/* ---- the pack log (wal.c; docs/store.md "On disk", "Durability") ---- */

/* Blocks up to this size live in the pack; larger ones are files of their own. */
#define PHR_STORE_WAL_BLOCK_MAX ((size_t)64 << 10)
/* A record: magic "PWAL" (4), type (1), pad (3), payload length (4, LE), pad (4),
 * SHA-256 of the payload (32), the payload, zeros to a multiple of 8. */
#define PHR_WAL_REC_HDR 48u
enum { PHR_WAL_REC_BLOCK = 1, PHR_WAL_REC_PIN_ADD = 2, PHR_WAL_REC_PIN_RM = 3,
       PHR_WAL_REC_DEAD = 4,
       /* never on disk: what phr_wal_scan reports for a block record whose payload fails
	* its check (payload NULL) */
       PHR_WAL_REC_DAMAGED = 5 };

struct phr_wal;

/* What a group makes visible once its records are durable: an index entry or a pin. */
struct phr_wal_action {
	int kind;
	uint32_t len;
	uint64_t off;
	uint8_t d[32];
	char *name; /* pins: the CID text */
};

/* Records of one writer (or one caller's phr_store_group), gathered in memory, appended
 * with one write when the group ends (or its buffer fills) and waited for once. */
struct phr_wal_group {
	struct phr_store *st;
	struct phr_wal *wal;
	uint64_t ticket; /* last write appended */
	int err;         /* first failure: the group then makes nothing visible */
	struct phr_wal_action *a;
	size_t n, cap;
	size_t written;  /* actions before this one have their records in the file; the
			  * later ones' off is relative to buf */
	uint8_t *buf;    /* records not yet appended */
	size_t blen, bcap;
	bool open;
	bool pending;       /* first_off is registered with the pack (a refresh stops there) */
	uint64_t first_off; /* the group's first record */
};

/* A packed block: its digest (SHA-256 = the multihash digest), where its record starts. */
struct phr_wal_block {
	uint8_t digest[32];
	uint64_t off;
	uint32_t len;
};

/* Bytes a record of @p len payload bytes takes in the file. */
size_t phr_wal_rec_size(size_t len);
/*
 * Scans the records of @p fd in [@p from, @p to): @p fn gets every whole record whose
 * check matches (dead records and damaged stretches are skipped), and, as
 * PHR_WAL_REC_DAMAGED, a block record whose header is whole and is followed by a record
 * where it ends but whose payload fails the check; *@p good_end: the end of the last good
 * record. Returns PHR_OK, an error of @p fn, PHR_ERR_IO, PHR_ERR_NOMEM.
 */
int phr_wal_scan(int fd, uint64_t from, uint64_t to,
		 int (*fn)(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
			   const uint8_t *payload, size_t len),
		 void *ctx, uint64_t *good_end);
/* Opens the pack at @p path (scanning it; the first opener drops a torn tail) after
 * migrating an older version's log at @p legacy_path. */
int phr_wal_open(struct phr_wal **w, struct phr_store *st, const char *path,
		 const char *legacy_path);
void phr_wal_close(struct phr_wal *w);
/* Indexes what other processes appended (synced first). */
void phr_wal_refresh(struct phr_wal *w);
/* A packed block, verified against @p d: PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_CORRUPT,
 * PHR_ERR_IO, PHR_ERR_NOMEM. @p refresh: on a miss, look at other processes' appends, and
 * answer PHR_ERR_CORRUPT when the pack holds only a damaged record of it. */
int phr_wal_get(struct phr_wal *w, struct phr_buf *out, const uint8_t d[32], bool refresh);
/* Whether the pack holds block @p d (its record's header checked). */
bool phr_wal_has(struct phr_wal *w, const uint8_t d[32], bool refresh);
/* Whether the pack pins @p name (a CID text). */
bool phr_wal_pin_has(struct phr_wal *w, const char *name, bool refresh);
/* A copy of the pinned CID texts; free with phr_wal_names_free. */
int phr_wal_pin_names(struct phr_wal *w, char ***names, size_t *n);
void phr_wal_names_free(char **names, size_t n);
/* Every live packed block (array freed with phr_free). */
int phr_wal_blocks(struct phr_wal *w, struct phr_wal_block **v, size_t *n);
/* The damaged block records scans found, not erased since (array freed with phr_free). */
int phr_wal_damaged(struct phr_wal *w, struct phr_wal_block **v, size_t *n);
/* Erases (dead record in place, synced) every packed block for which @p dead says so,
 * and zeroes its copies in an older version's log still open; counts in @p removed,
 * payload bytes in @p freed (both optional). */
int phr_wal_erase(struct phr_wal *w, bool (*dead)(void *ctx, const uint8_t digest[32]),
		  void *ctx, uint64_t *removed, uint64_t *freed);
/* Erases packed block @p d (*@p found: whether the pack held it) and its copies in an
 * older version's log still open. */
int phr_wal_erase_one(struct phr_wal *w, const uint8_t d[32], bool *found);
/* The calling thread's group on @p st (phr_store_group_begin) or else @p own, opened if it
 * was not (zero-initialise it first). */
struct phr_wal_group *phr_wal_group_get(struct phr_store *st, struct phr_wal_group *own);
/* Waits for an own group's records and makes them visible; no-op for the thread's group. */
int phr_wal_group_finish(struct phr_wal_group *g);
/* Drops an own group: nothing of it becomes visible. */
void phr_wal_group_discard(struct phr_wal_group *g);
/* Appends block @p digest (SHA-256 of @p data). */
int phr_wal_put_block(struct phr_wal_group *g, const uint8_t digest[32], const uint8_t *data,
		      size_t len);
/* Appends a pin change of @p name (the CID text). */
int phr_wal_pin(struct phr_wal_group *g, bool add, const char *name);

/* For wal.c: the store's pack; an older version's log replayed (block files, pin files);
 * an older version's pin file of @p name removed (PHR_OK when there is none). */
struct phr_wal *phr_store_i_wal(struct phr_store *st);
int phr_store_i_replay_block(struct phr_store *st, const uint8_t digest[32],
			     const uint8_t *data, size_t len);
int phr_store_i_replay_pin(struct phr_store *st, const char *name, bool add);
int phr_store_i_legacy_pin_rm(struct phr_store *st, const char *name);

#endif
