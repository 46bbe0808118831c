/*
 * phr EVM precompiled contracts 0x01..0x0a (Cancun rules).
 *
 * Pure functions: no state, no allocation beyond the caller's output buffer
 * and short-lived scratch memory, safe to call from any thread.
 */
#ifndef PHR_PRECOMPILE_H
#define PHR_PRECOMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Highest precompile address in Cancun (0x0a, KZG point evaluation). */
#define PHR_PRECOMPILE_LAST 0x0a

/** Result of one precompile call. */
enum phr_precompile_status {
	/** Success: @c output holds the return data, @c gas_used the cost. */
	PHR_PRECOMPILE_OK = 0,
	/** gas_limit below the price: the call consumes all of gas_limit. */
	PHR_PRECOMPILE_OUT_OF_GAS,
	/** Invalid input (bad curve point, bad blake2f length/flag...): the call
	 *  fails exactly like an exceptional halt and consumes all of gas_limit. */
	PHR_PRECOMPILE_FAILURE,
	/** Recognised but not implemented. No Cancun precompile returns it any more
	 *  (0x0a point evaluation is implemented); kept so callers stay correct if a
	 *  later fork adds one. Treat as PHR_PRECOMPILE_FAILURE: consumes all of gas_limit. */
	PHR_PRECOMPILE_UNSUPPORTED,
	/** Not a consensus result: memory could not be allocated for the output
	 *  (or @p addr is not a precompile). The caller should abort the whole
	 *  transaction/block processing rather than record a result. */
	PHR_PRECOMPILE_INTERNAL_ERROR,
};

/**
 * Is @p addr a precompile under Cancun rules (0x00..00 01 through 0x00..00 0a)?
 *
 * @param[in] addr 20-byte address.
 * @return true for 0x01..0x0a, false otherwise (0x00 included).
 */
bool phr_precompile_is(const uint8_t addr[20]);

/**
 * Price of a call to precompile @p addr with this input, without running it,
 * so a caller can charge before running.
 *
 * For inputs that are invalid in a way the price does not depend on (blake2f
 * with a length other than 213, pairing with a length not a multiple of 192)
 * the price is the formula's value (0 for a blake2f length error); running will
 * fail anyway and consume all gas.
 *
 * @param[in] addr      20-byte address; must satisfy phr_precompile_is().
 * @param[in] input     call data (may be NULL when @p input_len is 0).
 * @param[in] input_len its length.
 * @return the gas cost, saturated to INT64_MAX (modexp with huge lengths);
 *         -1 if @p addr is not a precompile.
 */
int64_t phr_precompile_gas(const uint8_t addr[20], const uint8_t *input, size_t input_len);

/**
 * Runs precompile @p addr on @p input with at most @p gas_limit gas.
 *
 * @param[in]  addr      20-byte address; should satisfy phr_precompile_is().
 * @param[in]  input     call data (may be NULL when @p input_len is 0); not retained.
 * @param[in]  input_len its length.
 * @param[in]  gas_limit gas available to the call (negative is treated as 0).
 * @param[out] output    reset, then filled with the return data on
 *                       PHR_PRECOMPILE_OK; left empty on every other status.
 *                       The caller owns it (phr_buf_init before, phr_buf_release after).
 * @param[out] gas_used  gas consumed: the price on OK; all of @p gas_limit on
 *                       OUT_OF_GAS, FAILURE and UNSUPPORTED; 0 on INTERNAL_ERROR.
 * @return an enum phr_precompile_status value.
 */
PHR_WUR int phr_precompile_run(const uint8_t addr[20], const uint8_t *input, size_t input_len,
			       int64_t gas_limit, struct phr_buf *output, int64_t *gas_used);

/** @return a static lowercase name for precompile @p addr ("ecrecover", "sha256",
 *  "ripemd160", "identity", "modexp", "bn254_add", "bn254_mul", "bn254_pairing",
 *  "blake2f", "point_evaluation"), or NULL if it is not a precompile. */
const char *phr_precompile_name(const uint8_t addr[20]);

#ifdef __cplusplus
}
#endif

#endif
