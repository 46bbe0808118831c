/*
 * Encrypted objects: a record's plaintext goes through the record
 * secretstream (crypto.h) and the ciphertext is imported as a UnixFS file, so
 * the CID names ciphertext only. Key capsules (the data key sealed to one
 * reader) are small objects of their own. Everything streams: memory is a few
 * chunks whatever the size.
 */
#include <string.h>

#include <sodium.h>

#include "phr/core.h"
#include "phr/crypto.h"
#include "phr/store.h"
#include "store_int.h"

#define ENC_CHUNK PHR_CRYPTO_CHUNK_DEFAULT

_Static_assert(PHR_CRYPTO_KEY_BYTES == 32, "store.h takes 32-byte keys");

/* Reads a plaintext chunk into @p b; *@p held: how much of @p b ever held plaintext (all of
 * it when the read failed part-way). */
static long read_chunk(int fd, uint8_t *b, size_t *held)
{
	size_t before = *held;
	*held = ENC_CHUNK;
	long n = phr_store_read_full(fd, b, ENC_CHUNK);
	if (n >= 0)
		*held = before > (size_t)n ? before : (size_t)n;
	return n;
}

int phr_store_add_encrypted_fd(struct phr_store *st, struct phr_cid *root, int fd,
			       const uint8_t key[32], const struct phr_import_opts *opts)
{
	struct phr_crypto_stream *cs = NULL;
	struct phr_importer *imp = NULL;
	uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES];
	/* plaintext chunks: the current one and the one read ahead; wiped up to what they
	 * ever held (a record of a few KB does not wipe 128 KiB) */
	uint8_t *buf[2] = { phr_malloc(ENC_CHUNK), phr_malloc(ENC_CHUNK) };
	size_t held[2] = { 0, 0 };
	unsigned c = 0;
	uint8_t *out = phr_malloc(ENC_CHUNK + PHR_CRYPTO_STREAM_ABYTES);
	long ncur, nnext;
	int rc = PHR_ERR_NOMEM;

	if (!buf[0] || !buf[1] || !out)
		goto out;
	if ((rc = phr_importer_new(&imp, st, opts)) != PHR_OK)
		goto out;
	if ((rc = phr_crypto_stream_push_init(&cs, header, key, ENC_CHUNK)) != PHR_OK)
		goto out;
	if ((rc = phr_importer_write(imp, header, sizeof(header))) != PHR_OK)
		goto out;
	/* read one chunk ahead: the last chunk must be pushed as FINAL */
	ncur = read_chunk(fd, buf[c], &held[c]);
	for (;;) {
		if (ncur < 0) {
			rc = PHR_ERR_IO;
			goto out;
		}
		nnext = (size_t)ncur == ENC_CHUNK ? read_chunk(fd, buf[c ^ 1], &held[c ^ 1]) : 0;
		if (nnext < 0) {
			rc = PHR_ERR_IO;
			goto out;
		}
		if (nnext == 0)
			rc = phr_crypto_stream_push_final(cs, out, buf[c], (size_t)ncur);
		else
			rc = phr_crypto_stream_push(cs, out, buf[c], (size_t)ncur);
		if (rc == PHR_OK)
			rc = phr_importer_write(imp, out, (size_t)ncur + PHR_CRYPTO_STREAM_ABYTES);
		if (rc != PHR_OK || nnext == 0)
			break;
		c ^= 1;
		ncur = nnext;
	}
	if (rc == PHR_OK)
		rc = phr_importer_finish(imp, root, NULL);
out:
	phr_crypto_stream_free(cs);
	phr_importer_free(imp);
	for (unsigned i = 0; i < 2; i++) {
		if (buf[i])
			sodium_memzero(buf[i], held[i]);
		phr_free(buf[i]);
	}
	phr_free(out);
	return rc;
}

struct decrypt {
	const uint8_t *key;
	struct phr_crypto_stream *cs;
	uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES];
	size_t hlen;
	uint8_t *buf, *plain;
	size_t fill, chunk_len;
	bool final;
	int fd;
};

static int dec_chunk(struct decrypt *d)
{
	size_t n;
	int rc = phr_crypto_stream_pull(d->cs, d->plain, &n, &d->final, d->buf, d->fill);
	d->fill = 0;
	if (rc != PHR_OK)
		return PHR_ERR_TAMPERED;
	return phr_store_write_all(d->fd, d->plain, n);
}

static int dec_feed(void *ctx, const uint8_t *data, size_t len)
{
	struct decrypt *d = ctx;
	int rc;
	while (len > 0) {
		if (d->hlen < sizeof(d->header)) {
			size_t take = sizeof(d->header) - d->hlen;
			if (take > len)
				take = len;
			memcpy(d->header + d->hlen, data, take);
			d->hlen += take;
			data += take;
			len -= take;
			if (d->hlen == sizeof(d->header)) {
				uint32_t chunk;
				rc = phr_crypto_stream_pull_init(&d->cs, &chunk, d->header, d->key);
				if (rc != PHR_OK)
					return rc == PHR_ERR_NOMEM ? rc : PHR_ERR_TAMPERED;
				d->chunk_len = (size_t)chunk + PHR_CRYPTO_STREAM_ABYTES;
				d->buf = phr_malloc(d->chunk_len);
				d->plain = phr_malloc(chunk);
				if (!d->buf || !d->plain)
					return PHR_ERR_NOMEM;
			}
			continue;
		}
		if (d->final)
			return PHR_ERR_TAMPERED; /* bytes after the FINAL chunk */
		size_t take = d->chunk_len - d->fill;
		if (take > len)
			take = len;
		memcpy(d->buf + d->fill, data, take);
		d->fill += take;
		data += take;
		len -= take;
		if (d->fill == d->chunk_len && (rc = dec_chunk(d)) != PHR_OK)
			return rc;
	}
	return PHR_OK;
}

int phr_store_cat_decrypted_fd(struct phr_store *st, const struct phr_cid *root, int fd,
			       const uint8_t key[32])
{
	struct decrypt d = { .key = key, .fd = fd };
	int rc = phr_store_cat(st, root, dec_feed, &d);
	if (rc == PHR_OK && d.fill > 0)
		rc = dec_chunk(&d);
	if (rc == PHR_OK && !d.final)
		rc = PHR_ERR_TAMPERED; /* truncated */
	phr_crypto_stream_free(d.cs);
	if (d.plain)
		sodium_memzero(d.plain, d.chunk_len - PHR_CRYPTO_STREAM_ABYTES);
	phr_free(d.plain);
	phr_free(d.buf);
	return rc;
}

int phr_store_add_capsule(struct phr_store *st, struct phr_cid *cid, const uint8_t recipient_pk[32],
			  const uint8_t key[32])
{
	uint8_t capsule[PHR_CRYPTO_CAPSULE_BYTES];
	int rc = phr_crypto_key_wrap(capsule, recipient_pk, key);
	if (rc == PHR_OK)
		rc = phr_store_add_bytes(st, cid, capsule, sizeof(capsule), NULL);
	return rc;
}

int phr_store_open_capsule(struct phr_store *st, uint8_t key[32], const struct phr_cid *cid,
			   const uint8_t pk[32], const uint8_t sk[32])
{
	struct phr_buf b;
	int rc;
	phr_buf_init(&b, PHR_CRYPTO_CAPSULE_BYTES + 1);
	rc = phr_store_get(st, &b, cid);
	if (rc == PHR_OK && (cid->codec != PHR_CODEC_RAW || b.len != PHR_CRYPTO_CAPSULE_BYTES))
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK)
		rc = phr_crypto_key_unwrap(key, b.data, pk, sk);
	phr_buf_release(&b);
	return rc;
}
