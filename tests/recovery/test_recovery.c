/*
 * Recovery end to end on an embedded chain: the patient backs up its X25519
 * secret as 2-of-3 shares and names 3 guardians (threshold 2), then loses its
 * keystore (the node is reopened without it). Attacks first: a non-guardian,
 * fewer than M guardians, and M guardians inside the time lock against an
 * owner who cancels. Then the guardians rotate the owner; the holders release
 * their shares only to the new owner (after a rotation, sealed to its
 * registered key); the new owner recovers the secret, re-wraps the data keys
 * (no record re-uploaded), reads every old record and grants new access.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "node/node_test_util.h"
#include "phr/crypto.h"
#include "phr/notify.h"
#include "phr/phr.h"
#include "phr/backup.h"
#include "phr/recovery.h"
#include "phr/store.h"

#define NREC 3

struct fx {
	struct node_stack s;
	const struct phr_identity *gov, *auth, *prov, *prov2, *pat, *g[3], *newo, *att;
	uint8_t patient[20];
	uint8_t old_box_pk[32], old_box_sk[32];
	struct phr_record_receipt rec[NREC];
	uint8_t body[NREC][512];
	json_t *shares;
};

static const struct phr_identity *add_id(struct fx *f, const char *name, uint32_t index)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;

	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index), PHR_OK);
	assert_int_equal(phr_identity_new(&id, name, sk), PHR_OK);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(phr_node_add_identity(f->s.node, id), PHR_OK);
	return id;
}

/* Everybody but the patient (whose keystore is lost). */
static void host_others(struct fx *f)
{
	static const char *const gn[3] = { "g1", "g2", "g3" };

	f->gov = add_id(f, "operator", 0);
	f->auth = add_id(f, "authority", 1);
	f->prov = add_id(f, "provider", 2);
	f->prov2 = add_id(f, "provider2", 4);
	for (int i = 0; i < 3; i++)
		f->g[i] = add_id(f, gn[i], 5 + (uint32_t)i);
	f->newo = add_id(f, "newowner", 8);
	f->att = add_id(f, "attacker", 9);
}

static int send_op(struct fx *f, const struct phr_identity *who, enum phr_recovery_op op,
		   const uint8_t *new_owner)
{
	struct phr_recovery_args a;

	memset(&a, 0, sizeof(a));
	memcpy(a.patient, f->patient, 20);
	if (new_owner != NULL)
		memcpy(a.new_owner, new_owner, 20);
	return phr_node_recovery_send(f->s.node, who, op, &a);
}

static void status(struct fx *f, struct phr_recovery_status *st, const uint8_t *cand)
{
	assert_int_equal(phr_recovery_status_read(phr_node_chain(f->s.node),
						  phr_node_deployment(f->s.node), st, f->patient,
						  cand),
			 PHR_OK);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct phr_recovery_holder h[3];
	struct phr_recovery_args a;
	uint8_t scope[32];
	uint64_t now;
	char dir[1024];

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "recovery"), 0);
	host_others(f);
	f->pat = add_id(f, "patient", 3);
	memcpy(f->patient, f->pat->address, 20);
	memcpy(f->old_box_pk, f->pat->box_pk, 32);
	memcpy(f->old_box_sk, f->pat->box_sk, 32);
	assert_int_equal(phr_node_register(f->s.node, f->pat), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->prov), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->prov2), PHR_OK);
	assert_int_equal(phr_node_appoint_authority(f->s.node, f->gov, f->auth->address), PHR_OK);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->prov->address,
						  PHR_ROLE_PROVIDER, now + 365 * 86400), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->prov2->address,
						  PHR_ROLE_PROVIDER, now + 365 * 86400), PHR_OK);
	phr_scope_all(scope);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->prov->address, PHR_LEVEL_WRITE,
					       scope, now + 30 * 86400),
			 PHR_OK);
	for (int i = 0; i < NREC; i++) {
		for (size_t k = 0; k < sizeof(f->body[i]); k++)
			f->body[i][k] = (uint8_t)('a' + (k * 5 + (size_t)i) % 26);
		assert_int_equal(phr_node_record_submit(f->s.node, &f->rec[i], f->prov, f->patient,
							(unsigned)(1 + i), NULL, f->body[i],
							sizeof(f->body[i])),
				 PHR_OK);
	}
	/* guardians 2 of 3, and the key backup 2 of 3 to the same people */
	memset(&a, 0, sizeof(a));
	memcpy(a.patient, f->patient, 20);
	for (int i = 0; i < 3; i++) {
		memcpy(a.guardians[i], f->g[i]->address, 20);
		memcpy(h[i].address, f->g[i]->address, 20);
		memcpy(h[i].box_pk, f->g[i]->box_pk, 32);
	}
	a.n_guardians = 3;
	a.threshold = 2;
	assert_int_equal(phr_node_recovery_send(f->s.node, f->pat, PHR_RECOVERY_SET_GUARDIANS, &a),
			 PHR_OK);
	a.threshold = 4;
	assert_int_equal(phr_node_recovery_send(f->s.node, f->pat, PHR_RECOVERY_SET_GUARDIANS, &a),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_recovery_shares_make(&f->shares, f->patient, f->patient, f->pat->box_pk,
						  f->pat->box_sk, h, 3, 2),
			 PHR_OK);
	assert_int_equal(json_array_size(f->shares), 3);
	/* the patient loses its keystore: the node restarts without it */
	snprintf(dir, sizeof(dir), "%s", f->s.dir);
	{
		struct phr_deployment d = *phr_node_deployment(f->s.node);
		phr_node_close(f->s.node);
		assert_int_equal(phr_node_open(&f->s.node, f->s.chain, f->s.store, &d, dir), PHR_OK);
	}
	host_others(f);
	f->pat = NULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->shares);
	node_stack_close(&f->s);
	sodium_memzero(f->old_box_sk, 32);
	free(f);
	return 0;
}

static void share_at(struct fx *f, struct phr_recovery_share *sh, size_t i)
{
	char *text = json_dumps(json_array_get(f->shares, i), JSON_COMPACT);

	assert_non_null(text);
	assert_int_equal(phr_recovery_share_parse(sh, text, strlen(text)), PHR_OK);
	free(text);
}

static void read_ok(struct fx *f, const struct phr_identity *who, int i)
{
	struct phr_buf out;
	struct phr_record_meta m;

	phr_buf_init(&out, 0);
	assert_int_equal(phr_node_record_read(f->s.node, &out, &m, who, &f->rec[i].token_id, 1),
			 PHR_OK);
	assert_int_equal(out.len, sizeof(f->body[i]));
	assert_memory_equal(out.data, f->body[i], out.len);
	assert_memory_equal(m.patient, f->patient, 20);
	phr_buf_release(&out);
}

static void read_denied(struct fx *f, const struct phr_identity *who, int i)
{
	struct phr_buf out;

	phr_buf_init(&out, 0);
	assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, who, &f->rec[i].token_id, 1),
			 PHR_ERR_FORBIDDEN);
	phr_buf_release(&out);
}

/* Notifications of kind "recovery" with payload event @p ev for @p who. */
static size_t count_event(struct fx *f, const uint8_t who[20], const char *ev)
{
	json_t *list = NULL, *e;
	size_t i, k = 0;

	assert_int_equal(phr_notify_list(f->s.node, &list, who, 1000), PHR_OK);
	json_array_foreach(list, i, e) {
		const char *x = json_string_value(json_object_get(json_object_get(e, "payload"), "event"));
		k += strcmp(json_string_value(json_object_get(e, "kind")), "recovery") == 0 && x != NULL &&
		     strcmp(x, ev) == 0;
	}
	json_decref(list);
	return k;
}

static void test_attacks(void **state)
{
	struct fx *f = *state;
	struct phr_recovery_status st;
	struct phr_identity *owner = NULL;
	uint8_t sk[32];
	uint64_t now;

	/* not a guardian */
	assert_int_equal(send_op(f, f->att, PHR_RECOVERY_APPROVE, f->att->address),
			 PHR_ERR_FORBIDDEN);
	/* fewer than M guardians: one vote, nothing scheduled, nothing to execute */
	assert_int_equal(send_op(f, f->g[0], PHR_RECOVERY_APPROVE, f->att->address), PHR_OK);
	assert_int_equal(send_op(f, f->g[0], PHR_RECOVERY_APPROVE, f->att->address),
			 PHR_ERR_CONFLICT);
	status(f, &st, f->att->address);
	assert_int_equal(st.votes, 1);
	assert_false(st.pending);
	assert_int_equal(send_op(f, f->att, PHR_RECOVERY_EXECUTE, NULL), PHR_ERR_STATE);
	/* M guardians, but inside the time lock... */
	assert_int_equal(send_op(f, f->g[1], PHR_RECOVERY_APPROVE, f->att->address), PHR_OK);
	status(f, &st, f->att->address);
	assert_true(st.pending);
	assert_memory_equal(st.pending_owner, f->att->address, 20);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_true(st.ready_at >= now + 2 * 86400 - 60);
	assert_int_equal(send_op(f, f->att, PHR_RECOVERY_EXECUTE, NULL), PHR_ERR_STATE);
	/* ...the owner (its key still exists somewhere) cancels; only the owner may */
	assert_int_equal(send_op(f, f->att, PHR_RECOVERY_CANCEL, NULL), PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 3), PHR_OK);
	assert_int_equal(phr_identity_new(&owner, "patient-device", sk), PHR_OK);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(send_op(f, owner, PHR_RECOVERY_CANCEL, NULL), PHR_OK);
	phr_identity_free(owner);
	assert_int_equal(phr_node_advance_time(f->s.node, 2 * 86400 + 60), PHR_OK);
	assert_int_equal(send_op(f, f->att, PHR_RECOVERY_EXECUTE, NULL), PHR_ERR_STATE);
	status(f, &st, f->att->address);
	assert_false(st.pending);
	assert_int_equal(st.votes, 0); /* a new round */
	assert_memory_equal(st.owner, f->patient, 20);

	/* the chain scan finds the Recovery events of everything above, which the
	 * node signed and notified already: nothing twice. (The scan notifies
	 * accounts hosted here or with a webhook here: the patient's keystore is
	 * elsewhere, it has a webhook; nobody listens, deliveries stay pending.) */
	{
		size_t q = 9, before = count_event(f, f->patient, "approved");
		uint64_t sub = 0;
		uint8_t secret[32];
		randombytes_buf(secret, sizeof(secret));
		assert_int_equal(phr_notify_subscribe(f->s.node, &sub, f->patient, "http://127.0.0.1:9/hook",
						      secret, sizeof(secret)),
				 PHR_OK);
		assert_int_equal(before, 2);
		assert_int_equal(phr_notify_scan_chain(f->s.node, &q), PHR_OK);
		assert_int_equal(q, 0);
		assert_int_equal(count_event(f, f->patient, "approved"), 2);
		assert_int_equal(count_event(f, f->patient, "cancelled"), 1);
	}
	/* a vote relayed from a guardian's keystore (a raw transaction the node did
	 * not sign, as POST /api/v1/tx sends it) is notified by the scan, once */
	{
		struct phr_recovery_args a;
		size_t q = 0;
		json_t *list = NULL, *pl;
		char g3[PHR_ETH_ADDRESS_STR_LEN];
		assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 6), PHR_OK);
		memset(&a, 0, sizeof(a));
		memcpy(a.patient, f->patient, 20);
		memcpy(a.new_owner, f->att->address, 20);
		assert_int_equal(phr_recovery_send(phr_node_chain(f->s.node), phr_node_deployment(f->s.node),
						   sk, PHR_RECOVERY_APPROVE, &a),
				 PHR_OK);
		sodium_memzero(sk, sizeof(sk));
		assert_int_equal(count_event(f, f->patient, "approved"), 2); /* not yet */
		assert_int_equal(phr_notify_scan_chain(f->s.node, &q), PHR_OK);
		assert_int_equal(q, 1); /* the owner (no emergency contacts here) */
		assert_int_equal(phr_notify_scan_chain(f->s.node, &q), PHR_OK);
		assert_int_equal(q, 0);
		assert_int_equal(count_event(f, f->patient, "approved"), 3);
		assert_int_equal(phr_notify_list(f->s.node, &list, f->patient, 1), PHR_OK);
		pl = json_object_get(json_array_get(list, 0), "payload");
		phr_eth_address_checksum(g3, f->g[1]->address);
		assert_string_equal(json_string_value(json_object_get(pl, "by")), g3);
		assert_null(json_object_get(pl, "readyAt")); /* one vote of two */
		json_decref(list);
	}
}

static void test_recover(void **state)
{
	struct fx *f = *state;
	struct phr_recovery_status st;
	struct phr_recovery_share in[3], rel[3], bad;
	uint8_t *sk = sodium_malloc(32), scope[32];
	size_t ok = 0, failed = 9;
	uint64_t now;

	assert_non_null(sk);
	for (size_t i = 0; i < 3; i++)
		share_at(f, &in[i], i);
	/* before anything: the new address is nobody */
	read_denied(f, f->newo, 0);
	/* a holder releases nothing before a rotation */
	assert_int_equal(phr_node_recovery_share_release(f->s.node, &rel[0], f->g[0], &in[0],
							 f->patient),
			 PHR_ERR_FORBIDDEN);
	/* two guardians rotate the owner to the new address after the time lock */
	assert_int_equal(send_op(f, f->g[0], PHR_RECOVERY_APPROVE, f->newo->address), PHR_OK);
	assert_int_equal(send_op(f, f->g[2], PHR_RECOVERY_APPROVE, f->newo->address), PHR_OK);
	assert_int_equal(send_op(f, f->g[1], PHR_RECOVERY_EXECUTE, NULL), PHR_ERR_STATE);
	assert_int_equal(phr_node_advance_time(f->s.node, 2 * 86400 + 60), PHR_OK);
	assert_int_equal(send_op(f, f->g[1], PHR_RECOVERY_EXECUTE, NULL), PHR_OK);
	status(f, &st, NULL);
	assert_memory_equal(st.owner, f->newo->address, 20);
	assert_false(st.pending);

	/* owner now, but no key: the old records do not open yet */
	read_denied(f, f->newo, 0);
	/* holders: never to someone else, not before the new key is registered */
	assert_int_equal(phr_node_recovery_share_release(f->s.node, &rel[0], f->g[0], &in[0],
							 f->att->address),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_recovery_share_release(f->s.node, &rel[0], f->g[1], &in[0],
							 f->newo->address),
			 PHR_ERR_FORBIDDEN); /* not g2's share */
	assert_int_equal(phr_node_recovery_share_release(f->s.node, &rel[0], f->g[0], &in[0],
							 f->newo->address),
			 PHR_ERR_STATE);
	{
		struct phr_recovery_args a;
		memset(&a, 0, sizeof(a));
		memcpy(a.patient, f->patient, 20);
		memcpy(a.enc_key, f->newo->box_pk, 32);
		assert_int_equal(phr_node_recovery_send(f->s.node, f->att, PHR_RECOVERY_UPDATE_KEY, &a),
				 PHR_ERR_FORBIDDEN);
		assert_int_equal(phr_node_recovery_send(f->s.node, f->newo, PHR_RECOVERY_UPDATE_KEY, &a),
				 PHR_OK);
	}
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(phr_node_recovery_share_release(f->s.node, &rel[i], f->g[i], &in[i],
								 f->newo->address),
				 PHR_OK);
	/* fewer than t shares, a share not for us, a tampered share */
	assert_int_equal(phr_recovery_shares_combine(sk, rel, 1, f->newo->box_pk, f->newo->box_sk),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_recovery_shares_combine(sk, in, 2, f->newo->box_pk, f->newo->box_sk),
			 PHR_ERR_TAMPERED);
	bad = rel[1];
	bad.sealed[60] ^= 1;
	{
		struct phr_recovery_share two[2] = { rel[0], bad };
		assert_int_equal(phr_recovery_shares_combine(sk, two, 2, f->newo->box_pk,
							     f->newo->box_sk),
				 PHR_ERR_TAMPERED);
		two[1] = rel[0];
		assert_int_equal(phr_recovery_shares_combine(sk, two, 2, f->newo->box_pk,
							     f->newo->box_sk),
				 PHR_ERR_INVALID);
	}
	/* any two recover the old secret */
	{
		struct phr_recovery_share two[2] = { rel[2], rel[0] };
		assert_int_equal(phr_recovery_shares_combine(sk, two, 2, f->newo->box_pk,
							     f->newo->box_sk),
				 PHR_OK);
		assert_memory_equal(sk, f->old_box_sk, 32);
	}
	/* the attacker cannot re-wrap; the owner can, without re-uploading */
	assert_int_equal(phr_node_recovery_rewrap(f->s.node, &ok, &failed, f->att, f->patient, sk),
			 PHR_ERR_FORBIDDEN);
	{
		struct phr_store_stat s0, s1;
		assert_int_equal(phr_store_stat(f->s.store, &s0), PHR_OK);
		assert_int_equal(phr_node_recovery_rewrap(f->s.node, &ok, &failed, f->newo, f->patient,
							  sk),
				 PHR_OK);
		assert_int_equal(phr_store_stat(f->s.store, &s1), PHR_OK);
		assert_int_equal(ok, NREC);
		assert_int_equal(failed, 0);
		/* only the NREC new capsules (one small block each) were added */
		assert_int_equal(s1.blocks, s0.blocks + NREC);
	}
	sodium_free(sk);
	status(f, &st, NULL);
	assert_memory_equal(st.enc_key, f->newo->box_pk, 32);
	for (int i = 0; i < NREC; i++)
		read_ok(f, f->newo, i);
	/* the provider keeps its access; the new owner grants a new provider */
	read_ok(f, f->prov, 0);
	read_denied(f, f->prov2, 1);
	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_recovery_grant(f->s.node, f->newo, f->patient, f->prov2->address,
						 PHR_LEVEL_READ, scope, now + 86400),
			 PHR_OK);
	for (int i = 0; i < NREC; i++)
		read_ok(f, f->prov2, i);
	/* the recovered owner backs up: the bundle verifies with the new key */
	{
		char p[1024];
		struct phr_backup_report rep;
		const char *seeds = getenv("PHR_SEED_DIR"); /* fuzz corpus seeds, on request */
		int fd;
		snprintf(p, sizeof(p), "%s/%s", seeds ? seeds : f->s.dir, "bundle.car");
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(phr_node_backup_create(f->s.node, &rep, f->newo, f->patient, fd), PHR_OK);
		close(fd);
		assert_int_equal(phr_backup_verify_file(&rep, p, f->patient, f->newo->box_pk,
							f->newo->box_sk),
				 PHR_OK);
		assert_int_equal(rep.opened, NREC);
		for (size_t i = 0; seeds != NULL && i < 3; i++) {
			char *t = json_dumps(json_array_get(f->shares, i), JSON_COMPACT);
			FILE *fp;
			snprintf(p, sizeof(p), "%s/share-%zu.json", seeds, i + 1);
			fp = fopen(p, "w");
			assert_non_null(fp);
			fputs(t, fp);
			fclose(fp);
			free(t);
		}
	}
	/* a record minted after the key update is sealed to the new key and indexed for
	 * the patient id: the owner reads it at once (the patient id's capsule); a sync
	 * also indexes it for the owner; another reader gets nothing from that fallback */
	{
		struct phr_record_receipt r4;
		struct phr_buf out;
		size_t ok2 = 0, failed2 = 9;
		assert_int_equal(phr_node_record_submit(f->s.node, &r4, f->prov, f->patient, 2, NULL,
							f->body[0], sizeof(f->body[0])),
				 PHR_OK);
		phr_buf_init(&out, 0);
		assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, f->newo, &r4.token_id, 1),
				 PHR_OK);
		assert_int_equal(out.len, sizeof(f->body[0]));
		assert_memory_equal(out.data, f->body[0], out.len);
		phr_buf_reset(&out);
		assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, f->att, &r4.token_id, 1),
				 PHR_ERR_FORBIDDEN);
		assert_int_equal(phr_node_recovery_rewrap(f->s.node, &ok2, &failed2, f->newo, f->patient,
							  NULL),
				 PHR_OK);
		assert_int_equal(ok2, NREC + 1);
		assert_int_equal(failed2, 0);
		assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, f->newo, &r4.token_id, 1),
				 PHR_OK);
		assert_int_equal(out.len, sizeof(f->body[0]));
		assert_memory_equal(out.data, f->body[0], out.len);
		phr_buf_release(&out);
	}
	/* every attempt reached the owner(s) through the outbox (kind "recovery") */
	{
		json_t *list = NULL, *e;
		size_t i, approved = 0, cancelled = 0, executed = 0, released = 0, to_new = 0;
		assert_int_equal(phr_notify_list(f->s.node, &list, f->patient, 1000), PHR_OK);
		json_array_foreach(list, i, e) {
			const char *ev = json_string_value(json_object_get(json_object_get(e, "payload"), "event"));
			assert_string_equal(json_string_value(json_object_get(e, "kind")), "recovery");
			approved += ev && strcmp(ev, "approved") == 0;
			cancelled += ev && strcmp(ev, "cancelled") == 0;
			executed += ev && strcmp(ev, "executed") == 0;
			released += ev && strcmp(ev, "share-released") == 0;
		}
		json_decref(list);
		assert_int_equal(approved, 5); /* 2 + 1 relayed in the attack, 2 in the recovery */
		assert_int_equal(cancelled, 1);
		assert_int_equal(executed, 1);
		assert_int_equal(released, 3);
		assert_int_equal(phr_notify_list(f->s.node, &list, f->newo->address, 1000), PHR_OK);
		json_array_foreach(list, i, e)
			to_new += strcmp(json_string_value(json_object_get(e, "kind")), "recovery") == 0;
		json_decref(list);
		assert_true(to_new >= 4); /* executed + 3 releases */
	}
	/* the old owner address is nobody now */
	{
		struct phr_recovery_args a;
		struct phr_identity *old = NULL;
		uint8_t osk[32];
		assert_int_equal(phr_bip32_eth_key(osk, NODE_TEST_MNEMONIC, 3), PHR_OK);
		assert_int_equal(phr_identity_new(&old, "old", osk), PHR_OK);
		sodium_memzero(osk, sizeof(osk));
		memset(&a, 0, sizeof(a));
		memcpy(a.patient, f->patient, 20);
		assert_int_equal(phr_node_recovery_send(f->s.node, old, PHR_RECOVERY_CANCEL, &a),
				 PHR_ERR_FORBIDDEN);
		phr_identity_free(old);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attacks),
		cmocka_unit_test(test_recover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
