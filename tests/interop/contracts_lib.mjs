// Shared helpers for the phr contract suite and benchmark: start a chain (anvil or
// `phr chain --dev`), derive the 10 standard dev accounts, deploy and wire all contracts
// from contracts/artifacts, decode custom errors.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';

export const ROOT = process.env.PHR_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MNEMONIC = 'test test test test test test test test test test test junk';
const ANVIL = path.join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');

export function artifact(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'contracts/artifacts', `${name}.json`), 'utf8'));
}

export const NAMES = ['GovernanceMultisig', 'ProviderRegistry', 'PatientRegistry', 'AuditTrail', 'HealthRecordNFT', 'EmergencyAccess', 'Recovery'];

/** An Interface holding every error and event of every contract, to decode reverts and logs. */
export function allInterface() {
  const seen = new Set();
  const frags = [];
  for (const n of NAMES) {
    for (const f of artifact(n).abi) {
      if (f.type !== 'error' && f.type !== 'event') continue;
      const sig = ethers.Fragment.from(f).format('sighash') + f.type;
      if (seen.has(sig)) continue;
      seen.add(sig);
      frags.push(f);
    }
  }
  return new ethers.Interface(frags);
}

/** phr's binary: $PHR_BIN or build/<dir>/phr. Returns null if it has no `chain` command. */
export function phrBinary() {
  const bin = process.env.PHR_BIN;
  if (!bin || !fs.existsSync(bin)) return { bin: null, why: `PHR_BIN not set or missing (${bin})` };
  const r = spawnSync(bin, ['chain', '--help'], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) return { bin: null, why: `'${bin} chain --help' failed (status ${r.status}): ${(r.stderr || r.stdout || '').trim().slice(0, 200)}` };
  return { bin, why: '' };
}

/** Start a chain; resolves to { url, stop, kind }. */
export function startChain(kind, phrBin) {
  let cmd, args, re, datadir = null;
  if (kind === 'anvil') {
    cmd = ANVIL;
    args = ['--port', '0', '--hardfork', 'cancun', '--mnemonic', MNEMONIC, '--accounts', '10'];
    re = /Listening on ([0-9.]+):(\d+)/;
  } else {
    cmd = phrBin;
    // a fresh chain in a temporary data directory, removed when the chain stops
    datadir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-contracts-chain-'));
    args = ['chain', '--dev', '--datadir', datadir, '--listen', '127.0.0.1:0'];
    re = /listening on (http:\/\/[0-9.]+:\d+)/i;
  }
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const cleanup = () => datadir && fs.rmSync(datadir, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} did not print its address in 20 s: ${buf.slice(-500)}`));
    }, 20000);
    const onData = (d) => {
      buf += d.toString();
      const m = buf.match(re);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stderr.removeAllListeners('data');
      child.stdout.resume();
      child.stderr.resume();
      const url = kind === 'anvil' ? `http://${m[1]}:${m[2]}` : m[1];
      resolve({
        url,
        kind,
        pid: child.pid,
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null) {
              cleanup();
              return res();
            }
            child.once('exit', () => {
              cleanup();
              res();
            });
            process.kill(child.pid, 'SIGTERM');
            setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3000).unref();
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      cleanup();
      reject(new Error(`${kind} exited with ${code} before listening: ${buf.slice(-500)}`));
    });
  });
}

export function connect(url) {
  const provider = new ethers.JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchStallTime: 0, pollingInterval: 50 });
  const mn = ethers.Mnemonic.fromPhrase(MNEMONIC);
  const wallets = [];
  for (let i = 0; i < 10; i++) wallets.push(ethers.HDNodeWallet.fromMnemonic(mn, `m/44'/60'/0'/0/${i}`).connect(provider));
  return { provider, wallets };
}

export async function deploy(name, signer, ...args) {
  const a = artifact(name);
  const f = new ethers.ContractFactory(a.abi, a.bytecode, signer);
  const c = await f.deploy(...args);
  const rcpt = await c.deploymentTransaction().wait();
  return { contract: c.connect(signer), gas: rcpt.gasUsed };
}

/**
 * Deploy and wire the whole set. gov: a 2-of-3 GovernanceMultisig of owners[0..2].
 * Returns { c: {gov, providers, reg, audit, nft, emergency, recovery}, gas: {Name: gasUsed} }.
 */
export async function deployAll(deployer, govOwners) {
  const gas = {};
  const d = async (n, ...a) => {
    const r = await deploy(n, deployer, ...a);
    gas[n] = r.gas;
    return r.contract;
  };
  const gov = await d('GovernanceMultisig', govOwners, 2);
  const providers = await d('ProviderRegistry', await gov.getAddress());
  const reg = await d('PatientRegistry', await providers.getAddress());
  const audit = await d('AuditTrail', await reg.getAddress());
  const nft = await d('HealthRecordNFT', await reg.getAddress(), await providers.getAddress(), await audit.getAddress());
  const emergency = await d('EmergencyAccess', await reg.getAddress(), await providers.getAddress(), await audit.getAddress());
  const recovery = await d('Recovery', await reg.getAddress(), await audit.getAddress());
  await (await reg.wire(await nft.getAddress(), await emergency.getAddress(), await recovery.getAddress(), await audit.getAddress())).wait();
  await (await audit.wire([await reg.getAddress(), await nft.getAddress(), await emergency.getAddress(), await recovery.getAddress()])).wait();
  return { c: { gov, providers, reg, audit, nft, emergency, recovery }, gas };
}

/** Poll for a receipt (faster than ethers' block polling under automine). */
export async function waitReceipt(provider, hash) {
  for (let i = 0; i < 20000; i++) {
    const r = await provider.getTransactionReceipt(hash);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 2));
  }
  throw new Error(`no receipt for ${hash}`);
}

/** Find revert data inside an ethers error. */
export function revertData(e) {
  for (const x of [e?.data, e?.error?.data, e?.info?.error?.data, e?.error?.error?.data]) {
    if (typeof x === 'string' && x.startsWith('0x')) return x;
    if (x && typeof x.data === 'string') return x.data;
  }
  return null;
}

export const scopeAll = () => ethers.ZeroHash;
export const scopeCat = (t) => ethers.toBeHex((1n << 248n) | BigInt(t), 32);
export const scopeRec = (id) => ethers.toBeHex((2n << 248n) | BigInt(id), 32);
export const AL = { None: 0, Read: 1, Write: 2, Admin: 3 };
export const RT = { General: 0, Vaccination: 1, MajorProcedure: 2, ChronicConditionAchievement: 3, PreventiveCare: 4, LabResult: 5, Imaging: 6, Prescription: 7, ClinicalNote: 8, EmergencySummary: 9 };
export const ACT = { View: 0, Create: 1, Update: 2, Share: 3, Emergency: 4, Revoke: 5, Erase: 6, Recover: 7 };
export const PUR = { Unspecified: 0, Treatment: 1, Payment: 2, Operations: 3, Emergency: 4, Research: 5, PatientRequest: 6, Legal: 7 };
