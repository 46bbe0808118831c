// Interop: viem against `phr chain --dev`: deploy, write, wait for receipts, read,
// events via getContractEvents and event filters, simulate reverts, estimateGas.
import { createPublicClient, createWalletClient, defineChain, http, parseEther, parseEventLogs } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { compile, startPhr, rmrf, check, DEV_KEY0, DEV_ADDR1 } from './chain_lib.mjs';

const { abi, bytecode } = compile();
const node = await startPhr();
let failed = false;
try {
  const chain = defineChain({ id: 31337, name: 'phr dev', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [node.url] } } });
  const pub = createPublicClient({ chain, transport: http(node.url), pollingInterval: 50 });
  const account = privateKeyToAccount(DEV_KEY0);
  const wallet = createWalletClient({ account, chain, transport: http(node.url) });

  check(await pub.getChainId() === 31337, 'chain id');
  const deployHash = await wallet.deployContract({ abi, bytecode });
  const dr = await pub.waitForTransactionReceipt({ hash: deployHash });
  check(dr.status === 'success' && dr.contractAddress, 'deploy receipt');
  const address = dr.contractAddress;

  const filter = await pub.createContractEventFilter({ abi, address, eventName: 'Incremented' });

  const h1 = await wallet.writeContract({ address, abi, functionName: 'inc', args: ['viem'] });
  const r1 = await pub.waitForTransactionReceipt({ hash: h1 });
  check(r1.status === 'success', 'inc receipt');
  const logs = parseEventLogs({ abi, logs: r1.logs });
  check(logs.length === 1 && logs[0].eventName === 'Incremented' && logs[0].args.note === 'viem', 'parsed event');
  check(await pub.readContract({ address, abi, functionName: 'count' }) === 1n, 'readContract');

  const h2 = await wallet.writeContract({ address, abi, functionName: 'reset' });
  await pub.waitForTransactionReceipt({ hash: h2 });
  check(await pub.readContract({ address, abi, functionName: 'count' }) === 0n, 'after reset');

  const events = await pub.getContractEvents({ address, abi, fromBlock: 0n });
  check(events.length === 2 && events[1].eventName === 'Reset', `getContractEvents ${events.length}`);
  const byArg = await pub.getContractEvents({ address, abi, eventName: 'Incremented', args: { by: account.address }, fromBlock: 0n });
  check(byArg.length === 1, 'indexed arg filter');
  const changes = await pub.getFilterChanges({ filter });
  check(changes.length === 1 && changes[0].args.newValue === 1n, `filter changes ${changes.length}`);
  await pub.uninstallFilter({ filter });

  try {
    await pub.simulateContract({ address, abi, functionName: 'fail', account });
    check(false, 'simulate should revert');
  } catch (e) {
    check(/nope/.test(e.shortMessage || e.message), `revert reason: ${e.shortMessage}`);
  }
  const { result } = await pub.simulateContract({ address, abi, functionName: 'twice', args: [5n], account });
  check(result === 10n, 'simulate result');
  const gas = await pub.estimateContractGas({ address, abi, functionName: 'inc', args: ['x'], account });
  check(gas > 30000n && gas < 200000n, `estimate ${gas}`);

  const before = await pub.getBalance({ address: DEV_ADDR1 });
  const h3 = await wallet.sendTransaction({ to: DEV_ADDR1, value: parseEther('0.25') });
  const r3 = await pub.waitForTransactionReceipt({ hash: h3 });
  check(r3.gasUsed === 21000n, 'transfer gas');
  check(await pub.getBalance({ address: DEV_ADDR1 }) - before === parseEther('0.25'), 'transfer value');
  const blk = await pub.getBlock({ blockNumber: r3.blockNumber, includeTransactions: true });
  check(blk.transactions[0].hash === h3 && blk.baseFeePerGas > 0n, 'block with transactions');
  const fees = await pub.estimateFeesPerGas();
  check(fees.maxFeePerGas > 0n, 'fees');
  const proof = await pub.getProof({ address, storageKeys: ['0x0000000000000000000000000000000000000000000000000000000000000000'] });
  check(proof.accountProof.length > 0 && proof.storageProof[0].value === 0n, 'getProof');
  console.log(`viem: ok (contract ${address}, block ${await pub.getBlockNumber()})`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  const { code } = await node.stop();
  if (code !== 0) { console.error(`phr chain exit ${code}`); failed = true; }
  rmrf(node.dir);
}
process.exit(failed ? 1 : 0);
