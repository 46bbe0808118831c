// End to end in headless Chromium against a `phr node --dev` started here:
// a patient creates a key in the browser, registers it and signs in (SIWE);
// gives a provider Write; the provider (its own keystore imported into a
// second browser context) submits records encrypted in its page; the patient
// sees and decrypts them in the page; grants a second provider (the clinic)
// Read with an expiry; the clinic reads the record in a third context; the
// patient revokes; the clinic is refused; the patient sees both reads in
// "who looked"; emergency settings and export. Then the node is stopped and
// its log, databases and store are scanned: neither the records' plaintext
// nor the patient's keys or password may appear. Also: first-load weight and
// the portal's HTTP behaviour (types, ETag/304, gzip, CSP, paths, methods).
//   PORTAL_SHOTS=DIR  also writes screenshots (desktop and phone, palette PNGs) into DIR.
import fs from 'node:fs';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Wallet, keccak256, concat, toUtf8Bytes, getBytes } from 'ethers';
import sodium from 'libsodium-wrappers';
import { a11y, browser, check, clear, shotTo, failures, fund, grantIn, nodeLogTail, root, signInWith, startNode, toast, tokens, walk, watch } from './portal_lib.mjs';

const PASSWORD = 'portal-e2e-Pw-4417';
const LOT = 'LOT-PORTAL-7731Q';
const LAB = 'PortalMarker glycated haemoglobin';
const shots = process.env.PORTAL_SHOTS;
const t0 = Date.now();
const short = (a) => a.slice(0, 6) + '…' + a.slice(-4);

/** RFC 6238 code (SHA-1, 6 digits, 30 s) for base32 @p secret, @p step steps from now. */
function totp(secret, step) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/[^A-Z2-7]/gi, '').toUpperCase()) bits += A.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((x) => parseInt(x, 2)));
  const ctr = Buffer.alloc(8);
  ctr.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + step));
  const mac = crypto.createHmac('sha1', key).update(ctr).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

function raw(url, method, p, headers = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, method, path: p, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    });
    r.on('error', reject);
    r.end();
  });
}

async function httpChecks(url) {
  const idx = await raw(url, 'GET', '/');
  check(idx.status === 200 && idx.headers['content-type'].startsWith('text/html'), 'GET / is index.html');
  const csp = idx.headers['content-security-policy'] || '';
  check(/default-src 'none'/.test(csp) && /script-src 'self' 'wasm-unsafe-eval'/.test(csp) && /connect-src 'self'/.test(csp) && !/unsafe-inline|https?:/.test(csp), 'strict CSP: only this origin, no inline script, no remote hosts');
  check(idx.headers['cache-control'] === 'no-cache' && /^"[0-9a-f]{32}"$/.test(idx.headers.etag || ''), 'index.html: no-cache with a strong ETag');
  const again = await raw(url, 'GET', '/', { 'If-None-Match': idx.headers.etag });
  check(again.status === 304 && again.body.length === 0, 'If-None-Match -> 304 without a body');
  const js = /src="(main-[A-Z0-9]+\.js)"/.exec(idx.body.toString())[1];
  const gz = await raw(url, 'GET', '/' + js, { 'Accept-Encoding': 'gzip, br' });
  check(gz.status === 200 && gz.headers['content-encoding'] === 'gzip' && gz.headers['content-type'].startsWith('text/javascript') &&
    /immutable/.test(gz.headers['cache-control']) && gz.headers.vary === 'Accept-Encoding', 'hashed bundle: gzip variant, immutable, Vary');
  const plain = await raw(url, 'GET', '/' + js);
  check(plain.status === 200 && !plain.headers['content-encoding'] && plain.body.length > gz.body.length && plain.headers.etag !== gz.headers.etag, 'identity encoding without Accept-Encoding, its own ETag');
  const head = await raw(url, 'HEAD', '/' + js);
  check(head.status === 200 && head.body.length === 0, 'HEAD: headers only');
  for (const p of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/.git/config', '/web/../../etc/passwd', '//etc/passwd', '/index.html/..', '/nope.exe', '/missing.js'])
    check((await raw(url, 'GET', p)).status === 404, `404 for ${p}`);
  const post = await raw(url, 'POST', '/');
  check(post.status === 405 && post.headers.allow === 'GET, HEAD', 'POST / -> 405 with Allow');
  const api = await raw(url, 'GET', '/api/v1/nope');
  check(api.status === 404 && api.headers['content-type'] === 'application/problem+json' && !api.headers['content-security-policy'], '/api/ paths stay with the API');
}

async function main() {
  const node = await startNode();
  const b = await browser();
  const tok = tokens(node);
  const provider = tok.provider.address;
  const clinic = tok.clinic.address;
  let patientSk = null;
  let me = null;
  let ok = false;
  try {
    await httpChecks(node.url);

    // --- patient: first load, create a key, fund it, register, sign in ---------------------------
    const pc = await b.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    const pat = await pc.newPage();
    watch(pat, 'patient');
    pat.on('dialog', (d) => d.accept());
    let bytes = 0;
    const sized = [];
    pat.on('requestfinished', (r) => sized.push(r.sizes().then((s) => { bytes += s.responseBodySize + s.responseHeadersSize; })));
    await pat.goto(node.url + '/');
    await pat.getByRole('button', { name: 'Create key' }).waitFor();
    await Promise.all(sized);
    check(bytes > 0 && bytes < 300 * 1024, `first load ${bytes} B transferred (< 300 KiB)`);
    if (shots) await shot(pat, 'signin');
    await a11y(pat, 'signin');
    await pat.getByLabel('Name').fill('E2E patient');
    await pat.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await pat.getByLabel('Repeat password').fill(PASSWORD);
    await pat.getByRole('button', { name: 'Create key' }).click();
    await pat.getByRole('heading', { name: 'Home' }).waitFor({ timeout: 60000 });
    me = await pat.locator('#who span').getAttribute('title');
    check(/^0x[0-9a-fA-F]{40}$/.test(me), 'patient key created in the browser: ' + me);
    await fund(node.url, me);
    await clear(pat);
    await pat.getByRole('button', { name: 'Register my encryption key' }).click();
    await toast(pat, /Registered/);
    check(true, 'patient registered its X25519 key (signed in the page)');

    // the patient gives the provider Write for a day (so it may submit)
    await grantIn(pat, node, provider, '2', '1');

    // --- provider: imports its keystore, submits two records encrypted in its page -------------
    const prov = await signInWith(b, node, 'provider', 'provider');
    await prov.goto(node.url + '/#/p/submit');
    await prov.getByLabel('Patient address').fill(me);
    await prov.getByLabel('Vaccine (display)').fill('COVID-19, mRNA');
    await prov.getByLabel('CVX code').fill('208');
    await prov.getByLabel('Date given').fill('2026-01-15');
    await prov.getByLabel('Lot number').fill(LOT);
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    const r1 = await toast(prov, /Record #\d+ submitted/);
    const recId = /#(\d+)/.exec(r1)[1];
    if (shots) await shot(prov, 'provider-submit');
    await prov.getByLabel('What').selectOption('Observation');
    await prov.getByLabel('Test (display)').fill(LAB);
    await prov.getByLabel('LOINC code').fill('4548-4');
    await prov.getByLabel('Value').fill('6.1');
    await prov.getByLabel('Unit').fill('%');
    await prov.getByLabel('Date', { exact: true }).fill('2026-02-01');
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    await toast(prov, new RegExp(`Record #${Number(recId) + 1} submitted`));
    // a DICOM file (291 KB: more than one 256 KiB block, so the page computes a dag-pb CID)
    await prov.getByLabel('What').selectOption('file');
    await prov.getByLabel('File').setInputFiles(path.join(root, 'tests/vectors/dicom/pydicom/waveform_ecg.dcm'));
    await clear(prov);
    await prov.getByRole('button', { name: 'Encrypt and submit' }).click();
    const r3 = await toast(prov, new RegExp(`Record #${Number(recId) + 2} submitted`));
    check(/Imaging/.test(await prov.locator('p.ok').innerText()), 'DICOM upload detected as Imaging: ' + r3);
    check(true, `provider submitted records #${recId}..#${Number(recId) + 2} from its browser (CIDs matched the node's)`);
    await a11y(prov, 'submit');

    // --- patient: sees them, decrypts in the page -----------------------------------------------
    await pat.goto(node.url + '/#/records');
    await pat.locator('ol.timeline li.rec').first().waitFor();
    check(await pat.locator('ol.timeline li.rec').count() === 3, 'patient timeline lists the 3 submitted records');
    await a11y(pat, 'records');
    if (shots) await shot(pat, 'records');
    await pat.locator(`a[href="#/records/${recId}"]`).click();
    await pat.getByRole('button', { name: 'Decrypt and show' }).click();
    await pat.locator('.record dl.facts').waitFor({ timeout: 30000 });
    const shown = await pat.locator('.record').innerText();
    check(shown.includes(LOT) && shown.includes('COVID-19, mRNA'), 'patient decrypted the immunization in the page');
    if (shots) await shot(pat, 'record');

    await pat.goto(node.url + '/#/labs');
    await clear(pat);
    await pat.getByRole('button', { name: 'Decrypt 1 lab results' }).click();
    await pat.locator('svg.chart circle').first().waitFor({ timeout: 30000 });
    check((await pat.locator('svg.chart').getAttribute('aria-label')).includes('2026-02-01 6.1 %'), 'lab chart drawn from the decrypted Observation (SVG, labelled)');
    if (shots) await shot(pat, 'labs');
    await a11y(pat, 'labs');

    // --- grant the clinic Read with an expiry ---------------------------------------------------
    const g = await grantIn(pat, node, clinic, '1', '2');
    check(/3 record keys shared/.test(g), 'grant re-sealed the 3 record keys to the clinic: ' + g);
    const row = pat.locator(`tr[data-provider="${clinic}"]`);
    await row.waitFor();
    check(/Read/.test(await row.innerText()) && /active/.test(await row.innerText()), 'grant listed as active Read with its expiry');
    // extend the provider's Write grant by 30 days
    const prow = pat.locator(`tr[data-provider="${provider}"]`);
    const expBefore = await prow.locator('td').nth(3).innerText();
    await clear(pat);
    await prow.getByRole('button', { name: 'Extend 30 days' }).click();
    await toast(pat, /Extended/);
    await pat.locator(`tr[data-provider="${provider}"] td:nth-child(4)`).filter({ hasNotText: expBefore }).waitFor();
    const expAfter = await pat.locator(`tr[data-provider="${provider}"]`).locator('td').nth(3).innerText();
    check(Date.parse(expAfter.replace(' ', 'T') + 'Z') - Date.parse(expBefore.replace(' ', 'T') + 'Z') >= 29 * 86400000, `grant extended: ${expBefore} -> ${expAfter}`);
    if (shots) await shot(pat, 'sharing');
    await a11y(pat, 'sharing');

    // --- the clinic reads it in a second browser context ----------------------------------------
    const cli = await signInWith(b, node, 'clinic', 'clinic');
    await cli.goto(node.url + '/#/records/' + recId);
    await cli.getByRole('button', { name: 'Decrypt and show' }).click();
    await cli.locator('.record dl.facts').waitFor({ timeout: 30000 });
    check((await cli.locator('.record').innerText()).includes(LOT), 'the clinic decrypted the record in its page');
    await cli.goto(node.url + '/#/p/patients');
    await cli.locator(`a[href="#/p/patient/${me}"]`).waitFor();
    check(/Read/.test(await cli.locator('table tbody tr').filter({ hasText: me }).innerText()), 'the clinic\'s patient list shows the grant');
    await cli.locator(`a[href="#/p/patient/${me}"]`).click();
    await cli.locator('ol.timeline li.rec').nth(2).waitFor();
    await cli.locator(`a[href="#/records/${Number(recId) + 2}"]`).click();
    await cli.getByRole('button', { name: 'Decrypt and show' }).click();
    await cli.locator('.record dl.facts').waitFor({ timeout: 30000 });
    const dcm = await cli.locator('.record').innerText();
    check(/Imaging study \(DICOM\)/.test(dcm) && /ECG/.test(dcm) && /Mortara/.test(dcm), 'the clinic sees the DICOM metadata, decrypted in its page');

    // --- revoke; the clinic is refused ------------------------------------------------------------
    await pat.goto(node.url + '/#/sharing');
    await clear(pat);
    await pat.locator(`tr[data-provider="${clinic}"]`).getByRole('button', { name: 'Revoke' }).click();
    await toast(pat, /revoked/);
    await cli.goto(node.url + '/#/home');
    await cli.goto(node.url + '/#/records/' + recId);
    await clear(cli);
    await cli.getByRole('button', { name: 'Decrypt and show' }).click();
    const refused = await toast(cli, /./, 30000);
    const after = await cli.locator('.record').innerText();
    check(!after.includes(LOT) && /NotAuthorized|NoAccess|refused/i.test(refused), 'after revocation the clinic is refused: ' + refused);

    // --- who looked -----------------------------------------------------------------------------------
    await pat.goto(node.url + '/#/audit');
    await pat.locator('#audit tbody tr').first().waitFor();
    const views = await pat.locator('#audit tbody tr[data-action="View"]').allInnerTexts();
    check(views.some((t) => t.includes(short(clinic)) && t.includes('#' + recId)), 'who looked: the clinic\'s read');
    check(views.some((t) => t.includes('you') && t.includes('#' + recId)), 'who looked: the patient\'s own read');
    if (shots) await shot(pat, 'audit');
    await a11y(pat, 'audit');

    // --- the clinic asks again; the patient approves (keys re-shared); the clinic reads -----------
    await cli.goto(node.url + '/#/p/request');
    await cli.getByLabel('Patient address').fill(me);
    await cli.getByLabel('Purpose').selectOption('1');
    await cli.getByLabel('Duration (days)').fill('3');
    await clear(cli);
    await cli.getByRole('button', { name: 'Send request' }).click();
    await toast(cli, /Request sent/);
    await pat.goto(node.url + '/#/notifications');
    await pat.getByText(new RegExp(`Access request #\\d+ from ${clinic}`)).first().waitFor();
    const req = await requestRow(pat, node, clinic);
    await clear(pat);
    await req.getByRole('button', { name: 'Approve' }).click();
    const ap = await toast(pat, /Approved/);
    check(/3 record keys shared/.test(ap), 'request approved in the page, record keys re-shared: ' + ap);
    await cli.goto(node.url + '/#/home');
    await cli.goto(node.url + '/#/records/' + recId);
    await cli.getByRole('button', { name: 'Decrypt and show' }).click();
    await cli.locator('.record dl.facts').waitFor({ timeout: 30000 });
    check((await cli.locator('.record').innerText()).includes(LOT), 'after approval the clinic reads again');

    // --- break-glass by the emergency provider (TOTP set up in its page) ------------------------------
    const em = await signInWith(b, node, 'emergency', 'emergency');
    await em.goto(node.url + '/#/home');
    await em.getByRole('button', { name: 'Set up two-factor codes (TOTP)' }).click();
    const secret = await em.locator('form p.mono').innerText();
    await em.getByLabel('Code').fill(totp(secret, 0));
    await clear(em);
    await em.getByRole('button', { name: 'Confirm' }).click();
    await toast(em, /Two-factor codes are on/);
    await em.goto(node.url + '/#/p/emergency');
    await em.locator('#breakglass-form').getByLabel('Patient address').fill(me);
    await em.getByLabel(/^Reason \(/).fill('Unconscious on arrival, allergy check before anaesthesia');
    await em.getByLabel('Two-factor code').fill(totp(secret, 1));
    await clear(em);
    await em.getByRole('button', { name: 'Open emergency access (24 h)' }).click();
    await toast(em, /Emergency access open/);
    check(true, 'break-glass opened from the emergency provider\'s page with its second factor');
    // the emergency provider also asks for Read; the patient denies it
    await em.goto(node.url + '/#/p/request');
    await em.getByLabel('Patient address').fill(me);
    await clear(em);
    await em.getByRole('button', { name: 'Send request' }).click();
    await toast(em, /Request sent/);
    const ereq = await requestRow(pat, node, tok.emergency.address);
    await clear(pat);
    await ereq.getByRole('button', { name: 'Deny' }).click();
    await toast(pat, /Denied/);
    await pat.locator('tr[data-request]').filter({ hasText: short(tok.emergency.address) }).filter({ hasText: /Denied/i }).waitFor();
    check(true, 'an access request denied from the page');
    await pat.goto(node.url + '/#/notifications');
    await pat.getByText(`Emergency access opened by ${tok.emergency.address}`).waitFor();
    check(true, 'the patient is notified of the emergency access');
    if (shots) await shot(pat, 'notifications');

    // --- emergency settings -------------------------------------------------------------------------
    await pat.goto(node.url + '/#/emergency');
    await pat.getByRole('heading', { name: 'Emergency settings' }).waitFor();
    await pat.getByLabel('Contact addresses (one per line)').fill(clinic);
    await clear(pat);
    await pat.getByRole('button', { name: 'Save contacts' }).click();
    await toast(pat, /Emergency contacts saved/);
    await pat.getByRole('heading', { name: 'Emergency settings' }).waitFor();
    check((await pat.getByLabel('Contact addresses (one per line)').inputValue()).toLowerCase().includes(clinic.toLowerCase().slice(2)), 'emergency contact stored on chain and shown');
    const sess = pat.locator('#sessions tbody tr').filter({ hasText: short(tok.emergency.address) });
    check(/active/.test(await sess.innerText()), 'emergency screen lists the active break-glass session');
    await clear(pat);
    await sess.getByRole('button', { name: 'Close' }).click();
    await toast(pat, /Closed/);
    await pat.locator('#sessions tbody tr').filter({ hasText: 'ended' }).waitFor();
    check(true, 'the patient closed the session from the emergency screen');
    if (shots) await shot(pat, 'emergency');
    await a11y(pat, 'emergency');

    // --- recovery guardians ------------------------------------------------------------------------------
    await pat.goto(node.url + '/#/recovery');
    await pat.getByLabel('Guardian addresses (one per line)').fill(`${clinic}\n${provider}`);
    await pat.getByLabel('Guardians needed').fill('2');
    await clear(pat);
    await pat.getByRole('button', { name: 'Save guardians' }).click();
    await toast(pat, /Guardians saved/);
    await pat.getByText('2 guardians, 2 needed.').waitFor();
    check(true, 'recovery guardians (2 of 2) set from the page and read back from the chain');
    await a11y(pat, 'recovery');

    // --- export --------------------------------------------------------------------------------------------
    await pat.goto(node.url + '/#/export');
    const [dl] = await Promise.all([pat.waitForEvent('download', { timeout: 60000 }), pat.getByRole('button', { name: /Decrypt and export all 3 records/ }).click()]);
    const bundle = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
    const res = bundle.entry.map((e) => e.resource);
    check(bundle.resourceType === 'Bundle' && res.some((r) => r.resourceType === 'Immunization' && r.lotNumber === LOT) &&
      res.some((r) => r.resourceType === 'Observation' && r.code.coding[0].display === LAB) &&
      res.some((r) => r.resourceType === 'Binary' && r.contentType === 'application/dicom' && Buffer.from(r.data, 'base64').equals(fs.readFileSync(path.join(root, 'tests/vectors/dicom/pydicom/waveform_ecg.dcm')))),
    'export: FHIR Bundle with the 3 decrypted records (the DICOM file byte for byte)');
    check(res.filter((r) => r.resourceType === 'AuditEvent').length >= 4, 'export: the audit trail as AuditEvents');
    const [dlog] = await Promise.all([pat.waitForEvent('download', { timeout: 30000 }), pat.getByRole('button', { name: 'Download the access log (CSV)' }).click()]);
    const csv = fs.readFileSync(await dlog.path(), 'utf8').trim().split('\n');
    check(csv.length >= 5 && csv.slice(1).some((l) => l.toLowerCase().includes(clinic.toLowerCase())), `export: the node's access log as CSV (${csv.length - 1} rows, the clinic's reads among them)`);
    if (shots) await shot(pat, 'export');
    await a11y(pat, 'export');

    // the patient's key, from the keystore the page stored in IndexedDB
    const stored = await pat.evaluate(() => new Promise((resolve, reject) => {
      const r = indexedDB.open('phr-portal', 1);
      r.onsuccess = () => { const q = r.result.transaction('keys').objectStore('keys').getAll(); q.onsuccess = () => resolve(q.result); q.onerror = reject; };
      r.onerror = reject;
    }));
    check(stored.length === 1 && stored[0].keystore.crypto.kdf === 'scrypt', 'IndexedDB holds one password-encrypted keystore');
    const w = await Wallet.fromEncryptedJson(JSON.stringify(stored[0].keystore), PASSWORD);
    check(w.address === me, 'the stored keystore opens with ethers (same format as the CLI)');
    patientSk = getBytes(w.privateKey);
    ok = true;
    await b.close();
  } catch (e) {
    console.error('FAIL', e.stack || e);
    for (const c of b.contexts()) for (const pg of c.pages()) {
      const t = await pg.locator('body').innerText().catch(() => '?');
      console.error(`--- page ${pg.url()}\n${t.slice(0, 1500)}`);
    }
    nodeLogTail(node);
    await b.close().catch(() => {});
  }
  const code = await node.stop();
  check(code === 0, 'node stopped cleanly by SIGTERM');

  // --- the node never saw plaintext or the patient's keys -----------------------------------------
  if (ok) {
    await sodium.ready;
    const seed = getBytes(keccak256(concat([toUtf8Bytes('phr/x25519/v1'), patientSk])));
    const box = sodium.crypto_box_seed_keypair(seed);
    const hex = (u) => Buffer.from(u).toString('hex');
    const needles = [
      ['record plaintext (lot)', Buffer.from(LOT)], ['record plaintext (lab)', Buffer.from(LAB)],
      ['patient password', Buffer.from(PASSWORD)],
      ['account key (raw)', Buffer.from(patientSk)], ['account key (hex)', Buffer.from(hex(patientSk))],
      ['X25519 secret (raw)', Buffer.from(box.privateKey)], ['X25519 secret (hex)', Buffer.from(hex(box.privateKey))],
      ['X25519 seed (raw)', Buffer.from(seed)],
    ];
    const files = [...walk(node.datadir), node.log];
    const found = [];
    let total = 0;
    for (const f of files) {
      const d = fs.readFileSync(f);
      total += d.length;
      for (const [what, n] of needles) {
        if (d.includes(n)) found.push(`${what} in ${path.relative(node.dir, f)}`);
        else if (what.includes('hex') && d.includes(Buffer.from(n.toString('latin1').toUpperCase(), 'latin1'))) found.push(`${what} (upper case) in ${path.relative(node.dir, f)}`);
      }
    }
    check(found.length === 0, `no plaintext, key or password in ${files.length} files (${total} bytes) of the node: ${found.join('; ') || 'none found'}`);
    // the scan can see: the node's log and databases do hold the patient's address and the record's CID
    const logText = fs.readFileSync(node.log, 'utf8');
    check(/record \d+|bafkrei/.test(logText) && walk(node.datadir).some((f) => fs.readFileSync(f).includes(Buffer.from(me.slice(2).toLowerCase(), 'hex'))), 'control: the scan finds what the node does hold (CIDs in the log, the patient address in its databases)');
  }
  console.log(`${failures() || !ok ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!process.env.PORTAL_KEEP) fs.rmSync(node.dir, { recursive: true, force: true });
  process.exit(failures() || !ok ? 1 : 0);
}

/** The patient's row for @p who's request; the node's lists follow the chain through its indexer, so look again until it shows. */
async function requestRow(pat, node, who) {
  const row = pat.locator('tr[data-request]').filter({ hasText: short(who) });
  for (let i = 0; i < 40; i++) {
    await pat.goto(node.url + '/#/home');
    await pat.goto(node.url + '/#/requests');
    await pat.locator('h1', { hasText: 'Access requests' }).waitFor();
    if (await row.count()) break;
    await pat.waitForTimeout(250);
  }
  return row;
}

const shot = (page, name) => shotTo(shots, page, name);

main();
