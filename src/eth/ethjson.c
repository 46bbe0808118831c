/* JSON helpers shared by the eth module (see eth_int.h). */
#include "eth_int.h"

#include "phr/core.h"

json_t *phr_eth_json_hex(const uint8_t *d, size_t n)
{
	char *s = phr_malloc(PHR_HEX_LEN(n, true));
	json_t *j = NULL;
	if (s && phr_hex_encode(s, PHR_HEX_LEN(n, true), d, n, true) == PHR_OK)
		j = json_string(s);
	phr_free(s);
	return j;
}

int phr_eth_json_unhex(uint8_t **out, size_t *n, const json_t *j)
{
	const char *s = json_string_value(j);
	size_t sl = s ? json_string_length(j) : 0;
	if (!s || sl < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || sl % 2)
		return PHR_ERR_INVALID;
	uint8_t *d = phr_malloc(sl / 2 + 1);
	if (!d)
		return PHR_ERR_NOMEM;
	if (phr_hex_decode(d, sl / 2 + 1, n, s, sl) != PHR_OK) {
		phr_free(d);
		return PHR_ERR_INVALID;
	}
	*out = d;
	return PHR_OK;
}
