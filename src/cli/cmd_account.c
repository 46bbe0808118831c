/*
 * phr account new|list|import|export|sign: Ethereum accounts kept as Web3
 * Secret Storage v3 keystore files in DATADIR/keystore/, named as geth names
 * them (UTC--<time>--<address>), mode 0600, written atomically.
 */
#include "cli.h"

#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/json.h>

#include <dirent.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

int phr_cmd_account(int argc, char **argv);
int phr_cli_account_load_key(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *datadir,
			     const char *address, const char *password_file);

/* `phr account sign` lives in cmd_sign.c (it needs the eth module's signing). */
int phr_cli_account_sign(int argc, char **argv);
/* `phr account paper-key` lives in cmd_paperkey.c. */
int phr_cli_paperkey(int argc, char **argv);

struct acct_opts {
	const char *datadir;
	const char *password_file;
	bool light;
	int npos;
	const char *pos[2];
};

static int parse_opts(struct acct_opts *o, int argc, char **argv, bool allow_light)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--datadir") || !strcmp(a, "--password-file")) {
			if (i + 1 >= argc) {
				phr_cli_error("%s needs a value", a);
				return -1;
			}
			if (!strcmp(a, "--datadir"))
				o->datadir = argv[++i];
			else
				o->password_file = argv[++i];
		} else if (allow_light && !strcmp(a, "--light")) {
			o->light = true;
		} else if (!strcmp(a, "--password")) {
			phr_cli_error("passwords are never taken from the command line: use "
				      "--password-file FILE, PHR_PASSWORD or the prompt");
			return -1;
		} else if (a[0] == '-' && a[1] != '\0') {
			phr_cli_error("unknown option '%s'", a);
			return -1;
		} else {
			if (o->npos == (int)PHR_ARRAY_LEN(o->pos)) {
				phr_cli_error("too many arguments");
				return -1;
			}
			o->pos[o->npos++] = a;
		}
	}
	return 0;
}

/* The start every subcommand shares: prints @p usage for -h/--help, parses
 * the options and checks that there are @p npos positional arguments.
 * Returns true when the subcommand should go on; otherwise false with its
 * exit code in @p exit_code. */
static bool start_cmd(struct acct_opts *o, int *exit_code, int argc, char **argv,
		      const char *usage, bool allow_light, int npos)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		*exit_code = PHR_EXIT_OK;
		return false;
	}
	if (parse_opts(o, argc, argv, allow_light) != 0 || o->npos != npos) {
		fputs(usage, stderr);
		*exit_code = PHR_EXIT_USAGE;
		return false;
	}
	return true;
}

/* DATADIR/keystore as a heap string; created (0700) when @p create. */
static char *keystore_dir(const char *datadir_flag, bool create)
{
	char *dd = phr_cli_datadir(datadir_flag);
	struct phr_buf b;

	if (!dd)
		return NULL;
	phr_buf_init(&b, 4096);
	if (phr_buf_appendf(&b, "%s/keystore", dd) != PHR_OK) {
		phr_free(dd);
		phr_cli_error("out of memory");
		return NULL;
	}
	phr_free(dd);
	if (create && phr_mkdir_p((char *)b.data, 0700) != PHR_OK) {
		phr_cli_error("cannot create %s", (char *)b.data);
		phr_buf_release(&b);
		return NULL;
	}
	return phr_buf_detach(&b, NULL);
}

/* Calls @p fn for every keystore file in @p dir (sorted by name, so by
 * creation time) whose JSON parses and names an address. Stops when @p fn
 * returns non-zero and returns that value. */
typedef int (*keystore_fn)(void *arg, const char *path, const struct phr_buf *json,
			   const struct phr_keystore *ks);

static int each_keystore(const char *dir, keystore_fn fn, void *arg)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	int ret = 0;

	if (n < 0)
		return 0; /* no keystore directory yet: no accounts */
	for (int i = 0; i < n; i++) {
		struct phr_buf path, json;
		struct phr_keystore ks;

		if (ret == 0 && names[i]->d_name[0] != '.') {
			phr_buf_init(&path, 4096);
			phr_buf_init(&json, PHR_KEYSTORE_MAX_JSON);
			if (phr_buf_appendf(&path, "%s/%s", dir, names[i]->d_name) == PHR_OK &&
			    phr_file_read(&json, (char *)path.data, PHR_KEYSTORE_MAX_JSON) == PHR_OK &&
			    phr_keystore_parse(&ks, (char *)json.data, json.len) == PHR_OK &&
			    ks.has_address)
				ret = fn(arg, (char *)path.data, &json, &ks);
			phr_buf_release(&path);
			phr_buf_release(&json);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

static int print_one(void *arg, const char *path, const struct phr_buf *json,
		     const struct phr_keystore *ks)
{
	char addr[PHR_ETH_ADDRESS_STR_LEN];
	bool verbose = *(bool *)arg;

	phr_eth_address_checksum(addr, ks->address);
	if (verbose)
		printf("%s %s\n", addr, path);
	else
		printf("%s\n", addr);
	return 0;
}

struct find_ctx {
	uint8_t addr[PHR_ETH_ADDRESS_BYTES];
	struct phr_buf *json; /* filled with the keystore text when found */
};

static int find_one(void *arg, const char *path, const struct phr_buf *json,
		    const struct phr_keystore *ks)
{
	struct find_ctx *f = arg;

	if (memcmp(f->addr, ks->address, PHR_ETH_ADDRESS_BYTES) != 0)
		return 0;
	if (f->json && phr_buf_append(f->json, json->data, json->len) != PHR_OK)
		return PHR_ERR_NOMEM;
	return 1;
}

/* Writes a keystore file named the geth way, atomically, mode 0600. */
static int store_keystore(const char *dir, const uint8_t addr[PHR_ETH_ADDRESS_BYTES],
			  const char *json, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char hex[PHR_HEX_LEN(PHR_ETH_ADDRESS_BYTES, false)];
	struct phr_buf path;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (phr_hex_encode(hex, sizeof(hex), addr, PHR_ETH_ADDRESS_BYTES, false) != PHR_OK)
		return PHR_ERR_INTERNAL;
	phr_buf_init(&path, 4096);
	rc = phr_buf_appendf(&path, "%s/UTC--%04d-%02d-%02dT%02d-%02d-%02d.%09ldZ--%s", dir,
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, (long)ts.tv_nsec, hex);
	if (rc == PHR_OK)
		rc = phr_file_write_atomic((char *)path.data, json, len, 0600);
	if (rc != PHR_OK)
		phr_cli_error("cannot write keystore file in %s: %s", dir, phr_strerror(rc));
	phr_buf_release(&path);
	return rc;
}

static bool address_known(const char *dir, const uint8_t addr[PHR_ETH_ADDRESS_BYTES])
{
	struct find_ctx f;

	memcpy(f.addr, addr, sizeof(f.addr));
	f.json = NULL;
	return each_keystore(dir, find_one, &f) == 1;
}

static const char usage_new[] =
	"usage: phr account new [--datadir DIR] [--password-file FILE] [--light]\n\n"
	"Creates a new secp256k1 account and stores it encrypted in DATADIR/keystore/\n"
	"(Web3 Secret Storage v3, readable by geth and ethers). Prints its address.\n"
	"The password comes from --password-file, $PHR_PASSWORD or a prompt.\n\n"
	"  --light   scrypt n=4096 instead of n=262144 (fast, weak: for tests)\n";

static int cmd_new(int argc, char **argv)
{
	static const struct phr_keystore_params standard = PHR_KEYSTORE_PARAMS_STANDARD;
	static const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	struct acct_opts o;
	uint8_t *key = NULL, addr[PHR_ETH_ADDRESS_BYTES];
	char *pw = NULL, *dir = NULL, *json = NULL, shown[PHR_ETH_ADDRESS_STR_LEN];
	int ret = PHR_EXIT_FAIL, rc;

	if (!start_cmd(&o, &ret, argc, argv, usage_new, true, 0))
		return ret;
	dir = keystore_dir(o.datadir, true);
	if (!dir)
		goto out;
	pw = phr_cli_password(o.password_file, "Password for the new account: ", true);
	if (!pw)
		goto out;
	key = sodium_malloc(PHR_SECP256K1_SECKEY_BYTES);
	if (!key || phr_secp256k1_keygen(key) != PHR_OK || phr_eth_address_from_seckey(addr, key) != PHR_OK) {
		phr_cli_error("cannot generate a key");
		goto out;
	}
	rc = phr_keystore_encrypt(&json, key, pw, strlen(pw), o.light ? &light : &standard);
	if (rc != PHR_OK) {
		phr_cli_error("cannot encrypt the key: %s", phr_strerror(rc));
		goto out;
	}
	if (store_keystore(dir, addr, json, strlen(json)) != PHR_OK)
		goto out;
	phr_eth_address_checksum(shown, addr);
	printf("%s\n", shown);
	ret = PHR_EXIT_OK;
out:
	if (key)
		sodium_free(key);
	if (pw)
		sodium_free(pw);
	phr_free(json);
	phr_free(dir);
	return ret;
}

static const char usage_list[] =
	"usage: phr account list [--datadir DIR] [-v]\n\n"
	"Lists the addresses (EIP-55) of the keystores in DATADIR/keystore/, oldest first.\n"
	"  -v   also print each keystore file's path\n";

static int cmd_list(int argc, char **argv)
{
	struct acct_opts o;
	bool verbose = false;
	char *dir;
	int ret = PHR_EXIT_FAIL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			verbose = true;
			memmove(argv + i, argv + i + 1, sizeof(*argv) * (size_t)(argc - i - 1));
			argc--;
			break;
		}
	}
	if (!start_cmd(&o, &ret, argc, argv, usage_list, false, 0))
		return ret;
	dir = keystore_dir(o.datadir, false);
	if (!dir)
		return PHR_EXIT_FAIL;
	(void)each_keystore(dir, print_one, &verbose);
	phr_free(dir);
	return fflush(stdout) == 0 ? PHR_EXIT_OK : PHR_EXIT_FAIL;
}

static const char usage_import[] =
	"usage: phr account import [--datadir DIR] [--password-file FILE] KEYSTORE.json\n\n"
	"Checks that the keystore file (from geth, ethers, MetaMask, or phr) decrypts with\n"
	"the password, stores a copy in DATADIR/keystore/ and prints its address.\n";

static int cmd_import(int argc, char **argv)
{
	struct acct_opts o;
	struct phr_buf in;
	struct phr_keystore ks;
	uint8_t *key = NULL, addr[PHR_ETH_ADDRESS_BYTES];
	char *pw = NULL, *dir = NULL, shown[PHR_ETH_ADDRESS_STR_LEN];
	int ret = PHR_EXIT_FAIL, rc;

	if (!start_cmd(&o, &ret, argc, argv, usage_import, false, 1))
		return ret;
	phr_buf_init(&in, PHR_KEYSTORE_MAX_JSON);
	rc = phr_file_read(&in, o.pos[0], PHR_KEYSTORE_MAX_JSON);
	if (rc != PHR_OK) {
		phr_cli_error("cannot read %s: %s", o.pos[0], phr_strerror(rc));
		goto out;
	}
	rc = phr_keystore_parse(&ks, (char *)in.data, in.len);
	if (rc != PHR_OK) {
		phr_cli_error("%s is not a usable keystore: %s", o.pos[0], phr_strerror(rc));
		goto out;
	}
	dir = keystore_dir(o.datadir, true);
	if (!dir)
		goto out;
	pw = phr_cli_password(o.password_file, "Password of the keystore: ", false);
	if (!pw)
		goto out;
	key = sodium_malloc(PHR_SECP256K1_SECKEY_BYTES);
	if (!key) {
		phr_cli_error("out of memory");
		goto out;
	}
	rc = phr_keystore_decrypt(key, &ks, pw, strlen(pw));
	if (rc != PHR_OK) {
		phr_cli_error("cannot decrypt %s: %s", o.pos[0], phr_strerror(rc));
		goto out;
	}
	rc = phr_eth_address_from_seckey(addr, key);
	if (rc != PHR_OK)
		goto out;
	if (address_known(dir, addr)) {
		phr_eth_address_checksum(shown, addr);
		phr_cli_error("account %s is already in %s", shown, dir);
		goto out;
	}
	if (ks.has_address) {
		rc = store_keystore(dir, addr, (char *)in.data, in.len);
	} else {
		/* add the address so that list and export find it without a password */
		json_t *root = NULL;
		struct phr_buf out;
		char hex[PHR_HEX_LEN(PHR_ETH_ADDRESS_BYTES, false)];

		phr_buf_init(&out, PHR_KEYSTORE_MAX_JSON);
		rc = phr_json_parse(&root, NULL, 0, (char *)in.data, in.len);
		if (rc == PHR_OK)
			rc = phr_hex_encode(hex, sizeof(hex), addr, sizeof(addr), false);
		if (rc == PHR_OK)
			rc = json_object_set_new(root, "address", json_string(hex)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
		if (rc == PHR_OK)
			rc = phr_json_dump(&out, root, JSON_SORT_KEYS);
		if (rc == PHR_OK)
			rc = store_keystore(dir, addr, (char *)out.data, out.len);
		json_decref(root);
		phr_buf_release(&out);
	}
	if (rc != PHR_OK)
		goto out;
	phr_eth_address_checksum(shown, addr);
	printf("%s\n", shown);
	ret = PHR_EXIT_OK;
out:
	if (key)
		sodium_free(key);
	if (pw)
		sodium_free(pw);
	phr_free(dir);
	phr_buf_release(&in);
	return ret;
}

/* Finds the keystore of @p address in DATADIR/keystore into @p json. */
static int find_keystore(struct phr_buf *json, const char *datadir, const char *address)
{
	struct find_ctx f;
	char *dir;
	int rc;

	if (phr_eth_address_parse(f.addr, address) != PHR_OK) {
		phr_cli_error("'%s' is not an address (or its EIP-55 checksum is wrong)", address);
		return PHR_ERR_INVALID;
	}
	dir = keystore_dir(datadir, false);
	if (!dir)
		return PHR_ERR_NOMEM;
	f.json = json;
	rc = each_keystore(dir, find_one, &f);
	if (rc == 0) {
		phr_cli_error("no keystore for %s in %s", address, dir);
		rc = PHR_ERR_NOT_FOUND;
	} else if (rc == 1) {
		rc = PHR_OK;
	}
	phr_free(dir);
	return rc;
}

int phr_cli_account_load_key(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES], const char *datadir,
			     const char *address, const char *password_file)
{
	struct phr_buf json;
	char *pw;
	int rc;

	phr_buf_init(&json, PHR_KEYSTORE_MAX_JSON);
	rc = find_keystore(&json, datadir, address);
	if (rc != PHR_OK)
		return rc;
	pw = phr_cli_password(password_file, "Password: ", false);
	if (!pw) {
		phr_buf_release(&json);
		return PHR_ERR_UNAUTHENTICATED;
	}
	rc = phr_keystore_decrypt_json(seckey, (char *)json.data, json.len, pw, strlen(pw));
	if (rc != PHR_OK)
		phr_cli_error("cannot unlock %s: %s", address, phr_strerror(rc));
	sodium_free(pw);
	phr_buf_release(&json);
	return rc;
}

static const char usage_export[] =
	"usage: phr account export [--datadir DIR] ADDRESS\n\n"
	"Writes the (encrypted) keystore JSON of ADDRESS to stdout.\n";

static int cmd_export(int argc, char **argv)
{
	struct acct_opts o;
	struct phr_buf json;
	int ret = PHR_EXIT_FAIL;

	if (!start_cmd(&o, &ret, argc, argv, usage_export, false, 1))
		return ret;
	phr_buf_init(&json, PHR_KEYSTORE_MAX_JSON);
	if (find_keystore(&json, o.datadir, o.pos[0]) == PHR_OK &&
	    fwrite(json.data, 1, json.len, stdout) == json.len &&
	    (json.len == 0 || json.data[json.len - 1] == '\n' || fputc('\n', stdout) != EOF) &&
	    fflush(stdout) == 0)
		ret = PHR_EXIT_OK;
	phr_buf_release(&json);
	return ret;
}

static int cmd_sign(int argc, char **argv)
{
	return phr_cli_account_sign(argc, argv);
}

static const struct phr_cli_cmd account_cmds[] = {
	{ "new", "create a new account (encrypted keystore)", cmd_new },
	{ "list", "list the accounts' addresses", cmd_list },
	{ "import", "import a keystore JSON file (geth, ethers, MetaMask)", cmd_import },
	{ "export", "write an account's keystore JSON to stdout", cmd_export },
	{ "sign", "sign a message, typed data or transaction", cmd_sign },
	{ "paper-key", "the account key on paper: BIP-39 words or Shamir shares in words", phr_cli_paperkey },
	{ NULL, NULL, NULL },
};

int phr_cmd_account(int argc, char **argv)
{
	return phr_cli_dispatch("phr account",
				"usage: phr account SUBCOMMAND [--datadir DIR] [ARGS...]\n\n"
				"Ethereum accounts in DATADIR/keystore/ (default ~/.phr, or $PHR_DATADIR).\n"
				"Passwords come from --password-file FILE, $PHR_PASSWORD or a prompt, never argv.\n",
				account_cmds, argc, argv);
}
