/*
 * Integration test of the phr domain on an embedded chain in a temporary
 * directory: deployment, registries, provider-to-patient and
 * patient-to-provider flows, denials (no grant, revoked, expired),
 * amendments, the audit trail, a scan for plaintext on disk, and reads of
 * several records together (phr_node_records_read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test_util.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/phr.h"

struct fx {
	struct node_stack s;
	char *dir;
	struct phr_node *node;
	const struct phr_identity *gov, *auth, *prov, *pat, *other;
};

static const struct phr_identity *add_id(struct fx *f, const char *name, uint32_t index)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;

	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index), PHR_OK);
	assert_int_equal(phr_identity_new(&id, name, sk), PHR_OK);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(phr_node_add_identity(f->node, id), PHR_OK);
	return id;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct phr_deployment d2;
	char path[1024];
	uint64_t now;

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "flows"), 0);
	f->dir = f->s.dir;
	f->node = f->s.node;
	snprintf(path, sizeof(path), "%s/deployment.json", f->dir);
	assert_int_equal(phr_deployment_load(&d2, path), PHR_OK);
	assert_memory_equal(phr_node_deployment(f->node), &d2, sizeof(d2));
	assert_int_equal(d2.chain_id, 31337);
	f->gov = add_id(f, "operator", 0);
	f->auth = add_id(f, "authority", 1);
	f->prov = add_id(f, "provider", 2);
	f->pat = add_id(f, "patient", 3);
	f->other = add_id(f, "other", 4);
	assert_int_equal(phr_node_register(f->node, f->pat), PHR_OK);
	assert_int_equal(phr_node_register(f->node, f->pat), PHR_ERR_EXISTS);
	assert_int_equal(phr_node_register(f->node, f->prov), PHR_OK);
	assert_int_equal(phr_node_register(f->node, f->other), PHR_OK);
	assert_int_equal(phr_node_appoint_authority(f->node, f->gov, f->auth->address), PHR_OK);
	/* only the governance key appoints authorities */
	assert_int_equal(phr_node_appoint_authority(f->node, f->prov, f->prov->address),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->node, f->auth, f->prov->address,
						  PHR_ROLE_PROVIDER, now + 365 * 86400), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->node, f->auth, f->other->address,
						  PHR_ROLE_PROVIDER | PHR_ROLE_EMERGENCY,
						  now + 365 * 86400), PHR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	node_stack_close(&f->s);
	free(f);
	return 0;
}

static void make_record(uint8_t *buf, size_t n, const char *marker)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(' ' + (i * 7 + 3) % 90);
	memcpy(buf + n / 2, marker, strlen(marker));
}

static void expect_read(struct fx *f, const struct phr_identity *who, const struct phr_u256 *id,
			const uint8_t *want, size_t n, int want_rv)
{
	struct phr_buf out;
	struct phr_record_meta m;

	phr_buf_init(&out, 0);
	assert_int_equal(phr_node_record_read(f->node, &out, &m, who, id, 1), want_rv);
	if (want_rv == PHR_OK) {
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, want, n);
		assert_memory_equal(m.patient, f->pat->address, 20);
		assert_memory_equal(m.provider, f->prov->address, 20);
	}
	phr_buf_release(&out);
}

static size_t count_action(json_t *arr, const char *action, const uint8_t *accessor)
{
	size_t i, c = 0;
	json_t *e;
	char want[PHR_ETH_ADDRESS_STR_LEN];

	if (accessor != NULL)
		phr_eth_address_checksum(want, accessor);
	json_array_foreach(arr, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "action")), action) != 0)
			continue;
		if (accessor == NULL ||
		    strcmp(json_string_value(json_object_get(e, "accessor")), want) == 0)
			c++;
	}
	return c;
}

static void test_roles(void **state)
{
	struct fx *f = *state;
	unsigned r = 0;

	assert_int_equal(phr_node_roles(f->node, &r, f->pat->address), PHR_OK);
	assert_true(r & PHR_R_PATIENT);
	assert_false(r & PHR_R_PROVIDER);
	assert_int_equal(phr_node_roles(f->node, &r, f->prov->address), PHR_OK);
	assert_true(r & PHR_R_PROVIDER);
	assert_false(r & PHR_R_EMERGENCY);
	assert_int_equal(phr_node_roles(f->node, &r, f->other->address), PHR_OK);
	assert_true(r & PHR_R_EMERGENCY);
	assert_int_equal(phr_node_roles(f->node, &r, f->auth->address), PHR_OK);
	assert_int_equal(r, PHR_R_AUTHORITY);
	assert_int_equal(phr_node_roles(f->node, &r, f->gov->address), PHR_OK);
	assert_int_equal(r, PHR_R_GOVERNANCE);
}

static void test_flows(void **state)
{
	struct fx *f = *state;
	static const char marker[] = "PHR-PLAINTEXT-MARKER-hb A1c 6.1% patient Jane Roe";
	static uint8_t rec[4096], rec2[300];
	struct phr_record_receipt r1, r2;
	struct phr_u256 req;
	uint8_t scope[32];
	uint64_t now;
	json_t *list = NULL;
	size_t files = 0;

	make_record(rec, sizeof(rec), marker);
	make_record(rec2, sizeof(rec2), "amended PHR-PLAINTEXT-MARKER");
	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);

	/* without a Write grant the provider cannot mint */
	assert_int_equal(phr_node_record_submit(f->node, &r1, f->prov, f->pat->address, 5, NULL, rec,
						sizeof(rec)),
			 PHR_ERR_FORBIDDEN);
	/* an unregistered patient */
	assert_int_equal(phr_node_record_submit(f->node, &r1, f->prov, f->auth->address, 5, NULL,
						rec, sizeof(rec)),
			 PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->prov->address, PHR_LEVEL_WRITE,
					       scope, now + 86400),
			 PHR_OK);

	/* §6.1: provider -> patient */
	assert_int_equal(phr_node_record_submit(f->node, &r1, f->prov, f->pat->address, 5, NULL, rec,
						sizeof(rec)),
			 PHR_OK);
	assert_true(phr_u256_eq(&r1.token_id, &(struct phr_u256){ { 1, 0, 0, 0 } }));
	expect_read(f, f->pat, &r1.token_id, rec, sizeof(rec), PHR_OK);
	expect_read(f, f->prov, &r1.token_id, rec, sizeof(rec), PHR_OK);

	/* no grant: 403 and a local denial entry */
	expect_read(f, f->other, &r1.token_id, NULL, 0, PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_denials_list(f->node, &list, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	/* unknown record */
	expect_read(f, f->prov, &(struct phr_u256){ { 99, 0, 0, 0 } }, NULL, 0, PHR_ERR_NOT_FOUND);

	/* §6.2: request, approve, read, revoke */
	assert_int_equal(phr_node_access_request(f->node, &req, f->other, f->pat->address, 1, 3600,
						 PHR_LEVEL_READ, scope),
			 PHR_OK);
	assert_int_equal(phr_node_requests_list(f->node, &list, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")),
			    "Pending");
	json_decref(list);
	/* only the patient answers */
	assert_int_equal(phr_node_access_answer(f->node, f->other, &req, true), PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_access_answer(f->node, f->pat, &req, true), PHR_OK);
	expect_read(f, f->other, &r1.token_id, rec, sizeof(rec), PHR_OK);
	assert_int_equal(phr_node_grants_list(f->node, &list, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_int_equal(phr_node_access_revoke(f->node, f->pat, f->other->address, scope), PHR_OK);
	expect_read(f, f->other, &r1.token_id, NULL, 0, PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_grants_list(f->node, &list, f->pat->address), PHR_OK);
	{
		size_t i, revoked = 0;
		json_t *e;
		json_array_foreach(list, i, e)
			revoked += strcmp(json_string_value(json_object_get(e, "state")),
					  "revoked") == 0;
		assert_int_equal(revoked, 1);
	}
	json_decref(list);

	/* expiry: a short grant stops working once chain time passes it */
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->other->address, PHR_LEVEL_READ,
					       scope, now + 120),
			 PHR_OK);
	expect_read(f, f->other, &r1.token_id, rec, sizeof(rec), PHR_OK);
	assert_int_equal(phr_node_advance_time(f->node, 300), PHR_OK);
	expect_read(f, f->other, &r1.token_id, NULL, 0, PHR_ERR_FORBIDDEN);

	/* amendment: a new version linked to the old one */
	assert_int_equal(phr_node_record_submit(f->node, &r2, f->prov, f->pat->address, 5,
						&r1.token_id, rec2, sizeof(rec2)),
			 PHR_OK);
	expect_read(f, f->pat, &r2.token_id, rec2, sizeof(rec2), PHR_OK);
	{
		struct phr_record_meta m;
		struct phr_buf out;
		phr_buf_init(&out, 0);
		assert_int_equal(phr_node_record_read(f->node, &out, &m, f->pat, &r1.token_id, 6),
				 PHR_OK);
		assert_true(phr_u256_eq(&m.superseded_by, &r2.token_id));
		phr_buf_release(&out);
	}
	assert_int_equal(phr_node_records_list(f->node, &list, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "supersedes")),
			    "1");
	json_decref(list);

	/* the audit trail shows every step and folds to the on-chain head */
	assert_int_equal(phr_node_audit_list(f->node, &list, f->pat->address, NULL), PHR_OK);
	assert_int_equal(count_action(list, "Create", f->prov->address), 1);
	assert_int_equal(count_action(list, "Update", f->prov->address), 1);
	assert_int_equal(count_action(list, "View", f->other->address), 2);
	assert_int_equal(count_action(list, "View", f->prov->address), 1);
	assert_int_equal(count_action(list, "View", f->pat->address), 3);
	assert_true(count_action(list, "Share", NULL) >= 3);
	assert_int_equal(count_action(list, "Revoke", f->other->address), 1);
	json_decref(list);
	assert_int_equal(phr_node_audit_list(f->node, &list, f->pat->address, &r2.token_id), PHR_OK);
	assert_int_equal(json_array_size(list), 2); /* Update + View */
	json_decref(list);
	assert_int_equal(phr_node_denials_list(f->node, &list, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);

	/* no plaintext anywhere on disk: chain database, store blocks, local db */
	assert_int_equal(node_test_scan(f->dir, (const uint8_t *)"PHR-PLAINTEXT-MARKER", 20, &files),
			 0);
	assert_true(files > 10);
}

/* A View count of @p reader on @p patient's chain. */
static size_t views_of(struct fx *f, const uint8_t patient[20], const uint8_t reader[20])
{
	json_t *list = NULL;
	size_t c;

	assert_int_equal(phr_node_audit_list(f->node, &list, patient, NULL), PHR_OK);
	c = count_action(list, "View", reader);
	json_decref(list);
	return c;
}

/* Denials of records of @p patient (with @p reason only, when non-NULL). */
static size_t denials_of(struct fx *f, const uint8_t patient[20], const char *reason)
{
	json_t *list = NULL, *e;
	size_t c = 0, i;

	assert_int_equal(phr_node_denials_list(f->node, &list, patient), PHR_OK);
	json_array_foreach(list, i, e)
		c += reason == NULL || strcmp(json_string_value(json_object_get(e, "reason")), reason) == 0;
	json_decref(list);
	return c;
}

/* phr_node_records_read of @p n tokens by @p who with purpose 1 (@p purposes overrides when
 * non-NULL); results in @p rv, plaintexts checked against @p want[i] (length @p len) when OK. */
static void read_many(struct fx *f, const struct phr_identity *who, const struct phr_u256 *ids,
		      const unsigned *purposes, size_t n, const uint8_t *const *want, size_t len,
		      int *rv)
{
	struct phr_record_read it[8];
	struct phr_buf b[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		phr_buf_init(&b[i], PHR_RECORD_MAX);
		it[i] = (struct phr_record_read){ &ids[i], purposes ? purposes[i] : 1, &b[i], NULL, -1 };
	}
	assert_int_equal(phr_node_records_read(f->node, it, n, who), PHR_OK);
	for (size_t i = 0; i < n; i++) {
		rv[i] = it[i].result;
		if (rv[i] == PHR_OK) {
			assert_int_equal(b[i].len, len);
			assert_memory_equal(b[i].data, want[i], len);
		} else {
			assert_int_equal(b[i].len, 0);
		}
		phr_buf_release(&b[i]);
	}
}

static void all_equal(const int *rv, size_t n, int want)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rv[i], want);
}

/* pat grants other Read on all records for @p secs of chain time; other reads ids[0..3). */
static void grant_and_read(struct fx *f, uint64_t secs, const struct phr_u256 *ids,
			   const uint8_t *const *want, size_t len)
{
	uint8_t all[32];
	uint64_t now;
	int rv[3];

	phr_scope_all(all);
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->other->address, PHR_LEVEL_READ, all,
					       now + secs),
			 PHR_OK);
	read_many(f, f->other, ids, NULL, 3, want, len, rv);
	all_equal(rv, 3, PHR_OK);
}

/*
 * Several records read together: per-record results (no grant, a category grant, a grant on
 * all records, a missing token, a bad purpose, the patient's own), one View per record
 * returned and none for the others, revocation and expiry stop the reads at once.
 */
static void test_records_read(void **state)
{
	struct fx *f = *state;
	static uint8_t rec[3][500], own[200];
	const uint8_t *want[6];
	struct phr_record_receipt r[3], ro;
	struct phr_u256 ids[6];
	uint8_t all[32], cat5[32];
	uint64_t now;
	size_t v0, vp0, d0;
	int rv[6];

	phr_scope_all(all);
	phr_scope_category(cat5, 5);
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->prov->address, PHR_LEVEL_WRITE, all,
					       now + 86400),
			 PHR_OK);
	for (size_t i = 0; i < 3; i++) {
		char m[40];
		snprintf(m, sizeof(m), "batch record %zu", i);
		make_record(rec[i], sizeof(rec[i]), m);
		/* two Observations (type 5) and a Procedure (type 2) */
		assert_int_equal(phr_node_record_submit(f->node, &r[i], f->prov, f->pat->address,
							i < 2 ? 5 : 2, NULL, rec[i], sizeof(rec[i])),
				 PHR_OK);
		ids[i] = r[i].token_id;
		want[i] = rec[i];
	}
	/* the other patient's own record (written by itself: it owns its registry entry) */
	assert_int_equal(phr_node_access_grant(f->node, f->other, f->prov->address, PHR_LEVEL_WRITE,
					       all, now + 86400),
			 PHR_OK);
	make_record(own, sizeof(own), "own record");
	assert_int_equal(phr_node_record_submit(f->node, &ro, f->prov, f->other->address, 5, NULL, own,
						sizeof(own)),
			 PHR_OK);

	/* no grant of pat to other: every record of pat refused, no View, denials logged */
	v0 = views_of(f, f->pat->address, f->other->address);
	d0 = denials_of(f, f->pat->address, NULL);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	all_equal(rv, 3, PHR_ERR_FORBIDDEN);
	assert_int_equal(views_of(f, f->pat->address, f->other->address), v0);
	assert_int_equal(denials_of(f, f->pat->address, NULL), d0 + 3);

	/* a grant on the Observations only: the patient-level decision is no, each record asked */
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->other->address, PHR_LEVEL_READ, cat5,
					       now + 86400),
			 PHR_OK);
	ids[3] = (struct phr_u256){ { 999999, 0, 0, 0 } }; /* no such token */
	ids[4] = ids[0];                                  /* a purpose out of range */
	ids[5] = ro.token_id;                             /* other's own record */
	want[5] = own;
	{
		const unsigned purposes[6] = { 1, 1, 1, 1, 200, 6 };
		size_t vo0 = views_of(f, f->other->address, f->other->address);
		struct phr_record_read it[6];
		struct phr_buf b[6];
		read_many(f, f->other, ids, purposes, 3, want, sizeof(rec[0]), rv);
		assert_int_equal(rv[0], PHR_OK);
		assert_int_equal(rv[1], PHR_OK);
		assert_int_equal(rv[2], PHR_ERR_FORBIDDEN);
		assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 2);
		/* mixed lengths: checked by hand */
		for (size_t i = 0; i < 6; i++) {
			phr_buf_init(&b[i], PHR_RECORD_MAX);
			it[i] = (struct phr_record_read){ &ids[i], purposes[i], &b[i], NULL, -1 };
		}
		assert_int_equal(phr_node_records_read(f->node, it, 6, f->other), PHR_OK);
		assert_int_equal(it[0].result, PHR_OK);
		assert_int_equal(it[1].result, PHR_OK);
		assert_int_equal(it[2].result, PHR_ERR_FORBIDDEN);
		assert_int_equal(it[3].result, PHR_ERR_NOT_FOUND);
		assert_int_equal(it[4].result, PHR_ERR_INVALID);
		assert_int_equal(it[5].result, PHR_OK);
		assert_int_equal(b[1].len, sizeof(rec[1]));
		assert_memory_equal(b[1].data, rec[1], sizeof(rec[1]));
		assert_int_equal(b[5].len, sizeof(own));
		assert_memory_equal(b[5].data, own, sizeof(own));
		for (size_t i = 0; i < 6; i++)
			phr_buf_release(&b[i]);
		assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 4);
		/* the Procedure refused by the node's own check, not only by the chain's */
		assert_int_equal(denials_of(f, f->pat->address, "audit refused"), 0);
		assert_int_equal(views_of(f, f->other->address, f->other->address), vo0 + 1);
	}

	/* a grant on all records: the one patient-level call decides the three */
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->other->address, PHR_LEVEL_READ, all,
					       now + 86400),
			 PHR_OK);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	all_equal(rv, 3, PHR_OK);
	assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 7);
	/* the patient reads its own records (owner) */
	vp0 = views_of(f, f->pat->address, f->pat->address);
	read_many(f, f->pat, ids, NULL, 3, want, sizeof(rec[0]), rv);
	all_equal(rv, 3, PHR_OK);
	assert_int_equal(views_of(f, f->pat->address, f->pat->address), vp0 + 3);

	/* revoked: the next read refuses at once (the category grant still opens the two) */
	assert_int_equal(phr_node_access_revoke(f->node, f->pat, f->other->address, all), PHR_OK);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	assert_int_equal(rv[0], PHR_OK);
	assert_int_equal(rv[1], PHR_OK);
	assert_int_equal(rv[2], PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_access_revoke(f->node, f->pat, f->other->address, cat5), PHR_OK);
	d0 = denials_of(f, f->pat->address, NULL);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	all_equal(rv, 3, PHR_ERR_FORBIDDEN);
	assert_int_equal(denials_of(f, f->pat->address, NULL), d0 + 3);
	assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 9);

	/* expiry: a short grant on all records stops the reads once chain time passes it */
	grant_and_read(f, 120, ids, want, sizeof(rec[0]));
	assert_int_equal(phr_node_advance_time(f->node, 300), PHR_OK);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	all_equal(rv, 3, PHR_ERR_FORBIDDEN);
	assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 12);
	assert_int_equal(phr_node_records_read(f->node, NULL, 0, f->other), PHR_OK);

	/* a record burnt by its patient's own key after it was read here: refused (its View is
	 * refused on chain), then not found; the others read as before */
	grant_and_read(f, 86400, ids, want, sizeof(rec[0]));
	{
		const struct phr_deployment *d = phr_node_deployment(f->node);
		struct phr_buf cd;
		phr_buf_init(&cd, 0);
		assert_int_equal(phr_contracts_health_record_nft_burn_encode(&cd, &ids[1]), PHR_OK);
		assert_int_equal(phr_node_tx_send(f->s.chain, d->chain_id, NULL, f->pat->seckey, d->nft,
						  cd.data, cd.len),
				 PHR_OK);
		phr_buf_release(&cd);
	}
	v0 = views_of(f, f->pat->address, f->other->address);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	assert_int_equal(rv[0], PHR_OK);
	assert_true(rv[1] == PHR_ERR_FORBIDDEN || rv[1] == PHR_ERR_NOT_FOUND);
	assert_int_equal(rv[2], PHR_OK);
	read_many(f, f->other, ids, NULL, 3, want, sizeof(rec[0]), rv);
	assert_int_equal(rv[1], PHR_ERR_NOT_FOUND);
	assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 4);

	/* more Views than one logViews takes (256): one caller's entries over several groups */
	{
		enum { K = 300 };
		struct phr_record_read *it = calloc(K, sizeof(*it));
		struct phr_buf *b = calloc(K, sizeof(*b));
		assert_non_null(it);
		assert_non_null(b);
		for (size_t i = 0; i < K; i++) {
			phr_buf_init(&b[i], PHR_RECORD_MAX);
			it[i] = (struct phr_record_read){ &ids[i % 2 == 0 ? 0 : 2], 1, &b[i], NULL, -1 };
		}
		assert_int_equal(phr_node_records_read(f->node, it, K, f->other), PHR_OK);
		for (size_t i = 0; i < K; i++) {
			assert_int_equal(it[i].result, PHR_OK);
			assert_int_equal(b[i].len, sizeof(rec[0]));
			assert_memory_equal(b[i].data, rec[i % 2 == 0 ? 0 : 2], sizeof(rec[0]));
			phr_buf_release(&b[i]);
		}
		free(it);
		free(b);
		assert_int_equal(views_of(f, f->pat->address, f->other->address), v0 + 4 + K);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_records_read),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
