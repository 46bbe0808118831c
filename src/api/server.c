/*
 * The node's HTTP server: libmicrohttpd with a thread pool, body limits,
 * routing to /api/v1 handlers, /rpc and /ipfs, problem+json errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/rpc.h"

int64_t api_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

json_t *api_jaddr(const uint8_t addr[20])
{
	char s[PHR_ETH_ADDRESS_STR_LEN];

	phr_eth_address_checksum(s, addr);
	return json_string(s);
}

int api_fail(struct api_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return err == PHR_OK ? PHR_ERR_INTERNAL : err;
}

int api_ok(struct api_ctx *c, unsigned status, json_t *out)
{
	if (out == NULL)
		return api_fail(c, PHR_ERR_NOMEM, "out of memory");
	json_decref(c->out);
	c->out = out;
	c->status = status;
	return PHR_OK;
}

const char *api_query(struct api_ctx *c, const char *key)
{
	return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(struct api_ctx *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

int api_header_add(struct api_ctx *c, const char *name, const char *value)
{
	if (c->n_hdr == API_MAX_HEADERS || strlen(name) >= sizeof(c->hdr_name[0]) ||
	    strlen(value) >= sizeof(c->hdr_value[0]))
		return PHR_ERR_TOO_LARGE;
	memcpy(c->hdr_name[c->n_hdr], name, strlen(name) + 1);
	memcpy(c->hdr_value[c->n_hdr], value, strlen(value) + 1);
	c->n_hdr++;
	return PHR_OK;
}

bool api_is_auditor(struct phr_api *a, const uint8_t addr[20])
{
	for (size_t i = 0; i < a->cfg.n_auditors; i++)
		if (memcmp(a->auditors[i], addr, 20) == 0)
			return true;
	return false;
}

bool api_rate_ok(struct phr_api *a, uint32_t ip)
{
	/* token bucket per client address: 20 requests burst, 5 per second */
	const double cap = 20.0, rate = 5.0;
	struct api_bucket *b;
	int64_t now = api_now_us() / 1000;
	bool ok;

	pthread_mutex_lock(&a->lock);
	b = &a->buckets[(ip * 2654435761u) % API_BUCKETS];
	if (b->ip != ip || b->last_ms == 0) {
		b->ip = ip;
		b->tokens = cap;
		b->last_ms = now;
	}
	b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ms = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	pthread_mutex_unlock(&a->lock);
	return ok;
}

static uint32_t client_ip(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	if (ci == NULL || ci->client_addr == NULL || ci->client_addr->sa_family != AF_INET)
		return 0;
	return ntohl(((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr.s_addr);
}

static enum MHD_Result queue(struct api_ctx *c, unsigned status, const char *type, void *data,
			     size_t len, bool take)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (take)
		r = MHD_create_response_from_buffer_with_free_callback(len, data, phr_free);
	else
		r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		if (take)
			phr_free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	for (size_t i = 0; i < c->n_hdr; i++)
		MHD_add_response_header(r, c->hdr_name[i], c->hdr_value[i]);
	if (MHD_get_response_header(r, "Cache-Control") == NULL)
		MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	if (status == 429)
		MHD_add_response_header(r, "Retry-After", "1");
	ret = MHD_queue_response(c->conn, status, r);
	MHD_destroy_response(r);
	atomic_fetch_add(&c->api->m_requests[status / 100 <= 5 ? status / 100 : 0], 1);
	return ret;
}

static enum MHD_Result problem(struct api_ctx *c, int err, unsigned status, const char *url)
{
	json_t *p;
	char *s;

	if (status == 0)
		status = (unsigned)phr_err_http_status(err);
	if (status < 400 || status > 599)
		status = 500;
	p = json_pack("{s:s+,s:s,s:i,s:s,s:s}", "type", "urn:phr:error:",
		      err == PHR_OK ? "http" : phr_err_name(err), "title",
		      err == PHR_OK ? "request refused" : phr_strerror(err), "status", (int)status,
		      "detail", c->detail[0] ? c->detail : (err ? phr_strerror(err) : "refused"),
		      "instance", url);
	s = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (s == NULL)
		return MHD_NO;
	return queue(c, status, "application/problem+json", s, strlen(s), true);
}

static enum MHD_Result serve_rpc(struct api_ctx *c, const char *url)
{
	struct phr_buf out;
	enum MHD_Result r;

	phr_buf_init(&out, PHR_RPC_MAX_BODY * 2);
	/* the embedded chain answers itself; an external one through the proxy (rpc_proxy.c) */
	if ((c->api->cfg.chain_node != NULL
		     ? phr_rpc_dispatch(&out, phr_chain_node_methods, c->api->cfg.chain_node,
					phr_chain_node_guard, (const char *)c->body.data, c->body.len)
		     : phr_rpc_dispatch(&out, api_rpc_proxy_methods, phr_node_chain(c->api->cfg.node), NULL,
					(const char *)c->body.data, c->body.len)) != PHR_OK) {
		phr_buf_release(&out);
		return problem(c, PHR_ERR_NOMEM, 500, url);
	}
	r = queue(c, out.len ? 200 : 204, "application/json", out.data ? out.data : (uint8_t *)"",
		  out.len, false);
	phr_buf_release(&out);
	return r;
}

int api_authenticate(struct api_ctx *c)
{
	const char *h = api_header(c, "Authorization");
	int rv;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
		snprintf(c->detail, sizeof(c->detail), "a bearer token is required");
		return PHR_ERR_UNAUTHENTICATED;
	}
	rv = api_token_lookup(c->api, c->caller, h + 7);
	if (rv != PHR_OK) {
		atomic_fetch_add(&c->api->m_auth_fail, 1);
		snprintf(c->detail, sizeof(c->detail), "%s",
			 rv == PHR_ERR_EXPIRED ? "the token has expired" : "unknown token");
		return rv == PHR_ERR_EXPIRED ? PHR_ERR_EXPIRED : PHR_ERR_UNAUTHENTICATED;
	}
	c->authed = true;
	return PHR_OK;
}

/* Sends what a handler left in @p c (raw body or JSON). */
static enum MHD_Result respond(struct api_ctx *c, const char *url)
{
	if (c->raw_out != NULL || c->raw_type != NULL) {
		uint8_t *d = c->raw_out;
		c->raw_out = NULL;
		return queue(c, c->status ? c->status : 200, c->raw_type ? c->raw_type : "application/octet-stream",
			     d ? d : (uint8_t *)"", c->raw_len, d != NULL);
	}
	{
		/* jansson allocates with malloc (no json_set_alloc_funcs): phr_free frees it */
		char *s = c->out ? json_dumps(c->out, JSON_COMPACT) : NULL;
		if (s == NULL)
			return problem(c, PHR_ERR_NOMEM, 500, url);
		return queue(c, c->status ? c->status : 200, "application/json", s, strlen(s), true);
	}
}

/* The mount for @p url, or NULL. With @p fallback false the catch-all "/" is skipped. */
static const struct api_mount *mount_of(const char *url, bool fallback)
{
	for (const struct api_mount *m = api_mount_table; m->prefix != NULL; m++) {
		size_t n = strlen(m->prefix);
		if (strcmp(m->prefix, "/") == 0) {
			if (fallback)
				return m;
			continue;
		}
		if (strncmp(url, m->prefix, n) == 0 &&
		    (url[n] == '\0' || url[n] == '/' || m->prefix[n - 1] == '/'))
			return m;
	}
	return NULL;
}

static enum MHD_Result serve_mount(struct api_ctx *c, const char *url, const char *method)
{
	int rv;

	if (c->too_large) {
		snprintf(c->detail, sizeof(c->detail), "request body over the limit");
		/* FHIR clients read an OperationOutcome */
		if (c->mount->serve == api_fhir_serve && api_fhir_refuse(c, PHR_ERR_TOO_LARGE, 413, c->detail) == PHR_OK)
			return respond(c, url);
		return problem(c, PHR_ERR_TOO_LARGE, 413, url);
	}
	if (c->body_fd >= 0 && lseek(c->body_fd, 0, SEEK_SET) != 0) {
		snprintf(c->detail, sizeof(c->detail), "the upload cannot be read back");
		return problem(c, PHR_ERR_IO, 500, url);
	}
	rv = c->mount->serve(c, url, method);
	if (rv != PHR_OK)
		return problem(c, rv, 0, url);
	return respond(c, url);
}

static enum MHD_Result dispatch(struct api_ctx *c, const char *url, const char *method)
{
	struct phr_api *a = c->api;
	const char *ctype = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Content-Type");
	bool raw = ctype != NULL && strncmp(ctype, "application/octet-stream", 24) == 0;
	const struct api_route *rt;
	int st, rv;

	if (c->too_large) {
		snprintf(c->detail, sizeof(c->detail), "request body over the limit");
		return problem(c, PHR_ERR_TOO_LARGE, 413, url);
	}
	if (c->rpc)
		return serve_rpc(c, url);
	st = phr_api_req_parse(&c->req, method, url, (const char *)c->body.data, c->body.len, !raw);
	if (st != 0) {
		snprintf(c->detail, sizeof(c->detail), "%s",
			 st == 404 ? "no such route" : st == 405 ? "method not allowed on this route"
				   : st == 413 ? "request body over the limit"
					       : "the body is not a JSON object (or a path parameter is malformed)");
		return problem(c, PHR_OK, (unsigned)st, url);
	}
	rt = &api_route_table[c->req.route];
	/* escrow holders are reached by other nodes' portals (cross-origin); the bodies carry
	 * their own signatures, never cookies */
	if (strncmp(rt->path, "/api/v1/escrow", 14) == 0 &&
	    api_header_add(c, "Access-Control-Allow-Origin", "*") != PHR_OK)
		return problem(c, PHR_ERR_INTERNAL, 500, url);
	if (strncmp(rt->path, "/api/v1/auth/", 13) == 0 && !api_rate_ok(a, client_ip(c->conn))) {
		atomic_fetch_add(&a->m_rate_limited, 1);
		snprintf(c->detail, sizeof(c->detail), "too many authentication requests; slow down");
		return problem(c, PHR_ERR_RATE_LIMITED, 429, url);
	}
	if (rt->auth && (rv = api_authenticate(c)) != PHR_OK)
		return problem(c, rv, 401, url);
	if (raw && strcmp(rt->path, "/api/v1/records") != 0 && strcmp(rt->path, "/api/v1/ciphertext") != 0 &&
	    strcmp(rt->path, "/api/v1/records/{id}/capsules/{address}") != 0 && c->body.len > 0) {
		snprintf(c->detail, sizeof(c->detail), "only record, ciphertext and capsule uploads take a raw body");
		return problem(c, PHR_ERR_UNSUPPORTED, 415, url);
	}
	rv = rt->fn(c);
	if (rv != PHR_OK) {
		unsigned s = (unsigned)phr_err_http_status(rv);
		if (rv == PHR_ERR_FORBIDDEN)
			atomic_fetch_add(&a->m_denied, 1);
		return problem(c, rv, s, url);
	}
	return respond(c, url);
}

/* Largest body over the limit that is drained before the 413 (see on_request). */
#define API_DRAIN_MAX ((uint64_t)64 << 20)

/* Appends an upload chunk to the spooled body (its memfd). */
static void spool(struct api_ctx *c, const char *data, size_t n)
{
	if (c->too_large)
		return;
	if (c->body_len + n > c->mount->max_body) {
		c->too_large = true;
		return;
	}
	while (n > 0) {
		ssize_t w = write(c->body_fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->too_large = true; /* answered as 413: the spool is full */
			return;
		}
		data += w;
		n -= (size_t)w;
		c->body_len += (uint64_t)w;
	}
}

/* Answers a request whose body has been read. */
static enum MHD_Result serve(struct api_ctx *c, const char *url, const char *method)
{
	if (c->mount != NULL)
		return serve_mount(c, url, method);
	if (strcmp(method, "OPTIONS") == 0 && strncmp(url, "/api/v1/escrow", 14) == 0) {
		/* CORS preflight of the escrow routes */
		if (api_header_add(c, "Access-Control-Allow-Origin", "*") != PHR_OK ||
		    api_header_add(c, "Access-Control-Allow-Methods", "GET, PUT, POST, OPTIONS") != PHR_OK ||
		    api_header_add(c, "Access-Control-Allow-Headers", "Content-Type, Authorization") != PHR_OK ||
		    api_header_add(c, "Access-Control-Max-Age", "600") != PHR_OK)
			return problem(c, PHR_ERR_INTERNAL, 500, url);
		return queue(c, 204, "text/plain", (uint8_t *)"", 0, false);
	}
	return dispatch(c, url, method);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct phr_api *a = cls;
	struct api_ctx *c = *req_cls;

	if (c == NULL) {
		const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		size_t limit = PHR_API_MAX_JSON;
		c = phr_calloc(1, sizeof(*c));
		if (c == NULL)
			return MHD_NO;
		c->api = a;
		c->conn = conn;
		c->body_fd = -1;
		c->start_us = api_now_us();
		*req_cls = c;
		if (strncmp(url, "/ipfs/", 6) == 0) {
			c->gateway = true;
		} else if (strcmp(url, "/rpc") == 0) {
			c->rpc = true;
			limit = PHR_RPC_MAX_BODY;
		} else if ((c->mount = mount_of(url, false)) != NULL ||
			   (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/healthz") != 0 &&
			    strcmp(url, "/metrics") != 0 && (c->mount = mount_of(url, true)) != NULL)) {
			limit = c->mount->max_body;
			/* large uploads stream to an anonymous memory file, never to disk in clear */
			if (c->mount->spool && (c->body_fd = memfd_create("phr-upload", MFD_CLOEXEC)) < 0)
				return MHD_NO;
		} else if (ctype != NULL && strncmp(ctype, "application/octet-stream", 24) == 0) {
			limit = PHR_API_MAX_UPLOAD;
		}
		phr_buf_init(&c->body, limit);
		if (!c->gateway) {
			uint64_t n;
			if (clen != NULL && (phr_parse_u64(&n, clen) != PHR_OK || n > limit)) {
				/* A body up to API_DRAIN_MAX is read and discarded, then answered
				 * 413: answering before it is read closes the connection with
				 * unread data, which resets it, and the client may never see the
				 * 413. A larger (or unparsable) length is answered at once. */
				c->too_large = true;
				if (phr_parse_u64(&n, clen) == PHR_OK && n <= API_DRAIN_MAX)
					return MHD_YES;
				snprintf(c->detail, sizeof(c->detail), "request body over the limit");
				return problem(c, PHR_ERR_TOO_LARGE, 413, url);
			}
			return MHD_YES;
		}
	}
	if (c->gateway)
		return phr_gateway_handler(a->gw, conn, url, method, version, upload_data,
					   upload_data_size, &c->gw_cls);
	if (*upload_data_size > 0) {
		if (c->body_fd >= 0)
			spool(c, upload_data, *upload_data_size);
		else if (!c->too_large && phr_buf_append(&c->body, upload_data, *upload_data_size) != PHR_OK)
			c->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* the body is in: at most cfg.threads requests are handled at once (each connection
	 * has its own thread, so one waiting here holds up no other connection) */
	while (sem_wait(&a->inflight) != 0 && errno == EINTR)
		;
	{
		enum MHD_Result r = serve(c, url, method);
		sem_post(&a->inflight);
		return r;
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct phr_api *a = cls;
	struct api_ctx *c = *req_cls;

	(void)conn;
	(void)toe;
	if (c == NULL)
		return;
	atomic_fetch_add(&a->m_latency_us, (unsigned long long)(api_now_us() - c->start_us));
	phr_buf_release(&c->body);
	if (c->body_fd >= 0)
		close(c->body_fd);
	phr_api_req_release(&c->req);
	json_decref(c->out);
	phr_free(c->raw_out);
	phr_free(c);
	*req_cls = NULL;
}

int phr_api_start(struct phr_api **out, const struct phr_api_config *cfg)
{
	struct phr_api *a;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;
	int rv;

	if (cfg == NULL || cfg->node == NULL || cfg->store == NULL || cfg->datadir == NULL ||
	    cfg->host == NULL || cfg->n_auditors > API_MAX_AUDITORS)
		return PHR_ERR_INVALID;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(cfg->port);
	if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1)
		return PHR_ERR_INVALID;
	a = phr_calloc(1, sizeof(*a));
	if (a == NULL)
		return PHR_ERR_NOMEM;
	a->cfg = *cfg;
	for (size_t i = 0; i < cfg->n_auditors; i++)
		memcpy(a->auditors[i], cfg->auditors[i], 20);
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->tok_lock, NULL);
	if (sem_init(&a->inflight, 0, cfg->threads ? cfg->threads : 4) != 0) {
		pthread_mutex_destroy(&a->tok_lock);
		pthread_mutex_destroy(&a->lock);
		phr_free(a);
		return PHR_ERR_INVALID;
	}
	if ((rv = api_auth_open(a)) != PHR_OK || (rv = phr_gateway_new(&a->gw, cfg->store)) != PHR_OK)
		goto fail;
	/* A thread per connection, not a pool: handlers block (a read waits for its View to be
	 * mined), and a pool thread blocked in one handler stalls the other connections it
	 * serves, which also leaves fewer Views to share a block. cfg.threads bounds the
	 * requests handled at once instead (inflight). Node CPU per getRecord under 32
	 * connections (docs/benchmarks.md): pool of 16 236-545 us, a thread per connection
	 * with 16 handled at once 199-214 us, with 32 at once 166-172 us. */
	a->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					MHD_USE_POLL | MHD_USE_ERROR_LOG,
				cfg->port, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (a->d == NULL) {
		rv = PHR_ERR_NETWORK;
		goto fail;
	}
	di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di ? di->port : cfg->port;
	if (cfg->domain != NULL)
		snprintf(a->domain, sizeof(a->domain), "%s", cfg->domain);
	else
		snprintf(a->domain, sizeof(a->domain), "%s:%u", cfg->host, (unsigned)a->port);
	*out = a;
	return PHR_OK;
fail:
	phr_gateway_free(a->gw);
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->tok_lock);
	sem_destroy(&a->inflight);
	phr_free(a);
	return rv;
}

uint16_t phr_api_port(const struct phr_api *a)
{
	return a->port;
}

void phr_api_stop(struct phr_api *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->d);
	phr_gateway_free(a->gw);
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->tok_lock);
	sem_destroy(&a->inflight);
	phr_free(a);
}
