/*
 * Paper keys (`phr account paper-key`, cmd_paperkey.c): a 32-byte account key
 * as a 24-word BIP-39 mnemonic of its bytes (the key is the entropy), or
 * split t-of-n (Shamir over GF(256), crypto.h) with each share written as
 *   phr-share T-of-N #X id=IIIIIIII: <24 BIP-39 words of the share's 32 bytes>
 * where id is the first 4 bytes (hex) of keccak256(address of the key): the
 * combined key must reproduce it. Format in docs/recovery.md.
 */
#ifndef PHR_CLI_PAPERKEY_H
#define PHR_CLI_PAPERKEY_H

#include <stddef.h>
#include <stdint.h>

/** Longest mnemonic of 32 bytes: 24 words of at most 8 letters and spaces. */
#define PHR_PAPERKEY_WORDS_MAX (24 * 9 + 1)
/** Longest share line. */
#define PHR_PAPERKEY_LINE_MAX (PHR_PAPERKEY_WORDS_MAX + 64)

/** BIP-39 mnemonic (24 words, English) of 32 bytes of entropy. @return 0 or -1. */
int phr_cli_bip39_encode(char out[PHR_PAPERKEY_WORDS_MAX], const uint8_t ent[32]);

/**
 * Decodes a 24-word mnemonic (words separated by blanks, lower case).
 * @return 0; -1 unknown word or not 24 words; -2 checksum mismatch.
 */
int phr_cli_bip39_decode(uint8_t ent[32], const char *words);

/** Writes the share lines of @p seckey (n lines, each ending in '\n') to @p out. @return 0 or -1. */
int phr_cli_paperkey_split(char *out, size_t cap, const uint8_t seckey[32], unsigned t, unsigned n);

/**
 * Combines share lines (and ignores blank lines) into the key.
 * @return 0; -1 malformed line; -2 a word checksum; -3 fewer than T shares,
 *         mixed keys or duplicate indices; -4 the combined key does not match id.
 */
int phr_cli_paperkey_combine(uint8_t seckey[32], const char *text);

#endif
