// Interop: a real IPFS client fetches a file from phr's trustless gateway and verifies
// every block. helia (the Helia node class of @helia/utils, no libp2p) with
// @helia/block-brokers' trustless-gateway broker (allowInsecure, allowLocal) and a router
// that names `phr gateway` as the provider; @helia/unixfs reads the file back. Then a
// block is tampered with on disk: phr refuses to serve it and helia cannot get the file.
// On node 20 run with `node --import ./tests/interop/polyfill.mjs` (Promise.withResolvers).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Helia } from '@helia/utils';
import { trustlessGateway } from '@helia/block-brokers';
import { unixfs } from '@helia/unixfs';
import { MemoryBlockstore } from 'blockstore-core/memory';
import { MemoryDatastore } from 'datastore-core/memory';
import { defaultLogger } from '@libp2p/logger';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';

const PHR = process.env.PHR_BIN || 'build/store/src/cli/phr';

function phr(args) {
  const r = spawnSync(PHR, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`phr ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function startGateway(datadir) {
  const child = spawn(PHR, ['gateway', '--datadir', datadir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  // never outlive this process, even when it dies of an uncaught error
  process.on('exit', () => child.kill('SIGTERM'));
  const rl = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`phr gateway exited ${code}`)));
  });
  const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
  if (!m) throw new Error(`unexpected gateway output: ${line}`);
  return { child, port: Number(m[1]) };
}

async function newHelia(port) {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
  const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/http`);
  const router = {
    async * findProviders() { yield { id: peer, multiaddrs: [addr] }; },
    async provide() {}, async cancelReprovide() {},
    async put() { throw new Error('not supported'); }, async get() { throw new Error('not supported'); },
    async findPeer() { return { id: peer, multiaddrs: [addr] }; },
    async * getClosestPeers() {},
  };
  const helia = new Helia({
    logger: defaultLogger(),
    blockstore: new MemoryBlockstore(),
    datastore: new MemoryDatastore(),
    blockBrokers: [trustlessGateway({ allowInsecure: true, allowLocal: true })],
    routers: [router],
  });
  await helia.start();
  return helia;
}

async function catAll(helia, cid, signal) {
  const chunks = [];
  for await (const c of unixfs(helia).cat(cid.toString(), { signal })) chunks.push(c);
  return Buffer.concat(chunks);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-store-helia-'));
const datadir = path.join(dir, 'phr');
let gw;
try {
  const data = Buffer.alloc(3 * 262144 + 12345);
  let x = 7;
  for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) >>> 0; data[i] = x >>> 24; }
  const file = path.join(dir, 'record.bin');
  fs.writeFileSync(file, data);
  const cid = CID.parse(phr(['add', '--datadir', datadir, file]));

  gw = await startGateway(datadir);
  let helia = await newHelia(gw.port);
  const got = await catAll(helia, cid, AbortSignal.timeout(20000));
  if (!got.equals(data)) throw new Error('helia read different bytes');
  // helia's blockstore now holds every block; each was checked against its CID on arrival
  let blocks = 0;
  for await (const _ of helia.blockstore.getAll()) blocks++;
  if (blocks !== 5) throw new Error(`expected 5 blocks in helia, got ${blocks}`);
  await helia.stop();
  console.log(`helia fetched ${cid} (${data.length} bytes, ${blocks} blocks) from phr gateway`);

  // tamper with one leaf on disk: phr refuses it, helia cannot complete the file
  const blocksDir = path.join(datadir, 'store', 'blocks');
  const victims = fs.readdirSync(blocksDir).flatMap((s) => fs.readdirSync(path.join(blocksDir, s)).map((f) => path.join(blocksDir, s, f)))
    .filter((p) => fs.statSync(p).size === 262144);
  const b = fs.readFileSync(victims[0]);
  b[1000] ^= 0xff;
  fs.writeFileSync(victims[0], b);
  const res = await fetch(`http://127.0.0.1:${gw.port}/ipfs/${cid}?format=car`);
  if (res.status !== 500) throw new Error(`tampered CAR answered ${res.status}`);
  helia = await newHelia(gw.port);
  let failed = false;
  try {
    await catAll(helia, cid, AbortSignal.timeout(5000));
  } catch (e) {
    failed = true;
  }
  await helia.stop();
  if (!failed) throw new Error('helia read a file with a tampered block');
  console.log('tampered block: phr answered 500, helia could not read the file');
} finally {
  if (gw) gw.child.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
