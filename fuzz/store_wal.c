/*
 * Fuzz target for the store's write-ahead log replay: the input is written as
 * DATADIR/wal of a store (its header rarely names this boot, so opening the
 * store replays it): damaged, torn, zeroed or forged records must be skipped
 * or restored, never crash, and the store must open or fail cleanly.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char wal[96];
	struct phr_store *st;

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/phr-fuzz-wal-XXXXXX", t && *t && strlen(t) < 30 ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
		snprintf(wal, sizeof(wal), "%s/wal", dir);
		atexit(cleanup);
	}
	int fd = open(wal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);
	if (phr_store_open(&st, dir) == PHR_OK)
		phr_store_close(st);
	return 0;
}
