/*
 * /rpc on a node that uses an external chain (--chain-rpc): the Ethereum
 * JSON-RPC calls a client needs (the browser portal reads state, estimates,
 * sends signed transactions, reads receipts and logs) are forwarded to the
 * chain the node itself uses; anything else is "method not found". The node
 * adds nothing and signs nothing: every transaction arrives signed.
 */
#include "api_int.h"
#include "phr/rpc.h"

/* Forwards @p method with a copy of @p params to the node's chain. */
static int proxy(void *ctx, const char *method, json_t **result, struct phr_rpc_error *err, json_t *params)
{
	struct phr_chain *chain = ctx;
	json_t *p = params ? json_incref(params) : json_array();
	int rv;

	if (p == NULL)
		return PHR_ERR_NOMEM;
	rv = phr_chain_request(chain, result, err, method, p);
	if (rv != PHR_OK && err->code == 0) {
		/* a transport failure: the chain is out of reach */
		err->code = -32603;
		snprintf(err->message, sizeof(err->message), "the node's chain does not answer");
	}
	return rv;
}

#define PROXY(m)                                                                                \
	static int proxy_##m(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params) \
	{                                                                                       \
		return proxy(ctx, #m, result, err, params);                                     \
	}
PROXY(eth_chainId)
PROXY(net_version)
PROXY(web3_clientVersion)
PROXY(eth_blockNumber)
PROXY(eth_getBlockByNumber)
PROXY(eth_getBlockByHash)
PROXY(eth_getBalance)
PROXY(eth_getCode)
PROXY(eth_getStorageAt)
PROXY(eth_getTransactionCount)
PROXY(eth_call)
PROXY(eth_estimateGas)
PROXY(eth_gasPrice)
PROXY(eth_maxPriorityFeePerGas)
PROXY(eth_feeHistory)
PROXY(eth_sendRawTransaction)
PROXY(eth_getTransactionByHash)
PROXY(eth_getTransactionReceipt)
PROXY(eth_getLogs)
#undef PROXY

#define ENTRY(m) { #m, proxy_##m }
const struct phr_rpc_method api_rpc_proxy_methods[] = {
	ENTRY(eth_chainId),		ENTRY(net_version),
	ENTRY(web3_clientVersion),	ENTRY(eth_blockNumber),
	ENTRY(eth_getBlockByNumber),	ENTRY(eth_getBlockByHash),
	ENTRY(eth_getBalance),		ENTRY(eth_getCode),
	ENTRY(eth_getStorageAt),	ENTRY(eth_getTransactionCount),
	ENTRY(eth_call),		ENTRY(eth_estimateGas),
	ENTRY(eth_gasPrice),		ENTRY(eth_maxPriorityFeePerGas),
	ENTRY(eth_feeHistory),		ENTRY(eth_sendRawTransaction),
	ENTRY(eth_getTransactionByHash), ENTRY(eth_getTransactionReceipt),
	ENTRY(eth_getLogs),		{ NULL, NULL },
};
#undef ENTRY
