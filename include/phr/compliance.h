/**
 * @file compliance.h
 * @brief Compliance (issue 10): HIPAA accounting of disclosures (§164.528)
 *        and the organisation-wide audit report, audit-trail integrity
 *        (`phr audit verify`), the access anomaly rule, and the GDPR
 *        access/portability export (Art. 15, 20). docs/compliance.md.
 *
 * Everything here reads the chain (AuditTrail, HealthRecordNFT) and the
 * node's own copy of it (DIR/index.db); nothing here writes the chain except
 * the audited reads an export makes for its patient.
 */
#ifndef PHR_COMPLIANCE_H
#define PHR_COMPLIANCE_H

#include <jansson.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Six years (§164.528(a)(1)): the default reach of an accounting, seconds. */
#define PHR_COMPLIANCE_ACCOUNTING_WINDOW ((uint64_t)6 * 365 * 86400 + 2 * 86400)

/** Filters of an audit report; zero / NULL fields match everything. */
struct phr_compliance_query {
	const uint8_t *patient;  /**< 20 bytes, or NULL: every patient (organisation-wide) */
	const uint8_t *actor;    /**< 20 bytes, or NULL: every accessor */
	int purpose;             /**< 0..PHR_PURPOSE_MAX, or -1: any */
	uint64_t from, to;       /**< chain time window [from, to]; to 0: no upper bound */
	bool disclosures_only;   /**< only accesses to data by someone other than the patient
				      (View, Share, Emergency): the §164.528 accounting */
};

/**
 * The audit rows matching @p q, oldest first, from the chain's AuditLogged
 * events, each {patient, seq, date (ISO 8601 UTC), time, recipient, recordId,
 * recordType, description, action, actionCode, purpose, purposeCode,
 * tpo, block, txHash}. "description" names the data (the record type; the
 * record's content never leaves the node here). "tpo" marks treatment,
 * payment and operations purposes (exempt from the §164.528 duty, listed all
 * the same). Per-patient reports are also checked against the on-chain hash
 * chain first (PHR_ERR_CORRUPT when it does not fold).
 * @param[out] out new JSON array (caller decrefs)
 * @return PHR_OK, PHR_ERR_INVALID (bad purpose), PHR_ERR_CORRUPT, chain errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_report(struct phr_node *node, json_t **out,
				  const struct phr_compliance_query *q);

/**
 * Rows of phr_compliance_report as CSV (RFC 4180, header line, CRLF):
 * date,patient,recipient,recordId,recordType,description,action,purpose,tpo,seq,txHash.
 * @param[out] out appended
 * @return PHR_OK, PHR_ERR_INVALID (not an array of rows), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_compliance_rows_csv(struct phr_buf *out, const json_t *rows);

/**
 * Rows as a FHIR R4 searchset Bundle of AuditEvents in the IHE Basic Audit
 * Log Patterns shape (BALP Read/Create/Update/Delete: type rest with the
 * restful-interaction subtype, agent with the v3 participation type and the
 * accessor's address as identifier, source observer, entity of the patient
 * (role 1) and of the record (role 4), purposeOfEvent in v3-ActReason).
 * @param[out] out new JSON object (caller decrefs)
 * @param[in]  observer name of the auditing node (AuditEvent.source.observer.display)
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_rows_balp(json_t **out, const json_t *rows, const char *observer);

/**
 * Proves the audit trail complete and untampered: for each patient (or only
 * @p patient) the AuditLogged events read from the chain (eth_getLogs, not
 * the index) must run seq 0..n-1, fold to each event's head and to
 * AuditTrail.headOf/countOf; then the node's own copy (DIR/index.db) must
 * hold exactly those events: a row missing from it is reported "missing",
 * a row that differs "modified", a row the chain does not have "extra".
 * @param[out] report new JSON object {ok, patients:[{patient, entries,
 *             chainOk, headOf, countOf, indexRows, missing:[seq],
 *             modified:[seq], extra:[seq], problems:[text]}], checked, problems}
 * @return PHR_OK (see report.ok: the proof may fail with PHR_OK), chain and
 *         index errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_audit_verify(struct phr_node *node, json_t **report,
					const uint8_t *patient);

/** The access anomaly rule (docs/compliance.md). */
struct phr_compliance_anomaly_rule {
	uint64_t window;       /**< seconds of the recent window (default 86400) */
	uint64_t baseline;     /**< seconds of history before it (default 30 days) */
	unsigned min_records;  /**< distinct records read in the window to alert at all (default 20) */
	unsigned factor;       /**< times the actor's usual daily distinct reads (default 5) */
};

/** Fills @p r with the defaults above. */
void phr_compliance_anomaly_defaults(struct phr_compliance_anomaly_rule *r);

/**
 * Finds actors who read far more records than usual: in the last @p r->window
 * seconds of chain time an actor read (View, Emergency) at least
 * r->min_records distinct records and more than r->factor times its average
 * per window over the baseline before. Each finding is notified (phr_notify,
 * kind "anomaly", without the patient list) to each affected patient and to
 * the @p officer address when non-NULL, once per window per actor (a scan
 * repeated within the window lists the finding with notified false).
 * @param[out] out new JSON array of {actor, records, baselinePerWindow, window,
 *             patients:[...], rule, notified}
 * @return PHR_OK, chain errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_anomaly_scan(struct phr_node *node, json_t **out,
					const struct phr_compliance_anomaly_rule *r,
					const uint8_t *officer);

/**
 * A FHIR R4 "collection" Bundle of every live record of @p patient, each
 * record's plaintext read and decrypted with the patient's own capsule (an
 * audited View, purpose PatientRequest): a FHIR resource as is, anything
 * else as a Binary (contentType application/dicom, application/json or
 * application/octet-stream). Entries carry fullUrl urn:phr:record:<id>.
 * @param[out] out        new JSON object (caller decrefs; holds PHI)
 * @param[out] records    live records in the Bundle (may be NULL)
 * @param[out] unreadable live records that did not decrypt (may be NULL)
 * @param[in]  patient    hosted identity of the patient
 * @return PHR_OK, chain, store and crypto errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_export_bundle(struct phr_node *node, json_t **out, size_t *records,
					 size_t *unreadable, const struct phr_identity *patient);

/**
 * The Bundle resource of one record's plaintext: the FHIR resource itself
 * when it is one (a JSON object with a resourceType), else a Binary with the
 * bytes in base64. @return a new object (holds PHI), NULL on NOMEM.
 */
json_t *phr_compliance_record_resource(const uint8_t *data, size_t len);

/**
 * The Bundle's resources as NDJSON (one compact resource a line, LF).
 * @param[out] out appended
 * @return PHR_OK, PHR_ERR_INVALID (not a Bundle), PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_compliance_bundle_ndjson(struct phr_buf *out, const json_t *bundle);

/**
 * The encrypted originals of @p patient's live records with their capsules:
 * a backup bundle (backup.h: CARv1 + manifest signed by the patient), as
 * phr_node_backup_create writes it; restorable with phr_node_backup_restore.
 * @param[out] out    appended (no PHI in clear)
 * @param[out] blocks blocks in the CAR (may be NULL)
 * @return as phr_node_backup_create, PHR_ERR_IO.
 */
PHR_WUR int phr_compliance_export_car(struct phr_node *node, struct phr_buf *out, size_t *blocks,
				      const struct phr_identity *patient);

/** What phr_compliance_export wrote. */
struct phr_compliance_export_report {
	size_t records;     /**< live records in the Bundle */
	size_t unreadable;  /**< live records this node could not decrypt (listed, not exported) */
	size_t log_entries; /**< access-log rows */
	size_t car_blocks;  /**< blocks in records.car */
};

/**
 * The patient's data for a GDPR access / portability request, written into
 * the directory @p dir (created 0700 when missing; files 0600):
 *  - bundle.json: a FHIR R4 "collection" Bundle of every live record, each
 *    record's plaintext (a FHIR resource as is, anything else a Binary);
 *  - bundle.ndjson: the same resources, one per line;
 *  - records.car: the encrypted originals and capsules (a signed backup
 *    bundle, backup.h), restorable into a fresh node (absent without records);
 *  - access-log.json, access-log.csv: the full audit trail (who, when, what,
 *    why) as phr_compliance_report with only @p patient;
 *  - manifest.json: counts and SHA-256 of each file.
 * Each read is an audited View with purpose PatientRequest, signed by the patient.
 * @param[in] patient hosted identity of the patient (its own keys decrypt)
 * @return PHR_OK, PHR_ERR_IO, chain, store and crypto errors.
 */
PHR_WUR int phr_compliance_export(struct phr_node *node, struct phr_compliance_export_report *rep,
				  const struct phr_identity *patient, const char *dir);

/* --- erasure (GDPR Art. 17): crypto-shredding across the network --------------- */

/** Whether the deployment has an ErasureRegistry (older deployment files do not). */
bool phr_erasure_available(const struct phr_node *node);

/**
 * The patient's owner asks for the erasure of @p record on chain
 * (ErasureRegistry.request). Refused while a legal hold is set.
 * @return PHR_OK, PHR_ERR_UNSUPPORTED (no ErasureRegistry in the deployment),
 *         PHR_ERR_REVERTED (not the owner, no live record, already requested,
 *         under legal hold: see phr_erasure_status), chain errors.
 */
PHR_WUR int phr_erasure_request(struct phr_node *node, const struct phr_identity *owner,
				const struct phr_u256 *record);

/**
 * Sets (@p set) or releases a legal hold on @p record with the keccak256 of
 * its reason (the reason itself stays off chain), signed by a hold authority.
 * @return PHR_OK, PHR_ERR_UNSUPPORTED, PHR_ERR_INVALID (zero hash), PHR_ERR_REVERTED, chain errors.
 */
PHR_WUR int phr_erasure_hold(struct phr_node *node, const struct phr_identity *authority,
			     const struct phr_u256 *record, const uint8_t reason_hash[32], bool set);

/** What one honouring pass did. */
struct phr_erasure_report {
	size_t requests;   /**< erasure requests seen on chain */
	size_t honoured;   /**< erased here and confirmed in this pass */
	size_t held;       /**< skipped: under legal hold */
	size_t done;       /**< already confirmed by this node before */
	size_t capsules;   /**< key capsules destroyed (index rows and blocks) */
	size_t unpinned;   /**< ciphertext DAGs unpinned */
	uint64_t removed;  /**< ciphertext blocks deleted */
};

/**
 * Honours every erasure request on chain that @p signer (this node's
 * address) has not confirmed yet and that is not under legal hold: deletes
 * the record's key capsules (index rows and capsule blocks: the wrapped data
 * keys), unpins the ciphertext DAG and deletes its blocks, then confirms
 * (ErasureRegistry.confirm signed by @p signer). Idempotent.
 * @param[out] rep counts (may be NULL)
 * @return PHR_OK, PHR_ERR_UNSUPPORTED, store, database and chain errors.
 */
PHR_WUR int phr_erasure_honour(struct phr_node *node, struct phr_erasure_report *rep,
			       const struct phr_identity *signer);

/**
 * Burns the token (HealthRecordNFT.burn by the patient's owner; the audit
 * trail logs Erase with the token id only) once it was requested.
 * @return PHR_OK, PHR_ERR_STATE (no erasure request on chain), PHR_ERR_UNSUPPORTED, chain errors.
 */
PHR_WUR int phr_erasure_finish(struct phr_node *node, const struct phr_identity *owner,
			       const struct phr_u256 *record);

/**
 * The request state of @p record: {requested, patient, requester,
 * requestedAt, confirmations, held, holdReasonHash}.
 * @return PHR_OK, PHR_ERR_UNSUPPORTED, chain errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_erasure_status(struct phr_node *node, json_t **out, const struct phr_u256 *record);

/* --- consent as FHIR ---------------------------------------------------------------- */

/** One grant operation a Consent asks for. */
struct phr_consent_op {
	bool permit;           /**< permit (grant) or deny (revoke overlapping grants) */
	uint8_t actor[20];     /**< the grantee */
	uint8_t scope[32];     /**< all / category / record (docs/contracts.md) */
	enum phr_level level;  /**< permit: Read (action access/use/disclose/collect) or Write (correct) */
	uint64_t expiry;       /**< permit: provision.period.end (default: @p now + one year) */
	unsigned purpose;      /**< first recognised purpose (v3-ActReason), 0 when none: recorded, not enforced */
	bool overridden;       /**< a permit that a deny of the same Consent overrides */
};

/** Most operations one Consent may ask for. */
#define PHR_CONSENT_MAX_OPS 32

/**
 * Parses a FHIR R4 Consent written by the patient into grant operations:
 * each provision (the root and its nested ones) with an actor whose
 * reference identifier is urn:ethereum:0x<address> gives one operation per
 * actor: provision.type (inherited from the root; FHIR's default for the
 * root is deny), period.end, action, purpose, class (system
 * urn:phr:record-type, code a type name or number: a category scope) or
 * data (reference identifier system urn:phr:record, value a token id: a
 * record scope); neither: all records. A Consent whose status is not
 * "active" turns every permit into a deny (withdrawal). Denies override:
 * a permit overlapping a deny of the same actor is marked overridden.
 * Consent.patient must name @p patient (identifier urn:ethereum:0x...).
 * @param[out] ops   at least PHR_CONSENT_MAX_OPS entries
 * @param[out] n_ops operations filled
 * @param[in]  now   chain time (for the default expiry, and a period already over)
 * @return PHR_OK, PHR_ERR_PARSE (not a Consent or a malformed element; never a
 *         crash), PHR_ERR_FORBIDDEN (another patient), PHR_ERR_TOO_LARGE (too many operations).
 */
PHR_WUR int phr_consent_parse(struct phr_consent_op *ops, size_t *n_ops, const json_t *consent,
			      const uint8_t patient[20], uint64_t now);

/**
 * Applies a Consent of @p patient (hosted here; she signs): denies first
 * (every active grant of the actor whose scope overlaps is revoked), then the
 * permits that no deny overrides (grantAccess, which also wraps the data keys).
 * @param[out] outcome new JSON object {applied:[{op, actor, scope, level,
 *             expiry, purpose}], overridden:[...]} (may be NULL)
 * @return as phr_consent_parse, then chain errors.
 */
PHR_WUR int phr_consent_apply(struct phr_node *node, json_t **outcome,
			      const struct phr_identity *patient, const json_t *consent);

/**
 * The patient's grants on chain as a FHIR searchset Bundle of Consent
 * resources (one per actor and scope; status active, or inactive when revoked
 * or expired), in the shape phr_consent_parse reads back.
 * @return PHR_OK, chain errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_consent_from_grants(struct phr_node *node, json_t **bundle,
				    const uint8_t patient[20]);

/**
 * Why @p actor can or cannot read @p record now, following
 * PatientRegistry.canAccess step by step: {allowed, rule, detail, chain
 * (canAccess itself), patient, recordType, grant?:{scope, scopeKind, level,
 * expiry, grantor}}. Rules: "no-live-record", "patient-owner",
 * "break-glass", "not-a-verified-provider", "grant", "grant-expired",
 * "grant-revoked", "no-grant".
 * @return PHR_OK, chain errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_explain(struct phr_node *node, json_t **out, const uint8_t actor[20],
				   const struct phr_u256 *record);

/* --- retention and deletion policies ----------------------------------------------- */

/** Retention per deployment (config.json "retention"); 0 keeps forever. */
struct phr_retention_policy {
	uint64_t record_ttl[PHR_RECORD_TYPE_MAX + 1]; /**< seconds after a record's creation */
	uint64_t grant_ttl;                           /**< seconds after a grant was given */
};

/**
 * Reads {"records": {"<RecordType name or number>" | "default": seconds},
 * "grants": seconds}. Unknown keys and negative or non-integer values are errors.
 * @return PHR_OK, PHR_ERR_PARSE.
 */
PHR_WUR int phr_retention_policy_from_json(struct phr_retention_policy *p, const json_t *j);

/** What one retention pass found and did. */
struct phr_retention_report {
	size_t records_due;        /**< live records past their retention */
	size_t records_erased;     /**< of those: erased (request, honour, burn) */
	size_t records_held;       /**< of those: kept under legal hold */
	size_t records_not_hosted; /**< of those: the patient is not hosted here (reported only) */
	size_t grants_due;         /**< active grants past their retention */
	size_t grants_revoked;     /**< of those: revoked */
	size_t grants_not_hosted;  /**< of those: the patient is not hosted here */
	size_t honoured;           /**< erasure requests honoured here during the pass */
	size_t capsules;           /**< key capsules destroyed during the pass */
	uint64_t ran_at;           /**< chain time of the pass */
};

/**
 * One retention pass at chain time: every live record whose type has a
 * retention and whose creation is older is erased when its patient is
 * hosted here (phr_erasure_request, phr_erasure_honour with @p signer,
 * phr_erasure_finish) unless under legal hold; every active grant given
 * longer ago than the grant retention is revoked when its patient is hosted.
 * Each action is logged (ids and addresses only).
 * @param[out] rep     counts (may be NULL)
 * @param[out] actions new JSON array of {kind, id|actor, patient, action} (may be NULL)
 * @return PHR_OK, PHR_ERR_UNSUPPORTED (record retention without ErasureRegistry), chain and store errors.
 */
PHR_WUR int phr_retention_run(struct phr_node *node, struct phr_retention_report *rep,
			      json_t **actions, const struct phr_retention_policy *p,
			      const struct phr_identity *signer);

/* --- the compliance job ------------------------------------------------------------------ */

/** What the node's compliance job does (config.json "compliance" and "retention"). */
struct phr_compliance_job_config {
	unsigned interval;                  /**< seconds between passes */
	struct phr_retention_policy retention;
	bool retention_on;                  /**< a retention policy was configured */
	const struct phr_identity *signer;  /**< the node's address for erasure confirmations */
	uint8_t officer[20];                /**< compliance officer notified of anomalies */
	bool has_officer;
	struct phr_compliance_anomaly_rule anomaly;
};

/**
 * Starts one background thread per process that, every interval seconds,
 * honours erasure requests, runs the retention pass and the anomaly rule.
 * @return PHR_OK, PHR_ERR_INVALID (interval 0, no signer), PHR_ERR_EXISTS (running), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_compliance_job_start(struct phr_node *node, const struct phr_compliance_job_config *cfg);

/**
 * Fills @p cfg from a node's config.json: "retention" (phr_retention_policy_from_json)
 * and "compliance": {"interval": seconds (default 3600; 0: off), "signer":
 * hosted identity name confirming erasures (default "operator"), "officer":
 * 0x address notified of anomalies (default: the hosted "auditor"),
 * "anomaly": {"window", "baseline", "minRecords", "factor"}}. @p conf may be NULL.
 * @return PHR_OK, PHR_ERR_PARSE (a bad value), PHR_ERR_NOT_FOUND (no such signer
 *         identity: the job cannot confirm erasures), PHR_ERR_STATE (interval 0: off).
 */
PHR_WUR int phr_compliance_job_config_from_json(struct phr_compliance_job_config *cfg,
						struct phr_node *node, const json_t *conf);

/** Stops and joins the job (no-op when none). */
void phr_compliance_job_stop(void);

/** Runs one pass of the job now (what the thread does), for tests and the API. */
PHR_WUR int phr_compliance_job_pass(struct phr_node *node, const struct phr_compliance_job_config *cfg);

/**
 * Appends the job's counters in Prometheus text format (phr_retention_*,
 * phr_erasure_*, phr_anomalies_*) to @p out, for /metrics.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_compliance_metrics(struct phr_buf *out);

/** The last pass: {ranAt, retention:{...}, erasure:{...}, anomalies, error} (new object). */
json_t *phr_compliance_job_status(void);

/** @return the static name of purpose code @p p ("Treatment", ...) or "?". */
const char *phr_compliance_purpose_name(unsigned p);
/** @return the static name of record type @p t ("LabResult", ...) or "?". */
const char *phr_compliance_record_type_name(unsigned t);

#ifdef __cplusplus
}
#endif
#endif /* PHR_COMPLIANCE_H */
