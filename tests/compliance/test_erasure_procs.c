/*
 * Erasure across two node processes on one chain: node A runs the embedded
 * chain (--dev, seeded demo), node B uses it (--chain-rpc) with A as its
 * peer; each runs the compliance job every second with its own address
 * (A: operator, B: clinic). The patient reads a lab result on B (B now
 * holds its capsule and blocks), asks A for its erasure; both jobs honour
 * and confirm; the patient burns it. Then neither node serves its content
 * or its blocks, the audit trail shows Erase and verifies. A legal hold set
 * over HTTP blocks the erasure of another record, which stays readable on
 * both nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "node/node_test_util.h"
#include "phr/api.h"
#include "phr/crypto.h"

static char *dir;
static pid_t pids[2];
static char url_a[128], url_b[128];

static int write_config(const char *node_dir, const char *signer)
{
	char p[700];
	FILE *f;

	if (phr_mkdir_p(node_dir, 0700) != PHR_OK)
		return -1;
	snprintf(p, sizeof(p), "%s/config.json", node_dir);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fprintf(f, "{\"compliance\":{\"interval\":1,\"signer\":\"%s\"}}\n", signer);
	fclose(f);
	return 0;
}

static int setup(void **state)
{
	const char *bin = getenv("PHR_BIN");
	char a_dir[600], b_dir[600], dep[700], o[700], e[700], rpc[200];

	(void)state;
	if (bin == NULL || phr_crypto_init() != PHR_OK || (dir = node_test_tmpdir("erase")) == NULL)
		return -1;
	snprintf(a_dir, sizeof(a_dir), "%s/a", dir);
	snprintf(b_dir, sizeof(b_dir), "%s/b", dir);
	if (write_config(a_dir, "operator") != 0 || write_config(b_dir, "clinic") != 0)
		return -1;
	const char *argv_a[] = { bin, "node", "--datadir", a_dir, "--listen", "127.0.0.1:0",
				 "--dev", NULL };
	snprintf(o, sizeof(o), "%s/a.out", dir);
	snprintf(e, sizeof(e), "%s/a.log", dir);
	pids[0] = node_test_spawn(argv_a, o, e, "listening on ", url_a, sizeof(url_a));
	if (pids[0] <= 0)
		return -1;
	snprintf(rpc, sizeof(rpc), "%s/rpc", url_a);
	snprintf(dep, sizeof(dep), "%s/deployment.json", a_dir);
	const char *argv_b[] = { bin, "node", "--datadir", b_dir, "--listen", "127.0.0.1:0",
				 "--dev", "--no-seed", "--chain-rpc", rpc, "--deployment", dep,
				 "--peer", url_a, NULL };
	snprintf(o, sizeof(o), "%s/b.out", dir);
	snprintf(e, sizeof(e), "%s/b.log", dir);
	pids[1] = node_test_spawn(argv_b, o, e, "listening on ", url_b, sizeof(url_b));
	if (pids[1] <= 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (pids[i] > 0)
			node_test_stop(pids[i]);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	curl_global_cleanup();
	return 0;
}

static void token(char out[PHR_API_TOKEN_LEN], char addr[64], const char *node, const char *name)
{
	char nd[700];

	snprintf(nd, sizeof(nd), "%s/%s", dir, node);
	assert_int_equal(node_test_token(out, PHR_API_TOKEN_LEN, addr, nd, name), 0);
}

static long call(struct http_res *r, const char *base, const char *method, const char *path,
		 const char *tok, const char *json)
{
	return http_call(r, base, method, path, tok, json);
}

static long get_status(const char *base, const char *path, const char *tok)
{
	struct http_res r;
	long s = call(&r, base, "GET", path, tok, NULL);

	http_res_release(&r);
	return s;
}

/* The accounting, the organisation report, explain and consents over HTTP after the erasure. */
static void reports_over_http(const char *pat, const char *pt_a, const char *aud_a,
			      const char *lab_id, const char *vac_id)
{
	char path[512], em_tok[PHR_API_TOKEN_LEN], em[64], body[1024];
	struct http_res r;

	token(em_tok, em, "a", "emergency");
	/* the demo's emergency provider read the lab result: a disclosure, listed in CSV */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/disclosures?format=csv", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	assert_non_null(strstr(r.ctype, "text/csv"));
	assert_true(r.len > 80 && memcmp(r.body, "date,patient,recipient,", 23) == 0);
	assert_non_null(memmem(r.body, r.len, ",LabResult,", 11));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%s/disclosures?format=fhir", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "resourceType")), "Bundle");
	assert_true(json_array_size(json_object_get(r.json, "entry")) >= 1);
	http_res_release(&r);
	/* the organisation report: auditors only */
	assert_int_equal(call(&r, url_a, "GET", "/api/v1/compliance/report", pt_a, NULL), 403);
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/compliance/report?actor=%s&disclosures=true", em);
	assert_int_equal(call(&r, url_a, "GET", path, aud_a, NULL), 200);
	assert_true(json_array_size(json_object_get(r.json, "items")) >= 1);
	http_res_release(&r);
	/* explain: the erased record is gone; the emergency provider's demo grant covers the other */
	snprintf(path, sizeof(path), "/api/v1/explain?actor=%s&record=%s", em, lab_id);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "rule")), "no-live-record");
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/explain?actor=%s&record=%s", em, vac_id);
	assert_int_equal(call(&r, url_a, "GET", path, em_tok, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "rule")), "grant");
	http_res_release(&r);
	/* the grants as Consents; a posted Consent denying the emergency provider revokes it */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/consents", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	assert_true(json_array_size(json_object_get(r.json, "entry")) >= 2);
	http_res_release(&r);
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Consent\",\"status\":\"active\",\"patient\":{\"identifier\":"
		 "{\"value\":\"urn:ethereum:%s\"}},\"provision\":{\"type\":\"deny\",\"actor\":"
		 "[{\"reference\":{\"identifier\":{\"value\":\"urn:ethereum:%s\"}}}]}}",
		 pat, em);
	assert_int_equal(call(&r, url_a, "POST", path, pt_a, body), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "applied")), 1);
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/explain?actor=%s&record=%s", em, vac_id);
	assert_int_equal(call(&r, url_a, "GET", path, em_tok, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "rule")), "grant-revoked");
	http_res_release(&r);
	/* the same through the FHIR server: the patient's own Consent permits again */
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":"
		 "[{\"system\":\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":"
		 "\"patient-privacy\"}]},\"category\":[{\"coding\":[{\"system\":"
		 "\"http://loinc.org\",\"code\":\"59284-0\"}]}],\"patient\":{\"identifier\":"
		 "{\"value\":\"urn:ethereum:%s\"}},\"provision\":{\"type\":\"permit\",\"actor\":"
		 "[{\"role\":{\"coding\":[{\"code\":\"IRCP\"}]},\"reference\":{\"identifier\":"
		 "{\"value\":\"urn:ethereum:%s\"}}}],\"period\":{\"end\":\"2099-01-01\"}}}",
		 pat, em);
	assert_int_equal(call(&r, url_a, "POST", "/fhir/Consent", pt_a, body), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "resourceType")),
			    "OperationOutcome");
	http_res_release(&r);
	assert_int_equal(call(&r, url_a, "GET", path, em_tok, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "rule")), "grant");
	http_res_release(&r);
}

/* phr export needs the second factor: refused before enrolment, then one code for all */
static void export_with_totp(const char *pat, const char *pt_a)
{
	char path[256], body[64], cmd[1200], out[700], p[800];
	uint8_t secret[64];
	size_t sl = 0, i, binaries = 0;
	uint32_t code;
	struct http_res r;
	json_t *b, *e;
	struct phr_buf csv;

	snprintf(path, sizeof(path), "/api/v1/patients/%s/export?part=all", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 403);
	http_res_release(&r);
	assert_int_equal(call(&r, url_a, "POST", "/api/v1/me/totp", pt_a, NULL), 201);
	assert_int_equal(phr_totp_secret_decode(secret, sizeof(secret), &sl,
						json_string_value(json_object_get(r.json, "secret"))),
			 PHR_OK);
	http_res_release(&r);
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl, (uint64_t)time(NULL), 30, 6),
			 PHR_OK);
	snprintf(body, sizeof(body), "{\"code\":\"%06u\"}", (unsigned)code);
	assert_int_equal(call(&r, url_a, "POST", "/api/v1/me/totp/confirm", pt_a, body), 200);
	http_res_release(&r);
	/* without the code: refused */
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 401);
	http_res_release(&r);
	/* the next step's code: the CLI writes the five files */
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl, (uint64_t)time(NULL) + 30, 30, 6),
			 PHR_OK);
	snprintf(out, sizeof(out), "%s/export", dir);
	snprintf(cmd, sizeof(cmd), "'%s' export --out '%s' --node %s --token %s --totp %06u > /dev/null",
		 getenv("PHR_BIN"), out, url_a, pt_a, (unsigned)code);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/bundle.json", out);
	b = json_load_file(p, 0, NULL);
	assert_non_null(b);
	/* the demo's vaccination and imaging file; the lab result was erased */
	assert_int_equal(json_array_size(json_object_get(b, "entry")), 2);
	json_array_foreach(json_object_get(b, "entry"), i, e)
		binaries += strcmp(json_string_value(json_object_get(json_object_get(e, "resource"),
								     "resourceType")),
				   "Binary") == 0;
	assert_true(binaries <= 1);
	json_decref(b);
	phr_buf_init(&csv, 0);
	snprintf(p, sizeof(p), "%s/access-log.csv", out);
	assert_int_equal(phr_file_read(&csv, p, 1 << 20), PHR_OK);
	assert_true(csv.len > 30 && memcmp(csv.data, "date,patient,recipient,", 23) == 0);
	assert_non_null(memmem(csv.data, csv.len, ",Erase,", 7));
	phr_buf_release(&csv);
	snprintf(p, sizeof(p), "%s/records.car", out);
	assert_int_equal(access(p, R_OK), 0);
}

static void test_erasure_processes(void **state)
{
	char pt_a[PHR_API_TOKEN_LEN], pt_b[PHR_API_TOKEN_LEN], op_a[PHR_API_TOKEN_LEN],
		aud_a[PHR_API_TOKEN_LEN], pat[64], op[64], aud[64];
	char path[256], lab_id[80] = "", lab_cid[128] = "", vac_id[80] = "", vac_cid[128] = "";
	struct http_res r;
	json_t *it;
	size_t i;
	int tries;

	(void)state;
	token(pt_a, pat, "a", "patient");
	token(pt_b, pat, "b", "patient");
	token(op_a, op, "a", "operator");
	token(aud_a, aud, "a", "auditor");
	/* the demo's lab result and vaccination */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	json_array_foreach(json_object_get(r.json, "items"), i, it) {
		json_int_t type = json_integer_value(json_object_get(it, "type"));
		const char *id = json_string_value(json_object_get(it, "id"));
		const char *cid = json_string_value(json_object_get(it, "cid"));
		if (id == NULL || cid == NULL)
			continue;
		if (type == 5 && lab_id[0] == '\0') {
			snprintf(lab_id, sizeof(lab_id), "%s", id);
			snprintf(lab_cid, sizeof(lab_cid), "%s", cid);
		} else if (type == 1 && vac_id[0] == '\0') {
			snprintf(vac_id, sizeof(vac_id), "%s", id);
			snprintf(vac_cid, sizeof(vac_cid), "%s", cid);
		}
	}
	http_res_release(&r);
	assert_true(lab_id[0] != '\0' && vac_id[0] != '\0');

	/* the patient reads both on B: B fetches and keeps their capsules and blocks */
	snprintf(path, sizeof(path), "/api/v1/records/%s/content?purpose=6", lab_id);
	assert_int_equal(get_status(url_b, path, pt_b), 200);
	snprintf(path, sizeof(path), "/api/v1/records/%s/content?purpose=6", vac_id);
	assert_int_equal(get_status(url_b, path, pt_b), 200);
	snprintf(path, sizeof(path), "/ipfs/%s?format=raw", lab_cid);
	assert_int_equal(get_status(url_b, path, NULL), 200);

	/* a legal hold on the vaccination (operator = governance) blocks its erasure */
	snprintf(path, sizeof(path), "/api/v1/records/%s/hold", vac_id);
	assert_int_equal(call(&r, url_a, "POST", path, op_a, "{\"reason\":\"subpoena 2026-17\"}"),
			 200);
	assert_true(json_is_true(json_object_get(r.json, "held")));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/records/%s/erasure", vac_id);
	assert_int_equal(call(&r, url_a, "POST", path, pt_a, NULL), 409);
	http_res_release(&r);

	/* the erasure of the lab result: requested on A, honoured by both jobs */
	snprintf(path, sizeof(path), "/api/v1/records/%s/erasure", lab_id);
	assert_int_equal(call(&r, url_a, "POST", path, pt_a, NULL), 202);
	http_res_release(&r);
	for (tries = 0; tries < 150; tries++) {
		json_int_t n;
		assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
		n = json_integer_value(json_object_get(r.json, "confirmations"));
		http_res_release(&r);
		if (n == 2)
			break;
		usleep(200 * 1000);
	}
	assert_true(tries < 150);
	snprintf(path, sizeof(path), "/api/v1/records/%s/erasure/finish", lab_id);
	assert_int_equal(call(&r, url_a, "POST", path, pt_a, NULL), 200);
	http_res_release(&r);

	/* gone from both nodes: content, blocks */
	snprintf(path, sizeof(path), "/api/v1/records/%s/content?purpose=6", lab_id);
	assert_int_not_equal(get_status(url_a, path, pt_a), 200);
	assert_int_not_equal(get_status(url_b, path, pt_b), 200);
	snprintf(path, sizeof(path), "/ipfs/%s?format=raw", lab_cid);
	assert_int_equal(get_status(url_a, path, NULL), 404);
	assert_int_equal(get_status(url_b, path, NULL), 404);
	/* the held record: still on both */
	snprintf(path, sizeof(path), "/api/v1/records/%s/content?purpose=6", vac_id);
	assert_int_equal(get_status(url_a, path, pt_a), 200);
	assert_int_equal(get_status(url_b, path, pt_b), 200);
	snprintf(path, sizeof(path), "/ipfs/%s?format=raw", vac_cid);
	assert_int_equal(get_status(url_b, path, NULL), 200);

	/* the audit trail shows Erase for the token and still verifies */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", pat);
	assert_int_equal(call(&r, url_a, "GET", path, pt_a, NULL), 200);
	{
		size_t erased = 0;
		json_array_foreach(json_object_get(r.json, "items"), i, it)
			erased += strcmp(json_string_value(json_object_get(it, "action")), "Erase") == 0 &&
				  strcmp(json_string_value(json_object_get(it, "recordId")), lab_id) == 0;
		assert_int_equal(erased, 1);
	}
	http_res_release(&r);
	assert_int_equal(call(&r, url_a, "GET", "/api/v1/compliance/audit/verify", aud_a, NULL), 200);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	http_res_release(&r);
	/* and `phr audit verify` says so with exit status 0 */
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "'%s' audit verify --node %s --token %s > /dev/null",
			 getenv("PHR_BIN"), url_a, aud_a);
		assert_int_equal(system(cmd), 0);
	}
	reports_over_http(pat, pt_a, aud_a, lab_id, vac_id);
	export_with_totp(pat, pt_a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erasure_processes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
