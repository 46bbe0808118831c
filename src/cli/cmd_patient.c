/* `phr patient register|me`: the caller's registration and roles, over a node's API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"

int phr_cmd_patient(int argc, char **argv);

static const char usage[] =
	"usage: phr patient register|me [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"  register  registers the signed-in identity as a patient, publishing its X25519\n"
	"            encryption key in PatientRegistry (the node signs with the keys it hosts)\n"
	"  me        the signed-in address, its roles from the registries, TOTP state\n";

int phr_cmd_patient(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (phr_cli_api_opt(&a, &i, argc, argv) != 1) {
			phr_cli_error("patient: unexpected %s", argv[i]);
			return PHR_EXIT_USAGE;
		}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(sub, "register") == 0)
		return phr_cli_api_print(&a, "POST", "/api/v1/patients", NULL, NULL);
	if (strcmp(sub, "me") == 0)
		return phr_cli_api_print(&a, "GET", "/api/v1/me", NULL, NULL);
	phr_cli_error("patient: unknown subcommand %s", sub);
	return PHR_EXIT_USAGE;
}
