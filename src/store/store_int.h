/* Internals shared by the store module's files. */
#ifndef PHR_STORE_INT_H
#define PHR_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "phr/store.h"

/* SHA-256 of one buffer (the one place the hash implementation is chosen). */
void phr_store_sha256(uint8_t out[32], const uint8_t *data, size_t len);

/* Protobuf reading helpers (dagpb.c). */
int phr_pb_varint(uint64_t *v, const uint8_t **p, const uint8_t *end);

/* Writes all of @p len bytes to @p fd, retrying on EINTR. */
int phr_store_write_all(int fd, const uint8_t *data, size_t len);
/* Reads up to @p len bytes (short only at end of file). Returns bytes or -1. */
long phr_store_read_full(int fd, uint8_t *buf, size_t len);

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

/* ---- write-ahead log (wal.c; docs/store.md "Durability") ---- */

/* Blocks up to this size are made durable through the log; larger ones by fsyncs. */
#define PHR_STORE_WAL_BLOCK_MAX ((size_t)64 << 10)

struct phr_wal;

/* What a group does once its records are durable: rename a temp file into place, create
 * or remove a pin file. */
struct phr_wal_action {
	int kind;
	char *from, *to;
};

/* Records appended by one writer (or one caller's phr_store_group) and waited for once. */
struct phr_wal_group {
	struct phr_store *st;
	struct phr_wal *wal;
	uint64_t ticket; /* last record appended */
	int err;         /* first failure: the group then names nothing */
	struct phr_wal_action *a;
	size_t n, cap;
	bool open;
};

/* Opens the log at @p path, replaying it first when it was written before this boot. */
int phr_wal_open(struct phr_wal **w, struct phr_store *st, const char *path);
void phr_wal_close(struct phr_wal *w);
/* The calling thread's group on @p st (phr_store_group_begin) or else @p own, opened if it
 * was not (zero-initialise it first). */
struct phr_wal_group *phr_wal_group_get(struct phr_store *st, struct phr_wal_group *own);
/* Waits for an own group's records and applies its actions; no-op for the thread's group. */
int phr_wal_group_finish(struct phr_wal_group *g);
/* Drops an own group: its temp files are removed, nothing is named. */
void phr_wal_group_discard(struct phr_wal_group *g);
/* Appends a block (its temp file @p tmp already written) to be renamed to @p path. */
int phr_wal_put_block(struct phr_wal_group *g, const uint8_t digest[32], const uint8_t *data,
		      size_t len, const char *tmp, const char *path);
/* Appends a pin change of the pin file @p path (@p name: the CID text). */
int phr_wal_pin(struct phr_wal_group *g, bool add, const char *name, const char *path);
/* Creates (with its "recursive" line) or removes the pin file @p path, without sync. */
int phr_wal_pin_file(const char *path, bool add);
/* Zeroes in the log every block record for which @p dead says so (erasure, GC). */
int phr_wal_scrub(struct phr_store *st, bool (*dead)(void *ctx, const uint8_t digest[32]),
		  void *ctx);

/* For wal.c: the store's log, and replaying one record durably. */
struct phr_wal *phr_store_i_wal(struct phr_store *st);
int phr_store_i_replay_block(struct phr_store *st, const uint8_t digest[32],
			     const uint8_t *data, size_t len);
int phr_store_i_replay_pin(struct phr_store *st, const char *name, bool add);

#endif
