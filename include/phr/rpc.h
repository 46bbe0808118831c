/**
 * @file rpc.h
 * @brief JSON-RPC 2.0 over HTTP (module `chain`): the request parser, the
 *        dispatcher (single calls and batches), parameter decoders for the
 *        Ethereum JSON-RPC conventions, and an HTTP server on libmicrohttpd.
 *
 * The dispatcher is transport-free: it turns one HTTP body into one HTTP body,
 * so the same code serves `phr chain`, `phr node` (at /rpc) and the in-process
 * client of the embedded chain (chain.h).
 *
 * Thread safety: the parser and decoders are reentrant. A server runs its
 * handlers on one thread per connection; handlers that share state
 * serialise through the guard (phr_rpc_guard).
 */
#ifndef PHR_RPC_H
#define PHR_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON-RPC 2.0 and Ethereum error codes. */
#define PHR_RPC_PARSE_ERROR (-32700)
#define PHR_RPC_INVALID_REQUEST (-32600)
#define PHR_RPC_METHOD_NOT_FOUND (-32601)
#define PHR_RPC_INVALID_PARAMS (-32602)
#define PHR_RPC_INTERNAL_ERROR (-32603)
#define PHR_RPC_SERVER_ERROR (-32000)   /**< generic execution / tx pool error */
#define PHR_RPC_EXECUTION_REVERTED 3    /**< revert, with the revert data in `data` */

/** Largest request body the server accepts (bytes). */
#define PHR_RPC_MAX_BODY ((size_t)8 << 20)
/** Largest number of calls in one batch. */
#define PHR_RPC_MAX_BATCH 1000
/** Largest method name accepted. */
#define PHR_RPC_MAX_METHOD 128

/** An error to report to the caller of a JSON-RPC method. */
struct phr_rpc_error {
	int code;          /**< JSON-RPC code, 0 = none */
	char message[256]; /**< NUL-terminated text */
	json_t *data;      /**< optional `data` member (owned reference) or NULL */
};

/**
 * Sets @p err (code and printf-style message); releases any previous data.
 * @return PHR_ERR_INVALID for the -32602 family, PHR_ERR_REVERTED for code 3,
 *         otherwise PHR_ERR_STATE, so handlers can `return phr_rpc_error_set(...)`.
 */
int phr_rpc_error_set(struct phr_rpc_error *err, int code, const char *fmt, ...) PHR_PRINTF(3, 4);

/** Frees @p err->data and zeroes the error. */
void phr_rpc_error_release(struct phr_rpc_error *err);

/** One parsed call of a request. All pointers borrow from the parsed JSON. */
struct phr_rpc_request {
	json_t *id;        /**< the id (string, number or null); NULL for a notification */
	const char *method;/**< method name, NUL-terminated */
	json_t *params;    /**< always an array: `params` absent or null gives [] (owned) */
};

/**
 * Checks one JSON value against the JSON-RPC 2.0 request shape: an object
 * with "jsonrpc":"2.0" (a missing member is tolerated, as geth does), a string
 * "method" of at most PHR_RPC_MAX_METHOD bytes, "params" an array, an object
 * (wrapped in a one-element array), null or absent, and an "id" that is a
 * string, number or null (absent: a notification).
 *
 * @param[out] req  filled on success; release with phr_rpc_request_release()
 * @param[out] err  filled with -32600 on failure
 * @param[in]  item the value; must stay alive as long as @p req
 * @return PHR_OK or PHR_ERR_INVALID.
 */
PHR_WUR int phr_rpc_request_parse(struct phr_rpc_request *req, struct phr_rpc_error *err,
				  json_t *item);

/** Releases what phr_rpc_request_parse() took (the params reference). */
void phr_rpc_request_release(struct phr_rpc_request *req);

/**
 * A method handler. On success sets *@p result to a new JSON reference (never
 * NULL: use json_null()) and returns PHR_OK; on failure fills @p err and
 * returns a negative phr_err. @p params is always an array.
 */
typedef int (*phr_rpc_handler)(void *ctx, json_t **result, struct phr_rpc_error *err,
			       json_t *params);

/** An entry of a method table; tables end with a NULL name. */
struct phr_rpc_method {
	const char *name;
	phr_rpc_handler fn;
};

/**
 * Optional hook run around every dispatch (e.g. to lock the chain). @p enter
 * is true before the body is handled and false after. A non-zero return on
 * exit means the answers must not be sent (e.g. what they acknowledge could
 * not be made durable): phr_rpc_dispatch() then fails with PHR_ERR_IO.
 */
typedef int (*phr_rpc_guard)(void *ctx, bool enter);

/**
 * Handles one HTTP request body: a single call or a batch. Writes the response
 * body into @p out (empty when every call was a notification). Parse errors,
 * invalid requests, unknown methods (-32601) and handler errors are all JSON
 * responses; only a failure to build the response is a return code.
 *
 * @param[out] out     response JSON text (appended)
 * @param[in]  methods method table (NULL-name terminated)
 * @param[in]  ctx     passed to every handler
 * @param[in]  guard   optional hook around the whole body, or NULL
 * @param[in]  body    request text (need not be NUL-terminated)
 * @param[in]  len     its length; over PHR_RPC_MAX_BODY gives -32600
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE (out's limit), PHR_ERR_IO (the
 *         guard refused the answers).
 */
PHR_WUR int phr_rpc_dispatch(struct phr_buf *out, const struct phr_rpc_method *methods, void *ctx,
			     phr_rpc_guard guard, const char *body, size_t len);

/* ------------------------------------------------------------------------- */
/* Parameter decoders (Ethereum JSON-RPC conventions). Each returns PHR_OK or  */
/* fills @p err with -32602 and returns PHR_ERR_INVALID; outputs stay         */
/* untouched on failure.                                                       */
/* ------------------------------------------------------------------------- */

/** A hex quantity "0x..." (no leading zeros required) that fits in 64 bits. */
PHR_WUR int phr_rpc_param_u64(uint64_t *v, struct phr_rpc_error *err, const json_t *j,
			      const char *what);
/** A hex quantity of up to 256 bits. */
PHR_WUR int phr_rpc_param_u256(struct phr_u256 *v, struct phr_rpc_error *err, const json_t *j,
			       const char *what);
/** A 20-byte address "0x" + 40 hex digits (any case; the checksum is not enforced). */
PHR_WUR int phr_rpc_param_address(uint8_t addr[20], struct phr_rpc_error *err, const json_t *j,
				  const char *what);
/** A 32-byte hash "0x" + 64 hex digits. */
PHR_WUR int phr_rpc_param_hash(uint8_t hash[32], struct phr_rpc_error *err, const json_t *j,
			       const char *what);
/** A 32-byte storage slot: a quantity or data of up to 32 bytes, left-padded. */
PHR_WUR int phr_rpc_param_slot(uint8_t slot[32], struct phr_rpc_error *err, const json_t *j,
			       const char *what);
/**
 * Hex data "0x..." of even length, decoded into a new phr_malloc'd buffer
 * (*@p data, NULL when empty) of at most @p max bytes.
 */
PHR_WUR int phr_rpc_param_bytes(uint8_t **data, size_t *len, struct phr_rpc_error *err,
				const json_t *j, size_t max, const char *what);

/** Which block a request names. */
enum phr_rpc_block_kind {
	PHR_RPC_BLOCK_LATEST = 0,
	PHR_RPC_BLOCK_EARLIEST,
	PHR_RPC_BLOCK_PENDING,
	PHR_RPC_BLOCK_SAFE,
	PHR_RPC_BLOCK_FINALIZED,
	PHR_RPC_BLOCK_NUMBER,
	PHR_RPC_BLOCK_HASH,
};

/** A block reference: a tag, a number or (EIP-1898) a hash. */
struct phr_rpc_block_ref {
	enum phr_rpc_block_kind kind;
	uint64_t number;  /**< for PHR_RPC_BLOCK_NUMBER */
	uint8_t hash[32]; /**< for PHR_RPC_BLOCK_HASH */
};

/**
 * A block tag ("latest", "earliest", "pending", "safe", "finalized"), a hex
 * number, or an EIP-1898 object {"blockNumber":..} / {"blockHash":..}. A NULL
 * @p j (parameter absent) means "latest".
 */
PHR_WUR int phr_rpc_param_block(struct phr_rpc_block_ref *ref, struct phr_rpc_error *err,
				const json_t *j);

/** A call or transaction object (eth_call, eth_estimateGas, eth_sendTransaction). */
struct phr_rpc_call {
	bool has_from, has_to, has_gas, has_gas_price, has_max_fee, has_max_priority, has_value,
		has_nonce;
	uint8_t from[20];
	uint8_t to[20]; /**< absent or null: contract creation */
	uint64_t gas;
	struct phr_u256 gas_price, max_fee, max_priority, value;
	uint64_t nonce;
	uint8_t *data; /**< `input` or `data` (they must agree when both are set); owned */
	size_t data_len;
};

/** Decodes a call object. Release with phr_rpc_call_release(). */
PHR_WUR int phr_rpc_param_call(struct phr_rpc_call *call, struct phr_rpc_error *err,
			       const json_t *j);
/** Frees the call's data. */
void phr_rpc_call_release(struct phr_rpc_call *call);

/* ------------------------------------------------------------------------- */
/* Encoders for results                                                       */
/* ------------------------------------------------------------------------- */

/** @return a new JSON string "0x..." for @p v (minimal hex), NULL on NOMEM. */
json_t *phr_rpc_quantity(uint64_t v);
/** @return a new JSON string quantity for a u256. */
json_t *phr_rpc_quantity_u256(const struct phr_u256 *v);
/** @return a new JSON string "0x" + hex of @p n bytes. */
json_t *phr_rpc_data(const uint8_t *p, size_t n);

/* ------------------------------------------------------------------------- */
/* HTTP server                                                                */
/* ------------------------------------------------------------------------- */

struct phr_rpc_server;

/**
 * Starts an HTTP server answering POST on @p path (e.g. "/") with
 * phr_rpc_dispatch(). Other paths give 404, other methods 405; OPTIONS gets
 * permissive CORS headers (the browser portal calls the node).
 *
 * @param[out] srv     the server; stop with phr_rpc_server_stop()
 * @param[in]  host    IPv4 address to bind, e.g. "127.0.0.1"
 * @param[in]  port    port, 0 for any free one (see phr_rpc_server_port())
 * @param[in]  path    URL path served
 * @param[in]  methods, ctx, guard  as for phr_rpc_dispatch(); they must outlive the server
 * @return PHR_OK, PHR_ERR_INVALID (bad host), PHR_ERR_NETWORK (bind failed), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_rpc_server_start(struct phr_rpc_server **srv, const char *host, uint16_t port,
				 const char *path, const struct phr_rpc_method *methods, void *ctx,
				 phr_rpc_guard guard);

/** @return the port the server is bound to (the real one when 0 was asked). */
uint16_t phr_rpc_server_port(const struct phr_rpc_server *srv);

/** Stops the server, waits for its thread, frees it. NULL is a no-op. */
void phr_rpc_server_stop(struct phr_rpc_server *srv);

#ifdef __cplusplus
}
#endif
#endif /* PHR_RPC_H */
