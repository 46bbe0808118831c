/**
 * @file nodekey.h
 * @brief Secrets at rest under the node's key DIR/node.key.
 *
 * A node keeps a few secrets it must use again later (TOTP seeds of its
 * accounts, webhook HMAC secrets). They are stored sealed: XChaCha20-Poly1305
 * (IETF) under the 32-byte key in DIR/node.key (a regular file, mode 0600,
 * created on first use), a random 24-byte nonce per seal, and associated data
 * chosen by the caller (e.g. the owning account's address), so a sealed value
 * copied to another row or another node does not open. Layout of a sealed
 * value: nonce (24) || ciphertext || tag (16).
 *
 * A copy of the database without DIR/node.key reveals no secret; whoever holds
 * both holds the secrets: back up node.key apart from the database. Losing
 * node.key loses the sealed secrets (accounts enrol TOTP again, webhooks are
 * registered again).
 *
 * The key is read from the file for each call into sodium_malloc memory and
 * wiped before the call returns. Thread-safe; safe across processes sharing
 * one data directory (the file is created with link(2), first writer wins).
 */
#ifndef PHR_NODEKEY_H
#define PHR_NODEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of DIR/node.key. */
#define PHR_NODEKEY_BYTES 32u
/** Bytes a sealed value adds to its plaintext (nonce 24 + tag 16). */
#define PHR_NODEKEY_OVERHEAD 40u

/**
 * Creates DIR/node.key (random, mode 0600) when it does not exist, or checks
 * the existing one (regular file, PHR_NODEKEY_BYTES, no group/other access).
 * @param[in] datadir the node's data directory (must exist)
 * @return PHR_OK, PHR_ERR_INVALID (path too long, NULL), PHR_ERR_CORRUPT
 *         (wrong size, mode or type: logged), PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_nodekey_ensure(const char *datadir);

/**
 * Seals @p plain under DIR/node.key (created when missing).
 * @param[out] sealed     PHR_NODEKEY_OVERHEAD + @p plain_len bytes
 * @param[in]  sealed_cap capacity of @p sealed
 * @param[in]  datadir    the node's data directory
 * @param[in]  plain      the secret (borrowed; the caller wipes its copy)
 * @param[in]  ad         associated data (may be NULL when @p ad_len is 0)
 * @return PHR_OK, PHR_ERR_INVALID (NULL, capacity), errors of phr_nodekey_ensure,
 *         PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_nodekey_seal(uint8_t *sealed, size_t sealed_cap, const char *datadir,
			     const uint8_t *plain, size_t plain_len, const uint8_t *ad, size_t ad_len);

/**
 * Opens a value sealed by phr_nodekey_seal with the same @p ad.
 * @param[out] plain     @p sealed_len - PHR_NODEKEY_OVERHEAD bytes (put it in
 *                       sodium_malloc memory or wipe it after use)
 * @param[in]  plain_cap capacity of @p plain
 * @return PHR_OK, PHR_ERR_INVALID (NULL, too short, capacity), PHR_ERR_NOT_FOUND
 *         (no DIR/node.key), PHR_ERR_CORRUPT (bad key file), PHR_ERR_IO,
 *         PHR_ERR_TAMPERED (wrong key, wrong @p ad or altered value: @p plain is
 *         zeroed), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_nodekey_open(uint8_t *plain, size_t plain_cap, const char *datadir,
			     const uint8_t *sealed, size_t sealed_len, const uint8_t *ad,
			     size_t ad_len);

#ifdef __cplusplus
}
#endif

#endif
