/* Helpers shared by the shc tests. */
#ifndef SHC_TEST_UTIL_H
#define SHC_TEST_UTIL_H

#include <stdlib.h>

#include <phr/core.h>
#include <phr/json.h>

/* Reads PHR_SOURCE_DIR/<rel> into a NUL-terminated heap string (phr_free). */
static inline char *shc_test_read(const char *rel, size_t *len)
{
	char path[512];
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	if (phr_file_read(&b, path, 1 << 20) != PHR_OK)
		return NULL;
	return phr_buf_detach(&b, len);
}

static inline json_t *shc_test_json(const char *rel)
{
	size_t n;
	char *t = shc_test_read(rel, &n);
	json_t *v = NULL;
	if (t && phr_json_parse(&v, NULL, 0, t, n) != PHR_OK)
		v = NULL;
	phr_free(t);
	return v;
}

#endif
