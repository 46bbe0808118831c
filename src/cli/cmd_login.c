/*
 * `phr login` (Sign-In with Ethereum with a keystore) and the helpers every
 * API command shares: the node URL, the bearer token, one request.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/api.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/phr.h"

int phr_cmd_login(int argc, char **argv);

/* Reads a token: tokens.json ({name: {token}}) with @p as, or a file holding the token. */
static int read_token(char out[PHR_API_TOKEN_LEN], const char *path, const char *as)
{
	struct phr_buf b;
	json_t *j = NULL;
	const char *t = NULL;
	int rv;

	phr_buf_init(&b, 1 << 20);
	rv = phr_file_read(&b, path, 1 << 20);
	if (rv != PHR_OK) {
		phr_buf_release(&b);
		return rv;
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	if (b.len > 0 && b.data[0] == '{') {
		if (phr_json_parse(&j, NULL, 0, (const char *)b.data, b.len) != PHR_OK ||
		    as == NULL ||
		    phr_json_get_str(&t, json_object_get(j, as), "token") != PHR_OK)
			t = NULL;
	} else {
		t = (const char *)b.data;
	}
	rv = t != NULL && strlen(t) == PHR_API_TOKEN_LEN - 1 ? PHR_OK : PHR_ERR_PARSE;
	if (rv == PHR_OK)
		memcpy(out, t, PHR_API_TOKEN_LEN);
	json_decref(j);
	phr_buf_release(&b);
	return rv;
}

int phr_cli_api_opt(struct phr_cli_api *a, int *i, int argc, char **argv)
{
	const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (strcmp(o, "--json") == 0) {
		a->raw_json = true;
		return 1;
	}
	if (strcmp(o, "--node") != 0 && strcmp(o, "--token") != 0 &&
	    strcmp(o, "--token-file") != 0 && strcmp(o, "--as") != 0)
		return 0;
	if (v == NULL) {
		phr_cli_error("%s needs a value", o);
		return -1;
	}
	if (strcmp(o, "--node") == 0)
		a->node = v;
	else if (strcmp(o, "--token") == 0)
		a->token_arg = v;
	else if (strcmp(o, "--token-file") == 0)
		a->token_file = v;
	else
		a->as = v;
	(*i)++;
	return 1;
}

int phr_cli_api_ready(struct phr_cli_api *a, bool need_token)
{
	char *dir, path[1024];

	if (a->node == NULL)
		a->node = getenv("PHR_NODE");
	if (a->node == NULL)
		a->node = "http://127.0.0.1:8080";
	if (!need_token)
		return 0;
	if (a->token_arg == NULL)
		a->token_arg = getenv("PHR_TOKEN");
	if (a->token_arg != NULL) {
		if (strlen(a->token_arg) != PHR_API_TOKEN_LEN - 1) {
			phr_cli_error("not a phr token");
			return -1;
		}
		memcpy(a->token, a->token_arg, PHR_API_TOKEN_LEN);
		return 0;
	}
	if (a->token_file != NULL) {
		if (read_token(a->token, a->token_file, a->as) != PHR_OK) {
			phr_cli_error("no token in %s%s%s", a->token_file, a->as ? " for " : "",
				      a->as ? a->as : " (use --as NAME for a tokens.json)");
			return -1;
		}
		return 0;
	}
	dir = phr_cli_datadir(NULL);
	snprintf(path, sizeof(path), "%s/token", dir ? dir : ".");
	phr_free(dir);
	if (read_token(a->token, path, NULL) != PHR_OK) {
		phr_cli_error("not logged in: run phr login, or pass --token / --token-file");
		return -1;
	}
	return 0;
}

int phr_cli_api_call(struct phr_cli_api *a, json_t **out, const char *method, const char *path,
		     const char *ctype, const void *body, size_t len, const char *extra)
{
	struct phr_buf resp;
	long status = 0;
	json_t *j = NULL;
	int rv;

	phr_buf_init(&resp, (size_t)80 << 20);
	rv = phr_api_client_call(&status, &resp, a->node, method, path,
				 a->token[0] ? a->token : NULL, ctype, body, len, extra);
	if (rv != PHR_OK) {
		phr_cli_error("%s: %s", a->node, phr_strerror(rv));
		phr_buf_release(&resp);
		return PHR_EXIT_FAIL;
	}
	if (status >= 400) {
		const char *d = NULL;
		if (phr_json_parse(&j, NULL, 0, (const char *)resp.data, resp.len) == PHR_OK &&
		    phr_json_get_str(&d, j, "detail") == PHR_OK)
			phr_cli_error("%ld: %s", status, d);
		else
			phr_cli_error("HTTP %ld", status);
		json_decref(j);
		phr_buf_release(&resp);
		return PHR_EXIT_FAIL;
	}
	if (out != NULL) {
		if (phr_json_parse(out, NULL, 0, (const char *)resp.data, resp.len) != PHR_OK) {
			phr_cli_error("the node answered something that is not JSON");
			phr_buf_release(&resp);
			return PHR_EXIT_FAIL;
		}
	} else if (resp.len > 0) {
		fwrite(resp.data, 1, resp.len, stdout);
		if (resp.data[resp.len - 1] != '\n' && a->raw_json)
			fputc('\n', stdout);
	}
	phr_buf_release(&resp);
	return PHR_EXIT_OK;
}

int phr_cli_api_print(struct phr_cli_api *a, const char *method, const char *path,
		      const json_t *body, const char *extra)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *out = NULL;
	int rc;

	rc = phr_cli_api_call(a, &out, method, path, s ? "application/json" : NULL, s,
			      s ? strlen(s) : 0, extra);
	free(s);
	if (rc == PHR_EXIT_OK) {
		char *t = json_dumps(out, a->raw_json ? JSON_COMPACT : JSON_INDENT(2));
		if (t != NULL)
			puts(t);
		free(t);
	}
	json_decref(out);
	return rc;
}

int phr_cli_api_me(struct phr_cli_api *a, char addr[64])
{
	json_t *me = NULL;
	const char *s = NULL;
	int ok;

	if (phr_cli_api_call(a, &me, "GET", "/api/v1/me", NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		return -1;
	ok = phr_json_get_str(&s, me, "address") == PHR_OK && strlen(s) < 64;
	if (ok)
		snprintf(addr, 64, "%s", s);
	json_decref(me);
	return ok ? 0 : -1;
}

int phr_cli_keystore_key(uint8_t *sk, const char *keystore, const char *password_file)
{
	struct phr_buf json;
	char *pw;
	int rv;

	phr_buf_init(&json, PHR_KEYSTORE_MAX_JSON);
	if (phr_file_read(&json, keystore, PHR_KEYSTORE_MAX_JSON) != PHR_OK) {
		phr_cli_error("cannot read %s", keystore);
		phr_buf_release(&json);
		return -1;
	}
	pw = phr_cli_password(password_file, "keystore password: ", false);
	if (pw == NULL) {
		phr_buf_release(&json);
		return -1;
	}
	rv = phr_keystore_decrypt_json(sk, (const char *)json.data, json.len, pw, strlen(pw));
	sodium_free(pw);
	phr_buf_release(&json);
	if (rv != PHR_OK) {
		phr_cli_error("%s: %s", keystore, rv == PHR_ERR_PASSWORD ? "wrong password" : phr_strerror(rv));
		return -1;
	}
	return 0;
}

int phr_cli_api_chain(struct phr_cli_api *a, struct phr_chain **chain, struct phr_deployment *d,
		      const char *chain_rpc)
{
	json_t *info = NULL;
	char url[512];
	int rv;

	if (phr_cli_api_call(a, &info, "GET", "/api/v1/info", NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		return -1;
	rv = phr_deployment_from_json(d, json_object_get(info, "deployment"));
	json_decref(info);
	if (rv != PHR_OK) {
		phr_cli_error("the node's /api/v1/info has no deployment");
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s", chain_rpc ? chain_rpc : a->node, chain_rpc ? "" : "/rpc");
	if (phr_chain_open_remote(chain, url) != PHR_OK) {
		phr_cli_error("cannot use the chain at %s", url);
		return -1;
	}
	return 0;
}

static const char login_usage[] =
	"usage: phr login [--node URL] --keystore FILE [--password-file FILE] [--out FILE] [--print]\n"
	"\n"
	"Signs in to a node with Sign-In with Ethereum (EIP-4361): asks the node for a\n"
	"nonce, signs the message with the keystore's key (personal_sign) and saves the\n"
	"bearer token to $PHR_DATADIR/token (or --out), where the other API commands\n"
	"(phr record, phr access, phr audit, phr patient) find it. The key never leaves\n"
	"this process. --node defaults to $PHR_NODE, then http://127.0.0.1:8080.\n";

int phr_cmd_login(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *keystore = NULL, *pwfile = NULL, *out = NULL;
	char token[PHR_API_TOKEN_LEN], path[1024], *dir = NULL;
	uint8_t *sk = NULL, addr[20];
	char addr_s[PHR_ETH_ADDRESS_STR_LEN];
	bool print = false;
	int rc = PHR_EXIT_FAIL, rv;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(login_usage, stdout);
		return PHR_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int k = phr_cli_api_opt(&a, &i, argc, argv);
		if (k < 0)
			return PHR_EXIT_USAGE;
		if (k > 0)
			continue;
		if (strcmp(argv[i], "--print") == 0) {
			print = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--keystore") == 0) {
			keystore = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--password-file") == 0) {
			pwfile = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--out") == 0) {
			out = argv[++i];
		} else {
			phr_cli_error("login: unexpected %s (see phr login --help)", argv[i]);
			return PHR_EXIT_USAGE;
		}
	}
	if (keystore == NULL) {
		phr_cli_error("login: --keystore FILE is required");
		return PHR_EXIT_USAGE;
	}
	phr_cli_api_ready(&a, false);
	if (phr_crypto_init() != PHR_OK)
		return PHR_EXIT_FAIL;
	sk = sodium_malloc(32);
	if (sk == NULL || phr_cli_keystore_key(sk, keystore, pwfile) != 0)
		goto done;
	rv = phr_api_client_login(token, a.node, sk);
	if (rv != PHR_OK) {
		phr_cli_error("login at %s failed: %s", a.node, phr_strerror(rv));
		goto done;
	}
	if (out == NULL) {
		dir = phr_cli_datadir(NULL);
		if (dir == NULL || phr_mkdir_p(dir, 0700) != PHR_OK)
			goto done;
		snprintf(path, sizeof(path), "%s/token", dir);
		out = path;
	}
	if (phr_file_write_atomic(out, token, strlen(token), 0600) != PHR_OK) {
		phr_cli_error("login: cannot write %s", out);
		goto done;
	}
	if (phr_eth_address_from_seckey(addr, sk) != PHR_OK)
		goto done;
	phr_eth_address_checksum(addr_s, addr);
	printf("signed in to %s as %s; token saved to %s\n", a.node, addr_s, out);
	if (print)
		printf("%s\n", token);
	rc = PHR_EXIT_OK;
done:
	if (sk != NULL)
		sodium_free(sk);
	sodium_memzero(token, sizeof(token));
	phr_free(dir);
	return rc;
}
