// The portal with an injected EIP-1193 wallet: window.ethereum is a shim
// whose requests are answered outside the page by an ethers Wallet (dev
// account 8): eth_requestAccounts, personal_sign (SIWE and the X25519
// derivation message) and eth_sendTransaction. The wallet patient signs in,
// registers its wallet-derived X25519 key, grants a provider Write; the
// provider submits a record from its page; the wallet patient decrypts it.
// Then a hosted account (the dev patient's keystore imported) gets a SMART
// Health Card for its seeded vaccination: QR code in the page, card file
// downloaded and verified.
import { getBytes } from 'ethers';
import fs from 'node:fs';
import path from 'node:path';
import { browser, check, clear, devWallet, failures, grantIn, nodeLogTail, root, signInWith, startNode, toast, tokens, watch } from './portal_lib.mjs';

const t0 = Date.now();
const MARK = 'WALLET-PORTAL-NOTE-5521';

async function main() {
  const node = await startNode();
  const b = await browser();
  let ok = false;
  try {
    const wallet = devWallet(node.url, 8);
    const calls = [];
    const ctx = await b.newContext({ viewport: { width: 1280, height: 860 } });
    await ctx.exposeBinding('__phrWallet', async (_src, method, params) => {
      calls.push(method);
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet.address];
      if (method === 'personal_sign') {
        if (params[1].toLowerCase() !== wallet.address.toLowerCase()) throw new Error('wrong account');
        return wallet.signMessage(getBytes(params[0]));
      }
      if (method === 'eth_sendTransaction') {
        const tx = await wallet.sendTransaction({ to: params[0].to, data: params[0].data, type: 0 });
        return tx.hash;
      }
      throw new Error('unsupported ' + method);
    });
    await ctx.addInitScript(() => {
      window.ethereum = { isShim: true, request: ({ method, params }) => window.__phrWallet(method, params || []) };
    });
    const pat = await ctx.newPage();
    watch(pat, 'wallet');
    await pat.goto(node.url + '/');
    await pat.getByRole('button', { name: 'Use browser wallet' }).click();
    await pat.locator('h1', { hasText: 'Home' }).waitFor({ timeout: 30000 });
    check((await pat.locator('main').innerText()).includes('a browser wallet'), 'signed in with the injected wallet (SIWE by personal_sign)');
    await clear(pat);
    await pat.getByRole('button', { name: 'Register my encryption key' }).click();
    await toast(pat, /Registered/);
    check(calls.includes('eth_sendTransaction'), 'registration sent by the wallet (eth_sendTransaction)');

    const provider = tokens(node).provider.address;
    await grantIn(pat, node, provider, '2', '1');
    const prov = await signInWith(b, node, 'provider', 'provider');
    await prov.goto(node.url + '/#/p/submit');
    await prov.getByLabel('Patient address').fill(wallet.address);
    await prov.getByLabel('What').selectOption('MedicationRequest');
    await prov.getByLabel('Medication').fill(MARK);
    await prov.getByLabel('Dosage').fill('1 tablet daily');
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    const r = await toast(prov, /Record #\d+ submitted/);
    const id = /#(\d+)/.exec(r)[1];

    await pat.goto(node.url + '/#/records');
    await pat.locator(`a[href="#/records/${id}"]`).click();
    await pat.getByRole('button', { name: 'Decrypt and show' }).click();
    await pat.locator('.record dl.facts').waitFor({ timeout: 30000 });
    check((await pat.locator('.record').innerText()).includes(MARK), 'the wallet patient decrypted the record with its wallet-derived key');

    // a FHIR JSON file (HL7's AllergyIntolerance example, CC0, from hl7.fhir.r4.examples) uploaded
    await prov.goto(node.url + '/#/p/submit');
    await prov.getByLabel('Patient address').fill(wallet.address);
    await prov.getByLabel('What').selectOption('file');
    await prov.getByLabel('File').setInputFiles(path.join(root, 'node_modules/hl7.fhir.r4.examples/AllergyIntolerance-example.json'));
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    const ra = await toast(prov, /Record #\d+ submitted/);
    const aid = /#(\d+)/.exec(ra)[1];
    check(/General/.test(await prov.locator('p.ok').innerText()), 'FHIR JSON upload typed from its resourceType (AllergyIntolerance -> General)');
    await pat.goto(node.url + '/#/records/' + aid);
    await pat.getByRole('button', { name: 'Decrypt and show' }).click();
    await pat.locator('.record dl.facts').waitFor({ timeout: 30000 });
    const al = await pat.locator('.record').innerText();
    check(/Allergy/.test(al) && /Cashew nuts/.test(al) && /high/.test(al) && /Anaphylactic reaction/.test(al), 'the uploaded allergy is rendered for people');

    // webhooks for notifications: added with a secret made in the page, listed, removed
    await pat.goto(node.url + '/#/notifications');
    await pat.getByLabel('Webhook URL').fill('http://127.0.0.1:9/phr-hook');
    await clear(pat);
    await pat.getByRole('button', { name: 'Add webhook' }).click();
    await toast(pat, /Webhook added/);
    await pat.locator('li[data-hook]', { hasText: 'http://127.0.0.1:9/phr-hook' }).waitFor();
    check(/[0-9a-f]{64}/.test(await pat.locator('#hook-secret').innerText()), 'webhook registered on the node with a secret made in the page, shown once');
    await clear(pat);
    await pat.locator('li[data-hook]').getByRole('button', { name: 'Remove' }).click();
    await toast(pat, /Webhook removed/);
    await pat.locator('li[data-hook]').waitFor({ state: 'detached' });
    check(true, 'webhook removed (the re-read list is empty)');

    // keyboard only: a new key is created with Tab, typing and Enter; focus lands on the heading
    const kc = await b.newContext();
    const kb = await kc.newPage();
    watch(kb, 'keyboard');
    await kb.goto(node.url + '/');
    await kb.getByRole('button', { name: 'Create key' }).waitFor();
    const focusLabel = () => kb.evaluate(() => { const e = document.activeElement; return e && e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent; });
    check(await kb.evaluate(() => document.activeElement.tagName === 'H1'), 'the view\'s heading has the focus on load');
    await kb.keyboard.press('Shift+Tab');
    await kb.keyboard.press('Shift+Tab');
    check(await kb.evaluate(() => document.activeElement.classList.contains('skip') && document.activeElement.getBoundingClientRect().left >= 0), 'the skip link is reachable by keyboard and shows when focused');
    for (let i = 0; i < 12 && (await focusLabel()) !== 'Name'; i++) await kb.keyboard.press('Tab');
    await kb.keyboard.type('Keyboard key');
    await kb.keyboard.press('Tab');
    check(await focusLabel() === 'Password', 'Tab: Name -> Password');
    await kb.keyboard.type('keyboard-pw-88');
    await kb.keyboard.press('Tab');
    await kb.keyboard.type('keyboard-pw-88');
    await kb.keyboard.press('Tab');
    check(await focusLabel() === 'Create key', 'Tab: Repeat password -> Create key');
    await kb.keyboard.press('Enter');
    await kb.locator('h1', { hasText: 'Home' }).waitFor({ timeout: 60000 });
    check(await kb.evaluate(() => document.activeElement.tagName === 'H1'), 'a key created by keyboard alone; focus moves to the new view\'s heading');

    // the page's record format is the C code's: the provider's page encrypts a record for the
    // dev patient (hosted, so the node holds its keys) and the node decrypts it (GET .../content)
    const dev = tokens(node).patient;
    await prov.goto(node.url + '/#/p/submit');
    await prov.getByLabel('Patient address').fill(dev.address);
    await prov.getByLabel('What').selectOption('Condition');
    await prov.getByLabel('Condition (display)').fill('C-INTEROP-7');
    await prov.getByLabel('ICD-10-CM code').fill('E11.9');
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    const rc = await toast(prov, /Record #\d+ submitted/);
    const cid = /#(\d+)/.exec(rc)[1];
    const content = await fetch(`${node.url}/api/v1/records/${cid}/content?purpose=6`, { headers: { Authorization: 'Bearer ' + dev.token } });
    const body = content.status === 200 ? await content.json() : null;
    check(body && body.resourceType === 'Condition' && body.code.coding[0].code === 'E11.9' && body.code.coding[0].display === 'C-INTEROP-7',
      'the node (C) opens the capsule sealed in the page and decrypts the page\'s record stream, hash checked');

    // SMART Health Cards: the node issues for accounts it hosts (the dev patient, whose
    // keystore is imported here) and records minted by its providers (the seeded vaccination)
    const hp = await signInWith(b, node, 'patient', 'hosted-patient');
    await hp.goto(node.url + '/#/shc');
    await hp.getByLabel('Given name').fill('Ada');
    await hp.getByLabel('Family name').fill('Lovelace');
    await hp.getByLabel('Birth date').fill('1990-12-10');
    await hp.getByRole('button', { name: 'Get a card for record #1' }).click();
    const img = hp.locator('img.qr');
    await img.waitFor({ timeout: 30000 });
    check(await img.evaluate((e) => e.complete && e.naturalWidth > 100), 'SMART Health Card QR code drawn in the page');
    const [dl] = await Promise.all([hp.waitForEvent('download'), hp.getByRole('button', { name: 'Download the .smart-health-card file' }).click()]);
    const file = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
    const v = await (await fetch(node.url + '/api/v1/shc/verify', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(file) })).json();
    const entries = v.payload && v.payload.vc.credentialSubject.fhirBundle.entry.map((e) => e.resource);
    check(v.valid === true && entries.some((r) => r.resourceType === 'Patient' && r.name[0].family === 'Lovelace') &&
      entries.some((r) => r.resourceType === 'Immunization' && r.vaccineCode.coding[0].code === '150'), 'the downloaded card verifies (node\'s verifier) and holds the patient and the CVX 150 vaccination');
    // a browser-key patient is told why the node will not sign its card
    await pat.goto(node.url + '/#/shc');
    check(/No vaccination records/.test(await pat.locator('main').innerText()), 'health cards screen for a patient without vaccinations');
    ok = true;
  } catch (e) {
    console.error('FAIL', e.stack || e);
    for (const c of b.contexts()) for (const pg of c.pages()) console.error(`--- ${pg.url()}\n${(await pg.locator('body').innerText().catch(() => '?')).slice(0, 1200)}`);
    nodeLogTail(node);
  }
  await b.close().catch(() => {});
  check(await node.stop() === 0, 'node stopped cleanly');
  fs.rmSync(node.dir, { recursive: true, force: true });
  console.log(`${failures() || !ok ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(failures() || !ok ? 1 : 0);
}

main();
