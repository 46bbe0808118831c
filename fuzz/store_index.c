/*
 * Fuzz target for the store's index file (DATADIR/pack.idx, src/store/wal.c): beside a
 * fixed pack of a few blocks and pins (made once by the store), the input is written as
 * the index file, its fingerprint (bytes 64-96) and its trailing SHA-256 made right
 * first, so that the parser gets past its checks and has to judge counts, offsets,
 * lengths and pin texts itself. Whatever the file says, the store must open (falling back
 * to a scan) or fail cleanly, never crash, and every block it serves is verified.
 * PHR_FUZZ_SEED_OUT=FILE writes the index file the store made for that pack (without its
 * trailer) to FILE: the seed of fuzz/corpus/store_index.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_fuzz_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct phr_buf pack; /* the pack's bytes */
static char idx_path[96];

static void sha256(uint8_t out[32], const uint8_t *p, size_t n)
{
	struct phr_cid c;
	if (phr_cid_of_block(&c, 1, PHR_CODEC_RAW, p, n) != PHR_OK)
		abort();
	memcpy(out, c.digest, 32);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || phr_fd_write_all(fd, p, n) != PHR_OK)
		abort();
	close(fd);
}

/* The pack: a few blocks of different sizes, pinned, one pin removed. */
static void setup(void)
{
	char pack_path[96];
	struct phr_store *st;
	uint8_t blk[3000];

	store_fuzz_path(pack_path, sizeof(pack_path), "index", "pack");
	store_fuzz_path(idx_path, sizeof(idx_path), "index", "pack.idx");
	setenv("PHR_STORE_INDEX_MIN", "1", 1);
	if (phr_store_open(&st, store_fuzz_dir) != PHR_OK)
		abort();
	for (unsigned i = 0; i < 5; i++) {
		struct phr_cid c;
		for (size_t j = 0; j < sizeof(blk); j++)
			blk[j] = (uint8_t)(j * 7 + i * 31);
		if (phr_store_add_bytes(st, &c, blk, 200 + 600 * i, NULL) != PHR_OK)
			abort();
		if (i == 2 && phr_store_pin_rm(st, &c) != PHR_OK)
			abort();
	}
	phr_store_close(st);
	const char *seed = getenv("PHR_FUZZ_SEED_OUT");
	struct phr_buf b;
	phr_buf_init(&b, 1 << 20);
	if (seed && phr_file_read(&b, idx_path, 1 << 20) == PHR_OK && b.len > 32)
		write_file(seed, b.data, b.len - 32);
	phr_buf_release(&b);
	phr_buf_init(&pack, 1 << 20);
	if (phr_file_read(&pack, pack_path, 1 << 20) != PHR_OK)
		abort();
	/* from now on the store writes no index file of its own */
	setenv("PHR_STORE_INDEX_MIN", "1000000000000", 1);
}

static int count_pin(void *ctx, const struct phr_cid *root)
{
	(void)root;
	(*(unsigned *)ctx)++;
	return PHR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *f;
	struct phr_store *st;

	if (!pack.data)
		setup();
	if (size > (1u << 20))
		return 0;
	phr_free(f);
	f = phr_malloc(size + 32);
	if (!f)
		abort();
	memcpy(f, data, size);
	/* the fingerprint of the pack up to "covered", as the store computes it */
	if (size >= 96) {
		uint64_t cov = 0;
		for (int i = 7; i >= 0; i--)
			cov = cov << 8 | f[8 + i];
		if (cov > 64 && cov <= pack.len) {
			uint8_t w[64 + 4096];
			size_t win = cov - 64 < 4096 ? (size_t)cov - 64 : 4096;
			memcpy(w, pack.data, 64);
			memcpy(w + 64, pack.data + cov - win, win);
			sha256(f + 64, w, 64 + win);
		}
	}
	sha256(f + size, f, size);
	write_file(idx_path, f, size + 32);
	if (phr_store_open(&st, store_fuzz_dir) != PHR_OK)
		return 0;
	struct phr_store_stat s;
	struct phr_store_verify_report rep;
	unsigned pins = 0;
	if (phr_store_stat(st, &s) == PHR_OK && s.blocks > 100)
		abort(); /* the pack holds 5 blocks, an index file cannot make more */
	int rc = phr_store_verify(st, &rep, NULL, NULL);
	if (rc == PHR_OK && rep.blocks_corrupt)
		abort();
	if (phr_store_pin_list(st, count_pin, &pins) == PHR_OK && pins > 4 + size / 2)
		abort(); /* the pack's 4, and what names of 2 bytes or more the file can hold */
	phr_store_close(st);
	return 0;
}
