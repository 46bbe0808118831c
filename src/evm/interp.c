/*
 * The interpreter loop: one frame of bytecode. Tables come from the X-macro in
 * opcodes.h; the instructions themselves live in the ops_*.c group files, except
 * the few that are pure stack/pc moves (PUSH, DUP, SWAP, POP, JUMP...), which
 * are done inline here because they are the hottest.
 */
#include "evm_int.h"

#include "phr/core.h"

/* --- the opcode table, expanded ------------------------------------------- */

/*
 * Per opcode: static gas and the allowed stack heights before it runs,
 * [min_height, max_height_excl): min = items taken, max = 1024 - (out - in) + 1.
 * Undefined opcodes are left zero, an empty range, so one unsigned compare
 * catches underflow, overflow and undefined opcodes alike.
 */
struct op_info {
	int32_t gas;
	uint16_t min_height;
	uint16_t range; /* max_height_excl - min_height */
};

static const struct op_info op_table[256] = {
#define PHR_EVM_OPCODE_INFO(code, name, gas, in, out) \
	[code] = { gas, in, PHR_EVM_STACK_LIMIT - ((out) - (in)) + 1 - (in) },
	PHR_EVM_OPCODES(PHR_EVM_OPCODE_INFO)
#undef PHR_EVM_OPCODE_INFO
};

/* Slow path of the stack check: which failure it is. */
static enum phr_evm_status stack_failure(uint8_t op, ptrdiff_t height)
{
	const struct op_info *i = &op_table[op];
	if (i->range == 0)
		return PHR_EVM_UNDEFINED_INSTRUCTION;
	return height < i->min_height ? PHR_EVM_STACK_UNDERFLOW : PHR_EVM_STACK_OVERFLOW;
}

/* Code is copied with this much zero padding: a PUSH at the very end reads
 * zeros, and running off the end meets a STOP (0x00), so the loop needs no
 * bounds check. */
#define CODE_PADDING 33

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

/* --- JUMPDEST analysis: jumpdest.c (cached per code) ------------------------ */

enum phr_evm_status evm_op_jump_target(struct evm_frame *f, const struct phr_u256 *dest)
{
	if (!evm_fits_u64(dest) || dest->w[0] >= f->code_len)
		return PHR_EVM_BAD_JUMP_DESTINATION;
	if (!f->jumpdests && !(f->jumpdests = evm_jumpdests_get(f->code, f->code_len)))
		return PHR_EVM_INTERNAL_ERROR;
	size_t d = (size_t)dest->w[0];
	if (!(f->jumpdests[d / 8] & (1u << (d % 8))))
		return PHR_EVM_BAD_JUMP_DESTINATION;
	f->pc = d;
	return PHR_EVM_SUCCESS;
}

/* --- the loop --------------------------------------------------------------- */

/* PUSHn: n bytes at p (inside the padded code: 32 bytes can always be read at p, as p is
 * at most the last code byte plus one and the padding is 33 bytes). Up to 8 bytes: one
 * 64-bit load; more: a 32-byte word load shifted right by the bytes past the value. */
static inline void push_bytes(struct phr_u256 *r, const uint8_t *p, unsigned n)
{
	if (n <= 8) {
		*r = evm_word(evm_load_be64(p) >> (8 * (8 - n)));
	} else {
		evm_load_word(r, p);
		if (n < 32)
			evm_shr(r, r, 8 * (32 - n));
	}
}

/*
 * The loop: threaded code (computed goto, a GNU C extension that gcc and clang
 * both have), so every instruction ends with its own copy of the dispatch and
 * the branch predictor sees one indirect jump per handler. pc, sp and gas live
 * in locals; SAVE() writes them to the frame before an out-of-line
 * instruction (the ops_*.c groups) and LOAD() reads them back.
 */
#define SAVE() (f->sp = sp, f->gas_left = gas, f->pc = pc)
#define LOAD() (sp = f->sp, gas = f->gas_left, pc = f->pc)
#define OUT_OF_LINE(expr)                        \
	do {                                     \
		SAVE();                          \
		st = (expr);                     \
		LOAD();                          \
		if (st != PHR_EVM_SUCCESS)       \
			goto out;                \
	} while (0)
#define FAIL(status)                             \
	do {                                     \
		st = (status);                   \
		goto out;                        \
	} while (0)

#ifdef PHR_EVM_TRACE
#define TRACE()                                                                                    \
	fprintf(stderr, "evm d=%d pc=%zu %s gas=%lld h=%td top=%016llx\n", (int)f->msg->depth, pc, \
		op_names[op], (long long)(gas + op_table[op].gas), sp - bottom,                    \
		sp > bottom ? (unsigned long long)sp[-1].w[0] : 0ull)
#else
#define TRACE() ((void)0)
#endif

/* Fetch, check (table: defined, stack in/out, static gas) and jump. */
#define DISPATCH()                                                     \
	do {                                                           \
		op = code[pc];                                         \
		info = &op_table[op];                                  \
		height = sp - bottom;                                  \
		if ((size_t)(height - info->min_height) >= info->range) \
			FAIL(stack_failure(op, height));               \
		if ((gas -= info->gas) < 0)                            \
			FAIL(PHR_EVM_OUT_OF_GAS);                      \
		TRACE();                                               \
		goto *labels[op];                                      \
	} while (0)
#define NEXT()            \
	do {              \
		pc++;     \
		DISPATCH(); \
	} while (0)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#ifdef __clang__
#pragma clang diagnostic ignored "-Wgnu-label-as-value"
#endif

/* Keep one dispatch per handler: gcc would otherwise merge the copies
 * (cross-jumping) and its GCSE hurts computed goto (gcc manual, -fno-gcse). */
#if defined(__GNUC__) && !defined(__clang__)
#define PHR_EVM_DISPATCH_ATTR __attribute__((optimize("no-crossjumping", "no-gcse")))
#else
#define PHR_EVM_DISPATCH_ATTR
#endif

PHR_EVM_DISPATCH_ATTR static enum phr_evm_status run(struct evm_frame *f)
{
	static const void *const labels[256] = {
#define PHR_EVM_OPCODE_LABEL(code, name, gas, in, out) [code] = &&L_##name,
		PHR_EVM_OPCODES(PHR_EVM_OPCODE_LABEL)
#undef PHR_EVM_OPCODE_LABEL
	};
	const uint8_t *const code = f->code;
	struct phr_u256 *const bottom = f->stack;
	struct phr_u256 *sp = f->sp;
	int64_t gas = f->gas_left;
	size_t pc = f->pc;
	enum phr_evm_status st = PHR_EVM_SUCCESS;
	/* Declared once: the dispatch is repeated in every handler, and locals
	 * declared inside it would each get a stack slot in unoptimised builds. */
	uint8_t op;
	const struct op_info *info;
	ptrdiff_t height;
	struct phr_u256 tmp;

	DISPATCH();

L_STOP: /* also reached by running off the end (the padding) */
	SAVE();
	f->halted = true;
	return PHR_EVM_SUCCESS;

/* The hottest arithmetic inline; the rest in ops_arith.c. */
L_ADD:
	evm_add(&sp[-2], &sp[-1], &sp[-2]);
	sp--;
	NEXT();
L_SUB:
	evm_sub(&sp[-2], &sp[-1], &sp[-2]);
	sp--;
	NEXT();
L_LT:
	sp[-2] = evm_word(evm_lt(&sp[-1], &sp[-2]));
	sp--;
	NEXT();
L_GT:
	sp[-2] = evm_word(evm_lt(&sp[-2], &sp[-1]));
	sp--;
	NEXT();
L_EQ:
	sp[-2] = evm_word(evm_eq(&sp[-1], &sp[-2]));
	sp--;
	NEXT();
L_ISZERO:
	sp[-1] = evm_word(evm_is_zero(&sp[-1]));
	NEXT();
L_AND:
	for (int i = 0; i < 4; i++)
		sp[-2].w[i] &= sp[-1].w[i];
	sp--;
	NEXT();
L_OR:
	for (int i = 0; i < 4; i++)
		sp[-2].w[i] |= sp[-1].w[i];
	sp--;
	NEXT();
L_XOR:
	for (int i = 0; i < 4; i++)
		sp[-2].w[i] ^= sp[-1].w[i];
	sp--;
	NEXT();
L_NOT:
	for (int i = 0; i < 4; i++)
		sp[-1].w[i] = ~sp[-1].w[i];
	NEXT();
L_MUL:
	evm_mul(&sp[-2], &sp[-1], &sp[-2]);
	sp--;
	NEXT();
L_SHL:
L_SHR: /* EIP-145; a shift of 256 or more gives 0 */
	if (!evm_fits_u64(&sp[-1]) || sp[-1].w[0] >= 256)
		sp[-2] = evm_word(0);
	else if (op == OP_SHL)
		evm_shl(&sp[-2], &sp[-2], (unsigned)sp[-1].w[0]);
	else
		evm_shr(&sp[-2], &sp[-2], (unsigned)sp[-1].w[0]);
	sp--;
	NEXT();
L_DIV:
L_MOD:
	/* both operands in 64 bits: native division (divisor 0 gives 0) */
	if (evm_fits_u64(&sp[-1]) && evm_fits_u64(&sp[-2])) {
		uint64_t a = sp[-1].w[0], b = sp[-2].w[0];
		sp[-2] = evm_word(b == 0 ? 0 : op == OP_DIV ? a / b : a % b);
		sp--;
		NEXT();
	}
	OUT_OF_LINE(evm_op_arith(f, op));
	NEXT();
L_SLT:
	sp[-2] = evm_word(evm_slt(&sp[-1], &sp[-2]));
	sp--;
	NEXT();
L_SGT:
	sp[-2] = evm_word(evm_slt(&sp[-2], &sp[-1]));
	sp--;
	NEXT();
L_SDIV:
L_SMOD: {
	/* both operands small signed values: native arithmetic */
	int64_t a, b;
	if (evm_small_signed(&sp[-1], &a) && evm_small_signed(&sp[-2], &b) && b != 0 &&
	    !(a == INT64_MIN && b == -1)) {
		evm_set_signed(&sp[-2], op == OP_SDIV ? a / b : a % b);
		sp--;
		NEXT();
	}
	OUT_OF_LINE(evm_op_arith(f, op));
	NEXT();
}
L_ADDMOD:
	/* the usual case, both addends already reduced: one conditional subtract */
	if (evm_lt(&sp[-1], &sp[-3]) && evm_lt(&sp[-2], &sp[-3])) {
		evm_addmod_reduced(&sp[-3], &sp[-1], &sp[-2], &sp[-3]);
		sp -= 2;
		NEXT();
	}
	OUT_OF_LINE(evm_op_arith(f, op));
	NEXT();
L_MULMOD: L_EXP: L_SIGNEXTEND: L_BYTE: L_SAR:
	OUT_OF_LINE(evm_op_arith(f, op));
	NEXT();
L_KECCAK256:
	OUT_OF_LINE(evm_op_keccak256(f));
	NEXT();
L_CALLDATALOAD:
	OUT_OF_LINE(evm_op_calldataload(f));
	NEXT();
L_CALLDATACOPY:
	OUT_OF_LINE(evm_op_calldatacopy(f));
	NEXT();
L_CODECOPY:
	OUT_OF_LINE(evm_op_codecopy(f));
	NEXT();
L_EXTCODECOPY:
	OUT_OF_LINE(evm_op_extcodecopy(f));
	NEXT();
L_RETURNDATACOPY:
	OUT_OF_LINE(evm_op_returndatacopy(f));
	NEXT();
L_ADDRESS: L_BALANCE: L_ORIGIN: L_CALLER: L_CALLVALUE: L_CALLDATASIZE: L_CODESIZE:
L_GASPRICE: L_EXTCODESIZE: L_RETURNDATASIZE: L_EXTCODEHASH: L_BLOCKHASH: L_COINBASE:
L_TIMESTAMP: L_NUMBER: L_PREVRANDAO: L_GASLIMIT: L_CHAINID: L_SELFBALANCE: L_BASEFEE:
L_BLOBHASH: L_BLOBBASEFEE:
	OUT_OF_LINE(evm_op_env(f, op));
	NEXT();
L_POP:
	sp--;
	NEXT();
L_MLOAD: {
	/* fast path: inside current memory */
	const struct phr_u256 *o = &sp[-1];
	if ((o->w[1] | o->w[2] | o->w[3]) == 0 && o->w[0] <= f->mem_size &&
	    f->mem_size - o->w[0] >= 32)
		evm_load_word(&sp[-1], f->mem + o->w[0]);
	else
		OUT_OF_LINE(evm_op_mload(f));
	NEXT();
}
L_MSTORE: {
	const struct phr_u256 *o = &sp[-1];
	if ((o->w[1] | o->w[2] | o->w[3]) == 0 && o->w[0] <= f->mem_size &&
	    f->mem_size - o->w[0] >= 32) {
		evm_store_word(f->mem + o->w[0], &sp[-2]);
		sp -= 2;
	} else {
		OUT_OF_LINE(evm_op_mstore(f));
	}
	NEXT();
}
L_MSTORE8:
	OUT_OF_LINE(evm_op_mstore8(f));
	NEXT();
L_SLOAD:
	OUT_OF_LINE(evm_op_sload(f));
	NEXT();
L_SSTORE:
	OUT_OF_LINE(evm_op_sstore(f));
	NEXT();
L_JUMP:
	sp--;
	SAVE();
	st = evm_op_jump_target(f, sp);
	if (st != PHR_EVM_SUCCESS)
		goto out;
	pc = f->pc; /* the JUMPDEST runs next */
	DISPATCH();
L_JUMPI:
	sp -= 2;
	if (!evm_is_zero(&sp[0])) {
		SAVE();
		st = evm_op_jump_target(f, &sp[1]);
		if (st != PHR_EVM_SUCCESS)
			goto out;
		pc = f->pc;
		DISPATCH();
	}
	NEXT();
L_PC:
	*sp++ = evm_word(pc);
	NEXT();
L_MSIZE:
	*sp++ = evm_word(f->mem_size);
	NEXT();
L_GAS:
	*sp++ = evm_word((uint64_t)gas);
	NEXT();
L_JUMPDEST:
	NEXT();
L_TLOAD:
	OUT_OF_LINE(evm_op_tload(f));
	NEXT();
L_TSTORE:
	OUT_OF_LINE(evm_op_tstore(f));
	NEXT();
L_MCOPY:
	OUT_OF_LINE(evm_op_mcopy(f));
	NEXT();
L_PUSH0:
	*sp++ = evm_word(0);
	NEXT();
L_PUSH1: L_PUSH2: L_PUSH3: L_PUSH4: L_PUSH5: L_PUSH6: L_PUSH7: L_PUSH8: L_PUSH9: L_PUSH10: L_PUSH11: L_PUSH12: L_PUSH13: L_PUSH14: L_PUSH15: L_PUSH16: L_PUSH17: L_PUSH18: L_PUSH19: L_PUSH20: L_PUSH21: L_PUSH22: L_PUSH23: L_PUSH24: L_PUSH25: L_PUSH26: L_PUSH27: L_PUSH28: L_PUSH29: L_PUSH30: L_PUSH31: L_PUSH32: {
	unsigned n = (unsigned)(op - OP_PUSH1 + 1);
	push_bytes(sp++, code + pc + 1, n);
	pc += n;
	NEXT();
}
L_DUP1: L_DUP2: L_DUP3: L_DUP4: L_DUP5: L_DUP6: L_DUP7: L_DUP8: L_DUP9: L_DUP10: L_DUP11: L_DUP12: L_DUP13: L_DUP14: L_DUP15: L_DUP16: {
	unsigned n = (unsigned)(op - OP_DUP1 + 1);
	sp[0] = sp[-(ptrdiff_t)n];
	sp++;
	NEXT();
}
L_SWAP1: L_SWAP2: L_SWAP3: L_SWAP4: L_SWAP5: L_SWAP6: L_SWAP7: L_SWAP8: L_SWAP9: L_SWAP10: L_SWAP11: L_SWAP12: L_SWAP13: L_SWAP14: L_SWAP15: L_SWAP16: {
	unsigned n = (unsigned)(op - OP_SWAP1 + 1);
	tmp = sp[-1];
	sp[-1] = sp[-1 - (ptrdiff_t)n];
	sp[-1 - (ptrdiff_t)n] = tmp;
	NEXT();
}
L_LOG0: L_LOG1: L_LOG2: L_LOG3: L_LOG4:
	OUT_OF_LINE(evm_op_log(f, (unsigned)(op - OP_LOG0)));
	NEXT();
L_CREATE: L_CREATE2:
	OUT_OF_LINE(evm_op_create(f, op));
	NEXT();
L_CALL: L_CALLCODE: L_DELEGATECALL: L_STATICCALL:
	OUT_OF_LINE(evm_op_call(f, op));
	NEXT();
L_RETURN:
	SAVE();
	return evm_op_return(f, false);
L_REVERT:
	SAVE();
	return evm_op_return(f, true);
L_INVALID:
	FAIL(PHR_EVM_INVALID_INSTRUCTION);
L_SELFDESTRUCT:
	SAVE();
	return evm_op_selfdestruct(f);

out:
	return st;
}

#pragma GCC diagnostic pop

void phr_evm_execute(const struct phr_evm_host *host, void *ctx, const struct phr_evm_message *msg,
		     const uint8_t *code, size_t code_len, struct phr_evm_result *out)
{
	memset(out, 0, sizeof(*out));
	if (code_len > SIZE_MAX - sizeof(struct evm_frame) - CODE_PADDING) {
		out->status = PHR_EVM_INTERNAL_ERROR;
		return;
	}
	struct evm_frame *f = phr_malloc(sizeof(*f) + code_len + CODE_PADDING);
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
	uint8_t *padded = (uint8_t *)(f + 1);
	if (code_len)
		memcpy(padded, code, code_len);
	memset(padded + code_len, 0, CODE_PADDING);
	f->code = padded;
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
