/* Helpers shared by the node tests. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "node_test_util.h"
#include "phr/crypto.h"
#include "phr/phr.h"

char *node_test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(512);

	if (p == NULL)
		return NULL;
	snprintf(p, 512, "%s/phr-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static int walk(const char *dir, void (*fn)(void *, const char *, bool), void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char p[4096];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(p, fn, ctx);
			fn(ctx, p, true);
		} else {
			fn(ctx, p, false);
		}
	}
	closedir(d);
	return 0;
}

static void rm_one(void *ctx, const char *p, bool is_dir)
{
	(void)ctx;
	if (is_dir)
		rmdir(p);
	else
		unlink(p);
}

void node_test_rmrf(const char *path)
{
	if (path == NULL)
		return;
	walk(path, rm_one, NULL);
	rmdir(path);
}

struct scan {
	const uint8_t *needle;
	size_t n, hits, files;
};

static void scan_one(void *ctx, const char *p, bool is_dir)
{
	struct scan *s = ctx;
	FILE *f;
	long sz;
	uint8_t *buf;

	if (is_dir || (f = fopen(p, "rb")) == NULL)
		return;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = sz > 0 ? malloc((size_t)sz) : NULL;
	if (buf != NULL && fread(buf, 1, (size_t)sz, f) == (size_t)sz) {
		s->files++;
		if (memmem(buf, (size_t)sz, s->needle, s->n) != NULL) {
			fprintf(stderr, "plaintext found in %s\n", p);
			s->hits++;
		}
	}
	free(buf);
	fclose(f);
}

size_t node_test_scan(const char *dir, const uint8_t *needle, size_t n, size_t *files)
{
	struct scan s = { needle, n, 0, 0 };

	walk(dir, scan_one, &s);
	if (files != NULL)
		*files += s.files;
	return s.hits;
}

const struct phr_identity *node_test_identity(struct phr_node *node, const char *name,
					      uint32_t index)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;
	int rv = phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index);

	if (rv == PHR_OK)
		rv = phr_identity_new(&id, name, sk);
	sodium_memzero(sk, sizeof(sk));
	if (rv == PHR_OK)
		rv = phr_node_add_identity(node, id);
	if (rv == PHR_ERR_EXISTS)
		phr_identity_free(id); /* not taken (on NOMEM the node freed it) */
	return rv == PHR_OK ? id : NULL;
}

int node_stack_open(struct node_stack *s, const char *tag)
{
	return node_stack_open_artifacts(s, tag, "contracts/artifacts");
}

int node_stack_open_artifacts(struct node_stack *s, const char *tag, const char *artifacts)
{
	struct phr_chain_config cfg = { 0 };
	struct phr_deployment d;
	char p[1024];
	uint8_t sk[32];

	memset(s, 0, sizeof(*s));
	if (phr_crypto_init() != PHR_OK || (s->dir = node_test_tmpdir(tag)) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/chain", s->dir);
	cfg.datadir = p;
	cfg.dev = true;
	if (phr_chain_node_open(&s->cn, &cfg) != PHR_OK ||
	    phr_chain_open_embedded(&s->chain, s->cn) != PHR_OK)
		return -1;
	snprintf(p, sizeof(p), "%s/store", s->dir);
	if (phr_store_open(&s->store, p) != PHR_OK ||
	    phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 0) != PHR_OK ||
	    phr_deployment_deploy(&d, s->chain, sk, artifacts) != PHR_OK)
		return -1;
	snprintf(p, sizeof(p), "%s/deployment.json", s->dir);
	if (phr_deployment_save(&d, p) != PHR_OK ||
	    phr_node_open(&s->node, s->chain, s->store, &d, s->dir) != PHR_OK)
		return -1;
	return 0;
}

void node_stack_close(struct node_stack *s)
{
	phr_node_close(s->node);
	phr_store_close(s->store);
	phr_chain_close(s->chain);
	phr_chain_node_close(s->cn);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(s->dir);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

/* Starts argv with stdout and stderr to files; waits for @p marker in stdout; returns what follows it. */
pid_t node_test_spawn(const char *const argv[], const char *out_path, const char *err_path,
		   const char *marker, char *after, size_t after_cap)
{
	pid_t pid = fork();
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	for (int i = 0; i < 1200 && pid > 0; i++) {
		char buf[8192];
		FILE *f = fopen(out_path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		char *p;
		if (f)
			fclose(f);
		buf[n] = 0;
		if ((p = strstr(buf, marker)) != NULL && strchr(p, '\n') != NULL) {
			p += strlen(marker);
			snprintf(after, after_cap, "%.*s", (int)strcspn(p, "\r\n"), p);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int node_test_stop(pid_t pid)
{
	int st = -1;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}


int node_test_token(char *token, size_t token_cap, char addr[64], const char *node_dir,
		    const char *name)
{
	char path[1024];
	json_t *j, *o;
	const char *t, *a;

	snprintf(path, sizeof(path), "%s/dev/tokens.json", node_dir);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		return -1;
	o = json_object_get(j, name);
	t = json_string_value(json_object_get(o, "token"));
	a = json_string_value(json_object_get(o, "address"));
	if (t == NULL || a == NULL) {
		json_decref(j);
		return -1;
	}
	snprintf(token, token_cap, "%s", t);
	if (addr != NULL)
		snprintf(addr, 64, "%s", a);
	json_decref(j);
	return 0;
}

pid_t node_proc_start(struct node_proc *p, unsigned run)
{
	char o[800], e[800];
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", p->node_dir, "--listen",
			       "127.0.0.1:0", "--dev", "--threads", "16", NULL };

	snprintf(o, sizeof(o), "%s/node%u.out", p->dir, run);
	snprintf(e, sizeof(e), "%s/node%u.log", p->dir, run);
	p->pid = node_test_spawn(argv, o, e, "listening on ", p->url, sizeof(p->url));
	return p->pid;
}

int node_proc_open(struct node_proc *p, const char *tag)
{
	memset(p, 0, sizeof(*p));
	if (getenv("PHR_BIN") == NULL || (p->dir = node_test_tmpdir(tag)) == NULL)
		return -1;
	snprintf(p->node_dir, sizeof(p->node_dir), "%s/n", p->dir);
	return node_proc_start(p, 1) > 0 ? 0 : -1;
}

void node_proc_close(struct node_proc *p)
{
	if (p->pid > 0)
		node_test_stop(p->pid);
	p->pid = 0;
	if (p->dir != NULL && getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(p->dir);
	free(p->dir);
	p->dir = NULL;
}
