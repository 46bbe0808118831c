/* Internal helpers shared by he.c and he_json.c. */
#ifndef PHR_PRIVACY_HE_INTERNAL_H
#define PHR_PRIVACY_HE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/** @return true for the identity (32 zero bytes) or a valid ristretto255 encoding. */
bool phr_he_point_ok(const uint8_t p[32]);
/** @return true for a canonical scalar (< the group order). */
bool phr_he_scalar_ok(const uint8_t s[32]);

#endif
