// Peer for bench/recovery.sh: reads a bundle (CARv1) with @ipld/car and checks every block
// against its CID with multiformats' sha2-256 — what an IPFS tool does to verify a CAR.
import fs from 'node:fs';
import { CarBlockIterator } from '@ipld/car/iterator';
import { sha256 } from 'multiformats/hashes/sha2';
import { equals } from 'multiformats/bytes';

const file = process.argv[2];
const t0 = process.hrtime.bigint();
const it = await CarBlockIterator.fromIterable(fs.createReadStream(file, { highWaterMark: 1 << 20 }));
let blocks = 0, bytes = 0;
for await (const { cid, bytes: b } of it) {
  const h = await sha256.digest(b);
  if (!equals(h.bytes, cid.multihash.bytes)) throw new Error(`block ${cid} does not match`);
  blocks++;
  bytes += b.length;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`peer car-verify ${s.toFixed(3)} ${(bytes / 1e6 / s).toFixed(1)} ${blocks}`);
