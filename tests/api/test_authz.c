/*
 * The authorization matrix of docs/authz-matrix.md, checked cell by cell:
 * every listed endpoint x role x state of the provider's grant (none,
 * active, revoked, expired) against a running API on an embedded chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_test_util.h"
#include "phr/crypto.h"
#include "phr/emergency.h"

#define MAX_ROWS 320

struct row {
	char method[8], path[128], role[16];
	long want[4]; /* none, active, expired, revoked */
};

static struct api_fx fx;
static struct row rows[MAX_ROWS];
static size_t n_rows;
static char patient[PHR_ETH_ADDRESS_STR_LEN], clinic[PHR_ETH_ADDRESS_STR_LEN],
	provider[PHR_ETH_ADDRESS_STR_LEN], record[80], vaccination[80];

/* An Immunization (FHIR R4, CVX 150) for the SMART Health Card and milestone rows. */
static const char immunization[] =
	"{\"resourceType\":\"Immunization\",\"status\":\"completed\","
	"\"vaccineCode\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"150\","
	"\"display\":\"influenza, injectable, quadrivalent, preservative free\"}]},"
	"\"patient\":{\"display\":\"Matrix Patient\"},\"occurrenceDateTime\":\"2025-01-29T10:30:00Z\","
	"\"lotNumber\":\"M4TR1X\"}";

/* POST @p body (JSON) to @p path as @p who; the answer in @p r; 0 when it is @p want. */
static int post_as(struct http_res *r, const char *who, const char *path, const char *body, long want)
{
	char tok[PHR_API_TOKEN_LEN], url[256];

	api_fx_token(&fx, tok, who);
	snprintf(url, sizeof(url), "%s%s", fx.base, path);
	if (http_do(r, "POST", url, tok, body ? "application/json" : NULL, body,
		    body ? strlen(body) : 0, NULL) != 0)
		return -1;
	if (r->status != want) {
		fprintf(stderr, "setup: POST %s as %s: %ld (%s)\n", path, who, r->status,
			r->body ? (const char *)r->body : "");
		http_res_release(r);
		return -1;
	}
	return 0;
}

/* The clinic mints a record of @p type with @p text for the patient; its id in @p id. */
static int mint(char *id, size_t cap, int type, const char *text)
{
	json_t *b = json_pack("{s:s,s:i,s:s}", "patient", patient, "type", type, "text", text);
	char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
	struct http_res r;
	int rv;

	json_decref(b);
	if (s == NULL)
		return -1;
	rv = post_as(&r, "clinic", "/api/v1/records", s, 201);
	free(s);
	if (rv != 0)
		return -1;
	snprintf(id, cap, "%s", json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
	return id[0] ? 0 : -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '`')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '`'))
		*--e = '\0';
	return s;
}

static void load_table(void)
{
	char path[600], line[512];
	const char *src = getenv("PHR_SOURCE_DIR");
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/authz-matrix.md", src ? src : ".");
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *cells[8], *save = NULL, *c;
		size_t n = 0;
		struct row *r;
		if (strncmp(line, "| `", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (c = strtok_r(line, "|", &save); c != NULL && n < 8; c = strtok_r(NULL, "|", &save))
			cells[n++] = trim(c);
		assert_int_equal(n, 6);
		assert_true(n_rows < MAX_ROWS);
		r = &rows[n_rows++];
		assert_int_equal(sscanf(cells[0], "%7s %127s", r->method, r->path), 2);
		snprintf(r->role, sizeof(r->role), "%s", cells[1]);
		for (int i = 0; i < 4; i++)
			r->want[i] = strtol(cells[2 + i], NULL, 10);
	}
	fclose(f);
}

/* The patient deposits an emergency summary with this node (holder 1 of 2, threshold 2),
 * signed with its own key: the dev identities are BIP-32 keys of the well-known test
 * mnemonic (src/phr/dev.c), the patient at index 3. */
static int deposit_escrow(void)
{
	static const char summary[] = "{\"resourceType\":\"Bundle\",\"type\":\"collection\"}";
	struct phr_escrow_holder h[2];
	const struct phr_identity *me = NULL;
	uint8_t *sk = sodium_malloc(32);
	json_t *deps = NULL;
	const char *body;
	uint64_t now = 0;
	int rv;

	if (sk == NULL)
		return -1;
	memset(h, 0, sizeof(h));
	rv = phr_bip32_eth_key(sk, "test test test test test test test test test test test junk", 3);
	if (rv == PHR_OK)
		rv = phr_escrow_holder_identity(fx.node, &me);
	if (rv == PHR_OK)
		rv = phr_node_chain_time(fx.node, &now);
	if (rv == PHR_OK) {
		snprintf(h[0].url, sizeof(h[0].url), "%s", fx.base);
		memcpy(h[0].address, me->address, 20);
		memcpy(h[0].box_pk, me->box_pk, 32);
		snprintf(h[1].url, sizeof(h[1].url), "http://127.0.0.1:9");
		memset(h[1].address, 0x11, 20);
		randombytes_buf(h[1].box_pk, 32);
		rv = phr_emergency_prepare(&deps, NULL, sk, NULL, (const uint8_t *)summary,
					   strlen(summary), 2, h, 2, NULL, NULL, 0, now);
	}
	sodium_free(sk);
	if (rv != PHR_OK)
		return -1;
	body = json_string_value(json_object_get(json_array_get(deps, 0), "body"));
	rv = body ? phr_escrow_deposit(fx.node, phr_node_identity_by_name(fx.node, "patient")->address,
				       body, strlen(body))
		  : PHR_ERR_INVALID;
	json_decref(deps);
	return rv == PHR_OK ? 0 : -1;
}

static int setup(void **state)
{
	char path[160], body[256], emergency[PHR_ETH_ADDRESS_STR_LEN];
	struct http_res r;

	(void)state;
	load_table();
	if (api_fx_start(&fx, false) != 0)
		return -1;
	phr_eth_address_checksum(patient, phr_node_identity_by_name(fx.node, "patient")->address);
	phr_eth_address_checksum(clinic, phr_node_identity_by_name(fx.node, "clinic")->address);
	phr_eth_address_checksum(provider, phr_node_identity_by_name(fx.node, "provider")->address);
	phr_eth_address_checksum(emergency, phr_node_identity_by_name(fx.node, "emergency")->address);
	/* records minted by another provider (the clinic): a lab note, and a vaccination
	 * the clinic attests as a milestone */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"write\",\"duration\":2592000}", clinic);
	if (post_as(&r, "patient", "/api/v1/access/grants", body, 201) != 0)
		return -1;
	http_res_release(&r);
	if (mint(record, sizeof(record), 5, "matrix record") != 0 ||
	    mint(vaccination, sizeof(vaccination), 1, immunization) != 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", vaccination);
	if (post_as(&r, "clinic", path, NULL, 201) != 0)
		return -1;
	http_res_release(&r);
	/* a study sponsored by the clinic (custodians: clinic, provider, emergency) */
	snprintf(body, sizeof(body),
		 "{\"name\":\"matrix-study\",\"bits\":8,\"t\":2,\"custodians\":[\"%s\",\"%s\",\"%s\"]}",
		 clinic, provider, emergency);
	if (post_as(&r, "clinic", "/api/v1/studies", body, 201) != 0)
		return -1;
	http_res_release(&r);
	return deposit_escrow();
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static void subst(char *out, size_t cap, const char *tmpl)
{
	size_t o = 0;

	for (const char *p = tmpl; *p && o + 64 < cap; p++) {
		if (strncmp(p, "{study}", 7) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "matrix-study");
			p += 6;
		} else if (strncmp(p, "{vaccination}", 13) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", vaccination);
			p += 12;
		} else if (strncmp(p, "{provider}", 10) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", provider);
			p += 9;
		} else if (strncmp(p, "{id}", 4) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", record);
			p += 3;
		} else if (strncmp(p, "{address}", 9) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", patient);
			p += 8;
		} else if (strncmp(p, "{patient}", 9) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", patient);
			p += 8;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static void check_state(int col, const char *name)
{
	size_t bad = 0;

	for (size_t i = 0; i < n_rows; i++) {
		struct row *w = &rows[i];
		char tok[PHR_API_TOKEN_LEN], url[400], path[300], body[300];
		size_t plen = strlen(w->path);
		const char *json = NULL;
		struct http_res r;

		if (strcmp(w->role, "anonymous") != 0)
			api_fx_token(&fx, tok, w->role);
		subst(path, sizeof(path), w->path);
		snprintf(url, sizeof(url), "%s%s", fx.base, path);
		if (strcmp(w->path, "/api/v1/records") == 0) {
			snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"matrix\"}",
				 patient);
			json = body;
		} else if (strcmp(w->path, "/api/v1/providers/verify") == 0) {
			snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", clinic);
			json = body;
		} else if (plen > 4 && strcmp(w->path + plen - 4, "/shc") == 0) {
			snprintf(body, sizeof(body),
				 "{\"patient\":{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
				 "\"Matrix\",\"given\":[\"Pat\"]}],\"birthDate\":\"1951-01-20\"}}");
			json = body;
		} else if (strcmp(w->path, "/api/v1/access/grants") == 0) {
			snprintf(body, sizeof(body),
				 "{\"patient\":\"%s\",\"provider\":\"%s\",\"level\":\"read\",\"duration\":2592000}",
				 patient, clinic);
			json = body;
		}
		assert_int_equal(http_do(&r, w->method, url,
					 strcmp(w->role, "anonymous") ? tok : NULL,
					 json ? "application/json" : NULL, json, json ? strlen(json) : 0,
					 NULL),
				 0);
		if (r.status != w->want[col] ||
		    (r.status >= 400 && !http_is_problem(&r, r.status))) {
			fprintf(stderr, "[%s] %s %s as %s: %ld, table says %ld (%s)\n", name, w->method,
				w->path, w->role, r.status, w->want[col],
				r.body ? (const char *)r.body : "");
			bad++;
		}
		http_res_release(&r);
	}
	assert_int_equal(bad, 0);
}

static void grant_provider(const char *extra)
{
	char tok[PHR_API_TOKEN_LEN], url[256], body[256], prov[PHR_ETH_ADDRESS_STR_LEN];
	struct http_res r;

	api_fx_token(&fx, tok, "patient");
	phr_eth_address_checksum(prov, phr_node_identity_by_name(fx.node, "provider")->address);
	if (extra == NULL) {
		snprintf(url, sizeof(url), "%s/api/v1/access/revoke", fx.base);
		snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", prov);
	} else {
		snprintf(url, sizeof(url), "%s/api/v1/access/grants", fx.base);
		snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"write\",%s}", prov, extra);
	}
	assert_int_equal(http_do(&r, "POST", url, tok, "application/json", body, strlen(body), NULL), 0);
	assert_true(r.status == 200 || r.status == 201);
	http_res_release(&r);
}

static void test_matrix(void **state)
{
	const char *roles[] = { "patient", "provider", "emergency", "authority", "auditor", "operator",
				"anonymous" };

	(void)state;
	/* the table covers every role for each endpoint it lists */
	assert_true(n_rows >= 7);
	assert_int_equal(n_rows % 7, 0);
	for (size_t i = 0; i < n_rows; i++)
		assert_string_equal(rows[i].role, roles[i % 7]);
	check_state(0, "none");
	grant_provider("\"duration\":86400");
	check_state(1, "active");
	grant_provider(NULL);
	check_state(3, "revoked");
	grant_provider("\"duration\":60");
	assert_int_equal(phr_node_advance_time(fx.node, 120), PHR_OK);
	check_state(2, "expired");
}

/* @p in without "/api/v1" and with every {name} as {}, into a new string. */
static char *normalized(const char *in)
{
	size_t n = strlen(in), o = 0;
	char *out = malloc(n + 1);

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(in + i, "/api/v1", 7) == 0) {
			i += 6;
		} else if (in[i] == '{' && strchr(in + i, '}') != NULL &&
			   (size_t)(strchr(in + i, '}') - (in + i)) < 24) {
			out[o++] = '{';
			out[o++] = '}';
			i = (size_t)(strchr(in + i, '}') - in);
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return out;
}

static bool path_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("/{}._-", ch) != NULL;
}

/* @p path (normalized) appears in @p doc as a whole path. */
static bool listed(const char *doc, const char *path)
{
	size_t n = strlen(path);

	for (const char *p = strstr(doc, path); p != NULL; p = strstr(p + 1, path))
		if (p > doc && (p[-1] == ' ' || p[-1] == '`') && !path_char(p[n]))
			return true;
	return false;
}

static char *slurp(const char *rel)
{
	char path[600];
	const char *src = getenv("PHR_SOURCE_DIR");
	struct phr_buf b;
	char *out;

	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	phr_buf_init(&b, 0);
	assert_int_equal(phr_file_read(&b, path, 1 << 20), PHR_OK);
	assert_int_equal(phr_buf_append(&b, "", 1), PHR_OK);
	out = strdup((const char *)b.data);
	phr_buf_release(&b);
	assert_non_null(out);
	return out;
}

/* Every route of the API is in the table or in the list of routes left out of it. */
static void test_routes_listed(void **state)
{
	char *routes = slurp("src/api/routes.c"), *raw = slurp("docs/authz-matrix.md");
	char *doc = normalized(raw);
	const char *line = routes;
	size_t seen = 0, missing = 0;

	(void)state;
	for (; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char method[8], path[128], *norm;
		if (sscanf(line, " { \"%7[A-Z]\", \"%127[^\"]\"", method, path) != 2)
			continue;
		seen++;
		norm = normalized(path);
		if (!listed(doc, norm)) {
			fprintf(stderr, "%s %s is neither in the table nor in the list of routes left out\n",
				method, path);
			missing++;
		}
		free(norm);
	}
	assert_true(seen >= 70);
	assert_int_equal(missing, 0);
	free(doc);
	free(raw);
	free(routes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_listed),
		cmocka_unit_test(test_matrix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
