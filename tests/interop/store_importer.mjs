// Interop: files of random sizes (0 B to 3 MiB, fixed seeds) imported by `phr add` and by
// the IPFS JavaScript importer (ipfs-unixfs-importer with kubo's parameters) must get
// identical CIDs, for CIDv1 (raw leaves) and CIDv0 (dag-pb leaves).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { MemoryBlockstore } from 'blockstore-core/memory';

const PHR = process.env.PHR_BIN || 'build/store/src/cli/phr';

// mulberry32: a small seeded PRNG, so every run tests the same files
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function jsCid(bytes, cidVersion) {
  const opts = {
    cidVersion,
    rawLeaves: cidVersion === 1,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    reduceSingleLeafToSelf: true,
  };
  let last;
  for await (const entry of importer([{ content: bytes }], new MemoryBlockstore(), opts)) last = entry;
  return last.cid.toString();
}

const MiB = 1 << 20;
const rand = prng(20261125);
const sizes = [0, 1, 2, 100, 262143, 262144, 262145, 524288, 524289, 3 * MiB - 1, 3 * MiB];
while (sizes.length < 40) sizes.push(Math.floor(rand() * (3 * MiB + 1)));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-store-interop-'));
let failures = 0;
try {
  for (const [i, size] of sizes.entries()) {
    const bytes = new Uint8Array(size);
    const r = prng(1000 + i);
    for (let k = 0; k < size; k++) bytes[k] = (r() * 256) | 0;
    const file = path.join(dir, `f${i}`);
    fs.writeFileSync(file, bytes);
    for (const v of [1, 0]) {
      const args = ['add', '--only-hash', '--cid-version', String(v), file];
      const res = spawnSync(PHR, args, { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`phr ${args.join(' ')} failed: ${res.stderr}`);
      const mine = res.stdout.trim();
      const theirs = await jsCid(bytes, v);
      if (mine !== theirs) {
        failures++;
        console.error(`size ${size} v${v}: phr ${mine} != js ${theirs}`);
      }
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
if (failures) {
  console.error(`${failures} mismatches`);
  process.exit(1);
}
console.log(`${sizes.length} files x 2 CID versions: phr and ipfs-unixfs-importer agree`);
