/*
 * The generated contract bindings against ethers' encoding (tests/contracts/bindings_vectors.json,
 * made by gen_vectors.mjs): calldata, results, event logs, custom errors; plus the rejection
 * paths (out-of-range arguments, truncated results, wrong topics).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phr/abi.h"
#include "phr/contracts.h"

static json_t *vectors;

static const char cid[] = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

static void fill(uint8_t *b, uint8_t v, size_t n)
{
	memset(b, v, n);
}

/* Decode a "0x.." vector at vectors[group][name] into a fresh buffer. */
static uint8_t *vec(const char *group, const char *name, size_t *n)
{
	json_t *g = json_object_get(vectors, group);
	const char *hex = json_string_value(json_object_get(g, name));
	size_t cap;
	uint8_t *out;

	assert_non_null(hex);
	cap = strlen(hex) / 2 + 1;
	out = malloc(cap);
	assert_non_null(out);
	assert_int_equal(phr_hex_decode(out, cap, n, hex, strlen(hex)), PHR_OK);
	return out;
}

static void expect_call(const char *name, const struct phr_buf *b)
{
	size_t n;
	uint8_t *want = vec("calls", name, &n);

	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
	free(want);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_calls(void **state)
{
	uint8_t p[20], q[20], c[3][20], h[32], lic[32], scope[32] = { 0 };
	struct phr_buf b;
	struct phr_u256 big = PHR_U256_ZERO;

	(void)state;
	fill(p, 0x11, 20);
	fill(q, 0x22, 20);
	fill(c[0], 0x33, 20);
	fill(c[1], 0x44, 20);
	fill(c[2], 0x55, 20);
	fill(h, 0xab, 32);
	fill(lic, 0xcd, 32);
	scope[0] = 1;
	scope[31] = 1;
	phr_buf_init(&b, 0);

	assert_int_equal(phr_contracts_patient_registry_grant_access_encode(&b, p, q, 2, scope, 1700000000), PHR_OK);
	expect_call("grant_access", &b);
	assert_int_equal(be32(b.data), PHR_CONTRACTS_PATIENT_REGISTRY_GRANT_ACCESS_SELECTOR);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_health_record_nft_mint_record_encode(&b, p, h, cid, 1, &(struct phr_u256){ { 7, 0, 0, 0 } }), PHR_OK);
	expect_call("mint_record", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_patient_registry_set_emergency_contacts_encode(&b, p, (const uint8_t(*)[20])c, 2), PHR_OK);
	expect_call("set_emergency_contacts", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_recovery_set_guardians_encode(&b, p, (const uint8_t(*)[20])c, 3, 2), PHR_OK);
	expect_call("set_guardians", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_governance_multisig_propose_encode(&b, q, (const uint8_t *)"\xde\xad\xbe\xef", 4), PHR_OK);
	expect_call("propose", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_audit_trail_log_access_encode(&b, p, &(struct phr_u256){ { 5, 0, 0, 0 } }, 0, 1), PHR_OK);
	expect_call("log_access", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_health_record_nft_safe_transfer_from_4_encode(&b, p, q, &(struct phr_u256){ { 9, 0, 0, 0 } },
										 (const uint8_t *)"\x01\x02", 2), PHR_OK);
	expect_call("safe_transfer_from_4", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_provider_registry_verify_provider_encode(&b, q, 3, lic, 2000000000), PHR_OK);
	expect_call("verify_provider", &b);
	phr_buf_reset(&b);

	memset(scope, 0, sizeof(scope));
	assert_int_equal(phr_contracts_patient_registry_request_access_encode(&b, p, 1, 86400, 1, scope), PHR_OK);
	expect_call("request_access", &b);
	phr_buf_reset(&b);

	big.w[3] = (uint64_t)1 << 8; /* 2^200 */
	big.w[0] = 5;
	assert_int_equal(phr_contracts_health_record_nft_token_uri_encode(&b, &big), PHR_OK);
	expect_call("token_uri", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_health_record_nft_set_approval_for_all_encode(&b, q, true), PHR_OK);
	expect_call("set_approval_for_all", &b);
	phr_buf_reset(&b);

	assert_int_equal(phr_contracts_patient_registry_register_encode(&b, h), PHR_OK);
	expect_call("register", &b);
	phr_buf_release(&b);
}

static void test_selectors_match_eth_module(void **state)
{
	uint8_t sel[4];

	(void)state;
	phr_abi_selector(sel, "mintRecord(address,bytes32,string,uint8,uint256)");
	assert_int_equal(be32(sel), PHR_CONTRACTS_HEALTH_RECORD_NFT_MINT_RECORD_SELECTOR);
	phr_abi_selector(sel, "canAccess(address,address,uint256,uint8)");
	assert_int_equal(be32(sel), PHR_CONTRACTS_PATIENT_REGISTRY_CAN_ACCESS_SELECTOR);
	phr_abi_selector(sel, "safeTransferFrom(address,address,uint256)");
	assert_int_equal(be32(sel), PHR_CONTRACTS_HEALTH_RECORD_NFT_SAFE_TRANSFER_FROM_3_SELECTOR);
	uint8_t topic[32];
	phr_abi_event_topic(topic, "AuditLogged(address,uint256,address,uint8,uint8,uint64,uint64,bytes32)");
	assert_memory_equal(topic, phr_contracts_audit_trail_audit_logged_event_topic, 32);
	phr_abi_event_topic(topic, "Transfer(address,address,uint256)");
	assert_memory_equal(topic, phr_contracts_health_record_nft_transfer_event_topic, 32);
}

static void test_bad_arguments(void **state)
{
	uint8_t p[20] = { 0 }, scope[32] = { 0 };
	struct phr_buf b;

	(void)state;
	phr_buf_init(&b, 0);
	/* level is uint8 */
	assert_int_equal(phr_contracts_patient_registry_grant_access_encode(&b, p, p, 256, scope, 1), PHR_ERR_INVALID);
	phr_buf_reset(&b);
	assert_int_equal(phr_contracts_health_record_nft_mint_record_encode(&b, p, scope, NULL, 1, &(struct phr_u256){ { 0 } }),
			 PHR_ERR_INVALID);
	phr_buf_reset(&b);
	/* invalid UTF-8 in a string argument */
	assert_int_equal(phr_contracts_health_record_nft_mint_record_encode(&b, p, scope, "\xff\xfe", 1, &(struct phr_u256){ { 0 } }),
			 PHR_ERR_INVALID);
	phr_buf_reset(&b);
	assert_int_equal(phr_contracts_patient_registry_set_emergency_contacts_encode(&b, p, NULL, 2), PHR_ERR_INVALID);
	phr_buf_release(&b);
}

static void test_results(void **state)
{
	size_t n;
	uint8_t *d, a20[20], q[20], h[32], want_h[32];
	uint64_t level = 0, expiry = 0, rtype = 0, created = 0, th = 0, round = 0;
	struct phr_u256 sup, sby, total;
	struct phr_buf s;
	bool yes = false;

	(void)state;
	fill(q, 0x22, 20);
	fill(want_h, 0xab, 32);
	d = vec("results", "grant_of", &n);
	assert_int_equal(phr_contracts_patient_registry_grant_of_decode(&level, &expiry, a20, d, n), PHR_OK);
	assert_int_equal(level, 2);
	assert_int_equal(expiry, 1700000000);
	assert_memory_equal(a20, q, 20);
	/* truncated: error and outputs untouched */
	level = 99;
	assert_int_equal(phr_contracts_patient_registry_grant_of_decode(&level, &expiry, a20, d, n - 1), PHR_ERR_TRUNCATED);
	assert_int_equal(level, 99);
	/* a non-canonical uint8 (high byte set) is refused */
	d[30] = 1;
	assert_int_equal(phr_contracts_patient_registry_grant_of_decode(&level, &expiry, a20, d, n), PHR_ERR_NONCANONICAL);
	free(d);

	d = vec("results", "record_of", &n);
	phr_buf_init(&s, 0);
	assert_int_equal(phr_contracts_health_record_nft_record_of_decode(a20, &rtype, &created, q, &sup, &sby, h, &s, d, n),
			 PHR_OK);
	assert_int_equal(a20[0], 0x11);
	assert_int_equal(rtype, 1);
	assert_int_equal(created, 1700000000);
	assert_int_equal(q[19], 0x22);
	assert_int_equal(sup.w[0], 3);
	assert_true(phr_u256_is_zero(&sby));
	assert_memory_equal(h, want_h, 32);
	assert_int_equal(s.len, strlen(cid));
	assert_string_equal((const char *)s.data, cid);
	phr_buf_release(&s);
	free(d);

	d = vec("results", "token_uri", &n);
	phr_buf_init(&s, 0);
	assert_int_equal(phr_contracts_health_record_nft_token_uri_decode(&s, d, n), PHR_OK);
	assert_int_equal(strncmp((const char *)s.data, "ipfs://", 7), 0);
	assert_string_equal((const char *)s.data + 7, cid);
	phr_buf_release(&s);
	free(d);

	d = vec("results", "emergency_contacts", &n);
	phr_buf_init(&s, 0);
	assert_int_equal(phr_contracts_patient_registry_emergency_contacts_decode(&s, d, n), PHR_OK);
	assert_int_equal(s.len, 40);
	assert_int_equal(s.data[0], 0x33);
	assert_int_equal(s.data[20], 0x44);
	phr_buf_release(&s);
	free(d);

	d = vec("results", "guardians_of", &n);
	phr_buf_init(&s, 0);
	assert_int_equal(phr_contracts_recovery_guardians_of_decode(&s, &th, &round, d, n), PHR_OK);
	assert_int_equal(s.len, 60);
	assert_int_equal(s.data[40], 0x55);
	assert_int_equal(th, 2);
	assert_int_equal(round, 4);
	phr_buf_release(&s);
	free(d);

	d = vec("results", "can_access", &n);
	assert_int_equal(phr_contracts_patient_registry_can_access_decode(&yes, d, n), PHR_OK);
	assert_true(yes);
	d[31] = 2;
	assert_int_equal(phr_contracts_patient_registry_can_access_decode(&yes, d, n), PHR_ERR_NONCANONICAL);
	free(d);

	d = vec("results", "total_minted", &n);
	assert_int_equal(phr_contracts_health_record_nft_total_minted_decode(&total, d, n), PHR_OK);
	assert_int_equal(total.w[0], 5);
	assert_int_equal(total.w[3], (uint64_t)1 << 8);
	free(d);
}

/* Load an event vector: topics into t (max 4), data into *data. */
static size_t load_event(const char *name, uint8_t t[4][32], uint8_t **data, size_t *n)
{
	json_t *e = json_object_get(json_object_get(vectors, "events"), name);
	json_t *topics = json_object_get(e, "topics");
	const char *hex = json_string_value(json_object_get(e, "data"));
	size_t i, cap = strlen(hex) / 2 + 1;

	assert_true(json_array_size(topics) <= 4);
	for (i = 0; i < json_array_size(topics); i++)
		assert_int_equal(phr_hex_decode_exact(t[i], 32, json_string_value(json_array_get(topics, i))), PHR_OK);
	*data = malloc(cap);
	assert_non_null(*data);
	assert_int_equal(phr_hex_decode(*data, cap, n, hex, strlen(hex)), PHR_OK);
	return json_array_size(topics);
}

static void test_events(void **state)
{
	uint8_t t[4][32], *d;
	size_t nt, n;

	(void)state;
	{
		struct phr_contracts_health_record_nft_record_minted_event ev;

		nt = load_event("record_minted", t, &d, &n);
		assert_int_equal(phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n),
				 PHR_OK);
		assert_int_equal(ev.token_id.w[0], 1);
		assert_int_equal(ev.patient[0], 0x11);
		assert_int_equal(ev.provider[19], 0x22);
		assert_int_equal(ev.record_type, 1);
		assert_int_equal(ev.data_hash[5], 0xab);
		assert_string_equal((const char *)ev.cid.data, cid);
		assert_true(phr_u256_is_zero(&ev.supersedes));
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
		/* wrong topic count, wrong topic 0, non-canonical address topic */
		assert_int_equal(phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])t, nt - 1, d, n),
				 PHR_ERR_INVALID);
		t[0][0] ^= 1;
		assert_int_equal(phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n),
				 PHR_ERR_INVALID);
		t[0][0] ^= 1;
		t[2][0] = 1;
		assert_int_equal(phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n),
				 PHR_ERR_NONCANONICAL);
		t[2][0] = 0;
		assert_int_equal(phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n / 2),
				 PHR_ERR_TRUNCATED);
		free(d);
	}
	{
		struct phr_contracts_audit_trail_audit_logged_event ev;
		uint8_t head[32];

		fill(head, 0xee, 32);
		nt = load_event("audit_logged", t, &d, &n);
		assert_int_equal(phr_contracts_audit_trail_audit_logged_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n), PHR_OK);
		assert_int_equal(ev.patient[0], 0x11);
		assert_int_equal(ev.record_id.w[0], 5);
		assert_int_equal(ev.accessor[0], 0x22);
		assert_int_equal(ev.action, 0);
		assert_int_equal(ev.purpose, 1);
		assert_int_equal(ev.time, 1700000000);
		assert_int_equal(ev.seq, 3);
		assert_memory_equal(ev.head, head, 32);
		free(d);
	}
	{
		struct phr_contracts_patient_registry_access_granted_event ev;

		nt = load_event("access_granted", t, &d, &n);
		assert_int_equal(phr_contracts_patient_registry_access_granted_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n),
				 PHR_OK);
		assert_int_equal(ev.scope[0], 1);
		assert_int_equal(ev.scope[31], 1);
		assert_int_equal(ev.level, 2);
		assert_int_equal(ev.expiry, 1700000000);
		assert_int_equal(ev.grantor[0], 0x11);
		free(d);
	}
	{
		struct phr_contracts_emergency_access_emergency_notification_event ev;

		nt = load_event("emergency_notification", t, &d, &n);
		assert_int_equal(
			phr_contracts_emergency_access_emergency_notification_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n), PHR_OK);
		assert_int_equal(ev.recipient[0], 0x33);
		assert_int_equal(ev.expires_at, 1700086400);
		free(d);
	}
	{
		struct phr_contracts_recovery_guardians_set_event ev;

		nt = load_event("guardians_set", t, &d, &n);
		assert_int_equal(phr_contracts_recovery_guardians_set_event_decode(&ev, (const uint8_t(*)[32])t, nt, d, n), PHR_OK);
		assert_int_equal(ev.guardians.len, 60);
		assert_int_equal(ev.guardians.data[20], 0x44);
		assert_int_equal(ev.threshold, 2);
		assert_int_equal(ev.round, 4);
		phr_contracts_recovery_guardians_set_event_release(&ev);
		free(d);
	}
}

static void expect_deploy(const char *name, const struct phr_buf *b)
{
	size_t n;
	uint8_t *want = vec("deploy", name, &n);

	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
	free(want);
}

static void test_deploy(void **state)
{
	uint8_t p[20], q[20], c[3][20];
	struct phr_buf b;
	struct phr_u256 two = PHR_U256_ZERO;

	(void)state;
	fill(p, 0x11, 20);
	fill(q, 0x22, 20);
	fill(c[0], 0x33, 20);
	fill(c[1], 0x44, 20);
	fill(c[2], 0x55, 20);
	two.w[0] = 2;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_contracts_governance_multisig_deploy_encode(&b, (const uint8_t(*)[20])c, 3, &two), PHR_OK);
	expect_deploy("governance_multisig", &b);
	phr_buf_reset(&b);
	assert_int_equal(phr_contracts_health_record_nft_deploy_encode(&b, p, q, c[0]), PHR_OK);
	expect_deploy("health_record_nft", &b);
	/* the creation code carries the runtime code plus the constructor */
	assert_true(phr_contracts_health_record_nft_bytecode_len > phr_contracts_health_record_nft_deployed_bytecode_len);
	assert_true(phr_contracts_patient_registry_deployed_bytecode_len > 1000);
	phr_buf_release(&b);
}

static void test_errors(void **state)
{
	size_t n;
	uint8_t *d;
	const char *names[] = { "NotPatientOwner", "TokenLocked", "RecoveryTimelocked" };

	(void)state;
	for (size_t i = 0; i < PHR_ARRAY_LEN(names); i++) {
		d = vec("errors", names[i], &n);
		assert_string_equal(phr_contracts_error_name(d, n), names[i]);
		free(d);
	}
	assert_null(phr_contracts_error_name((const uint8_t *)"\x08\xc3\x79\xa0", 4)); /* Error(string) */
	assert_null(phr_contracts_error_name((const uint8_t *)"\x01", 1));
	assert_null(phr_contracts_error_name(NULL, 0));
}

static int setup(void **state)
{
	json_error_t e;
	const char *dir = getenv("PHR_SOURCE_DIR");
	char path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/contracts/bindings_vectors.json", dir ? dir : ".");
	vectors = json_load_file(path, 0, &e);
	if (!vectors)
		fprintf(stderr, "cannot load %s: %s\n", path, e.text);
	return vectors ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_selectors_match_eth_module),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deploy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
