/* Checked access to JSON values over jansson. */
#include <phr/json.h>

#include <errno.h>

int phr_json_parse(json_t **out, char *err, size_t err_cap, const char *text, size_t len)
{
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		if (err && err_cap)
			snprintf(err, err_cap, "line %d column %d: %s", je.line, je.column, je.text);
		return PHR_ERR_PARSE;
	}
	*out = v;
	return PHR_OK;
}

int phr_json_load_file(json_t **out, char *err, size_t err_cap, const char *path, size_t max)
{
	struct phr_buf b;
	phr_buf_init(&b, max);
	int rc = phr_file_read(&b, path, max);
	if (rc == PHR_OK)
		rc = phr_json_parse(out, err, err_cap, b.data ? (const char *)b.data : "", b.len);
	else if (err && err_cap)
		snprintf(err, err_cap, "%s: %s", path, phr_strerror(rc));
	phr_buf_release(&b);
	return rc;
}

static int member(const json_t **v, const json_t *obj, const char *key)
{
	if (!json_is_object(obj))
		return PHR_ERR_INVALID;
	const json_t *m = json_object_get(obj, key);
	if (!m || json_is_null(m))
		return PHR_ERR_NOT_FOUND;
	*v = m;
	return PHR_OK;
}

int phr_json_get_str(const char **out, const json_t *obj, const char *key)
{
	const json_t *v;
	int rc = member(&v, obj, key);
	if (rc)
		return rc;
	if (!json_is_string(v))
		return PHR_ERR_INVALID;
	*out = json_string_value(v);
	return PHR_OK;
}

int phr_parse_u64(uint64_t *out, const char *s)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == 0)
		return PHR_ERR_INVALID;
	for (const char *p = s; *p; p++) {
		bool ok = base == 16 ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
					(*p >= 'A' && *p <= 'F'))
				     : (*p >= '0' && *p <= '9');
		if (!ok)
			return PHR_ERR_INVALID;
	}
	errno = 0;
	unsigned long long v = strtoull(s, NULL, base);
	if (errno == ERANGE)
		return PHR_ERR_RANGE;
	*out = (uint64_t)v;
	return PHR_OK;
}

int phr_json_get_u64(uint64_t *out, const json_t *obj, const char *key)
{
	const json_t *v;
	int rc = member(&v, obj, key);
	if (rc)
		return rc;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return PHR_ERR_RANGE;
		*out = (uint64_t)i;
		return PHR_OK;
	}
	if (json_is_string(v))
		return phr_parse_u64(out, json_string_value(v));
	return PHR_ERR_INVALID;
}

int phr_json_get_bool(bool *out, const json_t *obj, const char *key)
{
	const json_t *v;
	int rc = member(&v, obj, key);
	if (rc)
		return rc;
	if (!json_is_boolean(v))
		return PHR_ERR_INVALID;
	*out = json_is_true(v);
	return PHR_OK;
}

int phr_json_get_hex(uint8_t *out, size_t out_cap, size_t *out_len, const json_t *obj,
		     const char *key)
{
	const char *s;
	int rc = phr_json_get_str(&s, obj, key);
	if (rc)
		return rc;
	return phr_hex_decode(out, out_cap, out_len, s, json_string_length(json_object_get(obj, key)));
}

int phr_json_set_hex(json_t *obj, const char *key, const uint8_t *data, size_t n)
{
	size_t cap = PHR_HEX_LEN(n, true);
	char *s = phr_malloc(cap);
	if (!s)
		return PHR_ERR_NOMEM;
	int rc = phr_hex_encode(s, cap, data, n, true);
	if (rc == PHR_OK && json_object_set_new(obj, key, json_string(s)) != 0)
		rc = PHR_ERR_NOMEM;
	phr_free(s);
	return rc;
}

struct dump_ctx {
	struct phr_buf *out;
	int rc;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct dump_ctx *c = data;
	c->rc = phr_buf_append(c->out, buffer, size);
	return c->rc == PHR_OK ? 0 : -1;
}

int phr_json_dump(struct phr_buf *out, const json_t *v, size_t flags)
{
	struct dump_ctx c = { out, PHR_OK };
	if (json_dump_callback(v, dump_cb, &c, flags | JSON_COMPACT) != 0)
		return c.rc ? c.rc : PHR_ERR_INVALID;
	return PHR_OK;
}
