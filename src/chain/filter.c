/*
 * eth_getLogs queries over the logs table, and the filters of
 * eth_newFilter / eth_newBlockFilter / eth_getFilterChanges.
 */
#include <stdlib.h>

#include "chain_int.h"

#define LOGS_MAX 10000

/*
 * The bound on logs per eth_getLogs answer: LOGS_MAX, or a smaller one from
 * PHR_CHAIN_LOGS_MAX (tests of clients that must split their windows, as
 * they must for providers that allow fewer).
 */
static int logs_max(void)
{
	const char *e = getenv("PHR_CHAIN_LOGS_MAX");
	char *end = NULL;
	unsigned long v;

	if (e == NULL || *e == '\0')
		return LOGS_MAX;
	v = strtoul(e, &end, 10);
	return *end == '\0' && v >= 1 && v < LOGS_MAX ? (int)v : LOGS_MAX;
}
#define FILTERS_MAX 1024

/* A parsed log filter. */
struct log_query {
	uint64_t from, to;
	bool has_hash;
	uint8_t (*addrs)[20];
	size_t addrs_n;
	uint8_t (*topics[4])[32];
	size_t topics_n[4];
};

static void query_release(struct log_query *q)
{
	int i;

	phr_free(q->addrs);
	for (i = 0; i < 4; i++)
		phr_free(q->topics[i]);
	memset(q, 0, sizeof(*q));
}

/* A block bound of a filter: absent = latest. */
static int bound(struct phr_chain_node *n, uint64_t *out, struct phr_rpc_error *err, const json_t *j)
{
	struct phr_rpc_block_ref ref;

	if (phr_rpc_param_block(&ref, err, j) != PHR_OK)
		return PHR_ERR_INVALID;
	if (ref.kind == PHR_RPC_BLOCK_NUMBER) {
		*out = ref.number; /* may be ahead of the head: nothing there yet */
		return PHR_OK;
	}
	if (chain_block_resolve(n, out, &ref) != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "unknown block");
	return PHR_OK;
}

static int query_parse(struct phr_chain_node *n, struct log_query *q, struct phr_rpc_error *err,
		       const json_t *f)
{
	const json_t *v, *bh, *t;
	size_t i, k;

	memset(q, 0, sizeof(*q));
	if (!json_is_object(f))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "filter object expected");
	bh = json_object_get(f, "blockHash");
	if (bh && !json_is_null(bh)) {
		uint8_t h[32];

		if (json_object_get(f, "fromBlock") || json_object_get(f, "toBlock"))
			return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS,
						 "blockHash excludes fromBlock and toBlock");
		if (phr_rpc_param_hash(h, err, bh, "blockHash") != PHR_OK)
			return PHR_ERR_INVALID;
		if (db_block_number_of(&n->db, &q->from, h) != PHR_OK)
			return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "unknown block");
		q->to = q->from;
		q->has_hash = true;
	} else {
		if (bound(n, &q->from, err, json_object_get(f, "fromBlock")) != PHR_OK ||
		    bound(n, &q->to, err, json_object_get(f, "toBlock")) != PHR_OK)
			return PHR_ERR_INVALID;
	}
	v = json_object_get(f, "address");
	if (v && !json_is_null(v)) {
		size_t cnt = json_is_array(v) ? json_array_size(v) : 1;

		if (cnt > 1024)
			return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "too many addresses");
		q->addrs = phr_calloc(cnt ? cnt : 1, 20);
		if (!q->addrs)
			return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
		for (i = 0; i < cnt; i++) {
			if (phr_rpc_param_address(q->addrs[i], err,
						  json_is_array(v) ? json_array_get(v, i) : v,
						  "address") != PHR_OK)
				goto bad;
		}
		q->addrs_n = cnt;
	}
	v = json_object_get(f, "topics");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > 4) {
			phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "topics: at most 4 positions");
			goto bad;
		}
		json_array_foreach(v, i, t) {
			size_t cnt;

			if (json_is_null(t))
				continue;
			cnt = json_is_array(t) ? json_array_size(t) : 1;
			if (cnt == 0 || cnt > 1024)
				continue; /* [] matches anything */
			q->topics[i] = phr_calloc(cnt, 32);
			if (!q->topics[i]) {
				phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
				goto bad;
			}
			q->topics_n[i] = cnt;
			for (k = 0; k < cnt; k++) {
				const json_t *one = json_is_array(t) ? json_array_get(t, k) : t;

				if (json_is_null(one)) {
					/* a null inside an OR-list: anything matches */
					phr_free(q->topics[i]);
					q->topics[i] = NULL;
					q->topics_n[i] = 0;
					break;
				}
				if (phr_rpc_param_hash(q->topics[i][k], err, one, "topic") != PHR_OK)
					goto bad;
			}
		}
	}
	return PHR_OK;
bad:
	query_release(q);
	return PHR_ERR_INVALID;
}

/* Appends "?,?,?" for n values. */
static int placeholders(struct phr_buf *b, size_t n)
{
	size_t i;
	int rc = PHR_OK;

	for (i = 0; rc == PHR_OK && i < n; i++)
		rc = phr_buf_append_str(b, i ? ",?" : "?");
	return rc;
}

static int query_run(struct phr_chain_node *n, struct phr_chain_log **out, size_t *count,
		     struct phr_rpc_error *err, const struct log_query *q)
{
	struct phr_buf sql;
	sqlite3_stmt *s = NULL;
	struct phr_chain_log *logs = NULL;
	size_t cnt = 0, cap = 0, i, k;
	uint64_t to = q->to > n->head.number ? n->head.number : q->to;
	int col = 1, max = logs_max(), rc;

	*out = NULL;
	*count = 0;
	if (q->from > to)
		return PHR_OK;
	phr_buf_init(&sql, 1 << 20);
	rc = phr_buf_append_str(&sql, "SELECT l.block, l.log_index, l.tx_idx, l.tx_hash, l.address,"
				      " l.topic0, l.topic1, l.topic2, l.topic3, l.data, b.hash FROM logs l"
				      " JOIN blocks b ON b.number = l.block"
				      " WHERE l.block BETWEEN ? AND ?");
	if (rc == PHR_OK && q->addrs_n) {
		rc = phr_buf_append_str(&sql, " AND l.address IN (");
		if (rc == PHR_OK)
			rc = placeholders(&sql, q->addrs_n);
		if (rc == PHR_OK)
			rc = phr_buf_append_str(&sql, ")");
	}
	for (i = 0; rc == PHR_OK && i < 4; i++) {
		if (!q->topics_n[i])
			continue;
		rc = phr_buf_appendf(&sql, " AND l.topic%zu IN (", i);
		if (rc == PHR_OK)
			rc = placeholders(&sql, q->topics_n[i]);
		if (rc == PHR_OK)
			rc = phr_buf_append_str(&sql, ")");
	}
	if (rc == PHR_OK)
		rc = phr_buf_appendf(&sql, " ORDER BY l.block, l.log_index LIMIT %d", max + 1);
	if (rc != PHR_OK)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	if (sqlite3_prepare_v2(n->db.db, (const char *)sql.data, (int)sql.len, &s, NULL) != SQLITE_OK) {
		phr_buf_release(&sql);
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "database error");
	}
	phr_buf_release(&sql);
	sqlite3_bind_int64(s, col++, (sqlite3_int64)q->from);
	sqlite3_bind_int64(s, col++, (sqlite3_int64)to);
	for (i = 0; i < q->addrs_n; i++)
		sqlite3_bind_blob(s, col++, q->addrs[i], 20, SQLITE_STATIC);
	for (i = 0; i < 4; i++)
		for (k = 0; k < q->topics_n[i]; k++)
			sqlite3_bind_blob(s, col++, q->topics[i][k], 32, SQLITE_STATIC);
	rc = PHR_OK;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct phr_chain_log l;

		if (cnt == (size_t)max) {
			rc = phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR,
					       "query returned more than %d results", max);
			break;
		}
		rc = db_log_from_row(&l, s);
		if (rc == PHR_OK) {
			rc = db_logs_push(&logs, &cnt, &cap, &l);
			if (rc != PHR_OK)
				phr_free(l.data);
		}
		if (rc != PHR_OK) {
			if (!err->code)
				rc = phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != PHR_OK) {
		phr_chain_logs_free(logs, cnt);
		return rc;
	}
	*out = logs;
	*count = cnt;
	return PHR_OK;
}

json_t *chain_log_json(const struct phr_chain_log *l)
{
	json_t *topics = json_array(), *o;
	size_t t;

	if (!topics)
		return NULL;
	for (t = 0; t < l->topics_count; t++)
		json_array_append_new(topics, phr_rpc_data(l->topics[t], 32));
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "address", phr_rpc_data(l->address, 20),
		      "topics", topics, "data", phr_rpc_data(l->data, l->data_len), "blockNumber",
		      phr_rpc_quantity(l->block_number), "blockHash", phr_rpc_data(l->block_hash, 32),
		      "transactionHash", phr_rpc_data(l->tx_hash, 32), "transactionIndex",
		      phr_rpc_quantity(l->tx_index), "logIndex", phr_rpc_quantity(l->log_index),
		      "removed", 0);
	return o;
}

static int logs_result(json_t **result, struct phr_rpc_error *err, struct phr_chain_log *logs,
		       size_t cnt)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < cnt; i++) {
		if (json_array_append_new(arr, chain_log_json(&logs[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	phr_chain_logs_free(logs, cnt);
	if (!arr)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	*result = arr;
	return PHR_OK;
}

int chain_rpc_get_logs(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct log_query q;
	struct phr_chain_log *logs;
	size_t cnt;
	int rc;

	if (query_parse(n, &q, err, json_array_get(params, 0)) != PHR_OK)
		return PHR_ERR_INVALID;
	rc = query_run(n, &logs, &cnt, err, &q);
	query_release(&q);
	if (rc != PHR_OK)
		return rc;
	return logs_result(result, err, logs, cnt);
}

static int filter_add(struct phr_chain_node *n, json_t **result, struct phr_rpc_error *err,
		      enum filter_kind kind, json_t *criteria)
{
	struct chain_filter *f;

	if (n->filters_n >= FILTERS_MAX) {
		if (criteria)
			json_decref(criteria);
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "too many filters");
	}
	f = phr_realloc(n->filters, (n->filters_n + 1) * sizeof(*f));
	if (!f) {
		if (criteria)
			json_decref(criteria);
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	}
	n->filters = f;
	f = &n->filters[n->filters_n++];
	f->id = n->next_filter_id++;
	f->kind = kind;
	f->next_block = n->head.number + 1;
	f->criteria = criteria;
	*result = phr_rpc_quantity(f->id);
	return PHR_OK;
}

int chain_rpc_new_filter(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct log_query q;
	json_t *c = json_array_get(params, 0);

	/* validate now, re-parse on each poll ("latest" moves) */
	if (query_parse(n, &q, err, c) != PHR_OK)
		return PHR_ERR_INVALID;
	query_release(&q);
	return filter_add(n, result, err, FILTER_LOGS, json_deep_copy(c));
}

int chain_rpc_new_block_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
			       json_t *params)
{
	return filter_add(ctx, result, err, FILTER_BLOCKS, NULL);
}

int chain_rpc_new_pending_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
				 json_t *params)
{
	return filter_add(ctx, result, err, FILTER_PENDING, NULL);
}

static struct chain_filter *filter_find(struct phr_chain_node *n, size_t *idx,
					struct phr_rpc_error *err, json_t *params)
{
	uint64_t id;
	size_t i;

	if (phr_rpc_param_u64(&id, err, json_array_get(params, 0), "filter id") != PHR_OK)
		return NULL;
	for (i = 0; i < n->filters_n; i++) {
		if (n->filters[i].id == id) {
			if (idx)
				*idx = i;
			return &n->filters[i];
		}
	}
	(void)phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "filter not found");
	return NULL;
}

/* Logs of filter f between from and to (criteria's own bounds applied too). */
static int filter_logs(struct phr_chain_node *n, json_t **result, struct phr_rpc_error *err,
		       struct chain_filter *f, bool changes_only)
{
	struct log_query q;
	struct phr_chain_log *logs;
	size_t cnt;
	int rc;

	if (query_parse(n, &q, err, f->criteria) != PHR_OK)
		return PHR_ERR_INVALID;
	if (changes_only && !q.has_hash) {
		const json_t *fb = json_object_get(f->criteria, "fromBlock");
		const char *t = json_string_value(fb);

		/* a tag ("latest"...) counts from the installation, not from each poll */
		if (!fb || json_is_null(fb) || (t && strncmp(t, "0x", 2) != 0) || q.from < f->next_block)
			q.from = f->next_block;
	}
	rc = query_run(n, &logs, &cnt, err, &q);
	query_release(&q);
	if (rc != PHR_OK)
		return rc;
	if (changes_only)
		f->next_block = n->head.number + 1;
	return logs_result(result, err, logs, cnt);
}

int chain_rpc_filter_changes(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct chain_filter *f = filter_find(n, NULL, err, params);
	json_t *arr;
	uint64_t b;

	if (!f)
		return PHR_ERR_NOT_FOUND;
	if (f->kind == FILTER_LOGS)
		return filter_logs(n, result, err, f, true);
	arr = json_array();
	if (!arr)
		return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
	if (f->kind == FILTER_BLOCKS) {
		for (b = f->next_block; b <= n->head.number; b++) {
			uint8_t h[32];

			if (db_block_by_number(&n->db, NULL, h, b) == PHR_OK)
				json_array_append_new(arr, phr_rpc_data(h, 32));
		}
		f->next_block = n->head.number + 1;
	}
	*result = arr;
	return PHR_OK;
}

int chain_rpc_filter_logs(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain_node *n = ctx;
	struct chain_filter *f = filter_find(n, NULL, err, params);

	if (!f)
		return PHR_ERR_NOT_FOUND;
	if (f->kind != FILTER_LOGS)
		return phr_rpc_error_set(err, PHR_RPC_SERVER_ERROR, "filter is not a log filter");
	return filter_logs(n, result, err, f, false);
}

int chain_rpc_uninstall_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
			       json_t *params)
{
	struct phr_chain_node *n = ctx;
	size_t i;
	struct chain_filter *f = filter_find(n, &i, err, params);

	if (!f) {
		if (err->code == PHR_RPC_INVALID_PARAMS)
			return PHR_ERR_INVALID;
		phr_rpc_error_release(err);
		*result = json_false();
		return PHR_OK;
	}
	if (f->criteria)
		json_decref(f->criteria);
	memmove(&n->filters[i], &n->filters[i + 1], (n->filters_n - i - 1) * sizeof(*f));
	n->filters_n--;
	*result = json_true();
	return PHR_OK;
}
