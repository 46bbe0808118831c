/*
 * Internals shared by the files of the crypto module.
 */
#ifndef PHR_CRYPTO_INT_H
#define PHR_CRYPTO_INT_H

#include <secp256k1.h>

#include "phr/crypto.h"

/** The process-wide libsecp256k1 context (created on first use, randomised). */
const secp256k1_context *phr_crypto_secp_ctx(void);

/** Constant-time "is a < b" on 32-byte big-endian numbers. */
bool phr_crypto_be32_lt(const uint8_t a[32], const uint8_t b[32]);

/** Writes a random RFC 4122 version 4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). */
void phr_crypto_uuid4(char out[37]);

#endif
