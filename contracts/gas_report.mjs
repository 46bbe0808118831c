#!/usr/bin/env node
// Run `forge test --gas-report --json` offline and print the per-function gas as a Markdown
// table; with --update, replace the block between <!-- gas:begin --> and <!-- gas:end --> in
// docs/contracts.md. Figures are forge's execution gas for calls made by the test contract
// (no 21,000 intrinsic cost, no calldata cost); failed calls count too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const forge = path.join(root, 'node_modules/@foundry-rs/forge-linux-amd64/bin/forge');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-gas-'));
let json;
try {
  json = execFileSync(forge, ['test', '--offline', '--gas-report', '--json', '--root', here,
    '--out', path.join(tmp, 'out'), '--cache-path', path.join(tmp, 'cache')], { cwd: here, encoding: 'utf8', maxBuffer: 1 << 26 });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const start = json.indexOf('[{"contract"');
const reports = JSON.parse(json.slice(start, json.lastIndexOf(']') + 1));
const lines = ['| contract | function | calls | min | median | max |', '| --- | --- | ---: | ---: | ---: | ---: |'];
for (const r of reports) {
  const name = r.contract.split(':')[1];
  lines.push(`| ${name} | *deployment* (${r.deployment.size} bytes) | 1 | ${r.deployment.gas} | ${r.deployment.gas} | ${r.deployment.gas} |`);
  for (const [sig, f] of Object.entries(r.functions)) {
    lines.push(`| ${name} | \`${sig.split('(')[0]}\` | ${f.calls} | ${f.min} | ${f.median} | ${f.max} |`);
  }
}
const table = lines.join('\n');
if (process.argv.includes('--update')) {
  const doc = path.join(root, 'docs/contracts.md');
  const s = fs.readFileSync(doc, 'utf8');
  const a = s.indexOf('<!-- gas:begin -->');
  const b = s.indexOf('<!-- gas:end -->');
  if (a < 0 || b < a) throw new Error('gas markers missing in docs/contracts.md');
  fs.writeFileSync(doc, s.slice(0, a) + '<!-- gas:begin -->\n' + table + '\n' + s.slice(b));
} else {
  console.log(table);
}
