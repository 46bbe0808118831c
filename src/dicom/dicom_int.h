/*
 * Internals shared by the files of the dicom module: value representations,
 * the parsed tree, the bounded byte source and the data dictionary.
 */
#ifndef PHR_DICOM_INT_H
#define PHR_DICOM_INT_H

#include <phr/dicom.h>

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

/* Value representations, in PS3.5 table 6.2-1 order. */
enum dcm_vr {
	VR_AE, VR_AS, VR_AT, VR_CS, VR_DA, VR_DS, VR_DT, VR_FD, VR_FL, VR_IS, VR_LO,
	VR_LT, VR_OB, VR_OD, VR_OF, VR_OL, VR_OV, VR_OW, VR_PN, VR_SH, VR_SL, VR_SQ,
	VR_SS, VR_ST, VR_SV, VR_TM, VR_UC, VR_UI, VR_UL, VR_UN, VR_UR, VR_US, VR_UT,
	VR_UV, VR__COUNT
};

#define DCM_UNDEF 0xFFFFFFFFu
#define DCM_TAG_ITEM 0xFFFEE000u
#define DCM_TAG_ITEM_DELIM 0xFFFEE00Du
#define DCM_TAG_SEQ_DELIM 0xFFFEE0DDu
#define DCM_TAG_PIXEL_DATA 0x7FE00010u

/* the two-letter name of @p vr */
const char *dcm_vr_name(enum dcm_vr vr);
/* the VR named by the two bytes at @p s, or -1 */
int dcm_vr_parse(const uint8_t s[2]);
/* whether explicit VR @p vr has the 2 reserved bytes and a 32-bit length */
bool dcm_vr_long_length(enum dcm_vr vr);

/* Dictionary VR of @p tag for implicit VR; @p pixrep is the Pixel
 * Representation seen so far (US/SS ambiguity), -1 when unknown. */
enum dcm_vr dcm_dict_vr(uint32_t tag, int pixrep);

struct dcm_item;

struct dcm_elem {
	uint32_t tag;
	uint8_t vr;    /* enum dcm_vr */
	uint8_t big;   /* the value bytes are big endian */
	uint8_t bulk;  /* the value was skipped, not loaded */
	uint8_t encap; /* encapsulated pixel data (fragments skipped) */
	uint32_t len;  /* value length, DCM_UNDEF for undefined */
	uint64_t offset; /* stream offset of the value */
	uint8_t *val;  /* @len bytes when loaded, else NULL */
	struct dcm_item *items; /* SQ items */
	size_t nitems;
};

struct dcm_item {
	struct dcm_elem *el;
	size_t n, cap;
};

struct phr_dicom_file {
	struct dcm_item meta, ds;
	char ts[65];
	size_t count;
	bool utf8; /* Specific Character Set is ISO_IR 192 */
};

/* Bounded byte source: memory or a file descriptor, optionally inflating. */
struct dcm_src {
	int fd;
	phr_dicom_read_fn read; /* pull reader, when not NULL */
	void *read_ctx;
	const uint8_t *mem;
	size_t memlen, mempos;
	bool seekable;
	uint64_t fsize; /* size of a seekable fd */
	uint8_t *buf;
	size_t cap;
	const uint8_t *p;
	size_t avail;
	uint64_t pos; /* logical offset of *p */
	bool eof;
	bool inflating, zdone, zinit;
	enum phr_err zerr; /* deferred inflate error: reported once the good bytes are used */
	z_stream zs;
	uint8_t *zin;
	uint64_t max_inflated;
};

enum phr_err dcm_src_init_fd(struct dcm_src *s, int fd);
enum phr_err dcm_src_init_reader(struct dcm_src *s, phr_dicom_read_fn read, void *ctx);
void dcm_src_init_mem(struct dcm_src *s, const uint8_t *data, size_t len);
void dcm_src_release(struct dcm_src *s);
/* Reads exactly @n bytes: PHR_OK, PHR_ERR_TRUNCATED, PHR_ERR_IO, ... */
enum phr_err dcm_src_read(struct dcm_src *s, void *dst, size_t n);
/* Skips exactly @n bytes (seeking when it can) */
enum phr_err dcm_src_skip(struct dcm_src *s, uint64_t n);
/* Makes @n (<= 16) bytes available at s->p without consuming them; returns
 * the number available (less only at the end of input), or a negative error */
int dcm_src_peek(struct dcm_src *s, size_t n);
/* Switches to inflating the rest of the input (raw DEFLATE) */
enum phr_err dcm_src_start_inflate(struct dcm_src *s, uint64_t max_inflated);

/* Reads little/big endian integers from bytes */
static inline uint16_t dcm_u16(const uint8_t *p, bool big)
{
	return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t dcm_u32(const uint8_t *p, bool big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t dcm_u64(const uint8_t *p, bool big)
{
	uint64_t a = dcm_u32(p, big), b = dcm_u32(p + 4, big);
	return big ? a << 32 | b : b << 32 | a;
}

/* Finds top-level @tag in @it, or NULL */
const struct dcm_elem *dcm_item_find(const struct dcm_item *it, uint32_t tag);

/* Appends the UTF-8 form of the raw string bytes to a NUL-terminated heap
 * string; latin-1 unless @utf8 (then invalid sequences become U+FFFD). */
char *dcm_to_utf8(const uint8_t *s, size_t n, bool utf8);

#endif
