/* Helpers shared by the store tests. */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a fresh temporary directory (heap string, phr_free) or aborts. */
char *st_tmpdir(void);
/* Removes a directory tree (best effort). */
void st_rmtree(const char *dir);
/* Writes "pattern" bytes: byte i of the file is i % 251. */
void st_pattern(uint8_t *out, size_t n, uint64_t offset);
/* Runs argv (argv[0] is a path) with stdout captured into out (NUL-terminated, up to
 * cap); stdin from /dev/null. Returns the exit status, or -1. */
int st_run(char *out, size_t cap, const char *const argv[]);
/* The phr executable (from $PHR_BIN). */
const char *st_phr(void);

#endif
