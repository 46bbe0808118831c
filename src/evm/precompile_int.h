/*
 * Internals shared by the precompile files (src/evm/precompile*.c, bn254*.c).
 * Every runner returns an enum phr_precompile_status and, on PHR_PRECOMPILE_OK,
 * has appended its return data to @p out (already reset by the dispatcher).
 */
#ifndef PHR_PRECOMPILE_INT_H
#define PHR_PRECOMPILE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/precompile.h"

/* Copies in[off .. off+n) into dst, reading zero past the end of the input
 * (the EVM's implicit zero padding of call data). */
void phr_precompile_pad_read(uint8_t *dst, size_t n, const uint8_t *in, size_t in_len, size_t off);

/* Appends @p n bytes; maps an allocation failure to PHR_PRECOMPILE_INTERNAL_ERROR. */
int phr_precompile_emit(struct phr_buf *out, const void *data, size_t n);

/* 0x03: RIPEMD-160 of @p in into @p digest (20 bytes). */
void phr_precompile_ripemd160(uint8_t digest[20], const uint8_t *in, size_t n);

/* 0x05 modexp: price (saturated to INT64_MAX) and run. */
int64_t phr_precompile_modexp_gas(const uint8_t *in, size_t n);
int phr_precompile_modexp_run(struct phr_buf *out, const uint8_t *in, size_t n);

/* 0x09 blake2f: the EIP-152 F compression function and the call wrapper. */
void phr_precompile_blake2b_f(uint64_t h[8], const uint64_t m[16], const uint64_t t[2], int final,
			      uint32_t rounds);
int phr_precompile_blake2f_run(struct phr_buf *out, const uint8_t *in, size_t n);

/* 0x06, 0x07, 0x08: bn254 (alt_bn128) add, scalar multiplication and pairing check. */
int phr_precompile_bn254_add_run(struct phr_buf *out, const uint8_t *in, size_t n);
int phr_precompile_bn254_mul_run(struct phr_buf *out, const uint8_t *in, size_t n);
int phr_precompile_bn254_pairing_run(struct phr_buf *out, const uint8_t *in, size_t n);

/* 0x0a: EIP-4844 point evaluation (BLS12-381 KZG proof check). */
int phr_precompile_kzg_point_eval_run(struct phr_buf *out, const uint8_t *in, size_t n);

#endif
