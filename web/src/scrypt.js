// scrypt (RFC 7914), written here: PBKDF2-HMAC-SHA256 from @noble/hashes
// around our own Salsa20/8, BlockMix and ROMix. Unlike @noble/hashes' scrypt
// it accepts N >= 2^(16r) as geth, ethers and libsodium do (ethereum/tests'
// keystore vectors use N = 2^18 with r = 1). Yields to the page every few
// thousand iterations and reports progress.
import { pbkdf2 } from '@noble/hashes/pbkdf2';
import { sha256 } from '@noble/hashes/sha256';

const rotl = (a, b) => (a << b) | (a >>> (32 - b));

/* Salsa20/8 of the 16 words at B[bi..] xor X, into Y[yi..] and X */
function salsa8(X, B, bi, Y, yi) {
  for (let i = 0; i < 16; i++) X[i] ^= B[bi + i];
  let x0 = X[0], x1 = X[1], x2 = X[2], x3 = X[3], x4 = X[4], x5 = X[5], x6 = X[6], x7 = X[7];
  let x8 = X[8], x9 = X[9], x10 = X[10], x11 = X[11], x12 = X[12], x13 = X[13], x14 = X[14], x15 = X[15];
  for (let i = 0; i < 8; i += 2) {
    x4 ^= rotl(x0 + x12 | 0, 7); x8 ^= rotl(x4 + x0 | 0, 9); x12 ^= rotl(x8 + x4 | 0, 13); x0 ^= rotl(x12 + x8 | 0, 18);
    x9 ^= rotl(x5 + x1 | 0, 7); x13 ^= rotl(x9 + x5 | 0, 9); x1 ^= rotl(x13 + x9 | 0, 13); x5 ^= rotl(x1 + x13 | 0, 18);
    x14 ^= rotl(x10 + x6 | 0, 7); x2 ^= rotl(x14 + x10 | 0, 9); x6 ^= rotl(x2 + x14 | 0, 13); x10 ^= rotl(x6 + x2 | 0, 18);
    x3 ^= rotl(x15 + x11 | 0, 7); x7 ^= rotl(x3 + x15 | 0, 9); x11 ^= rotl(x7 + x3 | 0, 13); x15 ^= rotl(x11 + x7 | 0, 18);
    x1 ^= rotl(x0 + x3 | 0, 7); x2 ^= rotl(x1 + x0 | 0, 9); x3 ^= rotl(x2 + x1 | 0, 13); x0 ^= rotl(x3 + x2 | 0, 18);
    x6 ^= rotl(x5 + x4 | 0, 7); x7 ^= rotl(x6 + x5 | 0, 9); x4 ^= rotl(x7 + x6 | 0, 13); x5 ^= rotl(x4 + x7 | 0, 18);
    x11 ^= rotl(x10 + x9 | 0, 7); x8 ^= rotl(x11 + x10 | 0, 9); x9 ^= rotl(x8 + x11 | 0, 13); x10 ^= rotl(x9 + x8 | 0, 18);
    x12 ^= rotl(x15 + x14 | 0, 7); x13 ^= rotl(x12 + x15 | 0, 9); x14 ^= rotl(x13 + x12 | 0, 13); x15 ^= rotl(x14 + x13 | 0, 18);
  }
  Y[yi] = X[0] = (X[0] + x0) | 0; Y[yi + 1] = X[1] = (X[1] + x1) | 0; Y[yi + 2] = X[2] = (X[2] + x2) | 0; Y[yi + 3] = X[3] = (X[3] + x3) | 0;
  Y[yi + 4] = X[4] = (X[4] + x4) | 0; Y[yi + 5] = X[5] = (X[5] + x5) | 0; Y[yi + 6] = X[6] = (X[6] + x6) | 0; Y[yi + 7] = X[7] = (X[7] + x7) | 0;
  Y[yi + 8] = X[8] = (X[8] + x8) | 0; Y[yi + 9] = X[9] = (X[9] + x9) | 0; Y[yi + 10] = X[10] = (X[10] + x10) | 0; Y[yi + 11] = X[11] = (X[11] + x11) | 0;
  Y[yi + 12] = X[12] = (X[12] + x12) | 0; Y[yi + 13] = X[13] = (X[13] + x13) | 0; Y[yi + 14] = X[14] = (X[14] + x14) | 0; Y[yi + 15] = X[15] = (X[15] + x15) | 0;
}

/* BlockMix: B (2r blocks of 16 words at bi) -> Y (at yi), even blocks first, then odd */
function blockMix(B, bi, Y, yi, r, X) {
  X.set(B.subarray(bi + (2 * r - 1) * 16, bi + 2 * r * 16));
  for (let i = 0; i < 2 * r; i++) {
    const out = yi + ((i & 1) ? r + (i >> 1) : (i >> 1)) * 16;
    salsa8(X, B, bi + i * 16, Y, out);
  }
}

/**
 * scrypt(password, salt, N, r, p, dkLen) as Uint8Array. @p onProgress(f)
 * gets fractions of the work; the function yields to the event loop.
 */
export async function scrypt(password, salt, { N, r, p, dkLen }, onProgress) {
  if (!(N > 1 && (N & (N - 1)) === 0) || !(r >= 1) || !(p >= 1) || N > 2 ** 24 || 128 * r * (N + p) > 2 ** 30)
    throw new Error('scrypt: parameters out of range');
  const blk = 32 * r; // words per block
  const B = new Uint32Array(pbkdf2(sha256, password, salt, { c: 1, dkLen: 128 * r * p }).buffer.slice(0));
  const V = new Uint32Array(blk * N);
  const XY = new Uint32Array(blk * 2);
  const X = new Uint32Array(16);
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (!little) throw new Error('scrypt: big-endian hosts are not supported');
  const total = 2 * N * p;
  let done = 0;
  let lastYield = performance.now();
  // lets the page paint (and shows progress) about every 40 ms of work
  const pause = async (f) => {
    if (performance.now() - lastYield < 40) return;
    if (onProgress) onProgress(f);
    await new Promise((res) => setTimeout(res, 0));
    lastYield = performance.now();
  };
  for (let q = 0; q < p; q++) {
    const bi = q * blk;
    XY.set(B.subarray(bi, bi + blk));
    for (let i = 0; i < N; i++) {
      V.set(XY.subarray(0, blk), i * blk);
      blockMix(XY, 0, XY, blk, r, X);
      XY.copyWithin(0, blk, 2 * blk);
      if ((++done & 1023) === 0) await pause(done / total);
    }
    for (let i = 0; i < N; i++) {
      const j = XY[blk - 16] & (N - 1); // Integerify: first word of the last block
      for (let k = 0; k < blk; k++) XY[k] ^= V[j * blk + k];
      blockMix(XY, 0, XY, blk, r, X);
      XY.copyWithin(0, blk, 2 * blk);
      if ((++done & 1023) === 0) await pause(done / total);
    }
    B.set(XY.subarray(0, blk), bi);
  }
  const out = pbkdf2(sha256, password, new Uint8Array(B.buffer), { c: 1, dkLen });
  B.fill(0); V.fill(0); XY.fill(0); X.fill(0);
  onProgress && onProgress(1);
  return out;
}
