/* `phr patient register|me`: the caller's registration and roles, over a node's API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/phr.h"

#include <sodium.h>

int phr_cmd_patient(int argc, char **argv);

static const char usage[] =
	"usage: phr patient register|me [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"       phr patient register --keystore FILE [--password-file F] [--chain-rpc URL] [--node URL]\n"
	"\n"
	"  register  registers the signed-in identity as a patient, publishing its X25519\n"
	"            encryption key in PatientRegistry (the node signs with the keys it hosts;\n"
	"            with --keystore the CLI derives the X25519 key and signs itself, and the\n"
	"            node only relays the signed transaction: POST /api/v1/tx; no prior\n"
	"            phr login needed). Reads use the node's /rpc, or --chain-rpc URL\n"
	"            ($PHR_CHAIN_RPC) when the node runs on an external chain\n"
	"  me        the signed-in address, its roles from the registries, TOTP state\n";

static int register_local(struct phr_cli_api *a, const char *keystore, const char *pwfile,
			  const char *chain_rpc)
{
	struct phr_cli_local l = { 0 };
	struct phr_buf cd;
	uint8_t *bsk = sodium_malloc(32), pk[32];
	char k_s[PHR_HEX_LEN(32, true)];
	int rc = PHR_EXIT_FAIL;

	phr_buf_init(&cd, 0);
	if (bsk == NULL || phr_cli_local_open(a, &l, keystore, pwfile, chain_rpc) != 0 ||
	    phr_identity_box_keys(pk, bsk, l.sk) != PHR_OK ||
	    phr_contracts_patient_registry_register_encode(&cd, pk) != PHR_OK ||
	    phr_cli_local_send(&l, NULL, l.d->registry, &cd, "patient register") != 0 ||
	    phr_hex_encode(k_s, sizeof(k_s), pk, 32, true) != PHR_OK)
		goto done;
	printf("{\"address\":\"%s\",\"encryptionKey\":\"%s\"}\n", l.addr_s, k_s);
	rc = PHR_EXIT_OK;
done:
	phr_cli_local_close(a, &l);
	phr_buf_release(&cd);
	if (bsk)
		sodium_free(bsk);
	return rc;
}

int phr_cmd_patient(int argc, char **argv)
{
	const char *keystore = NULL, *pwfile = NULL, *chain_rpc = NULL;
	struct phr_cli_api a = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		if (t == 1)
			continue;
		if (t == 0 && i + 1 < argc && strcmp(argv[i], "--keystore") == 0)
			keystore = argv[++i];
		else if (t == 0 && i + 1 < argc && strcmp(argv[i], "--password-file") == 0)
			pwfile = argv[++i];
		else if (t == 0 && i + 1 < argc && strcmp(argv[i], "--chain-rpc") == 0)
			chain_rpc = argv[++i];
		else {
			phr_cli_error("patient: unexpected %s", argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	if (keystore != NULL && strcmp(sub, "register") == 0) {
		phr_cli_api_ready(&a, false);
		return register_local(&a, keystore, pwfile, chain_rpc);
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
