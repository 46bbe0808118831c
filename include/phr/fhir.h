/**
 * @file fhir.h
 * @brief The FHIR R4 REST server of the node (mounted at /fhir by module
 *        `api`, code in src/api/fhir_*.c): request parsing, search-parameter
 *        table and search-key extraction. docs/fhir.md explains the server.
 *
 * Everything here is pure (no I/O) and reentrant; the tables are static and
 * read-only. These functions parse outside input (URLs, query strings,
 * resources) and are fuzzed (fuzz/fhir_request.c).
 */
#ifndef PHR_FHIR_H
#define PHR_FHIR_H

#include <jansson.h>
#include <stdint.h>

#include <phr/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Kinds of search parameters the server indexes (FHIR SearchParamType). */
enum phr_fhir_sp_kind {
	PHR_FHIR_SP_TOKEN = 1,
	PHR_FHIR_SP_STRING,
	PHR_FHIR_SP_DATE,
	PHR_FHIR_SP_REFERENCE,
	PHR_FHIR_SP_QUANTITY,
	PHR_FHIR_SP_URI,
	PHR_FHIR_SP_NUMBER
};

/**
 * One row of the search-parameter table, generated from the official R4
 * SearchParameter definitions (src/fhir/gen_search_params.mjs). A parameter
 * with several FHIRPath alternatives has one row per alternative.
 */
struct phr_fhir_sp {
	const char *type;    /**< resource type ("Observation") */
	const char *code;    /**< parameter name ("code", "_lastUpdated") */
	enum phr_fhir_sp_kind kind;
	const char *path;    /**< dotted element path below the resource ("name.family") */
	const char *filter;  /**< "" or a resource type (references to it only) or "system=X" */
	const char *targets; /**< reference targets, comma-separated ("" when many or none) */
};

/** The table, ended by a row with type NULL. */
extern const struct phr_fhir_sp phr_fhir_sp_table[];
/** The resource types the server holds, ended by NULL. */
extern const char *const phr_fhir_types[];

/** @return whether @p type is one of phr_fhir_types. */
bool phr_fhir_type_supported(const char *type);

/**
 * The first table row of parameter @p code on @p type (rows of one
 * parameter are adjacent), or NULL.
 */
const struct phr_fhir_sp *phr_fhir_sp_find(const char *type, const char *code);

/** Limits of a parsed request. */
#define PHR_FHIR_MAX_PARAMS 32
#define PHR_FHIR_TYPE_MAX 64
#define PHR_FHIR_ID_MAX 65 /**< 64 characters, the R4 id rule, plus NUL */

/** What a FHIR URL addresses. */
enum phr_fhir_target {
	PHR_FHIR_T_BASE = 1,     /**< [base] (batch/transaction, whole-system history) */
	PHR_FHIR_T_METADATA,     /**< [base]/metadata */
	PHR_FHIR_T_TYPE,         /**< [base]/Type */
	PHR_FHIR_T_SEARCH,       /**< [base]/Type/_search */
	PHR_FHIR_T_INSTANCE,     /**< [base]/Type/id */
	PHR_FHIR_T_HISTORY_TYPE, /**< [base]/Type/_history, or [base]/_history with type "" */
	PHR_FHIR_T_HISTORY,      /**< [base]/Type/id/_history */
	PHR_FHIR_T_VREAD,        /**< [base]/Type/id/_history/vid */
	PHR_FHIR_T_OPERATION     /**< [base]/Type/id/$op */
};

/** One query parameter: name (without modifier), modifier, value (decoded). */
struct phr_fhir_param {
	char *name;
	char *modifier; /**< after ':' in the name, or NULL */
	char *value;
};

/** A parsed request URL. */
struct phr_fhir_req {
	enum phr_fhir_target target;
	char type[PHR_FHIR_TYPE_MAX];
	char id[PHR_FHIR_ID_MAX];
	uint64_t vid;
	char op[32]; /**< operation name without '$' */
	struct phr_fhir_param params[PHR_FHIR_MAX_PARAMS];
	size_t n_params;
};

/** Sets up an empty request (no allocation). */
void phr_fhir_req_init(struct phr_fhir_req *r);
/** Frees the parameters of @p r (it may be reused after phr_fhir_req_init). */
void phr_fhir_req_release(struct phr_fhir_req *r);

/**
 * Parses a path relative to the FHIR base ("Patient/1/_history/2",
 * "metadata", "" for the base; a leading '/' is skipped), with an optional
 * query string after '?' ("name=smith&_count=10", percent- and
 * '+'-decoded), as found in the URL of a request or of a Bundle entry.
 * @param[out] r      initialised by the caller (phr_fhir_req_init); filled
 * @param[in]  url    NUL-terminated
 * @return PHR_OK; PHR_ERR_NOT_FOUND (no such resource type / not a FHIR
 *         path); PHR_ERR_INVALID (bad id or version); PHR_ERR_PARSE (bad
 *         percent-encoding); PHR_ERR_TOO_LARGE (over PHR_FHIR_MAX_PARAMS
 *         parameters or a component too long); PHR_ERR_NOMEM. On error @p r
 *         may hold parameters: release it either way.
 */
PHR_WUR int phr_fhir_req_parse(struct phr_fhir_req *r, const char *url);

/**
 * Adds one decoded query parameter (used for the query of the HTTP request,
 * which the server hands over already decoded). The name may carry a
 * ":modifier". @return PHR_OK, PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_fhir_req_add_param(struct phr_fhir_req *r, const char *name, const char *value);

/**
 * Adds the parameters of an encoded query string ("a=1&b=2", the body of a
 * POST [type]/_search as application/x-www-form-urlencoded).
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_fhir_req_add_query(struct phr_fhir_req *r, const char *query);

/** @return the value of the first parameter named @p name, or NULL. */
const char *phr_fhir_req_param(const struct phr_fhir_req *r, const char *name);

/** @return whether @p s is a valid R4 id ([A-Za-z0-9\-\.]{1,64}). */
bool phr_fhir_id_valid(const char *s);

/**
 * Parses a FHIR date, dateTime or instant into the range of seconds since
 * the epoch it covers ("2020" covers the whole year; a time without zone is
 * taken as UTC). @return PHR_OK or PHR_ERR_PARSE.
 */
PHR_WUR int phr_fhir_date_range(int64_t *lo, int64_t *hi, const char *s);

/** One search key of a resource. Pointers are valid during the callback only. */
struct phr_fhir_key {
	const char *param;
	enum phr_fhir_sp_kind kind;
	const char *system; /**< token/quantity system, or NULL */
	const char *value;  /**< token code, normalised string, "Type/id" reference, uri, quantity code */
	double num;         /**< quantity / number value */
	int64_t lo, hi;     /**< date range (seconds) */
};

/** Receives a key; a non-PHR_OK return stops the extraction with it. */
typedef int (*phr_fhir_key_fn)(void *ctx, const struct phr_fhir_key *k);

/**
 * Extracts the search keys of every indexed parameter of @p resource (its
 * resourceType must be supported), one callback per key. Strings are
 * normalised (lower case, accents of Latin-1 letters not folded).
 * @return PHR_OK, PHR_ERR_INVALID (no or unsupported resourceType), PHR_ERR_NOMEM,
 *         or the first error of @p fn.
 */
PHR_WUR int phr_fhir_keys_extract(const json_t *resource, phr_fhir_key_fn fn, void *ctx);

/** Longest Bundle a batch or transaction may hold. */
#define PHR_FHIR_MAX_ENTRIES 10000

/**
 * Plans a transaction Bundle (its "entry" array, modified in place): every
 * entry must be an object with request.method and request.url; every POSTed
 * resource gets a new server id (32 random hex characters) and every
 * "reference" in the Bundle equal to the fullUrl of a POSTed entry (e.g.
 * "urn:uuid:...") is rewritten to "Type/id"; @p order receives the entry
 * indices in processing order (DELETE, POST, PUT/PATCH, then GET/HEAD and
 * anything else; stable).
 * @param[out] order  json_array_size(@p entries) indices
 * @param[out] detail why an entry was refused (NUL-terminated)
 * @return PHR_OK, PHR_ERR_INVALID (a malformed entry; @p detail says which),
 *         PHR_ERR_TOO_LARGE (over PHR_FHIR_MAX_ENTRIES), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_fhir_tx_plan(size_t *order, char *detail, size_t detail_cap, json_t *entries);

/**
 * Normalises a search string: ASCII letters lower-cased, runs of spaces and
 * punctuation kept. @param[out] out at least strlen(s)+1 bytes.
 */
void phr_fhir_str_norm(char *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif /* PHR_FHIR_H */
