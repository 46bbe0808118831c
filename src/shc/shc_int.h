/* Internals shared by the files of module `shc`. */
#ifndef PHR_SHC_INT_H
#define PHR_SHC_INT_H

#include <phr/shc.h>

/** Writes a formatted reason (if @p reason) and returns @p err. */
PHR_PRINTF(4, 5) int phr_shc_fail(char *reason, size_t cap, int err, const char *fmt, ...);

/** Looks up the JWK with @p kid in a JWKS and makes a key of it. */
PHR_WUR int phr_shc_jwks_find(struct phr_shc_key **out, char *reason, size_t cap, const json_t *jwks,
			      const char *kid);

/** Raw DEFLATE (window -15) of @p n bytes, appended to @p out. */
PHR_WUR int phr_shc_deflate(struct phr_buf *out, const uint8_t *in, size_t n);

/** Raw INFLATE of @p n bytes, appended to @p out (limited by out->max). */
PHR_WUR int phr_shc_inflate(struct phr_buf *out, const uint8_t *in, size_t n);

/* On failure, cuts @p b back to @p start so outputs stay as they were (a
 * failed append has already emptied the buffer: core's rule). Returns @p rc. */
static inline int phr_shc_keep(struct phr_buf *b, size_t start, int rc)
{
	if (rc != PHR_OK && b->data && b->len >= start) {
		b->len = start;
		b->data[start] = 0;
	}
	return rc;
}

#endif
