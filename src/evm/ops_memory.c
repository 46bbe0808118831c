/*
 * Memory and copy instructions: MLOAD, MSTORE, MSTORE8, MCOPY (EIP-5656),
 * KECCAK256, CALLDATALOAD/COPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY (EIP-211).
 * Gas: memory expansion through evm_mem_region(); copies 3 per word
 * (G_copy); KECCAK256 6 per word; EXTCODECOPY's cold surcharge (EIP-2929).
 */
#include "evm_int.h"

#include "phr/crypto.h"

enum phr_evm_status evm_op_mload(struct evm_frame *f)
{
	static const struct phr_u256 word = { { 32, 0, 0, 0 } };
	struct phr_u256 *a = &f->sp[-1];
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, a, &word);
	if (st != PHR_EVM_SUCCESS)
		return st;
	phr_u256_from_be(a, f->mem + off);
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_mstore(struct evm_frame *f)
{
	static const struct phr_u256 word = { { 32, 0, 0, 0 } };
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &word);
	if (st != PHR_EVM_SUCCESS)
		return st;
	phr_u256_to_be(f->mem + off, &f->sp[-2]);
	f->sp -= 2;
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_mstore8(struct evm_frame *f)
{
	static const struct phr_u256 one = { { 1, 0, 0, 0 } };
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &one);
	if (st != PHR_EVM_SUCCESS)
		return st;
	f->mem[off] = (uint8_t)(f->sp[-2].w[0] & 0xff);
	f->sp -= 2;
	return PHR_EVM_SUCCESS;
}

/* EIP-5656 MCOPY(dst, src, len): memory for both areas, 3 gas per word. */
enum phr_evm_status evm_op_mcopy(struct evm_frame *f)
{
	const struct phr_u256 *dst = &f->sp[-1], *src = &f->sp[-2], *size = &f->sp[-3];
	size_t doff, soff, len;
	enum phr_evm_status st = evm_mem_region(f, &doff, &len, dst, size);
	if (st == PHR_EVM_SUCCESS)
		st = evm_mem_region(f, &soff, &len, src, size);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (!evm_charge_words(f, GAS_COPY_WORD, len))
		return PHR_EVM_OUT_OF_GAS;
	if (len)
		memmove(f->mem + doff, f->mem + soff, len);
	f->sp -= 3;
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_keccak256(struct evm_frame *f)
{
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &f->sp[-2]);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (!evm_charge_words(f, GAS_KECCAK_WORD, len))
		return PHR_EVM_OUT_OF_GAS;
	uint8_t h[32];
	evm_keccak256_cached(h, len ? f->mem + off : (const uint8_t *)"", len);
	f->sp--;
	phr_u256_from_be(&f->sp[-1], h);
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_calldataload(struct evm_frame *f)
{
	uint8_t buf[32];
	evm_copy_padded(buf, 32, f->msg->input, f->msg->input_size, &f->sp[-1]);
	phr_u256_from_be(&f->sp[-1], buf);
	return PHR_EVM_SUCCESS;
}

/* (mem_off, src_off, len) copy from a buffer, zero-padded: CALLDATACOPY, CODECOPY. */
static enum phr_evm_status copy_from(struct evm_frame *f, const uint8_t *src, size_t src_len)
{
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &f->sp[-3]);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (!evm_charge_words(f, GAS_COPY_WORD, len))
		return PHR_EVM_OUT_OF_GAS;
	if (len)
		evm_copy_padded(f->mem + off, len, src, src_len, &f->sp[-2]);
	f->sp -= 3;
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_calldatacopy(struct evm_frame *f)
{
	return copy_from(f, f->msg->input, f->msg->input_size);
}

enum phr_evm_status evm_op_codecopy(struct evm_frame *f)
{
	return copy_from(f, f->code, f->code_len);
}

/* EXTCODECOPY(addr, mem_off, code_off, len). */
enum phr_evm_status evm_op_extcodecopy(struct evm_frame *f)
{
	struct phr_evm_address addr;
	evm_word_to_address(&addr, &f->sp[-1]);
	if (!evm_charge_account_access(f, &addr))
		return PHR_EVM_OUT_OF_GAS;
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-2], &f->sp[-4]);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (!evm_charge_words(f, GAS_COPY_WORD, len))
		return PHR_EVM_OUT_OF_GAS;
	if (len) {
		size_t n = 0;
		const struct phr_u256 *code_off = &f->sp[-3];
		if (phr_u256_fits_u64(code_off) && code_off->w[0] <= SIZE_MAX) {
			n = f->host->copy_code(f->ctx, f->mem + off, len, &addr,
					       (size_t)code_off->w[0]);
			if (n > len)
				n = len;
		}
		memset(f->mem + off + n, 0, len - n);
	}
	f->sp -= 4;
	return PHR_EVM_SUCCESS;
}

/* EIP-211 RETURNDATACOPY(mem_off, data_off, len): reading past the buffer halts. */
enum phr_evm_status evm_op_returndatacopy(struct evm_frame *f)
{
	const struct phr_u256 *data_off = &f->sp[-2], *size = &f->sp[-3];
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], size);
	if (st != PHR_EVM_SUCCESS)
		return st;
	size_t have = f->child.output_size;
	if (!phr_u256_fits_u64(data_off) || data_off->w[0] > have || len > have - data_off->w[0])
		return PHR_EVM_INVALID_MEMORY_ACCESS;
	if (!evm_charge_words(f, GAS_COPY_WORD, len))
		return PHR_EVM_OUT_OF_GAS;
	if (len)
		memcpy(f->mem + off, f->child.output + data_off->w[0], len);
	f->sp -= 3;
	return PHR_EVM_SUCCESS;
}
