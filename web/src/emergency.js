// The escrowed emergency summary in the page (docs/emergency.md, the wire
// formats of include/phr/emergency.h): the patient's summary (a FHIR Bundle)
// is encrypted here under a fresh key (the version-1 record stream), named by
// its CID (raw codec), the key split t-of-n with Shamir over GF(256) (AES
// polynomial 0x11b, x = 1..n), each share sealed (crypto_box_seal) to its
// holder bound to the patient and keccak256(summary CID), a manifest and one
// deposit per holder signed by the patient (EIP-191) and PUT to the holders.
// After break-glass the emergency provider's page signs release requests,
// opens the re-sealed shares with its X25519 key, checks that the manifest is
// signed by the patient's owner on chain, recombines t shares, checks the CID
// and decrypts. Nothing here sends the summary or the key in the clear.
import { secp256k1 } from '@noble/curves/secp256k1';
import { concat, equal, fromHex, fromUtf8, toHex, utf8, wipe } from './bytes.js';
import { addressFromPub, checksum, keccak, personalHash, sameAddress } from './eth.js';
import { cidOf, decryptRecord, encryptRecord } from './records.js';
import { sodiumReady } from './sodium.js';

export const SHARE_PLAIN = 86; // 0x01 || patient(20) || keccak256(cid)(32) || x(1) || y(32)
export const CIPHERTEXT_MAX = 64 << 10;
export const HOLDERS_MAX = 16;

// --- Shamir over GF(256) -------------------------------------------------------------------------

export function gmul(a, b) {
  let r = 0;
  while (b) {
    if (b & 1) r ^= a;
    a = ((a << 1) ^ (a & 0x80 ? 0x11b : 0)) & 0xff;
    b >>= 1;
  }
  return r;
}

function ginv(a) { // a^254
  let r = 1;
  for (let i = 0; i < 254; i++) r = gmul(r, a);
  return r;
}

/** Splits @p secret into @p n shares (x || y), any @p t of which recombine it. */
export function shamirSplit(secret, t, n) {
  if (!(t >= 2 && n >= t && n <= 255)) throw new Error('threshold must be 2 ≤ t ≤ n');
  const coef = new Uint8Array((t - 1) * secret.length);
  crypto.getRandomValues(coef);
  const out = [];
  for (let x = 1; x <= n; x++) {
    const s = new Uint8Array(1 + secret.length);
    s[0] = x;
    for (let j = 0; j < secret.length; j++) {
      let y = 0; // Horner: a_{t-1} x^{t-1} + … + a_1 x + secret
      for (let k = t - 2; k >= 0; k--) y = gmul(y ^ coef[k * secret.length + j], x);
      s[1 + j] = y ^ secret[j];
    }
    out.push(s);
  }
  wipe(coef);
  return out;
}

/** Recombines shares (each x || y, distinct non-zero x) by Lagrange interpolation at 0. */
export function shamirCombine(shares) {
  const xs = shares.map((s) => s[0]);
  if (xs.some((x) => x === 0) || new Set(xs).size !== xs.length) throw new Error('shares need distinct non-zero x');
  const out = new Uint8Array(shares[0].length - 1);
  for (const si of shares) {
    let l = 1;
    for (const sm of shares) if (sm !== si) l = gmul(l, gmul(sm[0], ginv(sm[0] ^ si[0])));
    for (let j = 0; j < out.length; j++) out[j] ^= gmul(si[1 + j], l);
  }
  return out;
}

// --- the summary -----------------------------------------------------------------------------------

const lines = (s) => String(s || '').split('\n').map((l) => l.trim()).filter(Boolean);

/**
 * The emergency summary Bundle (FHIR R4 collection): the patient (with
 * emergency contacts), blood type (LOINC 882-1), allergies, medications and
 * conditions — each a resource taken from the patient's decrypted records, or
 * a text entry typed on the page.
 */
export function buildSummary({ patient, name, bloodType, allergies, medications, conditions, contacts, resources = [] }) {
  const subject = { identifier: { system: 'urn:phr:patient', value: patient } };
  const entry = [];
  const pat = { resourceType: 'Patient', identifier: [subject.identifier], active: true };
  if (name) pat.name = [{ text: name }];
  const cs = lines(contacts);
  if (cs.length) pat.contact = cs.map((c) => ({ relationship: [{ text: 'emergency contact' }], name: { text: c } }));
  entry.push(pat);
  if (bloodType) {
    entry.push({ resourceType: 'Observation', status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '882-1', display: 'ABO and Rh group [Type] in Blood' }], text: 'Blood type' },
      subject, valueString: String(bloodType) });
  }
  for (const a of lines(allergies)) entry.push({ resourceType: 'AllergyIntolerance', code: { text: a }, patient: subject });
  for (const m of lines(medications)) entry.push({ resourceType: 'MedicationStatement', status: 'active', medicationCodeableConcept: { text: m }, subject });
  for (const c of lines(conditions)) entry.push({ resourceType: 'Condition', code: { text: c }, subject });
  for (const r of resources) entry.push(r);
  return { resourceType: 'Bundle', type: 'collection', meta: { tag: [{ system: 'urn:phr', code: 'emergency-summary' }] },
    timestamp: new Date().toISOString(), entry: entry.map((resource) => ({ resource })) };
}

/** The resources of a parsed record (fhir.js parseRecord) that belong in the summary. */
export function summaryResources(parsed) {
  const keep = new Set(['AllergyIntolerance', 'MedicationRequest', 'MedicationStatement', 'Condition', 'Immunization']);
  const j = parsed && parsed.resource;
  if (!j) return [];
  if (j.resourceType === 'Bundle') return (j.entry || []).map((e) => e.resource).filter((r) => r && keep.has(r.resourceType));
  return keep.has(j.resourceType) ? [j] : [];
}

// --- holders -------------------------------------------------------------------------------------

const base = (u) => String(u).replace(/\/+$/, '');

async function json(fetchFn, url, init) {
  let r;
  try {
    r = await fetchFn(url, init);
  } catch (e) {
    throw new Error(`${new URL(url).origin} cannot be reached from here (${e.message}); a holder on another origin must allow this page (CORS)`);
  }
  const j = await r.json().catch(() => null);
  if (!r.ok) {
    const e = new Error(`${new URL(url).origin}: ${(j && (j.detail || j.title)) || 'HTTP ' + r.status}`);
    e.status = r.status;
    throw e;
  }
  return j;
}

/** A holder's escrow key: {url, address, boxPk (Uint8Array)}. */
export async function holderInfo(url, fetchFn = fetch) {
  const j = await json(fetchFn, base(url) + '/api/v1/escrow');
  const boxPk = fromHex(j.boxPk);
  if (boxPk.length !== 32) throw new Error('holder key must be 32 bytes');
  return { url: base(url), address: checksum(j.address), boxPk };
}

async function sealShare(share, patient, cid, pk) {
  const s = await sodiumReady();
  const p = concat(Uint8Array.of(1), fromHex(patient), keccak(utf8(cid)), share);
  try {
    return s.crypto_box_seal(p, pk);
  } finally {
    wipe(p);
  }
}

/**
 * Prepares the deposits of @p summary (bytes) for @p holders ({url, address,
 * boxPk}) at threshold @p t, signed by @p signer (signMessage) for @p patient
 * (the signer's own account, or the patient whose owner the signer is).
 * Resolves with {cid, manifest, deposits: [{url, holder, body}]}.
 */
export async function prepareDeposits(signer, patient, summary, t, holders, opts = {}) {
  const n = holders.length;
  if (!(t >= 2 && n >= t && n <= HOLDERS_MAX)) throw new Error(`need 2 ≤ threshold ≤ holders ≤ ${HOLDERS_MAX}`);
  if (new Set(holders.map((h) => h.address.toLowerCase())).size !== n) throw new Error('each holder once');
  const s = await sodiumReady();
  const key = s.crypto_secretstream_xchacha20poly1305_keygen();
  let shares = [];
  try {
    const ct = await encryptRecord(key, summary);
    if (ct.length > CIPHERTEXT_MAX) throw new Error('the summary is too large (64 KiB at most): put references, not images, into it');
    const cid = await cidOf(ct);
    shares = shamirSplit(key, t, n);
    const manifest = JSON.stringify({ v: 1, patient: checksum(patient), t, n, summaryCid: cid, summaryBytes: ct.length,
      createdAt: opts.now ?? Math.floor(Date.now() / 1000),
      holders: holders.map((h, i) => ({ url: h.url, address: checksum(h.address), boxPk: toHex(h.boxPk), x: i + 1 })) });
    const manifestSignature = await signer.signMessage(manifest);
    const deposits = [];
    for (let i = 0; i < n; i++) {
      const d = { v: 1, patient: checksum(patient), holder: checksum(holders[i].address), manifest, manifestSignature,
        sealedShare: toHex(await sealShare(shares[i], patient, cid, holders[i].boxPk)), ciphertext: toHex(ct) };
      if (opts.webhook) d.webhooks = [{ url: opts.webhook.url, secret: opts.webhook.secret }];
      const text = JSON.stringify(d);
      deposits.push({ url: holders[i].url, holder: d.holder, body: JSON.stringify({ deposit: text, signature: await signer.signMessage(text) }) });
    }
    return { cid, manifest, deposits };
  } finally {
    wipe(key);
    shares.forEach(wipe);
  }
}

/** PUTs each deposit to its holder; resolves with [{url, ok, error}]. */
export async function deposit(patient, deposits, fetchFn = fetch) {
  const out = [];
  for (const d of deposits) {
    try {
      await json(fetchFn, `${d.url}/api/v1/escrow/${checksum(patient)}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: d.body });
      out.push({ url: d.url, ok: true });
    } catch (e) {
      out.push({ url: d.url, ok: false, error: e.message });
    }
  }
  return out;
}

// --- release and read -----------------------------------------------------------------------------

/** The address that signed EIP-191 message @p msg (65-byte r||s||v hex). */
export function recoverSigner(msg, sigHex) {
  const sig = fromHex(sigHex);
  if (sig.length !== 65) throw new Error('signature must be 65 bytes');
  const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
  if (v > 1) throw new Error('bad signature recovery id');
  const pub = secp256k1.Signature.fromCompact(sig.subarray(0, 64)).addRecoveryBit(v).recoverPublicKey(personalHash(msg));
  return checksum(addressFromPub(pub.toRawBytes(false)));
}

/** Asks one holder for its share (a release request signed by @p signer). */
export async function askHolder(signer, patient, url, fetchFn = fetch, now) {
  const hi = await holderInfo(url, fetchFn);
  const request = JSON.stringify({ v: 1, action: 'escrow-release', patient: checksum(patient), requester: signer.address,
    holder: hi.address, timestamp: now ?? Math.floor(Date.now() / 1000) });
  const signature = await signer.signMessage(request);
  const a = await json(fetchFn, `${hi.url}/api/v1/escrow/${checksum(patient)}/release`,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ request, signature }) });
  return { ...a, url: hi.url };
}

/**
 * Opens the answers (askHolder) with @p box ({pk, sk}: the requester's
 * registered X25519 keys), keeps those whose manifest @p owner signed for
 * @p patient, bound to the patient and the summary, from holders the manifest
 * lists with their x; needs t of one manifest; recombines, checks the CID and
 * decrypts. Resolves with {summary (bytes), manifest, used}.
 */
export async function combine(box, patient, owner, answers) {
  const s = await sodiumReady();
  const groups = new Map(); // summaryCid -> {manifest, shares: Map(x -> share), ct}
  const problems = [];
  for (const a of answers) {
    try {
      if (!sameAddress(recoverSigner(a.manifest, a.manifestSignature), owner)) throw new Error('manifest not signed by the patient\'s owner');
      const m = JSON.parse(a.manifest);
      if (m.v !== 1 || !sameAddress(m.patient, patient) || !Array.isArray(m.holders) || !(m.t >= 2 && m.t <= m.n)) throw new Error('manifest not for this patient');
      let p;
      try { p = s.crypto_box_seal_open(fromHex(a.sealedShare), box.pk, box.sk); } catch { throw new Error('share does not open with my key'); }
      if (p.length !== SHARE_PLAIN || p[0] !== 1 || !equal(p.subarray(1, 21), fromHex(patient)) ||
          !equal(p.subarray(21, 53), keccak(utf8(m.summaryCid))) || p[53] === 0) { wipe(p); throw new Error('share not bound to this summary'); }
      const x = p[53];
      if (!m.holders.some((h) => sameAddress(h.address, a.holder) && h.x === x)) { wipe(p); throw new Error('holder not in the manifest'); }
      const g = groups.get(m.summaryCid) || { manifest: m, shares: new Map(), ct: null };
      groups.set(m.summaryCid, g);
      if (!g.shares.has(x)) g.shares.set(x, p.slice(53));
      wipe(p);
      if (!g.ct && a.ciphertext) g.ct = fromHex(a.ciphertext);
    } catch (e) {
      problems.push(`${a.url || a.holder}: ${e.message}`);
    }
  }
  const g = [...groups.values()].sort((a, b) => b.manifest.createdAt - a.manifest.createdAt).find((x) => x.shares.size >= x.manifest.t);
  if (!g) {
    const best = [...groups.values()].map((x) => `${x.shares.size} of ${x.manifest.t}`).join(', ') || '0';
    throw new Error(`not enough shares: ${best}${problems.length ? ' (' + problems.join('; ') + ')' : ''}`);
  }
  const used = [...g.shares.values()].slice(0, g.manifest.t);
  const key = shamirCombine(used);
  try {
    if (!g.ct || (await cidOf(g.ct)) !== g.manifest.summaryCid) throw new Error('the ciphertext does not match the manifest');
    const summary = await decryptRecord(key, g.ct);
    return { summary, manifest: g.manifest, used: used.length, problems };
  } finally {
    wipe(key);
    for (const v of g.shares.values()) wipe(v);
  }
}

/**
 * Release and read: asks @p urls (and the other holders the first manifest
 * lists) until t shares open, then combines. Resolves as combine, plus text.
 */
export async function releaseAndRead(signer, box, patient, owner, urls, fetchFn = fetch) {
  const asked = new Set();
  const answers = [];
  const errors = [];
  const queue = urls.map(base);
  while (queue.length) {
    const u = queue.shift();
    if (asked.has(u)) continue;
    asked.add(u);
    try {
      const a = await askHolder(signer, patient, u, fetchFn);
      answers.push(a);
      try { for (const h of JSON.parse(a.manifest).holders || []) if (!asked.has(base(h.url))) queue.push(base(h.url)); } catch { /* combine reports it */ }
    } catch (e) {
      errors.push(e.message);
    }
  }
  if (!answers.length) throw new Error(errors.join('; ') || 'no holder answered');
  const r = await combine(box, patient, owner, answers);
  return { ...r, text: fromUtf8(r.summary), errors };
}
