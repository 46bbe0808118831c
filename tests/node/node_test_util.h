/* Helpers shared by the node tests. */
#ifndef NODE_TEST_UTIL_H
#define NODE_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_TEST_MNEMONIC "test test test test test test test test test test test junk"

/** mkdtemp under $TMPDIR; returns a heap path. */
char *node_test_tmpdir(const char *tag);
/** rm -rf of a test directory. */
void node_test_rmrf(const char *path);
/** Counts files under @p dir whose bytes contain @p needle; adds the file count to *files. */
size_t node_test_scan(const char *dir, const uint8_t *needle, size_t n, size_t *files);

#endif
