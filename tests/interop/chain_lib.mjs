// Shared helpers of the chain interop tests: start `phr chain --dev` on port 0
// in a fresh data directory, compile a small Solidity contract with solc (cancun).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

export const ROOT = process.env.PHR_SOURCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEV_KEY0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const DEV_KEY1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const DEV_ADDR0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
export const DEV_ADDR1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
export const CAST = path.join(ROOT, 'node_modules/@foundry-rs/cast-linux-amd64/bin/cast');

export const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
contract Counter {
    event Incremented(address indexed by, uint256 indexed newValue, string note);
    event Reset(address indexed by);
    uint256 public count;
    mapping(address => uint256) public perUser;
    uint256 transient scratch;
    function inc(string calldata note) external {
        count += 1;
        perUser[msg.sender] += 1;
        emit Incremented(msg.sender, count, note);
    }
    function reset() external { count = 0; emit Reset(msg.sender); }
    function fail() external pure { revert("nope"); }
    function twice(uint256 x) external returns (uint256) { scratch = x; return scratch * 2; }
    function hashLoop(uint256 n) external pure returns (bytes32 h) {
        for (uint256 i = 0; i < n; i++) h = keccak256(abi.encode(h, i));
    }
}
`;

/** Compiles SOURCE; returns { abi, bytecode }. */
export function compile() {
  const input = {
    language: 'Solidity',
    sources: { 'Counter.sol': { content: SOURCE } },
    settings: { evmVersion: 'cancun', optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errs = (out.errors || []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['Counter.sol'].Counter;
  return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
}

/** Starts phr chain --dev; resolves to { url, stop, kill, dir, child }. */
export function startPhr(extra = [], dir = null) {
  const bin = process.env.PHR_BIN;
  if (!bin || !fs.existsSync(bin)) throw new Error(`PHR_BIN not set or missing (${bin})`);
  const datadir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'phr-chain-js-'));
  const child = spawn(bin, ['chain', '--dev', '--listen', '127.0.0.1:0', '--datadir', datadir, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('phr chain did not start: ' + err)); }, 20000);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
        resolve({
          url: m[1], child, dir: datadir,
          stop: async () => { child.kill('SIGTERM'); return exited; },
          kill: async () => { child.kill('SIGKILL'); return exited; },
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`phr chain exited (${code}): ${err}`)); });
  });
}

export function rmrf(dir) {
  if (dir && dir.startsWith(os.tmpdir())) fs.rmSync(dir, { recursive: true, force: true });
}

export function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

// Compute-heavy contract for bench/chain.sh (eth_call speed): a keccak loop,
// a fixed-point Mandelbrot "ray tracer" and a sieve over memory.
export const BENCH_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
contract Bench {
    uint256 public counter;
    event Bumped(address indexed by, uint256 value);
    function bump(uint256 x) external { counter += x; emit Bumped(msg.sender, counter); }
    function hashLoop(uint256 n) external pure returns (bytes32 h) {
        for (uint256 i = 0; i < n; i++) h = keccak256(abi.encode(h, i));
    }
    // Mandelbrot set over a w*h grid, 16.16 fixed point: number of points inside.
    function mandel(uint256 w, uint256 hgt, uint256 iters) external pure returns (uint256 inside) {
        unchecked {
            for (uint256 py = 0; py < hgt; py++) {
                int256 y0 = int256(py * 131072 / hgt) - 65536;
                for (uint256 px = 0; px < w; px++) {
                    int256 x0 = int256(px * 196608 / w) - 131072;
                    int256 x = 0; int256 y = 0; uint256 i = 0;
                    while (i < iters) {
                        int256 xx = (x * x) >> 16; int256 yy = (y * y) >> 16;
                        if (xx + yy > 262144) break;
                        y = ((2 * x * y) >> 16) + y0;
                        x = xx - yy + x0;
                        i++;
                    }
                    if (i == iters) inside++;
                }
            }
        }
    }
    function sieve(uint256 n) external pure returns (uint256 count) {
        bool[] memory composite = new bool[](n + 1);
        for (uint256 i = 2; i <= n; i++) {
            if (composite[i]) continue;
            count++;
            for (uint256 j = i * i; j <= n; j += i) composite[j] = true;
        }
    }
}
`;

export function compileBench() {
  const input = {
    language: 'Solidity',
    sources: { 'Bench.sol': { content: BENCH_SOURCE } },
    settings: { evmVersion: 'cancun', optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errs = (out.errors || []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['Bench.sol'].Bench;
  return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
}
