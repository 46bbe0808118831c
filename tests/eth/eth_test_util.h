/* Helpers shared by the eth tests: fixture loading and hex. */
#ifndef PHR_ETH_TEST_UTIL_H
#define PHR_ETH_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** Loads a JSON file relative to the repo root; fails the test on error. */
json_t *eth_test_load_json(const char *path);
/** Decodes hex text (0x optional) into a malloc'd buffer; returns NULL on bad hex. */
uint8_t *eth_test_unhex(const char *hex, size_t *len);
/** Big decimal string to minimal big-endian bytes (any length). Returns length. */
size_t eth_test_dec_to_be(uint8_t *out, size_t cap, const char *dec);

#endif
