/*
 * The bounded byte source under the parser: a memory block or a file
 * descriptor read through a fixed buffer, and optionally raw DEFLATE on top
 * (deflated explicit VR little endian). Large values are skipped by lseek on
 * seekable descriptors, else read through; nothing grows with the input.
 */
#include "dicom_int.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_BUF_BYTES ((size_t)64 * 1024)

enum phr_err dcm_src_init_reader(struct dcm_src *s, phr_dicom_read_fn read, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->read = read;
	s->read_ctx = ctx;
	s->cap = SRC_BUF_BYTES;
	s->buf = phr_malloc(s->cap);
	return s->buf ? PHR_OK : PHR_ERR_NOMEM;
}

enum phr_err dcm_src_init_fd(struct dcm_src *s, int fd)
{
	enum phr_err e = dcm_src_init_reader(s, NULL, NULL);
	if (e)
		return e;
	s->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t cur = lseek(fd, 0, SEEK_CUR);
		if (cur >= 0 && cur <= st.st_size) {
			s->seekable = true;
			s->fsize = (uint64_t)st.st_size;
		}
	}
	return PHR_OK;
}

void dcm_src_init_mem(struct dcm_src *s, const uint8_t *data, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	static const uint8_t empty[1];
	s->mem = data ? data : empty;
	s->memlen = data ? len : 0;
}

void dcm_src_release(struct dcm_src *s)
{
	if (s->zinit)
		inflateEnd(&s->zs);
	phr_free(s->buf);
	phr_free(s->zin);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Raw bytes into @dst (at most @max): the count, 0 at end of input, <0 error. */
static ssize_t raw_read(struct dcm_src *s, uint8_t *dst, size_t max)
{
	if (s->mem) {
		size_t n = s->memlen - s->mempos < max ? s->memlen - s->mempos : max;
		memcpy(dst, s->mem + s->mempos, n);
		s->mempos += n;
		return (ssize_t)n;
	}
	if (s->read) {
		long r = s->read(s->read_ctx, dst, max);
		return r < 0 ? -1 : r > (long)max ? -1 : (ssize_t)r;
	}
	for (;;) {
		ssize_t r = read(s->fd, dst, max);
		if (r >= 0 || errno != EINTR)
			return r < 0 ? -1 : r;
	}
}

/* Refills the buffer after what is available: PHR_OK (maybe nothing new at
 * end of input, then s->eof), or an error. Keeps the s->avail bytes at s->p. */
static enum phr_err refill(struct dcm_src *s)
{
	if (s->eof)
		return PHR_OK;
	if (!s->inflating && s->mem) {
		/* memory: everything is available at once, no copy */
		if (s->avail == 0 && s->mempos < s->memlen) {
			s->p = s->mem + s->mempos;
			s->avail = s->memlen - s->mempos;
			s->mempos = s->memlen;
		} else {
			s->eof = true;
		}
		return PHR_OK;
	}
	if (s->avail && s->p != s->buf)
		memmove(s->buf, s->p, s->avail);
	s->p = s->buf;
	size_t room = s->cap - s->avail;
	if (!s->inflating) {
		ssize_t r = raw_read(s, s->buf + s->avail, room);
		if (r < 0)
			return PHR_ERR_IO;
		if (r == 0)
			s->eof = true;
		s->avail += (size_t)r;
		return PHR_OK;
	}
	if (s->zerr)
		return s->zerr;
	if (s->zdone) {
		s->eof = true;
		return PHR_OK;
	}
	s->zs.next_out = s->buf + s->avail;
	s->zs.avail_out = (uInt)room;
	while (s->zs.avail_out == (uInt)room) {
		if (s->zs.avail_in == 0) {
			ssize_t r = raw_read(s, s->zin, SRC_BUF_BYTES);
			if (r < 0) {
				s->zerr = PHR_ERR_IO;
				break;
			}
			s->zs.next_in = s->zin;
			s->zs.avail_in = (uInt)r;
		}
		int zr = inflate(&s->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			s->zdone = true;
			break;
		}
		if (zr == Z_BUF_ERROR && s->zs.avail_in == 0) {
			/* input ended before the deflate stream did */
			s->zdone = true;
			break;
		}
		if (zr != Z_OK) {
			s->zerr = zr == Z_MEM_ERROR ? PHR_ERR_NOMEM : PHR_ERR_CORRUPT;
			break;
		}
	}
	size_t got = room - s->zs.avail_out;
	/* the bytes inflated before an error or the size limit are still served, so
	 * the error surfaces at the same offset whatever the buffer sizes */
	if (s->pos + s->avail + got > s->max_inflated) {
		got = s->pos + s->avail > s->max_inflated ? 0 : (size_t)(s->max_inflated - s->pos - s->avail);
		s->zerr = PHR_ERR_TOO_LARGE;
	}
	s->avail += got;
	if (got == 0 && s->zerr)
		return s->zerr;
	if (got == 0)
		s->eof = true;
	return PHR_OK;
}

int dcm_src_peek(struct dcm_src *s, size_t n)
{
	while (s->avail < n && !s->eof) {
		enum phr_err e = refill(s);
		if (e)
			return e;
		if (!s->inflating && s->mem && s->avail < n)
			break; /* memory holds no more */
	}
	return (int)(s->avail < n ? s->avail : n);
}

/* Consumes @n bytes through the buffer, copying them to @dst unless NULL. */
static enum phr_err take(struct dcm_src *s, uint8_t *dst, uint64_t n)
{
	while (n) {
		if (s->avail == 0) {
			enum phr_err e = refill(s);
			if (e)
				return e;
			if (s->avail == 0)
				return PHR_ERR_TRUNCATED;
		}
		size_t k = n < s->avail ? (size_t)n : s->avail;
		if (dst) {
			memcpy(dst, s->p, k);
			dst += k;
		}
		s->p += k;
		s->avail -= k;
		s->pos += k;
		n -= k;
	}
	return PHR_OK;
}

enum phr_err dcm_src_read(struct dcm_src *s, void *dst, size_t n)
{
	return take(s, dst, n);
}

enum phr_err dcm_src_skip(struct dcm_src *s, uint64_t n)
{
	size_t k = n < s->avail ? (size_t)n : s->avail;
	s->p += k;
	s->avail -= k;
	s->pos += k;
	n -= k;
	if (n == 0)
		return PHR_OK;
	if (!s->inflating && s->mem) {
		if (n > s->memlen - s->mempos)
			return PHR_ERR_TRUNCATED;
		s->mempos += (size_t)n;
		s->pos += n;
		return PHR_OK;
	}
	if (!s->inflating && s->seekable) {
		off_t cur = lseek(s->fd, 0, SEEK_CUR);
		if (cur < 0)
			return PHR_ERR_IO;
		if ((uint64_t)cur > s->fsize || n > s->fsize - (uint64_t)cur)
			return PHR_ERR_TRUNCATED;
		if (lseek(s->fd, (off_t)n, SEEK_CUR) < 0)
			return PHR_ERR_IO;
		s->pos += n;
		return PHR_OK;
	}
	return take(s, NULL, n);
}

enum phr_err dcm_src_start_inflate(struct dcm_src *s, uint64_t max_inflated)
{
	s->zin = phr_malloc(SRC_BUF_BYTES);
	if (!s->zin)
		return PHR_ERR_NOMEM;
	if (!s->buf) {
		s->cap = SRC_BUF_BYTES;
		s->buf = phr_malloc(s->cap);
		if (!s->buf)
			return PHR_ERR_NOMEM;
	}
	memset(&s->zs, 0, sizeof(s->zs));
	if (inflateInit2(&s->zs, -15) != Z_OK)
		return PHR_ERR_NOMEM;
	s->zinit = true;
	/* the compressed bytes already buffered come first */
	if (s->mem) {
		if (s->avail)
			s->mempos = (size_t)(s->p - s->mem);
		s->zs.next_in = s->zin;
		s->zs.avail_in = 0;
	} else {
		memcpy(s->zin, s->p, s->avail);
		s->zs.next_in = s->zin;
		s->zs.avail_in = (uInt)s->avail;
	}
	s->avail = 0;
	s->p = s->buf;
	s->eof = false;
	s->inflating = true;
	s->max_inflated = s->pos + max_inflated;
	return PHR_OK;
}
