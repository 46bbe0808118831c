/**
 * @file dicom.h
 * @brief DICOM Part 10 files: a bounded, streaming parser; the DICOM JSON
 *        Model (PS3.18 Annex F); study/series/instance metadata; and a FHIR R4
 *        ImagingStudy built from that metadata.
 *
 * The parser reads a PS3.10 file (128-byte preamble, "DICM", File Meta
 * Information in explicit VR little endian) and then the data set in its
 * transfer syntax: implicit VR little endian, explicit VR little endian,
 * explicit VR big endian, deflated explicit VR little endian, and the
 * encapsulated (JPEG, JPEG-LS, JPEG 2000, RLE, ...) syntaxes, whose pixel
 * fragments are skipped. Input comes from a file descriptor through a bounded
 * buffer (or from memory); values longer than a limit (pixel data above all)
 * are skipped, never loaded, and reported as bulk data with their offset and
 * length. Every length is checked against what remains; nesting depth,
 * element count and loaded bytes are limited. Malformed input yields an error
 * code and a message with the byte offset, never a crash.
 *
 * Thread safety: a parsed file is immutable and may be read from several
 * threads; the functions keep no global state.
 */
#ifndef PHR_DICOM_H
#define PHR_DICOM_H

#include <phr/core.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Transfer syntax UIDs the parser understands natively. */
#define PHR_DICOM_TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define PHR_DICOM_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define PHR_DICOM_TS_DEFLATED_LE "1.2.840.10008.1.2.1.99"
#define PHR_DICOM_TS_EXPLICIT_BE "1.2.840.10008.1.2.2"

/** A tag as (group << 16) | element. */
#define PHR_DICOM_TAG(g, e) ((uint32_t)(((uint32_t)(g) << 16) | (uint32_t)(e)))

/** Resource limits of one parse. Zero fields take the defaults below. */
struct phr_dicom_limits {
	/** values longer than this are skipped and kept as bulk data (default 64 KiB) */
	size_t max_value_bytes;
	/** total bytes of values kept in memory; beyond it values become bulk (default 64 MiB) */
	size_t max_total_bytes;
	/** elements and items over the whole file (default 1,000,000) */
	size_t max_elements;
	/** nesting depth of sequences (default 32) */
	unsigned max_depth;
	/** decompressed size of a deflated data set (default 4 GiB) */
	uint64_t max_inflated_bytes;
};

#define PHR_DICOM_DEFAULT_VALUE_BYTES ((size_t)64 * 1024)
#define PHR_DICOM_DEFAULT_TOTAL_BYTES ((size_t)64 * 1024 * 1024)
#define PHR_DICOM_DEFAULT_ELEMENTS ((size_t)1000000)
#define PHR_DICOM_DEFAULT_DEPTH 32u
#define PHR_DICOM_DEFAULT_INFLATED ((uint64_t)4 << 30)

/** Why a parse failed: the byte offset (in the data stream; for a deflated
 *  data set, past the meta header, in decompressed bytes plus the meta size)
 *  and a NUL-terminated message. */
struct phr_dicom_error {
	uint64_t offset;
	char msg[160];
};

/** A parsed file (opaque; immutable after parsing). */
struct phr_dicom_file;

/**
 * Parses a DICOM Part 10 file read from @p fd, from its current position, with
 * a bounded buffer. Values longer than the limits are skipped (by lseek when
 * @p fd is seekable, else by reading through) and kept as bulk references.
 *
 * @param[out] out     the parsed file on success (free with phr_dicom_file_free)
 * @param[out] err     optional; on failure, the offset and a message
 * @param[in]  fd      an open readable descriptor; not closed
 * @param[in]  limits  NULL for the defaults
 * @return PHR_OK; PHR_ERR_PARSE (malformed, e.g. no "DICM", bad VR, bad
 *         item), PHR_ERR_TRUNCATED (ends early or a length points past the
 *         end), PHR_ERR_TOO_LARGE (depth/element limit), PHR_ERR_UNSUPPORTED
 *         (unknown transfer syntax), PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR enum phr_err phr_dicom_file_read_fd(struct phr_dicom_file **out, struct phr_dicom_error *err,
					    int fd, const struct phr_dicom_limits *limits);

/**
 * A pull reader for phr_dicom_file_read(): fills up to @p n bytes of @p buf.
 * @return the number of bytes read, 0 at the end of input, negative on error.
 */
typedef long (*phr_dicom_read_fn)(void *ctx, uint8_t *buf, size_t n);

/**
 * Same as phr_dicom_file_read_fd() with input from @p read (called with
 * @p ctx, from the calling thread, only during this call). Skipped values are
 * read through, never kept, so a caller can see every byte once, e.g. to
 * store an upload while it is parsed.
 */
PHR_WUR enum phr_err phr_dicom_file_read(struct phr_dicom_file **out, struct phr_dicom_error *err,
					 phr_dicom_read_fn read, void *ctx,
					 const struct phr_dicom_limits *limits);

/**
 * Same as phr_dicom_file_read_fd() on the bytes @p data[0..len). @p data is
 * only read during the call.
 */
PHR_WUR enum phr_err phr_dicom_file_parse(struct phr_dicom_file **out, struct phr_dicom_error *err,
					  const uint8_t *data, size_t len,
					  const struct phr_dicom_limits *limits);

/** Frees @p f and everything it owns; NULL is a no-op. */
void phr_dicom_file_free(struct phr_dicom_file *f);

/** @return the transfer syntax UID of @p f (valid while @p f lives). */
const char *phr_dicom_file_transfer_syntax(const struct phr_dicom_file *f);

/** @return the number of elements (and items) parsed in @p f, meta included. */
size_t phr_dicom_file_count(const struct phr_dicom_file *f);

/**
 * Copies the first value of top-level string element @p tag of the data set
 * (padding removed, converted to UTF-8) into @p buf.
 *
 * @return PHR_OK; PHR_ERR_NOT_FOUND (absent, empty, or bulk);
 *         PHR_ERR_TOO_LARGE (does not fit @p cap, @p buf untouched).
 */
PHR_WUR enum phr_err phr_dicom_file_string(char *buf, size_t cap, const struct phr_dicom_file *f,
					   uint32_t tag);

/** Flags of phr_dicom_file_to_json(). */
enum phr_dicom_json_flags {
	/** include the File Meta Information (group 0002), as dcm2json +m */
	PHR_DICOM_JSON_META = 1u << 0,
};

/**
 * Builds the DICOM JSON Model (PS3.18 F.2) of the data set of @p f: keys are
 * 8 uppercase hex digits, each with "vr" and "Value" (strings, numbers, PN
 * objects with "Alphabetic"/"Ideographic"/"Phonetic", nested data sets) or
 * "InlineBinary" (base64) for binary VRs. Values kept as bulk data (longer
 * than the limit, or encapsulated pixel data) carry "BulkDataURI":
 * "bulk:offset=O;length=L" (L is "undefined" for encapsulated data). Group
 * length elements (gggg,0000) are omitted, as PS3.18 and dcm2json do.
 *
 * @param[out] out  a new JSON object (json_decref) on success
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR enum phr_err phr_dicom_file_to_json(json_t **out, const struct phr_dicom_file *f,
					    unsigned flags);

/** Study/series/instance metadata, enough for a FHIR ImagingStudy. Strings are
 *  NUL-terminated UTF-8, empty when absent; numbers are 0 when absent. */
struct phr_dicom_meta {
	char patient_id[65];
	char patient_name[325];
	char study_uid[65];
	char series_uid[65];
	char sop_instance_uid[65];
	char sop_class_uid[65];
	char transfer_syntax[65];
	char modality[17];
	char study_date[9];  /**< YYYYMMDD */
	char study_time[17]; /**< HHMMSS.FFFFFF */
	char tz_offset[6];   /**< (0008,0201), e.g. "-0500" */
	char body_part[65];
	char study_description[65];
	char series_description[65];
	char accession_number[17];
	int32_t series_number;
	int32_t instance_number;
	uint32_t number_of_frames;
	uint32_t rows;
	uint32_t columns;
};

/**
 * Extracts the metadata of @p f into @p out (always fully written).
 * @return PHR_OK, or PHR_ERR_INVALID when the file has no SOP Instance UID or
 *         Study Instance UID.
 */
PHR_WUR enum phr_err phr_dicom_file_meta(struct phr_dicom_meta *out, const struct phr_dicom_file *f);

/**
 * Converts @p meta to a JSON object with snake_case keys (absent fields
 * omitted).
 * @param[out] out  a new JSON object on success
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR enum phr_err phr_dicom_meta_to_json(json_t **out, const struct phr_dicom_meta *meta);

/**
 * Builds a FHIR R4 ImagingStudy for one instance: identifier urn:oid:<study
 * UID>, status "available", subject, started (date, plus time when a time
 * zone offset is known, since FHIR requires a zone with a time), modality,
 * description, one series (uid, number, modality, description, bodySite
 * display) with one instance (uid, sopClass, number).
 *
 * @param[out] out          a new JSON object on success
 * @param[in]  meta         from phr_dicom_file_meta()
 * @param[in]  patient_ref  a FHIR reference ("Patient/123") or NULL, in which
 *                          case the subject carries the DICOM patient ID as an
 *                          identifier and the name as display
 * @return PHR_OK, PHR_ERR_INVALID (no study UID), PHR_ERR_NOMEM.
 */
PHR_WUR enum phr_err phr_dicom_imaging_study(json_t **out, const struct phr_dicom_meta *meta,
					     const char *patient_ref);

#ifdef __cplusplus
}
#endif

#endif
