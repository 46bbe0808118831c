/*
 * The trustless gateway end to end on 127.0.0.1:0: status codes, headers, raw
 * blocks, CARs, the bafkqaaa probe, fetching a DAG into a second store with
 * the client (block by block and as a CAR), a tampered block refused, and
 * `phr gateway --listen 127.0.0.1:0` as a process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/store.h>

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_test_util.h"

struct resp {
	long status;
	struct phr_buf body;
	struct phr_buf headers;
};

static size_t on_data(char *p, size_t s, size_t n, void *ud)
{
	return phr_buf_append(ud, p, s * n) == PHR_OK ? s * n : 0;
}

static void http(struct resp *r, const char *method, const char *url, const char *accept)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char hdr[256];
	assert_non_null(c);
	phr_buf_init(&r->body, 0);
	phr_buf_init(&r->headers, 0);
	if (accept) {
		snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (!r->headers.data)
		assert_int_equal(phr_buf_append(&r->headers, "", 0), PHR_OK);
}

static void resp_release(struct resp *r)
{
	phr_buf_release(&r->body);
	phr_buf_release(&r->headers);
}

static bool has_header(const struct resp *r, const char *line)
{
	return r->headers.data && strcasestr((const char *)r->headers.data, line) != NULL;
}

struct fixture {
	char *dir;
	struct phr_store *st;
	struct phr_gateway *gw;
	char base[64];
	struct phr_cid root, small, empty;
	char root_s[PHR_CID_STR_MAX], small_s[PHR_CID_STR_MAX], empty_s[PHR_CID_STR_MAX];
	uint8_t *data;
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint16_t port = 0;
	f->dir = st_tmpdir();
	f->n = 700000;
	f->data = malloc(f->n);
	st_pattern(f->data, f->n, 7);
	if (phr_store_open(&f->st, f->dir) || phr_store_add_bytes(f->st, &f->root, f->data, f->n, NULL) ||
	    phr_store_add_bytes(f->st, &f->small, (const uint8_t *)"hello\n", 6, NULL) ||
	    phr_store_add_bytes(f->st, &f->empty, NULL, 0, NULL) ||
	    phr_gateway_new(&f->gw, f->st) || phr_gateway_listen(f->gw, "127.0.0.1", 0, &port))
		return -1;
	if (phr_cid_format(f->root_s, sizeof(f->root_s), &f->root) ||
	    phr_cid_format(f->small_s, sizeof(f->small_s), &f->small) ||
	    phr_cid_format(f->empty_s, sizeof(f->empty_s), &f->empty))
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)port);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	phr_gateway_free(f->gw);
	phr_store_close(f->st);
	st_rmtree(f->dir);
	phr_free(f->dir);
	free(f->data);
	free(f);
	return 0;
}

static void test_raw_and_headers(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[512], etag[256];

	snprintf(url, sizeof(url), "%s/ipfs/%s?format=raw", f->base, f->small_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 6);
	assert_memory_equal(r.body.data, "hello\n", 6);
	assert_true(has_header(&r, "Content-Type: application/vnd.ipld.raw"));
	assert_true(has_header(&r, "Cache-Control: public, max-age=29030400, immutable"));
	assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
	assert_true(has_header(&r, "Content-Disposition: attachment; filename="));
	snprintf(etag, sizeof(etag), "ETag: \"%s.raw\"", f->small_s);
	assert_true(has_header(&r, etag));
	resp_release(&r);

	/* Accept header instead of ?format, on the dag-pb root: a verifiable block */
	snprintf(url, sizeof(url), "%s/ipfs/%s", f->base, f->root_s);
	http(&r, "GET", url, "application/vnd.ipld.raw");
	assert_int_equal(r.status, 200);
	assert_int_equal(phr_cid_verify(&f->root, r.body.data, r.body.len), PHR_OK);
	resp_release(&r);

	/* HEAD: headers, no body */
	http(&r, "HEAD", url, "application/vnd.ipld.raw");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_true(has_header(&r, "Content-Type: application/vnd.ipld.raw"));
	resp_release(&r);

	/* the deserialized file */
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, f->n);
	assert_memory_equal(r.body.data, f->data, f->n);
	resp_release(&r);

	/* a cached copy is still good: 304 */
	{
		CURL *c = curl_easy_init();
		struct curl_slist *h = NULL;
		char inm[300];
		long status = 0;
		snprintf(url, sizeof(url), "%s/ipfs/%s?format=raw", f->base, f->small_s);
		snprintf(inm, sizeof(inm), "If-None-Match: \"%s.raw\"", f->small_s);
		h = curl_slist_append(h, inm);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		assert_int_equal(curl_easy_perform(c), CURLE_OK);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 304);
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
	}

	/* the empty file, deserialized */
	snprintf(url, sizeof(url), "%s/ipfs/%s", f->base, f->empty_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_true(has_header(&r, "Content-Length: 0"));
	resp_release(&r);

	/* the identity probe */
	snprintf(url, sizeof(url), "%s/ipfs/bafkqaaa?format=raw", f->base);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	resp_release(&r);
	http(&r, "HEAD", url, NULL);
	assert_int_equal(r.status, 200);
	resp_release(&r);
}

static void test_car(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[512];

	snprintf(url, sizeof(url), "%s/ipfs/%s?format=car", f->base, f->root_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type: application/vnd.ipld.car"));
	/* header (59) + root + 3 leaves (262144, 262144, 175712) */
	assert_true(r.body.len > f->n);
	resp_release(&r);

	snprintf(url, sizeof(url), "%s/ipfs/%s?format=car&dag-scope=block", f->base, f->root_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len < 400);
	resp_release(&r);

	snprintf(url, sizeof(url), "%s/ipfs/%s", f->base, f->root_s);
	http(&r, "GET", url, "application/vnd.ipld.car; version=1; order=dfs; dups=n");
	assert_int_equal(r.status, 200);
	assert_true(r.body.len > f->n);
	resp_release(&r);
}

static void test_status_codes(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[512];
	/* "@" in a path stands for the small file's CID */
	static const struct {
		const char *method, *path, *accept;
		long status;
	} cases[] = {
		{ "GET", "/ipfs/not-a-cid?format=raw", NULL, 400 },
		{ "GET", "/ipfs/@?format=json", NULL, 400 },
		{ "GET", "/ipfs/@?format=car&dag-scope=everything", NULL, 400 },
		{ "GET", "/ipfs/@", "text/html", 406 },
		{ "GET", "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw", NULL, 404 },
		{ "GET", "/ipns/example.com", NULL, 404 },
		{ "GET", "/ipfs/@/sub/path", NULL, 404 },
		{ "POST", "/ipfs/@", NULL, 405 },
		{ "DELETE", "/ipfs/@", NULL, 405 },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(cases); i++) {
		char path[256];
		const char *at = strchr(cases[i].path, '@');
		if (at)
			snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - cases[i].path),
				 cases[i].path, f->small_s, at + 1);
		else
			snprintf(path, sizeof(path), "%s", cases[i].path);
		snprintf(url, sizeof(url), "%s%s", f->base, path);
		http(&r, cases[i].method, url, cases[i].accept);
		if (r.status != cases[i].status)
			print_error("%s %s -> %ld\n", cases[i].method, path, r.status);
		assert_int_equal(r.status, cases[i].status);
		resp_release(&r);
	}
}

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	return phr_buf_append(ctx, data, len);
}

static void test_client_fetch(void **state)
{
	struct fixture *f = *state;
	for (int car = 0; car < 2; car++) {
		char *dir = st_tmpdir();
		struct phr_store *st2;
		struct phr_buf out;
		uint64_t n = 0;
		assert_int_equal(phr_store_open(&st2, dir), PHR_OK);
		if (car)
			assert_int_equal(phr_gw_fetch_car(st2, f->base, &f->root, &n), PHR_OK);
		else
			assert_int_equal(phr_gw_fetch(st2, f->base, &f->root, &n), PHR_OK);
		assert_int_equal(n, 4); /* root + 3 leaves */
		phr_buf_init(&out, 0);
		assert_int_equal(phr_store_cat(st2, &f->root, collect, &out), PHR_OK);
		assert_int_equal(out.len, f->n);
		assert_memory_equal(out.data, f->data, f->n);
		phr_buf_release(&out);
		/* a CID the gateway does not have */
		struct phr_cid missing;
		assert_int_equal(phr_cid_parse(&missing, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"), PHR_OK);
		assert_int_equal(phr_gw_fetch(st2, f->base, &missing, NULL), PHR_ERR_NOT_FOUND);
		/* nobody listening */
		assert_int_equal(phr_gw_fetch(st2, "http://127.0.0.1:1", &missing, NULL), PHR_ERR_NETWORK);
		phr_store_close(st2);
		st_rmtree(dir);
		phr_free(dir);
	}
}

/* Runs last: corrupts a leaf on disk; the gateway answers 500 and never the bytes. */
static void test_tampered_block(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[512], path[1024] = "";
	char blocks[512];
	snprintf(blocks, sizeof(blocks), "%s/blocks", f->dir);
	/* corrupt every block except the small file's */
	DIR *d = opendir(blocks);
	struct dirent *e;
	int corrupted = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[768];
		snprintf(sub, sizeof(sub), "%s/%s", blocks, e->d_name);
		DIR *s = opendir(sub);
		struct dirent *b;
		while (s && (b = readdir(s))) {
			if (b->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, b->d_name);
			FILE *fp = fopen(path, "r+b");
			assert_non_null(fp);
			fseek(fp, 0, SEEK_END);
			if (ftell(fp) > 100) {
				fseek(fp, 50, SEEK_SET);
				int ch = fgetc(fp);
				fseek(fp, 50, SEEK_SET);
				fputc(ch ^ 0x55, fp);
				corrupted++;
			}
			fclose(fp);
		}
		if (s)
			closedir(s);
	}
	closedir(d);
	/* and every record of the pack with more than 100 bytes (the root); record header:
	 * 48 bytes, payload length at 8 (LE), payload padded to 8 */
	char pack[600];
	snprintf(pack, sizeof(pack), "%s/pack", f->dir);
	FILE *pp = fopen(pack, "r+b");
	assert_non_null(pp);
	uint8_t h[48];
	for (long off = 64; fseek(pp, off, SEEK_SET) == 0 && fread(h, 1, 48, pp) == 48;) {
		long len = (long)h[8] | (long)h[9] << 8 | (long)h[10] << 16;
		if (h[4] == 1 && len > 100) {
			fseek(pp, off + 48 + 50, SEEK_SET);
			int ch = fgetc(pp);
			fseek(pp, off + 48 + 50, SEEK_SET);
			fputc(ch ^ 0x55, pp);
			corrupted++;
		}
		off += 48 + (len + 7) / 8 * 8;
	}
	fclose(pp);
	assert_true(corrupted >= 4);
	snprintf(url, sizeof(url), "%s/ipfs/%s?format=raw", f->base, f->root_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 500);
	resp_release(&r);
	snprintf(url, sizeof(url), "%s/ipfs/%s?format=car", f->base, f->root_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 500);
	resp_release(&r);
	snprintf(url, sizeof(url), "%s/ipfs/%s", f->base, f->root_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 500);
	resp_release(&r);
	/* the small file is intact */
	snprintf(url, sizeof(url), "%s/ipfs/%s?format=raw", f->base, f->small_s);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	resp_release(&r);
}

/* `phr gateway --listen 127.0.0.1:0` prints its address and serves until SIGTERM. */
static void test_cli_gateway(void **state)
{
	struct fixture *f = *state;
	int pfd[2];
	char line[256] = "", datadir[512];
	assert_int_equal(pipe(pfd), 0);
	snprintf(datadir, sizeof(datadir), "%s/cli", f->dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(st_phr(), st_phr(), "gateway", "--datadir", datadir, "--listen", "127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *out = fdopen(pfd[0], "r");
	assert_non_null(fgets(line, sizeof(line), out));
	unsigned port = 0;
	assert_int_equal(sscanf(line, "listening on http://127.0.0.1:%u", &port), 1);
	assert_true(port > 0);
	struct resp r;
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ipfs/bafkqaaa?format=raw", port);
	http(&r, "GET", url, NULL);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	/* phr get: block by block and as one CAR, into fresh data directories */
	for (int car = 0; car < 2; car++) {
		char dd[512], outp[600];
		snprintf(dd, sizeof(dd), "%s/get%d", f->dir, car);
		snprintf(outp, sizeof(outp), "%s/got%d", f->dir, car);
		const char *get[] = { st_phr(), "get", "--gateway", f->base, "--datadir", dd, "-o", outp,
				      car ? "--car" : f->root_s, car ? f->root_s : NULL, NULL };
		assert_int_equal(st_run(NULL, 0, get), 0);
		FILE *g = fopen(outp, "rb");
		assert_non_null(g);
		uint8_t *back = malloc(f->n + 1);
		assert_int_equal(fread(back, 1, f->n + 1, g), f->n);
		fclose(g);
		assert_memory_equal(back, f->data, f->n);
		free(back);
		const char *pins[] = { st_phr(), "pin", "ls", "--datadir", dd, NULL };
		char listing[512];
		assert_int_equal(st_run(listing, sizeof(listing), pins), 0);
		assert_non_null(strstr(listing, f->root_s));
	}
	kill(pid, SIGTERM);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fclose(out);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_and_headers),
		cmocka_unit_test(test_car),
		cmocka_unit_test(test_status_codes),
		cmocka_unit_test(test_client_fetch),
		cmocka_unit_test(test_cli_gateway),
		cmocka_unit_test(test_tampered_block),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
