/*
 * Retention and deletion policies per record type and for grants, and the
 * node's compliance job (erasure honouring, retention, anomaly rule).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/compliance.h"
#include "phr/contracts.h"
#include "phr/json.h"
#include "phr_int.h"

int phr_retention_policy_from_json(struct phr_retention_policy *p, const json_t *j)
{
	const char *key;
	json_t *v, *recs;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j))
		return PHR_ERR_PARSE;
	json_object_foreach((json_t *)j, key, v) {
		if (strcmp(key, "records") != 0 && strcmp(key, "grants") != 0)
			return PHR_ERR_PARSE;
	}
	v = json_object_get(j, "grants");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return PHR_ERR_PARSE;
		p->grant_ttl = (uint64_t)json_integer_value(v);
	}
	recs = json_object_get(j, "records");
	if (recs == NULL)
		return PHR_OK;
	if (!json_is_object(recs))
		return PHR_ERR_PARSE;
	/* the default first, then the types named */
	v = json_object_get(recs, "default");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return PHR_ERR_PARSE;
		for (unsigned t = 0; t <= PHR_RECORD_TYPE_MAX; t++)
			p->record_ttl[t] = (uint64_t)json_integer_value(v);
	}
	json_object_foreach(recs, key, v) {
		uint64_t num;
		int type = -1;
		if (strcmp(key, "default") == 0)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return PHR_ERR_PARSE;
		if (phr_parse_u64(&num, key) == PHR_OK && num <= PHR_RECORD_TYPE_MAX)
			type = (int)num;
		for (unsigned t = 0; t <= PHR_RECORD_TYPE_MAX && type < 0; t++)
			if (strcmp(phr_compliance_record_type_name(t), key) == 0)
				type = (int)t;
		if (type < 0)
			return PHR_ERR_PARSE;
		p->record_ttl[type] = (uint64_t)json_integer_value(v);
	}
	return PHR_OK;
}

static int add_action(json_t *actions, json_t *o)
{
	if (o == NULL)
		return PHR_ERR_NOMEM;
	if (actions == NULL) {
		json_decref(o);
		return PHR_OK;
	}
	return json_array_append_new(actions, o) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

/* Whether an erasure of @p id was requested already. */
static int requested(struct phr_node *n, bool *yes, bool *held, const struct phr_u256 *id)
{
	json_t *st = NULL;
	int rv = phr_erasure_status(n, &st, id);

	if (rv == PHR_OK) {
		*yes = json_is_true(json_object_get(st, "requested"));
		*held = json_is_true(json_object_get(st, "held"));
	}
	json_decref(st);
	return rv;
}

static int retain_records(struct phr_node *n, struct phr_retention_report *r, json_t *actions,
			  const struct phr_retention_policy *p, const struct phr_identity *signer)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	bool any = false;
	int rv;

	for (unsigned t = 0; t <= PHR_RECORD_TYPE_MAX; t++)
		any = any || p->record_ttl[t] != 0;
	if (!any)
		return PHR_OK;
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, &logs, &count, n->dep.nft,
			     phr_contracts_health_record_nft_record_minted_event_topic, NULL, NULL);
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		struct phr_record_meta m;
		const struct phr_identity *owner;
		bool asked = false, held = false;
		uint64_t ttl;
		const char *what;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		phr_contracts_health_record_nft_record_minted_event_release(&ev);
		ttl = ev.record_type <= PHR_RECORD_TYPE_MAX ? p->record_ttl[ev.record_type] : 0;
		if (ttl == 0 || phr_node_record_meta(n, &m, &ev.token_id) != PHR_OK ||
		    m.created_at + ttl > r->ran_at)
			continue;
		r->records_due++;
		if ((rv = requested(n, &asked, &held, &ev.token_id)) != PHR_OK)
			break;
		owner = phr_node_identity(n, m.patient);
		if (held) {
			r->records_held++;
			what = "kept: legal hold";
		} else if (owner == NULL) {
			r->records_not_hosted++;
			what = "due: the patient is not hosted here";
		} else {
			if (!asked)
				rv = phr_erasure_request(n, owner, &ev.token_id);
			if (rv == PHR_OK) {
				struct phr_erasure_report er = { 0 };
				rv = phr_erasure_honour(n, &er, signer);
				r->honoured += er.honoured;
				r->capsules += er.capsules;
			}
			if (rv == PHR_OK)
				rv = phr_erasure_finish(n, owner, &ev.token_id);
			if (rv != PHR_OK)
				break;
			r->records_erased++;
			what = "erased";
		}
		phr_log_info("retention", "record past its retention (type %s): %s",
			     phr_compliance_record_type_name(m.rtype), what);
		rv = add_action(actions, json_pack("{s:s,s:o,s:o,s:s,s:s}", "kind", "record", "id",
						   phr_node_i_ju256(&ev.token_id), "patient",
						   phr_node_i_jaddr(m.patient), "recordType",
						   phr_compliance_record_type_name(m.rtype), "action",
						   what));
	}
	phr_chain_logs_free(logs, count);
	return rv;
}

/* Timestamp of block @p number. */
static int block_time(struct phr_node *n, uint64_t *t, uint64_t number)
{
	char hex[24];
	json_t *res = NULL;
	const char *ts;
	int rv;

	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)number);
	pthread_mutex_lock(&n->lock);
	rv = phr_chain_request(n->chain, &res, NULL, "eth_getBlockByNumber",
			       json_pack("[s,b]", hex, 0));
	pthread_mutex_unlock(&n->lock);
	ts = rv == PHR_OK ? json_string_value(json_object_get(res, "timestamp")) : NULL;
	if (rv == PHR_OK && (ts == NULL || strncmp(ts, "0x", 2) != 0))
		rv = PHR_ERR_PARSE;
	if (rv == PHR_OK) {
		char *end = NULL;
		unsigned long long v = strtoull(ts + 2, &end, 16);
		if (end == ts + 2 || *end != '\0')
			rv = PHR_ERR_PARSE;
		*t = (uint64_t)v;
	}
	json_decref(res);
	return rv;
}

static int retain_grants(struct phr_node *n, struct phr_retention_report *r, json_t *actions,
			 const struct phr_retention_policy *p)
{
	struct phr_chain_log *logs = NULL;
	size_t count = 0;
	int rv;

	if (p->grant_ttl == 0)
		return PHR_OK;
	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_logs(n, &logs, &count, n->dep.registry,
			     phr_contracts_patient_registry_access_granted_event_topic, NULL, NULL);
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_contracts_patient_registry_access_granted_event ev;
		const struct phr_identity *pat;
		struct phr_buf cd, res;
		uint64_t level = 0, expiry = 0, given = 0;
		uint8_t grantor[20];
		bool later = false;
		const char *what;
		if (phr_contracts_patient_registry_access_granted_event_decode(
			    &ev, (const uint8_t(*)[32])logs[i].topics, logs[i].topics_count,
			    logs[i].data, logs[i].data_len) != PHR_OK)
			continue;
		/* the latest grant of (patient, provider, scope) decides when it was given */
		for (size_t j = i + 1; j < count && !later; j++)
			later = logs[j].topics_count == 4 &&
				memcmp(logs[j].topics[1], logs[i].topics[1], 32) == 0 &&
				memcmp(logs[j].topics[2], logs[i].topics[2], 32) == 0 &&
				memcmp(logs[j].topics[3], logs[i].topics[3], 32) == 0;
		if (later)
			continue;
		phr_buf_init(&cd, 0);
		phr_buf_init(&res, 0);
		rv = phr_contracts_patient_registry_grant_of_encode(&cd, ev.patient, ev.provider,
								     ev.scope);
		if (rv == PHR_OK) {
			pthread_mutex_lock(&n->lock);
			rv = phr_node_i_call(n, &res, NULL, n->dep.registry, &cd);
			pthread_mutex_unlock(&n->lock);
		}
		if (rv == PHR_OK)
			rv = phr_contracts_patient_registry_grant_of_decode(&level, &expiry, grantor,
									    res.data, res.len);
		phr_buf_release(&cd);
		phr_buf_release(&res);
		if (rv != PHR_OK)
			break;
		if (level == 0 || expiry <= r->ran_at)
			continue; /* revoked or expired already */
		if ((rv = block_time(n, &given, logs[i].block_number)) != PHR_OK)
			break;
		if (given + p->grant_ttl > r->ran_at)
			continue;
		r->grants_due++;
		pat = phr_node_identity(n, ev.patient);
		if (pat == NULL) {
			r->grants_not_hosted++;
			what = "due: the patient is not hosted here";
		} else {
			if ((rv = phr_node_access_revoke(n, pat, ev.provider, ev.scope)) != PHR_OK)
				break;
			r->grants_revoked++;
			what = "revoked";
		}
		phr_log_info("retention", "grant past its retention: %s", what);
		rv = add_action(actions, json_pack("{s:s,s:o,s:o,s:o,s:s}", "kind", "grant", "actor",
						   phr_node_i_jaddr(ev.provider), "patient",
						   phr_node_i_jaddr(ev.patient), "scope",
						   phr_node_i_jhex(ev.scope, 32), "action", what));
	}
	phr_chain_logs_free(logs, count);
	return rv;
}

int phr_retention_run(struct phr_node *n, struct phr_retention_report *rep, json_t **actions,
		      const struct phr_retention_policy *p, const struct phr_identity *signer)
{
	struct phr_retention_report r = { 0 };
	json_t *acts = actions != NULL ? json_array() : NULL;
	int rv = actions != NULL && acts == NULL ? PHR_ERR_NOMEM : PHR_OK;

	if (rv == PHR_OK)
		rv = phr_node_chain_time(n, &r.ran_at);
	if (rv == PHR_OK)
		rv = retain_records(n, &r, acts, p, signer);
	if (rv == PHR_OK)
		rv = retain_grants(n, &r, acts, p);
	if (rep != NULL)
		*rep = r;
	if (rv != PHR_OK) {
		json_decref(acts);
		return rv;
	}
	if (actions != NULL)
		*actions = acts;
	return PHR_OK;
}

static int u64_field(uint64_t *v, const json_t *o, const char *key)
{
	const json_t *j = json_object_get(o, key);

	if (j == NULL)
		return PHR_OK;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return PHR_ERR_PARSE;
	*v = (uint64_t)json_integer_value(j);
	return PHR_OK;
}

int phr_compliance_job_config_from_json(struct phr_compliance_job_config *cfg,
					struct phr_node *n, const json_t *conf)
{
	const json_t *c = json_object_get(conf, "compliance"), *r = json_object_get(conf, "retention");
	const json_t *an = json_object_get(c, "anomaly");
	const char *signer = "operator", *officer = NULL;
	const struct phr_identity *aud;
	uint64_t iv = 3600, v;
	int rv = PHR_OK;

	memset(cfg, 0, sizeof(*cfg));
	phr_compliance_anomaly_defaults(&cfg->anomaly);
	if (r != NULL) {
		if ((rv = phr_retention_policy_from_json(&cfg->retention, r)) != PHR_OK)
			return rv;
		cfg->retention_on = true;
	}
	if (c != NULL && !json_is_object(c))
		return PHR_ERR_PARSE;
	if ((rv = u64_field(&iv, c, "interval")) != PHR_OK || iv > 7 * 86400)
		return PHR_ERR_PARSE;
	if (json_object_get(c, "signer") != NULL &&
	    (signer = json_string_value(json_object_get(c, "signer"))) == NULL)
		return PHR_ERR_PARSE;
	if (json_object_get(c, "officer") != NULL &&
	    ((officer = json_string_value(json_object_get(c, "officer"))) == NULL ||
	     strlen(officer) != 42 || phr_hex_decode_exact(cfg->officer, 20, officer + 2) != PHR_OK))
		return PHR_ERR_PARSE;
	cfg->has_officer = officer != NULL;
	if (!cfg->has_officer && (aud = phr_node_identity_by_name(n, "auditor")) != NULL) {
		memcpy(cfg->officer, aud->address, 20);
		cfg->has_officer = true;
	}
	if (an != NULL) {
		if (!json_is_object(an) || u64_field(&cfg->anomaly.window, an, "window") != PHR_OK ||
		    u64_field(&cfg->anomaly.baseline, an, "baseline") != PHR_OK)
			return PHR_ERR_PARSE;
		v = cfg->anomaly.min_records;
		if (u64_field(&v, an, "minRecords") != PHR_OK || v > 1000000)
			return PHR_ERR_PARSE;
		cfg->anomaly.min_records = (unsigned)v;
		v = cfg->anomaly.factor;
		if (u64_field(&v, an, "factor") != PHR_OK || v == 0 || v > 1000000 ||
		    cfg->anomaly.window == 0)
			return PHR_ERR_PARSE;
		cfg->anomaly.factor = (unsigned)v;
	}
	cfg->interval = (unsigned)iv;
	if ((cfg->signer = phr_node_identity_by_name(n, signer)) == NULL)
		return PHR_ERR_NOT_FOUND;
	return iv == 0 ? PHR_ERR_STATE : PHR_OK;
}

/* --- the job ---------------------------------------------------------------------------- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop;
	pthread_t thread;
	struct phr_node *node;
	struct phr_compliance_job_config cfg;
	/* totals and the last pass */
	uint64_t passes, failures, records_erased, records_held, grants_revoked, erasures_honoured,
		capsules_destroyed, anomalies;
	struct phr_retention_report last;
	int last_rv;
} job = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int phr_compliance_job_pass(struct phr_node *n, const struct phr_compliance_job_config *cfg)
{
	struct phr_erasure_report er = { 0 };
	struct phr_retention_report rr = { 0 };
	json_t *found = NULL;
	int rv = PHR_OK, r2;

	/* each step runs even when an earlier one failed (e.g. an unfunded signer); the
	 * first error is the pass's */
	if (phr_erasure_available(n))
		rv = phr_erasure_honour(n, &er, cfg->signer);
	if (cfg->retention_on &&
	    (r2 = phr_retention_run(n, &rr, NULL, &cfg->retention, cfg->signer)) != PHR_OK &&
	    rv == PHR_OK)
		rv = r2;
	if ((r2 = phr_compliance_anomaly_scan(n, &found, &cfg->anomaly,
					      cfg->has_officer ? cfg->officer : NULL)) != PHR_OK &&
	    rv == PHR_OK)
		rv = r2;
	pthread_mutex_lock(&job.mu);
	job.passes++;
	job.failures += rv != PHR_OK;
	job.records_erased += rr.records_erased;
	job.records_held = rr.records_held;
	job.grants_revoked += rr.grants_revoked;
	job.erasures_honoured += er.honoured + rr.honoured;
	job.capsules_destroyed += er.capsules + rr.capsules;
	job.anomalies += json_array_size(found);
	job.last = rr;
	job.last_rv = rv;
	pthread_mutex_unlock(&job.mu);
	json_decref(found);
	if (rv != PHR_OK)
		phr_log_warn("compliance", "compliance pass failed: %s", phr_err_name(rv));
	return rv;
}

static void *job_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&job.mu);
	while (!job.stop) {
		struct timespec ts;
		pthread_mutex_unlock(&job.mu);
		(void)!phr_compliance_job_pass(job.node, &job.cfg);
		pthread_mutex_lock(&job.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += job.cfg.interval;
		while (!job.stop && pthread_cond_timedwait(&job.cv, &job.mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&job.mu);
	return NULL;
}

int phr_compliance_job_start(struct phr_node *n, const struct phr_compliance_job_config *cfg)
{
	int rv = PHR_OK;

	if (cfg == NULL || cfg->interval == 0 || cfg->signer == NULL)
		return PHR_ERR_INVALID;
	pthread_mutex_lock(&job.mu);
	if (job.running) {
		rv = PHR_ERR_EXISTS;
	} else {
		job.node = n;
		job.cfg = *cfg;
		job.stop = false;
		if (pthread_create(&job.thread, NULL, job_main, NULL) != 0)
			rv = PHR_ERR_NOMEM;
		else
			job.running = true;
	}
	pthread_mutex_unlock(&job.mu);
	return rv;
}

void phr_compliance_job_stop(void)
{
	pthread_t t;

	pthread_mutex_lock(&job.mu);
	if (!job.running) {
		pthread_mutex_unlock(&job.mu);
		return;
	}
	job.stop = true;
	t = job.thread;
	pthread_cond_broadcast(&job.cv);
	pthread_mutex_unlock(&job.mu);
	pthread_join(t, NULL);
	pthread_mutex_lock(&job.mu);
	job.running = false;
	pthread_mutex_unlock(&job.mu);
}

int phr_compliance_metrics(struct phr_buf *out)
{
	int rv;

	pthread_mutex_lock(&job.mu);
	rv = phr_buf_appendf(
		out,
		"# HELP phr_compliance_passes_total Compliance job passes.\n"
		"# TYPE phr_compliance_passes_total counter\nphr_compliance_passes_total %llu\n"
		"# HELP phr_compliance_failures_total Compliance job passes that failed.\n"
		"# TYPE phr_compliance_failures_total counter\nphr_compliance_failures_total %llu\n"
		"# HELP phr_retention_records_erased_total Records erased past their retention.\n"
		"# TYPE phr_retention_records_erased_total counter\n"
		"phr_retention_records_erased_total %llu\n"
		"# HELP phr_retention_records_held Records past their retention kept under legal hold (last pass).\n"
		"# TYPE phr_retention_records_held gauge\nphr_retention_records_held %llu\n"
		"# HELP phr_retention_grants_revoked_total Grants revoked past their retention.\n"
		"# TYPE phr_retention_grants_revoked_total counter\n"
		"phr_retention_grants_revoked_total %llu\n"
		"# HELP phr_erasure_honoured_total Erasure requests this node honoured and confirmed.\n"
		"# TYPE phr_erasure_honoured_total counter\nphr_erasure_honoured_total %llu\n"
		"# HELP phr_erasure_capsules_destroyed_total Key capsules destroyed by erasures.\n"
		"# TYPE phr_erasure_capsules_destroyed_total counter\n"
		"phr_erasure_capsules_destroyed_total %llu\n"
		"# HELP phr_anomalies_total Access anomalies found (notified).\n"
		"# TYPE phr_anomalies_total counter\nphr_anomalies_total %llu\n",
		(unsigned long long)job.passes, (unsigned long long)job.failures,
		(unsigned long long)job.records_erased, (unsigned long long)job.records_held,
		(unsigned long long)job.grants_revoked, (unsigned long long)job.erasures_honoured,
		(unsigned long long)job.capsules_destroyed, (unsigned long long)job.anomalies);
	pthread_mutex_unlock(&job.mu);
	return rv;
}

json_t *phr_compliance_job_status(void)
{
	json_t *o;

	pthread_mutex_lock(&job.mu);
	o = json_pack("{s:b,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I},s:I,s:s}",
		      "running", job.running, "passes", (json_int_t)job.passes, "failures",
		      (json_int_t)job.failures, "ranAt", (json_int_t)job.last.ran_at, "retention",
		      "recordsDue", (json_int_t)job.last.records_due, "recordsErased",
		      (json_int_t)job.last.records_erased, "recordsHeld",
		      (json_int_t)job.last.records_held, "recordsNotHosted",
		      (json_int_t)job.last.records_not_hosted, "grantsDue",
		      (json_int_t)job.last.grants_due, "grantsRevoked",
		      (json_int_t)job.last.grants_revoked, "grantsNotHosted",
		      (json_int_t)job.last.grants_not_hosted, "erasure", "honoured",
		      (json_int_t)job.erasures_honoured, "capsulesDestroyed",
		      (json_int_t)job.capsules_destroyed, "anomalies", (json_int_t)job.anomalies,
		      "lastError", job.last_rv == PHR_OK ? "" : phr_err_name(job.last_rv));
	pthread_mutex_unlock(&job.mu);
	return o;
}
