/*
 * Secret memory benchmark (bench/secmem.sh runs it): what a request pays to
 * get and release its short-lived secrets, as the node does per record read
 * (a 32-byte data key and a ~80-byte secretstream state), with T threads at
 * once: phr_secmem_alloc/free against the peer, libsodium's
 * sodium_malloc/sodium_free. Prints ns of wall time and of process CPU time
 * per pair of allocations and the ratios peer / phr.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "phr/secmem.h"

struct run {
	bool pool;
	long iters;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *worker(void *arg)
{
	const struct run *r = arg;

	for (long i = 0; i < r->iters; i++) {
		uint8_t *key = r->pool ? phr_secmem_alloc(32) : sodium_malloc(32);
		uint8_t *st = r->pool ? phr_secmem_alloc(80) : sodium_malloc(80);
		if (key == NULL || st == NULL) {
			fputs("allocation failed\n", stderr);
			exit(1);
		}
		randombytes_buf(key, 32);
		memcpy(st, key, 32); /* touch both, as a key and a state would be */
		if (r->pool) {
			phr_secmem_free(st);
			phr_secmem_free(key);
		} else {
			sodium_free(st);
			sodium_free(key);
		}
	}
	return NULL;
}

/* ns of wall and CPU time per request (one key + one state) for T threads */
static void measure(double *wall_ns, double *cpu_ns, bool pool, int threads, long total)
{
	pthread_t t[64];
	struct run r = { .pool = pool, .iters = total / threads };
	double w0 = now_s(), c0 = cpu_s();

	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, &r) != 0)
			exit(1);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	*wall_ns = (now_s() - w0) * 1e9 / (double)(r.iters * threads);
	*cpu_ns = (cpu_s() - c0) * 1e9 / (double)(r.iters * threads);
}

int main(int argc, char **argv)
{
	static const int threads[] = { 1, 2, 8, 64 };
	long total = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;

	if (sodium_init() < 0 || total < 64)
		return 1;
	printf("%-8s %14s %14s %14s %14s %8s %8s\n", "threads", "phr wall ns", "phr cpu ns",
	       "sodium wall ns", "sodium cpu ns", "wall x", "cpu x");
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		double pw, pc, sw, sc;
		measure(&pw, &pc, true, threads[i], total);
		/* the peer gets a tenth of the iterations: it is that much slower */
		measure(&sw, &sc, false, threads[i], total / 10);
		printf("%-8d %14.0f %14.0f %14.0f %14.0f %8.1f %8.1f\n", threads[i], pw, pc, sw, sc,
		       sw / pw, sc / pc);
	}
	return 0;
}
