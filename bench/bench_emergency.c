/*
 * Emergency escrow and notification costs, in process (no chain calls):
 *  - phr_emergency_prepare (encrypt, split 2-of-3, seal, sign 3 deposits)
 *  - deposit parse + share open at a holder (the crypto part of a deposit)
 *  - a holder's release crypto (open its share, re-seal to the requester)
 *  - phr_emergency_combine of 2 answers (open, Lagrange, CID check, decrypt)
 *  - phr_notify: durable enqueue (SQLite WAL, synchronous=FULL) with one webhook
 *  - webhook delivery to a local receiver (HTTP POST + HMAC + state update)
 *
 * usage: bench_emergency SUMMARY_FILE DATADIR
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/emergency.h"
#include "phr/json.h"
#include "phr/notify.h"
#include "phr/phr.h"
#include "phr/store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, size_t n, double secs)
{
	printf("%-58s %8.1f ops/s  %9.1f us/op\n", what, (double)n / secs, secs * 1e6 / (double)n);
}

static void die(const char *what, int rv)
{
	fprintf(stderr, "bench_emergency: %s: %s\n", what, phr_strerror(rv));
	exit(1);
}

/* A receiver that answers 204 to everything (one thread, one connection at a time). */
static int recv_fd;
static volatile int recv_stop;

static void *receiver(void *arg)
{
	char buf[16384];

	(void)arg;
	while (!recv_stop) {
		int c = accept(recv_fd, NULL, NULL);
		ssize_t r;
		if (c < 0)
			continue;
		r = recv(c, buf, sizeof(buf), 0); /* the requests are small: one read is enough */
		(void)r;
		static const char ok[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (send(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
			perror("send");
		close(c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct phr_escrow_holder hs[3];
	uint8_t hpk[3][32], hsk[3][32], psk[32], rsk[32], rpk[32], rbsk[32], share[33];
	uint8_t sealed[PHR_ESCROW_SEALED_BYTES];
	struct phr_buf sum, out;
	json_t *deps = NULL, *answers[2];
	struct phr_escrow_deposit d;
	char cid[PHR_CID_STR_MAX], dir[600];
	size_t N = 200;
	double t0;
	int rv;

	if (argc != 3 || phr_crypto_init() != PHR_OK)
		return 2;
	phr_buf_init(&sum, 0);
	phr_buf_init(&out, 0);
	if ((rv = phr_file_read(&sum, argv[1], 60000)) != PHR_OK)
		die("summary", rv);
	printf("summary: %zu bytes, 2-of-3 holders\n", sum.len);
	randombytes_buf(psk, 32);
	randombytes_buf(rsk, 32);
	psk[0] = rsk[0] = 1; /* below the curve order */
	if ((rv = phr_identity_box_keys(rpk, rbsk, rsk)) != PHR_OK)
		die("keys", rv);
	for (int i = 0; i < 3; i++) {
		if ((rv = phr_crypto_box_keypair(hpk[i], hsk[i])) != PHR_OK)
			die("holder keys", rv);
		snprintf(hs[i].url, sizeof(hs[i].url), "http://127.0.0.1:%d", 9000 + i);
		randombytes_buf(hs[i].address, 20);
		memcpy(hs[i].box_pk, hpk[i], 32);
	}
	/* prepare */
	t0 = now_s();
	for (size_t k = 0; k < N; k++) {
		json_decref(deps);
		deps = NULL;
		if ((rv = phr_emergency_prepare(&deps, cid, psk, NULL, sum.data, sum.len, 2, hs, 3, NULL, NULL,
						0, 1000 + k)) != PHR_OK)
			die("prepare", rv);
	}
	report("setup: prepare 3 deposits (encrypt, split, seal, sign)", N, now_s() - t0);
	/* deposit crypto at a holder */
	t0 = now_s();
	for (size_t k = 0; k < N; k++) {
		const char *b = json_string_value(json_object_get(json_array_get(deps, 0), "body"));
		if ((rv = phr_escrow_deposit_parse(&d, b, strlen(b))) != PHR_OK ||
		    (rv = phr_escrow_share_open(share, d.sealed, hpk[0], hsk[0], d.manifest.patient,
						d.manifest.summary_cid)) != PHR_OK)
			die("deposit", rv);
		phr_escrow_deposit_release(&d);
	}
	report("holder: deposit parse, 2 signatures recovered, share opened", N, now_s() - t0);
	/* release crypto and the answers of holders 0 and 2 */
	for (int a = 0; a < 2; a++) {
		int i = a == 0 ? 0 : 2;
		const char *b = json_string_value(json_object_get(json_array_get(deps, (size_t)i), "body"));
		json_t *env = json_loads(b, 0, NULL), *in;
		in = json_loads(json_string_value(json_object_get(env, "deposit")), 0, NULL);
		if ((rv = phr_escrow_deposit_parse(&d, b, strlen(b))) != PHR_OK)
			die("deposit", rv);
		t0 = now_s();
		for (size_t k = 0; k < (a == 0 ? N : 1); k++)
			if ((rv = phr_escrow_share_open(share, d.sealed, hpk[i], hsk[i], d.manifest.patient,
							d.manifest.summary_cid)) != PHR_OK ||
			    (rv = phr_escrow_share_seal(sealed, share, d.manifest.patient,
							d.manifest.summary_cid, rpk)) != PHR_OK)
				die("release", rv);
		if (a == 0)
			report("holder: release crypto (open share, re-seal to requester)", N,
			       now_s() - t0);
		answers[a] = json_pack("{s:O,s:O,s:s,s:O}", "manifest", json_object_get(in, "manifest"),
				       "manifestSignature", json_object_get(in, "manifestSignature"),
				       "holder", "", "ciphertext", json_object_get(in, "ciphertext"));
		{
			char a_s[PHR_ETH_ADDRESS_STR_LEN], *hex = phr_malloc(2 * sizeof(sealed) + 3);
			phr_eth_address_checksum(a_s, hs[i].address);
			json_object_set_new(answers[a], "holder", json_string(a_s));
			if (hex == NULL || phr_hex_encode(hex, 2 * sizeof(sealed) + 3, sealed,
							  sizeof(sealed), true) != PHR_OK)
				die("hex", PHR_ERR_NOMEM);
			json_object_set_new(answers[a], "sealedShare", json_string(hex));
			phr_free(hex);
		}
		phr_escrow_deposit_release(&d);
		json_decref(in);
		json_decref(env);
	}
	{
		uint8_t patient[20];
		if ((rv = phr_eth_address_from_seckey(patient, psk)) != PHR_OK)
			die("address", rv);
		t0 = now_s();
		for (size_t k = 0; k < N; k++) {
			phr_buf_reset(&out);
			if ((rv = phr_emergency_combine(&out, rsk, patient, NULL, answers, 2)) != PHR_OK)
				die("combine", rv);
		}
		report("provider: combine 2 answers (open, Lagrange, CID, decrypt)", N, now_s() - t0);
		if (out.len != sum.len || memcmp(out.data, sum.data, sum.len) != 0)
			die("combine result", PHR_ERR_CORRUPT);
	}
	/* notifications on a node over an embedded chain (no contracts needed) */
	{
		struct phr_chain_config cfg = { 0 };
		struct phr_chain_node *cn = NULL;
		struct phr_chain *chain = NULL;
		struct phr_store *store = NULL;
		struct phr_node *node = NULL;
		struct phr_deployment dep;
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		pthread_t th;
		uint8_t rcpt[20] = { 0xaa }, secret[32] = { 1 };
		char url[80], p[700];
		size_t delivered = 0, ok = 0;
		uint64_t sub = 0;
		json_t *pl = json_pack("{s:s,s:s}", "event", "bench", "patient", "0x00");

		memset(&dep, 0, sizeof(dep));
		snprintf(p, sizeof(p), "%s/chain", argv[2]);
		cfg.datadir = p;
		cfg.dev = true;
		if ((rv = phr_chain_node_open(&cn, &cfg)) != PHR_OK ||
		    (rv = phr_chain_open_embedded(&chain, cn)) != PHR_OK)
			die("chain", rv);
		snprintf(p, sizeof(p), "%s/store", argv[2]);
		if ((rv = phr_store_open(&store, p)) != PHR_OK)
			die("store", rv);
		snprintf(dir, sizeof(dir), "%s/node", argv[2]);
		if ((rv = phr_node_open(&node, chain, store, &dep, dir)) != PHR_OK)
			die("node", rv);
		recv_fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(recv_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(recv_fd, 64) != 0 ||
		    getsockname(recv_fd, (struct sockaddr *)&sa, &sl) != 0 ||
		    pthread_create(&th, NULL, receiver, NULL) != 0)
			die("receiver", PHR_ERR_NETWORK);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned)ntohs(sa.sin_port));
		if ((rv = phr_notify_subscribe(node, &sub, rcpt, url, secret, sizeof(secret))) != PHR_OK)
			die("subscribe", rv);
		t0 = now_s();
		for (size_t k = 0; k < N; k++)
			if ((rv = phr_notify(node, rcpt, "emergency", pl)) != PHR_OK)
				die("notify", rv);
		report("phr_notify: durable enqueue, 1 webhook (WAL, sync FULL)", N, now_s() - t0);
		t0 = now_s();
		while (delivered < N) {
			if ((rv = phr_notify_deliver_due(node, &ok, NULL, 0)) != PHR_OK || ok == 0)
				die("deliver", rv == PHR_OK ? PHR_ERR_NETWORK : rv);
			delivered += ok;
		}
		report("webhook delivery: POST + HMAC + state update, loopback", N, now_s() - t0);
		recv_stop = 1;
		shutdown(recv_fd, SHUT_RDWR);
		close(recv_fd);
		pthread_join(th, NULL);
		json_decref(pl);
		phr_node_close(node);
		phr_store_close(store);
		phr_chain_close(chain);
		phr_chain_node_close(cn);
	}
	json_decref(answers[0]);
	json_decref(answers[1]);
	json_decref(deps);
	phr_buf_release(&sum);
	phr_buf_release(&out);
	return 0;
}
