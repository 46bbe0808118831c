/*
 * ABI decoder. Input: a type string, a NUL byte, then the data (without a
 * NUL the first byte picks one of a few fixed types). Whatever decodes must
 * re-encode, and the re-encoding must decode and re-encode to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const TYPES[] = {
	"(uint256,address,bool,bytes32)", "(bytes,string)", "(uint8[],int16[2])",
	"((uint256,string)[],bytes)",      "(string[][])",  "((bool,(bytes,address[])[2])[])",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tbuf[256];
	const char *ts;
	const uint8_t *nul = memchr(data, 0, size < sizeof(tbuf) ? size : sizeof(tbuf));
	if (nul) {
		memcpy(tbuf, data, (size_t)(nul - data));
		tbuf[nul - data] = 0;
		ts = tbuf;
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	} else {
		if (size == 0)
			return 0;
		ts = TYPES[data[0] % (sizeof(TYPES) / sizeof(TYPES[0]))];
		data++;
		size--;
	}
	struct phr_abi_type *t = NULL;
	if (phr_abi_type_parse(&t, ts) != PHR_OK)
		return 0;
	struct phr_abi_value *v = NULL, *v2 = NULL;
	if (phr_abi_decode(&v, t, data, size) == PHR_OK) {
		struct phr_buf b1, b2;
		phr_buf_init(&b1, 0);
		phr_buf_init(&b2, 0);
		if (phr_abi_encode(&b1, v) != PHR_OK)
			abort();
		/* b1 may be empty (e.g. "()"): decode from a non-NULL pointer */
		if (phr_abi_decode(&v2, t, b1.data ? b1.data : (const uint8_t *)"", b1.len) != PHR_OK)
			abort();
		if (phr_abi_encode(&b2, v2) != PHR_OK || b1.len != b2.len ||
		    (b1.len && memcmp(b1.data, b2.data, b1.len) != 0))
			abort();
		json_t *j = phr_abi_value_to_json(v);
		json_decref(j);
		phr_buf_release(&b1);
		phr_buf_release(&b2);
	}
	phr_abi_value_free(v);
	phr_abi_value_free(v2);
	phr_abi_type_free(t);
	return 0;
}
