// Interop: `phr account sign` (keystore key, imported from an ethers keystore)
// makes personal_sign and EIP-712 signatures and raw transactions that ethers
// v6 verifies; `phr eth recover|tx-decode|abi-encode|abi-decode` agree with
// ethers on ethers-made data. Drives the real phr binary ($PHR_BIN).
import { Wallet, Transaction, AbiCoder, verifyMessage, verifyTypedData, encryptKeystoreJson, id } from "ethers";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

const PHR = process.env.PHR_BIN;
assert.ok(PHR, "PHR_BIN must name the phr executable");
const dir = mkdtempSync(join(tmpdir(), "phr-interop-ethcli-"));
const password = "sign me ✓";
const datadir = join(dir, "dd");

function phr(args, { expectFail = false } = {}) {
  const r = spawnSync(PHR, args, { env: { ...process.env, PHR_DATADIR: datadir, PHR_PASSWORD: password }, encoding: "utf8" });
  if (expectFail) assert.notEqual(r.status, 0, `phr ${args.join(" ")} should fail`);
  else assert.equal(r.status, 0, `phr ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

try {
  const w = Wallet.createRandom();
  const ks = await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, password,
    { scrypt: { N: 1 << 12, r: 8, p: 1 } });
  const ksFile = join(dir, "ks.json");
  writeFileSync(ksFile, ks);
  assert.equal(phr(["account", "import", ksFile]), w.address);

  // personal_sign
  const msg = "I consent to share my lab results ✓";
  const sig = phr(["account", "sign", "--from", w.address, "--message", msg]);
  assert.equal(verifyMessage(msg, sig), w.address);
  assert.equal(sig, await w.signMessage(msg));
  const msgFile = join(dir, "msg.bin");
  writeFileSync(msgFile, Buffer.from([0, 1, 2, 255]));
  const sig2 = phr(["account", "sign", "--from", w.address, "--message-file", msgFile]);
  assert.equal(verifyMessage(new Uint8Array([0, 1, 2, 255]), sig2), w.address);
  assert.equal(phr(["eth", "recover", "--message", msg, "--signature", sig]), w.address);

  // EIP-712
  const td = JSON.parse(readFileSync("tests/vectors/eip712/ethers_cases.json", "utf8"))[0].typedData;
  const tdFile = join(dir, "td.json");
  writeFileSync(tdFile, JSON.stringify(td));
  const tsig = phr(["account", "sign", "--from", w.address, "--typed-data", tdFile]);
  assert.equal(verifyTypedData(td.domain, td.types, td.message, tsig), w.address);
  const esig = await w.signTypedData(td.domain, td.types, td.message);
  assert.equal(phr(["eth", "recover", "--typed-data", tdFile, "--signature", esig]), w.address);

  // transactions
  for (const tx of [
    { type: 2, chainId: 1337, nonce: 4, maxFeePerGas: "0x77359400", maxPriorityFeePerGas: "1000000000", gas: "0x5208", to: Wallet.createRandom().address, value: "1000" },
    { type: 0, chainId: 1337, nonce: 0, gasPrice: 1, gas: 100000, data: "0x6000" },
    { type: 1, chainId: 1, nonce: 1, gasPrice: 2, gas: 30000, to: w.address, accessList: [{ address: w.address, storageKeys: [] }] },
  ]) {
    const txFile = join(dir, "tx.json");
    writeFileSync(txFile, JSON.stringify({ ...tx, from: w.address }));
    const raw = phr(["account", "sign", "--from", w.address, "--tx", txFile]);
    const parsed = Transaction.from(raw);
    assert.equal(parsed.from, w.address);
    assert.equal(parsed.type, tx.type);
    const dec = JSON.parse(phr(["eth", "tx-decode", raw]));
    assert.equal(dec.from, w.address);
    assert.equal(dec.hash, parsed.hash);
  }
  // a wrong "from" and a wrong password are refused
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ from: Wallet.createRandom().address, nonce: 0 }));
  phr(["account", "sign", "--from", w.address, "--tx", join(dir, "bad.json")], { expectFail: true });
  {
    const r = spawnSync(PHR, ["account", "sign", "--from", w.address, "--message", "x"],
      { env: { ...process.env, PHR_DATADIR: datadir, PHR_PASSWORD: "wrong" }, encoding: "utf8" });
    assert.notEqual(r.status, 0);
  }

  // ABI
  const coder = AbiCoder.defaultAbiCoder();
  const enc = phr(["eth", "abi-encode", "grant(address,string[],uint64)", JSON.stringify([w.address, ["a", "bc"], 7])]);
  assert.equal(enc, id("grant(address,string[],uint64)").slice(0, 10) +
    coder.encode(["address", "string[]", "uint64"], [w.address, ["a", "bc"], 7]).slice(2));
  const data = coder.encode(["(int8,bytes)[]"], [[[-5, "0x00ff"]]]);
  assert.deepEqual(JSON.parse(phr(["eth", "abi-decode", "((int8,bytes)[])", data])), [[["-5", "0x00ff"]]]);
  console.log("eth cli interop: ok");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
