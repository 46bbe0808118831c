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
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/phr.h"
#include "phr/json.h"

int phr_cmd_export(int argc, char **argv);

static const char usage[] =
	"usage: phr export --out DIR [--totp CODE] [node options]\n"
	"       phr export --out DIR --keystore FILE [--password-file F] [--chain-rpc URL]\n"
	"\n"
	"Everything the node holds about the signed-in patient (GDPR Art. 15 and 20),\n"
	"into DIR (created 0700; files 0600): bundle.json (a FHIR Bundle of every\n"
	"live record, decrypted by the node with the patient's hosted key),\n"
	"bundle.ndjson, records.car (the encrypted originals and key capsules, a\n"
	"signed backup bundle: phr backup verify / restore), access-log.json and\n"
	"access-log.csv (who, when, what, why, from the on-chain audit trail).\n"
	"The node asks for the second factor (--totp) of an account that enrolled one.\n"
	"\n"
	"With --keystore (a patient who holds her own key): each record's View is\n"
	"logged on chain with her key, its key capsule and ciphertext are fetched and\n"
	"decrypted here (nothing in clear leaves this machine); bundle.json,\n"
	"bundle.ndjson and the access log are written (the encrypted originals stay\n"
	"on the node: phr backup).\n";

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
		/* car "" : a keystore export, no CAR */
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

/* One record opened with the keystore's key: View logged with it, capsule and ciphertext
 * from the node, decrypted and checked against the chain here. Appends to @p entries. */
static int local_record(struct phr_cli_api *a, struct phr_cli_local *l, json_t *entries,
			const char *id, const uint8_t bpk[32], const uint8_t *bsk)
{
	struct phr_chain_receipt r;
	struct phr_u256 rid;
	struct phr_buf cd, ct, pt;
	uint8_t *key = sodium_malloc(32), capsule[80], patient[20], h[32], want[32];
	char path[512], txh[PHR_HEX_LEN(32, true)];
	const char *s;
	json_t *j = NULL, *res;
	size_t n;
	int rc = -1;

	phr_buf_init(&cd, 0);
	phr_buf_init(&ct, PHR_RECORD_MAX + 4096);
	phr_buf_init(&pt, PHR_RECORD_MAX + 64);
	if (key == NULL || phr_u256_parse(&rid, id) != 0)
		goto out;
	/* the salted hash from the chain itself, not from the node */
	{
		struct phr_u256 sup, sby;
		struct phr_buf rres, cidb;
		uint64_t rtype = 0, created = 0;
		uint8_t prov[20];
		int rv;
		phr_buf_init(&rres, 0);
		phr_buf_init(&cidb, 256);
		rv = phr_contracts_health_record_nft_record_of_encode(&cd, &rid);
		if (rv == PHR_OK)
			rv = phr_chain_call(l->chain, &rres, NULL, l->d->nft, cd.data, cd.len);
		if (rv == PHR_OK)
			rv = phr_contracts_health_record_nft_record_of_decode(
				patient, &rtype, &created, prov, &sup, &sby, want, &cidb, rres.data,
				rres.len);
		phr_buf_release(&rres);
		phr_buf_release(&cidb);
		phr_buf_reset(&cd);
		if (rv != PHR_OK || phr_u256_is_zero(&rid) || sodium_is_zero(patient, 20))
			goto out; /* burnt (no patient any more) */
	}
	if (phr_contracts_audit_trail_log_access_encode(&cd, patient, &rid, 0, 6) != PHR_OK ||
	    phr_cli_local_send(l, &r, l->d->audit, &cd, "logging the View") != 0)
		goto out;
	rc = phr_hex_encode(txh, sizeof(txh), r.tx_hash, 32, true) == PHR_OK ? 0 : -1;
	phr_chain_receipt_release(&r);
	if (rc != 0)
		goto out;
	rc = -1;
	snprintf(path, sizeof(path), "/api/v1/records/%s?auditTx=%s&purpose=6", id, txh);
	if (phr_cli_api_call(a, &j, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK ||
	    phr_json_get_hex(capsule, sizeof(capsule), &n, j, "capsule") != PHR_OK || n != 80) {
		phr_cli_error("export: record %s: no key capsule in the answer", id);
		goto out;
	}
	if (phr_json_get_str(&s, j, "ciphertext") == PHR_OK) {
		size_t bl = 0;
		if (phr_buf_reserve(&ct, strlen(s)) != PHR_OK ||
		    sodium_base642bin(ct.data, ct.cap, s, strlen(s), NULL, &bl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			goto out;
		ct.len = bl;
	} else {
		long status = 0;
		if (phr_json_get_str(&s, j, "cid") != PHR_OK)
			goto out;
		snprintf(path, sizeof(path), "/ipfs/%s", s);
		if (phr_api_client_call(&status, &ct, a->node, "GET", path, NULL, NULL, NULL, 0,
					NULL) != PHR_OK || status != 200)
			goto out;
	}
	if (phr_crypto_key_unwrap(key, capsule, bpk, bsk) != PHR_OK ||
	    phr_crypto_decrypt_buf(&pt, key, ct.data, ct.len) != PHR_OK || pt.len < 32) {
		phr_cli_error("export: record %s does not open with this key", id);
		goto out;
	}
	phr_keccak256(h, pt.data, pt.len);
	if (sodium_memcmp(h, want, 32) != 0) {
		phr_cli_error("export: record %s does not match its hash", id);
		goto out;
	}
	snprintf(path, sizeof(path), "urn:phr:record:%s", id);
	res = phr_compliance_record_resource(pt.data + 32, pt.len - 32);
	if (res != NULL &&
	    json_array_append_new(entries, json_pack("{s:s,s:o}", "fullUrl", path, "resource", res)) == 0)
		rc = 0;
out:
	if (pt.data != NULL)
		sodium_memzero(pt.data, pt.len);
	json_decref(j);
	phr_buf_release(&cd);
	phr_buf_release(&ct);
	phr_buf_release(&pt);
	if (key != NULL)
		sodium_free(key);
	return rc;
}

/* The keystore export: records decrypted here, the access log from the node. */
static int export_local(struct phr_cli_api *a, const char *out, const char *keystore,
			const char *pwfile, const char *chain_rpc)
{
	struct phr_cli_local l = { 0 };
	uint8_t bpk[32], *bsk = sodium_malloc(32);
	json_t *list = NULL, *log = NULL, *ex = NULL, *entries, *it;
	char path[200];
	size_t i;
	int rc = PHR_EXIT_FAIL;

	if (bsk == NULL || phr_cli_local_open(a, &l, keystore, pwfile, chain_rpc) != 0)
		goto out;
	if (phr_identity_box_keys(bpk, bsk, l.sk) != PHR_OK)
		goto out;
	ex = json_pack("{s:{s:s,s:s,s:[]},s:s}", "bundle", "resourceType", "Bundle", "type",
		       "collection", "entry", "car", "");
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", l.addr_s);
	if (ex == NULL || phr_cli_api_call(a, &list, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		goto out;
	entries = json_object_get(json_object_get(ex, "bundle"), "entry");
	json_array_foreach(json_object_get(list, "items"), i, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		if (id == NULL || json_is_true(json_object_get(it, "burned")))
			continue;
		if (local_record(a, &l, entries, id, bpk, bsk) != 0)
			phr_cli_error("export: record %s skipped (burnt, or not readable)", id);
	}
	snprintf(path, sizeof(path), "/api/v1/patients/%s/export?part=log", l.addr_s);
	if (phr_cli_api_call(a, &log, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK ||
	    json_object_set(ex, "accessLog", json_object_get(log, "items")) != 0)
		goto out;
	if (write_export(ex, out) == 0)
		rc = PHR_EXIT_OK;
out:
	json_decref(list);
	json_decref(log);
	json_decref(ex);
	if (bsk != NULL)
		sodium_free(bsk);
	phr_cli_local_close(a, &l);
	return rc;
}

int phr_cmd_export(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *out = NULL, *totp = NULL, *keystore = NULL, *pwfile = NULL, *chain_rpc = NULL;
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
		else if (i + 1 < argc && strcmp(argv[i], "--keystore") == 0)
			keystore = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--password-file") == 0)
			pwfile = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--chain-rpc") == 0)
			chain_rpc = argv[++i];
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
	if (phr_cli_api_ready(&a, keystore == NULL) != 0)
		return PHR_EXIT_USAGE;
	if (phr_mkdir_p(out, 0700) != PHR_OK) {
		phr_cli_error("export: cannot create %s", out);
		return PHR_EXIT_FAIL;
	}
	if (keystore != NULL)
		return export_local(&a, out, keystore, pwfile, chain_rpc);
	if (phr_cli_api_me(&a, me) != 0)
		return PHR_EXIT_FAIL;
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
