// The escrowed emergency summary from the pages (headless Chromium): a
// `phr node --dev` serves the portal and the chain, two escrow holder nodes
// (--chain-rpc) on other origins. The dev patient (keystore imported in its
// page) fills the emergency form; the page builds the FHIR Bundle, encrypts
// it, splits the key 2-of-2 and deposits the sealed shares at both holders
// (logging Share/Emergency on chain). The dev emergency provider opens
// break-glass, then "Release and read" in its page asks one holder, finds the
// other in the manifest, combines, decrypts and shows the summary (logging
// View/Emergency). Both holders' release logs are read back with the CLI
// (`phr emergency status`); the holders' data directories never contain the
// summary in clear.
//
// Holders do not send CORS headers yet and the portal's CSP allows only its
// own origin, so the two contexts talking to holders are made with bypassCSP
// and answer the holders' preflights (and add Access-Control-Allow-Origin to
// their answers) through Playwright routes: the requests themselves reach
// the real holder nodes unchanged.
//   PORTAL_SHOTS=DIR  also writes screenshots of the two screens into DIR.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet, keccak256, toUtf8Bytes } from 'ethers';
import { a11y, browser, check, clear, failures, root, shotTo, signInWith, startNode, toast, tokens, walk } from './portal_lib.mjs';

const t0 = Date.now();
const shots = process.env.PORTAL_SHOTS;
const ALLERGY = 'Penicillin — anaphylaxis 2019';
const procs = [];

function startHolder(dir, name, chain, dep) {
  const p = spawn(process.env.PHR_BIN, ['node', '--datadir', path.join(dir, name), '--listen', '127.0.0.1:0', '--chain-rpc', chain, '--deployment', dep],
    { stdio: ['ignore', 'pipe', 'ignore'], cwd: root });
  procs.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(name + ' did not start')), 90000);
    p.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
    p.on('exit', (c) => { clearTimeout(t); reject(new Error(name + ' exited ' + c)); });
  });
}

/** Lets the pages of @p ctx reach @p origins as if those holders allowed any origin (CORS). */
async function corsFor(ctx, origins) {
  const allow = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET, PUT, POST', 'Access-Control-Allow-Headers': 'content-type' };
  for (const o of origins) {
    await ctx.route(o + '/**', async (route) => {
      if (route.request().method() === 'OPTIONS') return route.fulfill({ status: 204, headers: allow });
      const r = await route.fetch();
      return route.fulfill({ response: r, headers: { ...r.headers(), ...allow } });
    });
  }
}

async function main() {
  const node = await startNode();
  const dep = path.join(node.datadir, 'deployment.json');
  const holders = [await startHolder(node.dir, 'e1', node.url + '/rpc', dep), await startHolder(node.dir, 'e2', node.url + '/rpc', dep)];
  const tok = tokens(node);
  const patient = tok.patient.address;
  const b = await browser();
  try {
    const opts = { bypassCSP: true };
    const setup = (ctx) => corsFor(ctx, holders);
    // --- the patient escrows its summary from the Emergency screen ---------------------------------
    const pat = await signInWith(b, node, 'patient', 'patient', opts, setup);
    await pat.goto(node.url + '/#/emergency');
    await pat.getByRole('heading', { name: 'Escrowed emergency summary' }).waitFor();
    await pat.getByLabel('Name', { exact: true }).fill('Dev Patient');
    await pat.getByLabel('Blood type').fill('A Rh+');
    await pat.getByLabel('Allergies (one per line)').fill(ALLERGY);
    await pat.getByLabel('Medications (one per line)').fill('Apixaban 5 mg twice daily');
    await pat.getByLabel('Conditions (one per line)').fill('Atrial fibrillation');
    await pat.getByLabel(/^Emergency contacts \(name/).fill('Sam Example, +1 555 0100');
    await pat.getByLabel('Escrow holders (node URLs, one per line)').fill(holders.join('\n'));
    await pat.getByLabel('Threshold (holders needed)').fill('2');
    await pat.getByLabel(/^Notify me at/).fill('http://127.0.0.1:9/phr-hook');
    // too high a threshold is refused in the page
    await pat.getByLabel('Threshold (holders needed)').fill('3');
    await clear(pat);
    await pat.getByRole('button', { name: 'Encrypt and deposit' }).click();
    check(/threshold must be between 2 and 2/.test(await toast(pat, /threshold/)), 'a threshold above the number of holders is refused');
    await pat.getByLabel('Threshold (holders needed)').fill('2');
    await clear(pat);
    await pat.getByRole('button', { name: 'Encrypt and deposit' }).click();
    await toast(pat, /Emergency summary escrowed/, 60000);
    check(/shown once\): [0-9a-f]{64}$/.test(await pat.locator('#escrow-hook-secret').innerText()), 'the webhook secret made in the page is shown once');
    const res = await pat.locator('#escrow-result').innerText();
    check((res.match(/deposited/g) || []).length === 2, 'both holders accepted the deposit made in the page: ' + res.replace(/\n/g, '; '));
    if (shots) await shotTo(shots, pat, 'escrow');
    await a11y(pat, 'emergency (escrow)');

    // --- break-glass, then release and read in the emergency provider's page -------------------------
    const em = await signInWith(b, node, 'emergency', 'emergency', opts, setup);
    // the session is opened outside the page here (the e2e test covers opening it from the page with TOTP)
    const ks = fs.readFileSync(path.join(node.datadir, 'dev', 'keys', 'emergency.json'), 'utf8');
    const ew = (await Wallet.fromEncryptedJson(ks, 'dev')).connect(new JsonRpcProvider(node.url + '/rpc', undefined, { staticNetwork: true }));
    await em.goto(node.url + '/#/p/emergency');
    await em.getByRole('heading', { name: 'Escrowed emergency summary' }).waitFor();
    const form = em.locator('#release-form');
    await form.getByLabel('Patient address').fill(patient);
    await form.getByLabel(/^Escrow holders/).fill(holders[0]);
    await clear(em);
    await form.getByRole('button', { name: 'Release and read the summary' }).click();
    const refused = await toast(em, /refus|not|403|active/i);
    check(!/decrypted/.test(refused), 'before break-glass the holders refuse: ' + refused.slice(0, 100));
    const ea = new Contract((await (await fetch(node.url + '/api/v1/info')).json()).deployment.EmergencyAccess,
      ['function openEmergencyAccess(address patient, uint8 reasonCode, bytes32 reasonHash) returns (uint64)'], ew);
    const tx = await ea.openEmergencyAccess(patient, 1, keccak256(toUtf8Bytes('unconscious on arrival')), { gasLimit: 500000n, type: 0 });
    check((await tx.wait()).status === 1, 'break-glass opened on chain');
    await clear(em);
    await form.getByRole('button', { name: 'Release and read the summary' }).click();
    await toast(em, /Emergency summary decrypted/, 60000);
    const shown = await em.locator('#escrow-summary').innerText();
    check(/Recovered from 2 of 2 holders/.test(shown), 'the page combined shares of both holders (one named, one from the manifest)');
    check(shown.includes(ALLERGY) || shown.includes('Penicillin'), 'the decrypted summary is shown: ' + shown.slice(0, 160).replace(/\n/g, ' | '));
    if (shots) await shotTo(shots, em, 'escrow-release');
    await a11y(em, 'break-glass (release)');

    // --- the holders' logs and data ---------------------------------------------------------------
    const st = JSON.parse(execFileSync(process.env.PHR_BIN, ['emergency', 'status', '--patient', patient, '--provider', ew.address,
      '--escrow', holders[0], '--escrow', holders[1], '--keystore', path.join(node.datadir, 'dev', 'keys', 'patient.json'),
      '--chain-rpc', node.url + '/rpc', '--deployment', dep], { encoding: 'utf8', env: { ...process.env, PHR_PASSWORD: 'dev' } }));
    check(st.session && st.session.active === true, 'phr emergency status: the session is active');
    const rel = st.escrow.map((e) => (e.kept && e.kept.releases) || []);
    const by = (l, ok) => l.filter((r) => r.released === ok && r.requester.toLowerCase() === ew.address.toLowerCase()).length;
    check(by(rel[0], false) === 1 && by(rel[0], true) === 1 && by(rel[1], true) === 1 && by(rel[1], false) === 0,
      'holders\' logs: the named holder refused once then released, the other (from the manifest) released once');
    const kept = JSON.parse(st.escrow[0].kept.manifest);
    check(kept.t === 2 && kept.n === 2 && kept.patient.toLowerCase() === patient.toLowerCase(), 'the manifest the holder keeps: 2 of 2, for the patient');
    // the audit trail: Share/Emergency by the patient's page, View/Emergency by the provider's
    const { items } = await (await fetch(`${node.url}/api/v1/patients/${patient}/audit`, { headers: { Authorization: 'Bearer ' + tok.patient.token } })).json();
    const has = (action, who) => items.some((a) => a.action === action && (a.purpose === 4 || a.purpose === 'Emergency') &&
      String(a.accessor).toLowerCase() === who.toLowerCase() && String(a.recordId) === '0');
    check(has('Share', patient) && has('View', ew.address), 'audit trail: Share/Emergency by the patient, View/Emergency by the emergency provider');
    for (const n of ['e1', 'e2']) {
      let leak = false;
      for (const f of walk(path.join(node.dir, n))) if (fs.readFileSync(f).includes(Buffer.from('Penicillin'))) leak = true;
      check(!leak, `holder ${n}: no file contains the summary in clear`);
    }
  } finally {
    await b.close();
    for (const p of procs) p.kill('SIGTERM');
    await node.stop();
    fs.rmSync(node.dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  check(false, 'exception: ' + (e.stack || e));
}
console.log(`${failures() ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failures() ? 1 : 0);
