/**
 * @file terminology.h
 * @brief Code checks for the terminologies a personal record uses (module `fhir`):
 *        ICD-10-CM code structure, SNOMED CT identifiers (Verhoeff check digit,
 *        partition), LOINC codes (mod-10 check digit with the published
 *        exceptions), CVX against the official FHIR R4 value set; codes of any
 *        other system are accepted as they are.
 *
 * All functions are pure, reentrant and allocate nothing. Codes are byte
 * strings with an explicit length (need not be NUL-terminated). The optional
 * @p reason output receives a short English sentence (NUL-terminated,
 * truncated to @p reason_cap) saying why a code was rejected; it is set to ""
 * when the code is accepted.
 */
#ifndef PHR_TERMINOLOGY_H
#define PHR_TERMINOLOGY_H

#include <jansson.h>
#include <phr/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** System URIs recognised by phr_fhir_term_check(). */
#define PHR_FHIR_SYSTEM_ICD10CM "http://hl7.org/fhir/sid/icd-10-cm"
#define PHR_FHIR_SYSTEM_SNOMED "http://snomed.info/sct"
#define PHR_FHIR_SYSTEM_LOINC "http://loinc.org"
#define PHR_FHIR_SYSTEM_CVX "http://hl7.org/fhir/sid/cvx"

/** Code systems known to the checker. */
enum phr_fhir_term_system {
	PHR_FHIR_TERM_OTHER = 0, /**< any other system: accepted as-is */
	PHR_FHIR_TERM_ICD10CM,
	PHR_FHIR_TERM_SNOMED,
	PHR_FHIR_TERM_LOINC,
	PHR_FHIR_TERM_CVX,
};

/** Kinds of SNOMED CT component named by an identifier's partition. */
enum phr_fhir_snomed_kind {
	PHR_FHIR_SNOMED_CONCEPT = 0,
	PHR_FHIR_SNOMED_DESCRIPTION = 1,
	PHR_FHIR_SNOMED_RELATIONSHIP = 2,
};

/** A SNOMED CT identifier taken apart by phr_fhir_snomed_parse(). */
struct phr_fhir_snomed_id {
	enum phr_fhir_snomed_kind kind; /**< from the partition's second digit */
	bool long_format;               /**< partition 1x: carries a namespace */
	uint32_t namespace_id;          /**< 7-digit namespace (long format), else 0 */
	uint64_t item;                  /**< item identifier */
};

/**
 * Maps a system URI to the checker that handles it.
 * @param[in] system NUL-terminated URI (NULL gives PHR_FHIR_TERM_OTHER)
 * @return the system, PHR_FHIR_TERM_OTHER for URIs not listed above.
 */
enum phr_fhir_term_system phr_fhir_term_system_of(const char *system);

/**
 * The one entry point: checks @p code against the rules of @p system.
 * ICD-10-CM: structure only; SNOMED CT: a concept identifier (Verhoeff check
 * digit, partition 00 or 10); LOINC: mod-10 check digit (or one of the
 * published codes with a wrong one); CVX: a member of the official R4 value
 * set; any other system: any non-empty code.
 * @param[out] reason     why the code was rejected ("" when accepted); may be NULL
 * @param[in]  reason_cap size of @p reason
 * @param[in]  system     NUL-terminated system URI
 * @param[in]  code       the code (need not be NUL-terminated)
 * @param[in]  code_len   its length
 * @return PHR_OK, or PHR_ERR_INVALID when the code breaks the system's rules.
 */
PHR_WUR int phr_fhir_term_check(char *reason, size_t reason_cap, const char *system, const char *code,
				size_t code_len);

/**
 * ICD-10-CM code structure (CMS): a letter, a digit, a letter or digit, then
 * optionally a dot and 1 to 4 letters or digits (upper case; 'X' placeholders
 * allowed). No code list is consulted.
 * @return PHR_OK or PHR_ERR_INVALID (reason as for phr_fhir_term_check).
 */
PHR_WUR int phr_fhir_icd10cm_check(char *reason, size_t reason_cap, const char *code, size_t code_len);

/**
 * Takes a SNOMED CT identifier apart: 6 to 18 decimal digits without a leading
 * zero, a valid Verhoeff check digit, and a known partition (00, 01, 02 short
 * format; 10, 11, 12 long format with a 7-digit namespace).
 * @param[out] out        filled on success only; may be NULL
 * @return PHR_OK or PHR_ERR_INVALID (reason as for phr_fhir_term_check).
 */
PHR_WUR int phr_fhir_snomed_parse(struct phr_fhir_snomed_id *out, char *reason, size_t reason_cap,
				  const char *code, size_t code_len);

/**
 * Whether @p code has the form of a SNOMED RT identifier (the legacy
 * "SNOMED ID" of SNOMED RT and SNOMED International 3.x, e.g. T-D4000,
 * G-A101, P5-09010): an upper-case letter, optionally a second upper-case
 * letter or digit, a hyphen, then 4 or 5 upper-case letters or digits. DICOM
 * used these (coding scheme SRT) until CP-1850 moved it to SNOMED CT concept
 * ids; older modalities and FHIR's own ImagingStudy example still carry them
 * under http://snomed.info/sct. phr_fhir_term_check rejects them (they are not
 * SNOMED CT identifiers); phr_fhir_validate reports them as a warning.
 * @return true for that form; no table of SNOMED RT codes is consulted.
 */
bool phr_fhir_snomed_rt_id(const char *code, size_t code_len);

/**
 * Verhoeff check digit of the @p len decimal digits at @p digits.
 * @return 0..9, or -1 when a character is not a digit.
 */
int phr_fhir_verhoeff_digit(const char *digits, size_t len);

/**
 * LOINC code: 1 to 7 digits (optionally after a two-letter "LA", "LP", "LL" or
 * "LG" prefix), a hyphen and a check digit. For LOINC terms (no prefix) the
 * check digit must be the mod-10 digit of LOINC's published algorithm; the 14
 * official codes whose check digit is wrong are accepted. For part, answer and
 * list codes only the structure is checked.
 * @return PHR_OK or PHR_ERR_INVALID (reason as for phr_fhir_term_check).
 */
PHR_WUR int phr_fhir_loinc_check(char *reason, size_t reason_cap, const char *code, size_t code_len);

/**
 * LOINC mod-10 check digit of the @p len decimal digits at @p digits.
 * @return 0..9, or -1 when a character is not a digit.
 */
int phr_fhir_loinc_digit(const char *digits, size_t len);

/**
 * Looks a CVX code up in the official value set (FHIR R4 vaccine-code
 * expansion, 195 codes, embedded at build time).
 * @param[out] display if non-NULL, the code's display text (static storage)
 * @return PHR_OK or PHR_ERR_NOT_FOUND.
 */
PHR_WUR int phr_fhir_cvx_lookup(const char **display, const char *code, size_t code_len);

/** @return the number of CVX codes embedded. */
size_t phr_fhir_cvx_count(void);

/**
 * Called by phr_fhir_term_check_resource() for each rejected code.
 * @param ctx    the caller's pointer
 * @param path   element path of the code, e.g. "Immunization.vaccineCode.coding[0].code"
 * @param system the Coding's system
 * @param code   the rejected code
 * @param reason why (as phr_fhir_term_check)
 * All strings are valid only during the call.
 */
typedef void phr_fhir_term_issue_fn(void *ctx, const char *path, const char *system, const char *code,
				    const char *reason);

/**
 * Checks every coded value of a FHIR resource (JSON): each object with string
 * members "system" and "code" (Coding, and Quantity, whose UCUM system falls
 * under "any other system") goes through phr_fhir_term_check(). Contained and
 * nested resources (Bundle entries) are walked too; paths start at the
 * top-level resourceType (or "$" when there is none).
 * @param[out] n_invalid number of rejected codes
 * @param[in]  fn        called once per rejected code (may be NULL)
 * @return PHR_OK (whatever the verdicts), PHR_ERR_INVALID when @p resource is
 *         not an object, PHR_ERR_TOO_LARGE when nesting exceeds 64 levels.
 */
PHR_WUR int phr_fhir_term_check_resource(size_t *n_invalid, const json_t *resource, phr_fhir_term_issue_fn *fn,
					 void *ctx);

#ifdef __cplusplus
}
#endif
#endif
