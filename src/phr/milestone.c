/*
 * Health milestone tokens (seed §5): details sealed to the patient and the
 * provider, public metadata signed by the provider (EIP-712). See milestone.h.
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"
#include "phr/milestone.h"
#include "phr_int.h"

/* Largest sealed details blob read back (details are a few hundred bytes). */
#define DETAILS_MAX 16384
/* Largest public metadata object read back. */
#define META_MAX 16384

static const char *const type_names[] = {
	"General",	  "Vaccination", "MajorProcedure", "ChronicConditionAchievement",
	"PreventiveCare", "LabResult",	 "Imaging",	   "Prescription",
	"ClinicalNote",	  "EmergencySummary",
};

bool phr_milestone_type(unsigned rtype)
{
	return rtype >= 1 && rtype <= 4;
}

const char *phr_milestone_type_name(unsigned rtype)
{
	return rtype < PHR_ARRAY_LEN(type_names) ? type_names[rtype] : type_names[0];
}

static int type_code(const char *name)
{
	for (size_t i = 0; i < PHR_ARRAY_LEN(type_names); i++)
		if (strcmp(name, type_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ details */

/* The display text (or the first coding's display, or code) of a CodeableConcept. */
static const char *concept_text(const json_t *cc)
{
	const json_t *codings = json_object_get(cc, "coding");
	const char *t = json_string_value(json_object_get(cc, "text"));
	size_t i;
	const json_t *c;

	if (t != NULL)
		return t;
	json_array_foreach(codings, i, c) {
		if ((t = json_string_value(json_object_get(c, "display"))) != NULL)
			return t;
	}
	json_array_foreach(codings, i, c) {
		if ((t = json_string_value(json_object_get(c, "code"))) != NULL)
			return t;
	}
	return NULL;
}

/* "system|code" of a CodeableConcept's first coding, in @p buf; NULL when none. */
static const char *concept_code(char *buf, size_t cap, const json_t *cc)
{
	const json_t *c = json_array_get(json_object_get(cc, "coding"), 0);
	const char *sys = json_string_value(json_object_get(c, "system"));
	const char *code = json_string_value(json_object_get(c, "code"));

	if (code == NULL)
		return NULL;
	snprintf(buf, cap, "%s|%s", sys ? sys : "", code);
	return buf;
}

/* Sets @p key to a copy of string @p v when v is not NULL. */
static int put_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL)
		return PHR_OK;
	return json_object_set_new(o, key, json_string(v)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

/* The first of the date elements @p keys present in @p r. */
static const char *first_date(const json_t *r, const char *const *keys)
{
	for (; *keys != NULL; keys++) {
		const json_t *v = json_object_get(r, *keys);
		if (json_is_string(v))
			return json_string_value(v);
		if (json_is_object(v) && json_is_string(json_object_get(v, "start")))
			return json_string_value(json_object_get(v, "start"));
	}
	return NULL;
}

int phr_milestone_details(json_t **details, const uint8_t *record, size_t len)
{
	static const char *const imm_dates[] = { "occurrenceDateTime", "recorded", NULL };
	static const char *const proc_dates[] = { "performedDateTime", "performedPeriod", NULL };
	static const char *const gen_dates[] = { "effectiveDateTime", "recordedDate", "onsetDateTime",
						 "period", "issued", "date", "created", NULL };
	json_t *r = json_loadb((const char *)record, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *d = json_object();
	const char *rt = json_string_value(json_object_get(r, "resourceType"));
	char code[160];
	int rv = PHR_OK;

	if (d == NULL) {
		json_decref(r);
		return PHR_ERR_NOMEM;
	}
	if (rt == NULL) {
		rv = put_str(d, "kind", "record");
	} else if (strcmp(rt, "Immunization") == 0) {
		const json_t *vc = json_object_get(r, "vaccineCode");
		rv = put_str(d, "kind", "vaccination");
		if (rv == PHR_OK)
			rv = put_str(d, "name", concept_text(vc));
		if (rv == PHR_OK)
			rv = put_str(d, "code", concept_code(code, sizeof(code), vc));
		if (rv == PHR_OK)
			rv = put_str(d, "manufacturer",
				     json_string_value(json_object_get(json_object_get(r, "manufacturer"), "display")));
		if (rv == PHR_OK)
			rv = put_str(d, "lotNumber", json_string_value(json_object_get(r, "lotNumber")));
		if (rv == PHR_OK)
			rv = put_str(d, "date", first_date(r, imm_dates));
	} else if (strcmp(rt, "Procedure") == 0) {
		const json_t *cc = json_object_get(r, "code");
		rv = put_str(d, "kind", "procedure");
		if (rv == PHR_OK)
			rv = put_str(d, "name", concept_text(cc));
		if (rv == PHR_OK)
			rv = put_str(d, "code", concept_code(code, sizeof(code), cc));
		if (rv == PHR_OK)
			rv = put_str(d, "date", first_date(r, proc_dates));
	} else {
		const json_t *cc = json_object_get(r, "code");
		if (cc == NULL)
			cc = json_object_get(r, "description");
		if (cc == NULL)
			cc = json_object_get(r, "category");
		if (json_is_array(cc))
			cc = json_array_get(cc, 0);
		rv = put_str(d, "kind",
			     strcmp(rt, "Condition") == 0 || strcmp(rt, "Observation") == 0 ||
					     strcmp(rt, "Goal") == 0 || strcmp(rt, "CarePlan") == 0
				     ? "achievement"
				     : "record");
		if (rv == PHR_OK)
			rv = put_str(d, "resourceType", rt);
		if (rv == PHR_OK)
			rv = put_str(d, "name", json_is_string(cc) ? json_string_value(cc) : concept_text(cc));
		if (rv == PHR_OK && json_is_object(cc))
			rv = put_str(d, "code", concept_code(code, sizeof(code), cc));
		if (rv == PHR_OK)
			rv = put_str(d, "date", first_date(r, gen_dates));
	}
	json_decref(r);
	if (rv != PHR_OK) {
		json_decref(d);
		return rv;
	}
	*details = d;
	return PHR_OK;
}

int phr_milestone_details_hash(uint8_t out[32], const json_t *details)
{
	char *s = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (s == NULL)
		return PHR_ERR_NOMEM;
	phr_keccak256(out, s, strlen(s));
	free(s);
	return PHR_OK;
}

/* ---------------------------------------------------------------- signature */

int phr_milestone_typed_data(json_t **typed, uint64_t chain_id, const uint8_t nft[20],
			     const struct phr_u256 *token, unsigned rtype, const uint8_t data_hash[32],
			     const uint8_t details_hash[32], uint64_t timestamp)
{
	char id[PHR_U256_DEC_LEN], nft_s[PHR_ETH_ADDRESS_STR_LEN], dh[67], th[67];
	json_t *t;

	phr_u256_to_dec(id, token);
	phr_eth_address_checksum(nft_s, nft);
	if (phr_hex_encode(dh, sizeof(dh), data_hash, 32, true) != PHR_OK ||
	    phr_hex_encode(th, sizeof(th), details_hash, 32, true) != PHR_OK)
		return PHR_ERR_INTERNAL;
	t = json_pack("{s:{s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}],"
		      "s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]},"
		      "s:s,s:{s:s,s:s,s:I,s:s},s:{s:s,s:I,s:s,s:s,s:I}}",
		      "types", "EIP712Domain", "name", "name", "type", "string", "name", "version",
		      "type", "string", "name", "chainId", "type", "uint256", "name",
		      "verifyingContract", "type", "address", "Milestone", "name", "tokenId", "type",
		      "uint256", "name", "recordType", "type", "uint8", "name", "dataHash", "type",
		      "bytes32", "name", "detailsHash", "type", "bytes32", "name", "timestamp", "type",
		      "uint64", "primaryType", "Milestone", "domain", "name", "phr milestone",
		      "version", "1", "chainId", (json_int_t)chain_id, "verifyingContract", nft_s,
		      "message", "tokenId", id, "recordType", (json_int_t)rtype, "dataHash", dh,
		      "detailsHash", th, "timestamp", (json_int_t)timestamp);
	if (t == NULL)
		return PHR_ERR_NOMEM;
	*typed = t;
	return PHR_OK;
}

/* The EIP-712 digest of a milestone of token @p m with details hash @p dh. */
static int milestone_digest(struct phr_node *n, uint8_t out[32], const struct phr_record_meta *m,
			    const uint8_t dh[32])
{
	json_t *typed = NULL;
	int rv = phr_milestone_typed_data(&typed, n->dep.chain_id, n->dep.nft, &m->token_id, m->rtype,
					  m->data_hash, dh, m->created_at);

	if (rv == PHR_OK)
		rv = phr_eip712_hash(out, typed);
	json_decref(typed);
	return rv;
}

/* ------------------------------------------------------------------- store */

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	return phr_buf_append(ctx, data, len);
}

/* Adds @p data to the store (pinned); its CID text in @p cid. */
static int put_blob(struct phr_node *n, char cid[PHR_CID_STR_MAX], const uint8_t *data, size_t len)
{
	struct phr_cid c;
	int rv = phr_store_add_bytes(n->store, &c, data, len, NULL);

	if (rv == PHR_OK)
		rv = phr_store_pin_add(n->store, &c);
	if (rv == PHR_OK)
		rv = phr_cid_format(cid, PHR_CID_STR_MAX, &c);
	return rv;
}

/* Reads the blob named by CID text @p cid (at most @p max bytes) into @p out. */
static int get_blob(struct phr_node *n, struct phr_buf *out, const char *cid, size_t max)
{
	struct phr_cid c;
	int rv;

	phr_buf_init(out, max);
	if (cid == NULL || phr_cid_parse(&c, cid) != PHR_OK)
		return PHR_ERR_PARSE;
	rv = phr_store_cat(n->store, &c, collect, out);
	if (rv != PHR_OK)
		phr_buf_release(out);
	return rv;
}

static int db_prepare(struct phr_node *n)
{
	return sqlite3_exec(n->db,
			    "CREATE TABLE IF NOT EXISTS milestone(token TEXT PRIMARY KEY, cid TEXT NOT NULL)",
			    NULL, NULL, NULL) == SQLITE_OK
		       ? PHR_OK
		       : PHR_ERR_DB;
}

static int db_put(struct phr_node *n, const struct phr_u256 *token, const char *cid)
{
	char id[PHR_U256_DEC_LEN];
	sqlite3_stmt *st = NULL;
	int rv;

	phr_u256_to_dec(id, token);
	pthread_mutex_lock(&n->lock);
	rv = db_prepare(n);
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO milestone(token, cid) VALUES(?1, ?2)", -1,
			       &st, NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv == PHR_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, cid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

static int db_get(struct phr_node *n, char cid[PHR_CID_STR_MAX], const struct phr_u256 *token)
{
	char id[PHR_U256_DEC_LEN];
	sqlite3_stmt *st = NULL;
	int rv;

	phr_u256_to_dec(id, token);
	pthread_mutex_lock(&n->lock);
	rv = db_prepare(n);
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "SELECT cid FROM milestone WHERE token = ?1", -1, &st, NULL) !=
		    SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv == PHR_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		int s = sqlite3_step(st);
		const unsigned char *t = s == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
		if (s == SQLITE_DONE)
			rv = PHR_ERR_NOT_FOUND;
		else if (t == NULL || strlen((const char *)t) >= PHR_CID_STR_MAX)
			rv = PHR_ERR_DB;
		else
			memcpy(cid, t, strlen((const char *)t) + 1);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* Seals @p plain to the registered X25519 key of @p who and stores it. */
static int seal_to(struct phr_node *n, char cid[PHR_CID_STR_MAX], const uint8_t who[20],
		   const char *plain)
{
	uint8_t pk[32];
	size_t len = strlen(plain);
	uint8_t *box;
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_enc_key(n, pk, who);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	box = phr_malloc(len + crypto_box_SEALBYTES);
	if (box == NULL)
		return PHR_ERR_NOMEM;
	if (crypto_box_seal(box, (const uint8_t *)plain, len, pk) != 0)
		rv = PHR_ERR_CRYPTO;
	else
		rv = put_blob(n, cid, box, len + crypto_box_SEALBYTES);
	phr_free(box);
	return rv;
}

/* 0x hex of up to 65 bytes (a signature) as a JSON string. */
static json_t *jhex(const uint8_t *p, size_t len)
{
	char s[PHR_HEX_LEN(PHR_ETH_SIG_BYTES, true)];

	if (len > PHR_ETH_SIG_BYTES || phr_hex_encode(s, sizeof(s), p, len, true) != PHR_OK)
		return NULL;
	return json_string(s);
}

static int iso_time(char out[32], uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return PHR_ERR_INVALID;
	return PHR_OK;
}

/* ---------------------------------------------------------------- publish */

int phr_node_milestone_publish(struct phr_node *n, json_t **meta, const struct phr_u256 *token,
			       const json_t *details, const uint8_t sig[PHR_ETH_SIG_BYTES])
{
	struct phr_record_meta m;
	uint8_t dh[32], digest[32], signer[20];
	char cid_p[PHR_CID_STR_MAX], cid_v[PHR_CID_STR_MAX], cid_meta[PHR_CID_STR_MAX];
	char id[PHR_U256_DEC_LEN], when[32], name[96];
	char *plain = NULL, *text = NULL;
	json_t *o = NULL;
	int rv;

	if ((rv = phr_node_record_meta(n, &m, token)) != PHR_OK)
		return rv;
	if (!phr_milestone_type(m.rtype))
		return PHR_ERR_INVALID;
	if (!json_is_object(details))
		return PHR_ERR_INVALID;
	if ((rv = phr_milestone_details_hash(dh, details)) != PHR_OK ||
	    (rv = milestone_digest(n, digest, &m, dh)) != PHR_OK)
		return rv;
	if (phr_eth_recover_hash(signer, digest, sig) != PHR_OK || memcmp(signer, m.provider, 20) != 0)
		return PHR_ERR_SIGNATURE;
	plain = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (plain == NULL)
		return PHR_ERR_NOMEM;
	if ((rv = seal_to(n, cid_p, m.patient, plain)) != PHR_OK ||
	    (rv = seal_to(n, cid_v, m.provider, plain)) != PHR_OK ||
	    (rv = iso_time(when, m.created_at)) != PHR_OK)
		goto out;
	phr_u256_to_dec(id, token);
	snprintf(name, sizeof(name), "%s milestone #%s", phr_milestone_type_name(m.rtype), id);
	o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:{s:o,s:{s:s,s:s}},s:o,s:s,s:o,"
		      "s:[{s:s,s:s},{s:s,s:o},{s:s,s:s,s:I}]}",
		      "name", name, "description",
		      "A health milestone recorded and attested by a verified provider; its details "
		      "are sealed to the patient and the provider.",
		      "tokenId", id, "recordType", phr_milestone_type_name(m.rtype), "provider",
		      phr_node_i_jaddr(m.provider), "timestamp", when, "details", "hash",
		      jhex(dh, 32), "sealed", "patient", cid_p, "provider", cid_v,
		      "verificationProof", jhex(sig, PHR_ETH_SIG_BYTES), "proofType",
		      "EIP712:Milestone(uint256 tokenId,uint8 recordType,bytes32 dataHash,bytes32 "
		      "detailsHash,uint64 timestamp)",
		      "dataHash", jhex(m.data_hash, 32), "attributes",
		      "trait_type", "recordType", "value", phr_milestone_type_name(m.rtype),
		      "trait_type", "provider", "value", phr_node_i_jaddr(m.provider), "display_type",
		      "date", "trait_type", "timestamp", "value", (json_int_t)m.created_at);
	if (o == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	{
		char uri[8 + PHR_CID_STR_MAX];
		snprintf(uri, sizeof(uri), "ipfs://%s", m.cid);
		if (json_object_set_new(o, "encryptedData", json_string(uri)) != 0) {
			rv = PHR_ERR_NOMEM;
			goto out;
		}
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	if ((rv = put_blob(n, cid_meta, (const uint8_t *)text, strlen(text))) != PHR_OK ||
	    (rv = db_put(n, token, cid_meta)) != PHR_OK)
		goto out;
	phr_log_info("phr", "milestone %s published (metadata %s)", id, cid_meta);
	if (meta != NULL) {
		*meta = o;
		o = NULL;
	}
out:
	if (plain != NULL) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	free(text);
	json_decref(o);
	return rv;
}

int phr_node_milestone_attest_plain(struct phr_node *n, json_t **meta, const struct phr_identity *provider,
				    const struct phr_u256 *token, const uint8_t *plain, size_t len)
{
	struct phr_record_meta m;
	json_t *details = NULL;
	uint8_t dh[32], digest[32], sig[PHR_ETH_SIG_BYTES];
	int rv;

	if ((rv = phr_node_record_meta(n, &m, token)) != PHR_OK)
		return rv;
	if (memcmp(m.provider, provider->address, 20) != 0)
		return PHR_ERR_FORBIDDEN;
	if (!phr_milestone_type(m.rtype))
		return PHR_ERR_INVALID;
	if ((rv = phr_milestone_details(&details, plain, len)) == PHR_OK &&
	    (rv = phr_milestone_details_hash(dh, details)) == PHR_OK &&
	    (rv = milestone_digest(n, digest, &m, dh)) == PHR_OK &&
	    (rv = phr_eth_sign_hash(sig, digest, provider->seckey)) == PHR_OK)
		rv = phr_node_milestone_publish(n, meta, token, details, sig);
	sodium_memzero(dh, sizeof(dh));
	json_decref(details);
	return rv;
}

int phr_node_milestone_attest(struct phr_node *n, json_t **meta, const struct phr_identity *provider,
			      const struct phr_u256 *token)
{
	struct phr_record_meta m;
	struct phr_buf plain;
	int rv;

	if ((rv = phr_node_record_meta(n, &m, token)) != PHR_OK)
		return rv;
	if (memcmp(m.provider, provider->address, 20) != 0)
		return PHR_ERR_FORBIDDEN;
	if (!phr_milestone_type(m.rtype))
		return PHR_ERR_INVALID;
	phr_buf_init(&plain, PHR_RECORD_MAX);
	rv = phr_node_record_read(n, &plain, &m, provider, token, 1 /* Treatment */);
	if (rv == PHR_OK)
		rv = phr_node_milestone_attest_plain(n, meta, provider, token, plain.data, plain.len);
	sodium_memzero(plain.data, plain.cap);
	phr_buf_release(&plain);
	return rv;
}

int phr_node_milestone_get(struct phr_node *n, json_t **meta, const struct phr_u256 *token)
{
	char cid[PHR_CID_STR_MAX];
	struct phr_buf b;
	json_t *o;
	int rv;

	if ((rv = db_get(n, cid, token)) != PHR_OK)
		return rv;
	if ((rv = get_blob(n, &b, cid, META_MAX)) != PHR_OK)
		return rv;
	o = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	phr_buf_release(&b);
	if (!json_is_object(o)) {
		json_decref(o);
		return PHR_ERR_CORRUPT;
	}
	*meta = o;
	return PHR_OK;
}

/* ------------------------------------------------------------------ verify */

/* Parses "0x" + 2*n hex digits of member @p key of @p o into @p out. */
static bool get_hex(uint8_t *out, size_t n, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && strlen(s) == 2 + 2 * n && s[0] == '0' && s[1] == 'x' &&
	       phr_hex_decode_exact(out, n, s) == PHR_OK;
}

static int check_add(json_t *checks, const char *name, bool ok, bool *all)
{
	if (!ok)
		*all = false;
	return json_object_set_new(checks, name, json_boolean(ok)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

int phr_node_milestone_check(struct phr_node *n, json_t **report, const json_t *meta)
{
	struct phr_u256 token;
	struct phr_record_meta m;
	uint8_t dh[32], sig[PHR_ETH_SIG_BYTES], addr[20], digest[32], signer[20], data_hash[32];
	const char *id = json_string_value(json_object_get(meta, "tokenId"));
	const char *tname = json_string_value(json_object_get(meta, "recordType"));
	const char *when = json_string_value(json_object_get(meta, "timestamp"));
	const char *prov = json_string_value(json_object_get(meta, "provider"));
	json_t *checks, *rep;
	bool all = true, live, milestone = false, verified = false;
	char iso[32];
	int rv;

	if (id == NULL || tname == NULL || when == NULL || prov == NULL ||
	    phr_u256_parse(&token, id) != 0 || phr_eth_address_parse(addr, prov) != PHR_OK ||
	    !get_hex(dh, 32, json_object_get(meta, "details"), "hash") ||
	    !get_hex(sig, sizeof(sig), meta, "verificationProof") ||
	    !get_hex(data_hash, 32, meta, "dataHash"))
		return PHR_ERR_PARSE;
	checks = json_object();
	if (checks == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_node_record_meta(n, &m, &token);
	live = rv == PHR_OK;
	if (rv == PHR_ERR_NOT_FOUND)
		rv = PHR_OK;
	if (rv == PHR_OK && live) {
		struct phr_buf cd, out;
		phr_buf_init(&cd, 0);
		phr_buf_init(&out, 0);
		pthread_mutex_lock(&n->lock);
		rv = phr_contracts_health_record_nft_is_milestone_encode(&cd, &token);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &out, NULL, n->dep.nft, &cd);
		if (rv == PHR_OK)
			rv = phr_contracts_health_record_nft_is_milestone_decode(&milestone, out.data, out.len);
		phr_buf_reset(&cd);
		if (rv == PHR_OK)
			rv = phr_contracts_provider_registry_is_verified_encode(&cd, m.provider);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &out, NULL, n->dep.providers, &cd);
		if (rv == PHR_OK)
			rv = phr_contracts_provider_registry_is_verified_decode(&verified, out.data, out.len);
		pthread_mutex_unlock(&n->lock);
		phr_buf_release(&cd);
		phr_buf_release(&out);
	}
	if (rv == PHR_OK)
		rv = check_add(checks, "tokenLive", live, &all);
	if (rv == PHR_OK)
		rv = check_add(checks, "isMilestone", live && milestone, &all);
	if (rv == PHR_OK)
		rv = check_add(checks, "recordType", live && type_code(tname) == (int)m.rtype, &all);
	if (rv == PHR_OK)
		rv = check_add(checks, "provider", live && memcmp(addr, m.provider, 20) == 0, &all);
	if (rv == PHR_OK)
		rv = check_add(checks, "dataHash", live && memcmp(data_hash, m.data_hash, 32) == 0, &all);
	if (rv == PHR_OK)
		rv = check_add(checks, "timestamp",
			       live && iso_time(iso, m.created_at) == PHR_OK && strcmp(iso, when) == 0, &all);
	if (rv == PHR_OK) {
		/* the signature over the chain's own fields: a metadata object that
		 * lies about them cannot carry a valid proof */
		bool sig_ok = live && milestone_digest(n, digest, &m, dh) == PHR_OK &&
			      phr_eth_recover_hash(signer, digest, sig) == PHR_OK &&
			      memcmp(signer, m.provider, 20) == 0;
		rv = check_add(checks, "signature", sig_ok, &all);
	}
	if (rv == PHR_OK)
		rv = check_add(checks, "providerVerified", live && verified, &all);
	if (rv != PHR_OK) {
		json_decref(checks);
		return rv;
	}
	rep = json_pack("{s:b,s:o}", "valid", all, "checks", checks);
	if (rep == NULL)
		return PHR_ERR_NOMEM;
	*report = rep;
	return PHR_OK;
}

int phr_node_milestone_details_open(struct phr_node *n, json_t **details, const struct phr_identity *who,
				    const json_t *meta)
{
	struct phr_u256 token;
	struct phr_record_meta m;
	struct phr_buf box;
	const json_t *sealed = json_object_get(json_object_get(meta, "details"), "sealed");
	const char *id = json_string_value(json_object_get(meta, "tokenId"));
	const char *cid;
	uint8_t dh[32], want[32];
	uint8_t *plain = NULL;
	json_t *d = NULL;
	int rv;

	if (id == NULL || phr_u256_parse(&token, id) != 0 ||
	    !get_hex(want, 32, json_object_get(meta, "details"), "hash"))
		return PHR_ERR_PARSE;
	if ((rv = phr_node_record_meta(n, &m, &token)) != PHR_OK)
		return rv;
	if (memcmp(who->address, m.patient, 20) == 0)
		cid = json_string_value(json_object_get(sealed, "patient"));
	else if (memcmp(who->address, m.provider, 20) == 0)
		cid = json_string_value(json_object_get(sealed, "provider"));
	else
		return PHR_ERR_FORBIDDEN;
	if ((rv = get_blob(n, &box, cid, DETAILS_MAX)) != PHR_OK)
		return rv;
	if (box.len <= crypto_box_SEALBYTES) {
		rv = PHR_ERR_TAMPERED;
		goto out;
	}
	plain = sodium_malloc(box.len - crypto_box_SEALBYTES);
	if (plain == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	if (crypto_box_seal_open(plain, box.data, box.len, who->box_pk, who->box_sk) != 0) {
		rv = PHR_ERR_TAMPERED;
		goto out;
	}
	d = json_loadb((const char *)plain, box.len - crypto_box_SEALBYTES, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(d) || phr_milestone_details_hash(dh, d) != PHR_OK ||
	    sodium_memcmp(dh, want, 32) != 0) {
		rv = PHR_ERR_TAMPERED;
		goto out;
	}
	*details = d;
	d = NULL;
out:
	json_decref(d);
	sodium_free(plain);
	phr_buf_release(&box);
	return rv;
}

int phr_node_milestones_list(struct phr_node *n, json_t **out, const uint8_t patient[20])
{
	json_t *all = NULL, *arr, *r;
	size_t i;
	int rv = phr_node_records_list(n, &all, patient);

	if (rv != PHR_OK)
		return rv;
	arr = json_array();
	if (arr == NULL) {
		json_decref(all);
		return PHR_ERR_NOMEM;
	}
	json_array_foreach(all, i, r) {
		unsigned t = (unsigned)json_integer_value(json_object_get(r, "type"));
		struct phr_u256 token;
		struct phr_record_meta m;
		json_t *meta = NULL, *o;
		if (!phr_milestone_type(t) ||
		    json_string_value(json_object_get(r, "id")) == NULL ||
		    phr_u256_parse(&token, json_string_value(json_object_get(r, "id"))) != 0)
			continue;
		/* burnt tokens are not milestones any more */
		if (phr_node_record_meta(n, &m, &token) != PHR_OK)
			continue;
		if (phr_node_milestone_get(n, &meta, &token) != PHR_OK)
			meta = json_null();
		o = json_pack("{s:O,s:I,s:s,s:O,s:O,s:o}", "id", json_object_get(r, "id"), "type",
			      (json_int_t)t, "typeName", phr_milestone_type_name(t), "provider",
			      json_object_get(r, "provider"), "block", json_object_get(r, "block"),
			      "metadata", meta);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
	}
	json_decref(all);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}
