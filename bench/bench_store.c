/*
 * Store benchmark (built, never run by CTest; bench/store.sh runs it).
 *
 *   bench_store sha FILE        libsodium SHA-256 over the file (the hash alone)
 *   bench_store cid FILE        CIDv1 of the file (kubo parameters), no blocks written
 *   bench_store add FILE DIR    import into the store in DIR (fsync per block)
 *   bench_store enc FILE DIR    encrypt (secretstream) and import into DIR
 *   bench_store submit DIR THREADS SECS [group]
 *                               what a node's submitRecord asks of the store, from THREADS
 *                               threads for SECS seconds: a 4 KB record encrypted and
 *                               imported (pinned), then two key capsules; with "group"
 *                               the three in one durability group (phr_store_group_begin)
 *
 *   bench_store fill DIR N      N records as a node stores them (a 2 KB record encrypted and
 *                               imported, two capsules; pinned; 1,000 to a group)
 *   bench_store open DIR        opens and closes the store: prints "open SECONDS CLOSE-SECONDS
 *                               PEAK-RSS-KiB PACK-BYTES INDEX-FILE-BYTES RSS-KiB-OPEN" (the
 *                               close may write the index file, the open reads it:
 *                               docs/store.md; the last: resident once open)
 *
 * Prints one line: mode bytes seconds MB/s peak-RSS-KiB CID CPU-seconds; submit prints
 * "submit THREADS ops seconds ops/s CPU-ms-per-op".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <phr/core.h>
#include <phr/store.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sha_file(int fd, uint64_t *size)
{
	static uint8_t buf[1 << 20];
	crypto_hash_sha256_state st;
	uint8_t out[32];
	ssize_t r;
	crypto_hash_sha256_init(&st);
	*size = 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		crypto_hash_sha256_update(&st, buf, (size_t)r);
		*size += (uint64_t)r;
	}
	crypto_hash_sha256_final(&st, out);
	return r < 0 ? PHR_ERR_IO : PHR_OK;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_usec / 1e6;
}

struct submitter {
	struct phr_store *st;
	bool group;
	double until;
	atomic_ulong *ops;
	int rc;
};

static int submit_one(struct submitter *s, int fd, const uint8_t pk[32])
{
	uint8_t key[32];
	struct phr_cid root, cap1, cap2;
	int rc;

	randombytes_buf(key, sizeof(key));
#ifdef PHR_STORE_HAS_GROUPS
	if (s->group && (rc = phr_store_group_begin(s->st)) != PHR_OK)
		return rc;
#endif
	rc = lseek(fd, 0, SEEK_SET) == 0 ? phr_store_add_encrypted_fd(s->st, &root, fd, key, NULL)
					 : PHR_ERR_IO;
	if (rc == PHR_OK)
		rc = phr_store_add_capsule(s->st, &cap1, pk, key);
	if (rc == PHR_OK)
		rc = phr_store_add_capsule(s->st, &cap2, pk, key);
#ifdef PHR_STORE_HAS_GROUPS
	if (s->group) {
		int er = phr_store_group_end(s->st);
		if (rc == PHR_OK)
			rc = er;
	}
#endif
	sodium_memzero(key, sizeof(key));
	return rc;
}

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;
	uint8_t data[4096], pk[32], sk[32];
	int fd = memfd_create("bench-record", MFD_CLOEXEC);

	crypto_box_keypair(pk, sk);
	if (fd < 0) {
		s->rc = PHR_ERR_IO;
		return NULL;
	}
	while (s->rc == PHR_OK && now() < s->until) {
		randombytes_buf(data, sizeof(data)); /* every record new: nothing deduplicated */
		if (pwrite(fd, data, sizeof(data), 0) != (ssize_t)sizeof(data)) {
			s->rc = PHR_ERR_IO;
			break;
		}
		s->rc = submit_one(s, fd, pk);
		if (s->rc == PHR_OK)
			atomic_fetch_add(s->ops, 1);
	}
	close(fd);
	return NULL;
}

static int bench_submit(const char *dir, unsigned nthreads, double secs, bool group)
{
	struct phr_store *st;
	struct submitter s[64];
	pthread_t t[64];
	atomic_ulong ops = 0;
	int rc = PHR_OK;

	if (nthreads == 0 || nthreads > 64 || phr_store_open(&st, dir) != PHR_OK)
		return 2;
	double c0 = cpu_seconds(), t0 = now();
	for (unsigned i = 0; i < nthreads; i++) {
		s[i] = (struct submitter){ .st = st, .group = group, .until = t0 + secs, .ops = &ops };
		pthread_create(&t[i], NULL, submitter_main, &s[i]);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		if (s[i].rc != PHR_OK && rc == PHR_OK)
			rc = s[i].rc;
	}
	double t1 = now(), c1 = cpu_seconds();
	phr_store_close(st);
	if (rc != PHR_OK) {
		fprintf(stderr, "bench_store submit: %s\n", phr_strerror(rc));
		return 1;
	}
	unsigned long n = atomic_load(&ops);
	printf("submit %u %lu %.3f %.1f %.3f\n", nthreads, n, t1 - t0, (double)n / (t1 - t0),
	       n ? (c1 - c0) * 1e3 / (double)n : 0.0);
	return 0;
}

static long long file_bytes(const char *dir, const char *name)
{
	char path[4096];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static int bench_fill(const char *dir, unsigned long n)
{
	struct phr_store *st;
	struct submitter s = { .group = false, .rc = PHR_OK };
	uint8_t data[2048], pk[32], sk[32];
	int fd = memfd_create("bench-record", MFD_CLOEXEC), rc = PHR_OK;

	if (fd < 0 || phr_store_open(&st, dir) != PHR_OK)
		return 2;
	s.st = st;
	crypto_box_keypair(pk, sk);
	double t0 = now();
	for (unsigned long i = 0; rc == PHR_OK && i < n; i++) {
		if (i % 1000 == 0 && (rc = phr_store_group_begin(st)) != PHR_OK)
			break;
		randombytes_buf(data, sizeof(data));
		if (pwrite(fd, data, sizeof(data), 0) != (ssize_t)sizeof(data) ||
		    ftruncate(fd, sizeof(data)) != 0)
			rc = PHR_ERR_IO;
		if (rc == PHR_OK)
			rc = submit_one(&s, fd, pk);
		if ((i % 1000 == 999 || i + 1 == n) && phr_store_group_end(st) != PHR_OK && rc == PHR_OK)
			rc = PHR_ERR_IO;
	}
	double t1 = now();
	phr_store_close(st);
	close(fd);
	if (rc != PHR_OK) {
		fprintf(stderr, "bench_store fill: %s\n", phr_strerror(rc));
		return 1;
	}
	printf("fill %lu %.3f %lld\n", n, t1 - t0, file_bytes(dir, "pack"));
	return 0;
}

static int bench_open(const char *dir)
{
	struct phr_store *st;
	struct rusage ru;
	double t0 = now();
	if (phr_store_open(&st, dir) != PHR_OK)
		return 2;
	double t1 = now();
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	phr_store_close(st);
	double t2 = now();
	getrusage(RUSAGE_SELF, &ru);
	printf("open %.3f %.3f %ld %lld %lld %ld\n", t1 - t0, t2 - t1, ru.ru_maxrss,
	       file_bytes(dir, "pack"), file_bytes(dir, "pack.idx"),
	       resident * (sysconf(_SC_PAGESIZE) / 1024));
	return 0;
}

int main(int argc, char **argv)
{
	struct phr_store *st = NULL;
	struct phr_cid root;
	struct rusage ru;
	uint64_t size = 0;
	int fd, rc;
	double t0, t1;

	if (sodium_init() < 0 || argc < 3) {
		fprintf(stderr, "usage: bench_store sha|cid FILE | add|enc FILE DIR\n");
		return 2;
	}
	const char *mode = argv[1];
	if (!strcmp(mode, "fill") && argc > 3)
		return bench_fill(argv[2], strtoul(argv[3], NULL, 10));
	if (!strcmp(mode, "open"))
		return bench_open(argv[2]);
	if (!strcmp(mode, "submit")) {
		if (argc < 5) {
			fprintf(stderr, "usage: bench_store submit DIR THREADS SECS [group]\n");
			return 2;
		}
#ifndef PHR_STORE_HAS_GROUPS
		if (argc > 5) {
			fprintf(stderr, "bench_store: this store has no groups\n");
			return 2;
		}
#endif
		return bench_submit(argv[2], (unsigned)strtoul(argv[3], NULL, 10),
				    strtod(argv[4], NULL), argc > 5 && !strcmp(argv[5], "group"));
	}
	if ((fd = open(argv[2], O_RDONLY)) < 0) {
		perror(argv[2]);
		return 1;
	}
	if ((!strcmp(mode, "add") || !strcmp(mode, "enc"))) {
		if (argc < 4 || phr_store_open(&st, argv[3]) != PHR_OK) {
			fprintf(stderr, "bench_store: cannot open the store\n");
			return 1;
		}
	}
	struct rusage r0;
	getrusage(RUSAGE_SELF, &r0);
	t0 = now();
	if (!strcmp(mode, "sha")) {
		rc = sha_file(fd, &size);
	} else if (!strcmp(mode, "cid")) {
		struct phr_import_opts o = { .cid_version = 1, .only_hash = true };
		rc = phr_store_add_fd(NULL, &root, &size, fd, &o, NULL, NULL);
	} else if (!strcmp(mode, "add")) {
		rc = phr_store_add_fd(st, &root, &size, fd, NULL, NULL, NULL);
	} else if (!strcmp(mode, "enc")) {
		uint8_t key[32];
		off_t end = lseek(fd, 0, SEEK_END);
		randombytes_buf(key, sizeof(key));
		rc = lseek(fd, 0, SEEK_SET) == 0 ? phr_store_add_encrypted_fd(st, &root, fd, key, NULL)
						 : PHR_ERR_IO;
		size = (uint64_t)end;
		sodium_memzero(key, sizeof(key));
	} else {
		fprintf(stderr, "bench_store: unknown mode %s\n", mode);
		return 2;
	}
	t1 = now();
	close(fd);
	phr_store_close(st);
	if (rc != PHR_OK) {
		fprintf(stderr, "bench_store %s: %s\n", mode, phr_strerror(rc));
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	char cid[PHR_CID_STR_MAX] = "-";
	if (strcmp(mode, "sha") && phr_cid_format(cid, sizeof(cid), &root) != PHR_OK)
		return 1;
	double cpu = (double)(ru.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
		     (double)(ru.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
		     (double)(ru.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
	printf("%s %llu %.3f %.1f %ld %s %.4f\n", mode, (unsigned long long)size, t1 - t0,
	       (double)size / 1e6 / (t1 - t0), ru.ru_maxrss, cid, cpu);
	return 0;
}
