// Interop: ethers v6 against `phr chain --dev`: deploy, send, wait for receipts,
// call views, revert reasons, getLogs/queryFilter, filters, node-held accounts.
import { ethers } from 'ethers';
import { compile, startPhr, rmrf, check, DEV_KEY0, DEV_ADDR1 } from './chain_lib.mjs';

const { abi, bytecode } = compile();
const node = await startPhr();
let failed = false;
try {
  const provider = new ethers.JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
  const net = await provider.getNetwork();
  check(net.chainId === 31337n, `chain id ${net.chainId}`);
  const wallet = new ethers.Wallet(DEV_KEY0, provider);

  const factory = new ethers.ContractFactory(abi, bytecode, wallet);
  const counter = await factory.deploy();
  await counter.waitForDeployment();
  const addr = await counter.getAddress();
  check((await provider.getCode(addr)).length > 100, 'code deployed');

  // a log filter installed before the transactions
  const filterId = await provider.send('eth_newFilter', [{ address: addr, fromBlock: ethers.toQuantity(await provider.getBlockNumber()) }]);
  const latestFilter = await provider.send('eth_newFilter', [{ address: addr }]);
  const blockFilter = await provider.send('eth_newBlockFilter', []);

  const tx1 = await counter.inc('hello');
  const rc1 = await tx1.wait();
  check(rc1.status === 1, 'inc status');
  const ev = counter.interface.parseLog(rc1.logs[0]);
  check(ev.name === 'Incremented' && ev.args.newValue === 1n && ev.args.note === 'hello', 'event decoded');
  check(ev.args.by === wallet.address, 'indexed address');
  const rc2 = await (await counter.inc('world')).wait();
  check(rc2.blockNumber === rc1.blockNumber + 1, 'one block per transaction');
  check(await counter.count() === 2n, 'count view');
  check(await counter.perUser(wallet.address) === 2n, 'mapping view');
  check(await counter.twice.staticCall(21n) === 42n, 'transient storage');

  // revert reason through eth_call and eth_estimateGas
  try {
    await counter.fail.staticCall();
    check(false, 'fail should revert');
  } catch (e) {
    check(e.code === 'CALL_EXCEPTION' && e.reason === 'nope', `revert reason: ${e.code} ${e.reason}`);
  }
  try {
    await counter.fail();
    check(false, 'fail tx should revert in estimate');
  } catch (e) {
    check(e.code === 'CALL_EXCEPTION', `estimate revert: ${e.code}`);
  }

  // logs: queryFilter with an indexed topic, OR-lists, block ranges
  const all = await counter.queryFilter(counter.filters.Incremented(), 0, 'latest');
  check(all.length === 2, `queryFilter ${all.length}`);
  const second = await counter.queryFilter(counter.filters.Incremented(null, 2n));
  check(second.length === 1 && second[0].args.note === 'world', 'indexed topic filter');
  const either = await provider.getLogs({ address: addr, topics: [[counter.interface.getEvent('Incremented').topicHash, counter.interface.getEvent('Reset').topicHash]], fromBlock: rc1.blockNumber, toBlock: rc2.blockNumber });
  check(either.length === 2, 'OR-list topic');
  const byHash = await provider.getLogs({ blockHash: rc2.blockHash });
  check(byHash.length === 1 && byHash[0].transactionHash === rc2.hash, 'blockHash logs');

  const changes = await provider.send('eth_getFilterChanges', [filterId]);
  check(changes.length === 2, `filter changes ${changes.length}`);
  check((await provider.send('eth_getFilterChanges', [filterId])).length === 0, 'no new changes');
  check((await provider.send('eth_getFilterLogs', [filterId])).length === 2, 'filter logs');
  check((await provider.send('eth_getFilterChanges', [latestFilter])).length === 2, 'filter from latest');
  check((await provider.send('eth_getFilterChanges', [blockFilter])).length === 2, 'block filter');
  check(await provider.send('eth_uninstallFilter', [filterId]) === true, 'uninstall');

  // node-held account: eth_accounts + eth_sendTransaction
  const signer = await provider.getSigner(0);
  const before = await provider.getBalance(DEV_ADDR1);
  const t = await signer.sendTransaction({ to: DEV_ADDR1, value: ethers.parseEther('1.5') });
  const r = await t.wait();
  check(r.status === 1, 'sendTransaction');
  check(await provider.getBalance(DEV_ADDR1) - before === ethers.parseEther('1.5'), 'balance moved');
  const got = await provider.getTransaction(t.hash);
  check(got.blockNumber === r.blockNumber && got.from === signer.address, 'getTransaction');

  // blocks with and without full transactions
  const blk = await provider.getBlock(r.blockNumber, true);
  check(blk.prefetchedTransactions.length === 1 && blk.prefetchedTransactions[0].hash === t.hash, 'full block');
  const byH = await provider.getBlock(blk.hash);
  check(byH.number === blk.number && byH.transactions[0] === t.hash, 'block by hash');
  const fee = await provider.getFeeData();
  check(fee.maxFeePerGas > 0n && fee.gasPrice > 0n, 'fee data');
  console.log(`ethers: ok (contract ${addr}, ${await provider.getBlockNumber()} blocks)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  const { code } = await node.stop();
  if (code !== 0) { console.error(`phr chain exit ${code}`); failed = true; }
  rmrf(node.dir);
}
process.exit(failed ? 1 : 0);
