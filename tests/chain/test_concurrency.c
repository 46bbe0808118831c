/*
 * The embedded node under concurrent in-process requests: senders whose
 * blocks share group commits that run with the node's lock dropped, and
 * eth_call readers answered meanwhile (memo hits of an unchanged contract
 * need no commit; calls of the contract being written see only values that
 * were sent). Every acknowledged transaction has its receipt at once and
 * after a reopen; the reopened state answers as the last block left it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

#define SENDERS 3
#define READERS 3
#define PER_SENDER 12

static struct phr_chain_node *node;
static struct phr_chain *chain;
static uint8_t hot[20], cold[20]; /* written by the senders / never written */
static uint8_t acked[SENDERS][PER_SENDER][32];
static int done_senders; /* atomic */
static unsigned bad_reads, reads, bad_sends; /* atomic */

static uint64_t value_of(unsigned sender, unsigned i)
{
	return ((uint64_t)(sender + 1) << 16) | (i + 1);
}

static bool sent_value(const uint8_t w[32])
{
	uint64_t v = 0;
	unsigned k;

	for (k = 0; k < 24; k++)
		if (w[k])
			return false;
	for (k = 24; k < 32; k++)
		v = v << 8 | w[k];
	if (v == 0)
		return true; /* before the first store */
	return (v >> 16) >= 1 && (v >> 16) <= SENDERS && (v & 0xffff) >= 1 &&
	       (v & 0xffff) <= PER_SENDER;
}

static void *sender(void *arg)
{
	unsigned s = (unsigned)(uintptr_t)arg, i;

	for (i = 0; i < PER_SENDER; i++) {
		uint8_t word[32] = { 0 };
		struct phr_chain_receipt r;
		uint64_t v = value_of(s, i);
		int k;

		for (k = 0; k < 8; k++)
			word[31 - k] = (uint8_t)(v >> (8 * k));
		if (chain_test_send(chain, acked[s][i], 1 + s, hot, word, 32, 0) != PHR_OK) {
			__atomic_add_fetch(&bad_sends, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		/* acknowledged: its block is durable and its receipt found */
		if (phr_chain_node_receipt(node, &r, acked[s][i]) != PHR_OK) {
			__atomic_add_fetch(&bad_sends, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (!r.status)
			__atomic_add_fetch(&bad_sends, 1, __ATOMIC_SEQ_CST);
		phr_chain_receipt_release(&r);
	}
	__atomic_add_fetch(&done_senders, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *reader(void *arg)
{
	static const uint8_t zero[32];

	(void)arg;
	while (__atomic_load_n(&done_senders, __ATOMIC_SEQ_CST) < SENDERS) {
		struct phr_buf out;

		phr_buf_init(&out, 0);
		if (phr_chain_node_call(node, &out, NULL, cold, NULL, 0) != PHR_OK || out.len != 32 ||
		    memcmp(out.data, zero, 32) != 0)
			__atomic_add_fetch(&bad_reads, 1, __ATOMIC_SEQ_CST);
		phr_buf_reset(&out);
		if (phr_chain_node_call(node, &out, NULL, hot, NULL, 0) != PHR_OK || out.len != 32 ||
		    !sent_value(out.data))
			__atomic_add_fetch(&bad_reads, 1, __ATOMIC_SEQ_CST);
		phr_buf_release(&out);
		__atomic_add_fetch(&reads, 2, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void open_all(const char *dir)
{
	struct phr_chain_config cfg = { .datadir = dir, .dev = true };

	assert_int_equal(phr_chain_node_open(&node, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&chain, node), PHR_OK);
}

static void close_all(void)
{
	phr_chain_close(chain);
	phr_chain_node_close(node);
	chain = NULL;
	node = NULL;
}

static void test_concurrent_send_and_call(void **state)
{
	char *dir = chain_tmpdir();
	pthread_t th[SENDERS + READERS];
	struct phr_chain_receipt r;
	struct phr_buf out;
	uint64_t hits = 0, misses = 0, head = 0, last_block = 0, last_value = 0;
	unsigned s, i;
	int k;

	(void)state;
	assert_non_null(dir);
	assert_int_equal(phr_crypto_init(), PHR_OK);
	open_all(dir);
	assert_int_equal(chain_test_deploy(chain, hot, 0), PHR_OK);
	assert_int_equal(chain_test_deploy(chain, cold, 0), PHR_OK);
	for (s = 0; s < SENDERS; s++)
		assert_int_equal(pthread_create(&th[s], NULL, sender, (void *)(uintptr_t)s), 0);
	for (s = 0; s < READERS; s++)
		assert_int_equal(pthread_create(&th[SENDERS + s], NULL, reader, NULL), 0);
	for (s = 0; s < SENDERS + READERS; s++)
		pthread_join(th[s], NULL);
	assert_int_equal(bad_sends, 0);
	assert_int_equal(bad_reads, 0);
	assert_true(reads > 0);
	phr_chain_node_memo_stats(node, &hits, &misses);
	assert_true(hits > 0);
	close_all();

	/* after a reopen: every acknowledged transaction, one block each (automine) */
	open_all(dir);
	assert_int_equal(phr_chain_block_number(chain, &head), PHR_OK);
	assert_int_equal(head, 2 + SENDERS * PER_SENDER);
	for (s = 0; s < SENDERS; s++) {
		for (i = 0; i < PER_SENDER; i++) {
			assert_int_equal(phr_chain_node_receipt(node, &r, acked[s][i]), PHR_OK);
			assert_true(r.status);
			if (r.block_number > last_block) {
				last_block = r.block_number;
				last_value = value_of(s, i);
			}
			phr_chain_receipt_release(&r);
		}
	}
	assert_int_equal(last_block, head);
	/* the state is the last block's */
	phr_buf_init(&out, 0);
	assert_int_equal(phr_chain_node_call(node, &out, NULL, hot, NULL, 0), PHR_OK);
	assert_int_equal(out.len, 32);
	for (k = 0; k < 8; k++)
		assert_int_equal(out.data[31 - k], (uint8_t)(last_value >> (8 * k)));
	phr_buf_release(&out);
	close_all();
	chain_rmdir(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_send_and_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
