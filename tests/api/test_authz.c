/*
 * The authorization matrix of docs/authz-matrix.md, checked cell by cell:
 * every listed endpoint x role x state of the provider's grant (none,
 * active, revoked, expired) against a running API on an embedded chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test_util.h"
#include "phr/crypto.h"

#define MAX_ROWS 160

struct row {
	char method[8], path[96], role[16];
	long want[4]; /* none, active, expired, revoked */
};

static struct api_fx fx;
static struct row rows[MAX_ROWS];
static size_t n_rows;
static char patient[PHR_ETH_ADDRESS_STR_LEN], clinic[PHR_ETH_ADDRESS_STR_LEN], record[32];

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
		assert_int_equal(sscanf(cells[0], "%7s %95s", r->method, r->path), 2);
		snprintf(r->role, sizeof(r->role), "%s", cells[1]);
		for (int i = 0; i < 4; i++)
			r->want[i] = strtol(cells[2 + i], NULL, 10);
	}
	fclose(f);
}

static int setup(void **state)
{
	char tok[PHR_API_TOKEN_LEN], url[256], body[256];
	struct http_res r;

	(void)state;
	load_table();
	if (api_fx_start(&fx, false) != 0)
		return -1;
	phr_eth_address_checksum(patient, phr_node_identity_by_name(fx.node, "patient")->address);
	phr_eth_address_checksum(clinic, phr_node_identity_by_name(fx.node, "clinic")->address);
	/* a record minted by another provider (the clinic) */
	api_fx_token(&fx, tok, "patient");
	snprintf(url, sizeof(url), "%s/api/v1/access/grants", fx.base);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"write\",\"duration\":2592000}", clinic);
	if (http_do(&r, "POST", url, tok, "application/json", body, strlen(body), NULL) != 0 || r.status != 201)
		return -1;
	http_res_release(&r);
	api_fx_token(&fx, tok, "clinic");
	snprintf(url, sizeof(url), "%s/api/v1/records", fx.base);
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"matrix record\"}", patient);
	if (http_do(&r, "POST", url, tok, "application/json", body, strlen(body), NULL) != 0 || r.status != 201)
		return -1;
	snprintf(record, sizeof(record), "%s", json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
	return 0;
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
		if (strncmp(p, "{id}", 4) == 0) {
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
