// Shared by the FHIR interop tests: starts `phr node --dev` on 127.0.0.1:0 in
// a temporary directory and returns its URL, the dev tokens and a stop().
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function startNode(tag, extra = []) {
  const bin = process.env.PHR_BIN;
  if (!bin) throw new Error('PHR_BIN is not set');
  const dir = mkdtempSync(join(tmpdir(), `phr-${tag}-`));
  const datadir = join(dir, 'n');
  const node = spawn(bin, ['node', '--datadir', datadir, '--listen', '127.0.0.1:0', '--dev', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  // PHR_NODE_LOG=FILE keeps the node's whole log (the tail is kept in memory)
  node.stderr.on('data', (d) => {
    if (process.env.PHR_NODE_LOG) appendFileSync(process.env.PHR_NODE_LOG, d);
    err += d; if (err.length > 65536) err = err.slice(-32768);
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('node did not start: ' + err.slice(-2000))), 90000);
    node.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m && /ready/.test(out)) { clearTimeout(t); resolve(m[1]); }
    });
    node.on('exit', (c) => { clearTimeout(t); reject(new Error('node exited ' + c + ': ' + err.slice(-2000))); });
  });
  node.stdout.resume();
  const tokens = JSON.parse(readFileSync(join(datadir, 'dev', 'tokens.json'), 'utf8'));
  const stop = async () => {
    if (node.exitCode === null) {
      const done = new Promise((r) => node.on('exit', r));
      node.kill('SIGTERM');
      const t = setTimeout(() => node.kill('SIGKILL'), 10000);
      await done;
      clearTimeout(t);
    }
    if (!process.env.PHR_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };
  return { url, fhir: url + '/fhir', tokens, stop, stderr: () => err };
}

export function checker() {
  let failed = 0, passed = 0;
  const check = (ok, what, detail) => {
    if (ok) { passed++; console.log('ok', what); }
    else { failed++; console.error('FAIL', what, detail !== undefined ? JSON.stringify(detail).slice(0, 800) : ''); }
  };
  return { check, summary: () => ({ passed, failed }) };
}
