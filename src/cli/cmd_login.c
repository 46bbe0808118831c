/*
 * `phr login` (Sign-In with Ethereum with a keystore) and the helpers every
 * API command shares: the node URL, the bearer token, one request.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/api.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/phr.h"
#include "phr/rpc.h"
#include "phr/chain.h"

#include <strings.h>

int phr_cmd_login(int argc, char **argv);

/* Reads a token: tokens.json ({name: {token, address?, expires?}}) with @p as, or a
 * file holding the token. @p addr (64 bytes, may be NULL) gets the entry's address
 * or "", @p expires (may be NULL) its expiry (unix time) or 0 when unknown. */
static int read_token(char out[PHR_API_TOKEN_LEN], char *addr, int64_t *expires, const char *path,
		      const char *as)
{
	struct phr_buf b;
	json_t *j = NULL;
	const char *t = NULL, *ad = NULL;
	uint64_t exp = 0;
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
		else if (phr_json_get_str(&ad, json_object_get(j, as), "address") != PHR_OK)
			ad = NULL;
		if (t != NULL && phr_json_get_u64(&exp, json_object_get(j, as), "expires") != PHR_OK)
			exp = 0;
	} else {
		t = (const char *)b.data;
	}
	rv = t != NULL && strlen(t) == PHR_API_TOKEN_LEN - 1 ? PHR_OK : PHR_ERR_PARSE;
	if (rv == PHR_OK)
		memcpy(out, t, PHR_API_TOKEN_LEN);
	if (rv == PHR_OK && addr != NULL)
		snprintf(addr, 64, "%s", ad != NULL ? ad : "");
	if (rv == PHR_OK && expires != NULL)
		*expires = exp > INT64_MAX ? INT64_MAX : (int64_t)exp;
	json_decref(j);
	phr_buf_release(&b);
	return rv;
}

/* $PHR_DATADIR/NAME into @p path. @return 0 or -1. */
static int datadir_file(char *path, size_t cap, const char *name)
{
	char *dir = phr_cli_datadir(NULL);
	int ok = dir != NULL && (size_t)snprintf(path, cap, "%s/%s", dir, name) < cap;

	phr_free(dir);
	return ok ? 0 : -1;
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
	char path[1024];
	int64_t expires = 0;
	size_t n;

	if (a->node == NULL)
		a->node = getenv("PHR_NODE");
	if (a->node == NULL)
		a->node = "http://127.0.0.1:8080";
	/* one spelling per node: tokens are saved under the URL without a trailing slash */
	n = strlen(a->node);
	while (n > 1 && a->node[n - 1] == '/')
		n--;
	if (n >= sizeof(a->node_buf)) {
		phr_cli_error("the node URL is too long");
		return -1;
	}
	memcpy(a->node_buf, a->node, n);
	a->node_buf[n] = '\0';
	a->node = a->node_buf;
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
		if (read_token(a->token, NULL, NULL, a->token_file, a->as) != PHR_OK) {
			phr_cli_error("no token in %s%s%s", a->token_file, a->as ? " for " : "",
				      a->as ? a->as : " (use --as NAME for a tokens.json)");
			return -1;
		}
		return 0;
	}
	/* what phr login saved for this node, then the single token of older versions */
	if (datadir_file(path, sizeof(path), "tokens.json") == 0 &&
	    read_token(a->token, a->saved_addr, &expires, path, a->node) == PHR_OK) {
		/* a token that is about to expire is as good as none */
		if (expires == 0 || expires > (int64_t)time(NULL) + 30) {
			a->saved = true;
			return 0;
		}
		sodium_memzero(a->token, sizeof(a->token));
		if (need_token) {
			phr_cli_error("the token saved for %s has expired: run phr login again", a->node);
			return -1;
		}
		return 0;
	}
	if (datadir_file(path, sizeof(path), "token") == 0 &&
	    read_token(a->token, NULL, NULL, path, NULL) == PHR_OK) {
		a->saved = true;
		a->saved_addr[0] = '\0';
		return 0;
	}
	a->token[0] = '\0';
	if (!need_token)
		return 0;
	phr_cli_error("not logged in to %s: run phr login, or pass --token / --token-file", a->node);
	return -1;
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

/* A chain handle whose eth_sendRawTransaction goes to the node's relay. */
struct relay {
	struct phr_chain *inner;
	struct phr_cli_api *a;
};

static int relay_request(void *impl, json_t **result, struct phr_rpc_error *err, const char *method,
			 json_t *params)
{
	struct relay *r = impl;
	struct phr_buf resp;
	json_t *body, *j = NULL;
	const char *hash = NULL, *detail = NULL;
	char *s, hdr[64];
	long status = 0;
	int rv;

	if (strcmp(method, "eth_sendRawTransaction") != 0)
		return r->inner->ops->request(r->inner->impl, result, err, method, params);
	body = json_pack("{s:O}", "raw", json_array_get(params, 0));
	s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (s == NULL)
		return PHR_ERR_NOMEM;
	snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %s", r->a->totp ? r->a->totp : "");
	phr_buf_init(&resp, 1 << 20);
	rv = phr_api_client_call(&status, &resp, r->a->node, "POST", "/api/v1/tx",
				 r->a->token[0] ? r->a->token : NULL, "application/json", s, strlen(s),
				 r->a->totp ? hdr : NULL);
	free(s);
	if (rv == PHR_OK && phr_json_parse(&j, NULL, 0, (const char *)resp.data, resp.len) != PHR_OK)
		rv = PHR_ERR_PARSE;
	if (rv == PHR_OK && status == 200 && phr_json_get_str(&hash, j, "hash") == PHR_OK) {
		*result = json_string(hash);
		rv = *result != NULL ? PHR_OK : PHR_ERR_NOMEM;
	} else if (rv == PHR_OK) {
		/* the relay's refusal, as the chain's would be */
		if (phr_json_get_str(&detail, j, "detail") != PHR_OK)
			detail = "refused";
		phr_rpc_error_set(err, -32000, "relay %ld: %s", status, detail);
		phr_cli_error("the node's relay refused the transaction: %ld: %s", status, detail);
		rv = status == 401 || status == 403 ? PHR_ERR_FORBIDDEN : PHR_ERR_STATE;
	}
	json_decref(j);
	phr_buf_release(&resp);
	return rv;
}

static void relay_close(void *impl)
{
	struct relay *r = impl;

	phr_chain_close(r->inner);
	phr_free(r);
}

static const struct phr_chain_ops relay_ops = { relay_request, relay_close };

int phr_cli_api_chain(struct phr_cli_api *a, struct phr_chain **chain, struct phr_deployment *d,
		      const char *chain_rpc)
{
	json_t *info = NULL;
	struct phr_chain *inner = NULL, *c;
	struct relay *r;
	char url[512];
	bool rpc;
	int rv;

	if (phr_cli_api_call(a, &info, "GET", "/api/v1/info", NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		return -1;
	rv = phr_deployment_from_json(d, json_object_get(info, "deployment"));
	rpc = json_is_true(json_object_get(info, "rpc"));
	json_decref(info);
	if (rv != PHR_OK) {
		phr_cli_error("the node's /api/v1/info has no deployment");
		return -1;
	}
	if (chain_rpc == NULL)
		chain_rpc = getenv("PHR_CHAIN_RPC");
	if (chain_rpc == NULL && !rpc) {
		phr_cli_error("the node at %s uses an external chain: pass --chain-rpc URL (or set "
			      "PHR_CHAIN_RPC) for reads; transactions still go through the node",
			      a->node);
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s", chain_rpc ? chain_rpc : a->node, chain_rpc ? "" : "/rpc");
	if (phr_chain_open_remote(&inner, url) != PHR_OK) {
		phr_cli_error("cannot use the chain at %s", url);
		return -1;
	}
	c = phr_calloc(1, sizeof(*c));
	r = phr_calloc(1, sizeof(*r));
	if (c == NULL || r == NULL) {
		phr_free(c);
		phr_free(r);
		phr_chain_close(inner);
		return -1;
	}
	r->inner = inner;
	r->a = a;
	c->ops = &relay_ops;
	c->impl = r;
	*chain = c;
	return 0;
}

int phr_cli_api_signer(struct phr_cli_api *a, uint8_t *sk, const char *keystore,
		       const char *password_file)
{
	uint8_t addr[20];
	char addr_s[PHR_ETH_ADDRESS_STR_LEN];
	int rv;

	if (phr_crypto_init() != PHR_OK || phr_cli_keystore_key(sk, keystore, password_file) != 0 ||
	    phr_eth_address_from_seckey(addr, sk) != PHR_OK)
		return -1;
	phr_eth_address_checksum(addr_s, addr);
	/* a token given on the command line is the user's choice */
	if (a->token[0] != '\0' && !a->saved)
		return 0;
	if (a->token[0] != '\0' && strcasecmp(a->saved_addr, addr_s) == 0)
		return 0;
	rv = phr_api_client_login(a->token, a->node, sk);
	if (rv != PHR_OK) {
		phr_cli_error("signing in to %s with %s failed: %s", a->node, keystore, phr_strerror(rv));
		a->token[0] = '\0';
		return -1;
	}
	a->saved = false;
	a->ephemeral = true;
	return 0;
}

void phr_cli_api_done(struct phr_cli_api *a)
{
	struct phr_buf resp;
	long status = 0;

	if (!a->ephemeral)
		return;
	phr_buf_init(&resp, 65536);
	if (phr_api_client_call(&status, &resp, a->node, "POST", "/api/v1/auth/logout", a->token, NULL,
				NULL, 0, NULL) != PHR_OK)
		status = 0;
	phr_buf_release(&resp);
	sodium_memzero(a->token, sizeof(a->token));
	a->ephemeral = false;
}

int phr_cli_local_open(struct phr_cli_api *a, struct phr_cli_local *l, const char *keystore,
		       const char *password_file, const char *chain_rpc)
{
	memset(l, 0, sizeof(*l));
	l->sk = sodium_malloc(32);
	l->d = phr_calloc(1, sizeof(*l->d));
	if (l->sk == NULL || l->d == NULL) {
		phr_cli_error("out of memory");
		return -1;
	}
	if (phr_cli_api_signer(a, l->sk, keystore, password_file) != 0 ||
	    phr_eth_address_from_seckey(l->addr, l->sk) != PHR_OK)
		return -1;
	phr_eth_address_checksum(l->addr_s, l->addr);
	return phr_cli_api_chain(a, &l->chain, l->d, chain_rpc);
}

int phr_cli_local_send(struct phr_cli_local *l, struct phr_chain_receipt *r, const uint8_t to[20],
		       const struct phr_buf *cd, const char *what)
{
	int rv = phr_node_tx_send(l->chain, l->d->chain_id, r, l->sk, to, cd->data, cd->len);

	if (rv == PHR_OK)
		return 0;
	phr_cli_error("%s: refused: %s", what,
		      rv == PHR_ERR_FORBIDDEN ? "not allowed (by the contract or the node's relay)"
					      : phr_strerror(rv));
	return -1;
}

void phr_cli_local_close(struct phr_cli_api *a, struct phr_cli_local *l)
{
	if (l->sk != NULL)
		sodium_free(l->sk);
	phr_chain_close(l->chain);
	phr_free(l->d);
	memset(l, 0, sizeof(*l));
	phr_cli_api_done(a);
}

/* Saves @p token for @p node in $PHR_DATADIR/tokens.json (0600), keeping other nodes' tokens. */
static int save_token(const char *node, const char *token, const char *addr, char *path, size_t cap)
{
	char *dir = phr_cli_datadir(NULL);
	json_t *all = NULL;
	char *text = NULL;
	int rv = -1;

	if (dir == NULL || phr_mkdir_p(dir, 0700) != PHR_OK ||
	    (size_t)snprintf(path, cap, "%s/tokens.json", dir) >= cap)
		goto out;
	all = json_load_file(path, 0, NULL);
	if (!json_is_object(all)) {
		json_decref(all);
		all = json_object();
	}
	if (all == NULL ||
	    json_object_set_new(all, node, json_pack("{s:s,s:s,s:I}", "token", token, "address", addr,
						     "expires", (json_int_t)time(NULL) + PHR_API_TOKEN_TTL)) != 0)
		goto out;
	text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text != NULL && phr_file_write_atomic(path, text, strlen(text), 0600) == PHR_OK)
		rv = 0;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(all);
	phr_free(dir);
	return rv;
}

static const char login_usage[] =
	"usage: phr login [--node URL] --keystore FILE [--password-file FILE] [--out FILE] [--print]\n"
	"\n"
	"Signs in to a node with Sign-In with Ethereum (EIP-4361): asks the node for a\n"
	"nonce, signs the message with the keystore's key (personal_sign) and saves the\n"
	"bearer token for that node URL in $PHR_DATADIR/tokens.json (or in --out FILE),\n"
	"where the other API commands (phr record, phr access, phr audit, phr patient)\n"
	"find it when they talk to the same node. The key never leaves this process.\n"
	"--node defaults to $PHR_NODE, then http://127.0.0.1:8080. --print also prints\n"
	"the token.\n";

int phr_cmd_login(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *keystore = NULL, *pwfile = NULL, *out = NULL;
	char token[PHR_API_TOKEN_LEN], path[1024];
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
	if (phr_eth_address_from_seckey(addr, sk) != PHR_OK)
		goto done;
	phr_eth_address_checksum(addr_s, addr);
	if (out == NULL) {
		if (save_token(a.node, token, addr_s, path, sizeof(path)) != 0) {
			phr_cli_error("login: cannot save the token in $PHR_DATADIR/tokens.json");
			goto done;
		}
		out = path;
	} else if (phr_file_write_atomic(out, token, strlen(token), 0600) != PHR_OK) {
		phr_cli_error("login: cannot write %s", out);
		goto done;
	}
	printf("signed in to %s as %s; token saved to %s\n", a.node, addr_s, out);
	if (print)
		printf("%s\n", token);
	rc = PHR_EXIT_OK;
done:
	if (sk != NULL)
		sodium_free(sk);
	sodium_memzero(token, sizeof(token));
	return rc;
}
