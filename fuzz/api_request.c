/*
 * Fuzzes the node API's request parsing: input = "METHOD PATH\n" + body.
 * Route matching, JSON parsing and every field getter run on the result;
 * nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* results go here so none is ignored; nothing reads it */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "patient", "provider", "type",     "scope", "level",
					    "data",    "supersedes", "expiry", "duration",
					    "purpose", "text",	   "id" };
	const uint8_t *nl = memchr(data, '\n', size);
	char line[512], method[16], *sp;
	struct phr_api_req req;
	size_t n;

	if (nl == NULL || (size_t)(nl - data) >= sizeof(line))
		return 0;
	n = (size_t)(nl - data);
	memcpy(line, data, n);
	line[n] = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL || (size_t)(sp - line) >= sizeof(method) || memchr(line, '\0', n) != NULL)
		return 0;
	memcpy(method, line, (size_t)(sp - line));
	method[sp - line] = '\0';
	for (int json = 0; json < 2; json++) {
		int st = phr_api_req_parse(&req, method, sp + 1, (const char *)nl + 1,
					   size - n - 1, json != 0);
		if (st != 0)
			continue;
		for (size_t i = 0; i < req.n_params; i++) {
			uint8_t a[20];
			struct phr_u256 v;
			sink += phr_api_param_address(a, req.params[i]);
			sink += phr_api_param_u256(&v, req.params[i]);
		}
		for (size_t i = 0; req.body != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
			uint8_t a[20], scope[32];
			struct phr_u256 v;
			uint64_t u;
			enum phr_level l;
			struct phr_buf b;
			sink += phr_api_get_address(a, req.body, keys[i]);
			sink += phr_api_get_u256(&v, req.body, keys[i]);
			sink += phr_api_get_uint(&u, req.body, keys[i], 1000);
			sink += phr_api_get_scope(scope, req.body, keys[i]);
			sink += phr_api_get_level(&l, req.body, keys[i]);
			phr_buf_init(&b, 1 << 20);
			sink += phr_api_get_base64(&b, req.body, keys[i]);
			phr_buf_release(&b);
		}
		phr_api_req_release(&req);
	}
	return 0;
}
