/*
 * Halting with data: RETURN and REVERT (EIP-140). The area is charged as a
 * memory expansion and copied into the result by phr_evm_execute. JUMP/JUMPI
 * validation is in interp.c next to the JUMPDEST analysis.
 */
#include "evm_int.h"

enum phr_evm_status evm_op_return(struct evm_frame *f, bool revert)
{
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &f->sp[-2]);
	if (st != PHR_EVM_SUCCESS)
		return st;
	f->out_off = off;
	f->out_size = len;
	f->sp -= 2;
	f->halted = true;
	return revert ? PHR_EVM_REVERT : PHR_EVM_SUCCESS;
}
