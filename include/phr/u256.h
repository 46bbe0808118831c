/**
 * @file u256.h
 * @brief 256-bit unsigned and two's-complement signed integers with every EVM
 *        arithmetic operation (module `eth`).
 *
 * Representation: four 64-bit limbs, least significant first (w[0] is the low
 * limb). Values are plain structs passed by pointer; results may alias inputs.
 * All operations are total (EVM semantics): division by zero yields zero,
 * shifts of 256 or more yield zero (or all ones for an arithmetic shift of a
 * negative value). Nothing here allocates or fails.
 */
#ifndef PHR_U256_H
#define PHR_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A 256-bit word. w[0] is the least significant limb. */
struct phr_u256 {
	uint64_t w[4];
};

/** Zero-initialiser. */
#define PHR_U256_ZERO ((struct phr_u256){ { 0, 0, 0, 0 } })

/** @return the value @p v. */
struct phr_u256 phr_u256_from_u64(uint64_t v);
/** @return whether @p a fits in 64 bits. */
bool phr_u256_fits_u64(const struct phr_u256 *a);
/** @return whether @p a is zero. */
bool phr_u256_is_zero(const struct phr_u256 *a);
/** @return whether a == b. */
bool phr_u256_eq(const struct phr_u256 *a, const struct phr_u256 *b);
/** Unsigned compare: -1, 0 or 1. */
int phr_u256_cmp(const struct phr_u256 *a, const struct phr_u256 *b);
/** Signed (two's complement) compare: -1, 0 or 1. */
int phr_u256_scmp(const struct phr_u256 *a, const struct phr_u256 *b);
/** @return true when the top bit is set. */
bool phr_u256_is_neg(const struct phr_u256 *a);
/** @return the number of significant bits (0 for zero). */
unsigned phr_u256_bits(const struct phr_u256 *a);
/** @return the number of significant bytes (0 for zero). */
unsigned phr_u256_bytes(const struct phr_u256 *a);

/** Big-endian 32 bytes to u256. */
void phr_u256_from_be(struct phr_u256 *r, const uint8_t in[32]);
/** Big-endian bytes of any length up to 32 (shorter inputs are left-padded). */
void phr_u256_from_be_n(struct phr_u256 *r, const uint8_t *in, size_t n);
/** u256 to big-endian 32 bytes. */
void phr_u256_to_be(uint8_t out[32], const struct phr_u256 *a);

/** r = a + b mod 2^256; @return the carry out. */
bool phr_u256_add(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** r = a - b mod 2^256; @return the borrow out. */
bool phr_u256_sub(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** r = a * b mod 2^256. */
void phr_u256_mul(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** r = a / b (0 when b is 0). */
void phr_u256_div(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** r = a mod b (0 when b is 0). */
void phr_u256_mod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** q = a / b and rem = a mod b in one pass (both 0 when b is 0); q or rem may be NULL. */
void phr_u256_divmod(struct phr_u256 *q, struct phr_u256 *rem, const struct phr_u256 *a,
		     const struct phr_u256 *b);
/** Signed division, EVM SDIV (0 when b is 0; -2^255 / -1 = -2^255). */
void phr_u256_sdiv(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** Signed modulo, EVM SMOD (sign of a; 0 when b is 0). */
void phr_u256_smod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
/** r = (a + b) mod m with a 257-bit intermediate (0 when m is 0). */
void phr_u256_addmod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b,
		     const struct phr_u256 *m);
/** r = (a * b) mod m with a 512-bit intermediate (0 when m is 0). */
void phr_u256_mulmod(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b,
		     const struct phr_u256 *m);
/** r = a ** e mod 2^256. */
void phr_u256_exp(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *e);
/** EVM SIGNEXTEND: extend the sign of byte @p b (0 = lowest) of @p x. */
void phr_u256_signextend(struct phr_u256 *r, const struct phr_u256 *b, const struct phr_u256 *x);
/** EVM BYTE: byte @p i (0 = most significant) of @p x, 0 if i >= 32. */
void phr_u256_byte(struct phr_u256 *r, const struct phr_u256 *i, const struct phr_u256 *x);

/** r = a << n (0 when n >= 256). */
void phr_u256_shl(struct phr_u256 *r, const struct phr_u256 *a, unsigned n);
/** r = a >> n logical (0 when n >= 256). */
void phr_u256_shr(struct phr_u256 *r, const struct phr_u256 *a, unsigned n);
/** r = a >> n arithmetic (sign fill; n >= 256 gives 0 or all ones). */
void phr_u256_sar(struct phr_u256 *r, const struct phr_u256 *a, unsigned n);
/** EVM SHL/SHR/SAR with a 256-bit shift amount. */
void phr_u256_shl_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a);
void phr_u256_shr_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a);
void phr_u256_sar_u256(struct phr_u256 *r, const struct phr_u256 *shift, const struct phr_u256 *a);

void phr_u256_and(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
void phr_u256_or(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
void phr_u256_xor(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b);
void phr_u256_not(struct phr_u256 *r, const struct phr_u256 *a);
/** r = -a (two's complement). */
void phr_u256_neg(struct phr_u256 *r, const struct phr_u256 *a);

/** Characters for a decimal string of a u256 with NUL. */
#define PHR_U256_DEC_LEN 79
/** Writes @p a in decimal. @param[out] out at least PHR_U256_DEC_LEN chars. */
void phr_u256_to_dec(char out[PHR_U256_DEC_LEN], const struct phr_u256 *a);
/**
 * Parses decimal or 0x-prefixed hex (leading zeros allowed, no sign, at most
 * 256 bits). @return 0 on success, -1 on bad syntax or overflow.
 */
int phr_u256_parse(struct phr_u256 *r, const char *s);
/** Writes "0x" + minimal hex ("0x0" for zero) as JSON-RPC quantities want. */
void phr_u256_to_quantity(char out[67], const struct phr_u256 *a);

#ifdef __cplusplus
}
#endif
#endif
