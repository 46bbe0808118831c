#!/usr/bin/env node
// Gas of Groth16 verification on a chain, and the estimateGas pitfall of snarkjs's raw
// verifier: it returns false (instead of reverting) when a precompile runs out of gas, so
// eth_estimateGas finds the smallest limit at which the call does not revert -- one at which
// the pairing fails. ResearchAccess wraps it in a revert. One JSON line per chain.
//   node bench/zk_gas.mjs --chain phr|anvil      (phr: PHR_BIN)
import fs from 'node:fs';
import path from 'node:path';
import { ethers } from 'ethers';
import { ROOT, startChain, phrBinary, connect, deploy } from '../tests/interop/contracts_lib.mjs';

const kind = process.argv.includes('--chain') ? process.argv[process.argv.indexOf('--chain') + 1] : 'phr';
const bin = kind === 'phr' ? phrBinary().bin : null;
if (kind === 'phr' && !bin) throw new Error('PHR_BIN with a chain command is needed');
const chain = await startChain(kind, bin);
try {
  const { provider, wallets } = connect(chain.url);
  const v = (await deploy('ProviderCredentialVerifier', wallets[0])).contract;
  const p = JSON.parse(fs.readFileSync(path.join(ROOT, 'circuits/fixtures/provider_leaf0.json'), 'utf8'));
  const c = p.calldata;
  const data = v.interface.encodeFunctionData('verifyProof', [[c[0], c[1]], [[c[2], c[3]], [c[4], c[5]]], [c[6], c[7]], p.publicSignals]);
  const to = await v.getAddress();
  const est = await provider.estimateGas({ from: wallets[0].address, to, data });
  const call = async (gas) => v.interface.decodeFunctionResult('verifyProof', await provider.call({ from: wallets[0].address, to, data, gasLimit: gas }))[0];
  const atEstimate = await call(est);
  const atMillion = await call(1000000n);
  const rc = await (await wallets[0].sendTransaction({ to, data, gasLimit: 1000000n })).wait();
  console.log(JSON.stringify({
    chain: kind, rawVerifierEstimate: Number(est), rawVerifierResultAtEstimate: atEstimate,
    rawVerifierResultAt1M: atMillion, rawVerifierTxGas: Number(rc.gasUsed),
  }));
  provider.destroy();
} finally {
  await chain.stop();
}
process.exit(0);
