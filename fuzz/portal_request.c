/*
 * The portal's static-file answers (src/api/portal.c): input "METHOD URL\n
 * ACCEPT-ENCODING\nIF-NONE-MATCH" (later lines optional) against a small asset
 * directory made once under /tmp. Besides the sanitizers, the oracle checks
 * that nothing outside the directory, no dot-file and no unknown type is ever
 * served, and that 200/304 always carry a well-formed ETag.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "wb");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static const char *const files[] = { "index.html", "main-ABCD2345.js", "main-ABCD2345.js.gz",
				       ".hidden.js", "sub/a.css", "noext" };

/* removes the directory at exit (the replay driver runs in every CTest run) */
static void cleanup(void)
{
	char p[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
}

static void init(void)
{
	char p[160];

	snprintf(dir, sizeof(dir), "/tmp/phr-fuzz-portal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	put("index.html", "<!doctype html>");
	put("main-ABCD2345.js", "js");
	put("main-ABCD2345.js.gz", "gz");
	put(".hidden.js", "SECRET");
	put("sub/a.css", "css");
	put("noext", "SECRET");
	atexit(cleanup);
}

/* the next '\n'-terminated piece of the input as a C string (malloc) */
static char *piece(const uint8_t **d, size_t *n)
{
	const uint8_t *nl = memchr(*d, '\n', *n);
	size_t k = nl ? (size_t)(nl - *d) : *n;
	char *s = malloc(k + 1);

	if (s == NULL)
		abort();
	memcpy(s, *d, k);
	s[k] = '\0';
	*d += nl ? k + 1 : k;
	*n -= nl ? k + 1 : k;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_portal_answer a;
	char *line, *ae, *inm, *sp, *url;
	const char *method;
	int rv;

	if (dir[0] == '\0')
		init();
	line = piece(&data, &size);
	ae = size > 0 ? piece(&data, &size) : NULL;
	inm = size > 0 ? piece(&data, &size) : NULL;
	sp = strchr(line, ' ');
	method = sp ? line : "GET";
	url = sp ? sp + 1 : line;
	if (sp)
		*sp = '\0';
	rv = api_portal_answer(&a, dir, url, method, ae, inm);
	if (rv == PHR_OK) {
		if (a.status != 200 && a.status != 304 && a.status != 404 && a.status != 405)
			abort();
		if (a.status == 200 || a.status == 304) {
			/* only plain segments under the directory, with a known type and a tag */
			if (strstr(url, "/.") != NULL || strstr(url, "//") != NULL || a.type == NULL ||
			    a.etag[0] != '"' || strlen(a.etag) < 34)
				abort();
			if (a.body != NULL && a.len == 6 && memcmp(a.body, "SECRET", 6) == 0)
				abort();
		}
		if (a.status != 200 && a.body != NULL)
			abort();
		api_portal_answer_release(&a);
	}
	free(line);
	free(ae);
	free(inm);
	return 0;
}
