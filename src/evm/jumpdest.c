/*
 * JUMPDEST analysis with a process-wide cache.
 *
 * A call frame needs the set of valid jump destinations of its code: every
 * JUMPDEST byte that is not inside PUSH data. Working it out is a pass over the
 * whole code, and the node runs the same few contracts (20 KB each) for every
 * call frame of every view call and transaction, so the pass was a third of
 * the node's CPU under read load. The cache keeps the bitmap of recently run
 * code, keyed by the code's bytes themselves: a lookup hashes a sample of the
 * code to pick a slot, then compares the whole code with the slot's copy
 * (memcmp is far cheaper than the analysis), so a hit is right by construction
 * and no code hash has to be known or trusted.
 *
 * Bounded: EVM_JD_SLOTS entries, direct mapped, each holding a copy of at most
 * EVM_JD_MAX_CODE bytes of code and its bitmap; a new entry replaces the
 * slot's old one. Short code is analysed directly (cheaper than a lookup).
 * Thread-safe: one mutex around the slot table; the frame gets its own copy of
 * the bitmap, so entries can be replaced while frames run.
 */
#include "evm_int.h"

#include <pthread.h>

#include "phr/core.h"

#define EVM_JD_SLOTS 64
#define EVM_JD_MIN_CODE 256
#define EVM_JD_MAX_CODE 65536

struct jd_entry {
	size_t len;
	uint8_t *code;	  /* copy of the code, len bytes */
	uint8_t *bitmap;  /* len / 8 + 1 bytes */
};

static struct jd_entry jd_slots[EVM_JD_SLOTS];
static pthread_mutex_t jd_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t jd_hits, jd_misses;

static size_t bitmap_size(size_t code_len)
{
	return code_len / 8 + 1;
}

void evm_jumpdest_scan(uint8_t *bitmap, const uint8_t *code, size_t code_len)
{
	memset(bitmap, 0, bitmap_size(code_len));
	for (size_t i = 0; i < code_len; i++) {
		uint8_t op = code[i];
		if (op == OP_JUMPDEST)
			bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
		else if (op >= OP_PUSH1 && op <= OP_PUSH32)
			i += (size_t)(op - OP_PUSH1 + 1);
	}
}

/* FNV-1a over the length and up to 16 eight-byte samples spread over the code. */
static size_t slot_of(const uint8_t *code, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)len;
	h *= 0x100000001b3ull;
	size_t step = len / 16;
	for (size_t k = 0; k < 16; k++) {
		size_t at = k * step;
		if (at + 8 > len)
			at = len - 8;
		uint64_t w;
		memcpy(&w, code + at, 8);
		h ^= w;
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 32)) % EVM_JD_SLOTS;
}

static bool lookup(uint8_t *bitmap, size_t slot, const uint8_t *code, size_t len)
{
	bool hit = false;
	pthread_mutex_lock(&jd_lock);
	struct jd_entry *e = &jd_slots[slot];
	if (e->code && e->len == len && memcmp(e->code, code, len) == 0) {
		memcpy(bitmap, e->bitmap, bitmap_size(len));
		hit = true;
		jd_hits++;
	} else {
		jd_misses++;
	}
	pthread_mutex_unlock(&jd_lock);
	return hit;
}

/* Best effort: without memory the cache just stays as it was. */
static void insert(size_t slot, const uint8_t *code, size_t len, const uint8_t *bitmap)
{
	uint8_t *c = phr_malloc(len);
	uint8_t *b = phr_malloc(bitmap_size(len));
	if (!c || !b) {
		phr_free(c);
		phr_free(b);
		return;
	}
	memcpy(c, code, len);
	memcpy(b, bitmap, bitmap_size(len));
	pthread_mutex_lock(&jd_lock);
	struct jd_entry *e = &jd_slots[slot];
	uint8_t *old_c = e->code, *old_b = e->bitmap;
	e->code = c;
	e->bitmap = b;
	e->len = len;
	pthread_mutex_unlock(&jd_lock);
	phr_free(old_c);
	phr_free(old_b);
}

uint8_t *evm_jumpdests_get(const uint8_t *code, size_t code_len)
{
	uint8_t *bitmap = phr_malloc(bitmap_size(code_len));
	if (!bitmap)
		return NULL;
	if (code_len < EVM_JD_MIN_CODE || code_len > EVM_JD_MAX_CODE) {
		evm_jumpdest_scan(bitmap, code, code_len);
		return bitmap;
	}
	size_t slot = slot_of(code, code_len);
	if (!lookup(bitmap, slot, code, code_len)) {
		evm_jumpdest_scan(bitmap, code, code_len);
		insert(slot, code, code_len, bitmap);
	}
	return bitmap;
}

void evm_jumpdest_cache_stats(uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&jd_lock);
	*hits = jd_hits;
	*misses = jd_misses;
	pthread_mutex_unlock(&jd_lock);
}

void evm_jumpdest_cache_clear(void)
{
	pthread_mutex_lock(&jd_lock);
	for (size_t i = 0; i < EVM_JD_SLOTS; i++) {
		phr_free(jd_slots[i].code);
		phr_free(jd_slots[i].bitmap);
		jd_slots[i] = (struct jd_entry){ 0 };
	}
	jd_hits = jd_misses = 0;
	pthread_mutex_unlock(&jd_lock);
}
