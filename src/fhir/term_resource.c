/* Terminology checks over a whole FHIR resource, with element paths. */
#include <phr/terminology.h>

struct walk {
	size_t invalid;
	phr_fhir_term_issue_fn *fn;
	void *ctx;
	char path[1024];
};

/* Appends ".key" or "[i]" to the path; false when it does not fit. */
static bool push(struct walk *w, size_t at, const char *key, size_t index, bool is_index)
{
	int n = is_index ? snprintf(w->path + at, sizeof(w->path) - at, "[%zu]", index)
			 : snprintf(w->path + at, sizeof(w->path) - at, "%s%s", at ? "." : "", key);
	return n >= 0 && (size_t)n < sizeof(w->path) - at;
}

static int walk_value(struct walk *w, const json_t *v, size_t at, int depth)
{
	if (depth > 64)
		return PHR_ERR_TOO_LARGE;
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			if (!push(w, at, NULL, i, true))
				continue; /* path too long to report: skip, never crash */
			int rc = walk_value(w, e, strlen(w->path), depth + 1);
			w->path[at] = '\0';
			if (rc != PHR_OK)
				return rc;
		}
		return PHR_OK;
	}
	if (!json_is_object(v))
		return PHR_OK;
	const json_t *sys = json_object_get(v, "system"), *code = json_object_get(v, "code");
	if (json_is_string(sys) && json_is_string(code)) {
		char reason[160];
		if (phr_fhir_term_check(reason, sizeof(reason), json_string_value(sys), json_string_value(code),
					json_string_length(code)) != PHR_OK) {
			w->invalid++;
			if (w->fn && push(w, at, "code", 0, false)) {
				w->fn(w->ctx, w->path, json_string_value(sys), json_string_value(code), reason);
				w->path[at] = '\0';
			}
		}
	}
	const char *key;
	const json_t *e;
	json_object_foreach((json_t *)v, key, e) {
		if (!json_is_object(e) && !json_is_array(e))
			continue;
		if (!push(w, at, key, 0, false))
			continue;
		int rc = walk_value(w, e, strlen(w->path), depth + 1);
		w->path[at] = '\0';
		if (rc != PHR_OK)
			return rc;
	}
	return PHR_OK;
}

int phr_fhir_term_check_resource(size_t *n_invalid, const json_t *resource, phr_fhir_term_issue_fn *fn, void *ctx)
{
	if (!json_is_object(resource))
		return PHR_ERR_INVALID;
	struct walk w = { .fn = fn, .ctx = ctx };
	const char *type = json_string_value(json_object_get(resource, "resourceType"));
	if (!push(&w, 0, type ? type : "$", 0, false))
		return PHR_ERR_INVALID;
	int rc = walk_value(&w, resource, strlen(w.path), 0);
	if (rc == PHR_OK)
		*n_invalid = w.invalid;
	return rc;
}
