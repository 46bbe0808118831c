/**
 * @file api.h
 * @brief The node's HTTP server (module `api`, libmicrohttpd): the REST API
 *        under /api/v1 (shaped after seed §4.1 ProviderInterface), /rpc (the
 *        embedded chain's JSON-RPC), /ipfs (the store's trustless gateway),
 *        /healthz and /metrics. docs/api.md lists the routes; the OpenAPI 3.1
 *        document is served at /api/v1/openapi.json.
 *
 * Authentication: Sign-In with Ethereum (siwe.h) gives a bearer token
 * (random, stored as its BLAKE2b hash in DIR/auth.db, with an expiry). A
 * token acts as the address that signed in. Actions that need a signature
 * on chain are signed by the caller's own client from its keystore and
 * relayed through POST /api/v1/tx (api_tx.h: the node checks signer, chain
 * id and target before it forwards); for identities a node hosts (the
 * --dev demo) the node can sign itself (phr.h). Roles come from the
 * registries on chain (plus the node's auditor list).
 * Sensitive actions (an Admin grant) need a TOTP code (X-PHR-TOTP) once the
 * caller has enrolled. Every error is application/problem+json.
 */
#ifndef PHR_API_H
#define PHR_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Characters of a bearer token ("phr_" + 64 hex) plus NUL. */
#define PHR_API_TOKEN_LEN 69
/** Default body limits: JSON requests and raw record uploads. */
#define PHR_API_MAX_JSON ((size_t)1 << 20)
#define PHR_API_MAX_UPLOAD ((size_t)16 << 20)
/** Lifetime of a SIWE nonce and of a token issued by /auth/login (seconds). */
#define PHR_API_NONCE_TTL 300
#define PHR_API_TOKEN_TTL 3600

/** Server settings; pointers are borrowed and must outlive the server. */
struct phr_api_config {
	const char *host;                   /**< IPv4 address to bind, e.g. "127.0.0.1" */
	uint16_t port;                      /**< 0: any free port */
	struct phr_node *node;              /**< the domain (required) */
	struct phr_chain_node *chain_node;  /**< embedded chain served at /rpc, or NULL */
	struct phr_store *store;            /**< store served at /ipfs (required) */
	const char *datadir;                /**< where auth.db lives (required) */
	const char *domain;                 /**< SIWE domain; NULL: "host:port" as bound */
	unsigned threads;                   /**< requests handled at once (a thread per connection), 0: 4 */
	const uint8_t (*auditors)[20];      /**< addresses with the auditor role */
	size_t n_auditors;
};

struct phr_api;

/**
 * Starts the server (its own threads) and opens DIR/auth.db.
 * @return PHR_OK, PHR_ERR_INVALID (config), PHR_ERR_NETWORK (bind), PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_api_start(struct phr_api **api, const struct phr_api_config *cfg);

/** @return the port the server listens on. */
uint16_t phr_api_port(const struct phr_api *api);

/** Stops the server (in-flight requests finish), closes the database, frees. NULL is a no-op. */
void phr_api_stop(struct phr_api *api);

/**
 * Issues a bearer token for @p address valid @p ttl seconds (what a SIWE
 * login gives; used by `phr node --dev` for its demo identities).
 * @param[out] token NUL-terminated
 * @return PHR_OK, PHR_ERR_DB.
 */
PHR_WUR int phr_api_token_issue(struct phr_api *api, char token[PHR_API_TOKEN_LEN],
				const uint8_t address[20], uint64_t ttl);

/** The routes: method, OpenAPI path template, whether a bearer token is needed. */
struct phr_api_route_info {
	const char *method;
	const char *path;
	bool auth;
};

/** @return the route table (terminated by a NULL method); static. */
const struct phr_api_route_info *phr_api_routes(void);

/** @return the OpenAPI 3.1 document (static JSON text). */
const char *phr_api_openapi(void);

/* --- request parsing (pure; fuzzed by fuzz/api_request.c) ---------------- */

/** Largest number of path parameters of a route. */
#define PHR_API_MAX_PARAMS 2

/** A matched request. */
struct phr_api_req {
	int route;                            /**< index in phr_api_routes() */
	char params[PHR_API_MAX_PARAMS][80];  /**< path parameters in order */
	size_t n_params;
	json_t *body;                         /**< parsed JSON object, or NULL */
};

/**
 * Matches @p method and @p path against the route table and parses a JSON
 * @p body (when @p body_len > 0 and @p json is true; it must be an object).
 * @return 0 with @p req filled (release with phr_api_req_release), or the
 *         HTTP status to answer: 404 (no route), 405 (method), 400 (bad
 *         JSON / not an object / path parameter too long), 413 (body over
 *         PHR_API_MAX_JSON).
 */
int phr_api_req_parse(struct phr_api_req *req, const char *method, const char *path,
		      const char *body, size_t body_len, bool json);

/** Frees what @p req holds. */
void phr_api_req_release(struct phr_api_req *req);

/** Field getters with the API's validation; each returns PHR_OK, PHR_ERR_NOT_FOUND or PHR_ERR_INVALID. */
PHR_WUR int phr_api_get_address(uint8_t addr[20], const json_t *obj, const char *key);
PHR_WUR int phr_api_get_u256(struct phr_u256 *v, const json_t *obj, const char *key);
PHR_WUR int phr_api_get_uint(uint64_t *v, const json_t *obj, const char *key, uint64_t max);
/** Scope: "all", {"category": n}, {"record": id}, or 0x-hex of 32 bytes. Absent: all. */
PHR_WUR int phr_api_get_scope(uint8_t scope[32], const json_t *obj, const char *key);
/** Level: "read"|"write"|"admin" or 1..3. */
PHR_WUR int phr_api_get_level(enum phr_level *level, const json_t *obj, const char *key);
/** Base64 data into @p out (appended). */
PHR_WUR int phr_api_get_base64(struct phr_buf *out, const json_t *obj, const char *key);
/** Parses a path parameter as an address, or as a decimal/0x id (0 allowed: request ids start at 0). */
PHR_WUR int phr_api_param_address(uint8_t addr[20], const char *s);
PHR_WUR int phr_api_param_u256(struct phr_u256 *v, const char *s);

/* --- client (used by the CLI) -------------------------------------------- */

/**
 * One request to a node's API with libcurl.
 * @param[out] status    HTTP status
 * @param[out] resp      response body (appended)
 * @param[in]  base      node URL, e.g. "http://127.0.0.1:8080"
 * @param[in]  token     bearer token or NULL
 * @param[in]  ctype     Content-Type of @p body or NULL
 * @param[in]  extra     one extra header line ("Name: value") or NULL
 * @return PHR_OK (any status), PHR_ERR_NETWORK, PHR_ERR_INVALID (URL), PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_api_client_call(long *status, struct phr_buf *resp, const char *base,
				const char *method, const char *path, const char *token,
				const char *ctype, const void *body, size_t len, const char *extra);

/**
 * Sign-In with Ethereum against a node: asks a nonce, builds the EIP-4361
 * message for @p seckey's address, signs it (EIP-191) and logs in.
 * Answered 429 (rate limit), it waits 1 s and tries again, up to 5 attempts.
 * @param[out] token the bearer token
 * @return PHR_OK, PHR_ERR_UNAUTHENTICATED (refused), PHR_ERR_RATE_LIMITED (still
 *         limited after 5 attempts), PHR_ERR_NETWORK, PHR_ERR_PARSE.
 */
PHR_WUR int phr_api_client_login(char token[PHR_API_TOKEN_LEN], const char *base,
				 const uint8_t seckey[32]);

#ifdef __cplusplus
}
#endif
#endif /* PHR_API_H */
