/*
 * `phr export`: the GDPR access/portability export of the signed-in hosted
 * patient (GET /api/v1/patients/{me}/export?part=all, one TOTP code), written
 * into a directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/api.h"
#include "phr/compliance.h"
#include "phr/json.h"

int phr_cmd_export(int argc, char **argv);

static const char usage[] =
	"usage: phr export --out DIR [--totp CODE] [node options]\n"
	"\n"
	"Everything the node holds about the signed-in patient (GDPR Art. 15 and 20),\n"
	"into DIR (created 0700; files 0600): bundle.json (a FHIR Bundle of every\n"
	"live record, decrypted by the node with the patient's hosted key),\n"
	"bundle.ndjson, records.car (the encrypted originals and key capsules, a\n"
	"signed backup bundle: phr backup verify / restore), access-log.json and\n"
	"access-log.csv (who, when, what, why, from the on-chain audit trail).\n"
	"The node asks for the second factor (--totp) of an account that enrolled one.\n";

static int put(const char *dir, const char *name, const void *data, size_t n)
{
	char file[1024];
	int rv;

	if (snprintf(file, sizeof(file), "%s/%s", dir, name) >= (int)sizeof(file)) {
		phr_cli_error("export: --out is too long");
		return -1;
	}
	if ((rv = phr_file_write_atomic(file, data, n, 0600)) != PHR_OK) {
		phr_cli_error("export: writing %s: %s", file, phr_strerror(rv));
		return -1;
	}
	printf("%s\t%zu bytes\n", file, n);
	return 0;
}

static int put_json(const char *dir, const char *name, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc;

	if (s == NULL)
		return -1;
	rc = put(dir, name, s, strlen(s));
	sodium_memzero(s, strlen(s));
	free(s);
	return rc;
}

/* Writes the five files of one export answer. */
static int write_export(const json_t *ex, const char *dir)
{
	const json_t *bundle = json_object_get(ex, "bundle"), *log = json_object_get(ex, "accessLog");
	const char *car = json_string_value(json_object_get(ex, "car"));
	struct phr_buf b;
	uint8_t *bin = NULL;
	size_t blen = 0, cap;
	int rc = -1;

	if (!json_is_object(bundle) || !json_is_array(log) || car == NULL) {
		phr_cli_error("export: the node's answer is not an export");
		return -1;
	}
	phr_buf_init(&b, 0);
	cap = strlen(car) / 4 * 3 + 3;
	if ((bin = phr_malloc(cap)) == NULL ||
	    sodium_base642bin(bin, cap, car, strlen(car), NULL, &blen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		phr_cli_error("export: the CAR is not base64");
		goto out;
	}
	if (put_json(dir, "bundle.json", bundle) != 0 ||
	    phr_compliance_bundle_ndjson(&b, bundle) != PHR_OK ||
	    put(dir, "bundle.ndjson", b.data, b.len) != 0)
		goto out;
	sodium_memzero(b.data, b.len);
	phr_buf_reset(&b);
	if ((blen > 0 && put(dir, "records.car", bin, blen) != 0) ||
	    put_json(dir, "access-log.json", log) != 0 || phr_compliance_rows_csv(&b, log) != PHR_OK ||
	    put(dir, "access-log.csv", b.data, b.len) != 0)
		goto out;
	rc = 0;
out:
	if (b.data != NULL)
		sodium_memzero(b.data, b.len);
	phr_buf_release(&b);
	phr_free(bin);
	return rc;
}

int phr_cmd_export(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *out = NULL, *totp = NULL;
	char me[64], hdr[64], path[160];
	struct phr_buf resp;
	json_t *ex = NULL;
	long status = 0;
	int rv, rc = PHR_EXIT_FAIL;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PHR_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (t > 0)
			continue;
		if (i + 1 < argc && strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--totp") == 0)
			totp = argv[++i];
		else {
			phr_cli_error("export: unexpected %s (see phr export --help)", argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	if (out == NULL) {
		phr_cli_error("export: --out DIR is required");
		return PHR_EXIT_USAGE;
	}
	if (totp != NULL && (strspn(totp, "0123456789") != strlen(totp) || strlen(totp) > 9)) {
		phr_cli_error("export: --totp takes the digits of the code");
		return PHR_EXIT_USAGE;
	}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if (phr_cli_api_me(&a, me) != 0)
		return PHR_EXIT_FAIL;
	if (phr_mkdir_p(out, 0700) != PHR_OK) {
		phr_cli_error("export: cannot create %s", out);
		return PHR_EXIT_FAIL;
	}
	snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %s", totp ? totp : "");
	snprintf(path, sizeof(path), "/api/v1/patients/%s/export?part=all", me);
	phr_buf_init(&resp, (size_t)768 << 20);
	rv = phr_api_client_call(&status, &resp, a.node, "GET", path, a.token, NULL, NULL, 0,
				 totp ? hdr : NULL);
	if (rv != PHR_OK)
		phr_cli_error("export: %s", phr_strerror(rv));
	else if (status != 200)
		phr_cli_error("export: HTTP %ld: %.*s", status, (int)(resp.len < 300 ? resp.len : 300),
			      (const char *)resp.data);
	else if (phr_json_parse(&ex, NULL, 0, (const char *)resp.data, resp.len) != PHR_OK)
		phr_cli_error("export: the node answered something that is not JSON");
	else if (write_export(ex, out) == 0)
		rc = PHR_EXIT_OK;
	json_decref(ex);
	if (resp.data != NULL)
		sodium_memzero(resp.data, resp.len);
	phr_buf_release(&resp);
	return rc;
}
