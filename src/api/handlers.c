/*
 * The /api/v1 handlers over the phr domain, and /healthz, /metrics, /info.
 */
#include <sodium.h>
#include <string.h>

#include "api_int.h"
#include "phr/backup.h"
#include "phr/compliance.h"
#include "phr/crypto.h"
#include "phr/json.h"

const struct phr_identity *api_hosted_caller(struct api_ctx *c)
{
	const struct phr_identity *id = phr_node_identity(c->api->cfg.node, c->caller);

	if (id == NULL)
		api_fail(c, PHR_ERR_FORBIDDEN,
			 "this node does not hold the caller's keys: use the node that hosts the "
			 "identity (or phr CLI with its keystore)");
	return id;
}

int api_h_healthz(struct api_ctx *c)
{
	struct phr_index_status ix;
	uint64_t block = 0;
	int rv = phr_chain_block_number(phr_node_chain(c->api->cfg.node), &block);

	if (rv != PHR_OK)
		return api_fail(c, PHR_ERR_NETWORK, "the chain does not answer");
	/* the index follows the chain: healthy only when it catches up */
	if (phr_node_index_sync(c->api->cfg.node) != PHR_OK)
		return api_fail(c, PHR_ERR_NETWORK, "the chain index cannot catch up with the chain");
	phr_node_index_status(c->api->cfg.node, &ix);
	return api_ok(c, 200, json_pack("{s:s,s:I,s:I,s:I}", "status", "ok", "chainId",
					 (json_int_t)phr_node_deployment(c->api->cfg.node)->chain_id,
					 "block", (json_int_t)block, "indexedBlock",
					 (json_int_t)ix.block));
}

int api_h_metrics(struct api_ctx *c)
{
	struct phr_api *a = c->api;
	struct phr_buf b;
	static const char *const cls[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	int rv = PHR_OK;

	phr_buf_init(&b, 65536);
	rv = phr_buf_append_str(&b, "# HELP phr_http_requests_total HTTP responses by status class.\n"
				    "# TYPE phr_http_requests_total counter\n");
	for (size_t i = 0; rv == PHR_OK && i < 6; i++)
		rv = phr_buf_appendf(&b, "phr_http_requests_total{class=\"%s\"} %llu\n", cls[i],
				     (unsigned long long)atomic_load(&a->m_requests[i]));
#define M(name, help, v)                                                                       \
	if (rv == PHR_OK)                                                                      \
		rv = phr_buf_appendf(&b, "# HELP " name " " help "\n# TYPE " name " counter\n" name \
				     " %llu\n", (unsigned long long)atomic_load(&a->v))
	M("phr_records_submitted_total", "Records submitted through this node.", m_submitted);
	M("phr_records_read_total", "Record reads served (getRecord and content).", m_reads);
	M("phr_access_denied_total", "Requests refused with 403.", m_denied);
	M("phr_auth_logins_total", "Successful SIWE logins.", m_logins);
	M("phr_auth_failures_total", "Failed logins and bad tokens.", m_auth_fail);
	M("phr_rate_limited_total", "Requests refused by the auth rate limit.", m_rate_limited);
	M("phr_http_request_duration_microseconds_sum", "Total time spent on requests.",
	  m_latency_us);
#undef M
	/* the embedded chain's eth_call memo (chain.h); a remote chain has none */
	uint64_t hits, misses;
	if (rv == PHR_OK &&
	    phr_chain_memo_stats(phr_node_chain(c->api->cfg.node), &hits, &misses) == PHR_OK)
		rv = phr_buf_appendf(&b,
				     "# HELP phr_chain_call_memo_total eth_calls of the embedded chain "
				     "answered from the memo (hit) or executed (miss).\n"
				     "# TYPE phr_chain_call_memo_total counter\n"
				     "phr_chain_call_memo_total{result=\"hit\"} %llu\n"
				     "phr_chain_call_memo_total{result=\"miss\"} %llu\n",
				     (unsigned long long)hits, (unsigned long long)misses);
	/* the backup verification job's gauges (backup.h) */
	if (rv == PHR_OK)
		rv = phr_node_backup_metrics(c->api->cfg.node, &b);
	/* retention, erasure and anomaly counters (compliance.h) */
	if (rv == PHR_OK)
		rv = phr_compliance_metrics(&b);
	if (rv != PHR_OK) {
		phr_buf_release(&b);
		return api_fail(c, rv, "metrics");
	}
	c->raw_out = phr_buf_detach(&b, &c->raw_len);
	c->raw_type = "text/plain; version=0.0.4";
	c->status = 200;
	return PHR_OK;
}

int api_h_openapi(struct api_ctx *c)
{
	const char *doc = phr_api_openapi();
	size_t n = strlen(doc);

	c->raw_out = phr_malloc(n);
	if (c->raw_out == NULL)
		return api_fail(c, PHR_ERR_NOMEM, "openapi");
	memcpy(c->raw_out, doc, n);
	c->raw_len = n;
	c->raw_type = "application/json";
	c->status = 200;
	return PHR_OK;
}

int api_h_info(struct api_ctx *c)
{
	json_t *d = phr_deployment_json(phr_node_deployment(c->api->cfg.node));

	/* /rpc always answers: the embedded chain, or a proxy to the external one */
	return api_ok(c, 200, json_pack("{s:s,s:o,s:s,s:b,s:b}", "name", "phr", "deployment", d,
					 "siweDomain", c->api->domain, "rpc", 1, "chainEmbedded",
					 c->api->cfg.chain_node != NULL));
}

/* --- patients ------------------------------------------------------------- */

int api_h_register(struct api_ctx *c)
{
	const struct phr_identity *me = api_hosted_caller(c);
	int rv;

	if (me == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_register(c->api->cfg.node, me);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_EXISTS ? "already registered" : "register");
	{
		char h[PHR_HEX_LEN(32, true)];
		if (phr_hex_encode(h, sizeof(h), me->box_pk, 32, true) != PHR_OK)
			return api_fail(c, PHR_ERR_INTERNAL, "hex");
		return api_ok(c, 201, json_pack("{s:o,s:s}", "address", api_jaddr(me->address),
						 "encryptionKey", h));
	}
}

/* The patient of a list route; checks who may see it. */
int api_patient_param(struct api_ctx *c, uint8_t patient[20], bool providers_may)
{
	bool ok = false;
	int rv;

	if (phr_api_param_address(patient, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a 0x address");
	if (memcmp(patient, c->caller, 20) == 0 || api_is_auditor(c->api, c->caller))
		return PHR_OK;
	if (providers_may) {
		rv = phr_node_can_access_patient(c->api->cfg.node, &ok, c->caller, patient,
						 PHR_LEVEL_READ);
		if (rv != PHR_OK)
			return api_fail(c, rv, "access check");
		if (ok)
			return PHR_OK;
	}
	return api_fail(c, PHR_ERR_FORBIDDEN, "only the patient%s may see this",
			providers_may ? ", an auditor or a provider with Read on all records"
				      : " or an auditor");
}

int api_list_result(struct api_ctx *c, int rv, json_t *list)
{
	if (rv != PHR_OK)
		return api_fail(c, rv, "reading the chain");
	return api_ok(c, 200, json_pack("{s:o,s:I}", "items", list, "count",
					 (json_int_t)json_array_size(list)));
}

int api_h_patient_records(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, true);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_records_list(c->api->cfg.node, &l, p);
	return api_list_result(c, rv, l);
}

int api_h_patient_grants(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_grants_list(c->api->cfg.node, &l, p);
	return api_list_result(c, rv, l);
}

int api_h_patient_requests(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_requests_list(c->api->cfg.node, &l, p);
	return api_list_result(c, rv, l);
}

int api_h_patient_audit(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, true);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_audit_list(c->api->cfg.node, &l, p, NULL);
	return api_list_result(c, rv, l);
}

int api_h_patient_denials(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_denials_list(c->api->cfg.node, &l, p);
	return api_list_result(c, rv, l);
}

/* --- records -------------------------------------------------------------- */

static int query_u64(struct api_ctx *c, uint64_t *v, const char *key, uint64_t max, bool required)
{
	const char *s = api_query(c, key);

	if (s == NULL)
		return required ? api_fail(c, PHR_ERR_INVALID, "query parameter %s is required", key)
				 : PHR_ERR_NOT_FOUND;
	if (phr_parse_u64(v, s) != PHR_OK || *v > max)
		return api_fail(c, PHR_ERR_INVALID, "query parameter %s is out of range", key);
	return PHR_OK;
}

int api_h_submit(struct api_ctx *c)
{
	const struct phr_identity *me;
	struct phr_record_receipt r;
	struct phr_u256 sup = PHR_U256_ZERO;
	uint8_t patient[20];
	uint64_t type = 0;
	struct phr_buf data;
	const uint8_t *p;
	size_t n;
	int rv;

	phr_buf_init(&data, PHR_API_MAX_UPLOAD);
	if (c->req.body == NULL) {
		/* raw upload: metadata in the query */
		const char *s = api_query(c, "patient");
		if (s == NULL || phr_api_param_address(patient, s) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "query parameter patient (address) is required");
		if ((rv = query_u64(c, &type, "type", PHR_RECORD_TYPE_MAX, true)) != PHR_OK)
			return rv;
		s = api_query(c, "supersedes");
		if (s != NULL && phr_api_param_u256(&sup, s) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "supersedes must be a record id");
		p = c->body.data;
		n = c->body.len;
	} else {
		const char *text;
		if (phr_api_get_address(patient, c->req.body, "patient") != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "patient (0x address) is required");
		if (phr_api_get_uint(&type, c->req.body, "type", PHR_RECORD_TYPE_MAX) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "type (0..%u) is required",
					PHR_RECORD_TYPE_MAX);
		rv = phr_api_get_u256(&sup, c->req.body, "supersedes");
		if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
			return api_fail(c, PHR_ERR_INVALID, "supersedes must be a record id");
		rv = phr_api_get_base64(&data, c->req.body, "data");
		if (rv == PHR_ERR_NOT_FOUND && phr_json_get_str(&text, c->req.body, "text") == PHR_OK)
			rv = phr_buf_append(&data, text, strlen(text));
		if (rv != PHR_OK) {
			phr_buf_release(&data);
			return api_fail(c, PHR_ERR_INVALID, "data (base64) or text (string) is required");
		}
		p = data.data;
		n = data.len;
	}
	if (n == 0) {
		phr_buf_release(&data);
		return api_fail(c, PHR_ERR_INVALID, "the record is empty");
	}
	me = api_hosted_caller(c);
	if (me == NULL) {
		phr_buf_release(&data);
		return PHR_ERR_FORBIDDEN;
	}
	rv = phr_node_record_submit(c->api->cfg.node, &r, me, patient, (unsigned)type, &sup, p, n);
	if (data.data != NULL)
		sodium_memzero(data.data, data.len);
	phr_buf_release(&data);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "no Write access to this patient's records"
				: rv == PHR_ERR_NOT_FOUND ? "the patient is not registered"
							  : "submitRecord failed");
	atomic_fetch_add(&c->api->m_submitted, 1);
	{
		char h[PHR_HEX_LEN(32, true)];
		char id[PHR_U256_DEC_LEN];
		if (phr_hex_encode(h, sizeof(h), r.data_hash, 32, true) != PHR_OK)
			return api_fail(c, PHR_ERR_INTERNAL, "hex");
		phr_u256_to_dec(id, &r.token_id);
		return api_ok(c, 201, json_pack("{s:s,s:s,s:s,s:o,s:I}", "id", id, "cid", r.cid,
						 "dataHash", h, "patient", api_jaddr(patient), "size",
						 (json_int_t)n));
	}
}

static int record_param(struct api_ctx *c, struct phr_u256 *id, uint64_t *purpose)
{
	int rv;

	if (phr_api_param_u256(id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(id))
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id (from 1)");
	*purpose = 1; /* Treatment */
	rv = query_u64(c, purpose, "purpose", PHR_PURPOSE_MAX, false);
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
		return rv;
	return PHR_OK;
}

static int read_failed(struct api_ctx *c, int rv)
{
	return api_fail(c, rv, "%s",
			rv == PHR_ERR_FORBIDDEN ? "no active grant covers this record for the caller "
						  "(the attempt was logged)"
			: rv == PHR_ERR_NOT_FOUND ? "no such record"
						  : "getRecord failed");
}

static int append_cb(void *ctx, const uint8_t *d, size_t n)
{
	return phr_buf_append(ctx, d, n);
}

/* Appends ,"key":"value" (no comma when @p first) with value escaped as jansson's
 * json_dumps escapes it ('"', '\\' and control characters; other bytes as they are). */
static int put_str(struct phr_buf *b, bool first, const char *key, const char *pre, const char *val)
{
	static const char hex[] = "0123456789abcdef";
	int rv = phr_buf_appendf(b, "%s\"%s\":\"%s", first ? "" : ",", key, pre);

	for (const char *p = val; rv == PHR_OK && *p != '\0';) {
		size_t n = strcspn(p, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"
				      "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
		unsigned char ch = (unsigned char)p[n];
		char e[6] = { '\\', (char)ch, 0, 0, 0, 0 };
		size_t el = 2;

		if ((rv = phr_buf_append(b, p, n)) != PHR_OK || ch == '\0')
			break;
		switch (ch) {
		case '"': case '\\': break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[ch >> 4];
			e[5] = hex[ch & 15];
			el = 6;
		}
		rv = phr_buf_append(b, e, el);
		p += n + 1;
	}
	return rv == PHR_OK ? phr_buf_append_byte(b, '"') : rv;
}

static int put_addr(struct phr_buf *b, const char *key, const uint8_t addr[20])
{
	char s[PHR_ETH_ADDRESS_STR_LEN];

	phr_eth_address_checksum(s, addr);
	return put_str(b, false, key, "", s);
}

static int put_u256(struct phr_buf *b, bool first, const char *key, const struct phr_u256 *v)
{
	char s[PHR_U256_DEC_LEN];

	phr_u256_to_dec(s, v);
	return put_str(b, first, key, "", s);
}

/* The hex of @p d (at most 256 bytes) as a string field, else "" (as before). */
static int put_hex(struct phr_buf *b, const char *key, const uint8_t *d, size_t n)
{
	char hex[PHR_HEX_LEN(256, true)];

	if (n > 256 || phr_hex_encode(hex, sizeof(hex), d, n, true) != PHR_OK)
		hex[0] = '\0';
	return put_str(b, false, key, "", hex);
}

/* Whether the file under @p root is over @p max bytes by its root block alone (a UnixFS
 * file's filesize): then it is not read for the inline ciphertext, which it would
 * exceed anyway (reading and hashing the first MiB of a 10 MB record was 60 % of the
 * node's CPU under getRecord load). */
static bool over_inline_max(struct phr_store *st, const struct phr_cid *root, size_t max)
{
	struct phr_buf blk;
	struct phr_dagpb_node n;
	struct phr_unixfs u;
	bool over = false;

	if (root->codec != PHR_CODEC_DAG_PB)
		return false;
	phr_buf_init(&blk, PHR_STORE_BLOCK_MAX);
	if (phr_store_get(st, &blk, root) == PHR_OK && phr_dagpb_decode(&n, blk.data, blk.len) == PHR_OK) {
		over = n.data != NULL && phr_unixfs_decode(&u, n.data, n.data_len) == PHR_OK &&
		       u.type == PHR_UNIXFS_FILE && u.has_filesize && u.filesize > max;
		phr_dagpb_node_release(&n);
	}
	phr_buf_release(&blk);
	return over;
}

/* Standard base64 with padding of @p n bytes into @p out (4 * ceil(n / 3) characters, no
 * NUL). Table lookups indexed by the data: only for public bytes (the record ciphertext,
 * which the gateway serves to anyone); 10x faster than sodium_bin2base64's constant-time
 * encoder, which was 6 % of the node's CPU under getRecord load. */
static void b64_public(char *out, const uint8_t *in, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;

	for (; i + 3 <= n; i += 3, out += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[0] = t[v >> 18];
		out[1] = t[(v >> 12) & 63];
		out[2] = t[(v >> 6) & 63];
		out[3] = t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[0] = t[v >> 18];
		out[1] = t[(v >> 12) & 63];
		out[2] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[3] = '=';
	}
}

/* getRecord's JSON object, written straight into @p b: the fields and bytes that
 * json_dumps(JSON_COMPACT) gave for the object this handler used to build, without
 * the object (the inline ciphertext alone is 4/3 of the record). */
static int record_json(struct phr_buf *b, const struct phr_record_meta *m, const struct phr_buf *capb,
		       const struct phr_buf *ct, bool with_ct)
{
	size_t b64 = with_ct ? (ct->len + 2) / 3 * 4 : 0;
	int rv = phr_buf_reserve(b, 1024 + 4 * PHR_CID_STR_MAX + b64);

	if (rv == PHR_OK)
		rv = phr_buf_append_byte(b, '{');
	if (rv == PHR_OK)
		rv = put_u256(b, true, "id", &m->token_id);
	if (rv == PHR_OK)
		rv = put_addr(b, "patient", m->patient);
	if (rv == PHR_OK)
		rv = put_addr(b, "provider", m->provider);
	if (rv == PHR_OK)
		rv = phr_buf_appendf(b, ",\"type\":%lld,\"createdAt\":%lld", (long long)m->rtype,
				     (long long)m->created_at);
	if (rv == PHR_OK)
		rv = put_str(b, false, "cid", "", m->cid);
	if (rv == PHR_OK)
		rv = put_hex(b, "capsule", capb->data, capb->len);
	if (rv == PHR_OK)
		rv = put_str(b, false, "capsuleCid", "", m->capsule_cid);
	if (rv == PHR_OK)
		rv = put_hex(b, "dataHash", m->data_hash, 32);
	if (rv == PHR_OK)
		rv = put_str(b, false, "ciphertextUrl", "/ipfs/", m->cid);
	if (rv == PHR_OK)
		rv = put_u256(b, false, "supersedes", &m->supersedes);
	if (rv == PHR_OK)
		rv = put_u256(b, false, "supersededBy", &m->superseded_by);
	/* small records carry their ciphertext inline (base64, no escaping needed) */
	if (rv == PHR_OK && with_ct && (rv = phr_buf_append_str(b, ",\"ciphertext\":\"")) == PHR_OK &&
	    (rv = phr_buf_reserve(b, b64 + 1)) == PHR_OK) {
		b64_public((char *)b->data + b->len, ct->data, ct->len);
		b->len += b64;
		rv = phr_buf_append_byte(b, '"');
	}
	return rv == PHR_OK ? phr_buf_append_byte(b, '}') : rv;
}

int api_h_get_record(struct api_ctx *c)
{
	const struct phr_identity *me;
	struct phr_record_meta m;
	struct phr_u256 id;
	struct phr_cid cap, root;
	struct phr_buf capb, ct, out;
	uint64_t purpose;
	bool with_ct;
	int rv;

	const char *atx;

	if ((rv = record_param(c, &id, &purpose)) != PHR_OK)
		return rv;
	atx = api_query(c, "auditTx");
	if (atx != NULL) {
		/* the caller logged its View itself, from its own keystore */
		uint8_t h[32];
		if (strlen(atx) != 66 || phr_hex_decode_exact(h, 32, atx) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "auditTx must be a 0x transaction hash");
		rv = phr_node_record_open_audited(c->api->cfg.node, &m, c->caller, &id, h);
		if (rv == PHR_ERR_UNAUTHENTICATED || rv == PHR_ERR_CONFLICT)
			return api_fail(c, rv == PHR_ERR_CONFLICT ? rv : PHR_ERR_FORBIDDEN, "%s",
					rv == PHR_ERR_CONFLICT
						? "this audit transaction was already used"
						: "auditTx is not a recent View of this record by the caller");
	} else {
		if ((me = api_hosted_caller(c)) == NULL)
			return PHR_ERR_FORBIDDEN;
		rv = phr_node_record_open(c->api->cfg.node, &m, me, &id, (unsigned)purpose);
	}
	if (rv != PHR_OK)
		return read_failed(c, rv);
	atomic_fetch_add(&c->api->m_reads, 1);
	phr_buf_init(&capb, PHR_STORE_BLOCK_MAX);
	phr_buf_init(&ct, (size_t)1 << 20);
	if (phr_cid_parse(&cap, m.capsule_cid) != PHR_OK ||
	    phr_store_get(c->api->cfg.store, &capb, &cap) != PHR_OK ||
	    phr_cid_parse(&root, m.cid) != PHR_OK) {
		phr_buf_release(&capb);
		return api_fail(c, PHR_ERR_NOT_FOUND, "the key capsule is not in this node's store");
	}
	with_ct = !over_inline_max(c->api->cfg.store, &root, ct.max) &&
		  phr_store_cat(c->api->cfg.store, &root, append_cb, &ct) == PHR_OK;
	phr_buf_init(&out, 0);
	rv = record_json(&out, &m, &capb, &ct, with_ct);
	phr_buf_release(&capb);
	phr_buf_release(&ct);
	if (rv != PHR_OK || (c->raw_out = phr_buf_detach(&out, &c->raw_len)) == NULL) {
		phr_buf_release(&out);
		return api_fail(c, PHR_ERR_NOMEM, "out of memory");
	}
	c->raw_type = "application/json";
	c->status = 200;
	return PHR_OK;
}

int api_h_get_content(struct api_ctx *c)
{
	const struct phr_identity *me;
	struct phr_u256 id;
	struct phr_buf out;
	uint64_t purpose;
	int rv;

	if ((rv = record_param(c, &id, &purpose)) != PHR_OK)
		return rv;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	phr_buf_init(&out, PHR_RECORD_MAX);
	rv = phr_node_record_read(c->api->cfg.node, &out, NULL, me, &id, (unsigned)purpose);
	if (rv != PHR_OK) {
		phr_buf_release(&out);
		return read_failed(c, rv);
	}
	atomic_fetch_add(&c->api->m_reads, 1);
	c->raw_out = phr_buf_detach(&out, &c->raw_len);
	c->raw_type = "application/octet-stream";
	c->status = 200;
	return PHR_OK;
}

int api_h_record_audit(struct api_ctx *c)
{
	struct phr_u256 id;
	uint8_t patient[20];
	bool ok = false;
	json_t *l = NULL;
	int rv;

	if (phr_api_param_u256(&id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(&id))
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id (from 1)");
	rv = phr_node_can_access(c->api->cfg.node, &ok, patient, c->caller, &id, PHR_LEVEL_READ);
	if (rv != PHR_OK)
		return read_failed(c, rv);
	if (!ok && !api_is_auditor(c->api, c->caller))
		return api_fail(c, PHR_ERR_FORBIDDEN,
				"only the patient, an auditor or a reader of the record may see this");
	rv = phr_node_audit_list(c->api->cfg.node, &l, patient, &id);
	return api_list_result(c, rv, l);
}

int api_h_capsule(struct api_ctx *c)
{
	struct phr_u256 id;
	uint8_t reader[20];
	char cid[PHR_CID_STR_MAX];
	int rv;

	if (phr_api_param_u256(&id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(&id) ||
	    phr_api_param_address(reader, c->req.params[1]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id and an address");
	rv = phr_node_capsule_lookup(c->api->cfg.node, cid, &id, reader);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_NOT_FOUND ? "this node holds no such capsule"
								      : "capsule index");
	/* a capsule opens only with the reader's X25519 secret key: its CID is not a secret */
	return api_ok(c, 200, json_pack("{s:s,s:s+}", "cid", cid, "url", "/ipfs/", cid));
}

int api_h_capsule_put(struct api_ctx *c)
{
	struct phr_u256 id;
	uint8_t reader[20], cap[80];
	char cid[PHR_CID_STR_MAX];
	size_t n = 0;
	int rv;

	if (phr_api_param_u256(&id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(&id) ||
	    phr_api_param_address(reader, c->req.params[1]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id and an address");
	if (c->req.body != NULL) {
		if (phr_json_get_hex(cap, sizeof(cap), &n, c->req.body, "capsule") != PHR_OK)
			n = 0;
	} else if (c->body.len == sizeof(cap)) {
		memcpy(cap, c->body.data, sizeof(cap));
		n = sizeof(cap);
	}
	if (n != sizeof(cap))
		return api_fail(c, PHR_ERR_INVALID,
				"the body must be the 80-byte capsule (raw, or {\"capsule\":\"0x...\"})");
	rv = phr_node_capsule_add(c->api->cfg.node, cid, c->caller, &id, reader, cap);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_FORBIDDEN ? "only the record's patient adds capsules"
					     : rv == PHR_ERR_NOT_FOUND ? "no such record"
								       : "storing the capsule failed");
	return api_ok(c, 201, json_pack("{s:s,s:s+}", "cid", cid, "url", "/ipfs/", cid));
}

int api_h_ciphertext(struct api_ctx *c)
{
	struct phr_cid root;
	char cid[PHR_CID_STR_MAX];
	unsigned roles = 0;
	int rv;

	/* only providers store record ciphertext here (they mint next) */
	if ((rv = phr_node_roles(c->api->cfg.node, &roles, c->caller)) != PHR_OK)
		return api_fail(c, rv, "reading the registries");
	if (!(roles & PHR_R_PROVIDER))
		return api_fail(c, PHR_ERR_FORBIDDEN, "only verified providers upload record ciphertext");
	if (c->req.body != NULL || c->body.len == 0)
		return api_fail(c, PHR_ERR_INVALID,
				"the body must be the ciphertext (Content-Type: application/octet-stream)");
	rv = phr_store_add_bytes(c->api->cfg.store, &root, c->body.data, c->body.len, NULL);
	if (rv == PHR_OK)
		rv = phr_cid_format(cid, sizeof(cid), &root);
	if (rv != PHR_OK)
		return api_fail(c, rv, "storing the ciphertext failed");
	return api_ok(c, 201, json_pack("{s:s,s:I}", "cid", cid, "size", (json_int_t)c->body.len));
}

/* --- access --------------------------------------------------------------- */

int api_h_grant(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t prov[20], scope[32], patient[20];
	enum phr_level level;
	uint64_t expiry = 0, duration = 0, now = 0;
	char h[PHR_HEX_LEN(32, true)];
	int rv;

	if (c->req.body == NULL || phr_api_get_address(prov, c->req.body, "provider") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "provider (0x address) is required");
	if (phr_api_get_level(&level, c->req.body, "level") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "level must be read, write or admin");
	if (phr_api_get_scope(scope, c->req.body, "scope") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID,
				"scope must be \"all\", {\"category\":n}, {\"record\":id} or 32 bytes hex");
	rv = phr_api_get_uint(&expiry, c->req.body, "expiry", UINT64_MAX >> 1);
	if (rv == PHR_ERR_NOT_FOUND) {
		if (phr_api_get_uint(&duration, c->req.body, "duration", 10ull * 365 * 86400) !=
			    PHR_OK ||
		    duration == 0)
			return api_fail(c, PHR_ERR_INVALID,
					"expiry (unix time) or duration (seconds, > 0) is required");
		if ((rv = phr_node_chain_time(c->api->cfg.node, &now)) != PHR_OK)
			return api_fail(c, rv, "chain time");
		expiry = now + duration;
	} else if (rv != PHR_OK) {
		return api_fail(c, PHR_ERR_INVALID, "expiry must be a unix time");
	}
	rv = phr_api_get_address(patient, c->req.body, "patient");
	if (rv == PHR_ERR_NOT_FOUND)
		memcpy(patient, c->caller, 20);
	else if (rv != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "patient must be a 0x address");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if (level == PHR_LEVEL_ADMIN && (rv = api_totp_check(c)) != PHR_OK)
		return rv;
	rv = phr_node_access_grant_for(c->api->cfg.node, me, patient, prov, level, scope, expiry);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "refused by the registry (not the patient's "
							  "owner, or the provider is not verified)"
				: rv == PHR_ERR_INVALID ? "refused by the registry (expiry in the past?)"
							: "grant failed");
	if (phr_hex_encode(h, sizeof(h), scope, 32, true) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "hex");
	return api_ok(c, 201, json_pack("{s:o,s:o,s:i,s:s,s:I}", "patient", api_jaddr(patient),
					 "provider", api_jaddr(prov), "level", (int)level, "scope",
					 h, "expiry", (json_int_t)expiry));
}

int api_h_revoke(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t prov[20], scope[32];
	int rv;

	if (c->req.body == NULL || phr_api_get_address(prov, c->req.body, "provider") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "provider (0x address) is required");
	if (phr_api_get_scope(scope, c->req.body, "scope") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "bad scope");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_access_revoke(c->api->cfg.node, me, prov, scope);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_NOT_FOUND ? "no such grant" : "revoke failed");
	return api_ok(c, 200, json_pack("{s:o,s:b}", "provider", api_jaddr(prov), "revoked", 1));
}

int api_h_request(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t patient[20], scope[32];
	enum phr_level level = PHR_LEVEL_READ;
	uint64_t purpose = 0, duration = 0;
	struct phr_u256 id;
	char buf[PHR_U256_DEC_LEN];
	int rv;

	if (c->req.body == NULL || phr_api_get_address(patient, c->req.body, "patient") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "patient (0x address) is required");
	if (phr_api_get_uint(&purpose, c->req.body, "purpose", PHR_PURPOSE_MAX) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "purpose (0..%u) is required", PHR_PURPOSE_MAX);
	if (phr_api_get_uint(&duration, c->req.body, "duration", 10ull * 365 * 86400) != PHR_OK ||
	    duration == 0)
		return api_fail(c, PHR_ERR_INVALID, "duration (seconds, > 0) is required");
	rv = phr_api_get_level(&level, c->req.body, "level");
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
		return api_fail(c, PHR_ERR_INVALID, "level must be read, write or admin");
	if (phr_api_get_scope(scope, c->req.body, "scope") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "bad scope");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_access_request(c->api->cfg.node, &id, me, patient, (unsigned)purpose, duration,
				     level, scope);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "only verified providers may request access"
				: rv == PHR_ERR_CONFLICT ? "a request to this patient is already open"
							 : "requestAccess failed");
	phr_u256_to_dec(buf, &id);
	return api_ok(c, 201, json_pack("{s:s,s:o,s:s}", "id", buf, "patient", api_jaddr(patient),
					 "status", "Pending"));
}

static int answer(struct api_ctx *c, bool approve)
{
	const struct phr_identity *me;
	struct phr_u256 id;
	int rv;

	if (phr_api_param_u256(&id, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a request id");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	/* approving a request for Admin access is an Admin grant: second factor */
	if (approve) {
		bool admin = false;
		if ((rv = api_request_is_admin(c, &admin, &id)) != PHR_OK)
			return api_fail(c, rv, "reading the request");
		if (admin && (rv = api_totp_check(c)) != PHR_OK)
			return rv;
	}
	rv = phr_node_access_answer(c->api->cfg.node, me, &id, approve);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "only the patient answers its requests"
				: rv == PHR_ERR_NOT_FOUND ? "no such request"
				: rv == PHR_ERR_EXPIRED	  ? "the request has expired"
							  : "the request is not pending");
	return api_ok(c, 200, json_pack("{s:s,s:s}", "id", c->req.params[0], "status",
					 approve ? "Approved" : "Denied"));
}

int api_h_approve(struct api_ctx *c)
{
	return answer(c, true);
}

int api_h_deny(struct api_ctx *c)
{
	return answer(c, false);
}

/* --- emergency -------------------------------------------------------------- */

int api_h_emergency_open(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t patient[20];
	uint64_t code = 0, expires = 0;
	const char *reason;
	int rv;

	if (c->req.body == NULL || phr_api_get_address(patient, c->req.body, "patient") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "patient (0x address) is required");
	if (phr_api_get_uint(&code, c->req.body, "reasonCode", 255) != PHR_OK || code == 0)
		return api_fail(c, PHR_ERR_INVALID, "reasonCode (1..255) is required");
	if (phr_json_get_str(&reason, c->req.body, "reason") != PHR_OK || strlen(reason) > 4096)
		return api_fail(c, PHR_ERR_INVALID, "reason (text, hashed on chain) is required");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	/* break-glass is a sensitive action: second factor */
	if ((rv = api_totp_check(c)) != PHR_OK)
		return rv;
	rv = phr_node_emergency_open(c->api->cfg.node, &expires, me, patient, (unsigned)code, reason);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "only verified emergency providers break the glass"
				: rv == PHR_ERR_CONFLICT ? "a session is already open"
							 : "openEmergencyAccess failed");
	return api_ok(c, 201, json_pack("{s:o,s:o,s:I,s:s}", "patient", api_jaddr(patient),
					 "provider", api_jaddr(me->address), "expiresAt",
					 (json_int_t)expires, "access", "read"));
}

int api_h_emergency_close(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t patient[20], prov[20];
	int rv;

	if (c->req.body == NULL || phr_api_get_address(patient, c->req.body, "patient") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "patient (0x address) is required");
	rv = phr_api_get_address(prov, c->req.body, "provider");
	if (rv == PHR_ERR_NOT_FOUND)
		memcpy(prov, c->caller, 20);
	else if (rv != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "provider must be a 0x address");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_emergency_close(c->api->cfg.node, me, patient, prov);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_NOT_FOUND ? "no open session"
					     : rv == PHR_ERR_FORBIDDEN ? "only the patient or the provider closes it"
								       : "closeEmergencyAccess failed");
	return api_ok(c, 200, json_pack("{s:b}", "closed", 1));
}

/* --- credentialing ---------------------------------------------------------- */

int api_h_verify_provider(struct api_ctx *c)
{
	const struct phr_identity *me;
	uint8_t prov[20];
	uint64_t roles = PHR_ROLE_PROVIDER, expiry = 0, now = 0;
	int rv;

	if (c->req.body == NULL || phr_api_get_address(prov, c->req.body, "provider") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "provider (0x address) is required");
	rv = phr_api_get_uint(&roles, c->req.body, "roles", 3);
	if ((rv != PHR_OK && rv != PHR_ERR_NOT_FOUND) || roles == 0)
		return api_fail(c, PHR_ERR_INVALID, "roles: 1 provider, 2 emergency, 3 both");
	rv = phr_api_get_uint(&expiry, c->req.body, "licenceExpiry", UINT64_MAX >> 1);
	if (rv == PHR_ERR_NOT_FOUND) {
		if ((rv = phr_node_chain_time(c->api->cfg.node, &now)) != PHR_OK)
			return api_fail(c, rv, "chain time");
		expiry = now + 365 * 86400;
	} else if (rv != PHR_OK) {
		return api_fail(c, PHR_ERR_INVALID, "licenceExpiry must be a unix time");
	}
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_verify_provider(c->api->cfg.node, me, prov, (unsigned)roles, expiry);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_FORBIDDEN
					       ? "only credentialing authorities verify providers"
					       : "verifyProvider failed (expiry in the past?)");
	return api_ok(c, 201, json_pack("{s:o,s:I,s:I}", "provider", api_jaddr(prov), "roles",
					 (json_int_t)roles, "licenceExpiry", (json_int_t)expiry));
}
