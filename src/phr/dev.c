/*
 * `phr node --dev`: demo identities, their on-chain setup and a small demo.
 */
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "phr/crypto.h"
#include "phr/milestone.h"
#include "phr_int.h"

#define DEV_MNEMONIC "test test test test test test test test test test test junk"

static const struct {
	const char *name;
	uint32_t index;
} dev_ids[] = {
#define X(name, i) { #name, i },
	PHR_DEV_IDENTITIES
#undef X
};

static int host_one(struct phr_node *n, const char *keys_dir, const char *name, uint32_t index)
{
	struct phr_identity *id = NULL;
	uint8_t *sk = sodium_malloc(32);
	char path[1024];
	int rv;

	if (sk == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_bip32_eth_key(sk, DEV_MNEMONIC, index);
	if (rv == PHR_OK && keys_dir != NULL) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s.json", keys_dir, name);
		if (stat(path, &st) != 0) {
			const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
			char *json = NULL;
			rv = phr_keystore_encrypt(&json, sk, PHR_DEV_PASSWORD, strlen(PHR_DEV_PASSWORD),
						  &light);
			if (rv == PHR_OK)
				rv = phr_file_write_atomic(path, json, strlen(json), 0600);
			phr_free(json);
		}
	}
	if (rv == PHR_OK && phr_node_identity_by_name(n, name) == NULL) {
		rv = phr_identity_new(&id, name, sk);
		if (rv == PHR_OK)
			rv = phr_node_add_identity(n, id);
	}
	sodium_free(sk);
	return rv;
}

static const struct phr_identity *get(struct phr_node *n, const char *name)
{
	return phr_node_identity_by_name(n, name);
}

static int tolerate(int rv, int ok)
{
	return rv == ok ? PHR_OK : rv;
}

static const char vaccination[] =
	"{\"resourceType\":\"Immunization\",\"status\":\"completed\","
	"\"vaccineCode\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"150\","
	"\"display\":\"influenza, injectable, quadrivalent, preservative free\"}]},"
	"\"patient\":{\"display\":\"Demo Patient\"},\"occurrenceDateTime\":\"2025-01-29T10:30:00Z\","
	"\"lotNumber\":\"ABC123\",\"performer\":[{\"actor\":{\"display\":\"Medical Center\"}}]}";

static const char lab_result[] =
	"{\"resourceType\":\"Observation\",\"status\":\"final\","
	"\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
	"observation-category\",\"code\":\"laboratory\"}]}],"
	"\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"4548-4\","
	"\"display\":\"Hemoglobin A1c/Hemoglobin.total in Blood\"}]},"
	"\"subject\":{\"display\":\"Demo Patient\"},\"effectiveDateTime\":\"2025-02-03T08:00:00Z\","
	"\"valueQuantity\":{\"value\":6.1,\"unit\":\"%\",\"system\":\"http://unitsofmeasure.org\","
	"\"code\":\"%\"}}";

static int seed_demo(struct phr_node *n)
{
	const struct phr_identity *pat = get(n, "patient"), *prov = get(n, "provider"),
				  *em = get(n, "emergency");
	struct phr_record_receipt r1, r2, r3;
	struct phr_buf out;
	json_t *list = NULL;
	uint8_t scope[32], *img;
	uint64_t now;
	size_t img_len = 64 * 1024;
	int rv;

	if ((rv = phr_node_records_list(n, &list, pat->address)) != PHR_OK)
		return rv;
	if (json_array_size(list) > 0) {
		json_decref(list);
		return PHR_OK; /* already seeded */
	}
	json_decref(list);
	phr_scope_all(scope);
	if ((rv = phr_node_chain_time(n, &now)) != PHR_OK ||
	    (rv = phr_node_access_grant(n, pat, prov->address, PHR_LEVEL_WRITE, scope,
					now + 30 * 86400)) != PHR_OK)
		return rv;
	if ((rv = phr_node_record_submit(n, &r1, prov, pat->address, 1, NULL,
					 (const uint8_t *)vaccination, strlen(vaccination))) !=
		    PHR_OK ||
	    (rv = phr_node_record_submit(n, &r2, prov, pat->address, 5, NULL,
					 (const uint8_t *)lab_result, strlen(lab_result))) != PHR_OK)
		return rv;
	/* a DICOM Part 10 shaped file: 128-byte preamble, "DICM", then pixel-like bytes */
	img = phr_calloc(1, img_len);
	if (img == NULL)
		return PHR_ERR_NOMEM;
	memcpy(img + 128, "DICM", 4);
	for (size_t i = 132; i < img_len; i++)
		img[i] = (uint8_t)((i * 31) ^ (i >> 8));
	rv = phr_node_record_submit(n, &r3, prov, pat->address, 6, NULL, img, img_len);
	phr_free(img);
	if (rv != PHR_OK)
		return rv;
	if ((rv = phr_node_access_grant(n, pat, em->address, PHR_LEVEL_READ, scope, now + 86400)) !=
	    PHR_OK)
		return rv;
	phr_buf_init(&out, 0);
	rv = phr_node_record_read(n, &out, NULL, em, &r2.token_id, 4);
	if (rv == PHR_OK) {
		phr_buf_reset(&out);
		rv = phr_node_record_read(n, &out, NULL, pat, &r1.token_id, 6);
	}
	phr_buf_release(&out);
	/* the vaccination is a health milestone (seed §5): the provider attests it */
	if (rv == PHR_OK)
		rv = phr_node_milestone_attest_plain(n, NULL, prov, &r1.token_id,
						     (const uint8_t *)vaccination, strlen(vaccination));
	return rv;
}

int phr_dev_setup(struct phr_node *n, const char *keys_dir, bool seed)
{
	const struct phr_identity *gov, *auth;
	unsigned roles = 0;
	uint64_t now;
	int rv = PHR_OK;

	if (keys_dir != NULL && phr_mkdir_p(keys_dir, 0700) != PHR_OK)
		return PHR_ERR_IO;
	for (size_t i = 0; rv == PHR_OK && i < PHR_ARRAY_LEN(dev_ids); i++)
		rv = host_one(n, keys_dir, dev_ids[i].name, dev_ids[i].index);
	if (rv != PHR_OK)
		return rv;
	gov = get(n, "operator");
	auth = get(n, "authority");
	if ((rv = phr_node_roles(n, &roles, auth->address)) != PHR_OK)
		return rv;
	if (!(roles & PHR_R_AUTHORITY) &&
	    (rv = phr_node_appoint_authority(n, gov, auth->address)) != PHR_OK)
		return rv;
	if ((rv = phr_node_chain_time(n, &now)) != PHR_OK)
		return rv;
	static const struct {
		const char *name;
		unsigned roles;
	} provs[] = { { "provider", PHR_ROLE_PROVIDER },
		      { "clinic", PHR_ROLE_PROVIDER },
		      { "emergency", PHR_ROLE_PROVIDER | PHR_ROLE_EMERGENCY } };
	for (size_t i = 0; rv == PHR_OK && i < PHR_ARRAY_LEN(provs); i++) {
		const struct phr_identity *p = get(n, provs[i].name);
		if ((rv = phr_node_roles(n, &roles, p->address)) != PHR_OK)
			break;
		if (!(roles & PHR_R_PROVIDER))
			rv = phr_node_verify_provider(n, auth, p->address, provs[i].roles,
						      now + 365 * 86400);
	}
	static const char *const reg[] = { "patient", "provider", "clinic", "emergency" };
	for (size_t i = 0; rv == PHR_OK && i < PHR_ARRAY_LEN(reg); i++)
		rv = tolerate(phr_node_register(n, get(n, reg[i])), PHR_ERR_EXISTS);
	if (rv == PHR_OK && seed)
		rv = seed_demo(n);
	return rv;
}
