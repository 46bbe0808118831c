/*
 * Trustless-gateway client: fetches a DAG from any gateway URL block by block
 * (?format=raw) or as one CAR, and keeps only blocks that hash to their CID.
 */
#include <curl/curl.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define FETCH_MAX_DEPTH 64

struct fetch {
	struct phr_store *st;
	const char *base;
	CURL *curl;
	struct phr_buf body;
	uint64_t fetched;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct phr_buf *b = ud;
	size_t n = size * nmemb;
	return phr_buf_append(b, ptr, n) == PHR_OK ? n : 0; /* 0 aborts past the limit */
}

static int build_url(char *url, size_t cap, const char *base, const struct phr_cid *cid,
		     const char *query)
{
	char s[PHR_CID_STR_MAX];
	size_t bl = strlen(base);
	int rc = phr_cid_format(s, sizeof(s), cid), n;
	if (rc != PHR_OK)
		return rc;
	while (bl && base[bl - 1] == '/')
		bl--;
	n = snprintf(url, cap, "%.*s/ipfs/%s?%s", (int)bl, base, s, query);
	return n > 0 && (size_t)n < cap ? PHR_OK : PHR_ERR_TOO_LARGE;
}

static int http_status_err(long status)
{
	if (status == 404 || status == 410)
		return PHR_ERR_NOT_FOUND;
	return PHR_ERR_NETWORK;
}

static int fetch_raw(struct fetch *f, const struct phr_cid *cid)
{
	char url[2048];
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode cc;
	int rc = build_url(url, sizeof(url), f->base, cid, "format=raw");

	if (rc != PHR_OK)
		return rc;
	phr_buf_reset(&f->body);
	hdr = curl_slist_append(hdr, "Accept: application/vnd.ipld.raw");
	if (!hdr)
		return PHR_ERR_NOMEM;
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &f->body);
	cc = curl_easy_perform(f->curl);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (cc == CURLE_WRITE_ERROR)
		return PHR_ERR_TOO_LARGE;
	if (cc != CURLE_OK)
		return cc == CURLE_OPERATION_TIMEDOUT ? PHR_ERR_TIMEOUT : PHR_ERR_NETWORK;
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return http_status_err(status);
	if (phr_cid_verify(cid, f->body.data, f->body.len) != PHR_OK) {
		phr_log_warn("store", "gateway sent a block that does not match its CID");
		return PHR_ERR_CORRUPT;
	}
	f->fetched++;
	return phr_store_put(f->st, cid, f->body.data, f->body.len);
}

static int fetch_rec(struct fetch *f, const struct phr_cid *cid, unsigned depth)
{
	struct phr_buf b;
	struct phr_dagpb_node node;
	int rc;

	if (depth > FETCH_MAX_DEPTH)
		return PHR_ERR_RANGE;
	phr_buf_init(&b, PHR_STORE_BLOCK_MAX + 1);
	rc = phr_store_get(f->st, &b, cid);
	if (rc == PHR_ERR_NOT_FOUND || rc == PHR_ERR_CORRUPT) {
		if (rc == PHR_ERR_CORRUPT)
			if (phr_store_delete(f->st, cid) != PHR_OK)
				phr_log_debug("store", "could not remove a corrupt block");
		rc = fetch_raw(f, cid);
		if (rc == PHR_OK)
			rc = phr_store_get(f->st, &b, cid);
	}
	if (rc == PHR_OK && cid->codec == PHR_CODEC_DAG_PB) {
		rc = phr_dagpb_decode(&node, b.data, b.len);
		if (rc == PHR_OK) {
			for (size_t i = 0; i < node.nlinks && rc == PHR_OK; i++)
				rc = fetch_rec(f, &node.links[i].cid, depth + 1);
			phr_dagpb_node_release(&node);
		}
	}
	phr_buf_release(&b);
	return rc;
}

static CURL *new_curl(void)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "phr-store/0.1");
	return c;
}

int phr_gw_fetch(struct phr_store *st, const char *base_url, const struct phr_cid *root,
		 uint64_t *nfetched)
{
	struct fetch f = { .st = st, .base = base_url };
	int rc;

	if (!(f.curl = new_curl()))
		return PHR_ERR_NOMEM;
	phr_buf_init(&f.body, PHR_STORE_BLOCK_MAX);
	phr_store_writer_lock(st);
	rc = fetch_rec(&f, root, 0);
	phr_store_writer_unlock(st);
	phr_buf_release(&f.body);
	curl_easy_cleanup(f.curl);
	if (nfetched)
		*nfetched = f.fetched;
	return rc;
}

static size_t on_car(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;
	return phr_store_write_all(*(int *)ud, (const uint8_t *)ptr, n) == PHR_OK ? n : 0;
}

static int walk_nop(void *ctx, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	return PHR_OK;
}

int phr_gw_fetch_car(struct phr_store *st, const char *base_url, const struct phr_cid *root,
		     uint64_t *nblocks)
{
	char url[2048];
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURL *c;
	int fd, rc;

	if ((rc = build_url(url, sizeof(url), base_url, root, "format=car&dag-scope=all")) != PHR_OK)
		return rc;
	fd = phr_store_tmpfile();
	if (fd < 0)
		return PHR_ERR_IO;
	if (!(c = new_curl())) {
		close(fd);
		return PHR_ERR_NOMEM;
	}
	hdr = curl_slist_append(hdr, "Accept: application/vnd.ipld.car; version=1; order=dfs");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_car);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
	rc = curl_easy_perform(c) == CURLE_OK ? PHR_OK : PHR_ERR_NETWORK;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc == PHR_OK && status != 200)
		rc = http_status_err(status);
	if (rc == PHR_OK && lseek(fd, 0, SEEK_SET) != 0)
		rc = PHR_ERR_IO;
	if (rc == PHR_OK) {
		struct phr_cid first;
		rc = phr_car_import_fd(st, &first, nblocks, fd);
		if (rc == PHR_OK && !phr_cid_same_block(&first, root))
			rc = PHR_ERR_CORRUPT;
	}
	if (rc == PHR_OK)
		rc = phr_store_walk(st, root, walk_nop, NULL); /* complete and valid */
	close(fd);
	return rc;
}
