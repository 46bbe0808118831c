/*
 * Fuzz target: request bodies against the real method table of an embedded
 * dev node (a fresh data directory per process, removed at exit), so every
 * Ethereum method's parameter handling sees hostile input. State carries over
 * between inputs, as it would on a long-running node.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phr/chain.h"
#include "phr/crypto.h"

static struct phr_chain_node *node;
static char dir[64];

static void cleanup(void)
{
	char path[384];
	DIR *d;
	struct dirent *e;

	phr_chain_node_close(node);
	node = NULL;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int init(void)
{
	struct phr_chain_config cfg = { .dev = true };

	snprintf(dir, sizeof(dir), "/tmp/phr-fuzz-node-XXXXXX");
	if (phr_crypto_init() != PHR_OK || !mkdtemp(dir))
		return -1;
	cfg.datadir = dir;
	phr_log_set_level(PHR_LOG_ERROR);
	if (phr_chain_node_open(&node, &cfg) != PHR_OK)
		return -1;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_buf out;
	int rc;

	if (!node && init() != 0)
		abort();
	phr_buf_init(&out, 0);
	rc = phr_rpc_dispatch(&out, phr_chain_node_methods, node, phr_chain_node_guard,
			      (const char *)data, size);
	if (rc == PHR_OK && out.len) {
		json_error_t e;
		json_t *j = json_loadb((const char *)out.data, out.len, 0, &e);

		if (!j)
			__builtin_trap();
		json_decref(j);
	}
	phr_buf_release(&out);
	return 0;
}
