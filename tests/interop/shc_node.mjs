// A SMART Health Card issued by a running phr node (phr node --dev) for the demo
// vaccination, verified by independent verifiers: shc-protocol decodes the node's
// shc:/ QR text and fetches <iss>/.well-known/jwks.json from the node itself; jose
// verifies the JWS against that JWKS (CORS header checked). A tampered card is
// not trusted. The node binds 127.0.0.1:0 and is stopped by its PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import shcProtocol from 'shc-protocol';
import * as jose from 'jose';

const decode = shcProtocol.default || shcProtocol;
const bin = process.env.PHR_BIN;
if (!bin) throw new Error('PHR_BIN is not set');
const dir = mkdtempSync(join(tmpdir(), 'phr-shc-node-'));
let passed = 0, failed = 0;
async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}: ${e.stack || e.message}`); }
}
function assert(c, m) { if (!c) throw new Error(m); }

const node = spawn(bin, ['node', '--dev', '--datadir', join(dir, 'n'), '--listen', '127.0.0.1:0'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
const guard = setTimeout(() => { console.log('timeout'); node.kill('SIGKILL'); process.exit(1); }, 90000);
let out = '';
const base = await new Promise((ok, ko) => {
  node.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/[0-9.:]+)/); if (m) ok(m[1]); });
  node.on('exit', (c) => ko(new Error(`node exited ${c}`)));
});
try {
  const tokens = JSON.parse(readFileSync(join(dir, 'n', 'dev', 'tokens.json'), 'utf8'));
  const auth = { authorization: `Bearer ${tokens.patient.token}`, 'content-type': 'application/json' };
  const recs = await (await fetch(`${base}/api/v1/patients/${tokens.patient.address}/records`, { headers: auth })).json();
  const vacc = recs.items.find((r) => r.type === 1);
  assert(vacc, 'the demo vaccination is missing');
  const patient = { resourceType: 'Patient', name: [{ family: 'Anyperson', given: ['John'] }], birthDate: '1951-01-20' };
  const res = await fetch(`${base}/api/v1/records/${vacc.id}/shc`, { method: 'POST', headers: auth, body: JSON.stringify({ patient }) });
  assert(res.status === 201, `issue: HTTP ${res.status}`);
  const card = await res.json();

  await check('the JWKS is served with CORS and without the private key', async () => {
    const r = await fetch(`${base}/.well-known/jwks.json`);
    assert(r.headers.get('access-control-allow-origin') === '*', 'no CORS header');
    const j = await r.json();
    assert(j.keys.length === 1 && j.keys[0].kty === 'EC' && j.keys[0].crv === 'P-256' && !('d' in j.keys[0]), 'jwks');
  });

  await check('jose verifies the node\'s JWS with the node\'s JWKS', async () => {
    const jwks = jose.createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const { protectedHeader } = await jose.compactVerify(card.jws, jwks);
    assert(protectedHeader.alg === 'ES256' && protectedHeader.zip === 'DEF', 'header');
  });

  await check('shc-protocol verifies the node\'s QR card, fetching the JWKS from its iss', async () => {
    assert(card.qr.length === 1, 'one QR chunk');
    const r = await decode(card.qr[0]);
    assert(r.payload.iss === base, `iss ${r.payload.iss}`);
    assert(r.verifications.trustable === true, `not trustable: ${r.verifications.verificationError}`);
    const b = r.payload.vc.credentialSubject.fhirBundle;
    assert(b.entry[0].resource.resourceType === 'Patient' && b.entry[1].resource.resourceType === 'Immunization', 'bundle');
    assert(b.entry[1].resource.vaccineCode.coding[0].code === '150', 'the demo vaccine');
  });

  await check('a tampered card is not trustable', async () => {
    const [h, p, s] = card.jws.split('.');
    const sig = Buffer.from(s, 'base64url'); sig[10] ^= 1;
    const bad = `${h}.${p}.${sig.toString('base64url')}`;
    const digits = [...bad].map((c) => String(c.charCodeAt(0) - 45).padStart(2, '0')).join('');
    const r = await decode(`shc:/${digits}`);
    assert(r.verifications.trustable !== true, 'a tampered card was trusted');
  });
} finally {
  clearTimeout(guard);
  node.kill('SIGTERM');
  await new Promise((ok) => node.on('exit', ok));
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
