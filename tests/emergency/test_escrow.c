/*
 * Escrowed emergency summary and notifications on one embedded chain, in
 * process: three escrow holders (three phr_node over the same chain and
 * store, each with its own data directory and escrow key), a patient, a
 * verified emergency provider and a provider without the emergency role.
 * Deposits (forged, misaddressed, stale), releases (no session, wrong role,
 * stale or misaddressed request, 2 of 3, 1 of 3, expired session),
 * the holders' logs, and the outbox (webhook down then up, HMAC signature,
 * survival across a node restart, chain event scan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../node/node_test_util.h"
#include "hook_server.h"
#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/emergency.h"
#include "phr/json.h"
#include "phr/notify.h"
#include "phr/phr.h"

struct fx {
	struct node_stack s;
	struct phr_node *h[3]; /* escrow holders; h[0] is s.node */
	char *hdir[3];
	const struct phr_identity *gov, *auth, *prov, *pat, *em;
	uint8_t sk_pat[32], sk_em[32], sk_prov[32];
	struct phr_escrow_holder holders[3];
	struct phr_buf summary;
	uint8_t secret[32];
	uint16_t hook_port;
};

static const struct phr_identity *add_id(struct phr_node *n, const char *name, uint32_t index,
					 uint8_t *sk_out)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;

	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index), PHR_OK);
	if (sk_out != NULL)
		memcpy(sk_out, sk, 32);
	assert_int_equal(phr_identity_new(&id, name, sk), PHR_OK);
	assert_int_equal(phr_node_add_identity(n, id), PHR_OK);
	return phr_node_identity_by_name(n, name);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const struct phr_identity *me;
	char p[1024];
	uint64_t now = 0;

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "escrow"), 0);
	f->h[0] = f->s.node;
	f->gov = add_id(f->s.node, "operator", 0, NULL);
	f->auth = add_id(f->s.node, "authority", 1, NULL);
	f->prov = add_id(f->s.node, "provider", 2, f->sk_prov);
	f->pat = add_id(f->s.node, "patient", 3, f->sk_pat);
	f->em = add_id(f->s.node, "emergency", 4, f->sk_em);
	assert_int_equal(phr_node_register(f->s.node, f->pat), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->prov), PHR_OK);
	assert_int_equal(phr_node_register(f->s.node, f->em), PHR_OK);
	assert_int_equal(phr_node_appoint_authority(f->s.node, f->gov, f->auth->address), PHR_OK);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->em->address,
						  PHR_ROLE_PROVIDER | PHR_ROLE_EMERGENCY, now + 86400 * 365),
			 PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->s.node, f->auth, f->prov->address,
						  PHR_ROLE_PROVIDER, now + 86400 * 365),
			 PHR_OK);
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			snprintf(p, sizeof(p), "%s/holder%d", f->s.dir, i);
			f->hdir[i] = strdup(p);
			assert_int_equal(phr_node_open(&f->h[i], f->s.chain, f->s.store,
						       phr_node_deployment(f->s.node), p),
					 PHR_OK);
		}
		assert_int_equal(phr_escrow_holder_identity(f->h[i], &me), PHR_OK);
		snprintf(f->holders[i].url, sizeof(f->holders[i].url), "http://127.0.0.1:%d", 9000 + i);
		memcpy(f->holders[i].address, me->address, 20);
		memcpy(f->holders[i].box_pk, me->box_pk, 32);
		phr_notify_set_backoff(f->h[i], 1);
	}
	phr_buf_init(&f->summary, 0);
	assert_int_equal(phr_file_read(&f->summary, "tests/emergency/summary.json", 65536), PHR_OK);
	randombytes_buf(f->secret, sizeof(f->secret));
	f->hook_port = hook_free_port();
	assert_true(f->hook_port != 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 1; i < 3; i++) {
		phr_node_close(f->h[i]);
		free(f->hdir[i]);
	}
	node_stack_close(&f->s);
	phr_buf_release(&f->summary);
	free(f);
	return 0;
}

/* Deposits prepared for the holders, as JSON array {url, holder, body}. */
static json_t *prepare(struct fx *f, const uint8_t *sk, uint64_t created)
{
	json_t *deps = NULL;
	char cid[PHR_CID_STR_MAX], url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned)f->hook_port);
	assert_int_equal(phr_emergency_prepare(&deps, cid, sk, NULL, f->summary.data, f->summary.len, 2,
					       f->holders, 3, url, f->secret, sizeof(f->secret),
					       created),
			 PHR_OK);
	assert_int_equal(json_array_size(deps), 3);
	assert_true(strncmp(cid, "bafk", 4) == 0);
	return deps;
}

static const char *body_of(json_t *deps, size_t i)
{
	return json_string_value(json_object_get(json_array_get(deps, i), "body"));
}

/* A release from holder @p i for @p sk; returns the phr_err, answer in *out (or NULL). */
static int release(struct fx *f, json_t **out, size_t i, const uint8_t *sk, int64_t skew,
		   size_t holder_named)
{
	char *body = NULL;
	json_t *ans = NULL;
	int rv;

	assert_int_equal(phr_emergency_release_request(&body, sk, f->pat->address,
						       f->holders[holder_named].address,
						       (uint64_t)((int64_t)time(NULL) + skew)),
			 PHR_OK);
	rv = phr_escrow_release(f->h[i], &ans, f->pat->address, body, strlen(body));
	phr_free(body);
	if (out != NULL)
		*out = ans;
	else
		json_decref(ans);
	return rv;
}

/* With EMERG_CORPUS_DIR set, writes @p tag (one selector byte + @p text) there: fuzz seeds. */
static void seed(const char *tag, uint8_t sel, const void *text, size_t len)
{
	const char *d = getenv("EMERG_CORPUS_DIR");
	char p[1024];
	FILE *fp;

	if (d == NULL)
		return;
	snprintf(p, sizeof(p), "%s/%s", d, tag);
	if ((fp = fopen(p, "wb")) != NULL) {
		fputc(sel, fp);
		fwrite(text, 1, len, fp);
		fclose(fp);
	}
}

static void test_wire_formats(void **state)
{
	struct fx *f = *state;
	struct phr_escrow_deposit d;
	struct phr_escrow_release_req r;
	json_t *deps = prepare(f, f->sk_pat, 1000);
	char *body = NULL, *bad;
	const char *b0 = body_of(deps, 0);
	uint8_t share[33] = { 7 }, sealed[PHR_ESCROW_SEALED_BYTES], out[33];
	uint8_t pk[32], sk[32];

	/* a deposit parses and names its signer */
	assert_int_equal(phr_escrow_deposit_parse(&d, b0, strlen(b0)), PHR_OK);
	seed("deposit", 0, b0, strlen(b0));
	seed("manifest", 2, d.manifest_text, strlen(d.manifest_text));
	assert_memory_equal(d.signer, f->pat->address, 20);
	assert_memory_equal(d.holder, f->holders[0].address, 20);
	assert_int_equal(d.manifest.t, 2);
	assert_int_equal(d.manifest.n, 3);
	assert_int_equal(d.n_webhooks, 1);
	phr_escrow_deposit_release(&d);
	/* any changed byte in the signed text breaks the signature or the syntax */
	bad = strdup(b0);
	{
		char *p = strstr(bad, "createdAt");
		assert_non_null(p);
		p[13] = p[13] == '1' ? '2' : '1';
	}
	assert_int_not_equal(phr_escrow_deposit_parse(&d, bad, strlen(bad)), PHR_OK);
	free(bad);
	assert_int_equal(phr_escrow_deposit_parse(&d, "{}", 2), PHR_ERR_PARSE);
	assert_int_equal(phr_escrow_deposit_parse(&d, "[", 1), PHR_ERR_PARSE);
	/* release requests: the signer is the requester */
	assert_int_equal(phr_emergency_release_request(&body, f->sk_em, f->pat->address,
						       f->holders[1].address, 1234),
			 PHR_OK);
	assert_int_equal(phr_escrow_release_req_parse(&r, body, strlen(body)), PHR_OK);
	seed("request", 1, body, strlen(body));
	assert_memory_equal(r.requester, f->em->address, 20);
	assert_int_equal(r.timestamp, 1234);
	{
		char *p = strstr(body, "1234");
		assert_non_null(p);
		p[0] = '5';
		assert_int_equal(phr_escrow_release_req_parse(&r, body, strlen(body)), PHR_ERR_SIGNATURE);
	}
	phr_free(body);
	/* shares are bound to the patient and the summary */
	assert_int_equal(phr_crypto_box_keypair(pk, sk), PHR_OK);
	assert_int_equal(phr_escrow_share_seal(sealed, share, f->pat->address, "bafkreiaaa", pk), PHR_OK);
	assert_int_equal(phr_escrow_share_open(out, sealed, pk, sk, f->pat->address, "bafkreiaaa"), PHR_OK);
	assert_memory_equal(out, share, 33);
	assert_int_equal(phr_escrow_share_open(out, sealed, pk, sk, f->em->address, "bafkreiaaa"),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_escrow_share_open(out, sealed, pk, sk, f->pat->address, "bafkreiaab"),
			 PHR_ERR_INVALID);
	sealed[60] ^= 1;
	assert_int_equal(phr_escrow_share_open(out, sealed, pk, sk, f->pat->address, "bafkreiaaa"),
			 PHR_ERR_TAMPERED);
	json_decref(deps);
}

static void test_notify_signature(void **state)
{
	static const uint8_t key[] = "0123456789abcdef";
	static const char body[] = "{\"a\":1}";
	/* HMAC-SHA256(key, "1700000000." body), computed with Python's hmac module */
	static const char want[] =
		"v1=9eb18f493f8ec135d9eb2dad817c369bb4e9cbfa818657897a7437c1cd8c3a23";
	char sig[68];

	(void)state;
	assert_int_equal(phr_notify_sign(sig, key, 16, 1700000000, (const uint8_t *)body, 7), PHR_OK);
	assert_string_equal(sig, want);
	assert_int_equal(phr_notify_verify(want, key, 16, 1700000000, 1700000100, 300,
					   (const uint8_t *)body, 7),
			 PHR_OK);
	assert_int_equal(phr_notify_verify(want, key, 16, 1700000000, 1700001000, 300,
					   (const uint8_t *)body, 7),
			 PHR_ERR_EXPIRED);
	assert_int_equal(phr_notify_verify(want, key, 16, 1700000001, 1700000000, 300,
					   (const uint8_t *)body, 7),
			 PHR_ERR_SIGNATURE);
	assert_int_equal(phr_notify_verify(want, key, 15, 1700000000, 1700000000, 300,
					   (const uint8_t *)body, 7),
			 PHR_ERR_SIGNATURE);
}

static size_t count_kind(json_t *list, const char *kind, const char *event)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *ev = json_string_value(json_object_get(json_object_get(e, "payload"), "event"));
		if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    (event == NULL || (ev != NULL && strcmp(ev, event) == 0)))
			n++;
	}
	return n;
}

static void test_escrow_flow(void **state)
{
	struct fx *f = *state;
	json_t *deps = prepare(f, f->sk_pat, 2000), *forged, *ans[3] = { NULL, NULL, NULL }, *st, *list;
	struct phr_buf out;
	uint64_t exp = 0;
	int rv;

	phr_buf_init(&out, 0);
	/* a deposit signed by someone who is not the patient's owner is refused */
	forged = prepare(f, f->sk_prov, 2000);
	assert_int_equal(phr_escrow_deposit(f->h[0], f->pat->address, body_of(forged, 0),
					    strlen(body_of(forged, 0))),
			 PHR_ERR_FORBIDDEN);
	json_decref(forged);
	/* a deposit for holder 0 given to holder 1 is refused */
	assert_int_equal(phr_escrow_deposit(f->h[1], f->pat->address, body_of(deps, 0),
					    strlen(body_of(deps, 0))),
			 PHR_ERR_FORBIDDEN);
	/* under another patient's path */
	assert_int_equal(phr_escrow_deposit(f->h[0], f->em->address, body_of(deps, 0),
					    strlen(body_of(deps, 0))),
			 PHR_ERR_FORBIDDEN);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(phr_escrow_deposit(f->h[i], f->pat->address, body_of(deps, i),
						    strlen(body_of(deps, i))),
				 PHR_OK);
	/* replaying the same (or an older) deposit is refused */
	assert_int_equal(phr_escrow_deposit(f->h[0], f->pat->address, body_of(deps, 0),
					    strlen(body_of(deps, 0))),
			 PHR_ERR_CONFLICT);

	/* no session: nobody gets a share */
	assert_int_equal(release(f, NULL, 0, f->sk_em, 0, 0), PHR_ERR_FORBIDDEN);
	/* a verified provider without the emergency role cannot break the glass */
	assert_int_equal(phr_node_emergency_open(f->s.node, &exp, f->prov, f->pat->address, 1, "x"),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(release(f, NULL, 0, f->sk_prov, 0, 0), PHR_ERR_FORBIDDEN);

	/* the patient names an emergency contact (the authority's address here) */
	{
		struct phr_buf cd;
		const struct phr_deployment *dp = phr_node_deployment(f->s.node);
		phr_buf_init(&cd, 0);
		assert_int_equal(phr_contracts_patient_registry_set_emergency_contacts_encode(
					 &cd, f->pat->address, (const uint8_t(*)[20])f->auth->address, 1),
				 PHR_OK);
		assert_int_equal(phr_node_tx_send(f->s.chain, dp->chain_id, NULL, f->sk_pat, dp->registry,
						  cd.data, cd.len),
				 PHR_OK);
		phr_buf_release(&cd);
	}
	/* the emergency provider opens break-glass */
	assert_int_equal(phr_node_emergency_open(f->s.node, &exp, f->em, f->pat->address, 1,
						 "unconscious on arrival"),
			 PHR_OK);
	assert_true(exp > 0);
	/* stale, misaddressed requests and the wrong requester are refused */
	assert_int_equal(release(f, NULL, 0, f->sk_em, -(int64_t)PHR_ESCROW_REQUEST_SKEW - 60, 0),
			 PHR_ERR_EXPIRED);
	assert_int_equal(release(f, NULL, 0, f->sk_em, 0, 1), PHR_ERR_INVALID);
	assert_int_equal(release(f, NULL, 0, f->sk_prov, 0, 0), PHR_ERR_FORBIDDEN);

	/* one share is not enough */
	assert_int_equal(release(f, &ans[0], 0, f->sk_em, 0, 0), PHR_OK);
	assert_int_equal(phr_emergency_combine(&out, f->sk_em, f->pat->address, NULL, ans, 1),
			 PHR_ERR_STATE);
	/* the same share twice is still one */
	ans[1] = json_incref(ans[0]);
	assert_int_equal(phr_emergency_combine(&out, f->sk_em, f->pat->address, NULL, ans, 2),
			 PHR_ERR_STATE);
	json_decref(ans[1]);
	/* shares re-sealed to the emergency provider do not open for another key */
	assert_int_equal(release(f, &ans[1], 2, f->sk_em, 0, 2), PHR_OK);
	assert_int_not_equal(phr_emergency_combine(&out, f->sk_prov, f->pat->address, NULL, ans, 2), PHR_OK);
	if (getenv("EMERG_CORPUS_DIR") != NULL) {
		json_t *two = json_pack("[OO]", ans[0], ans[1]);
		char *t = json_dumps(two, JSON_COMPACT);
		seed("answers", 0, t, strlen(t));
		free(t);
		json_decref(two);
	}
	/* two of three give the summary, byte for byte */
	/* manifests must be signed by the patient's owner as the caller sees it on chain */
	assert_int_equal(phr_emergency_combine(&out, f->sk_em, f->pat->address, f->em->address, ans, 2),
			 PHR_ERR_SIGNATURE);
	rv = phr_emergency_combine(&out, f->sk_em, f->pat->address, f->pat->address, ans, 2);
	assert_int_equal(rv, PHR_OK);
	phr_buf_reset(&out);
	rv = phr_emergency_combine(&out, f->sk_em, f->pat->address, NULL, ans, 2);
	assert_int_equal(rv, PHR_OK);
	assert_int_equal(out.len, f->summary.len);
	assert_memory_equal(out.data, f->summary.data, out.len);
	phr_buf_reset(&out);
	/* a tampered ciphertext is caught by the CID */
	{
		json_t *c = json_deep_copy(ans[0]), *two[2];
		char *hex = strdup(json_string_value(json_object_get(c, "ciphertext")));
		hex[10] = hex[10] == '0' ? '1' : '0';
		json_object_set_new(c, "ciphertext", json_string(hex));
		json_object_del(ans[1], "ciphertext");
		two[0] = c;
		two[1] = ans[1];
		assert_int_equal(phr_emergency_combine(&out, f->sk_em, f->pat->address, NULL, two, 2),
				 PHR_ERR_CORRUPT);
		free(hex);
		json_decref(c);
	}
	/* an emergency provider suspended by its authority gets nothing, even in its session;
	 * reinstated, it does again */
	{
		struct phr_buf cd;
		const struct phr_deployment *dp = phr_node_deployment(f->s.node);
		uint8_t ask[32], zero[32] = { 0 };
		assert_int_equal(phr_bip32_eth_key(ask, NODE_TEST_MNEMONIC, 1), PHR_OK);
		phr_buf_init(&cd, 0);
		assert_int_equal(phr_contracts_provider_registry_suspend_provider_encode(&cd, f->em->address,
											   zero),
				 PHR_OK);
		assert_int_equal(phr_node_tx_send(f->s.chain, dp->chain_id, NULL, ask, dp->providers,
						  cd.data, cd.len),
				 PHR_OK);
		assert_int_equal(release(f, NULL, 1, f->sk_em, 0, 1), PHR_ERR_FORBIDDEN);
		phr_buf_reset(&cd);
		assert_int_equal(phr_contracts_provider_registry_reinstate_provider_encode(&cd, f->em->address),
				 PHR_OK);
		assert_int_equal(phr_node_tx_send(f->s.chain, dp->chain_id, NULL, ask, dp->providers,
						  cd.data, cd.len),
				 PHR_OK);
		assert_int_equal(release(f, NULL, 1, f->sk_em, 0, 1), PHR_OK);
		phr_buf_release(&cd);
	}
	/* the holder's log has refusals and releases */
	assert_int_equal(phr_escrow_status(f->h[0], &st, f->pat->address), PHR_OK);
	{
		json_t *rel = json_object_get(st, "releases"), *e;
		size_t i, yes = 0, no = 0;
		json_array_foreach(rel, i, e)
			json_is_true(json_object_get(e, "released")) ? yes++ : no++;
		assert_int_equal(yes, 1);
		assert_true(no >= 4);
	}
	json_decref(st);
	assert_int_equal(phr_escrow_status(f->h[0], &st, f->em->address), PHR_ERR_NOT_FOUND);

	/* the patient is notified by the releasing holders (queued, webhook pending) */
	assert_int_equal(phr_notify_list(f->h[0], &list, f->pat->address, 0), PHR_OK);
	assert_int_equal(count_kind(list, "emergency", "escrow_share_released"), 1);
	json_decref(list);

	/* after 24 h the session has expired: no more shares */
	assert_int_equal(phr_node_advance_time(f->s.node, 86400 + 60), PHR_OK);
	assert_int_equal(release(f, NULL, 1, f->sk_em, 0, 1), PHR_ERR_FORBIDDEN);
	json_decref(ans[0]);
	json_decref(ans[1]);
	json_decref(deps);
	phr_buf_release(&out);
}

/* Delivery passes on holder @p i until @p want messages arrived or ~@p secs passed. */
static void pump(struct fx *f, struct hook_server *hs, int i, size_t want, int secs)
{
	for (int k = 0; k < secs * 10 && hook_count(hs) < want; k++) {
		assert_int_equal(phr_notify_deliver_due(f->h[i], NULL, NULL, 0), PHR_OK);
		usleep(100 * 1000);
	}
}

static bool has_kind(struct hook_server *hs, const char *kind)
{
	bool yes = false;

	pthread_mutex_lock(&hs->mu);
	for (size_t i = 0; i < hs->n; i++) {
		json_t *j = json_loads(hs->msgs[i].body, 0, NULL);
		const char *k = json_string_value(json_object_get(j, "kind"));
		yes |= k != NULL && strcmp(k, kind) == 0;
		json_decref(j);
	}
	pthread_mutex_unlock(&hs->mu);
	return yes;
}

static void test_outbox(void **state)
{
	struct fx *f = *state;
	struct hook_server hs;
	size_t ok = 0, bad = 0, q = 0;
	json_t *list, *d;
	char p[1024];
	uint64_t sub = 0;

	memset(&hs, 0, sizeof(hs));
	/* the receiver is down: the delivery fails and is rescheduled, not lost */
	assert_int_equal(phr_notify_deliver_due(f->h[0], &ok, &bad, 0), PHR_OK);
	assert_int_equal(ok, 0);
	assert_true(bad >= 1);
	assert_int_equal(phr_notify_list(f->h[0], &list, f->pat->address, 0), PHR_OK);
	d = json_array_get(json_object_get(json_array_get(list, 0), "deliveries"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "state")), "pending");
	assert_true(json_integer_value(json_object_get(d, "attempts")) >= 1);
	assert_non_null(json_string_value(json_object_get(d, "lastError")));
	json_decref(list);

	/* the holder restarts: the queue is in its database */
	phr_node_close(f->h[1]);
	assert_int_equal(phr_node_open(&f->h[1], f->s.chain, f->s.store,
				       phr_node_deployment(f->s.node), f->hdir[1]),
			 PHR_OK);
	phr_notify_set_backoff(f->h[1], 1);
	/* the contact has a webhook at this holder too */
	snprintf(p, sizeof(p), "http://127.0.0.1:%u/contact", (unsigned)f->hook_port);
	assert_int_equal(phr_notify_subscribe(f->h[1], &sub, f->auth->address, p, f->secret, 32), PHR_OK);
	/* the chain's EmergencyNotification for the patient and the contact are picked up once */
	assert_int_equal(phr_notify_scan_chain(f->h[1], &q), PHR_OK);
	assert_int_equal(q, 2);
	assert_int_equal(phr_notify_scan_chain(f->h[1], &q), PHR_OK);
	assert_int_equal(q, 0);
	/* an access request to the patient is a notification too */
	{
		struct phr_u256 rid;
		uint8_t scope[32];
		phr_scope_all(scope);
		assert_int_equal(phr_node_access_request(f->s.node, &rid, f->prov, f->pat->address, 1,
							 3600, PHR_LEVEL_READ, scope),
				 PHR_OK);
		assert_int_equal(phr_notify_scan_chain(f->h[1], &q), PHR_OK);
		assert_int_equal(q, 1);
	}
	assert_int_equal(phr_notify_list(f->h[1], &list, f->pat->address, 0), PHR_OK);
	assert_int_equal(count_kind(list, "emergency", "break_glass_opened"), 1);
	assert_int_equal(count_kind(list, "access_request", "access_requested"), 1);
	json_decref(list);
	assert_int_equal(phr_notify_list(f->h[1], &list, f->auth->address, 0), PHR_OK);
	assert_int_equal(count_kind(list, "emergency", "break_glass_opened"), 1);
	json_decref(list);

	/* the receiver comes back: everything pending arrives, signed */
	assert_int_equal(hook_start(&hs, f->hook_port), 0);
	sleep(2); /* past the first backoff */
	pump(f, &hs, 0, 1, 10);
	pump(f, &hs, 1, 4, 10);
	assert_true(hook_count(&hs) >= 4);
	for (size_t i = 0; i < hs.n; i++) {
		uint64_t ts = strtoull(hs.msgs[i].ts, NULL, 10);
		json_t *j = json_loads(hs.msgs[i].body, 0, NULL);
		if (getenv("EMERG_DEBUG"))
			fprintf(stderr, "hook: ts=%s sig=%s len=%zu body=%s\n", hs.msgs[i].ts, hs.msgs[i].sig,
				hs.msgs[i].len, hs.msgs[i].body);
		assert_int_equal(phr_notify_verify(hs.msgs[i].sig, f->secret, sizeof(f->secret), ts,
						   (uint64_t)time(NULL), 300,
						   (const uint8_t *)hs.msgs[i].body, hs.msgs[i].len),
				 PHR_OK);
		assert_true(strcmp(json_string_value(json_object_get(j, "kind")), "emergency") == 0 ||
			    strcmp(json_string_value(json_object_get(j, "kind")), "access_request") == 0);
		{
			char a[PHR_ETH_ADDRESS_STR_LEN], c[PHR_ETH_ADDRESS_STR_LEN];
			const char *rc = json_string_value(json_object_get(j, "recipient"));
			phr_eth_address_checksum(a, f->pat->address);
			phr_eth_address_checksum(c, f->auth->address);
			assert_true(strcmp(rc, a) == 0 || strcmp(rc, c) == 0);
		}
		json_decref(j);
	}
	assert_int_equal(phr_notify_list(f->h[0], &list, f->pat->address, 0), PHR_OK);
	d = json_array_get(json_object_get(json_array_get(list, 0), "deliveries"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "state")), "delivered");
	json_decref(list);
	/* a direct phr_notify to a recipient with a webhook (recovery helper's path) */
	assert_int_equal(phr_notify_subscribe(f->h[2], &sub, f->pat->address, "https://x.example/h",
					      f->secret, 32),
			 PHR_ERR_UNSUPPORTED);
	snprintf(p, sizeof(p), "http://127.0.0.1:%u/r", (unsigned)hs.port);
	assert_int_equal(phr_notify_subscribe(f->h[2], &sub, f->em->address, p, f->secret, 8),
			 PHR_ERR_INVALID);
	assert_int_equal(phr_notify_subscribe(f->h[2], &sub, f->em->address, p, f->secret, 32), PHR_OK);
	{
		/* the same URL again is the same subscription */
		uint64_t again = 0;
		json_t *subs = NULL;
		assert_int_equal(phr_notify_subscribe(f->h[2], &again, f->em->address, p, f->secret, 32),
				 PHR_OK);
		assert_int_equal(again, sub);
		assert_int_equal(phr_notify_subscriptions(f->h[2], &subs, f->em->address), PHR_OK);
		assert_int_equal(json_array_size(subs), 1);
		assert_null(json_object_get(json_array_get(subs, 0), "secret"));
		json_decref(subs);
	}
	{
		json_t *pl = json_pack("{s:s}", "event", "recovery_started");
		size_t before = hook_count(&hs);
		assert_int_equal(phr_notify(f->h[2], f->em->address, "recovery", pl), PHR_OK);
		assert_int_equal(phr_notify(f->h[2], f->em->address, "Bad Kind", pl), PHR_ERR_INVALID);
		json_decref(pl);
		pump(f, &hs, 2, before + 1, 5);
		assert_true(has_kind(&hs, "recovery"));
	}
	assert_int_equal(phr_notify_unsubscribe(f->h[2], f->em->address, sub), PHR_OK);
	assert_int_equal(phr_notify_unsubscribe(f->h[2], f->em->address, sub), PHR_ERR_NOT_FOUND);
	hook_stop(&hs);
	hook_clear(&hs);
	/* secrets at rest: no data directory (databases, WAL, store) holds the
	 * webhook secret's bytes, nor its first half (sealed under DIR/node.key) */
	{
		size_t files = 0;
		assert_int_equal(node_test_scan(f->s.dir, f->secret, sizeof(f->secret), &files), 0);
		assert_true(files > 3);
		assert_int_equal(node_test_scan(f->s.dir, f->secret, 16, &files), 0);
	}
}

/* A database of an older version (webhook secrets in clear, no `sealed`
 * column): opening the outbox seals them; the file keeps no clear copy and
 * deliveries are signed with the same secret. */
static void test_secret_migration(void **state)
{
	struct fx *f = *state;
	struct phr_node *old = NULL;
	struct hook_server hs;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *subs = NULL, *pl = json_pack("{s:s}", "event", "migrated");
	char d[1024], p[1200], url[128];
	size_t files = 0, ok = 0;

	memset(&hs, 0, sizeof(hs));
	assert_int_equal(hook_start(&hs, 0), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/old", (unsigned)hs.port);
	snprintf(d, sizeof(d), "%s/older", f->s.dir);
	assert_int_equal(phr_node_open(&old, f->s.chain, f->s.store, phr_node_deployment(f->s.node), d),
			 PHR_OK);
	/* the older layout, written behind the node's back */
	snprintf(p, sizeof(p), "%s/phr.db", d);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE notify_subs(id INTEGER PRIMARY KEY, owner BLOB NOT NULL,"
					  " url TEXT NOT NULL, secret BLOB NOT NULL, created INTEGER NOT NULL)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO notify_subs(owner, url, secret, created)"
						" VALUES(?,?,?,1)", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, f->prov->address, 20, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, f->secret, sizeof(f->secret), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_true(node_test_scan(d, f->secret, sizeof(f->secret), &files) > 0); /* in clear */

	/* first use of the outbox: sealed */
	assert_int_equal(phr_notify_subscriptions(old, &subs, f->prov->address), PHR_OK);
	assert_int_equal(json_array_size(subs), 1);
	json_decref(subs);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sealed, length(secret) FROM notify_subs", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int(st, 1), (int)sizeof(f->secret) + 40);
	sqlite3_finalize(st);
	/* fold the WAL into the database file, then look for the clear bytes anywhere */
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(node_test_scan(d, f->secret, sizeof(f->secret), &files), 0);

	/* and the delivery is signed with the secret the subscriber knows */
	assert_int_equal(phr_notify(old, f->prov->address, "recovery", pl), PHR_OK);
	assert_int_equal(phr_notify_deliver_due(old, &ok, NULL, 0), PHR_OK);
	assert_int_equal(ok, 1);
	assert_int_equal(hook_count(&hs), 1);
	assert_int_equal(phr_notify_verify(hs.msgs[0].sig, f->secret, sizeof(f->secret),
					   strtoull(hs.msgs[0].ts, NULL, 10), (uint64_t)time(NULL), 300,
					   (const uint8_t *)hs.msgs[0].body, hs.msgs[0].len),
			 PHR_OK);
	json_decref(pl);
	phr_node_close(old);
	hook_stop(&hs);
	hook_clear(&hs);
}

/* A node key that does not open the sealed secret: the delivery fails and
 * stays pending (never sent unsigned, never lost); the right key delivers. */
static void test_sealed_secret_key(void **state)
{
	struct fx *f = *state;
	struct hook_server hs;
	size_t ok = 0, bad = 0;
	uint8_t saved[32], other[32];
	char p[1024], key[1024];
	uint64_t sub = 0;
	json_t *pl = json_pack("{s:s}", "event", "key_check");
	struct phr_buf kb;

	memset(&hs, 0, sizeof(hs));
	assert_int_equal(hook_start(&hs, 0), 0);
	snprintf(p, sizeof(p), "http://127.0.0.1:%u/k", (unsigned)hs.port);
	assert_int_equal(phr_notify_subscribe(f->h[2], &sub, f->prov->address, p, f->secret, 32), PHR_OK);
	snprintf(key, sizeof(key), "%s/node.key", f->hdir[2]);
	phr_buf_init(&kb, 0);
	assert_int_equal(phr_file_read(&kb, key, 64), PHR_OK);
	assert_int_equal(kb.len, 32);
	memcpy(saved, kb.data, 32);
	phr_buf_release(&kb);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(unlink(key), 0);
	assert_int_equal(phr_file_write_atomic(key, other, 32, 0600), PHR_OK);
	assert_int_equal(phr_notify(f->h[2], f->prov->address, "recovery", pl), PHR_OK);
	assert_int_equal(phr_notify_deliver_due(f->h[2], &ok, &bad, 0), PHR_OK);
	assert_int_equal(ok, 0);
	assert_true(bad >= 1);
	assert_int_equal(hook_count(&hs), 0);
	/* the operator puts the right key back */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(phr_file_write_atomic(key, saved, 32, 0600), PHR_OK);
	sleep(2);
	assert_int_equal(phr_notify_deliver_due(f->h[2], &ok, &bad, 0), PHR_OK);
	assert_true(ok >= 1);
	assert_true(hook_count(&hs) >= 1);
	assert_int_equal(phr_notify_verify(hs.msgs[0].sig, f->secret, sizeof(f->secret),
					   strtoull(hs.msgs[0].ts, NULL, 10), (uint64_t)time(NULL), 300,
					   (const uint8_t *)hs.msgs[0].body, hs.msgs[0].len),
			 PHR_OK);
	assert_int_equal(phr_notify_unsubscribe(f->h[2], f->prov->address, sub), PHR_OK);
	json_decref(pl);
	hook_stop(&hs);
	hook_clear(&hs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_signature),
		cmocka_unit_test(test_wire_formats),
		cmocka_unit_test(test_escrow_flow),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_sealed_secret_key),
		cmocka_unit_test(test_secret_migration),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
