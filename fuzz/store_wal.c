/*
 * Fuzz target for the replay of an older version's write-ahead log: the input is
 * written as DATADIR/wal of a store (its header rarely names this boot, so opening
 * the store replays it into block and pin files, then removes it): damaged, torn,
 * zeroed or forged records must be skipped or restored, never crash, and the store
 * must open or fail cleanly.
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
#include "store_fuzz_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char wal[96];
	struct phr_store *st;

	if (!wal[0])
		store_fuzz_path(wal, sizeof(wal), "wal", "wal");
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
	if (phr_store_open(&st, store_fuzz_dir) == PHR_OK)
		phr_store_close(st);
	return 0;
}
