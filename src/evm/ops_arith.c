/*
 * Arithmetic, comparison and bitwise instructions (0x01-0x0b, 0x10-0x1d).
 * The 256-bit work is include/phr/u256.h; here only the stack shape and EXP's
 * dynamic gas (EIP-160: 50 per byte of the exponent).
 */
#include "evm_int.h"

static void set_bool(struct phr_u256 *r, bool v)
{
	*r = phr_u256_from_u64(v ? 1 : 0);
}

enum phr_evm_status evm_op_arith(struct evm_frame *f, uint8_t op)
{
	/* a is the top of the stack, b the next, c the third. */
	struct phr_u256 *a = &f->sp[-1];
	struct phr_u256 *b = &f->sp[-2];

	switch (op) {
	case OP_ISZERO:
		set_bool(a, phr_u256_is_zero(a));
		return PHR_EVM_SUCCESS;
	case OP_NOT:
		phr_u256_not(a, a);
		return PHR_EVM_SUCCESS;
	case OP_ADDMOD:
	case OP_MULMOD: {
		struct phr_u256 *c = &f->sp[-3];
		if (op == OP_ADDMOD)
			phr_u256_addmod(c, a, b, c);
		else
			phr_u256_mulmod(c, a, b, c);
		f->sp -= 2;
		return PHR_EVM_SUCCESS;
	}
	default:
		break;
	}

	/* Binary operations: result replaces b. */
	switch (op) {
	case OP_ADD: phr_u256_add(b, a, b); break;
	case OP_MUL: phr_u256_mul(b, a, b); break;
	case OP_SUB: phr_u256_sub(b, a, b); break;
	case OP_DIV: phr_u256_div(b, a, b); break;
	case OP_SDIV: phr_u256_sdiv(b, a, b); break;
	case OP_MOD: phr_u256_mod(b, a, b); break;
	case OP_SMOD: phr_u256_smod(b, a, b); break;
	case OP_EXP:
		if (!evm_charge(f, GAS_EXP_BYTE * (int64_t)phr_u256_bytes(b)))
			return PHR_EVM_OUT_OF_GAS;
		phr_u256_exp(b, a, b);
		break;
	case OP_SIGNEXTEND: phr_u256_signextend(b, a, b); break;
	case OP_LT: set_bool(b, phr_u256_cmp(a, b) < 0); break;
	case OP_GT: set_bool(b, phr_u256_cmp(a, b) > 0); break;
	case OP_SLT: set_bool(b, phr_u256_scmp(a, b) < 0); break;
	case OP_SGT: set_bool(b, phr_u256_scmp(a, b) > 0); break;
	case OP_EQ: set_bool(b, phr_u256_eq(a, b)); break;
	case OP_AND: phr_u256_and(b, a, b); break;
	case OP_OR: phr_u256_or(b, a, b); break;
	case OP_XOR: phr_u256_xor(b, a, b); break;
	case OP_BYTE: phr_u256_byte(b, a, b); break;
	case OP_SHL: phr_u256_shl_u256(b, a, b); break;
	case OP_SHR: phr_u256_shr_u256(b, a, b); break;
	case OP_SAR: phr_u256_sar_u256(b, a, b); break;
	default: return PHR_EVM_UNDEFINED_INSTRUCTION; /* not reached */
	}
	f->sp--;
	return PHR_EVM_SUCCESS;
}
