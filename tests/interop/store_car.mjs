// Interop: a CAR written by `phr car export` is read and unpacked byte for byte by the
// ipfs-car CLI (which checks every block), and a CAR written by `ipfs-car pack` imports
// into phr (`phr car import`, every block verified) and reads back identically.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PHR = process.env.PHR_BIN || 'build/store/src/cli/phr';
const ROOT = process.env.PHR_SOURCE_DIR || '.';
const IPFS_CAR = path.join(ROOT, 'node_modules/.bin/ipfs-car');

function run(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'buffer', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}

function prngBytes(seed, n) {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-store-car-'));
const datadir = path.join(dir, 'phr');
let checks = 0;
try {
  // phr -> ipfs-car
  for (const [seed, size] of [[1, 0], [2, 1000], [3, 262144], [4, 1500000], [5, 3 << 20]]) {
    const file = path.join(dir, `in${seed}`);
    const data = prngBytes(seed, size);
    fs.writeFileSync(file, data);
    const cid = run(PHR, ['add', '--datadir', datadir, file]).toString().trim();
    const car = path.join(dir, `phr${seed}.car`);
    run(PHR, ['car', 'export', '--datadir', datadir, cid, '-o', car]);
    const roots = run(IPFS_CAR, ['roots', car]).toString().trim();
    if (roots !== cid) throw new Error(`ipfs-car roots ${roots} != ${cid}`);
    const out = path.join(dir, `out${seed}`);
    run(IPFS_CAR, ['unpack', car, '--output', out]);
    if (!data.equals(fs.readFileSync(out))) throw new Error(`ipfs-car unpacked different bytes for ${cid}`);
    checks++;
  }
  // ipfs-car -> phr
  for (const [seed, size] of [[11, 5], [12, 2 << 20], [13, 2500000]]) {
    const file = path.join(dir, `p${seed}`);
    const data = prngBytes(seed, size);
    fs.writeFileSync(file, data);
    const car = path.join(dir, `js${seed}.car`);
    run(IPFS_CAR, ['pack', file, '--no-wrap', '--output', car]);
    const root = run(IPFS_CAR, ['roots', car]).toString().trim();
    const imported = run(PHR, ['car', 'import', '--datadir', datadir, car]).toString().trim();
    if (imported !== root) throw new Error(`phr car import printed ${imported}, ipfs-car root is ${root}`);
    const back = run(PHR, ['cat', '--datadir', datadir, root]);
    if (!data.equals(back)) throw new Error(`phr cat of ${root} differs from the packed file`);
    checks++;
  }
  // a tampered ipfs-car CAR is refused
  const car = path.join(dir, 'js12.car');
  const bytes = fs.readFileSync(car);
  bytes[bytes.length - 100] ^= 0xff;
  fs.writeFileSync(car, bytes);
  const res = spawnSync(PHR, ['car', 'import', '--datadir', path.join(dir, 'other'), car]);
  if (res.status === 0) throw new Error('phr imported a tampered CAR');
  checks++;
  run(PHR, ['store', 'verify', '--datadir', datadir]);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`${checks} CAR interop checks passed`);
