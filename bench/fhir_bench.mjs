// FHIR server benchmark driver (bench/fhir.sh runs it): one `phr node --dev`,
// N resources imported by transaction Bundles (1 Patient per 10 Observations),
// then create / read / search for SECS seconds each with CONC concurrent
// clients; prints throughput, p50 and p99, and the ratio to the published
// anchors (HAPI/Aidbox on 8 vCPU: ~3,000-5,200 CRUD req/s, 2,200-2,700
// resources/s imported; the lower ends are used).
import { startNode } from '../tests/interop/fhir_lib.mjs';

const N = Number(process.env.N || 10000);
const BATCH = Number(process.env.BATCH || 100);
const SECS = Number(process.env.SECS || 5);
const CONC = Number(process.env.CONC || 8);
const ANCHOR_CRUD = 3000, ANCHOR_IMPORT = 2200;

const n = await startNode('fhir-bench', ['--log-level', 'warn']);
const H = { authorization: 'Bearer ' + n.tokens.provider.token, 'content-type': 'application/fhir+json' };
const addr = n.tokens.patient.address;
const codes = ['8867-4', '29463-7', '8480-6', '8462-4', '2339-0'];
const pct = (a, p) => a.length ? a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))] : 0;

async function post(path, body) {
  const r = await fetch(n.fhir + path, { method: 'POST', headers: H, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.status >= 300) throw new Error(path + ' ' + r.status + ' ' + JSON.stringify(j).slice(0, 400));
  return j;
}

function obs(i, pid) {
  return { resourceType: 'Observation', status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: codes[i % codes.length] }] },
    subject: { reference: 'Patient/' + pid }, effectiveDateTime: '2024-01-' + String(1 + (i % 28)).padStart(2, '0'),
    valueQuantity: { value: 50 + (i % 100), unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } };
}

const patients = [], observations = [];
try {
  // import
  let made = 0;
  const t0 = performance.now();
  while (made < N) {
    const entry = [];
    let pid = null;
    for (let k = 0; k < BATCH && made < N; k++, made++) {
      if (made % 11 === 0) {
        pid = 'bp' + made;
        entry.push({ resource: { resourceType: 'Patient', id: pid, identifier: [{ system: 'urn:phr:address', value: addr }],
          name: [{ family: 'Bench' + (made % 997), given: ['P' + made] }], birthDate: '1970-01-01' },
          request: { method: 'PUT', url: 'Patient/' + pid } });
        patients.push(pid);
      } else {
        const id = 'bo' + made;
        entry.push({ resource: { ...obs(made, pid || patients[patients.length - 1]), id }, request: { method: 'PUT', url: 'Observation/' + id } });
        observations.push(id);
      }
    }
    await post('', { resourceType: 'Bundle', type: 'transaction', entry });
  }
  const importSecs = (performance.now() - t0) / 1000;
  const importRate = N / importSecs;
  console.log(`import: ${N} resources in ${importSecs.toFixed(1)} s = ${importRate.toFixed(1)} resources/s (anchor ${ANCHOR_IMPORT}/s, ratio ${(importRate / ANCHOR_IMPORT).toFixed(4)})`);

  async function run(name, op) {
    const lat = [];
    let errors = 0, i = 0;
    const end = performance.now() + SECS * 1000;
    await Promise.all(Array.from({ length: CONC }, async () => {
      while (performance.now() < end) {
        const k = i++;
        const s = performance.now();
        try { await op(k); lat.push(performance.now() - s); } catch (e) { errors++; if (errors < 3) console.error(name, e.message); }
      }
    }));
    const rps = lat.length / SECS;
    console.log(`${name}: ${rps.toFixed(1)} req/s, p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms, ${errors} errors (anchor ${ANCHOR_CRUD}/s, ratio ${(rps / ANCHOR_CRUD).toFixed(4)})`);
  }
  // the provider's transactions during the creates: concurrent creates share mintRecords
  const nonce = async () => {
    const r = await fetch(n.url + '/rpc', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionCount', params: [n.tokens.provider.address, 'latest'] }) });
    return Number((await r.json()).result);
  };
  const tx0 = await nonce();
  let created = 0;
  await run('create', async (k) => { await post('/Observation', obs(k, patients[k % patients.length])); created++; });
  console.log(`create: ${created} resources in ${(await nonce()) - tx0} provider transactions`);
  await run('read', async (k) => {
    const r = await fetch(n.fhir + '/Observation/' + observations[(k * 7919) % observations.length], { headers: H });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error('read ' + r.status);
  });
  await run('search', async (k) => {
    const pid = patients[(k * 31) % patients.length];
    const r = await fetch(n.fhir + `/Observation?patient=${pid}&code=http://loinc.org|${codes[k % codes.length]}&_count=10`, { headers: H });
    const j = await r.json();
    if (r.status !== 200 || j.resourceType !== 'Bundle') throw new Error('search ' + r.status);
  });
  await run('search-count', async (k) => {
    const r = await fetch(n.fhir + `/Observation?code=${codes[k % codes.length]}&date=ge2024-01-10&_summary=count`, { headers: H });
    const j = await r.json();
    if (r.status !== 200 || !(j.total > 0)) throw new Error('count ' + r.status);
  });
} finally {
  await n.stop();
}
