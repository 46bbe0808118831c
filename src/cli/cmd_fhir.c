/*
 * `phr fhir`: FHIR utilities. For now `check-code SYSTEM CODE` and
 * `check-resource FILE`, the terminology checks the FHIR server applies to
 * every Coding; `validate FILE...`, validation against the R4 definitions.
 */
#include <phr/fhir_validate.h>
#include <phr/json.h>
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

static const char resource_usage[] =
	"usage: phr fhir check-resource FILE\n"
	"\n"
	"Checks every code (each object with \"system\" and \"code\") in the FHIR\n"
	"resource or Bundle in FILE (JSON; \"-\" reads stdin) and prints one line per\n"
	"invalid code: its element path, system, code and reason. Exit status 1 when\n"
	"any code is invalid.\n";

/* Loads the JSON document in @p path ("-": stdin). */
static int load_json(json_t **out, char *err, size_t err_cap, const char *path)
{
	if (strcmp(path, "-") != 0)
		return phr_json_load_file(out, err, err_cap, path, (size_t)64 << 20);
	json_error_t je;
	*out = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
	if (*out)
		return PHR_OK;
	snprintf(err, err_cap, "stdin: line %d: %s", je.line, je.text);
	return PHR_ERR_PARSE;
}

static void print_issue(void *ctx, const char *path, const char *system, const char *code, const char *reason)
{
	(void)ctx;
	printf("%s: %s|%s: %s\n", path, system, code, reason);
}

static int cmd_check_resource(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(resource_usage, stdout);
		return PHR_EXIT_OK;
	}
	if (argc != 2) {
		fputs(resource_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	json_t *res = NULL;
	char err[256];
	int rc = load_json(&res, err, sizeof(err), argv[1]);
	if (rc != PHR_OK) {
		phr_cli_error("%s", err);
		return PHR_EXIT_FAIL;
	}
	size_t n = 0;
	rc = phr_fhir_term_check_resource(&n, res, print_issue, NULL);
	json_decref(res);
	if (rc != PHR_OK) {
		phr_cli_error("%s: %s", argv[1], phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	if (n == 0)
		puts("ok");
	return n ? PHR_EXIT_FAIL : PHR_EXIT_OK;
}

static const char validate_usage[] =
	"usage: phr fhir validate FILE...\n"
	"\n"
	"Validates each FHIR R4 resource (JSON; \"-\" reads stdin) against the official\n"
	"definitions (elements, types, cardinality, formats, required bindings) and the\n"
	"terminology checks, and prints one JSON verdict per line:\n"
	"  {\"file\": FILE, \"valid\": true|false, \"issues\": [OperationOutcome.issue...]}\n"
	"A file that is not JSON gets valid false and one issue of code \"structure\".\n"
	"Exit status 1 when any file is invalid.\n";

static int cmd_validate(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(validate_usage, stdout);
		return PHR_EXIT_OK;
	}
	if (argc < 2) {
		fputs(validate_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	int status = PHR_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		json_t *res = NULL, *issues = NULL;
		char err[256];
		int rc = load_json(&res, err, sizeof(err), argv[i]);
		if (rc == PHR_OK)
			rc = phr_fhir_validate(&issues, res);
		else if ((issues = json_array()) != NULL)
			rc = json_array_append_new(issues, json_pack("{s:s,s:s,s:s,s:[s]}", "severity", "error", "code",
								      "structure", "diagnostics", err, "expression",
								      "$")) == 0
				     ? PHR_ERR_INVALID
				     : PHR_ERR_NOMEM;
		json_decref(res);
		if (rc != PHR_OK && rc != PHR_ERR_INVALID) {
			json_decref(issues);
			phr_cli_error("%s: %s", argv[i], phr_strerror(rc));
			return PHR_EXIT_FAIL;
		}
		json_t *verdict = json_pack("{s:s,s:b,s:o}", "file", argv[i], "valid", rc == PHR_OK, "issues", issues);
		char *line = verdict ? json_dumps(verdict, JSON_COMPACT) : NULL;
		json_decref(verdict);
		if (!line) {
			phr_cli_error("%s: %s", argv[i], phr_strerror(PHR_ERR_NOMEM));
			return PHR_EXIT_FAIL;
		}
		puts(line);
		free(line);
		if (rc != PHR_OK)
			status = PHR_EXIT_FAIL;
	}
	return status;
}

static const struct phr_cli_cmd fhir_subs[] = {
	{ "check-code", "check a code against its code system's rules", cmd_check_code },
	{ "check-resource", "check every code in a FHIR resource or Bundle", cmd_check_resource },
	{ "validate", "validate FHIR resources against the R4 definitions", cmd_validate },
	{ NULL, NULL, NULL },
};

int phr_cmd_fhir(int argc, char **argv)
{
	return phr_cli_dispatch("phr fhir",
				"usage: phr fhir <command> [args]\n",
				fhir_subs, argc, argv);
}
