/*
 * The domain context: chain, store, deployment, hosted identities and the
 * local database (capsule index, denied attempts); registries.
 */
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/notify.h"
#include "index_int.h"
#include "txq.h"
#include "phr/json.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS capsules(record TEXT NOT NULL, reader BLOB NOT NULL,"
	" cid TEXT NOT NULL, PRIMARY KEY(record, reader));"
	"CREATE TABLE IF NOT EXISTS denials(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	" accessor BLOB NOT NULL, patient BLOB, record TEXT, reason TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_tx(hash BLOB PRIMARY KEY);";

int phr_node_open(struct phr_node **out, struct phr_chain *chain, struct phr_store *store,
		  const struct phr_deployment *d, const char *datadir)
{
	struct phr_node *n;
	char path[1024];

	if ((size_t)snprintf(path, sizeof(path), "%s/phr.db", datadir) >= sizeof(path))
		return PHR_ERR_INVALID;
	if (phr_mkdir_p(datadir, 0700) != PHR_OK)
		return PHR_ERR_IO;
	n = phr_calloc(1, sizeof(*n));
	if (n == NULL)
		return PHR_ERR_NOMEM;
	n->chain = chain;
	n->store = store;
	snprintf(n->datadir, sizeof(n->datadir), "%s", datadir);
	n->dep = *d;
	if (sqlite3_open_v2(path, &n->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(n->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("phr", "local database %s: %s", path,
			      n->db ? sqlite3_errmsg(n->db) : "open failed");
		sqlite3_close(n->db);
		phr_free(n);
		return PHR_ERR_DB;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/index.db", datadir) >= sizeof(path) ||
	    phr_index_i_open(&n->index, path, d) != PHR_OK) {
		sqlite3_close(n->db);
		phr_free(n);
		return PHR_ERR_DB;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/phr.db", datadir) >= sizeof(path) ||
	    phr_txq_i_open(&n->txq, path) != PHR_OK) {
		phr_index_i_close(n->index);
		sqlite3_close(n->db);
		phr_free(n);
		return PHR_ERR_DB;
	}
	pthread_mutex_init(&n->lock, NULL);
	*out = n;
	return PHR_OK;
}

void phr_node_close(struct phr_node *n)
{
	if (n == NULL)
		return;
	/* the delivery thread uses the node: it stops first (a no-op when not started) */
	phr_notify_worker_stop(n);
	for (size_t i = 0; i < n->n_ids; i++)
		phr_identity_free(n->ids[i]);
	for (size_t i = 0; i < n->n_peers; i++)
		phr_free(n->peers[i]);
	sqlite3_close(n->db);
	phr_index_i_close(n->index);
	phr_txq_i_close(n->txq);
	pthread_mutex_destroy(&n->lock);
	phr_free(n);
}

const struct phr_deployment *phr_node_deployment(const struct phr_node *n)
{
	return &n->dep;
}

struct phr_chain *phr_node_chain(struct phr_node *n)
{
	return n->chain;
}

struct phr_store *phr_node_store(struct phr_node *n)
{
	return n->store;
}

int phr_node_add_identity(struct phr_node *n, struct phr_identity *id)
{
	int rv = PHR_OK;

	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < n->n_ids; i++)
		if (memcmp(n->ids[i]->address, id->address, 20) == 0 ||
		    strcmp(n->ids[i]->name, id->name) == 0)
			rv = PHR_ERR_EXISTS;
	if (rv == PHR_OK && n->n_ids == PHR_NODE_MAX_IDS)
		rv = PHR_ERR_NOMEM;
	if (rv == PHR_OK)
		n->ids[n->n_ids++] = id;
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_ERR_NOMEM)
		phr_identity_free(id);
	return rv;
}

const struct phr_identity *phr_node_identity(struct phr_node *n, const uint8_t address[20])
{
	for (size_t i = 0; i < n->n_ids; i++)
		if (memcmp(n->ids[i]->address, address, 20) == 0)
			return n->ids[i];
	return NULL;
}

const struct phr_identity *phr_node_identity_by_name(struct phr_node *n, const char *name)
{
	for (size_t i = 0; i < n->n_ids; i++)
		if (strcmp(n->ids[i]->name, name) == 0)
			return n->ids[i];
	return NULL;
}

static int rpc_simple(struct phr_node *n, const char *method, json_t *params)
{
	struct phr_rpc_error err;
	json_t *res = NULL;
	int rv;

	memset(&err, 0, sizeof(err));
	rv = phr_chain_request(n->chain, &res, &err, method, params);
	json_decref(res);
	if (err.data != NULL)
		json_decref(err.data);
	return rv;
}

int phr_node_advance_time(struct phr_node *n, uint64_t seconds)
{
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = rpc_simple(n, "evm_increaseTime", json_pack("[I]", (json_int_t)seconds));
	if (rv == PHR_OK)
		rv = rpc_simple(n, "evm_mine", json_array());
	pthread_mutex_unlock(&n->lock);
	return rv;
}

int phr_node_chain_time(struct phr_node *n, uint64_t *t)
{
	struct phr_rpc_error err;
	json_t *res = NULL;
	const char *ts;
	int rv;

	memset(&err, 0, sizeof(err));
	rv = phr_chain_request(n->chain, &res, &err, "eth_getBlockByNumber",
			       json_pack("[sb]", "latest", 0));
	if (err.data != NULL)
		json_decref(err.data);
	if (rv != PHR_OK)
		return rv;
	rv = phr_json_get_str(&ts, res, "timestamp");
	if (rv == PHR_OK)
		rv = phr_parse_u64(t, ts);
	json_decref(res);
	return rv;
}

int phr_node_register(struct phr_node *n, const struct phr_identity *who)
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_register_encode(&cd, who->box_pk);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, who, n->dep.registry, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

int phr_node_appoint_authority(struct phr_node *n, const struct phr_identity *gov,
			       const uint8_t authority[20])
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_provider_registry_set_authority_encode(&cd, authority, true);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, gov, n->dep.providers, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

int phr_node_verify_provider(struct phr_node *n, const struct phr_identity *auth,
			     const uint8_t provider[20], unsigned roles, uint64_t licence_expiry)
{
	struct phr_buf cd;
	uint8_t lh[32];
	int rv;

	/* the licence itself stays off chain: only a hash of its identifier */
	phr_keccak256(lh, provider, 20);
	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_provider_registry_verify_provider_encode(&cd, provider, roles, lh,
								    licence_expiry);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, auth, n->dep.providers, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

static int call_bool(struct phr_node *n, bool *v, const uint8_t to[20], struct phr_buf *cd,
		     int (*dec)(bool *, const uint8_t *, size_t))
{
	struct phr_buf out;
	int rv;

	phr_buf_init(&out, 0);
	rv = phr_node_i_call(n, &out, NULL, to, cd);
	if (rv == PHR_OK)
		rv = dec(v, out.data, out.len);
	phr_buf_release(&out);
	phr_buf_reset(cd);
	return rv;
}

int phr_node_roles(struct phr_node *n, unsigned *roles, const uint8_t addr[20])
{
	struct phr_buf cd, out;
	uint8_t pid[20];
	bool b = false;
	unsigned r = 0;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if ((rv = phr_contracts_patient_registry_patient_of_encode(&cd, addr)) != PHR_OK ||
	    (rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd)) != PHR_OK ||
	    (rv = phr_contracts_patient_registry_patient_of_decode(pid, out.data, out.len)) != PHR_OK)
		goto out;
	phr_buf_reset(&cd);
	if (memcmp(pid, addr, 20) == 0)
		r |= PHR_R_PATIENT;
	if ((rv = phr_contracts_provider_registry_is_verified_encode(&cd, addr)) != PHR_OK ||
	    (rv = call_bool(n, &b, n->dep.providers, &cd,
			    phr_contracts_provider_registry_is_verified_decode)) != PHR_OK)
		goto out;
	r |= b ? PHR_R_PROVIDER : 0;
	if ((rv = phr_contracts_provider_registry_is_emergency_provider_encode(&cd, addr)) != PHR_OK ||
	    (rv = call_bool(n, &b, n->dep.providers, &cd,
			    phr_contracts_provider_registry_is_emergency_provider_decode)) != PHR_OK)
		goto out;
	r |= b ? PHR_R_EMERGENCY : 0;
	if ((rv = phr_contracts_provider_registry_is_authority_encode(&cd, addr)) != PHR_OK ||
	    (rv = call_bool(n, &b, n->dep.providers, &cd,
			    phr_contracts_provider_registry_is_authority_decode)) != PHR_OK)
		goto out;
	r |= b ? PHR_R_AUTHORITY : 0;
	if (memcmp(addr, n->dep.governance, 20) == 0)
		r |= PHR_R_GOVERNANCE;
	*roles = r;
out:
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

int phr_node_i_enc_key(struct phr_node *n, uint8_t pk[32], const uint8_t who[20])
{
	struct phr_buf cd, out;
	uint8_t owner[20], key[32];
	uint64_t at = 0;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	rv = phr_contracts_patient_registry_patient_info_encode(&cd, who);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_patient_info_decode(owner, key, &at, out.data,
									out.len);
	if (rv == PHR_OK && at == 0)
		rv = PHR_ERR_NOT_FOUND;
	if (rv == PHR_OK)
		memcpy(pk, key, 32);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

void phr_node_i_deny(struct phr_node *n, const uint8_t accessor[20], const uint8_t patient[20],
		     const struct phr_u256 *record, const char *reason)
{
	sqlite3_stmt *st = phr_txq_i_stmt(n->txq, PHR_TXQ_SQL_DENY);
	char rec[PHR_U256_DEC_LEN];

	phr_u256_to_dec(rec, record);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_blob(st, 2, accessor, 20, SQLITE_STATIC);
		if (patient != NULL)
			sqlite3_bind_blob(st, 3, patient, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rec, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			phr_log_warn("phr", "denial log: %s",
				     sqlite3_errmsg(phr_txq_i_db(n->txq)));
		phr_txq_i_stmt_done(n->txq, PHR_TXQ_SQL_DENY);
	}
	phr_log_info("phr", "denied record %s: %s", rec, reason);
}

int phr_node_denials_list(struct phr_node *n, json_t **out, const uint8_t *patient)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rv = PHR_OK, s;

	if (arr == NULL)
		return PHR_ERR_NOMEM;
	pthread_mutex_lock(&n->lock);
	if (sqlite3_prepare_v2(n->db, patient ? "SELECT time, accessor, patient, record, reason FROM"
						" denials WHERE patient = ? ORDER BY id"
					      : "SELECT time, accessor, patient, record, reason FROM"
						" denials ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		rv = PHR_ERR_DB;
		goto out;
	}
	if (patient != NULL)
		sqlite3_bind_blob(st, 1, patient, 20, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		const void *acc = sqlite3_column_blob(st, 1), *pat = sqlite3_column_blob(st, 2);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rv = PHR_ERR_NOMEM;
			goto out;
		}
		json_object_set_new(o, "time", json_integer(sqlite3_column_int64(st, 0)));
		if (acc != NULL && sqlite3_column_bytes(st, 1) == 20)
			json_object_set_new(o, "accessor", phr_node_i_jaddr(acc));
		if (pat != NULL && sqlite3_column_bytes(st, 2) == 20)
			json_object_set_new(o, "patient", phr_node_i_jaddr(pat));
		json_object_set_new(o, "recordId",
				    json_string((const char *)sqlite3_column_text(st, 3)));
		json_object_set_new(o, "reason", json_string((const char *)sqlite3_column_text(st, 4)));
	}
	if (s != SQLITE_DONE)
		rv = PHR_ERR_DB;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

int phr_node_i_capsule_put_rows(struct phr_node *n, const struct phr_node_capsule_row *rows,
				size_t count)
{
	/* one statement (autocommit, one sync): this connection never holds a transaction open */
	char sql[64 + PHR_NODE_CAPSULE_ROWS_MAX * 16], rec[PHR_NODE_CAPSULE_ROWS_MAX][PHR_U256_DEC_LEN];
	size_t off;
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK;

	if (count == 0)
		return PHR_OK;
	if (count > PHR_NODE_CAPSULE_ROWS_MAX)
		return PHR_ERR_TOO_LARGE;
	off = (size_t)snprintf(sql, sizeof(sql),
			       "INSERT OR REPLACE INTO capsules(record, reader, cid) VALUES");
	for (size_t i = 0; i < count; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s(?,?,?)", i ? "," : "");
	if (sqlite3_prepare_v2(phr_txq_i_db(n->txq), sql, -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	for (size_t i = 0; i < count; i++) {
		phr_u256_to_dec(rec[i], rows[i].record);
		sqlite3_bind_text(st, (int)(3 * i + 1), rec[i], -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, (int)(3 * i + 2), rows[i].reader, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, (int)(3 * i + 3), rows[i].cid, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

int phr_node_i_capsule_put(struct phr_node *n, const struct phr_u256 *record,
			   const uint8_t reader[20], const char *cid)
{
	const struct phr_node_capsule_row row = { record, reader, cid };

	return phr_node_i_capsule_put_rows(n, &row, 1);
}

int phr_node_capsule_lookup(struct phr_node *n, char cid[PHR_CID_STR_MAX],
			    const struct phr_u256 *record, const uint8_t reader[20])
{
	return phr_node_i_capsule_get(n, cid, record, reader);
}

int phr_node_i_capsule_get(struct phr_node *n, char cid[PHR_CID_STR_MAX],
			   const struct phr_u256 *record, const uint8_t reader[20])
{
	sqlite3_stmt *st = phr_txq_i_stmt(n->txq, PHR_TXQ_SQL_CAPSULE_GET);
	char rec[PHR_U256_DEC_LEN];
	int rv = PHR_ERR_NOT_FOUND;

	if (st == NULL)
		return PHR_ERR_DB;
	phr_u256_to_dec(rec, record);
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, reader, 20, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t != NULL && strlen(t) < PHR_CID_STR_MAX) {
			memcpy(cid, t, strlen(t) + 1);
			rv = PHR_OK;
		}
	}
	phr_txq_i_stmt_done(n->txq, PHR_TXQ_SQL_CAPSULE_GET);
	return rv;
}

const char *phr_audit_action_name(unsigned action)
{
	static const char *const names[] = { "View",	  "Create", "Update", "Share",
					      "Emergency", "Revoke", "Erase",  "Recover" };
	return action < PHR_ARRAY_LEN(names) ? names[action] : "?";
}
