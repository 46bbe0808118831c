/**
 * @file store.h
 * @brief phr store: IPFS-compatible content-addressed storage of encrypted
 *        objects. CIDs and multiformats, dag-pb and UnixFS, a streaming UnixFS
 *        importer/exporter that gives the same CIDs as kubo's
 *        `ipfs add --cid-version=1`, an on-disk verified blockstore with pins
 *        and garbage collection, CARv1, an IPFS trustless-gateway server (a
 *        libmicrohttpd handler) and client (libcurl).
 *
 * docs/store.md describes the on-disk layout and the interop rules.
 *
 * Thread safety: a struct phr_store may be used from several threads at once
 * for reads and block writes (the gateway does); pin changes and GC must not
 * run concurrently with each other. Everything else is reentrant.
 */
#ifndef PHR_STORE_H
#define PHR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Multiformats and CIDs                                                     */
/* ------------------------------------------------------------------------- */

#define PHR_MH_IDENTITY 0x00u  /**< multihash: identity (the digest is the data) */
#define PHR_MH_SHA2_256 0x12u  /**< multihash: sha2-256 */
#define PHR_CODEC_RAW 0x55u    /**< multicodec: raw bytes */
#define PHR_CODEC_DAG_PB 0x70u /**< multicodec: dag-pb */

/** Largest digest accepted (identity CIDs carry their data: kept small). */
#define PHR_CID_DIGEST_MAX 64
/** Largest binary CID: version, codec, hash code, length varints and digest. */
#define PHR_CID_MAX_BYTES (4 + 10 + 10 + 10 + PHR_CID_DIGEST_MAX)
/** Room for any CID as text (base32 of the binary form, prefix and NUL). */
#define PHR_CID_STR_MAX 136

/** A parsed CID. Plain value; copy freely. */
struct phr_cid {
	uint8_t version;     /**< 0 or 1 */
	uint64_t codec;      /**< PHR_CODEC_RAW or PHR_CODEC_DAG_PB (v0: always dag-pb) */
	uint64_t mh_code;    /**< PHR_MH_SHA2_256 or PHR_MH_IDENTITY */
	uint8_t digest_len;  /**< 32 for sha2-256 */
	uint8_t digest[PHR_CID_DIGEST_MAX];
};

/**
 * Parses a binary CID at the start of @p in (a CIDv0 is the 34-byte sha2-256
 * multihash `12 20 ...`; a CIDv1 is varint version, codec, multihash).
 * Only the codecs raw and dag-pb and the hashes sha2-256 (32 bytes) and
 * identity (at most PHR_CID_DIGEST_MAX bytes) are accepted.
 * @param[out] cid  the CID (untouched on failure)
 * @param[out] used bytes consumed (may be NULL)
 * @return PHR_OK, PHR_ERR_TRUNCATED, PHR_ERR_PARSE, PHR_ERR_NONCANONICAL
 *         (non-minimal varint), PHR_ERR_UNSUPPORTED (other codec/hash/version).
 */
PHR_WUR int phr_cid_decode(struct phr_cid *cid, size_t *used, const uint8_t *in, size_t in_len);

/**
 * Writes the binary form of @p cid.
 * @param[out] out     at least PHR_CID_MAX_BYTES
 * @param[out] out_len bytes written
 * @return PHR_OK, PHR_ERR_TOO_LARGE (out too small), PHR_ERR_INVALID (a v0 CID
 *         that is not dag-pb/sha2-256).
 */
PHR_WUR int phr_cid_encode(uint8_t *out, size_t out_cap, size_t *out_len, const struct phr_cid *cid);

/**
 * Parses a CID in text: CIDv0 (46 base58btc characters starting "Qm"), or a
 * multibase CIDv1: 'b'/'B' base32, 'z' base58btc, 'f' hex. Surrounding
 * whitespace is not accepted.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_UNSUPPORTED, PHR_ERR_NONCANONICAL.
 */
PHR_WUR int phr_cid_parse(struct phr_cid *cid, const char *text);

/**
 * Prints a CID the usual way: v0 as base58btc ("Qm..."), v1 as base32 ("b...").
 * @param[out] out at least PHR_CID_STR_MAX bytes
 * @return PHR_OK or PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_cid_format(char *out, size_t out_cap, const struct phr_cid *cid);

/**
 * Computes the CID of a block (sha2-256).
 * @param[in] version 0 (only with PHR_CODEC_DAG_PB) or 1
 * @return PHR_OK or PHR_ERR_INVALID.
 */
PHR_WUR int phr_cid_of_block(struct phr_cid *cid, unsigned version, uint64_t codec,
			     const uint8_t *data, size_t len);

/**
 * Checks that @p data is the block named by @p cid.
 * @return PHR_OK, or PHR_ERR_CORRUPT when the hash does not match.
 */
PHR_WUR int phr_cid_verify(const struct phr_cid *cid, const uint8_t *data, size_t len);

/** @return whether two CIDs are the same (version, codec and multihash). */
bool phr_cid_equal(const struct phr_cid *a, const struct phr_cid *b);

/** @return whether two CIDs name the same bytes (same multihash). */
bool phr_cid_same_block(const struct phr_cid *a, const struct phr_cid *b);

/** Converts a v0 CID to v1 (dag-pb, same multihash); v1 is copied as is. */
void phr_cid_to_v1(struct phr_cid *out, const struct phr_cid *in);

/**
 * base58btc (Bitcoin alphabet) encoding, as used by CIDv0 and multibase 'z'.
 * @param[out] out NUL-terminated text; at least n * 138 / 100 + 2 bytes
 * @return PHR_OK or PHR_ERR_TOO_LARGE (also for n > 256).
 */
PHR_WUR int phr_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t n);

/**
 * base58btc decoding of @p in_len characters.
 * @return PHR_OK, PHR_ERR_PARSE (character outside the alphabet),
 *         PHR_ERR_TOO_LARGE (out too small or input over 400 characters).
 */
PHR_WUR int phr_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in,
			      size_t in_len);

/* ------------------------------------------------------------------------- */
/* dag-pb and UnixFS                                                         */
/* ------------------------------------------------------------------------- */

/** One link of a dag-pb node; pointers borrow the decoded block. */
struct phr_dagpb_link {
	struct phr_cid cid;
	const uint8_t *name; /**< NULL when absent */
	size_t name_len;
	bool has_tsize;
	uint64_t tsize;
};

/** A decoded dag-pb node; valid while the block bytes it was decoded from are. */
struct phr_dagpb_node {
	struct phr_dagpb_link *links; /**< heap array (phr_dagpb_node_release) */
	size_t nlinks;
	const uint8_t *data; /**< NULL when the Data field is absent */
	size_t data_len;
};

/** Most links accepted in one decoded node (a block is at most 2 MiB). */
#define PHR_DAGPB_MAX_LINKS 65536

/**
 * Decodes a dag-pb block strictly (the IPLD dag-pb spec): fields in canonical
 * order (Links before Data, Hash, Name, Tsize in a link), no unknown or
 * repeated fields, correct wire types, minimal varints, a Hash in every link.
 * @param[out] node decoded node; release with phr_dagpb_node_release
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL,
 *         PHR_ERR_UNSUPPORTED (link to an unsupported CID), PHR_ERR_TOO_LARGE,
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_dagpb_decode(struct phr_dagpb_node *node, const uint8_t *in, size_t in_len);

/** Frees the link array of @p node (the struct itself is the caller's). */
void phr_dagpb_node_release(struct phr_dagpb_node *node);

/**
 * Encodes a dag-pb node canonically, kubo style: every link carries its Name
 * (even an empty one, written `12 00`) and its Tsize.
 * @param[in] links  links; their name may be NULL (written as empty)
 * @param[in] data   the Data field, or NULL to leave it out
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE (buffer limit).
 */
PHR_WUR int phr_dagpb_encode(struct phr_buf *out, const struct phr_dagpb_link *links,
			     size_t nlinks, const uint8_t *data, size_t data_len);

/** UnixFS Data types. */
enum phr_unixfs_type {
	PHR_UNIXFS_RAW = 0,
	PHR_UNIXFS_DIRECTORY = 1,
	PHR_UNIXFS_FILE = 2,
	PHR_UNIXFS_METADATA = 3,
	PHR_UNIXFS_SYMLINK = 4,
	PHR_UNIXFS_HAMT = 5,
};

/** A decoded UnixFS Data message; pointers borrow the input. */
struct phr_unixfs {
	enum phr_unixfs_type type;
	const uint8_t *data; /**< NULL when absent */
	size_t data_len;
	bool has_filesize;
	uint64_t filesize;
	size_t nblocksizes;           /**< number of blocksizes entries */
	const uint8_t *blocksizes;    /**< where they are (re-read with phr_unixfs_blocksize) */
	size_t blocksizes_len;
	bool blocksizes_packed;
};

/**
 * Decodes a UnixFS Data message (the Data field of a dag-pb node). Fields 1-8
 * are understood (mode and mtime are skipped after checking their shape);
 * unknown fields, wrong wire types and a missing Type are errors.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL.
 */
PHR_WUR int phr_unixfs_decode(struct phr_unixfs *u, const uint8_t *in, size_t in_len);

/**
 * Reads blocksizes[@p i] of a decoded message (0 <= i < nblocksizes).
 * @return PHR_OK or PHR_ERR_RANGE.
 */
PHR_WUR int phr_unixfs_blocksize(const struct phr_unixfs *u, size_t i, uint64_t *out);

/**
 * Encodes a UnixFS File message as go-unixfs does: Type, Data (only when
 * @p data_len > 0), filesize, and each blocksize as its own field (not packed).
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_unixfs_encode_file(struct phr_buf *out, const uint8_t *data, size_t data_len,
				   uint64_t filesize, const uint64_t *blocksizes, size_t n);

/* ------------------------------------------------------------------------- */
/* Blockstore                                                                */
/* ------------------------------------------------------------------------- */

/** Largest block stored or accepted from outside (the IPFS bitswap limit). */
#define PHR_STORE_BLOCK_MAX ((size_t)2 << 20)

/** An open store (opaque). */
struct phr_store;

/**
 * Opens (creating if needed) the store under @p dir: blocks in
 * dir/blocks/XX/..., pins in dir/pins/, the write-ahead log in dir/wal. After
 * a crash of the machine (the log was written under another boot id) the
 * first process to open the store replays the log before returning.
 * @param[out] st new handle; close with phr_store_close
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_store_open(struct phr_store **st, const char *dir);

/** Closes a store (NULL is a no-op). */
void phr_store_close(struct phr_store *st);

/**
 * Stores a block durably; a block already present is not rewritten. Blocks up
 * to 64 KiB go through the store's write-ahead log (one fdatasync shared by
 * all concurrent writers, then the rename into place: docs/store.md,
 * "Durability"); larger ones by temp file, fsync, rename, directory fsync.
 * Inside a group (phr_store_group_begin) the block is durable and visible
 * only once phr_store_group_end returned. The caller vouches that @p cid names
 * @p data (the importer computed it); use phr_store_put_verified for outside data.
 * Identity CIDs are never written.
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_store_put(struct phr_store *st, const struct phr_cid *cid, const uint8_t *data,
			  size_t len);

/** phr_store_put after checking the hash. @return also PHR_ERR_CORRUPT. */

/** Defined where phr_store_group_begin/end exist (for code built against several versions). */
#define PHR_STORE_HAS_GROUPS 1

/**
 * Opens a durability group on the calling thread: until phr_store_group_end,
 * the small blocks and the pins this thread writes to @p st (phr_store_put,
 * imports, capsules, phr_store_pin_add/rm) are appended to the write-ahead
 * log without waiting, and phr_store_group_end makes all of them durable with
 * one shared fdatasync, then gives them their names. So a record's ciphertext,
 * its pin and its key capsules cost one wait instead of one per object:
 *
 *     phr_store_group_begin(st);
 *     rc = phr_store_add_encrypted_fd(st, &root, fd, key, NULL);
 *     if (rc == PHR_OK) rc = phr_store_add_capsule(st, &cap, pk, key);
 *     int er = phr_store_group_end(st);     // always called
 *     if (rc == PHR_OK) rc = er;            // acknowledge only when both are OK
 *
 * Until the end, what the group wrote is not visible to readers (not even
 * this thread: phr_store_get, phr_store_has and phr_store_pin_add's walk do not
 * see it yet), so a caller acknowledges nothing before phr_store_group_end
 * returned PHR_OK. Groups nest (only the outermost end waits). One store per
 * thread at a time; an importer started inside a group must be finished
 * before its end; phr_store_gc must not be called from inside a group (it
 * waits for every writer).
 * @return PHR_OK, or PHR_ERR_STATE (the thread has a group open on another store).
 */
PHR_WUR int phr_store_group_begin(struct phr_store *st);

/**
 * Closes the calling thread's group (the outermost one: waits until its
 * records are durable, then renames its blocks into place and creates or
 * removes its pins).
 * @return PHR_OK; PHR_ERR_IO (the sync or a rename failed: nothing of the
 *         group may be taken as stored); PHR_ERR_STATE (no group open on @p st).
 */
PHR_WUR int phr_store_group_end(struct phr_store *st);
PHR_WUR int phr_store_put_verified(struct phr_store *st, const struct phr_cid *cid,
				   const uint8_t *data, size_t len);

/**
 * Reads a block and checks it against its CID. An identity CID returns its
 * digest. A block that does not match is never returned.
 * @param[out] out receives the block (appended after a reset)
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_CORRUPT, PHR_ERR_IO,
 *         PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_store_get(struct phr_store *st, struct phr_buf *out, const struct phr_cid *cid);

/** @return whether the block is present (not verified; identity: always). */
bool phr_store_has(struct phr_store *st, const struct phr_cid *cid);

/** Removes a block. @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_IO. */
PHR_WUR int phr_store_delete(struct phr_store *st, const struct phr_cid *cid);

/**
 * Walks the DAG under @p root depth-first, root first, children in link
 * order, each block once, calling @p fn with each verified block. Only the
 * codecs raw and dag-pb are followed.
 * @param[in] fn returns PHR_OK to continue; any other value stops the walk
 *               and is returned
 * @return PHR_OK, an error of phr_store_get (PHR_ERR_NOT_FOUND for a missing
 *         block), of phr_dagpb_decode, PHR_ERR_RANGE (deeper than 64 levels).
 */
PHR_WUR int phr_store_walk(struct phr_store *st, const struct phr_cid *root,
			   int (*fn)(void *ctx, const struct phr_cid *cid, const uint8_t *data,
				     size_t len),
			   void *ctx);

/**
 * Pins @p root recursively after checking that every block of its DAG is
 * present and valid. @return PHR_OK or an error of phr_store_walk.
 */
PHR_WUR int phr_store_pin_add(struct phr_store *st, const struct phr_cid *root);

/** Removes a pin. @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_IO. */
PHR_WUR int phr_store_pin_rm(struct phr_store *st, const struct phr_cid *root);

/** @return whether @p root is pinned. */
bool phr_store_pin_has(struct phr_store *st, const struct phr_cid *root);

/**
 * Lists the pins, calling @p fn for each (order unspecified).
 * @return PHR_OK, PHR_ERR_IO, or the first non-zero value of @p fn.
 */
PHR_WUR int phr_store_pin_list(struct phr_store *st,
			       int (*fn)(void *ctx, const struct phr_cid *root), void *ctx);

/** Usage statistics. */
struct phr_store_stat {
	uint64_t blocks;      /**< block files */
	uint64_t bytes;       /**< their total size */
	uint64_t pins;        /**< recursive pins */
	uint64_t tmp_files;   /**< leftovers of interrupted writes */
};

/** Counts blocks, bytes and pins. @return PHR_OK or PHR_ERR_IO. */
PHR_WUR int phr_store_stat(struct phr_store *st, struct phr_store_stat *out);

/**
 * Garbage collection: removes every block not reachable from a pin, and the
 * temporary files of interrupted writes.
 * @param[out] removed blocks removed (may be NULL)
 * @param[out] freed   bytes freed (may be NULL)
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM, or an error found while marking
 *         (a pinned DAG with a missing or corrupt block: nothing is removed).
 */
PHR_WUR int phr_store_gc(struct phr_store *st, uint64_t *removed, uint64_t *freed);

/** Result of a whole-store check. */
struct phr_store_verify_report {
	uint64_t blocks_ok;
	uint64_t blocks_corrupt;  /**< files whose content does not match their name */
	uint64_t pins_ok;
	uint64_t pins_broken;     /**< pinned DAGs with a missing or corrupt block */
	uint64_t tmp_files;       /**< leftovers of interrupted writes (harmless) */
};

/**
 * Checks every block against its name and every pinned DAG for completeness.
 * @param[in] fn called with a description of each problem found (may be NULL)
 * @return PHR_OK when the store is sound, PHR_ERR_CORRUPT when something is
 *         wrong (see @p rep), PHR_ERR_IO.
 */
PHR_WUR int phr_store_verify(struct phr_store *st, struct phr_store_verify_report *rep,
			     void (*fn)(void *ctx, const char *problem), void *ctx);

/* ------------------------------------------------------------------------- */
/* UnixFS importer and exporter                                              */
/* ------------------------------------------------------------------------- */

#define PHR_UNIXFS_CHUNK 262144u /**< kubo's default chunk size */
#define PHR_UNIXFS_MAX_LINKS 174 /**< kubo's balanced layout width */

/** Importer settings. */
struct phr_import_opts {
	unsigned cid_version; /**< 1 (raw leaves, kubo --cid-version=1) or 0 (dag-pb leaves) */
	bool only_hash;       /**< compute the CID without writing blocks */
	bool pin;             /**< pin the root when done (ignored with only_hash) */
};

/** A streaming importer (opaque); memory stays constant whatever the size. */
struct phr_importer;

/**
 * Starts importing one file.
 * @param[in] st store to write blocks to (may be NULL with only_hash)
 * @param[in] opts settings (copied); NULL means CIDv1 and pin
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_importer_new(struct phr_importer **imp, struct phr_store *st,
			     const struct phr_import_opts *opts);

/** Feeds file bytes. @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM, PHR_ERR_STATE. */
PHR_WUR int phr_importer_write(struct phr_importer *imp, const uint8_t *data, size_t len);

/**
 * Finishes the file and gives its root CID (pinned if asked).
 * @param[out] size file size (may be NULL)
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM, PHR_ERR_STATE (already finished).
 */
PHR_WUR int phr_importer_finish(struct phr_importer *imp, struct phr_cid *root, uint64_t *size);

/** Frees an importer (NULL is a no-op). */
void phr_importer_free(struct phr_importer *imp);

/**
 * Imports everything read from @p fd.
 * @param[in] progress called after each chunk with bytes so far (may be NULL)
 * @return as phr_importer_*.
 */
PHR_WUR int phr_store_add_fd(struct phr_store *st, struct phr_cid *root, uint64_t *size, int fd,
			     const struct phr_import_opts *opts,
			     void (*progress)(void *ctx, uint64_t done), void *ctx);

/** Imports a memory buffer. @return as phr_store_add_fd. */
PHR_WUR int phr_store_add_bytes(struct phr_store *st, struct phr_cid *root, const uint8_t *data,
				size_t len, const struct phr_import_opts *opts);

/**
 * Exports the UnixFS file (or raw block) @p root, streaming its bytes to
 * @p fn in order. Every block is verified; sizes are checked against the
 * UnixFS filesize/blocksizes.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_CORRUPT, PHR_ERR_PARSE,
 *         PHR_ERR_UNSUPPORTED (a directory or other non-file node), or the
 *         first non-zero value returned by @p fn.
 */
PHR_WUR int phr_store_cat(struct phr_store *st, const struct phr_cid *root,
			  int (*fn)(void *ctx, const uint8_t *data, size_t len), void *ctx);

/** phr_store_cat writing to @p fd. @return also PHR_ERR_IO. */
PHR_WUR int phr_store_cat_fd(struct phr_store *st, const struct phr_cid *root, int fd);

/* ------------------------------------------------------------------------- */
/* Encrypted objects                                                         */
/* ------------------------------------------------------------------------- */

/**
 * Encrypts everything read from @p fd with the record secretstream
 * (crypto.h, 64 KiB plaintext chunks) under @p key and imports
 * the ciphertext as a UnixFS file, in constant memory. The CID names
 * ciphertext only.
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_CRYPTO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_store_add_encrypted_fd(struct phr_store *st, struct phr_cid *root, int fd,
				       const uint8_t key[32], const struct phr_import_opts *opts);

/**
 * Exports and decrypts the object @p root to @p fd. Plaintext is written as
 * it authenticates: on error @p fd holds a prefix to discard.
 * @return PHR_OK, PHR_ERR_TAMPERED (wrong key or modified ciphertext),
 *         errors of phr_store_cat.
 */
PHR_WUR int phr_store_cat_decrypted_fd(struct phr_store *st, const struct phr_cid *root, int fd,
				       const uint8_t key[32]);

/**
 * Stores a key capsule: @p key sealed to @p recipient_pk (crypto.h's
 * phr_crypto_key_wrap, 80 bytes) as a small object of its own (one raw block,
 * pinned), so each reader's capsule can be shared or erased separately.
 * @return PHR_OK, PHR_ERR_CRYPTO (invalid public key), PHR_ERR_IO.
 */
PHR_WUR int phr_store_add_capsule(struct phr_store *st, struct phr_cid *cid,
				  const uint8_t recipient_pk[32], const uint8_t key[32]);

/**
 * Reads the capsule @p cid and unwraps the data key with the reader's X25519
 * key pair.
 * @param[out] key 32 bytes (sodium_malloc memory recommended); untouched on error
 * @return PHR_OK, PHR_ERR_TAMPERED (not for this key pair, or modified),
 *         PHR_ERR_PARSE (not a capsule), errors of phr_store_get.
 */
PHR_WUR int phr_store_open_capsule(struct phr_store *st, uint8_t key[32],
				   const struct phr_cid *cid, const uint8_t pk[32],
				   const uint8_t sk[32]);

/* ------------------------------------------------------------------------- */
/* CARv1                                                                     */
/* ------------------------------------------------------------------------- */

/** How much of a DAG a CAR carries (the trustless gateway's dag-scope). */
enum phr_dag_scope {
	PHR_DAG_SCOPE_ALL = 0, /**< every block reachable from the root */
	PHR_DAG_SCOPE_ENTITY,  /**< the UnixFS entity (a whole file) */
	PHR_DAG_SCOPE_BLOCK,   /**< the root block only */
};

/**
 * Writes a CARv1 of the DAG under @p root: header (roots = [root]), then the
 * blocks depth-first, root first, each once, every block verified.
 * @param[in] fn output sink; a non-zero return stops and is returned
 * @return PHR_OK or errors of phr_store_walk.
 */
PHR_WUR int phr_car_export(struct phr_store *st, const struct phr_cid *root,
			   enum phr_dag_scope scope,
			   int (*fn)(void *ctx, const uint8_t *data, size_t len), void *ctx);

/** phr_car_export to a file descriptor. @return also PHR_ERR_IO. */
PHR_WUR int phr_car_export_fd(struct phr_store *st, const struct phr_cid *root,
			      enum phr_dag_scope scope, int fd);

/** A streaming CARv1 reader over a read callback (opaque). */
struct phr_car_reader;

/**
 * Starts reading a CAR from @p read (returns bytes read, 0 at end, -1 on error).
 * The header is read and checked here (version 1, 1 to 16 roots).
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TRUNCATED, PHR_ERR_UNSUPPORTED,
 *         PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_car_reader_new(struct phr_car_reader **r,
			       long (*read)(void *ctx, uint8_t *buf, size_t n), void *ctx);

/** Number of roots in the header. */
size_t phr_car_reader_nroots(const struct phr_car_reader *r);
/** Root @p i (0 <= i < nroots). */
const struct phr_cid *phr_car_reader_root(const struct phr_car_reader *r, size_t i);

/**
 * Reads the next block and verifies it against its CID.
 * @param[out] cid  its CID
 * @param[out] data the block, valid until the next call
 * @return PHR_OK, PHR_ERR_NOT_FOUND at a clean end, PHR_ERR_CORRUPT (hash
 *         mismatch), PHR_ERR_PARSE, PHR_ERR_TRUNCATED, PHR_ERR_TOO_LARGE,
 *         PHR_ERR_UNSUPPORTED, PHR_ERR_IO.
 */
PHR_WUR int phr_car_reader_next(struct phr_car_reader *r, struct phr_cid *cid,
				const uint8_t **data, size_t *len);

/** Frees a reader (NULL is a no-op). */
void phr_car_reader_free(struct phr_car_reader *r);

/**
 * Imports a CAR from @p fd: every block verified and stored, then every root
 * whose DAG is complete pinned.
 * @param[out] roots_out first root (may be NULL)
 * @param[out] nblocks   blocks read (may be NULL)
 * @return PHR_OK or errors of the reader and the store.
 */
PHR_WUR int phr_car_import_fd(struct phr_store *st, struct phr_cid *roots_out, uint64_t *nblocks,
			      int fd);

/* ------------------------------------------------------------------------- */
/* Trustless gateway                                                         */
/* ------------------------------------------------------------------------- */

/** What a gateway request asks for. */
enum phr_gw_format {
	PHR_GW_FORMAT_FILE = 0, /**< deserialized UnixFS file (no format asked) */
	PHR_GW_FORMAT_RAW,      /**< application/vnd.ipld.raw: one block */
	PHR_GW_FORMAT_CAR,      /**< application/vnd.ipld.car */
};

/** A parsed gateway request. */
struct phr_gw_request {
	bool head;
	struct phr_cid cid;
	char cid_text[PHR_CID_STR_MAX]; /**< as the client wrote it */
	enum phr_gw_format format;
	enum phr_dag_scope scope;
};

/**
 * Parses a trustless-gateway request (pure function, no I/O).
 * @param[in] method "GET" or "HEAD"
 * @param[in] path   the URL path, e.g. "/ipfs/bafy..." (no query)
 * @param[in] format value of ?format= or NULL
 * @param[in] scope  value of ?dag-scope= or NULL
 * @param[in] accept the Accept header or NULL
 * @return 0 with @p req filled, or the HTTP status to answer: 400 (bad CID,
 *         bad parameters), 404 (not under /ipfs/ or a sub-path), 405 (method),
 *         406 (Accept names nothing servable).
 */
int phr_gw_request_parse(struct phr_gw_request *req, const char *method, const char *path,
			 const char *format, const char *scope, const char *accept);

/** A gateway (opaque): the store plus, for the standalone server, a daemon. */
struct phr_gateway;

/**
 * Creates a gateway over @p st (borrowed; must outlive it).
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_gateway_new(struct phr_gateway **gw, struct phr_store *st);

#ifdef MHD_VERSION
/**
 * The request handler, an MHD_AccessHandlerCallback whose @p cls is the
 * struct phr_gateway. A node mounts it for URLs starting with "/ipfs/" in its
 * own libmicrohttpd daemon. Declared only when <microhttpd.h> was included
 * before this header. Answers GET and HEAD; thread-safe.
 */
enum MHD_Result phr_gateway_handler(void *cls, struct MHD_Connection *connection, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **req_cls);
#endif

/**
 * Starts the standalone server on @p host:@p port (port 0 picks a free one).
 * @param[out] bound_port the port listened on
 * @return PHR_OK, PHR_ERR_NETWORK, PHR_ERR_INVALID, PHR_ERR_STATE (already
 *         started).
 */
PHR_WUR int phr_gateway_listen(struct phr_gateway *gw, const char *host, uint16_t port,
			       uint16_t *bound_port);

/** Stops the server (if started) and frees the gateway (NULL is a no-op). */
void phr_gateway_free(struct phr_gateway *gw);

/**
 * Fetches the DAG under @p root from a trustless gateway at @p base_url
 * (e.g. "http://127.0.0.1:8080"), block by block with ?format=raw, verifying
 * every block against its CID before storing it. Blocks already present are
 * not fetched again.
 * @param[out] nfetched blocks fetched (may be NULL)
 * @return PHR_OK, PHR_ERR_NETWORK, PHR_ERR_NOT_FOUND (the gateway answered
 *         404), PHR_ERR_CORRUPT (a block did not match), PHR_ERR_TOO_LARGE,
 *         errors of the store and of phr_dagpb_decode.
 */
PHR_WUR int phr_gw_fetch(struct phr_store *st, const char *base_url, const struct phr_cid *root,
			 uint64_t *nfetched);

/** The same through one `?format=car&dag-scope=all` request. */
PHR_WUR int phr_gw_fetch_car(struct phr_store *st, const char *base_url,
			     const struct phr_cid *root, uint64_t *nblocks);

#ifdef __cplusplus
}
#endif
#endif /* PHR_STORE_H */
