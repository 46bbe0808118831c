/*
 * Internals of the api module: server state, per-request context, handlers.
 */
#ifndef PHR_API_INT_H
#define PHR_API_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "phr/api.h"
#include "phr/chain.h"
#include "phr/rpc.h"
#include "phr/store.h"

#define API_NONCES 1024
#define API_BUCKETS 256
#define API_MAX_AUDITORS 16
#define API_MAX_HEADERS 8
#define API_TOKEN_CACHE 256 /* verified bearer tokens kept in memory (auth.c) */

struct api_nonce {
	char nonce[33];
	int64_t expires;
	bool used;
};

struct api_bucket {
	uint32_t ip;
	double tokens;
	int64_t last_ms;
};

/* A bearer token verified against DIR/auth.db: the hash of the token, never the token. */
struct api_token_entry {
	uint8_t hash[32];
	uint8_t addr[20];
	int64_t expires;
	bool used;
};

struct phr_api {
	struct phr_api_config cfg;
	uint8_t auditors[API_MAX_AUDITORS][20];
	char domain[300];
	struct MHD_Daemon *d;
	struct phr_gateway *gw;
	uint16_t port;
	sqlite3 *db;
	pthread_mutex_t lock; /* nonces, buckets */
	struct api_nonce nonces[API_NONCES];
	size_t nonce_next;
	struct api_bucket buckets[API_BUCKETS];
	/* verified tokens (auth.c): a hit skips the database; logout evicts, and a lookup
	 * that raced with a logout (tok_gen moved) does not fill the cache */
	pthread_mutex_t tok_lock;
	/* requests being handled (server.c): cfg.threads at most */
	sem_t inflight;
	uint64_t tok_gen;
	struct api_token_entry tok_cache[API_TOKEN_CACHE];
	/* metrics */
	atomic_ullong m_requests[6]; /* by status class 1xx..5xx, [0] other */
	atomic_ullong m_submitted, m_reads, m_denied, m_logins, m_auth_fail, m_rate_limited;
	atomic_ullong m_latency_us;
};

/* Per-request state (MHD req_cls). */
struct api_ctx {
	struct phr_api *api;
	struct MHD_Connection *conn;
	void *gw_cls;       /* the gateway handler's own req_cls */
	bool gateway, rpc;
	struct phr_buf body;
	int body_fd;        /* spooled body (mounts with spool), or -1 */
	uint64_t body_len;
	bool too_large;
	int64_t start_us;
	/* after parsing */
	struct phr_api_req req;
	bool authed;
	uint8_t caller[20];
	/* response */
	unsigned status;
	json_t *out;              /* JSON body, or */
	uint8_t *raw_out;         /* raw body (phr_malloc) */
	size_t raw_len;
	const char *raw_type;
	char detail[256];         /* problem detail on errors */
	/* extra response headers (api_header_add) */
	char hdr_name[API_MAX_HEADERS][48];
	char hdr_value[API_MAX_HEADERS][256];
	size_t n_hdr;
	const struct api_mount *mount; /* set when the path is under a mount */
};

struct api_route {
	const char *method;
	const char *path;
	bool auth;
	int (*fn)(struct api_ctx *c);
};

extern const struct api_route api_route_table[];

/*
 * A mount: a path prefix served by one function instead of the route table
 * (the FHIR server under /fhir, the portal's static files under /, the
 * /.well-known documents). The body is read first (up to max_body bytes),
 * then serve() runs with the raw body in c->body. No bearer token is checked
 * for it: serve() calls api_authenticate() when it needs the caller. serve()
 * sets the response (api_ok, or c->raw_out/raw_len/raw_type and c->status)
 * and returns PHR_OK, also for errors it answers in its own format (e.g. a
 * FHIR OperationOutcome); any other return becomes a problem+json answer.
 * The first mount whose prefix matches wins: keep the table in
 * api_mount_table (routes.c) ordered from the most to the least specific.
 * A prefix matches the path itself and any path below it ("/fhir" matches
 * "/fhir", "/fhir/" and "/fhir/Patient", not "/fhirx"); the prefix "/"
 * matches every path that neither a route nor an earlier mount takes.
 */
struct api_mount {
	const char *prefix;
	size_t max_body;
	int (*serve)(struct api_ctx *c, const char *url, const char *method);
	/* the body goes to a memfd (c->body_fd, c->body_len) as it arrives instead of
	 * memory: for large uploads (DICOM studies); serve() reads it from offset 0 */
	bool spool;
};

extern const struct api_mount api_mount_table[];

/**
 * Checks the request's bearer token (Authorization: Bearer ...): on success
 * sets c->authed and c->caller. @return PHR_OK, PHR_ERR_UNAUTHENTICATED (no
 * or unknown token), PHR_ERR_EXPIRED; c->detail says why.
 */
int api_authenticate(struct api_ctx *c);

/** Adds a response header (copied; at most API_MAX_HEADERS). @return PHR_OK or PHR_ERR_TOO_LARGE. */
int api_header_add(struct api_ctx *c, const char *name, const char *value);

/** Request header or NULL. */
const char *api_header(struct api_ctx *c, const char *name);

/** Sets the problem detail (printf) and returns @p err. */
int api_fail(struct api_ctx *c, int err, const char *fmt, ...) PHR_PRINTF(3, 4);
/** Sets a JSON result (stolen) with @p status. */
int api_ok(struct api_ctx *c, unsigned status, json_t *out);
/** Query parameter or NULL. */
const char *api_query(struct api_ctx *c, const char *key);
/** The hosted identity of the caller, or NULL (and a problem) */
const struct phr_identity *api_hosted_caller(struct api_ctx *c);
/** Whether the caller is an auditor of this node. */
bool api_is_auditor(struct phr_api *a, const uint8_t addr[20]);
/** Token bucket: false when @p ip is over its rate. */
bool api_rate_ok(struct phr_api *a, uint32_t ip);
int64_t api_now_us(void);
/** Checksummed address as a JSON string (NULL on NOMEM). */
json_t *api_jaddr(const uint8_t addr[20]);

/** The patient address of path parameter 0, checked: the patient, an auditor, or (with
 * @p providers_may) an accessor with Read on all the patient's records. PHR_OK or a problem. */
int api_patient_param(struct api_ctx *c, uint8_t patient[20], bool providers_may);
/** Answers {items: @p list, count} (list stolen), or the problem of @p rv. */
int api_list_result(struct api_ctx *c, int rv, json_t *list);

/** Auth store. */
int api_auth_open(struct phr_api *a);
int api_token_lookup(struct phr_api *a, uint8_t addr[20], const char *token);

/* handlers */
int api_h_healthz(struct api_ctx *c);
int api_h_metrics(struct api_ctx *c);
int api_h_openapi(struct api_ctx *c);
int api_h_info(struct api_ctx *c);
int api_h_nonce(struct api_ctx *c);
int api_h_login(struct api_ctx *c);
int api_h_logout(struct api_ctx *c);
int api_h_me(struct api_ctx *c);
int api_h_totp_enroll(struct api_ctx *c);
int api_h_totp_confirm(struct api_ctx *c);
int api_totp_check(struct api_ctx *c);
int api_h_register(struct api_ctx *c);
int api_h_patient_records(struct api_ctx *c);
int api_h_patient_grants(struct api_ctx *c);
int api_h_patient_requests(struct api_ctx *c);
int api_h_patient_audit(struct api_ctx *c);
int api_h_patient_denials(struct api_ctx *c);
int api_h_submit(struct api_ctx *c);
int api_h_get_record(struct api_ctx *c);
int api_h_get_content(struct api_ctx *c);
int api_h_record_audit(struct api_ctx *c);
int api_h_capsule(struct api_ctx *c);
int api_h_capsule_put(struct api_ctx *c);
int api_h_ciphertext(struct api_ctx *c);
int api_h_grant(struct api_ctx *c);
int api_h_revoke(struct api_ctx *c);
int api_h_request(struct api_ctx *c);
int api_h_approve(struct api_ctx *c);
int api_h_deny(struct api_ctx *c);
int api_h_emergency_open(struct api_ctx *c);
int api_h_verify_provider(struct api_ctx *c);
int api_h_emergency_close(struct api_ctx *c);
/** Escrow of the emergency summary (h_emergency.c). */
int api_h_escrow_info(struct api_ctx *c);
int api_h_escrow_deposit(struct api_ctx *c);
int api_h_escrow_status(struct api_ctx *c);
int api_h_escrow_release(struct api_ctx *c);
/** Notifications (h_notify.c). */
int api_h_webhook_add(struct api_ctx *c);
int api_h_webhook_list(struct api_ctx *c);
int api_h_webhook_delete(struct api_ctx *c);
int api_h_patient_notifications(struct api_ctx *c);
int api_h_milestone_publish(struct api_ctx *c);
int api_h_milestone_get(struct api_ctx *c);
int api_h_milestone_verify(struct api_ctx *c);
int api_h_milestone_details(struct api_ctx *c);
int api_h_milestone_typed_data(struct api_ctx *c);
int api_h_patient_milestones(struct api_ctx *c);
int api_h_shc_issue(struct api_ctx *c);
int api_h_shc_verify(struct api_ctx *c);
int api_h_zk_verify(struct api_ctx *c); /* h_zk.c */
int api_h_study_create(struct api_ctx *c);
int api_h_study_get(struct api_ctx *c);
int api_h_study_share(struct api_ctx *c);
int api_h_study_consent(struct api_ctx *c);
int api_h_study_submit(struct api_ctx *c);
int api_h_study_close(struct api_ctx *c);
int api_h_study_partial(struct api_ctx *c);
int api_h_study_result(struct api_ctx *c);
int api_h_study_log(struct api_ctx *c);
/** /.well-known/ documents (h_shc.c): jwks.json. */
int api_wellknown_serve(struct api_ctx *c, const char *url, const char *method);
/** The JSON-RPC methods /rpc forwards to an external chain (rpc_proxy.c). */
extern const struct phr_rpc_method api_rpc_proxy_methods[];
/** DICOM uploads (h_dicom.c): the spooled mount /api/v1/dicom. */
int api_dicom_serve(struct api_ctx *c, const char *url, const char *method);
/** A FHIR create from inside the node (fhir_server.c): @p out gets {location, resource} or an OperationOutcome. */
int api_fhir_create(struct api_ctx *c, json_t **out, const json_t *res, const uint8_t patient[20]);
int api_h_tx(struct api_ctx *c);
/** Whether request @p id asks for Admin access (its approval is an Admin grant). @return PHR_OK or a chain error. */
int api_request_is_admin(struct api_ctx *c, bool *admin, const struct phr_u256 *id);
/** As api_totp_check when the caller has confirmed a second factor, else PHR_OK. */
int api_totp_check_enrolled(struct api_ctx *c);

/** The portal's static files (portal.c): the mount "/", last in api_mount_table. */
int api_portal_serve(struct api_ctx *c, const char *url, const char *method);

/** What the portal answers for one request (portal.c), without the HTTP layer. */
struct api_portal_answer {
	unsigned status;   /* 200, 304, 404 or 405 */
	const char *type;  /* content type (static string); NULL for 405 */
	uint8_t *body;     /* 200 only: the bytes to send (phr_malloc), else NULL */
	size_t len;
	bool gzip;         /* body is the file's .gz variant */
	bool immutable;    /* a content-hashed name */
	char etag[40];     /* "hex32" or "hex32-gz" with the quotes (200 and 304) */
};

/**
 * Resolves @p url under the asset directory @p dir for @p method with the
 * request's Accept-Encoding and If-None-Match (either may be NULL). Bad paths,
 * unknown types and missing files are status 404, not errors.
 * @return PHR_OK (see a->status), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE (a file
 * over 8 MiB), PHR_ERR_INTERNAL. Release with api_portal_answer_release().
 */
int api_portal_answer(struct api_portal_answer *a, const char *dir, const char *url, const char *method,
		      const char *accept_encoding, const char *if_none_match);

/** Frees a->body (no-op when NULL). */
void api_portal_answer_release(struct api_portal_answer *a);

/** The FHIR R4 server (fhir_server.c): the mount "/fhir". */
int api_fhir_serve(struct api_ctx *c, const char *url, const char *method);
/** A refusal of the generic server path on the /fhir mount as an OperationOutcome (fhir_server.c). */
int api_fhir_refuse(struct api_ctx *c, int err, unsigned status, const char *diag);

/** Backups and recovery (h_backup.c, h_recovery.c; include/phr/backup.h, recovery.h). */
int api_h_backups_status(struct api_ctx *c);
int api_h_recovery_status(struct api_ctx *c);
int api_h_recovery_share_release(struct api_ctx *c);

/** Compliance (h_compliance.c; include/phr/compliance.h). */
int api_h_compliance_disclosures(struct api_ctx *c);
int api_h_compliance_export(struct api_ctx *c);
int api_h_compliance_report(struct api_ctx *c);
int api_h_compliance_verify(struct api_ctx *c);
int api_h_compliance_anomalies(struct api_ctx *c);
int api_h_compliance_jobs(struct api_ctx *c);
int api_h_explain(struct api_ctx *c);
int api_h_consents_get(struct api_ctx *c);
int api_h_consents_post(struct api_ctx *c);
int api_h_erasure_get(struct api_ctx *c);
int api_h_erasure_request(struct api_ctx *c);
int api_h_erasure_finish(struct api_ctx *c);
int api_h_erasure_hold(struct api_ctx *c);
/** FHIR create of a Consent (fhir_server.c, h_compliance.c): when the caller @p me is the
 * Consent's hosted patient, applies it to the chain and sets *@p answer (an OperationOutcome);
 * PHR_ERR_NOT_FOUND when it is someone else's (stored as any resource); else a problem. */
int api_consent_hook(struct api_ctx *c, json_t **answer, const struct phr_identity *me,
		     const json_t *consent);

#endif
