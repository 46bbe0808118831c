/*
 * Environment and block information (0x30-0x4a, except the copies, which are
 * in ops_memory.c). BALANCE, EXTCODESIZE and EXTCODEHASH pay EIP-2929's cold
 * surcharge; SELFBALANCE (EIP-1884) does not.
 */
#include "evm_int.h"

static void push_address(struct evm_frame *f, const struct phr_evm_address *a)
{
	evm_address_to_word(f->sp++, a);
}

static void push_u64(struct evm_frame *f, uint64_t v)
{
	*f->sp++ = phr_u256_from_u64(v);
}

static void push_bytes32(struct evm_frame *f, const struct phr_evm_bytes32 *b)
{
	phr_u256_from_be(f->sp++, b->bytes);
}

/* Instructions taking an address off the stack (cold surcharge applies). */
static enum phr_evm_status account_query(struct evm_frame *f, uint8_t op)
{
	struct phr_u256 *top = &f->sp[-1];
	struct phr_evm_address addr;
	evm_word_to_address(&addr, top);
	if (!evm_charge_account_access(f, &addr))
		return PHR_EVM_OUT_OF_GAS;
	if (op == OP_BALANCE) {
		f->host->get_balance(f->ctx, top, &addr);
	} else if (op == OP_EXTCODESIZE) {
		*top = phr_u256_from_u64(f->host->get_code_size(f->ctx, &addr));
	} else {
		struct phr_evm_bytes32 h;
		memset(&h, 0, sizeof(h));
		f->host->get_code_hash(f->ctx, &h, &addr);
		phr_u256_from_be(top, h.bytes);
	}
	return PHR_EVM_SUCCESS;
}

enum phr_evm_status evm_op_env(struct evm_frame *f, uint8_t op)
{
	const struct phr_evm_message *m = f->msg;

	switch (op) {
	case OP_ADDRESS: push_address(f, &m->recipient); break;
	case OP_CALLER: push_address(f, &m->sender); break;
	case OP_CALLVALUE: *f->sp++ = m->value; break;
	case OP_CALLDATASIZE: push_u64(f, m->input_size); break;
	case OP_CODESIZE: push_u64(f, f->code_len); break;
	case OP_RETURNDATASIZE: push_u64(f, f->child.output_size); break;
	case OP_BALANCE:
	case OP_EXTCODESIZE:
	case OP_EXTCODEHASH:
		return account_query(f, op);
	case OP_SELFBALANCE:
		f->host->get_balance(f->ctx, f->sp++, &m->recipient);
		break;
	case OP_BLOCKHASH: {
		/* Only the 256 most recent complete blocks; zero otherwise. */
		struct phr_u256 *top = &f->sp[-1];
		uint64_t cur = evm_tx_context(f)->number;
		if (phr_u256_fits_u64(top) && top->w[0] < cur &&
		    cur - top->w[0] <= BLOCKHASH_WINDOW) {
			struct phr_evm_bytes32 h;
			memset(&h, 0, sizeof(h));
			f->host->get_block_hash(f->ctx, &h, top->w[0]);
			phr_u256_from_be(top, h.bytes);
		} else {
			*top = PHR_U256_ZERO;
		}
		break;
	}
	case OP_BLOBHASH: {
		/* EIP-4844: the index-th versioned hash of the tx, zero past the end. */
		struct phr_u256 *top = &f->sp[-1];
		const struct phr_evm_tx_context *t = evm_tx_context(f);
		if (phr_u256_fits_u64(top) && top->w[0] < t->blob_hashes_count)
			phr_u256_from_be(top, t->blob_hashes[top->w[0]].bytes);
		else
			*top = PHR_U256_ZERO;
		break;
	}
	default: {
		const struct phr_evm_tx_context *t = evm_tx_context(f);
		switch (op) {
		case OP_ORIGIN: push_address(f, &t->origin); break;
		case OP_GASPRICE: *f->sp++ = t->gas_price; break;
		case OP_COINBASE: push_address(f, &t->coinbase); break;
		case OP_TIMESTAMP: push_u64(f, t->timestamp); break;
		case OP_NUMBER: push_u64(f, t->number); break;
		case OP_PREVRANDAO: push_bytes32(f, &t->prevrandao); break;
		case OP_GASLIMIT: push_u64(f, t->gas_limit); break;
		case OP_CHAINID: *f->sp++ = t->chain_id; break;
		case OP_BASEFEE: *f->sp++ = t->base_fee; break;
		case OP_BLOBBASEFEE: *f->sp++ = t->blob_base_fee; break;
		default: return PHR_EVM_UNDEFINED_INSTRUCTION; /* not reached */
		}
		break;
	}
	}
	return PHR_EVM_SUCCESS;
}
