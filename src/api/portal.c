/*
 * The browser portal's static files, served under "/" (the last mount of
 * api_mount_table): the built assets of web/ (web/dist), read from a
 * directory at request time. See docs/portal.md.
 *
 * Where the files are: $PHR_PORTAL_DIR, else $PHR_SOURCE_DIR/web/dist, else
 * web/dist relative to the working directory (as contracts/artifacts).
 * Only GET and HEAD; paths are restricted to [A-Za-z0-9._-] segments with no
 * leading dot, so nothing outside the directory can be named. "/" is
 * index.html. A file "NAME.gz" beside NAME is sent instead when the client
 * accepts gzip. Every answer carries a strong ETag (BLAKE2b-128 of the bytes
 * sent), a strict Content-Security-Policy (nothing but this origin; WebAssembly
 * for libsodium) and no-referrer / no-framing headers. Files whose name holds
 * a content hash ("name-HASH.ext") are immutable for a year; the rest are
 * revalidated on every use.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define PORTAL_MAX_FILE (8u << 20)
#define PORTAL_MAX_PATH 512

static const char portal_csp[] =
	"default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
	"img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

static const struct {
	const char *ext;
	const char *type;
} portal_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".wasm", "application/wasm" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".map", "application/json" },
};

/* The content type for @p name, or NULL when the extension is not served. */
static const char *portal_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return NULL;
	for (size_t i = 0; i < PHR_ARRAY_LEN(portal_types); i++)
		if (strcmp(dot, portal_types[i].ext) == 0)
			return portal_types[i].type;
	return NULL;
}

/* true when @p rel is a safe relative path: segments of [A-Za-z0-9._-], none starting with '.' */
static bool portal_path_ok(const char *rel)
{
	bool seg_start = true;

	if (*rel == '\0')
		return false;
	for (const char *p = rel; *p != '\0'; p++) {
		char ch = *p;
		if (ch == '/') {
			if (seg_start)
				return false; /* empty segment */
			seg_start = true;
			continue;
		}
		if (seg_start && ch == '.')
			return false;
		seg_start = false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return !seg_start;
}

/* The asset directory (see the top of this file) into @p out. */
static int portal_dir(char *out, size_t cap)
{
	const char *d = getenv("PHR_PORTAL_DIR");
	int n;

	if (d != NULL && *d != '\0')
		n = snprintf(out, cap, "%s", d);
	else if ((d = getenv("PHR_SOURCE_DIR")) != NULL && *d != '\0')
		n = snprintf(out, cap, "%s/web/dist", d);
	else
		n = snprintf(out, cap, "web/dist");
	return n > 0 && (size_t)n < cap ? PHR_OK : PHR_ERR_TOO_LARGE;
}

/* true when a name like "app-4F2KX7QZ.js" carries esbuild's content hash (8 chars of [A-Z0-9]). */
static bool portal_hashed(const char *name)
{
	const char *base = strrchr(name, '/');
	const char *dot, *dash;

	base = base ? base + 1 : name;
	dot = strchr(base, '.');
	if (dot == NULL || dot - base < 10)
		return false;
	dash = dot - 9;
	if (*dash != '-')
		return false;
	for (const char *p = dash + 1; p < dot; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* true when Accept-Encoding @p ae names gzip (without q=0). */
static bool portal_accepts_gzip(const char *ae)
{
	const char *g;

	if (ae == NULL || (g = strstr(ae, "gzip")) == NULL)
		return false;
	g += 4;
	while (*g == ' ')
		g++;
	return !(strncmp(g, ";q=0", 4) == 0 && (g[4] == '\0' || g[4] == ',' || strncmp(g + 4, ".0", 2) == 0));
}

/* true when If-None-Match @p inm lists @p etag (or is "*"). */
static bool portal_etag_matches(const char *inm, const char *etag)
{
	return inm != NULL && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

/* Reads @p path whole into a->body (phr_malloc). */
static int portal_read(struct api_portal_answer *a, const char *path)
{
	struct phr_buf f;
	int rv;

	phr_buf_init(&f, PORTAL_MAX_FILE);
	rv = phr_file_read(&f, path, PORTAL_MAX_FILE);
	if (rv == PHR_OK) {
		size_t n = f.len;
		uint8_t *d = phr_malloc(n > 0 ? n : 1);
		if (d == NULL) {
			rv = PHR_ERR_NOMEM;
		} else {
			if (n > 0)
				memcpy(d, f.data, n);
			a->body = d;
			a->len = n;
		}
	}
	phr_buf_release(&f);
	return rv;
}

void api_portal_answer_release(struct api_portal_answer *a)
{
	phr_free(a->body);
	a->body = NULL;
	a->len = 0;
}

int api_portal_answer(struct api_portal_answer *a, const char *dir, const char *url, const char *method,
		      const char *accept_encoding, const char *if_none_match)
{
	char path[PORTAL_MAX_PATH * 2 + 8];
	uint8_t h[16];
	const char *rel;
	int rv;

	memset(a, 0, sizeof(*a));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		a->status = 405;
		return PHR_OK;
	}
	a->status = 404;
	if (url[0] != '/')
		return PHR_OK;
	rel = url[1] == '\0' ? "index.html" : url + 1;
	if (strlen(rel) >= PORTAL_MAX_PATH || strlen(dir) >= PORTAL_MAX_PATH || !portal_path_ok(rel) ||
	    (a->type = portal_type(rel)) == NULL)
		return PHR_OK;
	if (portal_accepts_gzip(accept_encoding)) {
		snprintf(path, sizeof(path), "%s/%s.gz", dir, rel);
		a->gzip = portal_read(a, path) == PHR_OK;
	}
	if (!a->gzip) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
		rv = portal_read(a, path);
		if (rv == PHR_ERR_NOT_FOUND || rv == PHR_ERR_IO)
			return PHR_OK; /* a directory, unreadable or missing: 404 */
		if (rv != PHR_OK)
			return rv;
	}
	crypto_generichash(h, sizeof(h), a->body, a->len, NULL, 0);
	a->etag[0] = '"';
	if (phr_hex_encode(a->etag + 1, sizeof(a->etag) - 1, h, sizeof(h), false) != PHR_OK) {
		api_portal_answer_release(a);
		return PHR_ERR_INTERNAL;
	}
	/* representations differ by encoding, so do their tags */
	snprintf(a->etag + 33, sizeof(a->etag) - 33, "%s\"", a->gzip ? "-gz" : "");
	a->immutable = portal_hashed(rel);
	a->status = 200;
	if (strcmp(method, "GET") == 0 && portal_etag_matches(if_none_match, a->etag)) {
		a->status = 304;
		api_portal_answer_release(a);
	}
	return PHR_OK;
}

int api_portal_serve(struct api_ctx *c, const char *url, const char *method)
{
	static const char body405[] = "{\"type\":\"urn:phr:error:method\",\"title\":\"Method Not "
				      "Allowed\",\"status\":405,\"detail\":\"the portal serves GET and HEAD only\"}";
	struct api_portal_answer a;
	char dir[PORTAL_MAX_PATH];
	int rv;

	if ((rv = portal_dir(dir, sizeof(dir))) != PHR_OK)
		return api_fail(c, rv, "portal directory path too long");
	rv = api_portal_answer(&a, dir, url, method, api_header(c, "Accept-Encoding"),
			       api_header(c, "If-None-Match"));
	if (rv != PHR_OK)
		return api_fail(c, rv, "cannot read the page");
	if (a.status == 404)
		return api_fail(c, PHR_ERR_NOT_FOUND, "no such page");
	if (a.status == 405) {
		c->raw_out = phr_malloc(sizeof(body405) - 1);
		if (c->raw_out == NULL)
			return PHR_ERR_NOMEM;
		memcpy(c->raw_out, body405, sizeof(body405) - 1);
		c->raw_len = sizeof(body405) - 1;
		c->raw_type = "application/problem+json";
		c->status = 405;
		return api_header_add(c, "Allow", "GET, HEAD");
	}
	/* 200 or 304; HEAD: MHD sends the headers (and the length) without the body */
	if (api_header_add(c, "ETag", a.etag) != PHR_OK ||
	    api_header_add(c, "Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache") != PHR_OK ||
	    api_header_add(c, "Content-Security-Policy", portal_csp) != PHR_OK ||
	    api_header_add(c, "X-Frame-Options", "DENY") != PHR_OK ||
	    api_header_add(c, "Referrer-Policy", "no-referrer") != PHR_OK ||
	    api_header_add(c, "Vary", "Accept-Encoding") != PHR_OK ||
	    (a.gzip && a.status == 200 && api_header_add(c, "Content-Encoding", "gzip") != PHR_OK)) {
		api_portal_answer_release(&a);
		return api_fail(c, PHR_ERR_INTERNAL, "headers");
	}
	c->raw_type = a.type;
	c->status = a.status;
	c->raw_out = a.body;
	c->raw_len = a.len;
	return PHR_OK;
}
