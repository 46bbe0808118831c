/*
 * Secret memory pool (secmem.h): size-class slots carved from large guarded,
 * locked, undumped regions that are mapped once and never unmapped, so a
 * per-request key costs a free-list pop and push instead of sodium_malloc's
 * mmap + 3 mprotect + mlock and munmap (each mprotect/munmap a TLB shootdown
 * on the other cores).
 *
 * Layout: regions[] is an append-only table (published with a release store
 * of nregions, read lock-free by phr_secmem_free to find a pointer's region);
 * each class keeps a stack of free slot pointers and each region a byte per
 * slot saying whether it is in use (double-free check), both under the class
 * mutex. The free stack lives in ordinary memory, so secret slots hold nothing
 * but secrets.
 */
#include "phr/secmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_ASAN 1
#endif
#endif
#ifdef SECMEM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define NCLASSES 4
#define MAX_REGIONS 64
/* the pool stops growing here (half the usual 8 MiB RLIMIT_MEMLOCK); later
 * requests get mappings of their own */
#define POOL_MAX_BYTES ((size_t)4 << 20)
#define BIG_MAGIC 0x5048524d454d4247ull /* "PHRMEMBG" */

static const size_t class_size[NCLASSES] = { 64, 256, 1024, 4096 };
/* bytes of slots per region of each class */
static const size_t class_region[NCLASSES] = { 64 << 10, 64 << 10, 64 << 10, 128 << 10 };

_Static_assert(PHR_SECMEM_SLOT_MAX == 4096, "largest class");

struct region {
	uint8_t *slots;  /* first slot; a guard page precedes it and follows the last */
	size_t nslots;
	unsigned cls;
	uint8_t *in_use; /* one byte per slot, under the class lock */
};

struct sclass {
	pthread_mutex_t lock;
	void **free;     /* stack of free slots */
	size_t nfree, cap; /* cap: slots of the class in all its regions */
	size_t in_use;
};

/* header in front of an allocation with its own mapping */
struct big {
	uint64_t magic;
	void *map;
	size_t map_len;
	size_t pad; /* keeps the header 32 bytes: the user pointer stays 16-aligned */
};

static struct region regions[MAX_REGIONS];
static _Atomic size_t nregions;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t pool_bytes, locked_bytes; /* under grow_lock */
static _Atomic size_t big_in_use;
static struct sclass classes[NCLASSES] = {
	{ .lock = PTHREAD_MUTEX_INITIALIZER },
	{ .lock = PTHREAD_MUTEX_INITIALIZER },
	{ .lock = PTHREAD_MUTEX_INITIALIZER },
	{ .lock = PTHREAD_MUTEX_INITIALIZER },
};

static size_t page_size(void)
{
	static _Atomic size_t pg;
	size_t p = atomic_load_explicit(&pg, memory_order_relaxed);

	if (p == 0) {
		long v = sysconf(_SC_PAGESIZE);
		p = v > 0 ? (size_t)v : 4096;
		atomic_store_explicit(&pg, p, memory_order_relaxed);
	}
	return p;
}

static int class_of(size_t n)
{
	for (int c = 0; c < NCLASSES; c++)
		if (n <= class_size[c])
			return c;
	return -1;
}

size_t phr_secmem_class_size(size_t n)
{
	int c = class_of(n == 0 ? 1 : n);
	return c < 0 ? 0 : class_size[c];
}

/*
 * Maps [guard | len bytes | guard], locks and undumps the middle. Returns the
 * middle or NULL; *locked says whether mlock took it (best effort, as
 * sodium_malloc: a low RLIMIT_MEMLOCK must not stop the node).
 */
static uint8_t *map_guarded(size_t len, bool *locked)
{
	size_t pg = page_size();
	uint8_t *m = mmap(NULL, len + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m + pg, len, PROT_READ | PROT_WRITE) != 0) {
		munmap(m, len + 2 * pg);
		return NULL;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(m + pg, len, MADV_DONTDUMP);
#endif
	*locked = mlock(m + pg, len) == 0;
	return m + pg;
}

static void unmap_guarded(uint8_t *p, size_t len)
{
	size_t pg = page_size();

	munlock(p, len);
	munmap(p - pg, len + 2 * pg);
}

/* Adds a region to class c and pushes its slots; called with c's lock held.
 * Returns false when the pool is at its limit or memory is exhausted. */
static bool class_grow(unsigned c)
{
	struct sclass *k = &classes[c];
	size_t len = class_region[c], n = len / class_size[c], idx;
	uint8_t *slots, *in_use;
	void **stack;
	bool locked = false, ok = false;

	pthread_mutex_lock(&grow_lock);
	idx = atomic_load_explicit(&nregions, memory_order_relaxed);
	if (idx >= MAX_REGIONS || pool_bytes + len > POOL_MAX_BYTES)
		goto out;
	/* room for every slot of the class: all may be free at once */
	stack = realloc(k->free, (k->cap + n) * sizeof(*stack));
	if (stack == NULL)
		goto out;
	k->free = stack;
	k->cap += n;
	if ((in_use = calloc(n, 1)) == NULL)
		goto out;
	if ((slots = map_guarded(len, &locked)) == NULL) {
		free(in_use);
		goto out;
	}
	POISON(slots, len);
	regions[idx] = (struct region){ .slots = slots, .nslots = n, .cls = c, .in_use = in_use };
	atomic_store_explicit(&nregions, idx + 1, memory_order_release);
	pool_bytes += len;
	if (locked)
		locked_bytes += len;
	/* pushed so that the lowest address is handed out first */
	for (size_t i = n; i-- > 0;)
		k->free[k->nfree++] = slots + i * class_size[c];
	ok = true;
out:
	pthread_mutex_unlock(&grow_lock);
	return ok;
}

static const struct region *region_of(const void *p)
{
	size_t n = atomic_load_explicit(&nregions, memory_order_acquire);
	uintptr_t a = (uintptr_t)p;

	for (size_t i = 0; i < n; i++) {
		uintptr_t s = (uintptr_t)regions[i].slots;
		if (a >= s && a - s < class_region[regions[i].cls])
			return &regions[i];
	}
	return NULL;
}

static void *big_alloc(size_t n)
{
	size_t pg = page_size(), r = (n + 15) & ~(size_t)15, len;
	struct big *h;
	uint8_t *data;
	bool locked;

	if (n > SIZE_MAX / 2)
		return NULL;
	len = (r + sizeof(*h) + pg - 1) / pg * pg;
	if ((data = map_guarded(len, &locked)) == NULL)
		return NULL;
	/* the user bytes end at the rear guard page, as in sodium_malloc */
	h = (struct big *)(data + len - r) - 1;
	*h = (struct big){ .magic = BIG_MAGIC, .map = data, .map_len = len };
	atomic_fetch_add_explicit(&big_in_use, 1, memory_order_relaxed);
	return h + 1;
}

static void big_free(void *p)
{
	struct big *h = (struct big *)p - 1;
	uint8_t *data;
	size_t len;

	if (((uintptr_t)p & 15) != 0 || h->magic != BIG_MAGIC) {
		fputs("phr_secmem_free: pointer not from phr_secmem_alloc\n", stderr);
		abort();
	}
	data = h->map;
	len = h->map_len;
	explicit_bzero(data, len);
	atomic_fetch_sub_explicit(&big_in_use, 1, memory_order_relaxed);
	unmap_guarded(data, len);
}

void *phr_secmem_alloc(size_t n)
{
	int c;
	struct sclass *k;
	uint8_t *p = NULL;

	if (n == 0)
		n = 1;
	if ((c = class_of(n)) < 0)
		return big_alloc(n);
	k = &classes[c];
	pthread_mutex_lock(&k->lock);
	if (k->nfree > 0 || class_grow((unsigned)c)) {
		const struct region *r;

		p = k->free[--k->nfree];
		r = region_of(p);
		r->in_use[(size_t)(p - r->slots) / class_size[c]] = 1;
		k->in_use++;
	}
	pthread_mutex_unlock(&k->lock);
	if (p == NULL)
		return big_alloc(n); /* pool at its limit: a mapping of its own */
	UNPOISON(p, n);
	return p;
}

void phr_secmem_free(void *p)
{
	const struct region *r;
	struct sclass *k;
	size_t off, sz, i;
	bool was_free;

	if (p == NULL)
		return;
	if ((r = region_of(p)) == NULL) {
		big_free(p);
		return;
	}
	sz = class_size[r->cls];
	off = (size_t)((uint8_t *)p - r->slots);
	if (off % sz != 0) {
		fputs("phr_secmem_free: pointer inside a slot\n", stderr);
		abort();
	}
	i = off / sz;
	k = &classes[r->cls];
	/* wiped before it is pushed: no other thread can get it back unwiped */
	UNPOISON(p, sz);
	explicit_bzero(p, sz);
	POISON(p, sz);
	pthread_mutex_lock(&k->lock);
	was_free = r->in_use[i] == 0;
	if (!was_free) {
		r->in_use[i] = 0;
		k->free[k->nfree++] = p;
		k->in_use--;
	}
	pthread_mutex_unlock(&k->lock);
	if (was_free) {
		fputs("phr_secmem_free: slot freed twice\n", stderr);
		abort();
	}
}

void phr_secmem_stats_get(struct phr_secmem_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&grow_lock);
	out->regions = atomic_load_explicit(&nregions, memory_order_relaxed);
	out->pool_bytes = pool_bytes;
	out->locked_bytes = locked_bytes;
	pthread_mutex_unlock(&grow_lock);
	for (int c = 0; c < NCLASSES; c++) {
		pthread_mutex_lock(&classes[c].lock);
		out->slots_in_use += classes[c].in_use;
		pthread_mutex_unlock(&classes[c].lock);
	}
	out->big_in_use = atomic_load_explicit(&big_in_use, memory_order_relaxed);
}
