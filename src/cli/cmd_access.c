/* `phr access grant|revoke|request|approve|deny|list`: grants and requests over a node's API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/json.h"

int phr_cmd_access(int argc, char **argv);

static const char usage[] =
	"usage: phr access grant --provider ADDR --level read|write|admin [--scope S]\n"
	"                        (--duration SECONDS | --expiry UNIXTIME) [--patient ADDR] [--totp CODE]\n"
	"       phr access revoke --provider ADDR [--scope S]\n"
	"       phr access request --patient ADDR --purpose N --duration SECONDS [--level L] [--scope S]\n"
	"       phr access approve|deny REQUEST_ID\n"
	"       phr access list [--patient ADDR] [--requests]\n"
	"  common: [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"Scopes S: all (default), category:N (a record type), record:ID.\n"
	"A grant wraps the data keys of the shared records to the provider's registered key.\n"
	"An Admin grant needs a TOTP code (--totp) once the caller has enrolled\n"
	"(POST /api/v1/me/totp). Purposes N: 0 Unspecified, 1 Treatment, 2 Payment,\n"
	"3 Operations, 4 Emergency, 5 Research, 6 PatientRequest, 7 Legal.\n";

static const char *const opts[] = { "--provider", "--patient", "--level", "--scope", "--duration",
				    "--expiry", "--purpose", "--totp" };

static json_t *scope_json(const char *s)
{
	uint64_t v;

	if (s == NULL || strcmp(s, "all") == 0)
		return json_string("all");
	if (strncmp(s, "category:", 9) == 0 && phr_parse_u64(&v, s + 9) == PHR_OK)
		return json_pack("{s:I}", "category", (json_int_t)v);
	if (strncmp(s, "record:", 7) == 0)
		return json_pack("{s:s}", "record", s + 7);
	return json_string(s);
}

static int set_u64(json_t *b, const char *key, const char *v)
{
	uint64_t x;

	if (v == NULL)
		return 0;
	if (phr_parse_u64(&x, v) != PHR_OK) {
		phr_cli_error("access: %s must be a number", key);
		return -1;
	}
	json_object_set_new(b, key, json_integer((json_int_t)x));
	return 0;
}

int phr_cmd_access(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL, *val[8] = { 0 }, *pos = NULL;
	bool requests = false;
	char path[256], me[64], hdr[64];
	json_t *b;
	int rc = PHR_EXIT_USAGE;

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		size_t j;
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--requests") == 0) {
			requests = true;
			continue;
		}
		if (argv[i][0] != '-') {
			pos = argv[i];
			continue;
		}
		for (j = 0; j < PHR_ARRAY_LEN(opts) && strcmp(opts[j], argv[i]) != 0; j++)
			;
		if (j == PHR_ARRAY_LEN(opts) || i + 1 >= argc) {
			phr_cli_error("access: bad option %s (see phr access --help)", argv[i]);
			return PHR_EXIT_USAGE;
		}
		val[j] = argv[++i];
	}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	b = json_object();
	if (b == NULL)
		return PHR_EXIT_FAIL;
	if (val[0])
		json_object_set_new(b, "provider", json_string(val[0]));
	if (val[1])
		json_object_set_new(b, "patient", json_string(val[1]));
	if (val[2])
		json_object_set_new(b, "level", json_string(val[2]));
	if (strcmp(sub, "grant") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		if (set_u64(b, "duration", val[4]) == 0 && set_u64(b, "expiry", val[5]) == 0) {
			snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %s", val[7] ? val[7] : "");
			rc = phr_cli_api_print(&a, "POST", "/api/v1/access/grants", b,
					       val[7] ? hdr : NULL);
		}
	} else if (strcmp(sub, "revoke") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		rc = phr_cli_api_print(&a, "POST", "/api/v1/access/revoke", b, NULL);
	} else if (strcmp(sub, "request") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		if (set_u64(b, "duration", val[4]) == 0 && set_u64(b, "purpose", val[6]) == 0)
			rc = phr_cli_api_print(&a, "POST", "/api/v1/access/requests", b, NULL);
	} else if (strcmp(sub, "approve") == 0 || strcmp(sub, "deny") == 0) {
		if (pos == NULL || strspn(pos, "0123456789") != strlen(pos)) {
			phr_cli_error("access %s: a numeric REQUEST_ID is required", sub);
		} else {
			snprintf(path, sizeof(path), "/api/v1/access/requests/%s/%s", pos, sub);
			rc = phr_cli_api_print(&a, "POST", path, NULL, NULL);
		}
	} else if (strcmp(sub, "list") == 0) {
		if (val[1] == NULL && phr_cli_api_me(&a, me) != 0) {
			rc = PHR_EXIT_FAIL;
		} else {
			snprintf(path, sizeof(path), "/api/v1/patients/%s/%s", val[1] ? val[1] : me,
				 requests ? "requests" : "grants");
			rc = phr_cli_api_print(&a, "GET", path, NULL, NULL);
		}
	} else {
		phr_cli_error("access: unknown subcommand %s", sub);
	}
	json_decref(b);
	return rc;
}
