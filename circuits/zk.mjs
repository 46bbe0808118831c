#!/usr/bin/env node
// phr ZK driver: identities, credential leaves, attestations, Groth16 proving and
// verification with snarkjs over the committed circuits (circuits/keys/). `phr zk ...`
// runs this script; it can also be run directly. Output is one JSON object on stdout.
//
//   identity [--secret DEC]                               new (or given) secret + idCommitment
//   leaf --id C --role R --expiry T                       Poseidon(C, R, T)
//   root --leaves FILE                                    root of a leaf list (JSON array)
//   prove-provider --secret S --role R --expiry T --scope X --message M [--time T]
//                  (--leaves FILE [--index I] | --rpc URL --registry ADDR)
//   attester-key --key HEX32                              Baby Jubjub public key of a private key
//   attest --key HEX32 --id C --birth YYYYMMDD            attester's EdDSA-Poseidon signature
//   prove-age --secret S --attestation FILE --today YYYYMMDD --min-age N --scope X --message M
//   prove-trial --secret S --trial ID --message M
//               (--leaves FILE [--index I] | --rpc URL --trials ADDR)   trial enrolment proof
//   verify --proof FILE                                   snarkjs verification (exit 1 if invalid)
// Common: --out FILE writes the JSON there instead of stdout.
// Numbers are decimal or 0x-hex; --message takes an address (the contract binds proofs to
// msg.sender) or any field element.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';
import { buildPoseidon, buildEddsa } from 'circomlibjs';

export const DEPTH = 20;
export const FIELD_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const here = path.dirname(fileURLToPath(import.meta.url));
const BUILD = path.join(here, 'keys');
export const CIRCUITS = {
  provider_credential: { nPublic: 6 },
  age_credential: { nPublic: 7 },
  trial_enrolment: { nPublic: 4 },
};

function fail(msg, code = 2) {
  process.stderr.write(`zk: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`);
    const v = argv[i + 1];
    if (v === undefined) fail(`${a} needs a value`);
    opts[a.slice(2)] = v;
    i++;
  }
  return opts;
}

export function field(v, what) {
  let x;
  try {
    x = BigInt(v);
  } catch {
    fail(`${what}: not a number: ${v}`);
  }
  if (x < 0n || x >= FIELD_R) fail(`${what}: not a field element`);
  return x;
}

function need(opts, key) {
  if (opts[key] === undefined) fail(`--${key} is required`);
  return opts[key];
}

let poseidonFn = null;
export async function poseidon(inputs) {
  if (!poseidonFn) poseidonFn = await buildPoseidon();
  return poseidonFn.F.toObject(poseidonFn(inputs));
}

/** Sparse Poseidon Merkle tree over `leaves` (BigInt, 0 = empty/revoked). */
export async function treeLevels(leaves) {
  const zeros = [0n];
  for (let i = 0; i < DEPTH; i++) zeros.push(await poseidon([zeros[i], zeros[i]]));
  const levels = [new Map(leaves.map((l, i) => [i, l]))];
  for (let l = 0; l < DEPTH; l++) {
    const next = new Map();
    for (const i of levels[l].keys()) {
      const p = i >> 1;
      if (next.has(p)) continue;
      const left = levels[l].has(2 * p) ? levels[l].get(2 * p) : zeros[l];
      const right = levels[l].has(2 * p + 1) ? levels[l].get(2 * p + 1) : zeros[l];
      next.set(p, await poseidon([left, right]));
    }
    levels.push(next);
  }
  const root = levels[DEPTH].has(0) ? levels[DEPTH].get(0) : zeros[DEPTH];
  return { levels, zeros, root };
}

function siblingsFrom(t, index) {
  const s = [];
  for (let l = 0; l < DEPTH; l++) {
    const j = (index >> l) ^ 1;
    s.push(t.levels[l].has(j) ? t.levels[l].get(j) : t.zeros[l]);
  }
  return s;
}

function readLeaves(file) {
  const arr = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(arr)) fail(`${file}: not a JSON array`);
  return arr.map((v, i) => field(v, `leaf ${i}`));
}

async function registryPath(opts, leaf) {
  const { ethers } = await import('ethers');
  const provider = new ethers.JsonRpcProvider(opts.rpc, undefined, { staticNetwork: true });
  const abi = [
    'function indexPlusOne(uint256) view returns (uint256)',
    'function siblings(uint256) view returns (uint256[20])',
    'function root() view returns (uint256)',
    'function leaf(uint256) view returns (uint256)',
  ];
  const reg = new ethers.Contract(need(opts, 'registry'), abi, provider);
  const ip1 = await reg.indexPlusOne(leaf);
  if (ip1 === 0n) fail('credential leaf not in the registry', 1);
  const index = Number(ip1 - 1n);
  const [sib, root, current] = await Promise.all([reg.siblings(index), reg.root(), reg.leaf(index)]);
  if (current !== leaf) fail(`credential ${index} has been revoked`, 1);
  provider.destroy();
  return { index, siblings: sib.map((x) => BigInt(x)), root: BigInt(root) };
}

async function trialPath(opts, trialId, id) {
  const { ethers } = await import('ethers');
  const provider = new ethers.JsonRpcProvider(opts.rpc, undefined, { staticNetwork: true });
  const abi = [
    'function indexPlusOne(uint256, uint256) view returns (uint256)',
    'function siblings(uint256, uint256) view returns (uint256[20])',
    'function rootOf(uint256) view returns (uint256)',
    'function leaf(uint256, uint256) view returns (uint256)',
  ];
  const reg = new ethers.Contract(need(opts, 'trials'), abi, provider);
  const ip1 = await reg.indexPlusOne(trialId, id);
  if (ip1 === 0n) fail('identity commitment not in the trial\'s eligibility tree', 1);
  const index = Number(ip1 - 1n);
  const [sib, root, current] = await Promise.all([
    reg.siblings(trialId, index), reg.rootOf(trialId), reg.leaf(trialId, index),
  ]);
  provider.destroy();
  if (current !== id) fail(`participant ${index} has been removed from trial ${trialId}`, 1);
  return { index, siblings: sib.map((x) => BigInt(x)), root: BigInt(root) };
}

/** snarkjs proof -> the contracts' uint256[8] order (B with imaginary parts first). */
export function calldata(proof) {
  return [
    proof.pi_a[0], proof.pi_a[1],
    proof.pi_b[0][1], proof.pi_b[0][0], proof.pi_b[1][1], proof.pi_b[1][0],
    proof.pi_c[0], proof.pi_c[1],
  ].map(String);
}

async function prove(circuit, input) {
  const t0 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(
    input,
    path.join(BUILD, `${circuit}.wasm`),
    path.join(BUILD, `${circuit}.zkey`),
  );
  const ms = performance.now() - t0;
  return { circuit, proof, publicSignals, calldata: calldata(proof), proveMs: Math.round(ms) };
}

function dec(x) {
  return x.toString();
}

function addressOrField(v, what) {
  return field(v, what);
}

/** Index, siblings and root of `leaf`: from --leaves FILE [--index I], or from the chain. */
async function leafPath(opts, leaf, what, contractOpt, fromChain) {
  if (opts.leaves) {
    const leaves = readLeaves(opts.leaves);
    const index = opts.index !== undefined ? Number(opts.index) : leaves.findIndex((l) => l === leaf);
    if (index < 0 || leaves[index] !== leaf) fail(`${what} not in the leaf list`, 1);
    const t = await treeLevels(leaves);
    return { index, siblings: siblingsFrom(t, index), root: t.root };
  }
  if (opts.rpc) return fromChain();
  return fail(`give --leaves FILE or --rpc URL ${contractOpt} ADDR`);
}

export async function cmdProveProvider(opts) {
  const secret = field(need(opts, 'secret'), 'secret');
  const role = field(need(opts, 'role'), 'role');
  const expiry = field(need(opts, 'expiry'), 'expiry');
  const scope = field(need(opts, 'scope'), 'scope');
  const message = addressOrField(need(opts, 'message'), 'message');
  const now = field(opts.time ?? Math.floor(Date.now() / 1000), 'time');
  const id = await poseidon([secret]);
  const leaf = await poseidon([id, role, expiry]);
  const { index, siblings, root } = await leafPath(opts, leaf, 'credential leaf', '--registry',
    () => registryPath(opts, leaf));
  const input = {
    secret: dec(secret), expiry: dec(expiry), leafIndex: String(index), siblings: siblings.map(dec),
    root: dec(root), role: dec(role), currentTime: dec(now), scope: dec(scope), message: dec(message),
  };
  return prove('provider_credential', input);
}

export async function cmdProveTrial(opts) {
  const secret = field(need(opts, 'secret'), 'secret');
  const trialId = field(need(opts, 'trial'), 'trial');
  const message = addressOrField(need(opts, 'message'), 'message');
  const id = await poseidon([secret]);
  const { index, siblings, root } = await leafPath(opts, id, 'identity commitment', '--trials',
    () => trialPath(opts, trialId, id));
  const input = {
    secret: dec(secret), leafIndex: String(index), siblings: siblings.map(dec),
    root: dec(root), trialId: dec(trialId), message: dec(message),
  };
  return prove('trial_enrolment', input);
}

async function eddsaKey(hex) {
  const key = Buffer.from(hex.replace(/^0x/, ''), 'hex');
  if (key.length !== 32) fail('--key must be 32 bytes of hex');
  const eddsa = await buildEddsa();
  const pub = eddsa.prv2pub(key);
  return { eddsa, key, x: eddsa.F.toObject(pub[0]), y: eddsa.F.toObject(pub[1]) };
}

export async function cmdAttest(opts) {
  const { eddsa, key, x, y } = await eddsaKey(need(opts, 'key'));
  const id = field(need(opts, 'id'), 'id');
  const birth = field(need(opts, 'birth'), 'birth');
  const msg = await poseidon([id, birth]);
  const sig = eddsa.signPoseidon(key, eddsa.F.e(msg));
  return {
    keyX: dec(x), keyY: dec(y), idCommitment: dec(id), birthDate: dec(birth),
    R8x: dec(eddsa.F.toObject(sig.R8[0])), R8y: dec(eddsa.F.toObject(sig.R8[1])), S: dec(sig.S),
  };
}

export async function cmdProveAge(opts) {
  const secret = field(need(opts, 'secret'), 'secret');
  const att = JSON.parse(fs.readFileSync(need(opts, 'attestation'), 'utf8'));
  const input = {
    secret: dec(secret),
    birthDate: dec(field(att.birthDate, 'birthDate')),
    sigR8x: dec(field(att.R8x, 'R8x')),
    sigR8y: dec(field(att.R8y, 'R8y')),
    sigS: dec(field(att.S, 'S')),
    authorityX: dec(field(att.keyX, 'keyX')),
    authorityY: dec(field(att.keyY, 'keyY')),
    today: dec(field(need(opts, 'today'), 'today')),
    minAge: dec(field(need(opts, 'min-age'), 'min-age')),
    scope: dec(field(need(opts, 'scope'), 'scope')),
    message: dec(addressOrField(need(opts, 'message'), 'message')),
  };
  return prove('age_credential', input);
}

export async function cmdVerify(opts) {
  const p = JSON.parse(fs.readFileSync(need(opts, 'proof'), 'utf8'));
  const circuit = p.circuit ?? opts.circuit;
  if (!CIRCUITS[circuit]) fail('unknown circuit (give --circuit provider_credential|age_credential|trial_enrolment)');
  const vk = JSON.parse(fs.readFileSync(path.join(BUILD, `${circuit}_vkey.json`), 'utf8'));
  const t0 = performance.now();
  const ok = await snarkjs.groth16.verify(vk, p.publicSignals, p.proof);
  return { circuit, valid: ok, verifyMs: Math.round(performance.now() - t0) };
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const opts = parseArgs(rest);
  let out;
  switch (cmd) {
    case 'identity': {
      const secret = opts.secret !== undefined
        ? field(opts.secret, 'secret')
        : BigInt('0x' + crypto.randomBytes(32).toString('hex')) % FIELD_R;
      out = { secret: dec(secret), idCommitment: dec(await poseidon([secret])) };
      break;
    }
    case 'leaf': {
      const id = field(need(opts, 'id'), 'id');
      const role = field(need(opts, 'role'), 'role');
      const expiry = field(need(opts, 'expiry'), 'expiry');
      out = { leaf: dec(await poseidon([id, role, expiry])) };
      break;
    }
    case 'root':
      out = { root: dec((await treeLevels(readLeaves(need(opts, 'leaves')))).root) };
      break;
    case 'prove-provider':
      out = await cmdProveProvider(opts);
      break;
    case 'attester-key': {
      const { x, y } = await eddsaKey(need(opts, 'key'));
      out = { keyX: dec(x), keyY: dec(y) };
      break;
    }
    case 'attest':
      out = await cmdAttest(opts);
      break;
    case 'prove-age':
      out = await cmdProveAge(opts);
      break;
    case 'prove-trial':
      out = await cmdProveTrial(opts);
      break;
    case 'verify':
      out = await cmdVerify(opts);
      break;
    default:
      fail('usage: zk.mjs identity|leaf|root|prove-provider|attester-key|attest|prove-age|prove-trial|verify [--opt value]...');
  }
  const text = JSON.stringify(out, null, 1) + '\n';
  if (opts.out) fs.writeFileSync(opts.out, text);
  else process.stdout.write(text);
  return cmd === 'verify' && !out.valid ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (e) => fail(e && e.message ? e.message.split('\n')[0] : String(e), 1),
  );
}
