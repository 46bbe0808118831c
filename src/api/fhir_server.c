/*
 * The FHIR R4 REST server under /fhir (docs/fhir.md). Each resource version
 * is a phr record (encrypted, content-addressed, minted to its patient,
 * audited); DIR/fhir.db holds the search keys and the version bookkeeping.
 */
#include <microhttpd.h>
#include <sodium.h>
#include <stdarg.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "fhir_int.h"
#include "phr/crypto.h"
#include "phr/fhir_validate.h"
#include "phr/json.h"
#include "phr/phr.h"
#include "phr/records_batch.h"

#define FHIR_CT "application/fhir+json; charset=utf-8"
#define FHIR_DEFAULT_COUNT 20
#define FHIR_MAX_COUNT 1000
#define FHIR_ADDRESS_SYSTEM "urn:phr:address"
#define FHIR_PATIENT_HEADER "X-Phr-Patient"

/* --- per-server state ------------------------------------------------------- */

struct fhir_state {
	const struct phr_api *api;
	char dir[512];
	struct fhir_db db;
	struct fhir_pool readers; /* kept read-only connections (reads run side by side) */
	pthread_mutex_t lock;
	pthread_cond_t left;     /* a write left flight (its index rows committed or given up) */
	struct resv *flying;     /* writes minting without the lock */
	struct fhir_db gdb;      /* the index connection of grouped writes (index_group) */
	struct idx_job *jobs;    /* minted writes waiting for their index rows ... */
	bool indexing;           /* ... while one of them writes a group's rows */
	pthread_cond_t indexed;  /* a group's rows committed or given up */
	atomic_uint arriving;    /* writes minted, not yet in jobs (taking the lock: index_wait) */
	pthread_cond_t arrived;  /* the last of them is in jobs */
	struct fhir_recover rec; /* records minted, not indexed (fhir_recover.c) */
	bool open;
};

/*
 * A write in flight: its versions were decided under the server's lock, its
 * records are minted without it, its index rows written under it again.
 * Until then no other write may decide a version of the same resources
 * (sorted "Type/id" keys; none for creates of fresh server ids).
 */
struct resv {
	struct resv *next;
	char **keys;
	size_t n;
};

static struct fhir_state states[8];
static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;

static bool state_reserved(void *ctx, const char *type, const char *id);

/*
 * The state of @p c's server, opened on first use; returned locked when
 * @p lock. Writes are serialised (version numbers, one index transaction);
 * reads run concurrently (the connection is in serialized mode), so the
 * node can group their View audit entries.
 */
static struct fhir_state *state_get(struct api_ctx *c, bool lock)
{
	const char *dir = c->api->cfg.datadir;
	struct fhir_state *s = NULL;

	pthread_mutex_lock(&states_lock);
	for (size_t i = 0; i < PHR_ARRAY_LEN(states) && s == NULL; i++)
		if (states[i].open && states[i].api == c->api && strcmp(states[i].dir, dir) == 0)
			s = &states[i];
	for (size_t i = 0; i < PHR_ARRAY_LEN(states) && s == NULL; i++)
		if (!states[i].open || (states[i].api == c->api)) {
			s = &states[i];
			if (s->open) {
				pthread_mutex_lock(&s->lock);
				fhir_db_close(&s->db);
				fhir_db_close(&s->gdb);
				pthread_mutex_unlock(&s->lock);
				pthread_mutex_destroy(&s->lock);
				pthread_cond_destroy(&s->left);
				pthread_cond_destroy(&s->indexed);
				pthread_cond_destroy(&s->arrived);
				fhir_pool_release(&s->readers);
				fhir_recover_release(&s->rec);
				s->open = false;
			}
			if (fhir_db_open(&s->db, dir) != PHR_OK) {
				s = NULL;
				break;
			}
			fhir_pool_init(&s->readers, dir);
			pthread_mutex_init(&s->lock, NULL);
			pthread_cond_init(&s->left, NULL);
			pthread_cond_init(&s->indexed, NULL);
			pthread_cond_init(&s->arrived, NULL);
			atomic_store(&s->arriving, 0);
			s->flying = NULL;
			s->jobs = NULL;
			s->indexing = false;
			s->api = c->api;
			snprintf(s->dir, sizeof(s->dir), "%s", dir);
			fhir_recover_init(&s->rec);
			s->rec.reserved = state_reserved;
			s->rec.reserved_ctx = s;
			if (fhir_recover_open(&s->rec, &s->db, &s->lock, c->api->cfg.node) != PHR_OK)
				phr_log_warn("fhir", "no recovery tables: records minted, not indexed are not looked for");
			s->open = true;
		}
	pthread_mutex_unlock(&states_lock);
	if (s != NULL && lock)
		pthread_mutex_lock(&s->lock);
	return s;
}

/* --- per-request context ------------------------------------------------------ */

struct access_cache;

struct fx {
	struct api_ctx *c;
	struct fhir_state *st;
	struct fhir_db *db; /* the state's (writes) or the request's own read connection */
	const struct phr_identity *me;
	char base[256];
	unsigned status;
	json_t *out;
	json_t *warn; /* the validator's warnings on the resource written, or NULL */
	/* records answered as they are stored (raw_take): x->out holds a marker string for each,
	 * or, with raw_whole, the answer is raw[0] itself */
	struct phr_buf *raw;
	size_t nraw, raw_cap;
	char raw_tag[24];
	bool raw_whole;
	bool raw_ok; /* the request's own answer (not a batch entry's, whose resource is an object) */
	char etag[40], location[512], modified[40];
	bool minimal, want_oo;
	const uint8_t *patient; /* the phr patient of a write made inside the node, or NULL */
	struct resv resv;       /* this write's reservation ... */
	bool flying;            /* ... registered in x->st->flying */
	bool exclusive;         /* a conditional create: nothing else in flight, all under the lock */
	struct access_cache *acc; /* the access decisions of this request's last search, or NULL */
};

static json_t *oo_new(const char *severity, const char *code, const char *diag)
{
	return json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "resourceType", "OperationOutcome", "issue",
			 "severity", severity, "code", code, "diagnostics", diag);
}

/* An OperationOutcome answer for @p err (status from the error table unless given). */
static int PHR_PRINTF(4, 5) fail(struct fx *x, int err, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 0) {
		int s = phr_err_http_status(err);
		status = s >= 400 && s < 600 ? (unsigned)s : 400;
	}
	json_decref(x->out);
	x->out = oo_new(status >= 500 ? "fatal" : "error", phr_err_fhir_code(err), msg);
	x->status = status;
	return err;
}

/* A failure with the issues of the validator. */
static int fail_issues(struct fx *x, json_t *issues)
{
	json_decref(x->out);
	x->out = json_pack("{s:s,s:o}", "resourceType", "OperationOutcome", "issue", issues);
	x->status = 400;
	return PHR_ERR_INVALID;
}

static int nomem(struct fx *x)
{
	return fail(x, PHR_ERR_NOMEM, 500, "out of memory");
}

/* Sends x->out as the response with the headers collected. */
/*
 * Records answered as they are stored. A record is the resource as phr_json_dump
 * (JSON_COMPACT) wrote it when it was minted, so parsing it and dumping it again gives the
 * same bytes: a read or a search answers the decrypted bytes without the parse and the
 * dump (about a tenth of a search's CPU). In a Bundle, each such entry's resource is first
 * a marker string, "\u0001" + a random tag of the request + ":" + its number, which
 * raw_splice replaces in the dumped Bundle (no value of the Bundle's own holds the tag:
 * the resources are the markers).
 */
static bool raw_fits(const struct phr_buf *b)
{
	return b->len >= 2 && b->data[0] == '{' && b->data[b->len - 1] == '}';
}

/* Keeps @p b (moved out: @p b is left empty) as record number x->nraw; @return its marker. */
static json_t *raw_take(struct fx *x, struct phr_buf *b)
{
	char marker[64];
	json_t *m;

	if (x->raw_tag[0] == '\0') {
		uint8_t r[8];
		randombytes_buf(r, sizeof(r));
		if (phr_hex_encode(x->raw_tag, sizeof(x->raw_tag), r, sizeof(r), false) != PHR_OK)
			return NULL;
	}
	if (x->nraw == x->raw_cap) {
		size_t cap = x->raw_cap ? x->raw_cap * 2 : 16;
		struct phr_buf *g = phr_realloc(x->raw, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		x->raw = g;
		x->raw_cap = cap;
	}
	snprintf(marker, sizeof(marker), "\x01%s:%zu", x->raw_tag, x->nraw);
	if ((m = json_string(marker)) == NULL)
		return NULL;
	x->raw[x->nraw++] = *b;
	phr_buf_init(b, 0);
	return m;
}

/* Replaces each marker in the dumped answer @p b with its record. */
static int raw_splice(struct fx *x, struct phr_buf *b)
{
	char pat[48];
	size_t pl = (size_t)snprintf(pat, sizeof(pat), "\"\\u0001%s:", x->raw_tag), at = 0;
	struct phr_buf o;
	int rv = PHR_OK;

	phr_buf_init(&o, PHR_BUF_DEFAULT_MAX);
	while (rv == PHR_OK && at < b->len) {
		const uint8_t *hit = memmem(b->data + at, b->len - at, pat, pl);
		size_t k = 0, i;
		if (hit == NULL) {
			rv = phr_buf_append(&o, b->data + at, b->len - at);
			break;
		}
		size_t digits = 0;
		i = (size_t)(hit - b->data) + pl;
		while (i < b->len && b->data[i] >= '0' && b->data[i] <= '9' && digits++ < 9)
			k = k * 10 + (size_t)(b->data[i++] - '0');
		if (digits == 0 || i >= b->len || b->data[i] != '"' || k >= x->nraw) {
			rv = PHR_ERR_INTERNAL; /* never: the markers are ours */
			break;
		}
		if ((rv = phr_buf_append(&o, b->data + at, (size_t)(hit - b->data) - at)) == PHR_OK)
			rv = phr_buf_append(&o, x->raw[k].data, x->raw[k].len);
		at = i + 1;
	}
	if (rv == PHR_OK) {
		sodium_memzero(b->data, b->len);
		phr_buf_release(b);
		*b = o;
	} else {
		phr_buf_release(&o);
	}
	return rv;
}

/* Wipes and frees the records kept for the answer. */
static void raw_release(struct fx *x)
{
	for (size_t i = 0; i < x->nraw; i++) {
		if (x->raw[i].data != NULL)
			sodium_memzero(x->raw[i].data, x->raw[i].len);
		phr_buf_release(&x->raw[i]);
	}
	phr_free(x->raw);
	x->raw = NULL;
	x->nraw = x->raw_cap = 0;
}

static int respond(struct fx *x)
{
	struct api_ctx *c = x->c;
	struct phr_buf b;
	int rv;

	if (x->etag[0] != '\0')
		(void)api_header_add(c, "ETag", x->etag);
	if (x->location[0] != '\0')
		(void)api_header_add(c, "Location", x->location);
	if (x->modified[0] != '\0')
		(void)api_header_add(c, "Last-Modified", x->modified);
	c->status = x->status ? x->status : 200;
	c->raw_type = FHIR_CT;
	if (x->raw_whole && x->out == NULL && x->nraw == 1) { /* a read: the record as stored */
		c->raw_out = phr_malloc(x->raw[0].len);
		if (c->raw_out == NULL)
			return PHR_ERR_NOMEM;
		memcpy(c->raw_out, x->raw[0].data, x->raw[0].len);
		c->raw_len = x->raw[0].len;
		return PHR_OK;
	}
	if (x->out == NULL) {
		c->raw_out = NULL;
		c->raw_len = 0;
		return PHR_OK;
	}
	phr_buf_init(&b, PHR_BUF_DEFAULT_MAX);
	rv = phr_json_dump(&b, x->out, JSON_COMPACT);
	if (rv == PHR_OK && x->nraw > 0)
		rv = raw_splice(x, &b);
	if (rv != PHR_OK) {
		phr_buf_release(&b);
		return rv;
	}
	c->raw_out = phr_buf_detach(&b, &c->raw_len);
	return PHR_OK;
}

static void http_date(char out[40], int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_version_headers(struct fx *x, const struct fhir_row *row)
{
	snprintf(x->etag, sizeof(x->etag), "W/\"%llu\"", (unsigned long long)row->vid);
	http_date(x->modified, row->updated_ms);
}

/* --- writes in flight ------------------------------------------------------------ */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether a key of @p keys (sorted) is one of @p r's. */
static bool resv_clash(const struct resv *r, char *const *keys, size_t n)
{
	for (size_t i = 0, j = 0; i < n && j < r->n;) {
		int c = strcmp(keys[i], r->keys[j]);
		if (c == 0)
			return true;
		if (c < 0)
			i++;
		else
			j++;
	}
	return false;
}

/* Whether a write in flight of state @p ctx holds @p type/@p id (the state's lock held). */
static bool state_reserved(void *ctx, const char *type, const char *id)
{
	const struct fhir_state *st = ctx;
	char key[PHR_FHIR_TYPE_MAX + PHR_FHIR_ID_MAX + 2], *keys[1] = { key };

	snprintf(key, sizeof(key), "%s/%s", type, id);
	for (const struct resv *r = st->flying; r != NULL; r = r->next)
		if (resv_clash(r, keys, 1))
			return true;
	return false;
}

static void resv_free_keys(struct resv *r)
{
	for (size_t i = 0; i < r->n; i++)
		phr_free(r->keys[i]);
	phr_free(r->keys);
	r->keys = NULL;
	r->n = 0;
}

/*
 * Takes (lock held) this write's reservation of @p keys ("Type/id", stolen,
 * freed by resv_end): waits until no write in flight holds one of them
 * (or, x->exclusive, until none is in flight at all), then registers them.
 */
static void resv_take(struct fx *x, char **keys, size_t n)
{
	struct fhir_state *st = x->st;

	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_key);
	x->resv.keys = keys;
	x->resv.n = n;
	for (;;) {
		const struct resv *r = st->flying;
		while (r != NULL && !x->exclusive && !resv_clash(r, keys, n))
			r = r->next;
		if (r == NULL)
			break;
		pthread_cond_wait(&st->left, &st->lock);
	}
	if (!x->exclusive) {
		x->resv.next = st->flying;
		st->flying = &x->resv;
		x->flying = true;
	}
}

/* Takes the reservation of the one resource @p type/@p id. @return PHR_OK or PHR_ERR_NOMEM. */
static int resv_take1(struct fx *x, const char *type, const char *id)
{
	size_t n = strlen(type) + strlen(id) + 2;
	char **keys = phr_malloc(sizeof(*keys));

	if (keys == NULL || (keys[0] = phr_malloc(n)) == NULL) {
		phr_free(keys);
		return nomem(x);
	}
	snprintf(keys[0], n, "%s/%s", type, id);
	resv_take(x, keys, 1);
	return PHR_OK;
}

/* Ends this write's reservation (lock held); a no-op when there is none. */
static void resv_end(struct fx *x)
{
	if (x->flying) {
		struct resv **pp = &x->st->flying;
		while (*pp != &x->resv)
			pp = &(*pp)->next;
		*pp = x->resv.next;
		x->flying = false;
		pthread_cond_broadcast(&x->st->left);
	}
	resv_free_keys(&x->resv);
}

/* --- records ------------------------------------------------------------------ */

/* Record type of a resource type (PhrTypes.sol RecordType). */
static unsigned rtype_of(const char *type)
{
	static const struct {
		const char *t;
		unsigned r;
	} map[] = { { "Immunization", 1 },	{ "Procedure", 2 },	    { "Observation", 5 },
		    { "DiagnosticReport", 5 },	{ "ImagingStudy", 6 },	    { "MedicationRequest", 7 },
		    { "MedicationStatement", 7 }, { "Condition", 8 },	    { "AllergyIntolerance", 8 },
		    { "Encounter", 8 },		{ "CarePlan", 8 },	    { "DocumentReference", 8 } };
	for (size_t i = 0; i < PHR_ARRAY_LEN(map); i++)
		if (strcmp(map[i].t, type) == 0)
			return map[i].r;
	return 0;
}

/* The purpose of use of the caller's View of @p row: PatientRequest for its own records. */
static unsigned purpose_of(const struct fx *x, const struct fhir_row *row)
{
	return memcmp(row->patient, x->me->address, 20) == 0 ? 6u : 1u;
}

/* The resource in @p b when @p rv is PHR_OK (a JSON object); @p b wiped and released. */
static int parse_record(json_t **out, struct phr_buf *b, int rv)
{
	if (rv == PHR_OK)
		rv = phr_json_parse(out, NULL, 0, (const char *)b->data, b->len);
	if (rv == PHR_OK && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rv = PHR_ERR_CORRUPT;
	}
	if (b->data != NULL)
		sodium_memzero(b->data, b->len);
	phr_buf_release(b);
	return rv;
}

/* Decrypts the record of @p row (its version) as the caller: access check and View audit. */
static int load(struct fx *x, json_t **out, const struct fhir_row *row)
{
	struct phr_buf b;
	int rv;

	phr_buf_init(&b, PHR_RECORD_MAX);
	rv = phr_node_record_read(x->c->api->cfg.node, &b, NULL, x->me, &row->token, purpose_of(x, row));
	return parse_record(out, &b, rv);
}

static int load_fail(struct fx *x, int rv)
{
	if (rv == PHR_ERR_FORBIDDEN)
		return fail(x, rv, 403, "the caller may not read this resource (no grant on chain)");
	if (rv == PHR_ERR_NOT_FOUND)
		return fail(x, rv, 404, "the record of this resource is gone");
	return fail(x, rv, 0, "reading the record failed: %s", phr_strerror(rv));
}

/* A write waiting for its record. */
struct pending {
	json_t *res;        /* the resource as stored (owned) */
	struct phr_buf raw; /* its bytes as minted, kept for the answer of a single write (raw_ok) */
	struct fhir_row row;
	bool have_prev;
	struct phr_u256 prev_token;
	const char *method; /* "POST", "PUT", "DELETE" */
	unsigned status;
};

/* The Patient id of the compartment of @p res ("" if none). */
void fhir_compartment_pid(char pid[PHR_FHIR_ID_MAX], const json_t *res)
{
	const char *type = json_string_value(json_object_get(res, "resourceType"));
	const struct phr_fhir_sp *sp;

	pid[0] = '\0';
	if (type == NULL)
		return;
	if (strcmp(type, "Patient") == 0) {
		snprintf(pid, PHR_FHIR_ID_MAX, "%s", json_string_value(json_object_get(res, "id")));
		return;
	}
	sp = phr_fhir_sp_find(type, "patient");
	if (sp == NULL)
		return;
	for (; sp->type != NULL && strcmp(sp->type, type) == 0 && strcmp(sp->code, "patient") == 0; sp++) {
		/* the element holding the patient: first segment of the path */
		char key[64];
		size_t n = strcspn(sp->path, ".");
		const json_t *v;
		const char *ref;
		if (n >= sizeof(key))
			continue;
		memcpy(key, sp->path, n);
		key[n] = '\0';
		v = json_object_get(res, key);
		if (json_is_array(v))
			v = json_array_get(v, 0);
		if (strchr(sp->path, '.') != NULL && json_is_object(v))
			v = json_object_get(v, sp->path + n + 1);
		if (json_is_array(v))
			v = json_array_get(v, 0);
		ref = json_string_value(json_object_get(v, "reference"));
		if (ref != NULL) {
			const char *p = strstr(ref, "Patient/");
			if (p != NULL && (p == ref || p[-1] == '/')) {
				size_t l = strcspn(p + 8, "/");
				if (l > 0 && l < PHR_FHIR_ID_MAX) {
					memcpy(pid, p + 8, l);
					pid[l] = '\0';
					return;
				}
			}
		}
	}
}

/* The phr patient a resource is minted to (docs/fhir.md "Patients"). */
static int patient_addr(struct fx *x, uint8_t out[20], const json_t *res, const char *pid,
			const struct pending *batch, size_t nbatch)
{
	const char *type = json_string_value(json_object_get(res, "resourceType"));
	const char *h;
	struct fhir_row row;

	if (x->patient != NULL) {
		memcpy(out, x->patient, 20);
		return PHR_OK;
	}

	if (strcmp(type, "Patient") == 0) {
		size_t i;
		json_t *idf;
		json_array_foreach (json_object_get(res, "identifier"), i, idf) {
			const char *sys = json_string_value(json_object_get(idf, "system"));
			const char *val = json_string_value(json_object_get(idf, "value"));
			if (sys != NULL && val != NULL && strcmp(sys, FHIR_ADDRESS_SYSTEM) == 0) {
				if (phr_api_param_address(out, val) != PHR_OK)
					return fail(x, PHR_ERR_INVALID, 400,
						    "identifier %s must be a 0x address", FHIR_ADDRESS_SYSTEM);
				return PHR_OK;
			}
		}
	} else if (pid[0] != '\0') {
		for (size_t i = 0; i < nbatch; i++)
			if (strcmp(batch[i].row.type, "Patient") == 0 && strcmp(batch[i].row.id, pid) == 0) {
				memcpy(out, batch[i].row.patient, 20);
				return PHR_OK;
			}
		if (fhir_db_get(x->db, &row, "Patient", pid) == PHR_OK) {
			memcpy(out, row.patient, 20);
			return PHR_OK;
		}
	}
	h = api_header(x->c, FHIR_PATIENT_HEADER);
	if (h != NULL) {
		if (phr_api_param_address(out, h) != PHR_OK)
			return fail(x, PHR_ERR_INVALID, 400, "%s must be a 0x address", FHIR_PATIENT_HEADER);
		return PHR_OK;
	}
	memcpy(out, x->me->address, 20);
	return PHR_OK;
}

/* Checks a resource body for @p type and runs the validator. */
static int check_resource(struct fx *x, const json_t *res, const char *type)
{
	const char *rt = json_string_value(json_object_get(res, "resourceType"));
	const json_t *id = json_object_get(res, "id");
	json_t *issues = NULL;
	int rv;

	if (!json_is_object(res))
		return fail(x, PHR_ERR_INVALID, 400, "the body is not a JSON object");
	if (rt == NULL)
		return fail(x, PHR_ERR_INVALID, 400, "resourceType is missing");
	if (type != NULL && strcmp(rt, type) != 0)
		return fail(x, PHR_ERR_INVALID, 400, "resourceType %s does not match the URL (%s)", rt, type);
	if (!phr_fhir_type_supported(rt))
		return fail(x, PHR_ERR_UNSUPPORTED, 400, "resource type %s is not supported here", rt);
	if (id != NULL && (!json_is_string(id) || !phr_fhir_id_valid(json_string_value(id))))
		return fail(x, PHR_ERR_INVALID, 400, "id is not a valid FHIR id");
	rv = phr_fhir_validate(&issues, res);
	if (rv == PHR_ERR_NOMEM) {
		json_decref(issues);
		return nomem(x);
	}
	if (rv != PHR_OK)
		return fail_issues(x, issues ? issues : json_array());
	json_decref(x->warn); /* warnings only: kept for Prefer: return=OperationOutcome */
	x->warn = json_array_size(issues) > 0 ? issues : NULL;
	if (x->warn == NULL)
		json_decref(issues);
	return PHR_OK;
}

/*
 * A server-assigned id: hex of 6 bytes of the Unix time in milliseconds
 * (big-endian) and 10 random bytes, 32 characters. Ids that grow with time
 * put each new resource at the end of the index's B-trees keyed by id
 * instead of at a random page of each (docs/fhir.md "What a write costs").
 * The time they tell is the resource's meta.lastUpdated, which its readers
 * see anyway; 80 random bits keep ids of one millisecond apart.
 */
static void new_id(char id[PHR_FHIR_ID_MAX])
{
	uint8_t r[16];
	uint64_t ms = (uint64_t)now_ms();

	for (int i = 0; i < 6; i++)
		r[i] = (uint8_t)(ms >> (8 * (5 - i)));
	randombytes_buf(r + 6, sizeof(r) - 6);
	if (phr_hex_encode(id, PHR_FHIR_ID_MAX, r, sizeof(r), false) != PHR_OK)
		id[0] = '\0';
}

/*
 * Prepares a write of @p res (stolen) as Type/id: version, meta, patient.
 * @p prev the current row or NULL.
 */
static int prepare_write(struct fx *x, struct pending *p, json_t *res, const char *type, const char *id,
			 const struct fhir_row *prev, const char *method, const struct pending *batch,
			 size_t nbatch)
{
	char inst[32], vbuf[24];
	json_t *meta;
	int64_t ms = now_ms();
	int rv;

	memset(p, 0, sizeof(*p));
	p->res = res;
	p->method = method;
	snprintf(p->row.type, sizeof(p->row.type), "%s", type);
	snprintf(p->row.id, sizeof(p->row.id), "%s", id);
	p->row.vid = prev ? prev->vid + 1 : 1;
	p->row.updated_ms = ms;
	if (prev != NULL && !prev->deleted) {
		p->have_prev = true;
		p->prev_token = prev->token;
	}
	p->status = prev != NULL && !prev->deleted ? 200 : 201;
	if (res == NULL) { /* delete */
		p->row.deleted = true;
		memcpy(p->row.patient, prev->patient, 20);
		snprintf(p->row.pid, sizeof(p->row.pid), "%s", prev->pid);
		return PHR_OK;
	}
	fhir_instant(inst, ms);
	snprintf(vbuf, sizeof(vbuf), "%llu", (unsigned long long)p->row.vid);
	meta = json_object_get(res, "meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		if (meta == NULL || json_object_set_new(res, "meta", meta) != 0)
			return nomem(x);
	}
	if (json_object_set_new(res, "id", json_string(id)) != 0 ||
	    json_object_set_new(meta, "versionId", json_string(vbuf)) != 0 ||
	    json_object_set_new(meta, "lastUpdated", json_string(inst)) != 0)
		return nomem(x);
	fhir_compartment_pid(p->row.pid, res);
	if ((rv = patient_addr(x, p->row.patient, res, p->row.pid, batch, nbatch)) != PHR_OK)
		return rv;
	if (strcmp(type, "Patient") != 0 && p->row.pid[0] == '\0' && prev != NULL)
		snprintf(p->row.pid, sizeof(p->row.pid), "%s", prev->pid);
	return PHR_OK;
}

/*
 * Mints the records of the prepared writes (deletes have none) as one batch
 * of the domain (records_batch.h); sets each row's token.
 */
static int mint_all(struct fx *x, struct pending *p, size_t n)
{
	struct phr_record_item *items = phr_calloc(n ? n : 1, sizeof(*items));
	struct phr_record_receipt *rc = phr_calloc(n ? n : 1, sizeof(*rc));
	struct phr_buf *bufs = phr_calloc(n ? n : 1, sizeof(*bufs));
	size_t *at = phr_calloc(n ? n : 1, sizeof(*at));
	int *res = NULL;
	size_t k = 0;
	int rv = PHR_OK;

	if (items == NULL || rc == NULL || bufs == NULL || at == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && rv == PHR_OK; i++) {
		if (p[i].res == NULL)
			continue;
		phr_buf_init(&bufs[k], PHR_RECORD_MAX);
		rv = phr_json_dump(&bufs[k], p[i].res, JSON_COMPACT);
		memcpy(items[k].patient, p[i].row.patient, 20);
		items[k].rtype = rtype_of(p[i].row.type);
		items[k].supersedes = p[i].have_prev ? p[i].prev_token : PHR_U256_ZERO;
		items[k].data = bufs[k].data;
		items[k].len = bufs[k].len;
		at[k++] = i;
	}
	if (rv == PHR_OK && (res = phr_calloc(k ? k : 1, sizeof(int))) == NULL)
		rv = PHR_ERR_NOMEM;
	fhir_recover_note(&x->st->rec, x->st->dir, x->c->api->cfg.node, x->me->address);
	if (rv == PHR_OK && k == 1) /* alone: grouped with concurrent creates by the node (txq.c) */
		rv = res[0] = phr_node_record_submit(x->c->api->cfg.node, &rc[0], x->me, items[0].patient,
						     items[0].rtype, &items[0].supersedes, items[0].data,
						     items[0].len);
	else if (rv == PHR_OK)
		rv = phr_node_records_submit_batch(x->c->api->cfg.node, rc, res, x->me, items, k);
	for (size_t j = 0; rv == PHR_OK && j < k; j++)
		p[at[j]].row.token = rc[j].token_id;
	/* a single write answered with its resource: the bytes just minted are that answer */
	if (rv == PHR_OK && n == 1 && k == 1 && x->raw_ok && !x->minimal && !x->want_oo) {
		p[at[0]].raw = bufs[0];
		phr_buf_init(&bufs[0], 0);
	}
	if (rv == PHR_OK && (rv = fhir_test_hook_after_mint()) != PHR_OK)
		for (size_t j = 0; j < k; j++)
			res[j] = PHR_OK; /* all minted, none indexed */
	/* a batch over one mint transaction can end half minted (records_batch.h):
	 * those records are left out of the index, said here for the operator */
	for (size_t j = 0; rv != PHR_OK && res != NULL && j < k; j++)
		if (res[j] == PHR_OK) {
			char tok[PHR_U256_DEC_LEN];
			phr_u256_to_dec(tok, &rc[j].token_id);
			phr_log_warn("fhir", "transaction failed after record %s (%s/%s) was minted: not indexed",
				     tok, p[at[j]].row.type, p[at[j]].row.id);
		}
	/* the next request's recovery scan indexes them (docs/fhir.md "Recovery") */
	if (rv != PHR_OK)
		fhir_recover_failed(&x->st->rec, x->me->address, rc, res, k, rv);
out:
	phr_free(res);
	for (size_t j = 0; bufs != NULL && j < k; j++) {
		if (bufs[j].data != NULL)
			sodium_memzero(bufs[j].data, bufs[j].len);
		phr_buf_release(&bufs[j]);
	}
	phr_free(items);
	phr_free(rc);
	phr_free(bufs);
	phr_free(at);
	return rv;
}

static int mint_fail(struct fx *x, int rv)
{
	if (rv == PHR_ERR_FORBIDDEN)
		return fail(x, rv, 403, "no Write access to the records of this patient (grant on chain)");
	if (rv == PHR_ERR_NOT_FOUND)
		return fail(x, rv, 422, "the patient of this resource is not registered on chain");
	return fail(x, rv, 0, "storing the record failed: %s", phr_strerror(rv));
}

/*
 * Runs fn(x, i, arg) for i in [0, n) on the calling thread and up to
 * FHIR_WORKERS - 1 threads of a pool kept for the process: the node takes
 * concurrent reads and groups the Views of one reader into one
 * AuditTrail.logViews transaction. (A thread created per search cost an
 * mmap and mprotect of its stack and, with many connections, glibc's stack
 * cache overflowed: an munmap, a TLB shootdown on the other core, per
 * thread; 4.4 % of a search's CPU.)
 * @return PHR_OK or the first error (by index).
 */
#define FHIR_WORKERS 8
#define FHIR_POOL_THREADS 16

struct par {
	struct fx *x;
	size_t n;
	atomic_size_t next;
	int (*fn)(struct fx *x, size_t i, void *arg);
	void *arg;
	int *rvs;
	/* under pool.mu: */
	size_t want;        /* pool threads still wanted */
	size_t inside;      /* pool threads working on it */
	bool queued;        /* in pool's queue */
	struct par *qnext;  /* next job of the queue */
	pthread_cond_t done; /* inside reached 0 */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job was queued */
	struct par *head, *tail;
	size_t threads;
} pool = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0 };

static void par_worker(struct par *p)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		p->rvs[i] = p->fn(p->x, i, p->arg);
	}
}

/* Takes @p p off the pool's queue (pool.mu held). */
static void pool_unqueue(struct par *p)
{
	struct par **pp = &pool.head, *prev = NULL;

	while (*pp != NULL && *pp != p) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (*pp == NULL)
		return;
	*pp = p->qnext;
	if (pool.tail == p)
		pool.tail = prev;
	p->queued = false;
}

static void *pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		struct par *p;

		while (pool.head == NULL)
			pthread_cond_wait(&pool.work, &pool.mu);
		p = pool.head;
		if (--p->want == 0)
			pool_unqueue(p);
		p->inside++;
		pthread_mutex_unlock(&pool.mu);
		par_worker(p);
		pthread_mutex_lock(&pool.mu);
		/* the job's owner frees it once inside is 0 and it holds pool.mu */
		if (--p->inside == 0)
			pthread_cond_signal(&p->done);
	}
	return NULL;
}

static void pool_start(void)
{
	pthread_attr_t a;

	if (pthread_attr_init(&a) != 0)
		return;
	(void)pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (size_t i = 0; i < FHIR_POOL_THREADS; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, pool_main, NULL) != 0)
			break;
		pool.threads++;
	}
	pthread_attr_destroy(&a);
}

static int par_run(struct fx *x, size_t n, int (*fn)(struct fx *x, size_t i, void *arg), void *arg)
{
	size_t nt = n < FHIR_WORKERS ? n : FHIR_WORKERS;
	struct par p;
	int rv = PHR_OK;

	if (n == 0)
		return PHR_OK;
	memset(&p, 0, sizeof(p));
	p.x = x;
	p.n = n;
	atomic_init(&p.next, 0);
	p.fn = fn;
	p.arg = arg;
	p.rvs = phr_calloc(n, sizeof(int));
	if (p.rvs == NULL)
		return PHR_ERR_NOMEM;
	if (pthread_cond_init(&p.done, NULL) != 0) {
		phr_free(p.rvs);
		return PHR_ERR_NOMEM;
	}
	(void)pthread_once(&pool.once, pool_start);
	pthread_mutex_lock(&pool.mu);
	if (nt > 1 && pool.threads > 0) {
		p.want = nt - 1;
		p.queued = true;
		if (pool.tail != NULL)
			pool.tail->qnext = &p;
		else
			pool.head = &p;
		pool.tail = &p;
		pthread_cond_broadcast(&pool.work);
	}
	pthread_mutex_unlock(&pool.mu);
	par_worker(&p); /* this thread works too, and alone when the pool is busy */
	pthread_mutex_lock(&pool.mu);
	if (p.queued)
		pool_unqueue(&p);
	while (p.inside > 0)
		pthread_cond_wait(&p.done, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
	pthread_cond_destroy(&p.done);
	for (size_t i = 0; i < n && rv == PHR_OK; i++)
		rv = p.rvs[i];
	phr_free(p.rvs);
	return rv;
}

static void pending_release(struct pending *p)
{
	json_decref(p->res);
	p->res = NULL;
	if (p->raw.data != NULL)
		sodium_memzero(p->raw.data, p->raw.len);
	phr_buf_release(&p->raw);
}

/* --- JSON body ----------------------------------------------------------------- */

static int body_json(struct fx *x, json_t **out)
{
	struct api_ctx *c = x->c;
	const char *ct = api_header(c, "Content-Type");
	char err[160];

	if (ct != NULL && strstr(ct, "json") == NULL)
		return fail(x, PHR_ERR_UNSUPPORTED, 415,
			    "Content-Type must be application/fhir+json or application/json");
	if (c->body.len == 0)
		return fail(x, PHR_ERR_INVALID, 400, "the request has no body");
	if (phr_json_parse(out, err, sizeof(err), (const char *)c->body.data, c->body.len) != PHR_OK)
		return fail(x, PHR_ERR_PARSE, 400, "the body is not JSON: %s", err);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return fail(x, PHR_ERR_INVALID, 400, "the body is not a JSON object");
	}
	return PHR_OK;
}

/* --- interactions ------------------------------------------------------------ */

static bool if_match_ok(struct fx *x, const struct fhir_row *row)
{
	const char *h = api_header(x->c, "If-Match");
	char want[40];

	if (h == NULL)
		return true;
	snprintf(want, sizeof(want), "W/\"%llu\"", (unsigned long long)row->vid);
	if (strcmp(h, want) == 0 || strcmp(h, want + 2) == 0)
		return true;
	return false;
}

static void set_location(struct fx *x, const struct fhir_row *row)
{
	snprintf(x->location, sizeof(x->location), "%s/%s/%s/_history/%llu", x->base, row->type, row->id,
		 (unsigned long long)row->vid);
}

/* The answer to a successful write: representation, minimal or an OperationOutcome. */
static int write_answer(struct fx *x, struct pending *p)
{
	set_version_headers(x, &p->row);
	set_location(x, &p->row);
	x->status = p->status;
	json_decref(x->out);
	x->out = NULL;
	if (x->want_oo) {
		x->out = oo_new("information", "informational", "done");
		if (x->out != NULL && x->warn != NULL) /* the validator's warnings */
			json_array_extend(json_object_get(x->out, "issue"), x->warn);
	} else if (!x->minimal && p->raw.data != NULL && raw_fits(&p->raw)) {
		json_t *m = raw_take(x, &p->raw); /* the resource as minted (raw_take) */
		if (m == NULL)
			return nomem(x);
		json_decref(m);
		x->raw_whole = true;
	} else if (!x->minimal)
		x->out = json_incref(p->res);
	return PHR_OK;
}

/*
 * A minted write waiting for its index rows (commit_writes). The writes
 * minted at about the same time are indexed together: one of them (the
 * group's leader) writes the rows of every write waiting at that moment in
 * one SQLite transaction of the state's group connection, without the
 * state's lock, while the next writes queue up for the next group.
 */
struct idx_job {
	struct idx_job *next;
	struct pending *p;
	size_t n;
	int rv;     /* PHR_OK: its rows are committed; else they are not */
	bool begun; /* whether a transaction could begin (else "index busy") */
	bool done;
};

static int index_rows(struct fhir_db *db, const struct pending *p, size_t n)
{
	int rv = PHR_OK;

	for (size_t i = 0; i < n && rv == PHR_OK; i++)
		rv = fhir_db_put(db, &p[i].row, p[i].res, p[i].method);
	return rv;
}

/* Writes the rows of @p n writes in one transaction of @p db; @return its result. */
static int index_one(struct fhir_db *db, struct idx_job *j)
{
	int rv = fhir_db_begin(db);

	j->begun = rv == PHR_OK;
	if (rv == PHR_OK && (rv = index_rows(db, j->p, j->n)) == PHR_OK)
		rv = fhir_db_commit(db);
	if (j->begun && rv != PHR_OK)
		fhir_db_rollback(db);
	return rv;
}

/*
 * Writes the rows of the group @p g (no lock held: only the group's leader
 * uses @p db) in one transaction; when that fails, each write's rows in a
 * transaction of their own, so that one failing write fails only itself.
 */
static void index_group(struct fhir_db *db, const char *dir, struct idx_job *g)
{
	int rv = db->db != NULL ? PHR_OK : fhir_db_open(db, dir);
	bool begun = false;

	if (rv == PHR_OK && g->next == NULL) {
		g->rv = index_one(db, g);
		return;
	}
	if (rv == PHR_OK && (rv = fhir_db_begin(db)) == PHR_OK)
		begun = true;
	for (struct idx_job *j = g; j != NULL && rv == PHR_OK; j = j->next)
		rv = index_rows(db, j->p, j->n);
	if (rv == PHR_OK)
		rv = fhir_db_commit(db);
	if (begun && rv != PHR_OK)
		fhir_db_rollback(db);
	for (struct idx_job *j = g; j != NULL; j = j->next) {
		j->begun = begun;
		j->rv = rv;
		if (begun && rv != PHR_OK)
			j->rv = index_one(db, j);
	}
}

/* A group's leader yields the processor this many times before it takes the group. */
#define GROUP_YIELDS 4
/* ... and waits at most GROUP_WAIT_MS for the writes minted meanwhile to queue. */
#define GROUP_WAIT_MS 2

/* Waits (the state's lock held) until the writes counted in st->arriving are in jobs, or GROUP_WAIT_MS. */
static void arrivals_wait(struct fhir_state *st)
{
	struct timespec at;

	if (atomic_load(&st->arriving) == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += GROUP_WAIT_MS * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	while (atomic_load(&st->arriving) > 0)
		if (pthread_cond_timedwait(&st->arrived, &st->lock, &at) != 0)
			return;
}

/*
 * Queues @p job (the state's lock held; the caller counted it in
 * st->arriving once minted) and returns once its rows are committed or
 * given up, as the leader of a group or as one of its members. The writes
 * of one mint group are minted together and woken at once, but on 2 cores
 * they run one or two at a time: the first to take the lock led a group
 * of itself alone, the next one of the few that had run meanwhile (index
 * groups of 3.5-5.6 writes under 64 concurrent creates, most of them
 * single). The leader now yields the processor a few times, each time
 * waiting for the writes that got as far as being counted, so that the
 * writes woken with it queue and one transaction writes them all (groups
 * of 17-19: fewer commits, less of the log written per write).
 * @return the job's result.
 */
static int index_wait(struct fhir_state *st, struct idx_job *job)
{
	job->next = st->jobs;
	st->jobs = job;
	if (atomic_fetch_sub(&st->arriving, 1) == 1)
		pthread_cond_signal(&st->arrived);
	while (!job->done) {
		struct idx_job *g = NULL;
		if (st->indexing) {
			pthread_cond_wait(&st->indexed, &st->lock);
			continue;
		}
		st->indexing = true; /* the leader: the others queue meanwhile */
		arrivals_wait(st);
		for (int y = 0; y < GROUP_YIELDS; y++) {
			pthread_mutex_unlock(&st->lock);
			sched_yield(); /* the writes woken with this one run up to index_wait */
			pthread_mutex_lock(&st->lock);
			arrivals_wait(st);
		}
		while (st->jobs != NULL) { /* the group in the order of arrival */
			struct idx_job *j = st->jobs;
			st->jobs = j->next;
			j->next = g;
			g = j;
		}
		pthread_mutex_unlock(&st->lock);
		index_group(&st->gdb, st->dir, g);
		pthread_mutex_lock(&st->lock);
		for (struct idx_job *j = g; j != NULL; j = j->next)
			j->done = true;
		st->indexing = false;
		pthread_cond_broadcast(&st->indexed);
	}
	return job->rv;
}

/*
 * Commits prepared writes (the state's lock held): records first, then the
 * index. A write in flight (resv_take: its versions are decided and no
 * other write can decide them) mints without the lock, so concurrent
 * writes share the store's syncs and the node's mint transactions; then
 * its index rows are written in a group with the other writes minted at
 * that moment (index_wait: one transaction for the group; a failure there
 * leaves records minted, not indexed: a warning names them). Its answer
 * follows the commit of its rows. A write without a reservation (a
 * conditional create: nothing else in flight) mints under the lock with the
 * index transaction of the state's own connection already open.
 */
static int commit_writes(struct fx *x, struct pending *p, size_t n)
{
	int rv = PHR_OK;

	if (x->flying) {
		struct idx_job job = { NULL, p, n, PHR_OK, false, false };
		pthread_mutex_unlock(&x->st->lock);
		rv = mint_all(x, p, n);
		if (rv == PHR_OK) /* on its way to index_wait */
			atomic_fetch_add(&x->st->arriving, 1);
		pthread_mutex_lock(&x->st->lock);
		if (rv != PHR_OK) {
			resv_end(x);
			return mint_fail(x, rv);
		}
		rv = index_wait(x->st, &job);
		resv_end(x);
		if (rv == PHR_OK)
			return PHR_OK;
		for (size_t i = 0; i < n; i++) {
			char tok[PHR_U256_DEC_LEN];
			if (p[i].res == NULL)
				continue;
			phr_u256_to_dec(tok, &p[i].row.token);
			phr_log_warn("fhir", "record %s (%s/%s) minted, not indexed: %s", tok, p[i].row.type,
				     p[i].row.id, job.begun ? "index write failed" : "index busy");
			/* the next request's recovery scan indexes it (docs/fhir.md "Recovery") */
			fhir_recover_schedule(&x->st->rec, x->me->address, &p[i].row.token, 1, false);
		}
		return fail(x, rv, 500, job.begun ? "index write failed" : "index: cannot begin");
	}
	/* the index transaction is open (write lock taken) before anything is
	 * minted, so that only an I/O error can keep minted records out of it */
	if ((rv = fhir_db_begin(x->db)) != PHR_OK)
		return fail(x, rv, 500, "index: cannot begin");
	rv = mint_all(x, p, n);
	if (rv != PHR_OK) {
		fhir_db_rollback(x->db);
		return mint_fail(x, rv);
	}
	rv = index_rows(x->db, p, n);
	if (rv == PHR_OK)
		rv = fhir_db_commit(x->db);
	if (rv != PHR_OK) {
		fhir_db_rollback(x->db);
		for (size_t i = 0; i < n; i++)
			if (p[i].res != NULL) /* minted, not indexed: the next request's recovery scan indexes it */
				fhir_recover_schedule(&x->st->rec, x->me->address, &p[i].row.token, 1, false);
		return fail(x, rv, 500, "index write failed");
	}
	return PHR_OK;
}

static int do_search_query(struct fx *x, const char *type, const struct phr_fhir_req *q, size_t *count_out,
			   struct fhir_hits *hits);

static int do_create(struct fx *x, const char *type, json_t *res)
{
	struct pending p;
	char id[PHR_FHIR_ID_MAX];
	const char *ine = api_header(x->c, "If-None-Exist");
	int rv;

	if ((rv = check_resource(x, res, type)) != PHR_OK) {
		json_decref(res);
		return rv;
	}
	/* the patient's own Consent changes her grants on chain instead (h_compliance.c) */
	if (strcmp(type, "Consent") == 0 && (rv = api_consent_hook(x->c, &x->out, x->me, res)) !=
						    PHR_ERR_NOT_FOUND) {
		json_decref(res);
		x->status = 200;
		return rv == PHR_OK ? PHR_OK : fail(x, rv, 0, "%s", x->c->detail);
	}
	/* a conditional create sees every write before it: nothing in flight, all under the lock */
	x->exclusive = ine != NULL;
	resv_take(x, NULL, 0);
	if (ine != NULL) {
		struct phr_fhir_req q;
		struct fhir_hits h;
		size_t cnt;
		char *u = phr_malloc(strlen(type) + strlen(ine) + 2);
		if (u == NULL) {
			json_decref(res);
			return nomem(x);
		}
		snprintf(u, strlen(type) + strlen(ine) + 2, "%s?%s", type, ine);
		phr_fhir_req_init(&q);
		rv = phr_fhir_req_parse(&q, u);
		phr_free(u);
		if (rv != PHR_OK) {
			phr_fhir_req_release(&q);
			json_decref(res);
			return fail(x, PHR_ERR_INVALID, 400, "If-None-Exist is not a search query");
		}
		rv = do_search_query(x, type, &q, &cnt, &h);
		phr_fhir_req_release(&q);
		phr_free(x->acc); /* no entry is read here */
		x->acc = NULL;
		if (rv != PHR_OK) {
			json_decref(res);
			return rv;
		}
		if (h.total > 1) {
			fhir_hits_release(&h);
			json_decref(res);
			return fail(x, PHR_ERR_CONFLICT, 412, "If-None-Exist matches %zu resources", h.total);
		}
		if (h.total == 1 && h.n == 0) { /* _count=0, _offset or _summary=count in the query */
			fhir_hits_release(&h);
			json_decref(res);
			return fail(x, PHR_ERR_INVALID, 400, "If-None-Exist cannot page (_count, _offset, _summary)");
		}
		if (h.total == 1) {
			json_t *cur = NULL;
			struct fhir_row row = h.rows[0];
			fhir_hits_release(&h);
			json_decref(res);
			if ((rv = load(x, &cur, &row)) != PHR_OK)
				return load_fail(x, rv);
			set_version_headers(x, &row);
			set_location(x, &row);
			x->status = 200;
			json_decref(x->out);
			x->out = x->minimal ? (json_decref(cur), NULL) : cur;
			return PHR_OK;
		}
		fhir_hits_release(&h);
	}
	new_id(id);
	rv = prepare_write(x, &p, res, type, id, NULL, "POST", NULL, 0);
	if (rv == PHR_OK)
		rv = commit_writes(x, &p, 1);
	if (rv == PHR_OK)
		rv = write_answer(x, &p);
	pending_release(&p);
	return rv;
}

static int do_update(struct fx *x, const char *type, const char *id, json_t *res)
{
	struct pending p;
	struct fhir_row prev;
	const char *bid;
	int rv;

	if ((rv = check_resource(x, res, type)) != PHR_OK) {
		json_decref(res);
		return rv;
	}
	bid = json_string_value(json_object_get(res, "id"));
	if (bid == NULL || strcmp(bid, id) != 0) {
		json_decref(res);
		return fail(x, PHR_ERR_INVALID, 400, "the resource id must equal the id in the URL (%s)", id);
	}
	if ((rv = resv_take1(x, type, id)) != PHR_OK) {
		json_decref(res);
		return rv;
	}
	rv = fhir_db_get(x->db, &prev, type, id);
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND) {
		json_decref(res);
		return fail(x, rv, 500, "index read failed");
	}
	if (rv == PHR_OK && !if_match_ok(x, &prev)) {
		json_decref(res);
		return fail(x, PHR_ERR_CONFLICT, 412, "If-Match does not name the current version (%llu)",
			    (unsigned long long)prev.vid);
	}
	rv = prepare_write(x, &p, res, type, id, rv == PHR_OK ? &prev : NULL, "PUT", NULL, 0);
	if (rv == PHR_OK)
		rv = commit_writes(x, &p, 1);
	if (rv == PHR_OK)
		rv = write_answer(x, &p);
	pending_release(&p);
	return rv;
}

/* Whether the caller may write to the patient of @p row (a delete is a write). */
static int may_write(struct fx *x, const struct fhir_row *row)
{
	bool ok = false;
	int rv = phr_node_can_access(x->c->api->cfg.node, &ok, NULL, x->me->address, &row->token,
				     PHR_LEVEL_WRITE);

	if (rv == PHR_OK && !ok)
		rv = phr_node_can_access_patient(x->c->api->cfg.node, &ok, x->me->address, row->patient,
						 PHR_LEVEL_WRITE);
	if (rv != PHR_OK)
		return fail(x, rv, 0, "access check failed: %s", phr_strerror(rv));
	if (!ok)
		return fail(x, PHR_ERR_FORBIDDEN, 403, "no Write access to the records of this patient");
	return PHR_OK;
}

static int do_delete(struct fx *x, const char *type, const char *id)
{
	struct fhir_row prev;
	struct pending p;
	int rv = resv_take1(x, type, id);

	if (rv != PHR_OK)
		return rv;
	rv = fhir_db_get(x->db, &prev, type, id);

	if (rv == PHR_ERR_NOT_FOUND || (rv == PHR_OK && prev.deleted)) {
		x->status = 200;
		x->out = oo_new("information", "informational", "nothing to delete");
		return PHR_OK;
	}
	if (rv != PHR_OK)
		return fail(x, rv, 500, "index read failed");
	if (!if_match_ok(x, &prev))
		return fail(x, PHR_ERR_CONFLICT, 412, "If-Match does not name the current version");
	if ((rv = may_write(x, &prev)) != PHR_OK)
		return rv;
	if ((rv = prepare_write(x, &p, NULL, type, id, &prev, "DELETE", NULL, 0)) != PHR_OK ||
	    (rv = commit_writes(x, &p, 1)) != PHR_OK)
		return rv;
	set_version_headers(x, &p.row);
	x->status = 200;
	x->out = oo_new("information", "informational", "deleted");
	return PHR_OK;
}

static int trail_events(struct fx *x, json_t *bundle, const char *pid);

/* GET AuditEvent/trail-<pid>-<seq>: one entry of the on-chain audit trail. */
static int read_trail_event(struct fx *x, const char *id)
{
	const char *dash = strrchr(id, '-');
	char pid[PHR_FHIR_ID_MAX];
	json_t *b, *e;
	size_t i, n;
	int rv;

	if (dash == NULL || dash <= id + 6 || (n = (size_t)(dash - (id + 6))) >= sizeof(pid))
		return fail(x, PHR_ERR_NOT_FOUND, 404, "no resource AuditEvent/%s", id);
	memcpy(pid, id + 6, n);
	pid[n] = '\0';
	b = json_pack("{s:[]}", "entry");
	if (b == NULL)
		return nomem(x);
	if ((rv = trail_events(x, b, pid)) != PHR_OK) {
		json_decref(b);
		return rv;
	}
	json_array_foreach (json_object_get(b, "entry"), i, e) {
		json_t *res = json_object_get(e, "resource");
		const char *rid = json_string_value(json_object_get(res, "id"));
		if (rid != NULL && strcmp(rid, id) == 0) {
			x->out = json_incref(res);
			x->status = 200;
			json_decref(b);
			return PHR_OK;
		}
	}
	json_decref(b);
	return fail(x, PHR_ERR_NOT_FOUND, 404, "no audit trail entry %s readable by the caller", id);
}

static int do_read(struct fx *x, const char *type, const char *id, uint64_t vid)
{
	struct fhir_row row;
	json_t *res = NULL;
	int rv;

	if (vid == 0 && strcmp(type, "AuditEvent") == 0 && strncmp(id, "trail-", 6) == 0)
		return read_trail_event(x, id);
	rv = vid ? fhir_db_get_version(x->db, &row, type, id, vid) : fhir_db_get(x->db, &row, type, id);

	if (rv == PHR_ERR_NOT_FOUND && vid)
		return fail(x, rv, 404, "no version %llu of %s/%s", (unsigned long long)vid, type, id);
	if (rv == PHR_ERR_NOT_FOUND)
		return fail(x, rv, 404, "no resource %s/%s", type, id);
	if (rv != PHR_OK)
		return fail(x, rv, 500, "index read failed");
	if (row.deleted) {
		set_version_headers(x, &row);
		return fail(x, PHR_ERR_NOT_FOUND, 410, "%s/%s was deleted", type, id);
	}
	{ /* the record as stored is the answer (raw_take) */
		struct phr_buf b;
		phr_buf_init(&b, PHR_RECORD_MAX);
		rv = phr_node_record_read(x->c->api->cfg.node, &b, NULL, x->me, &row.token, purpose_of(x, &row));
		if (rv == PHR_OK && x->raw_ok && raw_fits(&b)) {
			json_t *m = raw_take(x, &b);
			if (m == NULL) {
				sodium_memzero(b.data, b.len);
				phr_buf_release(&b);
				return nomem(x);
			}
			json_decref(m);
			x->raw_whole = true;
		} else if ((rv = parse_record(&res, &b, rv)) != PHR_OK) { /* not a JSON object: corrupt */
			return load_fail(x, rv);
		}
	}
	set_version_headers(x, &row);
	x->status = 200;
	x->out = res;
	return PHR_OK;
}

/* --- bundles --------------------------------------------------------------------- */

static json_t *bundle_new(const char *type, size_t total, bool with_total)
{
	json_t *b = json_pack("{s:s,s:s,s:{s:s},s:[]}", "resourceType", "Bundle", "type", type, "meta",
			      "lastUpdated", "", "entry");
	char inst[32];

	if (b == NULL)
		return NULL;
	fhir_instant(inst, now_ms());
	json_object_set_new(json_object_get(b, "meta"), "lastUpdated", json_string(inst));
	{
		uint8_t r[16];
		char id[PHR_FHIR_ID_MAX];
		randombytes_buf(r, sizeof(r));
		if (phr_hex_encode(id, sizeof(id), r, sizeof(r), false) == PHR_OK)
			json_object_set_new(b, "id", json_string(id));
	}
	if (with_total)
		json_object_set_new(b, "total", json_integer((json_int_t)total));
	return b;
}

static int entry_add(json_t *bundle, const char *full_url, json_t *res, const char *mode)
{
	json_t *e = json_pack("{s:s,s:o}", "fullUrl", full_url, "resource", res);

	if (e == NULL)
		return PHR_ERR_NOMEM;
	if (mode != NULL)
		json_object_set_new(e, "search", json_pack("{s:s}", "mode", mode));
	return json_array_append_new(json_object_get(bundle, "entry"), e) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

/* Percent-encodes @p s for a query string into @p b. */
static int qs_append(struct phr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rv = PHR_OK;

	for (; *s != '\0' && rv == PHR_OK; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~:|,/", ch) != NULL) {
			rv = phr_buf_append_byte(b, ch);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			rv = phr_buf_append(b, e, 3);
		}
	}
	return rv;
}

/* A paging link of a search. */
static int add_link(json_t *bundle, struct fx *x, const char *rel, const char *type,
		    const struct phr_fhir_req *q, size_t count, size_t offset)
{
	struct phr_buf b;
	json_t *links = json_object_get(bundle, "link");
	int rv;

	if (links == NULL) {
		links = json_array();
		if (links == NULL || json_object_set_new(bundle, "link", links) != 0)
			return PHR_ERR_NOMEM;
	}
	phr_buf_init(&b, 65536);
	rv = phr_buf_appendf(&b, "%s/%s?", x->base, type);
	for (size_t i = 0; i < q->n_params && rv == PHR_OK; i++) {
		const struct phr_fhir_param *p = &q->params[i];
		if (strcmp(p->name, "_count") == 0 || strcmp(p->name, "_offset") == 0 ||
		    strcmp(p->name, "_format") == 0)
			continue;
		rv = qs_append(&b, p->name);
		if (rv == PHR_OK && p->modifier != NULL && (rv = phr_buf_append_byte(&b, ':')) == PHR_OK)
			rv = qs_append(&b, p->modifier);
		if (rv == PHR_OK && (rv = phr_buf_append_byte(&b, '=')) == PHR_OK)
			rv = qs_append(&b, p->value);
		if (rv == PHR_OK)
			rv = phr_buf_append_byte(&b, '&');
	}
	if (rv == PHR_OK)
		rv = phr_buf_appendf(&b, "_count=%zu&_offset=%zu", count, offset);
	if (rv == PHR_OK)
		rv = phr_buf_append_byte(&b, 0);
	if (rv == PHR_OK &&
	    json_array_append_new(links, json_pack("{s:s,s:s}", "relation", rel, "url", (char *)b.data)) != 0)
		rv = PHR_ERR_NOMEM;
	phr_buf_release(&b);
	return rv;
}

static int parse_size(struct fx *x, size_t *out, const struct phr_fhir_req *q, const char *name,
		      size_t dflt, size_t max)
{
	const char *v = phr_fhir_req_param(q, name);
	uint64_t n;

	*out = dflt;
	if (v == NULL)
		return PHR_OK;
	if (phr_parse_u64(&n, v) != PHR_OK)
		return fail(x, PHR_ERR_INVALID, 400, "%s must be a non-negative integer", name);
	*out = n > max ? max : (size_t)n;
	return PHR_OK;
}

/*
 * The caller's read access to a search match (fhir_access): canAccess on the
 * patient as a whole (owner, grant on all records, emergency), asked once per
 * patient of the search, else canAccess on the record (category and record
 * grants). No View is logged: nothing is read.
 */
#define ACCESS_CACHE 64

struct access_cache {
	struct fx *x;
	size_t n;
	struct {
		uint8_t patient[20];
		bool whole;
	} p[ACCESS_CACHE];
};

static int access_check(void *ctx, bool *ok, const uint8_t patient[20], const struct phr_u256 *token)
{
	struct access_cache *a = ctx;
	struct phr_node *node = a->x->c->api->cfg.node;
	const uint8_t *me = a->x->me->address;
	bool whole = false;
	size_t i;
	int rv;

	for (i = 0; i < a->n && memcmp(a->p[i].patient, patient, 20) != 0; i++)
		;
	if (i < a->n)
		whole = a->p[i].whole;
	else {
		if ((rv = phr_node_can_access_patient(node, &whole, me, patient, PHR_LEVEL_READ)) != PHR_OK)
			return rv;
		if (a->n < ACCESS_CACHE) {
			memcpy(a->p[a->n].patient, patient, 20);
			a->p[a->n++].whole = whole;
		}
	}
	if (whole) {
		*ok = true;
		return PHR_OK;
	}
	return phr_node_can_access(node, ok, NULL, me, token, PHR_LEVEL_READ);
}

/*
 * @p patient when this request's search found that its caller may read every record of it
 * (canAccess(caller, patient, 0, Read) true), else NULL: the decision phr_node_records_read
 * takes for a record of that patient (AuditTrail.logViews checks each entry again).
 */
static const uint8_t *access_granted(const struct fx *x, const uint8_t patient[20])
{
	const struct access_cache *a = x->acc;

	for (size_t i = 0; a != NULL && i < a->n; i++)
		if (memcmp(a->p[i].patient, patient, 20) == 0)
			return a->p[i].whole ? patient : NULL;
	return NULL;
}

/* The access filter of @p x's caller (fhir_access); phr_free the cache after the query. */
static struct access_cache *access_new(struct fx *x, struct fhir_access *acc)
{
	struct access_cache *cache = phr_calloc(1, sizeof(*cache));

	if (cache != NULL)
		cache->x = x;
	acc->check = access_check;
	acc->ctx = cache;
	return cache;
}

static int do_search_query(struct fx *x, const char *type, const struct phr_fhir_req *q, size_t *count_out,
			   struct fhir_hits *hits)
{
	struct access_cache *cache;
	struct fhir_access acc;
	size_t count, offset;
	const char *summary = phr_fhir_req_param(q, "_summary");
	char detail[256] = "";
	int rv;

	if ((rv = parse_size(x, &count, q, "_count", FHIR_DEFAULT_COUNT, FHIR_MAX_COUNT)) != PHR_OK ||
	    (rv = parse_size(x, &offset, q, "_offset", 0, SIZE_MAX / 2)) != PHR_OK)
		return rv;
	if ((cache = access_new(x, &acc)) == NULL)
		return nomem(x);
	/* _summary=count: the total only, no page of rows */
	rv = fhir_db_search(x->db, hits, detail, sizeof(detail), type, q,
			    summary != NULL && strcmp(summary, "count") == 0 ? 0 : count, offset, &acc);
	/* kept for this search (do_search frees it): the entries' reads reuse its patient
	 * decisions (access_granted) */
	phr_free(x->acc);
	x->acc = cache;
	if (rv == PHR_ERR_INVALID || rv == PHR_ERR_UNSUPPORTED || rv == PHR_ERR_TOO_LARGE)
		return fail(x, rv, 400, "%s", detail[0] ? detail : "bad search");
	if (rv != PHR_OK)
		return fail(x, rv, 500, "search failed");
	*count_out = count;
	return PHR_OK;
}

/* Adds the resource of @p row to @p bundle unless it is there; skips what the caller may not read. */
static int add_row(struct fx *x, json_t *bundle, json_t *seen, const struct fhir_row *row, const char *mode)
{
	char url[512];
	json_t *res = NULL;
	int rv;

	snprintf(url, sizeof(url), "%s/%s/%s", x->base, row->type, row->id);
	if (json_object_get(seen, url) != NULL)
		return PHR_OK;
	rv = load(x, &res, row);
	if (rv == PHR_ERR_FORBIDDEN || rv == PHR_ERR_NOT_FOUND)
		return PHR_OK;
	if (rv != PHR_OK)
		return load_fail(x, rv);
	json_object_set_new(seen, url, json_true());
	if (entry_add(bundle, url, res, mode) != PHR_OK)
		return nomem(x);
	return PHR_OK;
}

/* Rows read by one phr_node_records_read (one access decision per patient, one wait for
 * their Views); the chunks of a large page are read concurrently. */
#define LOAD_CHUNK 8

struct loaded {
	const struct fhir_row *rows;
	struct phr_buf *raw; /* per row: the record as stored, when it is a JSON object (raw_fits) */
	json_t **res;
	int *rv;
	const bool *skip;
	size_t n;
};

/* load of the rows not skipped of chunk @p c. */
static int load_chunk(struct fx *x, size_t c, void *arg)
{
	struct loaded *l = arg;
	struct phr_record_read it[LOAD_CHUNK];
	struct phr_buf b[LOAD_CHUNK];
	size_t at[LOAD_CHUNK], k = 0, lo = c * LOAD_CHUNK, hi = lo + LOAD_CHUNK < l->n ? lo + LOAD_CHUNK : l->n;
	int rv;

	for (size_t i = lo; i < hi; i++) {
		if (l->skip[i])
			continue;
		phr_buf_init(&b[k], PHR_RECORD_MAX);
		it[k] = (struct phr_record_read){ &l->rows[i].token, purpose_of(x, &l->rows[i]), &b[k],
						  access_granted(x, l->rows[i].patient), PHR_OK };
		at[k++] = i;
	}
	rv = phr_node_records_read(x->c->api->cfg.node, it, k, x->me);
	for (size_t j = 0; j < k; j++) {
		int r = rv != PHR_OK ? rv : it[j].result;
		if (r == PHR_OK && x->raw_ok && raw_fits(&b[j])) { /* answered as stored (raw_take in add_rows) */
			l->raw[at[j]] = b[j];
			l->rv[at[j]] = PHR_OK;
		} else {
			l->rv[at[j]] = parse_record(&l->res[at[j]], &b[j], r);
		}
	}
	return PHR_OK;
}

/* add_row for many rows, read concurrently (their Views go on chain together). */
static int add_rows(struct fx *x, json_t *bundle, json_t *seen, const struct fhir_row *rows, size_t n,
		    const char *mode)
{
	struct loaded l;
	bool *skip;
	int rv = PHR_OK;

	if (n == 0)
		return PHR_OK;
	l.rows = rows;
	l.raw = phr_calloc(n, sizeof(*l.raw));
	l.res = phr_calloc(n, sizeof(*l.res));
	l.rv = phr_calloc(n, sizeof(*l.rv));
	skip = phr_calloc(n, sizeof(*skip));
	l.skip = skip;
	if (l.raw == NULL || l.res == NULL || l.rv == NULL || skip == NULL) {
		rv = nomem(x);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char url[512];
		snprintf(url, sizeof(url), "%s/%s/%s", x->base, rows[i].type, rows[i].id);
		skip[i] = json_object_get(seen, url) != NULL;
		for (size_t k = 0; k < i && !skip[i]; k++)
			skip[i] = strcmp(rows[k].type, rows[i].type) == 0 && strcmp(rows[k].id, rows[i].id) == 0;
	}
	l.n = n;
	if ((rv = par_run(x, (n + LOAD_CHUNK - 1) / LOAD_CHUNK, load_chunk, &l)) != PHR_OK) {
		rv = nomem(x);
		goto out;
	}
	for (size_t i = 0; i < n && rv == PHR_OK; i++) {
		char url[512];
		if (skip[i] || l.rv[i] == PHR_ERR_FORBIDDEN || l.rv[i] == PHR_ERR_NOT_FOUND)
			continue;
		if (l.rv[i] != PHR_OK) {
			rv = load_fail(x, l.rv[i]);
			break;
		}
		snprintf(url, sizeof(url), "%s/%s/%s", x->base, rows[i].type, rows[i].id);
		json_object_set_new(seen, url, json_true());
		if (l.res[i] == NULL && (l.res[i] = raw_take(x, &l.raw[i])) == NULL) {
			rv = nomem(x);
			break;
		}
		rv = entry_add(bundle, url, l.res[i], mode) == PHR_OK ? PHR_OK : nomem(x);
		l.res[i] = NULL; /* stolen, also on failure */
	}
out:
	for (size_t i = 0; l.res != NULL && i < n; i++)
		json_decref(l.res[i]);
	for (size_t i = 0; l.raw != NULL && i < n; i++) { /* not taken: wiped */
		if (l.raw[i].data != NULL)
			sodium_memzero(l.raw[i].data, l.raw[i].len);
		phr_buf_release(&l.raw[i]);
	}
	phr_free(l.raw);
	phr_free(l.res);
	phr_free(l.rv);
	phr_free(skip);
	return rv;
}

/* _include=Type:param[:Target] and _revinclude=Type:param for the matches. */
static int includes(struct fx *x, json_t *bundle, json_t *seen, const struct fhir_hits *h,
		    const struct phr_fhir_req *q)
{
	int rv = PHR_OK;

	for (size_t i = 0; i < q->n_params && rv == PHR_OK; i++) {
		const struct phr_fhir_param *p = &q->params[i];
		bool rev = strcmp(p->name, "_revinclude") == 0;
		char t[PHR_FHIR_TYPE_MAX], prm[64], target[PHR_FHIR_TYPE_MAX] = "";
		const char *v = p->value;
		size_t tl, pl;

		if (!rev && strcmp(p->name, "_include") != 0)
			continue;
		if (p->modifier != NULL && strcmp(p->modifier, "iterate") != 0 &&
		    strcmp(p->modifier, "recurse") != 0) {
			/* "_include:Type" never happens: the name carries the colon */
		}
		tl = strcspn(v, ":");
		if (v[tl] != ':' || tl == 0 || tl >= sizeof(t))
			return fail(x, PHR_ERR_INVALID, 400, "%s must be Type:parameter", p->name);
		memcpy(t, v, tl);
		t[tl] = '\0';
		v += tl + 1;
		pl = strcspn(v, ":");
		if (pl == 0 || pl >= sizeof(prm))
			return fail(x, PHR_ERR_INVALID, 400, "%s must be Type:parameter", p->name);
		memcpy(prm, v, pl);
		prm[pl] = '\0';
		if (v[pl] == ':')
			snprintf(target, sizeof(target), "%s", v + pl + 1);
		if (strcmp(v, "*") == 0)
			return fail(x, PHR_ERR_UNSUPPORTED, 400, "%s with * is not supported", p->name);
		{
			const struct phr_fhir_sp *sp = phr_fhir_type_supported(t) ? phr_fhir_sp_find(t, prm) : NULL;
			if (sp == NULL || sp->kind != PHR_FHIR_SP_REFERENCE)
				return fail(x, PHR_ERR_INVALID, 400, "%s: %s is not a reference parameter of %s",
					    p->name, prm, t);
		}
		for (size_t k = 0; k < h->n && rv == PHR_OK; k++) {
			const struct fhir_row *m = &h->rows[k];
			if (rev) {
				struct fhir_hits r;
				char ref[PHR_FHIR_TYPE_MAX + PHR_FHIR_ID_MAX + 1];
				snprintf(ref, sizeof(ref), "%s/%s", m->type, m->id);
				if ((rv = fhir_db_referencing(x->db, &r, t, prm, ref)) != PHR_OK)
					return fail(x, rv, 500, "index read failed");
				rv = add_rows(x, bundle, seen, r.rows, r.n, "include");
				fhir_hits_release(&r);
			} else {
				json_t *refs = NULL, *s;
				size_t j;
				if (strcmp(m->type, t) != 0)
					continue;
				if ((rv = fhir_db_refs_of(x->db, &refs, m->type, m->id, prm)) != PHR_OK)
					return fail(x, rv, 500, "index read failed");
				json_array_foreach (refs, j, s) {
					const char *ref = json_string_value(s);
					char rt[PHR_FHIR_TYPE_MAX];
					size_t n = strcspn(ref, "/");
					struct fhir_row row;
					if (rv != PHR_OK || n >= sizeof(rt) || ref[n] != '/')
						continue;
					memcpy(rt, ref, n);
					rt[n] = '\0';
					if (target[0] != '\0' && strcmp(target, rt) != 0)
						continue;
					if (fhir_db_get(x->db, &row, rt, ref + n + 1) == PHR_OK && !row.deleted)
						rv = add_row(x, bundle, seen, &row, "include");
				}
				json_decref(refs);
			}
		}
	}
	return rv;
}

/* AuditEvents from the on-chain audit trail of the patient of Patient/pid (docs/fhir.md). */
static int trail_events(struct fx *x, json_t *bundle, const char *pid)
{
	struct fhir_row prow;
	json_t *l = NULL, *e;
	bool ok = false;
	size_t i;
	int rv;

	if (fhir_db_get(x->db, &prow, "Patient", pid) != PHR_OK || prow.deleted)
		return PHR_OK;
	rv = phr_node_can_access_patient(x->c->api->cfg.node, &ok, x->me->address, prow.patient,
					 PHR_LEVEL_READ);
	if (rv != PHR_OK || (!ok && !api_is_auditor(x->c->api, x->me->address)))
		return PHR_OK;
	if (phr_node_audit_list(x->c->api->cfg.node, &l, prow.patient, NULL) != PHR_OK)
		return PHR_OK;
	json_array_foreach (l, i, e) {
		char id[64], url[400], when[32];
		json_int_t seq = json_integer_value(json_object_get(e, "seq"));
		json_int_t t = json_integer_value(json_object_get(e, "time"));
		const char *action = json_string_value(json_object_get(e, "action"));
		const char *accessor = json_string_value(json_object_get(e, "accessor"));
		const char *rec = json_string_value(json_object_get(e, "recordId"));
		json_t *ae;
		snprintf(id, sizeof(id), "trail-%s-%lld", pid, (long long)seq);
		if (!phr_fhir_id_valid(id))
			snprintf(id, sizeof(id), "trail-%lld", (long long)seq);
		fhir_instant(when, (int64_t)t * 1000);
		ae = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:s,s:[{s:{s:s,s:s},s:b}],s:{s:{s:s}},"
			       "s:[{s:{s:s},s:{s:s,s:s}}]}",
			       "resourceType", "AuditEvent", "id", id, "type", "system",
			       "http://dicom.nema.org/resources/ontology/DCM", "code", "110110", "display",
			       "Patient Record", "recorded", when, "outcome", "0", "agent", "who", "system",
			       "urn:phr:address", "value", accessor ? accessor : "", "requestor", 1,
			       "source", "observer", "display", "phr audit trail (on chain)", "entity",
			       "what", "reference", "", "detail", "type", "action", "valueString",
			       action ? action : "?");
		if (ae == NULL) {
			json_decref(l);
			return nomem(x);
		}
		{
			char ref[PHR_FHIR_ID_MAX + 16];
			json_t *ent = json_array_get(json_object_get(ae, "entity"), 0);
			snprintf(ref, sizeof(ref), "Patient/%s", pid);
			json_object_set_new(json_object_get(ent, "what"), "reference", json_string(ref));
			json_object_set_new(ent, "detail",
					    json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "action", "valueString",
						      action ? action : "?", "type", "recordId", "valueString",
						      rec ? rec : ""));
		}
		snprintf(url, sizeof(url), "%s/AuditEvent/%s", x->base, id);
		if (entry_add(bundle, url, ae, "match") != PHR_OK) {
			json_decref(l);
			return nomem(x);
		}
	}
	json_decref(l);
	return PHR_OK;
}

static int search_answer(struct fx *x, const char *type, const struct phr_fhir_req *q, struct fhir_hits *h,
			 size_t count);

static int do_search(struct fx *x, const char *type, const struct phr_fhir_req *q)
{
	struct fhir_hits h;
	size_t count = 0;
	int rv;

	rv = do_search_query(x, type, q, &count, &h);
	if (rv == PHR_OK)
		rv = search_answer(x, type, q, &h, count);
	phr_free(x->acc); /* the decisions of this search only */
	x->acc = NULL;
	return rv;
}

/* The searchset Bundle of the matches @p h (a page of @p count) in x->out. */
static int search_answer(struct fx *x, const char *type, const struct phr_fhir_req *q, struct fhir_hits *h,
			 size_t count)
{
	size_t offset = 0;
	const char *summary = phr_fhir_req_param(q, "_summary");
	json_t *bundle, *seen;
	int rv;

	(void)parse_size(x, &offset, q, "_offset", 0, SIZE_MAX / 2);
	bundle = bundle_new("searchset", h->total, true);
	seen = json_object();
	if (bundle == NULL || seen == NULL) {
		json_decref(bundle);
		json_decref(seen);
		fhir_hits_release(h);
		return nomem(x);
	}
	rv = add_link(bundle, x, "self", type, q, count, offset);
	if (rv == PHR_OK)
		rv = add_link(bundle, x, "first", type, q, count, 0);
	if (rv == PHR_OK && offset + count < h->total && count > 0)
		rv = add_link(bundle, x, "next", type, q, count, offset + count);
	if (rv == PHR_OK && offset > 0)
		rv = add_link(bundle, x, "previous", type, q, count, offset > count ? offset - count : 0);
	if (rv != PHR_OK)
		rv = nomem(x);
	if (summary == NULL || strcmp(summary, "count") != 0) {
		if (rv == PHR_OK)
			rv = add_rows(x, bundle, seen, h->rows, h->n, "match");
		if (rv == PHR_OK)
			rv = includes(x, bundle, seen, h, q);
	}
	if (rv == PHR_OK && strcmp(type, "AuditEvent") == 0 && offset == 0) {
		const char *pat = phr_fhir_req_param(q, "patient");
		if (pat != NULL && strchr(pat, ',') == NULL)
			rv = trail_events(x, bundle, strncmp(pat, "Patient/", 8) == 0 ? pat + 8 : pat);
	}
	fhir_hits_release(h);
	json_decref(seen);
	if (rv != PHR_OK) {
		json_decref(bundle);
		return rv;
	}
	x->status = 200;
	x->out = bundle;
	return PHR_OK;
}

static int do_history(struct fx *x, const char *type, const char *id, const struct phr_fhir_req *q)
{
	struct fhir_row *rows = NULL;
	size_t n = 0, total = 0, count, offset;
	int64_t since = 0, hi;
	const char *s = phr_fhir_req_param(q, "_since");
	json_t *bundle;
	int rv;

	if ((rv = parse_size(x, &count, q, "_count", FHIR_DEFAULT_COUNT, FHIR_MAX_COUNT)) != PHR_OK ||
	    (rv = parse_size(x, &offset, q, "_offset", 0, SIZE_MAX / 2)) != PHR_OK)
		return rv;
	if (s != NULL) {
		if (phr_fhir_date_range(&since, &hi, s) != PHR_OK)
			return fail(x, PHR_ERR_INVALID, 400, "_since must be an instant");
		since *= 1000;
	}
	if (id != NULL) {
		struct fhir_row cur;
		if (fhir_db_get(x->db, &cur, type, id) != PHR_OK)
			return fail(x, PHR_ERR_NOT_FOUND, 404, "no resource %s/%s", type, id);
	}
	{
		struct fhir_access acc;
		struct access_cache *cache = access_new(x, &acc);
		if (cache == NULL)
			return nomem(x);
		rv = fhir_db_history(x->db, &rows, &n, &total, type, id, since, count, offset, &acc);
		phr_free(cache);
	}
	if (rv != PHR_OK)
		return fail(x, rv, 500, "history read failed");
	bundle = bundle_new("history", total, true);
	if (bundle == NULL) {
		phr_free(rows);
		return nomem(x);
	}
	for (size_t i = 0; i < n && rv == PHR_OK; i++) {
		const struct fhir_row *r = &rows[i];
		char url[512], etag[40], inst[32], rurl[200];
		json_t *e, *res = NULL;
		snprintf(url, sizeof(url), "%s/%s/%s", x->base, r->type, r->id);
		snprintf(etag, sizeof(etag), "W/\"%llu\"", (unsigned long long)r->vid);
		snprintf(rurl, sizeof(rurl), "%s/%s", r->type, r->id);
		fhir_instant(inst, r->updated_ms);
		if (!r->deleted) {
			int lr = load(x, &res, r);
			if (lr == PHR_ERR_FORBIDDEN)
				continue;
			if (lr != PHR_OK) {
				rv = load_fail(x, lr);
				break;
			}
		}
		e = json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s,s:s}}", "fullUrl", url, "request", "method",
			      r->deleted ? "DELETE" : r->vid == 1 ? "POST" : "PUT", "url", rurl, "response",
			      "status", r->deleted ? "204" : r->vid == 1 ? "201" : "200", "etag", etag,
			      "lastModified", inst);
		if (e == NULL) {
			json_decref(res);
			rv = nomem(x);
			break;
		}
		if (res != NULL)
			json_object_set_new(e, "resource", res);
		json_array_append_new(json_object_get(bundle, "entry"), e);
	}
	phr_free(rows);
	if (rv != PHR_OK) {
		json_decref(bundle);
		return rv;
	}
	{
		struct phr_fhir_req none;
		phr_fhir_req_init(&none);
		char path[PHR_FHIR_TYPE_MAX + PHR_FHIR_ID_MAX + 16];
		if (type == NULL)
			snprintf(path, sizeof(path), "_history");
		else if (id == NULL)
			snprintf(path, sizeof(path), "%s/_history", type);
		else
			snprintf(path, sizeof(path), "%s/%s/_history", type, id);
		(void)add_link(bundle, x, "self", path, &none, count, offset);
		if (offset + count < total)
			(void)add_link(bundle, x, "next", path, &none, count, offset + count);
	}
	x->status = 200;
	x->out = bundle;
	return PHR_OK;
}

static int do_everything(struct fx *x, const char *id)
{
	struct fhir_row prow;
	struct fhir_hits h;
	json_t *bundle, *seen;
	int rv = fhir_db_get(x->db, &prow, "Patient", id);

	if (rv != PHR_OK || prow.deleted)
		return fail(x, PHR_ERR_NOT_FOUND, 404, "no Patient/%s", id);
	if ((rv = fhir_db_compartment(x->db, &h, id)) != PHR_OK)
		return fail(x, rv, 500, "index read failed");
	bundle = bundle_new("searchset", 0, false);
	seen = json_object();
	if (bundle == NULL || seen == NULL) {
		json_decref(bundle);
		json_decref(seen);
		fhir_hits_release(&h);
		return nomem(x);
	}
	{
		json_t *res = NULL;
		char url[512];
		rv = load(x, &res, &prow);
		if (rv != PHR_OK) {
			rv = load_fail(x, rv);
		} else {
			snprintf(url, sizeof(url), "%s/Patient/%s", x->base, id);
			json_object_set_new(seen, url, json_true());
			rv = entry_add(bundle, url, res, "match") == PHR_OK ? PHR_OK : nomem(x);
		}
	}
	if (rv == PHR_OK)
		rv = add_rows(x, bundle, seen, h.rows, h.n, "match");
	fhir_hits_release(&h);
	json_decref(seen);
	if (rv != PHR_OK) {
		json_decref(bundle);
		return rv;
	}
	json_object_set_new(bundle, "total", json_integer((json_int_t)json_array_size(json_object_get(bundle, "entry"))));
	x->status = 200;
	x->out = bundle;
	return PHR_OK;
}

/* --- CapabilityStatement ----------------------------------------------------------- */

static const char *kind_name(enum phr_fhir_sp_kind k)
{
	switch (k) {
	case PHR_FHIR_SP_TOKEN:
		return "token";
	case PHR_FHIR_SP_STRING:
		return "string";
	case PHR_FHIR_SP_DATE:
		return "date";
	case PHR_FHIR_SP_REFERENCE:
		return "reference";
	case PHR_FHIR_SP_QUANTITY:
		return "quantity";
	case PHR_FHIR_SP_URI:
		return "uri";
	case PHR_FHIR_SP_NUMBER:
		return "number";
	}
	return "special";
}

/* S:param for every reference parameter of any type S that may point at @p type. */
static void revincludes(json_t *out, const char *type)
{
	const char *last_t = "", *last_c = "";
	size_t tl = strlen(type);

	for (const struct phr_fhir_sp *sp = phr_fhir_sp_table; sp->type != NULL; sp++) {
		const char *t = sp->targets;
		bool hit = sp->targets[0] == '\0';
		char inc[160];
		if (sp->kind != PHR_FHIR_SP_REFERENCE ||
		    (strcmp(sp->type, last_t) == 0 && strcmp(sp->code, last_c) == 0))
			continue;
		while (!hit && (t = strstr(t, type)) != NULL) {
			hit = (t == sp->targets || t[-1] == ',') && (t[tl] == ',' || t[tl] == '\0');
			t += tl;
		}
		if (!hit)
			continue;
		last_t = sp->type;
		last_c = sp->code;
		snprintf(inc, sizeof(inc), "%s:%s", sp->type, sp->code);
		json_array_append_new(out, json_string(inc));
	}
}

static json_t *capability(struct fx *x)
{
	char inst[32];
	json_t *cs, *resources;
	static const char *const inter[] = { "read", "vread", "update", "delete", "history-instance",
					     "history-type", "create", "search-type" };

	fhir_instant(inst, now_ms());
	cs = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s},s:{s:s,s:s},s:s,s:[s,s],s:[{s:s,s:{s:[{s:[{s:s,s:s}]}]},"
		       "s:[],s:[{s:s},{s:s},{s:s}]}]}",
		       "resourceType", "CapabilityStatement", "status", "active", "date", inst, "kind",
		       "instance", "name", "PhrFhirServer", "publisher", "phr", "software", "name", "phr",
		       "implementation", "description", "phr node FHIR R4 server (records on chain; bearer tokens from SIWE login at /api/v1/auth)", "url",
		       x->base, "fhirVersion", "4.0.1", "format", "application/fhir+json", "json", "rest",
		       "mode", "server", "security", "service", "coding", "system",
		       "http://terminology.hl7.org/CodeSystem/restful-security-service", "code", "OAuth",
		       "resource", "interaction", "code", "transaction", "code", "batch", "code",
		       "history-system");
	if (cs == NULL)
		return NULL;
	resources = json_object_get(json_array_get(json_object_get(cs, "rest"), 0), "resource");
	for (size_t t = 0; phr_fhir_types[t] != NULL; t++) {
		const char *type = phr_fhir_types[t];
		json_t *r = json_pack("{s:s,s:[],s:s,s:b,s:b,s:b,s:s,s:s,s:[],s:[s],s:[s],s:[]}", "type", type,
				      "interaction", "versioning", "versioned-update", "readHistory", 1,
				      "updateCreate", 1, "conditionalCreate", 1, "conditionalUpdate", "false",
				      "conditionalDelete", "not-supported", "searchParam", "searchInclude",
				      "*", "searchRevInclude", "*", "operation");
		const char *last = "";
		if (r == NULL) {
			json_decref(cs);
			return NULL;
		}
		json_object_set_new(r, "conditionalUpdate", json_false());
		json_array_clear(json_object_get(r, "searchInclude"));
		json_array_clear(json_object_get(r, "searchRevInclude"));
		for (size_t i = 0; i < PHR_ARRAY_LEN(inter); i++)
			json_array_append_new(json_object_get(r, "interaction"), json_pack("{s:s}", "code", inter[i]));
		for (const struct phr_fhir_sp *sp = phr_fhir_sp_table; sp->type != NULL; sp++) {
			if (strcmp(sp->type, type) != 0 || strcmp(sp->code, last) == 0)
				continue;
			last = sp->code;
			json_array_append_new(json_object_get(r, "searchParam"),
					      json_pack("{s:s,s:s,s:s+}", "name", sp->code, "type",
							kind_name(sp->kind), "definition",
							"http://hl7.org/fhir/SearchParameter/",
							sp->code[0] == '_' ? "Resource-" : type));
			if (sp->kind == PHR_FHIR_SP_REFERENCE) {
				char inc[160];
				snprintf(inc, sizeof(inc), "%s:%s", type, sp->code);
				json_array_append_new(json_object_get(r, "searchInclude"), json_string(inc));
			}
		}
		{
			/* definitions: http://hl7.org/fhir/SearchParameter/<Type>-<code> */
			size_t i;
			json_t *p;
			json_array_foreach (json_object_get(r, "searchParam"), i, p) {
				char def[200];
				const char *name = json_string_value(json_object_get(p, "name"));
				snprintf(def, sizeof(def), "http://hl7.org/fhir/SearchParameter/%s-%s",
					 name[0] == '_' ? "Resource" : type, name[0] == '_' ? name + 1 : name);
				json_object_set_new(p, "definition", json_string(def));
			}
		}
		revincludes(json_object_get(r, "searchRevInclude"), type);
		if (strcmp(type, "Patient") == 0)
			json_array_append_new(json_object_get(r, "operation"),
					      json_pack("{s:s,s:s}", "name", "everything", "definition",
							"http://hl7.org/fhir/OperationDefinition/Patient-everything"));
		else
			json_object_del(r, "operation");
		json_array_append_new(resources, r);
	}
	return cs;
}

/* --- batch / transaction --------------------------------------------------------------- */

static int entry_status(json_t *e, unsigned status, const struct fx *sub, const char *loc)
{
	char s[48];
	json_t *resp;

	snprintf(s, sizeof(s), "%u", status);
	resp = json_pack("{s:s}", "status", s);
	if (resp == NULL)
		return PHR_ERR_NOMEM;
	if (sub->etag[0] != '\0')
		json_object_set_new(resp, "etag", json_string(sub->etag));
	if (loc != NULL && loc[0] != '\0')
		json_object_set_new(resp, "location", json_string(loc));
	if (status >= 400 && sub->out != NULL)
		json_object_set(resp, "outcome", sub->out);
	json_object_set_new(e, "response", resp);
	if (status < 400 && sub->out != NULL)
		json_object_set(e, "resource", sub->out);
	return PHR_OK;
}

static int route(struct fx *x, const char *method, struct phr_fhir_req *r, json_t *body);
static int tx_reserve(struct fx *x, json_t *entries);

/* Answers 200 with @p out, or drops it on error. */
static int bundle_answer(struct fx *x, int rv, json_t *out)
{
	if (rv != PHR_OK) {
		json_decref(out);
		return rv;
	}
	x->status = 200;
	x->out = out;
	return PHR_OK;
}

/* A sub-request of a Bundle entry: same caller, base and state. */
static void sub_init(struct fx *sub, const struct fx *x)
{
	memset(sub, 0, sizeof(*sub));
	sub->c = x->c;
	sub->st = x->st;
	sub->db = x->db;
	sub->me = x->me;
	sub->minimal = x->minimal;
	memcpy(sub->base, x->base, sizeof(sub->base));
}

/* Reserves the "Type/id" of every PUT and DELETE entry of a planned transaction (resv_take). */
static int tx_reserve(struct fx *x, json_t *entries)
{
	size_t n = json_array_size(entries), k = 0;
	char **keys = phr_calloc(n ? n : 1, sizeof(*keys));
	int rv = PHR_OK;

	if (keys == NULL)
		return nomem(x);
	for (size_t i = 0; i < n && rv == PHR_OK; i++) {
		json_t *req = json_object_get(json_array_get(entries, i), "request");
		const char *m = json_string_value(json_object_get(req, "method"));
		const char *u = json_string_value(json_object_get(req, "url"));
		struct phr_fhir_req r;
		if (m == NULL || u == NULL || (strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0))
			continue;
		phr_fhir_req_init(&r);
		if (phr_fhir_req_parse(&r, u) == PHR_OK && r.target == PHR_FHIR_T_INSTANCE) {
			size_t len = strlen(r.type) + strlen(r.id) + 2;
			if ((keys[k] = phr_malloc(len)) == NULL)
				rv = nomem(x);
			else
				snprintf(keys[k++], len, "%s/%s", r.type, r.id);
		}
		phr_fhir_req_release(&r);
	}
	if (rv != PHR_OK) {
		for (size_t i = 0; i < k; i++)
			phr_free(keys[i]);
		phr_free(keys);
		return rv;
	}
	resv_take(x, keys, k);
	return PHR_OK;
}

/* A transaction: all writes or none; the records are minted, then the index written at once. */
static int do_transaction(struct fx *x, json_t *bundle)
{
	json_t *entries = json_object_get(bundle, "entry");
	size_t n = json_array_size(entries), np = 0;
	struct pending *p = NULL;
	size_t *order = NULL;
	json_t *out = NULL, *e;
	int rv = PHR_OK;

	if (n > PHR_FHIR_MAX_ENTRIES)
		return fail(x, PHR_ERR_TOO_LARGE, 413, "at most %d entries per transaction", PHR_FHIR_MAX_ENTRIES);
	p = phr_calloc(n ? n : 1, sizeof(*p));
	order = phr_calloc(n ? n : 1, sizeof(*order));
	out = bundle_new("transaction-response", 0, false);
	if (p == NULL || order == NULL || out == NULL) {
		rv = nomem(x);
		goto done;
	}
	json_object_del(out, "entry");
	json_object_set_new(out, "entry", json_array());
	/* pass 1: check the entries, give POSTed resources their ids, resolve urn:uuid references */
	if (rv == PHR_OK) {
		char detail[200];
		int prv = phr_fhir_tx_plan(order, detail, sizeof(detail), entries);
		if (prv == PHR_ERR_NOMEM)
			rv = nomem(x);
		else if (prv != PHR_OK)
			rv = fail(x, prv, prv == PHR_ERR_TOO_LARGE ? 413 : 400, "%s", detail);
	}
	/* the resources it updates or deletes: reserved before their versions are read */
	if (rv == PHR_OK)
		rv = tx_reserve(x, entries);
	/* pass 2: prepare every write */
	for (size_t k = 0; k < n && rv == PHR_OK; k++) {
		size_t i = order[k];
		json_t *req, *res;
		const char *m, *u;
		struct phr_fhir_req r;
		struct fhir_row prev;
		bool have_prev = false;
		e = json_array_get(entries, i);
		req = json_object_get(e, "request");
		m = json_string_value(json_object_get(req, "method"));
		u = json_string_value(json_object_get(req, "url"));
		if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
			continue;
		phr_fhir_req_init(&r);
		if (phr_fhir_req_parse(&r, u) != PHR_OK) {
			phr_fhir_req_release(&r);
			rv = fail(x, PHR_ERR_INVALID, 400, "entry %zu: bad request.url %s", i, u);
			break;
		}
		res = json_object_get(e, "resource");
		if (strcmp(m, "POST") == 0 && r.target == PHR_FHIR_T_TYPE) {
			if ((rv = check_resource(x, res, r.type)) == PHR_OK)
				rv = prepare_write(x, &p[np], json_deep_copy(res), r.type,
						   json_string_value(json_object_get(res, "id")), NULL, "POST", p, np);
		} else if ((strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0) && r.target == PHR_FHIR_T_INSTANCE) {
			int g = fhir_db_get(x->db, &prev, r.type, r.id);
			have_prev = g == PHR_OK;
			for (size_t q = 0; q < np; q++)
				if (strcmp(p[q].row.type, r.type) == 0 && strcmp(p[q].row.id, r.id) == 0)
					rv = fail(x, PHR_ERR_CONFLICT, 400, "entry %zu: %s/%s appears twice", i, r.type, r.id);
			if (rv != PHR_OK) {
			} else if (strcmp(m, "PUT") == 0) {
				const char *bid = json_string_value(json_object_get(res, "id"));
				if ((rv = check_resource(x, res, r.type)) == PHR_OK && (bid == NULL || strcmp(bid, r.id) != 0))
					rv = fail(x, PHR_ERR_INVALID, 400, "entry %zu: resource id must equal the URL id", i);
				if (rv == PHR_OK)
					rv = prepare_write(x, &p[np], json_deep_copy(res), r.type, r.id,
							   have_prev ? &prev : NULL, "PUT", p, np);
			} else if (have_prev && !prev.deleted) {
				if ((rv = may_write(x, &prev)) == PHR_OK)
					rv = prepare_write(x, &p[np], NULL, r.type, r.id, &prev, "DELETE", p, np);
			} else {
				phr_fhir_req_release(&r);
				continue; /* deleting nothing */
			}
		} else {
			rv = fail(x, PHR_ERR_UNSUPPORTED, 400, "entry %zu: %s %s is not supported in a transaction", i, m, u);
		}
		phr_fhir_req_release(&r);
		if (rv == PHR_OK) {
			json_object_set_new(e, "_phr_pending", json_integer((json_int_t)np));
			np++;
		}
	}
	if (rv == PHR_OK)
		rv = commit_writes(x, p, np);
	/* answers, in entry order */
	for (size_t i = 0; i < n && rv == PHR_OK; i++) {
		json_t *oe = json_object(), *pi;
		struct fx sub;
		e = json_array_get(entries, i);
		pi = json_object_get(e, "_phr_pending");
		sub_init(&sub, x);
		if (oe == NULL) {
			rv = nomem(x);
			break;
		}
		if (pi != NULL) {
			struct pending *q = &p[json_integer_value(pi)];
			char loc[512];
			set_version_headers(&sub, &q->row);
			snprintf(loc, sizeof(loc), "%s/%s/_history/%llu", q->row.type, q->row.id,
				 (unsigned long long)q->row.vid);
			if (q->res != NULL && !x->minimal) {
				char full[512];
				snprintf(full, sizeof(full), "%s/%s/%s", x->base, q->row.type, q->row.id);
				json_object_set_new(oe, "fullUrl", json_string(full));
				sub.out = json_incref(q->res);
			}
			rv = entry_status(oe, q->res == NULL ? 204 : q->status, &sub, loc);
			json_object_del(e, "_phr_pending");
		} else {
			const char *m = json_string_value(json_object_get(json_object_get(e, "request"), "method"));
			const char *u = json_string_value(json_object_get(json_object_get(e, "request"), "url"));
			if (strcmp(m, "DELETE") == 0) {
				sub.out = NULL;
				rv = entry_status(oe, 204, &sub, NULL);
			} else {
				struct phr_fhir_req r;
				phr_fhir_req_init(&r);
				if (phr_fhir_req_parse(&r, u) != PHR_OK)
					(void)fail(&sub, PHR_ERR_INVALID, 400, "bad request.url");
				else
					(void)route(&sub, "GET", &r, NULL);
				phr_fhir_req_release(&r);
				rv = entry_status(oe, sub.status ? sub.status : 200, &sub, NULL);
			}
		}
		json_decref(sub.out);
		if (rv == PHR_OK && json_array_append_new(json_object_get(out, "entry"), oe) != 0)
			rv = nomem(x);
		else if (rv != PHR_OK)
			json_decref(oe);
	}
done:
	for (size_t i = 0; i < np; i++)
		pending_release(&p[i]);
	phr_free(p);
	phr_free(order);
	return bundle_answer(x, rv, out);
}

/* A batch: each entry on its own, in order; failures are reported per entry. */
static int do_batch(struct fx *x, json_t *bundle)
{
	json_t *entries = json_object_get(bundle, "entry"), *out, *e;
	size_t i;
	int rv = PHR_OK;

	if (json_array_size(entries) > PHR_FHIR_MAX_ENTRIES)
		return fail(x, PHR_ERR_TOO_LARGE, 413, "at most %d entries per batch", PHR_FHIR_MAX_ENTRIES);
	out = bundle_new("batch-response", 0, false);
	if (out == NULL)
		return nomem(x);
	json_array_foreach (entries, i, e) {
		json_t *req = json_object_get(e, "request"), *oe = json_object();
		const char *m = json_string_value(json_object_get(req, "method"));
		const char *u = json_string_value(json_object_get(req, "url"));
		struct fx sub;
		struct phr_fhir_req r;
		sub_init(&sub, x);
		if (oe == NULL) {
			rv = nomem(x);
			break;
		}
		phr_fhir_req_init(&r);
		if (m == NULL || u == NULL)
			(void)fail(&sub, PHR_ERR_INVALID, 400, "request.method and request.url are required");
		else if (phr_fhir_req_parse(&r, u) != PHR_OK)
			(void)fail(&sub, PHR_ERR_INVALID, 400, "bad request.url");
		else {
			json_t *res = json_object_get(e, "resource");
			(void)route(&sub, m, &r, res ? json_deep_copy(res) : NULL);
		}
		phr_fhir_req_release(&r);
		if (entry_status(oe, sub.status ? sub.status : 200, &sub, sub.location) != PHR_OK ||
		    json_array_append_new(json_object_get(out, "entry"), oe) != 0)
			rv = nomem(x);
		json_decref(sub.out);
		if (rv != PHR_OK)
			break;
	}
	return bundle_answer(x, rv, out);
}

static int do_bundle(struct fx *x, json_t *b)
{
	const char *rt = json_string_value(json_object_get(b, "resourceType"));
	const char *t = json_string_value(json_object_get(b, "type"));
	json_t *entries = json_object_get(b, "entry");
	int rv;

	if (rt == NULL || strcmp(rt, "Bundle") != 0)
		rv = fail(x, PHR_ERR_INVALID, 400, "POST to the base takes a Bundle");
	else if (entries != NULL && !json_is_array(entries))
		rv = fail(x, PHR_ERR_INVALID, 400, "Bundle.entry must be an array");
	else if (t != NULL && strcmp(t, "transaction") == 0)
		rv = do_transaction(x, b);
	else if (t != NULL && strcmp(t, "batch") == 0)
		rv = do_batch(x, b);
	else
		rv = fail(x, PHR_ERR_INVALID, 400, "Bundle.type must be batch or transaction");
	json_decref(b);
	return rv;
}

/* --- routing ------------------------------------------------------------------------- */

static int route_one(struct fx *x, const char *method, struct phr_fhir_req *r, json_t *body);

/* Runs one interaction; @p body is stolen. Errors are answered in x (OperationOutcome). */
static int route(struct fx *x, const char *method, struct phr_fhir_req *r, json_t *body)
{
	int rv = route_one(x, method, r, body);

	resv_end(x); /* a write that ended before its commit */
	return rv;
}

static int route_one(struct fx *x, const char *method, struct phr_fhir_req *r, json_t *body)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0, put = strcmp(method, "PUT") == 0;
	bool del = strcmp(method, "DELETE") == 0;
	int rv;

	if (body != NULL && !post && !put) {
		json_decref(body);
		body = NULL;
	}
	if ((post || put) && body == NULL && !(post && r->target == PHR_FHIR_T_SEARCH))
		return fail(x, PHR_ERR_INVALID, 400, "the request needs a resource body");
	switch (r->target) {
	case PHR_FHIR_T_METADATA:
		if (!get)
			break;
		x->out = capability(x);
		x->status = 200;
		return x->out ? PHR_OK : nomem(x);
	case PHR_FHIR_T_BASE:
		if (post)
			return do_bundle(x, body);
		if (get)
			return fail(x, PHR_ERR_UNSUPPORTED, 400, "whole-system search is not supported; search a type");
		break;
	case PHR_FHIR_T_TYPE:
		if (get)
			return do_search(x, r->type, r);
		if (post)
			return do_create(x, r->type, body);
		break;
	case PHR_FHIR_T_SEARCH:
		if (post) {
			json_decref(body);
			return do_search(x, r->type, r);
		}
		break;
	case PHR_FHIR_T_INSTANCE:
		if (get)
			return do_read(x, r->type, r->id, 0);
		if (put)
			return do_update(x, r->type, r->id, body);
		if (del)
			return do_delete(x, r->type, r->id);
		break;
	case PHR_FHIR_T_VREAD:
		if (get)
			return do_read(x, r->type, r->id, r->vid);
		break;
	case PHR_FHIR_T_HISTORY:
		if (get)
			return do_history(x, r->type, r->id, r);
		break;
	case PHR_FHIR_T_HISTORY_TYPE:
		if (get)
			return do_history(x, r->type[0] != '\0' ? r->type : NULL, NULL, r);
		break;
	case PHR_FHIR_T_OPERATION:
		if ((get || post) && strcmp(r->op, "everything") == 0 && strcmp(r->type, "Patient") == 0 &&
		    r->id[0] != '\0') {
			json_decref(body);
			return do_everything(x, r->id);
		}
		json_decref(body);
		return fail(x, PHR_ERR_UNSUPPORTED, 400, "operation $%s is not supported on %s", r->op, r->type);
	}
	json_decref(body);
	rv = fail(x, PHR_ERR_UNSUPPORTED, 405, "%s is not supported on this URL", method);
	return rv;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct phr_fhir_req *r = cls;

	(void)kind;
	/* over PHR_FHIR_MAX_PARAMS: the rest is dropped (the search is then refused below) */
	if (key != NULL && key[0] != '\0' && phr_fhir_req_add_param(r, key, value) != PHR_OK)
		return MHD_NO;
	return MHD_YES;
}

/* _format and Accept: JSON only. */
static bool json_wanted(struct api_ctx *c, const struct phr_fhir_req *r)
{
	const char *f = phr_fhir_req_param(r, "_format");
	const char *a = api_header(c, "Accept");

	if (f != NULL)
		return strcmp(f, "json") == 0 || strstr(f, "json") != NULL;
	if (a == NULL || strstr(a, "json") != NULL || strstr(a, "*/*") != NULL)
		return true;
	return false;
}

int api_fhir_serve(struct api_ctx *c, const char *url, const char *method)
{
	struct fx x;
	struct phr_fhir_req r;
	json_t *body = NULL;
	const char *host = api_header(c, "Host");
	const char *prefer = api_header(c, "Prefer");
	struct fhir_db *rdb = NULL;
	bool write;
	int rv;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.raw_ok = true;
	snprintf(x.base, sizeof(x.base), "http://%s/fhir", host ? host : "localhost");
	if (prefer != NULL) {
		x.minimal = strstr(prefer, "return=minimal") != NULL;
		x.want_oo = strstr(prefer, "return=OperationOutcome") != NULL;
	}
	phr_fhir_req_init(&r);
	rv = phr_fhir_req_parse(&r, url + 5); /* after "/fhir" */
	if (rv == PHR_OK)
		MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, add_arg, &r);
	if (rv == PHR_ERR_NOT_FOUND) {
		(void)fail(&x, rv, 404, "not a FHIR endpoint of this server (resource types: see /fhir/metadata)");
		goto out;
	}
	if (rv != PHR_OK) {
		(void)fail(&x, rv, 400, "malformed FHIR URL");
		goto out;
	}
	if (!json_wanted(c, &r)) {
		(void)fail(&x, PHR_ERR_UNSUPPORTED, 406, "this server speaks JSON only (_format=json)");
		goto out;
	}
	if (r.target == PHR_FHIR_T_METADATA && strcmp(method, "GET") == 0) {
		x.out = capability(&x);
		x.status = 200;
		if (x.out == NULL)
			(void)nomem(&x);
		goto out;
	}
	if (api_authenticate(c) != PHR_OK) {
		(void)fail(&x, PHR_ERR_UNAUTHENTICATED, 401, "%s", c->detail[0] ? c->detail : "a bearer token is required");
		(void)api_header_add(c, "WWW-Authenticate", "Bearer");
		goto out;
	}
	x.me = phr_node_identity(c->api->cfg.node, c->caller);
	if (x.me == NULL) {
		(void)fail(&x, PHR_ERR_FORBIDDEN, 403, "this node does not hold the caller's keys");
		goto out;
	}
	/* records minted, not indexed (a failed write, a late receipt) are indexed before this request */
	if (fhir_recover_due() && (x.st = state_get(c, false)) != NULL)
		fhir_recover_poll(&x.st->rec, &x.st->db, &x.st->lock, c->api->cfg.node);
	if (strcmp(method, "POST") == 0 && r.target == PHR_FHIR_T_SEARCH && c->body.len > 0) {
		/* form-encoded parameters in the body */
		char *q = phr_malloc(c->body.len + 1);
		if (q == NULL) {
			(void)nomem(&x);
			goto out;
		}
		memcpy(q, c->body.data, c->body.len);
		q[c->body.len] = '\0';
		rv = strlen(q) == c->body.len ? phr_fhir_req_add_query(&r, q) : PHR_ERR_PARSE;
		phr_free(q);
		if (rv != PHR_OK) {
			(void)fail(&x, rv, 400, "the _search body is not a form-encoded query");
			goto out;
		}
	}
	if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) && r.target != PHR_FHIR_T_SEARCH &&
	    r.target != PHR_FHIR_T_OPERATION && body_json(&x, &body) != PHR_OK)
		goto out;
	write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
		!(strcmp(method, "POST") == 0 && r.target == PHR_FHIR_T_SEARCH);
	x.st = state_get(c, write);
	if (x.st != NULL && !write)
		x.db = rdb = fhir_pool_take(&x.st->readers); /* WAL: readers run side by side */
	else if (x.st != NULL)
		x.db = &x.st->db;
	if (x.db == NULL) {
		json_decref(body);
		(void)fail(&x, PHR_ERR_DB, 503, "the FHIR index cannot be opened");
		goto out;
	}
	(void)route(&x, method, &r, body);
	if (write)
		pthread_mutex_unlock(&x.st->lock);
	fhir_pool_give(&x.st->readers, rdb);
out:
	phr_fhir_req_release(&r);
	rv = respond(&x);
	json_decref(x.out);
	json_decref(x.warn);
	raw_release(&x);
	return rv;
}

int api_fhir_refuse(struct api_ctx *c, int err, unsigned status, const char *diag)
{
	struct fx x;
	int rv;

	memset(&x, 0, sizeof(x));
	x.c = c;
	(void)fail(&x, err, status, "%s", diag);
	if (x.out == NULL)
		return PHR_ERR_NOMEM;
	rv = respond(&x);
	json_decref(x.out);
	return rv;
}

/*
 * A create from inside the node (DICOM uploads: h_dicom.c): @p res (copied) is
 * validated, stored as a record of @p patient and indexed like a POST by the
 * signed-in caller. @p out gets {location, resource} or the OperationOutcome.
 */
int api_fhir_create(struct api_ctx *c, json_t **out, const json_t *res, const uint8_t patient[20])
{
	struct fx x;
	const char *host = api_header(c, "Host");
	const char *type = json_string_value(json_object_get(res, "resourceType"));
	json_t *copy;
	int rv;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.patient = patient;
	snprintf(x.base, sizeof(x.base), "http://%s/fhir", host ? host : "localhost");
	if (type == NULL || !phr_fhir_type_supported(type))
		return PHR_ERR_INVALID;
	x.me = phr_node_identity(c->api->cfg.node, c->caller);
	if (x.me == NULL)
		return PHR_ERR_FORBIDDEN;
	if ((copy = json_deep_copy(res)) == NULL)
		return PHR_ERR_NOMEM;
	x.st = state_get(c, true);
	if (x.st == NULL) {
		json_decref(copy);
		return PHR_ERR_DB;
	}
	x.db = &x.st->db;
	rv = do_create(&x, type, copy);
	resv_end(&x);
	pthread_mutex_unlock(&x.st->lock);
	if (rv == PHR_OK && x.status >= 200 && x.status < 300)
		*out = json_pack("{s:s,s:O}", "location", x.location, "resource", x.out ? x.out : json_null());
	else {
		*out = json_incref(x.out);
		if (rv == PHR_OK)
			rv = PHR_ERR_INVALID;
	}
	json_decref(x.out);
	json_decref(x.warn);
	return rv;
}
