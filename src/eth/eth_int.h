/* Internals shared by the eth module's files. */
#ifndef PHR_ETH_INT_H
#define PHR_ETH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/**
 * Recovers the address behind signature r||s (@p rs) with recovery id
 * @p recid over @p hash, enforcing Ethereum's rules: r and s in 1..n-1 and
 * s <= n/2. @return PHR_OK or PHR_ERR_SIGNATURE.
 */
int phr_eth_recover_rs(uint8_t addr[20], const uint8_t hash[32], const uint8_t rs[64], int recid);

/** A JSON string "0x" + lower-case hex of @p n bytes, or NULL on allocation failure. */
struct json_t *phr_eth_json_hex(const uint8_t *d, size_t n);

/**
 * Decodes a JSON string "0x" + an even number of hex digits into a new buffer
 * (phr_free; one spare byte, never NULL on success).
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM.
 */
int phr_eth_json_unhex(uint8_t **out, size_t *n, const struct json_t *j);

#endif
