/*
 * DICOM uploads (the mount /api/v1/dicom, spooled): a hosted provider posts a
 * DICOM Part 10 file for a patient; the node parses it as it stands in the
 * spool (never past its end: dicom.h), stores the file itself as an encrypted
 * Imaging record (streamed: phr_node_record_submit_fd), and describes it as a
 * FHIR ImagingStudy that the FHIR server keeps (GET /fhir/ImagingStudy?...),
 * linked to the record by an identifier urn:phr:record|<token>.
 */
#include <string.h>
#include <unistd.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/dicom.h"
#include "phr/json.h"

/* PhrTypes.sol RecordType.Imaging */
#define RECORD_TYPE_IMAGING 6u

static int link_record(json_t *study, const struct phr_record_receipt *r)
{
	char id[PHR_U256_DEC_LEN];
	json_t *ids = json_object_get(study, "identifier");

	phr_u256_to_dec(id, &r->token_id);
	if (!json_is_array(ids)) {
		ids = json_array();
		if (ids == NULL || json_object_set_new(study, "identifier", ids) != 0)
			return PHR_ERR_NOMEM;
	}
	return json_array_append_new(ids, json_pack("{s:s,s:s}", "system", "urn:phr:record", "value", id)) == 0
		       ? PHR_OK
		       : PHR_ERR_NOMEM;
}

int api_dicom_serve(struct api_ctx *c, const char *url, const char *method)
{
	struct phr_node *node = c->api->cfg.node;
	const struct phr_identity *me;
	const char *pat = api_query(c, "patient"), *pref = api_query(c, "patientRef");
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error derr;
	struct phr_dicom_meta meta;
	struct phr_record_receipt rec;
	json_t *study = NULL, *metaj = NULL, *fhir = NULL, *out;
	uint8_t patient[20];
	char id[PHR_U256_DEC_LEN], hash[PHR_HEX_LEN(32, true)];
	int rv;

	if (strcmp(url, "/api/v1/dicom") != 0)
		return api_fail(c, PHR_ERR_NOT_FOUND, "no such route");
	if (strcmp(method, "POST") != 0)
		return api_fail(c, PHR_ERR_UNSUPPORTED, "POST a DICOM Part 10 file");
	if ((rv = api_authenticate(c)) != PHR_OK)
		return rv;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if (pat == NULL || phr_eth_address_parse(patient, pat) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "?patient=0x... (the patient's address) is required");
	if (pref != NULL && (strncmp(pref, "Patient/", 8) != 0 || strlen(pref) > 80))
		return api_fail(c, PHR_ERR_INVALID, "patientRef must be a FHIR reference Patient/<id>");
	if (c->body_fd < 0 || c->body_len == 0)
		return api_fail(c, PHR_ERR_INVALID, "the request has no body");
	memset(&derr, 0, sizeof(derr));
	rv = phr_dicom_file_read_fd(&f, &derr, c->body_fd, NULL);
	if (rv == PHR_OK)
		rv = phr_dicom_file_meta(&meta, f);
	phr_dicom_file_free(f);
	if (rv != PHR_OK)
		return api_fail(c, rv == PHR_ERR_NOMEM ? rv : PHR_ERR_INVALID,
				"not a DICOM Part 10 file the node accepts: %s (at byte %llu)",
				derr.msg[0] ? derr.msg : phr_strerror(rv), (unsigned long long)derr.offset);
	if (lseek(c->body_fd, 0, SEEK_SET) != 0)
		return api_fail(c, PHR_ERR_IO, "the upload cannot be read back");
	/* the file itself, encrypted to the patient (and the provider), streamed */
	rv = phr_node_record_submit_fd(node, &rec, me, patient, RECORD_TYPE_IMAGING, NULL, c->body_fd);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_FORBIDDEN ? "the provider has no Write grant for imaging"
					    : rv == PHR_ERR_NOT_FOUND ? "the patient is not registered"
								      : "the file could not be stored");
	if (phr_dicom_imaging_study(&study, &meta, pref) != PHR_OK || link_record(study, &rec) != PHR_OK ||
	    phr_dicom_meta_to_json(&metaj, &meta) != PHR_OK) {
		json_decref(study);
		return api_fail(c, PHR_ERR_NOMEM, "ImagingStudy");
	}
	/* the study into the FHIR server, as a record of its own */
	rv = api_fhir_create(c, &fhir, study, patient);
	if (rv != PHR_OK) {
		/* the file is stored; say so, and what the FHIR server answered */
		phr_log_warn("api", "DICOM stored but its ImagingStudy was not created: %s", phr_strerror(rv));
		if (fhir == NULL)
			fhir = json_pack("{s:s}", "error", phr_strerror(rv));
	}
	phr_u256_to_dec(id, &rec.token_id);
	if (phr_hex_encode(hash, sizeof(hash), rec.data_hash, 32, true) != PHR_OK) {
		json_decref(study);
		json_decref(metaj);
		json_decref(fhir);
		return api_fail(c, PHR_ERR_INTERNAL, "hex");
	}
	out = json_pack("{s:{s:s,s:s,s:o},s:o,s:o,s:o}", "record", "id", id, "cid", rec.cid, "dataHash",
			json_string(hash), "dicom", metaj, "imagingStudy", study, "fhir",
			fhir ? fhir : json_null());
	atomic_fetch_add(&c->api->m_submitted, 1);
	return api_ok(c, 201, out);
}
