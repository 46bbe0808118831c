// Interop: the node's transaction relay (POST /api/v1/tx) with transactions
// built and signed by third-party wallets — an ethers EIP-1559 transaction and a
// viem legacy (EIP-155) one, each calling PatientRegistry.register for an
// account the node does not host — after a SIWE login; the node forwards them
// and the chain registers both. A transaction of another signer, of another
// chain, to a foreign contract, a contract creation, a truncated one, or one
// without a token is refused with problem+json; a replay gets the chain's 409.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSiweMessage } from 'viem/siwe';
import { mnemonicToAccount } from 'viem/accounts';
import { encodeFunctionData, parseAbi } from 'viem';
import { HDNodeWallet, Interface, JsonRpcProvider } from 'ethers';

const MNEMONIC = 'test test test test test test test test test test test junk';
const bin = process.env.PHR_BIN;
const dir = mkdtempSync(join(tmpdir(), 'phr-node-relay-'));
let failed = false;
const check = (ok, what) => { if (!ok) { failed = true; console.error('FAIL', what); } else console.log('ok', what); };

const node = spawn(bin, ['node', '--datadir', join(dir, 'n'), '--listen', '127.0.0.1:0', '--dev', '--no-seed'], { stdio: ['ignore', 'pipe', 'pipe'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  const t = setTimeout(() => reject(new Error('node did not start')), 60000);
  node.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
  node.on('exit', (c) => reject(new Error('node exited ' + c)));
});
node.stderr.resume();

async function login(account) {
  const n = await (await fetch(url + '/api/v1/auth/nonce', { method: 'POST' })).json();
  const message = createSiweMessage({ domain: n.domain, address: account.address, uri: url, version: '1', chainId: n.chainId, nonce: n.nonce, issuedAt: new Date() });
  const signature = await account.signMessage(message);
  const r = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, signature }) });
  return (await r.json()).token;
}
async function relay(token, raw) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const r = await fetch(url + '/api/v1/tx', { method: 'POST', headers, body: JSON.stringify({ raw }) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
}
// The receipt of @p hash, polled (ethers' provider.waitForTransaction is not used:
// it compares the receipt's block with getBlockNumber(), which ethers caches for
// 250 ms, and on a stale answer waits for a "block" event; on an automining chain
// no further block comes, so it timed out after 30 s although the transaction was
// mined at once). The relay answers after the chain committed, so the first poll
// normally finds it; the deadline only bounds a broken node.
async function receiptOf(rpc, hash) {
  const end = Date.now() + 30000;
  for (;;) {
    const rc = await rpc.getTransactionReceipt(hash);
    if (rc || Date.now() > end) return rc;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const problem = (r, s) => r.status === s && r.type === 'application/problem+json' && r.body.status === s;

try {
  const info = await (await fetch(url + '/api/v1/info')).json();
  const dep = info.deployment;
  // no request cache: a nonce or block number up to 250 ms old is wrong on an automining chain
  const rpc = new JsonRpcProvider(url + '/rpc', Number(info.deployment.chainId), { staticNetwork: true, cacheTimeout: -1 });
  const iface = new Interface(['function register(bytes32 encryptionKey)', 'function isRegistered(address) view returns (bool)']);
  const key = (b) => '0x' + b.toString(16).padStart(2, '0').repeat(32);

  // ethers: dev account 7, EIP-1559
  const e7 = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/7").connect(rpc);
  const t7 = await login({ address: e7.address, signMessage: (m) => e7.signMessage(m) });
  check(typeof t7 === 'string' && t7.startsWith('phr_'), 'ethers account signs in');
  const fee = await rpc.getFeeData();
  const tx1 = await e7.signTransaction({
    type: 2, chainId: Number(info.deployment.chainId), nonce: await rpc.getTransactionCount(e7.address), to: dep.PatientRegistry,
    data: iface.encodeFunctionData('register', [key(7)]), gasLimit: 300000n,
    maxFeePerGas: (fee.gasPrice ?? 10n ** 9n) * 2n, maxPriorityFeePerGas: 1n,
  });
  const r1 = await relay(t7, tx1);
  if (r1.status !== 200) console.error(JSON.stringify(r1));
  check(r1.status === 200 && /^0x[0-9a-f]{64}$/.test(r1.body.hash) && r1.body.from === e7.address, 'ethers EIP-1559 transaction relayed');
  const rc1 = await receiptOf(rpc, r1.body.hash);
  check(rc1 && rc1.status === 1, 'the chain mined it (status 1)');
  const reg7 = iface.decodeFunctionResult('isRegistered', await rpc.call({ to: dep.PatientRegistry, data: iface.encodeFunctionData('isRegistered', [e7.address]) }))[0];
  check(reg7 === true, 'account 7 is registered');

  // viem: dev account 8, legacy with EIP-155 chain id
  const v8 = mnemonicToAccount(MNEMONIC, { addressIndex: 8 });
  const t8 = await login({ address: v8.address, signMessage: (m) => v8.signMessage({ message: m }) });
  const tx2 = await v8.signTransaction({
    type: 'legacy', chainId: Number(info.deployment.chainId), nonce: await rpc.getTransactionCount(v8.address), to: dep.PatientRegistry,
    data: encodeFunctionData({ abi: parseAbi(['function register(bytes32 encryptionKey)']), functionName: 'register', args: [key(8)] }),
    gas: 300000n, gasPrice: (fee.gasPrice ?? 1000000000n) * 2n,
  });
  const r2 = await relay(t8, tx2);
  check(r2.status === 200 && r2.body.from === v8.address, 'viem legacy transaction relayed');
  const rc2 = await receiptOf(rpc, r2.body.hash);
  check(rc2 && rc2.status === 1, 'the chain mined it (status 1)');
  const me8 = await (await fetch(url + '/api/v1/me', { headers: { authorization: 'Bearer ' + t8 } })).json();
  check(me8.roles.includes('patient') && me8.hosted === false, 'account 8 is a patient the node does not host');

  // refusals
  const n7 = await rpc.getTransactionCount(e7.address);
  const base = { type: 2, nonce: n7, to: dep.PatientRegistry, data: iface.encodeFunctionData('register', [key(9)]), gasLimit: 300000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n };
  check(problem(await relay(t8, await e7.signTransaction({ ...base, chainId: Number(info.deployment.chainId) })), 403), "another signer's transaction: 403");
  check(problem(await relay(t7, await e7.signTransaction({ ...base, chainId: 1 })), 400), 'another chain: 400');
  check(problem(await relay(t7, await e7.signTransaction({ ...base, chainId: Number(info.deployment.chainId), to: '0x' + '42'.repeat(20) })), 403), 'a foreign contract: 403');
  check(problem(await relay(t7, await e7.signTransaction({ ...base, chainId: Number(info.deployment.chainId), to: null })), 400), 'a contract creation: 400');
  check(problem(await relay(null, tx1), 401), 'no token: 401');
  check(problem(await relay(t7, tx1.slice(0, 40)), 400), 'a truncated transaction: 400');
  const again = await relay(t7, tx1);
  check(again.status === 409 && again.type === 'application/problem+json', 'the same transaction again: 409 from the chain');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  if (node.exitCode === null && node.signalCode === null) { // an exited node sends no second 'exit'
    const gone = new Promise((r) => node.on('exit', r));
    node.kill('SIGTERM');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
