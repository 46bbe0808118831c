/* Helpers shared by the DICOM tests. */
#include "dicom_test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint8_t *dt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

int dt_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

void dt_source_path(char *out, size_t cap, const char *rel)
{
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(out, cap, "%s/%s", root && root[0] ? root : ".", rel);
}

static bool differ(char *why, size_t cap, const char *path, const json_t *a, const json_t *b)
{
	char *sa = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *sb = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(why, cap, "%s: phr %.120s, reference %.120s", path[0] ? path : "/", sa ? sa : "(absent)",
		 sb ? sb : "(absent)");
	free(sa);
	free(sb);
	return false;
}

static bool eq(const json_t *a, const json_t *b, char *path, size_t plen, char *why, size_t cap)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b) ? true : differ(why, cap, path, a, b);
		double x = json_number_value(a), y = json_number_value(b);
		double m = fmax(fabs(x), fabs(y));
		return x == y || fabs(x - y) <= 1e-6 * m ? true : differ(why, cap, path, a, b);
	}
	if (json_typeof(a) != json_typeof(b))
		return differ(why, cap, path, a, b);
	size_t n = strlen(path);
	if (json_is_object(a)) {
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)a, k, v) {
			snprintf(path + n, plen - n, "/%s", k);
			const json_t *w = json_object_get(b, k);
			if (!w || !eq(v, w, path, plen, why, cap))
				return w ? false : differ(why, cap, path, v, NULL);
		}
		json_object_foreach((json_t *)b, k, v) {
			if (!json_object_get(a, k)) {
				snprintf(path + n, plen - n, "/%s", k);
				return differ(why, cap, path, NULL, v);
			}
		}
		path[n] = 0;
		return true;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return differ(why, cap, path, a, b);
		for (size_t i = 0; i < json_array_size(a); i++) {
			snprintf(path + n, plen - n, "/%zu", i);
			if (!eq(json_array_get(a, i), json_array_get(b, i), path, plen, why, cap))
				return false;
		}
		path[n] = 0;
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b) ? true : differ(why, cap, path, a, b);
}

bool dt_json_equal(const json_t *a, const json_t *b, char *why, size_t cap)
{
	char path[512] = "";
	return eq(a, b, path, sizeof(path), why, cap);
}

int dt_mkdtemp(char *out, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, cap, "%s/phr-dicom-XXXXXX", t && t[0] ? t : "/tmp");
	return mkdtemp(out) ? 0 : -1;
}

void dt_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[4096];
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

bool dt_have_program(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		return false;
	char dir[4096];
	for (const char *p = path; *p;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, prog);
		if (access(dir, X_OK) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}
