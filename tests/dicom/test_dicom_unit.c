/*
 * DICOM parser units: decoding, metadata, ImagingStudy, streaming from
 * descriptors (seekable and pipes, a sparse 400 MB file), and malformed input:
 * truncation at every offset, lengths past the end, deep nesting, odd
 * lengths, bad VRs and items, element limits, corrupt deflate streams and
 * failing allocations. Every case must end in an error code, never a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/dicom.h>

#include "dicom/dicom_test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a small explicit VR little endian file builder ---- */

struct bld {
	uint8_t d[1 << 16];
	size_t n;
};

static void put(struct bld *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put16(struct bld *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(b, x, 2);
}

static void put32(struct bld *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	put(b, x, 4);
}

static bool long_vr(const char *vr)
{
	static const char *const l[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" };
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		if (!memcmp(vr, l[i], 2))
			return true;
	return false;
}

/* An element header with an explicit length (0xFFFFFFFF for undefined). */
static void hdr(struct bld *b, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
	put16(b, g);
	put16(b, e);
	put(b, vr, 2);
	if (long_vr(vr)) {
		put16(b, 0);
		put32(b, len);
	} else {
		put16(b, (uint16_t)len);
	}
}

/* A string element, padded to even length with a space (NUL for UI). */
static void str(struct bld *b, uint16_t g, uint16_t e, const char *vr, const char *s)
{
	size_t n = strlen(s);
	hdr(b, g, e, vr, (uint32_t)(n + (n & 1)));
	put(b, s, n);
	if (n & 1)
		put(b, !memcmp(vr, "UI", 2) ? "\0" : " ", 1);
}

static void item(struct bld *b, uint16_t e, uint32_t len)
{
	put16(b, 0xFFFE);
	put16(b, e);
	put32(b, len);
}

static void preamble(struct bld *b, const char *ts)
{
	memset(b, 0, sizeof(*b));
	b->n = 128;
	put(b, "DICM", 4);
	str(b, 0x0002, 0x0001, "OB", "\x01");
	b->d[b->n - 2] = 0;
	b->d[b->n - 1] = 1;
	str(b, 0x0002, 0x0010, "UI", ts);
}

static void study(struct bld *b)
{
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	str(b, 0x0008, 0x0005, "CS", "ISO_IR 100");
	str(b, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4");
	str(b, 0x0008, 0x0018, "UI", "1.2.3.4.100");
	str(b, 0x0008, 0x0020, "DA", "20240131");
	str(b, 0x0008, 0x0030, "TM", "101530.25");
	str(b, 0x0008, 0x0060, "CS", "MR");
	str(b, 0x0008, 0x0201, "SH", "-0500");
	str(b, 0x0008, 0x1030, "LO", "Brain \\ spine");
	str(b, 0x0010, 0x0010, "PN", "M\xFCller^Hans=Ideo^Gram");
	str(b, 0x0010, 0x0020, "LO", "PAT-7");
	str(b, 0x0018, 0x0015, "CS", "HEAD");
	str(b, 0x0020, 0x000D, "UI", "1.2.3.4.1");
	str(b, 0x0020, 0x000E, "UI", "1.2.3.4.2");
	str(b, 0x0020, 0x0011, "IS", " 3 ");
	str(b, 0x0020, 0x0013, "IS", "12");
	str(b, 0x0028, 0x0008, "IS", "2");
	hdr(b, 0x0028, 0x0010, "US", 2);
	put16(b, 512);
	hdr(b, 0x0028, 0x0011, "US", 2);
	put16(b, 256);
}

static struct phr_dicom_file *parse_ok(const uint8_t *d, size_t n)
{
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	enum phr_err e = phr_dicom_file_parse(&f, &err, d, n, NULL);
	if (e)
		print_message("parse failed: %s at %llu: %s\n", phr_err_name(e), (unsigned long long)err.offset, err.msg);
	assert_int_equal(e, PHR_OK);
	return f;
}

/* Parses and expects @want; returns the error for further checks. */
static void parse_fails(const uint8_t *d, size_t n, enum phr_err want, const struct phr_dicom_limits *lim)
{
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	enum phr_err e = phr_dicom_file_parse(&f, &err, d, n, lim);
	if (e != want)
		print_message("expected %s, got %s: %s\n", phr_err_name(want), phr_err_name(e), err.msg);
	assert_int_equal(e, want);
	assert_null(f);
	assert_true(err.msg[0] != 0);
	assert_true(err.offset <= n);
}

static uint8_t *vector(const char *name, size_t *len)
{
	char path[1024], rel[256];
	snprintf(rel, sizeof(rel), "tests/vectors/dicom/pydicom/%s", name);
	dt_source_path(path, sizeof(path), rel);
	uint8_t *d = dt_read_file(path, len);
	assert_non_null(d);
	return d;
}

/* ---- decoding and metadata ---- */

static void test_decode_and_meta(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	study(b);
	struct phr_dicom_file *f = parse_ok(b->d, b->n);
	assert_string_equal(phr_dicom_file_transfer_syntax(f), PHR_DICOM_TS_EXPLICIT_LE);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_file_to_json(&j, f, PHR_DICOM_JSON_META), PHR_OK);
	json_t *pn = json_array_get(json_object_get(json_object_get(j, "00100010"), "Value"), 0);
	assert_string_equal(json_string_value(json_object_get(pn, "Alphabetic")), "M\xC3\xBCller^Hans");
	assert_string_equal(json_string_value(json_object_get(pn, "Ideographic")), "Ideo^Gram");
	json_t *desc = json_object_get(json_object_get(j, "00081030"), "Value");
	assert_int_equal(json_array_size(desc), 2);
	assert_string_equal(json_string_value(json_array_get(desc, 1)), "spine");
	json_t *is = json_array_get(json_object_get(json_object_get(j, "00200011"), "Value"), 0);
	assert_true(json_is_integer(is) && json_integer_value(is) == 3);
	json_t *rows = json_array_get(json_object_get(json_object_get(j, "00280010"), "Value"), 0);
	assert_int_equal(json_integer_value(rows), 512);
	assert_non_null(json_object_get(j, "00020010")); /* meta included on request */
	json_decref(j);

	struct phr_dicom_meta m;
	assert_int_equal(phr_dicom_file_meta(&m, f), PHR_OK);
	assert_string_equal(m.patient_id, "PAT-7");
	assert_string_equal(m.patient_name, "M\xC3\xBCller^Hans=Ideo^Gram");
	assert_string_equal(m.study_uid, "1.2.3.4.1");
	assert_string_equal(m.series_uid, "1.2.3.4.2");
	assert_string_equal(m.sop_instance_uid, "1.2.3.4.100");
	assert_string_equal(m.modality, "MR");
	assert_string_equal(m.body_part, "HEAD");
	assert_string_equal(m.study_description, "Brain");
	assert_int_equal(m.series_number, 3);
	assert_int_equal(m.instance_number, 12);
	assert_int_equal(m.number_of_frames, 2);
	assert_int_equal(m.rows, 512);
	assert_int_equal(m.columns, 256);

	json_t *fhir = NULL;
	assert_int_equal(phr_dicom_imaging_study(&fhir, &m, NULL), PHR_OK);
	assert_string_equal(json_string_value(json_object_get(fhir, "started")), "2024-01-31T10:15:30.25-05:00");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(fhir, "identifier"), 0), "value")),
			    "urn:oid:1.2.3.4.1");
	json_t *subj = json_object_get(fhir, "subject");
	assert_string_equal(json_string_value(json_object_get(json_object_get(subj, "identifier"), "value")), "PAT-7");
	json_t *series = json_array_get(json_object_get(fhir, "series"), 0);
	assert_string_equal(json_string_value(json_object_get(series, "uid")), "1.2.3.4.2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(series, "bodySite"), "display")), "HEAD");
	assert_string_equal(json_string_value(json_object_get(json_object_get(series, "modality"), "code")), "MR");
	json_t *inst = json_array_get(json_object_get(series, "instance"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(inst, "sopClass"), "code")),
			    "urn:oid:1.2.840.10008.5.1.4.1.1.4");
	assert_int_equal(json_integer_value(json_object_get(inst, "number")), 12);
	json_decref(fhir);

	/* no time zone: the date alone (FHIR needs a zone with a time) */
	m.tz_offset[0] = 0;
	assert_int_equal(phr_dicom_imaging_study(&fhir, &m, "Patient/abc"), PHR_OK);
	assert_string_equal(json_string_value(json_object_get(fhir, "started")), "2024-01-31");
	assert_string_equal(json_string_value(json_object_get(json_object_get(fhir, "subject"), "reference")),
			    "Patient/abc");
	json_decref(fhir);
	m.study_uid[0] = 0;
	assert_int_equal(phr_dicom_imaging_study(&fhir, &m, NULL), PHR_ERR_INVALID);

	char buf[8];
	assert_int_equal(phr_dicom_file_string(buf, sizeof(buf), f, PHR_DICOM_TAG(0x0010, 0x0020)), PHR_OK);
	assert_string_equal(buf, "PAT-7");
	assert_int_equal(phr_dicom_file_string(buf, 4, f, PHR_DICOM_TAG(0x0010, 0x0020)), PHR_ERR_TOO_LARGE);
	assert_int_equal(phr_dicom_file_string(buf, sizeof(buf), f, PHR_DICOM_TAG(0x0010, 0x0030)),
			 PHR_ERR_NOT_FOUND);
	phr_dicom_file_free(f);
	phr_dicom_file_free(NULL);
	free(b);
}

/* The metadata of a real CT from the pydicom samples. */
static void test_meta_ct_small(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = vector("CT_small.dcm", &len);
	struct phr_dicom_file *f = parse_ok(d, len);
	struct phr_dicom_meta m;
	assert_int_equal(phr_dicom_file_meta(&m, f), PHR_OK);
	assert_string_equal(m.patient_id, "1CT1");
	assert_string_equal(m.patient_name, "CompressedSamples^CT1");
	assert_string_equal(m.study_uid, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
	assert_string_equal(m.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
	assert_string_equal(m.modality, "CT");
	assert_string_equal(m.study_date, "20040119");
	assert_int_equal(m.rows, 128);
	assert_int_equal(m.columns, 128);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_meta_to_json(&j, &m), PHR_OK);
	assert_string_equal(json_string_value(json_object_get(j, "transfer_syntax")), PHR_DICOM_TS_EXPLICIT_LE);
	json_decref(j);
	phr_dicom_file_free(f);
	free(d);
}

/* Strings: ISO_IR 192 is validated (bad bytes become U+FFFD). */
static void test_utf8(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	str(b, 0x0008, 0x0005, "CS", "ISO_IR 192");
	str(b, 0x0010, 0x0010, "PN", "Ren\xC3\xA9^\xFF");
	str(b, 0x0010, 0x0020, "LO", "\xE2\x82");
	struct phr_dicom_file *f = parse_ok(b->d, b->n);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_file_to_json(&j, f, 0), PHR_OK);
	json_t *pn = json_array_get(json_object_get(json_object_get(j, "00100010"), "Value"), 0);
	assert_string_equal(json_string_value(json_object_get(pn, "Alphabetic")), "Ren\xC3\xA9^\xEF\xBF\xBD");
	json_t *id = json_array_get(json_object_get(json_object_get(j, "00100020"), "Value"), 0);
	assert_string_equal(json_string_value(id), "\xEF\xBF\xBD\xEF\xBF\xBD");
	json_decref(j);
	phr_dicom_file_free(f);
	free(b);
}

/* ---- malformed input ---- */

static void check_every_cut(const char *name)
{
	size_t len;
	uint8_t *d = vector(name, &len);
	struct phr_dicom_file *f = parse_ok(d, len);
	size_t full = phr_dicom_file_count(f);
	phr_dicom_file_free(f);
	size_t failed = 0;
	for (size_t cut = 0; cut < len; cut++) {
		/* a copy of exactly @cut bytes, so ASan sees any read past it */
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, d, cut);
		struct phr_dicom_error err;
		f = NULL;
		enum phr_err e = phr_dicom_file_parse(&f, &err, c, cut, NULL);
		if (e) {
			failed++;
			assert_null(f);
			assert_true(err.msg[0] != 0);
		} else {
			/* a cut between top-level elements is a shorter valid file */
			assert_true(phr_dicom_file_count(f) <= full);
			phr_dicom_file_free(f);
		}
		if (cut < 132)
			assert_int_not_equal(e, PHR_OK);
		free(c);
	}
	print_message("%s: %zu cuts, %zu rejected\n", name, len, failed);
	assert_true(failed > len / 2);
	free(d);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	check_every_cut("priv_SQ.dcm");          /* implicit VR, private sequence */
	check_every_cut("UN_sequence.dcm");      /* UN of undefined length as a sequence */
	check_every_cut("JPEG2000.dcm");         /* encapsulated fragments */
	check_every_cut("image_dfl.dcm");        /* deflated */
	check_every_cut("rtplan.dcm");           /* nested sequences */
	check_every_cut("MR_small_bigendian.dcm"); /* big endian */
}

static void test_length_past_end(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0010, 0x0010, "PN", 0xFFF0); /* 16-bit length, nothing follows */
	parse_fails(b->d, b->n, PHR_ERR_TRUNCATED, NULL);
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x7FE0, 0x0010, "OW", 0x7FFFFFF0); /* skipped as bulk: the skip is checked too */
	parse_fails(b->d, b->n, PHR_ERR_TRUNCATED, NULL);

	/* the same through a seekable descriptor: lseek past the end is refused */
	char dir[512], path[1024];
	assert_int_equal(dt_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/past.dcm", dir);
	assert_int_equal(dt_write_file(path, b->d, b->n), 0);
	int fd = open(path, O_RDONLY);
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	assert_int_equal(phr_dicom_file_read_fd(&f, &err, fd, NULL), PHR_ERR_TRUNCATED);
	close(fd);
	dt_rmtree(dir);

	/* an item longer than its sequence */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0008, 0x1115, "SQ", 8);
	item(b, 0xE000, 100);
	parse_fails(b->d, b->n, PHR_ERR_TRUNCATED, NULL);
	/* an element longer than its item */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0008, 0x1115, "SQ", 0xFFFFFFFF);
	item(b, 0xE000, 10);
	str(b, 0x0008, 0x1150, "UI", "1.2.3.4");
	item(b, 0xE0DD, 0);
	parse_fails(b->d, b->n, PHR_ERR_TRUNCATED, NULL);
	free(b);
}

static void nest(struct bld *b, int depth)
{
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	for (int i = 0; i < depth; i++) {
		hdr(b, 0x0008, 0x1115, "SQ", 0xFFFFFFFF);
		item(b, 0xE000, 0xFFFFFFFF);
	}
	str(b, 0x0008, 0x1150, "UI", "1.2.3");
	for (int i = 0; i < depth; i++) {
		item(b, 0xE00D, 0);
		item(b, 0xE0DD, 0);
	}
}

static void test_deep_nesting(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	nest(b, 20);
	struct phr_dicom_file *f = parse_ok(b->d, b->n);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_file_to_json(&j, f, 0), PHR_OK);
	json_decref(j);
	phr_dicom_file_free(f);
	nest(b, 1000);
	parse_fails(b->d, b->n, PHR_ERR_TOO_LARGE, NULL);
	nest(b, 20);
	struct phr_dicom_limits lim = { .max_depth = 5 };
	parse_fails(b->d, b->n, PHR_ERR_TOO_LARGE, &lim);
	free(b);
}

static void test_malformed(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	/* odd length */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0010, 0x0020, "LO", 3);
	put(b, "abc ", 4);
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* invalid VR */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0010, 0x0020, "Q!", 2);
	put(b, "ab", 2);
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* undefined length on a string */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0010, 0x0020, "UT", 0xFFFFFFFF);
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* item delimiter at the top level */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	item(b, 0xE00D, 0);
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* something else than an item in a sequence */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0008, 0x1115, "SQ", 0xFFFFFFFF);
	str(b, 0x0008, 0x1150, "UI", "1.2");
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* a sequence delimiter inside a sequence of defined length */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x0008, 0x1115, "SQ", 8);
	item(b, 0xE0DD, 0);
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	/* pixel fragments without a delimiter */
	preamble(b, PHR_DICOM_TS_EXPLICIT_LE);
	hdr(b, 0x7FE0, 0x0010, "OB", 0xFFFFFFFF);
	item(b, 0xE000, 0);
	item(b, 0xE000, 4);
	put32(b, 0);
	parse_fails(b->d, b->n, PHR_ERR_TRUNCATED, NULL);
	/* not Part 10, unknown and malformed transfer syntaxes */
	memset(b->d, 0, 200);
	parse_fails(b->d, 200, PHR_ERR_PARSE, NULL);
	preamble(b, "1.2.3.4");
	parse_fails(b->d, b->n, PHR_ERR_UNSUPPORTED, NULL);
	preamble(b, "1.2.840.10008.1.2\\x");
	parse_fails(b->d, b->n, PHR_ERR_PARSE, NULL);
	parse_fails(NULL, 0, PHR_ERR_TRUNCATED, NULL);
	free(b);
}

static void test_limits(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = vector("CT_small.dcm", &len);
	struct phr_dicom_limits lim = { .max_elements = 20 };
	parse_fails(d, len, PHR_ERR_TOO_LARGE, &lim);
	/* values above max_value_bytes become bulk data with offset and length */
	lim = (struct phr_dicom_limits){ .max_value_bytes = 1024 };
	struct phr_dicom_file *f = NULL;
	assert_int_equal(phr_dicom_file_parse(&f, NULL, d, len, &lim), PHR_OK);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_file_to_json(&j, f, 0), PHR_OK);
	const char *uri = json_string_value(json_object_get(json_object_get(j, "7FE00010"), "BulkDataURI"));
	assert_non_null(uri);
	assert_non_null(strstr(uri, "length=32768"));
	/* the offset points at the pixel bytes */
	unsigned long long off = strtoull(strstr(uri, "offset=") + 7, NULL, 10);
	assert_true(off + 32768 <= len);
	assert_int_equal(d[off - 4], 0x00);
	assert_int_equal(d[off - 3], 0x80); /* the length 0x00008000 before it */
	json_decref(j);
	phr_dicom_file_free(f);
	/* total loaded bytes: beyond the budget values become bulk too */
	lim = (struct phr_dicom_limits){ .max_total_bytes = 2048 };
	assert_int_equal(phr_dicom_file_parse(&f, NULL, d, len, &lim), PHR_OK);
	phr_dicom_file_free(f);
	free(d);
}

/* Every allocation of a parse may fail: NOMEM, nothing leaked (ASan). */
static void test_alloc_failures(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = vector("rtplan.dcm", &len);
	enum phr_err e = PHR_ERR_NOMEM;
	long n;
	for (n = 1; n < 100000 && e == PHR_ERR_NOMEM; n++) {
		struct phr_dicom_file *f = NULL;
		phr_alloc_fail_at(n);
		e = phr_dicom_file_parse(&f, NULL, d, len, NULL);
		phr_alloc_fail_at(0);
		if (e == PHR_OK)
			phr_dicom_file_free(f);
		else
			assert_int_equal(e, PHR_ERR_NOMEM);
	}
	assert_int_equal(e, PHR_OK);
	assert_true(n > 10);
	free(d);
}

/* Deflate stream damaged anywhere: an error or a (different) data set. */
static void test_corrupt_deflate(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = vector("image_dfl.dcm", &len);
	size_t errors = 0;
	for (size_t i = 400; i < len; i += 7) {
		uint8_t *c = malloc(len);
		memcpy(c, d, len);
		c[i] ^= 0x5A;
		struct phr_dicom_file *f = NULL;
		struct phr_dicom_error err;
		if (phr_dicom_file_parse(&f, &err, c, len, NULL) != PHR_OK)
			errors++;
		phr_dicom_file_free(f);
		free(c);
	}
	assert_true(errors > 0);
	free(d);
}

/* A 400 MB file (sparse) parses through a bounded buffer: pixel data is skipped. */
static void test_streaming_large(void **state)
{
	(void)state;
	struct bld *b = malloc(sizeof(*b));
	study(b);
	const uint32_t pix = 400u * 1000 * 1000;
	hdr(b, 0x7FE0, 0x0010, "OW", pix);
	char dir[512], path[1024];
	assert_int_equal(dt_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/large.dcm", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->d, b->n), (ssize_t)b->n);
	assert_int_equal(ftruncate(fd, (off_t)(b->n + pix)), 0);
	/* one element after the pixel data proves the seek landed right */
	struct bld *t = malloc(sizeof(*t));
	t->n = 0;
	hdr(t, 0xFFFC, 0xFFFC, "OB", 2);
	put16(t, 0);
	assert_int_equal(pwrite(fd, t->d, t->n, (off_t)(b->n + pix)), (ssize_t)t->n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	long before = phr_alloc_count();
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	enum phr_err e = phr_dicom_file_read_fd(&f, &err, fd, NULL);
	if (e)
		print_message("%s\n", err.msg);
	assert_int_equal(e, PHR_OK);
	assert_true(phr_alloc_count() - before < 200);
	json_t *j = NULL;
	assert_int_equal(phr_dicom_file_to_json(&j, f, 0), PHR_OK);
	char want[64];
	snprintf(want, sizeof(want), "bulk:offset=%zu;length=%u", b->n, pix);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "7FE00010"), "BulkDataURI")), want);
	assert_non_null(json_object_get(j, "FFFCFFFC"));
	json_decref(j);
	phr_dicom_file_free(f);
	close(fd);

	/* through a pipe (not seekable): read through, same result */
	snprintf(path, sizeof(path), "%s/small.dcm", dir);
	size_t len;
	uint8_t *ct = vector("CT_small.dcm", &len);
	assert_int_equal(dt_write_file(path, ct, len), 0);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct phr_dicom_limits lim = { .max_value_bytes = 100 };
	assert_int_equal(phr_dicom_file_read_fd(&f, NULL, fileno(p), &lim), PHR_OK);
	pclose(p);
	json_t *a = NULL, *m = NULL;
	assert_int_equal(phr_dicom_file_to_json(&a, f, 0), PHR_OK);
	phr_dicom_file_free(f);
	assert_int_equal(phr_dicom_file_parse(&f, NULL, ct, len, &lim), PHR_OK);
	assert_int_equal(phr_dicom_file_to_json(&m, f, 0), PHR_OK);
	phr_dicom_file_free(f);
	assert_true(json_equal(a, m));
	json_decref(a);
	json_decref(m);
	free(ct);
	free(t);
	free(b);
	dt_rmtree(dir);
}

struct chunks {
	const uint8_t *d;
	size_t n, off, fail_at;
};

/* A reader that hands out at most 7 bytes at a time and can fail at an offset. */
static long chunk_read(void *ctx, uint8_t *buf, size_t n)
{
	struct chunks *c = ctx;
	if (c->fail_at && c->off >= c->fail_at)
		return -1;
	size_t k = c->n - c->off < n ? c->n - c->off : n;
	if (k > 7)
		k = 7;
	memcpy(buf, c->d + c->off, k);
	c->off += k;
	return (long)k;
}

/* The pull-reader source: short reads, skips read through, every byte seen. */
static void test_reader(void **state)
{
	(void)state;
	static const char *const names[] = { "CT_small.dcm", "image_dfl.dcm", "JPEG2000.dcm", "MR_small_implicit.dcm" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len;
		uint8_t *d = vector(names[i], &len);
		struct phr_dicom_limits lim = { .max_value_bytes = 64 };
		struct chunks c = { .d = d, .n = len };
		struct phr_dicom_file *f = NULL;
		assert_int_equal(phr_dicom_file_read(&f, NULL, chunk_read, &c, &lim), PHR_OK);
		if (strcmp(names[i], "image_dfl.dcm"))
			assert_int_equal(c.off, len); /* deflate may stop at the stream end */
		json_t *a = NULL, *b = NULL;
		assert_int_equal(phr_dicom_file_to_json(&a, f, PHR_DICOM_JSON_META), PHR_OK);
		phr_dicom_file_free(f);
		assert_int_equal(phr_dicom_file_parse(&f, NULL, d, len, &lim), PHR_OK);
		assert_int_equal(phr_dicom_file_to_json(&b, f, PHR_DICOM_JSON_META), PHR_OK);
		phr_dicom_file_free(f);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
		/* a reader error anywhere is PHR_ERR_IO */
		c = (struct chunks){ .d = d, .n = len, .fail_at = len / 2 };
		struct phr_dicom_error err;
		assert_int_equal(phr_dicom_file_read(&f, &err, chunk_read, &c, &lim), PHR_ERR_IO);
		assert_true(err.msg[0] != 0);
		free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_and_meta),
		cmocka_unit_test(test_meta_ct_small),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_length_past_end),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_corrupt_deflate),
		cmocka_unit_test(test_streaming_large),
		cmocka_unit_test(test_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
