/*
 * phr account sign: signs a personal message (EIP-191), EIP-712 typed data or
 * a transaction with a key from the keystore (dispatched from cmd_account.c).
 * phr eth: key-less Ethereum utilities (decode a transaction, recover a
 * signer, ABI encode/decode, selectors). Both live here, so the top-level
 * `eth` entry also links this file (cmd_account.c references
 * phr_cli_account_sign weakly, which does not pull it from the archive).
 */
#include "cli.h"

#include <phr/abi.h>
#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/eip712.h>
#include <phr/tx.h>

#include <sodium.h>
#include <string.h>

int phr_cli_account_sign(int argc, char **argv);
int phr_cmd_eth(int argc, char **argv);
int phr_cli_account_load_key(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *datadir,
			     const char *address, const char *password_file);

/* Largest message, typed-data or transaction file read. */
#define SIGN_MAX_INPUT ((size_t)4 << 20)

static const char usage_sign[] =
	"usage: phr account sign --from ADDRESS (--message TEXT | --message-file FILE |\n"
	"                        --typed-data FILE | --tx FILE)\n"
	"                        [--password-file FILE] [--datadir DIR]\n\n"
	"Signs with the key of ADDRESS from DATADIR/keystore/ and prints the result in hex:\n"
	"  --message TEXT, --message-file FILE   EIP-191 personal_sign signature (r||s||v)\n"
	"  --typed-data FILE                     EIP-712 signature of {types, primaryType, domain, message}\n"
	"  --tx FILE                             signed raw transaction from a JSON-RPC style object\n"
	"                                        (type, chainId, nonce, gasPrice | maxFeePerGas +\n"
	"                                        maxPriorityFeePerGas, gas, to, value, data, accessList)\n";

enum sign_what { SIGN_NONE, SIGN_MESSAGE, SIGN_MESSAGE_FILE, SIGN_TYPED, SIGN_TX };

struct sign_opts {
	const char *from, *datadir, *password_file, *input;
	enum sign_what what;
};

static int parse_sign_opts(struct sign_opts *o, int argc, char **argv)
{
	static const struct {
		const char *flag;
		enum sign_what what;
	} inputs[] = {
		{ "--message", SIGN_MESSAGE },
		{ "--message-file", SIGN_MESSAGE_FILE },
		{ "--typed-data", SIGN_TYPED },
		{ "--tx", SIGN_TX },
	};
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		enum sign_what what = SIGN_NONE;
		if (!strcmp(a, "--password")) {
			phr_cli_error("passwords are never taken from the command line: use "
				      "--password-file FILE, PHR_PASSWORD or the prompt");
			return -1;
		}
		if (!strcmp(a, "--from"))
			slot = &o->from;
		else if (!strcmp(a, "--datadir"))
			slot = &o->datadir;
		else if (!strcmp(a, "--password-file"))
			slot = &o->password_file;
		for (size_t k = 0; !slot && k < PHR_ARRAY_LEN(inputs); k++) {
			if (!strcmp(a, inputs[k].flag)) {
				if (o->what != SIGN_NONE) {
					phr_cli_error("give only one of --message, --message-file, --typed-data, --tx");
					return -1;
				}
				slot = &o->input;
				what = inputs[k].what;
			}
		}
		if (!slot) {
			phr_cli_error("unknown argument '%s'", a);
			return -1;
		}
		if (i + 1 >= argc) {
			phr_cli_error("%s needs a value", a);
			return -1;
		}
		*slot = argv[++i];
		if (what != SIGN_NONE)
			o->what = what;
	}
	if (!o->from || o->what == SIGN_NONE) {
		phr_cli_error("--from and one of --message, --message-file, --typed-data, --tx are required");
		return -1;
	}
	return 0;
}

static int print_hex(const uint8_t *d, size_t n)
{
	char *s = phr_malloc(PHR_HEX_LEN(n, true));
	if (!s || phr_hex_encode(s, PHR_HEX_LEN(n, true), d, n, true) != PHR_OK) {
		phr_free(s);
		return PHR_ERR_NOMEM;
	}
	puts(s);
	phr_free(s);
	return PHR_OK;
}

static int load_json(json_t **out, const struct phr_buf *in)
{
	json_error_t err;
	*out = json_loadb((const char *)in->data, in->len, JSON_REJECT_DUPLICATES, &err);
	if (!*out) {
		phr_cli_error("bad JSON at line %d: %s", err.line, err.text);
		return PHR_ERR_PARSE;
	}
	return PHR_OK;
}

static int sign_tx(const struct phr_buf *in, const uint8_t *key, const uint8_t from[20])
{
	json_t *j = NULL;
	struct phr_tx tx;
	struct phr_buf raw;
	uint8_t jf[20];
	int rc = load_json(&j, in);
	if (rc != PHR_OK)
		return rc;
	/* a "from" member must name the signing account */
	const char *fs = json_string_value(json_object_get(j, "from"));
	if (fs && (phr_eth_address_parse(jf, fs) != PHR_OK || memcmp(jf, from, 20) != 0)) {
		phr_cli_error("the transaction's \"from\" is not --from");
		json_decref(j);
		return PHR_ERR_INVALID;
	}
	rc = phr_tx_from_json(&tx, j);
	json_decref(j);
	if (rc != PHR_OK) {
		phr_cli_error("bad transaction: %s", phr_strerror(rc));
		return rc;
	}
	phr_buf_init(&raw, 0);
	rc = phr_tx_sign(&tx, key);
	if (rc == PHR_OK)
		rc = phr_tx_encode(&raw, &tx);
	if (rc == PHR_OK)
		rc = print_hex(raw.data, raw.len);
	phr_buf_release(&raw);
	phr_tx_release(&tx);
	return rc;
}

int phr_cli_account_sign(int argc, char **argv)
{
	struct sign_opts o;
	struct phr_buf in;
	uint8_t from[20], sig[PHR_ETH_SIG_BYTES], *key = NULL;
	int rc;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage_sign, stdout);
		return PHR_EXIT_OK;
	}
	if (parse_sign_opts(&o, argc, argv) != 0) {
		fputs(usage_sign, stderr);
		return PHR_EXIT_USAGE;
	}
	if (phr_eth_address_parse(from, o.from) != PHR_OK) {
		phr_cli_error("bad address '%s'", o.from);
		return PHR_EXIT_USAGE;
	}
	if (phr_crypto_init() != PHR_OK) {
		phr_cli_error("cannot initialise the crypto library");
		return PHR_EXIT_FAIL;
	}
	phr_buf_init(&in, SIGN_MAX_INPUT);
	if (o.what == SIGN_MESSAGE) {
		rc = phr_buf_append(&in, o.input, strlen(o.input));
	} else {
		rc = phr_file_read(&in, o.input, SIGN_MAX_INPUT);
		if (rc != PHR_OK)
			phr_cli_error("cannot read %s: %s", o.input, phr_strerror(rc));
	}
	/* read the input before asking for the password: fail early on bad files */
	json_t *typed = NULL;
	if (rc == PHR_OK && o.what == SIGN_TYPED) {
		uint8_t h[32];
		rc = load_json(&typed, &in);
		if (rc == PHR_OK && (rc = phr_eip712_hash(h, typed)) != PHR_OK)
			phr_cli_error("bad typed data: %s", phr_strerror(rc));
	}
	if (rc == PHR_OK) {
		key = sodium_malloc(PHR_SECP256K1_SECKEY_BYTES);
		rc = key ? phr_cli_account_load_key(key, o.datadir, o.from, o.password_file) : PHR_ERR_NOMEM;
	}
	if (rc == PHR_OK) {
		switch (o.what) {
		case SIGN_MESSAGE:
		case SIGN_MESSAGE_FILE:
			rc = phr_eip191_sign(sig, in.data, in.len, key);
			break;
		case SIGN_TYPED:
			rc = phr_eip712_sign(sig, typed, key);
			break;
		case SIGN_TX:
			rc = sign_tx(&in, key, from);
			break;
		case SIGN_NONE:
			rc = PHR_ERR_INTERNAL;
			break;
		}
		if (rc == PHR_OK && o.what != SIGN_TX)
			rc = print_hex(sig, sizeof(sig));
		if (rc != PHR_OK)
			phr_cli_error("signing failed: %s", phr_strerror(rc));
	}
	if (key)
		sodium_free(key); /* sodium_free wipes */
	json_decref(typed);
	phr_buf_release(&in);
	return rc == PHR_OK ? PHR_EXIT_OK : PHR_EXIT_FAIL;
}

/* ------------------------------------------------------------------ phr eth */

static int print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s)
		return PHR_ERR_NOMEM;
	puts(s);
	free(s);
	return PHR_OK;
}

/* Decodes hex text from argv into a new buffer. */
static int arg_hex(struct phr_buf *out, const char *s)
{
	size_t l = strlen(s), n;
	int rc = phr_buf_reserve(out, l / 2 + 1);
	if (rc == PHR_OK)
		rc = phr_hex_decode(out->data, l / 2 + 1, &n, s, l);
	if (rc == PHR_OK)
		out->len = n;
	else
		phr_cli_error("bad hex: %s", phr_strerror(rc));
	return rc;
}

/*
 * Handles --help (usage on stdout, exit 0) and bad arguments (usage on
 * stderr, exit 2). @return true when the command should return *status.
 */
static bool eth_usage(int argc, char **argv, bool bad, const char *usage, int *status)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		*status = PHR_EXIT_OK;
		return true;
	}
	if (bad) {
		fputs(usage, stderr);
		*status = PHR_EXIT_USAGE;
		return true;
	}
	return false;
}

static int eth_exit(int rc, const char *what)
{
	if (rc != PHR_OK && rc != PHR_EXIT_USAGE)
		phr_cli_error("%s: %s", what, phr_strerror(rc));
	return rc == PHR_OK ? PHR_EXIT_OK : rc == PHR_EXIT_USAGE ? PHR_EXIT_USAGE : PHR_EXIT_FAIL;
}

static int cmd_tx_decode(int argc, char **argv)
{
	struct phr_buf raw;
	struct phr_tx tx;
	uint8_t h[32], from[20];
	int rc;
	if (eth_usage(argc, argv, argc != 2,
		      "usage: phr eth tx-decode RAWHEX\n\nPrints a signed transaction as JSON with "
		      "its hash and sender.\n", &rc))
		return rc;
	if (phr_crypto_init() != PHR_OK)
		return eth_exit(PHR_ERR_CRYPTO, "tx-decode");
	phr_buf_init(&raw, 0);
	rc = arg_hex(&raw, argv[1]);
	if (rc == PHR_OK)
		rc = phr_tx_decode(&tx, raw.data, raw.len);
	phr_buf_release(&raw);
	if (rc != PHR_OK)
		return eth_exit(rc, "tx-decode");
	json_t *j = phr_tx_to_json(&tx);
	if (j && phr_tx_hash(h, &tx) == PHR_OK) {
		char hs[PHR_HEX_LEN(32, true)];
		if (phr_hex_encode(hs, sizeof(hs), h, 32, true) == PHR_OK)
			json_object_set_new(j, "hash", json_string(hs));
	}
	if (j && phr_tx_sender(from, &tx) == PHR_OK) {
		char as[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(as, from);
		json_object_set_new(j, "from", json_string(as));
	}
	phr_tx_release(&tx);
	return eth_exit(print_json(j), "tx-decode");
}

static int cmd_recover(int argc, char **argv)
{
	const char *msg = NULL, *typed = NULL, *sighex = NULL;
	uint8_t sig[PHR_ETH_SIG_BYTES], addr[20];
	int rc = PHR_OK;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--message"))
			msg = argv[i + 1];
		else if (!strcmp(argv[i], "--typed-data"))
			typed = argv[i + 1];
		else if (!strcmp(argv[i], "--signature"))
			sighex = argv[i + 1];
		else
			rc = PHR_EXIT_USAGE;
	}
	if (eth_usage(argc, argv, rc != PHR_OK || argc % 2 == 0 || !sighex || !msg == !typed,
		      "usage: phr eth recover (--message TEXT | --typed-data FILE) --signature HEX\n\n"
		      "Prints the address that made an EIP-191 or EIP-712 signature.\n", &rc))
		return rc;
	if (phr_crypto_init() != PHR_OK)
		return eth_exit(PHR_ERR_CRYPTO, "recover");
	rc = phr_hex_decode_exact(sig, sizeof(sig), sighex);
	if (rc == PHR_OK && msg) {
		rc = phr_eip191_recover(addr, msg, strlen(msg), sig);
	} else if (rc == PHR_OK) {
		struct phr_buf in;
		json_t *j = NULL;
		phr_buf_init(&in, SIGN_MAX_INPUT);
		rc = phr_file_read(&in, typed, SIGN_MAX_INPUT);
		if (rc == PHR_OK)
			rc = load_json(&j, &in);
		if (rc == PHR_OK)
			rc = phr_eip712_recover(addr, j, sig);
		json_decref(j);
		phr_buf_release(&in);
	}
	if (rc == PHR_OK) {
		char as[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(as, addr);
		puts(as);
	}
	return eth_exit(rc, "recover");
}

static int cmd_abi_encode(int argc, char **argv)
{
	json_error_t err;
	struct phr_buf out;
	int rc;
	if (eth_usage(argc, argv, argc != 3,
		      "usage: phr eth abi-encode 'name(T1,T2,...)' 'JSON-ARRAY'\n\n"
		      "Prints selector + ABI-encoded arguments (call data) in hex.\n", &rc))
		return rc;
	json_t *args = json_loads(argv[2], 0, &err);
	if (!args)
		return eth_exit(PHR_ERR_PARSE, "arguments");
	phr_buf_init(&out, 0);
	rc = phr_abi_encode_call(&out, argv[1], args);
	if (rc == PHR_OK)
		rc = print_hex(out.data, out.len);
	json_decref(args);
	phr_buf_release(&out);
	return eth_exit(rc, "abi-encode");
}

static int cmd_abi_decode(int argc, char **argv)
{
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	struct phr_buf data;
	int rc;
	if (eth_usage(argc, argv, argc != 3,
		      "usage: phr eth abi-decode '(T1,T2,...)' HEX\n\n"
		      "Decodes ABI data (strictly) and prints it as JSON.\n", &rc))
		return rc;
	phr_buf_init(&data, 0);
	rc = phr_abi_type_parse(&t, argv[1]);
	if (rc == PHR_OK)
		rc = arg_hex(&data, argv[2]);
	if (rc == PHR_OK)
		rc = phr_abi_decode(&v, t, data.data, data.len);
	if (rc == PHR_OK)
		rc = print_json(phr_abi_value_to_json(v));
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	phr_buf_release(&data);
	return eth_exit(rc, "abi-decode");
}

static int cmd_selector(int argc, char **argv)
{
	uint8_t sel[32];
	int rc;
	if (eth_usage(argc, argv, argc != 2,
		      "usage: phr eth selector 'name(T1,...)'\n\nPrints the 4-byte function selector and "
		      "the 32-byte event topic of a canonical signature.\n", &rc))
		return rc;
	phr_abi_event_topic(sel, argv[1]);
	rc = print_hex(sel, 4);
	if (rc == PHR_OK)
		rc = print_hex(sel, 32);
	return eth_exit(rc, "selector");
}

static const struct phr_cli_cmd eth_cmds[] = {
	{ "tx-decode", "decode a signed raw transaction (JSON, hash, sender)", cmd_tx_decode },
	{ "recover", "recover the signer of a personal_sign or EIP-712 signature", cmd_recover },
	{ "abi-encode", "ABI-encode a function call", cmd_abi_encode },
	{ "abi-decode", "decode ABI data", cmd_abi_decode },
	{ "selector", "function selector and event topic of a signature", cmd_selector },
	{ NULL, NULL, NULL },
};

int phr_cmd_eth(int argc, char **argv)
{
	return phr_cli_dispatch("phr eth",
				"usage: phr eth SUBCOMMAND [ARGS...]\n\n"
				"Ethereum utilities that need no key (signing is 'phr account sign').\n",
				eth_cmds, argc, argv);
}
