/*
 * Access: grants, requests and their answers (seed §6.2), and the audit trail.
 */
#include <string.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr_int.h"

void phr_scope_all(uint8_t scope[32])
{
	memset(scope, 0, 32);
}

void phr_scope_category(uint8_t scope[32], unsigned rtype)
{
	memset(scope, 0, 32);
	scope[0] = 1;
	scope[31] = (uint8_t)rtype;
}

void phr_scope_record(uint8_t scope[32], const struct phr_u256 *token_id)
{
	phr_u256_to_be(scope, token_id);
	scope[0] = 2;
}

static bool in_scope(const uint8_t scope[32], const struct phr_u256 *id, unsigned rtype)
{
	uint8_t s[32];

	if (scope[0] == 0)
		return true;
	if (scope[0] == 1)
		return scope[31] == rtype;
	phr_scope_record(s, id);
	return memcmp(s, scope, 32) == 0;
}

/* Wraps the keys of the patient's records in @p scope to @p provider. Caller holds the lock. */
static void share_scope(struct phr_node *n, const struct phr_identity *patient,
			const uint8_t provider[20], const uint8_t scope[32])
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0, shared = 0;
	uint8_t t2[32], pk[32];

	if (phr_node_i_enc_key(n, pk, provider) != PHR_OK) {
		phr_log_warn("phr", "grantee has no registered encryption key: no capsules made");
		return;
	}
	phr_node_i_addr_topic(t2, patient->address);
	if (phr_node_i_logs(n, &logs, &count, n->dep.nft,
			    phr_contracts_health_record_nft_record_minted_event_topic, NULL,
			    t2) != PHR_OK)
		return;
	for (size_t i = 0; i < count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		if (in_scope(scope, &ev.token_id, (unsigned)ev.record_type) &&
		    phr_node_i_share_record(n, patient, &ev.token_id, provider, pk) == PHR_OK)
			shared++;
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
	}
	phr_chain_logs_free(logs, count);
	phr_log_info("phr", "wrapped %zu data keys to the grantee", shared);
}

int phr_node_access_grant_for(struct phr_node *n, const struct phr_identity *signer,
			      const uint8_t patient_id[20], const uint8_t provider[20],
			      enum phr_level level, const uint8_t scope[32], uint64_t expiry)
{
	struct phr_buf cd;
	int rv;

	if (level < PHR_LEVEL_READ || level > PHR_LEVEL_ADMIN)
		return PHR_ERR_INVALID;
	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_grant_access_encode(&cd, patient_id, provider, level,
								 scope, expiry);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, signer, n->dep.registry, &cd);
	if (rv == PHR_OK && memcmp(signer->address, patient_id, 20) == 0)
		share_scope(n, signer, provider, scope);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

int phr_node_access_grant(struct phr_node *n, const struct phr_identity *patient,
			  const uint8_t provider[20], enum phr_level level, const uint8_t scope[32],
			  uint64_t expiry)
{
	return phr_node_access_grant_for(n, patient, patient->address, provider, level, scope,
					 expiry);
}

int phr_node_access_revoke(struct phr_node *n, const struct phr_identity *patient,
			   const uint8_t provider[20], const uint8_t scope[32])
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_revoke_access_encode(&cd, patient->address, provider,
								  scope);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, patient, n->dep.registry, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

int phr_node_access_request(struct phr_node *n, struct phr_u256 *id,
			    const struct phr_identity *provider, const uint8_t patient[20],
			    unsigned purpose, uint64_t duration, enum phr_level level,
			    const uint8_t scope[32])
{
	struct phr_chain_receipt r;
	struct phr_buf cd;
	int rv;

	if (purpose > PHR_PURPOSE_MAX || level > PHR_LEVEL_ADMIN)
		return PHR_ERR_INVALID;
	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_request_access_encode(&cd, patient, purpose, duration,
								   level, scope);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, &r, provider, n->dep.registry, &cd);
	if (rv == PHR_OK) {
		rv = PHR_ERR_NOT_FOUND;
		for (size_t i = 0; i < r.logs_count; i++) {
			struct phr_contracts_patient_registry_access_requested_event ev;
			if (phr_contracts_patient_registry_access_requested_event_decode(
				    &ev, (const uint8_t(*)[32])r.logs[i].topics,
				    r.logs[i].topics_count, r.logs[i].data,
				    r.logs[i].data_len) == PHR_OK) {
				*id = ev.id;
				rv = PHR_OK;
			}
		}
		phr_chain_receipt_release(&r);
	}
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}

int phr_node_access_answer(struct phr_node *n, const struct phr_identity *patient,
			   const struct phr_u256 *id, bool approve)
{
	struct phr_buf cd, out;
	uint8_t prov[20], pat[20], scope[32];
	uint64_t level, purpose, status, duration, exp;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	pthread_mutex_lock(&n->lock);
	if ((rv = phr_contracts_patient_registry_request_info_encode(&cd, id)) != PHR_OK ||
	    (rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd)) != PHR_OK ||
	    (rv = phr_contracts_patient_registry_request_info_decode(
		     prov, &level, &purpose, &status, &duration, &exp, pat, scope, out.data,
		     out.len)) != PHR_OK)
		goto out;
	phr_buf_reset(&cd);
	rv = approve ? phr_contracts_patient_registry_approve_request_encode(&cd, id)
		     : phr_contracts_patient_registry_deny_request_encode(&cd, id);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, patient, n->dep.registry, &cd);
	if (rv == PHR_OK && approve)
		share_scope(n, patient, prov, scope);
out:
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

static int list_logs(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
		     const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *t1,
		     const uint8_t *t2)
{
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, logs, count, addr, topic0, t1, t2);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* State shared by the list functions: the logs, chain time, scratch buffers, the result. */
struct listing {
	struct phr_chain_log *logs;
	size_t count;
	uint64_t now;
	struct phr_buf cd, res;
	json_t *arr;
};

static int listing_begin(struct phr_node *n, struct listing *l, const uint8_t topic0[32],
			 const uint8_t patient[20], bool patient_is_topic1)
{
	uint8_t t[32];
	int rv;

	memset(l, 0, sizeof(*l));
	phr_buf_init(&l->cd, 0);
	phr_buf_init(&l->res, 0);
	l->arr = json_array();
	if (l->arr == NULL)
		return PHR_ERR_NOMEM;
	phr_node_i_addr_topic(t, patient);
	rv = phr_node_chain_time(n, &l->now);
	if (rv == PHR_OK)
		rv = list_logs(n, &l->logs, &l->count, n->dep.registry, topic0,
			       patient_is_topic1 ? t : NULL, patient_is_topic1 ? NULL : t);
	return rv;
}

static int listing_end(struct listing *l, json_t **out, int rv)
{
	phr_chain_logs_free(l->logs, l->count);
	phr_buf_release(&l->cd);
	phr_buf_release(&l->res);
	if (rv != PHR_OK) {
		json_decref(l->arr);
		return rv;
	}
	*out = l->arr;
	return PHR_OK;
}

int phr_node_grants_list(struct phr_node *n, json_t **out, const uint8_t patient[20])
{
	struct listing l;
	int rv = listing_begin(n, &l, phr_contracts_patient_registry_access_granted_event_topic,
			       patient, true);

	for (size_t i = 0; rv == PHR_OK && i < l.count; i++) {
		struct phr_contracts_patient_registry_access_granted_event ev;
		uint64_t level = 0, expiry = 0;
		uint8_t grantor[20];
		bool dup = false;
		json_t *o;
		if (phr_contracts_patient_registry_access_granted_event_decode(
			    &ev, (const uint8_t(*)[32])l.logs[i].topics, l.logs[i].topics_count,
			    l.logs[i].data, l.logs[i].data_len) != PHR_OK)
			continue;
		/* one row per (provider, scope): the latest grant event decides nothing,
		 * grantOf does */
		for (size_t j = i + 1; j < l.count && !dup; j++)
			dup = memcmp(l.logs[j].topics[2], l.logs[i].topics[2], 32) == 0 &&
			      memcmp(l.logs[j].topics[3], l.logs[i].topics[3], 32) == 0;
		if (dup)
			continue;
		phr_buf_reset(&l.cd);
		pthread_mutex_lock(&n->lock);
		rv = phr_contracts_patient_registry_grant_of_encode(&l.cd, patient, ev.provider, ev.scope);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &l.res, NULL, n->dep.registry, &l.cd);
		pthread_mutex_unlock(&n->lock);
		if (rv == PHR_OK)
			rv = phr_contracts_patient_registry_grant_of_decode(&level, &expiry, grantor,
									    l.res.data, l.res.len);
		if (rv != PHR_OK)
			break;
		o = json_pack("{s:o,s:o,s:I,s:I,s:o,s:s,s:b}", "provider",
			      phr_node_i_jaddr(ev.provider), "scope", phr_node_i_jhex(ev.scope, 32),
			      "level", (json_int_t)level, "expiry", (json_int_t)expiry, "grantor",
			      phr_node_i_jaddr(grantor), "state",
			      level == 0 ? "revoked" : expiry <= l.now ? "expired" : "active", "active",
			      level != 0 && expiry > l.now);
		if (o == NULL || json_array_append_new(l.arr, o) != 0)
			rv = PHR_ERR_NOMEM;
	}
	return listing_end(&l, out, rv);
}

int phr_node_requests_list(struct phr_node *n, json_t **out, const uint8_t patient[20])
{
	static const char *const status_names[] = { "None", "Pending", "Approved", "Denied",
						    "Cancelled" };
	struct listing l;
	int rv = listing_begin(n, &l, phr_contracts_patient_registry_access_requested_event_topic,
			       patient, false);

	for (size_t i = 0; rv == PHR_OK && i < l.count; i++) {
		struct phr_contracts_patient_registry_access_requested_event ev;
		uint8_t prov[20], pat[20], scope[32];
		uint64_t level, purpose, status = 0, duration, exp = 0;
		const char *st;
		json_t *o;
		if (phr_contracts_patient_registry_access_requested_event_decode(
			    &ev, (const uint8_t(*)[32])l.logs[i].topics, l.logs[i].topics_count,
			    l.logs[i].data, l.logs[i].data_len) != PHR_OK)
			continue;
		phr_buf_reset(&l.cd);
		pthread_mutex_lock(&n->lock);
		rv = phr_contracts_patient_registry_request_info_encode(&l.cd, &ev.id);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &l.res, NULL, n->dep.registry, &l.cd);
		pthread_mutex_unlock(&n->lock);
		if (rv == PHR_OK)
			rv = phr_contracts_patient_registry_request_info_decode(
				prov, &level, &purpose, &status, &duration, &exp, pat, scope,
				l.res.data, l.res.len);
		if (rv != PHR_OK)
			break;
		st = status < PHR_ARRAY_LEN(status_names) ? status_names[status] : "?";
		if (status == 1 && exp <= l.now)
			st = "Expired";
		o = json_pack("{s:o,s:o,s:I,s:o,s:I,s:I,s:s,s:I}", "id", phr_node_i_ju256(&ev.id),
			      "provider", phr_node_i_jaddr(prov), "level", (json_int_t)level,
			      "scope", phr_node_i_jhex(scope, 32), "purpose", (json_int_t)purpose,
			      "duration", (json_int_t)duration, "status", st, "expiresAt",
			      (json_int_t)exp);
		if (o == NULL || json_array_append_new(l.arr, o) != 0)
			rv = PHR_ERR_NOMEM;
	}
	return listing_end(&l, out, rv);
}

/* head(seq+1) = keccak256(head ‖ uint64 seq ‖ address ‖ uint256 record ‖ uint64 time ‖ uint8 action ‖ uint8 purpose) */
void phr_node_i_audit_link(uint8_t out[32], const uint8_t head[32],
			   const struct phr_contracts_audit_trail_audit_logged_event *ev)
{
	uint8_t b[32 + 8 + 20 + 32 + 8 + 1 + 1], *p = b;

	memcpy(p, head, 32);
	p += 32;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(ev->seq >> (8 * i));
	memcpy(p, ev->accessor, 20);
	p += 20;
	phr_u256_to_be(p, &ev->record_id);
	p += 32;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(ev->time >> (8 * i));
	*p++ = (uint8_t)ev->action;
	*p++ = (uint8_t)ev->purpose;
	phr_keccak256(out, b, sizeof(b));
}

int phr_node_i_audit_head(struct phr_node *n, uint8_t head[32], uint64_t *count,
			  const uint8_t patient[20])
{
	struct phr_buf cd, res;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&res, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_audit_trail_head_of_encode(&cd, patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &res, NULL, n->dep.audit, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_audit_trail_head_of_decode(head, res.data, res.len);
	phr_buf_reset(&cd);
	if (rv == PHR_OK)
		rv = phr_contracts_audit_trail_count_of_encode(&cd, patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &res, NULL, n->dep.audit, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_audit_trail_count_of_decode(count, res.data, res.len);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	phr_buf_release(&res);
	return rv;
}

/* Compares the folded head with the contract's: PHR_OK, PHR_ERR_CORRUPT, or
 * PHR_ERR_STATE when entries were appended since the logs were read. */
static int audit_head_check(struct phr_node *n, const uint8_t patient[20], const uint8_t head[32],
			    uint64_t entries)
{
	uint8_t onchain[32];
	uint64_t count = 0;
	int rv = phr_node_i_audit_head(n, onchain, &count, patient);

	if (rv == PHR_OK && count != entries)
		rv = count > entries ? PHR_ERR_STATE : PHR_ERR_CORRUPT;
	else if (rv == PHR_OK && memcmp(onchain, head, 32) != 0)
		rv = PHR_ERR_CORRUPT;
	return rv;
}

static int audit_list_once(struct phr_node *n, json_t **out, const uint8_t patient[20],
			   const struct phr_u256 *record)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	uint8_t t1[32], t2[32], head[32] = { 0 };
	json_t *arr = json_array();
	int rv;

	if (arr == NULL)
		return PHR_ERR_NOMEM;
	phr_node_i_addr_topic(t1, patient);
	if (record != NULL)
		phr_u256_to_be(t2, record);
	rv = list_logs(n, &logs, &count, n->dep.audit,
		       phr_contracts_audit_trail_audit_logged_event_topic, t1,
		       record != NULL ? t2 : NULL);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_audit_trail_audit_logged_event ev;
		json_t *o;
		if (phr_contracts_audit_trail_audit_logged_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK) {
			rv = PHR_ERR_CORRUPT;
			break;
		}
		if (record == NULL) {
			/* the whole chain: entries must run 0..n-1 and fold to each head */
			phr_node_i_audit_link(head, head, &ev);
			if (ev.seq != i || memcmp(head, ev.head, 32) != 0) {
				rv = PHR_ERR_CORRUPT;
				break;
			}
		}
		o = json_pack("{s:I,s:o,s:o,s:s,s:I,s:I,s:I,s:o,s:I}", "seq", (json_int_t)ev.seq,
			      "recordId", phr_node_i_ju256(&ev.record_id), "accessor",
			      phr_node_i_jaddr(ev.accessor), "action",
			      phr_audit_action_name((unsigned)ev.action), "actionCode",
			      (json_int_t)ev.action, "purpose", (json_int_t)ev.purpose, "time",
			      (json_int_t)ev.time, "head", phr_node_i_jhex(ev.head, 32), "block",
			      (json_int_t)logs[i].block_number);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			rv = PHR_ERR_NOMEM;
	}
	/* and the last head must be the one the contract holds */
	if (rv == PHR_OK && record == NULL)
		rv = audit_head_check(n, patient, head, count);
	phr_chain_logs_free(logs, count);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

int phr_node_audit_list(struct phr_node *n, json_t **out, const uint8_t patient[20],
			const struct phr_u256 *record)
{
	int rv = PHR_ERR_STATE;

	/* another node may append between reading the logs and the head: read again */
	for (int attempt = 0; attempt < 4 && rv == PHR_ERR_STATE; attempt++)
		rv = audit_list_once(n, out, patient, record);
	return rv;
}
