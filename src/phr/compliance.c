/*
 * Compliance: HIPAA accounting of disclosures and the organisation-wide audit
 * report, their CSV and IHE BALP AuditEvent forms, audit-trail verification
 * against the chain and the node's index, and the access anomaly rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index_int.h"
#include "phr/compliance.h"
#include "phr/contracts.h"
#include "phr/notify.h"
#include "phr_int.h"

const char *phr_compliance_purpose_name(unsigned p)
{
	static const char *const names[] = { "Unspecified", "Treatment",      "Payment",
					      "Operations",  "Emergency",      "Research",
					      "PatientRequest", "Legal" };
	return p < PHR_ARRAY_LEN(names) ? names[p] : "?";
}

const char *phr_compliance_record_type_name(unsigned t)
{
	static const char *const names[] = { "General",	     "Vaccination",
					      "MajorProcedure", "ChronicConditionAchievement",
					      "PreventiveCare", "LabResult",
					      "Imaging",	     "Prescription",
					      "ClinicalNote",   "EmergencySummary" };
	return t < PHR_ARRAY_LEN(names) ? names[t] : "?";
}

/* --- logs -------------------------------------------------------------------- */

/* AuditLogged logs of one patient (NULL: all) from the node's index (or the chain). */
static int audit_logs_indexed(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
			      const uint8_t *patient)
{
	uint8_t t1[32];
	int rv;

	if (patient != NULL)
		phr_node_i_addr_topic(t1, patient);
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, logs, count, n->dep.audit,
			     phr_contracts_audit_trail_audit_logged_event_topic,
			     patient != NULL ? t1 : NULL, NULL);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* The same read from the chain itself (eth_getLogs), never from the index. */
static int audit_logs_chain(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
			    const uint8_t *patient)
{
	struct phr_chain_filter f;
	uint8_t t0[1][32], t1[1][32], addr[1][20];
	int rv;

	memset(&f, 0, sizeof(f));
	memcpy(addr[0], n->dep.audit, 20);
	memcpy(t0[0], phr_contracts_audit_trail_audit_logged_event_topic, 32);
	f.from_block = 0;
	f.to_block = UINT64_MAX;
	f.addresses = (const uint8_t(*)[20])addr;
	f.addresses_count = 1;
	f.topics[0] = (const uint8_t(*)[32])t0;
	f.topics_count[0] = 1;
	if (patient != NULL) {
		phr_node_i_addr_topic(t1[0], patient);
		f.topics[1] = (const uint8_t(*)[32])t1;
		f.topics_count[1] = 1;
	}
	pthread_mutex_lock(&n->lock);
	rv = phr_chain_get_logs(n->chain, logs, count, &f);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

static int decode_audit(struct phr_contracts_audit_trail_audit_logged_event *ev,
			const struct phr_chain_log *l)
{
	return phr_contracts_audit_trail_audit_logged_event_decode(
		ev, (const uint8_t(*)[32])l->topics, l->topics_count, l->data, l->data_len);
}

/* Record id -> record type, from every RecordMinted log (sorted for bsearch). */
struct rtype_entry {
	uint8_t id[32];
	unsigned rtype;
};

struct rtype_map {
	struct rtype_entry *v;
	size_t n;
};

static int rtype_cmp(const void *a, const void *b)
{
	return memcmp(((const struct rtype_entry *)a)->id, ((const struct rtype_entry *)b)->id, 32);
}

static int rtype_map_load(struct phr_node *n, struct rtype_map *m)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	int rv;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, &logs, &count, n->dep.nft,
			     phr_contracts_health_record_nft_record_minted_event_topic, NULL, NULL);
	pthread_mutex_unlock(&n->lock);
	if (rv != PHR_OK)
		return rv;
	if (count > 0 && (m->v = phr_calloc(count, sizeof(*m->v))) == NULL)
		rv = PHR_ERR_NOMEM;
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		phr_u256_to_be(m->v[m->n].id, &ev.token_id);
		m->v[m->n].rtype = (unsigned)ev.record_type;
		m->n++;
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
	}
	phr_chain_logs_free(logs, count);
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), rtype_cmp);
	return rv;
}

/* The record type of @p id, or -1 when unknown (id 0: the patient as a whole). */
static int rtype_lookup(const struct rtype_map *m, const struct phr_u256 *id)
{
	struct rtype_entry key;
	const struct rtype_entry *e;

	phr_u256_to_be(key.id, id);
	e = m->n > 0 ? bsearch(&key, m->v, m->n, sizeof(*m->v), rtype_cmp) : NULL;
	return e != NULL ? (int)e->rtype : -1;
}

/* --- the report ---------------------------------------------------------------- */

static void iso_date(char out[32], uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static bool is_disclosure(const struct phr_contracts_audit_trail_audit_logged_event *ev)
{
	return (ev->action == PHR_AUDIT_VIEW || ev->action == PHR_AUDIT_EMERGENCY) &&
	       memcmp(ev->accessor, ev->patient, 20) != 0;
}

static bool row_matches(const struct phr_contracts_audit_trail_audit_logged_event *ev,
			const struct phr_compliance_query *q)
{
	if (q->actor != NULL && memcmp(q->actor, ev->accessor, 20) != 0)
		return false;
	if (q->purpose >= 0 && ev->purpose != (uint64_t)q->purpose)
		return false;
	if (ev->time < q->from || (q->to != 0 && ev->time > q->to))
		return false;
	return !q->disclosures_only || is_disclosure(ev);
}

static json_t *report_row(const struct phr_contracts_audit_trail_audit_logged_event *ev,
			  const struct phr_chain_log *l, const struct rtype_map *m)
{
	char date[32], desc[96];
	bool zero = phr_u256_is_zero(&ev->record_id);
	int rt = zero ? -1 : rtype_lookup(m, &ev->record_id);
	bool tpo = ev->purpose >= 1 && ev->purpose <= 3;

	iso_date(date, ev->time);
	if (zero)
		snprintf(desc, sizeof(desc), "all records of the patient (%s)",
			 ev->action == PHR_AUDIT_EMERGENCY ? "emergency access session" : "patient-wide");
	else if (rt >= 0)
		snprintf(desc, sizeof(desc), "%s record", phr_compliance_record_type_name((unsigned)rt));
	else
		snprintf(desc, sizeof(desc), "record (type unknown)");
	return json_pack("{s:o,s:I,s:s,s:I,s:o,s:o,s:s?,s:s,s:s,s:I,s:s,s:I,s:b,s:I,s:o}", "patient",
			 phr_node_i_jaddr(ev->patient), "seq", (json_int_t)ev->seq, "date", date,
			 "time", (json_int_t)ev->time, "recipient", phr_node_i_jaddr(ev->accessor),
			 "recordId", phr_node_i_ju256(&ev->record_id), "recordType",
			 rt >= 0 ? phr_compliance_record_type_name((unsigned)rt) : NULL,
			 "description", desc, "action", phr_audit_action_name((unsigned)ev->action),
			 "actionCode", (json_int_t)ev->action, "purpose",
			 phr_compliance_purpose_name((unsigned)ev->purpose), "purposeCode",
			 (json_int_t)ev->purpose, "tpo", tpo, "block", (json_int_t)l->block_number,
			 "txHash", phr_node_i_jhex(l->tx_hash, 32));
}

int phr_compliance_report(struct phr_node *n, json_t **out, const struct phr_compliance_query *q)
{
	struct phr_chain_log *logs = NULL;
	struct rtype_map m = { 0 };
	size_t count = 0;
	json_t *arr = NULL, *check = NULL;
	int rv;

	if (q == NULL || q->purpose < -1 || q->purpose > (int)PHR_PURPOSE_MAX)
		return PHR_ERR_INVALID;
	/* a patient's report only from a hash chain that folds to the contract's head */
	if (q->patient != NULL) {
		rv = phr_node_audit_list(n, &check, q->patient, NULL);
		json_decref(check);
		if (rv != PHR_OK)
			return rv;
	}
	if ((rv = rtype_map_load(n, &m)) != PHR_OK)
		return rv;
	rv = audit_logs_indexed(n, &logs, &count, q->patient);
	if (rv == PHR_OK && (arr = json_array()) == NULL)
		rv = PHR_ERR_NOMEM;
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_audit_trail_audit_logged_event ev;
		json_t *o;
		if (decode_audit(&ev, &logs[i]) != PHR_OK) {
			rv = PHR_ERR_CORRUPT;
			break;
		}
		if (!row_matches(&ev, q))
			continue;
		o = report_row(&ev, &logs[i], &m);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			rv = PHR_ERR_NOMEM;
	}
	phr_chain_logs_free(logs, count);
	phr_free(m.v);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}

/* --- CSV ------------------------------------------------------------------------- */

static int csv_field(struct phr_buf *b, const char *s, bool last)
{
	int rv = PHR_OK;

	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") != NULL) {
		rv = phr_buf_append_byte(b, '"');
		for (const char *p = s; rv == PHR_OK && *p != '\0'; p++)
			rv = *p == '"' ? phr_buf_append_str(b, "\"\"") : phr_buf_append_byte(b, (uint8_t)*p);
		if (rv == PHR_OK)
			rv = phr_buf_append_byte(b, '"');
	} else {
		rv = phr_buf_append_str(b, s);
	}
	if (rv == PHR_OK)
		rv = phr_buf_append_str(b, last ? "\r\n" : ",");
	return rv;
}

int phr_compliance_rows_csv(struct phr_buf *out, const json_t *rows)
{
	static const char *const cols[] = { "date",    "patient",     "recipient", "recordId",
					     "recordType", "description", "action",    "purpose",
					     "tpo",     "seq",	       "txHash" };
	const size_t nc = PHR_ARRAY_LEN(cols);
	size_t i;
	json_t *row;
	int rv = PHR_OK;

	if (!json_is_array(rows))
		return PHR_ERR_INVALID;
	for (size_t c = 0; rv == PHR_OK && c < nc; c++)
		rv = csv_field(out, cols[c], c + 1 == nc);
	json_array_foreach(rows, i, row) {
		if (!json_is_object(row))
			return PHR_ERR_INVALID;
		for (size_t c = 0; rv == PHR_OK && c < nc; c++) {
			const json_t *v = json_object_get(row, cols[c]);
			char num[32];
			const char *s = NULL;
			if (json_is_string(v))
				s = json_string_value(v);
			else if (json_is_integer(v)) {
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
				s = num;
			} else if (json_is_boolean(v))
				s = json_is_true(v) ? "true" : "false";
			rv = csv_field(out, s, c + 1 == nc);
		}
		if (rv != PHR_OK)
			break;
	}
	return rv;
}

/* --- IHE BALP AuditEvents ---------------------------------------------------------- */

#define CS_AUDIT_TYPE "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define CS_REST "http://hl7.org/fhir/restful-interaction"
#define CS_ACT_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define CS_DCM "http://dicom.nema.org/resources/ontology/DCM"
#define CS_ENTITY_TYPE "http://terminology.hl7.org/CodeSystem/audit-entity-type"
#define CS_OBJECT_ROLE "http://terminology.hl7.org/CodeSystem/object-role"
#define CS_SOURCE_TYPE "http://terminology.hl7.org/CodeSystem/security-source-type"
#define BALP_PROFILE "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."

/* BALP pattern of an audit action: restful interaction, AuditEvent.action, profile. */
static void balp_shape(unsigned action, const char **interaction, const char **act,
		       const char **profile)
{
	switch (action) {
	case PHR_AUDIT_VIEW:
	case PHR_AUDIT_EMERGENCY:
		*interaction = "read", *act = "R", *profile = "Read";
		break;
	case PHR_AUDIT_CREATE:
		*interaction = "create", *act = "C", *profile = "Create";
		break;
	case PHR_AUDIT_ERASE:
		*interaction = "delete", *act = "D", *profile = "Delete";
		break;
	default: /* Update, Share, Revoke, Recover: changes to the record's access */
		*interaction = "update", *act = "U", *profile = "Update";
		break;
	}
}

static const char *act_reason(unsigned purpose)
{
	static const char *const codes[] = { NULL,     "TREAT",  "HPAYMT", "HOPERAT",
					      "ETREAT", "HRESCH", "PATRQT", "HLEGAL" };
	return purpose < PHR_ARRAY_LEN(codes) ? codes[purpose] : NULL;
}

static json_t *balp_event(const json_t *row, const char *observer)
{
	const char *interaction, *act, *profile, *reason;
	const char *patient = json_string_value(json_object_get(row, "patient"));
	const char *who = json_string_value(json_object_get(row, "recipient"));
	const char *rec = json_string_value(json_object_get(row, "recordId"));
	const char *date = json_string_value(json_object_get(row, "date"));
	const char *desc = json_string_value(json_object_get(row, "description"));
	json_int_t action = json_integer_value(json_object_get(row, "actionCode"));
	json_int_t purpose = json_integer_value(json_object_get(row, "purposeCode"));
	json_int_t seq = json_integer_value(json_object_get(row, "seq"));
	char id[64], prof[128], pv[64], wv[64];
	json_t *ev, *entities;

	if (patient == NULL || who == NULL || rec == NULL || date == NULL || desc == NULL ||
	    strlen(patient) != 42 || action < 0 || purpose < 0)
		return NULL;
	balp_shape((unsigned)action, &interaction, &act, &profile);
	reason = act_reason((unsigned)purpose);
	snprintf(id, sizeof(id), "%s-%lld", patient + 2, (long long)seq);
	snprintf(prof, sizeof(prof), BALP_PROFILE "%s", profile);
	snprintf(pv, sizeof(pv), "urn:ethereum:%s", patient);
	snprintf(wv, sizeof(wv), "urn:ethereum:%s", who);
	entities = json_pack(
		"[{s:{s:{s:s,s:s}},s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}},"
		"{s:{s:{s:s,s:s},s:s},s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:s}]",
		"what", "identifier", "system", "urn:ietf:rfc:3986", "value", pv, "type", "system",
		CS_ENTITY_TYPE, "code", "1", "display", "Person", "role", "system", CS_OBJECT_ROLE,
		"code", "1", "display", "Patient",
		"what", "identifier", "system", "urn:phr:record", "value", rec, "display", desc,
		"type", "system", CS_ENTITY_TYPE, "code", "2", "display", "System Object", "role",
		"system", CS_OBJECT_ROLE, "code", "4", "display", "Domain Resource", "description",
		desc);
	ev = json_pack(
		"{s:s,s:s,s:{s:[s]},s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}],s:s,s:s,s:s,"
		"s:[{s:{s:[{s:s,s:s,s:s}]},s:{s:{s:s,s:s}},s:b},"
		"{s:{s:[{s:s,s:s,s:s}]},s:{s:s},s:b}],"
		"s:{s:{s:s},s:[{s:s,s:s,s:s}]},s:o}",
		"resourceType", "AuditEvent", "id", id, "meta", "profile", prof, "type", "system",
		CS_AUDIT_TYPE, "code", "rest", "display", "Restful Operation", "subtype", "system",
		CS_REST, "code", interaction, "display", interaction, "action", act, "recorded",
		date, "outcome", "0",
		"agent", "type", "coding", "system", CS_DCM, "code", "110153", "display",
		"Source Role ID", "who", "identifier", "system", "urn:ietf:rfc:3986", "value", wv,
		"requestor", 1,
		"type", "coding", "system", CS_DCM, "code", "110152", "display",
		"Destination Role ID", "who", "display", observer, "requestor", 0,
		"source", "observer", "display", observer, "type", "system", CS_SOURCE_TYPE, "code",
		"4", "display", "Application Server", "entity", entities);
	if (ev != NULL && reason != NULL &&
	    json_object_set_new(ev, "purposeOfEvent",
				json_pack("[{s:[{s:s,s:s}]}]", "coding", "system", CS_ACT_REASON,
					  "code", reason)) != 0) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

int phr_compliance_rows_balp(json_t **out, const json_t *rows, const char *observer)
{
	json_t *bundle, *entries, *row;
	size_t i;

	if (!json_is_array(rows) || observer == NULL || *observer == '\0')
		return PHR_ERR_INVALID;
	bundle = json_pack("{s:s,s:s,s:I,s:[]}", "resourceType", "Bundle", "type", "searchset",
			   "total", (json_int_t)json_array_size(rows), "entry");
	if (bundle == NULL)
		return PHR_ERR_NOMEM;
	entries = json_object_get(bundle, "entry");
	json_array_foreach(rows, i, row) {
		json_t *ev = balp_event(row, observer), *e;
		char url[96];
		if (ev == NULL) {
			json_decref(bundle);
			return json_is_object(row) ? PHR_ERR_INVALID : PHR_ERR_INVALID;
		}
		snprintf(url, sizeof(url), "urn:phr:audit:%s",
			 json_string_value(json_object_get(ev, "id")));
		e = json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource", ev, "search", "mode",
			      "match");
		if (e == NULL || json_array_append_new(entries, e) != 0) {
			json_decref(bundle);
			return PHR_ERR_NOMEM;
		}
	}
	*out = bundle;
	return PHR_OK;
}

/* --- audit verify --------------------------------------------------------------------- */

static bool same_log(const struct phr_chain_log *a, const struct phr_chain_log *b)
{
	if (a->topics_count != b->topics_count || a->data_len != b->data_len ||
	    memcmp(a->address, b->address, 20) != 0 ||
	    memcmp(a->tx_hash, b->tx_hash, 32) != 0)
		return false;
	for (size_t t = 0; t < a->topics_count && t < 4; t++)
		if (memcmp(a->topics[t], b->topics[t], 32) != 0)
			return false;
	return a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0;
}

/* seq of a log for the report: decoded, or -1 when it does not decode. */
static json_int_t log_seq(const struct phr_chain_log *l)
{
	struct phr_contracts_audit_trail_audit_logged_event ev;

	return decode_audit(&ev, l) == PHR_OK ? (json_int_t)ev.seq : -1;
}

static int problem(json_t *list, const char *fmt, ...) PHR_PRINTF(2, 3);

static int problem(json_t *list, const char *fmt, ...)
{
	char s[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	return json_array_append_new(list, json_string(s)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

/* Folds the chain's events of one patient; appends problems. */
static int verify_chain(struct phr_node *n, json_t *p, const uint8_t patient[20],
			const struct phr_chain_log *logs, size_t count, json_t *probs)
{
	uint8_t head[32] = { 0 }, onchain[32];
	uint64_t cnt = 0;
	bool ok = true;
	int rv = PHR_OK;

	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_audit_trail_audit_logged_event ev;
		if (decode_audit(&ev, &logs[i]) != PHR_OK) {
			rv = problem(probs, "chain event %llu does not decode", (unsigned long long)i);
			ok = false;
			break;
		}
		phr_node_i_audit_link(head, head, &ev);
		if (ev.seq != i) {
			rv = problem(probs, "chain event %llu is out of sequence", (unsigned long long)i);
			ok = false;
			break;
		}
		if (memcmp(head, ev.head, 32) != 0) {
			rv = problem(probs, "chain event seq %llu does not fold to its head",
				     (unsigned long long)ev.seq);
			ok = false;
			break;
		}
	}
	if (rv != PHR_OK)
		return rv;
	if ((rv = phr_node_i_audit_head(n, onchain, &cnt, patient)) != PHR_OK)
		return rv;
	if (ok && cnt != count) {
		rv = problem(probs, "countOf is %llu, the chain holds a different number of events",
			     (unsigned long long)cnt);
		ok = false;
	}
	if (rv == PHR_OK && ok && memcmp(onchain, head, 32) != 0) {
		rv = problem(probs, "the events fold to a head other than headOf (%llu events)",
			     (unsigned long long)count);
		ok = false;
	}
	if (rv == PHR_OK &&
	    (json_object_set_new(p, "chainOk", json_boolean(ok)) != 0 ||
	     json_object_set_new(p, "headOf", phr_node_i_jhex(onchain, 32)) != 0 ||
	     json_object_set_new(p, "countOf", json_integer((json_int_t)cnt)) != 0))
		rv = PHR_ERR_NOMEM;
	return rv;
}

/* Compares the index's rows with the chain's, by position (block, log index). */
static int verify_index(struct phr_node *n, json_t *p, const uint8_t patient[20],
			const struct phr_chain_log *chain, size_t count, json_t *probs)
{
	struct phr_chain_log *ix = NULL;
	size_t nix = 0, i = 0, j = 0;
	uint8_t t1[32];
	json_t *missing = json_array(), *modified = json_array(), *extra = json_array();
	int rv = PHR_OK;

	if (missing == NULL || modified == NULL || extra == NULL)
		rv = PHR_ERR_NOMEM;
	phr_node_i_addr_topic(t1, patient);
	if (rv == PHR_OK)
		rv = phr_index_i_logs(n->index, &ix, &nix, n->dep.audit,
				      phr_contracts_audit_trail_audit_logged_event_topic, t1, NULL);
	while (rv == PHR_OK && (i < count || j < nix)) {
		int c = 0;
		if (i >= count)
			c = 1;
		else if (j >= nix)
			c = -1;
		else if (chain[i].block_number != ix[j].block_number)
			c = chain[i].block_number < ix[j].block_number ? -1 : 1;
		else if (chain[i].log_index != ix[j].log_index)
			c = chain[i].log_index < ix[j].log_index ? -1 : 1;
		if (c < 0) {
			if (json_array_append_new(missing, json_integer(log_seq(&chain[i]))) != 0)
				rv = PHR_ERR_NOMEM;
			i++;
		} else if (c > 0) {
			if (json_array_append_new(extra, json_integer(log_seq(&ix[j]))) != 0)
				rv = PHR_ERR_NOMEM;
			j++;
		} else {
			if (!same_log(&chain[i], &ix[j]) &&
			    json_array_append_new(modified, json_integer(log_seq(&chain[i]))) != 0)
				rv = PHR_ERR_NOMEM;
			i++, j++;
		}
	}
	if (rv == PHR_OK && json_array_size(missing) > 0)
		rv = problem(probs, "%llu audit rows missing from the node's index",
			     (unsigned long long)json_array_size(missing));
	if (rv == PHR_OK && json_array_size(modified) > 0)
		rv = problem(probs, "%llu audit rows of the node's index differ from the chain",
			     (unsigned long long)json_array_size(modified));
	if (rv == PHR_OK && json_array_size(extra) > 0)
		rv = problem(probs, "%llu audit rows in the node's index that the chain does not have",
			     (unsigned long long)json_array_size(extra));
	if (rv == PHR_OK &&
	    (json_object_set_new(p, "indexRows", json_integer((json_int_t)nix)) != 0 ||
	     json_object_set(p, "missing", missing) != 0 ||
	     json_object_set(p, "modified", modified) != 0 ||
	     json_object_set(p, "extra", extra) != 0))
		rv = PHR_ERR_NOMEM;
	json_decref(missing);
	json_decref(modified);
	json_decref(extra);
	phr_chain_logs_free(ix, nix);
	return rv;
}

static int verify_patient(struct phr_node *n, json_t *patients, const uint8_t patient[20],
			  size_t *nprob)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	json_t *p, *probs;
	int rv;

	if ((rv = audit_logs_chain(n, &logs, &count, patient)) != PHR_OK)
		return rv;
	p = json_pack("{s:o,s:I,s:[]}", "patient", phr_node_i_jaddr(patient), "entries",
		      (json_int_t)count, "problems");
	if (p == NULL || json_array_append_new(patients, p) != 0) {
		phr_chain_logs_free(logs, count);
		return PHR_ERR_NOMEM;
	}
	probs = json_object_get(p, "problems");
	rv = verify_chain(n, p, patient, logs, count, probs);
	if (rv == PHR_OK && n->index != NULL && !n->index_off)
		rv = verify_index(n, p, patient, logs, count, probs);
	phr_chain_logs_free(logs, count);
	*nprob += json_array_size(probs);
	return rv;
}

int phr_compliance_audit_verify(struct phr_node *n, json_t **report, const uint8_t *patient)
{
	struct phr_chain_log *all = NULL;
	size_t count = 0, nprob = 0, checked = 0;
	json_t *r, *patients;
	int rv;

	/* the index catches up first: what it lacks after that, it lost */
	if (n->index != NULL && !n->index_off && (rv = phr_node_index_sync(n)) != PHR_OK)
		return rv;
	r = json_pack("{s:[]}", "patients");
	if (r == NULL)
		return PHR_ERR_NOMEM;
	patients = json_object_get(r, "patients");
	if (patient != NULL) {
		rv = verify_patient(n, patients, patient, &nprob);
		checked = 1;
	} else {
		rv = audit_logs_chain(n, &all, &count, NULL);
		for (size_t i = 0; rv == PHR_OK && i < count; i++) {
			bool seen = false;
			if (all[i].topics_count < 2)
				continue;
			for (size_t k = 0; k < i && !seen; k++)
				seen = all[k].topics_count >= 2 &&
				       memcmp(all[k].topics[1], all[i].topics[1], 32) == 0;
			if (seen)
				continue;
			rv = verify_patient(n, patients, all[i].topics[1] + 12, &nprob);
			checked++;
		}
		phr_chain_logs_free(all, count);
	}
	if (rv == PHR_OK &&
	    (json_object_set_new(r, "ok", json_boolean(nprob == 0)) != 0 ||
	     json_object_set_new(r, "checked", json_integer((json_int_t)checked)) != 0 ||
	     json_object_set_new(r, "problems", json_integer((json_int_t)nprob)) != 0))
		rv = PHR_ERR_NOMEM;
	if (rv != PHR_OK) {
		json_decref(r);
		return rv;
	}
	*report = r;
	return PHR_OK;
}

/* --- access anomaly ------------------------------------------------------------------- */

void phr_compliance_anomaly_defaults(struct phr_compliance_anomaly_rule *r)
{
	r->window = 86400;
	r->baseline = 30 * 86400;
	r->min_records = 20;
	r->factor = 5;
}

/* One actor's reads: distinct records in the window and in the baseline. */
struct actor_reads {
	uint8_t actor[20];
	struct phr_u256 *recent, *before;
	size_t n_recent, n_before;
	uint8_t (*patients)[20];
	size_t n_patients;
};

static bool add_unique_id(struct phr_u256 **v, size_t *n, const struct phr_u256 *id, int *rv)
{
	struct phr_u256 *nv;

	for (size_t i = 0; i < *n; i++)
		if (phr_u256_cmp(&(*v)[i], id) == 0)
			return false;
	if ((nv = phr_realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		*rv = PHR_ERR_NOMEM;
		return false;
	}
	*v = nv;
	nv[(*n)++] = *id;
	return true;
}

static void add_unique_patient(struct actor_reads *a, const uint8_t p[20], int *rv)
{
	uint8_t(*nv)[20];

	for (size_t i = 0; i < a->n_patients; i++)
		if (memcmp(a->patients[i], p, 20) == 0)
			return;
	if ((nv = phr_realloc(a->patients, (a->n_patients + 1) * 20)) == NULL) {
		*rv = PHR_ERR_NOMEM;
		return;
	}
	a->patients = nv;
	memcpy(nv[a->n_patients++], p, 20);
}

static struct actor_reads *actor_slot(struct actor_reads **v, size_t *n, const uint8_t actor[20],
				      int *rv)
{
	struct actor_reads *nv;

	for (size_t i = 0; i < *n; i++)
		if (memcmp((*v)[i].actor, actor, 20) == 0)
			return &(*v)[i];
	if ((nv = phr_realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		*rv = PHR_ERR_NOMEM;
		return NULL;
	}
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	memcpy(nv[*n].actor, actor, 20);
	return &nv[(*n)++];
}

/* Actors notified recently: a finding is notified once per window, not at every scan. */
#define NOTIFIED_MAX 64
static struct {
	pthread_mutex_t mu;
	uint8_t actor[NOTIFIED_MAX][20];
	uint64_t at[NOTIFIED_MAX];
	size_t next;
} notified = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Whether @p actor was notified less than @p window ago; if not, remembers it now. */
static bool recently_notified(const uint8_t actor[20], uint64_t now, uint64_t window)
{
	bool recent = false;

	pthread_mutex_lock(&notified.mu);
	for (size_t i = 0; i < NOTIFIED_MAX && !recent; i++)
		recent = notified.at[i] != 0 && memcmp(notified.actor[i], actor, 20) == 0 &&
			 notified.at[i] + window > now;
	if (!recent) {
		memcpy(notified.actor[notified.next], actor, 20);
		notified.at[notified.next] = now;
		notified.next = (notified.next + 1) % NOTIFIED_MAX;
	}
	pthread_mutex_unlock(&notified.mu);
	return recent;
}

static int anomaly_notify(struct phr_node *n, const struct actor_reads *a, const json_t *finding,
			  const uint8_t *officer)
{
	/* no patient list in what is sent: one patient must not learn of another */
	json_t *pay = json_pack("{s:O,s:O,s:O,s:O}", "actor", json_object_get(finding, "actor"),
				"records", json_object_get(finding, "records"), "window",
				json_object_get(finding, "window"), "rule",
				json_object_get(finding, "rule"));
	int rv = pay != NULL ? PHR_OK : PHR_ERR_NOMEM;

	for (size_t i = 0; rv == PHR_OK && i < a->n_patients; i++)
		rv = phr_notify(n, a->patients[i], "anomaly", pay);
	if (rv == PHR_OK && officer != NULL)
		rv = phr_notify(n, officer, "anomaly", pay);
	json_decref(pay);
	return rv;
}

int phr_compliance_anomaly_scan(struct phr_node *n, json_t **out,
				const struct phr_compliance_anomaly_rule *r, const uint8_t *officer)
{
	struct phr_chain_log *logs = NULL;
	struct actor_reads *actors = NULL;
	size_t count = 0, na = 0;
	uint64_t now = 0, wstart, bstart;
	json_t *arr = NULL;
	int rv;

	if (r == NULL || r->window == 0 || r->factor == 0)
		return PHR_ERR_INVALID;
	if ((rv = phr_node_chain_time(n, &now)) != PHR_OK)
		return rv;
	wstart = now > r->window ? now - r->window : 0;
	bstart = wstart > r->baseline ? wstart - r->baseline : 0;
	rv = audit_logs_indexed(n, &logs, &count, NULL);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_audit_trail_audit_logged_event ev;
		struct actor_reads *a;
		if (decode_audit(&ev, &logs[i]) != PHR_OK || !is_disclosure(&ev) ||
		    ev.time < bstart || phr_u256_is_zero(&ev.record_id))
			continue;
		if ((a = actor_slot(&actors, &na, ev.accessor, &rv)) == NULL)
			break;
		if (ev.time >= wstart) {
			add_unique_id(&a->recent, &a->n_recent, &ev.record_id, &rv);
			add_unique_patient(a, ev.patient, &rv);
		} else {
			add_unique_id(&a->before, &a->n_before, &ev.record_id, &rv);
		}
	}
	phr_chain_logs_free(logs, count);
	if (rv == PHR_OK && (arr = json_array()) == NULL)
		rv = PHR_ERR_NOMEM;
	for (size_t i = 0; rv == PHR_OK && i < na; i++) {
		struct actor_reads *a = &actors[i];
		/* usual distinct records per window over the baseline (at least 1) */
		double periods = r->baseline > 0 ? (double)r->baseline / (double)r->window : 1.0;
		double usual = (double)a->n_before / (periods > 1.0 ? periods : 1.0);
		json_t *f, *pl;
		if (usual < 1.0)
			usual = 1.0;
		if (a->n_recent < r->min_records || (double)a->n_recent <= usual * r->factor)
			continue;
		pl = json_array();
		for (size_t k = 0; pl != NULL && k < a->n_patients; k++)
			json_array_append_new(pl, phr_node_i_jaddr(a->patients[k]));
		f = json_pack("{s:o,s:I,s:f,s:I,s:o,s:s}", "actor", phr_node_i_jaddr(a->actor),
			      "records", (json_int_t)a->n_recent, "baselinePerWindow", usual,
			      "window", (json_int_t)r->window, "patients", pl, "rule",
			      "distinct records read in the window >= minRecords and > factor x usual");
		if (f == NULL || json_array_append_new(arr, f) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		if (recently_notified(a->actor, now, r->window)) {
			json_object_set_new(f, "notified", json_false());
			continue;
		}
		json_object_set_new(f, "notified", json_true());
		phr_log_warn("compliance", "access anomaly: an actor read %zu records in %llu s",
			     a->n_recent, (unsigned long long)r->window);
		rv = anomaly_notify(n, a, f, officer);
	}
	for (size_t i = 0; i < na; i++) {
		phr_free(actors[i].recent);
		phr_free(actors[i].before);
		phr_free(actors[i].patients);
	}
	phr_free(actors);
	if (rv != PHR_OK) {
		json_decref(arr);
		return rv;
	}
	*out = arr;
	return PHR_OK;
}
