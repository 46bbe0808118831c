/*
 * The node's access decisions (records.c: PatientRegistry.accessUntil compared with the
 * timestamp an eth_call runs at) on an embedded chain: a grant, an emergency session and a
 * provider's licence that run out between two reads with no state change in between (the
 * chain clock moved by evm_setNextBlockTimestamp / evm_increaseTime only), revocation and
 * an early close at once, the node's answers equal to canAccess asked directly at every
 * step, accessUntil's memo entry surviving a clock change, and a registry deployed from the
 * bytecode before accessUntil (the node falls back to canAccess).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_test_util.h"
#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/phr.h"

struct fx {
	struct node_stack s;
	char *art; /* the artifacts directory of the old registry, or NULL */
	const struct phr_identity *gov, *auth, *prov, *pat, *other, *stranger;
	struct phr_u256 rec[2]; /* an Observation (type 5) and a Procedure (type 2) of pat */
	uint8_t body[2][300];
};

static const struct phr_identity *add_id(struct fx *f, const char *name, uint32_t index)
{
	const struct phr_identity *id = node_test_identity(f->s.node, name, index);

	assert_non_null(id);
	return id;
}

/* The contracts of contracts/artifacts (symlinked), PatientRegistry from before accessUntil. */
static char *old_artifacts(void)
{
	const char *src = getenv("PHR_SOURCE_DIR");
	char *dir = node_test_tmpdir("access-art");
	char root[PATH_MAX / 2], from[PATH_MAX], to[PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *dp;

	assert_non_null(dir);
	if (src != NULL)
		snprintf(root, sizeof(root), "%s", src);
	else
		assert_non_null(getcwd(root, sizeof(root)));
	snprintf(from, sizeof(from), "%s/contracts/artifacts", root);
	dp = opendir(from);
	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (strcmp(e->d_name, "PatientRegistry.json") == 0)
			snprintf(from, sizeof(from),
				 "%s/tests/node/data/PatientRegistry-before-accessUntil.json", root);
		else
			snprintf(from, sizeof(from), "%s/contracts/artifacts/%s", root, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dir, e->d_name);
		assert_int_equal(symlink(from, to), 0);
		n++;
	}
	closedir(dp);
	assert_true(n > 8);
	return dir;
}

static void make_body(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(' ' + (i * 11 + seed) % 90);
}

static int open_fx(void **state, bool old)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct phr_record_receipt r;
	uint8_t all[32];
	uint64_t now;

	assert_non_null(f);
	if (old)
		f->art = old_artifacts();
	assert_int_equal(old ? node_stack_open_artifacts(&f->s, "access-old", f->art)
			     : node_stack_open(&f->s, "access"),
			 0);
	f->gov = add_id(f, "operator", 0);
	f->auth = add_id(f, "authority", 1);
	f->prov = add_id(f, "provider", 2);
	f->pat = add_id(f, "patient", 3);
	f->other = add_id(f, "other", 4);
	f->stranger = add_id(f, "stranger", 5);
	/* registered: an encryption key for the record key capsules */
	assert_int_equal(phr_node_register(f->s.node, f->pat), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->prov), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->other), PHR_OK);
	assert_int_equal(phr_node_appoint_authority(f->s.node, f->gov, f->auth->address), PHR_OK);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->prov->address,
						  PHR_ROLE_PROVIDER, now + 365 * 86400),
			 PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->other->address,
						  PHR_ROLE_PROVIDER | PHR_ROLE_EMERGENCY,
						  now + 365 * 86400),
			 PHR_OK);
	phr_scope_all(all);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->prov->address, PHR_LEVEL_WRITE,
					       all, now + 365 * 86400),
			 PHR_OK);
	for (unsigned i = 0; i < 2; i++) {
		make_body(f->body[i], sizeof(f->body[i]), i);
		assert_int_equal(phr_node_record_submit(f->s.node, &r, f->prov, f->pat->address,
							i == 0 ? 5 : 2, NULL, f->body[i],
							sizeof(f->body[i])),
				 PHR_OK);
		f->rec[i] = r.token_id;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return open_fx(state, false);
}

static int setup_old(void **state)
{
	return open_fx(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	node_stack_close(&f->s);
	if (f->art != NULL) {
		node_test_rmrf(f->art);
		free(f->art);
	}
	free(f);
	return 0;
}

/* One JSON-RPC call on the chain (evm_*), its answer dropped. */
static void rpc(struct fx *f, const char *method, json_t *params)
{
	struct phr_rpc_error err;
	json_t *res = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_equal(phr_chain_request(f->s.chain, &res, &err, method, params), PHR_OK);
	json_decref(res);
}

/* The chain clock an eth_call sees next is @p ts (no block is mined). */
static void set_next_time(struct fx *f, uint64_t ts)
{
	rpc(f, "evm_setNextBlockTimestamp", json_pack("[I]", (json_int_t)ts));
}

/* The timestamp an eth_call runs at now (the pending block's, from blockTimestamp); the
 * latest block's on the old registry (it has no blockTimestamp). */
static uint64_t call_time(struct fx *f)
{
	const struct phr_deployment *d = phr_node_deployment(f->s.node);
	struct phr_buf cd, out;
	struct phr_u256 ts;
	uint64_t t = 0;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_contracts_patient_registry_block_timestamp_encode(&cd), PHR_OK);
	if (f->art == NULL) {
		assert_int_equal(phr_chain_call(f->s.chain, &out, NULL, d->registry, cd.data, cd.len),
				 PHR_OK);
		assert_int_equal(phr_contracts_patient_registry_block_timestamp_decode(&ts, out.data,
											out.len),
				 PHR_OK);
		t = ts.w[0];
	} else {
		assert_int_equal(phr_node_chain_time(f->s.node, &t), PHR_OK);
	}
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return t;
}

/* canAccess asked of the registry directly (record 0: the patient as a whole). */
static bool direct_can(struct fx *f, const uint8_t who[20], const struct phr_u256 *rec,
		       enum phr_level level)
{
	const struct phr_deployment *d = phr_node_deployment(f->s.node);
	struct phr_buf cd, out;
	bool ok = false;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_contracts_patient_registry_can_access_encode(&cd, who, f->pat->address,
									   rec, (uint64_t)level),
			 PHR_OK);
	assert_int_equal(phr_chain_call(f->s.chain, &out, NULL, d->registry, cd.data, cd.len), PHR_OK);
	assert_int_equal(phr_contracts_patient_registry_can_access_decode(&ok, out.data, out.len),
			 PHR_OK);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return ok;
}

/* The node's decisions equal canAccess's for every accessor, record and level; returns how
 * many allow. */
static unsigned agree(struct fx *f)
{
	const struct phr_identity *who[] = { f->pat, f->prov, f->other, f->stranger, f->auth };
	const struct phr_u256 zero = PHR_U256_ZERO;
	unsigned allowed = 0;

	for (size_t w = 0; w < sizeof(who) / sizeof(who[0]); w++) {
		for (int r = -1; r < 2; r++) {
			for (int l = PHR_LEVEL_READ; l <= PHR_LEVEL_ADMIN; l++) {
				const struct phr_u256 *rec = r < 0 ? &zero : &f->rec[r];
				bool node = false;
				if (r < 0)
					assert_int_equal(phr_node_can_access_patient(f->s.node, &node,
										     who[w]->address,
										     f->pat->address,
										     (enum phr_level)l),
							 PHR_OK);
				else
					assert_int_equal(phr_node_can_access(f->s.node, &node, NULL,
									     who[w]->address, rec,
									     (enum phr_level)l),
							 PHR_OK);
				if (node != direct_can(f, who[w]->address, rec, (enum phr_level)l))
					fail_msg("node and canAccess disagree: accessor %zu record %d "
						 "level %d", w, r, l);
				allowed += node;
			}
		}
	}
	return allowed;
}

/* phr_node_record_read of record @p i by @p who: its result (the plaintext checked). */
static int read_one(struct fx *f, const struct phr_identity *who, int i)
{
	struct phr_buf out;
	struct phr_record_meta m;
	int rv;

	phr_buf_init(&out, 0);
	rv = phr_node_record_read(f->s.node, &out, &m, who, &f->rec[i], 1);
	if (rv == PHR_OK) {
		assert_int_equal(out.len, sizeof(f->body[i]));
		assert_memory_equal(out.data, f->body[i], out.len);
	} else {
		assert_int_equal(out.len, 0);
	}
	phr_buf_release(&out);
	return rv;
}

/* Denials of pat's records logged by the node's own check (not the chain's refusal). */
static size_t node_denials(struct fx *f)
{
	json_t *list = NULL, *e;
	size_t c = 0, i;

	assert_int_equal(phr_node_denials_list(f->s.node, &list, f->pat->address), PHR_OK);
	json_array_foreach(list, i, e)
		c += strcmp(json_string_value(json_object_get(e, "reason")), "no active grant") == 0;
	json_decref(list);
	return c;
}

/*
 * A category grant runs out between two reads with nothing changed on chain: allowed one
 * second before its expiry, refused by the node's own check at it; the node agrees with
 * canAccess at each step; revocation refuses at once.
 */
static void test_grant_expires(void **state)
{
	struct fx *f = *state;
	uint8_t cat5[32];
	uint64_t expiry;
	size_t d0;
	unsigned before, after;

	phr_scope_category(cat5, 5);
	expiry = call_time(f) + 600;
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address, PHR_LEVEL_READ,
					       cat5, expiry),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);
	assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN); /* not the category */
	before = agree(f);
	set_next_time(f, expiry - 1);
	assert_int_equal(call_time(f), expiry - 1);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);

	d0 = node_denials(f);
	set_next_time(f, expiry);
	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_int_equal(node_denials(f), d0 + 1);
	after = agree(f);
	assert_int_equal(after, before - 1); /* the one Read of the Observation */

	/* a new grant on all records, then revoked: refused at once */
	{
		uint8_t all[32];
		phr_scope_all(all);
		assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address,
						       PHR_LEVEL_READ, all, call_time(f) + 3600),
				 PHR_OK);
		assert_int_equal(read_one(f, f->other, 1), PHR_OK);
		agree(f);
		assert_int_equal(phr_node_access_revoke(f->s.node, f->pat, f->other->address, all),
				 PHR_OK);
		assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN);
		assert_int_equal(agree(f), after);
	}
}

/*
 * accessUntil's memo entry outlives a clock change (the point of it): asked again after
 * evm_increaseTime it is a memo hit, not an execution, and gives the same expiry; the
 * decision still follows the clock (evm_increaseTime past the expiry refuses).
 */
static void test_memo_survives_clock(void **state)
{
	struct fx *f = *state;
	const struct phr_deployment *d = phr_node_deployment(f->s.node);
	uint8_t all[32];
	uint64_t expiry, until = 0, h0, m0, h1, m1;
	struct phr_buf cd, out;

	phr_scope_all(all);
	expiry = call_time(f) + 300;
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address, PHR_LEVEL_READ,
					       all, expiry),
			 PHR_OK);
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_contracts_patient_registry_access_until_encode(
				 &cd, f->other->address, f->pat->address, &f->rec[1], PHR_LEVEL_READ),
			 PHR_OK);
	assert_int_equal(phr_chain_call(f->s.chain, &out, NULL, d->registry, cd.data, cd.len), PHR_OK);
	assert_int_equal(phr_contracts_patient_registry_access_until_decode(&until, out.data, out.len),
			 PHR_OK);
	assert_int_equal(until, expiry);
	rpc(f, "evm_increaseTime", json_pack("[I]", (json_int_t)5));
	assert_int_equal(phr_chain_memo_stats(f->s.chain, &h0, &m0), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_chain_call(f->s.chain, &out, NULL, d->registry, cd.data, cd.len), PHR_OK);
	assert_int_equal(phr_chain_memo_stats(f->s.chain, &h1, &m1), PHR_OK);
	assert_int_equal(m1, m0);
	assert_int_equal(h1, h0 + 1);
	assert_int_equal(phr_contracts_patient_registry_access_until_decode(&until, out.data, out.len),
			 PHR_OK);
	assert_int_equal(until, expiry);
	phr_buf_release(&cd);
	phr_buf_release(&out);

	/* the node's decisions after a clock change: three grant-holder checks execute one call
	 * between them (blockTimestamp), where canAccess would execute three */
	for (int round = 0; round < 2; round++) {
		bool ok[3] = { false, false, false };
		if (round == 1) {
			rpc(f, "evm_increaseTime", json_pack("[I]", (json_int_t)5));
			assert_int_equal(phr_chain_memo_stats(f->s.chain, &h0, &m0), PHR_OK);
		}
		assert_int_equal(phr_node_can_access(f->s.node, &ok[0], NULL, f->other->address,
						     &f->rec[0], PHR_LEVEL_READ),
				 PHR_OK);
		assert_int_equal(phr_node_can_access(f->s.node, &ok[1], NULL, f->other->address,
						     &f->rec[1], PHR_LEVEL_READ),
				 PHR_OK);
		assert_int_equal(phr_node_can_access_patient(f->s.node, &ok[2], f->other->address,
							     f->pat->address, PHR_LEVEL_READ),
				 PHR_OK);
		assert_true(ok[0] && ok[1] && ok[2]);
	}
	assert_int_equal(phr_chain_memo_stats(f->s.chain, &h1, &m1), PHR_OK);
	/* 1, or 2 when the wall clock's second turned between the decisions; canAccess: 3 */
	assert_true(m1 - m0 >= 1 && m1 - m0 <= 2);

	assert_int_equal(read_one(f, f->other, 1), PHR_OK);
	rpc(f, "evm_increaseTime", json_pack("[I]", (json_int_t)400));
	assert_true(call_time(f) >= expiry);
	assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN);
	agree(f);
}

/*
 * A break-glass session (Read on every record, no grant) runs out with nothing changed on
 * chain; a second one closed early by the patient refuses at once.
 */
static void test_emergency_expires(void **state)
{
	struct fx *f = *state;
	uint64_t exp = 0;
	unsigned open_n;

	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_emergency_open(f->s.node, &exp, f->other, f->pat->address, 1,
						 "unconscious"),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);
	assert_int_equal(read_one(f, f->other, 1), PHR_OK);
	open_n = agree(f);
	set_next_time(f, exp - 1);
	assert_int_equal(read_one(f, f->other, 1), PHR_OK);
	set_next_time(f, exp);
	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN);
	assert_int_equal(agree(f), open_n - 3); /* Read on the patient and its two records */

	assert_int_equal(phr_node_emergency_open(f->s.node, &exp, f->other, f->pat->address, 2,
						 "trauma"),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);
	assert_int_equal(phr_node_emergency_close(f->s.node, f->pat, f->pat->address,
						  f->other->address),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_int_equal(agree(f), open_n - 3);
}

/* A provider's licence ends before its grant: reads stop at the licence's expiry. */
static void test_licence_expires(void **state)
{
	struct fx *f = *state;
	uint8_t all[32];
	uint64_t lic = call_time(f) + 900;

	phr_scope_all(all);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->other->address,
						  PHR_ROLE_PROVIDER, lic),
			 PHR_OK);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address, PHR_LEVEL_ADMIN,
					       all, lic + 86400),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);
	set_next_time(f, lic - 1);
	assert_int_equal(read_one(f, f->other, 1), PHR_OK);
	agree(f);
	set_next_time(f, lic);
	assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN);
	agree(f);
	/* the provider of the records (licence a year) still reads */
	assert_int_equal(read_one(f, f->prov, 1), PHR_OK);
}

/*
 * A registry from before accessUntil (the call reverts): the node asks canAccess and decides
 * as before — grants, expiry, revocation, the owner.
 */
static void test_old_registry(void **state)
{
	struct fx *f = *state;
	const struct phr_deployment *d = phr_node_deployment(f->s.node);
	uint8_t all[32];
	uint64_t expiry;
	struct phr_buf cd, out;
	unsigned n;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_contracts_patient_registry_access_until_encode(
				 &cd, f->pat->address, f->pat->address, &f->rec[0], PHR_LEVEL_READ),
			 PHR_OK);
	assert_int_equal(phr_chain_call(f->s.chain, &out, NULL, d->registry, cd.data, cd.len),
			 PHR_ERR_REVERTED);
	assert_int_equal(out.len, 0);
	phr_buf_release(&cd);
	phr_buf_release(&out);

	phr_scope_all(all);
	expiry = call_time(f) + 600;
	assert_int_equal(read_one(f, f->pat, 0), PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address, PHR_LEVEL_READ,
					       all, expiry),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 0), PHR_OK);
	n = agree(f);
	assert_true(n > 0);
	set_next_time(f, expiry);
	assert_int_equal(read_one(f, f->other, 0), PHR_ERR_FORBIDDEN);
	assert_true(agree(f) < n);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->other->address, PHR_LEVEL_READ,
					       all, expiry + 3600),
			 PHR_OK);
	assert_int_equal(read_one(f, f->other, 1), PHR_OK);
	assert_int_equal(phr_node_access_revoke(f->s.node, f->pat, f->other->address, all), PHR_OK);
	assert_int_equal(read_one(f, f->other, 1), PHR_ERR_FORBIDDEN);
	assert_int_equal(read_one(f, f->pat, 1), PHR_OK);
	agree(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grant_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memo_survives_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emergency_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_licence_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_registry, setup_old, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
