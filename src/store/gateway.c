/*
 * The IPFS trustless gateway (specs.ipfs.tech/http-gateways/trustless-gateway):
 * GET/HEAD /ipfs/{cid} answering verifiable blocks (application/vnd.ipld.raw)
 * and CARs (application/vnd.ipld.car), plus the deserialized file for plain
 * requests. Every block is verified before it is sent: a corrupt block on
 * disk gives 500, never bytes.
 */
#include <microhttpd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define CACHE_IMMUTABLE "public, max-age=29030400, immutable"

struct phr_gateway {
	struct phr_store *st;
	struct MHD_Daemon *daemon;
};

/* ---- request parsing (pure) ---- */

/* Compares a media type (up to ';' or the end) case-insensitively. */
static bool media_is(const char *mt, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(mt, want, n) == 0;
}

/* Finds "name=value" among ';'-separated parameters of one Accept element. */
static bool param_is(const char *params, size_t n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	const char *p = params, *end = params + n;
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		const char *q = p;
		while (q < end && *q != ';')
			q++;
		if ((size_t)(q - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t len = (size_t)(q - v);
			while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			return len == vl && strncasecmp(v, value, vl) == 0;
		}
		p = q;
	}
	return true; /* absent: the default is acceptable */
}

/* Whether the parameters hold q=0 (also 0.0, 0.000): "not acceptable". */
static bool q_zero(const char *params, size_t n)
{
	const char *p = params, *end = params + n;
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			const char *v = p + 2;
			bool zero = v < end && *v == '0';
			for (v++; zero && v < end && *v != ';' && *v != ' ' && *v != '\t'; v++)
				zero = *v == '0' || *v == '.';
			return zero;
		}
		while (p < end && *p != ';')
			p++;
	}
	return false;
}

/* Picks the format from an Accept header: -1 when nothing is servable. */
static int accept_format(const char *accept)
{
	const char *p = accept;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *semi = memchr(p, ';', (size_t)(e - p));
		size_t tl = (size_t)((semi ? semi : e) - p);
		while (tl && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
			tl--;
		const char *params = semi ? semi + 1 : e;
		size_t pl = (size_t)(e - params);
		bool q0 = semi && q_zero(params, pl);
		if (!q0) {
			if (media_is(p, tl, "application/vnd.ipld.raw"))
				return PHR_GW_FORMAT_RAW;
			if (media_is(p, tl, "application/vnd.ipld.car") &&
			    param_is(params, pl, "version", "1") &&
			    param_is(params, pl, "order", "dfs"))
				return PHR_GW_FORMAT_CAR;
			if (media_is(p, tl, "*/*") || media_is(p, tl, "application/*") ||
			    media_is(p, tl, "application/octet-stream"))
				return PHR_GW_FORMAT_FILE;
		}
		p = e;
	}
	return -1;
}

int phr_gw_request_parse(struct phr_gw_request *req, const char *method, const char *path,
			 const char *format, const char *scope, const char *accept)
{
	struct phr_gw_request r;
	const char *cid, *slash;
	size_t n;

	memset(&r, 0, sizeof(r));
	if (!method || !path)
		return 400;
	if (!strcmp(method, "HEAD"))
		r.head = true;
	else if (strcmp(method, "GET"))
		return 405;
	if (strncmp(path, "/ipfs/", 6))
		return 404;
	cid = path + 6;
	slash = strchr(cid, '/');
	n = slash ? (size_t)(slash - cid) : strlen(cid);
	if (n == 0 || n >= sizeof(r.cid_text))
		return 400;
	memcpy(r.cid_text, cid, n);
	r.cid_text[n] = 0;
	if (phr_cid_parse(&r.cid, r.cid_text) != PHR_OK)
		return 400;
	if (slash && slash[1])
		return 404; /* paths inside a DAG: only files are stored, they have none */
	if (scope) {
		if (!strcmp(scope, "all"))
			r.scope = PHR_DAG_SCOPE_ALL;
		else if (!strcmp(scope, "entity"))
			r.scope = PHR_DAG_SCOPE_ENTITY;
		else if (!strcmp(scope, "block"))
			r.scope = PHR_DAG_SCOPE_BLOCK;
		else
			return 400;
	}
	if (format) {
		if (!strcmp(format, "raw"))
			r.format = PHR_GW_FORMAT_RAW;
		else if (!strcmp(format, "car"))
			r.format = PHR_GW_FORMAT_CAR;
		else
			return 400;
	} else if (accept && *accept) {
		int f = accept_format(accept);
		if (f < 0)
			return 406;
		r.format = (enum phr_gw_format)f;
	}
	*req = r;
	return 0;
}

/* ---- responses ---- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(msg), (void *)(uintptr_t)msg,
						MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int err)
{
	switch (err) {
	case PHR_ERR_NOT_FOUND:
		return send_text(c, MHD_HTTP_NOT_FOUND, "block not found\n");
	case PHR_ERR_CORRUPT:
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "a block failed verification in this store; refusing to serve it\n");
	case PHR_ERR_UNSUPPORTED:
		return send_text(c, MHD_HTTP_NOT_IMPLEMENTED, "not a UnixFS file\n");
	default:
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	}
}

static void common_headers(struct MHD_Response *resp, const struct phr_gw_request *r,
			   const char *etag, const char *ctype, const char *disposition)
{
	char path[PHR_CID_STR_MAX + 8];
	snprintf(path, sizeof(path), "/ipfs/%s", r->cid_text);
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Cache-Control", CACHE_IMMUTABLE);
	MHD_add_response_header(resp, "Content-Disposition", disposition);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Ipfs-Path", path);
	MHD_add_response_header(resp, "X-Ipfs-Roots", r->cid_text);
	MHD_add_response_header(resp, "Vary", "Accept");
	MHD_add_response_header(resp, "Accept-Ranges", "none");
}

static void free_buf(void *p)
{
	phr_free(p);
}

static int fd_sink(void *ctx, const uint8_t *data, size_t len)
{
	return phr_store_write_all(*(int *)ctx, data, len);
}

static enum MHD_Result serve(struct phr_gateway *gw, struct MHD_Connection *c,
			     const struct phr_gw_request *r)
{
	char etag[PHR_CID_STR_MAX + 32], disp[PHR_CID_STR_MAX + 64];
	const char *ctype;
	struct MHD_Response *resp = NULL;
	int rc;

	switch (r->format) {
	case PHR_GW_FORMAT_RAW:
		snprintf(etag, sizeof(etag), "\"%s.raw\"", r->cid_text);
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.bin\"", r->cid_text);
		ctype = "application/vnd.ipld.raw";
		break;
	case PHR_GW_FORMAT_CAR:
		snprintf(etag, sizeof(etag), "\"%s.car.%s\"", r->cid_text,
			 r->scope == PHR_DAG_SCOPE_BLOCK ? "block" :
			 r->scope == PHR_DAG_SCOPE_ENTITY ? "entity" : "all");
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.car\"", r->cid_text);
		ctype = "application/vnd.ipld.car; version=1; order=dfs; dups=n";
		break;
	default:
		snprintf(etag, sizeof(etag), "\"%s\"", r->cid_text);
		snprintf(disp, sizeof(disp), "inline; filename=\"%s\"", r->cid_text);
		ctype = "application/octet-stream";
		break;
	}
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
	if (inm && (strstr(inm, etag) || !strcmp(inm, "*")) && phr_store_has(gw->st, &r->cid)) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		common_headers(resp, r, etag, ctype, disp);
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, resp);
		MHD_destroy_response(resp);
		return ret;
	}

	if (r->format == PHR_GW_FORMAT_RAW || r->head) {
		/* HEAD of a CAR or file: check the root block, send no body */
		struct phr_buf b;
		phr_buf_init(&b, PHR_STORE_BLOCK_MAX + 1);
		rc = phr_store_get(gw->st, &b, &r->cid);
		if (rc != PHR_OK) {
			phr_buf_release(&b);
			return send_error(c, rc);
		}
		if (r->format != PHR_GW_FORMAT_RAW) {
			phr_buf_release(&b);
			resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		} else {
			size_t len;
			void *data = phr_buf_detach(&b, &len);
			if (!data)
				return send_error(c, PHR_ERR_NOMEM);
			resp = MHD_create_response_from_buffer_with_free_callback(len, data, free_buf);
			if (!resp)
				phr_free(data);
		}
	} else {
		int fd = phr_store_tmpfile();
		off_t size;
		if (fd < 0)
			return send_error(c, PHR_ERR_IO);
		if (r->format == PHR_GW_FORMAT_CAR)
			rc = phr_car_export(gw->st, &r->cid, r->scope, fd_sink, &fd);
		else
			rc = phr_store_cat(gw->st, &r->cid, fd_sink, &fd);
		if (rc != PHR_OK) {
			close(fd);
			return send_error(c, rc);
		}
		size = lseek(fd, 0, SEEK_CUR);
		if (size < 0 || lseek(fd, 0, SEEK_SET) != 0) {
			close(fd);
			return send_error(c, PHR_ERR_IO);
		}
		resp = MHD_create_response_from_fd((uint64_t)size, fd); /* takes the fd */
		if (!resp)
			close(fd);
	}
	if (!resp)
		return MHD_NO;
	common_headers(resp, r, etag, ctype, disp);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result phr_gateway_handler(void *cls, struct MHD_Connection *connection, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct phr_gateway *gw = cls;
	struct phr_gw_request r;
	static int marker;
	int status;

	if (*req_cls == NULL) {
		*req_cls = &marker; /* answer once the headers are in */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body is not expected: ignore it */
		return MHD_YES;
	}
	status = phr_gw_request_parse(
		&r, method, url, MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "format"),
		MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "dag-scope"),
		MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Accept"));
	switch (status) {
	case 0:
		return serve(gw, connection, &r);
	case 404:
		return send_text(connection, MHD_HTTP_NOT_FOUND, "not found\n");
	case 405: {
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
		enum MHD_Result ret = MHD_queue_response(connection, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	case 406:
		return send_text(connection, MHD_HTTP_NOT_ACCEPTABLE,
				 "acceptable: application/vnd.ipld.raw, application/vnd.ipld.car, "
				 "application/octet-stream\n");
	default:
		return send_text(connection, MHD_HTTP_BAD_REQUEST, "bad request: invalid CID or parameter\n");
	}
}

int phr_gateway_new(struct phr_gateway **out, struct phr_store *st)
{
	struct phr_gateway *gw = phr_calloc(1, sizeof(*gw));
	if (!gw)
		return PHR_ERR_NOMEM;
	gw->st = st;
	*out = gw;
	return PHR_OK;
}

int phr_gateway_listen(struct phr_gateway *gw, const char *host, uint16_t port,
		       uint16_t *bound_port)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if (gw->daemon)
		return PHR_ERR_STATE;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return PHR_ERR_INVALID;
	gw->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					      MHD_USE_ERROR_LOG,
				      port, NULL, NULL, phr_gateway_handler, gw, MHD_OPTION_SOCK_ADDR,
				      (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
				      (unsigned)60, MHD_OPTION_END);
	if (!gw->daemon)
		return PHR_ERR_NETWORK;
	info = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (bound_port)
		*bound_port = info ? info->port : port;
	return PHR_OK;
}

void phr_gateway_free(struct phr_gateway *gw)
{
	if (!gw)
		return;
	if (gw->daemon)
		MHD_stop_daemon(gw->daemon);
	phr_free(gw);
}
