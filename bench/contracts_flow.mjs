#!/usr/bin/env node
// Benchmark: the provider-to-patient flow (register, grant, mint, audit) on anvil and, when
// the phr binary has a `chain` command, on `phr chain --dev`, in one run. Reports gas per
// step (receipt gasUsed, intrinsic cost included) and throughput two ways:
//   sequential: each transaction waits for its receipt before the next is sent (a client's view)
//   pipelined:  pre-signed transactions sent back to back, then all receipts checked
// Usage: node bench/contracts_flow.mjs [--flows N] [--phr PATH]
import { ethers } from 'ethers';
import { startChain, connect, deployAll, phrBinary, scopeAll, AL, RT, ACT, PUR } from '../tests/interop/contracts_lib.mjs';

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const FLOWS = Number(opt('--flows', '40'));
const GAS_LIMIT = 600000n;

async function receipt(provider, hash) {
  for (;;) {
    const r = await provider.getTransactionReceipt(hash);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 2));
  }
}

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
  for (const h of hashes) await receipt(provider, h);
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

async function run(kind, phrBin) {
  const chain = await startChain(kind, phrBin);
  try {
    const s = await setup(chain.url);
    const { provider, c, doctor, deployer } = s;
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
    let nextToken = (await c.nft.totalMinted()) + 1n;
    const expiry = BigInt(block.timestamp) + 30n * 86400n;
    const gas = { register: [], grant: [], mint: [], audit: [] };

    // sequential
    const seqPatients = await patients(provider, deployer, FLOWS);
    let t0 = performance.now();
    for (const p of seqPatients) {
      for (const t of flowTxs(c, p, doctor, nextToken, expiry)) {
        const hash = await provider.send('eth_sendRawTransaction', [await sign(t)]);
        const r = await receipt(provider, hash);
        if (r.status !== 1) throw new Error(`${kind}: ${t.step} failed`);
        gas[t.step].push(r.gasUsed);
      }
      nextToken++;
    }
    const seqMs = performance.now() - t0;

    // pipelined (signing done before the clock starts)
    const pipePatients = await patients(provider, deployer, FLOWS);
    const raws = [];
    for (const p of pipePatients) {
      for (const t of flowTxs(c, p, doctor, nextToken, expiry)) raws.push(await sign(t));
      nextToken++;
    }
    t0 = performance.now();
    const hashes = [];
    for (const raw of raws) hashes.push(await provider.send('eth_sendRawTransaction', [raw]));
    let ok = 0;
    for (const h of hashes) ok += (await receipt(provider, h)).status === 1 ? 1 : 0;
    const pipeMs = performance.now() - t0;
    if (ok !== raws.length) throw new Error(`${kind}: ${raws.length - ok} pipelined transactions failed`);

    const med = (a) => [...a].sort((x, y) => (x < y ? -1 : 1))[a.length >> 1];
    const perStep = Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, med(v)]));
    const flowGas = Object.values(perStep).reduce((a, b) => a + b, 0n);
    const txs = FLOWS * 4;
    return {
      kind,
      perStep,
      flowGas,
      deployGas: Object.values(s.deployGas).reduce((a, b) => a + b, 0n),
      seqTps: txs / (seqMs / 1000),
      seqFlows: FLOWS / (seqMs / 1000),
      pipeTps: txs / (pipeMs / 1000),
      pipeFlows: FLOWS / (pipeMs / 1000),
    };
  } finally {
    await chain.stop();
  }
}

function show(r) {
  console.log(`\n[${r.kind}] ${FLOWS} flows x 4 transactions`);
  console.log(`  gas per step (median receipt gasUsed): ${Object.entries(r.perStep).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  gas per flow: ${r.flowGas}   deployment of the 7 contracts: ${r.deployGas}`);
  console.log(`  sequential: ${r.seqTps.toFixed(1)} tx/s, ${r.seqFlows.toFixed(1)} flows/s`);
  console.log(`  pipelined:  ${r.pipeTps.toFixed(1)} tx/s, ${r.pipeFlows.toFixed(1)} flows/s`);
}

const results = [await run('anvil')];
show(results[0]);
const phr = opt('--phr', null);
const { bin, why } = phr ? { bin: phr, why: '' } : phrBinary();
if (bin) {
  const r = await run('phr', bin);
  show(r);
  const a = results[0];
  console.log(`\nphr / anvil: gas per flow ${(Number(r.flowGas) / Number(a.flowGas)).toFixed(3)}, sequential tx/s ${(r.seqTps / a.seqTps).toFixed(2)}, pipelined tx/s ${(r.pipeTps / a.pipeTps).toFixed(2)}`);
} else {
  console.log(`\nphr chain not measured: ${why}`);
}
