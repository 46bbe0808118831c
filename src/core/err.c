/*
 * The one table that maps phr_err to text, HTTP status, JSON-RPC error code
 * and FHIR OperationOutcome issue code (STYLE.md: Errors).
 */
#include <phr/core.h>

struct err_row {
	int code;
	const char *name;
	const char *text;
	int http;
	int jsonrpc;
	const char *fhir;
};

/* JSON-RPC: -32602 invalid params, -32603 internal, -32000.. server errors,
 * 3 is what geth uses for "execution reverted" with revert data. */
static const struct err_row rows[] = {
	{ PHR_OK, "ok", "success", 200, 0, "informational" },
	{ PHR_ERR_NOMEM, "nomem", "out of memory", 503, -32603, "exception" },
	{ PHR_ERR_INVALID, "invalid", "invalid argument", 400, -32602, "invalid" },
	{ PHR_ERR_PARSE, "parse", "malformed input", 400, -32700, "structure" },
	{ PHR_ERR_RANGE, "range", "value out of range", 400, -32602, "value" },
	{ PHR_ERR_TOO_LARGE, "too-large", "too large", 413, -32602, "too-costly" },
	{ PHR_ERR_NOT_FOUND, "not-found", "not found", 404, -32001, "not-found" },
	{ PHR_ERR_EXISTS, "exists", "already exists", 409, -32002, "duplicate" },
	{ PHR_ERR_IO, "io", "input/output error", 500, -32603, "exception" },
	{ PHR_ERR_CRYPTO, "crypto", "cryptographic operation failed", 500, -32603, "exception" },
	{ PHR_ERR_TAMPERED, "tampered", "data failed authentication (tampered or wrong key)", 422, -32602, "security" },
	{ PHR_ERR_SIGNATURE, "signature", "bad signature", 401, -32602, "security" },
	{ PHR_ERR_FORBIDDEN, "forbidden", "forbidden", 403, -32003, "forbidden" },
	{ PHR_ERR_UNAUTHENTICATED, "unauthenticated", "authentication required", 401, -32003, "login" },
	{ PHR_ERR_EXPIRED, "expired", "expired", 403, -32003, "expired" },
	{ PHR_ERR_UNSUPPORTED, "unsupported", "not supported", 501, -32004, "not-supported" },
	{ PHR_ERR_NONCANONICAL, "noncanonical", "non-canonical encoding", 400, -32602, "invalid" },
	{ PHR_ERR_TRUNCATED, "truncated", "input truncated", 400, -32602, "structure" },
	{ PHR_ERR_DB, "db", "database error", 500, -32603, "exception" },
	{ PHR_ERR_NETWORK, "network", "network error", 502, -32603, "transient" },
	{ PHR_ERR_TIMEOUT, "timeout", "timed out", 504, -32603, "timeout" },
	{ PHR_ERR_CONFLICT, "conflict", "conflict", 409, -32000, "conflict" },
	{ PHR_ERR_STATE, "state", "operation not valid in this state", 409, -32000, "business-rule" },
	{ PHR_ERR_CORRUPT, "corrupt", "stored data is corrupt", 500, -32603, "exception" },
	{ PHR_ERR_PASSWORD, "password", "wrong password", 401, -32602, "security" },
	{ PHR_ERR_REVERTED, "reverted", "execution reverted", 422, 3, "business-rule" },
	{ PHR_ERR_RATE_LIMITED, "rate-limited", "too many requests", 429, -32005, "throttled" },
	{ PHR_ERR_INTERNAL, "internal", "internal error", 500, -32603, "exception" },
};

static const struct err_row *find(int err)
{
	for (size_t i = 0; i < PHR_ARRAY_LEN(rows); i++)
		if (rows[i].code == err)
			return &rows[i];
	return NULL;
}

const char *phr_strerror(int err)
{
	const struct err_row *r = find(err);
	return r ? r->text : "unknown error";
}

const char *phr_err_name(int err)
{
	const struct err_row *r = find(err);
	return r ? r->name : "unknown";
}

int phr_err_http_status(int err)
{
	const struct err_row *r = find(err);
	return r ? r->http : 500;
}

int phr_err_jsonrpc_code(int err)
{
	const struct err_row *r = find(err);
	return r ? r->jsonrpc : -32603;
}

const char *phr_err_fhir_code(int err)
{
	const struct err_row *r = find(err);
	return r ? r->fhir : "exception";
}
