/*
 * Fuzz target for gateway request parsing: the input is split at newlines into
 * method, path, ?format, ?dag-scope and Accept (an empty field means absent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[5] = { 0 };
	struct phr_gw_request req;
	size_t k = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	char *p = buf;
	while (k < 5) {
		char *nl = strchr(p, '\n');
		f[k++] = *p ? p : NULL;
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	int st = phr_gw_request_parse(&req, f[0], f[1], f[2], f[3], f[4]);
	if (st == 0) {
		if (req.format > PHR_GW_FORMAT_CAR || req.scope > PHR_DAG_SCOPE_BLOCK ||
		    strnlen(req.cid_text, sizeof(req.cid_text)) >= sizeof(req.cid_text))
			abort();
	} else if (st != 400 && st != 404 && st != 405 && st != 406) {
		abort();
	}
	free(buf);
	return 0;
}
