/*
 * DICOM uploads on a node (POST /api/v1/dicom, spooled): files made with
 * dcmtk's dump2dcm — a 1 MB one read back byte for byte, and an 80 MB one
 * (over the in-memory record limit) streamed into the encrypted store; the
 * ImagingStudy found through the FHIR server; a truncated file, a non-DICOM
 * file, a provider without a grant and an anonymous caller refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../api/api_test_util.h"
#include "phr/crypto.h"

static struct api_fx fx;
static char t_patient[PHR_API_TOKEN_LEN], t_provider[PHR_API_TOKEN_LEN], t_clinic[PHR_API_TOKEN_LEN];
static char patient_addr[64], *dir;

/* Makes DIR/<name>.dcm with @p pixel_bytes of pixel data; its bytes in *out. */
static void make_dicom(uint8_t **out, size_t *len, const char *name, size_t pixel_bytes, const char *uid)
{
	char path[600], cmd[1400];
	FILE *f;
	uint8_t *buf;

	snprintf(path, sizeof(path), "%s/%s.raw", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < pixel_bytes; i++)
		fputc((int)((i * 131u) ^ (i >> 7)) & 0xff, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.dump", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "(0008,0016) UI =CTImageStorage\n(0008,0018) UI [%s.1]\n(0008,0060) CS [CT]\n"
		   "(0008,0020) DA [20260101]\n(0008,1030) LO [Synthetic study]\n(0010,0010) PN [Test^Patient]\n"
		   "(0010,0020) LO [PID123]\n(0018,0015) CS [CHEST]\n(0020,000d) UI [%s.2]\n(0020,000e) UI [%s.3]\n"
		   "(0020,0011) IS [1]\n(0020,0013) IS [1]\n(7fe0,0010) OB =%s/%s.raw\n",
		uid, uid, uid, dir, name);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dump2dcm +te %s/%s.dump %s/%s.dcm", dir, name, dir, name);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/%s.dcm", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	*out = buf;
}

static void upload(struct http_res *r, const char *token, const char *query, const uint8_t *data, size_t len)
{
	char url[600];

	snprintf(url, sizeof(url), "%s/api/v1/dicom%s", fx.base, query);
	assert_int_equal(http_do(r, "POST", url, token, "application/dicom", data, len, NULL), 0);
}

static int setup(void **state)
{
	(void)state;
	if (system("command -v dump2dcm >/dev/null") != 0)
		return -1;
	if (api_fx_start(&fx, true) != 0)
		return -1;
	dir = node_test_tmpdir("dicom-upload");
	api_fx_token(&fx, t_patient, "patient");
	api_fx_token(&fx, t_provider, "provider");
	api_fx_token(&fx, t_clinic, "clinic");
	phr_eth_address_checksum(patient_addr, phr_node_identity_by_name(fx.node, "patient")->address);
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	node_test_rmrf(dir);
	free(dir);
	api_fx_stop(&fx);
	return 0;
}

static void test_upload_small(void **state)
{
	struct http_res r;
	uint8_t *file;
	size_t len;
	char q[200], url[600], rec[80];
	const char *uid = "1.2.826.0.1.3680043.8.498.77";

	(void)state;
	make_dicom(&file, &len, "small", 1000000, uid);
	snprintf(q, sizeof(q), "?patient=%s", patient_addr);

	/* refusals first */
	upload(&r, NULL, q, file, len);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	upload(&r, t_clinic, q, file, len);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	upload(&r, t_provider, "", file, len);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);
	upload(&r, t_provider, q, file, len / 2); /* truncated */
	assert_int_equal(r.status / 100, 4);
	assert_non_null(memmem(r.body, r.len, "at byte", 7));
	http_res_release(&r);
	upload(&r, t_provider, q, (const uint8_t *)"not a dicom file at all", 23);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);

	upload(&r, t_provider, q, file, len);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "dicom"), "study_uid")),
			    "1.2.826.0.1.3680043.8.498.77.2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "imagingStudy"), "resourceType")),
			    "ImagingStudy");
	assert_non_null(json_object_get(json_object_get(r.json, "fhir"), "location"));
	snprintf(rec, sizeof(rec), "%s", json_string_value(json_object_get(json_object_get(r.json, "record"), "id")));
	http_res_release(&r);

	/* the patient reads the file back, byte for byte (decrypted by her node) */
	snprintf(url, sizeof(url), "%s/api/v1/records/%s/content", fx.base, rec);
	assert_int_equal(http_do(&r, "GET", url, t_patient, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, len);
	assert_memory_equal(r.body, file, len);
	http_res_release(&r);

	/* the ImagingStudy is in the FHIR server, linked to the record */
	snprintf(url, sizeof(url), "%s/fhir/ImagingStudy?identifier=urn:phr:record%%7C%s", fx.base, rec);
	assert_int_equal(http_do(&r, "GET", url, t_provider, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	http_res_release(&r);
	free(file);
}

static void test_upload_large_streamed(void **state)
{
	struct http_res r;
	uint8_t *file;
	size_t len;
	char q[200];

	(void)state;
	/* over PHR_RECORD_MAX (64 MiB): only the streaming path takes it */
	make_dicom(&file, &len, "large", (size_t)68 << 20, "1.2.826.0.1.3680043.8.498.78");
	assert_true(len > PHR_RECORD_MAX);
	snprintf(q, sizeof(q), "?patient=%s&patientRef=Patient/p1", patient_addr);
	upload(&r, t_provider, q, file, len);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r.json, "imagingStudy"),
									      "subject"),
							      "reference")),
			    "Patient/p1");
	assert_non_null(json_object_get(json_object_get(r.json, "record"), "cid"));
	http_res_release(&r);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_small),
		cmocka_unit_test(test_upload_large_streamed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
