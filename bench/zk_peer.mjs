#!/usr/bin/env node
// snarkjs side of bench/zk.sh: Groth16 verification of the same fixtures the C bench uses,
// and in-process proving (witness + proof) of the three circuits. One JSON line per circuit.
//   node bench/zk_peer.mjs [VERIFY_ITERATIONS] [PROVE_ITERATIONS]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nv = Number(process.argv[2] || 20);
const np = Number(process.argv[3] || 3);
const read = (rel) => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));

// Witness inputs rebuilt from the fixtures' scenario for proving.
async function inputs() {
  const { treeLevels } = await import('../circuits/zk.mjs');
  const sc = read('circuits/fixtures/scenario.json');
  const t = await treeLevels(sc.leaves.map(BigInt));
  const sib = [];
  for (let l = 0; l < 20; l++) {
    const j = (0 >> l) ^ 1;
    sib.push(String(t.levels[l].has(j) ? t.levels[l].get(j) : t.zeros[l]));
  }
  const att = read('circuits/fixtures/attestation.json');
  const ts = read('circuits/fixtures/trial_scenario.json');
  const tt = await treeLevels(ts.idCommitments.map(BigInt));
  const tsib = [];
  for (let l = 0; l < 20; l++) {
    const j = (0 >> l) ^ 1;
    tsib.push(String(tt.levels[l].has(j) ? tt.levels[l].get(j) : tt.zeros[l]));
  }
  return {
    trial_enrolment: {
      secret: '3003', leafIndex: '0', siblings: tsib, root: ts.root, trialId: ts.trialId,
      message: BigInt(ts.message).toString(),
    },
    provider_credential: {
      secret: '1001', expiry: sc.expiry, leafIndex: '0', siblings: sib, root: sc.root, role: sc.role,
      currentTime: String(BigInt(sc.T0) + 60n), scope: sc.scope, message: BigInt(sc.message).toString(),
    },
    age_credential: {
      secret: '1001', birthDate: att.birthDate, sigR8x: att.R8x, sigR8y: att.R8y, sigS: att.S,
      authorityX: att.keyX, authorityY: att.keyY, today: '20231114', minAge: '18', scope: sc.ageScope,
      message: BigInt(sc.message).toString(),
    },
  };
}

const ins = await inputs();
for (const [circuit, fixture] of [['provider_credential', 'provider_leaf0.json'], ['age_credential', 'age.json'], ['trial_enrolment', 'trial.json']]) {
  const vk = read(`circuits/keys/${circuit}_vkey.json`);
  const p = read(`circuits/fixtures/${fixture}`);
  if (!(await snarkjs.groth16.verify(vk, p.publicSignals, p.proof))) throw new Error(`${circuit}: fixture does not verify`);
  let t0 = performance.now();
  for (let i = 0; i < nv; i++) await snarkjs.groth16.verify(vk, p.publicSignals, p.proof);
  const verifyMs = (performance.now() - t0) / nv;
  const wasm = path.join(root, `circuits/keys/${circuit}.wasm`);
  const zkey = path.join(root, `circuits/keys/${circuit}.zkey`);
  await snarkjs.groth16.fullProve(ins[circuit], wasm, zkey); // warm-up
  t0 = performance.now();
  for (let i = 0; i < np; i++) await snarkjs.groth16.fullProve(ins[circuit], wasm, zkey);
  const proveMs = (performance.now() - t0) / np;
  console.log(JSON.stringify({ circuit, snarkjsVerifyMs: +verifyMs.toFixed(2), snarkjsProveMs: Math.round(proveMs), verifyIterations: nv, proveIterations: np }));
}
process.exit(0);
