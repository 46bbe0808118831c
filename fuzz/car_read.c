/*
 * Fuzz target for the CARv1 reader: header, then every block (each checked
 * against its CID), fed in small pieces to exercise the buffering.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, off;
};

static long rd(void *ctx, uint8_t *buf, size_t n)
{
	struct src *s = ctx;
	size_t k = s->n - s->off;
	if (k > n)
		k = n;
	if (k > 7)
		k = 7; /* short reads */
	memcpy(buf, s->p + s->off, k);
	s->off += k;
	return (long)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size, 0 };
	struct phr_car_reader *r;
	struct phr_cid cid;
	const uint8_t *blk;
	size_t len;

	if (phr_car_reader_new(&r, rd, &s) != PHR_OK)
		return 0;
	if (phr_car_reader_nroots(r) == 0 || !phr_car_reader_root(r, 0))
		abort();
	while (phr_car_reader_next(r, &cid, &blk, &len) == PHR_OK)
		if (phr_cid_verify(&cid, blk, len) != PHR_OK)
			abort();
	phr_car_reader_free(r);
	return 0;
}
