/*
 * Research studies on a node: homomorphic aggregates (he.h) with consent on
 * chain (StudyRegistry) and a log of every step. See study.h.
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/he.h"
#include "phr/json.h"
#include "phr/study.h"
#include "phr_int.h"

#define SEALED_MAX 4096

bool phr_study_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > PHR_STUDY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void phr_study_chain_id(uint8_t id[32], const char *name)
{
	phr_keccak256(id, name, strlen(name));
}

/* keccak256 of the canonical JSON (sorted keys, compact, ASCII) of @p j. */
static int json_hash(uint8_t out[32], const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (s == NULL)
		return PHR_ERR_NOMEM;
	phr_keccak256(out, s, strlen(s));
	free(s);
	return PHR_OK;
}

/* ------------------------------------------------------------------ DB */

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS study(name TEXT PRIMARY KEY, params TEXT NOT NULL,"
	" shares TEXT NOT NULL, aggregate TEXT NOT NULL, closed INTEGER NOT NULL DEFAULT 0,"
	" result TEXT);"
	"CREATE TABLE IF NOT EXISTS study_submission(study TEXT NOT NULL, patient TEXT NOT NULL,"
	" submission TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(study, patient));"
	"CREATE TABLE IF NOT EXISTS study_partial(study TEXT NOT NULL, idx INTEGER NOT NULL,"
	" partial TEXT NOT NULL, PRIMARY KEY(study, idx));"
	"CREATE TABLE IF NOT EXISTS study_log(id INTEGER PRIMARY KEY, study TEXT NOT NULL,"
	" at INTEGER NOT NULL, actor TEXT NOT NULL, step TEXT NOT NULL, outcome TEXT NOT NULL,"
	" detail TEXT NOT NULL);";

/* Caller holds the lock. */
static int db_ready(struct phr_node *n)
{
	return sqlite3_exec(n->db, schema, NULL, NULL, NULL) == SQLITE_OK ? PHR_OK : PHR_ERR_DB;
}

/* Runs @p sql with text parameters (NULL-terminated list). Caller holds the lock. */
static int db_run(struct phr_node *n, const char *sql, const char *const *args)
{
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK, s;

	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	for (int i = 0; args != NULL && args[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
	s = sqlite3_step(st);
	if (s == SQLITE_CONSTRAINT)
		rv = PHR_ERR_EXISTS;
	else if (s != SQLITE_DONE && s != SQLITE_ROW)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* The study row: params, shares, aggregate as new JSON; closed flag. Caller holds the lock. */
struct study_row {
	json_t *params, *shares, *aggregate, *result;
	bool closed;
};

static void row_release(struct study_row *r)
{
	json_decref(r->params);
	json_decref(r->shares);
	json_decref(r->aggregate);
	json_decref(r->result);
	memset(r, 0, sizeof(*r));
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? json_loads((const char *)t, 0, NULL) : NULL;
}

static int row_load(struct phr_node *n, struct study_row *r, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK, s;

	memset(r, 0, sizeof(*r));
	if ((rv = db_ready(n)) != PHR_OK)
		return rv;
	if (sqlite3_prepare_v2(n->db,
			       "SELECT params, shares, aggregate, closed, result FROM study WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rv = PHR_ERR_NOT_FOUND;
	} else if (s != SQLITE_ROW) {
		rv = PHR_ERR_DB;
	} else {
		r->params = col_json(st, 0);
		r->shares = col_json(st, 1);
		r->aggregate = col_json(st, 2);
		r->closed = sqlite3_column_int(st, 3) != 0;
		r->result = col_json(st, 4);
		if (r->params == NULL || r->shares == NULL || r->aggregate == NULL)
			rv = PHR_ERR_CORRUPT;
	}
	sqlite3_finalize(st);
	if (rv != PHR_OK)
		row_release(r);
	return rv;
}

static void log_locked(struct phr_node *n, const char *name, const uint8_t *actor, const char *step,
		       const char *outcome, const char *detail)
{
	char a[PHR_ETH_ADDRESS_STR_LEN] = "node", at[24];
	const char *args[] = { name, at, a, step, outcome, detail ? detail : "", NULL };

	if (actor != NULL)
		phr_eth_address_checksum(a, actor);
	snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
	if (db_ready(n) != PHR_OK ||
	    db_run(n, "INSERT INTO study_log(study, at, actor, step, outcome, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
		   args) != PHR_OK)
		phr_log_warn("phr", "study %s: the log entry %s/%s was not written", name, step, outcome);
}

void phr_node_study_log_add(struct phr_node *n, const char *name, const uint8_t actor[20], const char *step,
			    const char *outcome, const char *detail)
{
	pthread_mutex_lock(&n->lock);
	log_locked(n, name, actor, step, outcome, detail);
	pthread_mutex_unlock(&n->lock);
}

/* Logs the outcome of a step (ok, or the error's name) and returns @p rv. */
static int logged(struct phr_node *n, const char *name, const uint8_t *actor, const char *step, int rv,
		  const char *detail)
{
	if (phr_study_name_ok(name))
		phr_node_study_log_add(n, name, actor, step, rv == PHR_OK ? "ok" : phr_err_name(rv), detail);
	return rv;
}

static bool has_studies(struct phr_node *n)
{
	static const uint8_t zero[20];

	return memcmp(n->dep.studies, zero, 20) != 0;
}

/* --------------------------------------------------------------- create */

/* Seals the share JSON to @p who's registered key; the sealed blob's CID in @p cid. */
static int seal_share(struct phr_node *n, char cid[PHR_CID_STR_MAX], const uint8_t who[20],
		      const struct phr_he_study *s, const struct phr_he_share *sh)
{
	uint8_t pk[32], box[SEALED_MAX];
	json_t *j = NULL;
	char *text = NULL;
	size_t len;
	struct phr_cid c;
	int rv;

	if ((rv = phr_node_i_enc_key(n, pk, who)) != PHR_OK)
		return rv;
	if ((rv = phr_he_share_to_json(&j, s, sh)) != PHR_OK)
		return rv;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return PHR_ERR_NOMEM;
	len = strlen(text);
	if (len + crypto_box_SEALBYTES > sizeof(box))
		rv = PHR_ERR_TOO_LARGE;
	else if (crypto_box_seal(box, (const uint8_t *)text, len, pk) != 0)
		rv = PHR_ERR_CRYPTO;
	sodium_memzero(text, len);
	free(text);
	if (rv == PHR_OK)
		rv = phr_store_add_bytes(n->store, &c, box, len + crypto_box_SEALBYTES, NULL);
	if (rv == PHR_OK)
		rv = phr_store_pin_add(n->store, &c);
	if (rv == PHR_OK)
		rv = phr_cid_format(cid, PHR_CID_STR_MAX, &c);
	return rv;
}

int phr_node_study_create(struct phr_node *n, json_t **params, const struct phr_identity *sponsor,
			  const char *name, uint32_t bits, uint32_t t, const uint8_t (*custodians)[20], size_t cn)
{
	struct phr_he_study s;
	struct phr_he_share *shares = NULL;
	struct phr_he_aggregate agg;
	struct phr_buf cd;
	json_t *p = NULL, *cust = NULL, *sh = NULL, *he = NULL, *aggj = NULL;
	uint8_t id[32], ph[32];
	char *ptext = NULL, *shtext = NULL, *aggtext = NULL;
	int rv;

	if (!has_studies(n))
		return PHR_ERR_UNSUPPORTED;
	if (!phr_study_name_ok(name) || bits < 1 || bits > PHR_HE_MAX_BITS || t < 1 || cn < t ||
	    cn > PHR_HE_MAX_CUSTODIANS)
		return PHR_ERR_INVALID;
	for (size_t i = 0; i < cn; i++)
		for (size_t k = i + 1; k < cn; k++)
			if (memcmp(custodians[i], custodians[k], 20) == 0)
				return PHR_ERR_INVALID;
	phr_buf_init(&cd, 0);
	cust = json_array();
	sh = json_object();
	if (cust == NULL || sh == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	if ((rv = phr_he_study_create(&s, &shares, name, bits, t, (uint32_t)cn)) != PHR_OK)
		goto out;
	for (size_t i = 0; i < cn; i++) {
		char cid[PHR_CID_STR_MAX], a[PHR_ETH_ADDRESS_STR_LEN];
		pthread_mutex_lock(&n->lock);
		rv = seal_share(n, cid, custodians[i], &s, &shares[i]);
		pthread_mutex_unlock(&n->lock);
		if (rv != PHR_OK)
			goto out;
		phr_eth_address_checksum(a, custodians[i]);
		if (json_array_append_new(cust, json_string(a)) != 0 ||
		    json_object_set_new(sh, a, json_string(cid)) != 0) {
			rv = PHR_ERR_NOMEM;
			goto out;
		}
	}
	phr_he_shares_free(shares, (uint32_t)cn);
	shares = NULL;
	if ((rv = phr_he_study_to_json(&he, &s)) != PHR_OK)
		goto out;
	p = json_pack("{s:s,s:o,s:O,s:O}", "name", name, "sponsor", phr_node_i_jaddr(sponsor->address),
		      "custodians", cust, "he", he);
	if (p == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	phr_he_aggregate_init(&agg);
	if ((rv = json_hash(ph, p)) != PHR_OK || (rv = phr_he_aggregate_to_json(&aggj, &agg)) != PHR_OK)
		goto out;
	ptext = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	shtext = json_dumps(sh, JSON_COMPACT);
	aggtext = json_dumps(aggj, JSON_COMPACT);
	if (ptext == NULL || shtext == NULL || aggtext == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	phr_study_chain_id(id, name);
	pthread_mutex_lock(&n->lock);
	{
		const char *args[] = { name, ptext, shtext, aggtext, NULL };
		struct study_row r;
		rv = row_load(n, &r, name);
		if (rv == PHR_OK) {
			row_release(&r);
			rv = PHR_ERR_EXISTS;
		} else if (rv == PHR_ERR_NOT_FOUND) {
			rv = phr_contracts_study_registry_create_study_encode(&cd, id, ph);
			if (rv == PHR_OK)
				rv = phr_node_i_tx(n, NULL, sponsor, n->dep.studies, &cd);
			if (rv == PHR_OK)
				rv = db_run(n, "INSERT INTO study(name, params, shares, aggregate) VALUES(?1, ?2, ?3, ?4)",
					    args);
		}
	}
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK && json_object_set_new(p, "paramsHash", phr_node_i_jhex(ph, 32)) != 0)
		rv = PHR_ERR_NOMEM;
	if (rv == PHR_OK) {
		*params = p;
		p = NULL;
	}
out:
	if (shares != NULL)
		phr_he_shares_free(shares, (uint32_t)cn);
	logged(n, name, sponsor->address, "create", rv, NULL);
	free(ptext);
	free(shtext);
	free(aggtext);
	json_decref(p);
	json_decref(cust);
	json_decref(sh);
	json_decref(he);
	json_decref(aggj);
	phr_buf_release(&cd);
	return rv;
}

/* ------------------------------------------------------------------ get */

static int count_rows(struct phr_node *n, uint64_t *count, const char *table, const char *name)
{
	char sql[96];
	sqlite3_stmt *st = NULL;
	int rv = PHR_ERR_DB;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE study = ?1", table);
	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*count = (uint64_t)sqlite3_column_int64(st, 0);
			rv = PHR_OK;
		}
	}
	sqlite3_finalize(st);
	return rv;
}

int phr_node_study_get(struct phr_node *n, json_t **out, const char *name)
{
	struct study_row r;
	uint64_t subs = 0, parts = 0;
	uint8_t ah[32];
	json_t *o;
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK)
		rv = count_rows(n, &subs, "study_submission", name);
	if (rv == PHR_OK)
		rv = count_rows(n, &parts, "study_partial", name);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	o = json_pack("{s:O,s:I,s:b,s:O,s:I}", "params", r.params, "count", (json_int_t)subs, "closed",
		      r.closed, "aggregate", r.aggregate, "partials", (json_int_t)parts);
	if (o != NULL && r.closed &&
	    (json_hash(ah, r.aggregate) != PHR_OK ||
	     json_object_set_new(o, "aggregateHash", phr_node_i_jhex(ah, 32)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	row_release(&r);
	if (o == NULL)
		return PHR_ERR_NOMEM;
	*out = o;
	return PHR_OK;
}

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	return phr_buf_append(ctx, data, len);
}

int phr_node_study_share(struct phr_node *n, struct phr_buf *sealed, const char *name, const uint8_t who[20])
{
	struct study_row r;
	struct phr_cid c;
	char a[PHR_ETH_ADDRESS_STR_LEN];
	const char *cid;
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	phr_eth_address_checksum(a, who);
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	cid = json_string_value(json_object_get(r.shares, a));
	if (cid == NULL)
		rv = PHR_ERR_NOT_FOUND;
	else if ((rv = phr_cid_parse(&c, cid)) == PHR_OK)
		rv = phr_store_cat(n->store, &c, collect, sealed);
	row_release(&r);
	return rv;
}

/* -------------------------------------------------------------- consent */

int phr_node_study_consent(struct phr_node *n, const struct phr_identity *patient, const char *name,
			   uint64_t until)
{
	struct study_row r;
	struct phr_buf cd;
	uint8_t id[32];
	char detail[48];
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	phr_study_chain_id(id, name);
	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK) {
		rv = r.closed ? PHR_ERR_STATE : PHR_OK;
		row_release(&r);
	}
	if (rv == PHR_OK)
		rv = until == 0 ? phr_contracts_study_registry_withdraw_encode(&cd, id, patient->address)
				: phr_contracts_study_registry_consent_encode(&cd, id, patient->address, until);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, patient, n->dep.studies, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	snprintf(detail, sizeof(detail), "until %llu", (unsigned long long)until);
	return logged(n, name, patient->address, until == 0 ? "withdraw" : "consent", rv,
		      until == 0 ? NULL : detail);
}

/* ------------------------------------------------------------- submit */

struct consent_ctx {
	struct phr_node *n;
	const uint8_t *patient;
};

/* StudyRegistry.hasConsent(keccak(name), patient) now. Caller holds the lock. */
static int consent_on_chain(void *ctx, const char *study, const char *patient)
{
	struct consent_ctx *cc = ctx;
	struct phr_buf cd, out;
	uint8_t id[32];
	bool ok = false;
	int rv;

	(void)patient; /* the caller matched it with the signed-in address */
	phr_study_chain_id(id, study);
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	rv = phr_contracts_study_registry_has_consent_encode(&cd, id, cc->patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(cc->n, &out, NULL, cc->n->dep.studies, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_study_registry_has_consent_decode(&ok, out.data, out.len);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	if (rv != PHR_OK)
		return rv;
	return ok ? PHR_OK : PHR_ERR_FORBIDDEN;
}

int phr_node_study_submit(struct phr_node *n, uint64_t *count, const char *name, const uint8_t caller[20],
			  const json_t *submission)
{
	struct study_row r = { 0 };
	struct phr_he_study s;
	struct phr_he_submission *sub = NULL;
	struct phr_he_aggregate agg;
	struct consent_ctx cc = { n, caller };
	char a[PHR_ETH_ADDRESS_STR_LEN], *stext = NULL, *atext = NULL, at[24];
	json_t *aggj = NULL;
	uint64_t c = 0;
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	sub = phr_malloc(sizeof(*sub));
	if (sub == NULL)
		return PHR_ERR_NOMEM;
	phr_eth_address_checksum(a, caller);
	rv = phr_he_submission_from_json(sub, submission);
	if (rv != PHR_OK) {
		rv = rv == PHR_ERR_NOMEM ? rv : PHR_ERR_PARSE;
		goto out;
	}
	if (strcmp(sub->patient, a) != 0) {
		rv = PHR_ERR_INVALID;
		goto out;
	}
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK && r.closed)
		rv = PHR_ERR_STATE;
	if (rv == PHR_OK && ((rv = phr_he_study_from_json(&s, json_object_get(r.params, "he"))) != PHR_OK ||
			     (rv = phr_he_aggregate_from_json(&agg, r.aggregate)) != PHR_OK))
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK) {
		/* one submission per patient: checked before the proofs cost anything */
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(n->db, "SELECT 1 FROM study_submission WHERE study = ?1 AND patient = ?2",
				       -1, &st, NULL) != SQLITE_OK) {
			rv = PHR_ERR_DB;
		} else {
			sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				rv = PHR_ERR_EXISTS;
		}
		sqlite3_finalize(st);
	}
	if (rv == PHR_OK)
		rv = phr_he_aggregate_submit(&agg, &s, sub, consent_on_chain, &cc);
	if (rv == PHR_OK && (rv = phr_he_aggregate_to_json(&aggj, &agg)) == PHR_OK) {
		stext = json_dumps(submission, JSON_COMPACT);
		atext = json_dumps(aggj, JSON_COMPACT);
		if (stext == NULL || atext == NULL)
			rv = PHR_ERR_NOMEM;
	}
	if (rv == PHR_OK) {
		/* the submission and the new aggregate together, or neither */
		const char *ins[] = { name, a, stext, at, NULL };
		const char *upd[] = { atext, name, NULL };
		snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
		rv = sqlite3_exec(n->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? PHR_OK : PHR_ERR_DB;
		if (rv == PHR_OK)
			rv = db_run(n, "INSERT INTO study_submission(study, patient, submission, at) VALUES(?1, ?2, ?3, ?4)",
				    ins);
		if (rv == PHR_OK)
			rv = db_run(n, "UPDATE study SET aggregate = ?1 WHERE name = ?2", upd);
		if (rv == PHR_OK)
			rv = count_rows(n, &c, "study_submission", name);
		if (sqlite3_exec(n->db, rv == PHR_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
		    rv == PHR_OK)
			rv = PHR_ERR_DB;
	}
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK && count != NULL)
		*count = c;
out:
	logged(n, name, caller, "submit", rv, NULL);
	row_release(&r);
	json_decref(aggj);
	free(stext);
	free(atext);
	phr_free(sub);
	return rv;
}

/* ------------------------------------------------------------- close */

int phr_node_study_close(struct phr_node *n, const struct phr_identity *sponsor, const char *name)
{
	struct study_row r = { 0 };
	struct phr_buf cd;
	uint8_t id[32], ah[32], sp[20];
	const char *args[] = { name, NULL };
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	phr_study_chain_id(id, name);
	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK && r.closed)
		rv = PHR_ERR_STATE;
	if (rv == PHR_OK) {
		const char *sps = json_string_value(json_object_get(r.params, "sponsor"));
		if (sps == NULL || phr_eth_address_parse(sp, sps) != PHR_OK ||
		    memcmp(sp, sponsor->address, 20) != 0)
			rv = PHR_ERR_FORBIDDEN;
	}
	if (rv == PHR_OK)
		rv = json_hash(ah, r.aggregate);
	if (rv == PHR_OK)
		rv = phr_contracts_study_registry_close_encode(&cd, id, ah);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, sponsor, n->dep.studies, &cd);
	if (rv == PHR_OK)
		rv = db_run(n, "UPDATE study SET closed = 1 WHERE name = ?1", args);
	pthread_mutex_unlock(&n->lock);
	row_release(&r);
	phr_buf_release(&cd);
	return logged(n, name, sponsor->address, "close", rv, NULL);
}

/* ------------------------------------------------------------ partials */

int phr_node_study_partial(struct phr_node *n, const char *name, const uint8_t caller[20], const json_t *partial)
{
	struct study_row r = { 0 };
	struct phr_he_study s;
	struct phr_he_aggregate agg;
	struct phr_he_partial p;
	uint8_t who[20];
	char idx[16], *text = NULL;
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	if (phr_he_partial_from_json(&p, partial) != PHR_OK)
		return logged(n, name, caller, "partial", PHR_ERR_PARSE, NULL);
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK && !r.closed)
		rv = PHR_ERR_STATE;
	if (rv == PHR_OK && ((rv = phr_he_study_from_json(&s, json_object_get(r.params, "he"))) != PHR_OK ||
			     (rv = phr_he_aggregate_from_json(&agg, r.aggregate)) != PHR_OK))
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK) {
		const char *c = json_string_value(json_array_get(json_object_get(r.params, "custodians"),
								 p.index >= 1 ? p.index - 1 : 999));
		if (c == NULL || phr_eth_address_parse(who, c) != PHR_OK || memcmp(who, caller, 20) != 0)
			rv = PHR_ERR_FORBIDDEN;
	}
	if (rv == PHR_OK)
		rv = phr_he_partial_verify(&s, &agg, &p);
	if (rv == PHR_OK && (text = json_dumps(partial, JSON_COMPACT)) == NULL)
		rv = PHR_ERR_NOMEM;
	if (rv == PHR_OK) {
		const char *args[] = { name, idx, text, NULL };
		snprintf(idx, sizeof(idx), "%u", (unsigned)p.index);
		rv = db_run(n, "INSERT INTO study_partial(study, idx, partial) VALUES(?1, ?2, ?3)", args);
	}
	pthread_mutex_unlock(&n->lock);
	row_release(&r);
	free(text);
	snprintf(idx, sizeof(idx), "index %u", (unsigned)p.index);
	return logged(n, name, caller, "partial", rv, idx);
}

/* -------------------------------------------------------------- result */

int phr_node_study_result(struct phr_node *n, json_t **out, const char *name)
{
	struct study_row r = { 0 };
	struct phr_he_study s;
	struct phr_he_aggregate agg;
	struct phr_he_partial parts[PHR_HE_MAX_CUSTODIANS];
	struct phr_he_result res;
	size_t np = 0, bad = 0;
	sqlite3_stmt *st = NULL;
	json_t *o = NULL;
	char *text = NULL;
	const struct phr_identity *sponsor = NULL;
	uint8_t sp[20], rh[32], id[32];
	int rv;

	if (!phr_study_name_ok(name))
		return PHR_ERR_NOT_FOUND;
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK && !r.closed)
		rv = PHR_ERR_STATE;
	if (rv == PHR_OK && r.result != NULL) {
		/* decrypted before: the same answer */
		*out = json_incref(r.result);
		pthread_mutex_unlock(&n->lock);
		row_release(&r);
		return PHR_OK;
	}
	if (rv == PHR_OK && ((rv = phr_he_study_from_json(&s, json_object_get(r.params, "he"))) != PHR_OK ||
			     (rv = phr_he_aggregate_from_json(&agg, r.aggregate)) != PHR_OK))
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "SELECT partial FROM study_partial WHERE study = ?1 ORDER BY idx", -1, &st,
			       NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv == PHR_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		while (np < PHR_ARRAY_LEN(parts) && sqlite3_step(st) == SQLITE_ROW) {
			json_t *j = col_json(st, 0);
			if (j != NULL && phr_he_partial_from_json(&parts[np], j) == PHR_OK)
				np++;
			json_decref(j);
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK)
		rv = phr_he_combine(&res, &bad, &s, &agg, parts, np);
	if (rv == PHR_OK) {
		o = json_pack("{s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:I}", "count", (json_int_t)res.count, "sum",
			      (json_int_t)res.sum, "sumsq", (json_int_t)res.sumsq, "mean", res.mean,
			      "variance", res.variance, "sampleVariance", res.sample_variance,
			      "partialsUsed", (json_int_t)(np - bad < s.t ? np - bad : s.t), "partialsRejected",
			      (json_int_t)bad);
		if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
			rv = PHR_ERR_NOMEM;
	}
	if (rv == PHR_OK) {
		const char *args[] = { text, name, NULL };
		const char *sps = json_string_value(json_object_get(r.params, "sponsor"));
		pthread_mutex_lock(&n->lock);
		rv = db_run(n, "UPDATE study SET result = ?1 WHERE name = ?2", args);
		if (rv == PHR_OK && sps != NULL && phr_eth_address_parse(sp, sps) == PHR_OK)
			sponsor = phr_node_identity(n, sp);
		if (rv == PHR_OK && sponsor != NULL) {
			struct phr_buf cd;
			phr_buf_init(&cd, 0);
			phr_study_chain_id(id, name);
			if (json_hash(rh, o) == PHR_OK &&
			    phr_contracts_study_registry_publish_result_encode(&cd, id, rh) == PHR_OK &&
			    phr_node_i_tx(n, NULL, sponsor, n->dep.studies, &cd) != PHR_OK)
				phr_log_warn("phr", "study %s: the result hash was not published on chain", name);
			phr_buf_release(&cd);
		}
		pthread_mutex_unlock(&n->lock);
	}
	row_release(&r);
	free(text);
	if (rv != PHR_OK) {
		json_decref(o);
		return logged(n, name, NULL, "result", rv, NULL);
	}
	logged(n, name, NULL, "result", rv, NULL);
	*out = o;
	return PHR_OK;
}

/* ----------------------------------------------------------------- log */

int phr_node_study_log(struct phr_node *n, json_t **out, const char *name)
{
	struct study_row r;
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rv;

	if (arr == NULL)
		return PHR_ERR_NOMEM;
	if (!phr_study_name_ok(name)) {
		json_decref(arr);
		return PHR_ERR_NOT_FOUND;
	}
	pthread_mutex_lock(&n->lock);
	rv = row_load(n, &r, name);
	if (rv == PHR_OK) {
		row_release(&r);
		if (sqlite3_prepare_v2(n->db,
				       "SELECT at, actor, step, outcome, detail FROM study_log WHERE study = ?1 ORDER BY id",
				       -1, &st, NULL) != SQLITE_OK)
			rv = PHR_ERR_DB;
	}
	if (rv == PHR_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		while (rv == PHR_OK && sqlite3_step(st) == SQLITE_ROW) {
			json_t *e = json_pack("{s:I,s:s,s:s,s:s,s:s}", "at", (json_int_t)sqlite3_column_int64(st, 0),
					      "actor", (const char *)sqlite3_column_text(st, 1), "step",
					      (const char *)sqlite3_column_text(st, 2), "outcome",
					      (const char *)sqlite3_column_text(st, 3), "detail",
					      (const char *)sqlite3_column_text(st, 4));
			if (e == NULL || json_array_append_new(arr, e) != 0)
				rv = PHR_ERR_NOMEM;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}
