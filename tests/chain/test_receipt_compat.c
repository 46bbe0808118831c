/*
 * Receipts of databases written before 2026-11-25 (table receipts, the bloom stored, no
 * receipt column in txs): after opening such a database (the column is added) the old
 * receipts answer as before, and new blocks store theirs with the transaction. The old
 * shape is made from a new database with SQL: txs rebuilt without the column and the
 * receipt written into table receipts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "chain_test_util.h"
#include "phr/crypto.h"

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void same_receipt(const struct phr_chain_receipt *a, const struct phr_chain_receipt *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->cumulative_gas, b->cumulative_gas);
	assert_int_equal(a->gas_used, b->gas_used);
	assert_true(phr_u256_eq(&a->effective_gas_price, &b->effective_gas_price));
	assert_memory_equal(a->from, b->from, 20);
	assert_int_equal(a->has_to, b->has_to);
	assert_memory_equal(a->to, b->to, 20);
	assert_int_equal(a->has_contract, b->has_contract);
	assert_memory_equal(a->contract_address, b->contract_address, 20);
	assert_memory_equal(a->bloom, b->bloom, PHR_CHAIN_BLOOM_BYTES);
	assert_memory_equal(a->block_hash, b->block_hash, 32);
	assert_int_equal(a->block_number, b->block_number);
	assert_int_equal(a->tx_index, b->tx_index);
	assert_int_equal(a->logs_count, b->logs_count);
}

static void test_old_receipts(void **state)
{
	struct phr_chain_config cfg = { .dev = true };
	struct phr_chain_node *n;
	struct phr_chain *c;
	struct phr_chain_receipt made, back, later;
	uint8_t h1[32], h3[32], contract[20], data[32];
	char *dir = chain_tmpdir(), path[512];
	sqlite3 *db;
	sqlite3_stmt *s;

	(void)state;
	assert_non_null(dir);
	cfg.datadir = dir;
	assert_int_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	chain_test_logged_call(c, &made, contract, 0x42);
	memcpy(h1, made.tx_hash, 32);
	memset(data, 0x42, sizeof(data));
	phr_chain_close(c);
	phr_chain_node_close(n);

	/* the old shape: txs without the receipt column, receipts in their table */
	snprintf(path, sizeof(path), "%s/chain.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO receipts VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
					    -1, &s, NULL),
			 SQLITE_OK);
	{
		uint8_t price[32];

		phr_u256_to_be(price, &made.effective_gas_price);
		sqlite3_bind_blob(s, 1, made.tx_hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)made.block_number);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)made.tx_index);
		sqlite3_bind_int(s, 4, made.type);
		sqlite3_bind_int(s, 5, made.status);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)made.cumulative_gas);
		sqlite3_bind_int64(s, 7, (sqlite3_int64)made.gas_used);
		sqlite3_bind_blob(s, 8, price, 32, SQLITE_STATIC);
		sqlite3_bind_blob(s, 9, made.from, 20, SQLITE_STATIC);
		sqlite3_bind_blob(s, 10, made.to, 20, SQLITE_STATIC);
		sqlite3_bind_blob(s, 12, made.bloom, PHR_CHAIN_BLOOM_BYTES, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
	}
	exec(db, "BEGIN; CREATE TABLE old_txs(hash BLOB PRIMARY KEY, block INTEGER NOT NULL,"
		 " idx INTEGER NOT NULL, raw BLOB NOT NULL, sender BLOB NOT NULL) WITHOUT ROWID;"
		 "INSERT INTO old_txs SELECT hash, block, idx, raw, sender FROM txs;"
		 "DROP TABLE txs; ALTER TABLE old_txs RENAME TO txs;"
		 "CREATE INDEX txs_block ON txs(block, idx); COMMIT;");
	sqlite3_close(db);

	assert_int_equal(phr_chain_node_open(&n, &cfg), PHR_OK);
	assert_int_equal(phr_chain_open_embedded(&c, n), PHR_OK);
	/* the old receipt as before */
	assert_int_equal(phr_chain_receipt(c, &back, h1), PHR_OK);
	same_receipt(&made, &back);
	/* a new block stores its receipt with the transaction */
	assert_int_equal(chain_test_send(c, h3, 0, contract, data, sizeof(data), 0), PHR_OK);
	assert_int_equal(phr_chain_receipt(c, &later, h3), PHR_OK);
	assert_int_equal(later.block_number, made.block_number + 1);
	assert_int_equal(later.logs_count, made.logs_count);
	assert_memory_equal(later.bloom, made.bloom, PHR_CHAIN_BLOOM_BYTES);
	phr_chain_receipt_release(&made);
	phr_chain_receipt_release(&back);
	phr_chain_receipt_release(&later);
	phr_chain_close(c);
	phr_chain_node_close(n);
	chain_rmdir(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_receipts),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
