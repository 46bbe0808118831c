// SMART Health Cards interop with shc-protocol (npm, an independent decoder and
// verifier of whole cards): phr issues a card whose issuer is a loopback HTTP
// server publishing phr's JWKS; shc-protocol decodes phr's shc:/ QR text,
// inflates the payload, fetches <iss>/.well-known/jwks.json from that server
// and verifies the signature. A card with a tampered signature is not trusted.
// Only cards whose iss is the loopback server are ever given to shc-protocol.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import shcProtocol from 'shc-protocol';

const decode = shcProtocol.default || shcProtocol;
const { numericShcToJwt } = shcProtocol;
const bin = process.env.PHR_BIN;
if (!bin) throw new Error('PHR_BIN is not set');
const dir = mkdtempSync(join(tmpdir(), 'phr-shc-protocol-'));
const phr = (...args) => execFileSync(bin, args, { encoding: 'utf8' });
let passed = 0, failed = 0;
async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}: ${e.stack || e.message}`); }
}
function assert(c, m) { if (!c) throw new Error(m); }

const key = join(dir, 'issuer.jwk');
const kid = phr('shc', 'keygen', '--out', key).trim();
const jwks = phr('shc', 'jwks', key);
let fetches = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(jwks);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const iss = `http://127.0.0.1:${server.address().port}`;
// bound the run: the server never outlives the test
const guard = setTimeout(() => { console.log('timeout'); process.exit(1); }, 60000);

try {
  writeFileSync(join(dir, 'patient.json'), JSON.stringify({
    resourceType: 'Patient', id: 'pt', name: [{ family: 'Anyperson', given: ['Jane'] }], birthDate: '1961-02-03' }));
  writeFileSync(join(dir, 'imm1.json'), JSON.stringify({
    resourceType: 'Immunization', id: 'a', status: 'completed',
    vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207', display: 'Moderna' }] },
    patient: { reference: 'Patient/pt' }, occurrenceDateTime: '2021-01-01', lotNumber: '0000001' }));
  writeFileSync(join(dir, 'imm2.json'), JSON.stringify({
    resourceType: 'Immunization', id: 'b', status: 'completed',
    vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] },
    patient: { reference: 'Patient/pt' }, occurrenceDateTime: '2021-01-29', lotNumber: '0000007' }));
  const jws = phr('shc', 'issue', '--key', key, '--iss', iss, '--patient', join(dir, 'patient.json'),
    '--immunization', join(dir, 'imm1.json'), '--immunization', join(dir, 'imm2.json'), '--jws').trim();
  writeFileSync(join(dir, 'card.jws'), jws);
  const qr = phr('shc', 'qr', join(dir, 'card.jws')).trim();

  await check('shc-protocol reads phr\'s numeric QR text back to the same JWS', async () => {
    assert(qr.startsWith('shc:/') && !qr.includes('\n'), 'one unchunked QR');
    assert(numericShcToJwt(qr.slice(5)) === jws, 'numeric decoding differs');
  });

  await check('shc-protocol verifies the phr card with the JWKS from <iss>', async () => {
    const r = await decode(qr);
    assert(r.header.alg === 'ES256' && r.header.zip === 'DEF' && r.header.kid === kid, 'header');
    assert(r.payload.iss === iss, 'iss');
    assert(r.verifications.trustable === true, `not trustable: ${r.verifications.verificationError}`);
    assert(r.verifications.verifiedBy === kid, 'verifiedBy');
    const b = r.payload.vc.credentialSubject.fhirBundle;
    assert(b.entry.length === 3 && b.entry[2].resource.patient.reference === 'resource:0', 'bundle');
    const mine = JSON.parse(inflateRawSync(Buffer.from(jws.split('.')[1], 'base64url')).toString());
    assert(JSON.stringify(mine) === JSON.stringify(r.payload), 'payload differs');
    assert(fetches >= 1, 'JWKS was not fetched from the loopback issuer');
  });

  await check('shc-protocol does not trust a card with a tampered signature', async () => {
    const parts = jws.split('.');
    const s = parts[2];
    parts[2] = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    writeFileSync(join(dir, 'bad.jws'), parts.join('.'));
    const badQr = phr('shc', 'qr', join(dir, 'bad.jws')).trim();
    const r = await decode(badQr);
    assert(r.payload.iss === iss, 'payload must be intact');
    assert(r.verifications.trustable === false, 'tampered card trusted');
  });
} finally {
  clearTimeout(guard);
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
