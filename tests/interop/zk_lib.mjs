// Shared by the ZK interop tests: `phr node --dev` in a temporary folder, `phr zk ...`,
// and the execution gas of a receipt.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ethers } from 'ethers';
import { ROOT } from './contracts_lib.mjs';

/** Runs `phr zk ...` with `bin`; returns { status, json, stderr }. */
export function zkRun(bin, ...args) {
  const r = spawnSync(bin, ['zk', ...args.map(String)], {
    encoding: 'utf8', timeout: 120000, env: { ...process.env, PHR_SOURCE_DIR: ROOT },
  });
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, stderr: r.stderr || '' };
}

/** Gas of a receipt without the intrinsic part (21,000 + 4/16 per zero/non-zero calldata
 *  byte), which varies with the random bytes of proofs and identities. */
export async function execGas(provider, rc) {
  const tx = await provider.getTransaction(rc.hash);
  const data = ethers.getBytes(tx.data);
  let intrinsic = 21000;
  for (const b of data) intrinsic += b === 0 ? 4 : 16;
  return Number(rc.gasUsed) - intrinsic;
}

/** `phr node --dev` in a temporary folder: { base (HTTP), url (JSON-RPC), deployment, stop }. */
export async function startNode(bin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-zk-node-'));
  const proc = spawn(bin, ['node', '--dev', '--datadir', path.join(dir, 'n'), '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT, env: { ...process.env, PHR_SOURCE_DIR: ROOT } });
  let out = '';
  const base = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('phr node did not start in 60 s')), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    proc.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`phr node exited ${c}`));
    });
  });
  proc.stdout.resume();
  const deployment = JSON.parse(fs.readFileSync(path.join(dir, 'n', 'deployment.json'), 'utf8'));
  return {
    base,
    url: `${base}/rpc`,
    deployment,
    stop: () => new Promise((res) => {
      const done = () => {
        fs.rmSync(dir, { recursive: true, force: true });
        res();
      };
      if (proc.exitCode !== null) return done();
      proc.once('exit', done);
      process.kill(proc.pid, 'SIGTERM');
      setTimeout(() => proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'), 10000).unref();
    }),
  };
}
