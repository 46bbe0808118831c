#!/usr/bin/env node
// Gas of the trial-enrolment flow on one chain (`phr chain --dev` or anvil), for bench/zk.sh:
// ProviderRegistry, CredentialRegistry (Poseidon), TrialEnrolmentVerifier and TrialRegistry
// deployed fresh; a verified sponsor creates a trial and adds two patients; one proves
// with the CLI (`phr zk prove-trial --rpc`) and enrols with the estimated gas limit.
// One JSON line per transaction: {gas, chain, value (total), exec (minus intrinsic), estimate}.
//   node bench/zk_trial_gas.mjs --chain phr|anvil      (PHR_BIN: phr with `chain` and `zk`)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ethers } from 'ethers';
import { startChain, phrBinary, connect, deploy } from '../tests/interop/contracts_lib.mjs';
import { zkRun, execGas } from '../tests/interop/zk_lib.mjs';

const kind = process.argv.includes('--chain') ? process.argv[process.argv.indexOf('--chain') + 1] : 'phr';
const { bin, why } = phrBinary();
if (!bin) {
  console.error(`no phr binary: ${why}`);
  process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-zktg-'));
const chain = await startChain(kind, kind === 'phr' ? bin : null);
try {
  const { provider, wallets } = connect(chain.url);
  const [gov, authority, sponsor, patient] = wallets;
  const providers = (await deploy('ProviderRegistry', gov, gov.address)).contract;
  await (await providers.setAuthority(authority.address, true)).wait();
  const creds = (await deploy('CredentialRegistry', gov, await providers.getAddress())).contract;
  const tv = (await deploy('TrialEnrolmentVerifier', gov)).contract;
  const trials = (await deploy('TrialRegistry', gov, await providers.getAddress(), await creds.getAddress(), await tv.getAddress())).contract;
  const now = Number((await provider.getBlock('latest')).timestamp);
  await (await providers.connect(authority).verifyProvider(sponsor.address, 1, ethers.id('licence'), now + 86400 * 30)).wait();
  const ts = trials.connect(sponsor);
  const line = async (name, rc, est) => console.log(JSON.stringify({
    gas: name, chain: kind, value: Number(rc.gasUsed), exec: await execGas(provider, rc), ...(est ? { estimate: Number(est) } : {}),
  }));
  await line('createTrial', await (await ts.createTrial(ethers.id('bench trial'))).wait());
  const id = zkRun(bin, 'identity', '--secret', 3003).json;
  await line('addParticipant', await (await ts.addParticipant(1, id.idCommitment)).wait());
  await (await ts.addParticipant(1, 4004)).wait();
  const out = path.join(tmp, 'p.json');
  const r = zkRun(bin, 'prove-trial', '--secret', 3003, '--trial', 1, '--message', patient.address,
    '--rpc', chain.url, '--trials', await trials.getAddress(), '--out', out);
  if (r.status !== 0) throw new Error(`prove-trial: ${r.stderr}`);
  const p = JSON.parse(fs.readFileSync(out, 'utf8'));
  const args = [1, p.calldata, p.publicSignals[1], p.publicSignals[0]];
  const est = await trials.connect(patient).enrol.estimateGas(...args);
  const rc = await (await trials.connect(patient).enrol(...args, { gasLimit: est })).wait();
  if (rc.status !== 1) throw new Error('enrol failed at the estimated limit');
  await line('enrol', rc, est);
  provider.destroy();
} finally {
  await chain.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
