/*
 * Bounded growable buffers (curl dynbuf / git strbuf). On any failed append
 * the buffer frees itself, so error paths need no cleanup.
 */
#include <phr/core.h>

void phr_buf_init(struct phr_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : PHR_BUF_DEFAULT_MAX;
}

void phr_buf_release(struct phr_buf *b)
{
	phr_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void phr_buf_reset(struct phr_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

int phr_buf_reserve(struct phr_buf *b, size_t extra)
{
	/* len + extra + 1 (the NUL) must fit in max + 1 and in size_t */
	if (extra > b->max || b->len > b->max - extra || b->len + extra == SIZE_MAX) {
		phr_buf_release(b);
		return PHR_ERR_TOO_LARGE;
	}
	size_t need = b->len + extra + 1; /* +1 for the NUL */
	if (need <= b->cap)
		return PHR_OK;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	uint8_t *nd = phr_realloc(b->data, ncap);
	if (!nd) {
		phr_buf_release(b);
		return PHR_ERR_NOMEM;
	}
	b->data = nd;
	b->cap = ncap;
	return PHR_OK;
}

int phr_buf_append(struct phr_buf *b, const void *data, size_t n)
{
	int rc = phr_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = 0;
	return PHR_OK;
}

int phr_buf_append_byte(struct phr_buf *b, uint8_t c)
{
	return phr_buf_append(b, &c, 1);
}

int phr_buf_append_str(struct phr_buf *b, const char *s)
{
	return phr_buf_append(b, s, strlen(s));
}

int phr_buf_vappendf(struct phr_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		phr_buf_release(b);
		return PHR_ERR_INVALID;
	}
	int rc = phr_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return PHR_OK;
}

int phr_buf_appendf(struct phr_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = phr_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void *phr_buf_detach(struct phr_buf *b, size_t *len)
{
	if (!b->data) {
		uint8_t *e = phr_malloc(1);
		if (!e)
			return NULL;
		e[0] = 0;
		if (len)
			*len = 0;
		return e;
	}
	void *d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return d;
}
