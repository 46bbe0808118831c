/*
 * The portal's static-file answers (src/api/portal.c, api_portal_answer) on a
 * temporary asset directory: types, index, gzip negotiation, ETag/304, HEAD,
 * methods, hashed names, and every kind of path that must not escape the
 * directory or reach dot-files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"

static char dir[256];
static char outside[300];

static void put(const char *rel, const char *text)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char p[600];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/phr-test-portal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/dir.js", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	put("index.html", "<!doctype html><title>phr</title>");
	put("main-ABCD2345.js", "console.log('plain')");
	put("main-ABCD2345.js.gz", "GZ-BYTES");
	put("style.css", "body{}");
	put(".secret.json", "{\"k\":1}");
	put("sub/x.svg", "<svg/>");
	put("noext", "x");
	/* a file beside the directory that a traversal would reach */
	snprintf(outside, sizeof(outside), "%s-outside.txt", dir);
	{
		FILE *f = fopen(outside, "wb");
		assert_non_null(f);
		fputs("outside", f);
		fclose(f);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	unlink(outside);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned status_of(const char *url, const char *method)
{
	struct api_portal_answer a;

	assert_int_equal(api_portal_answer(&a, dir, url, method, NULL, NULL), PHR_OK);
	api_portal_answer_release(&a);
	return a.status;
}

static void test_index_and_types(void **state)
{
	struct api_portal_answer a;

	(void)state;
	assert_int_equal(api_portal_answer(&a, dir, "/", "GET", NULL, NULL), PHR_OK);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "text/html; charset=utf-8");
	assert_int_equal(a.len, strlen("<!doctype html><title>phr</title>"));
	assert_memory_equal(a.body, "<!doctype", 9);
	assert_false(a.immutable);
	assert_false(a.gzip);
	assert_int_equal(strlen(a.etag), 34);
	assert_true(a.etag[0] == '"' && a.etag[33] == '"');
	api_portal_answer_release(&a);
	assert_null(a.body);

	assert_int_equal(api_portal_answer(&a, dir, "/style.css", "GET", NULL, NULL), PHR_OK);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "text/css; charset=utf-8");
	api_portal_answer_release(&a);
	assert_int_equal(api_portal_answer(&a, dir, "/sub/x.svg", "GET", NULL, NULL), PHR_OK);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "image/svg+xml");
	api_portal_answer_release(&a);
	assert_int_equal(status_of("/index.html", "HEAD"), 200);
}

static void test_gzip_and_etags(void **state)
{
	struct api_portal_answer a, b;
	char tag[40];

	(void)state;
	assert_int_equal(api_portal_answer(&a, dir, "/main-ABCD2345.js", "GET", "gzip, deflate, br", NULL), PHR_OK);
	assert_int_equal(a.status, 200);
	assert_true(a.gzip);
	assert_true(a.immutable);
	assert_int_equal(a.len, 8);
	assert_memory_equal(a.body, "GZ-BYTES", 8);
	assert_non_null(strstr(a.etag, "-gz\""));
	assert_int_equal(api_portal_answer(&b, dir, "/main-ABCD2345.js", "GET", NULL, NULL), PHR_OK);
	assert_false(b.gzip);
	assert_memory_equal(b.body, "console.log", 11);
	assert_string_not_equal(a.etag, b.etag);
	/* gzip;q=0 refuses it; no .gz beside the file: identity */
	api_portal_answer_release(&b);
	assert_int_equal(api_portal_answer(&b, dir, "/main-ABCD2345.js", "GET", "gzip;q=0", NULL), PHR_OK);
	assert_false(b.gzip);
	api_portal_answer_release(&b);
	assert_int_equal(api_portal_answer(&b, dir, "/style.css", "GET", "gzip", NULL), PHR_OK);
	assert_false(b.gzip);
	assert_false(b.immutable);
	api_portal_answer_release(&b);
	/* If-None-Match: 304 without a body for the same tag, 200 for another or for HEAD */
	snprintf(tag, sizeof(tag), "%s", a.etag);
	api_portal_answer_release(&a);
	assert_int_equal(api_portal_answer(&a, dir, "/main-ABCD2345.js", "GET", "gzip", tag), PHR_OK);
	assert_int_equal(a.status, 304);
	assert_null(a.body);
	assert_string_equal(a.etag, tag);
	assert_int_equal(api_portal_answer(&a, dir, "/main-ABCD2345.js", "GET", NULL, tag), PHR_OK);
	assert_int_equal(a.status, 200);
	api_portal_answer_release(&a);
	assert_int_equal(api_portal_answer(&a, dir, "/main-ABCD2345.js", "GET", NULL, "*"), PHR_OK);
	assert_int_equal(a.status, 304);
	assert_int_equal(api_portal_answer(&a, dir, "/main-ABCD2345.js", "HEAD", "gzip", tag), PHR_OK);
	assert_int_equal(a.status, 200);
	api_portal_answer_release(&a);
}

static void test_methods(void **state)
{
	(void)state;
	assert_int_equal(status_of("/", "POST"), 405);
	assert_int_equal(status_of("/index.html", "PUT"), 405);
	assert_int_equal(status_of("/index.html", "DELETE"), 405);
	assert_int_equal(status_of("/index.html", "get"), 405);
}

static void test_paths_refused(void **state)
{
	static const char *const bad[] = {
		"/../x.txt", "/sub/../index.html", "/./index.html", "/.secret.json", "/sub/.x.svg",
		"//index.html", "/sub//x.svg", "/sub/", "/index.html/", "/%2e%2e/index.html",
		"/index%2ehtml", "/index.html%00.js", "/noext", "/dir.js", "/missing.js", "/sub",
		"/a b.js", "/index.html?x=1", "/\\index.html", "/index.exe", "/.", "/..",
	};
	char up[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct api_portal_answer a;
		assert_int_equal(api_portal_answer(&a, dir, bad[i], "GET", NULL, NULL), PHR_OK);
		if (a.status != 404)
			fail_msg("%s answered %u", bad[i], a.status);
		assert_null(a.body);
	}
	/* the file beside the directory, by every relative spelling */
	snprintf(up, sizeof(up), "/../%s", strrchr(outside, '/') + 1);
	assert_int_equal(status_of(up, "GET"), 404);
	/* a long path is refused, not truncated into another file */
	{
		char longp[1200];
		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		memcpy(longp + sizeof(longp) - 4, ".js", 4);
		assert_int_equal(status_of(longp, "GET"), 404);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_and_types),
		cmocka_unit_test(test_gzip_and_etags),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_paths_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
