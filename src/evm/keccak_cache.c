/*
 * KECCAK256 of short inputs with a process-wide cache.
 *
 * Solidity computes a storage slot of a mapping as keccak256(key . slot), 64
 * bytes, every time a function touches the mapping, and the node runs the same
 * accesses over and over: a mintRecords is run first as a dry run (eth_call)
 * and then as the transaction, with the same inputs, and every mint of a batch
 * reads the same balance, audit chain and module slots. Each keccak-f[1600]
 * permutation costs about as much as a thousand simple EVM instructions, and
 * KECCAK256 was a third of the interpreter's instructions in a mint.
 *
 * The cache maps an input of at most EVM_KC_MAX_INPUT bytes to its hash, keyed
 * by the input bytes themselves: a lookup mixes the input into a slot index,
 * then compares the whole input with the slot's copy, so a hit is right by
 * construction (no hash of the hash is trusted). Direct mapped, EVM_KC_SLOTS
 * entries (a new input replaces the slot's old one), so bounded; thread-safe
 * with striped mutexes (a lookup holds one for a 64-byte compare and a copy).
 */
#include "evm_int.h"

#include <pthread.h>

#include "phr/crypto.h"

#define EVM_KC_SLOTS 4096 /* power of two */
#define EVM_KC_STRIPES 64 /* power of two, divides EVM_KC_SLOTS */

struct kc_entry {
	uint32_t len; /* input length + 1; 0 = empty */
	uint8_t out[32];
	uint8_t in[EVM_KC_MAX_INPUT];
};

static struct kc_entry kc_slots[EVM_KC_SLOTS];
static pthread_mutex_t kc_locks[EVM_KC_STRIPES] = {
#define KC_L4 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	      PTHREAD_MUTEX_INITIALIZER
#define KC_L16 KC_L4, KC_L4, KC_L4, KC_L4
	KC_L16, KC_L16, KC_L16, KC_L16
#undef KC_L16
#undef KC_L4
};
_Static_assert(EVM_KC_STRIPES == 64, "the initialiser above has 64 mutexes");
_Static_assert((EVM_KC_SLOTS & (EVM_KC_SLOTS - 1)) == 0, "EVM_KC_SLOTS is a power of two");

/* Counters: updated under the slot's stripe lock, so per stripe. */
static uint64_t kc_hits[EVM_KC_STRIPES], kc_misses[EVM_KC_STRIPES];

/* The slot of an input (zero-padded to EVM_KC_MAX_INPUT bytes in @p padded). */
static size_t kc_slot(const uint8_t *padded, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
	for (size_t i = 0; i < EVM_KC_MAX_INPUT; i += 8) {
		uint64_t w;
		memcpy(&w, padded + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return (size_t)(h >> 32) & (EVM_KC_SLOTS - 1);
}

void evm_keccak256_cached(uint8_t out[32], const uint8_t *in, size_t len)
{
	if (len > EVM_KC_MAX_INPUT) {
		phr_keccak256(out, in, len);
		return;
	}
	uint8_t padded[EVM_KC_MAX_INPUT] = { 0 };
	if (len)
		memcpy(padded, in, len);
	size_t slot = kc_slot(padded, len);
	size_t stripe = slot & (EVM_KC_STRIPES - 1);
	struct kc_entry *e = &kc_slots[slot];

	pthread_mutex_lock(&kc_locks[stripe]);
	if (e->len == len + 1 && memcmp(e->in, padded, len) == 0) {
		memcpy(out, e->out, 32);
		kc_hits[stripe]++;
		pthread_mutex_unlock(&kc_locks[stripe]);
		return;
	}
	kc_misses[stripe]++;
	pthread_mutex_unlock(&kc_locks[stripe]);

	phr_keccak256(out, padded, len);

	pthread_mutex_lock(&kc_locks[stripe]);
	e->len = (uint32_t)len + 1;
	memcpy(e->in, padded, EVM_KC_MAX_INPUT);
	memcpy(e->out, out, 32);
	pthread_mutex_unlock(&kc_locks[stripe]);
}

void evm_keccak_cache_stats(uint64_t *hits, uint64_t *misses)
{
	*hits = *misses = 0;
	for (size_t s = 0; s < EVM_KC_STRIPES; s++) {
		pthread_mutex_lock(&kc_locks[s]);
		*hits += kc_hits[s];
		*misses += kc_misses[s];
		pthread_mutex_unlock(&kc_locks[s]);
	}
}

void evm_keccak_cache_clear(void)
{
	for (size_t s = 0; s < EVM_KC_STRIPES; s++)
		pthread_mutex_lock(&kc_locks[s]);
	memset(kc_slots, 0, sizeof(kc_slots));
	memset(kc_hits, 0, sizeof(kc_hits));
	memset(kc_misses, 0, sizeof(kc_misses));
	for (size_t s = EVM_KC_STRIPES; s-- > 0;)
		pthread_mutex_unlock(&kc_locks[s]);
}
