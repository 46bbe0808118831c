/**
 * @file api_tx.h
 * @brief The node's transaction relay (POST /api/v1/tx, module `api`): a
 *        client that keeps its key in its own keystore signs a transaction
 *        locally and hands the signed bytes to the node, which checks them
 *        and forwards them with eth_sendRawTransaction. The node never sees a
 *        key. docs/api.md describes the route.
 *
 * The checks (phr_api_tx_check) are pure, so they are fuzzed
 * (fuzz/api_tx.c): the transaction decodes canonically, carries the
 * deployment's chain id (EIP-155 or typed), its signature recovers to the
 * signed-in caller, it calls one of the deployment's contracts (any address
 * of phr_deployment_json but the governance key; no contract creation, no
 * value), its gas limit is at most PHR_API_TX_MAX_GAS, and it
 * is at most PHR_API_TX_MAX_BYTES long. It also says whether the call is a
 * sensitive action that needs the caller's second factor (an Admin grant,
 * rotateOwner, opening a break-glass session; any Recovery call once the
 * caller has enrolled one).
 */
#ifndef PHR_API_TX_H
#define PHR_API_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest signed transaction the relay accepts (bytes). */
#define PHR_API_TX_MAX_BYTES ((size_t)128 << 10)
/** Largest gas limit the relay accepts. */
#define PHR_API_TX_MAX_GAS 30000000u

/** What phr_api_tx_check learnt about an acceptable transaction. */
struct phr_api_tx_info {
	uint8_t hash[32];    /**< the transaction hash */
	uint8_t from[20];    /**< the recovered sender (== the caller) */
	uint8_t to[20];      /**< the deployment contract it calls */
	uint32_t selector;   /**< the first 4 bytes of the call data (0 when shorter) */
	bool needs_totp;     /**< a sensitive action: the relay asks for X-PHR-TOTP */
	bool totp_if_enrolled; /**< a Recovery call: X-PHR-TOTP once the caller has a second factor */
};

/**
 * Checks a signed transaction for the relay (no I/O, no chain access).
 * @param[out] info    filled on success
 * @param[in]  d       the node's deployment (chain id, contract addresses); borrowed
 * @param[in]  caller  the signed-in address the transaction must come from
 * @param[in]  raw     the signed transaction (legacy RLP or EIP-2718 typed)
 * @param[in]  n       its length
 * @return PHR_OK; PHR_ERR_PARSE (not a canonical transaction), PHR_ERR_TOO_LARGE
 *         (over PHR_API_TX_MAX_BYTES), PHR_ERR_INVALID (chain id, value, gas
 *         limit, contract creation, intrinsic gas, fees), PHR_ERR_SIGNATURE,
 *         PHR_ERR_UNSUPPORTED (blob transaction), PHR_ERR_FORBIDDEN (signed by
 *         another address than @p caller, or calls a contract outside the
 *         deployment).
 */
PHR_WUR int phr_api_tx_check(struct phr_api_tx_info *info, const struct phr_deployment *d,
			     const uint8_t caller[20], const uint8_t *raw, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* PHR_API_TX_H */
