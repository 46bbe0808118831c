/*
 * Crash safety of grouped writes: a child process runs several threads, each
 * writing records as a node's submission does (a ciphertext object and two key
 * capsules in one durability group) and reporting every group whose end
 * returned PHR_OK; it is killed with SIGKILL in the middle. Every reported
 * object must then be readable, verified and pinned: after the kill alone, and
 * again after a simulated crash of the machine (a torn record at the end of the
 * pack, dropped by the next opener).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/store.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test_util.h"

#define THREADS 6
#define MAX_ACKS 20000

struct writer {
	struct phr_store *st;
	int out; /* pipe: one line per acknowledged group */
	unsigned id;
	uint8_t pk[32];
};

/* Child: writes groups until killed. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t data[4200], key[32];

	for (unsigned n = 0;; n++) {
		struct phr_cid rec, cap1, cap2;
		char line[3 * PHR_CID_STR_MAX + 4], a[PHR_CID_STR_MAX], b[PHR_CID_STR_MAX],
			c[PHR_CID_STR_MAX];
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i ^ n ^ (w->id << 5) ^ (i >> 8) * 13u);
		memcpy(data, &n, sizeof(n));
		data[8] = (uint8_t)w->id;
		pid_t me = getpid(); /* each run writes new blocks (none deduplicated) */
		memcpy(data + 12, &me, sizeof(me));
		memset(key, (int)(n + w->id), sizeof(key));
		if (phr_store_group_begin(w->st) != PHR_OK)
			_exit(3);
		int rc = phr_store_add_bytes(w->st, &rec, data, sizeof(data) - (n % 97), NULL);
		if (rc == PHR_OK)
			rc = phr_store_add_capsule(w->st, &cap1, w->pk, key);
		key[0] ^= 0x5a;
		if (rc == PHR_OK)
			rc = phr_store_add_capsule(w->st, &cap2, w->pk, key);
		int er = phr_store_group_end(w->st);
		if (rc != PHR_OK || er != PHR_OK)
			_exit(4);
		if (phr_cid_format(a, sizeof(a), &rec) != PHR_OK ||
		    phr_cid_format(b, sizeof(b), &cap1) != PHR_OK ||
		    phr_cid_format(c, sizeof(c), &cap2) != PHR_OK)
			_exit(5);
		int len = snprintf(line, sizeof(line), "%s %s %s\n", a, b, c);
		/* one write below PIPE_BUF: lines of different threads never interleave */
		if (write(w->out, line, (size_t)len) != len)
			_exit(6);
	}
	return NULL;
}

static void child(const char *dir, int out)
{
	struct phr_store *st;
	struct writer w[THREADS];
	pthread_t t[THREADS];
	uint8_t sk[32];

	if (phr_crypto_init() != PHR_OK || phr_store_open(&st, dir) != PHR_OK)
		_exit(2);
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].st = st;
		w[i].out = out;
		w[i].id = i;
		if (phr_crypto_box_keypair(w[i].pk, sk) != PHR_OK)
			_exit(2);
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Reads the child's acknowledgements: a heap array of CIDs, three per group. */
static size_t read_acks(int fd, struct phr_cid **out)
{
	struct phr_buf b;
	size_t n = 0;
	struct phr_cid *cids = calloc(3 * MAX_ACKS, sizeof(*cids));
	assert_non_null(cids);
	phr_buf_init(&b, 16u << 20);
	for (;;) {
		uint8_t tmp[4096];
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r <= 0)
			break;
		assert_int_equal(phr_buf_append(&b, tmp, (size_t)r), PHR_OK);
	}
	assert_int_equal(phr_buf_append_byte(&b, 0), PHR_OK);
	char *save = NULL, *line;
	for (line = strtok_r((char *)b.data, "\n", &save); line && n < 3 * MAX_ACKS;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[PHR_CID_STR_MAX], c1[PHR_CID_STR_MAX], c2[PHR_CID_STR_MAX];
		assert_int_equal(sscanf(line, "%135s %135s %135s", a, c1, c2), 3);
		assert_int_equal(phr_cid_parse(&cids[n++], a), PHR_OK);
		assert_int_equal(phr_cid_parse(&cids[n++], c1), PHR_OK);
		assert_int_equal(phr_cid_parse(&cids[n++], c2), PHR_OK);
	}
	phr_buf_release(&b);
	*out = cids;
	return n;
}

static int walk_count(void *ctx, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	(void)cid;
	(void)data;
	(void)len;
	(*(unsigned *)ctx)++;
	return PHR_OK;
}

static void check_all(const char *dir, const struct phr_cid *cids, size_t n)
{
	struct phr_store *st;
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (size_t i = 0; i < n; i++) {
		unsigned blocks = 0;
		assert_true(phr_store_pin_has(st, &cids[i]));
		assert_int_equal(phr_store_walk(st, &cids[i], walk_count, &blocks), PHR_OK);
		assert_true(blocks >= 1);
	}
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.blocks_corrupt, 0);
	assert_int_equal(rep.pins_broken, 0);
	phr_store_close(st);
}

/* The machine crashed: what was never made durable is gone (nothing of an acknowledged
 * group), and the last append is torn: half a record at the end of the pack, which the
 * next opener drops. Old-layout files (none are written) go too. */
static void lose_unsynced(const char *dir)
{
	char sub[700];
	const char *tops[] = { "blocks", "pins" };
	for (size_t t = 0; t < 2; t++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, tops[t]);
		st_rmtree(sub); /* phr_store_open makes the directories again */
	}
	snprintf(sub, sizeof(sub), "%s/pack", dir);
	int fd = open(sub, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	static const uint8_t torn[200] = { 'P', 'W', 'A', 'L', 1, 0, 0, 0, 0x00, 0x04 };
	assert_int_equal(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
	close(fd);
	struct phr_store *st;
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	struct stat after;
	assert_int_equal(stat(sub, &after), 0);
	assert_int_equal(after.st_size, sb.st_size); /* the torn tail dropped */
	phr_store_close(st);
}

/* Two rounds of SIGKILLed writers on one store; @p indexed: with an index file rewritten
 * as the pack grows (every 64 KiB) and used by every opener. */
static void kill_rounds(bool indexed)
{
	char *base = st_tmpdir(), dir[600];
	struct phr_cid *cids;

	if (indexed)
		setenv("PHR_STORE_INDEX_MIN", "65536", 1);

	snprintf(dir, sizeof(dir), "%s/store", base);
	for (int round = 0; round < 2; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(dir, p[1]);
		}
		close(p[1]);
		sleep_ms(300 + 200 * round);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status)); /* killed mid-way, not failed on its own */
		size_t n = read_acks(p[0], &cids);
		close(p[0]);
		print_message("round %d: %zu groups acknowledged before SIGKILL\n", round, n / 3);
		assert_true(n >= 3 * THREADS);
		/* 1: the process died, the machine did not */
		check_all(dir, cids, n);
		/* 2: the machine died too: its last append torn */
		lose_unsynced(dir);
		check_all(dir, cids, n);
		free(cids);
	}
	if (indexed) {
		snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/pack.idx");
		struct stat sb;
		assert_int_equal(stat(dir, &sb), 0); /* there was one to use */
		unsetenv("PHR_STORE_INDEX_MIN");
	}
	st_rmtree(base);
	phr_free(base);
}

static void test_kill_grouped_writers(void **state)
{
	(void)state;
	kill_rounds(false);
}

static void test_kill_grouped_writers_indexed(void **state)
{
	(void)state;
	kill_rounds(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_grouped_writers),
		cmocka_unit_test(test_kill_grouped_writers_indexed),
	};
	if (phr_crypto_init() != PHR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
