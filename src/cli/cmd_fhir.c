/*
 * `phr fhir`: FHIR utilities. For now `check-code SYSTEM CODE`, the
 * terminology check the FHIR server applies to every Coding.
 */
#include <phr/terminology.h>

#include "cli.h"

int phr_cmd_fhir(int argc, char **argv);

static const char check_usage[] =
	"usage: phr fhir check-code SYSTEM CODE\n"
	"\n"
	"Checks CODE against the rules of code system SYSTEM and prints \"ok\" or\n"
	"the reason it is invalid (exit status 1).\n"
	"  " PHR_FHIR_SYSTEM_ICD10CM "  code structure\n"
	"  " PHR_FHIR_SYSTEM_SNOMED "             Verhoeff check digit, concept partition\n"
	"  " PHR_FHIR_SYSTEM_LOINC "                   mod-10 check digit (published exceptions kept)\n"
	"  " PHR_FHIR_SYSTEM_CVX "        member of the FHIR R4 vaccine-code value set\n"
	"  any other system                    accepted as-is (non-empty)\n";

static int cmd_check_code(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(check_usage, stdout);
		return PHR_EXIT_OK;
	}
	if (argc != 3) {
		fputs(check_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	char reason[200];
	const char *display = NULL;
	if (phr_fhir_term_check(reason, sizeof(reason), argv[1], argv[2], strlen(argv[2])) != PHR_OK) {
		printf("invalid: %s\n", reason);
		return PHR_EXIT_FAIL;
	}
	if (phr_fhir_term_system_of(argv[1]) == PHR_FHIR_TERM_CVX &&
	    phr_fhir_cvx_lookup(&display, argv[2], strlen(argv[2])) == PHR_OK)
		printf("ok: %s\n", display);
	else
		puts("ok");
	return PHR_EXIT_OK;
}

static const struct phr_cli_cmd fhir_subs[] = {
	{ "check-code", "check a code against its code system's rules", cmd_check_code },
	{ NULL, NULL, NULL },
};

int phr_cmd_fhir(int argc, char **argv)
{
	return phr_cli_dispatch("phr fhir",
				"usage: phr fhir <command> [args]\n",
				fhir_subs, argc, argv);
}
