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

/* true when the client's Accept-Encoding names gzip (without q=0). */
static bool portal_accepts_gzip(struct api_ctx *c)
{
	const char *ae = api_header(c, "Accept-Encoding");
	const char *g;

	if (ae == NULL || (g = strstr(ae, "gzip")) == NULL)
		return false;
	g += 4;
	while (*g == ' ')
		g++;
	return !(strncmp(g, ";q=0", 4) == 0 && (g[4] == '\0' || g[4] == ',' || strncmp(g + 4, ".0", 2) == 0));
}

/* true when If-None-Match lists @p etag (or is "*"). */
static bool portal_etag_matches(struct api_ctx *c, const char *etag)
{
	const char *inm = api_header(c, "If-None-Match");

	return inm != NULL && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

/* Reads @p path whole into c->raw_out (phr_malloc). */
static int portal_read(struct api_ctx *c, const char *path)
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
			c->raw_out = d;
			c->raw_len = n;
		}
	}
	phr_buf_release(&f);
	return rv;
}

int api_portal_serve(struct api_ctx *c, const char *url, const char *method)
{
	char dir[PORTAL_MAX_PATH], path[PORTAL_MAX_PATH * 2 + 8], etag[PHR_HEX_LEN(16, false) + 6];
	uint8_t h[16];
	const char *rel, *type;
	bool gz = false, head = strcmp(method, "HEAD") == 0;
	int rv;

	if (strcmp(method, "GET") != 0 && !head) {
		static const char body[] = "{\"type\":\"urn:phr:error:method\",\"title\":\"Method Not "
					   "Allowed\",\"status\":405,\"detail\":\"the portal serves GET and "
					   "HEAD only\"}";
		c->raw_out = phr_malloc(sizeof(body) - 1);
		if (c->raw_out == NULL)
			return PHR_ERR_NOMEM;
		memcpy(c->raw_out, body, sizeof(body) - 1);
		c->raw_len = sizeof(body) - 1;
		c->raw_type = "application/problem+json";
		c->status = 405;
		return api_header_add(c, "Allow", "GET, HEAD");
	}
	rel = url + strspn(url, "/");
	if (*rel == '\0')
		rel = "index.html";
	if (strlen(rel) >= PORTAL_MAX_PATH || !portal_path_ok(rel) || (type = portal_type(rel)) == NULL)
		return api_fail(c, PHR_ERR_NOT_FOUND, "no such page");
	rv = portal_dir(dir, sizeof(dir));
	if (rv != PHR_OK)
		return api_fail(c, rv, "portal directory path too long");
	if (portal_accepts_gzip(c)) {
		snprintf(path, sizeof(path), "%s/%s.gz", dir, rel);
		gz = portal_read(c, path) == PHR_OK;
	}
	if (!gz) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
		rv = portal_read(c, path);
		if (rv == PHR_ERR_NOT_FOUND || rv == PHR_ERR_IO)
			return api_fail(c, PHR_ERR_NOT_FOUND, "no such page (portal assets in %s)", dir);
		if (rv != PHR_OK)
			return api_fail(c, rv, "cannot read the page");
	}
	crypto_generichash(h, sizeof(h), c->raw_out, c->raw_len, NULL, 0);
	etag[0] = '"';
	if (phr_hex_encode(etag + 1, sizeof(etag) - 1, h, sizeof(h), false) != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "etag");
	/* representations differ by encoding, so do their tags */
	snprintf(etag + 1 + 32, sizeof(etag) - 33, "%s\"", gz ? "-gz" : "");
	if (api_header_add(c, "ETag", etag) != PHR_OK ||
	    api_header_add(c, "Cache-Control",
			   portal_hashed(rel) ? "public, max-age=31536000, immutable" : "no-cache") != PHR_OK ||
	    api_header_add(c, "Content-Security-Policy", portal_csp) != PHR_OK ||
	    api_header_add(c, "X-Frame-Options", "DENY") != PHR_OK ||
	    api_header_add(c, "Referrer-Policy", "no-referrer") != PHR_OK ||
	    api_header_add(c, "Vary", "Accept-Encoding") != PHR_OK ||
	    (gz && api_header_add(c, "Content-Encoding", "gzip") != PHR_OK))
		return api_fail(c, PHR_ERR_INTERNAL, "headers");
	c->raw_type = type;
	c->status = 200;
	/* HEAD: MHD sends the headers (and the length) without the body */
	if (!head && portal_etag_matches(c, etag)) {
		c->status = 304;
		phr_free(c->raw_out);
		c->raw_out = NULL;
		c->raw_len = 0;
	}
	return PHR_OK;
}
