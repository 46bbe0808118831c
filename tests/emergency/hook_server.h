/* A minimal webhook receiver for the notification tests (127.0.0.1, one thread). */
#ifndef EMERG_HOOK_SERVER_H
#define EMERG_HOOK_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOOK_MAX 32

struct hook_msg {
	char ts[32];
	char sig[96];
	char id[32];
	char *body; /* malloc */
	size_t len;
};

struct hook_server {
	int fd;
	uint16_t port;
	pthread_t th;
	bool running, inited;
	pthread_mutex_t mu;
	struct hook_msg msgs[HOOK_MAX];
	size_t n;
	volatile int stop;
};

/** A free port on 127.0.0.1 (bound, then closed: nobody listens on it). */
uint16_t hook_free_port(void);
/** Starts listening on @p port (0: any). @return 0 or -1. */
int hook_start(struct hook_server *h, uint16_t port);
/** Stops the server; keeps the messages. */
void hook_stop(struct hook_server *h);
/** Frees the messages. */
void hook_clear(struct hook_server *h);
/** Number of messages received so far. */
size_t hook_count(struct hook_server *h);

#endif
