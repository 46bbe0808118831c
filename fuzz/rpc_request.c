/*
 * Fuzz target: JSON-RPC request bodies through the parser, the dispatcher
 * (single and batch), and the Ethereum parameter decoders that every method
 * applies to its params.
 */
#include <stddef.h>
#include <stdint.h>

#include "phr/rpc.h"

static int probe(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_rpc_block_ref ref;
	struct phr_rpc_call call;
	struct phr_u256 u;
	uint64_t v;
	uint8_t addr[20], hash[32], *data = NULL;
	size_t len, i;
	int bad = 0;
	json_t *p;

	(void)ctx;
	json_array_foreach(params, i, p) {
		if (phr_rpc_param_call(&call, err, p) == PHR_OK)
			phr_rpc_call_release(&call);
		phr_rpc_error_release(err);
		bad += phr_rpc_param_block(&ref, err, p);
		phr_rpc_error_release(err);
		bad += phr_rpc_param_u64(&v, err, p, "v");
		phr_rpc_error_release(err);
		bad += phr_rpc_param_u256(&u, err, p, "u");
		phr_rpc_error_release(err);
		bad += phr_rpc_param_address(addr, err, p, "a");
		phr_rpc_error_release(err);
		bad += phr_rpc_param_hash(hash, err, p, "h");
		phr_rpc_error_release(err);
		bad += phr_rpc_param_slot(hash, err, p, "s");
		phr_rpc_error_release(err);
		if (phr_rpc_param_bytes(&data, &len, err, p, 1 << 20, "d") == PHR_OK)
			phr_free(data);
		phr_rpc_error_release(err);
	}
	*result = phr_rpc_quantity(json_array_size(params) + (bad != 0));
	return *result ? PHR_OK : PHR_ERR_NOMEM;
}

static int fail(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	(void)ctx;
	(void)result;
	(void)params;
	(void)phr_rpc_error_set(err, PHR_RPC_EXECUTION_REVERTED, "execution reverted");
	err->data = json_string("0x08c379a0");
	return PHR_ERR_REVERTED;
}

static const struct phr_rpc_method methods[] = {
	{ "probe", probe },
	{ "fail", fail },
	{ NULL, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_buf out;

	phr_buf_init(&out, 0);
	if (phr_rpc_dispatch(&out, methods, NULL, NULL, (const char *)data, size) == PHR_OK && out.len) {
		/* every non-empty answer is itself valid JSON */
		json_error_t e;
		json_t *j = json_loadb((const char *)out.data, out.len, 0, &e);

		if (!j)
			__builtin_trap();
		json_decref(j);
	}
	phr_buf_release(&out);
	return 0;
}
