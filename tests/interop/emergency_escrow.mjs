// Interop: the escrowed emergency summary read by an independent client.
// phr node P (embedded chain, --dev) and two escrow nodes (--chain-rpc); the
// patient escrows its summary 2-of-2 with `phr emergency setup`. Then a client
// written only with third-party libraries — ethers (the break-glass
// transaction, EIP-191 signatures), libsodium-wrappers (X25519 sealed boxes,
// XChaCha20-Poly1305 secretstream) and multiformats (CID) — opens break-glass,
// asks both holders for their shares, opens them, checks their binding,
// recombines the key by Lagrange interpolation over GF(256) (AES polynomial),
// checks the ciphertext's CID against the patient-signed manifest and decrypts
// the summary byte for byte. A webhook receiver on node:http checks the
// notifications' HMAC-SHA256 signatures with node:crypto.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, HDNodeWallet, JsonRpcProvider, concat, getBytes, keccak256, toUtf8Bytes, verifyMessage } from 'ethers';
import sodium from 'libsodium-wrappers';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';

const MNEMONIC = 'test test test test test test test test test test test junk';
const bin = process.env.PHR_BIN;
const src = process.env.PHR_SOURCE_DIR ?? '.';
const dir = mkdtempSync(join(tmpdir(), 'phr-emerg-interop-'));
const procs = [];
let failed = false;
const check = (ok, what) => { if (!ok) { failed = true; console.error('FAIL', what); } else console.log('ok', what); };

function startNode(name, extra) {
  const p = spawn(bin, ['node', '--datadir', join(dir, name), '--listen', '127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PHR_NOTIFY_BACKOFF: '1', PHR_NOTIFY_BACKOFF_MAX: '2' } });
  procs.push(p);
  p.stderr.resume();
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(name + ' did not start')), 60000);
    p.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
    p.on('exit', (c) => reject(new Error(name + ' exited ' + c)));
  });
}

// GF(256) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b)
const gmul = (a, b) => { let r = 0; while (b) { if (b & 1) r ^= a; a = (a << 1) ^ (a & 0x80 ? 0x11b : 0); b >>= 1; } return r & 0xff; };
const ginv = (a) => { let r = 1; for (let i = 0; i < 254; i++) r = gmul(r, a); return r; }; // a^254
function lagrangeAtZero(shares) { // shares: [{x, y: Uint8Array}]
  const out = new Uint8Array(shares[0].y.length);
  for (const si of shares) {
    let l = 1;
    for (const sm of shares) if (sm !== si) l = gmul(l, gmul(sm.x, ginv(sm.x ^ si.x)));
    for (let j = 0; j < out.length; j++) out[j] ^= gmul(si.y[j], l);
  }
  return out;
}

const hooks = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => { hooks.push({ headers: req.headers, body }); res.writeHead(204); res.end(); });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${server.address().port}/hook`;
const secretHex = '8f'.repeat(32);

try {
  await sodium.ready;
  const p = await startNode('p', ['--dev', '--no-seed']);
  const dep = join(dir, 'p', 'deployment.json');
  const chain = p + '/rpc';
  const holders = [];
  for (const n of ['e1', 'e2']) holders.push(await startNode(n, ['--chain-rpc', chain, '--deployment', dep]));

  const info = await (await fetch(p + '/api/v1/info')).json();
  const rpc = new JsonRpcProvider(chain, Number(info.deployment.chainId), { staticNetwork: true });
  const patient = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/3");
  const em = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/4").connect(rpc);

  // the patient's own client (phr CLI) escrows the summary
  const summaryPath = join(src, 'tests', 'emergency', 'summary.json');
  execFileSync(bin, ['emergency', 'setup', '--keystore', join(dir, 'p', 'dev', 'keys', 'patient.json'),
    '--summary', summaryPath, '--escrow', holders[0], '--escrow', holders[1], '--threshold', '2',
    '--webhook', hookUrl, '--webhook-secret', secretHex, '--chain-rpc', chain, '--deployment', dep],
  { env: { ...process.env, PHR_PASSWORD: 'dev' }, stdio: ['ignore', 'pipe', 'inherit'] });
  check(true, 'phr emergency setup deposited at two holders');

  // ethers: break-glass by the dev emergency provider
  const ea = new Contract(info.deployment.EmergencyAccess,
    ['function openEmergencyAccess(address patient, uint8 reasonCode, bytes32 reasonHash) returns (uint64)',
     'function isActive(address patient, address provider) view returns (bool)'], em);
  const tx = await ea.openEmergencyAccess(patient.address, 1, keccak256(toUtf8Bytes('unconscious')), { gasLimit: 500000n });
  check((await tx.wait(1, 30000)).status === 1, 'ethers opened break-glass');
  check(await ea.isActive(patient.address, em.address), 'isActive on chain');

  // ask both holders with requests signed by ethers
  const answers = [];
  for (const h of holders) {
    const hi = await (await fetch(h + '/api/v1/escrow')).json();
    const request = JSON.stringify({ v: 1, action: 'escrow-release', patient: patient.address, requester: em.address, holder: hi.address, timestamp: Math.floor(Date.now() / 1000) });
    const signature = await em.signMessage(request);
    const r = await fetch(`${h}/api/v1/escrow/${patient.address}/release`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request, signature }) });
    const a = await r.json();
    check(r.status === 200, `holder ${hi.address} released its share`);
    answers.push(a);
  }
  // a request signed by someone else for the emergency provider's address is refused
  {
    const hi = await (await fetch(holders[0] + '/api/v1/escrow')).json();
    const request = JSON.stringify({ v: 1, action: 'escrow-release', patient: patient.address, requester: em.address, holder: hi.address, timestamp: Math.floor(Date.now() / 1000) });
    const r = await fetch(`${holders[0]}/api/v1/escrow/${patient.address}/release`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request, signature: await patient.signMessage(request) }) });
    check(r.status === 401 && r.headers.get('content-type') === 'application/problem+json', 'forged requester refused (401 problem+json)');
  }

  // the requester's X25519 key as phr derives it: seed = keccak256("phr/x25519/v1" || account key)
  const seed = getBytes(keccak256(concat([toUtf8Bytes('phr/x25519/v1'), em.privateKey])));
  const kp = sodium.crypto_box_seed_keypair(seed);
  const manifestText = answers[0].manifest;
  check(verifyMessage(manifestText, answers[0].manifestSignature) === patient.address, 'manifest signed by the patient (ethers.verifyMessage)');
  const manifest = JSON.parse(manifestText);
  const cidHash = getBytes(keccak256(toUtf8Bytes(manifest.summaryCid)));
  const shares = answers.map((a) => {
    const plain = sodium.crypto_box_seal_open(getBytes(a.sealedShare), kp.publicKey, kp.privateKey);
    check(plain.length === 86 && plain[0] === 1, 'share opens (crypto_box_seal_open), version 1');
    check(Buffer.compare(Buffer.from(plain.slice(1, 21)), Buffer.from(getBytes(patient.address))) === 0, 'share bound to the patient');
    check(Buffer.compare(Buffer.from(plain.slice(21, 53)), Buffer.from(cidHash)) === 0, 'share bound to the summary CID');
    check(plain[53] === a.x, 'share x matches the answer');
    return { x: plain[53], y: plain.slice(54) };
  });
  const key = lagrangeAtZero(shares);
  const ct = getBytes(answers[0].ciphertext);
  const cid = CID.create(1, 0x55, await sha256.digest(ct));
  check(cid.toString() === manifest.summaryCid, 'ciphertext CID (multiformats) matches the manifest');
  const hdr = ct.slice(0, 12);
  check(Buffer.from(hdr.slice(0, 4)).toString() === 'PHRE' && hdr[4] === 1, 'record header PHRE v1');
  const st = sodium.crypto_secretstream_xchacha20poly1305_init_pull(ct.slice(12, 36), key);
  const res = sodium.crypto_secretstream_xchacha20poly1305_pull(st, ct.slice(36), hdr);
  check(res && res.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL, 'secretstream chunk authenticated, FINAL');
  check(res && Buffer.compare(Buffer.from(res.message), readFileSync(summaryPath)) === 0, 'summary recovered byte for byte');

  // notifications: signed with the patient's secret
  for (let i = 0; i < 100 && hooks.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  check(hooks.length >= 2, `webhook received ${hooks.length} notifications`);
  for (const h of hooks) {
    const ts = h.headers['x-phr-timestamp'];
    const want = 'v1=' + createHmac('sha256', Buffer.from(secretHex, 'hex')).update(ts + '.' + h.body).digest('hex');
    check(h.headers['x-phr-signature'] === want, 'HMAC-SHA256 signature (node:crypto)');
    const j = JSON.parse(h.body);
    check(j.kind === 'emergency' && j.recipient === patient.address, `notification ${j.payload.event}`);
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  for (const p of procs) p.kill('SIGTERM');
  server.close();
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
