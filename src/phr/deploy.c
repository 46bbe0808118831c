/*
 * Deployment of the phr contracts from their artifacts, and the deployment file.
 */
#include <string.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr_int.h"

/* Appends the artifact's creation bytecode to @p code. */
static int load_bytecode(struct phr_buf *code, const char *dir, const char *name)
{
	char path[1024], err[128];
	json_t *j = NULL;
	const char *hex;
	size_t hl;
	int rv;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >= sizeof(path))
		return PHR_ERR_INVALID;
	rv = phr_json_load_file(&j, err, sizeof(err), path, (size_t)4 << 20);
	if (rv != PHR_OK)
		return rv;
	rv = phr_json_get_str(&hex, j, "bytecode");
	if (rv != PHR_OK) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	hl = strlen(hex);
	if (hl == 0 || hl % 2 != 0) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if ((rv = phr_buf_reserve(code, hl / 2)) != PHR_OK)
		goto out;
	rv = phr_hex_decode_exact(code->data + code->len, hl / 2, hex);
	if (rv != PHR_OK)
		goto out;
	code->len += hl / 2;
out:
	json_decref(j);
	return rv;
}

/* Deploys @p name with constructor arguments @p args (addresses, one word each). */
static int deploy_one(uint8_t addr[20], struct phr_chain *c, uint64_t chain_id, const uint8_t sk[32],
		      const char *dir, const char *name, const uint8_t (*args)[20], size_t n)
{
	struct phr_buf code;
	struct phr_chain_receipt r;
	uint8_t word[32] = { 0 };
	int rv;

	phr_buf_init(&code, 0);
	rv = load_bytecode(&code, dir, name);
	for (size_t i = 0; rv == PHR_OK && i < n; i++) {
		memcpy(word + 12, args[i], 20);
		rv = phr_buf_append(&code, word, 32);
	}
	if (rv == PHR_OK)
		rv = phr_node_i_send(c, chain_id, &r, sk, NULL, code.data, code.len);
	phr_buf_release(&code);
	if (rv != PHR_OK) {
		phr_log_error("phr", "deploying %s failed: %s", name, phr_strerror(rv));
		return rv;
	}
	if (!r.has_contract)
		rv = PHR_ERR_STATE;
	else
		memcpy(addr, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	return rv;
}

int phr_deployment_deploy(struct phr_deployment *d, struct phr_chain *chain,
			  const uint8_t deployer_sk[32], const char *artifacts_dir)
{
	struct phr_deployment x;
	struct phr_buf cd;
	uint8_t a[4][20];
	int rv;

	memset(&x, 0, sizeof(x));
	phr_buf_init(&cd, 0);
	if ((rv = phr_chain_chain_id(chain, &x.chain_id)) != PHR_OK ||
	    (rv = phr_eth_address_from_seckey(x.governance, deployer_sk)) != PHR_OK)
		return rv;
#define DEP(field, name, ...)                                                                   \
	do {                                                                                    \
		const uint8_t(*args_)[20] = (const uint8_t(*)[20])a;                            \
		size_t n_ = 0;                                                                  \
		__VA_ARGS__;                                                                    \
		rv = deploy_one(x.field, chain, x.chain_id, deployer_sk, artifacts_dir, name,   \
				args_, n_);                                                     \
		if (rv != PHR_OK)                                                               \
			goto out;                                                               \
	} while (0)
	DEP(providers, "ProviderRegistry", memcpy(a[0], x.governance, 20); n_ = 1);
	DEP(registry, "PatientRegistry", memcpy(a[0], x.providers, 20); n_ = 1);
	DEP(audit, "AuditTrail", memcpy(a[0], x.registry, 20); n_ = 1);
	DEP(nft, "HealthRecordNFT", memcpy(a[0], x.registry, 20); memcpy(a[1], x.providers, 20);
	    memcpy(a[2], x.audit, 20); n_ = 3);
	DEP(emergency, "EmergencyAccess", memcpy(a[0], x.registry, 20);
	    memcpy(a[1], x.providers, 20); memcpy(a[2], x.audit, 20); n_ = 3);
	DEP(recovery, "Recovery", memcpy(a[0], x.registry, 20); memcpy(a[1], x.audit, 20); n_ = 2);
	DEP(studies, "StudyRegistry", memcpy(a[0], x.registry, 20); memcpy(a[1], x.providers, 20);
	    n_ = 2);
	DEP(credentials, "CredentialRegistry", memcpy(a[0], x.providers, 20); n_ = 1);
	DEP(zk_provider_verifier, "ProviderCredentialVerifier", n_ = 0);
	DEP(zk_age_verifier, "AgeCredentialVerifier", n_ = 0);
	DEP(research, "ResearchAccess", memcpy(a[0], x.credentials, 20); memcpy(a[1], x.zk_provider_verifier, 20);
	    memcpy(a[2], x.zk_age_verifier, 20); n_ = 3);
	DEP(erasure, "ErasureRegistry", memcpy(a[0], x.nft, 20); memcpy(a[1], x.registry, 20);
	    memcpy(a[2], x.governance, 20); n_ = 3);
	DEP(zk_trial_verifier, "TrialEnrolmentVerifier", n_ = 0);
	DEP(trials, "TrialRegistry", memcpy(a[0], x.providers, 20); memcpy(a[1], x.credentials, 20);
	    memcpy(a[2], x.zk_trial_verifier, 20); n_ = 3);
#undef DEP
	rv = phr_contracts_patient_registry_wire_encode(&cd, x.nft, x.emergency, x.recovery, x.audit);
	if (rv == PHR_OK)
		rv = phr_node_i_send(chain, x.chain_id, NULL, deployer_sk, x.registry, cd.data, cd.len);
	if (rv != PHR_OK)
		goto out;
	memcpy(a[0], x.registry, 20);
	memcpy(a[1], x.nft, 20);
	memcpy(a[2], x.emergency, 20);
	memcpy(a[3], x.recovery, 20);
	phr_buf_reset(&cd);
	rv = phr_contracts_audit_trail_wire_encode(&cd, (const uint8_t(*)[20])a, 4);
	if (rv == PHR_OK)
		rv = phr_node_i_send(chain, x.chain_id, NULL, deployer_sk, x.audit, cd.data, cd.len);
	if (rv == PHR_OK)
		*d = x;
out:
	phr_buf_release(&cd);
	return rv;
}

static const struct {
	const char *key;
	size_t off;
	bool optional; /* absent from deployment files written before the contract existed */
} dep_fields[] = {
	{ "governance", offsetof(struct phr_deployment, governance), false },
	{ "ProviderRegistry", offsetof(struct phr_deployment, providers), false },
	{ "PatientRegistry", offsetof(struct phr_deployment, registry), false },
	{ "AuditTrail", offsetof(struct phr_deployment, audit), false },
	{ "HealthRecordNFT", offsetof(struct phr_deployment, nft), false },
	{ "EmergencyAccess", offsetof(struct phr_deployment, emergency), false },
	{ "Recovery", offsetof(struct phr_deployment, recovery), false },
	{ "StudyRegistry", offsetof(struct phr_deployment, studies), true },
	{ "CredentialRegistry", offsetof(struct phr_deployment, credentials), true },
	{ "ProviderCredentialVerifier", offsetof(struct phr_deployment, zk_provider_verifier), true },
	{ "AgeCredentialVerifier", offsetof(struct phr_deployment, zk_age_verifier), true },
	{ "ResearchAccess", offsetof(struct phr_deployment, research), true },
	{ "ErasureRegistry", offsetof(struct phr_deployment, erasure), true },
	{ "TrialEnrolmentVerifier", offsetof(struct phr_deployment, zk_trial_verifier), true },
	{ "TrialRegistry", offsetof(struct phr_deployment, trials), true },
};

json_t *phr_deployment_json(const struct phr_deployment *d)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "chainId", json_integer((json_int_t)d->chain_id)) != 0)
		goto fail;
	for (size_t i = 0; i < PHR_ARRAY_LEN(dep_fields); i++) {
		json_t *v = phr_node_i_jaddr((const uint8_t *)d + dep_fields[i].off);
		if (v == NULL || json_object_set_new(o, dep_fields[i].key, v) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

int phr_deployment_save(const struct phr_deployment *d, const char *path)
{
	json_t *o = phr_deployment_json(d);
	char *s;
	int rv;

	if (o == NULL)
		return PHR_ERR_NOMEM;
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (s == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_file_write_atomic(path, s, strlen(s), 0644);
	free(s);
	return rv;
}

int phr_deployment_from_json(struct phr_deployment *d, const json_t *j)
{
	struct phr_deployment x;
	const char *s;
	int rv;

	memset(&x, 0, sizeof(x));
	rv = phr_json_get_u64(&x.chain_id, j, "chainId");
	for (size_t i = 0; rv == PHR_OK && i < PHR_ARRAY_LEN(dep_fields); i++) {
		if (dep_fields[i].optional && json_object_get(j, dep_fields[i].key) == NULL)
			continue;
		rv = phr_json_get_str(&s, j, dep_fields[i].key);
		if (rv == PHR_OK)
			rv = phr_eth_address_parse((uint8_t *)&x + dep_fields[i].off, s);
	}
	if (rv != PHR_OK)
		return PHR_ERR_PARSE;
	*d = x;
	return PHR_OK;
}

int phr_deployment_load(struct phr_deployment *d, const char *path)
{
	char err[128];
	json_t *j = NULL;
	int rv;

	rv = phr_json_load_file(&j, err, sizeof(err), path, 65536);
	if (rv != PHR_OK)
		return rv;
	rv = phr_deployment_from_json(d, j);
	json_decref(j);
	return rv;
}
