/*
 * Study/series/instance metadata of a parsed file and the FHIR R4
 * ImagingStudy built from it.
 */
#include "dicom_int.h"

#include <errno.h>

#define T(g, e) PHR_DICOM_TAG(0x##g, 0x##e)

/* Copies string element @tag; a value that does not fit is left empty. */
static void take(char *dst, size_t cap, const struct phr_dicom_file *f, uint32_t tag)
{
	if (phr_dicom_file_string(dst, cap, f, tag) != PHR_OK)
		dst[0] = 0;
}

static int64_t take_int(const struct phr_dicom_file *f, uint32_t tag, int64_t lo, int64_t hi)
{
	const struct dcm_elem *el = dcm_item_find(&f->ds, tag);
	if (!el || !el->val)
		return 0;
	if (el->vr == VR_US && el->len >= 2)
		return dcm_u16(el->val, el->big);
	if (el->vr == VR_UL && el->len >= 4)
		return dcm_u32(el->val, el->big);
	char s[32];
	if (phr_dicom_file_string(s, sizeof(s), f, tag) != PHR_OK)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return 0;
	return v;
}

enum phr_err phr_dicom_file_meta(struct phr_dicom_meta *m, const struct phr_dicom_file *f)
{
	memset(m, 0, sizeof(*m));
	take(m->patient_id, sizeof(m->patient_id), f, T(0010, 0020));
	take(m->patient_name, sizeof(m->patient_name), f, T(0010, 0010));
	take(m->study_uid, sizeof(m->study_uid), f, T(0020, 000D));
	take(m->series_uid, sizeof(m->series_uid), f, T(0020, 000E));
	take(m->sop_instance_uid, sizeof(m->sop_instance_uid), f, T(0008, 0018));
	take(m->sop_class_uid, sizeof(m->sop_class_uid), f, T(0008, 0016));
	take(m->modality, sizeof(m->modality), f, T(0008, 0060));
	take(m->study_date, sizeof(m->study_date), f, T(0008, 0020));
	take(m->study_time, sizeof(m->study_time), f, T(0008, 0030));
	take(m->tz_offset, sizeof(m->tz_offset), f, T(0008, 0201));
	take(m->body_part, sizeof(m->body_part), f, T(0018, 0015));
	take(m->study_description, sizeof(m->study_description), f, T(0008, 1030));
	take(m->series_description, sizeof(m->series_description), f, T(0008, 103E));
	take(m->accession_number, sizeof(m->accession_number), f, T(0008, 0050));
	snprintf(m->transfer_syntax, sizeof(m->transfer_syntax), "%s", f->ts);
	m->series_number = (int32_t)take_int(f, T(0020, 0011), INT32_MIN, INT32_MAX);
	m->instance_number = (int32_t)take_int(f, T(0020, 0013), INT32_MIN, INT32_MAX);
	m->number_of_frames = (uint32_t)take_int(f, T(0028, 0008), 0, UINT32_MAX);
	m->rows = (uint32_t)take_int(f, T(0028, 0010), 0, UINT32_MAX);
	m->columns = (uint32_t)take_int(f, T(0028, 0011), 0, UINT32_MAX);
	if (!m->sop_instance_uid[0]) {
		const struct dcm_elem *el = dcm_item_find(&f->meta, T(0002, 0003));
		if (el && el->val && el->len < sizeof(m->sop_instance_uid)) {
			size_t n = el->len;
			while (n && (el->val[n - 1] == 0 || el->val[n - 1] == ' '))
				n--;
			memcpy(m->sop_instance_uid, el->val, n);
			m->sop_instance_uid[n] = 0;
		}
	}
	return m->sop_instance_uid[0] && m->study_uid[0] ? PHR_OK : PHR_ERR_INVALID;
}

/* Sets key @k to string @v unless @v is empty; false when out of memory. */
static bool set_str(json_t *o, const char *k, const char *v)
{
	return !v[0] || json_object_set_new(o, k, json_string(v)) == 0;
}

/* Sets key @k to @v when positive (FHIR unsignedInt/positiveInt fields). */
static bool set_int(json_t *o, const char *k, long long v)
{
	return v <= 0 || json_object_set_new(o, k, json_integer(v)) == 0;
}

enum phr_err phr_dicom_meta_to_json(json_t **out, const struct phr_dicom_meta *m)
{
	json_t *o = json_object();
	bool ok = o && set_str(o, "patient_id", m->patient_id) &&
		  set_str(o, "patient_name", m->patient_name) && set_str(o, "study_uid", m->study_uid) &&
		  set_str(o, "series_uid", m->series_uid) &&
		  set_str(o, "sop_instance_uid", m->sop_instance_uid) &&
		  set_str(o, "sop_class_uid", m->sop_class_uid) &&
		  set_str(o, "transfer_syntax", m->transfer_syntax) && set_str(o, "modality", m->modality) &&
		  set_str(o, "study_date", m->study_date) && set_str(o, "study_time", m->study_time) &&
		  set_str(o, "tz_offset", m->tz_offset) && set_str(o, "body_part", m->body_part) &&
		  set_str(o, "study_description", m->study_description) &&
		  set_str(o, "series_description", m->series_description) &&
		  set_str(o, "accession_number", m->accession_number) &&
		  set_int(o, "series_number", m->series_number) &&
		  set_int(o, "instance_number", m->instance_number) &&
		  set_int(o, "number_of_frames", m->number_of_frames) && set_int(o, "rows", m->rows) &&
		  set_int(o, "columns", m->columns);
	if (!ok) {
		json_decref(o);
		return PHR_ERR_NOMEM;
	}
	*out = o;
	return PHR_OK;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* FHIR dateTime from DA, TM and the UTC offset: a date alone unless the time
 * zone is known (FHIR requires a zone when a time is given). */
static void fhir_datetime(char *out, size_t cap, const struct phr_dicom_meta *m)
{
	out[0] = 0;
	const char *d = m->study_date, *t = m->study_time, *z = m->tz_offset;
	if (strlen(d) != 8 || !all_digits(d, 8))
		return;
	snprintf(out, cap, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
	size_t tl = strlen(t);
	if (strlen(z) != 5 || (z[0] != '+' && z[0] != '-') || !all_digits(z + 1, 4) || tl < 6 ||
	    !all_digits(t, 6))
		return;
	char frac[8] = "";
	if (tl > 7 && t[6] == '.' && tl - 7 <= 6 && all_digits(t + 7, tl - 7))
		snprintf(frac, sizeof(frac), ".%s", t + 7);
	else if (tl != 6)
		return;
	size_t n = strlen(out);
	snprintf(out + n, cap - n, "T%.2s:%.2s:%.2s%s%c%.2s:%.2s", t, t + 2, t + 4, frac, z[0], z + 1, z + 3);
}

static json_t *coding(const char *system, const char *code)
{
	return json_pack("{s:s, s:s}", "system", system, "code", code);
}

enum phr_err phr_dicom_imaging_study(json_t **out, const struct phr_dicom_meta *m, const char *patient_ref)
{
	if (!m->study_uid[0])
		return PHR_ERR_INVALID;
	static const char dcm[] = "http://dicom.nema.org/resources/ontology/DCM";
	char oid[80];
	json_t *is = json_object(), *series = json_object(), *inst = json_object(), *subj;
	if (patient_ref && patient_ref[0])
		subj = json_pack("{s:s}", "reference", patient_ref);
	else {
		subj = json_object();
		if (subj && m->patient_id[0])
			json_object_set_new(subj, "identifier", json_pack("{s:s}", "value", m->patient_id));
		if (subj && m->patient_name[0])
			json_object_set_new(subj, "display", json_string(m->patient_name));
		if (subj && !m->patient_id[0] && !m->patient_name[0])
			json_object_set_new(subj, "display", json_string("unknown"));
	}
	bool ok = is && series && inst && subj;
	snprintf(oid, sizeof(oid), "urn:oid:%s", m->study_uid);
	ok = ok && !json_object_set_new(is, "resourceType", json_string("ImagingStudy")) &&
	     !json_object_set_new(is, "identifier",
				  json_pack("[{s:s, s:s}]", "system", "urn:dicom:uid", "value", oid)) &&
	     !json_object_set_new(is, "status", json_string("available"));
	if (m->modality[0])
		ok = ok && !json_object_set_new(is, "modality", json_pack("[o]", coding(dcm, m->modality)));
	ok = ok && !json_object_set(is, "subject", subj);
	char started[48];
	fhir_datetime(started, sizeof(started), m);
	ok = ok && set_str(is, "started", started);
	ok = ok && !json_object_set_new(is, "numberOfSeries", json_integer(1)) &&
	     !json_object_set_new(is, "numberOfInstances", json_integer(1)) &&
	     set_str(is, "description", m->study_description);
	/* series */
	ok = ok && set_str(series, "uid", m->series_uid[0] ? m->series_uid : m->study_uid) &&
	     set_int(series, "number", m->series_number);
	if (m->modality[0])
		ok = ok && !json_object_set_new(series, "modality", coding(dcm, m->modality));
	else
		ok = ok && !json_object_set_new(series, "modality", coding(dcm, "OT"));
	ok = ok && set_str(series, "description", m->series_description) &&
	     !json_object_set_new(series, "numberOfInstances", json_integer(1));
	if (m->body_part[0])
		ok = ok && !json_object_set_new(series, "bodySite", json_pack("{s:s}", "display", m->body_part));
	/* instance */
	char sop[80];
	snprintf(sop, sizeof(sop), "urn:oid:%s", m->sop_class_uid[0] ? m->sop_class_uid : "1.2.840.10008.5.1.4.1.1.7");
	ok = ok && set_str(inst, "uid", m->sop_instance_uid) &&
	     !json_object_set_new(inst, "sopClass", json_pack("{s:s, s:s}", "system", "urn:ietf:rfc:3986", "code", sop)) &&
	     set_int(inst, "number", m->instance_number);
	ok = ok && !json_object_set_new(series, "instance", json_pack("[O]", inst)) &&
	     !json_object_set_new(is, "series", json_pack("[O]", series));
	json_decref(subj);
	json_decref(series);
	json_decref(inst);
	if (!ok) {
		json_decref(is);
		return PHR_ERR_NOMEM;
	}
	*out = is;
	return PHR_OK;
}
