/* Internals shared by the files of module `fhir`. */
#ifndef PHR_FHIR_INT_H
#define PHR_FHIR_INT_H

#include <stddef.h>

/** One CVX code of the official value set (cvx_table.c, generated). */
struct phr_fhir_cvx_entry {
	const char *code;
	const char *display;
};

/** Sorted by code in byte order. */
extern const struct phr_fhir_cvx_entry phr_fhir_cvx_table[];
extern const size_t phr_fhir_cvx_table_len;

#endif
