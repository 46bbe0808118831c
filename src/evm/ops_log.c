/*
 * LOG0..LOG4: 375 (table) + 375 per topic + 8 per data byte + memory; not
 * allowed in a static context (EIP-214).
 */
#include "evm_int.h"

enum phr_evm_status evm_op_log(struct evm_frame *f, unsigned topics)
{
	if (f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION;
	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &f->sp[-1], &f->sp[-2]);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (!evm_charge(f, GAS_LOG_TOPIC * (int64_t)topics + GAS_LOG_DATA * (int64_t)len))
		return PHR_EVM_OUT_OF_GAS;
	struct phr_evm_bytes32 t[4];
	for (unsigned i = 0; i < topics; i++)
		phr_u256_to_be(t[i].bytes, &f->sp[-3 - (ptrdiff_t)i]);
	f->host->emit_log(f->ctx, &f->msg->recipient, len ? f->mem + off : NULL, len, t, topics);
	f->sp -= 2 + topics;
	return PHR_EVM_SUCCESS;
}
