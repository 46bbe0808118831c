/*
 * Allocation wrappers with a failure hook so tests can fail the N-th
 * allocation and check that every error path cleans up (curl's torture mode).
 */
#include <phr/core.h>

#include <stdatomic.h>

static _Atomic long fail_at;   /* 0: never fail; otherwise countdown */
static _Atomic long alloc_count;

static bool should_fail(void)
{
	atomic_fetch_add(&alloc_count, 1);
	long n = atomic_load(&fail_at);
	if (n <= 0)
		return false;
	if (atomic_fetch_sub(&fail_at, 1) == 1)
		return true;
	return false;
}

void phr_alloc_fail_at(long n)
{
	atomic_store(&fail_at, n > 0 ? n : 0);
}

long phr_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

void *phr_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *phr_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *phr_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void phr_free(void *p)
{
	free(p);
}

char *phr_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = phr_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
