/*
 * `phr export`: the GDPR access/portability export of the signed-in hosted
 * patient (GET /api/v1/patients/{me}/export), written into a directory.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/api.h"

int phr_cmd_export(int argc, char **argv);

static const char usage[] =
	"usage: phr export --out DIR [--totp CODE] [node options]\n"
	"\n"
	"Everything the node holds about the signed-in patient (GDPR Art. 15 and 20),\n"
	"into DIR (created 0700; files 0600): bundle.json (a FHIR Bundle of every\n"
	"live record, decrypted by the node with the patient's hosted key),\n"
	"bundle.ndjson, records.car (the encrypted originals and key capsules, a\n"
	"signed backup bundle: phr backup restore / verify), access-log.json and\n"
	"access-log.csv (who, when, what, why, from the on-chain audit trail).\n"
	"Needs the second factor (--totp) when the account enrolled one.\n";

/* One part of the export into DIR/name; returns an exit status. */
static int fetch(struct phr_cli_api *a, const char *me, const char *part, const char *fmt,
		 const char *dir, const char *name, const char *hdr)
{
	struct phr_buf resp;
	char path[256], file[1024];
	long status = 0;
	int rv;

	snprintf(path, sizeof(path), "/api/v1/patients/%s/export?part=%s%s%s", me, part,
		 fmt ? "&format=" : "", fmt ? fmt : "");
	if (snprintf(file, sizeof(file), "%s/%s", dir, name) >= (int)sizeof(file)) {
		phr_cli_error("export: --out is too long");
		return PHR_EXIT_USAGE;
	}
	phr_buf_init(&resp, (size_t)512 << 20);
	rv = phr_api_client_call(&status, &resp, a->node, "GET", path, a->token, NULL, NULL, 0,
				 hdr);
	if (rv == PHR_OK && status != 200) {
		phr_cli_error("export %s: HTTP %ld: %.*s", part, status,
			      (int)(resp.len < 300 ? resp.len : 300), (const char *)resp.data);
		rv = PHR_ERR_FORBIDDEN;
	} else if (rv != PHR_OK) {
		phr_cli_error("export %s: %s", part, phr_strerror(rv));
	} else if ((rv = phr_file_write_atomic(file, resp.data, resp.len, 0600)) != PHR_OK) {
		phr_cli_error("export: writing %s: %s", file, phr_strerror(rv));
	} else {
		printf("%s\t%zu bytes\n", file, resp.len);
	}
	if (resp.data != NULL)
		sodium_memzero(resp.data, resp.len);
	phr_buf_release(&resp);
	return rv == PHR_OK ? PHR_EXIT_OK : PHR_EXIT_FAIL;
}

int phr_cmd_export(int argc, char **argv)
{
	static const struct {
		const char *part, *fmt, *name;
	} parts[] = {
		{ "bundle", NULL, "bundle.json" },  { "ndjson", NULL, "bundle.ndjson" },
		{ "car", NULL, "records.car" },     { "log", "json", "access-log.json" },
		{ "log", "csv", "access-log.csv" },
	};
	struct phr_cli_api a = { 0 };
	const char *out = NULL, *totp = NULL;
	char me[64], hdr[64];
	int rc = PHR_EXIT_OK;

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
	if (totp != NULL && strspn(totp, "0123456789") != strlen(totp)) {
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
	/* the Bundle first: the log that follows holds the export's own reads */
	for (size_t k = 0; k < PHR_ARRAY_LEN(parts) && rc == PHR_EXIT_OK; k++)
		rc = fetch(&a, me, parts[k].part, parts[k].fmt, out, parts[k].name,
			   totp ? hdr : NULL);
	return rc;
}
