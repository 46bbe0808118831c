/* `phr audit`: the audit trail of a patient or of one record, over a node's API. */
#include <stdio.h>
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

int phr_cmd_audit(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *patient = NULL, *record = NULL;
	bool denials = false;
	char path[256], me[64];

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
