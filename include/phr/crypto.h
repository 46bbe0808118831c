/**
 * @file crypto.h
 * @brief phr crypto: keccak-256, secp256k1 keys/addresses/signatures, record
 *        encryption and key wrapping, Web3 Secret Storage v3 keystores, Shamir
 *        secret sharing, TOTP, BIP-39 seeds and BIP-32 derivation.
 *
 * Libraries underneath: libsodium (randomness, secretstream, sealed boxes,
 * HMAC-SHA-256/512, scrypt), libsecp256k1 (with its recovery module) and nettle
 * (AES-128-CTR, HMAC-SHA1). Keccak-256 is written here.
 *
 * Secrets: functions that hand out secret material either write into a buffer
 * the caller supplies (the caller decides where it lives; sodium_malloc memory
 * is recommended) or return sodium_malloc memory that is freed with
 * sodium_free(). Every temporary copy of a secret inside this module lives in
 * sodium_malloc memory or on the stack and is wiped before returning, on
 * success and on error.
 *
 * Initialisation: call phr_crypto_init() once before anything else here
 * (it is idempotent and thread-safe, as sodium_init() is).
 *
 * Thread safety: every function is reentrant; contexts (struct phr_keccak,
 * struct phr_crypto_stream) must not be shared between threads without a lock.
 */
#ifndef PHR_CRYPTO_H
#define PHR_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Sizes                                                                     */
/* ------------------------------------------------------------------------- */

#define PHR_KECCAK256_BYTES 32          /**< keccak-256 digest */
#define PHR_SECP256K1_SECKEY_BYTES 32   /**< secp256k1 secret key */
#define PHR_SECP256K1_PUBKEY_BYTES 64   /**< uncompressed X||Y, no 0x04 prefix */
#define PHR_SECP256K1_COMPRESSED_BYTES 33 /**< 0x02/0x03 || X */
#define PHR_SECP256K1_SIG_BYTES 64      /**< r||s, big-endian */
#define PHR_ETH_ADDRESS_BYTES 20        /**< Ethereum address */
#define PHR_ETH_ADDRESS_STR_LEN 43      /**< "0x" + 40 hex chars + NUL */

/* ------------------------------------------------------------------------- */
/* Initialisation                                                            */
/* ------------------------------------------------------------------------- */

/**
 * Initialises libsodium and the shared secp256k1 context. Idempotent.
 * @return PHR_OK, or PHR_ERR_CRYPTO when libsodium cannot initialise.
 */
PHR_WUR int phr_crypto_init(void);

/* ------------------------------------------------------------------------- */
/* Keccak-256 (the original Keccak padding 0x01, as Ethereum uses; not SHA3) */
/* ------------------------------------------------------------------------- */

/** Incremental keccak-256 state. Plain data: may be copied to fork a hash. */
struct phr_keccak {
	uint64_t st[25]; /**< Keccak-f[1600] state */
	size_t pos;      /**< bytes absorbed into the current 136-byte block */
};

/** Sets @p ctx up for a new keccak-256 hash. */
void phr_keccak_init(struct phr_keccak *ctx);

/** Absorbs @p n bytes of @p data (n may be 0; data may be NULL when n is 0). */
void phr_keccak_update(struct phr_keccak *ctx, const void *data, size_t n);

/**
 * Finishes the hash and writes the 32-byte digest to @p out. @p ctx must be
 * re-initialised with phr_keccak_init() before it is used again.
 */
void phr_keccak_final(struct phr_keccak *ctx, uint8_t out[PHR_KECCAK256_BYTES]);

/** One-shot keccak-256 of @p n bytes of @p data into @p out. */
void phr_keccak256(uint8_t out[PHR_KECCAK256_BYTES], const void *data, size_t n);

/* ------------------------------------------------------------------------- */
/* secp256k1 keys, addresses, signatures                                     */
/* ------------------------------------------------------------------------- */

/**
 * Generates a fresh secret key from libsodium's CSPRNG (retrying until it is
 * a valid scalar, 0 < k < n).
 * @param[out] seckey 32 bytes; sodium_malloc memory recommended.
 * @return PHR_OK or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_secp256k1_keygen(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES]);

/** @return true when @p seckey is a valid secret key (0 < k < n). */
bool phr_secp256k1_seckey_valid(const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES]);

/**
 * Derives the public key of @p seckey.
 * @param[out] pub uncompressed X||Y (64 bytes, no 0x04 byte); untouched on error.
 * @return PHR_OK, or PHR_ERR_INVALID when @p seckey is zero or >= n.
 */
PHR_WUR int phr_secp256k1_pubkey(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES],
				 const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES]);

/**
 * Parses a serialized public key: 33 bytes compressed, 65 bytes with the 0x04
 * prefix, or 64 bytes X||Y.
 * @param[out] pub X||Y; untouched on error.
 * @return PHR_OK or PHR_ERR_INVALID (not on the curve, bad length or prefix).
 */
PHR_WUR int phr_secp256k1_pubkey_parse(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES], const uint8_t *in,
				       size_t n);

/**
 * Compresses a public key to 33 bytes (0x02/0x03 || X).
 * @return PHR_OK or PHR_ERR_INVALID when @p pub is not on the curve.
 */
PHR_WUR int phr_secp256k1_pubkey_compress(uint8_t out[PHR_SECP256K1_COMPRESSED_BYTES],
					  const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES]);

/**
 * Signs a 32-byte hash with RFC 6979 deterministic nonces; the signature is
 * always low-s (s <= n/2), as Ethereum requires since Homestead.
 * @param[out] sig   r||s, 64 bytes big-endian; untouched on error
 * @param[out] recid recovery id 0 or 1 (Ethereum v = 27 + recid, or EIP-155
 *                   chainId*2 + 35 + recid, or the y-parity of typed txs)
 * @return PHR_OK, PHR_ERR_INVALID (bad secret key) or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_secp256k1_sign(uint8_t sig[PHR_SECP256K1_SIG_BYTES], int *recid,
			       const uint8_t hash[32],
			       const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES]);

/**
 * Recovers the public key that made @p sig over @p hash. High-s signatures are
 * accepted (the ecrecover precompile needs that; transaction validation checks
 * phr_secp256k1_is_low_s() separately).
 * @param[out] pub   X||Y; untouched on error
 * @param[in]  recid 0..3
 * @return PHR_OK, or PHR_ERR_SIGNATURE when r or s is zero or >= n, recid is
 *         out of range, or no key can be recovered.
 */
PHR_WUR int phr_secp256k1_recover(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES], const uint8_t hash[32],
				  const uint8_t sig[PHR_SECP256K1_SIG_BYTES], int recid);

/**
 * Verifies a (non-recoverable) signature against a public key. Accepts low-s
 * only, as libsecp256k1 does.
 * @return PHR_OK or PHR_ERR_SIGNATURE.
 */
PHR_WUR int phr_secp256k1_verify(const uint8_t sig[PHR_SECP256K1_SIG_BYTES], const uint8_t hash[32],
				 const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES]);

/** @return true when s (the second half of @p sig) is in 1..n/2. */
bool phr_secp256k1_is_low_s(const uint8_t sig[PHR_SECP256K1_SIG_BYTES]);

/** The Ethereum address of a public key: the last 20 bytes of keccak256(X||Y). */
void phr_eth_address(uint8_t addr[PHR_ETH_ADDRESS_BYTES], const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES]);

/**
 * The address of a secret key (pubkey then address).
 * @return PHR_OK or PHR_ERR_INVALID.
 */
PHR_WUR int phr_eth_address_from_seckey(uint8_t addr[PHR_ETH_ADDRESS_BYTES],
					const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES]);

/**
 * Formats @p addr with the EIP-55 mixed-case checksum: "0x" + 40 chars + NUL.
 */
void phr_eth_address_checksum(char out[PHR_ETH_ADDRESS_STR_LEN], const uint8_t addr[PHR_ETH_ADDRESS_BYTES]);

/**
 * Parses an address: 40 hex digits with or without "0x". All-lower and
 * all-upper strings are accepted as they are; a mixed-case string must carry a
 * correct EIP-55 checksum.
 * @param[out] addr untouched on error
 * @return PHR_OK, PHR_ERR_PARSE (length or character) or PHR_ERR_INVALID (bad
 *         checksum).
 */
PHR_WUR int phr_eth_address_parse(uint8_t addr[PHR_ETH_ADDRESS_BYTES], const char *s);

/* ------------------------------------------------------------------------- */
/* Record encryption: XChaCha20-Poly1305 secretstream, chunked               */
/* ------------------------------------------------------------------------- */

/*
 * Format of an encrypted record (docs/crypto.md has the details):
 *
 *   header  = "PHRE" | version 0x01 | 3 zero bytes | chunk size (u32 BE)
 *             | secretstream header (24 bytes)                  -> 36 bytes
 *   chunks  = each chunk's plaintext is exactly `chunk size` bytes except the
 *             last one (0..chunk size bytes, tagged FINAL); a chunk is its
 *             plaintext + 17 bytes. The first 12 header bytes are the
 *             associated data of every chunk.
 *
 * Truncation (no FINAL chunk), extra bytes after FINAL, reordered, dropped,
 * duplicated or modified chunks, and a wrong key are all PHR_ERR_TAMPERED.
 */

#define PHR_CRYPTO_KEY_BYTES 32              /**< record data key */
#define PHR_CRYPTO_STREAM_HEADER_BYTES 36    /**< record header */
#define PHR_CRYPTO_STREAM_ABYTES 17          /**< overhead per chunk */
#define PHR_CRYPTO_CHUNK_DEFAULT 65536u      /**< default plaintext chunk size */
#define PHR_CRYPTO_CHUNK_MAX (16u << 20)     /**< largest chunk size accepted */

/**
 * Returns a fresh random 32-byte data key in secret memory (phr/secmem.h:
 * locked, not dumped; free with phr_crypto_key_free), or NULL when out of
 * memory.
 */
uint8_t *phr_crypto_key_new(void);

/** Wipes and frees a key from phr_crypto_key_new (NULL is a no-op). */
void phr_crypto_key_free(uint8_t *key);

/** Streaming state (opaque; lives in sodium_malloc memory). */
struct phr_crypto_stream;

/**
 * Starts encrypting one record.
 * @param[out] st         new state (free with phr_crypto_stream_free)
 * @param[out] header     the record header to write first
 * @param[in]  key        32-byte data key (copied; caller may wipe it after)
 * @param[in]  chunk_size plaintext bytes per chunk, 1..PHR_CRYPTO_CHUNK_MAX
 *                        (0 means PHR_CRYPTO_CHUNK_DEFAULT)
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_stream_push_init(struct phr_crypto_stream **st,
					uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES],
					const uint8_t key[PHR_CRYPTO_KEY_BYTES], uint32_t chunk_size);

/**
 * Encrypts one full, non-final chunk: @p in holds exactly the chunk size.
 * @param[out] out chunk size + PHR_CRYPTO_STREAM_ABYTES bytes
 * @return PHR_OK, PHR_ERR_INVALID (wrong length, stream already final) or
 *         PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_stream_push(struct phr_crypto_stream *st, uint8_t *out, const uint8_t *in,
				   size_t n);

/**
 * Encrypts the last chunk (0..chunk size bytes) and closes the stream.
 * @param[out] out n + PHR_CRYPTO_STREAM_ABYTES bytes
 * @return PHR_OK, PHR_ERR_INVALID or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_stream_push_final(struct phr_crypto_stream *st, uint8_t *out,
					 const uint8_t *in, size_t n);

/**
 * Starts decrypting a record from its header.
 * @param[out] chunk_size the chunk size recorded in the header (may be NULL);
 *             chunks to pull are chunk_size + ABYTES bytes, the last one may be
 *             shorter
 * @return PHR_OK, PHR_ERR_PARSE (not a phr record header), PHR_ERR_UNSUPPORTED
 *         (unknown version), PHR_ERR_NOMEM or PHR_ERR_TAMPERED.
 */
PHR_WUR int phr_crypto_stream_pull_init(struct phr_crypto_stream **st, uint32_t *chunk_size,
					const uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES],
					const uint8_t key[PHR_CRYPTO_KEY_BYTES]);

/**
 * Decrypts and authenticates one chunk of @p n bytes (ABYTES..chunk size +
 * ABYTES). A chunk shorter than a full one must be the final one.
 * @param[out] out     n - ABYTES bytes of plaintext (written only when the
 *                     chunk authenticates)
 * @param[out] out_len plaintext length
 * @param[out] final   set when this was the FINAL chunk; pulling after it fails
 * @return PHR_OK or PHR_ERR_TAMPERED (forged, reordered, wrong key, a short
 *         chunk that is not final, or pulling past FINAL).
 */
PHR_WUR int phr_crypto_stream_pull(struct phr_crypto_stream *st, uint8_t *out, size_t *out_len,
				   bool *final, const uint8_t *in, size_t n);

/** Wipes and frees a stream state (NULL is a no-op). */
void phr_crypto_stream_free(struct phr_crypto_stream *st);

/**
 * Encrypts everything in @p in into @p out as one record, in constant memory.
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_encrypt_file(FILE *out, FILE *in, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
				    uint32_t chunk_size);

/**
 * Decrypts the record in @p in into @p out, in constant memory. Chunks are
 * written as they authenticate, so on PHR_ERR_TAMPERED @p out already holds a
 * prefix that must be discarded: use phr_crypto_decrypt_path() for all-or-nothing.
 * @return PHR_OK, PHR_ERR_TAMPERED, PHR_ERR_PARSE, PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_crypto_decrypt_file(FILE *out, FILE *in, const uint8_t key[PHR_CRYPTO_KEY_BYTES]);

/** phr_crypto_encrypt_file() on file descriptors (neither is closed). */
PHR_WUR int phr_crypto_encrypt_fd(int out_fd, int in_fd, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
				  uint32_t chunk_size);

/** phr_crypto_decrypt_file() on file descriptors (neither is closed). */
PHR_WUR int phr_crypto_decrypt_fd(int out_fd, int in_fd, const uint8_t key[PHR_CRYPTO_KEY_BYTES]);

/**
 * Decrypts the file @p in_path into @p out_path all-or-nothing: the plaintext
 * goes to a temporary file (mode 0600) beside @p out_path that is renamed into
 * place only when the whole record authenticated, and removed otherwise.
 * @return as phr_crypto_decrypt_file().
 */
PHR_WUR int phr_crypto_decrypt_path(const char *out_path, const char *in_path,
				    const uint8_t key[PHR_CRYPTO_KEY_BYTES]);

/**
 * Encrypts a buffer as one record into @p out (initialised by the caller;
 * appended to).
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_encrypt_buf(struct phr_buf *out, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
				   const uint8_t *in, size_t n, uint32_t chunk_size);

/**
 * Decrypts a whole record held in memory into @p out (initialised by the
 * caller). On any error @p out is released: no unauthenticated plaintext is
 * ever handed back.
 * @return PHR_OK, PHR_ERR_TAMPERED, PHR_ERR_PARSE, PHR_ERR_UNSUPPORTED,
 *         PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_crypto_decrypt_buf(struct phr_buf *out, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
				   const uint8_t *in, size_t n);

/* ------------------------------------------------------------------------- */
/* Key wrapping to X25519 public keys (libsodium sealed boxes)               */
/* ------------------------------------------------------------------------- */

#define PHR_CRYPTO_BOX_PK_BYTES 32  /**< X25519 public key */
#define PHR_CRYPTO_BOX_SK_BYTES 32  /**< X25519 secret key */
/** A wrapped data key: ephemeral pk (32) + key (32) + MAC (16). */
#define PHR_CRYPTO_CAPSULE_BYTES 80

/**
 * Generates an X25519 key pair for receiving wrapped keys.
 * @param[out] sk 32 bytes; sodium_malloc memory recommended
 * @return PHR_OK or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_box_keypair(uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES],
				   uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES]);

/**
 * Derives the X25519 key pair deterministically from a 32-byte seed (e.g. one
 * derived from an account key), as crypto_box_seed_keypair does.
 * @return PHR_OK or PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_crypto_box_seed_keypair(uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES],
					uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES], const uint8_t seed[32]);

/**
 * Wraps a data key to @p recipient_pk (crypto_box_seal): only the holder of the
 * matching secret key can unwrap it; the sender stays anonymous.
 * @return PHR_OK or PHR_ERR_CRYPTO (e.g. an invalid public key).
 */
PHR_WUR int phr_crypto_key_wrap(uint8_t capsule[PHR_CRYPTO_CAPSULE_BYTES],
				const uint8_t recipient_pk[PHR_CRYPTO_BOX_PK_BYTES],
				const uint8_t key[PHR_CRYPTO_KEY_BYTES]);

/**
 * Unwraps a capsule with the recipient's key pair.
 * @param[out] key 32 bytes, untouched on error
 * @return PHR_OK or PHR_ERR_TAMPERED (modified capsule or not addressed to us).
 */
PHR_WUR int phr_crypto_key_unwrap(uint8_t key[PHR_CRYPTO_KEY_BYTES],
				  const uint8_t capsule[PHR_CRYPTO_CAPSULE_BYTES],
				  const uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES],
				  const uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES]);

/* ------------------------------------------------------------------------- */
/* Hash-based helpers                                                        */
/* ------------------------------------------------------------------------- */

/** HMAC-SHA-256 with a key of any length. */
void phr_crypto_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len,
			    const uint8_t *msg, size_t msg_len);
/** HMAC-SHA-512 with a key of any length. */
void phr_crypto_hmac_sha512(uint8_t out[64], const uint8_t *key, size_t key_len,
			    const uint8_t *msg, size_t msg_len);

/**
 * PBKDF2 (RFC 8018) with HMAC-SHA-256 or HMAC-SHA-512.
 * @param[in] sha512 false for HMAC-SHA-256, true for HMAC-SHA-512
 * @return PHR_OK or PHR_ERR_INVALID (zero iterations or out_len too large).
 */
PHR_WUR int phr_crypto_pbkdf2(uint8_t *out, size_t out_len, bool sha512, const uint8_t *pw,
			      size_t pw_len, const uint8_t *salt, size_t salt_len, uint32_t iterations);

/* ------------------------------------------------------------------------- */
/* Keystores: Web3 Secret Storage v3 (geth, ethers, MetaMask)                */
/* ------------------------------------------------------------------------- */

enum phr_keystore_kdf { PHR_KEYSTORE_SCRYPT = 0, PHR_KEYSTORE_PBKDF2 = 1 };

/** KDF parameters for new keystores. */
struct phr_keystore_params {
	enum phr_keystore_kdf kdf;
	uint32_t scrypt_n; /**< power of two; geth "standard" 262144, "light" 4096 */
	uint32_t scrypt_r; /**< 8 */
	uint32_t scrypt_p; /**< 1 */
	uint32_t pbkdf2_c; /**< iterations, e.g. 262144 */
};

/** geth's standard parameters: scrypt n=262144, r=8, p=1 (about 256 MiB, ~1 s). */
#define PHR_KEYSTORE_PARAMS_STANDARD { PHR_KEYSTORE_SCRYPT, 262144, 8, 1, 262144 }
/** geth's light parameters: scrypt n=4096, r=8, p=6 (fast; for tests). */
#define PHR_KEYSTORE_PARAMS_LIGHT { PHR_KEYSTORE_SCRYPT, 4096, 8, 6, 4096 }

/** Limits applied to keystores read from outside (work and memory caps). */
#define PHR_KEYSTORE_MAX_JSON (64u << 10)        /**< bytes of JSON */
#define PHR_KEYSTORE_MAX_SCRYPT_MEM (1ull << 30) /**< 128*r*n + 128*r*p bytes */
#define PHR_KEYSTORE_MAX_PBKDF2_C 10000000u      /**< iterations */

/** A parsed (still encrypted) keystore. */
struct phr_keystore {
	enum phr_keystore_kdf kdf;
	uint32_t scrypt_n, scrypt_r, scrypt_p; /**< scrypt parameters */
	uint32_t pbkdf2_c;                     /**< pbkdf2 iterations */
	uint32_t dklen;                        /**< derived key length, 32 */
	uint8_t salt[64];                      /**< KDF salt */
	size_t salt_len;                       /**< 1..64 */
	uint8_t iv[16];                        /**< AES-128-CTR counter block */
	uint8_t ciphertext[32];                /**< encrypted secret key */
	uint8_t mac[32];                       /**< keccak256(dk[16..32] || ciphertext) */
	bool has_address;                      /**< the optional "address" field */
	uint8_t address[PHR_ETH_ADDRESS_BYTES];
	char id[37];                           /**< "id" (UUID text), "" when absent */
};

/**
 * Parses keystore JSON without decrypting (cheap; safe on any input). Accepts
 * "crypto" or "Crypto", kdf "scrypt" or "pbkdf2" (prf "hmac-sha256"), cipher
 * "aes-128-ctr", version 3, an optional "address" (with or without 0x).
 * @param[out] ks untouched on error
 * @return PHR_OK, PHR_ERR_PARSE (not JSON / missing or mistyped fields),
 *         PHR_ERR_UNSUPPORTED (other version, kdf, prf, cipher, dklen != 32),
 *         PHR_ERR_TOO_LARGE (JSON or KDF cost beyond the limits above).
 */
PHR_WUR int phr_keystore_parse(struct phr_keystore *ks, const char *json, size_t len);

/**
 * Decrypts a parsed keystore.
 * @param[out] seckey 32 bytes; sodium_malloc memory recommended; untouched on error
 * @return PHR_OK, PHR_ERR_PASSWORD (MAC mismatch), PHR_ERR_INVALID (decrypted
 *         key not a valid secp256k1 key, or it does not match "address"),
 *         PHR_ERR_NOMEM, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_keystore_decrypt(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES],
				 const struct phr_keystore *ks, const char *password,
				 size_t password_len);

/** phr_keystore_parse() then phr_keystore_decrypt(). */
PHR_WUR int phr_keystore_decrypt_json(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *json,
				      size_t len, const char *password, size_t password_len);

/**
 * Encrypts @p seckey into a new v3 keystore (random salt, IV and UUID v4; the
 * "address" field is lower-case hex without 0x, as geth writes it).
 * @param[out] json   NUL-terminated JSON (free with phr_free); NULL on error
 * @param[in]  params NULL means PHR_KEYSTORE_PARAMS_STANDARD
 * @return PHR_OK, PHR_ERR_INVALID (bad key or parameters), PHR_ERR_NOMEM,
 *         PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_keystore_encrypt(char **json, const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES],
				 const char *password, size_t password_len,
				 const struct phr_keystore_params *params);

/* ------------------------------------------------------------------------- */
/* Shamir secret sharing over GF(256) (AES polynomial 0x11b)                 */
/* ------------------------------------------------------------------------- */

/** Bytes of one share of a @p len-byte secret: x coordinate + len bytes. */
#define PHR_SHAMIR_SHARE_BYTES(len) ((len) + 1)

/**
 * Splits @p secret into @p n shares, any @p t of which recover it.
 * Share i (0-based) is stored at shares + i * PHR_SHAMIR_SHARE_BYTES(len); its
 * first byte is its x coordinate (i + 1).
 * @param[out] shares n * (len + 1) bytes; secret material
 * @return PHR_OK, PHR_ERR_INVALID (not 2 <= t <= n <= 255, or len 0),
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shamir_split(uint8_t *shares, const uint8_t *secret, size_t len, unsigned t,
			     unsigned n);

/**
 * Recombines @p k shares (concatenated, each share_len = len + 1 bytes) into
 * the len-byte secret by Lagrange interpolation at x = 0. With fewer than t
 * shares the result is an unrelated value (that is the point of the scheme).
 * @param[out] secret share_len - 1 bytes
 * @return PHR_OK, or PHR_ERR_INVALID (k < 2, share_len < 2, an x of 0, or two
 *         shares with the same x).
 */
PHR_WUR int phr_shamir_combine(uint8_t *secret, const uint8_t *shares, size_t share_len, unsigned k);

/* ------------------------------------------------------------------------- */
/* TOTP (RFC 6238) / HOTP (RFC 4226)                                         */
/* ------------------------------------------------------------------------- */

enum phr_totp_alg { PHR_TOTP_SHA1 = 0, PHR_TOTP_SHA256 = 1, PHR_TOTP_SHA512 = 2 };

/**
 * HOTP value for @p counter: dynamic truncation, modulo 10^digits.
 * @return PHR_OK or PHR_ERR_INVALID (digits not 6..9, bad alg).
 */
PHR_WUR int phr_hotp(uint32_t *code, enum phr_totp_alg alg, const uint8_t *secret, size_t len,
		     uint64_t counter, unsigned digits);

/**
 * TOTP value at Unix time @p t: HOTP of floor(t / period).
 * @return PHR_OK or PHR_ERR_INVALID (period 0, digits not 6..9, bad alg).
 */
PHR_WUR int phr_totp(uint32_t *code, enum phr_totp_alg alg, const uint8_t *secret, size_t len,
		     uint64_t t, unsigned period, unsigned digits);

/**
 * Checks a user-typed code (exactly @p digits decimal digits) at time @p t,
 * accepting @p window steps (0..10) before and after; every step is computed
 * and compared in constant time, whether or not an earlier one matched.
 * Replay protection (refusing a code already used) is the caller's job.
 * @return PHR_OK, PHR_ERR_UNAUTHENTICATED (wrong code), PHR_ERR_PARSE (not
 *         digits / wrong length), PHR_ERR_INVALID (bad parameters, window > 10).
 */
PHR_WUR int phr_totp_verify(enum phr_totp_alg alg, const uint8_t *secret, size_t len, uint64_t t,
			    unsigned period, unsigned digits, unsigned window, const char *code);

/**
 * Encodes a TOTP secret in the form authenticator apps expect: RFC 4648
 * base32, upper-case, no padding.
 * @return PHR_OK or PHR_ERR_TOO_LARGE (out_cap < PHR_BASE32_LEN(len)).
 */
PHR_WUR int phr_totp_secret_encode(char *out, size_t out_cap, const uint8_t *secret, size_t len);

/**
 * Decodes a base32 TOTP secret as users paste it: upper or lower case, with or
 * without '=' padding, spaces and '-' ignored.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_totp_secret_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *s);

/**
 * Builds an otpauth://totp/ URI (the Google Authenticator key-uri format):
 * label "issuer:account", parameters secret, issuer, algorithm, digits, period,
 * all percent-encoded. Appended to @p out.
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_totp_uri(struct phr_buf *out, const char *issuer, const char *account,
			 const uint8_t *secret, size_t len, enum phr_totp_alg alg, unsigned digits,
			 unsigned period);

/* ------------------------------------------------------------------------- */
/* BIP-39 seeds and BIP-32 derivation of secp256k1 keys                      */
/* ------------------------------------------------------------------------- */

/** The usual Ethereum derivation path prefix; append the account index. */
#define PHR_BIP44_ETH_PREFIX "m/44'/60'/0'/0/"

/**
 * BIP-39 seed: PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" + passphrase, 2048).
 * The words are not checked against the wordlist; mnemonic and passphrase must
 * already be NFKD-normalised (plain ASCII always is).
 * @param[out] seed 64 bytes; secret
 * @param[in]  passphrase NULL means ""
 * @return PHR_OK, PHR_ERR_INVALID (empty mnemonic), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_bip39_seed(uint8_t seed[64], const char *mnemonic, const char *passphrase);

/**
 * BIP-32: derives the secp256k1 secret key at @p path ("m/44'/60'/0'/0/0";
 * hardened steps written with ' or h) from a seed of 16..64 bytes.
 * @param[out] seckey 32 bytes; untouched on error
 * @return PHR_OK, PHR_ERR_PARSE (bad path), PHR_ERR_INVALID (bad seed length,
 *         or a derived key that is invalid, probability < 2^-127).
 */
PHR_WUR int phr_bip32_derive(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const uint8_t *seed,
			     size_t seed_len, const char *path);

/**
 * Convenience for dev chains and wallets: the key of @p mnemonic (empty
 * passphrase) at m/44'/60'/0'/0/@p index.
 * @return as phr_bip39_seed() and phr_bip32_derive().
 */
PHR_WUR int phr_bip32_eth_key(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *mnemonic,
			      uint32_t index);

#ifdef __cplusplus
}
#endif
#endif /* PHR_CRYPTO_H */
