/*
 * The FHIR server end to end in one process (embedded chain, store, dev
 * identities, API): CapabilityStatement, create/read/vread/update/delete,
 * If-Match, conditional create, search (token, string, date, reference,
 * quantity, _id, _lastUpdated, _sort, _count paging, _include,
 * _revinclude), history, transaction with urn:uuid references, batch,
 * Patient/$everything, access checks, OperationOutcome on bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/api_test_util.h"
#include "phr/crypto.h"
#include "phr/fhir_validate.h"
#include "phr/records_batch.h"

static struct api_fx fx;
static char t_patient[PHR_API_TOKEN_LEN], t_provider[PHR_API_TOKEN_LEN], t_clinic[PHR_API_TOKEN_LEN];
static char a_patient[PHR_ETH_ADDRESS_STR_LEN];
static char pat_id[80], obs_id[80], hdr_pat[128];

static int setup(void **state)
{
	(void)state;
	if (api_fx_start(&fx, true) != 0)
		return -1;
	api_fx_token(&fx, t_patient, "patient");
	api_fx_token(&fx, t_provider, "provider");
	api_fx_token(&fx, t_clinic, "clinic");
	phr_eth_address_checksum(a_patient, phr_node_identity_by_name(fx.node, "patient")->address);
	snprintf(hdr_pat, sizeof(hdr_pat), "X-Phr-Patient: %s", a_patient);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static void req(struct http_res *r, const char *method, const char *path, const char *token,
		const char *json, const char *hdr)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s/fhir%s", fx.base, path);
	assert_int_equal(http_do(r, method, url, token, json ? "application/fhir+json" : NULL, json,
				 json ? strlen(json) : 0, hdr),
			 0);
	if (r->status >= 400 && getenv("FHIR_TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s %s -> %ld %.*s\n", method, path, r->status, (int)r->len,
			r->body ? (char *)r->body : "");
	assert_true(r->status < 500);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void assert_oo(const struct http_res *r, long status)
{
	assert_int_equal(r->status, status);
	assert_non_null(r->json);
	assert_string_equal(jstr(r->json, "resourceType"), "OperationOutcome");
	assert_true(json_array_size(json_object_get(r->json, "issue")) >= 1);
}

static size_t total_of(const struct http_res *r)
{
	assert_non_null(r->json);
	assert_string_equal(jstr(r->json, "type"), "searchset");
	return (size_t)json_integer_value(json_object_get(r->json, "total"));
}

static void test_metadata(void **state)
{
	struct http_res r;
	json_t *res;
	size_t i, n_types = 0;
	json_t *e;
	bool patient_family = false, rev_obs = false;

	(void)state;
	req(&r, "GET", "/metadata", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "application/fhir+json"));
	assert_string_equal(jstr(r.json, "resourceType"), "CapabilityStatement");
	assert_string_equal(jstr(r.json, "fhirVersion"), "4.0.1");
	res = json_object_get(json_array_get(json_object_get(r.json, "rest"), 0), "resource");
	json_array_foreach (res, i, e) {
		n_types++;
		if (strcmp(jstr(e, "type"), "Patient") == 0) {
			size_t k;
			json_t *p;
			json_array_foreach (json_object_get(e, "searchParam"), k, p)
				if (strcmp(jstr(p, "name"), "family") == 0)
					patient_family = strcmp(jstr(p, "type"), "string") == 0;
			json_array_foreach (json_object_get(e, "searchRevInclude"), k, p)
				rev_obs |= strcmp(json_string_value(p), "Observation:subject") == 0;
		}
	}
	assert_int_equal(n_types, 18);
	assert_true(patient_family);
	assert_true(rev_obs);
	http_res_release(&r);
}

static void test_auth_and_errors(void **state)
{
	struct http_res r;

	(void)state;
	req(&r, "GET", "/Patient", NULL, NULL, NULL);
	assert_oo(&r, 401);
	http_res_release(&r);
	req(&r, "GET", "/Spaceship/1", t_provider, NULL, NULL);
	assert_oo(&r, 404);
	http_res_release(&r);
	req(&r, "POST", "/Patient", t_provider, "{not json", NULL);
	assert_oo(&r, 400);
	http_res_release(&r);
	req(&r, "POST", "/Patient", t_provider, "{\"resourceType\":\"Observation\"}", NULL);
	assert_oo(&r, 400);
	http_res_release(&r);
	req(&r, "GET", "/Patient?_format=xml", t_provider, NULL, NULL);
	assert_oo(&r, 406);
	http_res_release(&r);
	req(&r, "GET", "/Patient?nosuchparam=1", t_provider, NULL, NULL);
	assert_oo(&r, 400);
	http_res_release(&r);
	req(&r, "GET", "/Patient?birthdate=notadate", t_provider, NULL, NULL);
	assert_oo(&r, 400);
	http_res_release(&r);
	req(&r, "GET", "/Patient/bad$id", t_provider, NULL, NULL);
	assert_true(r.status == 400 || r.status == 404);
	http_res_release(&r);
	req(&r, "GET", "/Patient/nope", t_provider, NULL, NULL);
	assert_oo(&r, 404);
	http_res_release(&r);
	req(&r, "PATCH", "/Patient/nope", t_provider, "{}", NULL);
	assert_oo(&r, 405);
	http_res_release(&r);
}

/* The server runs the R4 validator (fhir_validate.h) and answers with its issues. */
static void test_validation(void **state)
{
	const char *bad = "{\"resourceType\":\"Patient\",\"gender\":\"robot\",\"nickname\":\"x\"}";
	json_t *j = json_loads(bad, 0, NULL), *issues = NULL;
	struct http_res r;

	(void)state;
	assert_int_equal(phr_fhir_validate(&issues, j), PHR_ERR_INVALID);
	req(&r, "POST", "/Patient", t_provider, bad, hdr_pat);
	assert_oo(&r, 400);
	/* the same issues as the library gives */
	assert_int_equal(json_array_size(json_object_get(r.json, "issue")), json_array_size(issues));
	assert_non_null(json_object_get(json_array_get(json_object_get(r.json, "issue"), 0), "expression"));
	http_res_release(&r);
	json_decref(issues);
	json_decref(j);
}

static void test_crud(void **state)
{
	struct http_res r;
	char body[1024], path[256], hdr[128];

	(void)state;
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:phr:address\",\"value\":\"%s\"},"
		 "{\"system\":\"urn:oid:1.2.36.146.595.217.0.1\",\"value\":\"12345\"}],"
		 "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"]}],\"gender\":\"male\","
		 "\"birthDate\":\"1974-12-25\"}",
		 a_patient);
	req(&r, "POST", "/Patient", t_provider, body, NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(json_object_get(r.json, "meta"), "versionId"), "1");
	snprintf(pat_id, sizeof(pat_id), "%s", jstr(r.json, "id"));
	assert_true(strlen(pat_id) > 0);
	http_res_release(&r);

	snprintf(path, sizeof(path), "/Patient/%s", pat_id);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "name"), 0), "family"), "Chalmers");
	http_res_release(&r);
	/* the patient reads her own record */
	req(&r, "GET", path, t_patient, NULL, NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	/* a provider without a grant may not */
	req(&r, "GET", path, t_clinic, NULL, NULL);
	assert_oo(&r, 403);
	http_res_release(&r);

	/* update with a stale If-Match, then a good one */
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"identifier\":[{\"system\":\"urn:phr:address\","
		 "\"value\":\"%s\"},{\"system\":\"urn:oid:1.2.36.146.595.217.0.1\",\"value\":\"12345\"}],\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Jim\"]}],"
		 "\"gender\":\"male\",\"birthDate\":\"1974-12-25\"}",
		 pat_id, a_patient);
	req(&r, "PUT", path, t_provider, body, "If-Match: W/\"7\"");
	assert_oo(&r, 412);
	http_res_release(&r);
	req(&r, "PUT", path, t_provider, body, "If-Match: W/\"1\"");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(json_object_get(r.json, "meta"), "versionId"), "2");
	http_res_release(&r);
	snprintf(path, sizeof(path), "/Patient/%s/_history/1", pat_id);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	{
		json_t *given = json_object_get(json_array_get(json_object_get(r.json, "name"), 0), "given");
		assert_string_equal(json_string_value(json_array_get(given, 0)), "Peter");
	}
	http_res_release(&r);

	/* an Observation of that patient */
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
		 "\"http://loinc.org\",\"code\":\"29463-7\",\"display\":\"Body Weight\"}]},\"subject\":"
		 "{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":\"2016-03-28\",\"valueQuantity\":"
		 "{\"value\":67.5,\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
		 pat_id);
	req(&r, "POST", "/Observation", t_provider, body, NULL);
	assert_int_equal(r.status, 201);
	snprintf(obs_id, sizeof(obs_id), "%s", jstr(r.json, "id"));
	http_res_release(&r);

	/* conditional create finds the existing one */
	snprintf(hdr, sizeof(hdr), "If-None-Exist: identifier=urn:oid:1.2.36.146.595.217.0.1|12345");
	snprintf(body, sizeof(body), "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Dup\"}]}");
	req(&r, "POST", "/Patient", t_provider, body, hdr);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "id"), pat_id);
	http_res_release(&r);
	/* ... and refuses a query that pages (it would find the match but not its row) */
	snprintf(hdr, sizeof(hdr), "If-None-Exist: identifier=urn:oid:1.2.36.146.595.217.0.1|12345&_count=0");
	req(&r, "POST", "/Patient", t_provider, body, hdr);
	assert_oo(&r, 400);
	http_res_release(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Exist: identifier=urn:oid:1.2.36.146.595.217.0.1|12345&_summary=count");
	req(&r, "POST", "/Patient", t_provider, body, hdr);
	assert_oo(&r, 400);
	http_res_release(&r);
}

/* The answer of a write by Prefer: the resource (the same bytes a read then answers), none, or an OperationOutcome. */
static void test_prefer_answers(void **state)
{
	struct http_res r, g;
	char path[256], obs[512];

	(void)state;
	snprintf(obs, sizeof(obs),
		 "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
		 "[{\"system\":\"http://loinc.org\",\"code\":\"8310-5\"}]},\"subject\":{\"reference\":"
		 "\"Patient/%s\"},\"valueQuantity\":{\"value\":36.6,\"unit\":\"C\"},\"note\":[{\"text\":"
		 "\"caf\u00e9 \\\" \\u00e9\"}]}",
		 pat_id);
	/* representation (the default): a read afterwards answers the very same bytes */
	req(&r, "POST", "/Observation", t_provider, obs, NULL);
	assert_int_equal(r.status, 201);
	assert_non_null(r.json);
	assert_string_equal(jstr(r.json, "resourceType"), "Observation");
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "note"), 0), "text"), "caf\u00e9 \" \u00e9");
	snprintf(path, sizeof(path), "/Observation/%s", jstr(r.json, "id"));
	req(&g, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.len, r.len);
	assert_memory_equal(g.body, r.body, r.len);
	assert_true(json_equal(g.json, r.json));
	http_res_release(&g);
	http_res_release(&r);
	/* return=minimal: no body */
	req(&r, "POST", "/Observation", t_provider, obs, "Prefer: return=minimal");
	assert_int_equal(r.status, 201);
	assert_int_equal(r.len, 0);
	http_res_release(&r);
	/* return=OperationOutcome: one informational issue (no warning on this resource) */
	req(&r, "POST", "/Observation", t_provider, obs, "Prefer: return=OperationOutcome");
	assert_int_equal(r.status, 201);
	assert_oo(&r, 201);
	assert_int_equal(json_array_size(json_object_get(r.json, "issue")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "issue"), 0), "severity"), "information");
	http_res_release(&r);
}

static void expect_total(const char *q, size_t n)
{
	struct http_res r;

	req(&r, "GET", q, t_provider, NULL, NULL);
	if (r.status != 200)
		fprintf(stderr, "%s -> %ld\n", q, r.status);
	assert_int_equal(r.status, 200);
	if (total_of(&r) != n)
		fprintf(stderr, "%s: total %zu, expected %zu\n", q, total_of(&r), n);
	assert_int_equal(total_of(&r), n);
	http_res_release(&r);
}

static void test_search(void **state)
{
	char q[512];

	(void)state;
	expect_total("/Patient?family=chal", 1);
	expect_total("/Patient?family:exact=Chalmers", 1);
	expect_total("/Patient?family=smith", 0);
	expect_total("/Patient?name:contains=alm", 1);
	expect_total("/Patient?gender=male&birthdate=1974", 1);
	expect_total("/Patient?birthdate=gt1980-01-01", 0);
	expect_total("/Patient?birthdate=le1974-12-25", 1);
	expect_total("/Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|12345", 1);
	expect_total("/Patient?identifier=|12345", 0);
	expect_total("/Observation?code=http://loinc.org|29463-7", 1);
	expect_total("/Observation?code=29463-7,1234-5", 1);
	expect_total("/Observation?code:not=29463-7", 0);
	expect_total("/Observation?value-quantity=67.5|http://unitsofmeasure.org|kg", 1);
	expect_total("/Observation?value-quantity=gt70", 0);
	expect_total("/Observation?date=2016-03", 1);
	expect_total("/Observation?status:missing=false", 1);
	snprintf(q, sizeof(q), "/Observation?subject=Patient/%s", pat_id);
	expect_total(q, 1);
	snprintf(q, sizeof(q), "/Observation?patient=%s", pat_id);
	expect_total(q, 1);
	snprintf(q, sizeof(q), "/Observation?_id=%s", obs_id);
	expect_total(q, 1);
	expect_total("/Observation?_lastUpdated=gt2000-01-01", 1);
	expect_total("/Observation?_lastUpdated=lt2000-01-01", 0);
	{
		/* POST _search with form-encoded parameters */
		struct http_res r;
		char url[512];
		snprintf(url, sizeof(url), "%s/fhir/Patient/_search", fx.base);
		assert_int_equal(http_do(&r, "POST", url, t_provider, "application/x-www-form-urlencoded",
					 "family=chal&gender=male", 23, NULL),
				 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(total_of(&r), 1);
		http_res_release(&r);
	}
}

static void test_include_paging(void **state)
{
	struct http_res r;
	char q[512];
	bool saw_patient = false, saw_obs = false;
	size_t i;
	json_t *e;

	(void)state;
	snprintf(q, sizeof(q), "/Observation?_id=%s&_include=Observation:patient", obs_id);
	req(&r, "GET", q, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	json_array_foreach (json_object_get(r.json, "entry"), i, e) {
		const char *rt = jstr(json_object_get(e, "resource"), "resourceType");
		const char *mode = jstr(json_object_get(e, "search"), "mode");
		if (strcmp(rt, "Patient") == 0)
			saw_patient = strcmp(mode, "include") == 0;
		if (strcmp(rt, "Observation") == 0)
			saw_obs = strcmp(mode, "match") == 0;
	}
	assert_true(saw_patient && saw_obs);
	http_res_release(&r);

	snprintf(q, sizeof(q), "/Patient?_id=%s&_revinclude=Observation:subject", pat_id);
	req(&r, "GET", q, t_provider, NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	http_res_release(&r);

	/* three more patients, pages of two sorted by family descending */
	for (int k = 0; k < 3; k++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:phr:address\",\"value\":"
			 "\"%s\"}],\"name\":[{\"family\":\"Zz%c\"}],\"gender\":\"female\"}",
			 a_patient, 'a' + k);
		req(&r, "POST", "/Patient", t_provider, body, NULL);
		assert_int_equal(r.status, 201);
		http_res_release(&r);
	}
	req(&r, "GET", "/Patient?_count=2&_sort=-family", t_provider, NULL, NULL);
	assert_int_equal(total_of(&r), 4);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource"), "name"), 0), "family"), "Zzc");
	{
		const char *next = NULL;
		json_array_foreach (json_object_get(r.json, "link"), i, e)
			if (strcmp(jstr(e, "relation"), "next") == 0)
				next = jstr(e, "url");
		assert_non_null(next);
		assert_non_null(strstr(next, "_offset=2"));
	}
	http_res_release(&r);
	req(&r, "GET", "/Patient?_count=2&_sort=-family&_offset=2", t_provider, NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	assert_string_equal(jstr(json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(r.json, "entry"), 1), "resource"), "name"), 0), "family"), "Chalmers");
	http_res_release(&r);
}

/* Transactions the provider has sent so far (its nonce on the chain). */
static uint64_t provider_txs(const struct phr_identity *prov)
{
	uint64_t nonce = 0;

	assert_int_equal(phr_chain_nonce(phr_node_chain(fx.node), &nonce, prov->address), PHR_OK);
	return nonce;
}

/*
 * A transaction Bundle of 40 resources is ceil(40 / 32) = 2 mint transactions;
 * one the chain refuses (a Patient of an unregistered address) mints and
 * indexes nothing.
 */
static void test_transaction_on_chain(void **state)
{
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	struct phr_buf b;
	struct http_res r;
	uint64_t t0;

	(void)state;
	phr_buf_init(&b, 1 << 20);
	assert_int_equal(phr_buf_append_str(&b, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["), PHR_OK);
	for (int i = 0; i < 40; i++) {
		char e[400];
		snprintf(e, sizeof(e),
			 "%s{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
			 "[{\"system\":\"urn:test\",\"code\":\"chunked\"}]},\"valueInteger\":%d},"
			 "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}",
			 i ? "," : "", i);
		assert_int_equal(phr_buf_append_str(&b, e), PHR_OK);
	}
	assert_int_equal(phr_buf_append_str(&b, "]}"), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&b, 0), PHR_OK);
	t0 = provider_txs(prov);
	req(&r, "POST", "", t_provider, (const char *)b.data, hdr_pat);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 40);
	http_res_release(&r);
	assert_int_equal(provider_txs(prov) - t0, 2);
	expect_total("/Observation?code=urn:test|chunked", 40);
	phr_buf_release(&b);

	t0 = provider_txs(prov);
	req(&r, "POST", "", t_provider,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	    "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
	    "[{\"system\":\"urn:test\",\"code\":\"refused\"}]}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
	    "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:phr:address\","
	    "\"value\":\"0x4242424242424242424242424242424242424242\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}",
	    hdr_pat);
	assert_oo(&r, 422);
	http_res_release(&r);
	assert_int_equal(provider_txs(prov), t0);
	expect_total("/Observation?code=urn:test|refused", 0);
}

static void test_transaction(void **state)
{
	struct http_res r;
	const char *tx =
		"{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
		"{\"fullUrl\":\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\",\"resource\":{\"resourceType\":"
		"\"Patient\",\"name\":[{\"family\":\"Txn\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":"
		"\"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a\"},\"code\":{\"text\":\"asthma\"}},"
		"\"request\":{\"method\":\"POST\",\"url\":\"Condition\"}},"
		"{\"request\":{\"method\":\"GET\",\"url\":\"Patient?family=txn\"}}]}";
	char q[256], id[80];

	(void)state;
	req(&r, "POST", "", t_provider, tx, hdr_pat);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "type"), "transaction-response");
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 3);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "response"), "status"), "201");
	snprintf(id, sizeof(id), "%s", jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource"), "id"));
	/* the GET ran after the writes */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(json_object_get(r.json, "entry"), 2), "resource"), "total")), 1);
	http_res_release(&r);
	snprintf(q, sizeof(q), "/Condition?subject=Patient/%s", id);
	expect_total(q, 1);

	/* a failing entry fails the whole transaction: nothing written */
	req(&r, "POST", "/",
	    t_provider,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{\"resourceType\":"
	    "\"Patient\",\"name\":[{\"family\":\"Never\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
	    "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"x\"},\"request\":{\"method\":\"PUT\",\"url\":"
	    "\"Patient/y\"}}]}",
	    hdr_pat);
	assert_oo(&r, 400);
	http_res_release(&r);
	expect_total("/Patient?family=never", 0);

	/* a batch: entries on their own */
	req(&r, "POST", "/",
	    t_provider,
	    "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":{\"resourceType\":"
	    "\"Patient\",\"name\":[{\"family\":\"Batch\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/missing\"}}]}",
	    hdr_pat);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "type"), "batch-response");
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "response"), "status"), "201");
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 1), "response"), "status"), "404");
	http_res_release(&r);
}

static void test_everything_history_delete(void **state)
{
	struct http_res r;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "/Patient/%s/$everything", pat_id);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	http_res_release(&r);

	snprintf(path, sizeof(path), "/Observation/%s", obs_id);
	req(&r, "DELETE", path, t_clinic, NULL, NULL);
	assert_oo(&r, 403);
	http_res_release(&r);
	req(&r, "DELETE", path, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_oo(&r, 410);
	http_res_release(&r);
	expect_total("/Observation?code=29463-7", 0);

	snprintf(path, sizeof(path), "/Observation/%s/_history", obs_id);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "type"), "history");
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "request"), "method"), "DELETE");
	http_res_release(&r);
	snprintf(path, sizeof(path), "/Patient/%s/_history", pat_id);
	req(&r, "GET", path, t_provider, NULL, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	http_res_release(&r);
	req(&r, "GET", "/_history?_count=2", t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "type"), "history");
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
	http_res_release(&r);
	req(&r, "GET", "/Patient/_history?_count=3", t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 3);
	assert_true(json_integer_value(json_object_get(r.json, "total")) >= 6);
	http_res_release(&r);
}

static void test_audit_events_from_trail(void **state)
{
	struct http_res r;
	char q[256];

	(void)state;
	snprintf(q, sizeof(q), "/AuditEvent?patient=Patient/%s", pat_id);
	req(&r, "GET", q, t_patient, NULL, NULL);
	assert_int_equal(r.status, 200);
	/* the trail holds at least the Create of each record and the reads above */
	assert_true(json_array_size(json_object_get(r.json, "entry")) >= 3);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource"), "resourceType"), "AuditEvent");
	{
		bool create = false, view = false;
		size_t i;
		json_t *e;
		json_array_foreach (json_object_get(r.json, "entry"), i, e) {
			json_t *ent = json_array_get(json_object_get(json_object_get(e, "resource"), "entity"), 0);
			const char *action = jstr(json_array_get(json_object_get(ent, "detail"), 0), "valueString");
			create |= action != NULL && strcmp(action, "Create") == 0;
			view |= action != NULL && strcmp(action, "View") == 0;
		}
		assert_true(create && view);
	}
	{
		/* each trail entry reads back at its fullUrl */
		json_t *first = json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource");
		char path[256];
		struct http_res r2;
		snprintf(path, sizeof(path), "/AuditEvent/%s", jstr(first, "id"));
		req(&r2, "GET", path, t_patient, NULL, NULL);
		assert_int_equal(r2.status, 200);
		assert_true(json_equal(r2.json, first));
		http_res_release(&r2);
		req(&r2, "GET", path, t_clinic, NULL, NULL);
		assert_oo(&r2, 404);
		http_res_release(&r2);
	}
	http_res_release(&r);
}

/*
 * The domain's batch submit: one mintRecords transaction per 32 records, all
 * or nothing when the chain refuses any record, every record readable.
 */
static void test_records_batch(void **state)
{
	enum { N = 70 };
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	static struct phr_record_item items[N];
	static struct phr_record_receipt out[N];
	static char texts[N][32];
	int results[N];
	uint64_t t0, t1;

	(void)state;
	memset(items, 0, sizeof(items));
	for (int i = 0; i < N; i++) {
		snprintf(texts[i], sizeof(texts[i]), "{\"n\":%d}", i);
		memcpy(items[i].patient, pat->address, 20);
		items[i].rtype = 5;
		items[i].data = (const uint8_t *)texts[i];
		items[i].len = strlen(texts[i]);
	}
	assert_int_equal(phr_node_records_submit_batch(fx.node, out, NULL, prov, items, 0), PHR_OK);
	/* one unregistered patient in the third chunk: nothing at all is minted */
	memset(items[66].patient, 0x42, 20);
	t0 = provider_txs(prov);
	assert_int_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N),
			 PHR_ERR_NOT_FOUND);
	assert_int_equal(provider_txs(prov), t0);
	assert_int_equal(results[66], PHR_ERR_NOT_FOUND);
	assert_int_equal(results[0], PHR_ERR_STATE);
	assert_int_equal(results[40], PHR_ERR_STATE);
	assert_true(phr_u256_is_zero(&out[0].token_id));
	/* a token superseded twice in one batch is refused before the chain */
	memcpy(items[66].patient, pat->address, 20);
	items[3].supersedes = phr_u256_from_u64(1);
	items[9].supersedes = phr_u256_from_u64(1);
	assert_int_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N),
			 PHR_ERR_CONFLICT);
	assert_int_equal(provider_txs(prov), t0);
	items[3].supersedes = PHR_U256_ZERO;
	items[9].supersedes = PHR_U256_ZERO;
	/* the chain refuses chunk 2 (a token that does not exist): chunk 1 is not sent either */
	items[40].supersedes = phr_u256_from_u64(999999);
	assert_int_not_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N), PHR_OK);
	assert_int_equal(provider_txs(prov), t0);
	assert_int_equal(results[0], PHR_ERR_STATE);
	assert_int_not_equal(results[40], PHR_ERR_STATE);
	assert_int_not_equal(results[40], PHR_OK);
	assert_int_equal(results[64], PHR_ERR_STATE);
	items[40].supersedes = PHR_U256_ZERO;
	/* 70 records: ceil(70 / 32) = 3 transactions, consecutive tokens within a chunk */
	assert_int_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N), PHR_OK);
	t1 = provider_txs(prov);
	assert_int_equal(t1 - t0, 3);
	for (int i = 0; i < N; i++) {
		assert_int_equal(results[i], PHR_OK);
		if (i % PHR_RECORD_BATCH_CHUNK != 0) {
			struct phr_u256 next, one = phr_u256_from_u64(1);
			(void)phr_u256_add(&next, &out[i - 1].token_id, &one);
			assert_true(phr_u256_eq(&next, &out[i].token_id));
		}
	}
	/* with the gas of mintRecords known, the dry runs are made at the guess and the chunks
	 * sent on it: a refusal still mints nothing, a good batch takes 3 transactions (no
	 * mined revert, no resend) */
	items[40].supersedes = phr_u256_from_u64(999999);
	assert_int_not_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N), PHR_OK);
	assert_int_equal(provider_txs(prov), t1);
	assert_int_equal(results[0], PHR_ERR_STATE);
	assert_int_not_equal(results[40], PHR_ERR_STATE);
	items[40].supersedes = PHR_U256_ZERO;
	assert_int_equal(phr_node_records_submit_batch(fx.node, out, results, prov, items, N), PHR_OK);
	assert_int_equal(provider_txs(prov) - t1, 3);
	for (int i = 0; i < N; i++)
		assert_int_equal(results[i], PHR_OK);
	for (int i = 0; i < N; i += 23) {
		struct phr_buf b;
		phr_buf_init(&b, 1 << 20);
		assert_int_equal(phr_node_record_read(fx.node, &b, NULL, pat, &out[i].token_id, 6), PHR_OK);
		assert_int_equal(b.len, strlen(texts[i]));
		assert_memory_equal(b.data, texts[i], b.len);
		phr_buf_release(&b);
	}
}

/* total and entries of a search as @p token */
static size_t search_as(const char *token, const char *q, size_t *entries, bool *next)
{
	struct http_res r;
	size_t t;
	json_t *l;
	size_t i;

	req(&r, "GET", q, token, NULL, NULL);
	assert_int_equal(r.status, 200);
	t = total_of(&r);
	*entries = json_array_size(json_object_get(r.json, "entry"));
	*next = false;
	json_array_foreach (json_object_get(r.json, "link"), i, l)
		if (strcmp(jstr(l, "relation"), "next") == 0)
			*next = true;
	http_res_release(&r);
	return t;
}

/* total of a history bundle as @p token */
static size_t history_total(const char *token, const char *path)
{
	struct http_res r;
	size_t t;

	req(&r, "GET", path, token, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "type"), "history");
	t = (size_t)json_integer_value(json_object_get(r.json, "total"));
	http_res_release(&r);
	return t;
}

/*
 * total and paging count only what the caller may read: none for a provider
 * without a grant, all 40 once the patient grants it the category (the
 * per-record check), the patient herself all 40 (the patient-wide check).
 */
static void test_search_total_access(void **state)
{
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	const struct phr_identity *clinic = phr_node_identity_by_name(fx.node, "clinic");
	const char *q = "/Observation?code=urn:test|chunked&_count=10";
	uint8_t scope[32];
	size_t n;
	bool next;

	(void)state;
	assert_int_equal(search_as(t_provider, q, &n, &next), 40);
	assert_int_equal(search_as(t_patient, q, &n, &next), 40);
	assert_int_equal(n, 10);
	assert_true(next);
	assert_int_equal(search_as(t_clinic, q, &n, &next), 0);
	assert_int_equal(n, 0);
	assert_false(next);
	/* the type's history too */
	assert_int_equal(history_total(t_clinic, "/Observation/_history?_count=5"), 0);
	assert_true(history_total(t_patient, "/Observation/_history?_count=5") >= 40);
	phr_scope_category(scope, 5);
	assert_int_equal(phr_node_access_grant(fx.node, pat, clinic->address, PHR_LEVEL_READ, scope,
					       (uint64_t)time(NULL) + 3600),
			 PHR_OK);
	assert_int_equal(search_as(t_clinic, q, &n, &next), 40);
	assert_int_equal(n, 10);
	assert_true(next);
	assert_true(history_total(t_clinic, "/Observation/_history?_count=5") >= 40);
}

/* On-chain View entries of @p reader in the trail of @p patient. */
static size_t views_on_chain(const struct phr_identity *patient, const struct phr_identity *reader)
{
	char want[PHR_ETH_ADDRESS_STR_LEN];
	json_t *list = NULL, *e;
	size_t i, c = 0;

	phr_eth_address_checksum(want, reader->address);
	assert_int_equal(phr_node_audit_list(fx.node, &list, patient->address, NULL), PHR_OK);
	json_array_foreach (list, i, e)
		c += strcmp(jstr(e, "action"), "View") == 0 && strcmp(jstr(e, "accessor"), want) == 0;
	json_decref(list);
	return c;
}

/*
 * Every entry a search returns has its View on chain, by the caller, before the answer: a
 * grant on all records (the search's patient decision stands for the entries), a category
 * grant (each entry decided), the patient itself; once the grant is revoked the next search
 * returns nothing and logs nothing.
 */
static void test_search_views_audited(void **state)
{
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *clinic = phr_node_identity_by_name(fx.node, "clinic");
	const char *q = "/Observation?code=urn:test|chunked&_count=7";
	const struct phr_identity *who[3] = { prov, clinic, pat };
	const char *tok[3] = { t_provider, t_clinic, t_patient };
	uint8_t scope[32];
	size_t n, v;
	bool next;

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		v = views_on_chain(pat, who[k]);
		assert_int_equal(search_as(tok[k], q, &n, &next), 40);
		assert_int_equal(n, 7);
		assert_int_equal(views_on_chain(pat, who[k]), v + 7);
	}
	/* a grant on all records for the clinic too: its search's decision stands for the entries */
	phr_scope_all(scope);
	assert_int_equal(phr_node_access_grant(fx.node, pat, clinic->address, PHR_LEVEL_READ, scope,
					       (uint64_t)time(NULL) + 3600),
			 PHR_OK);
	v = views_on_chain(pat, clinic);
	assert_int_equal(search_as(t_clinic, q, &n, &next), 40);
	assert_int_equal(n, 7);
	assert_int_equal(views_on_chain(pat, clinic), v + 7);
	/* revoked (both grants): nothing found, nothing logged */
	assert_int_equal(phr_node_access_revoke(fx.node, pat, clinic->address, scope), PHR_OK);
	phr_scope_category(scope, 5);
	assert_int_equal(phr_node_access_revoke(fx.node, pat, clinic->address, scope), PHR_OK);
	assert_int_equal(search_as(t_clinic, q, &n, &next), 0);
	assert_int_equal(n, 0);
	assert_int_equal(views_on_chain(pat, clinic), v + 7);
}

/* A transaction entry PUT Observation/@p id for Patient/@p pid with code urn:plan|@p code. */
static void plan_obs(struct phr_buf *b, const char *id, const char *pid, const char *code, int day, bool last)
{
	char e[640];

	snprintf(e, sizeof(e),
		 "{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\","
		 "\"code\":{\"coding\":[{\"system\":\"urn:plan\",\"code\":\"%s\"}]},"
		 "\"subject\":{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":\"2023-05-%02d\"},"
		 "\"request\":{\"method\":\"PUT\",\"url\":\"Observation/%s\"}}%s",
		 id, code, pid, day, id, last ? "" : ",");
	assert_int_equal(phr_buf_append_str(b, e), PHR_OK);
}

/*
 * Searches of several parameters, whichever of them the index runs first
 * (the fewest keys) and whichever order the query names them in: the same
 * totals. plan-p1 has six Observations of code a and one of b, plan-p2 one
 * of a; "a" alone matches 7, every Observation of plan-p1 has a status.
 */
static void test_search_plan(void **state)
{
	static const char *const cases[][2] = {
		{ "patient=plan-p1&code=urn:plan|a", "6" },
		{ "code=urn:plan|a&patient=plan-p1", "6" },
		{ "code=a&patient=plan-p1,plan-p2", "7" },
		{ "patient=plan-p2&code=urn:plan|a", "1" },
		{ "patient=Patient/plan-p1&code=b", "1" },
		{ "subject=Patient/plan-p1&code=urn:plan|b", "1" },
		{ "patient:Patient=plan-p1&code=urn:plan|", "7" },
		{ "patient=plan-p1&code:not=urn:plan|a", "1" },
		{ "code:not=urn:plan|a&patient=plan-p1", "1" },
		{ "patient=plan-p1&status:missing=true", "0" },
		{ "status:missing=false&patient=plan-p1", "7" },
		{ "patient=plan-none&code=urn:plan|a", "0" },
		{ "code=urn:plan|a&patient=plan-none", "0" },
		{ "code=urn:plan|a&date=le2023-05-04", "5" },
		{ "date=ge2023-05-04&code=urn:plan|a&patient=plan-p1", "3" },
		{ "code=urn:plan|a,urn:plan|b&patient=plan-p1,plan-p2&date=le2023-05-02", "3" },
	};
	struct phr_buf b;
	struct http_res r;
	char q[512];

	(void)state;
	phr_buf_init(&b, 1 << 20);
	assert_int_equal(phr_buf_append_str(&b, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["), PHR_OK);
	for (int k = 1; k <= 2; k++) {
		char e[512];
		snprintf(e, sizeof(e),
			 "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"plan-p%d\",\"identifier\":[{\"system\":"
			 "\"urn:phr:address\",\"value\":\"%s\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/plan-p%d\"}},",
			 k, a_patient, k);
		assert_int_equal(phr_buf_append_str(&b, e), PHR_OK);
	}
	for (int k = 1; k <= 6; k++) {
		char id[32];
		snprintf(id, sizeof(id), "plan-o%d", k);
		plan_obs(&b, id, "plan-p1", "a", k, false);
	}
	plan_obs(&b, "plan-o7", "plan-p1", "b", 7, false);
	plan_obs(&b, "plan-o8", "plan-p2", "a", 1, true);
	assert_int_equal(phr_buf_append_str(&b, "]}"), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&b, 0), PHR_OK);
	req(&r, "POST", "", t_provider, (const char *)b.data, hdr_pat);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	phr_buf_release(&b);
	for (size_t i = 0; i < PHR_ARRAY_LEN(cases); i++) {
		snprintf(q, sizeof(q), "/Observation?%s", cases[i][0]);
		req(&r, "GET", q, t_provider, NULL, NULL);
		assert_int_equal(r.status, 200);
		if (total_of(&r) != strtoul(cases[i][1], NULL, 10))
			fail_msg("%s: total %zu, want %s", q, total_of(&r), cases[i][1]);
		http_res_release(&r);
	}
	/* _summary=count: the total, no entries */
	req(&r, "GET", "/Observation?patient=plan-p1&code=urn:plan|a&_summary=count", t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(total_of(&r), 6);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 0);
	http_res_release(&r);
	/* paging and order with a driving parameter: newest first, two pages of 2, then 1 */
	for (size_t off = 0; off < 6; off += 2) {
		snprintf(q, sizeof(q), "/Observation?patient=plan-p1&code=urn:plan|a&date=ge2023-05-02&_sort=-date&_count=2&_offset=%zu", off);
		req(&r, "GET", q, t_provider, NULL, NULL);
		assert_int_equal(r.status, 200);
		assert_int_equal(total_of(&r), 5);
		assert_int_equal(json_array_size(json_object_get(r.json, "entry")), off < 4 ? 2 : 1);
		{
			const char *id0 = jstr(json_object_get(json_array_get(json_object_get(r.json, "entry"), 0), "resource"), "id");
			char want[32];
			snprintf(want, sizeof(want), "plan-o%zu", 6 - off);
			assert_string_equal(id0, want);
		}
		http_res_release(&r);
	}
}

/* A body over the /fhir limit (32 MiB) is refused with a 413 OperationOutcome. */
static void test_body_too_large(void **state)
{
	size_t n = ((size_t)32 << 20) + 1;
	char *big = malloc(n + 1);
	char url[512];
	struct http_res r;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	snprintf(url, sizeof(url), "%s/fhir/Observation", fx.base);
	assert_int_equal(http_do(&r, "POST", url, t_provider, "application/fhir+json", big, n, NULL), 0);
	free(big);
	assert_oo(&r, 413);
	http_res_release(&r);
}

/* One concurrent create (a thread of test_concurrent_creates). */
static void *create_one(void *arg)
{
	int *status = arg;
	char url[512];
	struct http_res r;
	const char *body = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
			   "[{\"system\":\"urn:test\",\"code\":\"concurrent\"}]}}";

	snprintf(url, sizeof(url), "%s/fhir/Observation", fx.base);
	*status = http_do(&r, "POST", url, t_provider, "application/fhir+json", body, strlen(body), hdr_pat) == 0
			  ? (int)r.status
			  : -1;
	if (*status != -1)
		http_res_release(&r);
	return NULL;
}

/*
 * Creates run concurrently (minted outside the server's write lock, so the
 * node may group them into shared mintRecords transactions): all are created
 * and indexed, in at most one transaction each.
 */
static void test_concurrent_creates(void **state)
{
	enum { T = 8 };
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	pthread_t th[T];
	int status[T];
	uint64_t t0;

	(void)state;
	t0 = provider_txs(prov);
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_create(&th[i], NULL, create_one, &status[i]), 0);
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < T; i++)
		assert_int_equal(status[i], 201);
	assert_true(provider_txs(prov) - t0 <= T);
	expect_total("/Observation?code=urn:test|concurrent", T);
}

/* One writer of test_concurrent_writes: a request of its own kind; the answer's status. */
struct cw_job {
	int kind; /* 0 transaction, 1 PUT, 2 conditional create */
	int k;
	int status;
};

static void *cw_one(void *arg)
{
	struct cw_job *j = arg;
	char url[512], body[2048];
	const char *hdr = hdr_pat;
#define CW_OBS "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\",\"code\":{\"coding\":" \
	       "[{\"system\":\"urn:cw\",\"code\":\"%d\"}]}}"
	struct http_res r;

	if (j->kind == 0) {
		char a[400], b[400];
		char own[32];
		snprintf(own, sizeof(own), "cw-own-%d", j->k);
		snprintf(a, sizeof(a), CW_OBS, "cw-shared", j->k);
		snprintf(b, sizeof(b), CW_OBS, own, j->k);
		snprintf(url, sizeof(url), "%s/fhir", fx.base);
		snprintf(body, sizeof(body),
			 "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
			 "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":\"Observation/cw-shared\"}},"
			 "{\"resource\":%s,\"request\":{\"method\":\"PUT\",\"url\":\"Observation/%s\"}},"
			 "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
			 "[{\"system\":\"urn:cw\",\"code\":\"posted\"}]}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}",
			 a, b, own);
	} else if (j->kind == 1) {
		snprintf(url, sizeof(url), "%s/fhir/Observation/cw-shared", fx.base);
		snprintf(body, sizeof(body), CW_OBS, "cw-shared", 100 + j->k);
	} else {
		/* its patient from the subject (no X-Phr-Patient: the one extra header is If-None-Exist) */
		snprintf(url, sizeof(url), "%s/fhir/Observation", fx.base);
		snprintf(body, sizeof(body),
			 "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
			 "[{\"system\":\"urn:cw\",\"code\":\"once\"}]},\"subject\":{\"reference\":\"Patient/plan-p1\"}}");
		hdr = "If-None-Exist: code=urn:cw|once";
	}
	j->status = http_do(&r, j->kind == 1 ? "PUT" : "POST", url, t_provider, "application/fhir+json", body,
			    strlen(body), hdr) == 0
			    ? (int)r.status
			    : -1;
	if (j->status != -1)
		http_res_release(&r);
	return NULL;
}

/*
 * Writes run concurrently: each decides its versions under the server's
 * lock with the resources it writes reserved, mints without the lock, and
 * writes its index rows under it again. Transactions and PUTs of one shared
 * resource from many threads: every one answered, the shared resource has one
 * version per write (1..n, none lost or doubled); two concurrent conditional
 * creates: one created, the other finds it.
 */
static void test_concurrent_writes(void **state)
{
	enum { TX = 4, PUTS = 3, COND = 2, T = TX + PUTS + COND };
	struct cw_job jobs[T];
	pthread_t th[T];
	struct http_res r;
	int created = 0, found = 0;
	size_t i;
	json_t *e;
	bool seen[TX + PUTS + 2] = { false };

	(void)state;
	for (int i2 = 0; i2 < T; i2++) {
		jobs[i2].kind = i2 < TX ? 0 : i2 < TX + PUTS ? 1 : 2;
		jobs[i2].k = i2;
		jobs[i2].status = 0;
		assert_int_equal(pthread_create(&th[i2], NULL, cw_one, &jobs[i2]), 0);
	}
	for (int i2 = 0; i2 < T; i2++)
		pthread_join(th[i2], NULL);
	for (int i2 = 0; i2 < T; i2++) {
		if (jobs[i2].kind == 0)
			assert_int_equal(jobs[i2].status, 200);
		else if (jobs[i2].kind == 1)
			assert_true(jobs[i2].status == 200 || jobs[i2].status == 201);
		else if (jobs[i2].status == 201)
			created++;
		else if (jobs[i2].status == 200)
			found++;
	}
	assert_int_equal(created, 1);
	assert_int_equal(found, COND - 1);
	expect_total("/Observation?code=urn:cw|once", 1);
	expect_total("/Observation?code=urn:cw|posted", TX);
	/* one version of the shared resource per write, numbered 1..TX+PUTS */
	req(&r, "GET", "/Observation/cw-shared/_history?_count=100", t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "entry")), TX + PUTS);
	json_array_foreach (json_object_get(r.json, "entry"), i, e) {
		const char *v = jstr(json_object_get(json_object_get(e, "resource"), "meta"), "versionId");
		unsigned long vid;
		assert_non_null(v);
		vid = strtoul(v, NULL, 10);
		assert_true(vid >= 1 && vid <= TX + PUTS);
		assert_false(seen[vid]);
		seen[vid] = true;
	}
	http_res_release(&r);
	req(&r, "GET", "/Observation/cw-shared", t_provider, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(strtoul(jstr(json_object_get(r.json, "meta"), "versionId"), NULL, 10), TX + PUTS);
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_auth_and_errors),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_crud),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_include_paging),
		cmocka_unit_test(test_transaction),
		cmocka_unit_test(test_transaction_on_chain),
		cmocka_unit_test(test_everything_history_delete),
		cmocka_unit_test(test_audit_events_from_trail),
		cmocka_unit_test(test_records_batch),
		cmocka_unit_test(test_search_total_access),
		cmocka_unit_test(test_search_views_audited),
		cmocka_unit_test(test_search_plan),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_prefer_answers),
		cmocka_unit_test(test_concurrent_creates),
		cmocka_unit_test(test_concurrent_writes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
