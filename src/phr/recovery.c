/*
 * Recovery of a patient's account (seed §9): guardian-approved owner
 * rotation on Recovery.sol, Shamir backup of the X25519 secret sealed to
 * backup key holders, and the re-wrap of the records' data keys.
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/notify.h"
#include "phr/recovery.h"
#include "recovery_int.h"

#define SHARE_LEN 33 /* x || 32-byte y */
#define SEALED_LEN (crypto_box_SEALBYTES + SHARE_LEN)

_Static_assert(SEALED_LEN == sizeof(((struct phr_recovery_share *)0)->sealed), "sealed size");

/* Recovery.sol's errors (chainops.c maps the registry's). */
static const struct {
	const char *name;
	int err;
} recovery_errs[] = {
	{ "NotGuardian", PHR_ERR_FORBIDDEN },         { "NotPatientOwner", PHR_ERR_FORBIDDEN },
	{ "AlreadyApproved", PHR_ERR_CONFLICT },      { "RecoveryAlreadyScheduled", PHR_ERR_CONFLICT },
	{ "CandidateTaken", PHR_ERR_CONFLICT },       { "NoRecoveryScheduled", PHR_ERR_STATE },
	{ "RecoveryTimelocked", PHR_ERR_STATE },      { "RecoveryLapsed", PHR_ERR_STATE },
	{ "InvalidGuardians", PHR_ERR_INVALID },      { "InvalidThreshold", PHR_ERR_INVALID },
	{ "ZeroAddress", PHR_ERR_INVALID },           { "NotRegistered", PHR_ERR_NOT_FOUND },
	{ "InvalidKey", PHR_ERR_INVALID },
};

static int revert_err(const struct phr_buf *out)
{
	const char *name = phr_contracts_error_name(out->data, out->len);

	for (size_t i = 0; name != NULL && i < PHR_ARRAY_LEN(recovery_errs); i++)
		if (strcmp(recovery_errs[i].name, name) == 0)
			return recovery_errs[i].err;
	return phr_node_i_revert_err(out->data, out->len);
}

/* eth_call of @p cd to @p to, output in @p out. */
static int call(struct phr_chain *c, struct phr_buf *out, const uint8_t to[20],
		const struct phr_buf *cd)
{
	phr_buf_reset(out);
	return phr_chain_call(c, out, NULL, to, cd->data, cd->len);
}

int phr_recovery_status_read(struct phr_chain *c, const struct phr_deployment *d,
			     struct phr_recovery_status *st, const uint8_t patient[20],
			     const uint8_t *candidate)
{
	struct phr_recovery_status s;
	struct phr_buf cd, out, g;
	uint64_t thr = 0, reg = 0;
	int rv;

	memset(&s, 0, sizeof(s));
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	phr_buf_init(&g, 20 * PHR_RECOVERY_MAX_GUARDIANS);
	if ((rv = phr_contracts_patient_registry_patient_info_encode(&cd, patient)) != PHR_OK ||
	    (rv = call(c, &out, d->registry, &cd)) != PHR_OK ||
	    (rv = phr_contracts_patient_registry_patient_info_decode(s.owner, s.enc_key, &reg, out.data,
								      out.len)) != PHR_OK)
		goto out;
	phr_buf_reset(&cd);
	if ((rv = phr_contracts_recovery_guardians_of_encode(&cd, patient)) != PHR_OK ||
	    (rv = call(c, &out, d->recovery, &cd)) != PHR_OK ||
	    (rv = phr_contracts_recovery_guardians_of_decode(&g, &thr, &s.round, out.data, out.len)) !=
		    PHR_OK)
		goto out;
	s.threshold = (unsigned)thr;
	s.n_guardians = g.len / 20;
	if (s.n_guardians > 0)
		memcpy(s.guardians, g.data, s.n_guardians * 20);
	phr_buf_reset(&cd);
	if ((rv = phr_contracts_recovery_pending_of_encode(&cd, patient)) != PHR_OK ||
	    (rv = call(c, &out, d->recovery, &cd)) != PHR_OK ||
	    (rv = phr_contracts_recovery_pending_of_decode(s.pending_owner, &s.ready_at, out.data,
							    out.len)) != PHR_OK)
		goto out;
	s.pending = s.ready_at != 0;
	if (candidate != NULL) {
		struct phr_u256 v;
		phr_buf_reset(&cd);
		if ((rv = phr_contracts_recovery_votes_for_encode(&cd, patient, candidate)) != PHR_OK ||
		    (rv = call(c, &out, d->recovery, &cd)) != PHR_OK ||
		    (rv = phr_contracts_recovery_votes_for_decode(&v, out.data, out.len)) != PHR_OK)
			goto out;
		s.votes = v.w[0];
	}
out:
	if (rv == PHR_ERR_TRUNCATED || rv == PHR_ERR_NONCANONICAL || rv == PHR_ERR_TOO_LARGE)
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK)
		*st = s;
	phr_buf_release(&cd);
	phr_buf_release(&out);
	phr_buf_release(&g);
	return rv;
}

static int encode_op(struct phr_buf *cd, const uint8_t **to, const struct phr_deployment *d,
		     enum phr_recovery_op op, const struct phr_recovery_args *a)
{
	*to = d->recovery;
	switch (op) {
	case PHR_RECOVERY_SET_GUARDIANS:
		if (a->n_guardians == 0 || a->n_guardians > PHR_RECOVERY_MAX_GUARDIANS ||
		    a->threshold == 0 || a->threshold > a->n_guardians)
			return PHR_ERR_INVALID;
		return phr_contracts_recovery_set_guardians_encode(cd, a->patient, a->guardians,
								    a->n_guardians, a->threshold);
	case PHR_RECOVERY_APPROVE:
		return phr_contracts_recovery_approve_recovery_encode(cd, a->patient, a->new_owner);
	case PHR_RECOVERY_CANCEL:
		return phr_contracts_recovery_cancel_recovery_encode(cd, a->patient);
	case PHR_RECOVERY_EXECUTE:
		return phr_contracts_recovery_execute_recovery_encode(cd, a->patient);
	case PHR_RECOVERY_UPDATE_KEY:
		*to = d->registry;
		return phr_contracts_patient_registry_update_encryption_key_encode(cd, a->patient,
										    a->enc_key);
	}
	return PHR_ERR_INVALID;
}

/* phr_recovery_send with the receipt (@p r may be NULL). */
static int send_op(struct phr_chain *c, struct phr_chain_receipt *r, const struct phr_deployment *d,
		   const uint8_t seckey[32], enum phr_recovery_op op,
		   const struct phr_recovery_args *args)
{
	struct phr_buf cd, out;
	const uint8_t *to = NULL;
	uint8_t from[20];
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if ((rv = encode_op(&cd, &to, d, op, args)) != PHR_OK ||
	    (rv = phr_eth_address_from_seckey(from, seckey)) != PHR_OK)
		goto out;
	/* a dry run first, to name Recovery's own errors */
	rv = phr_chain_call(c, &out, from, to, cd.data, cd.len);
	if (rv == PHR_ERR_REVERTED)
		rv = revert_err(&out);
	if (rv == PHR_OK)
		rv = phr_node_i_send(c, d->chain_id, r, seckey, to, cd.data, cd.len);
out:
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

int phr_recovery_send(struct phr_chain *c, const struct phr_deployment *d, const uint8_t seckey[32],
		      enum phr_recovery_op op, const struct phr_recovery_args *args)
{
	return send_op(c, NULL, d, seckey, op, args);
}

static const char *op_event(enum phr_recovery_op op)
{
	static const char *const names[] = { "guardians-set", "approved", "cancelled", "executed",
					     "key-updated" };
	return (unsigned)op < PHR_ARRAY_LEN(names) ? names[op] : "?";
}

/* Queues one "recovery" notification for the owner(s) and the contacts;
 * with @p tx_hash once per transaction and recipient (the chain scan finds
 * the same transaction's events and uses the same key). */
static void notify_all(struct phr_node *n, const uint8_t *tx_hash, const uint8_t *const owners[2],
		       const uint8_t patient[20], json_t *payload)
{
	if (phr_notify_recovery(n, NULL, tx_hash, patient, owners, payload) != PHR_OK)
		phr_log_error("recovery", "recovery notifications not queued");
}

int phr_node_recovery_send(struct phr_node *n, const struct phr_identity *signer,
			   enum phr_recovery_op op, const struct phr_recovery_args *args)
{
	struct phr_recovery_status before, after;
	struct phr_chain_receipt r;
	const uint8_t *owners[2];
	uint8_t tx[32];
	json_t *payload;
	int rv, rs;

	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&n->lock);
	rs = phr_recovery_status_read(n->chain, &n->dep, &before, args->patient, NULL);
	rv = send_op(n->chain, &r, &n->dep, signer->seckey, op, args);
	memcpy(tx, r.tx_hash, 32);
	phr_chain_receipt_release(&r);
	if (rv == PHR_OK && rs == PHR_OK)
		rs = phr_recovery_status_read(n->chain, &n->dep, &after, args->patient, NULL);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK || rs != PHR_OK || op == PHR_RECOVERY_UPDATE_KEY)
		return rv;
	payload = json_pack("{s:s,s:o,s:o}", "event", op_event(op), "patient",
			    phr_node_i_jaddr(args->patient), "by", phr_node_i_jaddr(signer->address));
	if (payload != NULL && op == PHR_RECOVERY_APPROVE) {
		json_object_set_new(payload, "newOwner", phr_node_i_jaddr(args->new_owner));
		if (after.pending) /* this vote reached the threshold */
			json_object_set_new(payload, "readyAt", json_integer((json_int_t)after.ready_at));
	}
	if (payload != NULL && op == PHR_RECOVERY_EXECUTE)
		json_object_set_new(payload, "newOwner", phr_node_i_jaddr(after.owner));
	owners[0] = before.owner;
	owners[1] = after.owner;
	if (payload != NULL)
		notify_all(n, tx, owners, args->patient, payload);
	json_decref(payload);
	phr_log_warn("recovery", "recovery %s on a patient", op_event(op));
	return PHR_OK;
}

/* --- shares ----------------------------------------------------------------- */

json_t *phr_recovery_share_json(const struct phr_recovery_share *sh)
{
	json_t *o = json_pack("{s:s,s:o,s:o,s:I,s:I,s:I,s:o}", "format", PHR_RECOVERY_SHARE_FORMAT,
			      "patient", phr_node_i_jaddr(sh->patient), "owner",
			      phr_node_i_jaddr(sh->owner), "index", (json_int_t)sh->index,
			      "threshold", (json_int_t)sh->threshold, "shares",
			      (json_int_t)sh->shares, "to", phr_node_i_jaddr(sh->to));

	if (o != NULL && (phr_json_set_hex(o, "pk", sh->pk, 32) != PHR_OK ||
			  phr_json_set_hex(o, "toKey", sh->to_key, 32) != PHR_OK ||
			  phr_json_set_hex(o, "sealed", sh->sealed, SEALED_LEN) != PHR_OK)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int phr_recovery_shares_make(json_t **out, const uint8_t patient[20], const uint8_t owner[20],
			     const uint8_t box_pk[32], const uint8_t box_sk[32],
			     const struct phr_recovery_holder *holders, size_t n, unsigned t)
{
	uint8_t *shares = NULL, pk[32];
	json_t *arr = NULL;
	int rv = PHR_OK;

	if (t < 2 || n < t || n > PHR_RECOVERY_MAX_SHARES)
		return PHR_ERR_INVALID;
	if (crypto_scalarmult_base(pk, box_sk) != 0 || sodium_memcmp(pk, box_pk, 32) != 0)
		return PHR_ERR_INVALID;
	shares = sodium_malloc(n * SHARE_LEN);
	arr = json_array();
	if (shares == NULL || arr == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	if ((rv = phr_shamir_split(shares, box_sk, 32, t, (unsigned)n)) != PHR_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct phr_recovery_share sh;
		json_t *o;
		memset(&sh, 0, sizeof(sh));
		memcpy(sh.patient, patient, 20);
		memcpy(sh.owner, owner, 20);
		memcpy(sh.pk, box_pk, 32);
		memcpy(sh.to, holders[i].address, 20);
		memcpy(sh.to_key, holders[i].box_pk, 32);
		sh.index = shares[i * SHARE_LEN];
		sh.threshold = t;
		sh.shares = (unsigned)n;
		if (crypto_box_seal(sh.sealed, shares + i * SHARE_LEN, SHARE_LEN, sh.to_key) != 0) {
			rv = PHR_ERR_CRYPTO;
			goto out;
		}
		if ((o = phr_recovery_share_json(&sh)) == NULL || json_array_append_new(arr, o) != 0) {
			rv = PHR_ERR_NOMEM;
			goto out;
		}
	}
out:
	if (shares != NULL)
		sodium_free(shares); /* wipes */
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

int phr_recovery_i_get_addr(uint8_t out[20], const json_t *o, const char *key)
{
	const char *s;

	if (phr_json_get_str(&s, o, key) != PHR_OK || phr_eth_address_parse(out, s) != PHR_OK)
		return PHR_ERR_PARSE;
	return PHR_OK;
}

static int get_hex_exact(uint8_t *out, size_t n, const json_t *o, const char *key)
{
	const char *s;

	if (phr_json_get_str(&s, o, key) != PHR_OK || strncmp(s, "0x", 2) != 0 ||
	    phr_hex_decode_exact(out, n, s) != PHR_OK)
		return PHR_ERR_PARSE;
	return PHR_OK;
}

int phr_recovery_share_parse(struct phr_recovery_share *out, const char *text, size_t len)
{
	struct phr_recovery_share sh;
	const char *fmt;
	uint64_t idx = 0, thr = 0, cnt = 0;
	json_t *o = NULL;
	int rv;

	if (len > PHR_RECOVERY_SHARE_MAX)
		return PHR_ERR_TOO_LARGE;
	memset(&sh, 0, sizeof(sh));
	if (phr_json_parse(&o, NULL, 0, text, len) != PHR_OK || !json_is_object(o)) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if (phr_json_get_str(&fmt, o, "format") != PHR_OK) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if (strcmp(fmt, PHR_RECOVERY_SHARE_FORMAT) != 0) {
		rv = PHR_ERR_UNSUPPORTED;
		goto out;
	}
	if ((rv = phr_recovery_i_get_addr(sh.patient, o, "patient")) != PHR_OK ||
	    (rv = phr_recovery_i_get_addr(sh.owner, o, "owner")) != PHR_OK ||
	    (rv = phr_recovery_i_get_addr(sh.to, o, "to")) != PHR_OK ||
	    (rv = get_hex_exact(sh.pk, 32, o, "pk")) != PHR_OK ||
	    (rv = get_hex_exact(sh.to_key, 32, o, "toKey")) != PHR_OK ||
	    (rv = get_hex_exact(sh.sealed, SEALED_LEN, o, "sealed")) != PHR_OK)
		goto out;
	if (phr_json_get_u64(&idx, o, "index") != PHR_OK ||
	    phr_json_get_u64(&thr, o, "threshold") != PHR_OK ||
	    phr_json_get_u64(&cnt, o, "shares") != PHR_OK) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if (cnt > PHR_RECOVERY_MAX_SHARES || thr < 2 || thr > cnt || idx == 0 || idx > cnt) {
		rv = PHR_ERR_INVALID;
		goto out;
	}
	sh.index = (unsigned)idx;
	sh.threshold = (unsigned)thr;
	sh.shares = (unsigned)cnt;
	*out = sh;
	rv = PHR_OK;
out:
	json_decref(o);
	return rv;
}

/* Opens a sealed share into @p plain (33 bytes) and checks its x coordinate. */
static int share_open(uint8_t plain[SHARE_LEN], const struct phr_recovery_share *sh,
		      const uint8_t pk[32], const uint8_t sk[32])
{
	if (crypto_box_seal_open(plain, sh->sealed, SEALED_LEN, pk, sk) != 0)
		return PHR_ERR_TAMPERED;
	if (plain[0] != sh->index) {
		sodium_memzero(plain, SHARE_LEN);
		return PHR_ERR_TAMPERED;
	}
	return PHR_OK;
}

int phr_recovery_share_reseal(struct phr_recovery_share *out, const struct phr_recovery_share *in,
			      const uint8_t my_pk[32], const uint8_t my_sk[32], const uint8_t to[20],
			      const uint8_t to_pk[32])
{
	struct phr_recovery_share sh = *in;
	uint8_t *plain = sodium_malloc(SHARE_LEN);
	int rv;

	if (plain == NULL)
		return PHR_ERR_NOMEM;
	rv = share_open(plain, in, my_pk, my_sk);
	if (rv == PHR_OK) {
		memcpy(sh.to, to, 20);
		memcpy(sh.to_key, to_pk, 32);
		if (crypto_box_seal(sh.sealed, plain, SHARE_LEN, to_pk) != 0)
			rv = PHR_ERR_CRYPTO;
	}
	sodium_free(plain);
	if (rv == PHR_OK)
		*out = sh;
	return rv;
}

int phr_recovery_shares_combine(uint8_t box_sk[32], const struct phr_recovery_share *shares,
				size_t k, const uint8_t my_pk[32], const uint8_t my_sk[32])
{
	uint8_t *buf, *secret, pk[32];
	int rv = PHR_OK;

	if (k == 0 || k > PHR_RECOVERY_MAX_SHARES || k < shares[0].threshold)
		return PHR_ERR_INVALID;
	for (size_t i = 0; i < k; i++) {
		if (memcmp(shares[i].patient, shares[0].patient, 20) != 0 ||
		    memcmp(shares[i].pk, shares[0].pk, 32) != 0 ||
		    shares[i].threshold != shares[0].threshold ||
		    shares[i].shares != shares[0].shares)
			return PHR_ERR_INVALID;
		for (size_t j = 0; j < i; j++)
			if (shares[j].index == shares[i].index)
				return PHR_ERR_INVALID;
	}
	buf = sodium_malloc(k * SHARE_LEN + 32);
	if (buf == NULL)
		return PHR_ERR_NOMEM;
	secret = buf + k * SHARE_LEN;
	for (size_t i = 0; rv == PHR_OK && i < k; i++)
		rv = share_open(buf + i * SHARE_LEN, &shares[i], my_pk, my_sk);
	if (rv == PHR_OK)
		rv = phr_shamir_combine(secret, buf, SHARE_LEN, (unsigned)k);
	if (rv == PHR_OK && (crypto_scalarmult_base(pk, secret) != 0 ||
			     sodium_memcmp(pk, shares[0].pk, 32) != 0))
		rv = PHR_ERR_CRYPTO;
	if (rv == PHR_OK)
		memcpy(box_sk, secret, 32);
	sodium_free(buf);
	return rv;
}

int phr_recovery_share_release(struct phr_chain *c, const struct phr_deployment *d,
			       struct phr_recovery_share *out, const uint8_t holder[20],
			       const uint8_t holder_pk[32], const uint8_t holder_sk[32],
			       const struct phr_recovery_share *in, const uint8_t requester[20])
{
	struct phr_recovery_status st;
	int rv;

	if (memcmp(in->to, holder, 20) != 0)
		return PHR_ERR_FORBIDDEN;
	if ((rv = phr_recovery_status_read(c, d, &st, in->patient, NULL)) != PHR_OK)
		return rv;
	if (memcmp(st.owner, requester, 20) != 0 || memcmp(st.owner, in->owner, 20) == 0)
		return PHR_ERR_FORBIDDEN;
	if (sodium_memcmp(st.enc_key, in->pk, 32) == 0)
		return PHR_ERR_STATE;
	return phr_recovery_share_reseal(out, in, holder_pk, holder_sk, requester, st.enc_key);
}

int phr_node_recovery_share_release(struct phr_node *n, struct phr_recovery_share *out,
				    const struct phr_identity *holder,
				    const struct phr_recovery_share *in, const uint8_t requester[20])
{
	struct phr_recovery_share res;
	const uint8_t *owners[2];
	json_t *payload;
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = phr_recovery_share_release(n->chain, &n->dep, &res, holder->address, holder->box_pk,
					holder->box_sk, in, requester);
	if (rv == PHR_ERR_FORBIDDEN) {
		const struct phr_u256 none = PHR_U256_ZERO;
		phr_node_i_deny(n, requester, in->patient, &none, "recovery share refused");
	}
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	payload = json_pack("{s:s,s:o,s:o,s:o,s:I}", "event", "share-released", "patient",
			    phr_node_i_jaddr(in->patient), "by", phr_node_i_jaddr(holder->address),
			    "to", phr_node_i_jaddr(requester), "index", (json_int_t)in->index);
	owners[0] = in->owner;
	owners[1] = requester;
	if (payload != NULL)
		notify_all(n, NULL, owners, in->patient, payload);
	json_decref(payload);
	*out = res;
	return PHR_OK;
}

/* --- re-wrap ------------------------------------------------------------------ */

/* Seals the data key of @p record (opened with @p old_pk/@p old_sk from the
 * patient's capsule) to @p owner's key; indexes it for the patient id and
 * the owner. Caller holds the lock. */
static int rewrap_one(struct phr_node *n, const struct phr_identity *owner, const uint8_t patient[20],
		      const struct phr_u256 *record, const uint8_t old_pk[32], const uint8_t *old_sk)
{
	char cid[PHR_CID_STR_MAX];
	struct phr_cid c, cap;
	uint8_t *key;
	int rv;

	rv = phr_node_i_capsule_get(n, cid, record, patient);
	if (rv == PHR_ERR_NOT_FOUND)
		rv = phr_node_i_peer_capsule(n, cid, record, patient);
	if (rv != PHR_OK || (rv = phr_cid_parse(&c, cid)) != PHR_OK)
		return rv;
	if ((key = phr_crypto_key_new()) == NULL)
		return PHR_ERR_NOMEM;
	/* a record minted after the key update is already sealed to the owner's key */
	if (phr_store_open_capsule(n->store, key, &c, owner->box_pk, owner->box_sk) == PHR_OK) {
		phr_crypto_key_free(key);
		return phr_node_i_capsule_put(n, record, owner->address, cid);
	}
	rv = old_sk == NULL ? PHR_ERR_TAMPERED
			    : phr_store_open_capsule(n->store, key, &c, old_pk, old_sk);
	if (rv == PHR_OK)
		rv = phr_store_add_capsule(n->store, &cap, owner->box_pk, key);
	phr_crypto_key_free(key);
	if (rv == PHR_OK)
		rv = phr_cid_format(cid, sizeof(cid), &cap);
	if (rv == PHR_OK)
		rv = phr_node_i_capsule_put(n, record, owner->address, cid);
	if (rv == PHR_OK)
		rv = phr_node_i_capsule_put(n, record, patient, cid);
	return rv;
}

/* Live token ids of @p patient (from the records list). */
int phr_recovery_i_live_records(struct phr_node *n, struct phr_u256 **ids, size_t *count,
				const uint8_t patient[20])
{
	json_t *list = NULL, *o;
	size_t i, k = 0;
	int rv;

	if ((rv = phr_node_records_list(n, &list, patient)) != PHR_OK)
		return rv;
	*ids = phr_calloc(json_array_size(list) + 1, sizeof(**ids));
	if (*ids == NULL) {
		json_decref(list);
		return PHR_ERR_NOMEM;
	}
	json_array_foreach(list, i, o) {
		const char *s;
		struct phr_record_meta m;
		if (phr_json_get_str(&s, o, "id") != PHR_OK || phr_u256_parse(&(*ids)[k], s) != 0)
			continue;
		if (phr_node_record_meta(n, &m, &(*ids)[k]) == PHR_OK) /* burnt: skipped */
			k++;
	}
	json_decref(list);
	*count = k;
	return PHR_OK;
}

int phr_node_recovery_rewrap(struct phr_node *n, size_t *rewrapped, size_t *failed,
			     const struct phr_identity *owner, const uint8_t patient[20],
			     const uint8_t *old_sk)
{
	struct phr_recovery_status st;
	struct phr_recovery_args a;
	struct phr_u256 *ids = NULL;
	size_t count = 0, ok = 0, bad = 0;
	uint8_t old_pk[32];
	int rv;

	memset(old_pk, 0, sizeof(old_pk));
	if (old_sk != NULL && crypto_scalarmult_base(old_pk, old_sk) != 0)
		return PHR_ERR_CRYPTO;
	pthread_mutex_lock(&n->lock);
	rv = phr_recovery_status_read(n->chain, &n->dep, &st, patient, NULL);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	if (memcmp(st.owner, owner->address, 20) != 0)
		return PHR_ERR_FORBIDDEN;
	if ((rv = phr_recovery_i_live_records(n, &ids, &count, patient)) != PHR_OK)
		return rv;
	/* two passes: a record that failed (the node directory is shared with a
	 * running node, its database or a peer may be busy) is tried once more */
	for (int pass = 0; pass < 2 && (pass == 0 || bad > 0); pass++) {
		size_t k = 0;
		if (pass == 1) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			bad = 0;
		}
		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < count; i++) {
			int r1 = rewrap_one(n, owner, patient, &ids[i], old_pk, old_sk);
			char id[PHR_U256_DEC_LEN];
			if (r1 == PHR_OK) {
				ok++;
				continue;
			}
			bad++;
			ids[k++] = ids[i]; /* kept for the second pass */
			phr_u256_to_dec(id, &ids[i]);
			phr_log_warn("recovery", "record %s: data key not re-wrapped (%s)%s", id,
				     phr_strerror(r1), pass == 0 ? "; trying again" : "");
		}
		pthread_mutex_unlock(&n->lock);
		count = k;
	}
	phr_free(ids);
	phr_log_info("recovery", "re-wrapped %zu data keys to the new owner's key (%zu failed)", ok, bad);
	if (sodium_memcmp(st.enc_key, owner->box_pk, 32) != 0) {
		memset(&a, 0, sizeof(a));
		memcpy(a.patient, patient, 20);
		memcpy(a.enc_key, owner->box_pk, 32);
		rv = phr_node_recovery_send(n, owner, PHR_RECOVERY_UPDATE_KEY, &a);
	}
	if (rewrapped != NULL)
		*rewrapped = ok;
	if (failed != NULL)
		*failed = bad;
	return rv;
}

static bool in_scope(const uint8_t scope[32], const struct phr_u256 *id, unsigned rtype)
{
	uint8_t s[32];

	if (scope[0] == 1)
		phr_scope_category(s, rtype);
	else if (scope[0] == 2)
		phr_scope_record(s, id);
	else
		phr_scope_all(s);
	return memcmp(s, scope, 32) == 0;
}

int phr_node_recovery_grant(struct phr_node *n, const struct phr_identity *owner,
			    const uint8_t patient[20], const uint8_t provider[20],
			    enum phr_level level, const uint8_t scope[32], uint64_t expiry)
{
	struct phr_u256 *ids = NULL;
	size_t count = 0, shared = 0;
	uint8_t pk[32];
	int rv;

	rv = phr_node_access_grant_for(n, owner, patient, provider, level, scope, expiry);
	if (rv != PHR_OK || memcmp(owner->address, patient, 20) == 0) /* the node wrapped them */
		return rv;
	if ((rv = phr_recovery_i_live_records(n, &ids, &count, patient)) != PHR_OK)
		return rv;
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_enc_key(n, pk, provider);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_record_meta m;
		pthread_mutex_unlock(&n->lock);
		rv = phr_node_record_meta(n, &m, &ids[i]);
		pthread_mutex_lock(&n->lock);
		if (rv == PHR_OK && in_scope(scope, &ids[i], m.rtype) &&
		    phr_node_i_share_record(n, owner, &ids[i], provider, pk) == PHR_OK)
			shared++;
		rv = PHR_OK;
	}
	pthread_mutex_unlock(&n->lock);
	phr_free(ids);
	phr_log_info("recovery", "wrapped %zu data keys to the grantee", shared);
	return rv == PHR_ERR_NOT_FOUND ? PHR_OK : rv;
}
