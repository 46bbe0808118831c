/* Internals shared by the store module's files. */
#ifndef PHR_STORE_INT_H
#define PHR_STORE_INT_H

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
void phr_store_batch_free(struct phr_store_batch *b);

#endif
