// Peer side of bench/eth.sh: the same operations as bench/bench_eth.c with
// JavaScript BigInt (u256) and ethers v6 (transactions, ABI, EIP-712).
import { Transaction, Wallet, AbiCoder, TypedDataEncoder } from "ethers";
import { readFileSync } from "node:fs";

let sink = 0n;
function bench(name, iters, fn) {
  let best = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn(i);
    const r = iters / (Number(process.hrtime.bigint() - t0) / 1e9);
    if (r > best) best = r;
  }
  console.log(`${name} ${best.toFixed(0)}`);
}
const MASK = (1n << 256n) - 1n;
let a = 0xd1a5c0ffee1234567890abcdef0123456789abcdef0123456789abcdef012345n;
const b = 0x1f2e3d4c5b6a79881726354453627180n;
const m = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
bench("u256_div_256by128", 2000000, () => { sink ^= a / b; a += 1n; });
bench("u256_mulmod", 1000000, () => { sink ^= (a * b) % m; a += 1n; });
bench("u256_exp", 100000, () => {
  let r = 1n, x = a, e = m;
  while (e) { if (e & 1n) r = (r * x) & MASK; x = (x * x) & MASK; e >>= 1n; }
  sink ^= r; a += 1n;
});

const w = new Wallet("0x" + "46".repeat(32));
const txData = { type: 2, chainId: 1337, nonce: 42, maxFeePerGas: 3000000000n, maxPriorityFeePerGas: 1000000000n,
  gasLimit: 100000, to: "0x" + "35".repeat(20), value: 1000n, data: "0x" + "ab".repeat(100) };
bench("tx_sign_encode", 5000, () => {
  const tx = Transaction.from(txData);
  tx.signature = w.signingKey.sign(tx.unsignedHash);
  sink ^= BigInt(tx.serialized.length);
});
const t0 = Transaction.from(txData);
t0.signature = w.signingKey.sign(t0.unsignedHash);
const raw = t0.serialized;
bench("tx_decode_recover", 5000, () => { sink ^= BigInt(Transaction.from(raw).from); });

const coder = AbiCoder.defaultAbiCoder();
const types = ["uint256", "address", "string", "bytes32[]"];
const vals = ["123456789012345678901234567890", "0x" + "35".repeat(20), "Observation/blood-pressure",
  ["01", "02", "03", "04"].map((x) => "0x" + x.repeat(32))];
const enc = coder.encode(types, vals);
bench("abi_encode", 200000, () => { sink ^= BigInt(coder.encode(types, vals).length); });
bench("abi_decode", 200000, () => { sink ^= BigInt(coder.decode(types, enc).length); });

const td = JSON.parse(readFileSync("tests/vectors/eip712/mail.json", "utf8")).typedData;
const tt = { ...td.types };
delete tt.EIP712Domain;
bench("eip712_hash", 50000, () => { sink ^= BigInt(TypedDataEncoder.hash(td.domain, tt, td.message)); });
if (sink === 42n) console.log("");
