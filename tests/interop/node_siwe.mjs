// Interop: Sign-In with Ethereum against `phr node --dev` with messages built by
// viem's createSiweMessage (EIP-4361) and signed by viem and ethers accounts;
// then the signed-in token reads a record; replayed and tampered logins fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import { mnemonicToAccount } from 'viem/accounts';
import { Wallet, HDNodeWallet } from 'ethers';

const MNEMONIC = 'test test test test test test test test test test test junk';
const bin = process.env.PHR_BIN;
const dir = mkdtempSync(join(tmpdir(), 'phr-node-siwe-'));
let failed = false;
const check = (ok, what) => { if (!ok) { failed = true; console.error('FAIL', what); } else console.log('ok', what); };

const node = spawn(bin, ['node', '--datadir', join(dir, 'n'), '--listen', '127.0.0.1:0', '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  const t = setTimeout(() => reject(new Error('node did not start')), 60000);
  node.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
  node.on('exit', (c) => reject(new Error('node exited ' + c)));
});
node.stderr.resume();

async function nonce() {
  const r = await fetch(url + '/api/v1/auth/nonce', { method: 'POST' });
  return r.json();
}
async function login(message, signature) {
  const r = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, signature }) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
}

try {
  // viem: patient (index 3), a message with every optional field
  const patient = mnemonicToAccount(MNEMONIC, { addressIndex: 3 });
  let n = await nonce();
  const now = new Date();
  const message = createSiweMessage({
    domain: n.domain, address: patient.address, statement: 'Sign in to read my records.',
    uri: url, version: '1', chainId: n.chainId, nonce: n.nonce, issuedAt: now,
    expirationTime: new Date(now.getTime() + 120000), notBefore: new Date(now.getTime() - 1000),
    requestId: 'req-42', resources: ['https://example.com/terms', 'ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/'],
  });
  check(parseSiweMessage(message).nonce === n.nonce, 'viem parses its own message');
  const sig = await patient.signMessage({ message });
  const ok = await login(message, sig);
  check(ok.status === 200 && ok.body.token?.startsWith('phr_'), 'viem-built, viem-signed login');
  const me = await (await fetch(url + '/api/v1/me', { headers: { authorization: 'Bearer ' + ok.body.token } })).json();
  check(me.address === patient.address && me.roles.includes('patient'), '/me is the patient');
  const rec = await fetch(url + '/api/v1/records/1/content', { headers: { authorization: 'Bearer ' + ok.body.token } });
  const text = await rec.text();
  check(rec.status === 200 && JSON.parse(text).resourceType === 'Immunization', 'the token reads the seeded vaccination');

  const replay = await login(message, sig);
  check(replay.status === 401 && replay.type === 'application/problem+json', 'replayed nonce: 401 problem+json');

  // ethers: provider (index 2), minimal message
  const provider = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/2");
  n = await nonce();
  const m2 = createSiweMessage({ domain: n.domain, address: provider.address, uri: url, version: '1', chainId: n.chainId, nonce: n.nonce, issuedAt: new Date() });
  const r2 = await login(m2, await provider.signMessage(m2));
  check(r2.status === 200, 'viem-built, ethers-signed login');

  // tampered: signed by someone else, or the message altered after signing
  n = await nonce();
  const m3 = createSiweMessage({ domain: n.domain, address: provider.address, uri: url, version: '1', chainId: n.chainId, nonce: n.nonce, issuedAt: new Date() });
  const other = Wallet.createRandom();
  const r3 = await login(m3, await other.signMessage(m3));
  check(r3.status === 401 && r3.type === 'application/problem+json', 'wrong signer: 401');
  const r4 = await login(m3.replace('Chain ID: 31337', 'Chain ID: 1'), await provider.signMessage(m3));
  check(r4.status === 401, 'altered message: 401');
  // a message for another chain, correctly signed
  n = await nonce();
  const m5 = createSiweMessage({ domain: n.domain, address: provider.address, uri: url, version: '1', chainId: 1, nonce: n.nonce, issuedAt: new Date() });
  const r5 = await login(m5, await provider.signMessage(m5));
  check(r5.status === 401, 'other chain id: 401');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  node.kill('SIGTERM');
  await new Promise((r) => node.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
