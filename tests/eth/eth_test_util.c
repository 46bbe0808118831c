#include "eth_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"

json_t *eth_test_load_json(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
	if (!j)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	return j;
}

uint8_t *eth_test_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out = malloc(n / 2 + 2);
	if (!out)
		return NULL;
	if (phr_hex_decode(out, n / 2 + 2, len, hex, n) != PHR_OK) {
		free(out);
		return NULL;
	}
	return out;
}

size_t eth_test_dec_to_be(uint8_t *out, size_t cap, const char *dec)
{
	size_t n = 0; /* little-endian bytes in out while building */
	memset(out, 0, cap);
	for (const char *p = dec; *p; p++) {
		unsigned c = (unsigned)(*p - '0');
		for (size_t i = 0; i < cap; i++) {
			c += out[i] * 10u;
			out[i] = (uint8_t)c;
			c >>= 8;
		}
	}
	for (size_t i = 0; i < cap; i++)
		if (out[i])
			n = i + 1;
	for (size_t i = 0; i < n / 2; i++) {
		uint8_t t = out[i];
		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}
