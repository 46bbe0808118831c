/*
 * Consent as FHIR: a patient's Consent resource becomes grants and
 * revocations on chain (denies override permits); grants read back as
 * Consent resources; "explain access" follows PatientRegistry.canAccess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/compliance.h"
#include "phr/contracts.h"
#include "phr/json.h"
#include "phr_int.h"

#define ONE_YEAR ((uint64_t)365 * 86400)
#define CS_ACT_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define CS_CONSENT_ACTION "http://terminology.hl7.org/CodeSystem/consentaction"
#define SYS_RTYPE "urn:phr:record-type"
#define SYS_RECORD "urn:phr:record"

/* --- parsing ------------------------------------------------------------------------ */

/* urn:ethereum:0x<40 hex> -> address */
static bool eth_urn(uint8_t addr[20], const char *s)
{
	static const char pre[] = "urn:ethereum:";

	if (s == NULL || strncmp(s, pre, sizeof(pre) - 1) != 0)
		return false;
	s += sizeof(pre) - 1;
	if (strlen(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	return phr_hex_decode_exact(addr, 20, s + 2) == PHR_OK;
}

/* reference.identifier.value of an object holding "reference" or "identifier" */
static const char *ident_value(const json_t *ref, const char **system)
{
	const json_t *id = json_object_get(ref, "identifier");

	if (system != NULL)
		*system = json_string_value(json_object_get(id, "system"));
	return json_string_value(json_object_get(id, "value"));
}

/* FHIR dateTime or date (UTC or with an offset) -> Unix seconds */
static int fhir_time(uint64_t *out, const char *s)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh = 0, om = 0;
	long long t;
	const char *p;

	if (s == NULL)
		return PHR_ERR_PARSE;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return PHR_ERR_PARSE;
	p = s + 10;
	if (*p == 'T') {
		n = 0;
		if (sscanf(p, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 9)
			return PHR_ERR_PARSE;
		p += 9;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			n = 0;
			if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
				return PHR_ERR_PARSE;
			if (*p == '-')
				oh = -oh, om = -om;
			p += 6;
		} else {
			return PHR_ERR_PARSE;
		}
	}
	if (*p != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || oh > 14 || oh < -14)
		return PHR_ERR_PARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm) - (long long)oh * 3600 - (long long)om * 60;
	if (t < 0)
		return PHR_ERR_PARSE;
	*out = (uint64_t)t;
	return PHR_OK;
}

static int rtype_code(unsigned *t, const char *code)
{
	uint64_t v;

	if (code == NULL)
		return PHR_ERR_PARSE;
	if (phr_parse_u64(&v, code) == PHR_OK) {
		if (v > PHR_RECORD_TYPE_MAX)
			return PHR_ERR_PARSE;
		*t = (unsigned)v;
		return PHR_OK;
	}
	for (unsigned i = 0; i <= PHR_RECORD_TYPE_MAX; i++)
		if (strcmp(phr_compliance_record_type_name(i), code) == 0) {
			*t = i;
			return PHR_OK;
		}
	return PHR_ERR_PARSE;
}

static unsigned purpose_code(const char *code)
{
	static const char *const codes[] = { "", "TREAT", "HPAYMT", "HOPERAT",
					      "ETREAT", "HRESCH", "PATRQT", "HLEGAL" };

	for (unsigned i = 1; code != NULL && i < PHR_ARRAY_LEN(codes); i++)
		if (strcmp(codes[i], code) == 0)
			return i;
	return 0;
}

/* What a provision node says, with what it inherits from its parent. */
struct prov_ctx {
	bool permit;
	uint64_t end;   /* 0: none */
	bool has_scope;
	uint8_t scope[32];
	enum phr_level level;
	unsigned purpose;
};

static int prov_scope(struct prov_ctx *c, const json_t *prov)
{
	const json_t *cls = json_object_get(prov, "class"), *data = json_object_get(prov, "data");
	size_t i;
	json_t *e;

	if ((cls != NULL && !json_is_array(cls)) || (data != NULL && !json_is_array(data)))
		return PHR_ERR_PARSE;
	if (json_array_size(cls) + json_array_size(data) > 1)
		return PHR_ERR_PARSE; /* one scope per provision: split it into nested ones */
	json_array_foreach(cls, i, e) {
		unsigned t;
		const char *sys = json_string_value(json_object_get(e, "system"));
		if (sys == NULL || strcmp(sys, SYS_RTYPE) != 0 ||
		    rtype_code(&t, json_string_value(json_object_get(e, "code"))) != PHR_OK)
			return PHR_ERR_PARSE;
		phr_scope_category(c->scope, t);
		c->has_scope = true;
	}
	json_array_foreach(data, i, e) {
		const char *sys = NULL, *v = ident_value(json_object_get(e, "reference"), &sys);
		struct phr_u256 id;
		if (v == NULL || sys == NULL || strcmp(sys, SYS_RECORD) != 0 ||
		    phr_u256_parse(&id, v) != 0 || phr_u256_is_zero(&id))
			return PHR_ERR_PARSE;
		phr_scope_record(c->scope, &id);
		c->has_scope = true;
	}
	return PHR_OK;
}

static int prov_fields(struct prov_ctx *c, const json_t *prov)
{
	const json_t *type = json_object_get(prov, "type"), *period = json_object_get(prov, "period");
	const json_t *action = json_object_get(prov, "action"), *purpose = json_object_get(prov, "purpose");
	size_t i, k;
	json_t *e, *cd;

	if (type != NULL) {
		const char *t = json_string_value(type);
		if (t == NULL || (strcmp(t, "permit") != 0 && strcmp(t, "deny") != 0))
			return PHR_ERR_PARSE;
		c->permit = t[0] == 'p';
	}
	if (period != NULL) {
		const json_t *end = json_object_get(period, "end");
		if (!json_is_object(period))
			return PHR_ERR_PARSE;
		if (end != NULL && fhir_time(&c->end, json_string_value(end)) != PHR_OK)
			return PHR_ERR_PARSE;
	}
	if (action != NULL && !json_is_array(action))
		return PHR_ERR_PARSE;
	json_array_foreach(action, i, e) {
		json_array_foreach(json_object_get(e, "coding"), k, cd) {
			const char *code = json_string_value(json_object_get(cd, "code"));
			if (code != NULL && strcmp(code, "correct") == 0)
				c->level = PHR_LEVEL_WRITE;
		}
	}
	if (purpose != NULL && !json_is_array(purpose))
		return PHR_ERR_PARSE;
	json_array_foreach(purpose, i, e) {
		const char *sys = json_string_value(json_object_get(e, "system"));
		if (sys != NULL && strcmp(sys, CS_ACT_REASON) == 0 && c->purpose == 0)
			c->purpose = purpose_code(json_string_value(json_object_get(e, "code")));
	}
	return prov_scope(c, prov);
}

struct parse_state {
	struct phr_consent_op *ops;
	size_t n;
	uint64_t now;
	bool withdraw;
};

static int prov_walk(struct parse_state *ps, const json_t *prov, struct prov_ctx c, int depth)
{
	const json_t *actors = json_object_get(prov, "actor"), *nested = json_object_get(prov, "provision");
	size_t i;
	json_t *e;
	int rv;

	if (!json_is_object(prov) || depth > 4)
		return PHR_ERR_PARSE;
	if ((rv = prov_fields(&c, prov)) != PHR_OK)
		return rv;
	if ((actors != NULL && !json_is_array(actors)) || (nested != NULL && !json_is_array(nested)))
		return PHR_ERR_PARSE;
	json_array_foreach(actors, i, e) {
		struct phr_consent_op *op;
		if (ps->n >= PHR_CONSENT_MAX_OPS)
			return PHR_ERR_TOO_LARGE;
		op = &ps->ops[ps->n];
		memset(op, 0, sizeof(*op));
		if (!eth_urn(op->actor, ident_value(json_object_get(e, "reference"), NULL)))
			return PHR_ERR_PARSE;
		op->permit = c.permit && !ps->withdraw;
		if (c.has_scope)
			memcpy(op->scope, c.scope, 32);
		else
			phr_scope_all(op->scope);
		op->level = c.level;
		op->expiry = c.end != 0 ? c.end : ps->now + ONE_YEAR;
		op->purpose = c.purpose;
		if (op->permit && op->expiry <= ps->now)
			op->permit = false; /* a permit already over ends the grant */
		ps->n++;
	}
	json_array_foreach(nested, i, e)
		if ((rv = prov_walk(ps, e, c, depth + 1)) != PHR_OK)
			return rv;
	return PHR_OK;
}

/* Whether two scopes overlap; a record scope against a category needs the record's type
 * (@p rtype_of, -1 unknown: counted as overlapping). */
static bool scopes_overlap(const uint8_t a[32], const uint8_t b[32], int rtype_a, int rtype_b)
{
	if (a[0] == 0 || b[0] == 0 || memcmp(a, b, 32) == 0)
		return true;
	if (a[0] == 1 && b[0] == 2)
		return rtype_b < 0 || (unsigned)rtype_b == a[31];
	if (a[0] == 2 && b[0] == 1)
		return rtype_a < 0 || (unsigned)rtype_a == b[31];
	return false;
}

int phr_consent_parse(struct phr_consent_op *ops, size_t *n_ops, const json_t *consent,
		      const uint8_t patient[20], uint64_t now)
{
	struct parse_state ps = { .ops = ops, .now = now };
	struct prov_ctx root = { .permit = false, .level = PHR_LEVEL_READ };
	const char *rt = json_string_value(json_object_get(consent, "resourceType"));
	const char *status = json_string_value(json_object_get(consent, "status"));
	const json_t *prov = json_object_get(consent, "provision");
	uint8_t who[20];
	int rv;

	*n_ops = 0;
	if (!json_is_object(consent) || rt == NULL || strcmp(rt, "Consent") != 0 || status == NULL ||
	    !json_is_object(prov))
		return PHR_ERR_PARSE;
	if (!eth_urn(who, ident_value(json_object_get(consent, "patient"), NULL)))
		return PHR_ERR_PARSE;
	if (memcmp(who, patient, 20) != 0)
		return PHR_ERR_FORBIDDEN;
	if (strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0 &&
	    strcmp(status, "rejected") != 0 && strcmp(status, "draft") != 0 &&
	    strcmp(status, "proposed") != 0 && strcmp(status, "entered-in-error") != 0)
		return PHR_ERR_PARSE;
	ps.withdraw = strcmp(status, "active") != 0;
	if ((rv = prov_walk(&ps, prov, root, 0)) != PHR_OK)
		return rv;
	/* denies override: a permit overlapping a deny of the same actor is not applied */
	for (size_t i = 0; i < ps.n; i++)
		for (size_t j = 0; j < ps.n && ops[i].permit && !ops[i].overridden; j++)
			ops[i].overridden = !ops[j].permit &&
					    memcmp(ops[i].actor, ops[j].actor, 20) == 0 &&
					    scopes_overlap(ops[i].scope, ops[j].scope, -1, -1);
	*n_ops = ps.n;
	return PHR_OK;
}

/* --- applying -------------------------------------------------------------------------- */

static json_t *op_json(const struct phr_consent_op *op, const char *what)
{
	return json_pack("{s:s,s:o,s:o,s:I,s:I,s:s}", "op", what, "actor",
			 phr_node_i_jaddr(op->actor), "scope", phr_node_i_jhex(op->scope, 32),
			 "level", (json_int_t)op->level, "expiry", (json_int_t)op->expiry, "purpose",
			 phr_compliance_purpose_name(op->purpose));
}

/* Record type of a record scope's token (-1 when not live). */
static int scope_rtype(struct phr_node *n, const uint8_t scope[32])
{
	struct phr_record_meta m;
	struct phr_u256 id;
	uint8_t be[32];

	if (scope[0] != 2)
		return -1;
	memcpy(be, scope, 32);
	be[0] = 0;
	phr_u256_from_be(&id, be);
	return phr_node_record_meta(n, &m, &id) == PHR_OK ? (int)m.rtype : -1;
}

/* Revokes every active grant of op->actor whose scope overlaps op->scope. */
static int apply_deny(struct phr_node *n, json_t *applied, const struct phr_identity *patient,
		      const struct phr_consent_op *op)
{
	json_t *grants = NULL, *g;
	size_t i;
	int rv = phr_node_grants_list(n, &grants, patient->address);

	json_array_foreach(grants, i, g) {
		struct phr_consent_op r = *op;
		uint8_t prov[20];
		const char *ps = json_string_value(json_object_get(g, "provider"));
		const char *ss = json_string_value(json_object_get(g, "scope"));
		if (rv != PHR_OK)
			break;
		if (!json_is_true(json_object_get(g, "active")) || ps == NULL || ss == NULL ||
		    strlen(ps) != 42 || strlen(ss) != 66 || phr_hex_decode_exact(prov, 20, ps + 2) != PHR_OK ||
		    memcmp(prov, op->actor, 20) != 0 || phr_hex_decode_exact(r.scope, 32, ss + 2) != PHR_OK)
			continue;
		if (!scopes_overlap(op->scope, r.scope, scope_rtype(n, op->scope),
				    scope_rtype(n, r.scope)))
			continue;
		rv = phr_node_access_revoke(n, patient, op->actor, r.scope);
		if (rv == PHR_OK && json_array_append_new(applied, op_json(&r, "revoke")) != 0)
			rv = PHR_ERR_NOMEM;
	}
	json_decref(grants);
	return rv;
}

int phr_consent_apply(struct phr_node *n, json_t **outcome, const struct phr_identity *patient,
		      const json_t *consent)
{
	struct phr_consent_op *ops = phr_calloc(PHR_CONSENT_MAX_OPS, sizeof(*ops));
	json_t *applied = json_array(), *over = json_array();
	size_t n_ops = 0;
	uint64_t now = 0;
	int rv = ops != NULL && applied != NULL && over != NULL ? PHR_OK : PHR_ERR_NOMEM;

	if (rv == PHR_OK)
		rv = phr_node_chain_time(n, &now);
	if (rv == PHR_OK)
		rv = phr_consent_parse(ops, &n_ops, consent, patient->address, now);
	for (size_t i = 0; rv == PHR_OK && i < n_ops; i++)
		if (!ops[i].permit)
			rv = apply_deny(n, applied, patient, &ops[i]);
	for (size_t i = 0; rv == PHR_OK && i < n_ops; i++) {
		if (!ops[i].permit)
			continue;
		if (ops[i].overridden) {
			if (json_array_append_new(over, op_json(&ops[i], "grant")) != 0)
				rv = PHR_ERR_NOMEM;
			continue;
		}
		rv = phr_node_access_grant(n, patient, ops[i].actor, ops[i].level, ops[i].scope,
					   ops[i].expiry);
		if (rv == PHR_OK && json_array_append_new(applied, op_json(&ops[i], "grant")) != 0)
			rv = PHR_ERR_NOMEM;
	}
	phr_free(ops);
	if (rv == PHR_OK && outcome != NULL) {
		*outcome = json_pack("{s:O,s:O}", "applied", applied, "overridden", over);
		if (*outcome == NULL)
			rv = PHR_ERR_NOMEM;
	}
	json_decref(applied);
	json_decref(over);
	return rv;
}

/* --- grants as Consent ------------------------------------------------------------------- */

static json_t *grant_consent(const uint8_t patient[20], const json_t *g)
{
	const char *prov = json_string_value(json_object_get(g, "provider"));
	const char *scope = json_string_value(json_object_get(g, "scope"));
	json_int_t level = json_integer_value(json_object_get(g, "level"));
	json_int_t expiry = json_integer_value(json_object_get(g, "expiry"));
	bool active = json_is_true(json_object_get(g, "active"));
	char pv[64], av[64], end[32], id[160];
	uint8_t sc[32];
	json_t *c, *provision;
	struct tm tm;
	time_t t = (time_t)expiry;
	json_t *pj = phr_node_i_jaddr(patient);

	if (prov == NULL || scope == NULL || pj == NULL || strlen(scope) != 66 ||
	    phr_hex_decode_exact(sc, 32, scope + 2) != PHR_OK) {
		json_decref(pj);
		return NULL;
	}
	snprintf(pv, sizeof(pv), "urn:ethereum:%s", json_string_value(pj));
	json_decref(pj);
	snprintf(av, sizeof(av), "urn:ethereum:%s", prov);
	if (gmtime_r(&t, &tm) == NULL || strftime(end, sizeof(end), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(end, sizeof(end), "1970-01-01T00:00:00Z");
	snprintf(id, sizeof(id), "grant-%.12s-%.12s-%.8s", pv + 15, prov + 2, scope + 58);
	provision = json_pack(
		"{s:s,s:{s:s},s:[{s:{s:[{s:s,s:s}]},s:{s:{s:s,s:s}}}],s:[{s:[{s:s,s:s}]}]}", "type",
		"permit", "period", "end", end, "actor", "role", "coding", "system",
		"http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code", "IRCP",
		"reference", "identifier", "system", "urn:ietf:rfc:3986", "value", av, "action",
		"coding", "system", CS_CONSENT_ACTION, "code", level >= 2 ? "correct" : "access");
	if (provision != NULL && sc[0] == 1)
		json_object_set_new(provision, "class",
				    json_pack("[{s:s,s:s}]", "system", SYS_RTYPE, "code",
					      phr_compliance_record_type_name(sc[31])));
	if (provision != NULL && sc[0] == 2) {
		struct phr_u256 rid;
		char dec[PHR_U256_DEC_LEN];
		sc[0] = 0;
		phr_u256_from_be(&rid, sc);
		phr_u256_to_dec(dec, &rid);
		json_object_set_new(provision, "data",
				    json_pack("[{s:s,s:{s:{s:s,s:s}}}]", "meaning", "instance",
					      "reference", "identifier", "system", SYS_RECORD,
					      "value", dec));
	}
	c = json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}]},s:[{s:[{s:s,s:s}]}],s:{s:{s:s,s:s}},s:o}",
		      "resourceType", "Consent", "id", id, "status", active ? "active" : "inactive",
		      "scope", "coding", "system",
		      "http://terminology.hl7.org/CodeSystem/consentscope", "code", "patient-privacy",
		      "category", "coding", "system", "http://loinc.org", "code", "59284-0",
		      "patient", "identifier", "system", "urn:ietf:rfc:3986", "value", pv,
		      "provision", provision);
	return c;
}

int phr_consent_from_grants(struct phr_node *n, json_t **bundle, const uint8_t patient[20])
{
	json_t *grants = NULL, *b, *entries, *g;
	size_t i;
	int rv = phr_node_grants_list(n, &grants, patient);

	if (rv != PHR_OK)
		return rv;
	b = json_pack("{s:s,s:s,s:I,s:[]}", "resourceType", "Bundle", "type", "searchset", "total",
		      (json_int_t)json_array_size(grants), "entry");
	if (b == NULL) {
		json_decref(grants);
		return PHR_ERR_NOMEM;
	}
	entries = json_object_get(b, "entry");
	json_array_foreach(grants, i, g) {
		json_t *c = grant_consent(patient, g), *e;
		char url[200];
		if (c == NULL) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		snprintf(url, sizeof(url), "urn:phr:consent:%s",
			 json_string_value(json_object_get(c, "id")));
		e = json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource", c, "search", "mode",
			      "match");
		if (e == NULL || json_array_append_new(entries, e) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
	}
	json_decref(grants);
	if (rv != PHR_OK) {
		json_decref(b);
		return rv;
	}
	*bundle = b;
	return PHR_OK;
}

/* --- explain ---------------------------------------------------------------------------------- */

static int view(struct phr_node *n, struct phr_buf *res, const uint8_t to[20], struct phr_buf *cd)
{
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_call(n, res, NULL, to, cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_reset(cd);
	return rv;
}

static const char *scope_kind(const uint8_t s[32])
{
	return s[0] == 0 ? "all records" : s[0] == 1 ? "record category" : "one record";
}

static json_t *explained(bool allowed, const char *rule, const char *detail, bool chain)
{
	return json_pack("{s:b,s:s,s:s,s:b}", "allowed", allowed, "rule", rule, "detail", detail,
			 "chain", chain);
}

int phr_compliance_explain(struct phr_node *n, json_t **out, const uint8_t actor[20],
			   const struct phr_u256 *record)
{
	struct phr_record_meta m;
	struct phr_buf cd, res;
	uint8_t owner[20], scopes[3][32], grantor[20];
	uint64_t now = 0, level, expiry;
	bool chain = false, b = false, any_expired = false, revoked = false;
	json_t *o = NULL, *grants = NULL, *g;
	size_t i;
	int rv = phr_node_record_meta(n, &m, record);

	if (rv == PHR_ERR_NOT_FOUND) {
		*out = explained(false, "no-live-record",
				 "no live record token with this id (never minted, or erased)", false);
		return *out != NULL ? PHR_OK : PHR_ERR_NOMEM;
	}
	if (rv != PHR_OK)
		return rv;
	if ((rv = phr_node_can_access(n, &chain, NULL, actor, record, PHR_LEVEL_READ)) != PHR_OK ||
	    (rv = phr_node_chain_time(n, &now)) != PHR_OK)
		return rv;
	phr_buf_init(&cd, 0);
	phr_buf_init(&res, 0);
	/* 1. the patient's owner */
	rv = phr_contracts_patient_registry_owner_of_patient_encode(&cd, m.patient);
	if (rv == PHR_OK)
		rv = view(n, &res, n->dep.registry, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_owner_of_patient_decode(owner, res.data, res.len);
	if (rv != PHR_OK)
		goto done;
	if (memcmp(owner, actor, 20) == 0) {
		o = explained(true, "patient-owner", "the actor owns the patient's account", chain);
		goto done;
	}
	/* 2. an open break-glass session */
	rv = phr_contracts_emergency_access_is_active_encode(&cd, m.patient, actor);
	if (rv == PHR_OK)
		rv = view(n, &res, n->dep.emergency, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_emergency_access_is_active_decode(&b, res.data, res.len);
	if (rv != PHR_OK)
		goto done;
	if (b) {
		o = explained(true, "break-glass",
			      "an emergency (break-glass) session of this provider is open", chain);
		goto done;
	}
	/* 3. a verified provider */
	rv = phr_contracts_provider_registry_is_verified_encode(&cd, actor);
	if (rv == PHR_OK)
		rv = view(n, &res, n->dep.providers, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_provider_registry_is_verified_decode(&b, res.data, res.len);
	if (rv != PHR_OK)
		goto done;
	if (!b) {
		o = explained(false, "not-a-verified-provider",
			      "only verified providers hold grants (licence, authority)", chain);
		goto done;
	}
	/* 4. a grant on all records, the category or the record */
	phr_scope_all(scopes[0]);
	phr_scope_category(scopes[1], m.rtype);
	phr_scope_record(scopes[2], record);
	for (int k = 0; k < 3 && o == NULL; k++) {
		rv = phr_contracts_patient_registry_grant_of_encode(&cd, m.patient, actor, scopes[k]);
		if (rv == PHR_OK)
			rv = view(n, &res, n->dep.registry, &cd);
		if (rv == PHR_OK)
			rv = phr_contracts_patient_registry_grant_of_decode(&level, &expiry, grantor,
									    res.data, res.len);
		if (rv != PHR_OK)
			goto done;
		if (level >= PHR_LEVEL_READ && expiry > now) {
			o = explained(true, "grant", "a grant of the patient covers the record", chain);
			if (o != NULL)
				json_object_set_new(
					o, "grant",
					json_pack("{s:o,s:s,s:I,s:I,s:o}", "scope",
						  phr_node_i_jhex(scopes[k], 32), "scopeKind",
						  scope_kind(scopes[k]), "level", (json_int_t)level,
						  "expiry", (json_int_t)expiry, "grantor",
						  phr_node_i_jaddr(grantor)));
		} else if (level >= PHR_LEVEL_READ) {
			any_expired = true;
		}
	}
	if (o != NULL)
		goto done;
	/* 5. why not: expired, revoked, or never granted */
	if ((rv = phr_node_grants_list(n, &grants, m.patient)) != PHR_OK)
		goto done;
	json_array_foreach(grants, i, g) {
		const char *ps = json_string_value(json_object_get(g, "provider"));
		uint8_t p[20];
		if (ps != NULL && strlen(ps) == 42 && phr_hex_decode_exact(p, 20, ps + 2) == PHR_OK &&
		    memcmp(p, actor, 20) == 0 &&
		    strcmp(json_string_value(json_object_get(g, "state")), "revoked") == 0)
			revoked = true;
	}
	json_decref(grants);
	if (any_expired)
		o = explained(false, "grant-expired", "the actor's grant has expired", chain);
	else if (revoked)
		o = explained(false, "grant-revoked",
			      "the patient revoked the actor's grant (or a Consent deny did)", chain);
	else
		o = explained(false, "no-grant", "no grant of the patient covers the record", chain);
done:
	phr_buf_release(&cd);
	phr_buf_release(&res);
	if (rv == PHR_OK && o == NULL)
		rv = PHR_ERR_NOMEM;
	if (rv != PHR_OK) {
		json_decref(o);
		return rv;
	}
	json_object_set_new(o, "patient", phr_node_i_jaddr(m.patient));
	json_object_set_new(o, "recordType", json_string(phr_compliance_record_type_name(m.rtype)));
	*out = o;
	return PHR_OK;
}
