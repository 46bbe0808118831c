// FHIR server benchmark driver (bench/fhir.sh runs it): one `phr node --dev`,
// resources imported by transaction Bundles (1 Patient per 10 Observations)
// up to each size of SIZES (default N), and at each size create / read /
// search for SECS seconds each with CONC concurrent clients; prints
// throughput, p50 and p99, the node's CPU time per request (from
// /proc/<pid>/stat), the data directory's size, and the ratio to the
// published anchors (HAPI/Aidbox on 8 vCPU: ~3,000-5,200 CRUD req/s,
// 2,200-2,700 resources/s imported; the lower ends are used).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../tests/interop/fhir_lib.mjs';

const N = Number(process.env.N || 10000);
const SIZES = (process.env.SIZES || String(N)).split(',').map(Number).filter((x) => x > 0);
const BATCH = Number(process.env.BATCH || 100);
const SECS = Number(process.env.SECS || 5);
const CONC = Number(process.env.CONC || 8);
const IMPORT_CONC = Number(process.env.IMPORT_CONC || 1);
// The creates come last: they add Observations to the imported patients (with
// codes no search asks for: createCodes).
const PHASES = (process.env.PHASES || 'read,search,search-count,create').split(',');
const PROGRESS = Number(process.env.PROGRESS || 50000);
const ANCHOR_CRUD = 3000, ANCHOR_IMPORT = 2200;
// Who makes the create/read/search requests: wrk (bench/fhir.lua, an event
// loop in C, ~10-20 µs of CPU per request) or node (fetch in this process,
// several times that, on the same 2 cores as the server). Import Bundles are
// always posted from here (one request per BATCH resources).
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const LOADGEN = process.env.LOADGEN || (hasWrk ? 'wrk' : 'node');
const WRK_CONNS = Number(process.env.WRK_CONNS || 64);
const WRK_THREADS = Number(process.env.WRK_THREADS || 1);

const n = await startNode('fhir-bench', ['--log-level', 'warn']);
const H = { authorization: 'Bearer ' + n.tokens.provider.token, 'content-type': 'application/fhir+json' };
const addr = n.tokens.patient.address;
const codes = ['8867-4', '29463-7', '8480-6', '8462-4', '2339-0'];
// The creates use other codes: the searches (patient + one of `codes`) and
// count searches then find the imported data alone at every size, however many
// creates ran at the sizes before (bench/fhir.lua does the same).
const createCodes = ['8310-5', '9279-1', '8302-2', '39156-5', '85354-9'];
const pct = (a, p) => a.length ? a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))] : 0;

// The node's pid: the process holding the listening socket of its port.
function nodePid(url) {
  const port = Number(new URL(url).port);
  let inode = null;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let t = '';
    try { t = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of t.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 9 && parseInt(c[1].split(':')[1], 16) === port && c[3] === '0A') inode = c[9];
    }
  }
  if (inode === null) return null;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds = [];
    try { fds = readdirSync(`/proc/${p}/fd`); } catch { continue; }
    for (const fd of fds) {
      try { if (readlinkSync(`/proc/${p}/fd/${fd}`) === `socket:[${inode}]`) return Number(p); } catch { /* gone */ }
    }
  }
  return null;
}
const pid = nodePid(n.url);
// CPU seconds (user + system) of the node so far; 0 when unknown.
function cpu() {
  if (pid === null) return 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch { return 0; }
}
// The node's memory: RSS counts every page of fhir.db mapped by each of its
// reader connections once per mapping (64 maps of one file), so PSS (each shared
// page divided among its mappers) and the anonymous part are printed with it.
function memFields() {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t) || [0, 0])[1]);
    return { rss: kb('Rss') / 1024, pss: kb('Pss') / 1024, anon: kb('Anonymous') / 1024 };
  } catch { return { rss: 0, pss: 0, anon: 0 }; }
}
function memText() {
  const m = memFields();
  return `node RSS ${m.rss.toFixed(0)} MB (PSS ${m.pss.toFixed(0)} MB, anonymous ${m.anon.toFixed(0)} MB)`;
}
// Size of the data directory in bytes (du: millions of store files at 1M resources).
function du(dir) {
  try { return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) * 1024; } catch { return 0; }
}
function datadir() {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.endsWith('/fhir.db')) return l.slice(0, -'/fhir.db'.length);
    }
  } catch { /* unknown */ }
  return null;
}
if (pid === null) console.log('(node pid not found: no CPU figures)');

async function post(path, body, headers = H) {
  const r = await fetch(n.fhir + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.status >= 300) throw new Error(path + ' ' + r.status + ' ' + JSON.stringify(j).slice(0, 400));
  return j;
}

function obs(i, pid, list = codes) {
  return { resourceType: 'Observation', status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: list[i % list.length] }] },
    subject: { reference: 'Patient/' + pid }, effectiveDateTime: '2024-01-' + String(1 + (i % 28)).padStart(2, '0'),
    valueQuantity: { value: 50 + (i % 100), unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } };
}

// ids are kept compactly: Patient of index k is 'bp' + k, Observation 'bo' + k
const patients = [], observations = [];
let failures = 0;
let made = 0;

// import tools name the patient (X-Phr-Patient): a Bundle's Observations may
// refer to a Patient of an earlier Bundle still in flight (IMPORT_CONC > 1)
const HI = { ...H, 'x-phr-patient': addr };

async function importTo(size) {
  const t0 = performance.now(), c0 = cpu(), from = made;
  let tp = t0, mp = made;
  const next = () => {
    if (made >= size) return null;
    const entry = [];
    let pid = null;
    for (let k = 0; k < BATCH && made < size; k++, made++) {
      if (made % 11 === 0) {
        pid = 'bp' + made;
        entry.push({ resource: { resourceType: 'Patient', id: pid, identifier: [{ system: 'urn:phr:address', value: addr }],
          name: [{ family: 'Bench' + (made % 997), given: ['P' + made] }], birthDate: '1970-01-01' },
          request: { method: 'PUT', url: 'Patient/' + pid } });
        patients.push(made);
      } else {
        entry.push({ resource: { ...obs(made, pid || 'bp' + patients[patients.length - 1]), id: 'bo' + made },
          request: { method: 'PUT', url: 'Observation/bo' + made } });
        observations.push(made);
      }
    }
    return { resourceType: 'Bundle', type: 'transaction', entry };
  };
  let done = made;
  await Promise.all(Array.from({ length: IMPORT_CONC }, async () => {
    for (let b = next(); b !== null; b = next()) {
      // a failed Bundle is reported and posted once more (its PUTs write the same resources)
      try { await post('', b, HI); } catch (e) {
        failures++;
        console.log('import failed (posting it again): ' + e.message);
        await post('', b, HI);
      }
      done += b.entry.length;
      if (Math.floor(done / PROGRESS) !== Math.floor(mp / PROGRESS)) {
        const now = performance.now();
        console.log(`  ... ${done} resources, last ${done - mp} at ${((done - mp) / ((now - tp) / 1000)).toFixed(1)}/s, ` +
          `${memText()}, ${new Date().toISOString().slice(11, 19)} UTC`);
        tp = now; mp = done;
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000, cs = cpu() - c0;
  const rate = (made - from) / secs;
  const dir = datadir();
  const disk = dir ? du(dir) / 1048576 : 0;
  console.log(`import to ${size} (${IMPORT_CONC} client${IMPORT_CONC > 1 ? 's' : ''}): ${made - from} resources in ${secs.toFixed(1)} s = ${rate.toFixed(1)} resources/s, ` +
    `node CPU ${(1000 * cs / (made - from)).toFixed(2)} ms/resource (anchor ${ANCHOR_IMPORT}/s, ratio ${(rate / ANCHOR_IMPORT).toFixed(4)}); ` +
    `data dir ${disk.toFixed(0)} MB (${(disk * 1024 / made).toFixed(1)} KB/resource), ${memText()}`);
}

async function run(name, op) {
  const lat = [];
  let errors = 0, i = 0;
  const c0 = cpu();
  const end = performance.now() + SECS * 1000;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (performance.now() < end) {
      const k = i++;
      const s = performance.now();
      try { await op(k); lat.push(performance.now() - s); } catch (e) { errors++; if (errors < 3) console.error(name, e.message); }
    }
  }));
  const cs = cpu() - c0;
  const rps = lat.length / SECS;
  failures += errors;
  console.log(`${name}: ${rps.toFixed(1)} req/s, p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms, ` +
    `node CPU ${lat.length ? (1000 * cs / lat.length).toFixed(2) : '-'} ms/req, ${errors} errors ` +
    `(anchor ${ANCHOR_CRUD}/s, ratio ${(rps / ANCHOR_CRUD).toFixed(4)})`);
}

// wrk's latency ("812.00us", "9.80ms", "1.20s", "2.00m") in ms
function wrkMs(v) {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(v || '');
  return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : NaN;
}

// One phase driven by wrk; returns the number of 2xx answers.
function runWrk(name) {
  const dir = mkdtempSync(join(tmpdir(), 'phr-fhir-wrk-'));
  try {
    const ids = join(dir, 'ids');
    writeFileSync(ids, patients.join(' ') + '\n' + observations.join(' ') + '\n');
    const c0 = cpu();
    const t0 = performance.now();
    const r = spawnSync('wrk', ['-t', String(WRK_THREADS), '-c', String(WRK_CONNS), '-d', SECS + 's', '--timeout', '60s',
      '--latency', '-s', new URL('./fhir.lua', import.meta.url).pathname, n.url], {
      encoding: 'utf8', env: { ...process.env, PHR_TOKEN: n.tokens.provider.token, FHIR_MODE: name, FHIR_IDS: ids } });
    const secs = (performance.now() - t0) / 1000;
    const cs = cpu() - c0;
    const out = (r.stdout || '') + (r.stderr || '');
    const total = Number((/(\d+) requests in/.exec(out) || [])[1]);
    const rps = Number((/^Requests\/sec:\s+([0-9.]+)/m.exec(out) || [])[1]);
    if (!(total >= 0) || !(rps >= 0)) {
      failures++;
      console.log(`${name}: wrk gave no figures:\n${out}`);
      return 0;
    }
    const non2xx = Number((/Non-2xx or 3xx responses: (\d+)/.exec(out) || [0, 0])[1]);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = non2xx + (sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0);
    const ok = total - non2xx;
    const p50 = wrkMs((/^\s+50%\s+(\S+)/m.exec(out) || [])[1]);
    const p99 = wrkMs((/^\s+99%\s+(\S+)/m.exec(out) || [])[1]);
    failures += errors;
    const okRps = rps * ok / Math.max(total, 1);
    console.log(`${name}: ${okRps.toFixed(1)} req/s, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
      `node CPU ${ok ? (1000 * cs / ok).toFixed(2) : '-'} ms/req, ${errors} errors ` +
      `(wrk, ${WRK_CONNS} connections, ${secs.toFixed(1)} s; anchor ${ANCHOR_CRUD}/s, ratio ${(okRps / ANCHOR_CRUD).toFixed(4)})`);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// the provider's transactions: concurrent creates share mintRecords
const nonce = async () => {
  const r = await fetch(n.url + '/rpc', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionCount', params: [n.tokens.provider.address, 'latest'] }) });
  return Number((await r.json()).result);
};

const phases = {
  async create() {
    const tx0 = await nonce();
    let created = 0;
    if (LOADGEN === 'wrk') created = runWrk('create');
    else await run('create', async (k) => { await post('/Observation', obs(k, 'bp' + patients[k % patients.length], createCodes)); created++; });
    console.log(`create: ${created} resources in ${(await nonce()) - tx0} provider transactions`);
  },
  read: () => run('read', async (k) => {
    const r = await fetch(n.fhir + '/Observation/bo' + observations[(k * 7919) % observations.length], { headers: H });
    const body = await r.text();
    if (r.status !== 200) throw new Error('read ' + r.status + ' ' + body.slice(0, 300));
  }),
  search: () => run('search', async (k) => {
    const pid = 'bp' + patients[(k * 31) % patients.length];
    const r = await fetch(n.fhir + `/Observation?patient=${pid}&code=http://loinc.org|${codes[k % codes.length]}&_count=10`, { headers: H });
    const j = await r.json();
    if (r.status !== 200 || j.resourceType !== 'Bundle') throw new Error('search ' + r.status);
  }),
  'search-count': () => run('search-count', async (k) => {
    const r = await fetch(n.fhir + `/Observation?code=${codes[k % codes.length]}&date=ge2024-01-10&_summary=count`, { headers: H });
    const j = await r.json();
    if (r.status !== 200 || !(j.total > 0)) throw new Error('count ' + r.status);
  }),
};

if (LOADGEN === 'wrk') {
  for (const p of ['read', 'search', 'search-count']) phases[p] = () => runWrk(p);
} else if (LOADGEN !== 'node') {
  throw new Error('LOADGEN is wrk or node, not ' + LOADGEN);
}
console.log(`load generator: ${LOADGEN === 'wrk' ? `wrk (${WRK_CONNS} connections, ${WRK_THREADS} thread)` : `node fetch (${CONC} clients)`}`);

try {
  for (const size of SIZES) {
    await importTo(size);
    console.log(`-- at ${made} stored resources (${new Date().toISOString().slice(11, 19)} UTC)`);
    for (const p of PHASES) if (phases[p]) await phases[p]();
  }
} finally {
  if (failures > 0) console.log('node log (tail):\n' + n.stderr().slice(-3000));
  await n.stop();
}
