/*
 * The Part 10 parser: preamble, "DICM", File Meta Information (explicit VR
 * little endian), then the data set in its transfer syntax, into a tree of
 * elements. Every length is checked against the enclosing item or sequence
 * and against the input; values over the limits are skipped as bulk data.
 */
#include "dicom_int.h"

#include <stdarg.h>

struct parser {
	struct dcm_src *s;
	struct phr_dicom_limits lim;
	struct phr_dicom_error *err;
	struct phr_dicom_file *f;
	size_t loaded;
	bool explicit_vr, big;
	int pixrep;
	unsigned depth;
};

#define END_UNDEF UINT64_MAX

PHR_PRINTF(3, 4)
static enum phr_err fail(struct parser *P, enum phr_err code, const char *fmt, ...)
{
	if (P->err && P->err->msg[0] == 0) {
		P->err->offset = P->s->pos;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(P->err->msg, sizeof(P->err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Reads @n bytes, turning a short input into a message naming @what. */
static enum phr_err need(struct parser *P, void *dst, size_t n, const char *what)
{
	enum phr_err e = dcm_src_read(P->s, dst, n);
	if (e == PHR_ERR_TRUNCATED)
		return fail(P, e, "input ends inside %s", what);
	if (e)
		return fail(P, e, "cannot read %s: %s", what, phr_strerror(e));
	return PHR_OK;
}

static enum phr_err count(struct parser *P)
{
	if (++P->f->count > P->lim.max_elements)
		return fail(P, PHR_ERR_TOO_LARGE, "more than %zu elements", P->lim.max_elements);
	return PHR_OK;
}

static struct dcm_elem *item_push(struct dcm_item *it)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 16;
		struct dcm_elem *n = phr_realloc(it->el, cap * sizeof(*n));
		if (!n)
			return NULL;
		it->el = n;
		it->cap = cap;
	}
	struct dcm_elem *e = &it->el[it->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void item_release(struct dcm_item *it)
{
	for (size_t i = 0; i < it->n; i++) {
		struct dcm_elem *e = &it->el[i];
		phr_free(e->val);
		for (size_t k = 0; k < e->nitems; k++)
			item_release(&e->items[k]);
		phr_free(e->items);
	}
	phr_free(it->el);
	memset(it, 0, sizeof(*it));
}

static enum phr_err parse_set(struct parser *P, struct dcm_item *it, uint64_t end, bool top, bool meta);

/* Reads a tag and a 32-bit length (item headers: no VR in any syntax). */
static enum phr_err item_header(struct parser *P, uint32_t *tag, uint32_t *len)
{
	uint8_t h[8];
	enum phr_err e = need(P, h, 8, "an item header");
	if (e)
		return e;
	*tag = (uint32_t)dcm_u16(h, P->big) << 16 | dcm_u16(h + 2, P->big);
	*len = dcm_u32(h + 4, P->big);
	return PHR_OK;
}

/* Checks that @len bytes from here stay inside @end. */
static enum phr_err fits(struct parser *P, uint64_t end, uint64_t len, const char *what)
{
	if (end != END_UNDEF && (P->s->pos > end || len > end - P->s->pos))
		return fail(P, PHR_ERR_TRUNCATED, "%s of length %llu runs past its enclosing item (ends at %llu)",
			    what, (unsigned long long)len, (unsigned long long)end);
	return PHR_OK;
}

/* A sequence: items of defined or undefined length up to @end or the
 * sequence delimitation item. */
static enum phr_err parse_seq(struct parser *P, struct dcm_elem *el, uint64_t end)
{
	if (P->depth >= P->lim.max_depth)
		return fail(P, PHR_ERR_TOO_LARGE, "sequences nested deeper than %u", P->lim.max_depth);
	P->depth++;
	enum phr_err e = PHR_OK;
	size_t cap = 0;
	for (;;) {
		if (end != END_UNDEF && P->s->pos == end)
			break;
		uint32_t tag, len;
		if ((e = fits(P, end, 8, "an item header")) || (e = item_header(P, &tag, &len)))
			break;
		if (tag == DCM_TAG_SEQ_DELIM) {
			if (end != END_UNDEF) {
				e = fail(P, PHR_ERR_PARSE, "sequence delimitation item in a sequence of defined length");
				break;
			}
			if (len != 0) {
				e = fail(P, PHR_ERR_PARSE, "sequence delimitation item of length %u", len);
				break;
			}
			break;
		}
		if (tag != DCM_TAG_ITEM) {
			e = fail(P, PHR_ERR_PARSE, "expected an item in sequence (%04X,%04X), found (%04X,%04X)",
				 el->tag >> 16, el->tag & 0xFFFF, tag >> 16, tag & 0xFFFF);
			break;
		}
		if ((e = count(P)))
			break;
		if (el->nitems == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct dcm_item *n = phr_realloc(el->items, ncap * sizeof(*n));
			if (!n) {
				e = fail(P, PHR_ERR_NOMEM, "out of memory");
				break;
			}
			el->items = n;
			cap = ncap;
		}
		struct dcm_item *it = &el->items[el->nitems++];
		memset(it, 0, sizeof(*it));
		uint64_t iend = END_UNDEF;
		if (len != DCM_UNDEF) {
			if ((e = fits(P, end, len, "an item")))
				break;
			iend = P->s->pos + len;
		}
		if ((e = parse_set(P, it, iend, false, false)))
			break;
	}
	P->depth--;
	return e;
}

/* Encapsulated pixel data: the basic offset table and fragments, skipped. */
static enum phr_err skip_fragments(struct parser *P, uint64_t end)
{
	for (;;) {
		uint32_t tag, len;
		enum phr_err e;
		if ((e = fits(P, end, 8, "a fragment header")) || (e = item_header(P, &tag, &len)))
			return e;
		if (tag == DCM_TAG_SEQ_DELIM)
			return len == 0 ? PHR_OK : fail(P, PHR_ERR_PARSE, "sequence delimitation item of length %u", len);
		if (tag != DCM_TAG_ITEM)
			return fail(P, PHR_ERR_PARSE, "expected a pixel data fragment, found (%04X,%04X)",
				    tag >> 16, tag & 0xFFFF);
		if (len == DCM_UNDEF)
			return fail(P, PHR_ERR_PARSE, "pixel data fragment of undefined length");
		if ((e = count(P)) || (e = fits(P, end, len, "a fragment")))
			return e;
		e = dcm_src_skip(P->s, len);
		if (e)
			return fail(P, e, "pixel data fragment of %u bytes: %s", len, phr_strerror(e));
	}
}

/* The value of @el (length defined): loaded, or skipped as bulk data. */
static enum phr_err read_value(struct parser *P, struct dcm_elem *el)
{
	el->offset = P->s->pos;
	el->big = P->big;
	if (el->len > P->lim.max_value_bytes || el->len > P->lim.max_total_bytes - P->loaded) {
		el->bulk = 1;
		enum phr_err e = dcm_src_skip(P->s, el->len);
		if (e == PHR_ERR_TRUNCATED)
			return fail(P, e, "value of (%04X,%04X) (%u bytes) runs past the end of the input",
				    el->tag >> 16, el->tag & 0xFFFF, el->len);
		return e ? fail(P, e, "cannot skip a value: %s", phr_strerror(e)) : PHR_OK;
	}
	if (el->len == 0)
		return PHR_OK;
	el->val = phr_malloc(el->len);
	if (!el->val)
		return fail(P, PHR_ERR_NOMEM, "out of memory");
	P->loaded += el->len;
	enum phr_err e = dcm_src_read(P->s, el->val, el->len);
	if (e == PHR_ERR_TRUNCATED)
		return fail(P, e, "value of (%04X,%04X) (%u bytes) runs past the end of the input",
			    el->tag >> 16, el->tag & 0xFFFF, el->len);
	return e ? fail(P, e, "cannot read a value: %s", phr_strerror(e)) : PHR_OK;
}

/* One element header: tag, VR (explicit, or from the dictionary), length. */
static enum phr_err elem_header(struct parser *P, struct dcm_elem *el, uint64_t end, bool explicit_vr)
{
	uint8_t h[8];
	enum phr_err e;
	if ((e = fits(P, end, 8, "an element header")) || (e = need(P, h, 8, "an element header")))
		return e;
	el->tag = (uint32_t)dcm_u16(h, P->big) << 16 | dcm_u16(h + 2, P->big);
	if ((el->tag >> 16) == 0xFFFE) {
		el->len = dcm_u32(h + 4, P->big);
		el->vr = VR_UN;
		return PHR_OK;
	}
	if (!explicit_vr) {
		el->len = dcm_u32(h + 4, P->big);
		el->vr = (uint8_t)dcm_dict_vr(el->tag, P->pixrep);
		return PHR_OK;
	}
	int vr = dcm_vr_parse(h + 4);
	if (vr < 0)
		return fail(P, PHR_ERR_PARSE, "invalid VR %02X %02X in element (%04X,%04X)", h[4], h[5],
			    el->tag >> 16, el->tag & 0xFFFF);
	el->vr = (uint8_t)vr;
	if (!dcm_vr_long_length((enum dcm_vr)vr)) {
		el->len = dcm_u16(h + 6, P->big);
		return PHR_OK;
	}
	uint8_t l[4];
	if ((e = fits(P, end, 4, "an element header")) || (e = need(P, l, 4, "an element header")))
		return e;
	el->len = dcm_u32(l, P->big);
	return PHR_OK;
}

/* Elements of one data set or item, up to @end (END_UNDEF: an item
 * delimitation item, or the end of input when @top). In @meta mode, stops
 * before the first element outside group 0002. */
static enum phr_err parse_set(struct parser *P, struct dcm_item *it, uint64_t end, bool top, bool meta)
{
	enum phr_err e;
	for (;;) {
		if (end != END_UNDEF && P->s->pos == end)
			return PHR_OK;
		if (top || meta) {
			int n = dcm_src_peek(P->s, meta ? 2 : 1);
			if (n < 0)
				return fail(P, (enum phr_err)n, "cannot read: %s", phr_strerror(n));
			if (n == 0)
				return PHR_OK;
			if (meta && (n < 2 || dcm_u16(P->s->p, false) != 0x0002))
				return PHR_OK;
		}
		struct dcm_elem hdr;
		memset(&hdr, 0, sizeof(hdr));
		if ((e = elem_header(P, &hdr, end, meta || P->explicit_vr)))
			return e;
		if (hdr.tag == DCM_TAG_ITEM_DELIM) {
			if (end != END_UNDEF || top)
				return fail(P, PHR_ERR_PARSE, "item delimitation item outside an item of undefined length");
			if (hdr.len != 0)
				return fail(P, PHR_ERR_PARSE, "item delimitation item of length %u", hdr.len);
			return PHR_OK;
		}
		if ((hdr.tag >> 16) == 0xFFFE)
			return fail(P, PHR_ERR_PARSE, "unexpected (%04X,%04X) among the elements of a data set",
				    hdr.tag >> 16, hdr.tag & 0xFFFF);
		if ((e = count(P)))
			return e;
		if (hdr.len != DCM_UNDEF && (e = fits(P, end, hdr.len, "a value")))
			return e;
		if (hdr.len != DCM_UNDEF && (hdr.len & 1) && hdr.vr != VR_SQ)
			return fail(P, PHR_ERR_PARSE, "odd value length %u in (%04X,%04X)", hdr.len,
				    hdr.tag >> 16, hdr.tag & 0xFFFF);
		struct dcm_elem *el = item_push(it);
		if (!el)
			return fail(P, PHR_ERR_NOMEM, "out of memory");
		*el = hdr;
		el->offset = P->s->pos;
		el->big = P->big;
		bool seq = el->vr == VR_SQ || (el->vr == VR_UN && el->len == DCM_UNDEF);
		if (seq && el->tag == DCM_TAG_PIXEL_DATA)
			seq = false;
		if (seq) {
			uint64_t send = el->len == DCM_UNDEF ? END_UNDEF : P->s->pos + el->len;
			bool saved_explicit = P->explicit_vr, saved_big = P->big;
			if (el->vr == VR_UN) {
				/* PS3.5 6.2.2: a UN sequence is encoded in implicit VR little endian */
				el->vr = VR_SQ;
				P->explicit_vr = false;
				P->big = false;
			}
			e = parse_seq(P, el, send);
			P->explicit_vr = saved_explicit;
			P->big = saved_big;
			if (e)
				return e;
			continue;
		}
		if (el->len == DCM_UNDEF) {
			if (el->tag != DCM_TAG_PIXEL_DATA)
				return fail(P, PHR_ERR_PARSE, "undefined length in non-sequence element (%04X,%04X)",
					    el->tag >> 16, el->tag & 0xFFFF);
			el->encap = 1;
			el->bulk = 1;
			if ((e = skip_fragments(P, end)))
				return e;
			continue;
		}
		if ((e = read_value(P, el)))
			return e;
		if (top && el->tag == PHR_DICOM_TAG(0x0028, 0x0103) && el->val && el->len >= 2)
			P->pixrep = dcm_u16(el->val, el->big);
	}
}

const struct dcm_elem *dcm_item_find(const struct dcm_item *it, uint32_t tag)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->el[i].tag == tag)
			return &it->el[i];
	return NULL;
}

/* Chooses the encoding of the data set from the transfer syntax UID. */
static enum phr_err choose_syntax(struct parser *P, bool *deflate)
{
	const char *ts = P->f->ts;
	*deflate = false;
	P->explicit_vr = true;
	P->big = false;
	if (!strcmp(ts, PHR_DICOM_TS_IMPLICIT_LE)) {
		P->explicit_vr = false;
	} else if (!strcmp(ts, PHR_DICOM_TS_EXPLICIT_BE)) {
		P->big = true;
	} else if (!strcmp(ts, PHR_DICOM_TS_DEFLATED_LE)) {
		*deflate = true;
	} else if (!strcmp(ts, PHR_DICOM_TS_EXPLICIT_LE) || !strncmp(ts, "1.2.840.10008.1.2.4.", 20) ||
		   !strcmp(ts, "1.2.840.10008.1.2.5")) {
		/* explicit little endian; encapsulated syntaxes differ only in pixel data */
	} else {
		return fail(P, PHR_ERR_UNSUPPORTED, "unsupported transfer syntax %s", ts);
	}
	return PHR_OK;
}

static void limits_fill(struct phr_dicom_limits *l, const struct phr_dicom_limits *in)
{
	memset(l, 0, sizeof(*l));
	if (in)
		*l = *in;
	if (!l->max_value_bytes)
		l->max_value_bytes = PHR_DICOM_DEFAULT_VALUE_BYTES;
	if (!l->max_total_bytes)
		l->max_total_bytes = PHR_DICOM_DEFAULT_TOTAL_BYTES;
	if (!l->max_elements)
		l->max_elements = PHR_DICOM_DEFAULT_ELEMENTS;
	if (!l->max_depth)
		l->max_depth = PHR_DICOM_DEFAULT_DEPTH;
	if (!l->max_inflated_bytes)
		l->max_inflated_bytes = PHR_DICOM_DEFAULT_INFLATED;
}

static enum phr_err parse_file(struct parser *P)
{
	uint8_t pre[132];
	enum phr_err e = need(P, pre, sizeof(pre), "the preamble");
	if (e)
		return e;
	if (memcmp(pre + 128, "DICM", 4))
		return fail(P, PHR_ERR_PARSE, "not a DICOM Part 10 file (no \"DICM\" after the preamble)");
	P->big = false;
	P->explicit_vr = true;
	if ((e = parse_set(P, &P->f->meta, END_UNDEF, false, true)))
		return e;
	const struct dcm_elem *ts = dcm_item_find(&P->f->meta, PHR_DICOM_TAG(0x0002, 0x0010));
	if (!ts || !ts->val || ts->len >= sizeof(P->f->ts))
		return fail(P, PHR_ERR_PARSE, "the file meta information has no usable transfer syntax UID");
	size_t n = ts->len;
	while (n && (ts->val[n - 1] == 0 || ts->val[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n; i++)
		if (!((ts->val[i] >= '0' && ts->val[i] <= '9') || ts->val[i] == '.'))
			return fail(P, PHR_ERR_PARSE, "malformed transfer syntax UID");
	memcpy(P->f->ts, ts->val, n);
	P->f->ts[n] = 0;
	bool deflate;
	if ((e = choose_syntax(P, &deflate)))
		return e;
	if (deflate && (e = dcm_src_start_inflate(P->s, P->lim.max_inflated_bytes)))
		return fail(P, e, "cannot start inflating: %s", phr_strerror(e));
	e = parse_set(P, &P->f->ds, END_UNDEF, true, false);
	if (e == PHR_ERR_CORRUPT)
		return fail(P, e, "corrupt deflate stream");
	if (e == PHR_ERR_TOO_LARGE && P->s->inflating)
		return fail(P, e, "deflated data set larger than %llu bytes",
			    (unsigned long long)P->lim.max_inflated_bytes);
	if (e)
		return e;
	const struct dcm_elem *cs = dcm_item_find(&P->f->ds, PHR_DICOM_TAG(0x0008, 0x0005));
	P->f->utf8 = cs && cs->val && cs->len >= 10 && !memcmp(cs->val, "ISO_IR 192", 10);
	return PHR_OK;
}

static enum phr_err run(struct phr_dicom_file **out, struct phr_dicom_error *err, struct dcm_src *s,
			const struct phr_dicom_limits *limits)
{
	struct parser P;
	memset(&P, 0, sizeof(P));
	P.s = s;
	P.err = err;
	P.pixrep = -1;
	limits_fill(&P.lim, limits);
	if (err)
		memset(err, 0, sizeof(*err));
	P.f = phr_calloc(1, sizeof(*P.f));
	if (!P.f)
		return fail(&P, PHR_ERR_NOMEM, "out of memory");
	enum phr_err e = parse_file(&P);
	if (e) {
		if (err && !err->msg[0])
			fail(&P, e, "%s", phr_strerror(e));
		phr_dicom_file_free(P.f);
		return e;
	}
	*out = P.f;
	return PHR_OK;
}

/* Runs the parser on an initialised source (@init: its setup result), then releases it. */
static enum phr_err run_src(struct phr_dicom_file **out, struct phr_dicom_error *err, struct dcm_src *s,
			    enum phr_err init, const struct phr_dicom_limits *limits)
{
	enum phr_err e = init;
	if (!e)
		e = run(out, err, s, limits);
	else if (err)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	dcm_src_release(s);
	return e;
}

enum phr_err phr_dicom_file_read_fd(struct phr_dicom_file **out, struct phr_dicom_error *err, int fd,
				    const struct phr_dicom_limits *limits)
{
	struct dcm_src s;
	enum phr_err e = dcm_src_init_fd(&s, fd);
	return run_src(out, err, &s, e, limits);
}

enum phr_err phr_dicom_file_read(struct phr_dicom_file **out, struct phr_dicom_error *err,
				 phr_dicom_read_fn read, void *ctx, const struct phr_dicom_limits *limits)
{
	struct dcm_src s;
	enum phr_err e = dcm_src_init_reader(&s, read, ctx);
	return run_src(out, err, &s, e, limits);
}

enum phr_err phr_dicom_file_parse(struct phr_dicom_file **out, struct phr_dicom_error *err,
				  const uint8_t *data, size_t len, const struct phr_dicom_limits *limits)
{
	struct dcm_src s;
	dcm_src_init_mem(&s, data, len);
	enum phr_err e = run(out, err, &s, limits);
	dcm_src_release(&s);
	return e;
}

void phr_dicom_file_free(struct phr_dicom_file *f)
{
	if (!f)
		return;
	item_release(&f->meta);
	item_release(&f->ds);
	phr_free(f);
}

const char *phr_dicom_file_transfer_syntax(const struct phr_dicom_file *f)
{
	return f->ts;
}

size_t phr_dicom_file_count(const struct phr_dicom_file *f)
{
	return f->count;
}
