/*
 * Precompile dispatch, pricing, and the small precompiles: 0x01 ecrecover,
 * 0x02 sha256, 0x03 ripemd160 (digest in precompile_ripemd160.c), 0x04 identity.
 * 0x05 is in precompile_modexp.c, 0x06-0x08 in bn254.c, 0x09 in
 * precompile_blake2f.c, 0x0a in precompile_kzg.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "phr/crypto.h"
#include "phr/precompile.h"
#include "precompile_int.h"

enum {
	PC_ECRECOVER = 1,
	PC_SHA256,
	PC_RIPEMD160,
	PC_IDENTITY,
	PC_MODEXP,
	PC_BN254_ADD,
	PC_BN254_MUL,
	PC_BN254_PAIRING,
	PC_BLAKE2F,
	PC_POINT_EVALUATION,
};

/* 0 when @p addr is not a precompile, else its number. */
static int pc_id(const uint8_t addr[20])
{
	for (int i = 0; i < 19; i++)
		if (addr[i] != 0)
			return 0;
	if (addr[19] < 1 || addr[19] > PHR_PRECOMPILE_LAST)
		return 0;
	return addr[19];
}

bool phr_precompile_is(const uint8_t addr[20])
{
	return pc_id(addr) != 0;
}

const char *phr_precompile_name(const uint8_t addr[20])
{
	static const char *const names[] = {
		NULL,	     "ecrecover",	"sha256",    "ripemd160",
		"identity",  "modexp",		"bn254_add", "bn254_mul",
		"bn254_pairing", "blake2f",	"point_evaluation",
	};
	return names[pc_id(addr)];
}

void phr_precompile_pad_read(uint8_t *dst, size_t n, const uint8_t *in, size_t in_len, size_t off)
{
	size_t avail = off < in_len ? in_len - off : 0;
	size_t take = avail < n ? avail : n;
	if (take)
		memcpy(dst, in + off, take);
	memset(dst + take, 0, n - take);
}

int phr_precompile_emit(struct phr_buf *out, const void *data, size_t n)
{
	if (n == 0)
		return PHR_PRECOMPILE_OK;
	return phr_buf_append(out, data, n) == PHR_OK ? PHR_PRECOMPILE_OK
						      : PHR_PRECOMPILE_INTERNAL_ERROR;
}

/* base + per_word * ceil(n / 32), saturated. */
static int64_t word_price(int64_t base, int64_t per_word, size_t n)
{
	uint64_t words = (uint64_t)(n / 32) + (n % 32 != 0);
	if (words > (uint64_t)(INT64_MAX - base) / (uint64_t)per_word)
		return INT64_MAX;
	return base + per_word * (int64_t)words;
}

int64_t phr_precompile_gas(const uint8_t addr[20], const uint8_t *input, size_t input_len)
{
	switch (pc_id(addr)) {
	case PC_ECRECOVER:
		return 3000;
	case PC_SHA256:
		return word_price(60, 12, input_len);
	case PC_RIPEMD160:
		return word_price(600, 120, input_len);
	case PC_IDENTITY:
		return word_price(15, 3, input_len);
	case PC_MODEXP:
		return phr_precompile_modexp_gas(input, input_len);
	case PC_BN254_ADD:
		return 150; /* EIP-1108 */
	case PC_BN254_MUL:
		return 6000;
	case PC_BN254_PAIRING: {
		uint64_t k = input_len / 192;
		if (k > (uint64_t)(INT64_MAX - 45000) / 34000)
			return INT64_MAX;
		return 45000 + 34000 * (int64_t)k;
	}
	case PC_BLAKE2F:
		if (input_len != 213)
			return 0;
		return (int64_t)(((uint32_t)input[0] << 24) | ((uint32_t)input[1] << 16) |
				 ((uint32_t)input[2] << 8) | input[3]);
	case PC_POINT_EVALUATION:
		return 50000; /* EIP-4844 */
	default:
		return -1;
	}
}

/* 0x01: v must be 27 or 28 (as a 32-byte word), r and s in [1, n-1]; high s is
 * accepted (unlike transaction signatures). Any bad input yields empty output. */
static int run_ecrecover(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint8_t buf[128];
	phr_precompile_pad_read(buf, sizeof buf, in, n, 0);
	for (int i = 32; i < 63; i++)
		if (buf[i] != 0)
			return PHR_PRECOMPILE_OK;
	if (buf[63] != 27 && buf[63] != 28)
		return PHR_PRECOMPILE_OK;
	uint8_t pub[64], addr[32] = {0};
	/* phr_secp256k1_recover rejects r or s equal to zero or >= the group order. */
	if (phr_secp256k1_recover(pub, buf, buf + 64, buf[63] - 27) != PHR_OK)
		return PHR_PRECOMPILE_OK;
	phr_eth_address(addr + 12, pub);
	return phr_precompile_emit(out, addr, sizeof addr);
}

static int run_sha256(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, n ? in : (const uint8_t *)"", n);
	return phr_precompile_emit(out, d, sizeof d);
}

static int run_ripemd160(struct phr_buf *out, const uint8_t *in, size_t n)
{
	uint8_t d[32] = {0};
	phr_precompile_ripemd160(d + 12, in, n);
	return phr_precompile_emit(out, d, sizeof d);
}

static int dispatch(int id, struct phr_buf *out, const uint8_t *in, size_t n)
{
	switch (id) {
	case PC_ECRECOVER:
		return run_ecrecover(out, in, n);
	case PC_SHA256:
		return run_sha256(out, in, n);
	case PC_RIPEMD160:
		return run_ripemd160(out, in, n);
	case PC_IDENTITY:
		return phr_precompile_emit(out, in, n);
	case PC_MODEXP:
		return phr_precompile_modexp_run(out, in, n);
	case PC_BN254_ADD:
		return phr_precompile_bn254_add_run(out, in, n);
	case PC_BN254_MUL:
		return phr_precompile_bn254_mul_run(out, in, n);
	case PC_BN254_PAIRING:
		return phr_precompile_bn254_pairing_run(out, in, n);
	case PC_BLAKE2F:
		return phr_precompile_blake2f_run(out, in, n);
	case PC_POINT_EVALUATION:
		return phr_precompile_kzg_point_eval_run(out, in, n);
	default:
		return PHR_PRECOMPILE_INTERNAL_ERROR;
	}
}

int phr_precompile_run(const uint8_t addr[20], const uint8_t *input, size_t input_len,
		       int64_t gas_limit, struct phr_buf *output, int64_t *gas_used)
{
	int id = pc_id(addr);
	phr_buf_reset(output);
	*gas_used = 0;
	if (id == 0)
		return PHR_PRECOMPILE_INTERNAL_ERROR;
	if (gas_limit < 0)
		gas_limit = 0;
	if (input_len == 0)
		input = NULL;
	int64_t cost = phr_precompile_gas(addr, input, input_len);
	if (cost > gas_limit) {
		*gas_used = gas_limit;
		return PHR_PRECOMPILE_OUT_OF_GAS;
	}
	int st = dispatch(id, output, input, input_len);
	if (st == PHR_PRECOMPILE_OK) {
		*gas_used = cost;
	} else {
		phr_buf_reset(output);
		*gas_used = st == PHR_PRECOMPILE_INTERNAL_ERROR ? 0 : gas_limit;
	}
	return st;
}
