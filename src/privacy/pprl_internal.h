/* Internal structures of the PPRL code (schema.c, clk.c). */
#ifndef PHR_PRIVACY_PPRL_INTERNAL_H
#define PHR_PRIVACY_PPRL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pprl_hash { PPRL_HASH_BLAKE, PPRL_HASH_DOUBLE };
enum pprl_case { PPRL_CASE_MIXED, PPRL_CASE_LOWER, PPRL_CASE_UPPER };

struct pprl_feature {
	bool ignored;
	unsigned n;           /* n-gram length */
	bool positional;
	bool per_feature;     /* bitsPerFeature (true) or bitsPerToken */
	uint32_t bits;        /* k per token, or bits per feature */
	enum pprl_hash hash;
	bool prevent_singularity;
	enum pprl_case cases;
	size_t min_len, max_len; /* in characters; max_len 0 = none */
	char *missing;        /* missingValue sentinel or NULL */
	char *replace;        /* its replacement */
};

struct phr_pprl_schema {
	uint32_t l;           /* output length in bits */
	uint32_t folds;
	uint32_t key_size;
	uint8_t *salt;
	size_t salt_len;      /* salt == NULL: no salt */
	uint8_t *info;
	size_t info_len;
	size_t nfeatures;
	struct pprl_feature *features;
};

struct phr_pprl_keys {
	size_t nfeatures;
	uint32_t key_size;
	uint8_t bytes[];      /* nfeatures * 2 * key_size */
};

#endif
