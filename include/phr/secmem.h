/**
 * @file secmem.h
 * @brief Short-lived secrets without a system call per allocation.
 *
 * sodium_malloc gives every secret its own mapping with guard pages, locked
 * and left out of core dumps; that costs an mmap, three mprotects and an mlock
 * to allocate and an munmap to free, and each mprotect/munmap of a page other
 * threads may have cached makes the kernel shoot down their TLB entries (an
 * IPI to the other cores). A node that allocates a record key and a stream
 * state per request spends a tenth of its time there.
 *
 * phr_secmem hands out slots of fixed size classes (64, 256, 1024 and 4096
 * bytes) carved from a few large regions. Each region is mapped once with a
 * PROT_NONE guard page on both sides, locked in memory (mlock, best effort as
 * in libsodium), excluded from core dumps (MADV_DONTDUMP) and never unmapped.
 * Taking and returning a slot is a short critical section on the class's free
 * list, with no system call. Every slot is wiped on release, so a slot handed
 * out is all zero bytes. Requests above 4096 bytes, or made when the pool has
 * reached its size limit, get a mapping of their own with guard pages, like
 * sodium_malloc.
 *
 * What changes from sodium_malloc: slots of one region are not separated by
 * guard pages, so an overflow past a slot reaches the next slot, not a fault
 * (AddressSanitizer builds poison every free slot and the unused tail of every
 * slot in use, so the tests catch such overflows and uses after free), and
 * there are no canaries. Use phr_secmem for per-request keys and cipher
 * states; keep long-lived keys (node key, keystore, identities) in
 * sodium_malloc memory.
 *
 * Thread safety: every function may be called from any thread at any time.
 */
#ifndef PHR_SECMEM_H
#define PHR_SECMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest request served from the pool; larger ones get their own mapping. */
#define PHR_SECMEM_SLOT_MAX 4096u

/**
 * Allocate @p n bytes of secret memory: locked (best effort), not dumped,
 * zero-filled, aligned to 16 bytes (pool slots to their size class).
 * @param[in] n  bytes wanted; 0 is served as 1.
 * @return the memory, to be released with phr_secmem_free() (never free() or
 *         sodium_free()), or NULL when memory is exhausted.
 * Threads: any; the most recently freed slot of a class is handed out next.
 */
void *phr_secmem_alloc(size_t n);

/**
 * Wipe and release memory from phr_secmem_alloc(). NULL is a no-op. A
 * pointer that phr_secmem_alloc() did not return, or one released twice
 * (detected when it is still free), aborts the process.
 * @param[in] p  the memory; its contents are zeroed before it is reused or
 *               unmapped.
 */
void phr_secmem_free(void *p);

/** Pool counters, for tests and diagnostics. */
struct phr_secmem_stats {
	size_t regions;       /**< pool regions mapped so far */
	size_t pool_bytes;    /**< bytes of slots in those regions */
	size_t slots_in_use;  /**< pool slots handed out and not yet freed */
	size_t big_in_use;    /**< own-mapping allocations not yet freed */
	size_t locked_bytes;  /**< bytes of regions that mlock accepted */
};

/**
 * Read the pool counters.
 * @param[out] out  the counters (a consistent-enough snapshot: each counter is
 *                  read under its own lock).
 */
void phr_secmem_stats_get(struct phr_secmem_stats *out);

/**
 * @return the usable size of the slot a request of @p n bytes gets: its size
 *         class, or 0 when it is served by a mapping of its own.
 */
size_t phr_secmem_class_size(size_t n);

#ifdef __cplusplus
}
#endif
#endif /* PHR_SECMEM_H */
