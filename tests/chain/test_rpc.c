/* Unit tests of the JSON-RPC framework: parsing, dispatch, batches, decoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "phr/rpc.h"

static int m_echo(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	(void)ctx;
	(void)err;
	*result = json_incref(params);
	return PHR_OK;
}

static int m_revert(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	(void)ctx;
	(void)result;
	(void)params;
	(void)phr_rpc_error_set(err, PHR_RPC_EXECUTION_REVERTED, "execution reverted");
	err->data = json_string("0x08c379a0");
	return PHR_ERR_REVERTED;
}

static int m_u64(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	uint64_t v;

	(void)ctx;
	if (phr_rpc_param_u64(&v, err, json_array_get(params, 0), "x") != PHR_OK)
		return PHR_ERR_INVALID;
	*result = phr_rpc_quantity(v + 1);
	return PHR_OK;
}

static const struct phr_rpc_method methods[] = {
	{ "echo", m_echo }, { "revert", m_revert }, { "inc", m_u64 }, { NULL, NULL }
};

static json_t *call(const char *body)
{
	struct phr_buf out;
	json_error_t e;
	json_t *j = NULL;

	phr_buf_init(&out, 0);
	assert_int_equal(phr_rpc_dispatch(&out, methods, NULL, NULL, body, strlen(body)), PHR_OK);
	if (out.len) {
		j = json_loadb((const char *)out.data, out.len, 0, &e);
		assert_non_null(j);
	}
	phr_buf_release(&out);
	return j;
}

static int err_code(const json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void test_single_and_params(void **state)
{
	json_t *r;

	(void)state;
	r = call("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[1,\"a\"]}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	/* params absent and null both become [] */
	r = call("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"echo\"}");
	assert_int_equal(json_array_size(json_object_get(r, "result")), 0);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "s");
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":null}");
	assert_true(json_is_array(json_object_get(r, "result")));
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"inc\",\"params\":[\"0xff\"]}");
	assert_string_equal(json_string_value(json_object_get(r, "result")), "0x100");
	json_decref(r);
}

static void test_errors(void **state)
{
	json_t *r;

	(void)state;
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,");
	assert_int_equal(err_code(r), PHR_RPC_PARSE_ERROR);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}");
	assert_int_equal(err_code(r), PHR_RPC_METHOD_NOT_FOUND);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}");
	assert_int_equal(err_code(r), PHR_RPC_INVALID_REQUEST);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":3}");
	assert_int_equal(err_code(r), PHR_RPC_INVALID_REQUEST);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"inc\",\"params\":[\"12\"]}");
	assert_int_equal(err_code(r), PHR_RPC_INVALID_PARAMS);
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"revert\"}");
	assert_int_equal(err_code(r), PHR_RPC_EXECUTION_REVERTED);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "data")),
			    "0x08c379a0");
	json_decref(r);
	r = call("[]");
	assert_int_equal(err_code(r), PHR_RPC_INVALID_REQUEST);
	json_decref(r);
}

static void test_batch(void **state)
{
	json_t *r;

	(void)state;
	r = call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"inc\",\"params\":[\"0x1\"]},"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"inc\",\"params\":[\"0x1\"]},"
		 "5,"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x\"}]");
	assert_int_equal(json_array_size(r), 3); /* the notification gets no answer */
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "result")), "0x2");
	assert_int_equal(err_code(json_array_get(r, 1)), PHR_RPC_INVALID_REQUEST);
	assert_int_equal(err_code(json_array_get(r, 2)), PHR_RPC_METHOD_NOT_FOUND);
	json_decref(r);
	/* only notifications: empty body */
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}");
	assert_null(r);
}

static void test_decoders(void **state)
{
	struct phr_rpc_error err = { 0 };
	struct phr_rpc_block_ref ref;
	struct phr_rpc_call c;
	struct phr_u256 u;
	uint64_t v;
	uint8_t a[20], slot[32];
	json_t *j;

	(void)state;
	j = json_string("0xffffffffffffffffff");
	assert_int_equal(phr_rpc_param_u64(&v, &err, j, "x"), PHR_ERR_INVALID);
	assert_int_equal(err.code, PHR_RPC_INVALID_PARAMS);
	assert_int_equal(phr_rpc_param_u256(&u, &err, j, "x"), PHR_OK);
	assert_int_equal(u.w[1], 0xff);
	json_decref(j);
	j = json_string("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
	assert_int_equal(phr_rpc_param_address(a, &err, j, "a"), PHR_OK);
	assert_int_equal(a[0], 0xf3);
	assert_int_equal(a[19], 0x66);
	json_decref(j);
	j = json_string("0x1");
	assert_int_equal(phr_rpc_param_slot(slot, &err, j, "s"), PHR_OK);
	assert_int_equal(slot[31], 1);
	assert_int_equal(phr_rpc_param_block(&ref, &err, j), PHR_OK);
	assert_int_equal(ref.kind, PHR_RPC_BLOCK_NUMBER);
	assert_int_equal(ref.number, 1);
	json_decref(j);
	j = json_string("pending");
	assert_int_equal(phr_rpc_param_block(&ref, &err, j), PHR_OK);
	assert_int_equal(ref.kind, PHR_RPC_BLOCK_PENDING);
	json_decref(j);
	j = json_string("newest");
	assert_int_equal(phr_rpc_param_block(&ref, &err, j), PHR_ERR_INVALID);
	json_decref(j);
	j = json_pack("{s:n,s:s,s:s,s:s}", "to", "data", "0x0102", "input", "0x0102", "gas", "0x5208");
	assert_int_equal(phr_rpc_param_call(&c, &err, j), PHR_OK);
	assert_false(c.has_to);
	assert_true(c.has_gas);
	assert_int_equal(c.gas, 21000);
	assert_int_equal(c.data_len, 2);
	phr_rpc_call_release(&c);
	json_decref(j);
	j = json_pack("{s:s,s:s}", "data", "0x0102", "input", "0x0103");
	assert_int_equal(phr_rpc_param_call(&c, &err, j), PHR_ERR_INVALID);
	json_decref(j);
	phr_rpc_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_and_params),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_decoders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
