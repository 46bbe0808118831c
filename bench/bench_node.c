/*
 * Load generator for the node API: N threads, each with one keep-alive
 * connection, send submitRecord (raw upload) or getRecord / content requests
 * for a fixed time and report throughput and latency percentiles.
 *
 * usage: bench_node URL TOKEN OP SIZE THREADS SECONDS [PATIENT | RECORD_ID]
 *   OP: submit (PATIENT required), get (getRecord JSON), content (decrypted)
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
	pthread_t th;
	const char *url, *token, *op, *arg;
	const uint8_t *body;
	size_t size;
	double until;
	double *lat;
	size_t n, cap, errors, bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
	struct worker *w = ctx;

	(void)p;
	w->bytes += sz * n;
	return sz * n;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[200], url[512];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Expect:");
	if (strcmp(w->op, "submit") == 0) {
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
		snprintf(url, sizeof(url), "%s/api/v1/records?patient=%s&type=5", w->url, w->arg);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->size);
	} else {
		snprintf(url, sizeof(url), "%s/api/v1/records/%s%s", w->url, w->arg,
			 strcmp(w->op, "content") == 0 ? "/content" : "");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	while (now_s() < w->until) {
		double t0 = now_s();
		long status = 0;
		if (curl_easy_perform(c) != CURLE_OK ||
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
		    status >= 300) {
			w->errors++;
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 1024;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
			if (w->lat == NULL)
				abort();
		}
		w->lat[w->n++] = now_s() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct worker *w;
	uint8_t *body = NULL;
	size_t size, threads, total = 0, errors = 0;
	double secs, start, elapsed, *all;
	size_t k = 0;

	if (argc < 8) {
		fprintf(stderr, "usage: bench_node URL TOKEN submit|get|content SIZE THREADS SECONDS PATIENT|RECORD\n");
		return 2;
	}
	size = strtoul(argv[4], NULL, 10);
	threads = strtoul(argv[5], NULL, 10);
	secs = strtod(argv[6], NULL);
	if (threads == 0 || threads > 64 || secs <= 0)
		return 2;
	if (strcmp(argv[3], "submit") == 0) {
		body = malloc(size ? size : 1);
		for (size_t i = 0; i < size; i++)
			body[i] = (uint8_t)(i * 2654435761u >> 13);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w = calloc(threads, sizeof(*w));
	start = now_s();
	for (size_t i = 0; i < threads; i++) {
		w[i] = (struct worker){ .url = argv[1], .token = argv[2], .op = argv[3],
					.arg = argv[7], .body = body, .size = size,
					.until = start + secs };
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	for (size_t i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	elapsed = now_s() - start;
	all = malloc((total ? total : 1) * sizeof(double));
	for (size_t i = 0; i < threads; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp);
	printf("%s size=%zu threads=%zu: %zu ok, %zu errors in %.1f s: %.1f req/s, p50 %.1f ms, p99 %.1f ms\n",
	       argv[3], size, threads, total, errors, elapsed, (double)total / elapsed,
	       total ? all[total / 2] * 1e3 : 0.0, total ? all[(size_t)((double)total * 0.99)] * 1e3 : 0.0);
	free(all);
	free(w);
	free(body);
	curl_global_cleanup();
	return errors > total ? 1 : 0;
}
