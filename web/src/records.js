// Records as the C code writes them (docs/crypto.md, docs/node.md): the
// envelope salt(32) || plaintext, its keccak256 on chain, the version-1
// record stream (XChaCha20-Poly1305 secretstream with a 12-byte header as
// associated data of every chunk), 80-byte capsules (sealed boxes of the
// data key) and the CID of the ciphertext (UnixFS, 256 KiB chunks, raw
// leaves, balanced DAG of at most 174 links, CIDv1).
import { concat, fromUtf8 } from './bytes.js';
import { keccak } from './eth.js';
import { sodiumReady } from './sodium.js';

const MAGIC = [0x50, 0x48, 0x52, 0x45]; // "PHRE"
export const CHUNK = 65536;
const ABYTES = 17;

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Encrypts @p pt (Uint8Array) under the 32-byte @p key. */
export async function encryptRecord(key, pt, chunk = CHUNK, onProgress) {
  const s = await sodiumReady();
  const hdr = new Uint8Array(12);
  hdr.set(MAGIC);
  hdr[4] = 1;
  new DataView(hdr.buffer).setUint32(8, chunk);
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const n = Math.floor(pt.length / chunk) + 1; // a multiple of C ends with an empty FINAL chunk
  const parts = [hdr, header];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const m = pt.subarray(i * chunk, last ? pt.length : (i + 1) * chunk);
    const tag = last ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    parts.push(s.crypto_secretstream_xchacha20poly1305_push(state, m, hdr, tag));
    if (onProgress && i % 16 === 15) { onProgress((i + 1) / n); await tick(); }
  }
  return concat(...parts);
}

/** Decrypts a record stream; throws on any tampering or truncation. */
export async function decryptRecord(key, ct, onProgress) {
  const s = await sodiumReady();
  if (ct.length < 36 || MAGIC.some((b, i) => ct[i] !== b)) throw new Error('not a phr record');
  if (ct[4] !== 1 || ct[5] || ct[6] || ct[7]) throw new Error('unsupported record version');
  const ad = ct.subarray(0, 12);
  const c = new DataView(ct.buffer, ct.byteOffset).getUint32(8);
  if (c < 1 || c > 16 << 20) throw new Error('bad chunk size');
  let state;
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(ct.subarray(12, 36), key);
  } catch {
    throw new Error('record tampered with or wrong key');
  }
  const out = [];
  let off = 36;
  let done = false;
  let i = 0;
  while (off < ct.length) {
    if (done) throw new Error('bytes after the end of the record');
    const end = Math.min(off + c + ABYTES, ct.length);
    const r = s.crypto_secretstream_xchacha20poly1305_pull(state, ct.subarray(off, end), ad);
    if (!r) throw new Error('record tampered with or wrong key');
    if (r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) done = true;
    else if (end - off !== c + ABYTES) throw new Error('record truncated');
    out.push(r.message);
    off = end;
    if (onProgress && ++i % 16 === 0) { onProgress(off / ct.length); await tick(); }
  }
  if (!done) throw new Error('record truncated');
  return concat(...out);
}

/** A new random data key. */
export async function newDataKey() {
  const s = await sodiumReady();
  return s.randombytes_buf(32);
}

export async function sealKey(key, pk) {
  const s = await sodiumReady();
  return s.crypto_box_seal(key, pk);
}

export async function openCapsule(cap, box) {
  const s = await sodiumReady();
  if (cap.length !== 80) throw new Error('capsule must be 80 bytes');
  try {
    return s.crypto_box_seal_open(cap, box.pk, box.sk);
  } catch {
    throw new Error('this capsule is not sealed to your key');
  }
}

/** salt || plaintext, and its keccak256 (the on-chain dataHash). */
export async function envelope(pt) {
  const s = await sodiumReady();
  const env = concat(s.randombytes_buf(32), pt);
  return { env, hash: keccak(env) };
}

/** Splits a decrypted envelope; checks its hash against the chain's @p dataHash (hex). */
export function openEnvelope(env, dataHashHex) {
  const h = '0x' + Array.from(keccak(env), (b) => b.toString(16).padStart(2, '0')).join('');
  if (dataHashHex && h.toLowerCase() !== dataHashHex.toLowerCase()) throw new Error('the record does not match its hash on chain');
  return env.subarray(32);
}

// --- CIDs -----------------------------------------------------------------

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(b) {
  let bits = 0;
  let v = 0;
  let out = '';
  for (const x of b) {
    v = (v << 8) | x;
    bits += 8;
    while (bits >= 5) { out += B32[(v >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32[(v << (5 - bits)) & 31];
  return out;
}

function varint(n) {
  const o = [];
  while (n >= 0x80) { o.push((n % 128) | 0x80); n = Math.floor(n / 128); }
  o.push(n);
  return Uint8Array.from(o);
}

async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

async function cidBytes(codec, block) {
  return concat(Uint8Array.of(0x01), varint(codec), Uint8Array.of(0x12, 0x20), await sha256(block));
}

const field = (num, wire) => varint(num * 8 + wire);
const lenField = (num, b) => concat(field(num, 2), varint(b.length), b);

/** CIDv1 string of @p data as the node's importer stores it. */
export async function cidOf(data) {
  const LEAF = 262144;
  const WIDTH = 174;
  if (data.length <= LEAF) return 'b' + base32(await cidBytes(0x55, data));
  // leaves: { cid, size (file bytes), tsize (block bytes) }
  let level = [];
  for (let o = 0; o < data.length; o += LEAF) {
    const blk = data.subarray(o, Math.min(o + LEAF, data.length));
    level.push({ cid: await cidBytes(0x55, blk), size: blk.length, tsize: blk.length });
  }
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += WIDTH) {
      const kids = level.slice(i, i + WIDTH);
      const fsize = kids.reduce((a, k) => a + k.size, 0);
      const ufs = concat(field(1, 0), varint(2), field(3, 0), varint(fsize), ...kids.map((k) => concat(field(4, 0), varint(k.size))));
      const links = kids.map((k) => lenField(2, concat(lenField(1, k.cid), lenField(2, new Uint8Array(0)), field(3, 0), varint(k.tsize))));
      const node = concat(...links, lenField(1, ufs));
      next.push({ cid: await cidBytes(0x70, node), size: fsize, tsize: node.length + kids.reduce((a, k) => a + k.tsize, 0) });
    }
    level = next;
  }
  return 'b' + base32(level[0].cid);
}

export const text = (b) => fromUtf8(b);
