/*
 * The DICOM JSON Model (PS3.18 Annex F) of a parsed file, value decoding per
 * VR, and string extraction for the metadata.
 */
#include "dicom_int.h"

#include <errno.h>
#include <math.h>

char *dcm_to_utf8(const uint8_t *s, size_t n, bool utf8)
{
	/* worst case: every byte becomes 3 (U+FFFD) */
	char *out = phr_malloc(n * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (!utf8) {
			/* ISO 8859-1 (the default repertoire has no bytes above 0x7F) */
			out[o++] = (char)(0xC0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3F));
			i++;
			continue;
		}
		size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
		bool ok = len && i + len <= n;
		uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
		for (size_t k = 1; ok && k < len; k++) {
			ok = (s[i + k] & 0xC0) == 0x80;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
			   (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
			ok = false;
		if (ok) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

static bool vr_is_string(enum dcm_vr vr)
{
	switch (vr) {
	case VR_AE: case VR_AS: case VR_CS: case VR_DA: case VR_DS: case VR_DT: case VR_IS:
	case VR_LO: case VR_LT: case VR_PN: case VR_SH: case VR_ST: case VR_TM: case VR_UC:
	case VR_UI: case VR_UR: case VR_UT:
		return true;
	default:
		return false;
	}
}

/* single-valued text VRs: a backslash is a character, not a delimiter */
static bool vr_single_text(enum dcm_vr vr)
{
	return vr == VR_LT || vr == VR_ST || vr == VR_UT || vr == VR_UR;
}

/* VRs whose leading spaces are padding too */
static bool vr_trim_leading(enum dcm_vr vr)
{
	switch (vr) {
	case VR_AE: case VR_AS: case VR_CS: case VR_DA: case VR_DS: case VR_DT: case VR_IS:
	case VR_LO: case VR_SH: case VR_TM: case VR_UI:
		return true;
	default:
		return false;
	}
}

/* Trims one value [*b, *e) of VR @vr in place. */
static void trim(enum dcm_vr vr, const uint8_t **b, const uint8_t **e)
{
	while (*e > *b && ((*e)[-1] == ' ' || ((*e)[-1] == 0 && vr == VR_UI)))
		(*e)--;
	if (vr_trim_leading(vr))
		while (*b < *e && **b == ' ')
			(*b)++;
}

static json_t *string_value(const uint8_t *b, const uint8_t *e, bool utf8)
{
	char *s = dcm_to_utf8(b, (size_t)(e - b), utf8);
	if (!s)
		return NULL;
	json_t *j = json_string(s);
	phr_free(s);
	return j;
}

/* A PN value: "Alphabetic=Ideographic=Phonetic". */
static json_t *pn_value(const uint8_t *b, const uint8_t *e, bool utf8)
{
	static const char *const groups[3] = { "Alphabetic", "Ideographic", "Phonetic" };
	json_t *o = json_object();
	const uint8_t *p = b;
	for (int g = 0; o && g < 3 && p <= e; g++) {
		const uint8_t *q = p;
		while (q < e && *q != '=')
			q++;
		const uint8_t *gb = p, *ge = q;
		trim(VR_PN, &gb, &ge);
		/* trailing empty components are insignificant: "^^^^" is empty */
		while (ge > gb && (ge[-1] == '^' || ge[-1] == ' '))
			ge--;
		if (ge > gb && json_object_set_new(o, groups[g], string_value(gb, ge, utf8))) {
			json_decref(o);
			return NULL;
		}
		p = q + 1;
	}
	return o;
}

/* A decimal or integer string as a JSON number (a string if not numeric). */
static json_t *number_string(enum dcm_vr vr, const uint8_t *b, const uint8_t *e)
{
	char tmp[64];
	size_t n = (size_t)(e - b);
	if (n == 0 || n >= sizeof(tmp))
		return json_stringn((const char *)b, n);
	memcpy(tmp, b, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	if (vr == VR_IS) {
		long long v = strtoll(tmp, &end, 10);
		if (*end == 0 && errno == 0)
			return json_integer(v);
	}
	double d = strtod(tmp, &end);
	if (*end == 0 && isfinite(d))
		return json_real(d);
	return string_value(b, e, false);
}

static json_t *string_values(enum dcm_vr vr, const uint8_t *v, size_t len, bool utf8)
{
	json_t *arr = json_array();
	const uint8_t *p = v, *end = v + len;
	/* the whole value's trailing padding goes first, so "A\B " has no empty tail */
	while (end > p && (end[-1] == ' ' || (end[-1] == 0 && vr == VR_UI)))
		end--;
	while (arr) {
		const uint8_t *q = p;
		if (!vr_single_text(vr))
			while (q < end && *q != '\\')
				q++;
		else
			q = end;
		const uint8_t *b = p, *e = q;
		trim(vr, &b, &e);
		json_t *j;
		if (b == e)
			j = json_null();
		else if (vr == VR_PN) {
			j = pn_value(b, e, utf8);
			if (j && json_object_size(j) == 0) {
				json_decref(j);
				j = json_null();
			}
		}
		else if (vr == VR_IS || vr == VR_DS)
			j = number_string(vr, b, e);
		else
			j = string_value(b, e, utf8);
		if (json_array_append_new(arr, j)) {
			json_decref(arr);
			return NULL;
		}
		if (q >= end)
			break;
		p = q + 1;
	}
	return arr;
}

static json_t *binary_numbers(const struct dcm_elem *el)
{
	size_t w;
	switch (el->vr) {
	case VR_US: case VR_SS: w = 2; break;
	case VR_UL: case VR_SL: case VR_FL: case VR_AT: w = 4; break;
	default: w = 8; break;
	}
	json_t *arr = json_array();
	for (size_t i = 0; arr && i + w <= el->len; i += w) {
		const uint8_t *p = el->val + i;
		bool big = el->big;
		json_t *j;
		switch (el->vr) {
		case VR_US: j = json_integer(dcm_u16(p, big)); break;
		case VR_SS: j = json_integer((int16_t)dcm_u16(p, big)); break;
		case VR_UL: j = json_integer(dcm_u32(p, big)); break;
		case VR_SL: j = json_integer((int32_t)dcm_u32(p, big)); break;
		case VR_SV: j = json_integer((json_int_t)dcm_u64(p, big)); break;
		case VR_UV: {
			uint64_t u = dcm_u64(p, big);
			j = u <= INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
			break;
		}
		case VR_FL: {
			uint32_t u = dcm_u32(p, big);
			float f;
			memcpy(&f, &u, 4);
			j = isfinite(f) ? json_real(f) : json_null();
			break;
		}
		case VR_FD: {
			uint64_t u = dcm_u64(p, big);
			double d;
			memcpy(&d, &u, 8);
			j = isfinite(d) ? json_real(d) : json_null();
			break;
		}
		default: { /* AT */
			char t[9];
			snprintf(t, sizeof(t), "%04X%04X", dcm_u16(p, big), dcm_u16(p + 2, big));
			j = json_string(t);
			break;
		}
		}
		if (json_array_append_new(arr, j)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* InlineBinary: base64 of the value in little-endian byte order. */
static json_t *inline_binary(const struct dcm_elem *el)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t w = 1;
	if (el->big)
		w = el->vr == VR_OW ? 2 : el->vr == VR_OF || el->vr == VR_OL ? 4 : el->vr == VR_OD || el->vr == VR_OV ? 8 : 1;
	size_t n = el->len;
	const uint8_t *v = el->val;
	uint8_t *swapped = NULL;
	if (w > 1) {
		/* big-endian words: a little-endian copy (a partial last word stays as is) */
		swapped = phr_malloc(n);
		if (!swapped)
			return NULL;
		for (size_t i = 0; i < n; i++)
			swapped[i] = i / w * w + w <= n ? v[i / w * w + (w - 1 - i % w)] : v[i];
		v = swapped;
	}
	char *out = phr_malloc((n + 2) / 3 * 4 + 1);
	json_t *j = NULL;
	if (out) {
		size_t o = 0, i = 0;
		for (; i + 3 <= n; i += 3) {
			uint32_t t = (uint32_t)v[i] << 16 | (uint32_t)v[i + 1] << 8 | v[i + 2];
			out[o++] = b64[t >> 18];
			out[o++] = b64[(t >> 12) & 63];
			out[o++] = b64[(t >> 6) & 63];
			out[o++] = b64[t & 63];
		}
		if (i < n) {
			uint32_t t = (uint32_t)v[i] << 16 | (i + 1 < n ? (uint32_t)v[i + 1] << 8 : 0);
			out[o++] = b64[t >> 18];
			out[o++] = b64[(t >> 12) & 63];
			out[o++] = i + 1 < n ? b64[(t >> 6) & 63] : '=';
			out[o++] = '=';
		}
		/* base64 is ASCII: no UTF-8 check needed */
		j = json_stringn_nocheck(out, o);
	}
	phr_free(out);
	phr_free(swapped);
	return j;
}

static json_t *item_json(const struct dcm_item *it, bool utf8, bool skip_group_length);

static json_t *elem_json(const struct dcm_elem *el, bool utf8)
{
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "vr", json_string(dcm_vr_name(el->vr))))
		goto fail;
	json_t *v = NULL;
	const char *key = "Value";
	if (el->vr == VR_SQ) {
		if (el->nitems == 0)
			return o;
		v = json_array();
		for (size_t i = 0; v && i < el->nitems; i++)
			if (json_array_append_new(v, item_json(&el->items[i], utf8, true))) {
				json_decref(v);
				v = NULL;
			}
	} else if (el->bulk) {
		char uri[96];
		if (el->encap)
			snprintf(uri, sizeof(uri), "bulk:offset=%llu;length=undefined",
				 (unsigned long long)el->offset);
		else
			snprintf(uri, sizeof(uri), "bulk:offset=%llu;length=%u",
				 (unsigned long long)el->offset, el->len);
		key = "BulkDataURI";
		v = json_string(uri);
	} else if (el->len == 0 && el->tag != PHR_DICOM_TAG(0x0008, 0x0005)) {
		return o;
	} else if (el->tag == PHR_DICOM_TAG(0x0008, 0x0005)) {
		/* strings are converted to UTF-8, so the character set becomes ISO_IR 192, as dcm2json does */
		v = json_pack("[s]", "ISO_IR 192");
	} else if (vr_is_string(el->vr)) {
		v = string_values(el->vr, el->val, el->len, utf8);
		if (v && json_array_size(v) == 1 && json_is_null(json_array_get(v, 0))) {
			/* nothing but padding: no value, as dcm2json prints it */
			json_decref(v);
			return o;
		}
	} else if (el->vr == VR_OB || el->vr == VR_OD || el->vr == VR_OF || el->vr == VR_OL ||
		   el->vr == VR_OV || el->vr == VR_OW || el->vr == VR_UN) {
		key = "InlineBinary";
		v = inline_binary(el);
	} else {
		v = binary_numbers(el);
	}
	if (!v || json_object_set_new(o, key, v))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *item_json(const struct dcm_item *it, bool utf8, bool skip_group_length)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < it->n; i++) {
		const struct dcm_elem *el = &it->el[i];
		if (skip_group_length && (el->tag & 0xFFFF) == 0)
			continue;
		char key[9];
		snprintf(key, sizeof(key), "%08X", el->tag);
		if (json_object_set_new(o, key, elem_json(el, utf8))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

enum phr_err phr_dicom_file_to_json(json_t **out, const struct phr_dicom_file *f, unsigned flags)
{
	json_t *o = item_json(&f->ds, f->utf8, true);
	if (!o)
		return PHR_ERR_NOMEM;
	if (flags & PHR_DICOM_JSON_META) {
		json_t *m = item_json(&f->meta, false, false);
		if (!m || json_object_update(o, m)) {
			json_decref(m);
			json_decref(o);
			return PHR_ERR_NOMEM;
		}
		json_decref(m);
	}
	*out = o;
	return PHR_OK;
}

enum phr_err phr_dicom_file_string(char *buf, size_t cap, const struct phr_dicom_file *f, uint32_t tag)
{
	const struct dcm_elem *el = dcm_item_find(&f->ds, tag);
	if (!el || !el->val || !vr_is_string((enum dcm_vr)el->vr))
		return PHR_ERR_NOT_FOUND;
	const uint8_t *b = el->val, *e = el->val + el->len;
	if (!vr_single_text((enum dcm_vr)el->vr))
		for (const uint8_t *q = b; q < e; q++)
			if (*q == '\\') {
				e = q;
				break;
			}
	trim((enum dcm_vr)el->vr, &b, &e);
	if (b == e)
		return PHR_ERR_NOT_FOUND;
	char *s = dcm_to_utf8(b, (size_t)(e - b), f->utf8);
	if (!s)
		return PHR_ERR_NOMEM;
	size_t n = strlen(s);
	if (n >= cap) {
		phr_free(s);
		return PHR_ERR_TOO_LARGE;
	}
	memcpy(buf, s, n + 1);
	phr_free(s);
	return PHR_OK;
}
