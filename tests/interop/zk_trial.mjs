#!/usr/bin/env node
// Trial enrolment end to end on `phr node --dev` (its embedded chain, the TrialRegistry it
// deployed with the others, its HTTP API): a sponsor (verified provider) creates a trial
// and adds eligible patients' identity commitments; a patient proves membership with the
// CLI (`phr zk prove-trial`, snarkjs through node) against the on-chain tree; the proof is
// checked by POST /api/v1/zk/verify, natively by `phr zk verify --rpc --trials` and on chain
// by TrialRegistry.enrol (with its estimated gas limit). Rejected by all three: a reused
// nullifier, a wrong root, a tampered public input, a removed patient; a patient outside
// the tree cannot make a proof at all, and a proof for another tree is refused. The route
// also answers provider and age proofs (the committed fixtures: valid proofs whose root /
// attester the dev chain does not know). Gas is printed as JSON lines ({"gas": ...}).
//
//   node tests/interop/zk_trial.mjs        (needs PHR_BIN with `zk` and `node`)
// Exit 0 ok, 1 a check failed, 77 skipped (no usable phr binary).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ethers } from 'ethers';
import { ROOT, phrBinary, connect, artifact } from './contracts_lib.mjs';
import { zkRun, execGas, startNode } from './zk_lib.mjs';

const { bin, why } = phrBinary();
if (!bin) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-zktrial-'));
let failures = 0;
function check(cond, msg) {
  console.log(`${cond ? 'ok' : 'FAIL'} - ${msg}`);
  if (!cond) failures++;
}
const zk = (...args) => zkRun(bin, ...args);
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'circuits/fixtures', name), 'utf8'));

const node = await startNode(bin);
async function verifyHttp(body) {
  const r = await fetch(`${node.base}/api/v1/zk/verify`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}
try {
  const { provider, wallets } = connect(node.url);
  const [gov, authority, sponsor, patientA, patientB] = wallets;
  const at = (name, signer) => new ethers.Contract(node.deployment[name], artifact(name).abi, signer);
  check(ethers.isAddress(node.deployment.TrialRegistry) && ethers.isAddress(node.deployment.TrialEnrolmentVerifier),
    'node: TrialRegistry and its verifier deployed with the others');
  const providers = at('ProviderRegistry', authority);
  const trials = at('TrialRegistry', sponsor);
  check((await trials.verifier()) === node.deployment.TrialEnrolmentVerifier &&
    (await trials.providers()) === node.deployment.ProviderRegistry, 'node: TrialRegistry wired');
  const reason = (e) => {
    const data = e?.data ?? e?.info?.error?.data ?? e?.error?.data;
    try {
      return trials.interface.parseError(data)?.name ?? String(data);
    } catch {
      return e?.shortMessage ?? String(e);
    }
  };
  const expectRevert = async (p, name, what) => {
    try {
      await p;
      check(false, `${what}: not rejected`);
    } catch (e) {
      const got = reason(e);
      check(got === name, `${what}: reverts ${name}${got === name ? '' : ` (got ${got})`}`);
    }
  };

  // The sponsor is a provider the authority verified (a dev node appointed dev key 1).
  if (!(await providers.isAuthority(authority.address))) await (await at('ProviderRegistry', gov).setAuthority(authority.address, true)).wait();
  const now = Number((await provider.getBlock('latest')).timestamp);
  await (await providers.verifyProvider(sponsor.address, 1, ethers.id('sponsor licence'), now + 365 * 86400)).wait();
  await expectRevert(trials.connect(patientA).createTrial.estimateGas(ethers.id('x')), 'NotVerified', 'chain: only a verified provider sponsors a trial');
  const rcT = await (await trials.createTrial(ethers.id('protocol: phase II, HbA1c 7-10%'))).wait();
  const trialId = trials.interface.parseLog(rcT.logs.find((l) => l.address === node.deployment.TrialRegistry)).args.trialId;

  // Three patients; the sponsor finds two eligible and adds their identity commitments.
  const pats = [zk('identity'), zk('identity'), zk('identity')];
  check(pats.every((p) => p.status === 0), 'phr zk identity (3 patients)');
  const r0 = await (await trials.addParticipant(trialId, pats[0].json.idCommitment)).wait();
  await (await trials.addParticipant(trialId, pats[1].json.idCommitment)).wait();
  console.log(JSON.stringify({ gas: 'addParticipant', chain: 'node', value: Number(r0.gasUsed), exec: await execGas(provider, r0) }));
  const regArgs = ['--rpc', node.url, '--trials', node.deployment.TrialRegistry];
  const prove = (i, who, out) => zk('prove-trial', '--secret', pats[i].json.secret, '--trial', trialId,
    '--message', who.address, ...regArgs, '--out', out);

  // Patient 0 proves with the CLI against the on-chain tree.
  const pA = path.join(tmp, 'a.json');
  const t0 = performance.now();
  const pr = prove(0, patientA, pA);
  check(pr.status === 0, `phr zk prove-trial (${Math.round(performance.now() - t0)} ms)${pr.status ? ': ' + pr.stderr : ''}`);
  const proofA = JSON.parse(fs.readFileSync(pA, 'utf8'));
  const root = await trials.rootOf(trialId);
  check(BigInt(proofA.publicSignals[1]) === root && BigInt(proofA.publicSignals[2]) === trialId, 'proof made against the trial\'s current root');

  // The node's verification route, natively with the chain's state.
  const body = { kind: 'trial', proof: proofA.proof, publicSignals: proofA.publicSignals, trialId: String(trialId), message: patientA.address };
  let h = await verifyHttp(body);
  check(h.status === 200 && h.json.valid === true && h.json.checks.root && h.json.checks.nullifierUnused &&
    h.json.nullifier === proofA.publicSignals[0], `HTTP: valid proof accepted (${JSON.stringify(h.json.checks)})`);
  h = await verifyHttp({ ...body, message: patientB.address });
  check(h.status === 200 && h.json.valid === false && h.json.error === 'forbidden', 'HTTP: another caller rejected');
  h = await verifyHttp({ ...body, trialId: String(trialId + 1n) });
  check(h.json.valid === false && h.json.error === 'forbidden', 'HTTP: another trial rejected');
  const tampered = [...proofA.publicSignals];
  tampered[2] = String(trialId + 1n);
  h = await verifyHttp({ kind: 'trial', proof: proofA.proof, publicSignals: tampered });
  check(h.json.valid === false && h.json.checks.proof === false && h.json.error === 'signature', 'HTTP: tampered public input (trial id) rejected');
  const wrongRoot = [...proofA.publicSignals];
  wrongRoot[1] = String(root + 1n);
  h = await verifyHttp({ kind: 'trial', proof: proofA.proof, publicSignals: wrongRoot });
  check(h.json.valid === false && h.json.checks.root === false && h.json.checks.proof === false, 'HTTP: wrong root rejected (unknown on chain, proof fails)');
  h = await verifyHttp({ kind: 'trial', proof: proofA.proof, publicSignals: proofA.publicSignals.slice(0, 3) });
  check(h.status === 400, `HTTP: malformed request answered 400 (${h.status})`);
  h = await verifyHttp({ kind: 'nope', proof: proofA.proof, publicSignals: proofA.publicSignals });
  check(h.status === 400, 'HTTP: unknown kind answered 400');

  // Native (CLI) with the chain's state.
  const v1 = zk('verify', '--proof', pA, '--trial', trialId, '--message', patientA.address, ...regArgs);
  check(v1.status === 0 && v1.json?.valid === true, `native: CLI proof verifies (root read from the chain)${v1.status ? ': ' + v1.stderr : ''}`);

  // On chain, with the estimated gas limit.
  const enrolA = trials.connect(patientA);
  const args = [trialId, proofA.calldata, root, proofA.publicSignals[0]];
  await expectRevert(trials.connect(patientB).enrol.estimateGas(...args), 'InvalidProof', 'chain: proof bound to its caller');
  await expectRevert(enrolA.enrol.estimateGas(trialId, proofA.calldata, root, BigInt(proofA.publicSignals[0]) + 1n), 'InvalidProof', 'chain: tampered public input (nullifier)');
  await expectRevert(enrolA.enrol.estimateGas(trialId, proofA.calldata, root + 1n, proofA.publicSignals[0]), 'UnknownRoot', 'chain: wrong root');
  const est = await enrolA.enrol.estimateGas(...args);
  const rc = await (await enrolA.enrol(...args, { gasLimit: est })).wait();
  check(rc.status === 1, `enrol with the estimated gas limit (${est}) succeeds`);
  console.log(JSON.stringify({ gas: 'enrol', chain: 'node', value: Number(rc.gasUsed), estimate: Number(est), exec: await execGas(provider, rc) }));
  check(await trials.nullifierUsed(trialId, proofA.publicSignals[0]), 'nullifier recorded on chain');

  // Reuse is refused everywhere.
  await expectRevert(enrolA.enrol.estimateGas(...args), 'NullifierUsed', 'chain: reused nullifier');
  h = await verifyHttp(body);
  check(h.json.valid === false && h.json.checks.nullifierUnused === false && h.json.checks.proof === true && h.json.error === 'exists', 'HTTP: reused nullifier rejected');
  const v2 = zk('verify', '--proof', pA, ...regArgs);
  check(v2.status === 1 && /already used/.test(v2.stderr), 'native: reused nullifier rejected (read from the chain)');
  // A second proof by the same patient (another caller) has the same nullifier.
  const pA2 = path.join(tmp, 'a2.json');
  check(prove(0, patientB, pA2).status === 0, 'phr zk prove-trial (same patient, other caller)');
  const proofA2 = JSON.parse(fs.readFileSync(pA2, 'utf8'));
  check(proofA2.publicSignals[0] === proofA.publicSignals[0], 'one nullifier per patient per trial');
  await expectRevert(trials.connect(patientB).enrol.estimateGas(trialId, proofA2.calldata, root, proofA2.publicSignals[0]), 'NullifierUsed', 'chain: second enrolment of the same patient');

  // A patient outside the tree cannot make a proof; a proof for another tree is refused.
  const out = prove(2, patientA, path.join(tmp, 'c.json'));
  check(out.status === 1 && /not in the trial/.test(out.stderr), 'patient not in the tree: no proof');
  const other = fixture('trial_outsider.json');
  h = await verifyHttp({ kind: 'trial', proof: other.proof, publicSignals: other.publicSignals });
  check(h.json.valid === false && h.json.checks.proof === true && h.json.checks.root === false, 'HTTP: valid proof for a tree without the patient: root refused');

  // Patient 1 proves, then the sponsor removes them before they enrol.
  const pB = path.join(tmp, 'b.json');
  check(prove(1, patientB, pB).status === 0, 'phr zk prove-trial (second patient)');
  const proofB = JSON.parse(fs.readFileSync(pB, 'utf8'));
  await (await trials.removeParticipant(trialId, 1, ethers.id('no longer eligible'))).wait();
  await expectRevert(trials.connect(patientB).enrol.estimateGas(trialId, proofB.calldata, proofB.publicSignals[1], proofB.publicSignals[0]), 'UnknownRoot', 'chain: removed patient');
  h = await verifyHttp({ kind: 'trial', proof: proofB.proof, publicSignals: proofB.publicSignals });
  check(h.json.valid === false && h.json.checks.root === false, 'HTTP: removed patient rejected');
  const v3 = zk('verify', '--proof', pB, ...regArgs);
  check(v3.status === 1 && /unknown root/.test(v3.stderr), 'native: removed patient rejected');
  const again = prove(1, patientB, path.join(tmp, 'b2.json'));
  check(again.status === 1 && /removed/.test(again.stderr), 'a removed patient cannot make a new proof');

  // The route's other kinds (committed fixtures: valid proofs, unknown to this chain).
  const pf = fixture('provider_leaf0.json');
  h = await verifyHttp({ kind: 'provider', proof: pf.proof, publicSignals: pf.publicSignals });
  check(h.status === 200 && h.json.valid === false && h.json.checks.root === false, `HTTP provider proof: root unknown to this chain (${h.json.error})`);
  const af = fixture('age.json');
  h = await verifyHttp({ kind: 'age', proof: af.proof, publicSignals: af.publicSignals, minAge: 18 });
  check(h.status === 200 && h.json.valid === false && h.json.checks.attester === false, `HTTP age proof: attester not enabled on this chain (${h.json.error})`);
  h = await verifyHttp({ kind: 'age', proof: pf.proof, publicSignals: pf.publicSignals });
  check(h.status === 400, 'HTTP: a provider proof sent as an age proof answered 400 (signal count)');
  provider.destroy();
} finally {
  await node.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
