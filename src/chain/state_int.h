/*
 * Internals of the world state shared by state.c (accounts, storage,
 * journal, commit) and state_exec.c (EVM host, transaction transition).
 */
#ifndef PHR_STATE_INT_H
#define PHR_STATE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "phr/evm.h"
#include "phr/state.h"
#include "phr/trie.h"

struct st_slot {
	uint8_t key[32];
	uint8_t cur[32];       /* current value */
	uint8_t orig[32];      /* value at the start of the transaction (EIP-2200) */
	bool used;             /* hash-table cell in use */
	bool warm;             /* EIP-2929 */
	bool dirty;            /* changed since the last commit */
};

struct st_account {
	uint8_t addr[20];
	bool exists;
	bool warm;
	bool created;      /* created in the current transaction (EIP-6780) */
	bool destructed;   /* self-destructed in the current transaction */
	bool touched;      /* EIP-161 touch in the current transaction */
	bool in_dirty;     /* listed in st->dirty since the last commit */
	bool code_dirty;   /* code changed since the last commit */
	bool wiped;        /* storage wiped since the last commit */
	bool storage_known;/* the backend is not asked for slots (new/wiped accounts) */
	bool strie_built;  /* strie holds every slot (backend slots enumerated) */
	uint64_t nonce;
	struct phr_u256 balance;
	uint8_t *code;
	size_t code_len;
	uint8_t code_hash[32];
	uint8_t storage_root[32]; /* at the last commit (or from the backend) */
	/* storage: open addressing on the key */
	struct st_slot *slots;
	size_t slots_cap, slots_used;
	/* keys of the dirty slots, so a commit costs the changed slots, not
	 * every cached one */
	uint8_t (*dkeys)[32];
	size_t dkeys_len, dkeys_cap;
	bool dkeys_lost;   /* the list could not grow: the commit scans every slot */
	struct phr_trie *strie;
};

enum st_jkind {
	J_BALANCE,
	J_NONCE,
	J_CODE,
	J_STORAGE,
	J_TSTORE,
	J_WARM_ACC,
	J_WARM_SLOT,
	J_CREATE,
	J_DESTRUCT,
	J_TOUCH,
	J_EXISTS,
};

struct st_jentry {
	uint8_t kind;
	bool b1, b2; /* saved flags of J_CREATE: exists, created */
	struct st_account *acc;
	uint8_t key[32];
	union {
		struct phr_u256 balance;
		uint64_t nonce;
		uint8_t val[32];
	} u;
};

struct st_tslot {
	uint8_t addr[20];
	uint8_t key[32];
	uint8_t val[32];
	bool used;
};

/*
 * Read set of one execution (the call memo, src/chain/callmemo.c): every
 * account the EVM looked up (balance, nonce, code, storage, existence) and
 * the block values it may have read. A superset is always sound.
 */
#define PHR_ST_RS_MAX 48
enum {
	PHR_ST_ENV_NUMBER = 1u << 0,    /* NUMBER, BLOCKHASH, PREVRANDAO */
	PHR_ST_ENV_TIMESTAMP = 1u << 1,
	PHR_ST_ENV_BASEFEE = 1u << 2,   /* BASEFEE, GASPRICE */
	PHR_ST_ENV_GASLIMIT = 1u << 3,
	PHR_ST_ENV_COINBASE = 1u << 4,
	PHR_ST_ENV_CHAINID = 1u << 5,
	PHR_ST_ENV_BLOBFEE = 1u << 6,   /* BLOBBASEFEE */
	PHR_ST_ENV_ALL = (1u << 7) - 1,
};
struct phr_st_readset {
	uint8_t addrs[PHR_ST_RS_MAX][20];
	size_t n;
	bool overflow; /* more accounts than fit: not memoizable */
	unsigned env;  /* PHR_ST_ENV_* */
};

struct phr_state {
	struct phr_state_backend be;
	bool has_be;
	int error; /* first backend/allocation error inside a transaction */
	bool ripemd_touched; /* see do_call: a touch of 0x03 that survived a revert */
	/* accounts: open addressing of pointers */
	struct st_account **accs;
	size_t accs_cap, accs_used;
	/* accounts changed since the last commit */
	struct st_account **dirty;
	size_t dirty_len, dirty_cap;
	/* journal of the current transaction */
	struct st_jentry *j;
	size_t j_len, j_cap;
	/* logs of the current transaction */
	struct phr_state_log *logs;
	size_t logs_len, logs_cap;
	/* transient storage of the current transaction */
	struct st_tslot *ts;
	size_t ts_cap, ts_used;
	/* state trie */
	struct phr_trie *trie;
	bool trie_built;
	/* read-set recording: rec_target is set by the caller of a dry run;
	 * phr_state_tx_apply points rec at it while the EVM runs (not during
	 * validation, warm-up and fees, which a call's output does not depend on) */
	struct phr_st_readset *rec_target, *rec;
	const uint8_t *cur_code; /* code of the running frame (env opcode scan) */
	size_t cur_code_len;
	const uint8_t *cur_code_hash; /* its hash (NULL: initcode) */
	struct {
		uint8_t hash[32];
		unsigned env;
		bool used;
	} env_cache[64]; /* phr_st_env_scan by code hash */
	/* called by a commit for every account whose trie leaf or existence it changed */
	void (*on_commit)(void *ctx, const uint8_t addr[20]);
	void *on_commit_ctx;
	/* current transaction context (valid inside phr_state_tx_apply) */
	const struct phr_state_block *blk;
	const struct phr_tx *tx;
	struct phr_evm_tx_context txc;
};

/* adds @p addr to a read set (state.c) */
void phr_st_rec_account(struct phr_st_readset *rs, const uint8_t addr[20]);
/* PHR_ST_ENV_* bits of the block-value opcodes in @p code (PUSH data skipped) */
unsigned phr_st_env_scan(const uint8_t *code, size_t len);

/* accounts and storage (state.c) */
struct st_account *phr_st_account(struct phr_state *st, const uint8_t addr[20]);
struct st_slot *phr_st_slot(struct phr_state *st, struct st_account *a, const uint8_t key[32]);
bool phr_st_is_empty(const struct st_account *a);

/* journaled changes (state.c) */
void phr_st_set_balance(struct phr_state *st, struct st_account *a, const struct phr_u256 *v);
void phr_st_set_nonce(struct phr_state *st, struct st_account *a, uint64_t nonce);
void phr_st_set_code(struct phr_state *st, struct st_account *a, const uint8_t *code, size_t len);
void phr_st_set_slot(struct phr_state *st, struct st_account *a, struct st_slot *s,
		     const uint8_t val[32]);
void phr_st_touch(struct phr_state *st, struct st_account *a);
void phr_st_make_exist(struct phr_state *st, struct st_account *a);
void phr_st_create(struct phr_state *st, struct st_account *a);
void phr_st_destruct(struct phr_state *st, struct st_account *a);
bool phr_st_warm_account(struct phr_state *st, struct st_account *a);
bool phr_st_warm_slot(struct phr_state *st, struct st_account *a, struct st_slot *s);
void phr_st_tload(struct phr_state *st, uint8_t out[32], const uint8_t addr[20],
		  const uint8_t key[32]);
void phr_st_tstore(struct phr_state *st, const uint8_t addr[20], const uint8_t key[32],
		   const uint8_t val[32]);
void phr_st_add_log(struct phr_state *st, const uint8_t addr[20], const uint8_t *data,
		    size_t data_len, const struct phr_evm_bytes32 *topics, size_t topics_count);

/* snapshots (state.c) */
struct st_snap {
	size_t j_len;
	size_t logs_len;
};
struct st_snap phr_st_snapshot(const struct phr_state *st);
void phr_st_revert(struct phr_state *st, struct st_snap s);
/* end of a transaction: clearing, deletions, original values (state.c) */
void phr_st_tx_finish(struct phr_state *st);
/* drops logs of the current transaction (state.c) */
void phr_st_logs_clear(struct phr_state *st);

/* the EVM host table (state_exec.c) */
extern const struct phr_evm_host phr_st_host;

#endif
