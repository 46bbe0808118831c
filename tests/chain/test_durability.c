/*
 * Durability: transactions are sent to `phr chain` while a helper process
 * SIGKILLs the node at a random moment; after each restart every transaction
 * whose hash was returned must be in a block with a successful receipt (and
 * the node itself refuses to start when the stored state does not match the
 * head's state root). At the end, all mined transactions are replayed into a
 * fresh chain, whose state root must equal the recovered one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

#define ROUNDS 5
#define SENDERS 3
#define MAX_ACKED 8192

static uint8_t acked[MAX_ACKED][32];
static size_t acked_n;
static pthread_mutex_t acked_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned cur_port;

static pid_t start(const char *dir, unsigned *port)
{
	const char *bin = getenv("PHR_BIN");
	const char *argv[] = { bin, "chain", "--dev", "--listen", "127.0.0.1:0", "--datadir", dir, NULL };

	assert_non_null(bin);
	return chain_spawn(argv, "listening on http://", port);
}

static struct phr_chain *connect_to(unsigned port)
{
	struct phr_chain *c;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(phr_chain_open_remote(&c, url), PHR_OK);
	return c;
}

/* A helper process that SIGKILLs @p victim after @p ms milliseconds. */
static pid_t killer(pid_t victim, unsigned ms)
{
	pid_t k = fork();

	if (k == 0) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		kill(victim, SIGKILL);
		_exit(0);
	}
	return k;
}

static void check_acked(struct phr_chain *c)
{
	size_t i;

	for (i = 0; i < acked_n; i++) {
		struct phr_chain_receipt r;

		assert_int_equal(phr_chain_receipt(c, &r, acked[i]), PHR_OK);
		assert_true(r.status);
		phr_chain_receipt_release(&r);
	}
}

/* State root of the latest block. */
static void latest_root(struct phr_chain *c, char root[67])
{
	struct phr_rpc_error err = { 0 };
	json_t *b = NULL;
	const char *s;

	assert_int_equal(phr_chain_request(c, &b, &err, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0)),
			 PHR_OK);
	s = json_string_value(json_object_get(b, "stateRoot"));
	assert_non_null(s);
	snprintf(root, 67, "%s", s);
	json_decref(b);
}

/* Replays every mined transaction of @p src into a fresh in-process chain. */
static void replay_and_compare(struct phr_chain *src)
{
	struct phr_chain_config cfg = { .dev = true };
	struct phr_chain_node *n;
	struct phr_chain *dst;
	struct phr_rpc_error err = { 0 };
	char *dir = chain_tmpdir();
	char want[67], got[67];
	uint64_t head, b, replayed = 0;

	cfg.datadir = dir;
	assert_int_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&dst, n), PHR_OK);
	assert_int_equal(phr_chain_block_number(src, &head), PHR_OK);
	for (b = 1; b <= head; b++) {
		json_t *blk = NULL, *txs, *h;
		size_t i;

		assert_int_equal(phr_chain_request(src, &blk, &err, "eth_getBlockByNumber",
						   json_pack("[o,b]", phr_rpc_quantity(b), 0)), PHR_OK);
		txs = json_object_get(blk, "transactions");
		json_array_foreach(txs, i, h) {
			json_t *raw = NULL;
			uint8_t *bytes = NULL, hash[32];
			size_t len = 0;

			assert_int_equal(phr_chain_request(src, &raw, &err, "eth_getRawTransactionByHash",
							   json_pack("[O]", h)), PHR_OK);
			assert_int_equal(phr_rpc_param_bytes(&bytes, &len, &err, raw, 1 << 20, "raw"), PHR_OK);
			assert_int_equal(phr_chain_send_raw(dst, hash, &err, bytes, len), PHR_OK);
			phr_free(bytes);
			json_decref(raw);
			replayed++;
		}
		json_decref(blk);
	}
	assert_true(replayed >= acked_n);
	latest_root(src, want);
	latest_root(dst, got);
	assert_string_equal(got, want);
	phr_chain_close(dst);
	phr_chain_node_close(n);
	chain_rmdir(dir);
	phr_free(dir);
}

/* One sender (dev account @p arg) until the node is gone: transfers and creations. */
static void *sender(void *arg)
{
	uint32_t key = (uint32_t)(uintptr_t)arg;
	struct phr_chain *c;
	uint8_t to[20];
	char url[64];
	unsigned i;

	memset(to, 0x5a, 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", cur_port);
	if (phr_chain_open_remote(&c, url) != PHR_OK)
		return NULL;
	for (i = 0;; i++) {
		uint8_t hash[32];
		int rc;

		if (i % 2)
			rc = chain_test_send(c, hash, key, to, NULL, 0, 1 + i);
		else
			rc = chain_test_send(c, hash, key, NULL, (const uint8_t *)"\x60\x2a\x60\x00\x55\x00", 6, 0);
		if (rc != PHR_OK)
			break; /* the node is gone */
		pthread_mutex_lock(&acked_lock);
		if (acked_n < MAX_ACKED)
			memcpy(acked[acked_n++], hash, 32);
		pthread_mutex_unlock(&acked_lock);
	}
	phr_chain_close(c);
	return NULL;
}

static void test_kill9(void **state)
{
	char *dir = chain_tmpdir();
	unsigned port = 0, round;
	struct phr_chain *c;
	pid_t pid;

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (round = 0; round < ROUNDS; round++) {
		pthread_t th[SENDERS];
		pid_t k;
		int t;

		pid = start(dir, &port);
		assert_true(pid > 0);
		c = connect_to(port);
		check_acked(c); /* everything acknowledged before the last kill is there */
		cur_port = port;
		k = killer(pid, 100 + (unsigned)(rand() % 400));
		/* concurrent senders: their blocks share group commits */
		for (t = 0; t < SENDERS; t++)
			assert_int_equal(pthread_create(&th[t], NULL, sender, (void *)(uintptr_t)(round + (unsigned)t)), 0);
		for (t = 0; t < SENDERS; t++)
			pthread_join(th[t], NULL);
		assert_true(acked_n < MAX_ACKED);
		waitpid(k, NULL, 0);
		waitpid(pid, NULL, 0);
		phr_chain_close(c);
	}
	pid = start(dir, &port);
	assert_true(pid > 0);
	c = connect_to(port);
	check_acked(c);
	assert_true(acked_n > 0);
	replay_and_compare(c);
	phr_chain_close(c);
	assert_int_equal(chain_stop(pid, SIGTERM), 0);
	chain_rmdir(dir);
	phr_free(dir);
	printf("durability: %zu acknowledged transactions survived %d SIGKILLs\n", acked_n, ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
