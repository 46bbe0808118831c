// Interop: keystores written by `phr account` open in ethers v6, and keystores
// written by ethers import into phr. Drives the real phr binary ($PHR_BIN)
// with a temporary data directory.
import { Wallet, encryptKeystoreJson, decryptKeystoreJson, getAddress } from "ethers";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

const PHR = process.env.PHR_BIN;
assert.ok(PHR, "PHR_BIN must name the phr executable");
const dir = mkdtempSync(join(tmpdir(), "phr-interop-ks-"));
const password = "correct horse battery staple ✓";

function phr(args, { datadir, pw = password, expectFail = false } = {}) {
  const r = spawnSync(PHR, args, {
    env: { ...process.env, PHR_DATADIR: datadir, PHR_PASSWORD: pw },
    encoding: "utf8",
  });
  if (expectFail) {
    assert.notEqual(r.status, 0, `phr ${args.join(" ")} should fail`);
  } else {
    assert.equal(r.status, 0, `phr ${args.join(" ")} failed: ${r.stderr}`);
  }
  return r.stdout.trim();
}

try {
  // 1. phr writes, ethers reads
  const dd1 = join(dir, "dd1");
  const addr = phr(["account", "new", "--light"], { datadir: dd1 });
  assert.equal(addr, getAddress(addr), "phr prints EIP-55 addresses");
  assert.deepEqual(phr(["account", "list"], { datadir: dd1 }).split("\n"), [addr]);
  const ksdir = join(dd1, "keystore");
  for (const f of readdirSync(ksdir)) {
    assert.match(f, /^UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d+Z--[0-9a-f]{40}$/);
    assert.equal(statSync(join(ksdir, f)).mode & 0o777, 0o600);
  }
  const exported = phr(["account", "export", addr], { datadir: dd1 });
  const w1 = await Wallet.fromEncryptedJson(exported, password);
  assert.equal(w1.address, addr, "ethers decrypts phr's keystore to the same address");
  const acc = await decryptKeystoreJson(exported, password);
  assert.equal(acc.address, addr);
  await assert.rejects(Wallet.fromEncryptedJson(exported, "wrong password"));
  // lower-case address on the command line works too
  assert.equal(phr(["account", "export", addr.toLowerCase()], { datadir: dd1 }), exported);

  // 2. ethers writes (light scrypt), phr imports
  const w2 = Wallet.createRandom();
  const json2 = await encryptKeystoreJson(
    { address: w2.address, privateKey: w2.privateKey },
    password,
    { scrypt: { N: 4096 } },
  );
  const f2 = join(dir, "ethers.json");
  writeFileSync(f2, json2);
  const dd2 = join(dir, "dd2");
  phr(["account", "import", f2], { datadir: dd2, pw: "not the password", expectFail: true });
  assert.equal(phr(["account", "import", f2], { datadir: dd2 }), w2.address);
  assert.deepEqual(phr(["account", "list"], { datadir: dd2 }).split("\n"), [w2.address]);
  // importing the same account twice is refused
  phr(["account", "import", f2], { datadir: dd2, expectFail: true });
  // and what phr stored still opens in ethers, to the same key
  const back = await Wallet.fromEncryptedJson(phr(["account", "export", w2.address], { datadir: dd2 }), password);
  assert.equal(back.privateKey, w2.privateKey);

  // 3. ethers' default parameters (scrypt N=131072, r=8, p=1), as wallets write them
  const w3 = Wallet.createRandom();
  const json3 = await w3.encrypt(password);
  const f3 = join(dir, "ethers-default.json");
  writeFileSync(f3, json3);
  assert.equal(phr(["account", "import", f3], { datadir: dd2 }), w3.address);

  // 4. phr export -> phr import into another datadir
  const f1 = join(dir, "phr.json");
  writeFileSync(f1, exported);
  assert.equal(phr(["account", "import", f1], { datadir: join(dir, "dd3") }), addr);

  console.log("crypto_keystore interop: ok");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
