// Interop: transactions (legacy EIP-155, pre-EIP-155, EIP-2930, EIP-1559),
// EIP-712 typed data and EIP-191 personal messages signed by phr verify in
// ethers v6, and ethers-signed ones verify in phr. Drives the eth module
// through tests/eth/eth_tool ($PHR_ETH_TOOL). viem 2 cross-checks what phr signs
// as a second independent implementation.
import { recoverTransactionAddress, recoverMessageAddress, recoverTypedDataAddress } from "viem";
import { Wallet, Transaction, verifyTypedData, verifyMessage, AbiCoder, hexlify, randomBytes } from "ethers";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

const TOOL = process.env.PHR_ETH_TOOL;
assert.ok(TOOL, "PHR_ETH_TOOL must name tests/eth/eth_tool");
const tool = (...args) => execFileSync(TOOL, args, { encoding: "utf8" }).trim();
const dir = mkdtempSync(join(tmpdir(), "phr-interop-eth-"));
let checks = 0;

try {
  const wallet = Wallet.createRandom();
  const key = wallet.privateKey;
  const other = Wallet.createRandom().address;

  // ---- transactions
  const txs = [
    { type: 0, chainId: 1337, nonce: 0, gasPrice: 20000000000n, gasLimit: 21000, to: other, value: 10n ** 18n },
    { type: 0, chainId: 1, nonce: 7, gasPrice: 1n, gasLimit: 60000, to: null, data: "0x6001600055" },
    { type: 1, chainId: 31337, nonce: 3, gasPrice: 5n, gasLimit: 100000, to: other, value: 1n,
      data: "0xa9059cbb", accessList: [{ address: other, storageKeys: ["0x" + "00".repeat(31) + "01"] }] },
    { type: 2, chainId: 1337, nonce: 255, maxFeePerGas: 3000000000n, maxPriorityFeePerGas: 1000000000n,
      gasLimit: 50000, to: other, value: 123456789n, data: hexlify(randomBytes(100)),
      accessList: [{ address: other, storageKeys: [] }] },
    { type: 2, chainId: 1, nonce: 0, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n, gasLimit: 100000, to: null,
      data: "0x00" },
  ];
  for (const t of txs) {
    // ethers signs, phr recovers
    const raw = await wallet.signTransaction(t);
    const parsed = Transaction.from(raw);
    assert.equal(tool("tx-sender", raw), wallet.address, `phr sender of ethers type ${t.type}`);
    assert.equal(tool("tx-hash", raw), parsed.hash, `phr hash of ethers type ${t.type}`);
    // phr signs, ethers recovers
    const json = JSON.stringify({
      ...t,
      gasPrice: t.gasPrice?.toString(), maxFeePerGas: t.maxFeePerGas?.toString(),
      maxPriorityFeePerGas: t.maxPriorityFeePerGas?.toString(), value: t.value?.toString(),
    });
    const mine = tool("tx-sign", key, json);
    const back = Transaction.from(mine);
    assert.equal(back.from, wallet.address, `ethers sender of phr type ${t.type}`);
    assert.equal(back.type, t.type);
    assert.equal((await recoverTransactionAddress({ serializedTransaction: mine })).toLowerCase(),
      wallet.address.toLowerCase(), `viem sender of phr type ${t.type}`);
    // both use RFC 6979 nonces, so the signed bytes are identical
    assert.equal(mine, raw, `identical raw type ${t.type}`);
    checks += 4;
  }
  // a pre-EIP-155 legacy transaction signed by phr (no chainId): v is 27/28
  {
    const mine = tool("tx-sign", key, JSON.stringify({ nonce: 1, gasPrice: "1", gas: 21000, to: other }));
    const back = Transaction.from(mine);
    assert.equal(back.from, wallet.address);
    assert.ok(back.signature.v === 27 || back.signature.v === 28);
    assert.equal(back.chainId, 0n);
    checks++;
  }

  // ---- EIP-712
  const mail = JSON.parse(readFileSync("tests/vectors/eip712/mail.json", "utf8")).typedData;
  const cases = JSON.parse(readFileSync("tests/vectors/eip712/ethers_cases.json", "utf8")).map((c) => c.typedData);
  for (const td of [mail, ...cases]) {
    const types = { ...td.types };
    delete types.EIP712Domain;
    const file = join(dir, "td.json");
    writeFileSync(file, JSON.stringify(td));
    const sig = await wallet.signTypedData(td.domain, types, td.message);
    assert.equal(tool("typed-recover", file, sig), wallet.address, "phr recovers ethers typed signature");
    const mine = tool("typed-sign", key, file);
    assert.equal(verifyTypedData(td.domain, types, td.message, mine), wallet.address, "ethers verifies phr typed signature");
    assert.equal(mine, sig);
    const primaryType = td.primaryType;
    assert.equal(await recoverTypedDataAddress({ domain: td.domain, types, primaryType, message: td.message, signature: mine }),
      wallet.address, "viem verifies phr typed signature");
    checks += 4;
  }

  // ---- EIP-191
  for (const msg of ["hello", "", "phr ✓ consent to share Observation/123", "x".repeat(1000)]) {
    const sig = await wallet.signMessage(msg);
    assert.equal(tool("msg-recover", msg, sig), wallet.address, "phr recovers ethers personal_sign");
    const mine = tool("msg-sign", key, msg);
    assert.equal(verifyMessage(msg, mine), wallet.address, "ethers verifies phr personal_sign");
    assert.equal(await recoverMessageAddress({ message: msg, signature: mine }), wallet.address, "viem verifies phr personal_sign");
    assert.equal(mine, sig);
    checks += 3;
  }

  // ---- ABI: random values of a nested type, both directions
  const coder = AbiCoder.defaultAbiCoder();
  for (let i = 0; i < 5; i++) {
    const vals = [BigInt(hexlify(randomBytes(32))).toString(), -BigInt(i * 1000 + 1), other,
      [hexlify(randomBytes(i * 7)), "s" + i], [true, false]];
    const type = "(uint256,int64,address,(bytes,string),bool[2])";
    const enc = coder.encode(["uint256", "int64", "address", "(bytes,string)", "bool[2]"], vals);
    const json = JSON.stringify([vals[0], vals[1].toString(), vals[2], vals[3], vals[4]]);
    assert.equal(tool("abi-encode", type, json), enc, "phr ABI encoding equals ethers");
    const dec = JSON.parse(tool("abi-decode", type, enc));
    assert.equal(dec[0], vals[0]);
    assert.equal(dec[1], vals[1].toString());
    assert.equal(dec[2], vals[2]);
    assert.deepEqual(dec[3], vals[3]);
    checks += 2;
  }
  console.log(`eth interop: ${checks} checks passed`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
