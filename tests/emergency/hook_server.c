/* A minimal webhook receiver: accepts POSTs, records headers and body, answers 204. */
#include "hook_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

uint16_t hook_free_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void header(char *out, size_t cap, const char *head, const char *name)
{
	const char *p = head;
	size_t nl = strlen(name);

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			if (e != NULL && (size_t)(e - v) < cap) {
				memcpy(out, v, (size_t)(e - v));
				out[e - v] = '\0';
			}
			return;
		}
	}
}

static void serve_one(struct hook_server *h, int c)
{
	char buf[65536], clen[32];
	size_t got = 0, want = 0;
	char *end = NULL;

	while (got < sizeof(buf) - 1) {
		ssize_t r = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			end[2] = '\0'; /* headers end with their own CRLF */
			header(clen, sizeof(clen), buf, "Content-Length");
			want = (size_t)strtoul(clen, NULL, 10);
			end[2] = '\r';
		}
		if (end != NULL && got >= (size_t)(end + 4 - buf) + want)
			break;
	}
	if (end != NULL) {
		struct hook_msg m;
		size_t off = (size_t)(end + 4 - buf);
		memset(&m, 0, sizeof(m));
		end[2] = '\0';
		header(m.ts, sizeof(m.ts), buf, "X-Phr-Timestamp");
		header(m.sig, sizeof(m.sig), buf, "X-Phr-Signature");
		header(m.id, sizeof(m.id), buf, "X-Phr-Notification");
		m.len = got - off < want ? got - off : want;
		m.body = malloc(m.len + 1);
		if (m.body != NULL) {
			memcpy(m.body, buf + off, m.len);
			m.body[m.len] = '\0';
			pthread_mutex_lock(&h->mu);
			if (h->n < HOOK_MAX)
				h->msgs[h->n++] = m;
			else
				free(m.body);
			pthread_mutex_unlock(&h->mu);
		}
	}
	static const char ok[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (send(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
		perror("hook send");
	close(c);
}

static void *loop(void *arg)
{
	struct hook_server *h = arg;

	while (!h->stop) {
		struct pollfd p = { h->fd, POLLIN, 0 };
		if (poll(&p, 1, 100) > 0) {
			int c = accept(h->fd, NULL, NULL);
			if (c >= 0)
				serve_one(h, c);
		}
	}
	return NULL;
}

int hook_start(struct hook_server *h, uint16_t port)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int one = 1;

	if (!h->inited) {
		pthread_mutex_init(&h->mu, NULL);
		h->inited = true;
	}
	h->stop = 0;
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (h->fd < 0)
		return -1;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(h->fd, 16) != 0 ||
	    getsockname(h->fd, (struct sockaddr *)&a, &l) != 0) {
		close(h->fd);
		return -1;
	}
	h->port = ntohs(a.sin_port);
	if (pthread_create(&h->th, NULL, loop, h) != 0) {
		close(h->fd);
		return -1;
	}
	h->running = true;
	return 0;
}

void hook_stop(struct hook_server *h)
{
	if (!h->running)
		return;
	h->stop = 1;
	pthread_join(h->th, NULL);
	close(h->fd);
	h->running = false;
}

size_t hook_count(struct hook_server *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

void hook_clear(struct hook_server *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->msgs[i].body);
	h->n = 0;
}
