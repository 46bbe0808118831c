/* `phr audit`: the audit trail of a patient or of one record, over a node's API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"

int phr_cmd_audit(int argc, char **argv);

static const char usage[] =
	"usage: phr audit [--patient ADDR | --record ID] [--denials]\n"
	"                 [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"The audit trail from the chain's AuditLogged events (who did what to which record,\n"
	"when and why), checked against the AuditTrail hash-chain head; by default the\n"
	"signed-in patient's. --record ID: who looked at one record. --denials: the\n"
	"attempts this node refused.\n";

static const char usage_sub[] =
	"usage: phr audit verify [--patient ADDR] [node options]\n"
	"       phr audit report [--actor ADDR] [--patient ADDR] [--purpose N] [--from T] [--to T]\n"
	"                        [--disclosures] [--format json|csv|fhir] [node options]\n"
	"       phr audit disclosures [--patient ADDR] [--from T] [--to T] [--format json|csv|fhir]\n"
	"       phr audit anomalies [--window S] [--baseline S] [--min-records N] [--factor N]\n"
	"\n"
	"verify: proves the audit trail complete and untampered (the chain's hash chain\n"
	"against AuditTrail.headOf/countOf, and the node's own copy row for row); exit 1\n"
	"when it is not. report: the organisation-wide audit report (auditors).\n"
	"disclosures: the HIPAA accounting of disclosures of a patient (default the\n"
	"signed-in one; six years). anomalies: runs the access anomaly rule (auditors).\n"
	"T is chain time in Unix seconds. docs/compliance.md.\n";

/* Appends "&key=value" (or "?key=value") when value is set; values are checked by the caller. */
static void q_add(char *path, size_t cap, const char *key, const char *value)
{
	size_t n = strlen(path);

	if (value != NULL && n < cap)
		snprintf(path + n, cap - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, value);
}

static bool q_safe(const char *v)
{
	return v == NULL || (*v != '\0' && strlen(v) < 64 &&
			     strspn(v, "0123456789abcdefABCDEFxtruefalsjonvhi") == strlen(v));
}

/* phr audit verify | report | disclosures | anomalies */
static int audit_sub(int argc, char **argv)
{
	static const char *const keys[] = { "--patient", "--actor",  "--purpose",
					     "--from",    "--to",     "--format",
					     "--window",  "--baseline", "--min-records",
					     "--factor" };
	static const char *const qnames[] = { "patient", "actor",  "purpose",  "from",
					       "to",      "format", "window", "baseline",
					       "minRecords", "factor" };
	const char *val[PHR_ARRAY_LEN(keys)] = { 0 };
	struct phr_cli_api a = { 0 };
	const char *sub = argv[1];
	bool disclosures = false;
	char path[512], me[64];
	json_t *out = NULL;
	int rc;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage_sub, stdout);
		return PHR_EXIT_OK;
	}
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		bool taken = false;
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--disclosures") == 0) {
			disclosures = true;
			continue;
		}
		for (size_t k = 0; k < PHR_ARRAY_LEN(keys) && !taken; k++)
			if (i + 1 < argc && strcmp(argv[i], keys[k]) == 0) {
				val[k] = argv[++i];
				taken = true;
			}
		if (!taken) {
			phr_cli_error("audit %s: unexpected %s (see phr audit verify --help)", sub,
				      argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	for (size_t k = 0; k < PHR_ARRAY_LEN(keys); k++)
		if (!q_safe(val[k])) {
			phr_cli_error("audit %s: bad value for %s", sub, keys[k]);
			return PHR_EXIT_USAGE;
		}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(sub, "verify") == 0) {
		snprintf(path, sizeof(path), "/api/v1/compliance/audit/verify");
		q_add(path, sizeof(path), "patient", val[0]);
		rc = phr_cli_api_call(&a, &out, "GET", path, NULL, NULL, 0, NULL);
		if (rc == PHR_EXIT_OK) {
			char *t = json_dumps(out, a.raw_json ? JSON_COMPACT : JSON_INDENT(2));
			if (t != NULL)
				puts(t);
			free(t);
			if (!json_is_true(json_object_get(out, "ok"))) {
				phr_cli_error("audit verify: the audit trail does NOT verify");
				rc = PHR_EXIT_FAIL;
			}
		}
		json_decref(out);
		return rc;
	}
	if (strcmp(sub, "disclosures") == 0) {
		if (val[0] == NULL && phr_cli_api_me(&a, me) != 0)
			return PHR_EXIT_FAIL;
		snprintf(path, sizeof(path), "/api/v1/patients/%s/disclosures",
			 val[0] != NULL ? val[0] : me);
		for (size_t k = 2; k < 6; k++)
			q_add(path, sizeof(path), qnames[k], val[k]);
	} else if (strcmp(sub, "report") == 0) {
		snprintf(path, sizeof(path), "/api/v1/compliance/report");
		for (size_t k = 0; k < 6; k++)
			q_add(path, sizeof(path), qnames[k], val[k]);
		if (disclosures)
			q_add(path, sizeof(path), "disclosures", "true");
	} else {
		snprintf(path, sizeof(path), "/api/v1/compliance/anomalies/scan");
		for (size_t k = 6; k < PHR_ARRAY_LEN(keys); k++)
			q_add(path, sizeof(path), qnames[k], val[k]);
		return phr_cli_api_print(&a, "POST", path, NULL, NULL);
	}
	if (val[5] != NULL && strcmp(val[5], "json") != 0) {
		a.raw_json = true;
		return phr_cli_api_call(&a, NULL, "GET", path, NULL, NULL, 0, NULL);
	}
	return phr_cli_api_print(&a, "GET", path, NULL, NULL);
}

int phr_cmd_audit(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *patient = NULL, *record = NULL;
	bool denials = false;
	char path[256], me[64];

	if (argc > 1 && (strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "report") == 0 ||
			 strcmp(argv[1], "disclosures") == 0 || strcmp(argv[1], "anomalies") == 0))
		return audit_sub(argc, argv);
	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		fputs("\n", stdout);
		fputs(usage_sub, stdout);
		return PHR_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--denials") == 0)
			denials = true;
		else if (i + 1 < argc && strcmp(argv[i], "--patient") == 0)
			patient = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--record") == 0)
			record = argv[++i];
		else {
			phr_cli_error("audit: unexpected %s (see phr audit --help)", argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if (record != NULL) {
		if (strspn(record, "0123456789") != strlen(record) || *record == '\0') {
			phr_cli_error("audit: --record needs a numeric id");
			return PHR_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/api/v1/records/%s/audit", record);
	} else {
		if (patient == NULL && phr_cli_api_me(&a, me) != 0)
			return PHR_EXIT_FAIL;
		if (patient != NULL && strspn(patient, "0123456789abcdefABCDEFx") != strlen(patient)) {
			phr_cli_error("audit: --patient needs a 0x address");
			return PHR_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/api/v1/patients/%s/%s", patient ? patient : me,
			 denials ? "denials" : "audit");
	}
	return phr_cli_api_print(&a, "GET", path, NULL, NULL);
}
