/*
 * RLP decoder: arbitrary bytes through phr_rlp_decode. Whatever decodes must
 * re-encode (through the list iterator and the encoder) to exactly the input,
 * since only canonical encodings are accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/rlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int reencode(struct phr_buf *b, const struct phr_rlp_item *it)
{
	if (!it->is_list)
		return phr_rlp_put_bytes(b, it->data, it->len);
	struct phr_rlp_iter iter;
	struct phr_rlp_item sub;
	size_t mark;
	int rc = phr_rlp_iter_init(&iter, it);
	phr_rlp_list_begin(b, &mark);
	while (rc == PHR_OK && (rc = phr_rlp_iter_next(&iter, &sub)) == 1)
		rc = reencode(b, &sub);
	if (rc < 0)
		abort(); /* a validated tree must iterate cleanly */
	return phr_rlp_list_end(b, mark);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_rlp_item it;
	if (phr_rlp_decode(&it, data, size) != PHR_OK)
		return 0;
	struct phr_buf b;
	phr_buf_init(&b, 0);
	if (reencode(&b, &it) != PHR_OK || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	phr_buf_release(&b);
	return 0;
}
