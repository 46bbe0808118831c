/*
 * GDPR access and portability (Art. 15, 20): the patient's records as a FHIR
 * Bundle (JSON, NDJSON), the encrypted originals as a backup CAR, and the
 * access log, written into one directory with a manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phr/backup.h"
#include "phr/compliance.h"
#include "phr_int.h"

static json_t *record_resource(const struct phr_buf *pt);

/* Content type of a record that is not a FHIR resource. */
static const char *binary_type(const uint8_t *p, size_t n, bool json)
{
	if (n >= 132 && memcmp(p + 128, "DICM", 4) == 0)
		return "application/dicom";
	return json ? "application/json" : "application/octet-stream";
}

json_t *phr_compliance_record_resource(const uint8_t *data, size_t len)
{
	struct phr_buf view = { .data = (uint8_t *)data, .len = len };

	return record_resource(&view);
}

/* The resource of one record: its plaintext when it is a FHIR resource, else a Binary. */
static json_t *record_resource(const struct phr_buf *pt)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)pt->data, pt->len, JSON_REJECT_DUPLICATES, &err);
	json_t *bin;
	char *b64;
	size_t cap;

	if (j != NULL && json_is_object(j) && json_is_string(json_object_get(j, "resourceType")))
		return j;
	cap = sodium_base64_ENCODED_LEN(pt->len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = phr_malloc(cap)) == NULL) {
		json_decref(j);
		return NULL;
	}
	sodium_bin2base64(b64, cap, pt->data, pt->len, sodium_base64_VARIANT_ORIGINAL);
	bin = json_pack("{s:s,s:s,s:s}", "resourceType", "Binary", "contentType",
			binary_type(pt->data, pt->len, j != NULL), "data", b64);
	sodium_memzero(b64, cap);
	phr_free(b64);
	json_decref(j);
	return bin;
}

int phr_compliance_export_bundle(struct phr_node *n, json_t **out, size_t *records,
				 size_t *unreadable, const struct phr_identity *patient)
{
	json_t *list = NULL, *bundle, *entries, *item;
	struct phr_buf pt;
	size_t i, got = 0, bad = 0;
	int rv;

	if ((rv = phr_node_records_list(n, &list, patient->address)) != PHR_OK)
		return rv;
	bundle = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type", "collection",
			   "entry");
	if (bundle == NULL) {
		json_decref(list);
		return PHR_ERR_NOMEM;
	}
	entries = json_object_get(bundle, "entry");
	phr_buf_init(&pt, PHR_RECORD_MAX);
	json_array_foreach(list, i, item) {
		const char *ids = json_string_value(json_object_get(item, "id"));
		struct phr_record_meta m;
		struct phr_u256 id;
		char url[PHR_U256_DEC_LEN + 16];
		json_t *res, *e;
		if (ids == NULL || phr_u256_parse(&id, ids) != PHR_OK) {
			rv = PHR_ERR_CORRUPT;
			break;
		}
		rv = phr_node_record_meta(n, &m, &id);
		if (rv == PHR_ERR_NOT_FOUND) { /* burnt */
			rv = PHR_OK;
			continue;
		}
		if (rv != PHR_OK)
			break;
		phr_buf_reset(&pt);
		rv = phr_node_record_read(n, &pt, &m, patient, &id, 6 /* PatientRequest */);
		if (rv == PHR_ERR_NOT_FOUND || rv == PHR_ERR_TAMPERED || rv == PHR_ERR_CORRUPT) {
			phr_log_warn("compliance", "export: record %s does not open here (%s)", ids,
				     phr_err_name(rv));
			bad++;
			rv = PHR_OK;
			continue;
		}
		if (rv != PHR_OK)
			break;
		res = record_resource(&pt);
		sodium_memzero(pt.data, pt.len);
		snprintf(url, sizeof(url), "urn:phr:record:%s", ids);
		e = res != NULL ? json_pack("{s:s,s:o}", "fullUrl", url, "resource", res) : NULL;
		if (e == NULL || json_array_append_new(entries, e) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		got++;
	}
	if (pt.data != NULL)
		sodium_memzero(pt.data, pt.len);
	phr_buf_release(&pt);
	json_decref(list);
	if (rv != PHR_OK) {
		json_decref(bundle);
		return rv;
	}
	if (records != NULL)
		*records = got;
	if (unreadable != NULL)
		*unreadable = bad;
	*out = bundle;
	return PHR_OK;
}

int phr_compliance_bundle_ndjson(struct phr_buf *out, const json_t *bundle)
{
	const json_t *entries = json_object_get(bundle, "entry");
	json_t *e;
	size_t i;
	int rv = PHR_OK;

	if (!json_is_array(entries))
		return PHR_ERR_INVALID;
	json_array_foreach(entries, i, e) {
		const json_t *res = json_object_get(e, "resource");
		char *line;
		if (!json_is_object(res))
			return PHR_ERR_INVALID;
		if ((line = json_dumps(res, JSON_COMPACT)) == NULL)
			return PHR_ERR_NOMEM;
		rv = phr_buf_append_str(out, line);
		if (rv == PHR_OK)
			rv = phr_buf_append_byte(out, '\n');
		sodium_memzero(line, strlen(line));
		free(line);
		if (rv != PHR_OK)
			break;
	}
	return rv;
}

/* Writes @p data to DIR/name (0600) and adds {name: sha256} to @p files. */
static int put_file(json_t *files, const char *dir, const char *name, const void *data, size_t n)
{
	char path[1024], hex[65];
	uint8_t h[32];
	int rv;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return PHR_ERR_INVALID;
	if ((rv = phr_file_write_atomic(path, data, n, 0600)) != PHR_OK)
		return rv;
	crypto_hash_sha256(h, data, n);
	if (phr_hex_encode(hex, sizeof(hex), h, 32, false) != PHR_OK ||
	    json_object_set_new(files, name,
				json_pack("{s:s,s:I}", "sha256", hex, "bytes", (json_int_t)n)) != 0)
		return PHR_ERR_NOMEM;
	return PHR_OK;
}

static int put_json(json_t *files, const char *dir, const char *name, const json_t *j, bool phi)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rv;

	if (s == NULL)
		return PHR_ERR_NOMEM;
	rv = put_file(files, dir, name, s, strlen(s));
	if (phi)
		sodium_memzero(s, strlen(s));
	free(s);
	return rv;
}

int phr_compliance_export_car(struct phr_node *n, struct phr_buf *out, size_t *blocks,
			      const struct phr_identity *patient)
{
	struct phr_backup_report br;
	struct stat sb;
	int fd = memfd_create("phr-export", MFD_CLOEXEC), rv;

	if (fd < 0)
		return PHR_ERR_IO;
	memset(&br, 0, sizeof(br));
	rv = phr_node_backup_create(n, &br, patient, patient->address, fd);
	if (rv != PHR_OK)
		phr_log_warn("compliance", "export: the CAR failed: %s", br.problem);
	if (rv == PHR_OK && (fstat(fd, &sb) != 0 || sb.st_size < 0 ||
			     (uint64_t)sb.st_size > PHR_BACKUP_MAX || lseek(fd, 0, SEEK_SET) != 0))
		rv = PHR_ERR_IO;
	if (rv == PHR_OK)
		rv = phr_buf_reserve(out, (size_t)sb.st_size);
	while (rv == PHR_OK && out->len < (size_t)sb.st_size) {
		ssize_t got = read(fd, out->data + out->len, (size_t)sb.st_size - out->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			rv = PHR_ERR_IO;
		else
			out->len += (size_t)got;
	}
	close(fd);
	if (rv == PHR_OK && blocks != NULL)
		*blocks = br.blocks;
	return rv;
}

int phr_compliance_export(struct phr_node *n, struct phr_compliance_export_report *rep,
			  const struct phr_identity *patient, const char *dir)
{
	struct phr_compliance_export_report r = { 0 };
	struct phr_compliance_query q = { .patient = patient->address, .purpose = -1 };
	json_t *bundle = NULL, *log = NULL, *files = json_object(), *manifest = NULL;
	struct phr_buf buf;
	uint64_t now = 0;
	int rv;

	if (files == NULL)
		return PHR_ERR_NOMEM;
	phr_buf_init(&buf, 0);
	rv = phr_mkdir_p(dir, 0700);
	if (rv == PHR_OK)
		rv = phr_compliance_export_bundle(n, &bundle, &r.records, &r.unreadable, patient);
	if (rv == PHR_OK)
		rv = put_json(files, dir, "bundle.json", bundle, true);
	if (rv == PHR_OK)
		rv = phr_compliance_bundle_ndjson(&buf, bundle);
	if (rv == PHR_OK)
		rv = put_file(files, dir, "bundle.ndjson", buf.data, buf.len);
	if (buf.data != NULL)
		sodium_memzero(buf.data, buf.len);
	phr_buf_reset(&buf);
	if (rv == PHR_OK && r.records > 0)
		rv = phr_compliance_export_car(n, &buf, &r.car_blocks, patient);
	if (rv == PHR_OK && r.records > 0)
		rv = put_file(files, dir, "records.car", buf.data, buf.len);
	phr_buf_reset(&buf);
	/* the access log last: it holds the export's own reads */
	if (rv == PHR_OK)
		rv = phr_compliance_report(n, &log, &q);
	if (rv == PHR_OK) {
		r.log_entries = json_array_size(log);
		rv = put_json(files, dir, "access-log.json", log, false);
	}
	if (rv == PHR_OK)
		rv = phr_compliance_rows_csv(&buf, log);
	if (rv == PHR_OK)
		rv = put_file(files, dir, "access-log.csv", buf.data, buf.len);
	if (rv == PHR_OK)
		rv = phr_node_chain_time(n, &now);
	if (rv == PHR_OK) {
		manifest = json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:O}", "format", "phr-export/1",
				     "patient", phr_node_i_jaddr(patient->address), "createdAt",
				     (json_int_t)now, "records", (json_int_t)r.records, "unreadable",
				     (json_int_t)r.unreadable, "accessLogEntries",
				     (json_int_t)r.log_entries, "carBlocks", (json_int_t)r.car_blocks,
				     "files", files);
		rv = manifest != NULL ? put_json(files, dir, "manifest.json", manifest, false)
				      : PHR_ERR_NOMEM;
	}
	json_decref(manifest);
	json_decref(files);
	json_decref(log);
	json_decref(bundle);
	phr_buf_release(&buf);
	if (rv == PHR_OK && rep != NULL)
		*rep = r;
	return rv;
}
