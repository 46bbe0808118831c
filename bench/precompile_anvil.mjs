// Peer side of bench/precompile.sh: times the same precompile cases on anvil
// (revm's precompiles) through eth_call over loopback JSON-RPC, and subtracts
// the round trip of an empty identity call so what remains approximates the
// precompile itself. Usage: node bench/precompile_anvil.mjs [seconds-per-case]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.PHR_SOURCE_DIR || process.cwd();
const budget = Number(process.argv[2] || 0.5);
const anvilBin = join(root, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
const cases = [
  ['ecRecover.json', 'ValidKey', 1],
  ['bn256Add.json', 'chfast1', 6],
  ['bn256ScalarMul.json', 'chfast1', 7],
  ['bn256Pairing.json', 'jeff1', 8],
  ['bn256Pairing.json', 'ten_point_match_1', 8],
  ['modexp_eip2565.json', 'nagydani-1-pow0x10001', 5],
  ['modexp_eip2565.json', 'nagydani-3-pow0x10001', 5],
  ['modexp_eip2565.json', 'nagydani-4-pow0x10001', 5],
  ['blake2F.json', 'vector 5', 9],
  ['pointEvaluation_eest.json', 'correct_proof_02e696ada7d4631d', 10],
];

const anvil = spawn(anvilBin, ['--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let buf = '';
  anvil.stdout.on('data', (d) => {
    buf += d;
    const m = buf.match(/Listening on 127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  anvil.on('exit', () => reject(new Error('anvil exited')));
  setTimeout(() => reject(new Error('anvil did not start')), 20000);
});
const url = `http://127.0.0.1:${port}/`;
let id = 0;
async function call(to, data) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'eth_call', params: [{ to, data, gas: '0x5f5e100' }, 'latest'] }),
  });
  const j = await r.json();
  if (j.error) throw new Error(JSON.stringify(j.error));
  return j.result;
}
// Median latency of eth_call over the time budget (medians resist the noise of a
// shared machine better than means).
async function time(to, data) {
  for (let i = 0; i < 5; i++) await call(to, data); // warm-up
  const lat = [];
  const t0 = process.hrtime.bigint();
  do {
    const s = process.hrtime.bigint();
    await call(to, data);
    lat.push(Number(process.hrtime.bigint() - s) / 1e3);
  } while (Number(process.hrtime.bigint() - t0) / 1e9 < budget || lat.length < 20);
  lat.sort((a, b) => a - b);
  return lat[lat.length >> 1];
}
const addr = (k) => '0x' + k.toString(16).padStart(40, '0');
try {
  const base0 = await time(addr(4), '0x');
  const rows = [];
  for (const [file, name, k] of cases) {
    const all = JSON.parse(readFileSync(join(root, 'tests/vectors/precompiles', file), 'utf8'));
    const c = all.find((x) => x.Name === name);
    rows.push([name, await time(addr(k), '0x' + c.Input)]);
  }
  const base = (base0 + (await time(addr(4), '0x'))) / 2;
  console.log(`anvil eth_call round trip (empty identity call, median): ${base.toFixed(1)} us`);
  for (const [name, us] of rows)
    console.log(`${name.padEnd(28)} ${us.toFixed(1).padStart(12)} us/call  ${(us - base).toFixed(1).padStart(10)} us net`);
} finally {
  anvil.kill('SIGTERM');
}
