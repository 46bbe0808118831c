/*
 * Recovery of the FHIR index (docs/fhir.md "Recovery"): records minted by an
 * identity writing through the FHIR server whose index rows were never
 * written (a Bundle that failed after some of its records were minted, a
 * receipt that came after its sender gave up, kill -9 between mint and
 * index). The chain's RecordMinted logs of that provider are scanned from a
 * per-identity cursor kept in DIR/fhir.db; a record whose token no history
 * row holds is decrypted (an audited read, as any) and indexed when it is
 * the next version of its Type/id; otherwise it is reported as an orphan
 * (log warning and the fhir_orphan table), never indexed twice.
 */
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "fhir_int.h"
#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/phr.h"

/* Blocks looked at again before a cursor: a chain may answer a block number
 * before that block's logs are queryable (the embedded chain commits groups
 * of blocks). A second look only finds tokens the index already holds. */
#define RECOVER_RESCAN_BLOCKS 64u
/* Blocks per eth_getLogs call at most; the answer sizes above which the next
 * window is halved and below which it grows again. */
#define RECOVER_WINDOW 2000u
#define RECOVER_LOGS_HIGH 4000u
#define RECOVER_LOGS_LOW 1000u
/* Tokens checked against the index per lock hold. */
#define RECOVER_CHECK_BATCH 256u
/* A scan of every known identity this often (bounds the scan at a restart). */
#define RECOVER_PERIOD_MS (10 * 60 * 1000)
/* Writes sample the chain head at most this often (FHIR_RECOVER_SAMPLES of them span twice
 * the margin), so that the first scan after a failure can already move the cursor. */
#define RECOVER_SAMPLE_MS (margin_ms() / 8)
/* After a failure: at once, then again when a late receipt may have landed. */
#define RECOVER_LATE_MS (35 * 1000)
#define RECOVER_LATER_MS (150 * 1000)

static const char RECOVER_SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS fhir_recover(addr BLOB PRIMARY KEY, block INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS fhir_orphan(token TEXT PRIMARY KEY, addr BLOB NOT NULL,"
	" type TEXT, id TEXT, vid INTEGER, reason TEXT NOT NULL, time INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS hist_token ON hist(token);";

/* The earliest due time of any job of any server (INT64_MAX: none). */
static atomic_llong next_due = INT64_MAX;
static atomic_int hook = -1; /* -1: not read from PHR_FHIR_TEST_FAIL yet */

/*
 * FHIR_RECOVER_MARGIN_MS, or a shorter one from PHR_FHIR_RECOVER_MARGIN_MS (tests that
 * watch the cursor move without waiting 90 s).
 */
static int64_t margin_ms(void)
{
	static atomic_llong m = -1;
	long long v = atomic_load_explicit(&m, memory_order_relaxed);

	if (v < 0) {
		const char *e = getenv("PHR_FHIR_RECOVER_MARGIN_MS");
		char *end = NULL;
		unsigned long long x = e != NULL ? strtoull(e, &end, 10) : 0;
		v = e != NULL && *e != '\0' && *end == '\0' && x >= 8 && x < FHIR_RECOVER_MARGIN_MS
			    ? (long long)x
			    : FHIR_RECOVER_MARGIN_MS;
		atomic_store(&m, v);
	}
	return (int64_t)v;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum fhir_test_hook fhir_test_hook(void)
{
	int h = atomic_load_explicit(&hook, memory_order_relaxed);

	if (h < 0) {
		const char *e = getenv("PHR_FHIR_TEST_FAIL");
		h = FHIR_HOOK_NONE;
		if (e != NULL && strcmp(e, "index") == 0)
			h = FHIR_HOOK_FAIL_INDEX;
		else if (e != NULL && strcmp(e, "kill") == 0)
			h = FHIR_HOOK_KILL;
		atomic_store(&hook, h);
	}
	return (enum fhir_test_hook)h;
}

void fhir_test_hook_set(enum fhir_test_hook h)
{
	atomic_store(&hook, (int)h);
}

int fhir_test_hook_after_mint(void)
{
	switch (fhir_test_hook()) {
	case FHIR_HOOK_KILL:
		phr_log_warn("fhir", "test hook: killed after mint, before the index");
		(void)raise(SIGKILL);
		return PHR_ERR_DB;
	case FHIR_HOOK_FAIL_INDEX:
		phr_log_warn("fhir", "test hook: the index step fails after mint");
		return PHR_ERR_DB;
	default:
		return PHR_OK;
	}
}

static void due_lower(int64_t at)
{
	long long cur = atomic_load(&next_due);

	while ((long long)at < cur && !atomic_compare_exchange_weak(&next_due, &cur, (long long)at))
		;
}

bool fhir_recover_due(void)
{
	return atomic_load_explicit(&next_due, memory_order_relaxed) <= mono_ms();
}

void fhir_recover_init(struct fhir_recover *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

void fhir_recover_release(struct fhir_recover *r)
{
	pthread_mutex_destroy(&r->mu);
	memset(r, 0, sizeof(*r));
}

/* The slot of @p addr (added when @p add and there is room), r->mu held. */
static struct fhir_recover_id *slot_of(struct fhir_recover *r, const uint8_t addr[20], bool add)
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->ids[i].addr, addr, 20) == 0)
			return &r->ids[i];
	if (!add || r->n == FHIR_RECOVER_MAX_IDS)
		return NULL;
	memset(&r->ids[r->n], 0, sizeof(r->ids[r->n]));
	memcpy(r->ids[r->n].addr, addr, 20);
	r->ids[r->n].due_ms = INT64_MAX;
	return &r->ids[r->n++];
}

/* Recomputes s->due_ms (r->mu held). */
static void due_update(struct fhir_recover_id *s)
{
	s->due_ms = s->periodic != 0 ? s->periodic : INT64_MAX;
	for (size_t i = 0; i < PHR_ARRAY_LEN(s->due); i++)
		if (s->due[i] != 0 && s->due[i] < s->due_ms)
			s->due_ms = s->due[i];
	due_lower(s->due_ms);
}

/* A scan of @p s due at @p at (when every slot is taken, it replaces the latest one after it). */
static void schedule_locked(struct fhir_recover_id *s, int64_t at)
{
	size_t late = 0;
	bool put = false;

	for (size_t i = 0; i < PHR_ARRAY_LEN(s->due) && !put; i++) {
		if (s->due[i] == 0 || s->due[i] == at) {
			s->due[i] = at;
			put = true;
		} else if (s->due[i] > s->due[late])
			late = i;
	}
	if (!put && s->due[late] > at)
		s->due[late] = at;
	due_update(s);
}

static void periodic_locked(struct fhir_recover_id *s, int64_t at)
{
	s->periodic = at;
	due_update(s);
}

void fhir_recover_schedule(struct fhir_recover *r, const uint8_t addr[20], const struct phr_u256 *tokens,
			   size_t n, bool late)
{
	int64_t now = mono_ms();
	struct fhir_recover_id *s;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		if (r->nreleased == FHIR_RECOVER_RELEASED) /* the oldest go: adopted after the margin */
			memmove(&r->released[0], &r->released[1], (--r->nreleased) * sizeof(r->released[0]));
		r->released[r->nreleased++] = tokens[i];
	}
	s = slot_of(r, addr, true);
	if (s != NULL) {
		schedule_locked(s, now);
		if (late) {
			schedule_locked(s, now + RECOVER_LATE_MS);
			schedule_locked(s, now + RECOVER_LATER_MS);
		}
	}
	pthread_mutex_unlock(&r->mu);
}

void fhir_recover_failed(struct fhir_recover *r, const uint8_t addr[20], const struct phr_record_receipt *rc,
			 const int *res, size_t k, int err)
{
	bool refusal = err == PHR_ERR_FORBIDDEN || err == PHR_ERR_NOT_FOUND || err == PHR_ERR_INVALID ||
		       err == PHR_ERR_TOO_LARGE || err == PHR_ERR_CONFLICT || err == PHR_ERR_NOMEM;
	struct phr_u256 toks[64];
	size_t n = 0;

	for (size_t i = 0; res != NULL && i < k; i++)
		if (res[i] == PHR_OK) {
			toks[n++] = rc[i].token_id;
			if (n == PHR_ARRAY_LEN(toks)) {
				fhir_recover_schedule(r, addr, toks, n, !refusal);
				n = 0;
				refusal = false; /* something was minted: schedule the rest */
			}
		}
	if (n > 0 || !refusal)
		fhir_recover_schedule(r, addr, toks, n, !refusal);
}

/* Whether @p t was released by its failed write; takes it out when @p take. */
static bool released(struct fhir_recover *r, const struct phr_u256 *t, bool take)
{
	bool found = false;

	if (r == NULL)
		return false;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nreleased && !found; i++)
		if (phr_u256_eq(&r->released[i], t)) {
			found = true;
			if (take)
				memmove(&r->released[i], &r->released[i + 1],
					(--r->nreleased - i) * sizeof(r->released[0]));
		}
	pthread_mutex_unlock(&r->mu);
	return found;
}

static int exec_sql(struct fhir_db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		phr_log_warn("fhir", "recovery: %s", err ? err : "SQL error");
		sqlite3_free(err);
		return PHR_ERR_DB;
	}
	return PHR_OK;
}

static int head_block(struct phr_node *node, uint64_t *head)
{
	return phr_chain_block_number(phr_node_chain(node), head);
}

/* Keeps chain head @p head seen at @p t (r->mu held); the oldest sample goes when all are taken. */
static void sample_add_locked(struct fhir_recover *r, int64_t t, uint64_t head)
{
	if (r->nsamples == FHIR_RECOVER_SAMPLES)
		memmove(&r->samples[0], &r->samples[1], (--r->nsamples) * sizeof(r->samples[0]));
	r->samples[r->nsamples].t = t;
	r->samples[r->nsamples++].head = head;
}

void fhir_recover_note(struct fhir_recover *r, const char *dir, struct phr_node *node,
		       const uint8_t addr[20])
{
	struct fhir_recover_id *s;
	bool fresh = false, sample = false;
	int64_t now = mono_ms();
	uint64_t head = 0;
	char path[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	pthread_mutex_lock(&r->mu);
	s = slot_of(r, addr, true);
	if (s != NULL && !s->noted) {
		s->noted = true;
		fresh = true;
		periodic_locked(s, now + RECOVER_PERIOD_MS);
	}
	/* a head the scans can later call old enough (scans sample too, but the first scan
	 * after a start would otherwise have no sample 90 s old and could not move the cursor) */
	if (r->nsamples == 0 || now - r->sampled_ms >= RECOVER_SAMPLE_MS) {
		r->sampled_ms = now;
		sample = true;
	}
	pthread_mutex_unlock(&r->mu);
	if ((fresh || sample) && head_block(node, &head) != PHR_OK)
		return;
	if (sample) {
		pthread_mutex_lock(&r->mu);
		sample_add_locked(r, now, head);
		pthread_mutex_unlock(&r->mu);
	}
	if (!fresh)
		return;
	/* the cursor starts at the head before this identity's first write: a
	 * restart after a crash scans from there (a connection of its own: the
	 * caller may hold the state's or not) */
	snprintf(path, sizeof(path), "%s/fhir.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO fhir_recover(addr, block) VALUES(?, ?)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, addr, 20, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)head);
		if (sqlite3_step(st) != SQLITE_DONE)
			phr_log_warn("fhir", "recovery: cannot keep a cursor: %s", sqlite3_errmsg(db));
	} else
		phr_log_warn("fhir", "recovery: cannot keep a cursor: %s", db ? sqlite3_errmsg(db) : "no memory");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* --- one scan --------------------------------------------------------------- */

static int cursor_get(struct fhir_db *db, uint64_t *block, const uint8_t addr[20])
{
	sqlite3_stmt *st = NULL;
	int rv = PHR_ERR_DB;

	*block = 0;
	if (sqlite3_prepare_v2(db->db, "SELECT block FROM fhir_recover WHERE addr = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_blob(st, 1, addr, 20, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		*block = (uint64_t)sqlite3_column_int64(st, 0);
		rv = PHR_OK;
		break;
	case SQLITE_DONE:
		rv = PHR_OK;
		break;
	default:
		break;
	}
	sqlite3_finalize(st);
	return rv;
}

static int cursor_set(struct fhir_db *db, const uint8_t addr[20], uint64_t block)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if (sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO fhir_recover(addr, block) VALUES(?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_blob(st, 1, addr, 20, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)block);
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* Whether @p tok (decimal) is known: a history row or a reported orphan. */
static int token_known(sqlite3_stmt *hist, sqlite3_stmt *orph, bool *known, const char *tok)
{
	int rc;

	*known = false;
	sqlite3_reset(hist);
	sqlite3_bind_text(hist, 1, tok, -1, SQLITE_STATIC);
	rc = sqlite3_step(hist);
	if (rc == SQLITE_ROW) {
		*known = true;
		return PHR_OK;
	}
	if (rc != SQLITE_DONE)
		return PHR_ERR_DB;
	sqlite3_reset(orph);
	sqlite3_bind_text(orph, 1, tok, -1, SQLITE_STATIC);
	rc = sqlite3_step(orph);
	if (rc == SQLITE_ROW)
		*known = true;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
}

static int orphan_put(struct fhir_db *db, const char *tok, const uint8_t addr[20], const char *type,
		      const char *id, uint64_t vid, const char *reason)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if (type != NULL && id != NULL)
		phr_log_warn("fhir", "recovery: record %s (%s/%s version %llu) minted, not indexed: %s", tok, type,
			     id, (unsigned long long)vid, reason);
	else /* a record of the provider written outside /fhir (or not a resource of it) */
		phr_log_info("fhir", "recovery: record %s is not indexed: %s", tok, reason);
	if (sqlite3_prepare_v2(db->db,
			       "INSERT OR REPLACE INTO fhir_orphan(token, addr, type, id, vid, reason, time)"
			       " VALUES(?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	sqlite3_bind_text(st, 1, tok, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, addr, 20, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)vid);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	rv = sqlite3_step(st) == SQLITE_DONE ? PHR_OK : PHR_ERR_DB;
	sqlite3_finalize(st);
	return rv;
}

/* Milliseconds of an instant (fhir_instant's "...T12:34:56.789Z"), -1 if not one. */
static int64_t instant_ms(const char *s)
{
	int64_t lo, hi, ms = 0;
	const char *dot = s != NULL ? strchr(s, '.') : NULL;

	if (s == NULL || phr_fhir_date_range(&lo, &hi, s) != PHR_OK)
		return -1;
	for (int i = 1; i <= 3; i++) {
		if (dot != NULL && (dot[i] < '0' || dot[i] > '9'))
			dot = NULL; /* fewer digits: the rest are zeros */
		ms = ms * 10 + (dot != NULL ? dot[i] - '0' : 0);
	}
	return lo * 1000 + ms;
}

/* One candidate: a record of the identity that no history row holds. */
struct cand {
	struct phr_u256 token, supersedes;
	uint64_t block;
	uint8_t patient[20];
	char tok[PHR_U256_DEC_LEN];
};

/*
 * Indexes candidate @p c (its resource @p res, decrypted) when it is the
 * next version of its Type/id; else reports it. The state's lock held.
 */
static int adopt(struct fhir_db *db, struct fhir_recover *r, struct fhir_recover_report *rep,
		 const uint8_t addr[20], const struct cand *c, json_t *res)
{
	const char *type = json_string_value(json_object_get(res, "resourceType"));
	const char *id = json_string_value(json_object_get(res, "id"));
	const json_t *meta = json_object_get(res, "meta");
	const char *vs = json_string_value(json_object_get(meta, "versionId"));
	char why[256];
	struct fhir_row cur, row;
	uint64_t vid = 0;
	bool ok;
	int rv;

	if (vs != NULL) {
		char *end = NULL;
		unsigned long long v = strtoull(vs, &end, 10);
		vid = end != NULL && *end == '\0' && end != vs ? (uint64_t)v : 0;
	}
	if (type == NULL || id == NULL || vid == 0 || !phr_fhir_type_supported(type) || !phr_fhir_id_valid(id)) {
		rep->orphaned++;
		return orphan_put(db, c->tok, addr, type, id, vid,
				  "not a FHIR resource of this server (type, id or meta.versionId)");
	}
	if (r != NULL && r->reserved != NULL && r->reserved(r->reserved_ctx, type, id)) {
		rep->held++; /* a write in flight may index this very version: decided next scan */
		return PHR_OK;
	}
	rv = fhir_db_get(db, &cur, type, id);
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
		return rv;
	if (rv == PHR_ERR_NOT_FOUND)
		ok = phr_u256_is_zero(&c->supersedes);
	else if (cur.deleted)
		ok = phr_u256_is_zero(&c->supersedes) && vid == cur.vid + 1;
	else
		ok = phr_u256_eq(&c->supersedes, &cur.token) && vid == cur.vid + 1;
	if (!ok) {
		char ctok[PHR_U256_DEC_LEN] = "none";
		if (rv == PHR_OK)
			phr_u256_to_dec(ctok, &cur.token);
		snprintf(why, sizeof(why),
			 "not the next version: the index holds version %llu (record %s%s), another write took its place",
			 rv == PHR_OK ? (unsigned long long)cur.vid : 0ULL, ctok,
			 rv == PHR_OK && cur.deleted ? ", deleted" : "");
		rep->orphaned++;
		return orphan_put(db, c->tok, addr, type, id, vid, why);
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "%s", type);
	snprintf(row.id, sizeof(row.id), "%s", id);
	row.vid = vid;
	row.updated_ms = instant_ms(json_string_value(json_object_get(meta, "lastUpdated")));
	if (row.updated_ms < 0)
		row.updated_ms = (int64_t)time(NULL) * 1000;
	row.token = c->token;
	memcpy(row.patient, c->patient, 20);
	fhir_compartment_pid(row.pid, res);
	if (strcmp(type, "Patient") != 0 && row.pid[0] == '\0' && rv == PHR_OK)
		snprintf(row.pid, sizeof(row.pid), "%s", cur.pid);
	if ((rv = fhir_db_begin(db)) != PHR_OK)
		return rv;
	rv = fhir_db_put(db, &row, res, "PUT");
	if (rv == PHR_OK)
		rv = fhir_db_commit(db);
	if (rv != PHR_OK) {
		fhir_db_rollback(db);
		return rv;
	}
	phr_log_info("fhir", "recovery: record %s indexed as %s/%s version %llu", c->tok, type, id,
		     (unsigned long long)vid);
	rep->indexed++;
	return PHR_OK;
}

/* Reads candidate @p c as @p me and adopts it (takes @p lock). */
static int recover_one(struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node,
		       const struct phr_identity *me, struct fhir_recover *r, struct fhir_recover_report *rep,
		       const struct cand *c)
{
	struct phr_buf b;
	json_t *res = NULL;
	bool known = false;
	unsigned purpose = memcmp(c->patient, me->address, 20) == 0 ? 6u : 1u;
	int rv;

	phr_buf_init(&b, PHR_RECORD_MAX);
	rv = phr_node_record_read(node, &b, NULL, me, &c->token, purpose);
	if (rv == PHR_OK && phr_json_parse(&res, NULL, 0, (const char *)b.data, b.len) != PHR_OK)
		rv = PHR_ERR_PARSE;
	if (b.data != NULL)
		sodium_memzero(b.data, b.len);
	phr_buf_release(&b);
	pthread_mutex_lock(lock);
	{
		sqlite3_stmt *h = NULL, *o = NULL;
		if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM hist WHERE token = ?", -1, &h, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db->db, "SELECT 1 FROM fhir_orphan WHERE token = ?", -1, &o, NULL) !=
			    SQLITE_OK ||
		    token_known(h, o, &known, c->tok) != PHR_OK) {
			sqlite3_finalize(h);
			sqlite3_finalize(o);
			pthread_mutex_unlock(lock);
			json_decref(res);
			return PHR_ERR_DB;
		}
		sqlite3_finalize(h);
		sqlite3_finalize(o);
	}
	if (known) /* indexed meanwhile (the write it belonged to was late, not lost) */
		rv = PHR_OK;
	else if (rv == PHR_ERR_NOT_FOUND) { /* burnt since: nothing to index */
		rep->orphaned++;
		rv = orphan_put(db, c->tok, me->address, NULL, NULL, 0, "the record is no longer live (burnt)");
	} else if (rv != PHR_OK && rv != PHR_ERR_PARSE) {
		char why[160];
		snprintf(why, sizeof(why), "cannot be read by its provider: %s (retried at the next scan)",
			 phr_strerror(rv));
		phr_log_warn("fhir", "recovery: record %s: %s", c->tok, why);
		rep->unreadable++;
		rv = PHR_OK; /* the others are looked at; the cursor stays before this one */
	} else if (rv == PHR_ERR_PARSE || !json_is_object(res)) {
		rep->orphaned++;
		rv = orphan_put(db, c->tok, me->address, NULL, NULL, 0, "its content is not a JSON resource");
	} else
		rv = adopt(db, r, rep, me->address, c, res);
	pthread_mutex_unlock(lock);
	json_decref(res);
	return rv;
}

/* Decodes the RecordMinted logs of a window into candidates not yet known (under @p lock). */
static int window_candidates(struct fhir_db *db, pthread_mutex_t *lock, struct cand **out, size_t *n,
			     const struct phr_chain_log *logs, size_t count)
{
	sqlite3_stmt *h = NULL, *o = NULL;
	struct cand *cs;
	size_t k = 0;
	int rv = PHR_OK;

	*out = NULL;
	*n = 0;
	if (count == 0)
		return PHR_OK;
	if ((cs = phr_calloc(count, sizeof(*cs))) == NULL)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (logs[i].removed ||
		    phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count, logs[i].data,
			    logs[i].data_len) != PHR_OK)
			continue;
		cs[k].token = ev.token_id;
		cs[k].supersedes = ev.supersedes;
		cs[k].block = logs[i].block_number;
		memcpy(cs[k].patient, ev.patient, 20);
		phr_u256_to_dec(cs[k].tok, &ev.token_id);
		k++;
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
	}
	/* drop the known ones, a batch of lookups per lock hold */
	size_t w = 0;
	for (size_t i = 0; i < k && rv == PHR_OK; i += RECOVER_CHECK_BATCH) {
		size_t end = i + RECOVER_CHECK_BATCH < k ? i + RECOVER_CHECK_BATCH : k;
		pthread_mutex_lock(lock);
		if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM hist WHERE token = ?", -1, &h, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db->db, "SELECT 1 FROM fhir_orphan WHERE token = ?", -1, &o, NULL) !=
			    SQLITE_OK)
			rv = PHR_ERR_DB;
		for (size_t j = i; j < end && rv == PHR_OK; j++) {
			bool known;
			rv = token_known(h, o, &known, cs[j].tok);
			if (rv == PHR_OK && !known)
				cs[w++] = cs[j];
		}
		sqlite3_finalize(h);
		sqlite3_finalize(o);
		h = o = NULL;
		pthread_mutex_unlock(lock);
	}
	if (rv != PHR_OK) {
		phr_free(cs);
		return rv;
	}
	*out = cs;
	*n = w;
	return PHR_OK;
}

int fhir_recover_scan(struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node,
		      const struct phr_identity *me, uint64_t safe, struct fhir_recover *r,
		      struct fhir_recover_report *rep)
{
	const struct phr_deployment *dep = phr_node_deployment(node);
	uint8_t nft[1][20], topic0[1][32], topic3[1][32];
	uint64_t cursor = 0, head = 0, from;
	int rv;

	memset(rep, 0, sizeof(*rep));
	if (dep == NULL)
		return PHR_ERR_STATE;
	pthread_mutex_lock(lock);
	rv = cursor_get(db, &cursor, me->address);
	pthread_mutex_unlock(lock);
	if (rv != PHR_OK)
		return rv;
	if ((rv = head_block(node, &head)) != PHR_OK)
		return rv;
	memcpy(nft[0], dep->nft, 20);
	memcpy(topic0[0], phr_contracts_health_record_nft_record_minted_event_topic, 32);
	memset(topic3[0], 0, 12);
	memcpy(topic3[0] + 12, me->address, 20);
	from = cursor > RECOVER_RESCAN_BLOCKS ? cursor - RECOVER_RESCAN_BLOCKS : 0;
	for (uint64_t lo = from, win = RECOVER_WINDOW; lo <= head && rv == PHR_OK;) {
		struct phr_chain_filter f;
		struct phr_chain_log *logs = NULL;
		struct cand *cs = NULL;
		size_t count = 0, nc = 0;

		memset(&f, 0, sizeof(f));
		f.from_block = lo;
		f.addresses = (const uint8_t(*)[20])nft;
		f.addresses_count = 1;
		f.topics[0] = (const uint8_t(*)[32])topic0;
		f.topics_count[0] = 1;
		f.topics[3] = (const uint8_t(*)[32])topic3;
		f.topics_count[3] = 1;
		/* phr_chain_get_logs splits a range the chain refuses (its bound on logs
		 * per answer); the window itself shrinks while answers are large, so a
		 * dense stretch (a 2,000-block window held ~200,000 mints at 1M
		 * resources) is taken in bounded pieces, and grows back after */
		f.to_block = lo + win - 1 < head ? lo + win - 1 : head;
		rv = phr_chain_get_logs(phr_node_chain(node), &logs, &count, &f);
		lo = f.to_block + 1;
		if (rv == PHR_OK && count > RECOVER_LOGS_HIGH && win > 1)
			win /= 2;
		else if (rv == PHR_OK && count < RECOVER_LOGS_LOW && win < RECOVER_WINDOW)
			win *= 2;
		if (rv == PHR_OK)
			rv = window_candidates(db, lock, &cs, &nc, logs, count);
		phr_chain_logs_free(logs, count);
		rep->scanned += count;
		for (size_t i = 0; i < nc && rv == PHR_OK; i++) {
			if (cs[i].block > safe && !released(r, &cs[i].token, false)) {
				rep->young++; /* its write may be about to index it */
				continue;
			}
			size_t unreadable = rep->unreadable, held = rep->held;
			rv = recover_one(db, lock, node, me, r, rep, &cs[i]);
			if (rv == PHR_OK && rep->unreadable == unreadable && rep->held == held) /* decided */
				(void)released(r, &cs[i].token, true);
		}
		phr_free(cs);
	}
	/* the cursor stays where an unreadable or held record is, so the next scan sees it again */
	if (rv == PHR_OK && rep->unreadable == 0 && rep->held == 0 && (safe < head ? safe : head) > cursor) {
		pthread_mutex_lock(lock);
		rv = cursor_set(db, me->address, safe < head ? safe : head);
		pthread_mutex_unlock(lock);
	}
	rep->head = head;
	return rv;
}

/* Runs the scan of one identity and logs what it did. */
static int scan_logged(struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node,
		       const uint8_t addr[20], uint64_t safe, struct fhir_recover *r, uint64_t *head)
{
	const struct phr_identity *me = phr_node_identity(node, addr);
	struct fhir_recover_report rep;
	char a[PHR_ETH_ADDRESS_STR_LEN];
	int rv;

	if (me == NULL)
		return PHR_ERR_NOT_FOUND;
	rv = fhir_recover_scan(db, lock, node, me, safe, r, &rep);
	*head = rep.head;
	phr_eth_address_checksum(a, addr);
	if (rv != PHR_OK)
		phr_log_warn("fhir", "recovery scan of %s failed: %s", a, phr_strerror(rv));
	else if (rep.indexed + rep.orphaned + rep.unreadable + rep.held > 0)
		phr_log_warn("fhir", "recovery scan of %s to block %llu: %zu records minted, %zu indexed now, "
			     "%zu orphans, %zu unreadable, %zu too recent, %zu held by writes in flight",
			     a, (unsigned long long)rep.head, rep.scanned, rep.indexed, rep.orphaned, rep.unreadable,
			     rep.young, rep.held);
	return rv;
}

int fhir_recover_open(struct fhir_recover *r, struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node)
{
	uint8_t addrs[FHIR_RECOVER_MAX_IDS][20];
	size_t n = 0;
	sqlite3_stmt *st = NULL;
	int rv;

	if ((rv = exec_sql(db, RECOVER_SCHEMA)) != PHR_OK)
		return rv;
	if (sqlite3_prepare_v2(db->db, "SELECT addr FROM fhir_recover", -1, &st, NULL) != SQLITE_OK)
		return PHR_ERR_DB;
	while (sqlite3_step(st) == SQLITE_ROW && n < FHIR_RECOVER_MAX_IDS)
		if (sqlite3_column_bytes(st, 0) == 20)
			memcpy(addrs[n++], sqlite3_column_blob(st, 0), 20);
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		struct fhir_recover_id *s;
		uint64_t head = 0;
		/* nothing is in flight before the first request: every record is old enough */
		bool ok = scan_logged(db, lock, node, addrs[i], UINT64_MAX, r, &head) == PHR_OK;
		pthread_mutex_lock(&r->mu);
		if (ok && head > 0)
			sample_add_locked(r, mono_ms(), head);
		if ((s = slot_of(r, addrs[i], true)) != NULL)
			periodic_locked(s, mono_ms() + RECOVER_PERIOD_MS);
		pthread_mutex_unlock(&r->mu);
	}
	return PHR_OK;
}

void fhir_recover_poll(struct fhir_recover *r, struct fhir_db *db, pthread_mutex_t *lock, struct phr_node *node)
{
	for (;;) {
		uint8_t addr[20];
		int64_t now = mono_ms(), min = INT64_MAX;
		bool found = false;

		pthread_mutex_lock(&r->mu);
		if (r->running) {
			pthread_mutex_unlock(&r->mu);
			return;
		}
		for (size_t i = 0; i < r->n && !found; i++) {
			struct fhir_recover_id *s = &r->ids[i];
			if (s->due_ms > now)
				continue;
			found = true;
			memcpy(addr, s->addr, 20);
			/* this run serves every due time passed */
			for (size_t j = 0; j < PHR_ARRAY_LEN(s->due); j++)
				if (s->due[j] != 0 && s->due[j] <= now)
					s->due[j] = 0;
			periodic_locked(s, now + RECOVER_PERIOD_MS);
		}
		if (!found) {
			for (size_t i = 0; i < r->n; i++)
				if (r->ids[i].due_ms < min)
					min = r->ids[i].due_ms;
			/* other servers' jobs lower it again when they poll or schedule */
			atomic_store(&next_due, (long long)min);
			pthread_mutex_unlock(&r->mu);
			return;
		}
		/* the newest head seen at least the margin ago: what no write can still be indexing */
		uint64_t safe = 0, head = 0;
		for (size_t i = 0; i < r->nsamples; i++)
			if (r->samples[i].t <= now - margin_ms() && r->samples[i].head > safe)
				safe = r->samples[i].head;
		r->running = true;
		pthread_mutex_unlock(&r->mu);
		if (scan_logged(db, lock, node, addr, safe, r, &head) != PHR_OK)
			head = 0;
		pthread_mutex_lock(&r->mu);
		r->running = false;
		if (head > 0)
			sample_add_locked(r, mono_ms(), head);
		pthread_mutex_unlock(&r->mu);
	}
}
