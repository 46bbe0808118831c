/*
 * JSON-RPC over HTTP on libmicrohttpd: one internal polling thread, so the
 * handlers run one at a time. Bodies are collected per connection up to
 * PHR_RPC_MAX_BODY, then handed to phr_rpc_dispatch().
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "phr/rpc.h"

/* most connections (and so threads) at once; the guard serialises handlers */
#define PHR_RPC_CONNECTIONS 128

struct phr_rpc_server {
	struct MHD_Daemon *d;
	uint16_t port;
	char path[64];
	const struct phr_rpc_method *methods;
	void *ctx;
	phr_rpc_guard guard;
};

struct conn {
	struct phr_buf body;
	bool too_large;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const void *data, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r, "Access-Control-Allow-Headers", "content-type");
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct phr_rpc_server *s = cls;
	struct conn *st = *con_cls;
	struct phr_buf out;
	enum MHD_Result ret;
	int rc;

	if (strcmp(url, s->path) != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
	if (strcmp(method, "OPTIONS") == 0)
		return reply(c, MHD_HTTP_NO_CONTENT, NULL, "", 0);
	if (strcmp(method, "POST") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "use POST\n", 9);
	if (!st) {
		st = phr_calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		phr_buf_init(&st->body, PHR_RPC_MAX_BODY);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_large && phr_buf_append(&st->body, upload, *upload_size) != PHR_OK)
			st->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_large) {
		static const char msg[] =
			"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"request body too large\"}}";
		return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "application/json", msg, sizeof(msg) - 1);
	}
	phr_buf_init(&out, 0);
	rc = phr_rpc_dispatch(&out, s->methods, s->ctx, s->guard,
			      st->body.data ? (const char *)st->body.data : "", st->body.len);
	if (rc != PHR_OK) {
		phr_buf_release(&out);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "internal error\n", 15);
	}
	ret = reply(c, MHD_HTTP_OK, "application/json", out.data ? out.data : (uint8_t *)"", out.len);
	phr_buf_release(&out);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *st = *con_cls;

	if (st) {
		phr_buf_release(&st->body);
		phr_free(st);
		*con_cls = NULL;
	}
}

int phr_rpc_server_start(struct phr_rpc_server **srv, const char *host, uint16_t port,
			 const char *path, const struct phr_rpc_method *methods, void *ctx,
			 phr_rpc_guard guard)
{
	struct sockaddr_in sa = { 0 };
	struct phr_rpc_server *s;
	const union MHD_DaemonInfo *info;

	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return PHR_ERR_INVALID;
	if (strlen(path) >= sizeof(s->path))
		return PHR_ERR_INVALID;
	s = phr_calloc(1, sizeof(*s));
	if (!s)
		return PHR_ERR_NOMEM;
	memcpy(s->path, path, strlen(path) + 1);
	s->methods = methods;
	s->ctx = ctx;
	s->guard = guard;
	/* a thread per connection: a request waiting for the group commit must
	 * not hold up requests that arrive on other connections */
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					MHD_USE_POLL | MHD_USE_ERROR_LOG,
				port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)PHR_RPC_CONNECTIONS,
				MHD_OPTION_END);
	if (!s->d) {
		phr_free(s);
		return PHR_ERR_NETWORK;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	*srv = s;
	return PHR_OK;
}

uint16_t phr_rpc_server_port(const struct phr_rpc_server *srv)
{
	return srv->port;
}

void phr_rpc_server_stop(struct phr_rpc_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->d);
	phr_free(srv);
}
