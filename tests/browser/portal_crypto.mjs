// The portal's crypto modules (web/src) run in Node against outside vectors
// and third-party implementations: ethereum/tests keystores (scrypt and
// pbkdf2), keccak-256 and EIP-55 known answers, ethers for EIP-191 messages,
// EIP-155 transactions and ABI calldata, ipfs-unixfs-importer for CIDs; and
// the record stream's tamper and truncation checks.
import fs from 'node:fs';
import path from 'node:path';
import { Interface, Transaction, Wallet, encryptKeystoreJson } from 'ethers';
import { importer } from 'ipfs-unixfs-importer';
import { MemoryBlockstore } from 'blockstore-core/memory';
import { check, failures, root } from './portal_lib.mjs';
import { keystoreDecrypt, keystoreEncrypt } from '../../web/src/keys.js';
import { checksum, encodeCall, keccak, personalSign, signLegacyTx, decode } from '../../web/src/eth.js';
import { cidOf, decryptRecord, encryptRecord } from '../../web/src/records.js';
import { fromHex, toHex, utf8 } from '../../web/src/bytes.js';

const t0 = Date.now();

async function main() {
  // scrypt: RFC 7914 section 12 vectors, and against @noble/hashes for keystore parameters
  const { scrypt } = await import('../../web/src/scrypt.js');
  const { scrypt: nobleScrypt } = await import('@noble/hashes/scrypt');
  check(toHex(await scrypt(utf8(''), utf8(''), { N: 16, r: 1, p: 1, dkLen: 64 }), false) ===
    '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906', 'scrypt RFC 7914 vector 1');
  check(toHex(await scrypt(utf8('password'), utf8('NaCl'), { N: 1024, r: 8, p: 16, dkLen: 64 }), false) ===
    'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640', 'scrypt RFC 7914 vector 2');
  check(toHex(await scrypt(utf8('pw'), utf8('salt'), { N: 4096, r: 8, p: 6, dkLen: 32 })) === toHex(nobleScrypt(utf8('pw'), utf8('salt'), { N: 4096, r: 8, p: 6, dkLen: 32 })), 'scrypt equals @noble/hashes (n=4096, r=8, p=6)');

  // keystores: ethereum/tests KeyStoreTests/basic_tests.json (MIT, tests/vectors/keystore)
  const ks = JSON.parse(fs.readFileSync(path.join(root, 'tests/vectors/keystore/basic_tests.json'), 'utf8'));
  for (const [name, v] of Object.entries(ks)) {
    const sk = await keystoreDecrypt(v.json, v.password);
    check(toHex(sk, false) === v.priv, `keystore ${name} (${v.json.crypto.kdf}) decrypts to its key`);
  }
  let refused = false;
  try { await keystoreDecrypt(ks.mycrypto.json, 'not the password'); } catch (e) { refused = /wrong password/.test(e.message); }
  check(refused, 'a wrong password is refused (MAC)');
  // a keystore made by the page opens with ethers, and the other way round
  const w = Wallet.createRandom();
  const mine = await keystoreEncrypt(fromHex(w.privateKey), 'pw-1', { n: 1024, r: 8, p: 1 });
  check((await Wallet.fromEncryptedJson(JSON.stringify(mine), 'pw-1')).address === w.address, 'the page\'s keystore opens with ethers');
  const theirs = await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, 'pw-2', { scrypt: { N: 1024 } });
  check(toHex(await keystoreDecrypt(theirs, 'pw-2')) === w.privateKey, 'an ethers keystore opens in the page');

  // keccak-256 and EIP-55 known answers
  check(toHex(keccak(new Uint8Array(0))) === '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470', 'keccak256("")');
  check(toHex(keccak(utf8('abc'))) === '0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45', 'keccak256("abc")');
  for (const a of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb'])
    check(checksum(a.toLowerCase()) === a, 'EIP-55 ' + a);

  // EIP-191 and EIP-155 against ethers (RFC 6979: the same key signs the same bytes)
  const sk = fromHex(w.privateKey);
  check(toHex(personalSign(sk, 'phr portal')) === await w.signMessage('phr portal'), 'personal_sign equals ethers signMessage');
  const data = encodeCall('mintRecord(address,bytes32,string,uint8,uint256)', [w.address, new Uint8Array(32).fill(7), 'bafkreiexample', 5, 0n]);
  const iface = new Interface(['function mintRecord(address patient, bytes32 dataHash, string cid, uint8 recordType, uint256 supersedes)',
    'function setGuardians(address patient, address[] guardians, uint8 threshold)']);
  check(toHex(data) === iface.encodeFunctionData('mintRecord', [w.address, '0x' + '07'.repeat(32), 'bafkreiexample', 5, 0]), 'ABI calldata (string) equals ethers');
  const g = [w.address, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'];
  check(toHex(encodeCall('setGuardians(address,address[],uint8)', [w.address, g, 2])) === iface.encodeFunctionData('setGuardians', [w.address, g, 2]), 'ABI calldata (address[]) equals ethers');
  const back = decode(['address', 'address[]', 'uint8'], fromHex(iface.encodeFunctionData('setGuardians', [w.address, g, 2])).subarray(4));
  check(back[0] === w.address && back[1].join() === g.join() && back[2] === 2n, 'ethers calldata decodes in the page (address, address[], uint8)');
  const tx = { nonce: 7n, gasPrice: 1000000007n, gas: 123456n, to: g[1], data, chainId: 31337 };
  const raw = signLegacyTx(sk, tx);
  const ref = Transaction.from({ type: 0, nonce: 7, gasPrice: 1000000007n, gasLimit: 123456n, to: g[1], data: toHex(data), chainId: 31337, value: 0 });
  ref.signature = w.signingKey.sign(ref.unsignedHash);
  check(toHex(raw) === ref.serialized, 'EIP-155 legacy transaction equals ethers, byte for byte');
  check(Transaction.from(toHex(raw)).from === w.address, 'ethers recovers the sender of the page\'s transaction');

  // CIDs against ipfs-unixfs-importer (CIDv1, raw leaves, 256 KiB chunks, balanced 174)
  for (const n of [0, 1, 262144, 262145, 1000003, 262144 * 174 + 1]) {
    const d = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
    let c;
    for await (const e of importer([{ content: d }], new MemoryBlockstore(), { cidVersion: 1, rawLeaves: true })) c = e.cid.toString();
    check((await cidOf(d)) === c, `CID of ${n} bytes equals ipfs-unixfs-importer's`);
  }

  // record stream: round trip at chunk boundaries; tampering and truncation refused
  const key = new Uint8Array(32).fill(9);
  for (const n of [0, 1, 65535, 65536, 65537, 200000]) {
    const pt = new Uint8Array(n).map((_, i) => i & 255);
    const ct = await encryptRecord(key, pt);
    const expect = 36 + (Math.floor(n / 65536) + 1) * 17 + n;
    const rt = await decryptRecord(key, ct);
    check(ct.length === expect && rt.length === n && rt.every((x, i) => x === pt[i]), `record of ${n} bytes: ${ct.length} bytes of stream, round trip`);
  }
  const ct = await encryptRecord(key, new Uint8Array(70000).fill(1));
  const bad = async (b, what) => {
    let ok = false;
    try { await decryptRecord(key, b); } catch { ok = true; }
    check(ok, 'refused: ' + what);
  };
  for (const at of [8, 12, 40, 36 + 65553, ct.length - 1]) { const b = ct.slice(); b[at] ^= 1; await bad(b, `bit flipped at ${at}`); }
  await bad(ct.subarray(0, 36 + 65553), 'truncated at a chunk boundary');
  await bad(ct.subarray(0, ct.length - 1), 'truncated by one byte');
  await bad(Uint8Array.from([...ct, 0]), 'a byte after FINAL');
  await bad(await encryptRecord(new Uint8Array(32).fill(8), new Uint8Array(10)), 'wrong key');

  console.log(`${failures() ? 'FAILED' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(failures() ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
