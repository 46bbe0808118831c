/*
 * The interpreter loop: one frame of bytecode. Tables come from the X-macro in
 * opcodes.h; the instructions themselves live in the ops_*.c group files, except
 * the few that are pure stack/pc moves (PUSH, DUP, SWAP, POP, JUMP...), which
 * are done inline here because they are the hottest.
 */
#include "evm_int.h"

#include "phr/core.h"

/* --- the opcode table, expanded ------------------------------------------- */

struct op_info {
	int16_t gas;   /* static gas */
	uint8_t in;    /* stack items required */
	int8_t grow;   /* out - in */
	uint8_t defined;
};

static const struct op_info op_table[256] = {
#define PHR_EVM_OPCODE_INFO(code, name, gas, in, out) [code] = { gas, in, (out) - (in), 1 },
	PHR_EVM_OPCODES(PHR_EVM_OPCODE_INFO)
#undef PHR_EVM_OPCODE_INFO
};

static const char *const op_names[256] = {
#define PHR_EVM_OPCODE_NAME(code, name, gas, in, out) [code] = #name,
	PHR_EVM_OPCODES(PHR_EVM_OPCODE_NAME)
#undef PHR_EVM_OPCODE_NAME
};

const char *phr_evm_opcode_name(uint8_t op)
{
	return op_names[op];
}

const char *phr_evm_status_name(enum phr_evm_status s)
{
	switch (s) {
	case PHR_EVM_SUCCESS: return "success";
	case PHR_EVM_REVERT: return "revert";
	case PHR_EVM_OUT_OF_GAS: return "out of gas";
	case PHR_EVM_INVALID_INSTRUCTION: return "invalid instruction";
	case PHR_EVM_UNDEFINED_INSTRUCTION: return "undefined instruction";
	case PHR_EVM_STACK_OVERFLOW: return "stack overflow";
	case PHR_EVM_STACK_UNDERFLOW: return "stack underflow";
	case PHR_EVM_BAD_JUMP_DESTINATION: return "bad jump destination";
	case PHR_EVM_INVALID_MEMORY_ACCESS: return "invalid memory access";
	case PHR_EVM_STATIC_MODE_VIOLATION: return "static mode violation";
	case PHR_EVM_PRECOMPILE_FAILURE: return "precompile failure";
	case PHR_EVM_CONTRACT_VALIDATION_FAILURE: return "contract validation failure";
	case PHR_EVM_CALL_DEPTH_EXCEEDED: return "call depth exceeded";
	case PHR_EVM_INSUFFICIENT_BALANCE: return "insufficient balance";
	case PHR_EVM_INTERNAL_ERROR: return "internal error";
	}
	return "unknown";
}

void phr_evm_result_release(struct phr_evm_result *r)
{
	if (r->release)
		r->release(r);
	r->release = NULL;
	r->output = NULL;
	r->output_size = 0;
}

static void release_output(struct phr_evm_result *r)
{
	phr_free(r->output);
}

/* --- gas helpers ------------------------------------------------------------ */

/* Yellow paper C_mem(a) = G_memory * a + a^2 / 512, a in words. */
static int64_t mem_cost_words(uint64_t w)
{
	return (int64_t)(GAS_MEMORY_WORD * w + (w * w) / 512);
}

int64_t phr_evm_memory_cost(uint64_t size_bytes)
{
	if (size_bytes > PHR_EVM_MEMORY_LIMIT)
		return INT64_MAX;
	return mem_cost_words(evm_words(size_bytes));
}

int64_t phr_evm_initcode_word_cost(size_t initcode_len)
{
	return GAS_INITCODE_WORD * (int64_t)evm_words(initcode_len);
}

enum phr_evm_status evm_mem_region(struct evm_frame *f, size_t *off, size_t *len,
				   const struct phr_u256 *offset, const struct phr_u256 *size)
{
	*off = 0;
	*len = 0;
	if (phr_u256_is_zero(size))
		return PHR_EVM_SUCCESS;
	if (!phr_u256_fits_u64(offset) || !phr_u256_fits_u64(size))
		return PHR_EVM_OUT_OF_GAS;
	uint64_t o = offset->w[0], s = size->w[0];
	if (o > PHR_EVM_MEMORY_LIMIT || s > PHR_EVM_MEMORY_LIMIT || o + s > PHR_EVM_MEMORY_LIMIT)
		return PHR_EVM_OUT_OF_GAS;
	uint64_t end = o + s;
	if (end > f->mem_size) {
		uint64_t new_words = evm_words(end);
		uint64_t new_size = new_words * 32;
		int64_t cost = mem_cost_words(new_words) - mem_cost_words(f->mem_size / 32);
		if (!evm_charge(f, cost))
			return PHR_EVM_OUT_OF_GAS;
		if (new_size > f->mem_cap) {
			uint64_t cap = f->mem_cap ? f->mem_cap * 2 : 4096;
			while (cap < new_size)
				cap *= 2;
			if (cap > PHR_EVM_MEMORY_LIMIT)
				cap = PHR_EVM_MEMORY_LIMIT;
			uint8_t *m = phr_realloc(f->mem, (size_t)cap);
			if (!m)
				return PHR_EVM_INTERNAL_ERROR;
			f->mem = m;
			f->mem_cap = (size_t)cap;
		}
		memset(f->mem + f->mem_size, 0, (size_t)(new_size - f->mem_size));
		f->mem_size = (size_t)new_size;
	}
	*off = (size_t)o;
	*len = (size_t)s;
	return PHR_EVM_SUCCESS;
}

void evm_word_to_address(struct phr_evm_address *a, const struct phr_u256 *w)
{
	uint8_t be[32];
	phr_u256_to_be(be, w);
	memcpy(a->bytes, be + 12, 20);
}

void evm_address_to_word(struct phr_u256 *w, const struct phr_evm_address *a)
{
	phr_u256_from_be_n(w, a->bytes, 20);
}

const struct phr_evm_tx_context *evm_tx_context(struct evm_frame *f)
{
	if (!f->txc_loaded) {
		memset(&f->txc, 0, sizeof(f->txc));
		f->host->get_tx_context(f->ctx, &f->txc);
		f->txc_loaded = true;
	}
	return &f->txc;
}

void evm_copy_padded(uint8_t *dst, size_t len, const uint8_t *src, size_t src_len,
		     const struct phr_u256 *src_off)
{
	size_t n = 0;
	if (phr_u256_fits_u64(src_off) && src_off->w[0] < src_len) {
		size_t o = (size_t)src_off->w[0];
		n = src_len - o < len ? src_len - o : len;
		memcpy(dst, src + o, n);
	}
	memset(dst + n, 0, len - n);
}

bool evm_charge_account_access(struct evm_frame *f, const struct phr_evm_address *addr)
{
	if (f->host->access_account(f->ctx, addr))
		return true;
	/* EIP-2929: the table charged the warm cost; the cold access costs the rest. */
	return evm_charge(f, GAS_COLD_ACCOUNT - GAS_WARM_ACCESS);
}

/* --- JUMPDEST analysis ------------------------------------------------------ */

static bool analyse_jumpdests(struct evm_frame *f)
{
	f->jumpdests = phr_calloc(f->code_len / 8 + 1, 1);
	if (!f->jumpdests)
		return false;
	for (size_t i = 0; i < f->code_len; i++) {
		uint8_t op = f->code[i];
		if (op == OP_JUMPDEST)
			f->jumpdests[i / 8] |= (uint8_t)(1u << (i % 8));
		else if (op >= OP_PUSH1 && op <= OP_PUSH32)
			i += (size_t)(op - OP_PUSH1 + 1);
	}
	return true;
}

enum phr_evm_status evm_op_jump_target(struct evm_frame *f, const struct phr_u256 *dest)
{
	if (!phr_u256_fits_u64(dest) || dest->w[0] >= f->code_len)
		return PHR_EVM_BAD_JUMP_DESTINATION;
	if (!f->jumpdests && !analyse_jumpdests(f))
		return PHR_EVM_INTERNAL_ERROR;
	size_t d = (size_t)dest->w[0];
	if (!(f->jumpdests[d / 8] & (1u << (d % 8))))
		return PHR_EVM_BAD_JUMP_DESTINATION;
	f->pc = d;
	return PHR_EVM_SUCCESS;
}

/* --- the loop --------------------------------------------------------------- */

static void push_bytes(struct phr_u256 *r, const uint8_t *code, size_t code_len, size_t start,
		       unsigned n)
{
	if (start + n <= code_len) {
		if (n <= 8) {
			uint64_t v = 0;
			for (unsigned i = 0; i < n; i++)
				v = (v << 8) | code[start + i];
			*r = evm_word(v);
		} else if (n == 32) {
			evm_load_word(r, code + start);
		} else {
			phr_u256_from_be_n(r, code + start, n);
		}
		return;
	}
	/* Truncated PUSH at the end of the code: the missing bytes are zero. */
	uint8_t buf[32] = { 0 };
	if (start < code_len)
		memcpy(buf, code + start, code_len - start);
	phr_u256_from_be_n(r, buf, n);
}

/*
 * The loop keeps pc, sp and gas in locals (registers); SAVE() writes them to
 * the frame before an out-of-line instruction and LOAD() reads them back.
 */
#define SAVE() (f->sp = sp, f->gas_left = gas, f->pc = pc)
#define LOAD() (sp = f->sp, gas = f->gas_left, pc = f->pc)
#define OUT_OF_LINE(expr)        \
	do {                     \
		SAVE();          \
		st = (expr);     \
		LOAD();          \
	} while (0)

static enum phr_evm_status run(struct evm_frame *f)
{
	const uint8_t *const code = f->code;
	const size_t code_len = f->code_len;
	struct phr_u256 *const bottom = f->stack;
	struct phr_u256 *sp = f->sp;
	int64_t gas = f->gas_left;
	size_t pc = f->pc;
	enum phr_evm_status st;

	for (;; pc++) {
		if (pc >= code_len) {
			SAVE();
			return PHR_EVM_SUCCESS; /* running off the end is STOP */
		}
		const uint8_t op = code[pc];
		const struct op_info info = op_table[op];
		if (!info.defined)
			return PHR_EVM_UNDEFINED_INSTRUCTION;
		const ptrdiff_t height = sp - bottom;
		if (height < info.in)
			return PHR_EVM_STACK_UNDERFLOW;
		if (height + info.grow > PHR_EVM_STACK_LIMIT)
			return PHR_EVM_STACK_OVERFLOW;
		if ((gas -= info.gas) < 0)
			return PHR_EVM_OUT_OF_GAS;
#ifdef PHR_EVM_TRACE
		/* Debug builds only (-DPHR_EVM_TRACE): one line per instruction. */
		fprintf(stderr, "evm d=%d pc=%zu %s gas=%lld h=%td top=%016llx\n",
			(int)f->msg->depth, pc, op_names[op], (long long)(gas + info.gas), height,
			height ? (unsigned long long)sp[-1].w[0] : 0ull);
#endif
		st = PHR_EVM_SUCCESS;
		switch (op) {
		case OP_STOP:
			SAVE();
			f->halted = true;
			return PHR_EVM_SUCCESS;
		/* The hottest arithmetic inline; the rest in ops_arith.c. */
		case OP_ADD:
			evm_add(&sp[-2], &sp[-1], &sp[-2]);
			sp--;
			break;
		case OP_SUB:
			evm_sub(&sp[-2], &sp[-1], &sp[-2]);
			sp--;
			break;
		case OP_LT:
			sp[-2] = evm_word(evm_lt(&sp[-1], &sp[-2]));
			sp--;
			break;
		case OP_GT:
			sp[-2] = evm_word(evm_lt(&sp[-2], &sp[-1]));
			sp--;
			break;
		case OP_EQ:
			sp[-2] = evm_word(evm_eq(&sp[-1], &sp[-2]));
			sp--;
			break;
		case OP_ISZERO:
			sp[-1] = evm_word(evm_is_zero(&sp[-1]));
			break;
		case OP_AND:
		case OP_OR:
		case OP_XOR:
			for (int i = 0; i < 4; i++) {
				uint64_t a = sp[-1].w[i], b = sp[-2].w[i];
				sp[-2].w[i] = op == OP_AND ? a & b : op == OP_OR ? a | b : a ^ b;
			}
			sp--;
			break;
		case OP_NOT:
			for (int i = 0; i < 4; i++)
				sp[-1].w[i] = ~sp[-1].w[i];
			break;
		case OP_MUL: case OP_DIV: case OP_SDIV: case OP_MOD:
		case OP_SMOD: case OP_ADDMOD: case OP_MULMOD: case OP_EXP: case OP_SIGNEXTEND:
		case OP_SLT: case OP_SGT: case OP_BYTE: case OP_SHL: case OP_SHR: case OP_SAR:
			OUT_OF_LINE(evm_op_arith(f, op));
			break;
		case OP_KECCAK256: OUT_OF_LINE(evm_op_keccak256(f)); break;
		case OP_CALLDATALOAD: OUT_OF_LINE(evm_op_calldataload(f)); break;
		case OP_CALLDATACOPY: OUT_OF_LINE(evm_op_calldatacopy(f)); break;
		case OP_CODECOPY: OUT_OF_LINE(evm_op_codecopy(f)); break;
		case OP_EXTCODECOPY: OUT_OF_LINE(evm_op_extcodecopy(f)); break;
		case OP_RETURNDATACOPY: OUT_OF_LINE(evm_op_returndatacopy(f)); break;
		case OP_ADDRESS: case OP_BALANCE: case OP_ORIGIN: case OP_CALLER:
		case OP_CALLVALUE: case OP_CALLDATASIZE: case OP_CODESIZE: case OP_GASPRICE:
		case OP_EXTCODESIZE: case OP_RETURNDATASIZE: case OP_EXTCODEHASH:
		case OP_BLOCKHASH: case OP_COINBASE: case OP_TIMESTAMP: case OP_NUMBER:
		case OP_PREVRANDAO: case OP_GASLIMIT: case OP_CHAINID: case OP_SELFBALANCE:
		case OP_BASEFEE: case OP_BLOBHASH: case OP_BLOBBASEFEE:
			OUT_OF_LINE(evm_op_env(f, op));
			break;
		case OP_POP:
			sp--;
			break;
		case OP_MLOAD: {
			/* fast path: inside current memory */
			const struct phr_u256 *o = &sp[-1];
			if ((o->w[1] | o->w[2] | o->w[3]) == 0 && o->w[0] <= f->mem_size &&
			    f->mem_size - o->w[0] >= 32) {
				evm_load_word(&sp[-1], f->mem + o->w[0]);
				break;
			}
			OUT_OF_LINE(evm_op_mload(f));
			break;
		}
		case OP_MSTORE: {
			const struct phr_u256 *o = &sp[-1];
			if ((o->w[1] | o->w[2] | o->w[3]) == 0 && o->w[0] <= f->mem_size &&
			    f->mem_size - o->w[0] >= 32) {
				evm_store_word(f->mem + o->w[0], &sp[-2]);
				sp -= 2;
				break;
			}
			OUT_OF_LINE(evm_op_mstore(f));
			break;
		}
		case OP_MSTORE8: OUT_OF_LINE(evm_op_mstore8(f)); break;
		case OP_SLOAD: OUT_OF_LINE(evm_op_sload(f)); break;
		case OP_SSTORE: OUT_OF_LINE(evm_op_sstore(f)); break;
		case OP_JUMP:
			sp--;
			SAVE();
			st = evm_op_jump_target(f, sp);
			if (st != PHR_EVM_SUCCESS)
				return st;
			pc = f->pc - 1; /* the JUMPDEST runs next (pc++ of the loop) */
			continue;
		case OP_JUMPI:
			sp -= 2;
			if (!evm_is_zero(&sp[0])) {
				SAVE();
				st = evm_op_jump_target(f, &sp[1]);
				if (st != PHR_EVM_SUCCESS)
					return st;
				pc = f->pc - 1;
				continue;
			}
			break;
		case OP_PC:
			*sp++ = evm_word(pc);
			break;
		case OP_MSIZE:
			*sp++ = evm_word(f->mem_size);
			break;
		case OP_GAS:
			*sp++ = evm_word((uint64_t)gas);
			break;
		case OP_JUMPDEST:
			break;
		case OP_TLOAD: OUT_OF_LINE(evm_op_tload(f)); break;
		case OP_TSTORE: OUT_OF_LINE(evm_op_tstore(f)); break;
		case OP_MCOPY: OUT_OF_LINE(evm_op_mcopy(f)); break;
		case OP_PUSH0:
			*sp++ = evm_word(0);
			break;
		case OP_LOG0: case OP_LOG1: case OP_LOG2: case OP_LOG3: case OP_LOG4:
			OUT_OF_LINE(evm_op_log(f, (unsigned)(op - OP_LOG0)));
			break;
		case OP_CREATE: case OP_CREATE2:
			OUT_OF_LINE(evm_op_create(f, op));
			break;
		case OP_CALL: case OP_CALLCODE: case OP_DELEGATECALL: case OP_STATICCALL:
			OUT_OF_LINE(evm_op_call(f, op));
			break;
		case OP_RETURN:
			SAVE();
			return evm_op_return(f, false);
		case OP_REVERT:
			SAVE();
			return evm_op_return(f, true);
		case OP_INVALID:
			return PHR_EVM_INVALID_INSTRUCTION;
		case OP_SELFDESTRUCT:
			SAVE();
			return evm_op_selfdestruct(f);
		default:
			if (op >= OP_PUSH1 && op <= OP_PUSH32) {
				unsigned n = (unsigned)(op - OP_PUSH1 + 1);
				push_bytes(sp++, code, code_len, pc + 1, n);
				pc += n;
			} else if (op >= OP_DUP1 && op <= OP_DUP16) {
				unsigned n = (unsigned)(op - OP_DUP1 + 1);
				sp[0] = sp[-(ptrdiff_t)n];
				sp++;
			} else if (op >= OP_SWAP1 && op <= OP_SWAP16) {
				unsigned n = (unsigned)(op - OP_SWAP1 + 1);
				struct phr_u256 t = sp[-1];
				sp[-1] = sp[-1 - (ptrdiff_t)n];
				sp[-1 - (ptrdiff_t)n] = t;
			} else {
				return PHR_EVM_UNDEFINED_INSTRUCTION;
			}
			break;
		}
		if (st != PHR_EVM_SUCCESS)
			return st;
	}
}

void phr_evm_execute(const struct phr_evm_host *host, void *ctx, const struct phr_evm_message *msg,
		     const uint8_t *code, size_t code_len, struct phr_evm_result *out)
{
	memset(out, 0, sizeof(*out));
	struct evm_frame *f = phr_malloc(sizeof(*f));
	if (!f) {
		out->status = PHR_EVM_INTERNAL_ERROR;
		return;
	}
	/* Everything but the stack array, which needs no initialisation. */
	memset(f, 0, offsetof(struct evm_frame, stack));
	f->sp = f->stack;
	f->gas_left = msg->gas < 0 ? 0 : msg->gas;
	f->host = host;
	f->ctx = ctx;
	f->msg = msg;
	f->code = code_len ? code : (const uint8_t *)"";
	f->code_len = code_len;

	enum phr_evm_status st = run(f);
	out->status = st;
	if (st == PHR_EVM_SUCCESS || st == PHR_EVM_REVERT) {
		out->gas_left = f->gas_left;
		out->gas_refund = st == PHR_EVM_SUCCESS ? f->gas_refund : 0;
		if (f->out_size) {
			out->output = phr_malloc(f->out_size);
			if (!out->output) {
				out->status = PHR_EVM_INTERNAL_ERROR;
				out->gas_left = 0;
				out->gas_refund = 0;
			} else {
				memcpy(out->output, f->mem + f->out_off, f->out_size);
				out->output_size = f->out_size;
				out->release = release_output;
			}
		}
	}
	phr_evm_result_release(&f->child);
	phr_free(f->jumpdests);
	phr_free(f->mem);
	phr_free(f);
}
