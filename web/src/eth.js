// Ethereum pieces the portal needs: keccak, addresses (EIP-55), RLP, a small
// Solidity ABI coder, EIP-191 messages, EIP-155 legacy transactions and a
// JSON-RPC client for the node's /rpc. secp256k1 and keccak come from
// @noble/curves and @noble/hashes (MIT); the rest is written here.
import { keccak_256 } from '@noble/hashes/sha3';
import { secp256k1 } from '@noble/curves/secp256k1';
import { bigBytes, bytesToBig, concat, fromHex, toHex, utf8 } from './bytes.js';
import { ERRORS } from './abi-gen.js';

export const keccak = (b) => keccak_256(b);

export function addressFromPub(pub65) {
  return keccak(pub65.subarray(1)).subarray(12);
}

export function addressFromSeckey(sk) {
  return addressFromPub(secp256k1.getPublicKey(sk, false));
}

export function checksum(addr) {
  const h = typeof addr === 'string' ? addr.replace(/^0x/i, '').toLowerCase() : toHex(addr, false);
  if (!/^[0-9a-f]{40}$/.test(h)) throw new Error('not an address');
  const hash = toHex(keccak(utf8(h)), false);
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? h[i].toUpperCase() : h[i];
  return out;
}

export function isAddress(s) {
  return typeof s === 'string' && /^0x[0-9a-fA-F]{40}$/.test(s.trim());
}

export const sameAddress = (a, b) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

// --- RLP --------------------------------------------------------------------

function rlpLength(n, off) {
  if (n < 56) return Uint8Array.of(off + n);
  const l = bigBytes(BigInt(n));
  return concat(Uint8Array.of(off + 55 + l.length), l);
}

/** RLP of a byte string or a (nested) array of them. */
export function rlp(x) {
  if (Array.isArray(x)) {
    const body = concat(...x.map(rlp));
    return concat(rlpLength(body.length, 0xc0), body);
  }
  if (x.length === 1 && x[0] < 0x80) return x;
  return concat(rlpLength(x.length, 0x80), x);
}

// --- ABI ----------------------------------------------------------------------

export function selector(sig) {
  return keccak(utf8(sig)).subarray(0, 4);
}

function word(v) {
  const b = bigBytes(v);
  if (b.length > 32) throw new Error('abi: value too large');
  const w = new Uint8Array(32);
  w.set(b, 32 - b.length);
  return w;
}

function encodeStatic(type, v) {
  if (type === 'address') {
    const a = fromHex(v);
    if (a.length !== 20) throw new Error('abi: bad address');
    const w = new Uint8Array(32);
    w.set(a, 12);
    return w;
  }
  if (type === 'bytes32') {
    const b = typeof v === 'string' ? fromHex(v) : v;
    if (b.length !== 32) throw new Error('abi: bad bytes32');
    return b;
  }
  if (type === 'bool') return word(v ? 1n : 0n);
  if (/^uint\d+$/.test(type)) return word(BigInt(v));
  throw new Error('abi: unsupported type ' + type);
}

/** Calldata for `name(types...)` with @p args (static types and `string`/`bytes`). */
export function encodeCall(sig, args) {
  const types = sig.slice(sig.indexOf('(') + 1, -1).split(',').filter((t) => t);
  const head = [];
  const tail = [];
  let tailLen = 0;
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    if (t === 'string' || t === 'bytes' || t === 'address[]') {
      let enc;
      if (t === 'address[]') {
        enc = concat(word(BigInt(args[i].length)), ...args[i].map((a) => encodeStatic('address', a)));
      } else {
        const b = t === 'string' ? utf8(args[i]) : args[i];
        const padded = new Uint8Array(Math.ceil(b.length / 32) * 32);
        padded.set(b);
        enc = concat(word(BigInt(b.length)), padded);
      }
      head.push({ off: true, at: tailLen });
      tail.push(enc);
      tailLen += enc.length;
    } else {
      head.push(encodeStatic(t, args[i]));
    }
  }
  const headLen = types.length * 32;
  const parts = head.map((h) => (h.off ? word(BigInt(headLen + h.at)) : h));
  return concat(selector(sig), ...parts, ...tail);
}

/** Decodes return data of static types and `string`. */
export function decode(types, data) {
  const out = [];
  const at = (i) => data.subarray(i * 32, i * 32 + 32);
  types.forEach((t, i) => {
    const w = at(i);
    if (w.length !== 32) throw new Error('abi: short return data');
    if (t === 'address') out.push(checksum(w.subarray(12)));
    else if (t === 'bytes32') out.push(toHex(w));
    else if (t === 'bool') out.push(bytesToBig(w) !== 0n);
    else if (t === 'string') {
      const off = Number(bytesToBig(w));
      const n = Number(bytesToBig(data.subarray(off, off + 32)));
      out.push(new TextDecoder().decode(data.subarray(off + 32, off + 32 + n)));
    } else if (t === 'address[]') {
      const off = Number(bytesToBig(w));
      const n = Number(bytesToBig(data.subarray(off, off + 32)));
      if (n > 1000) throw new Error('abi: array too long');
      const arr = [];
      for (let k = 0; k < n; k++) arr.push(checksum(data.subarray(off + 32 + k * 32 + 12, off + 64 + k * 32)));
      out.push(arr);
    } else out.push(bytesToBig(w));
  });
  return out;
}

/** A readable reason for revert data (Error(string) or a named custom error). */
export function revertReason(data) {
  if (!data || data.length < 4) return 'reverted';
  const sel = toHex(data.subarray(0, 4));
  if (sel === '0x08c379a0') {
    try { return decode(['string'], data.subarray(4))[0]; } catch { return 'reverted'; }
  }
  return ERRORS[sel] || 'reverted (' + sel + ')';
}

// --- messages and transactions ---------------------------------------------

export function personalHash(msg) {
  const m = typeof msg === 'string' ? utf8(msg) : msg;
  return keccak(concat(utf8('\x19Ethereum Signed Message:\n' + m.length), m));
}

/** 65-byte r||s||v (v 27/28) signature of an EIP-191 message. */
export function personalSign(sk, msg) {
  const sig = secp256k1.sign(personalHash(msg), sk);
  return concat(word(sig.r), word(sig.s), Uint8Array.of(27 + sig.recovery));
}

/** Signed legacy EIP-155 transaction, RLP bytes. */
export function signLegacyTx(sk, tx) {
  const fields = [bigBytes(tx.nonce), bigBytes(tx.gasPrice), bigBytes(tx.gas), fromHex(tx.to), bigBytes(tx.value || 0n), tx.data];
  const chainId = BigInt(tx.chainId);
  const h = keccak(rlp([...fields, bigBytes(chainId), new Uint8Array(0), new Uint8Array(0)]));
  const sig = secp256k1.sign(h, sk);
  const v = chainId * 2n + 35n + BigInt(sig.recovery);
  return rlp([...fields, bigBytes(v), bigBytes(sig.r), bigBytes(sig.s)]);
}

// --- JSON-RPC ---------------------------------------------------------------

let rpcId = 0;

export async function rpc(method, params = []) {
  const r = await fetch('/rpc', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  if (!r.ok) throw new Error('chain RPC: HTTP ' + r.status);
  const j = await r.json();
  if (j.error) {
    const e = new Error(j.error.message || 'chain RPC error');
    e.data = j.error.data;
    throw e;
  }
  return j.result;
}

export async function ethCall(to, data, from) {
  const call = { to, data: toHex(data) };
  if (from) call.from = from;
  return fromHex(await rpc('eth_call', [call, 'latest']));
}

export async function waitReceipt(hash, timeoutMs = 30000) {
  const t0 = Date.now();
  for (;;) {
    const r = await rpc('eth_getTransactionReceipt', [hash]);
    if (r) return r;
    if (Date.now() - t0 > timeoutMs) throw new Error('transaction not mined in time');
    await new Promise((res) => setTimeout(res, 150));
  }
}

/** The latest block's timestamp (chain time, seconds). */
export async function chainNow() {
  const b = await rpc('eth_getBlockByNumber', ['latest', false]);
  return Number(BigInt(b.timestamp));
}
