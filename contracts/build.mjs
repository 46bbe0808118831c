#!/usr/bin/env node
// Compile contracts/src/*.sol with the pinned solcjs (node_modules/solc, 0.8.37) and write
// contracts/artifacts/<Name>.json: abi, bytecode, deployedBytecode, method identifiers and the
// compiler settings. Output is deterministic: sorted inputs, relative source names, no
// metadata hash in the bytecode, stable JSON key order.
//
//   node contracts/build.mjs                 write contracts/artifacts/
//   node contracts/build.mjs --out DIR       write into DIR
//   node contracts/build.mjs --check         build into a fresh temp dir and compare byte for byte
//                                            with contracts/artifacts/ (exit 1 on any difference)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'package.json'));
const solc = require('solc');

export const PINNED_VERSION = '0.8.37';
export const SETTINGS = {
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: 'none', useLiteralContent: false },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] },
  },
};

export function sourceInput() {
  const dir = path.join(here, 'src');
  const sources = {};
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.sol')).sort()) {
    sources[`src/${f}`] = { content: fs.readFileSync(path.join(dir, f), 'utf8') };
  }
  return { language: 'Solidity', sources, settings: SETTINGS };
}

function readImport(p) {
  const full = path.resolve(here, p);
  if (!full.startsWith(here + path.sep)) return { error: `import outside contracts/: ${p}` };
  try {
    return { contents: fs.readFileSync(full, 'utf8') };
  } catch (e) {
    return { error: `cannot read ${p}: ${e.message}` };
  }
}

export function compile() {
  const version = solc.version();
  if (!version.startsWith(PINNED_VERSION + '+')) {
    throw new Error(`solc ${version} is not the pinned ${PINNED_VERSION}`);
  }
  const out = JSON.parse(solc.compile(JSON.stringify(sourceInput()), { import: readImport }));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  for (const e of out.errors || []) process.stderr.write(e.formattedMessage + '\n');
  if (errors.length) throw new Error(`${errors.length} compile error(s)`);
  const artifacts = {};
  for (const source of Object.keys(out.contracts).sort()) {
    for (const name of Object.keys(out.contracts[source]).sort()) {
      const c = out.contracts[source][name];
      if (!c.evm.bytecode.object) continue; // interfaces
      artifacts[name] = {
        contractName: name,
        sourceName: source,
        compiler: { name: 'solc', version, settings: { evmVersion: SETTINGS.evmVersion, optimizer: SETTINGS.optimizer, metadata: SETTINGS.metadata } },
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        methodIdentifiers: c.evm.methodIdentifiers,
      };
    }
  }
  return artifacts;
}

export function writeArtifacts(artifacts, dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, a] of Object.entries(artifacts)) {
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(a, null, 2) + '\n');
  }
}

function main(argv) {
  const artifactsDir = path.join(here, 'artifacts');
  if (argv.includes('--check')) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phr-contracts-'));
    try {
      writeArtifacts(compile(), tmp);
      const built = fs.readdirSync(tmp).sort();
      const committed = fs.readdirSync(artifactsDir).filter((n) => n.endsWith('.json')).sort();
      let bad = 0;
      if (JSON.stringify(built) !== JSON.stringify(committed)) {
        console.error(`artifact set differs: built ${built.join(',')} committed ${committed.join(',')}`);
        bad++;
      }
      for (const f of built) {
        const a = fs.readFileSync(path.join(tmp, f));
        const bpath = path.join(artifactsDir, f);
        if (!fs.existsSync(bpath) || !a.equals(fs.readFileSync(bpath))) {
          console.error(`not reproducible: ${f}`);
          bad++;
        } else {
          console.log(`identical: ${f} (${a.length} bytes)`);
        }
      }
      if (bad) process.exit(1);
      console.log(`reproducible: ${built.length} artifacts`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  const i = argv.indexOf('--out');
  const dir = i >= 0 ? path.resolve(argv[i + 1]) : artifactsDir;
  const artifacts = compile();
  writeArtifacts(artifacts, dir);
  for (const [n, a] of Object.entries(artifacts)) {
    console.log(`${n}: ${(a.deployedBytecode.length - 2) / 2} bytes deployed`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
