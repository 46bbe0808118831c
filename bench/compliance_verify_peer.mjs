// Peer side of bench/compliance.sh: the audit-trail proof with ethers v6 — every
// AuditLogged log of one patient from eth_getLogs, folded with keccak256 exactly as
// AuditTrail does, compared with headOf/countOf. Prints the median of RUNS in ms.
//   node bench/compliance_verify_peer.mjs RPC_URL AUDIT_TRAIL_ADDRESS PATIENT RUNS
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ethers } = createRequire(path.join(root, 'package.json'))('ethers');
const [rpc, auditAddr, patient, runsArg] = process.argv.slice(2);
const abi = [
  'event AuditLogged(address indexed patient, uint256 indexed recordId, address indexed accessor, uint8 action, uint8 purpose, uint64 time, uint64 seq, bytes32 head)',
  'function headOf(address) view returns (bytes32)',
  'function countOf(address) view returns (uint64)',
];
const provider = new ethers.JsonRpcProvider(rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
const trail = new ethers.Contract(auditAddr, abi, provider);

async function verify() {
  const logs = await provider.getLogs({
    address: auditAddr, fromBlock: 0, toBlock: 'latest',
    topics: [trail.interface.getEvent('AuditLogged').topicHash, ethers.zeroPadValue(patient, 32)],
  });
  let head = ethers.ZeroHash;
  logs.forEach((l, i) => {
    const e = trail.interface.parseLog(l).args;
    head = ethers.solidityPackedKeccak256(
      ['bytes32', 'uint64', 'address', 'uint256', 'uint64', 'uint8', 'uint8'],
      [head, e.seq, e.accessor, e.recordId, e.time, e.action, e.purpose]);
    if (BigInt(e.seq) !== BigInt(i) || head !== e.head) throw new Error(`entry ${i} does not fold`);
  });
  const [h, n] = await Promise.all([trail.headOf(patient), trail.countOf(patient)]);
  if (h !== head || BigInt(n) !== BigInt(logs.length)) throw new Error('head/count mismatch');
  return logs.length;
}

const times = [];
let entries = 0;
for (let r = 0; r < Number(runsArg || 5); r++) {
  const t0 = process.hrtime.bigint();
  entries = await verify();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(`${times[times.length >> 1].toFixed(1)} ${entries}`);
