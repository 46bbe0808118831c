/* Unit tests of the secret memory pool (phr/secmem.h): size classes, wipe on
 * release, reuse, guard pages, locking and dump exclusion, fallback mappings,
 * misuse aborts, threads, and the pool limit. Test order matters: the guard
 * test needs the first region of its class, the limit test fills the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <phr/secmem.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void assert_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			fail_msg("byte %zu of %zu is 0x%02x, not wiped", i, n, p[i]);
}

/* Runs fn(arg) in a child; returns whether the child died abnormally (a
 * signal, or a sanitizer's report and non-zero exit). */
static bool child_crashes(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches these to report a failing test and go on: here the
		 * child must die of them */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

static void write_byte(void *arg)
{
	*(volatile uint8_t *)arg = 1;
}

static void test_guard_pages(void **state)
{
	struct phr_secmem_stats st;
	uint8_t *p, *big;

	(void)state;
	phr_secmem_stats_get(&st);
	assert_int_equal(st.regions, 0);
	/* the first slot of the first 1024-byte region sits right after its front guard */
	p = phr_secmem_alloc(1000);
	assert_non_null(p);
	phr_secmem_stats_get(&st);
	assert_int_equal(st.regions, 1);
	assert_true(child_crashes(write_byte, p - 1));
	assert_false(child_crashes(write_byte, p));
	/* an own-mapping allocation ends at its rear guard (up to 15 bytes of padding) */
	big = phr_secmem_alloc(10000);
	assert_non_null(big);
	assert_false(child_crashes(write_byte, big + 9999));
	assert_true(child_crashes(write_byte, big + 10000 + 15 + 1));
	phr_secmem_free(big);
	phr_secmem_free(p);
}

static void test_class_sizes(void **state)
{
	(void)state;
	assert_int_equal(phr_secmem_class_size(0), 64);
	assert_int_equal(phr_secmem_class_size(1), 64);
	assert_int_equal(phr_secmem_class_size(64), 64);
	assert_int_equal(phr_secmem_class_size(65), 256);
	assert_int_equal(phr_secmem_class_size(256), 256);
	assert_int_equal(phr_secmem_class_size(257), 1024);
	assert_int_equal(phr_secmem_class_size(1024), 1024);
	assert_int_equal(phr_secmem_class_size(1025), 4096);
	assert_int_equal(phr_secmem_class_size(PHR_SECMEM_SLOT_MAX), 4096);
	assert_int_equal(phr_secmem_class_size(PHR_SECMEM_SLOT_MAX + 1), 0);
	assert_int_equal(phr_secmem_class_size(SIZE_MAX), 0);
	/* slots are aligned to their class */
	static const size_t sizes[] = { 0, 1, 32, 64, 100, 256, 700, 1024, 3000, 4096 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = phr_secmem_alloc(sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % phr_secmem_class_size(sizes[i]), 0);
		assert_zero(p, sizes[i]);
		memset(p, 0xee, sizes[i] ? sizes[i] : 1);
		phr_secmem_free(p);
	}
	phr_secmem_free(NULL);
}

static void test_wipe_and_reuse(void **state)
{
	static const size_t sizes[] = { 32, 64, 200, 1000, 4096 };
	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *p = phr_secmem_alloc(n), *q;

		assert_non_null(p);
		memset(p, 0xa5, n);
		phr_secmem_free(p);
		/* the slot just freed comes back first, and comes back zeroed */
		q = phr_secmem_alloc(n);
		assert_ptr_equal(q, p);
		assert_zero(q, n);
		/* a different size of the same class gets the same slot, wiped beyond the old size too */
		memset(q, 0x5a, n);
		phr_secmem_free(q);
		q = phr_secmem_alloc(phr_secmem_class_size(n));
		assert_ptr_equal(q, p);
		assert_zero(q, phr_secmem_class_size(n));
		phr_secmem_free(q);
	}
}

static void test_fallback(void **state)
{
	struct phr_secmem_stats before, mid, after;
	uint8_t *p;
	(void)state;

	phr_secmem_stats_get(&before);
	p = phr_secmem_alloc(100000);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_zero(p, 100000);
	memset(p, 0x77, 100000);
	phr_secmem_stats_get(&mid);
	assert_int_equal(mid.big_in_use, before.big_in_use + 1);
	assert_int_equal(mid.pool_bytes, before.pool_bytes);
	phr_secmem_free(p);
	phr_secmem_stats_get(&after);
	assert_int_equal(after.big_in_use, before.big_in_use);
	/* too large to map at all: NULL, not a crash */
	assert_null(phr_secmem_alloc(SIZE_MAX - 4096));
}

/* Finds the /proc/self/smaps entry holding p; returns its VmFlags line in
 * flags and whether the entry was found. */
static bool smaps_flags(char *flags, size_t cap, const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, cap, "%s", line + 8);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_locked_not_dumped(void **state)
{
	struct phr_secmem_stats st;
	char flags[256];
	uint8_t *small = phr_secmem_alloc(32), *big = phr_secmem_alloc(20000);
	(void)state;

	assert_non_null(small);
	assert_non_null(big);
	phr_secmem_stats_get(&st);
	assert_true(smaps_flags(flags, sizeof(flags), small));
	assert_non_null(strstr(flags, " dd"));
	/* mlock is best effort (RLIMIT_MEMLOCK); when it took, the kernel says so
	 * (AddressSanitizer turns mlock into a no-op that reports success) */
	if (st.locked_bytes == st.pool_bytes && !UNDER_ASAN)
		assert_non_null(strstr(flags, " lo"));
	assert_true(smaps_flags(flags, sizeof(flags), big));
	assert_non_null(strstr(flags, " dd"));
	phr_secmem_free(small);
	phr_secmem_free(big);
}

static void free_it(void *p)
{
	phr_secmem_free(p);
}

static void test_misuse_aborts(void **state)
{
	uint8_t *p = phr_secmem_alloc(48), stack[64];
	(void)state;

	assert_non_null(p);
	/* inside a slot, a foreign pointer, a second free */
	assert_true(child_crashes(free_it, p + 16));
	memset(stack, 0, sizeof(stack));
	assert_true(child_crashes(free_it, stack + 32));
	phr_secmem_free(p);
	assert_true(child_crashes(free_it, p));
}

static void test_asan_poison(void **state)
{
	uint8_t *p = phr_secmem_alloc(40);
	(void)state;

	assert_non_null(p);
	assert_false(child_crashes(write_byte, p + 39));
	if (!UNDER_ASAN) {
		phr_secmem_free(p);
		skip(); /* only AddressSanitizer sees inside a region */
		return;
	}
	/* the unused tail of a slot and a free slot are poisoned */
	assert_true(child_crashes(write_byte, p + 40));
	phr_secmem_free(p);
	assert_true(child_crashes(write_byte, p));
}

#define NTHREADS 8
#define ROUNDS 20000
#define LIVE 16

struct worker {
	unsigned seed;
	uint8_t tag;
	bool ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *live[LIVE] = { 0 };
	size_t len[LIVE] = { 0 };

	w->ok = true;
	for (int r = 0; r < ROUNDS; r++) {
		unsigned i = (unsigned)rand_r(&w->seed) % LIVE;
		if (live[i] != NULL) {
			/* nobody else wrote into our slot while we held it */
			for (size_t j = 0; j < len[i]; j++)
				if (live[i][j] != w->tag)
					w->ok = false;
			phr_secmem_free(live[i]);
		}
		/* mostly pool classes, now and then a mapping of its own */
		len[i] = r % 997 == 0 ? 5000 : 1 + (unsigned)rand_r(&w->seed) % 3000;
		live[i] = phr_secmem_alloc(len[i]);
		if (live[i] == NULL) {
			w->ok = false;
			break;
		}
		for (size_t j = 0; j < len[i]; j++)
			if (live[i][j] != 0)
				w->ok = false;
		memset(live[i], w->tag, len[i]);
	}
	for (unsigned i = 0; i < LIVE; i++)
		phr_secmem_free(live[i]);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	struct phr_secmem_stats st;
	(void)state;

	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .seed = 1234u + (unsigned)i, .tag = (uint8_t)(0x10 + i) };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(w[i].ok);
	}
	phr_secmem_stats_get(&st);
	assert_int_equal(st.slots_in_use, 0);
	assert_int_equal(st.big_in_use, 0);
}

static void test_pool_limit(void **state)
{
	enum { N = 2048 };
	uint8_t **p = calloc(N, sizeof(*p));
	struct phr_secmem_stats st;
	size_t bytes_before;
	(void)state;

	assert_non_null(p);
	phr_secmem_stats_get(&st);
	bytes_before = st.pool_bytes;
	/* 8 MiB of 4096-byte slots: the pool stops at its limit, the rest are own mappings */
	for (int i = 0; i < N; i++) {
		p[i] = phr_secmem_alloc(4000);
		assert_non_null(p[i]);
		p[i][0] = 1;
		p[i][3999] = 2;
	}
	phr_secmem_stats_get(&st);
	assert_true(st.pool_bytes > bytes_before);
	assert_true(st.pool_bytes <= (size_t)4 << 20);
	assert_true(st.big_in_use > 0);
	assert_int_equal(st.slots_in_use + st.big_in_use, N);
	for (int i = 0; i < N; i++)
		phr_secmem_free(p[i]);
	phr_secmem_stats_get(&st);
	assert_int_equal(st.slots_in_use, 0);
	assert_int_equal(st.big_in_use, 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_pages),
		cmocka_unit_test(test_class_sizes),
		cmocka_unit_test(test_wipe_and_reuse),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_locked_not_dumped),
		cmocka_unit_test(test_misuse_aborts),
		cmocka_unit_test(test_asan_poison),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_pool_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
