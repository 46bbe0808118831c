// Byte helpers: hex, UTF-8, base64, concatenation, constant-time compare.

export const utf8 = (s) => new TextEncoder().encode(s);
export const fromUtf8 = (b) => new TextDecoder('utf-8', { fatal: false }).decode(b);

export function toHex(b, prefix = true) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return prefix ? '0x' + s : s;
}

export function fromHex(h) {
  if (typeof h !== 'string') throw new Error('hex: not a string');
  if (h.startsWith('0x') || h.startsWith('0X')) h = h.slice(2);
  if (h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new Error('hex: malformed');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toBase64(b) {
  let s = '';
  const CH = 0x8000;
  for (let i = 0; i < b.length; i += CH) s += String.fromCharCode.apply(null, b.subarray(i, i + CH));
  return btoa(s);
}

export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Big-endian bytes of a non-negative bigint, minimal (0 -> empty). */
export function bigBytes(v) {
  v = BigInt(v);
  if (v < 0n) throw new Error('negative');
  if (v === 0n) return new Uint8Array(0);
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  return fromHex(h);
}

export function bytesToBig(b) {
  return b.length === 0 ? 0n : BigInt(toHex(b));
}

/** Overwrites a secret buffer. */
export function wipe(b) {
  if (b && b.fill) b.fill(0);
}
