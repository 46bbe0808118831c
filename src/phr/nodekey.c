/*
 * Secrets at rest under DIR/node.key (XChaCha20-Poly1305): shared by the
 * API's TOTP seeds and the outbox's webhook secrets.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phr/nodekey.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

static int key_path(char *path, size_t cap, const char *datadir, const char *suffix)
{
	if (datadir == NULL)
		return PHR_ERR_INVALID;
	return (size_t)snprintf(path, cap, "%s/node.key%s", datadir, suffix) >= cap ? PHR_ERR_INVALID
										       : PHR_OK;
}

/* Reads DIR/node.key into @p key (sodium memory). */
static int key_read(uint8_t *key, const char *datadir)
{
	char path[1024];
	struct stat st;
	ssize_t got;
	int fd, rv = PHR_OK;

	if (key_path(path, sizeof(path), datadir, "") != PHR_OK)
		return PHR_ERR_INVALID;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? PHR_ERR_NOT_FOUND : PHR_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != PHR_NODEKEY_BYTES ||
	    (st.st_mode & 077) != 0)
		rv = PHR_ERR_CORRUPT;
	if (rv == PHR_OK) {
		got = read(fd, key, PHR_NODEKEY_BYTES);
		if (got != (ssize_t)PHR_NODEKEY_BYTES)
			rv = PHR_ERR_IO;
	}
	close(fd);
	if (rv == PHR_ERR_CORRUPT)
		phr_log_error("nodekey", "%s/node.key must be a %u-byte file with mode 0600", datadir,
			      (unsigned)PHR_NODEKEY_BYTES);
	return rv;
}

/* Creates DIR/node.key unless it exists: a complete temporary file linked to
 * the name, so concurrent creators (the node and a CLI on the same directory)
 * agree on the first one. */
static int key_create(const char *datadir)
{
	char path[1024], tmp[1100], suffix[48];
	uint8_t *key = sodium_malloc(PHR_NODEKEY_BYTES);
	ssize_t put;
	int fd, rv = PHR_OK;

	if (key == NULL)
		return PHR_ERR_NOMEM;
	snprintf(suffix, sizeof(suffix), ".%ld.%08x", (long)getpid(), (unsigned)randombytes_random());
	if (key_path(path, sizeof(path), datadir, "") != PHR_OK ||
	    key_path(tmp, sizeof(tmp), datadir, suffix) != PHR_OK) {
		sodium_free(key);
		return PHR_ERR_INVALID;
	}
	randombytes_buf(key, PHR_NODEKEY_BYTES);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		sodium_free(key);
		return PHR_ERR_IO;
	}
	put = write(fd, key, PHR_NODEKEY_BYTES);
	if (put != (ssize_t)PHR_NODEKEY_BYTES || fsync(fd) != 0)
		rv = PHR_ERR_IO;
	close(fd);
	sodium_free(key);
	if (rv == PHR_OK && link(tmp, path) != 0 && errno != EEXIST)
		rv = PHR_ERR_IO;
	unlink(tmp);
	if (rv == PHR_OK)
		phr_log_info("nodekey", "created %s/node.key", datadir);
	return rv;
}

/* Reads DIR/node.key, creating it first when it does not exist. */
static int key_load(uint8_t *key, const char *datadir)
{
	int rv = key_read(key, datadir);

	if (rv == PHR_ERR_NOT_FOUND && (rv = key_create(datadir)) == PHR_OK)
		rv = key_read(key, datadir);
	return rv;
}

int phr_nodekey_ensure(const char *datadir)
{
	uint8_t *key;
	int rv;

	if (datadir == NULL)
		return PHR_ERR_INVALID;
	if ((key = sodium_malloc(PHR_NODEKEY_BYTES)) == NULL)
		return PHR_ERR_NOMEM;
	rv = key_load(key, datadir);
	sodium_free(key);
	return rv;
}

int phr_nodekey_seal(uint8_t *sealed, size_t sealed_cap, const char *datadir, const uint8_t *plain,
		     size_t plain_len, const uint8_t *ad, size_t ad_len)
{
	uint8_t *key;
	int rv;

	if (sealed == NULL || datadir == NULL || (plain == NULL && plain_len > 0) ||
	    (ad == NULL && ad_len > 0) || plain_len > SIZE_MAX - PHR_NODEKEY_OVERHEAD ||
	    sealed_cap < plain_len + PHR_NODEKEY_OVERHEAD)
		return PHR_ERR_INVALID;
	if ((key = sodium_malloc(PHR_NODEKEY_BYTES)) == NULL)
		return PHR_ERR_NOMEM;
	rv = key_load(key, datadir);
	if (rv == PHR_OK) {
		randombytes_buf(sealed, NONCE_BYTES);
		if (crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + NONCE_BYTES, NULL, plain,
							       plain_len, ad, ad_len, NULL, sealed,
							       key) != 0)
			rv = PHR_ERR_CRYPTO;
	}
	sodium_free(key);
	return rv;
}

int phr_nodekey_open(uint8_t *plain, size_t plain_cap, const char *datadir, const uint8_t *sealed,
		     size_t sealed_len, const uint8_t *ad, size_t ad_len)
{
	uint8_t *key;
	int rv;

	if (plain == NULL || datadir == NULL || sealed == NULL || (ad == NULL && ad_len > 0) ||
	    sealed_len < PHR_NODEKEY_OVERHEAD || plain_cap < sealed_len - PHR_NODEKEY_OVERHEAD)
		return PHR_ERR_INVALID;
	if ((key = sodium_malloc(PHR_NODEKEY_BYTES)) == NULL)
		return PHR_ERR_NOMEM;
	rv = key_read(key, datadir);
	if (rv == PHR_OK &&
	    crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, sealed + NONCE_BYTES,
						       sealed_len - NONCE_BYTES, ad, ad_len, sealed,
						       key) != 0) {
		sodium_memzero(plain, sealed_len - PHR_NODEKEY_OVERHEAD);
		rv = PHR_ERR_TAMPERED;
	}
	sodium_free(key);
	return rv;
}
