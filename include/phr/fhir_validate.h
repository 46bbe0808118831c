/**
 * @file fhir_validate.h
 * @brief FHIR R4 resource validation driven by the official definitions
 *        (module `fhir`).
 *
 * The rules come from the R4 StructureDefinitions (snapshots) of every
 * resource type and data type in npm `hl7.fhir.r4.examples` and from the
 * required-binding value sets of npm `hl7.fhir.r4.expansions`: a generator
 * (src/fhir/gen_defs.mjs, run at development time) turns them into a
 * compiled table (src/fhir/defs_table.c); nothing is written by hand per
 * resource. The validator checks, for a resource given as parsed JSON:
 *  - resourceType names a known resource type;
 *  - every member is a known element of its type (choice elements `value[x]`
 *    by their typed names, e.g. `valueQuantity`; `_name` siblings of
 *    primitives carrying id/extension; contentReference elements);
 *  - JSON types (object, array for repeating elements only, string, number,
 *    boolean), cardinality (min/max), required elements;
 *  - string primitive formats with the regexes of the specification,
 *    compiled to DFAs at generation time (date, dateTime, instant, time, id,
 *    uri, code, oid, uuid, base64Binary...); integer, positiveInt and
 *    unsignedInt as JSON integers in their ranges, decimal as a JSON number;
 *  - codes of required bindings against their value set (when the value set
 *    expansion is available offline);
 *  - contained resources and Bundle entry resources, recursively;
 *  - the terminology checks of phr/terminology.h (ICD-10-CM, SNOMED CT,
 *    LOINC, CVX; unknown systems accepted) on every Coding.
 * Invariants (FHIRPath constraints) are not evaluated.
 *
 * All functions are reentrant and thread-safe; the tables are static and
 * read-only. The walk recurses once per nested JSON object, at most 64 deep,
 * with about 3 KB of stack a level (under 200 KB in all).
 */
#ifndef PHR_FHIR_VALIDATE_H
#define PHR_FHIR_VALIDATE_H

#include <jansson.h>
#include <phr/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Validates one FHIR R4 resource (any resource type of the R4 definitions,
 * Bundle included: entries are validated as resources of their own type).
 *
 * @param[out] issues   NULL, or receives a NEW JSON array (owned by the
 *                      caller, release with json_decref()) of
 *                      OperationOutcome.issue objects, one per problem found:
 *                      `{"severity": "error"|"warning", "code": <IssueType
 *                      code: "structure", "required", "value", "invalid",
 *                      "code-invalid", "too-costly">, "diagnostics": <English
 *                      sentence>, "expression": [<FHIRPath of the element,
 *                      e.g. "Patient.name[0].given[1]">]}`. The array is empty
 *                      when the resource is valid. Set on PHR_OK and on
 *                      PHR_ERR_INVALID; left untouched (not set) on
 *                      PHR_ERR_NOMEM. At most 100 issues are reported; a
 *                      "too-costly" warning says when more were dropped.
 * @param[in]  resource the resource (borrowed, not modified); a JSON object
 *                      with a "resourceType" member.
 * @return PHR_OK when no issue has severity "error" (warnings allowed);
 *         PHR_ERR_INVALID when at least one error issue was found (including
 *         @p resource not being an object, an unknown resourceType, nesting
 *         deeper than 64 levels); PHR_ERR_NOMEM when an allocation failed.
 */
PHR_WUR int phr_fhir_validate(json_t **issues, const json_t *resource);

/**
 * Whether @p type names a resource type known to the validator.
 * @param[in] type NUL-terminated type name, e.g. "Patient" (NULL gives false)
 * @return true for the resource types of the R4 definitions.
 */
bool phr_fhir_validate_is_resource_type(const char *type);

#ifdef __cplusplus
}
#endif
#endif
