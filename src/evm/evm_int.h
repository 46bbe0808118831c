/*
 * Internals of the EVM interpreter shared by interp.c and the opcode group
 * files (ops_*.c). Not a public header.
 *
 * Conventions:
 *  - the stack grows upwards; f->sp points one past the top item, so the top
 *    is f->sp[-1]. The interpreter loop has already checked, from the opcode
 *    table, that the instruction's inputs exist and that its outputs fit, and
 *    has already charged the table's static gas;
 *  - an op function returns PHR_EVM_SUCCESS to continue, or the status that
 *    ends the frame (out of gas, static violation...). Halting successfully
 *    (STOP, RETURN, SELFDESTRUCT) sets f->halted and returns PHR_EVM_SUCCESS;
 *    REVERT returns PHR_EVM_REVERT.
 */
#ifndef PHR_EVM_INT_H
#define PHR_EVM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "phr/evm.h"
#include "phr/u256.h"

#include "opcodes.h"

/* Gas constants, with their source. */
#define GAS_MEMORY_WORD 3	  /* yellow paper G_memory */
#define GAS_COPY_WORD 3		  /* G_copy: *COPY per word */
#define GAS_KECCAK_WORD 6	  /* G_keccak256word */
#define GAS_EXP_BYTE 50		  /* EIP-160 */
#define GAS_LOG_TOPIC 375	  /* G_logtopic */
#define GAS_LOG_DATA 8		  /* G_logdata per byte */
#define GAS_WARM_ACCESS 100	  /* EIP-2929 WARM_STORAGE_READ_COST */
#define GAS_COLD_ACCOUNT 2600	  /* EIP-2929 COLD_ACCOUNT_ACCESS_COST */
#define GAS_COLD_SLOAD 2100	  /* EIP-2929 COLD_SLOAD_COST */
#define GAS_SSTORE_SET 20000	  /* EIP-2200 SSTORE_SET_GAS */
#define GAS_SSTORE_RESET 5000	  /* EIP-2200 SSTORE_RESET_GAS (minus cold: 2900) */
#define GAS_SSTORE_SENTRY 2300	  /* EIP-2200: SSTORE fails when gas left <= this */
#define REFUND_SSTORE_CLEARS 4800 /* EIP-3529 SSTORE_CLEARS_SCHEDULE */
#define GAS_CALL_VALUE 9000	  /* G_callvalue */
#define GAS_NEW_ACCOUNT 25000	  /* G_newaccount */
#define GAS_SELFDESTRUCT 5000	  /* EIP-150 */
#define GAS_INITCODE_WORD 2	  /* EIP-3860 */
#define BLOCKHASH_WINDOW 256

/** One call frame. Allocated once per phr_evm_execute (no allocation per opcode). */
struct evm_frame {
	struct phr_u256 *sp;
	int64_t gas_left;
	int64_t gas_refund;
	bool halted;

	const struct phr_evm_host *host;
	void *ctx;
	const struct phr_evm_message *msg;
	const uint8_t *code;
	size_t code_len;
	size_t pc;
	/* JUMPDEST bitmap, one bit per code byte, built on the first jump. */
	uint8_t *jumpdests;

	/* Memory: mem_size is a multiple of 32 (MSIZE); mem_cap >= mem_size. */
	uint8_t *mem;
	size_t mem_size;
	size_t mem_cap;

	/* The return data buffer (EIP-211): the last child's output. */
	struct phr_evm_result child;

	/* RETURN/REVERT area, valid once halted. */
	size_t out_off;
	size_t out_size;

	struct phr_evm_tx_context txc;
	bool txc_loaded;

	struct phr_u256 stack[PHR_EVM_STACK_LIMIT];
};

/* --- hot-path word helpers (inline; the general code is include/phr/u256.h) --- */

/* 128-bit halves for add/sub/mul (a GNU C extension gcc and clang share). */
__extension__ typedef unsigned __int128 evm_u128;

/** r = a + b mod 2^256 (r may alias). */
static inline void evm_add(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	evm_u128 alo = (evm_u128)a->w[1] << 64 | a->w[0], blo = (evm_u128)b->w[1] << 64 | b->w[0];
	evm_u128 ahi = (evm_u128)a->w[3] << 64 | a->w[2], bhi = (evm_u128)b->w[3] << 64 | b->w[2];
	evm_u128 lo = alo + blo;
	evm_u128 hi = ahi + bhi + (lo < alo);
	r->w[0] = (uint64_t)lo;
	r->w[1] = (uint64_t)(lo >> 64);
	r->w[2] = (uint64_t)hi;
	r->w[3] = (uint64_t)(hi >> 64);
}

/** r = a - b mod 2^256 (r may alias). */
static inline void evm_sub(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	evm_u128 alo = (evm_u128)a->w[1] << 64 | a->w[0], blo = (evm_u128)b->w[1] << 64 | b->w[0];
	evm_u128 ahi = (evm_u128)a->w[3] << 64 | a->w[2], bhi = (evm_u128)b->w[3] << 64 | b->w[2];
	evm_u128 lo = alo - blo;
	evm_u128 hi = ahi - bhi - (alo < blo);
	r->w[0] = (uint64_t)lo;
	r->w[1] = (uint64_t)(lo >> 64);
	r->w[2] = (uint64_t)hi;
	r->w[3] = (uint64_t)(hi >> 64);
}

/** a < b, unsigned. */
static inline bool evm_lt(const struct phr_u256 *a, const struct phr_u256 *b)
{
	for (int i = 3; i > 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i];
	return a->w[0] < b->w[0];
}

/** a < b, two's complement. */
static inline bool evm_slt(const struct phr_u256 *a, const struct phr_u256 *b)
{
	bool na = a->w[3] >> 63, nb = b->w[3] >> 63;
	return na != nb ? na : evm_lt(a, b);
}

/** Is @p a a two's-complement value in int64 range? Then *v holds it. */
static inline bool evm_small_signed(const struct phr_u256 *a, int64_t *v)
{
	uint64_t ext = (uint64_t)0 - (a->w[0] >> 63); /* sign extension of the low limb */
	if (a->w[1] != ext || a->w[2] != ext || a->w[3] != ext)
		return false;
	*v = (int64_t)a->w[0];
	return true;
}

/** r = v, sign-extended to 256 bits. */
static inline void evm_set_signed(struct phr_u256 *r, int64_t v)
{
	uint64_t ext = v < 0 ? ~(uint64_t)0 : 0;
	r->w[0] = (uint64_t)v;
	r->w[1] = r->w[2] = r->w[3] = ext;
}

/** r = (a + b) mod m for a, b < m (so the sum is below 2m). */
static inline void evm_addmod_reduced(struct phr_u256 *r, const struct phr_u256 *a,
				      const struct phr_u256 *b, const struct phr_u256 *m)
{
	struct phr_u256 s, d;
	evm_add(&s, a, b);
	bool carry = evm_lt(&s, a); /* the sum wrapped past 2^256 */
	if (carry || !evm_lt(&s, m)) {
		evm_sub(&d, &s, m);
		s = d;
	}
	*r = s;
}

static inline bool evm_eq(const struct phr_u256 *a, const struct phr_u256 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

static inline bool evm_is_zero(const struct phr_u256 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/** r = a * b mod 2^256: the truncated schoolbook product, unrolled (r may alias). */
static inline void evm_mul(struct phr_u256 *r, const struct phr_u256 *a, const struct phr_u256 *b)
{
	const uint64_t a0 = a->w[0], a1 = a->w[1], a2 = a->w[2], a3 = a->w[3];
	const uint64_t b0 = b->w[0], b1 = b->w[1], b2 = b->w[2], b3 = b->w[3];
	evm_u128 t;
	uint64_t r0, r1, r2, r3;
	t = (evm_u128)a0 * b0;
	r0 = (uint64_t)t;
	t = (evm_u128)a0 * b1 + (uint64_t)(t >> 64);
	r1 = (uint64_t)t;
	t = (evm_u128)a0 * b2 + (uint64_t)(t >> 64);
	r2 = (uint64_t)t;
	r3 = a0 * b3 + (uint64_t)(t >> 64);
	t = (evm_u128)a1 * b0 + r1;
	r1 = (uint64_t)t;
	t = (evm_u128)a1 * b1 + r2 + (uint64_t)(t >> 64);
	r2 = (uint64_t)t;
	r3 += a1 * b2 + (uint64_t)(t >> 64);
	t = (evm_u128)a2 * b0 + r2;
	r2 = (uint64_t)t;
	r3 += a2 * b1 + (uint64_t)(t >> 64);
	r3 += a3 * b0;
	r->w[0] = r0;
	r->w[1] = r1;
	r->w[2] = r2;
	r->w[3] = r3;
}

/*
 * Shifts: the whole-limb part first (a switch on n / 64), then the bits within limbs, all in
 * scalars written to r once. (Building the result in a local array and copying it out made
 * gcc store it as four 8-byte words and reload it as two 16-byte ones, a store-forwarding
 * stall on every SHL and SHR, which Solidity runs for every selector, address and packed
 * field.)
 */

/** r = a << n for n < 256 (r may alias). */
static inline void evm_shl(struct phr_u256 *r, const struct phr_u256 *a, unsigned n)
{
	uint64_t w0 = a->w[0], w1 = a->w[1], w2 = a->w[2], w3 = a->w[3];
	switch (n / 64) {
	case 0: break;
	case 1: w3 = w2; w2 = w1; w1 = w0; w0 = 0; break;
	case 2: w3 = w1; w2 = w0; w1 = 0; w0 = 0; break;
	default: w3 = w0; w2 = 0; w1 = 0; w0 = 0; break;
	}
	unsigned b = n % 64;
	if (b) {
		w3 = w3 << b | w2 >> (64 - b);
		w2 = w2 << b | w1 >> (64 - b);
		w1 = w1 << b | w0 >> (64 - b);
		w0 <<= b;
	}
	r->w[0] = w0;
	r->w[1] = w1;
	r->w[2] = w2;
	r->w[3] = w3;
}

/** r = a >> n (logical) for n < 256 (r may alias). */
static inline void evm_shr(struct phr_u256 *r, const struct phr_u256 *a, unsigned n)
{
	uint64_t w0 = a->w[0], w1 = a->w[1], w2 = a->w[2], w3 = a->w[3];
	switch (n / 64) {
	case 0: break;
	case 1: w0 = w1; w1 = w2; w2 = w3; w3 = 0; break;
	case 2: w0 = w2; w1 = w3; w2 = 0; w3 = 0; break;
	default: w0 = w3; w1 = 0; w2 = 0; w3 = 0; break;
	}
	unsigned b = n % 64;
	if (b) {
		w0 = w0 >> b | w1 << (64 - b);
		w1 = w1 >> b | w2 << (64 - b);
		w2 = w2 >> b | w3 << (64 - b);
		w3 >>= b;
	}
	r->w[0] = w0;
	r->w[1] = w1;
	r->w[2] = w2;
	r->w[3] = w3;
}

static inline bool evm_fits_u64(const struct phr_u256 *a)
{
	return (a->w[1] | a->w[2] | a->w[3]) == 0;
}

static inline struct phr_u256 evm_word(uint64_t v)
{
	struct phr_u256 r = { { v, 0, 0, 0 } };
	return r;
}

static inline uint64_t evm_load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void evm_store_be64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

/** 32 big-endian bytes to a word. */
static inline void evm_load_word(struct phr_u256 *r, const uint8_t *p)
{
	r->w[3] = evm_load_be64(p);
	r->w[2] = evm_load_be64(p + 8);
	r->w[1] = evm_load_be64(p + 16);
	r->w[0] = evm_load_be64(p + 24);
}

/** A word to 32 big-endian bytes. */
static inline void evm_store_word(uint8_t *p, const struct phr_u256 *a)
{
	evm_store_be64(p, a->w[3]);
	evm_store_be64(p + 8, a->w[2]);
	evm_store_be64(p + 16, a->w[1]);
	evm_store_be64(p + 24, a->w[0]);
}

/* --- helpers (interp.c) ---------------------------------------------------- */

/** Charges @p gas; @return false when the frame is out of gas. */
static inline bool evm_charge(struct evm_frame *f, int64_t gas)
{
	f->gas_left -= gas;
	return f->gas_left >= 0;
}

/**
 * Checks (offset, size) taken from the stack, expands memory to cover it and
 * charges the expansion. A size of zero touches nothing whatever the offset.
 * On success *off and *len hold the region. @return PHR_EVM_SUCCESS,
 * PHR_EVM_OUT_OF_GAS or PHR_EVM_INTERNAL_ERROR (allocation failure).
 */
enum phr_evm_status evm_mem_region(struct evm_frame *f, size_t *off, size_t *len,
				   const struct phr_u256 *offset, const struct phr_u256 *size);

/** Ceil(n / 32). */
static inline uint64_t evm_words(uint64_t n)
{
	return (n + 31) / 32;
}

/** Charges @p per_word gas for each (rounded-up) word of @p len bytes. */
static inline bool evm_charge_words(struct evm_frame *f, int64_t per_word, size_t len)
{
	return evm_charge(f, per_word * (int64_t)evm_words(len));
}

/** The 20 low bytes of a stack word as an address. */
void evm_word_to_address(struct phr_evm_address *a, const struct phr_u256 *w);
/** An address as a stack word. */
void evm_address_to_word(struct phr_u256 *w, const struct phr_evm_address *a);
/** Loads the tx context from the host on first use. */
const struct phr_evm_tx_context *evm_tx_context(struct evm_frame *f);
/** Copies src[src_off .. src_off+len) into dst, zero-filling past src_len. */
void evm_copy_padded(uint8_t *dst, size_t len, const uint8_t *src, size_t src_len,
		     const struct phr_u256 *src_off);
/** EIP-2929: charges the cold surcharge (cold - warm) if @p addr was cold. */
bool evm_charge_account_access(struct evm_frame *f, const struct phr_evm_address *addr);

/* --- opcode groups ---------------------------------------------------------- */

/* ops_arith.c: arithmetic, comparison, bitwise. */
enum phr_evm_status evm_op_arith(struct evm_frame *f, uint8_t op);

/* ops_memory.c */
enum phr_evm_status evm_op_mload(struct evm_frame *f);
enum phr_evm_status evm_op_mstore(struct evm_frame *f);
enum phr_evm_status evm_op_mstore8(struct evm_frame *f);
enum phr_evm_status evm_op_mcopy(struct evm_frame *f);
enum phr_evm_status evm_op_keccak256(struct evm_frame *f);
enum phr_evm_status evm_op_calldataload(struct evm_frame *f);
enum phr_evm_status evm_op_calldatacopy(struct evm_frame *f);
enum phr_evm_status evm_op_codecopy(struct evm_frame *f);
enum phr_evm_status evm_op_extcodecopy(struct evm_frame *f);
enum phr_evm_status evm_op_returndatacopy(struct evm_frame *f);

/* ops_storage.c */
enum phr_evm_status evm_op_sload(struct evm_frame *f);
enum phr_evm_status evm_op_sstore(struct evm_frame *f);
enum phr_evm_status evm_op_tload(struct evm_frame *f);
enum phr_evm_status evm_op_tstore(struct evm_frame *f);

/* ops_env.c: environment and block information. */
enum phr_evm_status evm_op_env(struct evm_frame *f, uint8_t op);

/* ops_log.c */
enum phr_evm_status evm_op_log(struct evm_frame *f, unsigned topics);

/* ops_call.c */
enum phr_evm_status evm_op_call(struct evm_frame *f, uint8_t op);
enum phr_evm_status evm_op_create(struct evm_frame *f, uint8_t op);
enum phr_evm_status evm_op_selfdestruct(struct evm_frame *f);

/* ops_control.c: JUMP/JUMPI targets, RETURN/REVERT. */
enum phr_evm_status evm_op_jump_target(struct evm_frame *f, const struct phr_u256 *dest);
enum phr_evm_status evm_op_return(struct evm_frame *f, bool revert);

/* jumpdest.c: JUMPDEST analysis and its process-wide cache (keyed by the code's bytes,
 * bounded, thread-safe). */
/** Writes the bitmap (code_len / 8 + 1 bytes, one bit per code byte) of @p code. */
void evm_jumpdest_scan(uint8_t *bitmap, const uint8_t *code, size_t code_len);
/** @return the bitmap of @p code (caller frees with phr_free), from the cache when the same
 *  code ran before; NULL when out of memory. */
uint8_t *evm_jumpdests_get(const uint8_t *code, size_t code_len);
/** Lookups that hit and missed the cache since the start (or the last clear). */
void evm_jumpdest_cache_stats(uint64_t *hits, uint64_t *misses);
/** Empties the cache (frees every entry) and zeroes the counters. */
void evm_jumpdest_cache_clear(void);

/* keccak_cache.c: KECCAK256 of short inputs (mapping slots) through a process-wide cache
 * (keyed by the input bytes with a full compare, bounded, thread-safe). */
/** Longest input the cache keeps (longer ones are hashed directly). */
#define EVM_KC_MAX_INPUT 64
/** out = keccak256(in[0..len)), from the cache when the same input was hashed before. */
void evm_keccak256_cached(uint8_t out[32], const uint8_t *in, size_t len);
/** Lookups of inputs up to EVM_KC_MAX_INPUT bytes that hit and missed since the start (or the
 *  last clear). */
void evm_keccak_cache_stats(uint64_t *hits, uint64_t *misses);
/** Empties the cache and zeroes the counters. */
void evm_keccak_cache_clear(void);

#endif
