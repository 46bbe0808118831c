/*
 * Fuzz target: a sequence of trie puts and deletes, checked against a plain
 * list of live keys: every get agrees, the count agrees, and the incremental
 * root equals the root of a trie built from scratch with the live keys only.
 *
 * Input: records of [op, key length (0-7), key bytes, value length (0-7),
 * value bytes]; op bit 0 chooses delete, bit 1 asks for a root in between.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/trie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXK 64

struct kv {
	uint8_t k[8], v[8];
	size_t kl, vl;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv live[MAXK];
	size_t n = 0;
	struct phr_trie *t;
	uint8_t r1[32], r2[32];
	if (phr_trie_new(&t, (size & 1) != 0))
		return 0;
	size_t i = 0;
	while (i + 2 <= size) {
		uint8_t op = data[i++];
		size_t kl = data[i++] & 7;
		if (i + kl + 1 > size)
			break;
		const uint8_t *k = data + i;
		i += kl;
		size_t vl = data[i++] & 7;
		if (i + vl > size)
			break;
		const uint8_t *v = data + i;
		i += vl;
		size_t at = n;
		for (size_t x = 0; x < n; x++) {
			if (live[x].kl == kl && !memcmp(live[x].k, k, kl))
				at = x;
		}
		bool del = (op & 1) || vl == 0;
		if (del) {
			if (phr_trie_delete(t, k, kl))
				abort();
			if (at < n)
				live[at] = live[--n];
		} else {
			if (at == n && n == MAXK)
				continue;
			if (phr_trie_put(t, k, kl, v, vl))
				abort();
			memcpy(live[at].k, k, kl);
			live[at].kl = kl;
			memcpy(live[at].v, v, vl);
			live[at].vl = vl;
			if (at == n)
				n++;
		}
		if ((op & 2) && phr_trie_root(t, r1))
			abort();
	}
	if (phr_trie_count(t) != n)
		abort();
	for (size_t x = 0; x < n; x++) {
		const uint8_t *v;
		size_t vl;
		if (phr_trie_get(t, &v, &vl, live[x].k, live[x].kl) || vl != live[x].vl ||
		    memcmp(v, live[x].v, vl))
			abort();
	}
	struct phr_trie *ref;
	if (phr_trie_new(&ref, (size & 1) != 0))
		abort();
	for (size_t x = 0; x < n; x++) {
		if (phr_trie_put(ref, live[x].k, live[x].kl, live[x].v, live[x].vl))
			abort();
	}
	if (phr_trie_root(t, r1) || phr_trie_root(ref, r2) || memcmp(r1, r2, 32))
		abort();
	phr_trie_free(ref);
	phr_trie_free(t);
	return 0;
}
