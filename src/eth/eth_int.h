/* Internals shared by the eth module's files. */
#ifndef PHR_ETH_INT_H
#define PHR_ETH_INT_H

#include <stdint.h>

/**
 * Recovers the address behind signature r||s (@p rs) with recovery id
 * @p recid over @p hash, enforcing Ethereum's rules: r and s in 1..n-1 and
 * s <= n/2. @return PHR_OK or PHR_ERR_SIGNATURE.
 */
int phr_eth_recover_rs(uint8_t addr[20], const uint8_t hash[32], const uint8_t rs[64], int recid);

#endif
