/* `phr milestone list|show|verify|attest|details`: health milestone tokens (seed §5) over a node's API. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"
#include "phr/milestone.h"

int phr_cmd_milestone(int argc, char **argv);

static const char usage[] =
	"usage: phr milestone list [--patient ADDRESS]\n"
	"       phr milestone show TOKEN\n"
	"       phr milestone verify TOKEN\n"
	"       phr milestone details TOKEN\n"
	"       phr milestone attest TOKEN [--keystore FILE [--password-file F]\n"
	"                                   (--details FILE | --from-record FHIR.json)]\n"
	"  common: [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"Milestones are record tokens of the types Vaccination, MajorProcedure,\n"
	"ChronicConditionAchievement and PreventiveCare. Their provider attests them\n"
	"with an EIP-712 signature; the details are sealed to the patient and the\n"
	"provider, and the public metadata carries no health data.\n"
	"\n"
	"  list     milestones of a patient (default: the signed-in address)\n"
	"  show     the public metadata of a milestone (no token needed)\n"
	"  verify   checks a milestone against the chain (token, type, provider,\n"
	"           dataHash, time, the provider's signature, the provider verified);\n"
	"           exit status 0 when valid, 1 when not\n"
	"  details  the sealed details, opened for the hosted patient or provider\n"
	"  attest   the provider attests a milestone: the node signs for a provider it\n"
	"           hosts; with --keystore the CLI signs the typed data itself, over the\n"
	"           details in --details (JSON) or derived from the FHIR resource that\n"
	"           was submitted (--from-record)\n";

static bool str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int read_json(json_t **out, const char *path)
{
	json_error_t e;

	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (*out == NULL) {
		phr_cli_error("%s: %s (line %d)", path, e.text, e.line);
		return -1;
	}
	return 0;
}

/* attest with the caller's own key: typed data from the node, signed here. */
static int attest_local(struct phr_cli_api *a, const char *token, const char *keystore,
			const char *pwfile, const char *details_file, const char *record_file)
{
	json_t *details = NULL, *typed = NULL, *body = NULL, *msg;
	uint8_t dh[32], sig[PHR_ETH_SIG_BYTES], *sk = sodium_malloc(32);
	char path[160], dh_s[PHR_HEX_LEN(32, true)], sig_s[PHR_HEX_LEN(PHR_ETH_SIG_BYTES, true)];
	int rc = PHR_EXIT_FAIL;

	if (sk == NULL || phr_crypto_init() != PHR_OK)
		goto out;
	if (details_file != NULL) {
		if (read_json(&details, details_file) != 0)
			goto out;
	} else {
		struct phr_buf b;
		phr_buf_init(&b, PHR_RECORD_MAX);
		if (phr_file_read(&b, record_file, PHR_RECORD_MAX) != PHR_OK) {
			phr_cli_error("%s: cannot read", record_file);
			phr_buf_release(&b);
			goto out;
		}
		if (phr_milestone_details(&details, b.data, b.len) != PHR_OK) {
			phr_buf_release(&b);
			goto out;
		}
		phr_buf_release(&b);
	}
	if (!json_is_object(details)) {
		phr_cli_error("the details must be a JSON object");
		goto out;
	}
	if (phr_milestone_details_hash(dh, details) != PHR_OK ||
	    phr_hex_encode(dh_s, sizeof(dh_s), dh, 32, true) != PHR_OK)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/milestones/%s/typed-data?detailsHash=%s", token, dh_s);
	if ((rc = phr_cli_api_call(a, &typed, "GET", path, NULL, NULL, 0, NULL)) != PHR_EXIT_OK)
		goto out;
	rc = PHR_EXIT_FAIL;
	/* what we sign must be about this token and these details, whatever the node says */
	msg = json_object_get(typed, "message");
	if (!str_is(json_object_get(msg, "tokenId"), token) ||
	    !str_is(json_object_get(msg, "detailsHash"), dh_s) ||
	    !str_is(json_object_get(typed, "primaryType"), "Milestone")) {
		phr_cli_error("the node's typed data is not for token %s and these details", token);
		goto out;
	}
	if (phr_cli_keystore_key(sk, keystore, pwfile) != 0)
		goto out;
	if (phr_eip712_sign(sig, typed, sk) != PHR_OK ||
	    phr_hex_encode(sig_s, sizeof(sig_s), sig, sizeof(sig), true) != PHR_OK) {
		phr_cli_error("cannot sign the milestone");
		goto out;
	}
	body = json_pack("{s:O,s:s}", "details", details, "signature", sig_s);
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", token);
	rc = body ? phr_cli_api_print(a, "POST", path, body, NULL) : PHR_EXIT_FAIL;
out:
	if (sk != NULL)
		sodium_free(sk);
	json_decref(details);
	json_decref(typed);
	json_decref(body);
	return rc;
}

static int verify(struct phr_cli_api *a, const char *token)
{
	char path[160];
	json_t *rep = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/milestones/%s/verify", token);
	if ((rc = phr_cli_api_call(a, &rep, "GET", path, NULL, NULL, 0, NULL)) != PHR_EXIT_OK)
		return rc;
	if (a->raw_json) {
		char *s = json_dumps(rep, JSON_COMPACT);
		if (s != NULL)
			puts(s);
		free(s);
	} else {
		const char *k;
		json_t *v;
		printf("milestone %s: %s\n", token,
		       json_is_true(json_object_get(rep, "valid")) ? "VALID" : "NOT VALID");
		json_object_foreach(json_object_get(rep, "checks"), k, v)
			printf("  %-17s %s\n", k, json_is_true(v) ? "ok" : "FAILED");
	}
	rc = json_is_true(json_object_get(rep, "valid")) ? PHR_EXIT_OK : PHR_EXIT_FAIL;
	json_decref(rep);
	return rc;
}

int phr_cmd_milestone(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *token = NULL, *patient = NULL;
	const char *keystore = NULL, *pwfile = NULL, *details = NULL, *record = NULL;
	struct phr_cli_api a = { 0 };
	char path[200], me[64];
	bool need_token;

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		if (t == 1)
			continue;
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (i + 1 < argc && strcmp(argv[i], "--patient") == 0)
			patient = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--keystore") == 0)
			keystore = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--password-file") == 0)
			pwfile = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--details") == 0)
			details = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--from-record") == 0)
			record = argv[++i];
		else if (argv[i][0] != '-' && token == NULL)
			token = argv[i];
		else {
			phr_cli_error("milestone: unexpected argument %s", argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") != 0 && (token == NULL || strspn(token, "0123456789") != strlen(token))) {
		phr_cli_error("milestone %s: a token id (decimal) is required", sub);
		return PHR_EXIT_USAGE;
	}
	if (keystore != NULL && (details == NULL) == (record == NULL)) {
		phr_cli_error("milestone attest --keystore needs one of --details or --from-record");
		return PHR_EXIT_USAGE;
	}
	need_token = strcmp(sub, "show") != 0 && strcmp(sub, "verify") != 0;
	if (phr_cli_api_ready(&a, need_token) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(sub, "list") == 0) {
		if (patient == NULL) {
			if (phr_cli_api_me(&a, me) != 0)
				return PHR_EXIT_FAIL;
			patient = me;
		}
		snprintf(path, sizeof(path), "/api/v1/patients/%s/milestones", patient);
		return phr_cli_api_print(&a, "GET", path, NULL, NULL);
	}
	if (strcmp(sub, "show") == 0) {
		snprintf(path, sizeof(path), "/api/v1/milestones/%s", token);
		return phr_cli_api_print(&a, "GET", path, NULL, NULL);
	}
	if (strcmp(sub, "verify") == 0)
		return verify(&a, token);
	if (strcmp(sub, "details") == 0) {
		snprintf(path, sizeof(path), "/api/v1/milestones/%s/details", token);
		return phr_cli_api_print(&a, "GET", path, NULL, NULL);
	}
	if (strcmp(sub, "attest") == 0) {
		if (keystore != NULL)
			return attest_local(&a, token, keystore, pwfile, details, record);
		snprintf(path, sizeof(path), "/api/v1/milestones/%s", token);
		return phr_cli_api_print(&a, "POST", path, NULL, NULL);
	}
	phr_cli_error("milestone: unknown subcommand %s", sub);
	return PHR_EXIT_USAGE;
}
