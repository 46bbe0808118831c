// SMART Health Cards interop with jose (npm, an independent JOSE library):
// a card issued by phr verifies with jose's compactVerify against phr's JWKS
// and its payload inflates (raw DEFLATE) to the card; a card that jose signs
// in the SHC form verifies in phr; tampered cards fail on both sides.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync, deflateRawSync } from 'node:zlib';
import {
  compactVerify, createLocalJWKSet, CompactSign, generateKeyPair, exportJWK, calculateJwkThumbprint,
} from 'jose';

const bin = process.env.PHR_BIN;
if (!bin) throw new Error('PHR_BIN is not set');
const dir = mkdtempSync(join(tmpdir(), 'phr-shc-jose-'));
let passed = 0, failed = 0;
async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}: ${e.message}`); }
}
function assert(c, m) { if (!c) throw new Error(m); }
const phr = (...args) => execFileSync(bin, args, { encoding: 'utf8' });

try {
  const key = join(dir, 'issuer.jwk');
  const kid = phr('shc', 'keygen', '--out', key).trim();
  const jwks = JSON.parse(phr('shc', 'jwks', key));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
  writeFileSync(join(dir, 'patient.json'), JSON.stringify({
    resourceType: 'Patient', id: 'p1', meta: { versionId: '2' },
    name: [{ family: 'Anyperson', given: ['John', 'B.'] }], birthDate: '1951-01-20' }));
  writeFileSync(join(dir, 'imm.json'), JSON.stringify({
    resourceType: 'Immunization', id: 'i1', status: 'completed',
    vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207', display: 'Moderna' }], text: 'COVID' },
    patient: { reference: 'Patient/p1' }, occurrenceDateTime: '2021-01-01', lotNumber: '0000001' }));
  const nbf = Math.floor(Date.now() / 1000) - 60;
  const jws = phr('shc', 'issue', '--key', key, '--iss', 'https://issuer.example.org', '--patient',
    join(dir, 'patient.json'), '--immunization', join(dir, 'imm.json'), '--nbf', String(nbf), '--jws').trim();

  await check('jose verifies the phr-issued JWS with the phr JWKS', async () => {
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks));
    assert(protectedHeader.alg === 'ES256' && protectedHeader.zip === 'DEF', 'header alg/zip');
    assert(protectedHeader.kid === kid, 'kid');
    const card = JSON.parse(inflateRawSync(Buffer.from(payload)).toString('utf8'));
    assert(card.iss === 'https://issuer.example.org' && card.nbf === nbf, 'iss/nbf');
    assert(card.vc.type.includes('https://smarthealth.cards#health-card'), 'vc.type');
    const b = card.vc.credentialSubject.fhirBundle;
    assert(b.entry[0].fullUrl === 'resource:0' && b.entry[1].resource.patient.reference === 'resource:0', 'refs');
    assert(!('id' in b.entry[0].resource) && !('meta' in b.entry[0].resource), 'id/meta removed');
    assert(!('display' in b.entry[1].resource.vaccineCode.coding[0]), 'display removed');
    // minified: the inflated text is the compact serialisation
    const text = inflateRawSync(Buffer.from(payload)).toString('utf8');
    assert(text === JSON.stringify(JSON.parse(text)), 'payload minified');
  });

  await check('jose computes the same RFC 7638 kid', async () => {
    assert(await calculateJwkThumbprint(jwks.keys[0], 'sha256') === kid, 'thumbprint');
  });

  await check('jose rejects a tampered phr JWS', async () => {
    const [h, p, s] = jws.split('.');
    const flipped = s[5] === 'A' ? 'B' : 'A';
    const bad = [h, p, s.slice(0, 5) + flipped + s.slice(6)].join('.');
    let threw = false;
    try { await compactVerify(bad, createLocalJWKSet(jwks)); } catch { threw = true; }
    assert(threw, 'tampered signature accepted');
  });

  await check('phr verifies a card jose signed in the SHC form', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const jkid = await calculateJwkThumbprint(pub, 'sha256');
    const jjwks = { keys: [{ ...pub, kid: jkid, use: 'sig', alg: 'ES256' }] };
    writeFileSync(join(dir, 'jose-jwks.json'), JSON.stringify(jjwks));
    const payload = {
      iss: 'https://jose.example.org', nbf,
      vc: { type: ['https://smarthealth.cards#health-card'],
            credentialSubject: { fhirVersion: '4.0.1', fhirBundle: { resourceType: 'Bundle', type: 'collection', entry: [] } } } };
    const signed = await new CompactSign(deflateRawSync(Buffer.from(JSON.stringify(payload))))
      .setProtectedHeader({ alg: 'ES256', zip: 'DEF', kid: jkid }).sign(privateKey);
    writeFileSync(join(dir, 'jose.jws'), signed);
    const out = phr('shc', 'verify', '--jwks', join(dir, 'jose-jwks.json'), '--quiet', join(dir, 'jose.jws'));
    assert(/verified, issuer https:\/\/jose\.example\.org/.test(out), out);
    // and phr refuses it with the other issuer's keys
    const r = spawnSync(bin, ['shc', 'verify', '--jwks', join(dir, 'jwks.json'), '--quiet', join(dir, 'jose.jws')],
      { encoding: 'utf8' });
    assert(r.status === 1 && /not_found|INVALID/.test(r.stdout), `status ${r.status}: ${r.stdout}`);
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
