/**
 * @file shc.h
 * @brief SMART Health Cards (module `shc`): ES256 issuer keys on P-256, JWK
 *        thumbprints (RFC 7638), JWS compact serialisation with raw-DEFLATE
 *        payloads, JWKS publication, minimised FHIR Bundles, the
 *        `.smart-health-card` file, `shc:/` numeric QR content and QR codes
 *        rendered as PNG or SVG, and card verification (signature, issuer key,
 *        nbf/exp, revocation lists by rid).
 *
 * Keys: a private scalar lives in sodium_malloc memory and is wiped when the
 * key is freed; nonces come from libsodium's randombytes. Call
 * phr_crypto_init() (or sodium_init()) once before generating keys or signing.
 *
 * JSON values are jansson's json_t; functions that return one hand out a new
 * reference (json_decref it). Text outputs go to a caller-owned struct
 * phr_buf and are appended to it. All functions are reentrant; a key may be
 * shared between threads for signing and verifying.
 */
#ifndef PHR_SHC_H
#define PHR_SHC_H

#include <jansson.h>
#include <phr/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a key id / JWK thumbprint string: 43 base64url characters and a NUL. */
#define PHR_SHC_KID_BYTES 44
/** Raw ES256 signature: R || S, 32 bytes each. */
#define PHR_SHC_SIG_BYTES 64
/** Longest JWS that fits one QR code (version 22, error correction L). */
#define PHR_SHC_QR_MAX_JWS 1195
/** Largest JWS or inflated payload accepted when verifying (bytes). */
#define PHR_SHC_MAX_INPUT ((size_t)1 << 20)

/** The vc.type every SMART Health Card carries. */
#define PHR_SHC_TYPE_HEALTH_CARD "https://smarthealth.cards#health-card"
/** The vc.type of an immunization card. */
#define PHR_SHC_TYPE_IMMUNIZATION "https://smarthealth.cards#immunization"

/** An ES256 (ECDSA P-256 with SHA-256) key, public or private. Opaque. */
struct phr_shc_key;

/**
 * Generates a new P-256 private key from libsodium's random generator.
 * @param[out] out new key (phr_shc_key_free)
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_shc_key_generate(struct phr_shc_key **out);

/**
 * Reads a key from a JWK object: kty "EC", crv "P-256", x and y (and d for a
 * private key; the public point must match d). Other members are ignored.
 * @param[out] out new key (phr_shc_key_free)
 * @return PHR_OK, PHR_ERR_INVALID (missing/wrong members, point not on the
 *         curve, d out of range or not matching), PHR_ERR_UNSUPPORTED (other
 *         kty or crv), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shc_key_from_jwk(struct phr_shc_key **out, const json_t *jwk);

/** Wipes and frees a key; NULL is a no-op. */
void phr_shc_key_free(struct phr_shc_key *k);

/** @return true when @p k holds a private scalar. */
bool phr_shc_key_has_private(const struct phr_shc_key *k);

/** @return the key id (RFC 7638 thumbprint), valid as long as @p k. */
const char *phr_shc_key_kid(const struct phr_shc_key *k);

/**
 * The key as a JWK: kty, crv, x, y, kid, use "sig", alg "ES256", and d when
 * @p with_private is true (the private JWK is for key files only).
 * @param[out] out new reference
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_STATE (@p with_private on a public key).
 */
PHR_WUR int phr_shc_key_to_jwk(json_t **out, const struct phr_shc_key *k, bool with_private);

/**
 * A JWKS document {"keys":[...]} with the public JWKs of @p keys, as served
 * at /.well-known/jwks.json.
 * @return PHR_OK, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shc_jwks_build(json_t **out, const struct phr_shc_key *const *keys, size_t n);

/**
 * RFC 7638 JWK thumbprint: base64url of SHA-256 over the JWK's required
 * members (EC: crv, kty, x, y; RSA: e, kty, n; oct: k, kty) in lexicographic
 * order, without whitespace.
 * @param[out] kid the thumbprint, NUL-terminated
 * @return PHR_OK, PHR_ERR_INVALID (a required member missing or not a
 *         string), PHR_ERR_UNSUPPORTED (other kty).
 */
PHR_WUR int phr_shc_jwk_thumbprint(char kid[PHR_SHC_KID_BYTES], const json_t *jwk);

/**
 * ES256 signature of @p msg: SHA-256, ECDSA with a fresh random nonce, raw R||S.
 * @return PHR_OK, PHR_ERR_STATE (public key only), PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_shc_es256_sign(uint8_t sig[PHR_SHC_SIG_BYTES], const struct phr_shc_key *k,
			       const uint8_t *msg, size_t len);

/**
 * Verifies a raw R||S ES256 signature of @p msg.
 * @return PHR_OK or PHR_ERR_SIGNATURE.
 */
PHR_WUR int phr_shc_es256_verify(const struct phr_shc_key *k, const uint8_t sig[PHR_SHC_SIG_BYTES],
				 const uint8_t *msg, size_t len);

/**
 * Signs @p payload as a SMART Health Card JWS: header
 * {"alg":"ES256","zip":"DEF","kid":<thumbprint>}, payload minified (compact
 * JSON, keys in insertion order) then raw DEFLATE, signature raw R||S; all
 * three base64url without padding.
 * @param[out] out the compact JWS is appended
 * @return PHR_OK, PHR_ERR_STATE (public key), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_shc_jws_sign(struct phr_buf *out, const struct phr_shc_key *k, const json_t *payload);

/**
 * Splits and decodes a JWS without checking its signature: the header must be
 * a JSON object with alg "ES256", zip "DEF" and a string kid; the payload is
 * inflated (at most PHR_SHC_MAX_INPUT bytes) and parsed.
 * @param[out] header  new reference, or NULL to skip
 * @param[out] payload new reference, or NULL to skip
 * @param[out] sig     the 64-byte signature, or NULL to skip
 * @return PHR_OK, PHR_ERR_PARSE (not three base64url parts, bad JSON, bad
 *         DEFLATE), PHR_ERR_UNSUPPORTED (other alg/zip, crit), PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_shc_jws_decode(json_t **header, json_t **payload, uint8_t sig[PHR_SHC_SIG_BYTES],
			       const char *jws, size_t len);

/**
 * Minimises FHIR resources into a SMART Health Card Bundle (type
 * "collection"): entry i gets fullUrl "resource:i"; references to
 * "<type>/<id>" of an input resource (relative, or an absolute URL ending in
 * "/<type>/<id>") become "resource:i"; Resource.id, Resource.meta (but
 * meta.security), text
 * (DomainResource.text, CodeableConcept.text) and Coding.display are removed.
 * The input resources are not modified.
 * @param[out] out new Bundle
 * @param[in]  resources e.g. a Patient then Immunizations
 * @return PHR_OK, PHR_ERR_INVALID (not an object with resourceType), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shc_bundle_minimise(json_t **out, const json_t *const *resources, size_t n);

/** What goes into a card besides the Bundle. */
struct phr_shc_issue_opts {
	const char *iss;      /**< issuer base URL (required; no trailing slash) */
	int64_t nbf;          /**< issuance time, seconds since the epoch */
	int64_t exp;          /**< expiry, seconds since the epoch; 0 for none */
	const char *rid;      /**< revocation id (base64url, <= 24 chars) or NULL */
	const char *const *types; /**< extra vc.type entries, NULL-terminated, or NULL
				       (defaults to the immunization type) */
};

/**
 * Builds the JWT payload {iss, nbf, [exp], vc:{type, credentialSubject:
 * {fhirVersion "4.0.1", fhirBundle}, [rid]}} and signs it with
 * phr_shc_jws_sign().
 * @param[out] jws the compact JWS is appended
 * @param[in]  bundle a (minimised) Bundle
 * @return PHR_OK, PHR_ERR_INVALID (bad options or bundle), others as phr_shc_jws_sign.
 */
PHR_WUR int phr_shc_card_issue(struct phr_buf *jws, const struct phr_shc_key *k,
			       const struct phr_shc_issue_opts *opts, const json_t *bundle);

/** How a card is verified. */
struct phr_shc_verify_opts {
	const json_t *jwks;  /**< the issuer's JWKS {"keys":[...]} (required) */
	const json_t *crl;   /**< a CRL {kid, method:"rid", ctr, rids}, an array of
				  them, or NULL for no revocation check */
	int64_t now;         /**< verification time (seconds); 0 means time(NULL) */
	const char *iss;     /**< expected issuer, or NULL to accept any */
};

/**
 * Verifies a SMART Health Card JWS: decoding as phr_shc_jws_decode(), the key
 * found by kid in the JWKS (an EC P-256 key whose thumbprint is the kid), the
 * signature, payload structure (iss, nbf, vc.type with the health-card type,
 * vc.credentialSubject.fhirBundle), nbf <= now, exp > now, the issuer, and
 * revocation: a card whose vc.rid is listed in the CRL for its kid is revoked
 * (an entry "rid.T" revokes the cards with nbf at or before T).
 * @param[out] payload new reference to the payload on success; may be NULL
 * @param[out] reason  why verification failed ("" on success); may be NULL
 * @return PHR_OK; PHR_ERR_PARSE, PHR_ERR_UNSUPPORTED, PHR_ERR_TOO_LARGE
 *         (malformed); PHR_ERR_NOT_FOUND (no key with that kid);
 *         PHR_ERR_SIGNATURE (bad signature); PHR_ERR_INVALID (payload
 *         structure, issuer mismatch); PHR_ERR_STATE (not yet valid);
 *         PHR_ERR_EXPIRED; PHR_ERR_FORBIDDEN (revoked); PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shc_card_verify(json_t **payload, char *reason, size_t reason_cap, const char *jws,
				size_t len, const struct phr_shc_verify_opts *opts);

/**
 * Appends a `.smart-health-card` file: {"verifiableCredential":[jws...]}.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_shc_file_encode(struct phr_buf *out, const char *const *jws, size_t n);

/**
 * Parses a `.smart-health-card` file.
 * @param[out] vcs new reference to the verifiableCredential array (strings)
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_INVALID (missing or non-string entries).
 */
PHR_WUR int phr_shc_file_parse(json_t **vcs, const char *text, size_t len);

/**
 * `shc:/` numeric QR content: each JWS character c becomes two digits, c - 45.
 * A JWS longer than PHR_SHC_QR_MAX_JWS is split into N balanced chunks
 * "shc:/i/N/<digits>" (the spec's chunking). Chunks are appended to @p out
 * separated by '\n' (no final newline).
 * @param[out] chunks number of chunks written
 * @return PHR_OK, PHR_ERR_INVALID (a character outside '-'..'z'), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_shc_numeric_encode(struct phr_buf *out, size_t *chunks, const char *jws, size_t len);

/**
 * Decodes `shc:/` QR content back to the JWS: one unchunked "shc:/<digits>",
 * or all N chunks "shc:/i/N/<digits>" in any order.
 * @param[out] jws the JWS is appended
 * @return PHR_OK, PHR_ERR_PARSE (bad prefix, odd length, pair above 77,
 *         missing/duplicate chunk), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_shc_numeric_decode(struct phr_buf *jws, const char *const *qr, size_t n);

/** Output formats of phr_shc_qr_render(). */
enum phr_shc_qr_format { PHR_SHC_QR_PNG, PHR_SHC_QR_SVG };

/**
 * Renders one `shc:/` chunk as a QR code: a byte-mode segment "shc:/" (with
 * the chunk prefix) and a numeric-mode segment for the digits, error
 * correction L, a 4-module quiet zone; PNG (8-bit grey) or SVG.
 * @param[out] out  the image is appended
 * @param[in]  scale pixels per module for PNG (1..64); ignored for SVG
 * @return PHR_OK, PHR_ERR_PARSE (not `shc:/` content), PHR_ERR_TOO_LARGE
 *         (does not fit a QR code), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_shc_qr_render(struct phr_buf *out, const char *qr, size_t len, enum phr_shc_qr_format fmt,
			      unsigned scale);

/** Base64url (RFC 4648 §5, no padding) of @p n bytes, appended to @p out. @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_shc_b64url_encode(struct phr_buf *out, const uint8_t *in, size_t n);

/**
 * Strict base64url decoding: no padding, no other characters, zero unused
 * bits. @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_shc_b64url_decode(struct phr_buf *out, const char *in, size_t len);

#ifdef __cplusplus
}
#endif
#endif
