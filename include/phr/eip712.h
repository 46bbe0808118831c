/**
 * @file eip712.h
 * @brief Message signatures: EIP-191 personal_sign (version 0x45) and EIP-712
 *        typed structured data (module `eth`).
 *
 * Signatures are 65 bytes r || s || v with v = 27 or 28, the form wallets
 * (ethers, MetaMask, eth_sign / eth_signTypedData_v4) produce; recovery also
 * accepts v = 0 or 1, and rejects high-s signatures (s > n/2).
 *
 * Typed data is the standard JSON object {types, primaryType, domain,
 * message}. When types has no EIP712Domain entry, the domain type is derived
 * from the domain fields present (name, version, chainId, verifyingContract,
 * salt, in that order), as ethers does. Values: integers as JSON numbers or
 * decimal / 0x-hex strings; address, bytes and bytesN as 0x-hex strings
 * (mixed-case addresses must carry a valid EIP-55 checksum).
 *
 * Thread safety: no shared state beyond crypto.h's (call phr_crypto_init
 * once before signing or recovering).
 */
#ifndef PHR_EIP712_H
#define PHR_EIP712_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of an r || s || v signature. */
#define PHR_ETH_SIG_BYTES 65
/** Nesting limit for struct and array values in typed data. */
#define PHR_EIP712_MAX_DEPTH 32

/**
 * Signs a 32-byte hash as wallets do.
 * @param[out] sig r || s || v (v = 27 + recovery id); untouched on error
 * @return PHR_OK, PHR_ERR_INVALID (bad key), PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_eth_sign_hash(uint8_t sig[PHR_ETH_SIG_BYTES], const uint8_t hash[32],
			      const uint8_t seckey[32]);

/**
 * Recovers the address that signed @p hash.
 * @return PHR_OK or PHR_ERR_SIGNATURE (v not 0/1/27/28, r or s out of range,
 *         high s, no key recoverable).
 */
PHR_WUR int phr_eth_recover_hash(uint8_t addr[20], const uint8_t hash[32],
				 const uint8_t sig[PHR_ETH_SIG_BYTES]);

/** EIP-191 personal message hash: keccak256("\x19Ethereum Signed Message:\n" + len + msg). */
void phr_eip191_hash(uint8_t out[32], const void *msg, size_t n);

/** personal_sign: phr_eth_sign_hash of phr_eip191_hash(msg). @return as phr_eth_sign_hash. */
PHR_WUR int phr_eip191_sign(uint8_t sig[PHR_ETH_SIG_BYTES], const void *msg, size_t n,
			    const uint8_t seckey[32]);

/** Recovers the signer of a personal_sign signature. @return as phr_eth_recover_hash. */
PHR_WUR int phr_eip191_recover(uint8_t addr[20], const void *msg, size_t n,
			       const uint8_t sig[PHR_ETH_SIG_BYTES]);

/**
 * Appends encodeType(@p type): the type's own signature followed by those of
 * every struct type it references, sorted by name.
 * @param[in] types the "types" object of typed data
 * @return PHR_OK, PHR_ERR_INVALID (unknown type, malformed field list),
 *         PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_eip712_encode_type(struct phr_buf *out, const json_t *types, const char *type);

/**
 * hashStruct(@p type, @p data) = keccak256(typeHash || encodeData(data)).
 * @return PHR_OK, PHR_ERR_INVALID (unknown type, missing field, value not
 *         matching its type), PHR_ERR_TOO_LARGE (nesting), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_eip712_hash_struct(uint8_t out[32], const json_t *types, const char *type,
				   const json_t *data);

/** The domain separator hashStruct(EIP712Domain, domain). @return as phr_eip712_hash. */
PHR_WUR int phr_eip712_domain_separator(uint8_t out[32], const json_t *typed_data);

/**
 * The digest that is signed: keccak256(0x19 0x01 || domainSeparator ||
 * hashStruct(primaryType, message)) (just the first two parts when
 * primaryType is EIP712Domain).
 * @param[in] typed_data {types, primaryType, domain, message}
 * @return PHR_OK, PHR_ERR_INVALID (missing member or bad value),
 *         PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_eip712_hash(uint8_t out[32], const json_t *typed_data);

/** As phr_eip712_hash from JSON text. @return also PHR_ERR_PARSE for bad JSON. */
PHR_WUR int phr_eip712_hash_json(uint8_t out[32], const char *json, size_t len);

/** eth_signTypedData_v4: signs phr_eip712_hash(@p typed_data). */
PHR_WUR int phr_eip712_sign(uint8_t sig[PHR_ETH_SIG_BYTES], const json_t *typed_data,
			    const uint8_t seckey[32]);

/** Recovers the signer of typed data. @return as phr_eip712_hash / phr_eth_recover_hash. */
PHR_WUR int phr_eip712_recover(uint8_t addr[20], const json_t *typed_data,
			       const uint8_t sig[PHR_ETH_SIG_BYTES]);

#ifdef __cplusplus
}
#endif
#endif /* PHR_EIP712_H */
