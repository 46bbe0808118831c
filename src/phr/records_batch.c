/*
 * Batches of records (records_batch.h): concurrent provider-to-patient
 * flows until the contracts have a batch mint.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "phr/records_batch.h"

#define BATCH_WORKERS 8

struct batch {
	struct phr_node *node;
	const struct phr_identity *provider;
	const struct phr_record_item *items;
	struct phr_record_receipt *out;
	int *rv;
	size_t count;
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct batch *b = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&b->next, 1);
		const struct phr_record_item *it;
		if (i >= b->count)
			break;
		it = &b->items[i];
		b->rv[i] = phr_node_record_submit(b->node, &b->out[i], b->provider, it->patient, it->rtype,
						  &it->supersedes, it->data, it->len);
	}
	return NULL;
}

int phr_node_records_submit_batch(struct phr_node *node, struct phr_record_receipt *out,
				  int *results, const struct phr_identity *provider,
				  const struct phr_record_item *items, size_t count)
{
	pthread_t t[BATCH_WORKERS];
	size_t started = 0, nt;
	struct batch b;
	int rv = PHR_OK;

	if (count == 0)
		return PHR_OK;
	if (node == NULL || out == NULL || provider == NULL || items == NULL)
		return PHR_ERR_INVALID;
	if (count > PHR_RECORD_BATCH_MAX)
		return PHR_ERR_TOO_LARGE;
	memset(&b, 0, sizeof(b));
	b.node = node;
	b.provider = provider;
	b.items = items;
	b.out = out;
	b.count = count;
	b.rv = phr_calloc(count, sizeof(int));
	if (b.rv == NULL)
		return PHR_ERR_NOMEM;
	atomic_init(&b.next, 0);
	nt = count < BATCH_WORKERS ? count : BATCH_WORKERS;
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&t[started], NULL, worker, &b) == 0)
			started++;
	worker(&b); /* the caller's thread works too */
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < count; i++) {
		if (results != NULL)
			results[i] = b.rv[i];
		if (rv == PHR_OK)
			rv = b.rv[i];
	}
	phr_free(b.rv);
	return rv;
}
