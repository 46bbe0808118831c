/*
 * The world state's table of slots is dropped at a commit once an account holds more
 * than a few thousand slots and its storage trie holds them all (src/chain/state.c,
 * SLOTS_KEEP): every slot must read back the same afterwards (from the trie), later
 * changes and deletions must land, and the roots must equal those of a state built
 * from scratch with the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phr/state.h"

#define SLOTS 6000

static const uint8_t addr[20] = { 0xab, 0xcd, 1, 2, 3 };

static void word(uint8_t w[32], uint64_t v)
{
	memset(w, 0, 32);
	for (int i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(v >> (8 * i));
}

/* the value of slot i after @p round rounds (0: deleted) */
static uint64_t value_of(uint64_t i, int round)
{
	if (round >= 1 && i >= 1000 && i < 1500)
		return 0;
	if (round >= 1 && i < 1000)
		return i * 7919 + 0x1234567890ull; /* 5 bytes: a longer leaf */
	return i % 200 + 1;                        /* 1 byte: an inline rlp */
}

static void check_all(struct phr_state *st, int round)
{
	for (uint64_t i = 0; i < SLOTS; i++) {
		uint8_t k[32], v[32], want[32];

		word(k, i);
		word(want, value_of(i, round));
		assert_int_equal(phr_state_get_storage(st, v, addr, k), PHR_OK);
		assert_memory_equal(v, want, 32);
	}
}

/* Writes slots [from, to) as they are after @p round (reading each first, as an
 * SSTORE does) into @p st, creating the account first when @p create. */
static void write_round(struct phr_state *st, uint64_t from, uint64_t to, int round, bool create)
{
	struct phr_u256 one = phr_u256_from_u64(1);

	if (create)
		assert_int_equal(phr_state_set_account(st, addr, 1, &one), PHR_OK);
	for (uint64_t i = from; i < to; i++) {
		uint8_t k[32], v[32];

		word(k, i);
		assert_int_equal(phr_state_get_storage(st, v, addr, k), PHR_OK);
		word(v, value_of(i, round));
		assert_int_equal(phr_state_set_storage(st, addr, k, v), PHR_OK);
	}
}

/* The root of a state built from scratch with the values of @p round. */
static void fresh_root(uint8_t root[32], int round)
{
	struct phr_state *st;

	assert_int_equal(phr_state_new(&st, NULL), PHR_OK);
	write_round(st, 0, SLOTS, round, true);
	assert_int_equal(phr_state_commit(st, root, NULL), PHR_OK);
	phr_state_free(st);
}

/* Commits @p st (the table of slots is dropped), checks the root against a state
 * built from scratch and every slot; the reads fill the table again, so a second
 * commit drops it again and must give the same root. */
static void commit_and_check(struct phr_state *st, int round)
{
	uint8_t root[32], want[32];

	fresh_root(want, round);
	assert_int_equal(phr_state_commit(st, root, NULL), PHR_OK);
	assert_memory_equal(root, want, 32);
	check_all(st, round);
	assert_int_equal(phr_state_commit(st, root, NULL), PHR_OK);
	assert_memory_equal(root, want, 32);
}

static void test_dropped_table(void **state)
{
	struct phr_state *st;

	(void)state;
	assert_int_equal(phr_state_new(&st, NULL), PHR_OK);
	write_round(st, 0, SLOTS, 0, true);
	commit_and_check(st, 0);
	/* changes and deletions after the drop */
	write_round(st, 0, 1500, 1, false);
	commit_and_check(st, 1);
	check_all(st, 1);
	phr_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dropped_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
