/*
 * Fuzz target for the strict dag-pb decoder and the UnixFS Data decoder: any
 * node that decodes has in-bounds links and data; its UnixFS blocksizes read
 * back; and a node re-encoded from the decoded links decodes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_unixfs(const uint8_t *d, size_t n)
{
	struct phr_unixfs u;
	uint64_t v;
	if (phr_unixfs_decode(&u, d, n) != PHR_OK)
		return;
	if (u.data && (u.data < d || u.data + u.data_len > d + n))
		abort();
	for (size_t i = 0; i < u.nblocksizes; i++)
		if (phr_unixfs_blocksize(&u, i, &v) != PHR_OK)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_dagpb_node node, again;
	struct phr_buf b;

	check_unixfs(data, size);
	if (phr_dagpb_decode(&node, data, size) != PHR_OK)
		return 0;
	if (node.data && (node.data < data || node.data + node.data_len > data + size))
		abort();
	if (node.data)
		check_unixfs(node.data, node.data_len);
	phr_buf_init(&b, 0);
	if (phr_dagpb_encode(&b, node.links, node.nlinks, node.data, node.data_len) == PHR_OK) {
		if (phr_dagpb_decode(&again, b.data, b.len) != PHR_OK || again.nlinks != node.nlinks)
			abort();
		phr_dagpb_node_release(&again);
	}
	phr_buf_release(&b);
	phr_dagpb_node_release(&node);
	return 0;
}
