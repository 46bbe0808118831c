/*
 * Peers: other nodes that hold blocks and key capsules this node lacks.
 * Capsule CIDs come from a peer's API, blocks from its trustless gateway
 * (every block verified against its CID by phr_gw_fetch).
 */
#include <curl/curl.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/json.h"
#include "phr_int.h"

int phr_node_add_peer(struct phr_node *n, const char *url)
{
	char *u;

	if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    strlen(url) > 256)
		return PHR_ERR_INVALID;
	pthread_mutex_lock(&n->lock);
	if (n->n_peers == PHR_NODE_MAX_PEERS) {
		pthread_mutex_unlock(&n->lock);
		return PHR_ERR_NOMEM;
	}
	u = phr_strdup(url);
	if (u != NULL)
		n->peers[n->n_peers++] = u;
	pthread_mutex_unlock(&n->lock);
	return u ? PHR_OK : PHR_ERR_NOMEM;
}

/* Calls @p fn for every peer (configured, then DIR/peers) until it returns PHR_OK. */
static int each_peer(struct phr_node *n, int (*fn)(struct phr_node *, const char *, void *),
		     void *ctx)
{
	char path[600];
	struct phr_buf file;
	int rv = PHR_ERR_NOT_FOUND;

	for (size_t i = 0; i < n->n_peers && rv != PHR_OK; i++)
		rv = fn(n, n->peers[i], ctx);
	if (rv == PHR_OK)
		return rv;
	snprintf(path, sizeof(path), "%s/peers", n->datadir);
	phr_buf_init(&file, 65536);
	if (phr_file_read(&file, path, 65536) == PHR_OK && file.len > 0) {
		char *s = (char *)file.data, *save = NULL, *line;
		for (line = strtok_r(s, "\n", &save); line != NULL && rv != PHR_OK;
		     line = strtok_r(NULL, "\n", &save)) {
			size_t l = strlen(line);
			while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '/'))
				line[--l] = '\0';
			if (strncmp(line, "http://", 7) == 0 || strncmp(line, "https://", 8) == 0)
				rv = fn(n, line, ctx);
		}
	}
	phr_buf_release(&file);
	return rv;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
	return phr_buf_append(ctx, p, sz * nm) == PHR_OK ? sz * nm : 0;
}

struct capsule_q {
	const struct phr_u256 *record;
	const uint8_t *reader;
	char *cid;
};

static int ask_capsule(struct phr_node *n, const char *peer, void *ctx)
{
	struct capsule_q *q = ctx;
	char url[700], id[PHR_U256_DEC_LEN], addr[PHR_ETH_ADDRESS_STR_LEN];
	struct phr_buf body;
	struct phr_cid c;
	const char *s;
	json_t *j = NULL;
	long status = 0;
	CURL *h;
	int rv = PHR_ERR_NOT_FOUND;

	phr_u256_to_dec(id, q->record);
	phr_eth_address_checksum(addr, q->reader);
	snprintf(url, sizeof(url), "%s/api/v1/records/%s/capsules/%s", peer, id, addr);
	h = curl_easy_init();
	if (h == NULL)
		return PHR_ERR_NOMEM;
	phr_buf_init(&body, 16384);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
	    phr_json_parse(&j, NULL, 0, (const char *)body.data, body.len) == PHR_OK &&
	    phr_json_get_str(&s, j, "cid") == PHR_OK && strlen(s) < PHR_CID_STR_MAX &&
	    phr_cid_parse(&c, s) == PHR_OK) {
		/* the capsule block itself, verified against its CID */
		rv = phr_gw_fetch(n->store, peer, &c, NULL);
		if (rv == PHR_OK) {
			memcpy(q->cid, s, strlen(s) + 1);
			rv = phr_node_i_capsule_put(n, q->record, q->reader, s);
			phr_log_info("phr", "key capsule of record %s fetched from %s", id, peer);
		}
	}
	json_decref(j);
	phr_buf_release(&body);
	curl_easy_cleanup(h);
	return rv;
}

int phr_node_i_peer_capsule(struct phr_node *n, char cid[PHR_CID_STR_MAX],
			    const struct phr_u256 *record, const uint8_t reader[20])
{
	struct capsule_q q = { record, reader, cid };

	return each_peer(n, ask_capsule, &q);
}

static int fetch_dag(struct phr_node *n, const char *peer, void *ctx)
{
	uint64_t got = 0;
	int rv = phr_gw_fetch(n->store, peer, ctx, &got);

	if (rv == PHR_OK)
		phr_log_info("phr", "fetched %llu blocks of ciphertext from %s",
			     (unsigned long long)got, peer);
	return rv;
}

int phr_node_i_ensure_blocks(struct phr_node *n, const struct phr_cid *root)
{
	struct phr_cid copy = *root;

	if (phr_store_has(n->store, root))
		return PHR_OK;
	return each_peer(n, fetch_dag, &copy);
}
