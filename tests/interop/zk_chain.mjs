#!/usr/bin/env node
// ZK credentials end to end: CredentialRegistry + verifiers + ResearchAccess deployed on
// `phr chain --dev` (or anvil), proofs made by the CLI (`phr zk prove`, which runs snarkjs
// through node) against the on-chain Poseidon tree, checked on chain (ethers) and natively
// (`phr zk verify`). Rejections: a tampered public input, a wrong root, a revoked credential,
// a reused nullifier, another caller. Gas per verification is printed as JSON lines
// ({"gas": ...}) for bench/zk.sh.
//
//   node tests/interop/zk_chain.mjs [--chain phr|anvil|node]     (needs PHR_BIN with `zk` and `chain`)
// --chain node uses the contracts `phr node --dev` deployed with the others (deployment.json)
// instead of deploying its own.
// Exit 0 ok, 1 a check failed, 77 skipped (no usable phr binary).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ethers } from 'ethers';
import { startChain, phrBinary, connect, deploy, artifact } from './contracts_lib.mjs';
import { zkRun, execGas, startNode } from './zk_lib.mjs';

const kind = process.argv.includes('--chain') ? process.argv[process.argv.indexOf('--chain') + 1] : 'phr';
const { bin, why } = phrBinary();
if (!bin) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-zk-'));
let failures = 0;
function check(cond, msg) {
  console.log(`${cond ? 'ok' : 'FAIL'} - ${msg}`);
  if (!cond) failures++;
}

const zk = (...args) => zkRun(bin, ...args);

function utcDate(ts) {
  const d = new Date(Number(ts) * 1000);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

const chain = kind === 'node' ? await startNode(bin) : await startChain(kind, kind === 'phr' ? bin : null);
try {
  const { provider, wallets } = connect(chain.url);
  const [gov, authority, alice, bob] = wallets;
  let providers, creds, access;
  if (chain.deployment) {
    // The node deployed everything; its governance on dev chains is dev key 0.
    const at = (name) => new ethers.Contract(chain.deployment[name], artifact(name).abi, gov);
    [providers, creds, access] = ['ProviderRegistry', 'CredentialRegistry', 'ResearchAccess'].map(at);
    check(chain.deployment.governance === gov.address, 'node: governance is dev key 0');
    check((await access.registry()) === chain.deployment.CredentialRegistry &&
      (await access.providerVerifier()) === chain.deployment.ProviderCredentialVerifier &&
      (await creds.authorities()) === chain.deployment.ProviderRegistry, 'node: ZK contracts deployed and wired with the others');
  } else {
    providers = (await deploy('ProviderRegistry', gov, gov.address)).contract;
    creds = (await deploy('CredentialRegistry', gov, await providers.getAddress())).contract;
    const pv = (await deploy('ProviderCredentialVerifier', gov)).contract;
    const av = (await deploy('AgeCredentialVerifier', gov)).contract;
    access = (await deploy('ResearchAccess', gov, await creds.getAddress(), await pv.getAddress(), await av.getAddress())).contract;
  }
  // (a dev node has already appointed dev key 1)
  if (!(await providers.isAuthority(authority.address))) await (await providers.setAuthority(authority.address, true)).wait();
  const iface = access.interface;
  const regAddr = await creds.getAddress();
  const reason = (e) => {
    const data = e?.data ?? e?.info?.error?.data ?? e?.error?.data;
    try {
      return iface.parseError(data)?.name ?? creds.interface.parseError(data)?.name ?? String(data);
    } catch {
      return e?.shortMessage ?? String(e);
    }
  };

  // Providers make their identities; the authority adds their credentials.
  const idA = zk('identity');
  const idB = zk('identity');
  check(idA.status === 0 && idB.status === 0 && idA.json.idCommitment !== idB.json.idCommitment, 'phr zk identity');
  const now = Number((await provider.getBlock('latest')).timestamp);
  const expiry = now + 365 * 86400;
  const role = 4;
  const scope = 42;
  const credsA = creds.connect(authority);
  // Both are providers the authority verified in ProviderRegistry first.
  const providersA = providers.connect(authority);
  for (const w of [alice, bob]) await (await providersA.verifyProvider(w.address, 1, ethers.id(`licence ${w.address}`), expiry)).wait();
  const r0 = await (await credsA.addCredential(alice.address, idA.json.idCommitment, role, expiry)).wait();
  await (await credsA.addCredential(bob.address, idB.json.idCommitment, role, expiry)).wait();
  console.log(JSON.stringify({ gas: 'addCredential', chain: kind, value: Number(r0.gasUsed), exec: await execGas(provider, r0) }));
  const leaf = zk('leaf', '--id', idA.json.idCommitment, '--role', role, '--expiry', expiry);
  check(BigInt(leaf.json.leaf) === (await creds.leaf(0)), 'leaf computed off chain = leaf inserted on chain');

  // Alice proves with the CLI against the chain's tree.
  const t = Number((await provider.getBlock('latest')).timestamp);
  const pA = path.join(tmp, 'alice.json');
  const proveArgs = (who, secret, out) => ['prove', '--secret', secret, '--role', role, '--expiry', expiry,
    '--scope', scope, '--message', who.address, '--time', t, '--rpc', chain.url, '--registry', regAddr, '--out', out];
  const t0 = performance.now();
  const pr = zk(...proveArgs(alice, idA.json.secret, pA));
  const proveMs = performance.now() - t0;
  check(pr.status === 0, `phr zk prove (${Math.round(proveMs)} ms)${pr.status ? ': ' + pr.stderr : ''}`);
  const proofA = JSON.parse(fs.readFileSync(pA, 'utf8'));
  const root = await creds.root();
  check(BigInt(proofA.publicSignals[1]) === root, 'proof made against the current on-chain root');

  // Native verification with the policy the contract applies.
  const nf = path.join(tmp, 'nullifiers.txt');
  const policy = ['--root', root, '--role', role, '--scope', scope, '--message', alice.address, '--now', t + 5, '--max-age', 3600];
  const v1 = zk('verify', '--proof', pA, ...policy, '--nullifiers', nf);
  check(v1.status === 0 && v1.json?.valid === true, 'native: CLI proof verifies');
  const v2 = zk('verify', '--proof', pA, ...policy, '--nullifiers', nf);
  check(v2.status === 1 && /already used/.test(v2.stderr), 'native: reused nullifier rejected');
  const v3 = zk('verify', '--proof', pA, '--root', root + 1n);
  check(v3.status === 1 && /unknown root/.test(v3.stderr), 'native: wrong root rejected');
  const tampered = { ...proofA, publicSignals: [...proofA.publicSignals] };
  tampered.publicSignals[2] = String(role + 1);
  fs.writeFileSync(path.join(tmp, 'tampered.json'), JSON.stringify(tampered));
  const v4 = zk('verify', '--proof', path.join(tmp, 'tampered.json'));
  check(v4.status === 1 && /invalid proof/.test(v4.stderr), 'native: tampered public input rejected');
  const v5 = zk('verify', '--proof', pA, ...policy.slice(0, 6), '--message', bob.address);
  check(v5.status === 1 && /differs/.test(v5.stderr), 'native: another caller rejected');

  // On chain: eth_estimateGas must give a limit the verification really fits in.
  const useA = access.connect(alice);
  const args = [proofA.calldata, root, role, t, scope, proofA.publicSignals[0]];
  const est = await useA.useCredential.estimateGas(...args);
  const rc = await (await useA.useCredential(...args, { gasLimit: est })).wait();
  check(rc.status === 1, `useCredential with the estimated gas limit (${est}) succeeds`);
  console.log(JSON.stringify({ gas: 'useCredential', chain: kind, value: Number(rc.gasUsed), estimate: Number(est), exec: await execGas(provider, rc) }));
  check(await access.nullifierUsed(proofA.publicSignals[0]), 'nullifier recorded on chain');
  const accessAddr = await access.getAddress();
  const viaChain = ['--rpc', chain.url, '--registry', regAddr];
  const v7 = zk('verify', '--proof', pA, ...viaChain);
  check(v7.status === 0, `native, roots read from the chain: proof verifies${v7.status ? ': ' + v7.stderr : ''}`);
  const v8 = zk('verify', '--proof', pA, ...viaChain, '--access', accessAddr);
  check(v8.status === 1 && /already used/.test(v8.stderr), 'native, nullifiers read from the chain: spent nullifier rejected');

  const expectRevert = async (p, name, what) => {
    try {
      await p;
      check(false, `${what}: not rejected`);
    } catch (e) {
      const got = reason(e);
      check(got === name, `${what}: reverts ${name}${got === name ? '' : ` (got ${got})`}`);
    }
  };
  await expectRevert(useA.useCredential.estimateGas(...args), 'NullifierUsed', 'chain: reused nullifier');
  await expectRevert(access.connect(bob).useCredential.estimateGas(proofA.calldata, root, role, t, scope + 1, 7n),
    'InvalidProof', 'chain: tampered public input (scope, nullifier)');
  await expectRevert(useA.useCredential.estimateGas(proofA.calldata, root + 1n, role, t, scope, 8n), 'UnknownRoot', 'chain: wrong root');

  // Bob proves, then his credential is revoked before he uses it.
  const pB = path.join(tmp, 'bob.json');
  check(zk(...proveArgs(bob, idB.json.secret, pB)).status === 0, 'phr zk prove (second provider)');
  const proofB = JSON.parse(fs.readFileSync(pB, 'utf8'));
  // Bob is suspended in ProviderRegistry; anyone (here Alice) then revokes his credential.
  await (await providersA.suspendProvider(bob.address, ethers.id('licence withdrawn'))).wait();
  await (await creds.connect(alice).revokeUnverified(1)).wait();
  const rootAfter = await creds.root();
  const argsB = [proofB.calldata, proofB.publicSignals[1], role, t, scope, proofB.publicSignals[0]];
  await expectRevert(access.connect(bob).useCredential.estimateGas(...argsB), 'UnknownRoot', 'chain: revoked credential (suspended provider)');
  const v6 = zk('verify', '--proof', pB, '--root', rootAfter);
  check(v6.status === 1 && /unknown root/.test(v6.stderr), 'native: revoked credential rejected (roots read after revocation)');
  const v9 = zk('verify', '--proof', pB, ...viaChain, '--access', accessAddr);
  check(v9.status === 1 && /unknown root/.test(v9.stderr), 'native, roots read from the chain: revoked credential rejected');
  const pB2 = zk(...proveArgs(bob, idB.json.secret, path.join(tmp, 'bob2.json')));
  check(pB2.status === 1 && /revoked/.test(pB2.stderr), 'a revoked credential cannot make a new proof');

  // Patient age predicate: an attester signs a birth date; the patient proves age >= 18.
  const key = ethers.id('zk interop attester').slice(2);
  const ak = zk('attester-key', '--key', key);
  await (await credsA.setAttester(ak.json.keyX, ak.json.keyY, true)).wait();
  const pat = zk('identity');
  const attFile = path.join(tmp, 'att.json');
  check(zk('attest', '--key', key, '--id', pat.json.idCommitment, '--birth', 19900615, '--out', attFile).status === 0, 'phr zk attest');
  const today = utcDate((await provider.getBlock('latest')).timestamp);
  const pAge = path.join(tmp, 'age.json');
  const ageRun = zk('prove-age', '--secret', pat.json.secret, '--attestation', attFile, '--today', today,
    '--min-age', 18, '--scope', 43, '--message', alice.address, '--out', pAge);
  check(ageRun.status === 0, `phr zk prove-age${ageRun.status ? ': ' + ageRun.stderr : ''}`);
  const ageProof = JSON.parse(fs.readFileSync(pAge, 'utf8'));
  check(zk('verify', '--proof', pAge, ...viaChain, '--access', accessAddr).status === 0, 'native: age proof verifies (attester enabled on chain)');
  const ageArgs = [ageProof.calldata, ak.json.keyX, ak.json.keyY, today, 18, 43, ageProof.publicSignals[0]];
  const ra = await (await useA.useAgeProof(...ageArgs)).wait();
  check(ra.status === 1, 'chain: age proof accepted');
  console.log(JSON.stringify({ gas: 'useAgeProof', chain: kind, value: Number(ra.gasUsed), exec: await execGas(provider, ra) }));
  const v10 = zk('verify', '--proof', pAge, ...viaChain, '--access', accessAddr);
  check(v10.status === 1 && /already used/.test(v10.stderr), 'native: spent age nullifier rejected (read from the chain)');
  await expectRevert(access.connect(alice).useAgeProof.estimateGas(ageProof.calldata, ak.json.keyX, ak.json.keyY, today, 21, 44, 9n),
    'InvalidProof', 'chain: age proof with a raised minimum age');
  const under = zk('prove-age', '--secret', pat.json.secret, '--attestation', attFile, '--today', today,
    '--min-age', 99, '--scope', 43, '--message', alice.address, '--out', path.join(tmp, 'x.json'));
  check(under.status !== 0, 'no proof for an age the patient does not have');
  provider.destroy();
} finally {
  await chain.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
