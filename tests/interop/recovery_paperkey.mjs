// Paper keys against third-party libraries: a mnemonic made by @scure/bip39 from random
// entropy imports with `phr account paper-key import` into the key ethers derives from the
// same 32 bytes (and ethers opens the keystore phr writes); `export` gives @scure's words
// back; 2 of 3 Shamir share lines give the same account.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english';
import { Wallet } from 'ethers';

const bin = process.env.PHR_BIN;
assert.ok(bin, 'PHR_BIN is not set');
const dir = mkdtempSync(join(tmpdir(), 'phr-paperkey-'));
const env = { ...process.env, PHR_PASSWORD: 'paper', PHR_DATADIR: dir };
const phr = (args, input) =>
  execFileSync(bin, args, { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();

try {
  for (let round = 0; round < 3; round++) {
    const ent = randomBytes(32);
    const words = entropyToMnemonic(ent, wordlist);
    const expected = new Wallet('0x' + ent.toString('hex')).address;
    const ks = join(dir, `k${round}.json`);
    // import the third-party mnemonic
    assert.equal(phr(['account', 'paper-key', 'import', '--light', '--out', ks], words + '\n'), expected);
    // ethers opens the keystore phr wrote
    const w = await Wallet.fromEncryptedJson(readFileSync(ks, 'utf8'), 'paper');
    assert.equal(w.address, expected);
    // export gives the same words; @scure decodes them to the same entropy
    const out = phr(['account', 'paper-key', 'export', '--keystore', ks]);
    assert.equal(out, words);
    assert.equal(Buffer.from(mnemonicToEntropy(out, wordlist)).toString('hex'), ent.toString('hex'));
    // shares: each line's words are a valid BIP-39 mnemonic; any 2 of 3 rebuild the account
    const lines = phr(['account', 'paper-key', 'export', '--keystore', ks, '--shares', '3', '--threshold', '2']).split('\n');
    assert.equal(lines.length, 3);
    for (const l of lines) mnemonicToEntropy(l.slice(l.indexOf(': ') + 2), wordlist);
    const ks2 = join(dir, `s${round}.json`);
    assert.equal(phr(['account', 'paper-key', 'import', '--light', '--out', ks2], `${lines[2]}\n${lines[0]}\n`), expected);
    // one share is not enough
    assert.throws(() => phr(['account', 'paper-key', 'import', '--light', '--out', join(dir, 'x.json')], lines[1] + '\n'));
  }
  console.log('paper keys: 3 rounds agree with @scure/bip39 and ethers');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
