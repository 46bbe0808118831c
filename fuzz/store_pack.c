/*
 * Fuzz target for the store's pack log (src/store/wal.c): the input is written as
 * DATADIR/pack (after a valid 64-byte file header unless it starts with one), then
 * the store is opened (a scan: records checked, a torn tail dropped), its blocks
 * counted and verified, its pins listed and walked. Damaged, torn, zeroed, dead or
 * forged records must be skipped or reported, never crash; the store opens or fails
 * cleanly. A data directory may be copied from elsewhere.
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

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
}

static int count_pin(void *ctx, const struct phr_cid *root)
{
	(void)root;
	(*(unsigned *)ctx)++;
	return PHR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pack[96];
	static const uint8_t hdr[64] = "PHRPACK1";
	struct phr_store *st;

	if (!pack[0])
		store_fuzz_path(pack, sizeof(pack), "pack", "pack");
	int fd = open(pack, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size < 8 || memcmp(data, "PHRPACK1", 8) != 0)
		write_all(fd, hdr, sizeof(hdr));
	write_all(fd, data, size);
	close(fd);
	if (phr_store_open(&st, store_fuzz_dir) != PHR_OK)
		return 0;
	struct phr_store_stat s;
	struct phr_store_verify_report rep;
	unsigned pins = 0;
	if (phr_store_stat(st, &s) == PHR_OK && s.blocks > 1000000)
		abort(); /* more blocks than the input can hold */
	int rc = phr_store_verify(st, &rep, NULL, NULL);
	if (rc == PHR_OK && rep.blocks_corrupt)
		abort(); /* a corrupt block must make verify fail */
	if (phr_store_pin_list(st, count_pin, &pins) == PHR_OK && pins > size)
		abort(); /* more pins than records the input can hold */
	phr_store_close(st);
	return 0;
}
