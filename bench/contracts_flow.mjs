#!/usr/bin/env node
// Benchmark: the provider-to-patient flow (register, grant, mint, audit) on anvil and, when
// the phr binary has a `chain` command, on `phr chain --dev`, in one run. Reports gas per
// step (receipt gasUsed, intrinsic cost included) and throughput two ways:
//   sequential: each transaction waits for its receipt before the next is sent (a client's view)
//   pipelined:  pre-signed transactions sent back to back, then all receipts checked
// Usage: node bench/contracts_flow.mjs [--flows N per round] [--rounds R] [--phr PATH]
import { ethers } from 'ethers';
import { startChain, connect, deployAll, phrBinary, waitReceipt, scopeAll, AL, RT, ACT, PUR } from '../tests/interop/contracts_lib.mjs';

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const FLOWS = Number(opt('--flows', '10'));
const ROUNDS = Number(opt('--rounds', '5'));
const GAS_LIMIT = 600000n;

async function setup(url) {
  const { provider, wallets } = connect(url);
  const [deployer, g2, authority, doctor] = wallets;
  const { c, gas: deployGas } = await deployAll(deployer, [deployer.address, g2.address, ethers.getAddress('0x' + '66'.repeat(20))]);
  const data = c.providers.interface.encodeFunctionData('setAuthority', [authority.address, true]);
  await (await c.gov.propose(await c.providers.getAddress(), data)).wait();
  await (await c.gov.connect(g2).confirm(0)).wait();
  await (await c.gov.execute(0)).wait();
  const now = BigInt((await provider.getBlock('latest')).timestamp);
  await (await c.providers.connect(authority).verifyProvider(doctor.address, 1, ethers.id('lic'), now + 365n * 86400n)).wait();
  return { provider, wallets, c, deployGas, doctor, deployer };
}

/** Fresh funded patient wallets (funding is not measured). */
async function patients(provider, funder, n) {
  const out = [];
  let nonce = await provider.getTransactionCount(funder.address, 'pending');
  const hashes = [];
  for (let i = 0; i < n; i++) {
    const w = ethers.Wallet.createRandom().connect(provider);
    out.push(w);
    const t = await funder.sendTransaction({ to: w.address, value: ethers.parseEther('1'), nonce: nonce++ });
    hashes.push(t.hash);
  }
  for (const h of hashes) await waitReceipt(provider, h);
  return out;
}

function flowTxs(c, patient, doctor, tokenId, expiry) {
  const KEY = ethers.hexlify(ethers.randomBytes(32));
  return [
    { step: 'register', from: patient, to: c.reg, data: c.reg.interface.encodeFunctionData('register', [KEY]) },
    { step: 'grant', from: patient, to: c.reg, data: c.reg.interface.encodeFunctionData('grantAccess', [patient.address, doctor.address, AL.Write, scopeAll(), expiry]) },
    { step: 'mint', from: doctor, to: c.nft, data: c.nft.interface.encodeFunctionData('mintRecord', [patient.address, ethers.keccak256(KEY), 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', RT.Vaccination, 0]) },
    { step: 'audit', from: doctor, to: c.audit, data: c.audit.interface.encodeFunctionData('logAccess', [patient.address, tokenId, ACT.View, PUR.Treatment]) },
  ];
}

/** Start a chain, deploy, and return a context that runs flows on it. */
async function prepare(kind, phrBin) {
  const chain = await startChain(kind, phrBin);
  const s = await setup(chain.url);
  const { provider, c, doctor } = s;
  const net = await provider.getNetwork();
  const block = await provider.getBlock('latest');
  const tip = 1n;
  const maxFee = (block.baseFeePerGas ?? 1000000000n) * 3n + tip;
  const addrs = { reg: await c.reg.getAddress(), nft: await c.nft.getAddress(), audit: await c.audit.getAddress() };
  const toAddr = (contract) => (contract === c.reg ? addrs.reg : contract === c.nft ? addrs.nft : addrs.audit);
  const nonces = new Map();
  const nextNonce = async (w) => {
    if (!nonces.has(w.address)) nonces.set(w.address, await provider.getTransactionCount(w.address, 'pending'));
    const n = nonces.get(w.address);
    nonces.set(w.address, n + 1);
    return n;
  };
  const sign = async (t) =>
    t.from.signTransaction({ type: 2, chainId: net.chainId, nonce: await nextNonce(t.from), to: toAddr(t.to), data: t.data, gasLimit: GAS_LIMIT, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip });
  const ctx = {
    kind, chain, s, gas: { register: [], grant: [], mint: [], audit: [] }, seq: [], pipe: [],
    nextToken: (await c.nft.totalMinted()) + 1n,
    expiry: BigInt(block.timestamp) + 3650n * 86400n,
  };
  /** n flows, each transaction waiting for its receipt; returns tx/s. */
  ctx.sequential = async (n) => {
    const ps = await patients(provider, s.deployer, n);
    const t0 = performance.now();
    for (const p of ps) {
      for (const t of flowTxs(c, p, doctor, ctx.nextToken, ctx.expiry)) {
        const hash = await provider.send('eth_sendRawTransaction', [await sign(t)]);
        const r = await waitReceipt(provider, hash);
        if (r.status !== 1) throw new Error(`${kind}: ${t.step} failed`);
        ctx.gas[t.step].push(r.gasUsed);
      }
      ctx.nextToken++;
    }
    const tps = (n * 4) / ((performance.now() - t0) / 1000);
    ctx.seq.push(tps);
    return tps;
  };
  /** n flows pre-signed, sent back to back, then all receipts checked; returns tx/s. */
  ctx.pipelined = async (n) => {
    const ps = await patients(provider, s.deployer, n);
    const raws = [];
    for (const p of ps) {
      for (const t of flowTxs(c, p, doctor, ctx.nextToken, ctx.expiry)) raws.push(await sign(t));
      ctx.nextToken++;
    }
    const t0 = performance.now();
    const hashes = [];
    for (const raw of raws) hashes.push(await provider.send('eth_sendRawTransaction', [raw]));
    let ok = 0;
    for (const h of hashes) ok += (await waitReceipt(provider, h)).status === 1 ? 1 : 0;
    const tps = raws.length / ((performance.now() - t0) / 1000);
    if (ok !== raws.length) throw new Error(`${kind}: ${raws.length - ok} pipelined transactions failed`);
    ctx.pipe.push(tps);
    return tps;
  };
  ctx.summary = () => {
    const perStep = Object.fromEntries(Object.entries(ctx.gas).map(([k, v]) => [k, median(v)]));
    return {
      kind,
      perStep,
      flowGas: Object.values(perStep).reduce((a2, b2) => a2 + b2, 0n),
      deployGas: Object.values(s.deployGas).reduce((a2, b2) => a2 + b2, 0n),
      seqTps: median(ctx.seq),
      pipeTps: median(ctx.pipe),
      seqAll: ctx.seq,
      pipeAll: ctx.pipe,
    };
  };
  return ctx;
}

const median = (a) => [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))[a.length >> 1];

function show(r) {
  const f = (a) => a.map((x) => x.toFixed(0)).join(' ');
  console.log(`\n[${r.kind}] ${ROUNDS} rounds of ${FLOWS} flows x 4 transactions, each way`);
  console.log(`  gas per step (median receipt gasUsed): ${Object.entries(r.perStep).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  gas per flow: ${r.flowGas}   deployment of the 7 contracts: ${r.deployGas}`);
  console.log(`  sequential: median ${r.seqTps.toFixed(1)} tx/s (${(r.seqTps / 4).toFixed(1)} flows/s); rounds: ${f(r.seqAll)}`);
  console.log(`  pipelined:  median ${r.pipeTps.toFixed(1)} tx/s (${(r.pipeTps / 4).toFixed(1)} flows/s); rounds: ${f(r.pipeAll)}`);
}

// Both chains run side by side; rounds alternate between them so that load from other
// processes on the machine falls on both alike.
const ctxs = [await prepare('anvil')];
const phr = opt('--phr', null);
const { bin, why } = phr ? { bin: phr, why: '' } : phrBinary();
if (bin) ctxs.push(await prepare('phr', bin));
try {
  for (let i = 0; i < ROUNDS; i++) {
    for (const c of ctxs) await c.sequential(FLOWS);
    for (const c of [...ctxs].reverse()) await c.pipelined(FLOWS);
  }
  const rs = ctxs.map((c) => c.summary());
  rs.forEach(show);
  if (rs.length === 2) {
    const [a, r] = rs;
    console.log(`\nphr / anvil: gas per flow ${(Number(r.flowGas) / Number(a.flowGas)).toFixed(3)}, sequential tx/s ${(r.seqTps / a.seqTps).toFixed(2)}, pipelined tx/s ${(r.pipeTps / a.pipeTps).toFixed(2)}`);
  } else {
    console.log(`\nphr chain not measured: ${why}`);
  }
} finally {
  for (const c of ctxs) await c.chain.stop();
}
