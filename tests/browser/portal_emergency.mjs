// The portal's escrowed emergency summary (web/src/emergency.js) against the
// node's C code, both ways: a `phr node --dev` (the chain) and two escrow
// holder nodes (--chain-rpc). The page's module builds the summary Bundle,
// encrypts it, splits the key 2-of-2 and deposits the sealed shares at the two
// holders (the C holders check signatures, owner on chain, share binding and
// CID); the dev emergency provider opens break-glass; `phr emergency read`
// (C) recovers the page's summary byte for byte, and the page's
// releaseAndRead (asking one holder, finding the other in the manifest)
// recovers it too. Then `phr emergency setup` (C) deposits a summary and the
// page's module reads it. Refusals: a provider without a session, a manifest
// not signed by the owner, a tampered share, too few shares, and Shamir
// known properties (any t of n recombine, t-1 do not).
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Contract, HDNodeWallet, encryptKeystoreJson, JsonRpcProvider, keccak256, toUtf8Bytes } from 'ethers';
import { check, failures, MNEMONIC, root } from './portal_lib.mjs';
import {
  askHolder, buildSummary, combine, deposit, holderInfo, prepareDeposits, releaseAndRead, shamirCombine, shamirSplit,
} from '../../web/src/emergency.js';
import { LocalSigner } from '../../web/src/keys.js';
import { equal, fromHex, fromUtf8, toHex, utf8 } from '../../web/src/bytes.js';

const bin = process.env.PHR_BIN;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-portal-emerg-'));
const procs = [];
const t0 = Date.now();

function start(name, args) {
  const p = spawn(bin, ['node', '--datadir', path.join(dir, name), '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  procs.push(p);
  p.stderr.resume();
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(name + ' did not start')), 90000);
    p.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
    p.on('exit', (c) => { clearTimeout(t); reject(new Error(name + ' exited ' + c)); });
  });
}

const hooks = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => { hooks.push({ headers: req.headers, body }); res.writeHead(204); res.end(); });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
const secretHex = '5a'.repeat(32);

const wallet = (i) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);

async function main() {
  // Shamir: any t of n recombine the secret; t-1 give something else
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const sh = shamirSplit(secret, 3, 5);
  check(sh.length === 5 && sh.every((s, i) => s[0] === i + 1 && s.length === 33), 'Shamir: 5 shares, x = 1..5');
  let all = true;
  for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) for (let c = b + 1; c < 5; c++)
    all &&= equal(shamirCombine([sh[a], sh[b], sh[c]]), secret);
  check(all, 'Shamir: all 10 triples of 3-of-5 recombine the secret');
  check(!equal(shamirCombine([sh[0], sh[1]]), secret), 'Shamir: two shares of 3-of-5 do not');
  check(equal(shamirCombine(sh), secret), 'Shamir: all five recombine too');

  const p = await start('p', ['--dev', '--no-seed']);
  const dep = path.join(dir, 'p', 'deployment.json');
  const holders = [];
  for (const n of ['e1', 'e2']) holders.push(await start(n, ['--chain-rpc', p + '/rpc', '--deployment', dep]));
  const info = await (await fetch(p + '/api/v1/info')).json();
  const prov = new JsonRpcProvider(p + '/rpc', Number(info.deployment.chainId), { staticNetwork: true });
  const patientW = wallet(3);
  const emW = wallet(4).connect(prov);
  const patient = new LocalSigner(fromHex(patientW.privateKey));
  const em = new LocalSigner(fromHex(emW.privateKey));
  const emBox = await em.boxKeys();

  // the page's deposit
  const summaryJson = JSON.stringify(buildSummary({ patient: patient.address, name: 'Alex Example', bloodType: 'O Rh-',
    allergies: 'Penicillin (anaphylaxis)\nPeanuts', medications: 'Warfarin 5 mg daily', conditions: 'Atrial fibrillation',
    contacts: 'Sam Example +1 555 0100' }));
  const summary = utf8(summaryJson);
  const his = [];
  for (const h of holders) his.push(await holderInfo(h));
  check(his.every((h) => h.boxPk.length === 32 && /^0x[0-9a-fA-F]{40}$/.test(h.address)), 'holders publish their escrow keys');
  const prep = await prepareDeposits(patient, patient.address, summary, 2, his, { webhook: { url: hookUrl, secret: '0x' + secretHex } });
  check(prep.deposits.length === 2 && /^bafk/.test(prep.cid), `page prepared 2 deposits (summary CID ${prep.cid})`);
  check(!prep.deposits.some((d) => d.body.includes('Penicillin')), 'no deposit contains the summary in clear');
  const res = await deposit(patient.address, prep.deposits);
  check(res.every((r) => r.ok), 'both C holders accepted the page\'s deposits ' + JSON.stringify(res.filter((r) => !r.ok)));
  const again = await deposit(patient.address, prep.deposits);
  check(again.every((r) => !r.ok), 'a replayed deposit is refused');
  // a deposit signed by someone else than the patient's owner
  const forged = await prepareDeposits(em, patient.address, summary, 2, his);
  check((await deposit(patient.address, forged.deposits.slice(0, 1)))[0].ok === false, 'a deposit signed by another key is refused by the holder');

  // no session yet: the holder refuses the emergency provider
  let refused = false;
  try { await askHolder(em, patient.address, holders[0]); } catch (e) { refused = e.status === 403 || e.status === 401; }
  check(refused, 'without break-glass the holder refuses to release');

  // break-glass (ethers: the transaction is not the page code under test here)
  const ea = new Contract(info.deployment.EmergencyAccess,
    ['function openEmergencyAccess(address patient, uint8 reasonCode, bytes32 reasonHash) returns (uint64)'], emW);
  const tx = await ea.openEmergencyAccess(patient.address, 1, keccak256(toUtf8Bytes('unconscious')), { gasLimit: 500000n });
  check((await tx.wait(1, 30000)).status === 1, 'break-glass opened on chain');

  // C reads what the page deposited
  const emKs = path.join(dir, 'em.json');
  fs.writeFileSync(emKs, await encryptKeystoreJson({ address: emW.address, privateKey: emW.privateKey }, 'pw', { scrypt: { N: 1024 } }));
  const cOut = path.join(dir, 'summary-c.json');
  execFileSync(bin, ['emergency', 'read', '--keystore', emKs, '--patient', patient.address, '--escrow', holders[0],
    '--out', cOut, '--chain-rpc', p + '/rpc', '--deployment', dep], { env: { ...process.env, PHR_PASSWORD: 'pw' }, stdio: ['ignore', 'pipe', 'inherit'] });
  check(fs.readFileSync(cOut).equals(Buffer.from(summary)), 'phr emergency read (C) recovers the page\'s summary byte for byte');

  // the page reads it: one holder named, the other found in the manifest
  const r1 = await releaseAndRead(em, emBox, patient.address, patient.address, [holders[0]]);
  check(equal(r1.summary, summary) && r1.used === 2, 'the page recovers its summary from 2 holders (one named, one from the manifest)');
  const b = JSON.parse(r1.text);
  check(b.resourceType === 'Bundle' && b.entry.some((e) => e.resource.resourceType === 'AllergyIntolerance' && /Penicillin/.test(e.resource.code.text)) &&
    b.entry.some((e) => e.resource.code && e.resource.code.coding && e.resource.code.coding[0].code === '882-1'), 'summary Bundle: allergy and blood type (LOINC 882-1)');

  // refusals in combine
  const answers = [await askHolder(em, patient.address, holders[0]), await askHolder(em, patient.address, holders[1])];
  const expect = async (what, owner, ans, box = emBox) => {
    let msg = '';
    try { await combine(box, patient.address, owner, ans); } catch (e) { msg = e.message; }
    check(/not enough shares|does not match/.test(msg), what + ` (${msg.slice(0, 80)})`);
  };
  await expect('a manifest not signed by the owner on chain is refused', em.address, answers);
  const bad = { ...answers[1], sealedShare: answers[1].sealedShare.slice(0, -2) + (answers[1].sealedShare.endsWith('00') ? '01' : '00') };
  await expect('a tampered share is refused (1 of 2 left)', patient.address, [answers[0], bad]);
  await expect('one share of 2-of-2 is not enough', patient.address, [answers[0]]);
  await expect('the same share twice is not enough', patient.address, [answers[0], answers[0]]);
  const otherBox = await new LocalSigner(crypto.getRandomValues(new Uint8Array(32))).boxKeys();
  await expect('shares do not open with another X25519 key', patient.address, answers, otherBox);
  const ct = answers[0].ciphertext;
  const flipped = ct.slice(0, -2) + (ct.endsWith('00') ? '01' : '00');
  await expect('a tampered ciphertext is refused (CID)', patient.address, [{ ...answers[0], ciphertext: flipped }, { ...answers[1], ciphertext: flipped }]);

  // the page reads what the C client deposited (a newer manifest replaces the page's)
  await new Promise((r) => setTimeout(r, 1100)); // createdAt is in seconds: the newer manifest must be later
  const pKs = path.join(dir, 'p', 'dev', 'keys', 'patient.json');
  const cSummary = fs.readFileSync(path.join(root, 'tests', 'emergency', 'summary.json'));
  execFileSync(bin, ['emergency', 'setup', '--keystore', pKs, '--summary', path.join(root, 'tests', 'emergency', 'summary.json'),
    '--escrow', holders[0], '--escrow', holders[1], '--threshold', '2', '--chain-rpc', p + '/rpc', '--deployment', dep],
  { env: { ...process.env, PHR_PASSWORD: 'dev' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const r2 = await releaseAndRead(em, emBox, patient.address, patient.address, [holders[1]]);
  check(equal(r2.summary, cSummary), 'the page recovers the summary phr emergency setup (C) deposited, byte for byte');
  check(fromUtf8(r2.summary) !== summaryJson && toHex(r2.summary) === toHex(cSummary), 'the newer (C) manifest replaced the page\'s');

  // the webhook the page's deposit registered: each holder notified the releases, signed with the page's secret
  for (let i = 0; i < 100 && new Set(hooks.map((x) => JSON.parse(x.body).payload).filter((q) => q.event === 'escrow_share_released').map((q) => q.holder)).size < 2; i++) await new Promise((r) => setTimeout(r, 100));
  const sigOk = hooks.every((x) => x.headers['x-phr-signature'] === 'v1=' + createHmac('sha256', Buffer.from(secretHex, 'hex')).update(x.headers['x-phr-timestamp'] + '.' + x.body).digest('hex'));
  const evs = hooks.map((x) => JSON.parse(x.body));
  check(hooks.length >= 2 && sigOk && evs.every((j) => j.kind === 'emergency' && j.recipient === patient.address) &&
    new Set(evs.filter((j) => j.payload.event === 'escrow_share_released').map((j) => j.payload.holder)).size === 2,
  `webhook from the page's deposit: ${hooks.length} notifications from both holders, HMAC-SHA256 with the page's secret`);
}

try {
  await main();
} catch (e) {
  check(false, 'exception: ' + (e.stack || e));
} finally {
  for (const pr of procs) pr.kill('SIGTERM');
  receiver.close();
  await new Promise((r) => setTimeout(r, 300));
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`${failures() ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failures() ? 1 : 0);
