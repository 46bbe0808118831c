// Keys that never leave the browser: Web3 Secret Storage v3 keystores (the
// CLI's format: scrypt or pbkdf2-hmac-sha256, aes-128-ctr, keccak MAC),
// signers (a local key, or an injected EIP-1193 wallet) and the X25519 key
// pair derived from the account key as on the node:
// seed = keccak256("phr/x25519/v1" || seckey), crypto_box_seed_keypair(seed).
import { scrypt } from './scrypt.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2';
import { sha256 } from '@noble/hashes/sha256';
import { secp256k1 } from '@noble/curves/secp256k1';
import { concat, equal, fromHex, toHex, utf8, wipe } from './bytes.js';
import {
  addressFromSeckey, checksum, encodeCall, ethCall, keccak, personalSign, revertReason, rpc,
  signLegacyTx, waitReceipt,
} from './eth.js';
import { sodiumReady } from './sodium.js';

// New keystores: scrypt n = 2^17, r = 8, p = 1 (128 MiB; about a second in a browser).
export const NEW_KDF = { n: 131072, r: 8, p: 1 };

async function aesCtr(key16, iv, data) {
  const k = await crypto.subtle.importKey('raw', key16, { name: 'AES-CTR' }, false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 128 }, k, data));
}

async function kdf(c, password, onProgress) {
  const p = c.kdfparams || {};
  const salt = fromHex(p.salt || '');
  if (p.dklen !== 32) throw new Error('keystore: dklen must be 32');
  if (c.kdf === 'scrypt') {
    const { n, r } = p;
    const pp = p.p;
    if (!(n > 1 && (n & (n - 1)) === 0) || !(r > 0) || !(pp > 0) || 128 * r * (n + pp) > 2 ** 30 || n * r * pp > 2 ** 26)
      throw new Error('keystore: scrypt parameters out of range');
    return scrypt(password, salt, { N: n, r, p: pp, dkLen: 32 }, onProgress);
  }
  if (c.kdf === 'pbkdf2') {
    if (p.prf !== 'hmac-sha256' || !(p.c > 0) || p.c > 1e7) throw new Error('keystore: unsupported pbkdf2 parameters');
    return pbkdf2Async(sha256, password, salt, { c: p.c, dkLen: 32 });
  }
  throw new Error('keystore: unsupported kdf ' + c.kdf);
}

/** The secret key of keystore JSON @p ks (string or object); throws on a wrong password. */
export async function keystoreDecrypt(ks, password, onProgress) {
  const j = typeof ks === 'string' ? JSON.parse(ks) : ks;
  const c = j.crypto || j.Crypto;
  if (j.version !== 3 || !c) throw new Error('not a Web3 Secret Storage v3 keystore');
  if (c.cipher !== 'aes-128-ctr') throw new Error('keystore: unsupported cipher');
  const dk = await kdf(c, utf8(password), onProgress);
  const ct = fromHex(c.ciphertext);
  const mac = keccak(concat(dk.subarray(16, 32), ct));
  if (!equal(mac, fromHex(c.mac))) { wipe(dk); throw new Error('wrong password'); }
  const sk = await aesCtr(dk.subarray(0, 16), fromHex(c.cipherparams.iv), ct);
  wipe(dk);
  if (sk.length !== 32) throw new Error('keystore: key must be 32 bytes');
  if (j.address && toHex(addressFromSeckey(sk), false) !== String(j.address).toLowerCase().replace(/^0x/, '')) {
    wipe(sk);
    throw new Error('keystore: address does not match the key');
  }
  return sk;
}

function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = toHex(b, false);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A keystore (object, geth's layout) for @p sk under @p password. */
export async function keystoreEncrypt(sk, password, params = NEW_KDF, onProgress) {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const dk = await scrypt(utf8(password), salt, { N: params.n, r: params.r, p: params.p, dkLen: 32 }, onProgress);
  const ct = await aesCtr(dk.subarray(0, 16), iv, sk);
  const mac = keccak(concat(dk.subarray(16, 32), ct));
  wipe(dk);
  return {
    address: toHex(addressFromSeckey(sk), false),
    crypto: {
      cipher: 'aes-128-ctr', cipherparams: { iv: toHex(iv, false) }, ciphertext: toHex(ct, false),
      kdf: 'scrypt', kdfparams: { dklen: 32, n: params.n, p: params.p, r: params.r, salt: toHex(salt, false) },
      mac: toHex(mac, false),
    },
    id: uuid4(),
    version: 3,
  };
}

export function newSeckey() {
  return secp256k1.utils.randomPrivateKey();
}

async function boxFromSeed(seed) {
  const s = await sodiumReady();
  const kp = s.crypto_box_seed_keypair(seed);
  wipe(seed);
  return { pk: kp.publicKey, sk: kp.privateKey };
}

// How signed transactions leave the page: the node's relay (set by api.js), else /rpc.
let broadcast = (raw) => rpc('eth_sendRawTransaction', [toHex(raw)]);

/** Sets the function that sends a signed transaction: (raw bytes, opts) -> hash. */
export function setBroadcast(fn) { broadcast = fn; }

/** Sends calldata @p data to @p to from a signer; checks it first with eth_call; resolves with the receipt. */
async function sendWith(signer, to, data, chainId, opts = {}) {
  const from = signer.address;
  try {
    await ethCall(to, data, from);
  } catch (e) {
    let data = null;
    try { data = e.data ? fromHex(typeof e.data === 'string' ? e.data : e.data.data || '0x') : null; } catch { /* not hex */ }
    throw new Error(data || /revert/i.test(e.message) ? 'Refused by the chain: ' + revertReason(data) : e.message);
  }
  const hash = await signer.submit({ from, to, data, chainId }, opts);
  const r = await waitReceipt(hash);
  if (r.status !== '0x1') throw new Error('transaction reverted');
  return r;
}

/** A key held in this page (wiped by lock()). */
export class LocalSigner {
  constructor(sk) {
    this.sk = sk;
    this.address = checksum(addressFromSeckey(sk));
    this.kind = 'local';
  }
  async signMessage(msg) { return toHex(personalSign(this.sk, msg)); }
  async submit({ to, data, chainId }, opts) {
    const [gasPrice, nonce, gas] = await Promise.all([
      rpc('eth_gasPrice'),
      rpc('eth_getTransactionCount', [this.address, 'pending']),
      rpc('eth_estimateGas', [{ from: this.address, to, data: toHex(data) }]),
    ]);
    const g = BigInt(gas);
    const raw = signLegacyTx(this.sk, { nonce: BigInt(nonce), gasPrice: BigInt(gasPrice), gas: g + g / 4n + 10000n, to, data, chainId });
    return broadcast(raw, opts);
  }
  async send(to, data, chainId, opts) { return sendWith(this, to, data, chainId, opts); }
  async boxKeys() { return boxFromSeed(keccak(concat(utf8('phr/x25519/v1'), this.sk))); }
  lock() { wipe(this.sk); this.sk = null; }
}

/**
 * An injected EIP-1193 wallet (window.ethereum). Wallets do not reveal the
 * account key, so the X25519 key is derived from the wallet's signature of a
 * fixed message: seed = keccak256("phr/x25519/wallet/v1" || signature). It
 * differs from the CLI's key for the same account; register it from here.
 */
export class WalletSigner {
  constructor(provider, address) {
    this.p = provider;
    this.address = checksum(address);
    this.kind = 'wallet';
  }
  static async connect() {
    const p = globalThis.ethereum;
    if (!p) throw new Error('no browser wallet found');
    const acc = await p.request({ method: 'eth_requestAccounts' });
    return new WalletSigner(p, acc[0]);
  }
  async signMessage(msg) {
    return this.p.request({ method: 'personal_sign', params: [toHex(utf8(msg)), this.address.toLowerCase()] });
  }
  async submit({ to, data }) {
    return this.p.request({ method: 'eth_sendTransaction', params: [{ from: this.address, to, data: toHex(data) }] });
  }
  async send(to, data, chainId, opts) { return sendWith(this, to, data, chainId, opts); }
  async boxKeys() {
    const sig = fromHex(await this.signMessage('phr: derive my record encryption key (X25519, v1). This does not cost anything.'));
    return boxFromSeed(keccak(concat(utf8('phr/x25519/wallet/v1'), sig)));
  }
  lock() {}
}

export { encodeCall };
