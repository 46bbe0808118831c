/* Shared helpers of the chain tests (see chain_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain_test_util.h"
#include "phr/crypto.h"
#include "phr/tx.h"

/*
 * A hand-assembled contract. Runtime: with empty calldata it returns
 * sload(0); otherwise v = calldataload(0); sstore(0, v); log1(0, 0, v).
 * Init code copies the 30-byte runtime and returns it.
 */
static const uint8_t contract_init[] = {
	0x60, 0x1e, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
	/* runtime */
	0x36, 0x15, 0x60, 0x12, 0x57, 0x60, 0x00, 0x35, 0x80, 0x60, 0x00, 0x55, 0x60, 0x00, 0x60,
	0x00, 0xa1, 0x00, 0x5b, 0x60, 0x00, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
};

/*
 * Init code of a contract whose every call logs three topics (the call's
 * word w, w + 1, w + 2), each with LOG1 and no data: one block, three logs.
 */
static const uint8_t triple_init[] = {
	0x60, 0x1c, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x1c, 0x60, 0x00, 0xf3,
	/* runtime: PUSH1 0 CALLDATALOAD, then 3x (DUP1 PUSH1 0 PUSH1 0 LOG1), w += 1 between */
	0x60, 0x00, 0x35, 0x80, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x60, 0x01, 0x01, 0x80, 0x60, 0x00,
	0x60, 0x00, 0xa1, 0x60, 0x01, 0x01, 0x80, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00,
};

int chain_test_send(struct phr_chain *c, uint8_t hash[32], uint32_t key_index, const uint8_t *to,
		    const uint8_t *data, size_t data_len, uint64_t value_wei)
{
	struct phr_rpc_error err = { 0 };
	struct phr_tx tx;
	struct phr_buf raw;
	struct phr_u256 price, two = phr_u256_from_u64(2);
	uint8_t key[32], from[20];
	uint64_t gas;
	int rc;

	rc = phr_bip32_eth_key(key, "test test test test test test test test test test test junk",
			       key_index);
	if (rc != PHR_OK)
		return rc;
	rc = phr_eth_address_from_seckey(from, key);
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	if (rc == PHR_OK)
		rc = phr_chain_chain_id(c, &tx.chain_id);
	if (rc == PHR_OK)
		rc = phr_chain_nonce(c, &tx.nonce, from);
	if (rc == PHR_OK)
		rc = phr_chain_gas_price(c, &price);
	if (rc == PHR_OK) {
		struct phr_u256 v = phr_u256_from_u64(value_wei);

		rc = phr_chain_estimate_gas(c, &gas, from, to, &v, data, data_len);
	}
	if (rc != PHR_OK)
		goto out;
	tx.gas_limit = gas + gas / 5;
	phr_u256_mul(&tx.max_fee, &price, &two);
	tx.max_priority_fee = phr_u256_from_u64(1000000000);
	if (phr_u256_cmp(&tx.max_priority_fee, &tx.max_fee) > 0)
		tx.max_priority_fee = tx.max_fee;
	tx.has_to = to != NULL;
	if (to)
		memcpy(tx.to, to, 20);
	tx.value = phr_u256_from_u64(value_wei);
	rc = phr_tx_set_data(&tx, data, data_len);
	if (rc == PHR_OK)
		rc = phr_tx_sign(&tx, key);
	phr_buf_init(&raw, 0);
	if (rc == PHR_OK)
		rc = phr_tx_encode(&raw, &tx);
	if (rc == PHR_OK) {
		rc = phr_chain_send_raw(c, hash, &err, raw.data, raw.len);
		if (rc != PHR_OK)
			fprintf(stderr, "send: %d %s\n", err.code, err.message);
	}
	phr_buf_release(&raw);
out:
	phr_rpc_error_release(&err);
	phr_tx_release(&tx);
	memset(key, 0, sizeof(key));
	return rc;
}

int chain_test_deploy(struct phr_chain *c, uint8_t addr[20], uint32_t key_index)
{
	struct phr_chain_receipt r;
	uint8_t hash[32];
	int rc = chain_test_send(c, hash, key_index, NULL, contract_init, sizeof(contract_init), 0);

	if (rc == PHR_OK)
		rc = phr_chain_wait_receipt(c, &r, hash, 10000);
	if (rc != PHR_OK)
		return rc;
	if (!r.status || !r.has_contract)
		rc = PHR_ERR_STATE;
	else
		memcpy(addr, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	return rc;
}

/* @p f asks for the logs of @p contract from block @p from to the head. */
static void address_filter(struct phr_chain_filter *f, const uint8_t contract[20], uint64_t from)
{
	f->from_block = from;
	f->to_block = UINT64_MAX;
	f->addresses = (const uint8_t(*)[20])contract;
	f->addresses_count = 1;
}

void chain_scenario_run(struct phr_chain *c)
{
	struct phr_chain_receipt r;
	struct phr_chain_log *logs;
	struct phr_chain_filter f = { 0 };
	struct phr_buf out;
	struct phr_u256 bal0, bal1;
	uint8_t hash[32], contract[20], word[32] = { 0 }, slot[32] = { 0 }, val[32], from[20], to[20];
	uint8_t triple[20], two[2][32];
	uint64_t id, n0, n1, b0, b1;
	size_t count;

	assert_int_equal(phr_chain_chain_id(c, &id), PHR_OK);
	assert_int_equal(id, 31337);
	assert_int_equal(phr_chain_block_number(c, &b0), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(from, 20, "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(to, 20, "70997970c51812dc3a010c7d01b50e0d17dc79c8"), PHR_OK);
	assert_int_equal(phr_chain_nonce(c, &n0, from), PHR_OK);

	/* deploy */
	assert_int_equal(chain_test_send(c, hash, 0, NULL, contract_init, sizeof(contract_init), 0), PHR_OK);
	assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
	assert_true(r.status);
	assert_true(r.has_contract);
	assert_memory_equal(r.tx_hash, hash, 32);
	memcpy(contract, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_chain_code(c, &out, contract), PHR_OK);
	assert_int_equal(out.len, 30);
	assert_memory_equal(out.data, contract_init + 11, 30);
	phr_buf_release(&out);

	/* a call that stores 42 and logs it */
	word[31] = 42;
	assert_int_equal(chain_test_send(c, hash, 0, contract, word, 32, 0), PHR_OK);
	assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
	assert_true(r.status);
	assert_false(r.has_contract);
	assert_int_equal(r.logs_count, 1);
	assert_memory_equal(r.logs[0].address, contract, 20);
	assert_int_equal(r.logs[0].topics_count, 1);
	assert_memory_equal(r.logs[0].topics[0], word, 32);
	assert_int_equal(r.logs[0].data_len, 0);
	assert_memory_equal(r.logs[0].tx_hash, hash, 32);
	assert_true(r.gas_used > 21000 + 20000);
	phr_chain_receipt_release(&r);

	/* view, storage */
	phr_buf_init(&out, 0);
	assert_int_equal(phr_chain_call(c, &out, NULL, contract, NULL, 0), PHR_OK);
	assert_int_equal(out.len, 32);
	assert_memory_equal(out.data, word, 32);
	phr_buf_release(&out);
	assert_int_equal(phr_chain_storage(c, val, contract, slot), PHR_OK);
	assert_memory_equal(val, word, 32);

	/* logs by address and by topic */
	address_filter(&f, contract, b0);
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 1);
	assert_memory_equal(logs[0].topics[0], word, 32);
	phr_chain_logs_free(logs, count);
	f.addresses_count = 0;
	f.topics[0] = (const uint8_t(*)[32])word;
	f.topics_count[0] = 1;
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 1);
	phr_chain_logs_free(logs, count);
	f.topics[0] = (const uint8_t(*)[32])slot; /* topic 0: no such log */
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 0);

	/* a value transfer */
	assert_int_equal(phr_chain_balance(c, &bal0, to), PHR_OK);
	assert_int_equal(chain_test_send(c, hash, 0, to, NULL, 0, 12345), PHR_OK);
	assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
	assert_int_equal(r.gas_used, 21000);
	phr_chain_receipt_release(&r);
	assert_int_equal(phr_chain_balance(c, &bal1, to), PHR_OK);
	phr_u256_sub(&bal1, &bal1, &bal0);
	assert_true(phr_u256_fits_u64(&bal1));
	assert_int_equal(bal1.w[0], 12345);
	assert_int_equal(phr_chain_nonce(c, &n1, from), PHR_OK);
	assert_int_equal(n1, n0 + 3);
	assert_int_equal(phr_chain_block_number(c, &b1), PHR_OK);
	assert_true(b1 >= b0 + 1);
	/* an unknown receipt */
	memset(hash, 0xab, 32);
	assert_int_equal(phr_chain_receipt(c, &r, hash), PHR_ERR_NOT_FOUND);

	/* a range the chain refuses (PHR_CHAIN_LOGS_MAX: at most 2 logs an answer where
	 * the chain runs in this process; 4 logs in 4 blocks here) is split by
	 * phr_chain_get_logs and the answers joined in order */
	for (uint8_t v = 43; v <= 45; v++) {
		word[31] = v;
		assert_int_equal(chain_test_send(c, hash, 0, contract, word, 32, 0), PHR_OK);
		assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
		assert_true(r.status);
		phr_chain_receipt_release(&r);
	}
	assert_int_equal(setenv("PHR_CHAIN_LOGS_MAX", "2", 1), 0);
	memset(&f, 0, sizeof(f));
	address_filter(&f, contract, b0);
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 4);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(logs[i].topics[0][31], 42 + i);
		if (i > 0)
			assert_true(logs[i].block_number > logs[i - 1].block_number);
	}
	phr_chain_logs_free(logs, count);

	/* one block with more logs than one answer may hold: read from its receipts,
	 * with the filter's address and topic OR-list applied to them */
	assert_int_equal(unsetenv("PHR_CHAIN_LOGS_MAX"), 0);
	assert_int_equal(chain_test_send(c, hash, 0, NULL, triple_init, sizeof(triple_init), 0), PHR_OK);
	assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
	assert_true(r.status && r.has_contract);
	memcpy(triple, r.contract_address, 20);
	phr_chain_receipt_release(&r);
	word[31] = 100;
	assert_int_equal(chain_test_send(c, hash, 0, triple, word, 32, 0), PHR_OK);
	assert_int_equal(phr_chain_wait_receipt(c, &r, hash, 10000), PHR_OK);
	assert_true(r.status);
	assert_int_equal(r.logs_count, 3);
	phr_chain_receipt_release(&r);
	assert_int_equal(setenv("PHR_CHAIN_LOGS_MAX", "2", 1), 0);
	memset(&f, 0, sizeof(f));
	address_filter(&f, triple, b0);
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 3);
	for (size_t i = 0; i < count; i++) {
		assert_memory_equal(logs[i].address, triple, 20);
		assert_int_equal(logs[i].topics[0][31], 100 + i);
		assert_memory_equal(logs[i].tx_hash, hash, 32);
		assert_int_equal(logs[i].block_number, logs[0].block_number);
		if (i > 0)
			assert_int_equal(logs[i].log_index, logs[i - 1].log_index + 1);
	}
	phr_chain_logs_free(logs, count);
	/* the topics 100 and 102 of any address: 2 logs over a bound of 1 */
	assert_int_equal(setenv("PHR_CHAIN_LOGS_MAX", "1", 1), 0);
	memcpy(two[0], word, 32);
	memcpy(two[1], word, 32);
	two[1][31] = 102;
	memset(&f, 0, sizeof(f));
	f.from_block = b0;
	f.to_block = UINT64_MAX;
	f.topics[0] = (const uint8_t(*)[32])two;
	f.topics_count[0] = 2;
	assert_int_equal(phr_chain_get_logs(c, &logs, &count, &f), PHR_OK);
	assert_int_equal(count, 2);
	assert_int_equal(logs[0].topics[0][31], 100);
	assert_int_equal(logs[1].topics[0][31], 102);
	phr_chain_logs_free(logs, count);
	assert_int_equal(unsetenv("PHR_CHAIN_LOGS_MAX"), 0);
}

pid_t chain_spawn(const char *const argv[], const char *marker, unsigned *port)
{
	char path[] = "/tmp/phr-chain-spawn-XXXXXX";
	int fd = mkstemp(path);
	pid_t pid;
	int tries;

	if (fd < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 1);
		close(fd);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fd);
	/* the child writes its address to the file: poll it for up to 20 s */
	for (tries = 0; tries < 2000; tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		char line[512];
		FILE *f = fopen(path, "r");

		while (f && fgets(line, sizeof(line), f)) {
			char *m = strstr(line, marker), *colon;
			unsigned long p;

			if (!m || !(colon = strrchr(m, ':')))
				continue;
			p = strtoul(colon + 1, NULL, 10);
			if (p > 0 && p < 65536) {
				fclose(f);
				unlink(path);
				*port = (unsigned)p;
				return pid;
			}
		}
		if (f)
			fclose(f);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		nanosleep(&ts, NULL);
	}
	unlink(path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int chain_stop(pid_t pid, int sig)
{
	int status;

	if (kill(pid, sig) != 0)
		return -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *chain_tmpdir(void)
{
	char tmpl[] = "/tmp/phr-chain-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? phr_strdup(d) : NULL;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[1024];

	if (d) {
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

void chain_rmdir(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/phr-chain-test-", 20) == 0)
		rm_rf(dir);
}

void chain_test_logged_call(struct phr_chain *c, struct phr_chain_receipt *r, uint8_t contract[20],
			    uint8_t fill)
{
	uint8_t hash[32], data[32];

	assert_int_equal(chain_test_deploy(c, contract, 0), PHR_OK);
	memset(data, fill, sizeof(data));
	assert_int_equal(chain_test_send(c, hash, 0, contract, data, sizeof(data), 0), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, r, hash), PHR_OK);
	assert_true(r->logs_count > 0);
}
