/* Temporary directories of the FHIR index tests. */
#ifndef PHR_TESTS_FHIR_TEST_DIR_H
#define PHR_TESTS_FHIR_TEST_DIR_H

/**
 * Removes @p dir and everything under it (an index's fhir.db and its log
 * and shared-memory files), without following symbolic links.
 * @return 0, or -1 when something could not be removed
 */
int fhir_test_dir_remove(const char *dir);

#endif
