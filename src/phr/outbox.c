/*
 * Notifications (issue 8 part 2): a durable outbox in the node database,
 * webhook deliveries signed with HMAC-SHA256, retries with exponential
 * backoff, a delivery thread and a scan of the chain's notification events.
 */
#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/nodekey.h"
#include "phr/notify.h"
#include "phr_int.h"

#define NOTIFY_DEFAULT_BACKOFF 5u
/* Each chain scan looks again at this many blocks before its cursor: a chain
 * may answer a block number before that block's logs are queryable (the
 * embedded chain commits groups of blocks), and every chain notification has
 * a de-duplication key, so a second look only finds what the first missed. */
#define NOTIFY_RESCAN_BLOCKS 64u
#define NOTIFY_HTTP_TIMEOUT 5L

static const char notify_schema[] =
	"CREATE TABLE IF NOT EXISTS notify_subs(id INTEGER PRIMARY KEY, owner BLOB NOT NULL,"
	" url TEXT NOT NULL, secret BLOB NOT NULL, created INTEGER NOT NULL,"
	" sealed INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS notifications(id INTEGER PRIMARY KEY, recipient BLOB NOT NULL,"
	" kind TEXT NOT NULL, payload TEXT NOT NULL, created INTEGER NOT NULL, dedup TEXT UNIQUE);"
	"CREATE INDEX IF NOT EXISTS notifications_recipient ON notifications(recipient, id);"
	"CREATE TABLE IF NOT EXISTS notify_deliveries(notification INTEGER NOT NULL,"
	" sub INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL, last_error TEXT, delivered_at INTEGER,"
	" PRIMARY KEY(notification, sub));"
	"CREATE INDEX IF NOT EXISTS notify_due ON notify_deliveries(state, next_at);"
	"CREATE TABLE IF NOT EXISTS notify_cursor(name TEXT PRIMARY KEY, block INTEGER NOT NULL);";

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* A webhook secret at rest: sealed under DIR/node.key, its owner's address as AD. */
static int secret_seal(const struct phr_node *n, uint8_t *sealed, size_t *sealed_len,
		       const uint8_t owner[20], const uint8_t *secret, size_t secret_len)
{
	*sealed_len = secret_len + PHR_NODEKEY_OVERHEAD;
	return phr_nodekey_seal(sealed, PHR_NOTIFY_SECRET_MAX + PHR_NODEKEY_OVERHEAD, n->datadir,
				secret, secret_len, owner, 20);
}

/* Seals the secrets an older version stored in clear (lock held); the
 * replaced rows are overwritten on disk (secure_delete while it runs). */
static int secrets_migrate(struct phr_node *n)
{
	uint8_t sealed[PHR_NOTIFY_SECRET_MAX + PHR_NODEKEY_OVERHEAD];
	sqlite3_stmt *sel = NULL, *upd = NULL;
	size_t sl = 0;
	int rv = PHR_OK, count = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT id, owner, secret FROM notify_subs WHERE sealed = 0", -1,
			       &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db, "UPDATE notify_subs SET secret = ?, sealed = 1 WHERE id = ?", -1,
			       &upd, NULL) != SQLITE_OK) {
		sqlite3_finalize(sel);
		return PHR_ERR_DB;
	}
	while (rv == PHR_OK && sqlite3_step(sel) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(sel, 2);
		if (sqlite3_column_bytes(sel, 1) != 20 || len < (int)PHR_NOTIFY_SECRET_MIN ||
		    len > (int)PHR_NOTIFY_SECRET_MAX)
			continue;
		if (count++ == 0)
			sqlite3_exec(n->db, "PRAGMA secure_delete=ON", NULL, NULL, NULL);
		rv = secret_seal(n, sealed, &sl, sqlite3_column_blob(sel, 1),
				 sqlite3_column_blob(sel, 2), (size_t)len);
		sqlite3_reset(upd);
		sqlite3_bind_blob(upd, 1, sealed, (int)sl, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
		if (rv == PHR_OK && sqlite3_step(upd) != SQLITE_DONE)
			rv = PHR_ERR_DB;
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (count > 0) {
		sqlite3_exec(n->db, "PRAGMA secure_delete=OFF", NULL, NULL, NULL);
		phr_log_info("notify", "sealed %d webhook secrets stored in clear by an older version",
			     count);
	}
	return rv;
}

/* Creates the tables once per node (lock held). */
static int schema(struct phr_node *n)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if (n->notify_schema)
		return PHR_OK;
	if (sqlite3_exec(n->db, notify_schema, NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("notify", "schema: %s", sqlite3_errmsg(n->db));
		return PHR_ERR_DB;
	}
	/* tables of an older version: no `sealed` column yet */
	if (sqlite3_prepare_v2(n->db, "SELECT sealed FROM notify_subs LIMIT 0", -1, &st, NULL) ==
	    SQLITE_OK)
		sqlite3_finalize(st);
	else if (sqlite3_exec(n->db, "ALTER TABLE notify_subs ADD COLUMN sealed INTEGER NOT NULL"
				     " DEFAULT 0", NULL, NULL, NULL) != SQLITE_OK) {
		phr_log_error("notify", "schema: %s", sqlite3_errmsg(n->db));
		return PHR_ERR_DB;
	}
	if ((rv = secrets_migrate(n)) != PHR_OK) {
		phr_log_error("notify", "sealing stored webhook secrets: %s", phr_strerror(rv));
		return rv;
	}
	n->notify_schema = true;
	return PHR_OK;
}

static bool kind_ok(const char *k)
{
	size_t i;

	if (k == NULL)
		return false;
	for (i = 0; k[i] != '\0'; i++) {
		char ch = k[i];
		if (i >= 32 || !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
				 ch == '.' || ch == '-'))
			return false;
	}
	return i > 0;
}

static int prep(struct phr_node *n, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(n->db, sql, -1, st, NULL) != SQLITE_OK) {
		phr_log_error("notify", "prepare: %s", sqlite3_errmsg(n->db));
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

/*
 * Inserts a notification and a delivery row per subscription of the
 * recipient in one transaction (lock held). A @p dedup key already present
 * makes it a no-op (*queued false).
 */
static int queue_locked(struct phr_node *n, bool *queued, const uint8_t recipient[20],
			const char *kind, const char *payload, const char *dedup)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 id;
	uint64_t t = now_s();
	int rv, rc;

	*queued = false;
	if ((rv = schema(n)) != PHR_OK)
		return rv;
	if (sqlite3_exec(n->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	rv = prep(n, &st, "INSERT OR IGNORE INTO notifications(recipient, kind, payload, created, dedup)"
			  " VALUES(?,?,?,?,?)");
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, recipient, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, payload, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)t);
		if (dedup != NULL)
			sqlite3_bind_text(st, 5, dedup, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			rv = PHR_ERR_DB;
		else if (sqlite3_changes(n->db) == 1)
			*queued = true;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rv == PHR_OK && *queued) {
		id = sqlite3_last_insert_rowid(n->db);
		rv = prep(n, &st, "INSERT INTO notify_deliveries(notification, sub, next_at)"
				  " SELECT ?, id, ? FROM notify_subs WHERE owner = ?");
		if (rv == PHR_OK) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)t);
			sqlite3_bind_blob(st, 3, recipient, 20, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				rv = PHR_ERR_DB;
			sqlite3_finalize(st);
		}
	}
	if (rv == PHR_OK && sqlite3_exec(n->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv != PHR_OK) {
		sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
		*queued = false;
	}
	return rv;
}

/* Validates and serialises a payload (NULL: {}); @p text is phr_malloc'd. */
static int payload_text(char **text, const json_t *payload)
{
	char *s;

	if (payload != NULL && !json_is_object(payload))
		return PHR_ERR_INVALID;
	s = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (s == NULL)
		return PHR_ERR_NOMEM;
	if (strlen(s) > PHR_NOTIFY_PAYLOAD_MAX) {
		free(s);
		return PHR_ERR_TOO_LARGE;
	}
	*text = s;
	return PHR_OK;
}

static int notify_dedup(struct phr_node *n, bool *queued, const uint8_t recipient[20],
			const char *kind, const json_t *payload, const char *dedup)
{
	char *text = NULL;
	bool q = false;
	int rv;

	if (!kind_ok(kind))
		return PHR_ERR_INVALID;
	if ((rv = payload_text(&text, payload)) != PHR_OK)
		return rv;
	pthread_mutex_lock(&n->lock);
	rv = queue_locked(n, &q, recipient, kind, text, dedup);
	pthread_mutex_unlock(&n->lock);
	free(text);
	if (queued != NULL)
		*queued = q;
	if (rv == PHR_OK && q) {
		atomic_store(&n->notify_kick, 1);
		phr_log_info("notify", "queued a notification (%s)", kind);
	}
	return rv;
}

int phr_notify(struct phr_node *n, const uint8_t recipient[20], const char *kind,
	       const json_t *payload)
{
	if (n == NULL || recipient == NULL)
		return PHR_ERR_INVALID;
	return notify_dedup(n, NULL, recipient, kind, payload, NULL);
}

int phr_notify_subscribe(struct phr_node *n, uint64_t *id, const uint8_t owner[20],
			 const char *url, const uint8_t *secret, size_t secret_len)
{
	uint8_t sealed[PHR_NOTIFY_SECRET_MAX + PHR_NODEKEY_OVERHEAD];
	sqlite3_stmt *st = NULL;
	size_t ul, sl = 0;
	int rv, rc = SQLITE_DONE;

	if (n == NULL || id == NULL || owner == NULL || url == NULL || secret == NULL ||
	    secret_len < PHR_NOTIFY_SECRET_MIN || secret_len > PHR_NOTIFY_SECRET_MAX)
		return PHR_ERR_INVALID;
	ul = strlen(url);
	if (ul > PHR_NOTIFY_URL_MAX)
		return PHR_ERR_INVALID;
	if (strncmp(url, "https://", 8) == 0)
		return PHR_ERR_UNSUPPORTED;
	if (strncmp(url, "http://", 7) != 0 || ul == 7 || strpbrk(url, " \r\n\t") != NULL)
		return PHR_ERR_INVALID;
	/* the database only ever sees the sealed secret */
	if ((rv = secret_seal(n, sealed, &sl, owner, secret, secret_len)) != PHR_OK)
		return rv;
	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	/* the same URL of the same owner again: a new secret for the same subscription */
	if (rv == PHR_OK)
		rv = prep(n, &st, "UPDATE notify_subs SET secret = ?, sealed = 1 WHERE owner = ? AND"
				  " url = ? RETURNING id");
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, sealed, (int)sl, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, owner, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, url, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*id = (uint64_t)sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			rv = PHR_ERR_DB;
		sqlite3_finalize(st);
		st = NULL;
		if (rc == SQLITE_ROW) {
			pthread_mutex_unlock(&n->lock);
			return PHR_OK;
		}
	}
	if (rv == PHR_OK)
		rv = prep(n, &st, "INSERT INTO notify_subs(owner, url, secret, created, sealed)"
				  " VALUES(?,?,?,?,1)");
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, owner, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, sealed, (int)sl, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)now_s());
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
		else
			*id = (uint64_t)sqlite3_last_insert_rowid(n->db);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&n->lock);
	return rv;
}

int phr_notify_unsubscribe(struct phr_node *n, const uint8_t owner[20], uint64_t id)
{
	sqlite3_stmt *st = NULL;
	int rv, changes = 0;

	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	if (rv == PHR_OK)
		rv = prep(n, &st, "DELETE FROM notify_subs WHERE id = ? AND owner = ?");
	if (rv == PHR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		sqlite3_bind_blob(st, 2, owner, 20, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
		changes = sqlite3_changes(n->db);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rv == PHR_OK && changes == 0)
		rv = PHR_ERR_NOT_FOUND;
	if (rv == PHR_OK && prep(n, &st, "DELETE FROM notify_deliveries WHERE sub = ? AND state = 0") ==
				    PHR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* Gives @p arr to the caller on success, frees it otherwise. */
static int hand_over(json_t **out, json_t *arr, int rv)
{
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

int phr_notify_subscriptions(struct phr_node *n, json_t **out, const uint8_t owner[20])
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rv, rc;

	if (arr == NULL)
		return PHR_ERR_NOMEM;
	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	if (rv == PHR_OK)
		rv = prep(n, &st, "SELECT id, url, created FROM notify_subs WHERE owner = ? ORDER BY id");
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, owner, 20, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (json_array_append_new(
				    arr, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
						   "url", (const char *)sqlite3_column_text(st, 1),
						   "createdAt", (json_int_t)sqlite3_column_int64(st, 2))) != 0)
				rv = PHR_ERR_NOMEM;
		if (rc != SQLITE_DONE)
			rv = PHR_ERR_DB;
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&n->lock);
	return hand_over(out, arr, rv);
}

static json_t *deliveries_of(struct phr_node *n, sqlite3_int64 id)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();

	if (arr == NULL || prep(n, &st, "SELECT sub, state, attempts, next_at, last_error, delivered_at"
					" FROM notify_deliveries WHERE notification = ? ORDER BY sub") != PHR_OK) {
		json_decref(arr);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *err = (const char *)sqlite3_column_text(st, 4);
		json_t *d = json_pack("{s:I,s:s,s:I,s:I}", "subscription",
				      (json_int_t)sqlite3_column_int64(st, 0), "state",
				      sqlite3_column_int(st, 1) ? "delivered" : "pending", "attempts",
				      (json_int_t)sqlite3_column_int64(st, 2), "nextAttempt",
				      (json_int_t)sqlite3_column_int64(st, 3));
		if (d == NULL)
			continue;
		json_object_set_new(d, "lastError", err ? json_string(err) : json_null());
		json_object_set_new(d, "deliveredAt", sqlite3_column_type(st, 5) == SQLITE_NULL
							      ? json_null()
							      : json_integer(sqlite3_column_int64(st, 5)));
		json_array_append_new(arr, d);
	}
	sqlite3_finalize(st);
	return arr;
}

int phr_notify_list(struct phr_node *n, json_t **out, const uint8_t recipient[20], size_t limit)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rv, rc;

	if (arr == NULL)
		return PHR_ERR_NOMEM;
	if (limit == 0 || limit > 1000)
		limit = limit == 0 ? 100 : 1000;
	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	if (rv == PHR_OK)
		rv = prep(n, &st, "SELECT id, kind, payload, created FROM notifications"
				  " WHERE recipient = ? ORDER BY id DESC LIMIT ?");
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, recipient, 20, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *p = (const char *)sqlite3_column_text(st, 2);
			json_t *pl = p ? json_loads(p, 0, NULL) : NULL;
			json_t *e = json_pack("{s:I,s:s,s:I,s:o,s:o}", "id",
					      (json_int_t)sqlite3_column_int64(st, 0), "kind",
					      (const char *)sqlite3_column_text(st, 1), "createdAt",
					      (json_int_t)sqlite3_column_int64(st, 3), "payload",
					      pl ? pl : json_object(), "deliveries",
					      deliveries_of(n, sqlite3_column_int64(st, 0)));
			if (e == NULL || json_array_append_new(arr, e) != 0)
				rv = PHR_ERR_NOMEM;
		}
		if (rc != SQLITE_DONE)
			rv = PHR_ERR_DB;
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&n->lock);
	return hand_over(out, arr, rv);
}

/* --- signatures ------------------------------------------------------------ */

static void sign_raw(uint8_t mac[32], const uint8_t *secret, size_t secret_len, uint64_t ts,
		     const uint8_t *body, size_t body_len)
{
	crypto_auth_hmacsha256_state s;
	char pre[32];
	int l = snprintf(pre, sizeof(pre), "%llu.", (unsigned long long)ts);

	crypto_auth_hmacsha256_init(&s, secret, secret_len);
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)pre, (unsigned long long)l);
	if (body_len > 0)
		crypto_auth_hmacsha256_update(&s, body, body_len);
	crypto_auth_hmacsha256_final(&s, mac);
	sodium_memzero(&s, sizeof(s));
}

int phr_notify_sign(char out[68], const uint8_t *secret, size_t secret_len, uint64_t ts,
		    const uint8_t *body, size_t body_len)
{
	uint8_t mac[32];

	if (out == NULL || secret == NULL || secret_len == 0 || (body == NULL && body_len > 0))
		return PHR_ERR_INVALID;
	sign_raw(mac, secret, secret_len, ts, body, body_len);
	memcpy(out, "v1=", 3);
	return phr_hex_encode(out + 3, 65, mac, 32, false);
}

int phr_notify_verify(const char *sig_header, const uint8_t *secret, size_t secret_len, uint64_t ts,
		      uint64_t now, uint64_t tolerance, const uint8_t *body, size_t body_len)
{
	char want[68];
	int rv;

	if (sig_header == NULL)
		return PHR_ERR_INVALID;
	if ((rv = phr_notify_sign(want, secret, secret_len, ts, body, body_len)) != PHR_OK)
		return rv;
	if (strlen(sig_header) != 67 || sodium_memcmp(want, sig_header, 67) != 0)
		return PHR_ERR_SIGNATURE;
	if ((ts > now ? ts - now : now - ts) > tolerance)
		return PHR_ERR_EXPIRED;
	return PHR_OK;
}

/* --- delivery --------------------------------------------------------------- */

struct due {
	sqlite3_int64 notification, sub;
	uint64_t attempts;
	char url[PHR_NOTIFY_URL_MAX + 1];
	uint8_t owner[20]; /* of the subscription: the AD of its sealed secret */
	uint8_t sealed[PHR_NOTIFY_SECRET_MAX + PHR_NODEKEY_OVERHEAD]; /* the secret, sealed */
	size_t sealed_len;
	char *body; /* malloc */
	int result;     /* of the POST; PHR_ERR_STATE: not attempted in this pass */
	char why[128];  /* the failure */
};

static size_t discard(void *p, size_t sz, size_t nm, void *ud)
{
	(void)p;
	(void)ud;
	return sz * nm;
}

/* The signature header of @p d: its secret is opened into sodium memory for
 * the HMAC only. */
static int sign_due(const struct phr_node *n, char sig[68], const struct due *d, uint64_t ts)
{
	size_t len = d->sealed_len - PHR_NODEKEY_OVERHEAD;
	uint8_t *secret = sodium_malloc(PHR_NOTIFY_SECRET_MAX);
	int rv;

	if (secret == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_nodekey_open(secret, PHR_NOTIFY_SECRET_MAX, n->datadir, d->sealed, d->sealed_len,
			      d->owner, 20);
	if (rv == PHR_OK)
		rv = phr_notify_sign(sig, secret, len, ts, (const uint8_t *)d->body, strlen(d->body));
	sodium_free(secret);
	return rv;
}

/* One POST; @return PHR_OK on 2xx, else an error with @p why filled. */
static int post_one(const struct phr_node *n, const struct due *d, char why[128])
{
	struct curl_slist *h = NULL;
	char line[160], sig[68];
	uint64_t ts = now_s();
	long status = 0;
	CURL *c;
	CURLcode cc;
	int rv;

	if ((rv = sign_due(n, sig, d, ts)) != PHR_OK) {
		snprintf(why, 128, "signing failed: the secret does not open with DIR/node.key (%s)",
			 phr_strerror(rv));
		return rv;
	}
	if ((c = curl_easy_init()) == NULL) {
		snprintf(why, 128, "no curl handle");
		return PHR_ERR_NOMEM;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-Phr-Notification: %lld", (long long)d->notification);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Phr-Timestamp: %llu", (unsigned long long)ts);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Phr-Signature: %s", sig);
	h = curl_slist_append(h, line);
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NOTIFY_HTTP_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(why, 128, "%s", curl_easy_strerror(cc));
		rv = PHR_ERR_NETWORK;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			rv = PHR_OK;
		} else {
			snprintf(why, 128, "HTTP %ld", status);
			rv = PHR_ERR_NETWORK;
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rv;
}

static uint64_t backoff_of(const struct phr_node *n, uint64_t attempts)
{
	uint64_t base = n->notify_backoff ? n->notify_backoff : NOTIFY_DEFAULT_BACKOFF;
	uint64_t cap = n->notify_backoff_max ? n->notify_backoff_max : PHR_NOTIFY_BACKOFF_MAX;
	uint64_t d = base;

	for (uint64_t i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

/* Selects up to @p max due deliveries with their bodies (lock held). */
static int select_due(struct phr_node *n, struct due *ds, size_t *nd, size_t max)
{
	sqlite3_stmt *st = NULL;
	int rv;

	*nd = 0;
	if ((rv = schema(n)) != PHR_OK)
		return rv;
	rv = prep(n, &st,
		  "SELECT d.notification, d.sub, d.attempts, s.url, s.secret, n.recipient, n.kind,"
		  " n.payload, n.created, s.owner FROM notify_deliveries d JOIN notify_subs s ON s.id = d.sub"
		  " JOIN notifications n ON n.id = d.notification WHERE d.state = 0 AND d.next_at <= ?"
		  " ORDER BY d.next_at, d.notification LIMIT ?");
	if (rv != PHR_OK)
		return rv;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s());
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (*nd < max && sqlite3_step(st) == SQLITE_ROW) {
		struct due *d = &ds[*nd];
		const char *url = (const char *)sqlite3_column_text(st, 3);
		int sl = sqlite3_column_bytes(st, 4);
		const void *rcp = sqlite3_column_blob(st, 5);
		json_t *pl = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
		json_t *doc;

		if (url == NULL || sl < (int)(PHR_NOTIFY_SECRET_MIN + PHR_NODEKEY_OVERHEAD) ||
		    sl > (int)(PHR_NOTIFY_SECRET_MAX + PHR_NODEKEY_OVERHEAD) ||
		    sqlite3_column_bytes(st, 5) != 20 || rcp == NULL ||
		    sqlite3_column_bytes(st, 9) != 20) {
			json_decref(pl);
			continue;
		}
		memset(d, 0, sizeof(*d));
		d->notification = sqlite3_column_int64(st, 0);
		d->sub = sqlite3_column_int64(st, 1);
		d->attempts = (uint64_t)sqlite3_column_int64(st, 2);
		snprintf(d->url, sizeof(d->url), "%s", url);
		memcpy(d->sealed, sqlite3_column_blob(st, 4), (size_t)sl);
		d->sealed_len = (size_t)sl;
		memcpy(d->owner, sqlite3_column_blob(st, 9), 20);
		doc = json_pack("{s:I,s:o,s:s,s:I,s:o}", "id", (json_int_t)d->notification, "recipient",
				phr_node_i_jaddr(rcp), "kind", (const char *)sqlite3_column_text(st, 6),
				"createdAt", (json_int_t)sqlite3_column_int64(st, 8), "payload",
				pl ? pl : json_object());
		d->body = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(doc);
		if (d->body == NULL)
			continue;
		(*nd)++;
	}
	sqlite3_finalize(st);
	return PHR_OK;
}

static void record_outcome(struct phr_node *n, const struct due *d, int ok, const char *why)
{
	sqlite3_stmt *st = NULL;
	uint64_t t = now_s();

	if (prep(n, &st, ok == PHR_OK
				 ? "UPDATE notify_deliveries SET state = 1, attempts = attempts + 1,"
				   " delivered_at = ?3, last_error = NULL WHERE notification = ?1 AND sub = ?2"
				 : "UPDATE notify_deliveries SET attempts = attempts + 1, next_at = ?3,"
				   " last_error = ?4 WHERE notification = ?1 AND sub = ?2") != PHR_OK)
		return;
	sqlite3_bind_int64(st, 1, d->notification);
	sqlite3_bind_int64(st, 2, d->sub);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(ok == PHR_OK ? t : t + backoff_of(n, d->attempts + 1)));
	if (ok != PHR_OK)
		sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		phr_log_error("notify", "delivery state: %s", sqlite3_errmsg(n->db));
	sqlite3_finalize(st);
}

int phr_notify_deliver_due(struct phr_node *n, size_t *delivered, size_t *failed, size_t max)
{
	struct due *ds;
	size_t nd = 0, ok = 0, bad = 0;
	int rv;

	if (max == 0 || max > 256)
		max = max == 0 ? 64 : 256;
	if ((ds = phr_calloc(max, sizeof(*ds))) == NULL)
		return PHR_ERR_NOMEM;
	pthread_mutex_lock(&n->lock);
	rv = select_due(n, ds, &nd, max);
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; rv == PHR_OK && i < nd; i++) {
		bool skip = false;
		/* a receiver that just failed is not tried again in this pass */
		for (size_t j = 0; j < i && !skip; j++)
			skip = ds[j].sub == ds[i].sub && ds[j].result != PHR_OK;
		if (skip) {
			ds[i].result = PHR_ERR_STATE;
			continue;
		}
		ds[i].result = post_one(n, &ds[i], ds[i].why);
		if (ds[i].result == PHR_OK) {
			ok++;
			phr_log_info("notify", "notification %lld delivered to subscription %lld",
				     (long long)ds[i].notification, (long long)ds[i].sub);
		} else {
			bad++;
			phr_log_warn("notify", "notification %lld to subscription %lld: %s (retrying)",
				     (long long)ds[i].notification, (long long)ds[i].sub, ds[i].why);
		}
	}
	/* one commit for the pass (a crash before it redelivers: receivers
	 * de-duplicate by X-Phr-Notification) */
	pthread_mutex_lock(&n->lock);
	if (nd > 0 && sqlite3_exec(n->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		for (size_t i = 0; i < nd; i++)
			if (ds[i].result != PHR_ERR_STATE)
				record_outcome(n, &ds[i], ds[i].result, ds[i].why);
		if (sqlite3_exec(n->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
			rv = PHR_ERR_DB;
		}
	} else if (nd > 0) {
		rv = PHR_ERR_DB;
	}
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; i < nd; i++)
		free(ds[i].body);
	phr_free(ds);
	if (delivered != NULL)
		*delivered = ok;
	if (failed != NULL)
		*failed = bad;
	return rv;
}

void phr_notify_set_backoff(struct phr_node *n, unsigned base_seconds)
{
	pthread_mutex_lock(&n->lock);
	n->notify_backoff = base_seconds ? base_seconds : NOTIFY_DEFAULT_BACKOFF;
	pthread_mutex_unlock(&n->lock);
}

/* --- chain events --------------------------------------------------------- */

static int cursor_get(struct phr_node *n, const char *name, uint64_t *block)
{
	sqlite3_stmt *st = NULL;
	int rv = prep(n, &st, "SELECT block FROM notify_cursor WHERE name = ?");

	*block = 0;
	if (rv != PHR_OK)
		return rv;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*block = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return PHR_OK;
}

static int cursor_set(struct phr_node *n, const char *name, uint64_t block)
{
	sqlite3_stmt *st = NULL;
	int rv = prep(n, &st, "INSERT OR REPLACE INTO notify_cursor(name, block) VALUES(?,?)");

	if (rv != PHR_OK)
		return rv;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)block);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* Whether @p who has a subscription here or is hosted here (lock held). */
static bool interested(struct phr_node *n, const uint8_t who[20])
{
	sqlite3_stmt *st = NULL;
	bool yes = phr_node_identity(n, who) != NULL;

	if (!yes && prep(n, &st, "SELECT 1 FROM notify_subs WHERE owner = ? LIMIT 1") == PHR_OK) {
		sqlite3_bind_blob(st, 1, who, 20, SQLITE_STATIC);
		yes = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return yes;
}

static void dedup_key(char out[160], const char *tag, const struct phr_chain_log *l,
		      const uint8_t who[20])
{
	char tx[65], a[41];

	if (phr_hex_encode(tx, sizeof(tx), l->tx_hash, 32, false) != PHR_OK ||
	    phr_hex_encode(a, sizeof(a), who, 20, false) != PHR_OK)
		tx[0] = a[0] = '\0';
	snprintf(out, 160, "%s:%s:%llu:%s", tag, tx, (unsigned long long)l->log_index, a);
}

/* Turns one log into a notification (lock held); @return 1 when queued. */
static int scan_one(struct phr_node *n, const struct phr_chain_log *l, bool emergency)
{
	char key[160], *text = NULL;
	json_t *pl = NULL;
	uint8_t who[20];
	const char *kind;
	bool q = false;

	if (emergency) {
		struct phr_contracts_emergency_access_emergency_notification_event ev;
		if (phr_contracts_emergency_access_emergency_notification_event_decode(
			    &ev, (const uint8_t(*)[32])l->topics, l->topics_count, l->data, l->data_len) !=
		    PHR_OK)
			return 0;
		memcpy(who, ev.recipient, 20);
		kind = "emergency";
		pl = json_pack("{s:s,s:o,s:o,s:I,s:I}", "event", "break_glass_opened", "patient",
			       phr_node_i_jaddr(ev.patient), "provider", phr_node_i_jaddr(ev.provider),
			       "expiresAt", (json_int_t)ev.expires_at, "block",
			       (json_int_t)l->block_number);
	} else {
		struct phr_contracts_patient_registry_access_requested_event ev;
		if (phr_contracts_patient_registry_access_requested_event_decode(
			    &ev, (const uint8_t(*)[32])l->topics, l->topics_count, l->data, l->data_len) !=
		    PHR_OK)
			return 0;
		memcpy(who, ev.patient, 20);
		kind = "access_request";
		pl = json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I,s:I}", "event", "access_requested", "id",
			       phr_node_i_ju256(&ev.id), "patient", phr_node_i_jaddr(ev.patient),
			       "provider", phr_node_i_jaddr(ev.provider), "level", (json_int_t)ev.level,
			       "purpose", (json_int_t)ev.purpose, "duration", (json_int_t)ev.duration,
			       "block", (json_int_t)l->block_number);
	}
	if (pl == NULL || !interested(n, who) || payload_text(&text, pl) != PHR_OK) {
		json_decref(pl);
		return 0;
	}
	dedup_key(key, kind, l, who);
	if (queue_locked(n, &q, who, kind, text, key) != PHR_OK)
		q = false;
	free(text);
	json_decref(pl);
	return q ? 1 : 0;
}

/* --- recovery events ------------------------------------------------------- */

#define RECOVERY_CONTACTS_MAX 16u

/* The patient's emergency contacts on chain (lock held); 0 when unreadable. */
static size_t contacts_of(struct phr_node *n, uint8_t out[RECOVERY_CONTACTS_MAX * 20],
			  const uint8_t patient[20])
{
	struct phr_buf cd, res, cs;
	size_t k = 0;

	phr_buf_init(&cd, 0);
	phr_buf_init(&res, 0);
	phr_buf_init(&cs, RECOVERY_CONTACTS_MAX * 20);
	if (phr_contracts_patient_registry_emergency_contacts_encode(&cd, patient) == PHR_OK &&
	    phr_node_i_call(n, &res, NULL, n->dep.registry, &cd) == PHR_OK &&
	    phr_contracts_patient_registry_emergency_contacts_decode(&cs, res.data, res.len) == PHR_OK) {
		k = cs.len / 20;
		if (k > RECOVERY_CONTACTS_MAX)
			k = RECOVERY_CONTACTS_MAX;
		memcpy(out, cs.data, k * 20);
	}
	phr_buf_release(&cd);
	phr_buf_release(&res);
	phr_buf_release(&cs);
	return k;
}

/*
 * Queues @p text for the owners and the contacts of @p patient (lock held),
 * one notification per (transaction, recipient): dedup key
 * "recovery:<tx hash>:<recipient>", the same whether the node signed the
 * transaction itself or the chain scan found it. @p interested_only: only
 * recipients with a webhook here or hosted here (the scan).
 */
static size_t recovery_queue_locked(struct phr_node *n, const uint8_t *tx_hash,
				    const uint8_t patient[20], const uint8_t *const owners[2],
				    const char *text, bool interested_only)
{
	uint8_t who[2 + RECOVERY_CONTACTS_MAX][20];
	char key[160], tx[65], a[41];
	size_t k = 0, q = 0;

	for (size_t i = 0; i < 2; i++)
		if (owners[i] != NULL && (i == 0 || owners[0] == NULL || memcmp(owners[0], owners[1], 20) != 0))
			memcpy(who[k++], owners[i], 20);
	k += contacts_of(n, who[k], patient);
	if (tx_hash != NULL && phr_hex_encode(tx, sizeof(tx), tx_hash, 32, false) != PHR_OK)
		return 0;
	for (size_t i = 0; i < k; i++) {
		bool done = false;
		for (size_t j = 0; j < i && !done; j++) /* a contact that is also the owner */
			done = memcmp(who[i], who[j], 20) == 0;
		if (done || (interested_only && !interested(n, who[i])))
			continue;
		if (tx_hash != NULL) {
			if (phr_hex_encode(a, sizeof(a), who[i], 20, false) != PHR_OK)
				continue;
			snprintf(key, sizeof(key), "recovery:%s:%s", tx, a);
		}
		if (queue_locked(n, &done, who[i], "recovery", text, tx_hash != NULL ? key : NULL) !=
		    PHR_OK)
			phr_log_error("notify", "a recovery notification was not queued");
		else if (done)
			q++;
	}
	return q;
}

int phr_notify_recovery(struct phr_node *n, size_t *queued, const uint8_t *tx_hash,
			const uint8_t patient[20], const uint8_t *const owners[2],
			const json_t *payload)
{
	char *text = NULL;
	size_t q;
	int rv;

	if (n == NULL || patient == NULL || owners == NULL)
		return PHR_ERR_INVALID;
	if ((rv = payload_text(&text, payload)) != PHR_OK)
		return rv;
	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	q = rv == PHR_OK ? recovery_queue_locked(n, tx_hash, patient, owners, text, false) : 0;
	pthread_mutex_unlock(&n->lock);
	free(text);
	if (q > 0) {
		atomic_store(&n->notify_kick, 1);
		phr_log_info("notify", "queued %zu recovery notifications", q);
	}
	if (queued != NULL)
		*queued = q;
	return rv;
}

/* Whether @p l is the event @p topic of contract @p addr, in transaction @p tx. */
static bool log_is(const struct phr_chain_log *l, const uint8_t addr[20], const uint8_t topic[32],
		   const uint8_t tx[32])
{
	return !l->removed && l->topics_count >= 1 && memcmp(l->address, addr, 20) == 0 &&
	       memcmp(l->topics[0], topic, 32) == 0 && memcmp(l->tx_hash, tx, 32) == 0;
}

/* Whether a recovery notification about transaction @p tx was queued (lock held). */
static bool tx_notified(struct phr_node *n, const uint8_t tx[32])
{
	sqlite3_stmt *st = NULL;
	char lo[80], hi[80], hex[65];
	bool yes = false;

	if (phr_hex_encode(hex, sizeof(hex), tx, 32, false) != PHR_OK)
		return false;
	snprintf(lo, sizeof(lo), "recovery:%s:", hex);
	snprintf(hi, sizeof(hi), "recovery:%s;", hex); /* ';' follows ':' */
	if (prep(n, &st, "SELECT 1 FROM notifications WHERE dedup >= ? AND dedup < ? LIMIT 1") ==
	    PHR_OK) {
		sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
		yes = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return yes;
}

/* The previous owner named by the first OwnerRotated of @p patient after
 * logs[i] (the owner at logs[i]'s time), or false when there is none. */
static bool owner_before_rotation(const struct phr_node *n, uint8_t owner[20],
				  const struct phr_chain_log *logs, size_t count, size_t i,
				  const uint8_t patient[20])
{
	for (size_t j = i + 1; j < count; j++) {
		struct phr_contracts_patient_registry_owner_rotated_event oe;
		const struct phr_chain_log *l = &logs[j];
		if (l->removed || l->topics_count < 1 || memcmp(l->address, n->dep.registry, 20) != 0 ||
		    memcmp(l->topics[0], phr_contracts_patient_registry_owner_rotated_event_topic, 32) != 0 ||
		    phr_contracts_patient_registry_owner_rotated_event_decode(
			    &oe, (const uint8_t(*)[32])l->topics, l->topics_count, l->data, l->data_len) !=
			    PHR_OK ||
		    memcmp(oe.patient, patient, 20) != 0)
			continue;
		memcpy(owner, oe.previous_owner, 20);
		return true;
	}
	return false;
}

/* The sender of transaction @p tx, or false. */
static bool tx_sender(struct phr_node *n, uint8_t from[20], const uint8_t tx[32])
{
	struct phr_chain_receipt r;
	bool ok;

	memset(&r, 0, sizeof(r));
	ok = phr_chain_receipt(n->chain, &r, tx) == PHR_OK;
	if (ok)
		memcpy(from, r.from, 20);
	phr_chain_receipt_release(&r);
	return ok;
}

/*
 * One Recovery log (lock held) -> "recovery" notifications with the payload
 * phr_node_recovery_send gives: {event, patient, by, newOwner?, readyAt?}.
 * A vote that reaches the threshold emits RecoveryApproved then
 * RecoveryScheduled in one transaction: one notification (readyAt set).
 */
static size_t scan_recovery(struct phr_node *n, const struct phr_chain_log *logs, size_t count,
			    size_t i)
{
	const struct phr_chain_log *l = &logs[i];
	const uint8_t(*t)[32] = (const uint8_t(*)[32])l->topics;
	uint8_t patient[20], by[20], newo[20], prev[20], cur[20];
	const uint8_t *owners[2] = { cur, NULL };
	const char *event;
	bool has_by = false, has_new = false;
	uint64_t ready = 0;
	struct phr_buf cd, res;
	json_t *pl;
	char *text = NULL;
	size_t q = 0;

	if (tx_notified(n, l->tx_hash))
		return 0; /* by the node that signed it, or by an earlier scan */
	if (memcmp(l->topics[0], phr_contracts_recovery_recovery_approved_event_topic, 32) == 0) {
		struct phr_contracts_recovery_recovery_approved_event ev;
		if (phr_contracts_recovery_recovery_approved_event_decode(&ev, t, l->topics_count, l->data,
									 l->data_len) != PHR_OK)
			return 0;
		memcpy(patient, ev.patient, 20);
		memcpy(by, ev.guardian, 20);
		memcpy(newo, ev.new_owner, 20);
		has_by = has_new = true;
		event = "approved";
		for (size_t j = i + 1; j < count; j++) {
			struct phr_contracts_recovery_recovery_scheduled_event se;
			if (log_is(&logs[j], n->dep.recovery,
				   phr_contracts_recovery_recovery_scheduled_event_topic, l->tx_hash) &&
			    phr_contracts_recovery_recovery_scheduled_event_decode(
				    &se, (const uint8_t(*)[32])logs[j].topics, logs[j].topics_count,
				    logs[j].data, logs[j].data_len) == PHR_OK &&
			    memcmp(se.patient, patient, 20) == 0)
				ready = se.ready_at;
		}
	} else if (memcmp(l->topics[0], phr_contracts_recovery_recovery_scheduled_event_topic, 32) == 0) {
		struct phr_contracts_recovery_recovery_scheduled_event ev;
		/* normally told with its approval (above) */
		for (size_t j = 0; j < count; j++)
			if (log_is(&logs[j], n->dep.recovery,
				   phr_contracts_recovery_recovery_approved_event_topic, l->tx_hash))
				return 0;
		if (phr_contracts_recovery_recovery_scheduled_event_decode(&ev, t, l->topics_count, l->data,
									  l->data_len) != PHR_OK)
			return 0;
		memcpy(patient, ev.patient, 20);
		memcpy(newo, ev.new_owner, 20);
		has_new = true;
		ready = ev.ready_at;
		event = "scheduled";
	} else if (memcmp(l->topics[0], phr_contracts_recovery_recovery_cancelled_event_topic, 32) == 0) {
		struct phr_contracts_recovery_recovery_cancelled_event ev;
		if (phr_contracts_recovery_recovery_cancelled_event_decode(&ev, t, l->topics_count, l->data,
									  l->data_len) != PHR_OK)
			return 0;
		memcpy(patient, ev.patient, 20);
		event = "cancelled";
	} else if (memcmp(l->topics[0], phr_contracts_recovery_recovery_executed_event_topic, 32) == 0) {
		struct phr_contracts_recovery_recovery_executed_event ev;
		if (phr_contracts_recovery_recovery_executed_event_decode(&ev, t, l->topics_count, l->data,
									 l->data_len) != PHR_OK)
			return 0;
		memcpy(patient, ev.patient, 20);
		memcpy(newo, ev.new_owner, 20);
		has_new = true;
		event = "executed";
		/* the owner it replaced: PatientRegistry's OwnerRotated of the same transaction */
		for (size_t j = 0; j < count; j++) {
			struct phr_contracts_patient_registry_owner_rotated_event oe;
			if (log_is(&logs[j], n->dep.registry,
				   phr_contracts_patient_registry_owner_rotated_event_topic, l->tx_hash) &&
			    phr_contracts_patient_registry_owner_rotated_event_decode(
				    &oe, (const uint8_t(*)[32])logs[j].topics, logs[j].topics_count,
				    logs[j].data, logs[j].data_len) == PHR_OK &&
			    memcmp(oe.patient, patient, 20) == 0) {
				memcpy(prev, oe.previous_owner, 20);
				owners[1] = prev;
			}
		}
	} else {
		return 0;
	}
	if (!has_by)
		has_by = tx_sender(n, by, l->tx_hash);
	/* the owner when it happened: after an execution its new owner; otherwise the
	 * owner a later rotation (in this scan) replaced, or else the current one */
	if (owners[1] != NULL) {
		memcpy(cur, newo, 20);
	} else if (!owner_before_rotation(n, cur, logs, count, i, patient)) {
		phr_buf_init(&cd, 0);
		phr_buf_init(&res, 0);
		if (phr_contracts_patient_registry_owner_of_patient_encode(&cd, patient) != PHR_OK ||
		    phr_node_i_call(n, &res, NULL, n->dep.registry, &cd) != PHR_OK ||
		    phr_contracts_patient_registry_owner_of_patient_decode(cur, res.data, res.len) !=
			    PHR_OK)
			owners[0] = NULL;
		phr_buf_release(&cd);
		phr_buf_release(&res);
	}
	pl = json_pack("{s:s,s:o}", "event", event, "patient", phr_node_i_jaddr(patient));
	if (pl != NULL && has_by)
		json_object_set_new(pl, "by", phr_node_i_jaddr(by));
	if (pl != NULL && has_new)
		json_object_set_new(pl, "newOwner", phr_node_i_jaddr(newo));
	if (pl != NULL && ready != 0)
		json_object_set_new(pl, "readyAt", json_integer((json_int_t)ready));
	if (pl != NULL && payload_text(&text, pl) == PHR_OK)
		q = recovery_queue_locked(n, l->tx_hash, patient, owners, text, true);

	free(text);
	json_decref(pl);
	return q;
}

int phr_notify_scan_chain(struct phr_node *n, size_t *queued)
{
	static const char *const cur = "chain";
	struct phr_chain_filter f;
	struct phr_chain_log *logs = NULL;
	size_t count = 0, q = 0;
	uint64_t from = 0, head = 0;
	uint8_t addrs[3][20], t0[7][32];
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = schema(n);
	if (rv == PHR_OK)
		rv = cursor_get(n, cur, &from);
	if (rv == PHR_OK)
		rv = phr_chain_block_number(n->chain, &head);
	if (rv == PHR_OK) {
		memset(&f, 0, sizeof(f));
		memcpy(addrs[0], n->dep.emergency, 20);
		memcpy(addrs[1], n->dep.registry, 20);
		memcpy(t0[0], phr_contracts_emergency_access_emergency_notification_event_topic, 32);
		memcpy(t0[1], phr_contracts_patient_registry_access_requested_event_topic, 32);
		/* Recovery: votes, schedules, cancellations, executions, whoever signed
		 * them (keystore users relay through POST /api/v1/tx); OwnerRotated names
		 * the owner an execution replaced */
		memcpy(addrs[2], n->dep.recovery, 20);
		memcpy(t0[2], phr_contracts_recovery_recovery_approved_event_topic, 32);
		memcpy(t0[3], phr_contracts_recovery_recovery_scheduled_event_topic, 32);
		memcpy(t0[4], phr_contracts_recovery_recovery_cancelled_event_topic, 32);
		memcpy(t0[5], phr_contracts_recovery_recovery_executed_event_topic, 32);
		memcpy(t0[6], phr_contracts_patient_registry_owner_rotated_event_topic, 32);
		f.from_block = from > NOTIFY_RESCAN_BLOCKS ? from - NOTIFY_RESCAN_BLOCKS : 0;
		f.to_block = head;
		f.addresses = (const uint8_t(*)[20])addrs;
		f.addresses_count = 3;
		f.topics[0] = (const uint8_t(*)[32])t0;
		f.topics_count[0] = 7;
		rv = phr_chain_get_logs(n->chain, &logs, &count, &f);
		for (size_t i = 0; rv == PHR_OK && i < count; i++) {
			const struct phr_chain_log *l = &logs[i];
			if (l->removed || l->topics_count < 1)
				continue;
			if (memcmp(l->address, n->dep.emergency, 20) == 0 &&
			    memcmp(l->topics[0], phr_contracts_emergency_access_emergency_notification_event_topic, 32) == 0)
				q += (size_t)scan_one(n, l, true);
			else if (memcmp(l->address, n->dep.registry, 20) == 0 &&
				 memcmp(l->topics[0], phr_contracts_patient_registry_access_requested_event_topic, 32) == 0)
				q += (size_t)scan_one(n, l, false);
			else if (memcmp(l->address, n->dep.recovery, 20) == 0)
				q += scan_recovery(n, logs, count, i);
		}
		phr_chain_logs_free(logs, count);
		if (rv == PHR_OK)
			rv = cursor_set(n, cur, head + 1);
	}
	pthread_mutex_unlock(&n->lock);
	if (q > 0)
		atomic_store(&n->notify_kick, 1);
	if (queued != NULL)
		*queued = q;
	return rv;
}

/* --- worker ------------------------------------------------------------------ */

static void *worker(void *arg)
{
	struct phr_node *n = arg;
	unsigned ticks = 0;

	while (!atomic_load(&n->notify_stop)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		bool kick = atomic_exchange(&n->notify_kick, 0) != 0;
		if (kick || ticks % 10 == 0) {
			size_t q = 0;
			if (phr_notify_scan_chain(n, &q) != PHR_OK)
				phr_log_debug("notify", "chain scan failed (retrying)");
			if (phr_notify_deliver_due(n, NULL, NULL, 0) != PHR_OK)
				phr_log_warn("notify", "delivery pass failed");
		}
		ticks++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static unsigned env_uint(const char *name, unsigned dflt)
{
	const char *s = getenv(name);
	uint64_t v;

	if (s == NULL || phr_parse_u64(&v, s) != PHR_OK || v == 0 || v > PHR_NOTIFY_BACKOFF_MAX)
		return dflt;
	return (unsigned)v;
}

int phr_notify_worker_start(struct phr_node *n)
{
	int rv = PHR_OK;

	pthread_mutex_lock(&n->lock);
	if (!n->notify_running) {
		if (n->notify_backoff == 0)
			n->notify_backoff = env_uint("PHR_NOTIFY_BACKOFF", NOTIFY_DEFAULT_BACKOFF);
		if (n->notify_backoff_max == 0)
			n->notify_backoff_max = env_uint("PHR_NOTIFY_BACKOFF_MAX", PHR_NOTIFY_BACKOFF_MAX);
		atomic_store(&n->notify_stop, 0);
		atomic_store(&n->notify_kick, 1);
		if (pthread_create(&n->notify_thread, NULL, worker, n) != 0)
			rv = PHR_ERR_INTERNAL;
		else
			n->notify_running = true;
	}
	pthread_mutex_unlock(&n->lock);
	return rv;
}

void phr_notify_worker_stop(struct phr_node *n)
{
	bool running;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	running = n->notify_running;
	n->notify_running = false;
	pthread_mutex_unlock(&n->lock);
	if (!running)
		return;
	atomic_store(&n->notify_stop, 1);
	pthread_join(n->notify_thread, NULL);
}
