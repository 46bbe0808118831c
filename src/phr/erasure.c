/*
 * Erasure (GDPR Art. 17) as crypto-shredding: requests and legal holds on
 * ErasureRegistry, each node destroys the key capsules and blocks it holds
 * and confirms, the owner burns the token (audited Erase). The contract has
 * no generated binding: its calls are encoded here from the signatures.
 */
#include <string.h>

#include "phr/compliance.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/store.h"
#include "phr_int.h"
#include "txq.h"

bool phr_erasure_available(const struct phr_node *n)
{
	static const uint8_t zero[20];

	return memcmp(n->dep.erasure, zero, 20) != 0;
}

/* selector(sig) ‖ uint256 id ‖ optional 32-byte word ‖ optional address word */
static int encode(struct phr_buf *cd, const char *sig, const struct phr_u256 *id,
		  const uint8_t *word, const uint8_t *addr)
{
	uint8_t h[32], w[32];
	int rv;

	phr_keccak256(h, (const uint8_t *)sig, strlen(sig));
	phr_u256_to_be(w, id);
	rv = phr_buf_append(cd, h, 4);
	if (rv == PHR_OK)
		rv = phr_buf_append(cd, w, 32);
	if (rv == PHR_OK && word != NULL)
		rv = phr_buf_append(cd, word, 32);
	if (rv == PHR_OK && addr != NULL) {
		memset(w, 0, 12);
		memcpy(w + 12, addr, 20);
		rv = phr_buf_append(cd, w, 32);
	}
	return rv;
}

static int send_call(struct phr_node *n, const struct phr_identity *who, const uint8_t to[20],
		     const char *sig, const struct phr_u256 *id, const uint8_t *word)
{
	struct phr_buf cd;
	int rv;

	if (!phr_erasure_available(n))
		return PHR_ERR_UNSUPPORTED;
	phr_buf_init(&cd, 0);
	rv = encode(&cd, sig, id, word, NULL);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, who, to, &cd);
	phr_buf_release(&cd);
	return rv;
}

static int view_call(struct phr_node *n, struct phr_buf *res, const char *sig,
		     const struct phr_u256 *id, const uint8_t *addr)
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	rv = encode(&cd, sig, id, NULL, addr);
	if (rv == PHR_OK) {
		pthread_mutex_lock(&n->lock);
		rv = phr_node_i_call(n, res, NULL, n->dep.erasure, &cd);
		pthread_mutex_unlock(&n->lock);
	}
	phr_buf_release(&cd);
	return rv;
}

/* requestOf(id): patient, requester, requestedAt, confirmations, hold */
struct req_state {
	uint8_t patient[20], requester[20], hold[32];
	uint64_t requested_at, confirmations;
};

static int request_of(struct phr_node *n, struct req_state *s, const struct phr_u256 *id)
{
	struct phr_buf res;
	int rv;

	phr_buf_init(&res, 0);
	rv = view_call(n, &res, "requestOf(uint256)", id, NULL);
	if (rv == PHR_OK && res.len != 5 * 32)
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK) {
		memcpy(s->patient, res.data + 12, 20);
		memcpy(s->requester, res.data + 32 + 12, 20);
		s->requested_at = 0;
		s->confirmations = 0;
		for (int i = 24; i < 32; i++) {
			s->requested_at = s->requested_at << 8 | res.data[64 + i];
			s->confirmations = s->confirmations << 8 | res.data[96 + i];
		}
		memcpy(s->hold, res.data + 128, 32);
	}
	phr_buf_release(&res);
	return rv;
}

static bool nonzero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return true;
	return false;
}

int phr_erasure_request(struct phr_node *n, const struct phr_identity *owner,
			const struct phr_u256 *record)
{
	return send_call(n, owner, n->dep.erasure, "request(uint256)", record, NULL);
}

int phr_erasure_hold(struct phr_node *n, const struct phr_identity *authority,
		     const struct phr_u256 *record, const uint8_t reason_hash[32], bool set)
{
	if (!nonzero(reason_hash, 32))
		return PHR_ERR_INVALID;
	return send_call(n, authority, n->dep.erasure,
			 set ? "setHold(uint256,bytes32)" : "releaseHold(uint256,bytes32)", record,
			 reason_hash);
}

int phr_erasure_status(struct phr_node *n, json_t **out, const struct phr_u256 *record)
{
	struct req_state s;
	int rv;

	if (!phr_erasure_available(n))
		return PHR_ERR_UNSUPPORTED;
	if ((rv = request_of(n, &s, record)) != PHR_OK)
		return rv;
	*out = json_pack("{s:b,s:o,s:o,s:I,s:I,s:b,s:o}", "requested", nonzero(s.patient, 20),
			 "patient", phr_node_i_jaddr(s.patient), "requester",
			 phr_node_i_jaddr(s.requester), "requestedAt", (json_int_t)s.requested_at,
			 "confirmations", (json_int_t)s.confirmations, "held", nonzero(s.hold, 32),
			 "holdReasonHash", phr_node_i_jhex(s.hold, 32));
	return *out != NULL ? PHR_OK : PHR_ERR_NOMEM;
}

int phr_erasure_finish(struct phr_node *n, const struct phr_identity *owner,
		       const struct phr_u256 *record)
{
	struct req_state s;
	struct phr_buf cd;
	int rv;

	if (!phr_erasure_available(n))
		return PHR_ERR_UNSUPPORTED;
	if ((rv = request_of(n, &s, record)) != PHR_OK)
		return rv;
	if (!nonzero(s.patient, 20))
		return PHR_ERR_STATE;
	phr_buf_init(&cd, 0);
	rv = phr_contracts_health_record_nft_burn_encode(&cd, record);
	/* forgotten first: a read between the burn and here would take its kept fields */
	phr_txq_i_meta_drop(n->txq, record);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, owner, n->dep.nft, &cd);
	phr_buf_release(&cd);
	return rv;
}

/* The ciphertext CID of @p record from its RecordMinted log (the token may be burnt). */
static int minted_cid(struct phr_node *n, struct phr_cid *cid, const struct phr_u256 *record)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	uint8_t t1[32];
	char text[PHR_CID_STR_MAX];
	int rv;

	phr_u256_to_be(t1, record);
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, &logs, &count, n->dep.nft,
			     phr_contracts_health_record_nft_record_minted_event_topic, t1, NULL);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK)
		rv = PHR_ERR_NOT_FOUND;
	for (size_t i = 0; i < count && rv == PHR_ERR_NOT_FOUND; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		if (ev.cid.len < sizeof(text)) {
			memcpy(text, ev.cid.data, ev.cid.len);
			text[ev.cid.len] = '\0';
			rv = phr_cid_parse(cid, text) == PHR_OK ? PHR_OK : PHR_ERR_CORRUPT;
		}
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
	}
	phr_chain_logs_free(logs, count);
	return rv;
}

/* Deletes every capsule of @p record: the blocks (unpinned, deleted) and the index rows. */
static int shred_capsules(struct phr_node *n, const struct phr_u256 *record, size_t *count)
{
	sqlite3 *db = phr_txq_i_db(n->txq);
	sqlite3_stmt *st = NULL;
	char rec[PHR_U256_DEC_LEN];
	int rv = PHR_OK, s;

	phr_u256_to_dec(rec, record);
	if (sqlite3_prepare_v2(db, "SELECT cid FROM capsules WHERE record = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		struct phr_cid cid;
		if (t == NULL || phr_cid_parse(&cid, t) != PHR_OK)
			continue;
		if (phr_store_pin_rm(n->store, &cid) != PHR_OK)
			phr_log_debug("compliance", "a capsule was not pinned on its own");
		rv = phr_store_delete(n->store, &cid);
		if (rv == PHR_ERR_NOT_FOUND)
			rv = PHR_OK;
		if (rv != PHR_OK)
			break;
		(*count)++;
	}
	if (rv == PHR_OK && s != SQLITE_DONE)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	if (rv != PHR_OK)
		return rv;
	if (sqlite3_prepare_v2(db, "DELETE FROM capsules WHERE record = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_TRANSIENT);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

static int confirmed_by(struct phr_node *n, bool *yes, const struct phr_u256 *id,
			const uint8_t who[20])
{
	struct phr_buf res;
	int rv;

	phr_buf_init(&res, 0);
	rv = view_call(n, &res, "confirmedBy(uint256,address)", id, who);
	if (rv == PHR_OK && res.len != 32)
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK)
		*yes = res.data[31] != 0;
	phr_buf_release(&res);
	return rv;
}

/* The blocks of one DAG (collected first, deleted after the walk). */
struct dag_blocks {
	struct phr_cid *v;
	size_t n;
};

static int collect_block(void *ctx, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	struct dag_blocks *d = ctx;
	struct phr_cid *nv = phr_realloc(d->v, (d->n + 1) * sizeof(*nv));

	(void)data;
	(void)len;
	if (nv == NULL)
		return PHR_ERR_NOMEM;
	d->v = nv;
	nv[d->n++] = *cid;
	return PHR_OK;
}

/* Deletes every block of the record's ciphertext DAG here (its blocks are its own: a
 * fresh data key per record); a walk stopped by a missing block deletes what it found. */
static int delete_dag(struct phr_node *n, const struct phr_cid *root, uint64_t *removed)
{
	struct dag_blocks d = { 0 };
	int rv = phr_store_walk(n->store, root, collect_block, &d);

	if (rv == PHR_ERR_NOT_FOUND || rv == PHR_ERR_CORRUPT)
		rv = PHR_OK;
	for (size_t i = 0; rv == PHR_OK && i < d.n; i++) {
		int dr = phr_store_delete(n->store, &d.v[i]);
		if (dr == PHR_OK)
			(*removed)++;
		else if (dr != PHR_ERR_NOT_FOUND)
			rv = dr;
	}
	phr_free(d.v);
	return rv;
}

/* Erases one requested record here and confirms. */
static int honour_one(struct phr_node *n, struct phr_erasure_report *r,
		      const struct phr_identity *signer, const struct phr_u256 *id)
{
	struct req_state s;
	struct phr_cid root;
	bool done = false;
	int rv;

	if ((rv = confirmed_by(n, &done, id, signer->address)) != PHR_OK)
		return rv;
	if (done) {
		r->done++;
		return PHR_OK;
	}
	if ((rv = request_of(n, &s, id)) != PHR_OK)
		return rv;
	if (nonzero(s.hold, 32)) {
		r->held++;
		phr_log_info("compliance", "erasure of a record skipped: legal hold");
		return PHR_OK;
	}
	if ((rv = shred_capsules(n, id, &r->capsules)) != PHR_OK)
		return rv;
	rv = minted_cid(n, &root, id);
	if (rv == PHR_OK) {
		if (phr_store_pin_rm(n->store, &root) == PHR_OK)
			r->unpinned++;
		rv = delete_dag(n, &root, &r->removed);
	}
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
		return rv;
	rv = send_call(n, signer, n->dep.erasure, "confirm(uint256)", id, NULL);
	if (rv == PHR_OK) {
		r->honoured++;
		phr_log_info("compliance", "erasure honoured and confirmed on chain");
	}
	return rv;
}

int phr_erasure_honour(struct phr_node *n, struct phr_erasure_report *rep,
		       const struct phr_identity *signer)
{
	struct phr_erasure_report r = { 0 };
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	uint8_t topic[32];
	static const char ev[] = "ErasureRequested(uint256,address,address)";
	int rv;

	if (!phr_erasure_available(n))
		return PHR_ERR_UNSUPPORTED;
	phr_keccak256(topic, (const uint8_t *)ev, sizeof(ev) - 1);
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, &logs, &count, n->dep.erasure, topic, NULL, NULL);
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_u256 id;
		if (logs[i].topics_count < 2)
			continue;
		phr_u256_from_be(&id, logs[i].topics[1]);
		r.requests++;
		rv = honour_one(n, &r, signer, &id);
	}
	phr_chain_logs_free(logs, count);
	if (rep != NULL)
		*rep = r;
	return rv;
}
