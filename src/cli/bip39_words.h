/* The BIP-39 English wordlist (bip39_words.c, generated), sorted. */
#ifndef PHR_CLI_BIP39_WORDS_H
#define PHR_CLI_BIP39_WORDS_H

extern const char *const phr_cli_bip39_words[2048];

#endif
