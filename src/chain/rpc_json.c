/*
 * JSON-RPC 2.0: request parsing and dispatch of single calls and batches.
 * Transport-free: one body in, one body out.
 */
#include <stdarg.h>

#include "phr/rpc.h"

int phr_rpc_error_set(struct phr_rpc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	phr_rpc_error_release(err);
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (code == PHR_RPC_INVALID_PARAMS || code == PHR_RPC_INVALID_REQUEST)
		return PHR_ERR_INVALID;
	if (code == PHR_RPC_EXECUTION_REVERTED)
		return PHR_ERR_REVERTED;
	return PHR_ERR_STATE;
}

void phr_rpc_error_release(struct phr_rpc_error *err)
{
	if (err->data)
		json_decref(err->data);
	err->data = NULL;
	err->code = 0;
	err->message[0] = '\0';
}

int phr_rpc_request_parse(struct phr_rpc_request *req, struct phr_rpc_error *err, json_t *item)
{
	json_t *v, *id, *params;
	const char *method;

	if (!json_is_object(item))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST, "request is not an object");
	v = json_object_get(item, "jsonrpc");
	if (v && !(json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST, "jsonrpc must be \"2.0\"");
	v = json_object_get(item, "method");
	if (!json_is_string(v))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST, "method must be a string");
	method = json_string_value(v);
	if (json_string_length(v) == 0 || json_string_length(v) > PHR_RPC_MAX_METHOD ||
	    strlen(method) != json_string_length(v))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST, "bad method name");
	id = json_object_get(item, "id");
	if (id && !(json_is_string(id) || json_is_number(id) || json_is_null(id)))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST, "bad id");
	v = json_object_get(item, "params");
	if (!v || json_is_null(v)) {
		params = json_array();
	} else if (json_is_array(v)) {
		params = json_incref(v);
	} else if (json_is_object(v)) {
		params = json_array();
		if (params && json_array_append(params, v) != 0) {
			json_decref(params);
			params = NULL;
		}
	} else {
		return phr_rpc_error_set(err, PHR_RPC_INVALID_REQUEST,
					 "params must be an array or an object");
	}
	if (!params)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	req->id = id;
	req->method = method;
	req->params = params;
	return PHR_OK;
}

void phr_rpc_request_release(struct phr_rpc_request *req)
{
	if (req->params)
		json_decref(req->params);
	req->params = NULL;
}

/* Builds {"jsonrpc":"2.0","id":..,"error":{..}}; id NULL gives null. */
static json_t *error_response(json_t *id, const struct phr_rpc_error *err)
{
	json_t *e = json_pack("{s:i,s:s}", "code", err->code, "message", err->message);
	json_t *r;

	if (!e)
		return NULL;
	if (err->data && json_object_set(e, "data", err->data) != 0) {
		json_decref(e);
		return NULL;
	}
	r = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", e);
	return r;
}

static const struct phr_rpc_method *find_method(const struct phr_rpc_method *m, const char *name)
{
	for (; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* Runs one call; returns the response object, NULL for a notification (or NOMEM, *nomem). */
static json_t *run_one(const struct phr_rpc_method *methods, void *ctx, json_t *item, bool *nomem)
{
	struct phr_rpc_request req = { 0 };
	struct phr_rpc_error err = { 0 };
	const struct phr_rpc_method *m;
	json_t *result = NULL, *resp = NULL;
	json_t *id = NULL;
	bool notify;

	if (phr_rpc_request_parse(&req, &err, item) != PHR_OK) {
		/* echo the id when it is usable, as geth does */
		json_t *rid = json_is_object(item) ? json_object_get(item, "id") : NULL;
		if (rid && !(json_is_string(rid) || json_is_number(rid)))
			rid = NULL;
		resp = error_response(rid, &err);
		goto out;
	}
	id = req.id;
	notify = (id == NULL);
	m = find_method(methods, req.method);
	if (!m) {
		phr_rpc_error_set(&err, PHR_RPC_METHOD_NOT_FOUND, "the method %s does not exist/is not available",
				  req.method);
	} else if (m->fn(ctx, &result, &err, req.params) == PHR_OK && result) {
		if (notify) {
			json_decref(result);
			goto out_quiet;
		}
		resp = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
		goto out;
	} else if (err.code == 0) {
		if (result)
			json_decref(result);
		phr_rpc_error_set(&err, PHR_RPC_INTERNAL_ERROR, "internal error");
	}
	if (!notify)
		resp = error_response(id, &err);
	else
		goto out_quiet;
out:
	if (!resp)
		*nomem = true;
out_quiet:
	phr_rpc_error_release(&err);
	phr_rpc_request_release(&req);
	return resp;
}

static int emit(struct phr_buf *out, json_t *j)
{
	char *s;
	int rc;

	if (!j)
		return PHR_ERR_NOMEM;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return PHR_ERR_NOMEM;
	rc = phr_buf_append_str(out, s);
	free(s);
	return rc;
}

static json_t *simple_error(int code, const char *msg)
{
	struct phr_rpc_error err = { 0 };
	json_t *r;

	(void)phr_rpc_error_set(&err, code, "%s", msg);
	r = error_response(NULL, &err);
	phr_rpc_error_release(&err);
	return r;
}

int phr_rpc_dispatch(struct phr_buf *out, const struct phr_rpc_method *methods, void *ctx,
		     phr_rpc_guard guard, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *root, *arr = NULL, *item;
	bool nomem = false, refused;
	size_t i, n;
	int rc;

	if (len > PHR_RPC_MAX_BODY)
		return emit(out, simple_error(PHR_RPC_INVALID_REQUEST, "request body too large"));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root)
		return emit(out, simple_error(PHR_RPC_PARSE_ERROR, "parse error"));
	if (!json_is_array(root)) {
		json_t *resp;

		if (guard)
			(void)guard(ctx, true);
		resp = run_one(methods, ctx, root, &nomem);
		refused = guard && guard(ctx, false) != 0;
		json_decref(root);
		if (refused) {
			if (resp)
				json_decref(resp);
			return PHR_ERR_IO;
		}
		if (nomem)
			return PHR_ERR_NOMEM;
		return resp ? emit(out, resp) : PHR_OK;
	}
	n = json_array_size(root);
	if (n == 0 || n > PHR_RPC_MAX_BATCH) {
		json_decref(root);
		return emit(out, simple_error(PHR_RPC_INVALID_REQUEST,
					      n ? "batch too large" : "empty batch"));
	}
	arr = json_array();
	if (!arr) {
		json_decref(root);
		return PHR_ERR_NOMEM;
	}
	if (guard)
		(void)guard(ctx, true);
	json_array_foreach(root, i, item) {
		json_t *resp = run_one(methods, ctx, item, &nomem);

		if (nomem)
			break;
		if (resp && json_array_append_new(arr, resp) != 0) {
			nomem = true;
			break;
		}
	}
	refused = guard && guard(ctx, false) != 0;
	json_decref(root);
	if (refused) {
		json_decref(arr);
		return PHR_ERR_IO;
	}
	if (nomem) {
		json_decref(arr);
		return PHR_ERR_NOMEM;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return PHR_OK;
	}
	rc = emit(out, arr);
	return rc;
}
