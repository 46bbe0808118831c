// Benchmark (not a test): the portal with N records (default 1000) on a
// `phr node --dev`, in headless Chromium. Prints:
//   - first load: bytes transferred (compressed) and time to the sign-in form;
//   - records view: time from navigation to 1,000 rendered rows, and to a type
//     filter answering; beside it the node's own list answer (REST + the
//     block-time batch), the "peer" baseline the page cannot beat;
//   - decrypting a 15 MiB record in the page (libsodium.js/wasm) against the
//     C code doing the same through `phr` (the node's /content route, hosted).
// Usage: PHR_BIN=build/x/src/cli/phr node tests/browser/portal_bench.mjs [N]
import fs from 'node:fs';
import { browser, keyfile, startNode, tokens } from './portal_lib.mjs';

const N = Number(process.argv[2] || 1000);
const ms = (t) => `${t.toFixed(0)} ms`;

async function main() {
  const node = await startNode();
  const b = await browser();
  try {
    const tok = tokens(node);
    const patient = tok.patient.address;
    const auth = { Authorization: 'Bearer ' + tok.provider.token, 'Content-Type': 'application/json' };
    let t = performance.now();
    for (let i = 0; i < N; i++) {
      const lab = i % 4 === 0;
      const body = lab
        ? { patient, type: 5, text: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] }, effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 86400000).toISOString(), valueQuantity: { value: 5 + (i % 17) / 10, unit: '%' } }) }
        : { patient, type: [1, 3, 7, 8][i % 4], text: `record ${i}` };
      const r = await fetch(node.url + '/api/v1/records', { method: 'POST', headers: auth, body: JSON.stringify(body) });
      if (r.status !== 201) throw new Error('submit ' + r.status + ' ' + await r.text());
    }
    console.log(`seeded ${N} records in ${ms(performance.now() - t)} (hosted provider, one transaction each)`);

    // the node's own answer for the list (what the page starts from)
    t = performance.now();
    const list = await (await fetch(`${node.url}/api/v1/patients/${patient}/records`, { headers: { Authorization: 'Bearer ' + tok.patient.token } })).json();
    const blocks = [...new Set(list.items.map((r) => r.block))];
    const tList = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < blocks.length; i += 500) {
      await (await fetch(node.url + '/rpc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(blocks.slice(i, i + 500).map((bn, k) => ({ jsonrpc: '2.0', id: k, method: 'eth_getBlockByNumber', params: ['0x' + bn.toString(16), false] }))) })).json();
    }
    const tBlocks = performance.now() - t;
    console.log(`node: list of ${list.count} records ${ms(tList)}, block times ${ms(tBlocks)}: ${ms(tList + tBlocks)}`);

    // first load
    const ctx = await b.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    let bytes = 0;
    const sizes = [];
    page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => { bytes += s.responseBodySize + s.responseHeadersSize; })));
    t = performance.now();
    await page.goto(node.url + '/');
    await page.getByRole('button', { name: 'Import and sign in' }).waitFor();
    const tFirst = performance.now() - t;
    await Promise.all(sizes);
    console.log(`first load: ${bytes} B transferred (gzip), sign-in form after ${ms(tFirst)}`);

    await page.getByLabel('Keystore file').setInputFiles(keyfile(node, 'patient'));
    await page.getByLabel('Keystore password').fill('dev');
    await page.getByRole('button', { name: 'Import and sign in' }).click();
    await page.locator('h1', { hasText: 'Home' }).waitFor({ timeout: 60000 });

    const runs = [];
    for (let k = 0; k < 3; k++) {
      await page.evaluate(() => { location.hash = '#/home'; });
      await page.locator('h1', { hasText: 'Home' }).waitFor();
      t = performance.now();
      await page.evaluate(() => { location.hash = '#/records'; });
      await page.locator('ol.timeline li.rec').nth(list.count - 1).waitFor({ timeout: 30000 });
      const tRows = performance.now() - t;
      await page.getByLabel('Show').selectOption('5');
      await page.locator('p.muted', { hasText: /^\d+ of \d+ records$/ }).filter({ hasText: `of ${list.count}` }).waitFor();
      await page.waitForFunction((n) => document.querySelectorAll('ol.timeline li.rec').length < n, list.count);
      const tFilter = performance.now() - t;
      runs.push([tRows, tFilter]);
    }
    const [cRows, cFilter] = runs[0]; // the first visit: block times not cached yet
    console.log(`records view, first visit (${list.count} records): rows rendered ${ms(cRows)}, type filter answered ${ms(cFilter)}`);
    runs.sort((a, b2) => a[1] - b2[1]);
    const [tRows, tFilter] = runs[1];
    console.log(`records view (${list.count} records, median of 3): rows rendered ${ms(tRows)}, type filter answered ${ms(tFilter)}; node alone ${ms(tList + tBlocks)}; ratio page/node ${(tFilter / (tList + tBlocks)).toFixed(2)}`);

    // decrypting 15 MiB: in the page vs the node's C code
    const big = Buffer.alloc(15 * 1024 * 1024, 0x78);
    const r = await fetch(`${node.url}/api/v1/records?patient=${patient}&type=6`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: big });
    if (r.status !== 201) throw new Error('big submit ' + r.status + ' ' + (await r.text()).slice(0, 200));
    const id = (await r.json()).id;
    t = performance.now();
    const c = await fetch(`${node.url}/api/v1/records/${id}/content?purpose=6`, { headers: { Authorization: 'Bearer ' + tok.patient.token } });
    const n = (await c.arrayBuffer()).byteLength;
    const tC = performance.now() - t;
    await page.evaluate((i) => { location.hash = '#/records/' + i; }, id);
    await page.getByRole('button', { name: 'Decrypt and show' }).waitFor();
    t = performance.now();
    await page.getByRole('button', { name: 'Decrypt and show' }).click();
    await page.getByRole('button', { name: 'Save decrypted file' }).waitFor({ timeout: 120000 });
    const tJs = performance.now() - t;
    console.log(`15 MiB record: page (audit tx + fetch + CID + unwrap + decrypt + hash) ${ms(tJs)}; node C (audit tx + decrypt + hash, hosted) ${ms(tC)} for ${n} B; ratio ${(tJs / tC).toFixed(2)}`);
  } finally {
    await b.close();
    await node.stop();
    fs.rmSync(node.dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
