/**
 * @file evm.h
 * @brief The phr EVM interpreter (module `evm`), Cancun rules, EVMC-style.
 *
 * The interpreter executes ONE call frame of bytecode. Everything that touches
 * state (accounts, balances, code, storage, logs, nested calls and creates) goes
 * through a host function table, struct phr_evm_host, implemented by the state
 * engine (src/chain/). The EVM never knows how state is stored.
 *
 * Split of responsibilities (the evmone/EVMC split):
 *
 * The INTERPRETER (phr_evm_execute) does:
 *  - every opcode and its static gas; memory expansion gas (3 per word +
 *    words^2/512); copy gas (3 per word); KECCAK256 word gas (6 per word);
 *    EXP byte gas (50 per byte of exponent); LOG gas (375 + 375/topic + 8/byte);
 *  - EIP-2929 warm/cold surcharges, asking the host access_account /
 *    access_storage whether the item was already warm (the host records it);
 *  - EIP-2200/EIP-3529 SSTORE gas and refunds (from the original and current
 *    values the host's set_storage reports), including the "gas left <= 2300"
 *    check (EIP-2200 sentry);
 *  - CALL-family charges: EIP-2929 cold account cost, 9000 for a value
 *    transfer, 25000 for a value transfer to an account that does not exist
 *    (EIP-161: "empty" as reported by account_exists), memory for input and
 *    output areas, the 63/64 rule (EIP-150), the 2300 stipend added to the
 *    child's gas when value is non-zero;
 *  - CREATE/CREATE2 charges: 32000, EIP-3860 initcode word gas (2 per word) and
 *    the 49152-byte initcode limit (exceptional halt), CREATE2 hashing gas (6
 *    per word), the 63/64 rule;
 *  - the call depth limit (1024) and the caller's balance check for
 *    value-carrying CALL/CALLCODE/CREATE/CREATE2: when either fails the
 *    interpreter does NOT call the host, pushes 0 and keeps the child's gas
 *    (stipend excluded), exactly as the yellow paper says;
 *  - static-context violations (SSTORE, TSTORE, LOG*, CREATE*, SELFDESTRUCT,
 *    CALL with non-zero value inside STATICCALL);
 *  - SELFDESTRUCT gas (5000, cold beneficiary 2600, 25000 when value is sent
 *    to a non-existent account); no refund (EIP-3529);
 *  - the return-data buffer, RETURNDATACOPY bounds (exceptional halt), revert
 *    data, JUMPDEST analysis, stack limits (1024 items).
 *
 * The HOST (callbacks, in particular host->call) does:
 *  - value transfer, nonce increment of the creator, create address derivation
 *    (CREATE: keccak(rlp(sender, nonce)); CREATE2: keccak(0xff ++ sender ++
 *    salt ++ keccak(initcode))), address collision checks, account creation,
 *    nonce overflow;
 *  - running the child frame (calling phr_evm_execute with the code of
 *    msg->code_address, or for a create, msg->input as initcode);
 *  - precompile dispatch (include/phr/precompile.h) for CALL targets 0x01..0x0a;
 *  - after initcode succeeds: EIP-3541 (code starting with 0xEF is rejected),
 *    EIP-170 (code larger than 24576 bytes is rejected), code deposit gas
 *    (200 per byte, charged from the child's gas_left; not enough gas fails
 *    the create with all gas consumed);
 *  - snapshots and reverts of state changes (journal) for failed or reverted
 *    frames, warm sets (EIP-2929 access lists are part of the journal),
 *    transient storage (EIP-1153, reverted with the frame too);
 *  - EIP-6780 SELFDESTRUCT semantics: transfer the balance to the beneficiary
 *    now, delete the account at the end of the transaction only if it was
 *    created in the same transaction;
 *  - transaction-level rules: intrinsic gas, the refund cap (gas_used/5,
 *    EIP-3529), fee payment, warm-up of origin/recipient/coinbase (EIP-3651)/
 *    precompiles/access list, and the top-level message at depth 0.
 *
 * Threading: phr_evm_execute keeps no global mutable state; frames on
 * different threads with different hosts may run concurrently.
 */
#ifndef PHR_EVM_H
#define PHR_EVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A 20-byte Ethereum address. */
struct phr_evm_address {
	uint8_t bytes[20];
};

/** A 32-byte big-endian word (hashes, salts, prevrandao). */
struct phr_evm_bytes32 {
	uint8_t bytes[32];
};

/** Maximum call depth (yellow paper: a message at depth 1024 may not call). */
#define PHR_EVM_MAX_DEPTH 1024
/** Maximum stack height. */
#define PHR_EVM_STACK_LIMIT 1024
/** EIP-170 maximum deployed code size (checked by the host). */
#define PHR_EVM_MAX_CODE_SIZE 24576
/** EIP-3860 maximum initcode size (checked by the interpreter for CREATE*,
 *  and by the host for creation transactions). */
#define PHR_EVM_MAX_INITCODE_SIZE 49152
/** Code deposit cost per byte (charged by the host). */
#define PHR_EVM_CODE_DEPOSIT_GAS 200
/** Stipend given to the callee of a value-carrying CALL/CALLCODE. */
#define PHR_EVM_CALL_STIPEND 2300
/**
 * Hard limit on a frame's memory, in bytes. An expansion beyond this is an
 * out-of-gas halt: its gas cost (more than 2^41 gas) could never be paid
 * within any realistic block gas limit, so this only bounds allocations.
 */
#define PHR_EVM_MEMORY_LIMIT ((uint64_t)1 << 30)

/** Kind of a message (frame). */
enum phr_evm_call_kind {
	PHR_EVM_CALL = 0,
	/** Code of code_address runs in the caller's context (sender/value kept). */
	PHR_EVM_DELEGATECALL = 1,
	/** Code of code_address runs with recipient = the caller. */
	PHR_EVM_CALLCODE = 2,
	/** A CALL with value 0 and is_static set; the host treats it as a CALL. */
	PHR_EVM_STATICCALL = 3,
	/** CREATE: input is the initcode; the host derives the address. */
	PHR_EVM_CREATE = 4,
	/** CREATE2: input is the initcode, create2_salt the salt. */
	PHR_EVM_CREATE2 = 5,
};

/** Outcome of a frame. Anything but SUCCESS and REVERT consumes all gas. */
enum phr_evm_status {
	PHR_EVM_SUCCESS = 0,
	/** REVERT: state changes undone, gas_left returned, output = revert data. */
	PHR_EVM_REVERT = 1,
	PHR_EVM_OUT_OF_GAS = 2,
	/** The designated INVALID opcode 0xFE. */
	PHR_EVM_INVALID_INSTRUCTION = 3,
	/** An opcode not defined in Cancun. */
	PHR_EVM_UNDEFINED_INSTRUCTION = 4,
	PHR_EVM_STACK_OVERFLOW = 5,
	PHR_EVM_STACK_UNDERFLOW = 6,
	PHR_EVM_BAD_JUMP_DESTINATION = 7,
	/** RETURNDATACOPY past the end of the return data buffer. */
	PHR_EVM_INVALID_MEMORY_ACCESS = 8,
	/** A state change inside a static context. */
	PHR_EVM_STATIC_MODE_VIOLATION = 9,
	/** Host only: a precompile rejected its input. */
	PHR_EVM_PRECOMPILE_FAILURE = 10,
	/** Host only: EIP-3541 / EIP-170 / code deposit out of gas / address
	 *  collision / nonce overflow during a create. */
	PHR_EVM_CONTRACT_VALIDATION_FAILURE = 11,
	/** Host only: depth or balance failure detected by the host itself
	 *  (the interpreter normally checks these before calling). */
	PHR_EVM_CALL_DEPTH_EXCEEDED = 12,
	PHR_EVM_INSUFFICIENT_BALANCE = 13,
	/** Not a consensus outcome: memory allocation failed or a host bug.
	 *  The caller should abort the whole transaction/block. */
	PHR_EVM_INTERNAL_ERROR = 14,
};

/** @return a static name for @p s ("success", "revert", "out of gas"...). */
const char *phr_evm_status_name(enum phr_evm_status s);

/** One message (call frame). */
struct phr_evm_message {
	enum phr_evm_call_kind kind;
	/** Static context (inherited by every nested frame). */
	bool is_static;
	/** 0 for the transaction's top-level frame, +1 per nesting. */
	int32_t depth;
	/** Gas available to the frame (>= 0). */
	int64_t gas;
	/** The account whose storage/balance the code acts on (ADDRESS).
	 *  For CREATE/CREATE2 sent by the interpreter it is unset (zero): the host
	 *  fills in the derived address when it runs the initcode. */
	struct phr_evm_address recipient;
	/** CALLER. */
	struct phr_evm_address sender;
	/** Account whose code runs (differs from recipient for DELEGATECALL and
	 *  CALLCODE); unset for creates. */
	struct phr_evm_address code_address;
	/** CALLVALUE (for DELEGATECALL: the parent's value, nothing transferred). */
	struct phr_u256 value;
	/** Call data, or the initcode for creates. Borrowed for the call. */
	const uint8_t *input;
	size_t input_size;
	/** CREATE2 salt. */
	struct phr_evm_bytes32 create2_salt;
};

/** Result of a frame (or of a host call). */
struct phr_evm_result {
	enum phr_evm_status status;
	/** Gas left; 0 for every status other than SUCCESS and REVERT. */
	int64_t gas_left;
	/** SSTORE refund accumulated by this frame and its successful children
	 *  (may be negative within a frame, EIP-2200); 0 unless SUCCESS. */
	int64_t gas_refund;
	/** RETURN/REVERT data (NULL when empty). Owned by the result: release with
	 *  phr_evm_result_release(). For a successful create, the deployed code
	 *  as returned by the initcode (the host deposits it). */
	uint8_t *output;
	size_t output_size;
	/** How to free output (set by whoever filled the result; NULL = nothing
	 *  to free). Hosts returning a buffer of their own set their own. */
	void (*release)(struct phr_evm_result *r);
	/** For a create answered by the host: the new contract's address
	 *  (zero on failure). */
	struct phr_evm_address create_address;
};

/** Frees r->output through r->release (if any) and clears output/size/release.
 *  Safe on a zeroed result and safe to call twice. */
void phr_evm_result_release(struct phr_evm_result *r);

/** Block and transaction values, filled by the host's get_tx_context. */
struct phr_evm_tx_context {
	/** ORIGIN. */
	struct phr_evm_address origin;
	/** GASPRICE (effective gas price). */
	struct phr_u256 gas_price;
	/** COINBASE. */
	struct phr_evm_address coinbase;
	/** NUMBER, TIMESTAMP, GASLIMIT. */
	uint64_t number;
	uint64_t timestamp;
	uint64_t gas_limit;
	/** PREVRANDAO (EIP-4399), big-endian. */
	struct phr_evm_bytes32 prevrandao;
	/** CHAINID. */
	struct phr_u256 chain_id;
	/** BASEFEE (EIP-3198). */
	struct phr_u256 base_fee;
	/** BLOBBASEFEE (EIP-7516). */
	struct phr_u256 blob_base_fee;
	/** BLOBHASH (EIP-4844) versioned hashes of the transaction; borrowed,
	 *  valid for the whole transaction. */
	const struct phr_evm_bytes32 *blob_hashes;
	size_t blob_hashes_count;
};

/**
 * The host function table. Every function gets the @c ctx given to
 * phr_evm_execute. None may fail: a host that hits an internal error (e.g. a
 * database error) should remember it in its context, answer something
 * harmless (zero / false) and abort the transaction after the frame returns.
 *
 * Addresses are those of the accounts as the EVM sees them. All "get"
 * functions are for the current state (including this transaction's writes).
 */
struct phr_evm_host {
	/** EIP-161: does @p addr exist and is it non-empty (nonce, balance or code
	 *  non-zero)? Used for the 25000 new-account surcharges. */
	bool (*account_exists)(void *ctx, const struct phr_evm_address *addr);
	/** Balance of @p addr (0 if absent) into @p out. */
	void (*get_balance)(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr);
	/** Size of the code of @p addr (0 if absent). */
	size_t (*get_code_size)(void *ctx, const struct phr_evm_address *addr);
	/** EIP-1052 code hash of @p addr into @p out: all zero if the account does
	 *  not exist or is empty (EIP-161), keccak256("") for an existing account
	 *  without code. */
	void (*get_code_hash)(void *ctx, struct phr_evm_bytes32 *out,
			      const struct phr_evm_address *addr);
	/** Copies up to @p len bytes of the code of @p addr from @p offset into
	 *  @p buf; @return the number of bytes copied (0 past the end). The
	 *  interpreter zero-fills the rest. */
	size_t (*copy_code)(void *ctx, uint8_t *buf, size_t len,
			    const struct phr_evm_address *addr, size_t offset);
	/** Current value of storage slot @p key of @p addr into @p out (0 if unset). */
	void (*get_storage)(void *ctx, struct phr_u256 *out, const struct phr_evm_address *addr,
			    const struct phr_u256 *key);
	/**
	 * Writes storage slot @p key of @p addr := @p value, and reports the
	 * slot's @p original value (at the start of the transaction) and its
	 * @p current value (just before this write), from which the interpreter
	 * computes EIP-2200/3529 gas and refunds. Called only after the
	 * interpreter checked the static context and the 2300 sentry; the write
	 * happens even if the frame then runs out of gas (the host's frame
	 * snapshot undoes it).
	 */
	void (*set_storage)(void *ctx, struct phr_u256 *original, struct phr_u256 *current,
			    const struct phr_evm_address *addr, const struct phr_u256 *key,
			    const struct phr_u256 *value);
	/** EIP-1153 TLOAD: transient slot @p key of @p addr into @p out. */
	void (*get_transient_storage)(void *ctx, struct phr_u256 *out,
				      const struct phr_evm_address *addr,
				      const struct phr_u256 *key);
	/** EIP-1153 TSTORE (journaled by the host, reverted with the frame). */
	void (*set_transient_storage)(void *ctx, const struct phr_evm_address *addr,
				      const struct phr_u256 *key, const struct phr_u256 *value);
	/** EIP-2929: marks @p addr warm; @return whether it was ALREADY warm. */
	bool (*access_account)(void *ctx, const struct phr_evm_address *addr);
	/** EIP-2929: marks slot (@p addr, @p key) warm; @return whether it was
	 *  ALREADY warm. */
	bool (*access_storage)(void *ctx, const struct phr_evm_address *addr,
			       const struct phr_u256 *key);
	/**
	 * SELFDESTRUCT of @p addr to @p beneficiary (EIP-6780): move the whole
	 * balance of @p addr to @p beneficiary now (when they are the same
	 * account the balance stays, unless the account is deleted, which burns
	 * it); schedule deletion at the end of the transaction only if @p addr
	 * was created in this transaction. @return true the first time @p addr self-destructs in this
	 * transaction (informational; there is no refund since EIP-3529).
	 */
	bool (*selfdestruct)(void *ctx, const struct phr_evm_address *addr,
			     const struct phr_evm_address *beneficiary);
	/** LOG0..LOG4 by @p addr: @p data (borrowed, may be NULL when empty) and
	 *  @p topics_count topics (borrowed). */
	void (*emit_log)(void *ctx, const struct phr_evm_address *addr, const uint8_t *data,
			 size_t data_size, const struct phr_evm_bytes32 *topics,
			 size_t topics_count);
	/**
	 * Executes a nested message (CALL family or CREATE/CREATE2) and fills
	 * @p out (the caller releases it with phr_evm_result_release). @p msg and
	 * msg->input are borrowed for the call. The interpreter has already
	 * charged all gas of the call except msg->gas, checked the depth and the
	 * balance; the host snapshots state, transfers value, dispatches
	 * precompiles, runs code by calling phr_evm_execute, deposits code, and
	 * reverts on failure. out->gas_left must be within [0, msg->gas].
	 * The interpreter treats every status other than SUCCESS and REVERT as
	 * having consumed all of msg->gas and discards any output with it; a
	 * failure that must give the gas back (a create whose sender nonce is
	 * at 2^64-1, EIP-2681) is answered as REVERT with no output and
	 * gas_left = msg->gas. A create's output after SUCCESS is ignored (the
	 * return data buffer is empty after a successful create).
	 */
	void (*call)(void *ctx, struct phr_evm_result *out, const struct phr_evm_message *msg);
	/** Fills the block and transaction values. */
	void (*get_tx_context)(void *ctx, struct phr_evm_tx_context *out);
	/** BLOCKHASH of block @p number into @p out (the interpreter only asks for
	 *  the 256 blocks before the current one; zero if unknown). */
	void (*get_block_hash)(void *ctx, struct phr_evm_bytes32 *out, uint64_t number);
};

/**
 * Executes one frame: @p code with message @p msg against @p host.
 *
 * @param[in]  host     host table (every member must be set).
 * @param[in]  ctx      passed to every host function.
 * @param[in]  msg      the message; msg->gas >= 0.
 * @param[in]  code     bytecode (borrowed for the call; may be NULL if empty).
 * @param[in]  code_len its length.
 * @param[out] out      the result; always filled (never left uninitialised).
 *                      The caller must phr_evm_result_release(out).
 *
 * Out of gas, revert and every exceptional halt are statuses in @p out, not
 * errors. PHR_EVM_INTERNAL_ERROR means allocation failed.
 */
void phr_evm_execute(const struct phr_evm_host *host, void *ctx, const struct phr_evm_message *msg,
		     const uint8_t *code, size_t code_len, struct phr_evm_result *out);

/**
 * Memory expansion cost helper (yellow paper C_mem): the gas to grow memory
 * from nothing to @p size_bytes, i.e. 3*w + w*w/512 with w = ceil(size/32).
 * Useful to hosts (e.g. intrinsic-like precomputations) and tests.
 * @return the cost, or INT64_MAX if @p size_bytes exceeds PHR_EVM_MEMORY_LIMIT.
 */
int64_t phr_evm_memory_cost(uint64_t size_bytes);

/**
 * EIP-3860 / EIP-2028 helper for the host's intrinsic gas of a creation
 * transaction: 2 gas per 32-byte word of initcode (rounded up).
 */
int64_t phr_evm_initcode_word_cost(size_t initcode_len);

/** @return the mnemonic of opcode @p op ("ADD", "PUSH1"...) or NULL if it is
 *  undefined in Cancun. */
const char *phr_evm_opcode_name(uint8_t op);

#ifdef __cplusplus
}
#endif
#endif
