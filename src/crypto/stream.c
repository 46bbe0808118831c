/*
 * Record encryption: a phr header, then libsodium's XChaCha20-Poly1305
 * secretstream in fixed-size chunks, the last one tagged FINAL. Constant
 * memory for any record size; every chunk is authenticated before any of its
 * plaintext is released, and a stream that ends without FINAL is rejected.
 */
#include "crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phr/secmem.h"

#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

/* bytes of the phr part of the header, also the associated data of each chunk */
#define PHR_AD_BYTES 12
#define RECORD_VERSION 1

_Static_assert(PHR_AD_BYTES + SS_HEADER == PHR_CRYPTO_STREAM_HEADER_BYTES, "header size");
_Static_assert(SS_ABYTES == PHR_CRYPTO_STREAM_ABYTES, "chunk overhead");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == PHR_CRYPTO_KEY_BYTES, "key size");
_Static_assert(crypto_box_SEALBYTES + PHR_CRYPTO_KEY_BYTES == PHR_CRYPTO_CAPSULE_BYTES, "capsule");

enum stream_state { ST_OPEN, ST_DONE, ST_FAILED };

struct phr_crypto_stream {
	crypto_secretstream_xchacha20poly1305_state ss;
	uint8_t ad[PHR_AD_BYTES];
	uint32_t chunk;
	bool push;
	enum stream_state state;
};

uint8_t *phr_crypto_key_new(void)
{
	uint8_t *k;

	if (phr_crypto_init() != PHR_OK)
		return NULL;
	/* a per-request secret: a pool slot, no mmap/mprotect/munmap (phr/secmem.h) */
	k = phr_secmem_alloc(PHR_CRYPTO_KEY_BYTES);
	if (k)
		crypto_secretstream_xchacha20poly1305_keygen(k);
	return k;
}

void phr_crypto_key_free(uint8_t *key)
{
	phr_secmem_free(key); /* wipes; NULL is a no-op */
}

static struct phr_crypto_stream *stream_alloc(void)
{
	struct phr_crypto_stream *st;

	if (phr_crypto_init() != PHR_OK)
		return NULL;
	return phr_secmem_alloc(sizeof(*st)); /* zero-filled */
}

void phr_crypto_stream_free(struct phr_crypto_stream *st)
{
	phr_secmem_free(st); /* wipes; NULL is a no-op */
}

int phr_crypto_stream_push_init(struct phr_crypto_stream **out,
				uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES],
				const uint8_t key[PHR_CRYPTO_KEY_BYTES], uint32_t chunk_size)
{
	struct phr_crypto_stream *st;

	if (chunk_size == 0)
		chunk_size = PHR_CRYPTO_CHUNK_DEFAULT;
	if (chunk_size > PHR_CRYPTO_CHUNK_MAX)
		return PHR_ERR_INVALID;
	st = stream_alloc();
	if (!st)
		return PHR_ERR_NOMEM;
	st->ad[0] = 'P';
	st->ad[1] = 'H';
	st->ad[2] = 'R';
	st->ad[3] = 'E';
	st->ad[4] = RECORD_VERSION;
	st->ad[8] = (uint8_t)(chunk_size >> 24);
	st->ad[9] = (uint8_t)(chunk_size >> 16);
	st->ad[10] = (uint8_t)(chunk_size >> 8);
	st->ad[11] = (uint8_t)chunk_size;
	st->chunk = chunk_size;
	st->push = true;
	if (crypto_secretstream_xchacha20poly1305_init_push(&st->ss, header + PHR_AD_BYTES, key) != 0) {
		phr_crypto_stream_free(st);
		return PHR_ERR_CRYPTO;
	}
	memcpy(header, st->ad, PHR_AD_BYTES);
	*out = st;
	return PHR_OK;
}

static int stream_push_tag(struct phr_crypto_stream *st, uint8_t *out, const uint8_t *in, size_t n,
			   unsigned char tag)
{
	if (!st->push || st->state != ST_OPEN)
		return PHR_ERR_INVALID;
	if (crypto_secretstream_xchacha20poly1305_push(&st->ss, out, NULL, in, n, st->ad,
						       sizeof(st->ad), tag) != 0) {
		st->state = ST_FAILED;
		return PHR_ERR_CRYPTO;
	}
	if (tag == TAG_FINAL)
		st->state = ST_DONE;
	return PHR_OK;
}

int phr_crypto_stream_push(struct phr_crypto_stream *st, uint8_t *out, const uint8_t *in, size_t n)
{
	if (n != st->chunk)
		return PHR_ERR_INVALID;
	return stream_push_tag(st, out, in, n, TAG_MESSAGE);
}

int phr_crypto_stream_push_final(struct phr_crypto_stream *st, uint8_t *out, const uint8_t *in,
				 size_t n)
{
	if (n > st->chunk)
		return PHR_ERR_INVALID;
	return stream_push_tag(st, out, in, n, TAG_FINAL);
}

int phr_crypto_stream_pull_init(struct phr_crypto_stream **out, uint32_t *chunk_size,
				const uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES],
				const uint8_t key[PHR_CRYPTO_KEY_BYTES])
{
	struct phr_crypto_stream *st;
	uint32_t chunk;

	if (memcmp(header, "PHRE", 4) != 0)
		return PHR_ERR_PARSE;
	if (header[4] != RECORD_VERSION)
		return PHR_ERR_UNSUPPORTED;
	if (header[5] | header[6] | header[7])
		return PHR_ERR_PARSE;
	chunk = (uint32_t)header[8] << 24 | (uint32_t)header[9] << 16 | (uint32_t)header[10] << 8 |
		header[11];
	if (chunk == 0 || chunk > PHR_CRYPTO_CHUNK_MAX)
		return PHR_ERR_PARSE;
	st = stream_alloc();
	if (!st)
		return PHR_ERR_NOMEM;
	memcpy(st->ad, header, PHR_AD_BYTES);
	st->chunk = chunk;
	st->push = false;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st->ss, header + PHR_AD_BYTES, key) != 0) {
		phr_crypto_stream_free(st);
		return PHR_ERR_TAMPERED;
	}
	if (chunk_size)
		*chunk_size = chunk;
	*out = st;
	return PHR_OK;
}

int phr_crypto_stream_pull(struct phr_crypto_stream *st, uint8_t *out, size_t *out_len, bool *final,
			   const uint8_t *in, size_t n)
{
	unsigned char tag = 0;
	unsigned long long mlen = 0;

	if (st->push || st->state != ST_OPEN)
		return PHR_ERR_TAMPERED; /* data past FINAL, or after a forgery */
	if (n < SS_ABYTES || n > (size_t)st->chunk + SS_ABYTES)
		goto bad;
	/* libsodium checks the tag before it writes any plaintext */
	if (crypto_secretstream_xchacha20poly1305_pull(&st->ss, out, &mlen, &tag, in, n, st->ad,
						       sizeof(st->ad)) != 0)
		goto bad;
	if (tag == TAG_FINAL) {
		st->state = ST_DONE;
	} else if (tag != TAG_MESSAGE || mlen != st->chunk) {
		/* a short chunk must be the last; other tags are never written */
		sodium_memzero(out, (size_t)mlen);
		goto bad;
	}
	*out_len = (size_t)mlen;
	*final = tag == TAG_FINAL;
	return PHR_OK;
bad:
	st->state = ST_FAILED;
	return PHR_ERR_TAMPERED;
}

/* ------------------------------------------------------------------------- */
/* Whole records over FILE* and file descriptors                             */
/* ------------------------------------------------------------------------- */

/* A byte source/sink: either a FILE* or a file descriptor. */
struct io {
	FILE *f;
	int fd;
};

/* Reads up to n bytes, fewer only at end of input. -1 on an I/O error. */
static ssize_t io_read(struct io *io, uint8_t *buf, size_t n)
{
	size_t got = 0;

	if (io->f) {
		got = fread(buf, 1, n, io->f);
		return ferror(io->f) ? -1 : (ssize_t)got;
	}
	while (got < n) {
		ssize_t r = read(io->fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int io_write(struct io *io, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	if (io->f)
		return fwrite(buf, 1, n, io->f) == n ? PHR_OK : PHR_ERR_IO;
	while (done < n) {
		ssize_t w = write(io->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PHR_ERR_IO;
		done += (size_t)w;
	}
	return PHR_OK;
}

static int encrypt_io(struct io *out, struct io *in, const uint8_t *key, uint32_t chunk_size)
{
	uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES];
	struct phr_crypto_stream *st = NULL;
	uint8_t *plain = NULL, *cipher = NULL;
	size_t have;
	ssize_t r;
	int rc;

	rc = phr_crypto_stream_push_init(&st, header, key, chunk_size);
	if (rc != PHR_OK)
		return rc;
	chunk_size = st->chunk;
	plain = sodium_malloc(chunk_size);
	cipher = phr_malloc((size_t)chunk_size + SS_ABYTES);
	if (!plain || !cipher) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	rc = io_write(out, header, sizeof(header));
	if (rc != PHR_OK)
		goto out;
	r = io_read(in, plain, chunk_size);
	if (r < 0) {
		rc = PHR_ERR_IO;
		goto out;
	}
	have = (size_t)r;
	for (;;) {
		uint8_t next = 0;
		bool last = have < chunk_size;

		if (!last) {
			/* a one-byte look-ahead tells whether this full chunk is the last */
			r = io_read(in, &next, 1);
			if (r < 0) {
				rc = PHR_ERR_IO;
				goto out;
			}
			last = r == 0;
		}
		rc = last ? phr_crypto_stream_push_final(st, cipher, plain, have)
			  : phr_crypto_stream_push(st, cipher, plain, have);
		if (rc == PHR_OK)
			rc = io_write(out, cipher, have + SS_ABYTES);
		if (rc != PHR_OK || last)
			goto out;
		plain[0] = next;
		r = io_read(in, plain + 1, chunk_size - 1);
		if (r < 0) {
			rc = PHR_ERR_IO;
			goto out;
		}
		have = 1 + (size_t)r;
	}
out:
	if (plain)
		sodium_free(plain);
	phr_free(cipher);
	phr_crypto_stream_free(st);
	return rc;
}

static int decrypt_io(struct io *out, struct io *in, const uint8_t *key)
{
	uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES];
	struct phr_crypto_stream *st = NULL;
	uint8_t *plain = NULL, *cipher = NULL;
	uint32_t chunk;
	ssize_t r;
	int rc;

	r = io_read(in, header, sizeof(header));
	if (r < 0)
		return PHR_ERR_IO;
	if ((size_t)r < sizeof(header))
		return r >= 4 && memcmp(header, "PHRE", 4) != 0 ? PHR_ERR_PARSE : PHR_ERR_TAMPERED;
	rc = phr_crypto_stream_pull_init(&st, &chunk, header, key);
	if (rc != PHR_OK)
		return rc;
	plain = sodium_malloc(chunk);
	cipher = phr_malloc((size_t)chunk + SS_ABYTES);
	if (!plain || !cipher) {
		rc = PHR_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		size_t plen = 0;
		bool final = false;

		r = io_read(in, cipher, (size_t)chunk + SS_ABYTES);
		if (r < 0) {
			rc = PHR_ERR_IO;
			goto out;
		}
		/* r == 0 here means the stream ended without FINAL: truncated */
		rc = phr_crypto_stream_pull(st, plain, &plen, &final, cipher, (size_t)r);
		if (rc != PHR_OK)
			goto out;
		if (final) {
			uint8_t extra;
			r = io_read(in, &extra, 1);
			if (r != 0) {
				rc = r < 0 ? PHR_ERR_IO : PHR_ERR_TAMPERED;
				goto out;
			}
		}
		rc = io_write(out, plain, plen);
		if (rc != PHR_OK || final)
			goto out;
	}
out:
	if (plain)
		sodium_free(plain);
	phr_free(cipher);
	phr_crypto_stream_free(st);
	return rc;
}

int phr_crypto_encrypt_file(FILE *out, FILE *in, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
			    uint32_t chunk_size)
{
	struct io o = { out, -1 }, i = { in, -1 };
	int rc = encrypt_io(&o, &i, key, chunk_size);

	if (rc == PHR_OK && fflush(out) != 0)
		rc = PHR_ERR_IO;
	return rc;
}

int phr_crypto_decrypt_file(FILE *out, FILE *in, const uint8_t key[PHR_CRYPTO_KEY_BYTES])
{
	struct io o = { out, -1 }, i = { in, -1 };
	int rc = decrypt_io(&o, &i, key);

	if (rc == PHR_OK && fflush(out) != 0)
		rc = PHR_ERR_IO;
	return rc;
}

int phr_crypto_encrypt_fd(int out_fd, int in_fd, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
			  uint32_t chunk_size)
{
	struct io o = { NULL, out_fd }, i = { NULL, in_fd };

	return encrypt_io(&o, &i, key, chunk_size);
}

int phr_crypto_decrypt_fd(int out_fd, int in_fd, const uint8_t key[PHR_CRYPTO_KEY_BYTES])
{
	struct io o = { NULL, out_fd }, i = { NULL, in_fd };

	return decrypt_io(&o, &i, key);
}

int phr_crypto_decrypt_path(const char *out_path, const char *in_path,
			    const uint8_t key[PHR_CRYPTO_KEY_BYTES])
{
	struct phr_buf tmp;
	int in_fd, out_fd, rc;

	phr_buf_init(&tmp, 4096);
	if (phr_buf_appendf(&tmp, "%s.tmp.XXXXXX", out_path) != PHR_OK)
		return PHR_ERR_NOMEM;
	in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		rc = errno == ENOENT ? PHR_ERR_NOT_FOUND : PHR_ERR_IO;
		goto out_buf;
	}
	out_fd = mkstemp((char *)tmp.data); /* mode 0600 */
	if (out_fd < 0) {
		rc = PHR_ERR_IO;
		goto out_in;
	}
	rc = phr_crypto_decrypt_fd(out_fd, in_fd, key);
	if (rc == PHR_OK && fsync(out_fd) != 0)
		rc = PHR_ERR_IO;
	if (close(out_fd) != 0 && rc == PHR_OK)
		rc = PHR_ERR_IO;
	if (rc == PHR_OK && rename((char *)tmp.data, out_path) != 0)
		rc = PHR_ERR_IO;
	if (rc != PHR_OK)
		unlink((char *)tmp.data);
out_in:
	close(in_fd);
out_buf:
	phr_buf_release(&tmp);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Whole records in memory                                                   */
/* ------------------------------------------------------------------------- */

int phr_crypto_encrypt_buf(struct phr_buf *out, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
			   const uint8_t *in, size_t n, uint32_t chunk_size)
{
	uint8_t header[PHR_CRYPTO_STREAM_HEADER_BYTES];
	struct phr_crypto_stream *st = NULL;
	size_t off = 0, nchunks;
	int rc;

	rc = phr_crypto_stream_push_init(&st, header, key, chunk_size);
	if (rc != PHR_OK)
		return rc;
	chunk_size = st->chunk;
	nchunks = n / chunk_size + 1; /* the final chunk may be empty */
	if (nchunks > (SIZE_MAX - n - sizeof(header)) / SS_ABYTES) {
		rc = PHR_ERR_TOO_LARGE;
		goto out;
	}
	rc = phr_buf_reserve(out, sizeof(header) + n + nchunks * SS_ABYTES);
	if (rc == PHR_OK)
		rc = phr_buf_append(out, header, sizeof(header));
	while (rc == PHR_OK) {
		size_t take = n - off < chunk_size ? n - off : chunk_size;
		bool last = off + take == n && take < chunk_size;
		uint8_t *dst = out->data + out->len;

		/* a record whose size is a multiple of the chunk ends with an empty FINAL */
		rc = last ? phr_crypto_stream_push_final(st, dst, in + off, take)
			  : phr_crypto_stream_push(st, dst, in + off, take);
		if (rc != PHR_OK)
			break;
		out->len += take + SS_ABYTES;
		out->data[out->len] = '\0';
		off += take;
		if (last)
			break;
	}
out:
	phr_crypto_stream_free(st);
	return rc;
}

int phr_crypto_decrypt_buf(struct phr_buf *out, const uint8_t key[PHR_CRYPTO_KEY_BYTES],
			   const uint8_t *in, size_t n)
{
	struct phr_crypto_stream *st = NULL;
	uint32_t chunk;
	size_t off = PHR_CRYPTO_STREAM_HEADER_BYTES;
	bool final = false;
	int rc;

	if (n < PHR_CRYPTO_STREAM_HEADER_BYTES) {
		rc = n >= 4 && memcmp(in, "PHRE", 4) != 0 ? PHR_ERR_PARSE : PHR_ERR_TAMPERED;
		goto out;
	}
	rc = phr_crypto_stream_pull_init(&st, &chunk, in, key);
	if (rc != PHR_OK)
		goto out;
	/* plaintext is never larger than the ciphertext */
	rc = phr_buf_reserve(out, n);
	while (rc == PHR_OK && !final) {
		size_t take = n - off < (size_t)chunk + SS_ABYTES ? n - off : (size_t)chunk + SS_ABYTES;
		size_t plen = 0;

		rc = phr_crypto_stream_pull(st, out->data + out->len, &plen, &final, in + off, take);
		if (rc != PHR_OK)
			break;
		out->len += plen;
		out->data[out->len] = '\0';
		off += take;
	}
	if (rc == PHR_OK && off != n)
		rc = PHR_ERR_TAMPERED; /* bytes after FINAL */
out:
	phr_crypto_stream_free(st);
	if (rc != PHR_OK) {
		if (out->data)
			sodium_memzero(out->data, out->cap);
		phr_buf_release(out);
	}
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Key wrapping                                                              */
/* ------------------------------------------------------------------------- */

int phr_crypto_box_keypair(uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES], uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES])
{
	if (phr_crypto_init() != PHR_OK || crypto_box_keypair(pk, sk) != 0)
		return PHR_ERR_CRYPTO;
	return PHR_OK;
}

int phr_crypto_box_seed_keypair(uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES],
				uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES], const uint8_t seed[32])
{
	if (phr_crypto_init() != PHR_OK || crypto_box_seed_keypair(pk, sk, seed) != 0)
		return PHR_ERR_CRYPTO;
	return PHR_OK;
}

int phr_crypto_key_wrap(uint8_t capsule[PHR_CRYPTO_CAPSULE_BYTES],
			const uint8_t recipient_pk[PHR_CRYPTO_BOX_PK_BYTES],
			const uint8_t key[PHR_CRYPTO_KEY_BYTES])
{
	if (phr_crypto_init() != PHR_OK ||
	    crypto_box_seal(capsule, key, PHR_CRYPTO_KEY_BYTES, recipient_pk) != 0)
		return PHR_ERR_CRYPTO;
	return PHR_OK;
}

int phr_crypto_key_unwrap(uint8_t key[PHR_CRYPTO_KEY_BYTES],
			  const uint8_t capsule[PHR_CRYPTO_CAPSULE_BYTES],
			  const uint8_t pk[PHR_CRYPTO_BOX_PK_BYTES],
			  const uint8_t sk[PHR_CRYPTO_BOX_SK_BYTES])
{
	uint8_t tmp[PHR_CRYPTO_KEY_BYTES];
	int rc = PHR_ERR_TAMPERED;

	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	if (crypto_box_seal_open(tmp, capsule, PHR_CRYPTO_CAPSULE_BYTES, pk, sk) == 0) {
		memcpy(key, tmp, sizeof(tmp));
		rc = PHR_OK;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}
