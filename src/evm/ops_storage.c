/*
 * Storage: SLOAD and SSTORE (EIP-2929 warm/cold, EIP-2200 net metering with
 * EIP-3529 refunds) and transient storage TLOAD/TSTORE (EIP-1153).
 */
#include "evm_int.h"

/* EIP-2929: SLOAD costs 100 warm (the table's static gas) and 2100 cold. */
enum phr_evm_status evm_op_sload(struct evm_frame *f)
{
	struct phr_u256 *key = &f->sp[-1];
	const struct phr_evm_address *self = &f->msg->recipient;
	if (!f->host->access_storage(f->ctx, self, key) &&
	    !evm_charge(f, GAS_COLD_SLOAD - GAS_WARM_ACCESS))
		return PHR_EVM_OUT_OF_GAS;
	struct phr_u256 v;
	f->host->get_storage(f->ctx, &v, self, key);
	*key = v;
	return PHR_EVM_SUCCESS;
}

/*
 * EIP-2200 as amended by EIP-2929 and EIP-3529 (the table in EIP-3529):
 *   fail if gas left <= 2300 (sentry);
 *   + 2100 if the slot is cold;
 *   current == new:                 100
 *   original == current, orig == 0: 20000
 *   original == current, orig != 0: 2900 (5000 - 2100); refund 4800 if new == 0
 *   otherwise (dirty slot):         100, and
 *     orig != 0 and current == 0:   refund -4800
 *     orig != 0 and new == 0:       refund +4800
 *     orig == new, orig == 0:       refund +19900 (20000 - 100)
 *     orig == new, orig != 0:       refund +2800 (5000 - 2100 - 100)
 */
enum phr_evm_status evm_op_sstore(struct evm_frame *f)
{
	if (f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION;
	if (f->gas_left <= GAS_SSTORE_SENTRY)
		return PHR_EVM_OUT_OF_GAS;
	const struct phr_u256 *key = &f->sp[-1], *nv = &f->sp[-2];
	const struct phr_evm_address *self = &f->msg->recipient;
	int64_t cost = 0;
	if (!f->host->access_storage(f->ctx, self, key))
		cost += GAS_COLD_SLOAD;

	struct phr_u256 orig, cur;
	f->host->set_storage(f->ctx, &orig, &cur, self, key, nv);

	const int64_t reset = GAS_SSTORE_RESET - GAS_COLD_SLOAD;
	if (phr_u256_eq(&cur, nv)) {
		cost += GAS_WARM_ACCESS;
	} else if (phr_u256_eq(&orig, &cur)) {
		if (phr_u256_is_zero(&orig)) {
			cost += GAS_SSTORE_SET;
		} else {
			cost += reset;
			if (phr_u256_is_zero(nv))
				f->gas_refund += REFUND_SSTORE_CLEARS;
		}
	} else {
		cost += GAS_WARM_ACCESS;
		if (!phr_u256_is_zero(&orig)) {
			if (phr_u256_is_zero(&cur))
				f->gas_refund -= REFUND_SSTORE_CLEARS;
			else if (phr_u256_is_zero(nv))
				f->gas_refund += REFUND_SSTORE_CLEARS;
		}
		if (phr_u256_eq(&orig, nv)) {
			if (phr_u256_is_zero(&orig))
				f->gas_refund += GAS_SSTORE_SET - GAS_WARM_ACCESS;
			else
				f->gas_refund += reset - GAS_WARM_ACCESS;
		}
	}
	if (!evm_charge(f, cost))
		return PHR_EVM_OUT_OF_GAS;
	f->sp -= 2;
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_tload(struct evm_frame *f)
{
	struct phr_u256 *key = &f->sp[-1];
	struct phr_u256 v;
	f->host->get_transient_storage(f->ctx, &v, &f->msg->recipient, key);
	*key = v;
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_tstore(struct evm_frame *f)
{
	if (f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION;
	f->host->set_transient_storage(f->ctx, &f->msg->recipient, &f->sp[-1], &f->sp[-2]);
	f->sp -= 2;
	return PHR_EVM_SUCCESS;
}
