/**
 * @file json.h
 * @brief JSON helpers over jansson (module `core`): bounded parsing and typed,
 *        checked access to members, so callers turn bad input into phr_err
 *        codes instead of crashing on a wrong type.
 *
 * Borrowed pointers (strings from phr_json_get_str) live as long as the
 * json_t they came from.
 */
#ifndef PHR_JSON_H
#define PHR_JSON_H

#include <jansson.h>
#include <phr/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parses @p len bytes of JSON text (any value at the top level; duplicate
 * object keys rejected; NUL bytes inside strings rejected).
 * @param[out] out     new reference on success (json_decref it)
 * @param[out] err     if non-NULL, a message with line/column on failure
 * @param[in]  err_cap size of @p err
 * @return PHR_OK or PHR_ERR_PARSE.
 */
PHR_WUR int phr_json_parse(json_t **out, char *err, size_t err_cap, const char *text, size_t len);

/** Reads and parses a file of at most @p max bytes. @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_NOT_FOUND, PHR_ERR_IO, PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_json_load_file(json_t **out, char *err, size_t err_cap, const char *path, size_t max);

/** Member @p key of object @p obj as a string. @return PHR_OK, PHR_ERR_NOT_FOUND (absent or null), PHR_ERR_INVALID (not a string or obj not an object). */
PHR_WUR int phr_json_get_str(const char **out, const json_t *obj, const char *key);

/**
 * Member @p key as an unsigned 64-bit integer: a JSON integer >= 0, a decimal
 * string, or a "0x" hex quantity string.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_INVALID, PHR_ERR_RANGE.
 */
PHR_WUR int phr_json_get_u64(uint64_t *out, const json_t *obj, const char *key);

/** Member @p key as a boolean. @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_INVALID. */
PHR_WUR int phr_json_get_bool(bool *out, const json_t *obj, const char *key);

/**
 * Member @p key as hex bytes (see phr_hex_decode for what is accepted).
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_INVALID, PHR_ERR_PARSE, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_json_get_hex(uint8_t *out, size_t out_cap, size_t *out_len, const json_t *obj,
			     const char *key);

/** Parses a decimal or "0x" hex string into a u64. @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_RANGE. */
PHR_WUR int phr_parse_u64(uint64_t *out, const char *s);

/** Sets obj[key] to the "0x"-prefixed hex of @p n bytes. @return PHR_OK or PHR_ERR_NOMEM. */
PHR_WUR int phr_json_set_hex(json_t *obj, const char *key, const uint8_t *data, size_t n);

/** Appends the compact serialisation of @p v to @p out. @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE. */
PHR_WUR int phr_json_dump(struct phr_buf *out, const json_t *v, size_t flags);

#ifdef __cplusplus
}
#endif
#endif
