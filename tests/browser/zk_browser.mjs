#!/usr/bin/env node
// A provider-credential proof made in headless Chromium (snarkjs's browser build through
// circuits/web/zk.js) is accepted by ResearchAccess on `phr chain --dev` and by the C node's
// native verifier (`phr zk verify`); a copy with a tampered public input is rejected by both.
// Also an age proof made in the page, and a trial-enrolment proof made in the page that
// TrialRegistry.enrol accepts once and the native verifier accepts. Prints the in-page
// proving times.
//
//   node tests/browser/zk_browser.mjs     (PHR_BIN: phr with `chain` and `zk`; /usr/bin/chromium)
// Exit 0 ok, 1 a check failed, 77 skipped (no phr binary or no chromium).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ethers } from 'ethers';
import { ROOT, startChain, phrBinary, connect, deploy } from '../interop/contracts_lib.mjs';

const CHROMIUM = process.env.PHR_CHROMIUM || '/usr/bin/chromium';
const { bin, why } = phrBinary();
if (!bin || !fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${bin ? `no ${CHROMIUM}` : why}`);
  process.exit(77);
}
let failures = 0;
function check(cond, msg) {
  console.log(`${cond ? 'ok' : 'FAIL'} - ${msg}`);
  if (!cond) failures++;
}
function zk(...args) {
  const r = spawnSync(bin, ['zk', ...args.map(String)], { encoding: 'utf8', timeout: 120000, env: { ...process.env, PHR_SOURCE_DIR: ROOT } });
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, stderr: r.stderr || '' };
}

// Static files for the page: the prover module, snarkjs's browser build, the circuit files.
const FILES = {
  '/': ['circuits/web/index.html', 'text/html'],
  '/zk.js': ['circuits/web/zk.js', 'text/javascript'],
  '/snarkjs.min.js': ['node_modules/snarkjs/build/snarkjs.min.js', 'text/javascript'],
  '/provider_credential.wasm': ['circuits/keys/provider_credential.wasm', 'application/wasm'],
  '/provider_credential.zkey': ['circuits/keys/provider_credential.zkey', 'application/octet-stream'],
  '/age_credential.wasm': ['circuits/keys/age_credential.wasm', 'application/wasm'],
  '/age_credential.zkey': ['circuits/keys/age_credential.zkey', 'application/octet-stream'],
  '/trial_enrolment.wasm': ['circuits/keys/trial_enrolment.wasm', 'application/wasm'],
  '/trial_enrolment.zkey': ['circuits/keys/trial_enrolment.zkey', 'application/octet-stream'],
};
const server = http.createServer((req, res) => {
  const f = FILES[new URL(req.url, 'http://x').pathname];
  if (!f) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': f[1] });
  fs.createReadStream(path.join(ROOT, f[0])).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-zkb-'));
const chain = await startChain('phr', bin);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const { provider, wallets } = connect(chain.url);
  const [gov, authority, alice] = wallets;
  const providers = (await deploy('ProviderRegistry', gov, gov.address)).contract;
  await (await providers.setAuthority(authority.address, true)).wait();
  const creds = (await deploy('CredentialRegistry', gov, await providers.getAddress())).contract;
  const pv = (await deploy('ProviderCredentialVerifier', gov)).contract;
  const av = (await deploy('AgeCredentialVerifier', gov)).contract;
  const access = (await deploy('ResearchAccess', gov, await creds.getAddress(), await pv.getAddress(), await av.getAddress())).contract;

  const id = zk('identity').json;
  const now = Number((await provider.getBlock('latest')).timestamp);
  const expiry = now + 30 * 86400;
  const other = wallets[3];
  for (const w of [alice, other]) await (await providers.connect(authority).verifyProvider(w.address, 1, ethers.id('licence'), expiry)).wait();
  await (await creds.connect(authority).addCredential(alice.address, id.idCommitment, 4, expiry)).wait();
  await (await creds.connect(authority).addCredential(other.address, 12345, 4, expiry)).wait();
  const index = Number((await creds.indexPlusOne(zk('leaf', '--id', id.idCommitment, '--role', 4, '--expiry', expiry).json.leaf)) - 1n);
  const t = Number((await provider.getBlock('latest')).timestamp);
  const input = {
    secret: id.secret, expiry: String(expiry), leafIndex: String(index),
    siblings: (await creds.siblings(index)).map(String), root: String(await creds.root()), role: '4',
    currentTime: String(t), scope: '77', message: BigInt(alice.address).toString(),
  };

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready', null, { timeout: 30000 });
  const made = await page.evaluate((inp) => window.phrZk.proveProvider(inp, '/'), input);
  check(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join('; ') : ''}`);
  console.log(JSON.stringify({ browserProveMs: made.proveMs, circuit: made.circuit }));
  check(made.publicSignals.length === 6 && made.publicSignals[1] === input.root, 'proof made in the page against the on-chain root');

  // The C node verifies it natively ...
  const file = path.join(tmp, 'browser.json');
  fs.writeFileSync(file, JSON.stringify(made));
  const v = zk('verify', '--proof', file, '--root', input.root, '--role', 4, '--scope', 77, '--message', alice.address);
  check(v.status === 0 && v.json?.valid === true, `native verification of the browser proof${v.status ? ': ' + v.stderr : ''}`);
  const bad = { ...made, publicSignals: [...made.publicSignals] };
  bad.publicSignals[4] = '78';
  fs.writeFileSync(path.join(tmp, 'bad.json'), JSON.stringify(bad));
  check(zk('verify', '--proof', path.join(tmp, 'bad.json')).status === 1, 'native: tampered scope rejected');

  // ... and so does the chain.
  const args = [made.calldata, input.root, 4, t, 77, made.publicSignals[0]];
  try {
    await access.connect(alice).useCredential.estimateGas(made.calldata, input.root, 4, t, 78, made.publicSignals[0]);
    check(false, 'chain: tampered scope not rejected');
  } catch (e) {
    check(access.interface.parseError(e.data)?.name === 'InvalidProof', 'chain: tampered scope reverts InvalidProof');
  }
  const rc = await (await access.connect(alice).useCredential(...args)).wait();
  check(rc.status === 1, `chain: browser proof accepted (gas ${rc.gasUsed})`);
  check(await access.nullifierUsed(made.publicSignals[0]), 'chain: nullifier recorded');

  // An age proof in the page, verified in the page and natively.
  const key = ethers.id('zk browser attester').slice(2);
  const pat = zk('identity').json;
  const att = zk('attest', '--key', key, '--id', pat.idCommitment, '--birth', 20010911).json;
  const ageInput = {
    secret: pat.secret, birthDate: att.birthDate, sigR8x: att.R8x, sigR8y: att.R8y, sigS: att.S,
    authorityX: att.keyX, authorityY: att.keyY, today: '20261125', minAge: '21', scope: '5', message: '1',
  };
  const vkey = JSON.parse(fs.readFileSync(path.join(ROOT, 'circuits/keys/age_credential_vkey.json'), 'utf8'));
  const age = await page.evaluate(async ([inp, vk]) => {
    const p = await window.phrZk.proveAge(inp, '/');
    return { ...p, inPage: await window.phrZk.verify(vk, p.publicSignals, p.proof) };
  }, [ageInput, vkey]);
  console.log(JSON.stringify({ browserProveMs: age.proveMs, circuit: age.circuit }));
  check(age.inPage === true, 'age proof verifies in the page');
  fs.writeFileSync(path.join(tmp, 'age.json'), JSON.stringify(age));
  check(zk('verify', '--proof', path.join(tmp, 'age.json')).status === 0, 'native verification of the browser age proof');

  // A trial-enrolment proof in the page: alice (a verified provider) sponsors a trial with
  // the patient's identity commitment in its tree; the patient's wallet enrols.
  const tv = (await deploy('TrialEnrolmentVerifier', gov)).contract;
  const trials = (await deploy('TrialRegistry', gov, await providers.getAddress(), await creds.getAddress(), await tv.getAddress())).contract;
  await (await trials.connect(alice).createTrial(ethers.id('browser trial'))).wait();
  await (await trials.connect(alice).addParticipant(1, 777)).wait();
  await (await trials.connect(alice).addParticipant(1, pat.idCommitment)).wait();
  const enrollee = wallets[4];
  const trialInput = {
    secret: pat.secret, leafIndex: '1', siblings: (await trials.siblings(1, 1)).map(String),
    root: String(await trials.rootOf(1)), trialId: '1', message: BigInt(enrollee.address).toString(),
  };
  const trial = await page.evaluate((inp) => window.phrZk.proveTrial(inp, '/'), trialInput);
  console.log(JSON.stringify({ browserProveMs: trial.proveMs, circuit: trial.circuit }));
  check(trial.publicSignals.length === 4 && trial.publicSignals[1] === trialInput.root, 'trial proof made in the page against the on-chain root');
  fs.writeFileSync(path.join(tmp, 'trial.json'), JSON.stringify(trial));
  const vt = zk('verify', '--proof', path.join(tmp, 'trial.json'), '--trial', 1, '--root', trialInput.root, '--message', enrollee.address);
  check(vt.status === 0, `native verification of the browser trial proof${vt.status ? ': ' + vt.stderr : ''}`);
  const enrolArgs = [1, trial.calldata, trialInput.root, trial.publicSignals[0]];
  const rt = await (await trials.connect(enrollee).enrol(...enrolArgs)).wait();
  check(rt.status === 1, `chain: browser trial proof accepted (gas ${rt.gasUsed})`);
  try {
    await trials.connect(enrollee).enrol.estimateGas(...enrolArgs);
    check(false, 'chain: second enrolment not rejected');
  } catch (e) {
    check(trials.interface.parseError(e.data)?.name === 'NullifierUsed', 'chain: second enrolment reverts NullifierUsed');
  }
  provider.destroy();
} finally {
  await browser.close();
  await chain.stop();
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
