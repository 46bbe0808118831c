/* Helpers shared by the DICOM tests. */
#ifndef PHR_DICOM_TEST_UTIL_H
#define PHR_DICOM_TEST_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (malloc'd, caller frees); NULL on error. */
uint8_t *dt_read_file(const char *path, size_t *len);

/* Writes @len bytes to @path; 0 on success. */
int dt_write_file(const char *path, const void *data, size_t len);

/* $PHR_SOURCE_DIR (or ".") joined with @rel into @out. */
void dt_source_path(char *out, size_t cap, const char *rel);

/*
 * Semantic comparison of two DICOM JSON documents: same keys, same array
 * lengths, equal strings; numbers equal as numbers (an integer equals a real
 * of the same value; reals within a relative 1e-6, which covers dcm2json
 * printing FL with 9 significant digits). On a difference, writes the JSON
 * path and both values into @why and returns false.
 */
bool dt_json_equal(const json_t *a, const json_t *b, char *why, size_t cap);

/* Creates a fresh temporary directory into @out; 0 on success. */
int dt_mkdtemp(char *out, size_t cap);

/* Removes a directory made by dt_mkdtemp and the files in it. */
void dt_rmtree(const char *dir);

/* Whether @prog is an executable on $PATH. */
bool dt_have_program(const char *prog);

#endif
