/*
 * Authentication: SIWE nonces and logins, bearer tokens (stored hashed),
 * TOTP enrolment and checks, and the caller's roles.
 */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"
#include "phr/nodekey.h"
#include "phr/siwe.h"

#define TOTP_SECRET_BYTES 20
#define TOTP_PERIOD 30
#define TOTP_DIGITS 6
/* a TOTP secret at rest: XChaCha20-Poly1305 under DIR/node.key, the address as AD */
#define TOTP_SEALED_BYTES (PHR_NODEKEY_OVERHEAD + TOTP_SECRET_BYTES)

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS tokens(hash BLOB PRIMARY KEY, address BLOB NOT NULL,"
	" expires INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS totp(address BLOB PRIMARY KEY, secret BLOB NOT NULL,"
	" confirmed INTEGER NOT NULL, last_step INTEGER NOT NULL);";

static int totp_seal(uint8_t sealed[TOTP_SEALED_BYTES], const struct phr_api *a,
		     const uint8_t *secret, const uint8_t addr[20])
{
	return phr_nodekey_seal(sealed, TOTP_SEALED_BYTES, a->cfg.datadir, secret, TOTP_SECRET_BYTES,
				addr, 20);
}

/* Seals the TOTP secrets an older node stored in clear (20-byte rows). */
static int totp_migrate(struct phr_api *a)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	uint8_t sealed[TOTP_SEALED_BYTES];
	int rv = PHR_OK, n = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT address, secret FROM totp WHERE length(secret) = ?", -1,
			       &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, "UPDATE totp SET secret = ? WHERE address = ?", -1, &upd,
			       NULL) != SQLITE_OK) {
		rv = PHR_ERR_DB;
		goto out;
	}
	sqlite3_bind_int(sel, 1, TOTP_SECRET_BYTES);
	while (rv == PHR_OK && sqlite3_step(sel) == SQLITE_ROW) {
		if (sqlite3_column_bytes(sel, 0) != 20)
			continue;
		rv = totp_seal(sealed, a, sqlite3_column_blob(sel, 1), sqlite3_column_blob(sel, 0));
		sqlite3_reset(upd);
		sqlite3_bind_blob(upd, 1, sealed, sizeof(sealed), SQLITE_TRANSIENT);
		sqlite3_bind_blob(upd, 2, sqlite3_column_blob(sel, 0), 20, SQLITE_TRANSIENT);
		if (rv == PHR_OK && sqlite3_step(upd) != SQLITE_DONE)
			rv = PHR_ERR_DB;
		n++;
	}
	if (n > 0)
		phr_log_info("api", "sealed %d TOTP secrets stored in clear by an older version", n);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rv;
}

int api_auth_open(struct phr_api *a)
{
	char path[1024];
	int rv;

	if ((size_t)snprintf(path, sizeof(path), "%s/auth.db", a->cfg.datadir) >= sizeof(path))
		return PHR_ERR_INVALID;
	if ((rv = phr_nodekey_ensure(a->cfg.datadir)) != PHR_OK)
		return rv;
	/* secure_delete: replaced or deleted rows (tokens, TOTP) are zeroed on disk */
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, "PRAGMA secure_delete=ON;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("api", "auth database %s: %s", path, a->db ? sqlite3_errmsg(a->db) : "?");
		return PHR_ERR_DB;
	}
	sqlite3_busy_timeout(a->db, 5000);
	if ((rv = totp_migrate(a)) != PHR_OK)
		return rv;
	sqlite3_exec(a->db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
	return PHR_OK;
}

static void token_hash(uint8_t h[32], const char *token)
{
	crypto_generichash(h, 32, (const uint8_t *)token, strlen(token), NULL, 0);
}

int phr_api_token_issue(struct phr_api *a, char token[PHR_API_TOKEN_LEN], const uint8_t address[20],
			uint64_t ttl)
{
	uint8_t rnd[32], h[32];
	sqlite3_stmt *st = NULL;
	int rv = PHR_OK;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(token, "phr_", 4);
	if (phr_hex_encode(token + 4, PHR_API_TOKEN_LEN - 4, rnd, 32, false) != PHR_OK)
		return PHR_ERR_INTERNAL;
	sodium_memzero(rnd, sizeof(rnd));
	token_hash(h, token);
	if (sqlite3_prepare_v2(a->db, "INSERT INTO tokens(hash, address, expires) VALUES(?,?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, address, 20, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL) + (sqlite3_int64)ttl);
	if (sqlite3_step(st) != SQLITE_DONE)
		rv = PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* The cache slot of a token hash (the hash is uniform: its first bytes index). */
static struct api_token_entry *token_slot(struct phr_api *a, const uint8_t h[32])
{
	uint32_t i;

	memcpy(&i, h, sizeof(i));
	return &a->tok_cache[i % API_TOKEN_CACHE];
}

/* The address of a cached, unexpired token: PHR_OK, PHR_ERR_EXPIRED, or PHR_ERR_NOT_FOUND
 * (not cached); *gen gets the generation to fill the cache with after a database read. */
static int token_cached(struct phr_api *a, uint8_t addr[20], uint64_t *gen, const uint8_t h[32],
			int64_t now)
{
	struct api_token_entry *e = token_slot(a, h);
	int rv = PHR_ERR_NOT_FOUND;

	pthread_mutex_lock(&a->tok_lock);
	if (e->used && sodium_memcmp(e->hash, h, 32) == 0) {
		if (e->expires <= now) {
			rv = PHR_ERR_EXPIRED;
		} else {
			memcpy(addr, e->addr, 20);
			rv = PHR_OK;
		}
	}
	*gen = a->tok_gen;
	pthread_mutex_unlock(&a->tok_lock);
	return rv;
}

/* Caches a token read from the database, unless a logout ran since @p gen. */
static void token_cache_put(struct phr_api *a, uint64_t gen, const uint8_t h[32],
			    const uint8_t addr[20], int64_t expires)
{
	struct api_token_entry *e = token_slot(a, h);

	pthread_mutex_lock(&a->tok_lock);
	if (a->tok_gen == gen) {
		memcpy(e->hash, h, 32);
		memcpy(e->addr, addr, 20);
		e->expires = expires;
		e->used = true;
	}
	pthread_mutex_unlock(&a->tok_lock);
}

/* Drops a token from the cache (logout): later lookups go to the database. */
static void token_cache_evict(struct phr_api *a, const uint8_t h[32])
{
	struct api_token_entry *e = token_slot(a, h);

	pthread_mutex_lock(&a->tok_lock);
	a->tok_gen++;
	if (e->used && sodium_memcmp(e->hash, h, 32) == 0)
		sodium_memzero(e, sizeof(*e));
	pthread_mutex_unlock(&a->tok_lock);
}

int api_token_lookup(struct phr_api *a, uint8_t addr[20], const char *token)
{
	uint8_t h[32];
	sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL), expires = 0;
	uint64_t gen;
	int rv = PHR_ERR_UNAUTHENTICATED;

	if (strlen(token) != PHR_API_TOKEN_LEN - 1 || strncmp(token, "phr_", 4) != 0)
		return PHR_ERR_UNAUTHENTICATED;
	token_hash(h, token);
	if ((rv = token_cached(a, addr, &gen, h, now)) != PHR_ERR_NOT_FOUND)
		return rv;
	rv = PHR_ERR_UNAUTHENTICATED;
	if (sqlite3_prepare_v2(a->db, "SELECT address, expires FROM tokens WHERE hash = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 20) {
		expires = sqlite3_column_int64(st, 1);
		if (expires <= now) {
			rv = PHR_ERR_EXPIRED;
		} else {
			memcpy(addr, sqlite3_column_blob(st, 0), 20);
			rv = PHR_OK;
		}
	}
	sqlite3_finalize(st);
	if (rv == PHR_OK)
		token_cache_put(a, gen, h, addr, expires);
	return rv;
}

int api_h_nonce(struct api_ctx *c)
{
	struct phr_api *a = c->api;
	uint8_t rnd[16];
	char nonce[33];
	int64_t now = (int64_t)time(NULL);
	uint64_t chain_id = phr_node_deployment(a->cfg.node)->chain_id;

	randombytes_buf(rnd, sizeof(rnd));
	if (phr_hex_encode(nonce, sizeof(nonce), rnd, sizeof(rnd), false) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "nonce");
	pthread_mutex_lock(&a->lock);
	{
		struct api_nonce *n = &a->nonces[a->nonce_next++ % API_NONCES];
		memcpy(n->nonce, nonce, sizeof(nonce));
		n->expires = now + PHR_API_NONCE_TTL;
		n->used = false;
	}
	pthread_mutex_unlock(&a->lock);
	return api_ok(c, 200, json_pack("{s:s,s:s,s:I,s:I,s:s}", "nonce", nonce, "domain", a->domain,
					 "chainId", (json_int_t)chain_id, "expiresIn",
					 (json_int_t)PHR_API_NONCE_TTL, "uri", "http://localhost"));
}

/* Marks the nonce used; fails when unknown, used or expired. */
static int nonce_take(struct phr_api *a, const char *nonce, int64_t now)
{
	int rv = PHR_ERR_UNAUTHENTICATED;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < API_NONCES; i++) {
		struct api_nonce *n = &a->nonces[i];
		if (n->nonce[0] == '\0' || strcmp(n->nonce, nonce) != 0)
			continue;
		if (n->used)
			rv = PHR_ERR_UNAUTHENTICATED;
		else if (n->expires <= now)
			rv = PHR_ERR_EXPIRED;
		else
			rv = PHR_OK;
		n->used = true;
		break;
	}
	pthread_mutex_unlock(&a->lock);
	return rv;
}

int api_h_login(struct api_ctx *c)
{
	struct phr_api *a = c->api;
	struct phr_siwe m;
	const char *msg, *sig_hex;
	uint8_t sig[PHR_ETH_SIG_BYTES], who[20];
	char token[PHR_API_TOKEN_LEN];
	int64_t now = (int64_t)time(NULL);
	int rv;

	if (c->req.body == NULL || phr_json_get_str(&msg, c->req.body, "message") != PHR_OK ||
	    phr_json_get_str(&sig_hex, c->req.body, "signature") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "message and signature (strings) are required");
	if (strlen(sig_hex) != 132 || phr_hex_decode_exact(sig, sizeof(sig), sig_hex) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "signature must be 0x + 65 bytes of hex");
	rv = phr_siwe_parse(&m, msg, strlen(msg));
	if (rv != PHR_OK) {
		atomic_fetch_add(&a->m_auth_fail, 1);
		return api_fail(c, rv == PHR_ERR_TOO_LARGE ? rv : PHR_ERR_INVALID,
				"not an EIP-4361 message (%s)", phr_strerror(rv));
	}
	rv = phr_siwe_check(&m, a->domain, phr_node_deployment(a->cfg.node)->chain_id, now,
			    PHR_API_NONCE_TTL);
	if (rv != PHR_OK) {
		atomic_fetch_add(&a->m_auth_fail, 1);
		return api_fail(c, PHR_ERR_UNAUTHENTICATED, "%s",
				rv == PHR_ERR_EXPIRED ? "the message is expired or not yet valid"
						      : "wrong domain or chain id");
	}
	if (phr_eip191_recover(who, msg, strlen(msg), sig) != PHR_OK ||
	    memcmp(who, m.address, 20) != 0) {
		atomic_fetch_add(&a->m_auth_fail, 1);
		return api_fail(c, PHR_ERR_UNAUTHENTICATED, "the signature is not the address's");
	}
	rv = nonce_take(a, m.nonce, now);
	if (rv != PHR_OK) {
		atomic_fetch_add(&a->m_auth_fail, 1);
		return api_fail(c, PHR_ERR_UNAUTHENTICATED, "%s",
				rv == PHR_ERR_EXPIRED ? "the nonce has expired"
						      : "unknown or already used nonce");
	}
	if ((rv = phr_api_token_issue(a, token, m.address, PHR_API_TOKEN_TTL)) != PHR_OK)
		return api_fail(c, rv, "token store");
	atomic_fetch_add(&a->m_logins, 1);
	phr_log_info("api", "login by %02x%02x..%02x", m.address[0], m.address[1], m.address[19]);
	return api_ok(c, 200, json_pack("{s:s,s:s,s:o,s:I}", "token", token, "tokenType", "Bearer",
					 "address", api_jaddr(m.address), "expiresIn",
					 (json_int_t)PHR_API_TOKEN_TTL));
}

int api_h_logout(struct api_ctx *c)
{
	const char *h = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Authorization");
	sqlite3_stmt *st = NULL;
	uint8_t hash[32];

	token_hash(hash, h + 7);
	if (sqlite3_prepare_v2(c->api->db, "DELETE FROM tokens WHERE hash = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return api_fail(c, PHR_ERR_DB, "token store");
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	/* after the delete: a lookup between the two finds the row gone or sees tok_gen move */
	token_cache_evict(c->api, hash);
	return api_ok(c, 200, json_pack("{s:b}", "loggedOut", 1));
}

static json_t *roles_json(struct api_ctx *c, unsigned r)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	if (r & PHR_R_PATIENT)
		json_array_append_new(arr, json_string("patient"));
	if (r & PHR_R_PROVIDER)
		json_array_append_new(arr, json_string("provider"));
	if (r & PHR_R_EMERGENCY)
		json_array_append_new(arr, json_string("emergency-provider"));
	if (r & PHR_R_AUTHORITY)
		json_array_append_new(arr, json_string("credential-authority"));
	if (r & PHR_R_GOVERNANCE)
		json_array_append_new(arr, json_string("operator"));
	if (api_is_auditor(c->api, c->caller))
		json_array_append_new(arr, json_string("auditor"));
	return arr;
}

/* The caller's TOTP row; @p secret (sodium memory, TOTP_SECRET_BYTES) gets the
 * opened secret, or is left untouched when NULL. */
static int totp_row(struct phr_api *a, uint8_t *secret, bool *confirmed, int64_t *last_step,
		    const uint8_t addr[20])
{
	sqlite3_stmt *st = NULL;
	int rv = PHR_ERR_NOT_FOUND;

	if (sqlite3_prepare_v2(a->db, "SELECT secret, confirmed, last_step FROM totp WHERE address = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_blob(st, 1, addr, 20, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TOTP_SEALED_BYTES) {
		const uint8_t *sealed = sqlite3_column_blob(st, 0);
		*confirmed = sqlite3_column_int(st, 1) != 0;
		*last_step = sqlite3_column_int64(st, 2);
		rv = PHR_OK;
		if (secret != NULL) {
			rv = phr_nodekey_open(secret, TOTP_SECRET_BYTES, a->cfg.datadir, sealed,
					      TOTP_SEALED_BYTES, addr, 20);
			if (rv == PHR_ERR_NOT_FOUND || rv == PHR_ERR_IO)
				rv = PHR_ERR_CORRUPT;
		}
	}
	sqlite3_finalize(st);
	if (rv == PHR_ERR_CORRUPT || rv == PHR_ERR_TAMPERED)
		phr_log_error("api", "a TOTP secret does not open with DIR/node.key (%s)", phr_strerror(rv));
	return rv;
}

int api_h_me(struct api_ctx *c)
{
	bool confirmed = false;
	int64_t last;
	unsigned r = 0;
	int rv = phr_node_roles(c->api->cfg.node, &r, c->caller);

	if (rv != PHR_OK)
		return api_fail(c, rv, "reading the registries");
	if (totp_row(c->api, NULL, &confirmed, &last, c->caller) != PHR_OK)
		confirmed = false;
	return api_ok(c, 200, json_pack("{s:o,s:o,s:b,s:b}", "address",
					 api_jaddr(c->caller), "roles", roles_json(c, r),
					 "hosted", phr_node_identity(c->api->cfg.node, c->caller) != NULL,
					 "totp", confirmed));
}

int api_h_totp_enroll(struct api_ctx *c)
{
	uint8_t *secret = NULL, sealed[TOTP_SEALED_BYTES];
	char account[PHR_ETH_ADDRESS_STR_LEN], *b32 = NULL;
	struct phr_buf uri;
	sqlite3_stmt *st = NULL;
	bool confirmed = false;
	int64_t last;
	int rv;

	if (totp_row(c->api, NULL, &confirmed, &last, c->caller) == PHR_OK && confirmed) {
		/* replacing a confirmed factor needs the current one */
		if ((rv = api_totp_check(c)) != PHR_OK)
			return rv;
	}
	phr_buf_init(&uri, 1024);
	secret = sodium_malloc(TOTP_SECRET_BYTES);
	b32 = sodium_malloc(64);
	if (secret == NULL || b32 == NULL) {
		rv = api_fail(c, PHR_ERR_NOMEM, "out of memory");
		goto out;
	}
	randombytes_buf(secret, TOTP_SECRET_BYTES);
	phr_eth_address_checksum(account, c->caller);
	if (phr_totp_uri(&uri, "phr", account, secret, TOTP_SECRET_BYTES, PHR_TOTP_SHA1, TOTP_DIGITS,
			 TOTP_PERIOD) != PHR_OK ||
	    phr_totp_secret_encode(b32, 64, secret, TOTP_SECRET_BYTES) != PHR_OK) {
		rv = api_fail(c, PHR_ERR_INTERNAL, "otpauth uri");
		goto out;
	}
	if (totp_seal(sealed, c->api, secret, c->caller) != PHR_OK) {
		rv = api_fail(c, PHR_ERR_CRYPTO, "sealing the TOTP secret");
		goto out;
	}
	if (sqlite3_prepare_v2(c->api->db, "INSERT OR REPLACE INTO totp(address, secret, confirmed,"
					   " last_step) VALUES(?,?,0,0)", -1, &st, NULL) != SQLITE_OK) {
		rv = api_fail(c, PHR_ERR_DB, "totp store");
		goto out;
	}
	sqlite3_bind_blob(st, 1, c->caller, 20, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, sealed, sizeof(sealed), SQLITE_TRANSIENT);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	if (rv != PHR_OK)
		rv = api_fail(c, rv, "totp store");
	else
		rv = api_ok(c, 201, json_pack("{s:s,s:s,s:i,s:i,s:s}", "otpauthUri",
					      (const char *)uri.data, "secret", b32, "digits",
					      TOTP_DIGITS, "period", TOTP_PERIOD, "next",
					      "POST /api/v1/me/totp/confirm {\"code\":\"123456\"}"));
out:
	if (uri.data != NULL)
		sodium_memzero(uri.data, uri.len);
	phr_buf_release(&uri);
	if (secret != NULL)
		sodium_free(secret);
	if (b32 != NULL)
		sodium_free(b32);
	return rv;
}

/* Verifies the code in X-PHR-TOTP (or body "code") against the caller's secret,
 * once per time step (no replay). The secret is opened into sodium memory only
 * for the comparison. */
static int totp_verify(struct api_ctx *c, bool require_confirmed)
{
	uint8_t *secret;
	bool confirmed = false;
	int64_t last = 0, now = (int64_t)time(NULL), step, matched = -1;
	const char *code = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "X-PHR-TOTP");
	sqlite3_stmt *st = NULL;
	int rv;

	if (code == NULL && c->req.body != NULL && phr_json_get_str(&code, c->req.body, "code") != PHR_OK)
		code = NULL;
	secret = sodium_malloc(TOTP_SECRET_BYTES);
	if (secret == NULL)
		return api_fail(c, PHR_ERR_NOMEM, "out of memory");
	rv = totp_row(c->api, secret, &confirmed, &last, c->caller);
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND) {
		sodium_free(secret);
		return api_fail(c, rv == PHR_ERR_DB ? rv : PHR_ERR_INTERNAL, "the TOTP store");
	}
	if (rv != PHR_OK || (require_confirmed && !confirmed)) {
		sodium_free(secret);
		return api_fail(c, PHR_ERR_FORBIDDEN,
				"this action needs a second factor: enrol with POST /api/v1/me/totp");
	}
	if (code == NULL) {
		sodium_free(secret);
		return api_fail(c, PHR_ERR_UNAUTHENTICATED, "a TOTP code is required (X-PHR-TOTP)");
	}
	/* RFC 6238 §5.2: accept the previous, current or next step, each step once */
	step = now / TOTP_PERIOD;
	for (int64_t s = step - 1; s <= step + 1; s++) {
		uint32_t v = 0;
		char want[16];
		if (phr_totp(&v, PHR_TOTP_SHA1, secret, TOTP_SECRET_BYTES, (uint64_t)(s * TOTP_PERIOD),
			     TOTP_PERIOD, TOTP_DIGITS) != PHR_OK)
			continue;
		snprintf(want, sizeof(want), "%0*u", TOTP_DIGITS, (unsigned)v);
		if (strlen(code) == TOTP_DIGITS && sodium_memcmp(want, code, TOTP_DIGITS) == 0 && s > last)
			matched = s;
		sodium_memzero(want, sizeof(want));
	}
	sodium_free(secret);
	if (matched < 0)
		return api_fail(c, PHR_ERR_UNAUTHENTICATED, "wrong or already used TOTP code");
	step = matched;
	/* one use per window: a later code must come from a later step */
	if (sqlite3_prepare_v2(c->api->db, "UPDATE totp SET confirmed = 1, last_step = ? WHERE"
					   " address = ?", -1, &st, NULL) != SQLITE_OK)
		return api_fail(c, PHR_ERR_DB, "totp store");
	sqlite3_bind_int64(st, 1, step);
	sqlite3_bind_blob(st, 2, c->caller, 20, SQLITE_TRANSIENT);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

int api_totp_check(struct api_ctx *c)
{
	return totp_verify(c, true);
}

int api_totp_check_enrolled(struct api_ctx *c)
{
	bool confirmed = false;
	int64_t last;
	int rv = totp_row(c->api, NULL, &confirmed, &last, c->caller);

	if (rv == PHR_ERR_NOT_FOUND || (rv == PHR_OK && !confirmed))
		return PHR_OK;
	if (rv != PHR_OK)
		return api_fail(c, rv, "the TOTP store");
	return totp_verify(c, true);
}

int api_h_totp_confirm(struct api_ctx *c)
{
	int rv = totp_verify(c, false);

	if (rv != PHR_OK)
		return rv;
	return api_ok(c, 200, json_pack("{s:b}", "totp", 1));
}
