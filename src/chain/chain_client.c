/*
 * The `struct phr_chain` client interface: one JSON-RPC call operation with
 * two implementations (the embedded node in-process, an external node over
 * libcurl), and the typed calls written once on top of it.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "chain_int.h"

#define RESPONSE_MAX ((size_t)64 << 20)

/* ---- embedded ---- */

static int embedded_request(void *impl, json_t **result, struct phr_rpc_error *err,
			    const char *method, json_t *params)
{
	struct phr_chain_node *n = impl;
	const struct phr_rpc_method *m;
	json_t *res = NULL;
	int rc;

	for (m = phr_chain_node_methods; m->name; m++)
		if (strcmp(m->name, method) == 0)
			break;
	if (!m->name)
		return phr_rpc_error_set(err, PHR_RPC_METHOD_NOT_FOUND, "the method %s does not exist",
					 method);
	(void)phr_chain_node_guard(n, true);
	rc = m->fn(n, &res, err, params);
	if (phr_chain_node_guard(n, false) != 0) {
		if (res)
			json_decref(res);
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "storage failure");
	}
	if (rc != PHR_OK) {
		if (res)
			json_decref(res);
		return err->code == PHR_RPC_EXECUTION_REVERTED ? PHR_ERR_REVERTED : PHR_ERR_STATE;
	}
	*result = res;
	return PHR_OK;
}

static void embedded_close(void *impl)
{
	(void)impl;
}

static const struct phr_chain_ops embedded_ops = { embedded_request, embedded_close };

int phr_chain_open_embedded(struct phr_chain **chain, struct phr_chain_node *node)
{
	struct phr_chain *c = phr_calloc(1, sizeof(*c));

	if (!c)
		return PHR_ERR_NOMEM;
	c->ops = &embedded_ops;
	c->impl = node;
	*chain = c;
	return PHR_OK;
}

/* ---- remote (libcurl) ---- */

struct remote {
	pthread_mutex_t lock; /* one request at a time on the connection */
	CURL *curl;
	char *url;
	struct curl_slist *headers;
	uint64_t next_id;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct phr_buf *b = ud;
	size_t n = size * nmemb;

	return phr_buf_append(b, p, n) == PHR_OK ? n : 0;
}

static int remote_request(void *impl, json_t **result, struct phr_rpc_error *err,
			  const char *method, json_t *params)
{
	struct remote *r = impl;
	struct phr_buf body;
	json_t *req, *resp, *e;
	json_error_t jerr;
	char *text;
	long status = 0;
	CURLcode cc;
	int rc;

	req = json_pack("{s:s,s:I,s:s,s:O}", "jsonrpc", "2.0", "id", (json_int_t)__atomic_fetch_add(&r->next_id, 1, __ATOMIC_RELAXED),
			"method", method, "params", params);
	if (!req)
		return PHR_ERR_NOMEM;
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return PHR_ERR_NOMEM;
	phr_buf_init(&body, RESPONSE_MAX);
	pthread_mutex_lock(&r->lock);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &body);
	cc = curl_easy_perform(r->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	pthread_mutex_unlock(&r->lock);
	free(text);
	if (cc != CURLE_OK) {
		phr_buf_release(&body);
		(void)phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "%s", curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? PHR_ERR_TIMEOUT : PHR_ERR_NETWORK;
	}
	resp = json_loadb((const char *)body.data, body.len, 0, &jerr);
	phr_buf_release(&body);
	if (!resp || !json_is_object(resp)) {
		if (resp)
			json_decref(resp);
		(void)phr_rpc_error_set(err, PHR_RPC_PARSE_ERROR, "bad response (HTTP %ld)", status);
		return PHR_ERR_PARSE;
	}
	e = json_object_get(resp, "error");
	if (e) {
		const json_t *msg = json_object_get(e, "message"), *data = json_object_get(e, "data");
		int code = (int)json_integer_value(json_object_get(e, "code"));

		(void)phr_rpc_error_set(err, code ? code : PHR_RPC_INTERNAL_ERROR, "%s",
					json_is_string(msg) ? json_string_value(msg) : "error");
		if (data)
			err->data = json_incref((json_t *)data);
		/* nodes differ: anvil reports reverts of eth_call with code 3 or -32000 and data */
		rc = code == PHR_RPC_EXECUTION_REVERTED ||
				     (json_is_string(data) && json_is_string(msg) &&
				      strstr(json_string_value(msg), "revert"))
			     ? PHR_ERR_REVERTED
			     : PHR_ERR_STATE;
		json_decref(resp);
		return rc;
	}
	if (!json_object_get(resp, "result")) {
		json_decref(resp);
		(void)phr_rpc_error_set(err, PHR_RPC_PARSE_ERROR, "response without result");
		return PHR_ERR_PARSE;
	}
	*result = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return PHR_OK;
}

static void remote_close(void *impl)
{
	struct remote *r = impl;

	curl_slist_free_all(r->headers);
	curl_easy_cleanup(r->curl);
	pthread_mutex_destroy(&r->lock);
	phr_free(r->url);
	phr_free(r);
}

static const struct phr_chain_ops remote_ops = { remote_request, remote_close };

int phr_chain_open_remote(struct phr_chain **chain, const char *url)
{
	struct phr_chain *c;
	struct remote *r;

	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return PHR_ERR_INVALID;
	c = phr_calloc(1, sizeof(*c));
	r = phr_calloc(1, sizeof(*r));
	if (!c || !r)
		goto nomem;
	r->next_id = 1;
	r->url = phr_strdup(url);
	r->curl = curl_easy_init();
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!r->url || !r->curl || !r->headers)
		goto nomem;
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_TCP_NODELAY, 1L);
	pthread_mutex_init(&r->lock, NULL);
	c->ops = &remote_ops;
	c->impl = r;
	*chain = c;
	return PHR_OK;
nomem:
	if (r) {
		curl_slist_free_all(r->headers);
		if (r->curl)
			curl_easy_cleanup(r->curl);
		phr_free(r->url);
		phr_free(r);
	}
	phr_free(c);
	return PHR_ERR_NOMEM;
}

void phr_chain_close(struct phr_chain *chain)
{
	if (!chain)
		return;
	chain->ops->close(chain->impl);
	phr_free(chain);
}

/* ---- typed calls ---- */

int phr_chain_request(struct phr_chain *c, json_t **result, struct phr_rpc_error *err,
		      const char *method, json_t *params)
{
	int rc;

	if (!params)
		params = json_array();
	if (!params)
		return PHR_ERR_NOMEM;
	rc = c->ops->request(c->impl, result, err, method, params);
	json_decref(params);
	return rc;
}

/* A call whose error details the caller does not want. */
static int call(struct phr_chain *c, json_t **result, const char *method, json_t *params)
{
	struct phr_rpc_error err = { 0 };
	int rc = phr_chain_request(c, result, &err, method, params);

	if (rc != PHR_OK && err.code)
		phr_log_debug("chain", "%s: %d %s", method, err.code, err.message);
	phr_rpc_error_release(&err);
	return rc;
}

static int result_u256(struct phr_chain *c, struct phr_u256 *v, const char *method, json_t *params)
{
	struct phr_rpc_error err = { 0 };
	json_t *r;
	int rc = call(c, &r, method, params);

	if (rc != PHR_OK)
		return rc;
	rc = phr_rpc_param_u256(v, &err, r, method) == PHR_OK ? PHR_OK : PHR_ERR_PARSE;
	phr_rpc_error_release(&err);
	json_decref(r);
	return rc;
}

static int result_u64(struct phr_chain *c, uint64_t *v, const char *method, json_t *params)
{
	struct phr_u256 u;
	int rc = result_u256(c, &u, method, params);

	if (rc == PHR_OK && !phr_u256_fits_u64(&u))
		rc = PHR_ERR_RANGE;
	if (rc == PHR_OK)
		*v = u.w[0];
	return rc;
}

static int result_bytes(struct phr_chain *c, struct phr_buf *out, const char *method,
			json_t *params)
{
	struct phr_rpc_error err = { 0 };
	uint8_t *d = NULL;
	size_t n = 0;
	json_t *r;
	int rc = call(c, &r, method, params);

	if (rc != PHR_OK)
		return rc;
	rc = phr_rpc_param_bytes(&d, &n, &err, r, RESPONSE_MAX, method) == PHR_OK ? PHR_OK
										 : PHR_ERR_PARSE;
	phr_rpc_error_release(&err);
	json_decref(r);
	if (rc == PHR_OK && n)
		rc = phr_buf_append(out, d, n);
	phr_free(d);
	return rc;
}

int phr_chain_chain_id(struct phr_chain *c, uint64_t *id)
{
	return result_u64(c, id, "eth_chainId", NULL);
}

int phr_chain_block_number(struct phr_chain *c, uint64_t *number)
{
	return result_u64(c, number, "eth_blockNumber", NULL);
}

int phr_chain_gas_price(struct phr_chain *c, struct phr_u256 *price)
{
	return result_u256(c, price, "eth_gasPrice", NULL);
}

int phr_chain_balance(struct phr_chain *c, struct phr_u256 *balance, const uint8_t addr[20])
{
	return result_u256(c, balance, "eth_getBalance",
			   json_pack("[o,s]", phr_rpc_data(addr, 20), "latest"));
}

int phr_chain_nonce(struct phr_chain *c, uint64_t *nonce, const uint8_t addr[20])
{
	return result_u64(c, nonce, "eth_getTransactionCount",
			  json_pack("[o,s]", phr_rpc_data(addr, 20), "pending"));
}

int phr_chain_code(struct phr_chain *c, struct phr_buf *code, const uint8_t addr[20])
{
	return result_bytes(c, code, "eth_getCode", json_pack("[o,s]", phr_rpc_data(addr, 20), "latest"));
}

int phr_chain_storage(struct phr_chain *c, uint8_t value[32], const uint8_t addr[20],
		      const uint8_t slot[32])
{
	struct phr_buf b;
	int rc;

	phr_buf_init(&b, 64);
	rc = result_bytes(c, &b, "eth_getStorageAt",
			  json_pack("[o,o,s]", phr_rpc_data(addr, 20), phr_rpc_data(slot, 32), "latest"));
	if (rc == PHR_OK && b.len > 32)
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK) {
		memset(value, 0, 32);
		if (b.len)
			memcpy(value + 32 - b.len, b.data, b.len);
	}
	phr_buf_release(&b);
	return rc;
}

int phr_chain_send_raw(struct phr_chain *c, uint8_t hash[32], struct phr_rpc_error *err,
		       const uint8_t *raw, size_t raw_len)
{
	struct phr_rpc_error perr = { 0 };
	json_t *r;
	int rc;

	if (c->ops == &embedded_ops)
		return phr_chain_node_send_raw(c->impl, hash, err, raw, raw_len);
	rc = phr_chain_request(c, &r, err, "eth_sendRawTransaction",
			       json_pack("[o]", phr_rpc_data(raw, raw_len)));
	if (rc != PHR_OK)
		return rc;
	rc = phr_rpc_param_hash(hash, &perr, r, "hash") == PHR_OK ? PHR_OK : PHR_ERR_PARSE;
	phr_rpc_error_release(&perr);
	json_decref(r);
	return rc;
}

/* {"from":..,"to":..,"data":..,"value":..} */
static json_t *call_object(const uint8_t *from, const uint8_t *to, const struct phr_u256 *value,
			   const uint8_t *data, size_t data_len)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (from)
		json_object_set_new(o, "from", phr_rpc_data(from, 20));
	if (to)
		json_object_set_new(o, "to", phr_rpc_data(to, 20));
	if (value)
		json_object_set_new(o, "value", phr_rpc_quantity_u256(value));
	json_object_set_new(o, "input", phr_rpc_data(data, data_len));
	return o;
}

int phr_chain_memo_stats(struct phr_chain *c, uint64_t *hits, uint64_t *misses)
{
	if (c->ops != &embedded_ops)
		return PHR_ERR_UNSUPPORTED;
	phr_chain_node_memo_stats(c->impl, hits, misses);
	return PHR_OK;
}

int phr_chain_call(struct phr_chain *c, struct phr_buf *out, const uint8_t *from,
		   const uint8_t to[20], const uint8_t *data, size_t data_len)
{
	struct phr_rpc_error err = { 0 };
	uint8_t *d = NULL;
	size_t n = 0;
	json_t *r;
	int rc;

	/* the embedded node: typed, without JSON */
	if (c->ops == &embedded_ops)
		return phr_chain_node_call(c->impl, out, from, to, data, data_len);
	rc = phr_chain_request(c, &r, &err, "eth_call",
				   json_pack("[o,s]", call_object(from, to, NULL, data, data_len),
					     "latest"));

	if (rc == PHR_ERR_REVERTED) {
		json_t *rdata = err.data ? json_incref(err.data) : NULL;

		rc = PHR_ERR_REVERTED;
		if (json_is_string(rdata) &&
		    phr_rpc_param_bytes(&d, &n, &err, rdata, RESPONSE_MAX, "data") == PHR_OK && n &&
		    phr_buf_append(out, d, n) != PHR_OK)
			rc = PHR_ERR_NOMEM;
		if (rdata)
			json_decref(rdata);
		phr_free(d);
		phr_rpc_error_release(&err);
		return rc;
	}
	phr_rpc_error_release(&err);
	if (rc != PHR_OK)
		return rc;
	rc = phr_rpc_param_bytes(&d, &n, &err, r, RESPONSE_MAX, "result") == PHR_OK ? PHR_OK
										    : PHR_ERR_PARSE;
	phr_rpc_error_release(&err);
	json_decref(r);
	if (rc == PHR_OK && n)
		rc = phr_buf_append(out, d, n);
	phr_free(d);
	return rc;
}

int phr_chain_estimate_gas(struct phr_chain *c, uint64_t *gas, const uint8_t *from,
			   const uint8_t *to, const struct phr_u256 *value, const uint8_t *data,
			   size_t data_len)
{
	return result_u64(c, gas, "eth_estimateGas",
			  json_pack("[o]", call_object(from, to, value, data, data_len)));
}

/* ---- JSON -> structs ---- */

static int get_u64(uint64_t *v, const json_t *o, const char *key)
{
	struct phr_rpc_error err = { 0 };
	int rc = phr_rpc_param_u64(v, &err, json_object_get(o, key), key);

	phr_rpc_error_release(&err);
	return rc == PHR_OK ? PHR_OK : PHR_ERR_PARSE;
}

static int get_fixed(uint8_t *out, size_t n, const json_t *o, const char *key)
{
	struct phr_rpc_error err = { 0 };
	const json_t *v = json_object_get(o, key);
	int rc = n == 20 ? phr_rpc_param_address(out, &err, v, key) : phr_rpc_param_hash(out, &err, v, key);

	phr_rpc_error_release(&err);
	return rc == PHR_OK ? PHR_OK : PHR_ERR_PARSE;
}

int phr_chain_log_from_json(struct phr_chain_log *log, const json_t *j)
{
	struct phr_chain_log l = { 0 };
	struct phr_rpc_error err = { 0 };
	const json_t *topics = json_object_get(j, "topics"), *t;
	size_t i;
	int rc = PHR_OK;

	if (!json_is_object(j) || !json_is_array(topics) || json_array_size(topics) > 4)
		return PHR_ERR_PARSE;
	if (get_fixed(l.address, 20, j, "address") != PHR_OK ||
	    get_fixed(l.block_hash, 32, j, "blockHash") != PHR_OK ||
	    get_fixed(l.tx_hash, 32, j, "transactionHash") != PHR_OK ||
	    get_u64(&l.block_number, j, "blockNumber") != PHR_OK ||
	    get_u64(&l.tx_index, j, "transactionIndex") != PHR_OK ||
	    get_u64(&l.log_index, j, "logIndex") != PHR_OK)
		return PHR_ERR_PARSE;
	json_array_foreach(topics, i, t) {
		if (phr_rpc_param_hash(l.topics[i], &err, t, "topic") != PHR_OK)
			rc = PHR_ERR_PARSE;
	}
	l.topics_count = json_array_size(topics);
	if (rc == PHR_OK && phr_rpc_param_bytes(&l.data, &l.data_len, &err, json_object_get(j, "data"),
						RESPONSE_MAX, "data") != PHR_OK)
		rc = PHR_ERR_PARSE;
	phr_rpc_error_release(&err);
	l.removed = json_is_true(json_object_get(j, "removed"));
	if (rc == PHR_OK)
		*log = l;
	return rc;
}

/* Parses a JSON array of logs. */
static int logs_from_json(struct phr_chain_log **out, size_t *count, const json_t *arr)
{
	struct phr_chain_log *logs = NULL;
	size_t i, n;
	int rc = PHR_OK;

	if (!json_is_array(arr))
		return PHR_ERR_PARSE;
	n = json_array_size(arr);
	if (n) {
		logs = phr_calloc(n, sizeof(*logs));
		if (!logs)
			return PHR_ERR_NOMEM;
	}
	for (i = 0; i < n && rc == PHR_OK; i++)
		rc = phr_chain_log_from_json(&logs[i], json_array_get(arr, i));
	if (rc != PHR_OK) {
		phr_chain_logs_free(logs, i);
		return rc;
	}
	*out = logs;
	*count = n;
	return PHR_OK;
}

int phr_chain_receipt_from_json(struct phr_chain_receipt *out, const json_t *j)
{
	struct phr_chain_receipt r = { 0 };
	struct phr_rpc_error err = { 0 };
	const json_t *v;
	uint64_t status = 0, type = 0;
	uint8_t *bloom = NULL;
	size_t bloom_len = 0;
	int rc;

	if (!json_is_object(j))
		return PHR_ERR_PARSE;
	if (get_fixed(r.tx_hash, 32, j, "transactionHash") != PHR_OK ||
	    get_fixed(r.block_hash, 32, j, "blockHash") != PHR_OK ||
	    get_fixed(r.from, 20, j, "from") != PHR_OK ||
	    get_u64(&r.block_number, j, "blockNumber") != PHR_OK ||
	    get_u64(&r.tx_index, j, "transactionIndex") != PHR_OK ||
	    get_u64(&r.cumulative_gas, j, "cumulativeGasUsed") != PHR_OK ||
	    get_u64(&r.gas_used, j, "gasUsed") != PHR_OK || get_u64(&status, j, "status") != PHR_OK)
		return PHR_ERR_PARSE;
	if (json_object_get(j, "type") && get_u64(&type, j, "type") != PHR_OK)
		return PHR_ERR_PARSE;
	r.type = (uint8_t)type;
	r.status = status == 1;
	v = json_object_get(j, "to");
	r.has_to = v && !json_is_null(v);
	if (r.has_to && get_fixed(r.to, 20, j, "to") != PHR_OK)
		return PHR_ERR_PARSE;
	v = json_object_get(j, "contractAddress");
	r.has_contract = v && !json_is_null(v);
	if (r.has_contract && get_fixed(r.contract_address, 20, j, "contractAddress") != PHR_OK)
		return PHR_ERR_PARSE;
	if ((v = json_object_get(j, "effectiveGasPrice")) &&
	    phr_rpc_param_u256(&r.effective_gas_price, &err, v, "effectiveGasPrice") != PHR_OK) {
		phr_rpc_error_release(&err);
		return PHR_ERR_PARSE;
	}
	if (phr_rpc_param_bytes(&bloom, &bloom_len, &err, json_object_get(j, "logsBloom"), 256,
				"logsBloom") == PHR_OK &&
	    bloom_len == PHR_CHAIN_BLOOM_BYTES)
		memcpy(r.bloom, bloom, PHR_CHAIN_BLOOM_BYTES);
	phr_free(bloom);
	phr_rpc_error_release(&err);
	rc = logs_from_json(&r.logs, &r.logs_count, json_object_get(j, "logs"));
	if (rc != PHR_OK)
		return rc;
	*out = r;
	return PHR_OK;
}

int phr_chain_receipt(struct phr_chain *c, struct phr_chain_receipt *r, const uint8_t hash[32])
{
	json_t *res;
	int rc;

	if (c->ops == &embedded_ops)
		return phr_chain_node_receipt(c->impl, r, hash);
	rc = call(c, &res, "eth_getTransactionReceipt", json_pack("[o]", phr_rpc_data(hash, 32)));

	if (rc != PHR_OK)
		return rc;
	rc = json_is_null(res) ? PHR_ERR_NOT_FOUND : phr_chain_receipt_from_json(r, res);
	json_decref(res);
	return rc;
}

int phr_chain_wait_receipt(struct phr_chain *c, struct phr_chain_receipt *r, const uint8_t hash[32],
			   unsigned timeout_ms)
{
	unsigned waited = 0;

	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int rc = phr_chain_receipt(c, r, hash);

		if (rc != PHR_ERR_NOT_FOUND)
			return rc;
		if (waited >= timeout_ms)
			return PHR_ERR_TIMEOUT;
		nanosleep(&ts, NULL);
		waited += 20;
	}
}

/* One position of a topics filter: null, one topic, or an OR-list. */
static json_t *topic_position(const uint8_t (*t)[32], size_t n)
{
	json_t *a;
	size_t i;

	if (!n)
		return json_null();
	if (n == 1)
		return phr_rpc_data(t[0], 32);
	a = json_array();
	for (i = 0; a && i < n; i++)
		json_array_append_new(a, phr_rpc_data(t[i], 32));
	return a;
}

/*
 * One eth_getLogs call. @p answered: set when the chain answered with a
 * JSON-RPC error object (a refusal such as a limit on logs or blocks per
 * query), not a transport failure.
 */
static int get_logs_once(struct phr_chain *c, struct phr_chain_log **logs, size_t *count,
			 const struct phr_chain_filter *f, bool *answered)
{
	struct phr_rpc_error err = { 0 };
	json_t *o = json_object(), *res;
	size_t i, last = 0;
	int rc;

	*answered = false;

	if (!o)
		return PHR_ERR_NOMEM;
	json_object_set_new(o, "fromBlock", f->from_block == UINT64_MAX ? json_string("latest")
									 : phr_rpc_quantity(f->from_block));
	json_object_set_new(o, "toBlock", f->to_block == UINT64_MAX ? json_string("latest")
								     : phr_rpc_quantity(f->to_block));
	if (f->addresses_count == 1) {
		json_object_set_new(o, "address", phr_rpc_data(f->addresses[0], 20));
	} else if (f->addresses_count > 1) {
		json_t *a = json_array();

		for (i = 0; a && i < f->addresses_count; i++)
			json_array_append_new(a, phr_rpc_data(f->addresses[i], 20));
		json_object_set_new(o, "address", a);
	}
	for (i = 0; i < 4; i++)
		if (f->topics_count[i])
			last = i + 1;
	if (last) {
		json_t *t = json_array();

		for (i = 0; t && i < last; i++)
			json_array_append_new(t, topic_position(f->topics[i], f->topics_count[i]));
		json_object_set_new(o, "topics", t);
	}
	rc = phr_chain_request(c, &res, &err, "eth_getLogs", json_pack("[o]", o));
	if (rc != PHR_OK) {
		*answered = err.code != 0;
		if (err.code)
			phr_log_debug("chain", "eth_getLogs: %d %s", err.code, err.message);
		phr_rpc_error_release(&err);
		return rc;
	}
	phr_rpc_error_release(&err);
	*logs = NULL;
	*count = 0;
	rc = logs_from_json(logs, count, res);
	json_decref(res);
	return rc;
}

/* Does @p l pass @p f's address and topic lists (not its block range)? */
static bool log_matches(const struct phr_chain_log *l, const struct phr_chain_filter *f)
{
	bool hit = f->addresses_count == 0;

	for (size_t i = 0; !hit && i < f->addresses_count; i++)
		hit = memcmp(l->address, f->addresses[i], 20) == 0;
	for (size_t pos = 0; hit && pos < 4; pos++) {
		if (f->topics_count[pos] == 0)
			continue;
		hit = false;
		for (size_t i = 0; !hit && pos < l->topics_count && i < f->topics_count[pos]; i++)
			hit = memcmp(l->topics[pos], f->topics[pos][i], 32) == 0;
	}
	return hit;
}

/* Appends the logs of @p r that pass @p f to (*logs, *count), moving them out of @p r. */
static int take_logs(struct phr_chain_log **logs, size_t *count, struct phr_chain_receipt *r,
		     const struct phr_chain_filter *f)
{
	for (size_t i = 0; i < r->logs_count; i++) {
		struct phr_chain_log *grown;

		if (!log_matches(&r->logs[i], f))
			continue;
		grown = phr_realloc(*logs, (*count + 1) * sizeof(**logs));
		if (grown == NULL)
			return PHR_ERR_NOMEM;
		*logs = grown;
		grown[(*count)++] = r->logs[i];
		r->logs[i].data = NULL; /* moved */
		r->logs[i].data_len = 0;
	}
	return PHR_OK;
}

/*
 * The logs of block @p number that pass @p f, from the block's transaction
 * receipts (eth_getBlockByNumber, then eth_getTransactionReceipt of each):
 * for a single block with more matching logs than the chain answers in one
 * eth_getLogs. Every client has these two methods; the receipts come in
 * transaction order, so the logs are in block order.
 */
static int block_logs(struct phr_chain *c, struct phr_chain_log **logs, size_t *count,
		      const struct phr_chain_filter *f, uint64_t number)
{
	json_t *block, *txs;
	struct phr_chain_log *got = NULL;
	size_t n = 0, i;
	int rc = call(c, &block, "eth_getBlockByNumber", json_pack("[ob]", phr_rpc_quantity(number), 0));

	if (rc != PHR_OK)
		return rc;
	txs = json_object_get(block, "transactions");
	if (!json_is_array(txs))
		rc = json_is_null(block) ? PHR_ERR_NOT_FOUND : PHR_ERR_PARSE;
	for (i = 0; rc == PHR_OK && i < json_array_size(txs); i++) {
		struct phr_chain_receipt r;
		json_t *res;

		rc = call(c, &res, "eth_getTransactionReceipt", json_pack("[O]", json_array_get(txs, i)));
		if (rc != PHR_OK)
			break;
		rc = json_is_null(res) ? PHR_ERR_NOT_FOUND : phr_chain_receipt_from_json(&r, res);
		json_decref(res);
		if (rc != PHR_OK)
			break;
		if (r.block_number != number)
			rc = PHR_ERR_STATE; /* a reorganisation while reading */
		else
			rc = take_logs(&got, &n, &r, f);
		phr_chain_receipt_release(&r);
	}
	json_decref(block);
	if (rc != PHR_OK) {
		phr_chain_logs_free(got, n);
		return rc;
	}
	*logs = got;
	*count = n;
	return PHR_OK;
}

/*
 * eth_getLogs over a range the chain may refuse as too large (the embedded
 * chain answers at most 10,000 logs; providers bound logs or blocks per
 * query): a refused range of several blocks is split in two halves, each
 * asked the same way, and the answers joined in order. A refused single
 * block is read from its transactions' receipts (block_logs). A failure to
 * reach the chain is the caller's.
 */
int phr_chain_get_logs(struct phr_chain *c, struct phr_chain_log **logs, size_t *count,
		       const struct phr_chain_filter *f)
{
	struct phr_chain_filter lo = *f, hi = *f;
	struct phr_chain_log *a = NULL, *b = NULL, *ab;
	size_t na = 0, nb = 0;
	bool answered;
	int rc = get_logs_once(c, logs, count, f, &answered);

	if (rc == PHR_OK || !answered || f->from_block == UINT64_MAX)
		return rc;
	if (hi.to_block == UINT64_MAX && phr_chain_block_number(c, &hi.to_block) != PHR_OK)
		return rc;
	if (hi.to_block < f->from_block)
		return rc;
	if (hi.to_block == f->from_block) {
		phr_log_debug("chain", "eth_getLogs: block %llu refused alone: reading its receipts",
			      (unsigned long long)f->from_block);
		return block_logs(c, logs, count, f, f->from_block);
	}
	lo.to_block = f->from_block + (hi.to_block - f->from_block) / 2;
	hi.from_block = lo.to_block + 1;
	if ((rc = phr_chain_get_logs(c, &a, &na, &lo)) != PHR_OK)
		return rc;
	if ((rc = phr_chain_get_logs(c, &b, &nb, &hi)) != PHR_OK) {
		phr_chain_logs_free(a, na);
		return rc;
	}
	if (nb > 0) {
		ab = phr_realloc(a, (na + nb) * sizeof(*ab));
		if (ab == NULL) {
			phr_chain_logs_free(a, na);
			phr_chain_logs_free(b, nb);
			return PHR_ERR_NOMEM;
		}
		memcpy(ab + na, b, nb * sizeof(*b)); /* the entries move: b's array alone is freed */
		phr_free(b);
		a = ab;
	} else {
		phr_free(b);
	}
	*logs = a;
	*count = na + nb;
	return PHR_OK;
}
