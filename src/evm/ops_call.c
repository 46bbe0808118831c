/*
 * Calls and creates: CALL, CALLCODE, DELEGATECALL (EIP-7), STATICCALL
 * (EIP-214), CREATE, CREATE2 (EIP-1014), SELFDESTRUCT (EIP-6780).
 *
 * The interpreter charges everything the caller pays (see include/phr/evm.h)
 * and then hands the message to host->call, which runs the child.
 */
#include "evm_int.h"

/* The return data buffer takes the child's output (EIP-211). */
static void set_return_data(struct evm_frame *f, struct phr_evm_result *r)
{
	phr_evm_result_release(&f->child);
	f->child = *r;
	memset(r, 0, sizeof(*r));
}

/* Sanitises what a host answered: gas within [0, given], no refund on failure,
 * no output (hence no return data) after an exceptional halt. */
static void check_result(struct phr_evm_result *r, int64_t given)
{
	if (r->status > PHR_EVM_REVERT && r->status != PHR_EVM_INTERNAL_ERROR)
		phr_evm_result_release(r);
	if (r->gas_left < 0 || r->status > PHR_EVM_REVERT)
		r->gas_left = 0;
	if (r->gas_left > given)
		r->gas_left = given;
	if (r->status != PHR_EVM_SUCCESS)
		r->gas_refund = 0;
}

/* EIP-150: all but one 64th of what is left. */
static int64_t all_but_one_64th(int64_t gas)
{
	return gas - gas / 64;
}

static bool balance_below(struct evm_frame *f, const struct phr_u256 *value)
{
	struct phr_u256 bal;
	f->host->get_balance(f->ctx, &bal, &f->msg->recipient);
	return phr_u256_cmp(&bal, value) < 0;
}

enum phr_evm_status evm_op_call(struct evm_frame *f, uint8_t op)
{
	const bool has_value_arg = op == OP_CALL || op == OP_CALLCODE;
	struct phr_u256 *s = f->sp;
	const struct phr_u256 gas_w = s[-1];
	struct phr_evm_address addr;
	evm_word_to_address(&addr, &s[-2]);
	const struct phr_u256 value = has_value_arg ? s[-3] : PHR_U256_ZERO;
	const ptrdiff_t a = has_value_arg ? 4 : 3;
	const struct phr_u256 in_off = s[-a], in_len = s[-a - 1];
	const struct phr_u256 out_off = s[-a - 2], out_len = s[-a - 3];
	f->sp -= has_value_arg ? 7 : 6;
	struct phr_u256 *ret = f->sp++;
	*ret = PHR_U256_ZERO;

	const bool transfers = has_value_arg && !phr_u256_is_zero(&value);
	if (op == OP_CALL && transfers && f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION; /* EIP-214 */

	/* EIP-2929 cold surcharge (the table charged the 100 warm cost). */
	if (!evm_charge_account_access(f, &addr))
		return PHR_EVM_OUT_OF_GAS;
	size_t ioff, ilen, ooff, olen;
	enum phr_evm_status st = evm_mem_region(f, &ioff, &ilen, &in_off, &in_len);
	if (st == PHR_EVM_SUCCESS)
		st = evm_mem_region(f, &ooff, &olen, &out_off, &out_len);
	if (st != PHR_EVM_SUCCESS)
		return st;
	if (transfers) {
		int64_t extra = GAS_CALL_VALUE;
		/* EIP-161: the new-account charge only applies to empty accounts. */
		if (op == OP_CALL && !f->host->account_exists(f->ctx, &addr))
			extra += GAS_NEW_ACCOUNT;
		if (!evm_charge(f, extra))
			return PHR_EVM_OUT_OF_GAS;
	}

	/* EIP-150: the child gets at most all but one 64th of what is left. */
	int64_t gas = all_but_one_64th(f->gas_left);
	if (phr_u256_fits_u64(&gas_w) && gas_w.w[0] < (uint64_t)gas)
		gas = (int64_t)gas_w.w[0];
	if (transfers) {
		/* The stipend is free to the caller; if the call fails early it is
		 * even kept (yellow paper: the unused child gas returns). */
		gas += PHR_EVM_CALL_STIPEND;
		f->gas_left += PHR_EVM_CALL_STIPEND;
	}

	phr_evm_result_release(&f->child);
	/* Depth and balance failures: no call, result 0, child gas kept. */
	if (f->msg->depth >= PHR_EVM_MAX_DEPTH)
		return PHR_EVM_SUCCESS;
	if (transfers && balance_below(f, &value))
		return PHR_EVM_SUCCESS;

	struct phr_evm_message m;
	memset(&m, 0, sizeof(m));
	m.depth = f->msg->depth + 1;
	m.gas = gas;
	m.is_static = f->msg->is_static || op == OP_STATICCALL;
	m.code_address = addr;
	m.input = ilen ? f->mem + ioff : NULL;
	m.input_size = ilen;
	switch (op) {
	case OP_CALL:
		m.kind = PHR_EVM_CALL;
		m.recipient = addr;
		m.sender = f->msg->recipient;
		m.value = value;
		break;
	case OP_CALLCODE:
		m.kind = PHR_EVM_CALLCODE;
		m.recipient = f->msg->recipient;
		m.sender = f->msg->recipient;
		m.value = value;
		break;
	case OP_DELEGATECALL:
		m.kind = PHR_EVM_DELEGATECALL;
		m.recipient = f->msg->recipient;
		m.sender = f->msg->sender;
		m.value = f->msg->value;
		break;
	default:
		m.kind = PHR_EVM_STATICCALL;
		m.recipient = addr;
		m.sender = f->msg->recipient;
		break;
	}

	f->gas_left -= gas;
	struct phr_evm_result r;
	memset(&r, 0, sizeof(r));
	f->host->call(f->ctx, &r, &m);
	check_result(&r, gas);
	if (r.status == PHR_EVM_INTERNAL_ERROR) {
		phr_evm_result_release(&r);
		return PHR_EVM_INTERNAL_ERROR;
	}
	f->gas_left += r.gas_left;
	f->gas_refund += r.gas_refund;
	*ret = phr_u256_from_u64(r.status == PHR_EVM_SUCCESS ? 1 : 0);
	if (olen && r.output_size)
		memcpy(f->mem + ooff, r.output, r.output_size < olen ? r.output_size : olen);
	set_return_data(f, &r);
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_create(struct evm_frame *f, uint8_t op)
{
	if (f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION;
	struct phr_u256 *s = f->sp;
	const struct phr_u256 value = s[-1], off_w = s[-2], len_w = s[-3];
	struct phr_evm_bytes32 salt;
	memset(&salt, 0, sizeof(salt));
	if (op == OP_CREATE2)
		phr_u256_to_be(salt.bytes, &s[-4]);
	f->sp -= op == OP_CREATE2 ? 4 : 3;
	struct phr_u256 *ret = f->sp++;
	*ret = PHR_U256_ZERO;

	size_t off, len;
	enum phr_evm_status st = evm_mem_region(f, &off, &len, &off_w, &len_w);
	if (st != PHR_EVM_SUCCESS)
		return st;
	/* EIP-3860: initcode over 49152 bytes is an exceptional halt; 2 gas/word. */
	if (len > PHR_EVM_MAX_INITCODE_SIZE)
		return PHR_EVM_OUT_OF_GAS;
	if (!evm_charge(f, phr_evm_initcode_word_cost(len)))
		return PHR_EVM_OUT_OF_GAS;
	/* EIP-1014: CREATE2 hashes the initcode, 6 gas per word. */
	if (op == OP_CREATE2 && !evm_charge_words(f, GAS_KECCAK_WORD, len))
		return PHR_EVM_OUT_OF_GAS;

	phr_evm_result_release(&f->child);
	if (f->msg->depth >= PHR_EVM_MAX_DEPTH)
		return PHR_EVM_SUCCESS;
	if (!phr_u256_is_zero(&value) && balance_below(f, &value))
		return PHR_EVM_SUCCESS;

	struct phr_evm_message m;
	memset(&m, 0, sizeof(m));
	m.kind = op == OP_CREATE2 ? PHR_EVM_CREATE2 : PHR_EVM_CREATE;
	m.depth = f->msg->depth + 1;
	m.gas = all_but_one_64th(f->gas_left); /* EIP-150 */
	m.sender = f->msg->recipient;
	m.value = value;
	m.input = len ? f->mem + off : NULL;
	m.input_size = len;
	m.create2_salt = salt;

	f->gas_left -= m.gas;
	struct phr_evm_result r;
	memset(&r, 0, sizeof(r));
	f->host->call(f->ctx, &r, &m);
	check_result(&r, m.gas);
	if (r.status == PHR_EVM_INTERNAL_ERROR) {
		phr_evm_result_release(&r);
		return PHR_EVM_INTERNAL_ERROR;
	}
	f->gas_left += r.gas_left;
	f->gas_refund += r.gas_refund;
	if (r.status == PHR_EVM_SUCCESS) {
		evm_address_to_word(ret, &r.create_address);
		phr_evm_result_release(&r); /* return data is empty after a success */
	} else if (r.status != PHR_EVM_REVERT) {
		phr_evm_result_release(&r);
	}
	set_return_data(f, &r);
	return PHR_EVM_SUCCESS;
}

/* EIP-6780 (the host decides deletion); gas per EIP-150/EIP-2929/EIP-3529. */
enum phr_evm_status evm_op_selfdestruct(struct evm_frame *f)
{
	if (f->msg->is_static)
		return PHR_EVM_STATIC_MODE_VIOLATION;
	struct phr_evm_address to;
	evm_word_to_address(&to, &f->sp[-1]);
	f->sp--;
	if (!f->host->access_account(f->ctx, &to) && !evm_charge(f, GAS_COLD_ACCOUNT))
		return PHR_EVM_OUT_OF_GAS;
	struct phr_u256 bal;
	f->host->get_balance(f->ctx, &bal, &f->msg->recipient);
	if (!phr_u256_is_zero(&bal) && !f->host->account_exists(f->ctx, &to) &&
	    !evm_charge(f, GAS_NEW_ACCOUNT))
		return PHR_EVM_OUT_OF_GAS;
	(void)f->host->selfdestruct(f->ctx, &f->msg->recipient, &to);
	f->halted = true;
	return PHR_EVM_SUCCESS;
}
